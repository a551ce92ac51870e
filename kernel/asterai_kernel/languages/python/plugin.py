"""Python cells: top-level `def` type hints (read with `ast`) -> WIT, a generated app module, componentize-py.

The cell's code runs inside the component's own CPython (componentize-py's, 3.14), not the kernel's. Its
top-level code runs once, when the component is built (componentize-py snapshots the initialised interpreter);
each call then runs the exported function in that snapshot. Calls that raise leave a traceback at the cell's
line numbers on stderr and end the call with a trap (see exports.py), which the host turns into GuestTrap.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from ... import wit
from ...build import cache
from ...errors import CompileError
from ...names import wit_name
from ..base import BuildJob, Language, Progress
from . import exports, toolchain
from .exports import APP_MODULE
from .imports import check_use_name, use_module
from .signatures import read_cell
from .toolchain import PythonToolchain, python_toolchain

# A pip requirement: name, extras, version specifiers; nothing that pip could read as an option or a URL.
_PIP_SPEC = re.compile(
    r"^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?(?:\[[A-Za-z0-9._,-]+\])?"
    r"(?:\s*(?:===|==|>=|<=|~=|!=|<|>)\s*[A-Za-z0-9.*+!_-]+(?:\s*,\s*(?:===|==|>=|<=|~=|!=|<|>)\s*[A-Za-z0-9.*+!_-]+)*)?$"
)


# ---------------------------------------------------------------- --pip


def check_pip_specs(specs: list[str]) -> list[str]:
    for spec in specs:
        if not _PIP_SPEC.match(spec.strip()):
            raise CompileError(
                f"--pip {spec!r}: not a package requirement; write a name with an optional version, "
                "e.g. --pip attrs or --pip attrs==25.3.0"
            )
    return [s.strip() for s in specs]


def _pip(args: list[str]) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "pip", *args, "--disable-pip-version-check", "--no-input"]
    return subprocess.run(cmd, capture_output=True, text=True)


def pip_folder(specs: list[str], tc: PythonToolchain, progress: Progress) -> Path:
    """The pure-Python packages of `specs` (and their dependencies), installed once per set of specs."""
    key = cache.content_key("pip", specs, tc.guest_python, tc.fingerprint)
    folder = cache.entry_dir("python-pip", key)
    if (folder / ".complete").exists():
        return folder
    progress(
        f"installing {' '.join(specs)} from PyPI for the component (pure-Python wheels for {tc.guest_python})"
    )
    folder.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=".pip-", dir=folder.parent))
    try:
        proc = _pip([
            "install", "--target", str(stage), "--only-binary=:all:", "--platform", "any",
            "--implementation", "py", "--abi", "none", "--python-version", tc.guest_python,
            "--no-compile", "--quiet", *specs,
        ])  # fmt: skip
        if proc.returncode != 0:
            raise _pip_error(specs, proc.stderr + proc.stdout, tc.guest_python)
        (stage / ".complete").write_text("\n".join(specs) + "\n")
        try:
            os.replace(stage, folder)
        except OSError:  # another kernel finished the same set first
            pass
    finally:
        if stage.exists():
            import shutil

            shutil.rmtree(stage, ignore_errors=True)
    return folder


def _pip_error(specs: list[str], output: str, guest: str) -> CompileError:
    errors = [ln for ln in output.splitlines() if ln.startswith("ERROR:")]
    detail = "\n".join(errors[-3:]) or output.strip()[-1500:]
    m = re.search(r"satisfies the requirement (\S+)", output)
    if m:
        wanted = m.group(1)
        name = re.split(r"[\[=<>!~;]", wanted)[0]
        has_versions = re.search(r"\(from versions: (?!none\))", output)
        if not has_versions:
            exists = _pip(["index", "versions", name]).returncode == 0
            if exists:
                return CompileError(
                    f"--pip: `{name}` has no pure-Python wheel for Python {guest}: it has native "
                    "extensions (or ships only source), and a Python component can only bundle pure-Python "
                    "packages.", diagnostics=detail,
                )  # fmt: skip
            return CompileError(f"--pip: there is no package `{name}` on PyPI.", diagnostics=detail)
        return CompileError(f"--pip: no version of `{name}` matches `{wanted}`.", diagnostics=detail)
    return CompileError(f"--pip {' '.join(specs)}: pip could not install it.", diagnostics=detail)


# ---------------------------------------------------------------- the plugin


class Python(Language):
    name = "python"
    aliases = ("py",)
    bulk_twins = True  # big numeric lists and bytes cross as one string block (see exports.py)
    supports_use = True  # `--use geo`: `import geo` in the cell (see imports.py)
    one_int_type = True
    requirements = toolchain.REQUIREMENTS
    cell_options = {"pip": ("PKG[==VER]", "bundle a pure-Python package from PyPI")}
    supports_exports = True  # `--exports demo:math/calc`: one more class in the app module (exports.py)

    def interface(self, source: str, component: str) -> wit.Interface:
        return self.interface_using(source, component, {})

    def interface_using(self, source: str, component: str, uses: dict[str, wit.Interface]) -> wit.Interface:
        cell = read_cell(source, uses)
        if not cell.exports:
            why = "".join(f"\n  - {s}" for s in cell.skipped)
            raise CompileError(
                "this Python cell exports nothing: write at least one top-level `def` whose parameters and "
                "return value all have type hints, e.g. `def add(a: int, b: int) -> int: return a + b` "
                "(names starting with `_` stay private)." + (f"\nLeft out:{why}" if why else "")
            )
        return wit.Interface(wit_name(component), tuple(ex.fn for ex in cell.exports))

    def toolchain_fingerprint(self, progress: Progress) -> str:
        return python_toolchain().fingerprint

    def interpreter(self):
        from .interpreter import INTERPRETER  # it builds on the core's interpreted.py, which imports this

        return INTERPRETER

    def build(self, job: BuildJob) -> bytes:
        tc = python_toolchain()
        cell = read_cell(job.source, job.uses)
        specs = check_pip_specs(list(job.options.get("pip") or []))
        uses = dict(job.uses or {})
        pip_dir = pip_folder(specs, tc, job.progress) if specs else None
        for name in uses:
            check_use_name(name, pip_dir)
        wit_dir = job.workdir / "wit"
        wit_dir.mkdir()
        declared = job.exports  # `--exports`: the magic checked that the cell implements them, once each
        (wit_dir / "cell.wit").write_text(
            wit.render_world(job.iface, bulk=True, uses=tuple(uses.values()), extra_exports=declared)
        )
        base = [str(tc.componentize_py), "-d", str(wit_dir), "-w", wit.WORLD]
        ifaces = [job.iface, *[b for b in [wit.bulk_interface(job.iface)] if b is not None], *declared]
        names = exports.binding_names(job.workdir, base, ifaces)
        # the classes of used components' types, where an `--exports` interface has classes of its own
        used = exports.used_type_names(job.workdir, uses, job.iface) if declared and uses else {}
        app_dir = job.workdir / "app"
        app_dir.mkdir()
        resource_files: dict[str, str] = {}
        (app_dir / f"{APP_MODULE}.py").write_text(
            exports.app_module(job.component, job.source, cell, names, used, resource_files)
        )
        for module, text in resource_files.items():
            (app_dir / f"{module}.py").write_text(text)
        for name, provider in uses.items():
            (app_dir / f"{name}.py").write_text(use_module(name, provider, job.workdir / "bindings"))
        paths = ["-p", str(app_dir)]
        if pip_dir is not None:
            paths += ["-p", str(pip_dir)]
        # An empty virtualenv: without one componentize-py offers the kernel's own site-packages to the cell.
        venv = job.workdir / "venv"
        (venv / "lib" / f"python{tc.guest_python}" / "site-packages").mkdir(parents=True)
        env = {**os.environ, "VIRTUAL_ENV": str(venv)}
        env.pop("PYTHONPATH", None)
        out = job.workdir / "cell.wasm"
        job.progress(
            f"{job.component}: packing Python and the cell with componentize-py (about half a minute)..."
        )
        proc = subprocess.run(
            [*base, "componentize", *paths, APP_MODULE, "-o", str(out)],
            cwd=job.workdir, env=env, capture_output=True, text=True,
        )  # fmt: skip
        if proc.returncode != 0 or not out.exists():
            raise _build_error(job.component, proc.stdout + proc.stderr)
        printed_file = app_dir / exports.PRINTED_FILE
        printed = printed_file.read_text(errors="replace").rstrip("\n") if printed_file.exists() else ""
        if printed:
            job.progress(
                f"{job.component}: its top-level code printed (it runs once, at build time):\n{printed}"
            )
        return out.read_bytes()

    def trap_message(self, stderr_text: str) -> str | None:
        return exports.trap_message(stderr_text)


def _build_error(component: str, output: str) -> CompileError:
    tb = exports.init_traceback(output)
    if tb is not None:
        summary = exports.trap_message(tb) or "it raised an exception"
        return CompileError(
            f"{component}: the cell's top-level code failed while the component was built: {summary}",
            diagnostics=tb.rstrip(), component=component,
        )  # fmt: skip
    lines = [ln for ln in output.splitlines() if ln.strip()]
    cut = next((i for i, ln in enumerate(lines) if ln.strip().startswith("Stack backtrace:")), len(lines))
    detail = "\n".join(lines[:cut][-40:])
    return CompileError(f"{component}: componentize-py could not build this cell", diagnostics=detail,
                        component=component)  # fmt: skip
