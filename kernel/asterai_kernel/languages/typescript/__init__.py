"""TypeScript and JavaScript cells (the plugins are in plugin.py)."""

from .plugin import JavaScript, TypeScript

__all__ = ["JavaScript", "TypeScript"]
