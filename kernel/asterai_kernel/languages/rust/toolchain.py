"""The Rust toolchain: Debian's rustc, cargo, std source, lld and wasi-libc, and std built for wasm32-wasip1.

Rust cells use Debian's rustc by full path (rustup's shims come first in PATH and cannot add wasm targets
here). Debian ships no std for wasm32-wasip1, so it is built once from Debian's std source and vendored crates
into ``cache_dir()/rust-sysroot/<hash of rustc version>/`` and reused by every kernel afterwards: that is
`asterai setup rust`'s last step (REQUIREMENTS.finish), or the first Rust cell's.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ...build.cache import cache_dir, write_atomic
from ...errors import ToolchainMissing
from ...toolchains import (
    AptPackages,
    Progress,
    Requirements,
    Row,
    apt_line,
    apt_missing,
    deb_versions,
    query,
    stopped_on_interrupt,
)

RUST_TARGET = "wasm32-wasip1"
RUSTC = Path("/usr/bin/rustc")
CARGO = Path("/usr/bin/cargo")
RUST_LLD = Path("/usr/bin/rust-lld")  # Debian's rust-lld is a symlink to lld-22: dangling without it
WASI_LIBC = Path("/usr/lib/wasm32-wasi")
RUST_APT: AptPackages = (
    ("rustc-web", str(RUSTC)),
    ("cargo-web", str(CARGO)),
    ("rust-web-src", "/usr/lib/rustlib/src/rust/library/vendor"),
    ("lld-22", "/usr/bin/lld-22"),
    ("wasi-libc", str(WASI_LIBC / "libc.a")),
)
STAMP = "asterai-sysroot.json"
CARGO_STD_ARGS = ("-Zbuild-std=std,panic_abort", "--target", RUST_TARGET)
SETUP_RUST = "asterai setup rust"


def _quiet(_message: str) -> None:
    pass


@dataclass(frozen=True)
class RustToolchain:
    """Everything a Rust cell build needs; `fingerprint` goes into its cache key."""

    rustc: Path
    sysroot: Path
    linker: Path
    wasi_libc: Path
    version: str
    fingerprint: str

    @property
    def crt1_reactor(self) -> Path:
        return self.wasi_libc / "crt1-reactor.o"


@dataclass(frozen=True)
class _RustcInfo:
    version: str  # "rustc 1.96.0 (ac68faa20 2026-05-25) ..."
    release: str  # "1.96.0"
    host: str  # "x86_64-unknown-linux-gnu"

    @property
    def linker(self) -> Path:
        return Path(f"/usr/lib/rustlib/{self.host}/bin/wasm-component-ld")

    @property
    def vendor(self) -> Path:
        return Path(f"/usr/src/rustc-{self.release}/library/vendor")


def _rustc_info() -> _RustcInfo | None:
    out = query([RUSTC, "-vV"]) if RUSTC.exists() else ""
    if not out:
        return None
    fields = dict(line.split(": ", 1) for line in out.splitlines()[1:] if ": " in line)
    return _RustcInfo(out.splitlines()[0], fields.get("release", ""), fields.get("host", ""))


def _rust_missing(info: _RustcInfo | None) -> list[str]:
    """What of Debian's Rust-for-wasm packages is absent, as 'package (path)' strings."""
    markers = dict(RUST_APT)
    missing = [f"{name} ({markers[name]})" for name in apt_missing(RUST_APT)]
    if info and not info.vendor.exists():
        missing.append(f"rust-web-src ({info.vendor})")
    if info and not info.linker.exists():
        missing.append(f"rustc-web ({info.linker})")
    if RUSTC.exists() and info is None:
        missing.append(f"rustc-web ({RUSTC} does not run)")
    return missing


def _missing_message(missing: list[str]) -> str:
    apt = apt_line([name for name, _ in RUST_APT])
    return (
        "The Rust toolchain for WebAssembly cells is not installed (missing: "
        + ", ".join(missing)
        + f").\nInstall it with:\n    {SETUP_RUST}\nwhich runs:\n    {apt}\n"
        "and then builds Rust's standard library for WebAssembly once (1-2 minutes)."
    )


def _short_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def rust_sysroot_dir(rustc_version: str) -> Path:
    return cache_dir() / "rust-sysroot" / _short_hash(rustc_version)


def _read_stamp(sysroot: Path) -> dict | None:
    try:
        return json.loads((sysroot / STAMP).read_text())
    except (OSError, ValueError):
        return None


_rust_lock = threading.Lock()
_rust_cache: dict[Path, RustToolchain] = {}  # keyed by cache dir: tests and users may point it elsewhere


