"""TypeScript and JavaScript cells on the shared QuickJS runner (issue 17, route 1): the real runner component
(componentize-qjs), real esbuild and real wasmtime, one instance per cell as the kernel makes them; values
of every supported type both ways through the JSON wire format, errors at the cell's lines, traps, isolation,
and the cells the runner leaves to their own component (why_not).
"""

from __future__ import annotations

import contextlib
import io
import math
from pathlib import Path

import numpy as np
import pytest
import wasmtime
from wasmtime.component import Component, Linker

from asterai_kernel import CompileError, ComponentError, Err, GuestTrap, Ok, wit
from asterai_kernel.interpreted import HOST_INTERFACE
from asterai_kernel.languages.base import BuildJob
from asterai_kernel.languages.typescript import wire
from asterai_kernel.languages.typescript.interpreter import QuickJsInterpreter
from asterai_kernel.languages.typescript.plugin import JavaScript, TypeScript, js_trap_message
from asterai_kernel.languages.typescript.signatures import camel

EXPORT = "asterai:runner/runner@0.1.0"


def _uses_nothing(store, component: str, index: int, args: str) -> str:
    raise AssertionError(f"a cell here called {component}, which it does not use")


@pytest.fixture(scope="module")
def runner():
    engine = wasmtime.Engine(wasmtime.Config())
    linker = Linker(engine)
    linker.add_wasip2()
    with linker.root() as root, root.add_instance(HOST_INTERFACE) as host:  # cells here use nothing
        host.add_func("call", _uses_nothing)
    path = QuickJsInterpreter(TypeScript()).runner(lambda msg: None)
    return engine, linker, Component.from_file(engine, str(path))


class Cell:
    """One cell on its own instance of the runner, called as the kernel calls it (checked values in)."""

    def __init__(self, runner, source: str, tmp: Path, language=None, options=None) -> None:
        self.language = language or TypeScript()
        self.interp = QuickJsInterpreter(self.language)
        self.iface = self.language.interface(source, "cell")
        job = BuildJob("cell", source, self.iface, tmp, options=options or {})
        assert self.interp.why_not(job) is None
        self.glue = self.interp.glue(job)
        engine, linker, component = runner
        self.store = wasmtime.Store(engine)
        self.out, self.err = bytearray(), bytearray()
        wasi = wasmtime.WasiConfig()
        wasi.stdout_custom = self.out.extend
        wasi.stderr_custom = self.err.extend
        self.store.set_wasi(wasi)
        instance = linker.instantiate(self.store, component)
        index = instance.get_export_index(self.store, EXPORT)
        self._load = instance.get_func(self.store, instance.get_export_index(self.store, "load", index))
        self._call = instance.get_func(self.store, instance.get_export_index(self.store, "call", index))
        self.loaded = self._load(self.store, self.glue)
        self.fns = {camel(fn.name): (i, fn) for i, fn in enumerate(self.iface.functions)}

    def __call__(self, name: str, *lowered):
        i, fn = self.fns[name]
        plain = [
            x.tobytes() if isinstance(x, np.ndarray) else x for x in lowered
        ]  # as plain.dumper makes them
        text = self._call(self.store, i, self.interp.encode_args(fn, plain))
        return self.interp.decode_result(fn, text)


