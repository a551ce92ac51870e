"""The TypeScript/JavaScript toolchain: Debian's Node.js and npm, and the npm packages the builds use
(esbuild, componentize-qjs, componentize-js, jco and preview2-shim at the versions pins.py fixes), installed
by `asterai setup typescript` (JavaScript cells use the same) under the asterai cache (toolchains.npm_dir),
which then builds the shared QuickJS runner (interpreter.py).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from ... import pins
from ...errors import ToolchainMissing
from ...toolchains import NODE_APT, Requirements, Row, npm_dir, npm_version, query

ENGINE_ENV = "ASTERAI_JS_ENGINE"  # `starlingmonkey` builds with componentize-js (it enters the cache key)
# What the build needs from `asterai setup typescript`, by package directory.
PACKAGES = (
    "esbuild",
    "componentize-qjs",
    "@bytecodealliance/componentize-js",
    "@bytecodealliance/jco",
)
SETUP = "asterai setup typescript"


@dataclass(frozen=True)
class JsToolchain:
    node: Path
    npm: Path | None
    modules: Path  # npm_dir("typescript")/node_modules
    fingerprint: str


@cache
def _node_version(node: str) -> str:
    done = subprocess.run([node, "--version"], capture_output=True, text=True)
    return done.stdout.strip()


def js_toolchain() -> JsToolchain:
    node = shutil.which("node")
    if node is None:
        raise ToolchainMissing(f"TypeScript/JavaScript cells need Node.js. Install it with:\n    {SETUP}")
    modules = npm_dir("typescript") / "node_modules"
    versions = []
    for package in PACKAGES:
        try:
            meta = json.loads((modules / package / "package.json").read_text())
        except (OSError, ValueError):
            raise ToolchainMissing(
                f"TypeScript/JavaScript cells need the npm package {package}, which is not installed. "
                f"Install it with:\n    {SETUP}"
            ) from None
        versions.append(f"{package}@{meta.get('version')}")
    version = _node_version(node)
    engine = os.environ.get(ENGINE_ENV, "")
    fingerprint = hashlib.sha256("\n".join([version, *versions, engine]).encode()).hexdigest()[:16]
    return JsToolchain(Path(node), Path(shutil.which("npm") or "npm"), modules, fingerprint)


def rows() -> list[Row]:
    node, npm = shutil.which("node"), shutil.which("npm")
    jco = npm_dir("typescript") / "node_modules" / ".bin" / "jco"
    node_version = query([node, "--version"]) if node else ""
    jco_version = npm_version("typescript", "@bytecodealliance/jco")
    return [
        Row("node / npm", bool(node and npm), node_version, node or "", SETUP, "typescript"),
        Row("jco", jco.exists(), jco_version, str(jco), SETUP, "typescript"),
    ]


def setup(progress) -> None:
    """The last step of `asterai setup typescript`: the shared QuickJS runner cells load into, built and
    compiled to machine code."""
    from ... import interpreted
    from .plugin import TypeScript

    interpreted.prepare(TypeScript().interpreter(), progress)


REQUIREMENTS = Requirements(
    "typescript",
    SETUP,
    rows,
    apt=NODE_APT,
    npm=(pins.JCO, pins.COMPONENTIZE_JS, pins.PREVIEW2_SHIM, pins.COMPONENTIZE_QJS, pins.ESBUILD),
    finish=setup,
)
