"""C++ cells (`%%asterai cpp`, alias `c++`): C's package with C++'s types."""

from .plugin import Cpp

__all__ = ["Cpp"]