VALUES = """
export interface Point { x: number; y: number; first_name: string }
export type Mood = "happy" | "Very Sad";
export type Shape = { tag: "circle"; val: f32 } | { tag: "rect"; val: [u16, u16] } | { tag: "none" };
export function ints(a: s8, b: u8, c: s16, d: u16, e: s32, f: u32): [s8, u8, s16, u16, s32, u32] {
  return [a, b, c, d, e, f];
}
export function wide(a: s64, b: u64): [s64, u64] {
  if (typeof a !== "bigint" || typeof b !== "bigint") throw new Error("64-bit integers arrive as bigint");
  return [a - 1n, b];
}
export function floats(a: number, b: f32): number[] { return [a, b, a * 2]; }
export function flag(b: boolean): boolean { return !b; }
export function letter(c: char): char { return c.toUpperCase(); }
export function text(s: string): string { return s + "!" + s.length; }
export function bytes(data: Uint8Array): Uint8Array { return data.map((b) => 255 - b); }
export function octets(data: u8[]): u8[] { return Array.isArray(data) ? data.concat([7]) : []; }
export function sum(xs: number[]): number { return xs.reduce((a, b) => a + b, 0); }
export function words(xs: string[]): string[] { return xs.map((w) => w.toUpperCase()); }
export function scale(p: Point, k: number): Point {
  return { x: p.x * k, y: p.y * k, first_name: p.first_name.toUpperCase() };
}
export function flip(m: Mood): Mood { return m === "happy" ? "Very Sad" : "happy"; }
export function grow(s: Shape): Shape {
  switch (s.tag) {
    case "circle": return { tag: "circle", val: s.val * 2 };
    case "rect": return { tag: "rect", val: [s.val[1], s.val[0]] };
    default: return { tag: "none" };
  }
}
export function maybe(p: Point | undefined): number | undefined { return p === undefined ? undefined : p.x; }
export function parse(s: string): Result<s32, string> {
  const n = Number(s);
  return Number.isInteger(n) ? { tag: "ok", val: n } : { tag: "err", val: `not a number: ${s}` };
}
export function inner(r: Result<u64, Mood>): Result<u64, Mood> { return r; }
export function nothing(): void {}
"""


def test_values_of_every_type_cross_both_ways(runner, tmp_path):
    cell = Cell(runner, VALUES, tmp_path)
    assert cell("ints", -128, 255, -32768, 65535, -(2**31), 2**32 - 1) == [
        -128,
        255,
        -32768,
        65535,
        -(2**31),
        2**32 - 1,
    ]
    # 64-bit integers are exact over the whole range (the per-cell QuickJS component stops at 2^53)
    assert cell("wide", -(2**63) + 1, 2**64 - 1) == [-(2**63), 2**64 - 1]
    assert cell("wide", 2**53 + 2, 2**53 + 1) == [2**53 + 1, 2**53 + 1]
    a, b, c = cell("floats", math.inf, math.nan)
    assert (a, math.isnan(b), c) == (math.inf, True, math.inf)
    assert cell("floats", -0.5, 1.5) == [-0.5, 1.5, -1.0]
    assert cell("flag", True) is False
    assert cell("letter", "é") == "É"
    assert cell("text", "héllo 🌍".encode()) == "héllo 🌍!8"
    assert cell("bytes", np.array([0, 1, 255], dtype=np.uint8)) == b"\xff\xfe\x00"
    assert cell("octets", np.array([1, 2], dtype=np.uint8)) == b"\x01\x02\x07"
    assert cell("sum", np.arange(10, dtype=np.float64)) == 45.0
    assert cell("words", [b"a", b"bc"]) == ["A", "BC"]
    assert cell("scale", [1.0, 2.5, b"ann"], 2.0) == [2.0, 5.0, "ANN"]
    assert (cell("flip", "happy"), cell("flip", "very-sad")) == ("very-sad", "happy")
    assert cell("grow", ("circle", 1.5)) == ["circle", 3.0]
    assert cell("grow", ("rect", [3, 4])) == ["rect", [4, 3]]
    assert cell("grow", ("none", None)) == ["none", None]
    assert (cell("maybe", None), cell("maybe", ([4.0, 0.0, b""],))) == (None, [4.0])
    assert (cell("parse", b"12"), cell("parse", b"x")) == ([True, 12], [False, "not a number: x"])
    assert cell("inner", (True, 2**64 - 1)) == [True, 2**64 - 1]
    assert cell("inner", (False, "very-sad")) == [False, "very-sad"]
    assert cell("nothing") is None
    assert cell.err == bytearray()


ERRORS = """
export function fail(why: string): string {
  return helper(why);
}
function helper(why: string): string {
  throw new Error(`failed because ${why}`);
}
export function half(n: s64): s64 { return Number(n) / 2; }
export function ok(): u8 { return 1; }
"""


