"""A cell's glue for the shared QuickJS runner: the cell bundled into one script (types stripped, `--npm`
packages included) by esbuild's native binary (no node start-up), with one function per export that takes the
arguments as JSON text, converts them to what the cell's types promise, calls the cell and returns its result
as JSON text of plain data (plain.py), which the host checks (wire.py is the host's side of the format).

The wire format, per WIT type: 64-bit integers as decimal strings (exact over the whole range: the cell gets
a bigint), NaN, infinities (and -0, from the guest) as the strings "NaN", "Infinity", "-Infinity", "-0",
list<u8> as an array of numbers, records and tuples as arrays (fields in WIT order), option as null or
[value], result as [is_ok, value], variant as [case, value], enum as its WIT case name, flags as a list of
its WIT member names. An error is reported at the cell's lines: the script's first line holds the table from
its lines to the cell's (from esbuild's source map), read by runtime.js.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import tempfile
from pathlib import Path

from ...build import cache
from ...errors import CompileError, ToolchainMissing
from ...names import pascal_name
from .signatures import LINE_OFFSET, Cell, JsType
from .toolchain import SETUP

HERE = Path(__file__).parent
BAD_RESULT = ' must return {tag: "ok", val} or {tag: "err", val}'
# The runner's checks of the cell's results before they become JSON (runner.js; the host checks the rest).
PRELUDE = (
    "const { fail: $throw, bad: $bad, w64: $w64, float: $float, list: $list, obj: $obj, flagsIn: $flagsIn, "
    "flagsOut: $flagsOut } = globalThis.__asteraiWire;"
)


class Converters:
    """Named JavaScript converters, one per (direction, type) that needs one: "in" takes the wire form to
    the cell's value, "out" the cell's value to the wire form."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.names: dict[tuple[str, JsType], str | None] = {}
        self.bodies: dict[str, str] = {}  # converter code -> its name: one function per distinct body

    def call(self, t: JsType | None, way: str, expr: str) -> str:
        if t is None:
            return "undefined" if way == "in" else "null"
        key = (way, t)
        if key not in self.names:
            body = self._in(t) if way == "in" else self._out(t)
            if body is not None and body not in self.bodies:
                self.bodies[body] = f"${way}{len(self.lines)}"
                self.lines.append(f"const {self.bodies[body]} = (v) => {body};")
            self.names[key] = None if body is None else self.bodies[body]
        fn = self.names[key]
        return f"{fn}({expr})" if fn else expr

    def _in(self, t: JsType) -> str | None:
        if t.kind == "prim":
            name = t.wit.name
            if name in ("s64", "u64"):
                return "BigInt(v)"
            return '(typeof v === "string" ? Number(v) : v)' if name in ("f32", "f64") else None
        if t.kind == "string":
            return None
        if t.kind == "bytes":
            return None if t.as_array else "Uint8Array.from(v)"
        if t.kind == "list":
            inner = self.call(t.children[0], "in", "x")
            return None if inner == "x" else f"v.map((x) => {inner})"
        if t.kind == "option":
            return f"(v === null ? undefined : {self.call(t.children[0], 'in', 'v[0]')})"
        if t.kind == "result":
            ok, err = (self.call(c, "in", "v[1]") for c in t.children)
            return f'(v[0] ? {{ tag: "ok", val: {ok} }} : {{ tag: "err", val: {err} }})'
        if t.kind == "tuple":
            parts = [self.call(c, "in", f"v[{i}]") for i, c in enumerate(t.children)]
            return None if parts == [f"v[{i}]" for i in range(len(parts))] else f"[{', '.join(parts)}]"
        if t.kind == "record":
            items = [f"{json.dumps(k)}: {self.call(c, 'in', f'v[{i}]')}" for i, (k, c) in
                     enumerate(zip(t.keys, t.children))]  # fmt: skip
            return f"({{ {', '.join(items)} }})"
        if t.kind == "enum":
            return _table(t.wit.cases, t.keys, "[v]")
        if t.kind == "flags":
            return f"$flagsIn(v, {json.dumps(list(t.wit.flags))})"
        if t.kind == "variant":
            cases = []
            for (case, _), tag, child in zip(t.wit.cases, t.keys, t.children):
                val = f", val: {self.call(child, 'in', 'v[1]')}" if child is not None else ""
                cases.append(f"case {json.dumps(case)}: return {{ tag: {json.dumps(tag)}{val} }};")
            return f"(() => {{ switch (v[0]) {{ {' '.join(cases)} }} }})()"
        raise AssertionError(t.kind)

    def _out(self, t: JsType) -> str | None:
        if t.kind == "prim":
            name = t.wit.name
            if name in ("s64", "u64"):
                return f'$w64(v, "{name}")'
            return "$float(v)" if name in ("f32", "f64") else None
        if t.kind == "string":
            return None
        if t.kind == "bytes":
            return "$list(v)"
        if t.kind == "list":
            inner = self.call(t.children[0], "out", "x")
            return "$list(v)" if inner == "x" else f"$list(v, (x) => {inner})"
        if t.kind == "option":
            return f"(v == null ? null : [{self.call(t.children[0], 'out', 'v')}])"
        if t.kind == "result":
            ok, err = (self.call(c, "out", "v.val") for c in t.children)
            bad = '$bad("{tag: \\"ok\\", val} or {tag: \\"err\\", val}", v)'
            head = '($obj(v, "a result").tag === "ok"'
            return f'{head} ? [true, {ok}] : v.tag === "err" ? [false, {err}] : {bad})'
        if t.kind == "tuple":
            parts = [self.call(c, "out", f"v[{i}]") for i, c in enumerate(t.children)]
            return f'($obj(v, "a tuple (an array)"), [{", ".join(parts)}])'
        if t.kind == "record":
            what = json.dumps(f"a {t.wit.name} (an object)")
            parts = [self.call(c, "out", f"v[{json.dumps(k)}]") for k, c in zip(t.keys, t.children)]
            return f"($obj(v, {what}), [{', '.join(parts)}])"
        if t.kind == "enum":
            return _table(t.keys, t.wit.cases, "[v] ?? v")
        if t.kind == "flags":
            return f"$flagsOut(v, {json.dumps(pascal_name(t.wit.name))}, {json.dumps(list(t.wit.flags))})"
        if t.kind == "variant":
            cases = " ".join(
                f"case {json.dumps(tag)}: return [{json.dumps(case)}, {self.call(child, 'out', 'v.val')}];"
                for (case, _), tag, child in zip(t.wit.cases, t.keys, t.children)
            )
            bad = json.dumps(f"a {t.wit.name} ({{tag, val}} with tag one of {', '.join(t.keys)})")
            return f"(() => {{ switch ($obj(v, {bad}).tag) {{ {cases} default: $bad({bad}, v); }} }})()"
        raise AssertionError(t.kind)


