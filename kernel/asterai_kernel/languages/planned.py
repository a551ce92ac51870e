"""What `asterai setup` already installs for the languages the contract names but this version does not
build (Zig: its cells are refused with a clear message). The registry's PLANNED entries hold these; each
moves to its package's toolchain.py when the language is built.
"""

from __future__ import annotations

import importlib.util

from ..toolchains import Requirements, Row, dist_version

SETUP_ZIG = "pip install ziglang"


def zig_rows() -> list[Row]:
    found = importlib.util.find_spec("ziglang") is not None
    return [Row("zig", found, dist_version("ziglang"), "PyPI ziglang", SETUP_ZIG, "zig")]


ZIG = Requirements("zig", SETUP_ZIG, zig_rows, pip=("ziglang",))