def test_an_error_is_reported_at_the_cells_lines_then_traps(runner, tmp_path):
    cell = Cell(runner, ERRORS, tmp_path)
    with pytest.raises(wasmtime.WasmtimeError):
        cell("fail", b"reasons")
    message = js_trap_message(cell.err.decode())
    assert message.splitlines() == [
        "Error: failed because reasons",
        "    at helper (line 7)",  # the magic line is line 1, ERRORS starts with an empty one
        "    at fail (line 4)",
    ]
    with pytest.raises(wasmtime.WasmtimeError):  # a trapped instance is done: the kernel restarts it
        cell("ok")


def test_a_result_of_the_wrong_type_is_refused_in_the_guest(runner, tmp_path):
    cell = Cell(runner, ERRORS, tmp_path)
    assert cell("half", 4) == 2  # a whole number may stand for a bigint
    with pytest.raises(wasmtime.WasmtimeError):
        cell("half", 3)
    assert js_trap_message(cell.err.decode()) == "TypeError: expected a s64 (a bigint such as 5n), got 1.5"


def test_top_level_prints_come_back_from_load_and_its_errors_at_the_cells_lines(runner, tmp_path):
    cell = Cell(
        runner, 'export function f(): u8 { return 1; }\nconsole.log("ready", 1n, { a: [1] });\n', tmp_path
    )
    assert cell.loaded.tag == "ok" and cell.loaded.payload == "ready 1n { a: [ 1 ] }\n"
    assert cell.out == bytearray()  # kept for load's answer, not printed
    bad = 'export function f(): u8 { return 1; }\nconsole.log("before");\nfunction boom() {\n  throw new Error("no");\n}\nboom();\n'
    cell = Cell(runner, bad, tmp_path / "bad")
    assert cell.loaded.tag == "err"
    assert cell.loaded.payload.splitlines() == [
        "before",
        "Uncaught Error: no",
        "    at boom (line 5)",
        "    at <anonymous> (line 7)",
    ]


COUNTER = "let calls = 0;\nexport function bump(): u32 { calls += 1; return calls; }\n"


def test_cells_are_isolated_and_a_trap_ends_only_its_own_instance(runner, tmp_path):
    one, two = Cell(runner, COUNTER, tmp_path / "1"), Cell(runner, COUNTER, tmp_path / "2")
    assert [one("bump"), one("bump"), two("bump")] == [1, 2, 1]
    crash = Cell(runner, ERRORS, tmp_path / "3")
    with pytest.raises(wasmtime.WasmtimeError):
        crash("fail", b"x")
    assert (one("bump"), two("bump")) == (3, 2)
    again = Cell(runner, ERRORS, tmp_path / "4")  # a restart: a fresh instance of the same runner
    assert again("ok") == 1


def test_javascript_cells_use_the_runner_too(runner, tmp_path):
    source = (
        "/**\n * @param {string} s\n * @returns {u32}\n */\nexport function size(s) { return s.length; }\n"
    )
    cell = Cell(runner, source, tmp_path, JavaScript())
    assert cell("size", b"four") == 4


def test_npm_packages_are_bundled_into_the_glue(runner, tmp_path):
    source = "import ms from 'ms';\nexport function human(millis: number): string { return ms(millis, { long: true }); }\n"
    cell = Cell(runner, source, tmp_path, options={"npm": ["ms@2.1.3"]})
    assert cell("human", 90_000.0) == "2 minutes"


def test_an_unknown_import_is_a_compile_error_at_its_line(runner, tmp_path):
    source = 'import pad from "left-pad";\nexport function f(s: string): string { return pad(s, 3); }\n'
    lang = TypeScript()
    job = BuildJob("cell", source, lang.interface(source, "cell"), tmp_path)
    with pytest.raises(CompileError) as e:
        QuickJsInterpreter(lang).glue(job)
    assert "line 2:" in e.value.diagnostics and "--npm left-pad" in e.value.diagnostics


