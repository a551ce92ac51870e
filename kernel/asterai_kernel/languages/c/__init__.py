"""C cells (`%%asterai c`)."""

from .plugin import C

__all__ = ["C"]
