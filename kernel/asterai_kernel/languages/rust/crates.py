"""`--crate`: Rust crates for Rust cells, compiled once per crate set for wasm32-wasip1 and reused.

A crate set (names, versions, features, source) becomes a throwaway cargo package whose dependencies are the
set; cargo builds it with the kernel's rustc and wasm32-wasip1 sysroot, so the rlibs match what the cell's
rustc expects. Its `deps` folders (the wasm rlibs, and the host's for proc-macros such as serde's derive) and
its Cargo.lock are kept in the cache; a cell then compiles with `--extern name=lib.rlib -L dependency=...`.

Where crates come from (`--crate-source`, else ASTERAI_CRATE_SOURCE, else `auto`):
  crates-io  the registry, through the user's cargo settings (CARGO_HOME, ~/.cargo/config.toml);
  debian     Debian's packaged crates (librust-NAME-dev, /usr/share/cargo/registry), offline; missing
             packages are installed with apt-get;
  auto       crates.io when its index answers, else Debian's packages (and the cell says so).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import tomllib
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from ...build import cache
from ...errors import CompileError, ToolchainMissing
from ...toolchains import Progress, apt_install, deb_versions, stopped_on_interrupt
from .toolchain import CARGO, RUST_TARGET, RustToolchain, _flock

SOURCES = ("auto", "crates-io", "debian")
SOURCE_ENV = "ASTERAI_CRATE_SOURCE"
DEBIAN_REGISTRY = Path("/usr/share/cargo/registry")
CRATES_IO_PROBE = "https://index.crates.io/config.json"
PACKAGE = "asterai_crates"  # the throwaway package whose dependencies are the set
APT_SEARCH = "apt-cache search librust-"
LIB_KINDS = {"lib", "rlib", "proc-macro"}
SHOWN_ERRORS = 4

# One spec of a comma-separated list: name, optional @version, optional [features].
_SPEC = re.compile(
    r"\s*(?P<name>[A-Za-z0-9][A-Za-z0-9_-]*)(?:@(?P<version>[0-9A-Za-z.*^~=<>+-]+))?"
    r"(?:\[(?P<features>[A-Za-z0-9_+,-]*)\])?\s*(?:,|$)"
)


@dataclass(frozen=True)
class CrateSpec:
    name: str
    version: str = "*"
    features: tuple[str, ...] = ()

    def toml(self) -> str:
        features = ", ".join(json.dumps(f) for f in self.features)
        return (
            f"{json.dumps(self.name)} = {{ version = {json.dumps(self.version)}, features = [{features}] }}"
        )

    def __str__(self) -> str:
        version = "" if self.version == "*" else f"@{self.version}"
        return self.name + version + (f"[{','.join(self.features)}]" if self.features else "")


@dataclass(frozen=True)
class CrateSet:
    """A built crate set: what the cell's rustc needs, and `key` for the cell's cache key."""

    externs: dict[str, Path]  # crate name as the cell writes it (`serde_json`) -> its rlib (or .so)
    dependency_dirs: tuple[Path, ...]
    source: str  # "crates-io" or "debian": the one actually used
    versions: tuple[str, ...]  # "regex 1.7.1", ... every package in the set's Cargo.lock
    key: str

    def rustc_args(self) -> list[str]:
        args = [a for name, path in sorted(self.externs.items()) for a in ("--extern", f"{name}={path}")]
        return args + [a for d in self.dependency_dirs for a in ("-L", f"dependency={d}")]


def parse_specs(values: list[str]) -> tuple[CrateSpec, ...]:
    """`--crate regex,serde[derive] --crate itertools@0.10` -> the specs, each crate once."""
    found: dict[str, CrateSpec] = {}
    for value in values:
        pos = 0
        while pos < len(value):
            m = _SPEC.match(value, pos)
            if m is None or m.end() == pos:
                raise CompileError(
                    f"--crate {value!r}: cannot read it from {value[pos:]!r}; write NAME[@VERSION][FEATURES] "
                    "separated by commas, e.g. --crate regex or --crate serde@1.0[derive],serde_json"
                )
            features = tuple(f for f in (m["features"] or "").split(",") if f)
            spec = CrateSpec(m["name"], m["version"] or "*", features)
            if spec.name in found and found[spec.name] != spec:
                raise CompileError(f"--crate: `{spec.name}` is given twice, as {found[spec.name]} and {spec}")
            found[spec.name] = spec
            pos = m.end()
    return tuple(sorted(found.values(), key=lambda s: s.name))


def chosen_source(values: list[str]) -> str:
    """The source a cell asks for: its last `--crate-source`, else ASTERAI_CRATE_SOURCE, else auto."""
    source = (values[-1] if values else os.environ.get(SOURCE_ENV) or "auto").strip().lower()
    source = {"crates.io": "crates-io", "cratesio": "crates-io"}.get(source, source)
    if source not in SOURCES:
        raise CompileError(f"--crate-source {source!r}: choose one of {', '.join(SOURCES)}")
    return source


_probe_lock = threading.Lock()
_reachable: dict[str, bool] = {}


def crates_io_reachable() -> bool:
    """Whether crates.io's index answers (asked once per kernel)."""
    with _probe_lock:
        if CRATES_IO_PROBE not in _reachable:
            try:
                with urllib.request.urlopen(CRATES_IO_PROBE, timeout=5) as reply:
                    _reachable[CRATES_IO_PROBE] = reply.status == 200
            except (urllib.error.URLError, OSError, ValueError):
                _reachable[CRATES_IO_PROBE] = False
        return _reachable[CRATES_IO_PROBE]