def test_why_not_leaves_some_cells_to_their_own_component(tmp_path, monkeypatch):
    lang = TypeScript()
    interp = QuickJsInterpreter(lang)
    plain = "export function f(x: number): number { return x; }\n"
    iface = lang.interface(plain, "cell")
    assert interp.why_not(BuildJob("cell", plain, iface, tmp_path)) is None
    assert (
        interp.why_not(BuildJob("cell", plain, iface, tmp_path, uses={"geo": iface})) is None
    )  # runner_uses
    assert "--exports" in interp.why_not(BuildJob("cell", plain, iface, tmp_path, exports=(iface,)))
    klass = "export class Counter {\n  n: u32;\n  constructor(n: u32) { this.n = n; }\n  bump(): u32 { return ++this.n; }\n}\n"
    assert "class" in interp.why_not(BuildJob("cell", klass, lang.interface(klass, "cell"), tmp_path))
    monkeypatch.setenv("ASTERAI_JS_ENGINE", "starlingmonkey")
    assert "StarlingMonkey" in interp.why_not(BuildJob("cell", plain, iface, tmp_path))


@pytest.mark.no_toolchain
def test_the_wire_format_carries_what_json_cannot():
    record = wit.Record("r", (("big", wit.Prim("u64")), ("f", wit.Prim("f64")), ("s", wit.String())))
    fn = wit.Function("f", (("r", record), ("xs", wit.List(wit.Prim("f32")))), wit.List(wit.Prim("u8")))
    encode, decode = wire.function_codec(fn)
    text = encode([[2**64 - 1, math.nan, "é".encode()], np.array([1.5, -math.inf], dtype=np.float32)])
    assert text == '[["18446744073709551615","NaN","\\u00e9"],[1.5,"-Infinity"]]'
    assert decode("[1,2,255]") == b"\x01\x02\xff"
    assert decode("[1,2,256]") == [1, 2, 256]  # not bytes: the host's check then says what is wrong
    opt = wit.Function("g", (), wit.Option(wit.Tuple((wit.Prim("s64"), wit.Prim("f32")))))
    assert wire.function_codec(opt)[1]('[["-9223372036854775808","Infinity"]]') == [[-(2**63), math.inf]]
    assert wire.function_codec(opt)[1]("null") is None


# ---------------------------------------------------------------- through the magic, as a notebook runs them


