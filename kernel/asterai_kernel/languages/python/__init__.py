"""Python cells (the plugin is plugin.py)."""

from .plugin import Python

__all__ = ["Python"]