def resolve_source(source: str, progress: Progress) -> str:
    if source != "auto":
        return source
    if crates_io_reachable():
        return "crates-io"
    # Two lines, so the note stays under the cell (a one-line message is a passing progress step).
    progress(
        "--crate: crates.io is unreachable, so this cell uses Debian's packaged crates (offline).\n"
        "--crate-source crates-io or --crate-source debian chooses explicitly."
    )
    return "debian"


# ---------------------------------------------------------------- Debian's packaged crates


def debian_package(name: str, feature: str = "") -> str:
    """Debian's package for a crate (or one of its features): `serde_json` -> librust-serde-json-dev."""
    base = name.lower().replace("_", "-")
    return f"librust-{base}+{feature.lower().replace('_', '-')}-dev" if feature else f"librust-{base}-dev"


def _apt_knows(package: str) -> bool:
    if not shutil.which("apt-cache"):
        return False
    out = subprocess.run(["apt-cache", "showpkg", package], capture_output=True, text=True).stdout
    return out.startswith("Package:")


def ensure_debian_packages(specs: tuple[CrateSpec, ...], progress: Progress) -> None:
    """Install the Debian packages of the specs (and of their features) that are missing."""
    wanted = {debian_package(s.name): (s, "") for s in specs}
    wanted |= {debian_package(s.name, f): (s, f) for s in specs for f in s.features if f != "default"}
    have = deb_versions(tuple(wanted))
    missing = [p for p in wanted if p not in have and not _provided(p)]
    if not missing:
        return
    for package in missing:
        if not _apt_knows(package):
            raise _unknown_package(package, *wanted[package])
    try:
        apt_install(missing, progress)
    except ToolchainMissing as e:
        raise CompileError(f"--crate needs the Debian packages {' '.join(missing)}: {e}") from None


def _unknown_package(package: str, spec: CrateSpec, feature: str) -> CompileError:
    search = f"`{APT_SEARCH}{spec.name.lower().replace('_', '-')}`"
    if feature:
        return CompileError(
            f"--crate {spec}: `{spec.name}` has no feature `{feature}` among Debian's packages (no package "
            f"{package}); {search} lists what is packaged, or use --crate-source crates-io."
        )
    return CompileError(
        f"--crate: Debian has no package {package} for the crate `{spec.name}`. Search the packaged crates "
        f"with {search} (or `{APT_SEARCH}` for all), or use --crate-source crates-io."
    )


