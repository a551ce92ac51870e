"""Zig cells (the plugin is plugin.py)."""

from .plugin import Zig

__all__ = ["Zig"]
