"""Python cells on one shared CPython component (asterai_kernel/interpreted.py): the runner and its glue.

The runner is componentize-py's CPython with the whole standard library imported (a call cannot read module
files), built once per componentize-py version into the cache, at `asterai setup python` or by the first
Python cell (about half a minute, with progress). A cell then costs its glue (glue.py), an instance of the
runner and the glue's load: milliseconds instead of a componentize-py build and a compile to machine code.

`--pip` packages are installed once per set, as for a cell's own component, and the cell's instance reads them
from that folder, mounted read-only (`mounts`). `--use geo` gives the cell a module `geo` (runner_uses.py)
whose calls reach geo's live instance through the runner's `host` import (asterai_kernel/runner_links.py).
Cells that need what only their own component has still get one (`why_not`): `--exports` interfaces,
resources of their own or of a component they use, and `--use` of functions the notebook's Python provides.
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
from ...runner_links import why_not_provider
from ..base import BuildJob, Interpreter, Progress, Unsupported
from . import exports, glue
from .imports import check_use_name
from .plugin import check_pip_specs, pip_folder
from .signatures import read_cell
from .toolchain import python_toolchain

PIP_GUEST = "/.asterai/pip"  # where a cell on the runner finds its --pip packages (read-only)

_RUNNER_APP = """\
# The shared runner of Python cells (asterai_kernel/languages/python/interpreter.py).
import importlib as _importlib
import sys as _sys
import types as _types

from componentize_py_types import Err as _Err
from wit_world import exports as _exports
from wit_world.imports import host as _host

{preload}
_preload_stdlib()
_GLUE = "<asterai glue>"
_HELPERS = compile({helpers!r}, _GLUE, "exec", dont_inherit=True)  # what every cell's glue runs first
_calls = []


class Runner(_exports.Runner):
    def load(self, glue):
        global _calls
        module = _types.ModuleType("asterai_glue")
        module.__file__ = _GLUE
        module._HELPERS = _HELPERS
        module._HOST_CALL = _host.call
        exec(compile(glue, _GLUE, "exec", dont_inherit=True), module.__dict__)
        if module._FAILED is not None:
            raise _Err(module._FAILED)
        _calls = module._CALLS
        return module._PRINTED

    def call(self, index, args):
        return _calls[index](args)
"""


def runner_app() -> str:
    return _RUNNER_APP.format(preload=exports.PRELOAD, helpers=exports.helpers())


class PythonInterpreter(Interpreter):
    host_calls = True  # `--use` (runner_uses.py)

    def __init__(self) -> None:
        self._last: tuple = (None, None)  # (cell, its glue): why_not makes it, glue takes it

    def runner(self, progress: Progress) -> Path:
        tc = python_toolchain()
        wits = (interpreted.RUNNER_WIT, interpreted.HOST_WIT)
        key = cache.content_key("runner", "python", runner_app(), *wits, tc.fingerprint)
        path = cache.entry_dir("runners", key) / "runner.wasm"
        if not path.exists():
            progress("python: building the shared Python interpreter, once per componentize-py version "
                     "(about half a minute)...")  # fmt: skip
            cache.write_atomic(path, _build_runner(tc))
        return path

    def why_not(self, job: BuildJob) -> str | None:
        for name, iface in job.uses.items():
            why = why_not_provider(name, iface)
            if why is not None:
                return why
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
        paths = [PIP_GUEST] if job.options.get("pip") else []
        key = (job.component, job.source, tuple(paths), repr(job.uses))
        if self._last[0] != key:
            for name in job.uses:
                check_use_name(name)
            cell = read_cell(job.source, job.uses)
            self._last = (key, glue.glue(job.component, job.source, cell, paths, job.uses))
        return self._last[1]

    def mounts(self, job: BuildJob) -> list[tuple[Path, str]]:
        """The cell's `--pip` packages, installed once per set (as for its own component), read-only."""
        specs = check_pip_specs(list(job.options.get("pip") or []))
        if not specs:
            return []
        folder = pip_folder(specs, python_toolchain(), job.progress)
        for name in job.uses:
            check_use_name(name, folder)
        return [(folder, PIP_GUEST)]

    def encode_args(self, fn: wit.Function, args: list) -> str:
        """marshal bytes as latin-1 text: every pass over it is a C loop, on both sides."""
        return marshal.dumps(tuple(args), 2).decode("latin-1") if args else ""

    def decode_result(self, fn: wit.Function, text: str):
        """JSON, then the bytes its {"b": [start, length]} refer to, as latin-1 text (glue._latin1); a string
        result as it is."""
        if isinstance(fn.result, wit.String):
            return text  # see glue._RAW_RESULTS
        head, split, tail = text.partition("\x1f")
        return json.loads(head, object_hook=_blocks_in(tail)) if split else json.loads(head)

    def decode_args(self, text: str) -> list:
        """JSON (runner_uses.py): decoding it runs nothing the guest wrote."""
        return json.loads(text)

    def encode_answer(self, value, refused: tuple[str, str] | None) -> str:
        """marshal as latin-1 text, like encode_args: (0, result) or (1, error type, message)."""
        answer = (0, value) if refused is None else (1, *refused)
        return marshal.dumps(answer, 2).decode("latin-1")


def _blocks_in(tail: str):
    def block(ref: dict) -> bytes:
        start, size = ref.get("b") or (0, -1)
        if not (isinstance(start, int) and isinstance(size, int) and 0 <= start <= start + size <= len(tail)):
            raise ValueError(f"a result refers to no bytes: {ref!r:.60}")
        return tail[start : start + size].encode("latin-1")  # a UnicodeEncodeError is a ValueError

    return block


def _build_runner(tc) -> bytes:
    with tempfile.TemporaryDirectory(prefix="runner-", dir=cache.cache_dir()) as tmp:
        work = Path(tmp)
        (work / "wit").mkdir()
        (work / "wit" / "runner.wit").write_text(interpreted.RUNNER_WIT)
        (work / "wit" / "host.wit").write_text(interpreted.HOST_WIT)
        (work / "app").mkdir()
        (work / "app" / "asterai_runner.py").write_text(runner_app())
        venv = work / "venv"  # empty: componentize-py would otherwise offer the kernel's site-packages
        (venv / "lib" / f"python{tc.guest_python}" / "site-packages").mkdir(parents=True)
        env = {**os.environ, "VIRTUAL_ENV": str(venv)}
        env.pop("PYTHONPATH", None)
        out = work / "runner.wasm"
        cmd = [str(tc.componentize_py), "-d", str(work / "wit"), "-w", interpreted.HOST_WORLD, "componentize",
               "-p", str(work / "app"), "asterai_runner", "-o", str(out)]  # fmt: skip
        proc = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True)
        if proc.returncode != 0 or not out.exists():
            detail = (proc.stderr or proc.stdout).partition("Stack backtrace:")[0].strip()
            raise CompileError("componentize-py could not build the shared Python interpreter (please "
                               "report it)", diagnostics=detail[-3000:])  # fmt: skip
        return out.read_bytes()


INTERPRETER = PythonInterpreter()
