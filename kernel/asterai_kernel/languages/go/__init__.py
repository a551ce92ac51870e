"""Go cells (the plugin is plugin.py)."""

from .plugin import Go

__all__ = ["Go"]