def run(ip, line: str, source: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        ip.run_cell_magic("asterai", line, source)
    return out.getvalue(), err.getvalue()


def test_every_type_crosses_through_the_kernel(ip):
    out, _ = run(ip, "ts rt_values", VALUES)
    assert "rt_values: typescript component, on the shared interpreter in" in out
    h = ip.user_ns["rt_values"]
    assert h.ints(-128, 255, -32768, 65535, -(2**31), 2**32 - 1) == (
        -128,
        255,
        -32768,
        65535,
        -(2**31),
        2**32 - 1,
    )
    assert h.wide(-(2**53) + 1, 2**53 - 1) == (-(2**53), 2**53 - 1)  # the result beyond 2^53, exact
    a, b, c = h.floats(math.inf, math.nan)
    assert (a, math.isnan(b), c) == (math.inf, True, math.inf)
    assert [math.copysign(1, x) for x in h.floats(-0.0, -0.0)] == [-1, -1, -1]  # JSON has no -0: text
    assert (h.flag(False), h.letter("é"), h.text("héllo 🌍")) == (True, "É", "héllo 🌍!8")
    assert h.bytes(b"\x00\x01\xff") == b"\xff\xfe\x00"
    assert h.octets(b"\x01\x02") == b"\x01\x02\x07"
    assert h.octets(np.array([1, 2], dtype=np.uint8)).tolist() == [1, 2, 7]  # numpy in, numpy out
    assert h.sum([0.5, 1.5, 2.0]) == 4.0 and h.sum(np.arange(4, dtype=np.float64)) == 6.0
    assert h.words(["a", "bc"]) == ["A", "BC"]
    assert h.scale({"x": 1, "y": 2.5, "first_name": "ann"}, 2) == h.Point(x=2.0, y=5.0, first_name="ANN")
    assert h.flip("happy") == h.Mood.very_sad and h.flip(h.Mood.very_sad) == h.Mood.happy
    assert h.grow(("circle", 1.5)) == ("circle", 3.0)
    assert h.grow(("rect", (3, 4))) == ("rect", (4, 3))
    assert h.grow("none") == ("none", None)
    assert (h.maybe(None), h.maybe({"x": 4, "y": 0, "first_name": ""})) == (None, 4.0)
    assert h.parse("12") == 12
    with pytest.raises(ComponentError) as info:
        h.parse("x")
    assert info.value.value == "not a number: x"
    assert h.inner(Ok(2**53 - 1)) == 2**53 - 1
    with pytest.raises(ComponentError) as info:
        h.inner(Err("very-sad"))
    assert info.value.value == h.Mood.very_sad
    assert h.nothing() is None
    with pytest.raises(OverflowError, match="2\\^53"):  # refused before the call, on either route
        h.wide(0, 2**53)


def test_a_trap_reports_the_cells_lines_and_restarts_only_that_cell(ip):
    run(ip, "ts rt_one", COUNTER)
    run(ip, "ts rt_two", COUNTER)
    run(ip, "ts rt_crash", ERRORS)
    one, two, crash = (ip.user_ns[n] for n in ("rt_one", "rt_two", "rt_crash"))
    assert [one.bump(), one.bump(), two.bump()] == [1, 2, 1]  # one instance each: no shared state
    with pytest.raises(GuestTrap) as info, contextlib.redirect_stderr(io.StringIO()):
        crash.fail("reasons")
    assert info.value.guest_message.splitlines() == [
        "Error: failed because reasons",
        "    at helper (line 7)",
        "    at fail (line 4)",
    ]
    assert crash.ok() == 1  # restarted: a fresh instance of the runner, the glue loaded again
    assert (one.bump(), two.bump()) == (3, 2)  # the others never noticed


def test_top_level_output_is_shown_once_and_its_errors_are_compile_errors(ip):
    source = 'console.log("ready");\nconsole.warn("careful");\nexport function f(): u8 { return 1; }\n'
    out, err = run(ip, "ts rt_hello", source)
    assert out.startswith("ready\ncareful\nrt_hello: typescript component, on the shared interpreter in")
    assert "careful" not in err  # both streams, in order, shown once with the cell
    source = (
        'export function f(): u8 { return 1; }\nfunction boom() {\n  throw new Error("no");\n}\nboom();\n'
    )
    with pytest.raises(CompileError) as info:
        run(ip, "ts rt_boom", source)
    message = str(info.value)
    assert message.startswith("rt_boom: the cell's top-level code failed: Error: no\n")
    assert "    at boom (line 4)\n    at <anonymous> (line 6)" in message


def test_javascript_cells_run_on_the_runner(ip):
    source = "/**\n * @param {string[]} words\n * @returns {u32}\n */\nexport function count(words) { return words.length; }\n"
    out, _ = run(ip, "js rt_js", source)
    assert "rt_js: javascript component, on the shared interpreter in" in out
    assert ip.user_ns["rt_js"].count(["a", "b"]) == 2


def test_a_cell_the_runner_cannot_serve_gets_its_own_component(ip, monkeypatch):
    klass = "export class Tally {\n  n: u32;\n  constructor(n: u32) { this.n = n; }\n  add(): u32 { return ++this.n; }\n}\n"
    out, _ = run(ip, "ts rt_class", klass)
    assert "shared interpreter" not in out and "rt_class: typescript component, " in out
    assert ip.user_ns["rt_class"].Tally(4).add() == 5
    monkeypatch.setenv("ASTERAI_INTERPRETED", "0")  # every cell its own component
    out, _ = run(ip, "ts rt_own", COUNTER)
    assert "shared interpreter" not in out and ip.user_ns["rt_own"].bump() == 1


def test_a_result_of_the_wrong_type_traps_saying_what_was_wrong(ip):
    run(
        ip,
        "ts rt_liar",
        "export function f(): number { return 'abc' as any; }\nexport function n(): s64 { return 1.5 as any; }\n",
    )
    liar = ip.user_ns["rt_liar"]
    with pytest.raises(GuestTrap, match="returned a value that does not fit `f64`: result must be a float"):
        liar.f()  # checked by the host
    with (
        pytest.raises(GuestTrap, match=r"expected a s64 \(a bigint such as 5n\), got 1\.5"),
        contextlib.redirect_stderr(io.StringIO()),
    ):
        liar.n()  # checked in the guest: 64-bit integers become decimal text there