def _provided(package: str) -> bool:
    """Whether an installed package provides `package` (Debian's feature packages are mostly virtual)."""
    out = (
        subprocess.run(["dpkg-query", "-W", "-f=${Provides}\n"], capture_output=True, text=True).stdout
        if shutil.which("dpkg-query")
        else ""
    )
    return re.search(rf"(^|[ ,]){re.escape(package)}( |,|$)", out, re.M) is not None


# ---------------------------------------------------------------- building a set


def set_folder(specs: tuple[CrateSpec, ...], source: str, tc: RustToolchain) -> Path:
    """Where a set's build is kept: keyed by its specs, source, toolchain and this module."""
    key = cache.content_key("rust-crates", [str(s) for s in specs], source, tc.fingerprint, _glue_version())
    return cache.entry_dir("rust-crates", key)


def _glue_version() -> str:
    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:12]


def crate_set(values: list[str], source_values: list[str], tc: RustToolchain, progress: Progress) -> CrateSet:
    """The built set for a cell's `--crate` options: from the cache, else built now (once per set)."""
    specs = parse_specs(values)
    source = resolve_source(chosen_source(source_values), progress)
    folder = set_folder(specs, source, tc)
    found = _load(folder, source)
    if found is not None:
        return found
    if source == "debian":
        ensure_debian_packages(specs, progress)
    folder.parent.mkdir(parents=True, exist_ok=True)
    with _flock(folder.parent / f"{folder.name}.lock", progress):  # one kernel builds a set at a time
        built = _load(folder, source)
        if built is not None:  # another kernel built it while this one waited
            return built
        stage = Path(tempfile.mkdtemp(prefix=".crates-", dir=folder.parent))
        try:
            _build(specs, source, tc, stage, progress)
            if folder.exists():  # stale: its lock names packages no longer installed
                shutil.rmtree(folder)
            os.replace(stage, folder)
        finally:
            shutil.rmtree(stage, ignore_errors=True)
    built = _load(folder, source)
    if built is None:
        raise CompileError(f"--crate {' '.join(map(str, specs))}: the crate build left no usable result")
    where = "crates.io" if source == "crates-io" else "Debian's packaged crates"
    progress(f"--crate: built once for this set, from {where}:\n  {', '.join(built.versions)}")
    return built


def _write_package(proj: Path, specs: tuple[CrateSpec, ...], source: str) -> None:
    (proj / "src").mkdir(parents=True)
    (proj / "src" / "lib.rs").write_text("")
    deps = "\n".join(s.toml() for s in specs)
    (proj / "Cargo.toml").write_text(
        f'[package]\nname = "{PACKAGE}"\nversion = "0.0.0"\nedition = "2021"\n\n'
        '[lib]\ncrate-type = ["rlib"]\n\n'
        f'[dependencies]\n{deps}\n\n[profile.release]\npanic = "abort"\ndebug = 0\n'
    )
    if source == "debian":  # Debian's packages replace the registry: resolved and built offline
        (proj / ".cargo").mkdir()
        (proj / ".cargo" / "config.toml").write_text(
            '[source.crates-io]\nreplace-with = "debian"\n\n'
            f'[source.debian]\ndirectory = "{DEBIAN_REGISTRY}"\n'
        )


# The user's settings for reaching registries (CARGO_HOME and its config.toml, proxies, mirrors) apply; those
# that would change the rlibs (RUSTFLAGS, CARGO_BUILD_TARGET, RUSTC_WRAPPER, CARGO_PROFILE_*...) do not.
_KEPT_CARGO_ENV = ("CARGO_HOME", "CARGO_HTTP_", "CARGO_NET_", "CARGO_REGISTRIES_", "CARGO_REGISTRY_")


def _cargo_env(tc: RustToolchain, target_dir: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CARGO", "RUST")) or k.startswith(_KEPT_CARGO_ENV)
    }
    env.update(
        RUSTC=str(tc.rustc),
        # With --target, RUSTFLAGS reach the wasm units only: proc-macros build with the host's own std.
        RUSTFLAGS=f"--sysroot={tc.sysroot}",
        CARGO_TARGET_DIR=str(target_dir),
        CARGO_TERM_COLOR="never",
        CARGO_TERM_PROGRESS_WHEN="never",
    )
    return env


