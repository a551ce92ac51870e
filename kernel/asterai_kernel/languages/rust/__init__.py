"""Rust cells (the plugin is plugin.py)."""

from .plugin import Rust

__all__ = ["Rust"]
