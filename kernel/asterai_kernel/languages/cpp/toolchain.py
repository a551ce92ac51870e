"""The C++ toolchain: C's (c/toolchain.py; `asterai setup c` installs libc++ for wasm too) with the C++
driver, which links libc++ and libc++abi, in C++20. clang-14 has no C++ exceptions for wasm:
`-fno-exceptions`, and a cell that throws is refused before the build (signatures.py)."""

from __future__ import annotations

from pathlib import Path

from ..c import toolchain as c_toolchain

CXX_COMPILER = c_toolchain.Compiler(Path("/usr/bin/clang++-14"), "c++", ("-std=c++20", "-fno-exceptions"))
REQUIREMENTS = c_toolchain.REQUIREMENTS  # one set-up target for C and C++ (`asterai setup cpp` names it)