def _build(
    specs: tuple[CrateSpec, ...], source: str, tc: RustToolchain, stage: Path, progress: Progress
) -> None:
    work = stage / "work"
    proj = work / PACKAGE
    _write_package(proj, specs, source)
    env = _cargo_env(tc, work / "target")
    offline = ["--offline"] if source == "debian" else []
    where = "crates.io" if source == "crates-io" else "Debian's packaged crates"
    progress(f"--crate: resolving {', '.join(map(str, specs))} from {where}")
    done = subprocess.run([str(CARGO), "generate-lockfile", *offline], cwd=proj, env=env, capture_output=True,
                          text=True)  # fmt: skip
    if done.returncode != 0:
        raise _resolve_error(specs, source, done.stderr)
    lock = tomllib.loads((proj / "Cargo.lock").read_text())
    total = len([p for p in lock.get("package", []) if p["name"] != PACKAGE])
    cmd = [str(CARGO), "build", "--release", "--target", RUST_TARGET, "--message-format=json", *offline]
    artifacts = _run_cargo(cmd, proj, env, total, where, specs, progress)
    _collect(specs, artifacts, work / "target", stage, lock, source)
    shutil.rmtree(work)


def _run_cargo(cmd, proj, env, total, where, specs, progress) -> list[dict]:
    """cargo build; each library it finishes is a progress step. Returns the JSON artifacts it reports."""
    errors: list[str] = []  # the first few: the rest mostly follow from them
    artifacts = []
    count = 0
    with tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(cmd, cwd=proj, env=env, stdout=subprocess.PIPE, stderr=err, text=True,
                                process_group=0)  # fmt: skip
        with stopped_on_interrupt(proc):
            for line in proc.stdout:
                msg = json.loads(line) if line.startswith("{") else {}
                if msg.get("reason") == "compiler-artifact":
                    artifacts.append(msg)
                    package = _package_name(msg)
                    if package != PACKAGE and set(msg["target"]["kind"]) & LIB_KINDS:  # not build scripts
                        count += 1
                        progress(f"--crate: compiling {where} for WebAssembly, once for this set "
                                 f"[{min(count, total)}/{total}] {package}")  # fmt: skip
                elif msg.get("reason") == "compiler-message":
                    rendered = msg["message"].get("rendered") or ""
                    if msg["message"].get("level") == "error" and len(errors) < SHOWN_ERRORS:
                        errors.append(rendered.rstrip())
            code = proc.wait()
        err.seek(0)
        stderr = err.read()
    if code != 0:
        raise _build_error(specs, "\n".join(errors), stderr)
    return artifacts


def _package_name(artifact: dict) -> str:
    """cargo's package id `registry+https://...#regex@1.7.1` (or `path+file:///...#name@0.0.0`) -> `regex`."""
    package_id = artifact["package_id"]
    if " (" in package_id:  # cargo before 1.77: `regex 1.7.1 (registry+https://...)`
        return package_id.split(" ")[0]
    return package_id.split("#")[-1].rsplit("@", 1)[0].split("/")[-1]


def _collect(specs, artifacts, target: Path, stage: Path, lock: dict, source: str) -> None:
    """Move the deps folders into the entry and record which artifact each requested crate is."""
    wanted = {s.name.replace("_", "-") for s in specs}
    externs = {}
    for art in artifacts:
        if _package_name(art).replace("_", "-") in wanted and set(art["target"]["kind"]) & LIB_KINDS:
            files = [f for f in art["filenames"] if f.endswith((".rlib", ".so"))]
            if files:
                externs[art["target"]["name"]] = str(Path(files[0]).relative_to(target))
    for sub in (Path(RUST_TARGET) / "release" / "deps", Path("release") / "deps"):
        if (target / sub).exists():
            (stage / sub).parent.mkdir(parents=True, exist_ok=True)
            os.replace(target / sub, stage / sub)
    versions = sorted(f"{p['name']} {p['version']}" for p in lock.get("package", []) if p["name"] != PACKAGE)
    manifest = {"externs": externs, "versions": versions, "source": source}
    (stage / "set.json").write_text(json.dumps(manifest, indent=1))


