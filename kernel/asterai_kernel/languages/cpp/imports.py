"""The import side of C++ glue: `--use geo` gives a C++ cell the same `geo.h` as a C cell (c/imports.py), its
functions spelled with C++'s leaves (cpp/exports.py)."""

from __future__ import annotations

from ... import wit
from ..c import imports as c_imports
from .exports import CppEmitter


def header(module: str, iface: wit.Interface) -> str:
    return c_imports.header(module, iface, CppEmitter(prefix=f"asterai_{module}_"))
