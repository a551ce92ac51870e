"""The C toolchain (C++'s too: cpp/toolchain.py adds its driver and flags): Debian's clang-14 for wasm32-wasi
with wasi-libc (and libc++ for C++), lld's wasm-ld, and the preview1 reactor adapter that turns the core
module into a component (build/componentize).

clang-14 builds a *reactor* (`-mexec-model=reactor`: crt1-reactor.o runs the constructors from
`_initialize`, which the component calls at instantiation).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from ...build import componentize
from ...build.cache import cache_dir
from ...errors import ToolchainMissing
from ...toolchains import (
    NODE_APT,
    AptPackages,
    Progress,
    Requirements,
    Row,
    apt_line,
    apt_missing,
    deb_versions,
    query,
)

CLANG = Path("/usr/bin/clang-14")
C_FLAGS = ("-x", "c", "-std=gnu17")
WASI_LIBC = Path("/usr/lib/wasm32-wasi")
HEADERS = Path(__file__).resolve().parent  # asterai.h and runtime.h
C_APT: AptPackages = (
    ("clang-14", str(CLANG)),
    ("lld", "/usr/bin/wasm-ld"),
    ("wasi-libc", str(WASI_LIBC / "libc.a")),
    ("libclang-rt-14-dev-wasm32", "/usr/lib/llvm-14/lib/clang/*/lib/wasi/libclang_rt.builtins-wasm32.a"),
    ("libc++-14-dev-wasm32", str(WASI_LIBC / "libc++.a")),
    ("libc++abi-14-dev-wasm32", str(WASI_LIBC / "libc++abi.a")),
)
GRAMMARS = ("tree-sitter-c", "tree-sitter-cpp")
SETUP = "asterai setup c"
TARGET = ("--target=wasm32-wasi", "--sysroot=/usr", "-mexec-model=reactor")


@dataclass(frozen=True)
class CToolchain:
    clang: Path
    adapter: Path
    fingerprint: str


@cache
def _clang_version() -> str:
    return query([CLANG, "--version"]).splitlines()[0] if CLANG.exists() else ""


def _missing() -> list[str]:
    missing = apt_missing(C_APT)
    return missing + [g for g in GRAMMARS if importlib.util.find_spec(g.replace("-", "_")) is None]


_found: dict[Path, CToolchain] = {}  # by cache dir (tests and users may point it elsewhere)


def c_toolchain(progress: Progress | None = None) -> CToolchain:
    """The toolchain, looked up once per cache dir: a cache hit must not pay for dpkg-query."""
    found = _found.get(cache_dir())
    if found is None or not found.adapter.exists():
        found = _found[cache_dir()] = _look_up(progress)
    return found


def _look_up(progress: Progress | None) -> CToolchain:
    missing = _missing()
    if missing:
        raise ToolchainMissing(
            f"C and C++ cells need clang-14 for WebAssembly (missing: {', '.join(missing)}). Run:\n"
            f"    {SETUP}\nwhich runs:\n    {apt_line([name for name, _ in C_APT])}"
        )
    adapter = componentize.ensure_adapter(SETUP, progress or (lambda m: None))
    libs = deb_versions(tuple(name for name, _ in C_APT))
    versions = " ".join(f"{k}={v}" for k, v in sorted(libs.items()))
    return CToolchain(CLANG, adapter, f"{_clang_version()}|{versions}|{componentize.fingerprint(adapter)}")


def compile_command(source: str, out: str, opt: str, workdir: Path, driver: Path = CLANG,
                    flags: tuple[str, ...] = C_FLAGS) -> list[str]:  # fmt: skip
    """clang-14 (`driver`) turning `source` into a wasm32-wasi reactor core module `out`."""
    return [
        str(driver), *TARGET, *flags, f"-O{opt}", "-I", str(HEADERS), "-I", str(workdir),
        "-fno-color-diagnostics", "-Wno-unused-function", source, "-o", out,
    ]  # fmt: skip


def rows() -> list[Row]:
    missing = apt_missing(C_APT)
    detail = f"missing Debian {' '.join(missing)}" if missing else f"{CLANG} --target=wasm32-wasi"
    version = deb_versions(("clang-14",)).get("clang-14", "")
    grammars = [g for g in GRAMMARS if importlib.util.find_spec(g.replace("-", "_")) is None]
    return [
        Row("clang-14 (wasm32-wasi)", not missing, version, detail, SETUP, "c"),
        Row(
            "tree-sitter-c/cpp",
            not grammars,
            "",
            f"missing PyPI {' '.join(grammars)}" if grammars else "PyPI",
            SETUP,
            "c",
        ),
    ]


def setup(progress: Progress = print) -> CToolchain:
    """`asterai setup c`'s last step: the reactor adapter (from npm once)."""
    return c_toolchain(progress)


# C and C++ cells alike (`asterai setup cpp` is this target); node and npm fetch the reactor adapter once
# unless an installed jco (TypeScript's, Go's) has it.
REQUIREMENTS = Requirements("c", SETUP, rows, apt=C_APT + NODE_APT, pip=GRAMMARS, finish=setup)
