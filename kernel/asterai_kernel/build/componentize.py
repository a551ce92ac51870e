"""A wasip1 core module -> a component: `wasm-tools component embed` + `component new` with the preview1
*reactor* adapter. Go and C/C++ cells build core modules this way (Rust's wasm-component-ld embeds its own).

The adapter ships in npm `@bytecodealliance/jco` (`lib/`). It is copied from a jco some language's set-up
installed, or taken from jco's package tarball (`npm pack`, no dependencies), and kept under the asterai
cache.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

from .. import pins, wit
from ..errors import CompileError, ToolchainMissing
from ..toolchains import npm_dir, wasm_tools
from .cache import cache_dir, write_atomic

ADAPTER_NAME = "wasi_snapshot_preview1.reactor.wasm"


def adapter_path() -> Path:
    return cache_dir() / "adapters" / ADAPTER_NAME


def _jco_adapter_candidates() -> list[Path]:
    """The adapter in any language's npm set-up that installed jco (which languages do is theirs to say)."""
    rel = Path("node_modules") / "@bytecodealliance" / "jco" / "lib" / ADAPTER_NAME
    return sorted(npm_dir("*").parent.glob(f"*/{rel}"))


def ensure_adapter(setup: str, progress=lambda m: None) -> Path:
    """The reactor adapter under the asterai cache: copied from an installed jco, else from jco's tarball.
    `setup` is the command that installs npm for the language asking (named when npm is missing)."""
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
            "Making a component needs the WASI preview1 reactor adapter, which comes from npm "
            f"({pins.JCO[0]}), and npm is not installed. Run:\n    {setup}"
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


def fingerprint(adapter: Path) -> str:
    """The adapter and wasm-tools, as they decide the component (for cache keys)."""
    digest = hashlib.sha256(adapter.read_bytes()).hexdigest()[:12]
    return f"wasm-tools {wasm_tools().stat().st_size}|adapter {digest}"


def componentize(workdir: Path, core: str, world_wit: str, adapter: Path, component: str) -> bytes:
    """The component of `workdir/core` whose world is the WIT file `workdir/world_wit`."""
    wt = str(wasm_tools())
    steps = [
        [wt, "component", "embed", "--world", wit.WORLD, world_wit, core, "-o", "embedded.wasm"],
        [wt, "component", "new", "embedded.wasm", "--adapt", f"wasi_snapshot_preview1={adapter}",
         "-o", "component.wasm"],
    ]  # fmt: skip
    for step in steps:
        done = subprocess.run(step, cwd=workdir, capture_output=True, text=True)
        if done.returncode != 0:
            raise CompileError(
                f"{component}: making a component of the core module failed",
                diagnostics=done.stderr.strip(),
                component=component,
            )
    return (workdir / "component.wasm").read_bytes()
