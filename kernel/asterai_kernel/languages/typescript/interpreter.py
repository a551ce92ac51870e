"""TypeScript/JavaScript cells on one shared QuickJS runner (issue 17, route 1).

The runner (runner/runner.js, serving interpreted.RUNNER_WIT) is built once per toolchain with
componentize-qjs, through the same driver as per-cell components (build.mjs), and cached by the toolchain
and its sources. Each cell gets its own instance of it, in its own Store, and `load`s its glue (glue.py:
the cell bundled by esbuild's native binary, and converters to and from the JSON wire format of wire.py).
The runner imports the kernel's `host` (interpreted.HOST_WIT): a cell's `--use geo` is a module of the
glue (runner_uses.py) whose calls reach geo's live instance (asterai_kernel/runner_links.py).
A cell the runner cannot serve (`why_not`) gets its own component, as before.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from ... import wit
from ...build import cache
from ...errors import CompileError
from ..base import BuildJob, Interpreter, Progress
from . import glue, runner_uses, wire
from .exports import QUICKJS, WASI_IMPORTS

HERE = Path(__file__).parent
RUNNER_JS = HERE / "runner" / "runner.js"
WORLD = "quickjs-runner"  # RUNNER_WIT's world plus the WASI the runtime uses (console, exit on a trap)


def runner_wit() -> str:
    from ... import interpreted

    imports = "".join(f"  import {name};\n" for name in WASI_IMPORTS)
    return f"{interpreted.RUNNER_WIT}\nworld {WORLD} {{\n{imports}  import host;\n  export runner;\n}}\n"


def runner_sources() -> tuple[Path, ...]:
    from . import plugin

    return (RUNNER_JS, plugin.RUNTIME, plugin.DRIVER)


def runner_path(progress: Progress) -> Path:
    """The runner component, built on first use after each toolchain or runner change."""
    from ... import interpreted
    from . import plugin
    from .toolchain import js_toolchain

    tc = js_toolchain()
    sources = [p.read_text() for p in runner_sources()]
    key = cache.content_key("runner", "quickjs", runner_wit(), interpreted.HOST_WIT, *sources, tc.fingerprint)
    path = cache.entry_dir("runners", key) / "runner.wasm"
    if path.exists():
        return path
    progress(
        "building the QuickJS runner for TypeScript/JavaScript cells (once per toolchain, a few seconds)"
    )
    with tempfile.TemporaryDirectory(prefix="asterai-qjs-runner-") as tmp:
        work = Path(tmp)
        shutil.copyfile(RUNNER_JS, work / "runner.js")
        shutil.copyfile(plugin.RUNTIME, work / "asterai_runtime.js")
        (work / "wit" / "deps").mkdir(parents=True)
        (work / "wit" / "runner.wit").write_text(runner_wit())
        (work / "wit" / "host.wit").write_text(interpreted.HOST_WIT)
        for package in plugin.WASI_PACKAGES:
            (work / "wit" / "deps" / package).symlink_to(tc.modules / plugin.WASI_WIT / package)
        spec = {
            "toolchain": str(tc.modules.parent), "workdir": str(work), "entry": "runner.js",
            "userFile": "runner.js", "witDir": "wit", "world": WORLD, "engine": QUICKJS,
            "out": "runner.wasm", "nodePaths": [], "alias": {},
        }  # fmt: skip
        (work / "job.json").write_text(json.dumps(spec))
        result = plugin._run_driver(tc, work / "job.json", progress)
        if not result.get("ok"):
            raise CompileError("building the QuickJS runner failed", diagnostics=result.get("message", ""))
        cache.write_atomic(path, (work / "runner.wasm").read_bytes())
    return path


class QuickJsInterpreter(Interpreter):
    """The Interpreter hook (languages/base.py) of TypeScript and JavaScript cells."""

    host_calls = True  # `--use` (runner_uses.py)

    def __init__(self, language) -> None:
        self.language = language  # plugin._JsLanguage: reads the cell's signatures
        self._codecs: dict[int, tuple] = {}  # id(fn) -> (fn, encode, decode)

    def runner(self, progress: Progress) -> Path:
        return runner_path(progress)

    def why_not(self, job: BuildJob) -> str | None:
        from .plugin import engine_for

        if engine_for(None) != QUICKJS:
            return "ASTERAI_JS_ENGINE selects StarlingMonkey, which only per-cell components use"
        from ...runner_links import why_not_provider

        for name, iface in job.uses.items():
            why = why_not_provider(name, iface)
            if why is not None:
                return why
        if job.exports:
            return "`--exports` names the cell after other interfaces; the shared runner exports only its own"
        if self.language.read(job.source, job.uses).resources:
            return "the cell exports a class (a WIT resource); the shared runner carries plain values only"
        return None

    def glue(self, job: BuildJob) -> str:
        from .plugin import npm_packages
        from .toolchain import js_toolchain

        tc = js_toolchain()
        cell = self.language.read(job.source, job.uses)
        names = [ex.fn.name for ex in cell.exports]
        if names != [fn.name for fn in job.iface.functions]:
            raise CompileError(
                f"{job.component}: the cell's exports changed while it was built; run it again"
            )
        npm = list((job.options or {}).get("npm") or [])
        modules = npm_packages(npm, tc, job.progress) if npm else None
        label = f"{job.component}: the {self.language.how} cell"
        uses = {name: runner_uses.provider_module(name, iface) for name, iface in job.uses.items()}
        return glue.glue(
            cell, job.source, self.language.cell_file, tc.modules, modules, label, tc.fingerprint, uses
        )

    def _codec(self, fn: wit.Function) -> tuple:
        entry = self._codecs.get(id(fn))
        if entry is None or entry[0] is not fn:
            entry = self._codecs[id(fn)] = (fn, *wire.function_codec(fn))
        return entry

    def encode_args(self, fn: wit.Function, lowered: list) -> str:
        return self._codec(fn)[1](lowered)

    def decode_result(self, fn: wit.Function, text: str):
        return self._codec(fn)[2](text)

    def decode_args(self, text: str) -> list:
        """JSON with marked 64-bit integers and non-finite floats (runner_uses.py): no guest code runs."""
        return runner_uses.decode_args(text)

    def encode_answer(self, value, refused: tuple[str, str] | None) -> str:
        """[0, the result] or [1, error type, message], in the JSON the use modules read (runner_uses.py)."""
        answer = [0, runner_uses.answer_data(value)] if refused is None else [1, *refused]
        return wire.dumps(answer)
