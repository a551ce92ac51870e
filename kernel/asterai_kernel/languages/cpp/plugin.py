"""C++ cells (`%%asterai cpp`, alias `c++`): C's plugin (c/plugin.py) with tree-sitter's C++ grammar, C++'s
types (signatures.py) and leaves (exports.py), and clang++-14 in C++20 mode with -fno-exceptions
(toolchain.py). `--use geo` gives the same `geo.h` as C, spelled in C++ (imports.py)."""

from __future__ import annotations

from ... import wit
from ..c import exports as c_exports
from ..c.plugin import C
from . import exports, imports, signatures, toolchain


class Cpp(C):
    name = "cpp"
    aliases = ("c++",)
    source_file = "cell.cpp"
    grammar = "tree_sitter_cpp"
    compiler = toolchain.CXX_COMPILER
    noun = "C++"
    requirements = toolchain.REQUIREMENTS

    def read(self, source: str) -> list[c_exports.Export]:
        root = self.parse(source)
        if root.has_error:
            raise self._syntax_error(source) or signatures.c_signatures.syntax_error(root)
        return signatures.read_cell(root)

    def emitter(self) -> c_exports.CEmitter:
        return exports.CppEmitter()

    def header(self, name: str, iface: wit.Interface) -> str:
        return imports.header(name, iface)
