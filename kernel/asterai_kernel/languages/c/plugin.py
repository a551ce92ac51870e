"""C cells: non-static function signatures (tree-sitter) -> WIT, generated glue, clang-14 (wasm32-wasi) +
wasm-tools with the reactor adapter.

cell.c is the runtime (runtime.h, which includes asterai.h), the header of each `--use` component (`geo.h`,
imports.py), then the cell's code after `#line 2 "cell.c"` so that clang's line numbers are the cell's,
then the glue after `#line 1 "asterai-glue.c"`, so a message about the glue says so. C++ (cpp/) is this
plugin with its own grammar, emitter and flags.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from functools import cache
from pathlib import Path

import tree_sitter

from ... import wit
from ...build import componentize
from ...errors import CompileError, ToolchainMissing
from ...names import wit_name
from ..base import BuildJob, Language, Progress
from . import exports, imports, signatures, toolchain
from .signatures import FIRST_LINE

GLUE_FILE = "asterai-glue.c"
_DIAG = re.compile(r"^(?P<file>[^:\s]+):(?P<line>\d+):(?P<col>\d+): (?P<rest>.*)$")
_TRAP = re.compile(r"^asterai trap: (.*)$", re.M)
_ASSERT = re.compile(r"^Assertion failed: (.*) \((?:[^:]*): (?:[^:]*): (\d+)\)$", re.M)


@cache
def _grammar(module: str) -> tree_sitter.Parser:
    try:
        grammar = __import__(module)
    except ImportError:
        raise ToolchainMissing(
            f"reading C/C++ cells needs PyPI {module.replace('_', '-')}. Run:\n    {toolchain.SETUP}"
        ) from None
    return tree_sitter.Parser(tree_sitter.Language(grammar.language()))


class C(Language):
    name = "c"
    supports_use = True  # `--use geo`: geo.h (imports.py)
    bulk_twins = True  # big numeric lists cross as one string block (runtime.h asterai_bulk_decode)
    requirements = toolchain.REQUIREMENTS
    source_file = "cell.c"
    grammar = "tree_sitter_c"
    compiler = toolchain.C_COMPILER
    noun = "C"

    # ---- reading ----
    def parse(self, source: str):
        return _grammar(self.grammar).parse(source.encode()).root_node

    def reader(self, root) -> signatures.Reader:
        return signatures.Reader(root)

    def read(self, source: str) -> list[exports.Export]:
        root = self.parse(source)
        if root.has_error:
            raise self._syntax_error(source) or signatures.syntax_error(root)
        return signatures.read_cell(root, self.reader(root))

    def interface(self, source: str, component: str) -> wit.Interface:
        found = self.read(source)
        if not found:
            raise CompileError(
                f"this {self.noun} cell exports nothing: define at least one function that is not static, "
                "e.g. `int32_t add(int32_t a, int32_t b) { return a + b; }`."
            )
        return wit.Interface(wit_name(component), tuple(ex.fn for ex in found))

    def _syntax_error(self, source: str) -> CompileError | None:
        """clang's own account of a syntax error (tree-sitter only knows where): None when clang has none."""
        if not self.compiler.driver.exists():
            return None
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            (work / self.source_file).write_text(self.cell_source(source, {}, ""))
            cmd = self.compile_command("-", "0", work) + ["-fsyntax-only"]
            done = subprocess.run(cmd, cwd=work, capture_output=True, text=True)
        shown = self.diagnostics(done.stderr)
        return (
            CompileError(f"the {self.noun} compiler rejected this cell", diagnostics=shown) if shown else None
        )

    # ---- building ----
    def toolchain_fingerprint(self, progress: Progress) -> str:
        return toolchain.c_toolchain(progress).fingerprint

    def emitter(self) -> exports.CEmitter:
        return exports.CEmitter()

    def prelude(self) -> str:
        """What comes before the cell's code, after the runtime and the `--use` headers."""
        return "#define abort() asterai_abort_at(__LINE__)\n"

    def cell_source(self, source: str, uses: dict[str, wit.Interface], glue: str) -> str:
        headers = "".join(f'#include "{imports.header_name(name)}"\n' for name in uses)
        return (
            f'#include "runtime.h"\n{headers}{self.prelude()}#line {FIRST_LINE} "{self.source_file}"\n'
            f'{source.rstrip()}\n#line 1 "{GLUE_FILE}"\n{glue}'
        )

    def build(self, job: BuildJob) -> bytes:
        tc = toolchain.c_toolchain(job.progress)
        found = self.read(job.source)
        g = self.emitter()
        for name, iface in job.uses.items():
            (job.workdir / imports.header_name(name)).write_text(self.header(name, iface))
        glue = exports.glue(job.iface, found, g)
        (job.workdir / self.source_file).write_text(self.cell_source(job.source, job.uses, glue))
        world = wit.render_world(job.iface, bulk=True, uses=tuple(job.uses.values()))
        (job.workdir / "cell.wit").write_text(world)
        done = self.compile(job)
        shown = self.diagnostics(done.stderr)
        if done.returncode != 0 or not (job.workdir / "core.wasm").exists():
            raise CompileError(
                f"{job.component}: the {self.noun} compiler rejected this cell", diagnostics=shown,
                component=job.component,
            )  # fmt: skip
        if shown:  # warnings
            job.progress(shown)
        return componentize.componentize(job.workdir, "core.wasm", "cell.wit", tc.adapter, job.component)

    def compile(self, job: BuildJob) -> subprocess.CompletedProcess:
        """clang on cell.c, with the runtime's precompiled header when there is one (made on first use)."""
        pch = toolchain.precompiled_header(self.compiler, job.opt)
        cmd = self.compile_command("core.wasm", job.opt, job.workdir, pch)
        done = subprocess.run(cmd, cwd=job.workdir, capture_output=True, text=True)
        if done.returncode != 0 and pch is not None and str(pch) in done.stderr:
            pch.unlink(missing_ok=True)  # unusable (say, a clang upgrade): compile without it
            done = subprocess.run(self.compile_command("core.wasm", job.opt, job.workdir), cwd=job.workdir,
                                  capture_output=True, text=True)  # fmt: skip
        return done

    def compile_command(self, out: str, opt: str, workdir: Path, pch: Path | None = None) -> list[str]:
        return toolchain.compile_command(self.compiler, self.source_file, out, opt, workdir, pch)

    def header(self, name: str, iface: wit.Interface) -> str:
        return imports.header(name, iface)

    def glue_sources(self) -> tuple[Path, ...]:
        return (toolchain.HEADERS / "asterai.h", toolchain.HEADERS / "runtime.h")

    # ---- messages ----
    def diagnostics(self, stderr: str) -> str:
        """clang's messages at the cell's lines. Those about the glue or a generated header are left out when
        the cell has errors of its own (they follow from them), else marked as the kernel's."""
        blocks: list[tuple[str, list[str]]] = []  # (where: cell | glue | other, lines)
        for line in stderr.splitlines():
            m = _DIAG.match(line)
            if m is None:
                if line.strip() and not re.match(r"^\d+ (warning|error)s? generated\.$", line) and blocks:
                    blocks[-1][1].append(line)
                elif line.strip() and not blocks:
                    blocks.append(("other", [line]))
                continue
            where = m["file"]
            if where == self.source_file:
                blocks.append(("cell", [f"line {m['line']}:{m['col']}: {m['rest']}"]))
            elif where == GLUE_FILE or where.endswith(".h"):
                blocks.append(("glue", [f"{where}:{m['line']}: {m['rest']}"]))
            else:
                blocks.append(("other", [line]))
        cell_errors = any(w == "cell" and ": error:" in f" {lines[0]}" for w, lines in blocks)
        shown = []
        for where, lines in blocks:
            if where == "glue":
                if cell_errors:
                    continue
                lines = ["(in the glue asterai generated for this cell; please report it)", *lines]
            shown += lines
        return "\n".join(shown)

    def trap_message(self, stderr_text: str) -> str | None:
        found = list(_TRAP.finditer(stderr_text))
        if found:
            return found[-1].group(1).strip()
        failed = list(_ASSERT.finditer(stderr_text))
        if failed:
            m = failed[-1]
            return f"Assertion failed: {m.group(1)} (at line {m.group(2)})"
        return None