def rust_toolchain(progress: Progress | None = None) -> RustToolchain:
    """The Rust toolchain for cells; builds the wasm32-wasip1 std on first use (1-2 minutes, once)."""
    with _rust_lock:
        cached = _rust_cache.get(cache_dir())
        if cached and (cached.sysroot / STAMP).exists():
            return cached
        info = _rustc_info()
        missing = _rust_missing(info)
        if missing:
            raise ToolchainMissing(_missing_message(missing))
        sysroot = rust_sysroot_dir(info.version)
        stamp = _read_stamp(sysroot) or _build_sysroot(info, sysroot, progress or _quiet)
        tc = RustToolchain(
            rustc=RUSTC,
            sysroot=sysroot,
            linker=info.linker,
            wasi_libc=WASI_LIBC,
            version=info.version,
            fingerprint=f"{info.version}; std {RUST_TARGET} {stamp['build_id']}",
        )
        _rust_cache[cache_dir()] = tc
        return tc


@contextlib.contextmanager
def _flock(path: Path, progress: Progress) -> Iterator[None]:
    """An exclusive lock across processes, so two kernels never build the same sysroot at once."""
    with open(path, "a") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            progress("Another process is building the Rust standard library for WebAssembly; waiting...")
            fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _build_sysroot(info: _RustcInfo, dest: Path, progress: Progress) -> dict:
    """Build std into a temp dir beside `dest`, then rename it into place: never a half-built sysroot."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    with _flock(dest.parent / f"{dest.name}.lock", progress):
        stamp = _read_stamp(dest)
        if stamp:  # another kernel finished it while we waited for the lock
            return stamp
        for stale in dest.parent.glob(f".{dest.name}.tmp-*"):  # left by an interrupted build
            shutil.rmtree(stale, ignore_errors=True)
        progress("Building the Rust standard library for WebAssembly once (about 1-2 minutes)...")
        start = time.monotonic()
        work = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}.tmp-"))
        try:
            stage = _build_std(info, work, progress)
            _check_sysroot(stage, work)
            stamp = _write_stamp(stage, info, time.monotonic() - start)
            if dest.exists():  # a sysroot without its stamp: never finished, replace it
                shutil.rmtree(dest)
            os.replace(stage, dest)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    progress(f"Rust standard library for WebAssembly ready in {stamp['seconds']:.0f} s: {dest}")
    return stamp


def _write_probe_project(proj: Path, vendor: Path) -> None:
    """An empty crate whose only purpose is making cargo build std for the target."""
    (proj / "src").mkdir(parents=True)
    (proj / ".cargo").mkdir()
    (proj / "src" / "lib.rs").write_text("")
    (proj / "Cargo.toml").write_text(
        '[package]\nname = "stdprobe"\nversion = "0.0.0"\nedition = "2021"\n\n'
        '[lib]\ncrate-type = ["rlib"]\n\n[profile.release]\npanic = "abort"\nopt-level = 3\n'
    )
    # Debian vendors std's crates.io dependencies: point crates-io at them so the build is offline.
    (proj / ".cargo" / "config.toml").write_text(
        f'[source.crates-io]\nreplace-with = "vendored"\n\n[source.vendored]\ndirectory = "{vendor}"\n'
    )


def _cargo_env(work: Path, proj: Path) -> dict[str, str]:
    # Drop the user's cargo/rustup settings (RUSTFLAGS, RUSTUP_TOOLCHAIN, CARGO_BUILD_TARGET...): they would
    # change or break this build.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CARGO", "RUST"))}
    env.update(
        RUSTC=str(RUSTC),
        RUSTC_BOOTSTRAP="1",  # -Zbuild-std is unstable; Debian's stable rustc allows it with this
        CARGO_HOME=str(work / "cargo-home"),
        CARGO_TARGET_DIR=str(proj / "target"),
        CARGO_TERM_COLOR="never",
        CARGO_TERM_PROGRESS_WHEN="never",
    )
    return env


def _cargo_cmd() -> list[str]:
    return [str(CARGO), "build", "--release", "--offline", *CARGO_STD_ARGS]


def _build_std(info: _RustcInfo, work: Path, progress: Progress) -> Path:
    proj = work / "stdprobe"
    _write_probe_project(proj, info.vendor)
    env = _cargo_env(work, proj)
    _run_cargo(proj, env, _count_packages(proj, env), progress)
    stage = work / "sysroot"
    libdir = stage / "lib" / "rustlib" / RUST_TARGET / "lib"
    libdir.mkdir(parents=True)
    for rlib in (proj / "target" / RUST_TARGET / "release" / "deps").glob("*.rlib"):
        if not rlib.name.startswith("libstdprobe"):
            os.replace(rlib, libdir / rlib.name)
    return stage


def _count_packages(proj: Path, env: dict[str, str]) -> int | None:
    """How many std packages cargo will compile (one 'Compiling' line each), for "[12/23] core"."""
    cmd = [*_cargo_cmd(), "--unit-graph", "-Zunstable-options"]
    try:
        done = subprocess.run(cmd, cwd=proj, env=env, capture_output=True, text=True, timeout=120)
        packages = {unit["pkg_id"] for unit in json.loads(done.stdout)["units"]}
        return len([p for p in packages if "stdprobe" not in p]) or None
    except (OSError, subprocess.SubprocessError, ValueError, KeyError, TypeError):
        return None


def _run_cargo(proj: Path, env: dict[str, str], total: int | None, progress: Progress) -> None:
    tail: deque[str] = deque(maxlen=40)
    # Its own process group, so an interrupt can stop cargo and the rustc processes it started.
    proc = subprocess.Popen(
        _cargo_cmd(),
        cwd=proj,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        process_group=0,
    )
    with stopped_on_interrupt(proc):
        count = 0
        for line in proc.stdout:
            tail.append(line.rstrip())
            m = re.match(r"\s*Compiling (\S+) v", line)
            if m and m[1] != "stdprobe":  # the empty probe crate is not part of std
                count += 1
                label = "Rust standard library for WebAssembly (once)"
                progress(f"{label} [{count}/{total}] {m[1]}" if total else f"{label}: {m[1]} ({count})")
        code = proc.wait()
    if code != 0:
        raise ToolchainMissing(
            f"Building the Rust standard library for WebAssembly failed (cargo exit {code}):\n"
            + "\n".join(tail)
            + f"\nRetry with:\n    {SETUP_RUST}"
        )


def _check_sysroot(stage: Path, work: Path) -> None:
    """Compile a line using std against the new sysroot before putting it in place."""
    cmd = [str(RUSTC), "--edition", "2021", "--crate-type", "rlib", "--crate-name", "asterai_check"]
    cmd += ["--emit=metadata", f"--target={RUST_TARGET}", f"--sysroot={stage}", "-o", str(work / "c.rmeta")]
    done = subprocess.run(
        [*cmd, "-"], input="pub fn f() -> String { String::new() }", capture_output=True, text=True
    )
    if done.returncode != 0:
        raise ToolchainMissing(
            f"The Rust standard library for WebAssembly was built but does not work:\n{done.stderr}"
        )


def _write_stamp(stage: Path, info: _RustcInfo, seconds: float) -> dict:
    rlibs = sorted(p.name for p in (stage / "lib" / "rustlib" / RUST_TARGET / "lib").glob("*.rlib"))
    stamp = {
        "rustc": info.version,
        "target": RUST_TARGET,
        # rlib names carry cargo's metadata hashes, so they identify this build of std.
        "build_id": _short_hash("\n".join(rlibs)),
        "rlibs": len(rlibs),
        "seconds": round(seconds, 1),
        "built_at": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    write_atomic(stage / STAMP, json.dumps(stamp, indent=1).encode())
    return stamp


def rows() -> list[Row]:
    info = _rustc_info()
    deb = deb_versions(tuple(name for name, _ in RUST_APT))

    def row(tool: str, ok: bool, version: str, detail: str) -> Row:
        return Row(tool, ok, version, detail, SETUP_RUST, "rust")

    vendor = info.vendor if info else Path("/usr/src/rustc-<version>/library/vendor")
    linker = info.linker if info else Path("/usr/lib/rustlib/<host>/bin/wasm-component-ld")
    stamp = _read_stamp(rust_sysroot_dir(info.version)) if info else None
    return [
        row("rustc", info is not None, info.release if info else "", f"{RUSTC} (rustc-web)"),
        row("cargo", CARGO.exists(), deb.get("cargo-web", ""), f"{CARGO} (cargo-web)"),
        row("rust std source", vendor.exists(), deb.get("rust-web-src", ""), f"{vendor} (rust-web-src)"),
        row(
            "wasm-component-ld/lld-22",
            linker.exists() and RUST_LLD.exists(),
            deb.get("lld-22", ""),
            f"{linker} (rustc-web, lld-22)",
        ),
        row("wasi-libc", (WASI_LIBC / "crt1-reactor.o").exists(), deb.get("wasi-libc", ""), f"{WASI_LIBC}"),
        _std_row(info, stamp),
    ]


def _std_row(info: _RustcInfo | None, stamp: dict | None) -> Row:
    name = f"std for {RUST_TARGET}"
    if not stamp:
        return Row(name, False, "", "not built yet (once, 1-2 minutes)", SETUP_RUST, "rust")
    where = f"{rust_sysroot_dir(info.version)} (built {stamp['built_at'][:10]} in {stamp['seconds']:.0f} s)"
    return Row(name, True, info.release, where, SETUP_RUST, "rust")


REQUIREMENTS = Requirements("rust", SETUP_RUST, rows, apt=RUST_APT, finish=rust_toolchain)
