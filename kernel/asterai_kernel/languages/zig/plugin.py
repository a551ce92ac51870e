"""Zig cells: `pub fn` signatures (tree-sitter) -> WIT, generated glue, Zig (wasm32-wasi) + wasm-tools.

The build has one Zig module per part: the root is the generated glue (glue.zig, exports.py), which imports
the cell's source as module `asterai_cell`; `asterai` is the runtime (asterai.zig: the call arena, the
ABI's leaves, what a cell may use); each `--use` provider is a generated module of its name (imports.py).
Zig makes a wasip1 reactor module, which build/componentize.py turns into a component with the preview1
adapter.
"""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

from ... import wit
from ...build import componentize
from ...errors import CompileError
from ...names import wit_name
from ..base import BuildJob, Language, Progress
from . import exports, imports, toolchain
from .emit import RUNTIME
from .signatures import LINE_OFFSET, read_cell

SOURCE_FILE = "cell.zig"
RUNTIME_SOURCE = Path(__file__).with_name("asterai.zig")


class Zig(Language):
    name = "zig"
    supports_use = True  # `--use geo`: `const geo = @import("geo");` in the cell (see imports.py)
    supports_exports = True  # `--exports demo:math/calc`: the same functions exported under that name too
    bulk_twins = True  # big numeric lists cross as one string block (asterai.zig bulkIn/bulkOut)
    requirements = toolchain.REQUIREMENTS

    def interface(self, source: str, component: str) -> wit.Interface:
        return self.interface_using(source, component, {})

    def interface_using(self, source: str, component: str, uses: dict[str, wit.Interface]) -> wit.Interface:
        return wit.Interface(wit_name(component), tuple(ex.fn for ex in read_cell(source, uses)[0]))

    def toolchain_fingerprint(self, progress: Progress) -> str:
        return toolchain.zig_toolchain(progress).fingerprint

    def glue_sources(self) -> tuple[Path, ...]:
        return (RUNTIME_SOURCE,)

    def build(self, job: BuildJob) -> bytes:
        tc = toolchain.zig_toolchain(job.progress)
        found, used = read_cell(job.source, job.uses)
        work = job.workdir
        (work / SOURCE_FILE).write_text("\n" * LINE_OFFSET + job.source.rstrip() + "\n")
        (work / "glue.zig").write_text(exports.glue(job.iface, found, used, job.exports))
        (work / "asterai.zig").write_text(RUNTIME_SOURCE.read_text())
        deps = self._write_uses(work, job.uses)
        world = wit.render_world(
            job.iface, bulk=True, uses=tuple(job.uses.values()), extra_exports=job.exports
        )
        (work / "cell.wit").write_text(world)
        cmd = [*tc.command("core.wasm", job.opt, work / "zig-cache"), *_modules(used, job.uses, deps)]
        first = not toolchain.warmed(tc, job.opt)
        if first:  # the slow one; a cell alone takes a fraction of a second: no progress line for it
            job.progress(toolchain.FIRST_BUILD)
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, cwd=work, capture_output=True, text=True)
        if proc.returncode != 0 or not (work / "core.wasm").exists():
            raise CompileError(
                f"{job.component}: the Zig compiler rejected this cell",
                diagnostics=diagnostics(proc.stderr + proc.stdout), component=job.component,
            )  # fmt: skip
        if first:
            toolchain.mark_warm(tc, job.opt, time.perf_counter() - t0)
        return componentize.componentize(work, "core.wasm", "cell.wit", tc.adapter, job.component)

    @staticmethod
    def _write_uses(work: Path, uses: dict[str, wit.Interface]) -> dict[str, set[str]]:
        """uses/NAME.zig for each provider; returns the other used modules each one imports."""
        deps = {}
        for module, iface in uses.items():
            source, deps[module] = imports.import_module(module, iface, uses)
            path = work / "uses" / f"{module}.zig"
            path.parent.mkdir(exist_ok=True)
            path.write_text(source)
        return deps

    def trap_message(self, stderr_text: str) -> str | None:
        found = PANIC_RE.findall(stderr_text)
        return found[-1].strip() if found else None


PANIC_RE = re.compile(r"^panicked: (.*)$", re.M)


def _modules(used: list[str], uses: dict[str, wit.Interface], deps: dict[str, set[str]]) -> list[str]:
    """Zig's module flags: each module's `--dep`s, then `-MNAME=FILE` (the root first)."""

    def module(name: str, path: str, needs) -> list[str]:
        return [*(f for d in [RUNTIME, *sorted(needs)] for f in ("--dep", d)), f"-M{name}={path}"]

    return [
        *module("root", "glue.zig", [exports.CELL, *used]),
        *module(exports.CELL, SOURCE_FILE, uses),
        f"-M{RUNTIME}=asterai.zig",
        *(f for m in uses for f in module(m, f"uses/{m}.zig", deps[m])),
    ]


_LOCATION = re.compile(r"^(?:\S*/)?(cell|glue|asterai|uses/[^/:\s]+)\.zig:(\d+):(\d+): (.*)$")
_NO_MODULE = re.compile(r"no module named '([^']+)' available")


def diagnostics(output: str) -> str:
    """Zig's messages at the cell's lines; those about generated code say so; `referenced by` blocks,
    which only list the glue's calls, are left out."""
    out, skipping = [], False
    for line in output.splitlines():
        m = _LOCATION.match(line)
        if m is None:
            if line.startswith("referenced by:"):
                skipping = True
            elif not skipping or not line.startswith(" "):
                skipping = False
                out.append(line)
            continue
        skipping = False
        file, row, col, message = m.groups()
        missing = _NO_MODULE.search(message)
        if missing:
            message += (
                f" (if {missing.group(1)} is a component, add `--use {missing.group(1)}` to the magic line)"
            )
        if file == "cell":
            out.append(f"line {row}:{col}: {message}")
        else:
            out.append(f"(in the glue asterai generated for this cell; please report it) {line}")
    return "\n".join(out).rstrip()
