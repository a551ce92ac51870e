"""Rust cells: `pub fn` signatures (tree-sitter) -> WIT, generated glue, rustc + wasm-component-ld."""

from __future__ import annotations

import json
import re
import subprocess

from ... import wit
from ...errors import CompileError
from ...names import wit_name
from ..base import BuildJob, Language, Progress
from . import crates, exports, imports, toolchain
from .signatures import LINE_OFFSET, read_cell
from .toolchain import rust_toolchain

SOURCE_FILE = "cell.rs"


class Rust(Language):
    name = "rust"
    aliases = ("rs",)
    bulk_twins = True
    supports_use = True
    supports_exports = True
    requirements = toolchain.REQUIREMENTS
    cell_options = {
        "crate": ("NAME[@VER][FEATS]", "use Rust crates, e.g. regex,serde[derive] (see --crate-source)"),
        "crate-source": (
            "SOURCE",
            "where --crate looks: auto (crates.io, else Debian's), crates-io or debian",
        ),
    }

    def interface(self, source: str, component: str) -> wit.Interface:
        return self.interface_using(source, component, {})

    def interface_using(self, source: str, component: str, uses: dict[str, wit.Interface]) -> wit.Interface:
        found, _ = read_cell(source, uses)
        if not found:
            raise CompileError(
                "this Rust cell exports nothing: write at least one top-level `pub fn` with typed "
                "parameters, e.g. `pub fn add(a: i32, b: i32) -> i32 { a + b }`."
            )
        return wit.Interface(wit_name(component), tuple(ex.fn for ex in found))

    def toolchain_fingerprint(self, progress: Progress) -> str:
        return rust_toolchain(progress=progress).fingerprint

    def options_key(self, options: dict, progress: Progress) -> object:
        """`--crate`: the built set (its specs in order, the source used, every version), whichever way the
        cell wrote it; a new resolution (a newer crate, another source) never serves a stale cell."""
        found = self._crate_set(options, progress)
        return {"crate-set": found.key} if found else options

    def _crate_set(self, options: dict, progress: Progress) -> crates.CrateSet | None:
        if not options.get("crate"):
            if options.get("crate-source"):
                raise CompileError("--crate-source chooses where --crate looks: give --crate too")
            return None
        tc = rust_toolchain(progress=progress)
        return crates.crate_set(list(options["crate"]), list(options.get("crate-source") or []), tc, progress)

    def build(self, job: BuildJob) -> bytes:
        tc = rust_toolchain(progress=job.progress)
        crate_set = self._crate_set(job.options, job.progress)
        found, rust_types = read_cell(job.source, job.uses)
        glue = exports.glue(job.iface, found, rust_types, job.exports)
        import_glue = "".join(
            imports.import_module(name, iface, job.uses) for name, iface in job.uses.items()
        )
        src = "\n" * LINE_OFFSET + job.source.rstrip() + "\n" + glue + import_glue
        (job.workdir / SOURCE_FILE).write_text(src)
        world = wit.render_world(
            job.iface, bulk=True, uses=tuple(job.uses.values()), extra_exports=job.exports
        )
        (job.workdir / "cell.wit").write_text(world)
        out = job.workdir / "cell.wasm"
        cmd = [
            str(tc.rustc), "--edition", "2021", "--crate-type", "cdylib", "--crate-name", "cell",
            "--target", "wasm32-wasip1", "--sysroot", str(tc.sysroot),
            "--error-format=json", "--json=diagnostic-rendered-ansi",
            "-C", "panic=abort", "-C", f"opt-level={job.opt}", "-C", "debuginfo=0", "-C", "strip=debuginfo",
            "-C", "link-self-contained=no", "-L", f"native={tc.wasi_libc}", "-C", f"linker={tc.linker}",
            "-C", "link-arg=--no-entry", "-C", f"link-arg={tc.wasi_libc / 'crt1-reactor.o'}",
            "-C", "link-arg=--export=_initialize", "-C", "link-arg=--component-type",
            "-C", "link-arg=cell.wit", "-C", "link-arg=--wasi-adapter=reactor",
            *(crate_set.rustc_args() if crate_set else []), SOURCE_FILE, "-o", str(out),
        ]  # fmt: skip
        proc = subprocess.run(cmd, cwd=job.workdir, capture_output=True, text=True)
        diagnostics = _diagnostics(proc.stderr, len(job.source.splitlines()) + LINE_OFFSET)
        if proc.returncode != 0 or not out.exists():
            raise CompileError(
                f"{job.component}: the Rust compiler rejected this cell", diagnostics=diagnostics,
                component=job.component,
            )  # fmt: skip
        if diagnostics:
            job.progress(diagnostics)
        return out.read_bytes()

    def trap_message(self, stderr_text: str) -> str | None:
        return panic_message(stderr_text)


def _diagnostics(stderr: str, last_cell_line: int) -> str:
    """rustc's rendered messages; anything pointing past the cell is about generated glue and says so."""
    rendered = []
    for line in stderr.splitlines():
        if not line.startswith("{"):
            if line.strip():
                rendered.append(line)
            continue
        try:
            diag = json.loads(line)
        except json.JSONDecodeError:
            rendered.append(line)
            continue
        text = diag.get("rendered") or ""
        if diag.get("level") == "failure-note" or not text:
            continue
        if _only_in_glue(diag, last_cell_line):
            text = "(in the glue asterai generated for this cell; please report it)\n" + text
        rendered.append(text.rstrip())
    return "\n".join(rendered)


def _only_in_glue(diag: dict, last_cell_line: int) -> bool:
    spans = [s for s in diag.get("spans", []) if s.get("file_name") == SOURCE_FILE]
    return bool(spans) and all(s["line_start"] > last_cell_line for s in spans)


PANIC_RE = re.compile(r"^panicked (?:at line (\d+):\d+)?: ?(.*)", re.M | re.S)


def panic_message(stderr_text: str) -> str | None:
    """The last panic the glue's hook reported ('... at line N'), if any."""
    start = stderr_text.rfind("panicked ")
    m = PANIC_RE.match(stderr_text, start) if start >= 0 else None
    if m is None:
        return None
    return f"{m.group(2).strip()} (at line {m.group(1)})" if m.group(1) else m.group(2).strip()