def _table(src, dst, use: str) -> str | None:
    """A lookup from one spelling of enum cases to the other, or None when they are the same."""
    return None if list(src) == list(dst) else f"({json.dumps(dict(zip(src, dst)))}{use})"


def entry_module(cell: Cell, cell_file: str) -> str:
    """The glue's entry: imports the cell and sets globalThis.__asteraiExports, one function per export in
    the order of the cell's WIT interface."""
    conv = Converters()
    functions = []
    for i, ex in enumerate(cell.exports):
        label = json.dumps(ex.js_name)
        call_args = ", ".join(conv.call(t, "in", f"a[{j}]") for j, (_, t) in enumerate(ex.params))
        if ex.top_result:
            ok, err = (conv.call(c, "out", "r.val") for c in ex.result.children)
            bad = json.dumps(ex.js_name + BAD_RESULT)
            result = (f'r != null && r.tag === "ok" ? [true, {ok}] : r != null && r.tag === "err" ? '
                      f"[false, {err}] : $throw({bad})")  # fmt: skip
        else:
            result = conv.call(ex.result, "out", "r") if ex.result is not None else "null"
        functions.append(
            f"function $f{i}(json) {{\n"
            f"  try {{\n"
            f"    const a = JSON.parse(json);\n"
            f"    const r = cell[{label}]({call_args});\n"
            f"    return JSON.stringify({result});\n"
            f"  }} catch (e) {{ globalThis.__asteraiFail({label}, e); }}\n"
            f"}}"
        )
    return "\n".join([
        "// Generated by asterai: the cell's exports for the QuickJS runner (JSON text in and out).",
        f'import * as cell from "./{cell_file}";',
        PRELUDE,
        *conv.lines,
        *functions,
        f"globalThis.__asteraiExports = [{', '.join(f'$f{i}' for i in range(len(cell.exports)))}];",
        "",
    ])  # fmt: skip


# ---------------------------------------------------------------- bundling (esbuild's native binary)

B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
# What the glue's text depends on besides the cell: this generator and the runner's helpers.
GLUE_VERSION = hashlib.sha256(
    Path(__file__).read_bytes() + (HERE / "runner" / "runner.js").read_bytes()
).hexdigest()


