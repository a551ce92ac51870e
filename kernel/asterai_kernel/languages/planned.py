"""What `asterai setup` already installs for the languages the contract names but this version does not
build (C, C++ and Zig: their cells are refused with a clear message). The registry's PLANNED entries hold
these; each moves to its package's toolchain.py when the language is built.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from ..toolchains import AptPackages, Requirements, Row, apt_missing, deb_versions, dist_version

WASI_LIBC = Path("/usr/lib/wasm32-wasi")
C_APT: AptPackages = (
    ("clang-14", "/usr/bin/clang-14"),
    ("lld", "/usr/bin/wasm-ld"),
    ("wasi-libc", str(WASI_LIBC / "libc.a")),
    ("libclang-rt-14-dev-wasm32", "/usr/lib/llvm-14/lib/clang/*/lib/wasi/libclang_rt.builtins-wasm32.a"),
    ("libc++-14-dev-wasm32", str(WASI_LIBC / "libc++.a")),
    ("libc++abi-14-dev-wasm32", str(WASI_LIBC / "libc++abi.a")),
)
SETUP_C = "asterai setup c"
SETUP_ZIG = "pip install ziglang"


def c_rows() -> list[Row]:
    missing = apt_missing(C_APT)
    version = deb_versions(("clang-14",)).get("clang-14", "")
    detail = f"missing Debian {' '.join(missing)}" if missing else "/usr/bin/clang-14"
    return [Row("clang-14 (wasm32-wasi)", not missing, version, detail, SETUP_C, "c")]


def zig_rows() -> list[Row]:
    found = importlib.util.find_spec("ziglang") is not None
    return [Row("zig", found, dist_version("ziglang"), "PyPI ziglang", SETUP_ZIG, "zig")]


C = Requirements("c", SETUP_C, c_rows, apt=C_APT)  # C and C++ cells alike
ZIG = Requirements("zig", SETUP_ZIG, zig_rows, pip=("ziglang",))
