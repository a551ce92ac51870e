"""The Zig toolchain: PyPI `ziglang` (the Zig compiler, pinned: the glue is written for its language and
std), the `tree-sitter-zig` grammar, wasm-tools and the preview1 reactor adapter (build/componentize.py).

Cells link no libc (Zig's std speaks WASI itself), but Zig compiles its runtime (compiler-rt) from source
for each target and optimize mode on first use (5-30 s), into its global cache. That cache is
``cache_dir()/zig`` for every build the kernel makes (`--global-cache-dir`), and `asterai setup zig` ends by
building a small cell there with the cells' default flags (`warm`), so the first real cell only compiles
itself.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from ... import pins
from ...build import componentize
from ...build.cache import cache_dir, write_atomic
from ...errors import ToolchainMissing
from ...toolchains import NODE_APT, Progress, Requirements, Row, dist_version

SETUP = "asterai setup zig"
TARGET = "wasm32-wasi"
# --opt -> Zig's optimize mode. 1 and 2 keep Zig's safety checks (a bad index or an overflow panics with a
# message instead of corrupting memory); `s` drops them for size, as Zig's ReleaseSmall does.
OPTIMIZE = {"0": "Debug", "1": "ReleaseSafe", "2": "ReleaseSafe", "s": "ReleaseSmall"}
# A wasip1 reactor module (no `main`) exporting what the glue exports, stripped, with a 1 MiB stack as
# Rust's (Zig's default of 16 MiB is the initial memory of every instance, above a small --max-memory).
# Zig's cached runtime depends on these flags too: the set-up's warm-up uses them (`_stamp` names them).
FLAGS = ("-fno-entry", "-rdynamic", "-mexec-model=reactor", "-fstrip", "--stack", str(1 << 20))
WARM_OPT = "2"  # the default --opt: what set-up builds the support libraries for
WARM_SOURCE = """const std = @import("std");
export fn asterai_warm(n: u32) u32 {
    std.debug.print("warm {d}\\n", .{n});
    return n + 1;
}
"""


def zig_dir() -> Path:
    """Zig's global cache (its compiled runtime), shared by every Zig cell."""
    return cache_dir() / "zig"


def find_zig() -> Path | None:
    """The `zig` binary inside the installed ziglang package (what `python -m ziglang` runs)."""
    spec = importlib.util.find_spec("ziglang")
    if spec is None or not spec.submodule_search_locations:
        return None
    exe = Path(next(iter(spec.submodule_search_locations))) / "zig"
    return exe if exe.is_file() else None


@functools.cache
def _version(zig: Path) -> str:
    done = subprocess.run([str(zig), "version"], capture_output=True, text=True, timeout=60)
    return done.stdout.strip()


@dataclass(frozen=True)
class ZigToolchain:
    zig: Path
    version: str
    adapter: Path
    fingerprint: str

    def command(self, out: str, opt: str, local_cache: Path) -> list[str]:
        """`zig build-exe` with the cells' flags, its caches where every build shares them; the caller adds
        the modules (`-Mroot=FILE` and the others)."""
        return [
            str(self.zig), "build-exe", "-target", TARGET, f"-O{OPTIMIZE[opt]}", *FLAGS, f"-femit-bin={out}",
            "--global-cache-dir", str(zig_dir()), "--cache-dir", str(local_cache),
        ]  # fmt: skip


def _missing() -> str:
    want = pins.ZIGLANG[1]
    have = dist_version("ziglang")
    found = f"ziglang {have} is installed, cells need exactly {want}" if have else "ziglang is not installed"
    return f"Zig cells need the Zig compiler from PyPI ({found}). Install it with:\n    {SETUP}"


_found: dict[Path, ZigToolchain] = {}  # per cache dir (tests point it elsewhere): every cell asks


def zig_toolchain(progress: Progress = lambda m: None) -> ZigToolchain:
    found = _found.get(cache_dir())
    if found is None or not found.adapter.exists():
        found = _found[cache_dir()] = _find_toolchain(progress)
    return found


def _find_toolchain(progress: Progress) -> ZigToolchain:
    zig = find_zig()
    if zig is None or dist_version("ziglang") != pins.ZIGLANG[1]:
        raise ToolchainMissing(_missing())
    version = _version(zig)
    if not version:
        raise ToolchainMissing(f"`{zig} version` failed. Reinstall with:\n    {SETUP}")
    adapter = componentize.ensure_adapter(SETUP, progress)
    return ZigToolchain(zig, version, adapter, f"zig {version}|{componentize.fingerprint(adapter)}")