def _load(folder: Path, source: str) -> CrateSet | None:
    try:
        manifest = json.loads((folder / "set.json").read_text())
    except (OSError, ValueError):
        return None
    externs = {name: folder / rel for name, rel in manifest["externs"].items()}
    if not all(p.exists() for p in externs.values()):
        return None
    versions = tuple(manifest["versions"])
    if source == "debian" and not all(
        (DEBIAN_REGISTRY / v.replace(" ", "-")).exists() for v in versions
    ):  # a package was upgraded or removed: build the set again
        return None
    dirs = tuple(
        d for d in (folder / RUST_TARGET / "release" / "deps", folder / "release" / "deps") if d.exists()
    )
    key = cache.content_key(folder.name, versions)
    return CrateSet(externs, dirs, source, versions, key)


# ---------------------------------------------------------------- errors


def _resolve_error(specs, source: str, stderr: str) -> CompileError:
    names = " ".join(map(str, specs))
    m = re.search(r"no matching package named `([^`]+)` found", stderr)
    if m and source == "crates-io":
        return CompileError(f"--crate: there is no crate `{m[1]}` on crates.io (check the spelling).",
                            diagnostics=stderr.strip())  # fmt: skip
    if m:
        return CompileError(
            f"--crate: `{m[1]}` is not among Debian's packaged crates here (install {debian_package(m[1])}; "
            f"search with `{APT_SEARCH}`).", diagnostics=stderr.strip(),
        )  # fmt: skip
    m = re.search(r"with feature `([^`]+)` but `([^`]+)` does not have that feature", stderr)
    if m:
        return CompileError(f"--crate: `{m[2]}` has no feature `{m[1]}`.", diagnostics=stderr.strip())
    m = re.search(r"failed to select a version for the requirement `([^`]+)`", stderr)
    if m:
        found = re.search(r"candidate versions found which didn't match: (.*)", stderr)
        where = "crates.io" if source == "crates-io" else "Debian's packaged crates"
        versions = f" (there: {found[1].strip()})" if found else ""
        return CompileError(f"--crate: no version matches `{m[1]}` in {where}{versions}.",
                            diagnostics=stderr.strip())  # fmt: skip
    return CompileError(f"--crate {names}: cargo could not resolve this set", diagnostics=stderr.strip())


# What a failing crate build says, and why that crate cannot work in the sandbox.
_WHY = (
    (r"failed to find tool|wasm32-wasip1-clang|cc-rs|error occurred: Command|linker `cc`",
     "it compiles C code, and crates get no C compiler for WebAssembly here: choose a pure-Rust crate."),
    (r"thread|pthread|Mutex|Condvar",
     "it needs threads, which the WebAssembly sandbox (wasm32-wasip1) does not have."),
    (r"socket|TcpStream|UdpSocket|mio|tokio",
     "it needs sockets, which the WebAssembly sandbox (wasm32-wasip1) does not offer to crates."),
    (r"unsupported|not supported|target_os|target_arch|cfg\(",
     "it does not support the WebAssembly target wasm32-wasip1."),
)  # fmt: skip


def _build_error(specs, errors: str, stderr: str) -> CompileError:
    text = errors or "\n".join(stderr.strip().splitlines()[-30:])
    why = next((w for pattern, w in _WHY if re.search(pattern, text)), None)
    why = why or "it may need threads, sockets or C code, which the WebAssembly sandbox does not have."
    failed = re.findall(r"could not compile `([^`]+)`", stderr)
    who = f"`{failed[0]}`" if failed else "a crate of this set"
    return CompileError(
        f"--crate {' '.join(map(str, specs))}: {who} does not build for WebAssembly: {why}",
        diagnostics=text,
    )
