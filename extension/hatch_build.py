"""Hatch build hook: build the JupyterLab extension with npm and ship it in the wheel.

pip runs this for `pip install .` and `pip install -e .` alike; the built labextension goes into the wheel's
shared data at share/jupyter/labextensions/asterai-jupyterlab, where JupyterLab finds it. The build is skipped
when its output is newer than its inputs (a stamp holds their hash), so a re-install costs milliseconds.
Dependencies come from package-lock.json (`npm ci`); the build itself is offline. Run this file directly to
build by hand: `python extension/hatch_build.py`.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

try:
    from hatchling.builders.hooks.plugin.interface import BuildHookInterface
except ImportError:  # run by hand, outside a build environment
    BuildHookInterface = object

HERE = Path(__file__).resolve().parent
NAME = json.loads((HERE / "package.json").read_text())["name"]
OUTPUT = HERE / "labextension"  # package.json's jupyterlab.outputDir
BUILD_STAMP = HERE / ".build-stamp"
INSTALL_STAMP = HERE / "node_modules" / ".asterai-install-stamp"
INSTALL_INPUTS = ("package.json", "package-lock.json")
BUILD_INPUTS = (*INSTALL_INPUTS, "tsconfig.json", "src")
NODE_MAJOR = 20


def _digest(names: tuple[str, ...]) -> str:
    h = hashlib.sha256()
    for name in names:
        path = HERE / name
        if not path.exists():
            continue
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for f in files:
            h.update(str(f.relative_to(HERE)).encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()


def _read(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return ""


def _build_stamp() -> str:
    """The hash of the sources and of the output built from them (a build run by hand changes the latter)."""
    return f"{_digest(BUILD_INPUTS)} {_digest((OUTPUT.name,))}"


def is_fresh() -> bool:
    """The built labextension matches the current sources."""
    return (OUTPUT / "package.json").exists() and _read(BUILD_STAMP) == _build_stamp()


def _node_problem() -> str:
    """Why this machine's Node.js cannot build the extension, or "" (the bundler, rspack, needs 20+)."""
    node = shutil.which("node")
    if node is None:
        return "node was not found"
    try:
        version = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30).stdout
        major = int(version.strip().lstrip("v").split(".")[0])
    except (OSError, subprocess.SubprocessError, ValueError):
        return "node --version failed"
    return f"Node.js {version.strip()} is too old" if major < NODE_MAJOR else ""


def _run(cmd: list[str], log) -> None:
    log(f"extension: {' '.join(cmd)}")
    done = subprocess.run(cmd, cwd=HERE, capture_output=True, text=True)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-40:])
        raise RuntimeError(f"`{' '.join(cmd)}` failed in {HERE} (exit {done.returncode}):\n{tail}")


def build(log=print) -> Path | None:
    """Build extension/labextension if missing or stale; its path, or None when npm is missing and there
    is no build to ship (the kernel works without the extension: cells are then highlighted as Python)."""
    with open(HERE / ".build.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two installs at once must not run npm in the same folder
        if is_fresh():
            return OUTPUT
        npm, problem = shutil.which("npm"), _node_problem()
        if npm is None or problem:
            problem = problem or "npm was not found"
            if (OUTPUT / "package.json").exists():
                log(f"extension: {problem}; shipping the existing build of the JupyterLab extension")
                return OUTPUT
            log(f"extension: {problem}; JupyterLab extension not built (needs Node.js >= {NODE_MAJOR})")
            return None
        if _read(INSTALL_STAMP) != _digest(INSTALL_INPUTS):
            _run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], log)
            INSTALL_STAMP.write_text(_digest(INSTALL_INPUTS))
        BUILD_STAMP.unlink(missing_ok=True)
        _run([npm, "run", "build"], log)
        BUILD_STAMP.write_text(_build_stamp())
        return OUTPUT


class ExtensionBuildHook(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict) -> None:
        out = build(self.app.display_info)
        if out is None:
            self.app.display_warning("The JupyterLab extension is not included (no usable Node.js/npm).")
        elif self.target_name == "wheel":
            dest, shared = f"share/jupyter/labextensions/{NAME}", build_data["shared_data"]
            shared[os.path.relpath(out, self.root)] = dest
            # Tells `jupyter labextension list` which Python package ships it.
            shared[os.path.relpath(HERE / "install.json", self.root)] = f"{dest}/install.json"


if __name__ == "__main__":
    sys.exit(0 if build() else 1)