def _stamp(tc: ZigToolchain, opt: str) -> Path:
    flags = hashlib.sha256(" ".join(FLAGS).encode()).hexdigest()[:8]
    return zig_dir() / f"warm-{tc.version}-{OPTIMIZE[opt]}-{flags}.stamp"


def warmed(tc: ZigToolchain, opt: str) -> bool:
    """Whether Zig's support libraries are built for mode `opt` (else the next build compiles them)."""
    return _stamp(tc, opt).exists()


def mark_warm(tc: ZigToolchain, opt: str, seconds: float) -> None:
    write_atomic(_stamp(tc, opt), f"{seconds:.1f} s".encode())


FIRST_BUILD = (
    "zig build-exe (wasm32-wasi); the first build in this mode also compiles Zig's runtime (5-30 s)..."
)


def warm(tc: ZigToolchain, opt: str, progress: Progress) -> None:
    """Build Zig's support libraries for wasm32-wasi in mode `opt` once (5-30 s), unless done before.
    Two processes warming at once is harmless: Zig's cache takes locks of its own."""
    if warmed(tc, opt):
        return
    progress(f"Compiling Zig's runtime for WebAssembly once ({OPTIMIZE[opt]}, about 5-30 s)...")
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="zig-warm-", dir=cache_dir()) as tmp:
        work = Path(tmp)
        (work / "warm.zig").write_text(WARM_SOURCE)
        cmd = [*tc.command("warm.wasm", opt, work / "cache"), "-Mroot=warm.zig"]
        done = _run_ticking(cmd, work, progress, t0)
    if done.returncode != 0:
        raise ToolchainMissing(f"Zig could not build for {TARGET}:\n{done.stderr[-2000:]}\nRetry: {SETUP}")
    mark_warm(tc, opt, time.perf_counter() - t0)
    progress(f"zig: runtime for WebAssembly ready ({time.perf_counter() - t0:.0f} s)")


def _run_ticking(cmd: list[str], cwd: Path, progress: Progress, t0: float) -> subprocess.CompletedProcess:
    """Run a long build, saying every 10 s that it is still going (Zig prints nothing while it works)."""
    done = threading.Event()

    def tick() -> None:
        while not done.wait(10):
            progress(f"zig: still compiling its runtime for WebAssembly ({time.perf_counter() - t0:.0f} s)")

    ticker = threading.Thread(target=tick, name="asterai-zig-warm", daemon=True)
    ticker.start()
    try:
        return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    finally:
        done.set()
        ticker.join()


def setup(progress: Progress = print) -> ZigToolchain:
    """`asterai setup zig`'s last step: the adapter, and Zig's runtime built for wasm32-wasi once."""
    tc = zig_toolchain(progress)
    warm(tc, WARM_OPT, progress)
    return tc


def rows() -> list[Row]:
    zig, have = find_zig(), dist_version("ziglang")
    ok = zig is not None and have == pins.ZIGLANG[1]
    detail = str(zig) if ok else f"needs PyPI ziglang=={pins.ZIGLANG[1]}"
    grammar = dist_version("tree-sitter-zig")
    tc_rows = [
        Row("zig", ok, have, detail, SETUP, "zig"),
        Row("tree-sitter-zig", bool(grammar), grammar, "PyPI tree-sitter-zig", SETUP, "zig"),
    ]
    if ok:
        warmed = any(zig_dir().glob(f"warm-{_version(zig)}-*.stamp"))
        where = str(zig_dir()) if warmed else "not built yet (once, 5-30 s)"
        tc_rows.append(Row(f"zig runtime for {TARGET}", warmed, "", where, SETUP, "zig"))
    return tc_rows


# ziglang (exactly the release the glue is written for) and the grammar; node and npm fetch the reactor
# adapter once (jco's tarball) unless another set-up's jco has it; then Zig's runtime is built once.
REQUIREMENTS = Requirements(
    "zig", SETUP, rows, apt=NODE_APT, pip=("==".join(pins.ZIGLANG), "tree-sitter-zig"), finish=setup
)
