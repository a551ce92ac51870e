"""Python cells on one shared CPython component (asterai_kernel/interpreted.py): the runner and its glue.

The runner is componentize-py's CPython with the whole standard library imported (a call cannot read module
files), built once per componentize-py version into the cache, at `asterai setup python` or by the first
Python cell (about half a minute, with progress). A cell then costs its glue (glue.py), an instance of the
runner and the glue's load: milliseconds instead of a componentize-py build and a compile to machine code.

Cells that need what only their own component has still get one (`why_not`): `--pip` packages, `--use`
(the cell imports another component), `--exports` interfaces, and resources.
"""

from __future__ import annotations

import json
import marshal
import os
import subprocess
import tempfile
from pathlib import Path

from ... import interpreted, wit
from ...build import cache
from ...errors import CompileError
from ..base import BuildJob, Interpreter, Progress, Unsupported
from . import exports, glue
from .signatures import read_cell
from .toolchain import python_toolchain

_RUNNER_APP = """\
# The shared runner of Python cells (asterai_kernel/languages/python/interpreter.py).
import importlib as _importlib
import sys as _sys
import types as _types

from componentize_py_types import Err as _Err
from wit_world import exports as _exports

{preload}
_preload_stdlib()
_GLUE = "<asterai glue>"
_calls = []


class Runner(_exports.Runner):
    def load(self, glue):
        global _calls
        module = _types.ModuleType("asterai_glue")
        module.__file__ = _GLUE
        exec(compile(glue, _GLUE, "exec", dont_inherit=True), module.__dict__)
        if module._FAILED is not None:
            raise _Err(module._FAILED)
        _calls = module._CALLS
        return module._PRINTED

    def call(self, index, args):
        return _calls[index](args)
"""


def runner_app() -> str:
    return _RUNNER_APP.format(preload=exports.PRELOAD)


class PythonInterpreter(Interpreter):
    def runner(self, progress: Progress) -> Path:
        tc = python_toolchain()
        key = cache.content_key("runner", "python", runner_app(), interpreted.RUNNER_WIT, tc.fingerprint)
        path = cache.entry_dir("runners", key) / "runner.wasm"
        if not path.exists():
            progress("python: building the shared Python interpreter, once per componentize-py version "
                     "(about half a minute)...")  # fmt: skip
            cache.write_atomic(path, _build_runner(tc))
        return path

    def why_not(self, job: BuildJob) -> str | None:
        if job.options.get("pip"):
            return "--pip packages are bundled into the cell's own component"
        if job.uses:
            return "--use: the cell imports other components"
        if job.exports:
            return "--exports: the cell implements declared interfaces"
        if any(isinstance(t, wit.Resource) for t in job.iface.types()):
            return "the cell exports resources"
        try:
            self._glue(job)
        except Unsupported as e:
            return str(e)
        return None

    def glue(self, job: BuildJob) -> str:
        return self._glue(job)

    def _glue(self, job: BuildJob) -> str:
        key = (job.component, job.source)
        if getattr(self, "_last", (None, None))[0] != key:
            self._last = (key, glue.glue(job.component, job.source, read_cell(job.source, {})))
        return self._last[1]

    def encode_args(self, fn: wit.Function, args: list) -> str:
        return marshal.dumps(tuple(args)).decode("latin-1") if args else ""

    def decode_result(self, fn: wit.Function, text: str):
        return text if isinstance(fn.result, wit.String) else json.loads(text)  # see glue._RAW_RESULTS


def _build_runner(tc) -> bytes:
    with tempfile.TemporaryDirectory(prefix="runner-", dir=cache.cache_dir()) as tmp:
        work = Path(tmp)
        (work / "wit").mkdir()
        (work / "wit" / "runner.wit").write_text(interpreted.RUNNER_WIT)
        (work / "app").mkdir()
        (work / "app" / "asterai_runner.py").write_text(runner_app())
        venv = work / "venv"  # empty: componentize-py would otherwise offer the kernel's site-packages
        (venv / "lib" / f"python{tc.guest_python}" / "site-packages").mkdir(parents=True)
        env = {**os.environ, "VIRTUAL_ENV": str(venv)}
        env.pop("PYTHONPATH", None)
        out = work / "runner.wasm"
        cmd = [str(tc.componentize_py), "-d", str(work / "wit"), "-w", interpreted.WORLD, "componentize",
               "-p", str(work / "app"), "asterai_runner", "-o", str(out)]  # fmt: skip
        proc = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True)
        if proc.returncode != 0 or not out.exists():
            detail = (proc.stderr or proc.stdout).partition("Stack backtrace:")[0].strip()
            raise CompileError("componentize-py could not build the shared Python interpreter (please "
                               "report it)", diagnostics=detail[-3000:])  # fmt: skip
        return out.read_bytes()


INTERPRETER = PythonInterpreter()