def line_table(mappings: str) -> list:
    """For each generated line: [source index, original line (1-based)] of its first mapping, or 0
    (build.mjs's lineTable: the same source-map VLQ walk)."""
    lines: list = [0]
    src = orig = shift = value = 0
    fields: list[int] = []
    for ch in mappings + ";":
        if ch in ";,":
            if len(fields) >= 4:
                src += fields[1]
                orig += fields[2]
                if lines[-1] == 0:
                    lines[-1] = [src, orig + 1]
            fields = []
            if ch == ";":
                lines.append(0)
            continue
        digit = B64.index(ch)
        value += (digit & 31) << shift
        if digit & 32:
            shift += 5
            continue
        fields.append(-(value >> 1) if value & 1 else value >> 1)
        value = shift = 0
    return lines[:-1]


def esbuild_binary(modules: Path) -> Path:
    """The esbuild executable npm installed (its native binary: no node start-up)."""
    return modules / "esbuild" / "bin" / "esbuild"


def glue(cell: Cell, source: str, cell_file: str, modules: Path, npm: Path | None, label: str,
         fingerprint: str, uses: dict[str, str] | None = None) -> str:  # fmt: skip
    """The text the runner's `load` evaluates, cached by content (`fingerprint`: the toolchain's). `uses`:
    the source of the module each `--use` name imports (runner_uses.py)."""
    entry = entry_module(cell, cell_file)
    uses = uses or {}
    key = cache.content_key("glue", "quickjs", GLUE_VERSION, fingerprint, cell_file, source, entry, str(npm),
                            json.dumps(uses, sort_keys=True))  # fmt: skip
    cached = cache.entry_dir("glue", key) / "glue.js"
    if cached.exists():
        return cached.read_text()
    with tempfile.TemporaryDirectory(prefix="asterai-glue-") as tmp:
        text = _bundle(entry, source, cell_file, modules, Path(tmp), npm, label, uses)
    cache.write_atomic(cached, text.encode())
    return text


def _bundle(entry: str, source: str, cell_file: str, modules: Path, workdir: Path, npm: Path | None,
            label: str, uses: dict[str, str]) -> str:  # fmt: skip
    (workdir / cell_file).write_text("\n" * LINE_OFFSET + source.rstrip() + "\n")
    (workdir / "entry.js").write_text(entry)
    if uses:
        (workdir / "uses").mkdir()
    for name, module in uses.items():
        (workdir / "uses" / f"{name}.js").write_text(module)
    aliases = [f"--alias:{name}=./uses/{name}.js" for name in uses]
    cmd = [str(esbuild_binary(modules)), "entry.js", "--bundle", "--format=iife", "--platform=browser",
           "--target=es2022", "--sourcemap=external", "--outfile=glue.js", "--log-level=error",
           "--legal-comments=none", "--color=false", "--log-limit=0", *aliases]  # fmt: skip
    env = {**os.environ, "NODE_PATH": str(npm or "")}
    try:
        done = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, env=env)
    except OSError as e:
        raise ToolchainMissing(f"esbuild could not start ({e}). Reinstall it with:\n    {SETUP}") from None
    if done.returncode != 0:
        raise CompileError(f"{label} does not build", diagnostics=_errors(done.stderr, cell_file))
    code = (workdir / "glue.js").read_text()
    source_map = json.loads((workdir / "glue.js.map").read_text())
    sources = [re.sub(r"^.*node_modules/", "", re.sub(r"^(\.\./)+", "", s)) for s in source_map["sources"]]
    table = [0, *line_table(source_map["mappings"])]  # one line more: the table's own, first
    head = (f"globalThis.__asterai_glue_lines = {json.dumps(table)}; "
            f"globalThis.__asterai_glue_sources = {json.dumps(sources)};")  # fmt: skip
    return head + "\n" + code


ERROR = re.compile(r"^✘ \[ERROR\] (?P<text>.*)\n(?:\n\s+(?P<file>[^\s:]+):(?P<line>\d+):(?P<column>\d+):\n"
                   r"\s+\d+ │ (?P<lineText>.*)\n)?", re.M)  # fmt: skip


def _errors(stderr: str, cell_file: str) -> str:
    """esbuild's messages, as the per-cell build reports them (at the cell's lines, with the npm hint)."""
    from .plugin import _bundle_error

    found = [{**m.groupdict(), "file": m["file"] or "", "line": int(m["line"] or 0),
              "column": int(m["column"] or 0)} for m in ERROR.finditer(stderr)]  # fmt: skip
    return "\n".join(_bundle_error(e, cell_file) for e in found) or stderr.strip()
