"""The C toolchain (C++'s too: cpp/toolchain.py adds its driver and flags): Debian's clang-14 for wasm32-wasi
with wasi-libc (and libc++ for C++), lld's wasm-ld, and the preview1 reactor adapter that turns the core
module into a component (build/componentize).

clang-14 builds a *reactor* (`-mexec-model=reactor`: crt1-reactor.o runs the constructors from
`_initialize`, which the component calls at instantiation).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import subprocess
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
WASI_LIBC = Path("/usr/lib/wasm32-wasi")
HEADERS = Path(__file__).resolve().parent  # asterai.h and runtime.h
HEADER_FILES = ("asterai.h", "runtime.h")
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


@dataclass(frozen=True)
class Compiler:
    """A clang driver and the language and flags a cell's source is compiled with."""

    driver: Path
    lang: str  # clang's -x: "c", "c++"
    flags: tuple[str, ...]

    def command(self, *args: str, lang: str | None = None) -> list[str]:
        return [str(self.driver), *TARGET, "-x", lang or self.lang, *self.flags, "-I", str(HEADERS), *args]


C_COMPILER = Compiler(CLANG, "c", ("-std=gnu17",))


def compile_command(compiler: Compiler, source: str, out: str, opt: str, workdir: Path,
                    pch: Path | None = None) -> list[str]:  # fmt: skip
    """clang-14 turning `source` into a wasm32-wasi reactor core module `out`."""
    with_pch = ["-include-pch", str(pch)] if pch else []
    diagnostics = ["-fno-color-diagnostics", "-Wno-unused-function"]
    return compiler.command(f"-O{opt}", "-I", str(workdir), *with_pch, *diagnostics, source, "-o", out)


def precompiled_header(compiler: Compiler, opt: str) -> Path | None:
    """runtime.h, with asterai.h and the standard headers they include, compiled once per compiler, opt level
    and header contents (a cell's build then parses only the cell: C++'s <string>, <vector>... would cost
    0.5 s a cell). None when it cannot be made: the cell compiles without it."""
    key = [
        _clang_version(),
        *compiler.command(f"-O{opt}"),
        *((HEADERS / h).read_text() for h in HEADER_FILES),
    ]
    path = cache_dir() / "c-pch" / f"{hashlib.sha256('|'.join(key).encode()).hexdigest()[:16]}.pch"
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    # No timestamps in it: a checkout that touches the headers without changing them keeps it valid.
    header = str(HEADERS / "runtime.h")
    cmd = compiler.command(f"-O{opt}", "-Xclang", "-fno-pch-timestamp", header, "-o", str(tmp),
                           lang=f"{compiler.lang}-header")  # fmt: skip
    if subprocess.run(cmd, capture_output=True).returncode != 0:
        tmp.unlink(missing_ok=True)
        return None
    os.replace(tmp, path)  # atomic: another kernel never reads half of it
    return path


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
