"""TypeScript and JavaScript cells end to end, in-process: real esbuild, componentize-qjs / componentize-js
(StarlingMonkey) and wasmtime, driven by the magic; and the TypeScript part of 03-python-and-typescript.
"""

from __future__ import annotations

import contextlib
import io
import os
import re

import pytest

from asterai_kernel import AsteraiError, CompileError, ComponentError, GuestTrap

DEMO = """
/** A point on the plane. */
export interface Point { x: number; y: number; first_name: string }
type Mood = "happy" | "Very Sad";
export type Shape = { tag: "circle"; val: f32 } | { tag: "rect"; val: [u16, u16] } | { tag: "none" };

let calls = 0;

/** Counts the words of a text. */
export function wordCount(text: string): u32 {
  calls += 1;
  return text.split(/\\s+/).filter((w) => w.length > 0).length;
}
export function callsSoFar(): u32 { return calls; }
export function scale(p: Point, k: number): Point {
  return { x: p.x * k, y: p.y * k, first_name: p.first_name.toUpperCase() };
}
export function flip(m: Mood): Mood { return m === "happy" ? "Very Sad" : "happy"; }
export function area(s: Shape): number {
  switch (s.tag) {
    case "circle": return Math.PI * s.val * s.val;
    case "rect": return s.val[0] * s.val[1];
    default: return 0;
  }
}
export function greet(name: string | undefined, times?: u8): string[] {
  console.log("greeting", name ?? "nobody", { times });
  console.error("to stderr");
  return Array.from({ length: times ?? 1 }, () => `hi ${name ?? "you"}`);
}
export const checksum = (data: Uint8Array): u32 => data.reduce((a, b) => (a + b) % 65536, 0);
export function bytesBack(data: u8[]): Uint8Array { return new Uint8Array(data.map((b) => 255 - b)); }
export function parse(text: string): Result<s32, string> {
  const n = Number(text);
  return Number.isInteger(n) ? { tag: "ok", val: n } : { tag: "err", val: `not a number: ${text}` };
}
export function factorial(n: u64): u64 {
  let r = 1n;
  for (let i = 2n; i <= n; i++) r *= i;
  return r;
}
export function fail(why: string): string {
  return helper(why);
}
function helper(why: string): string {
  throw new Error(`failed because ${why}`);
}
"""


def run(ip, line: str, source: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        ip.run_cell_magic("asterai", line, source)
    return out.getvalue(), err.getvalue()


def calling(fn, *args):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        value = fn(*args)
    return value, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def demo(ip):
    out, _ = run(ip, "ts demo_ts", DEMO)
    return ip.user_ns, out


def test_summary_names_and_signatures(demo):
    ns, out = demo
    assert "demo_ts: typescript component, on the shared interpreter in" in out  # the QuickJS runner
    assert "word_count(text: string) -> u32" in out
    assert "scale(p: point, k: f64) -> point" in out
    assert "greet(name: option<string>, times: option<u8>) -> list<string>" in out
    assert "parse(text: string) -> result<s32, string>" in out
    assert ns["word_count"]("the quick brown fox") == 4
    assert ns["demo_ts"].word_count("a b") == 2


def test_records_enums_variants_tuples(demo):
    ns, _ = demo
    p = ns["scale"]({"x": 1.5, "y": -2.0, "first_name": "ada"}, 2)
    assert p == ns["demo_ts"].Point(x=3.0, y=-4.0, first_name="ADA")
    assert ns["flip"]("happy") == "very-sad" and ns["flip"]("very_sad") == "happy"
    assert ns["area"](("rect", (3, 4))) == 12.0
    assert ns["area"]("none") == 0.0
    assert ns["area"](("circle", 1.0)) == pytest.approx(3.14159265)


def test_options_bytes_results_and_bigint(demo):
    ns, _ = demo
    assert calling(ns["greet"], None, None)[0] == ["hi you"]
    assert calling(ns["greet"], "ada", 2)[0] == ["hi ada", "hi ada"]
    assert ns["checksum"](b"\x01\x02\xff") == 258
    assert ns["bytes_back"](b"\x00\x10") == b"\xff\xef"
    assert ns["parse"]("42") == 42
    with pytest.raises(ComponentError) as info:
        ns["parse"]("x")
    assert info.value.value == "not a number: x"
    assert ns["factorial"](18) == 6402373705728000
    # exact beyond 2^53: the shared runner carries 64-bit integers as decimal text (a cell's own QuickJS
    # component, ASTERAI_INTERPRETED=0, raises an error instead: test_own_component_refuses_inexact_u64)
    assert ns["factorial"](20) == 2432902008176640000
    ns["word_count"]("state to keep")
    before = ns["calls_so_far"]()
    assert before >= 1
    with pytest.raises(OverflowError, match=r"parameter 'n' = 9007199254740992 is out of range .*2\^53 - 1"):
        ns["factorial"](2**53)  # an argument QuickJS cannot hold is refused before the call...
    assert ns["calls_so_far"]() == before  # ...so the component was not restarted


def test_console_reaches_the_cell(demo):
    ns, _ = demo
    _, out, err = calling(ns["greet"], "ada", 1)
    assert out == "greeting ada { times: 1 }\n"
    assert err == "to stderr\n"


def test_a_throw_is_a_guest_trap_at_the_cells_lines(demo):
    ns, _ = demo
    assert ns["word_count"]("one two") == 2
    assert ns["calls_so_far"]() >= 1
    with pytest.raises(GuestTrap) as info:
        calling(ns["fail"], "the disk is full")
    trap = info.value
    assert trap.component == "demo_ts" and trap.function == "fail"
    assert trap.guest_message.startswith("Error: failed because the disk is full")
    # `throw` is on the cell's line 47 (the magic line is 1), called from line 44
    assert "at helper (line 47)" in trap.guest_message and "at fail (line 44)" in trap.guest_message
    assert "restarted" in str(trap)
    assert ns["calls_so_far"]() == 0  # the component restarted: its module state is fresh
    assert ns["word_count"]("still works") == 2


def test_bad_python_arguments_never_reach_the_guest(demo):
    ns, _ = demo
    with pytest.raises(TypeError, match="parameter 'text'"):
        ns["word_count"](42)
    with pytest.raises(OverflowError, match="parameter 'times'"):
        ns["greet"]("x", 300)


def test_rerun_loads_the_cell_on_the_shared_interpreter_again(ip, demo):
    out, _ = run(ip, "ts demo_ts", DEMO)
    assert "demo_ts (replaced): typescript component, on the shared interpreter in" in out


def test_own_component_refuses_inexact_u64(ip, monkeypatch):
    monkeypatch.setenv("ASTERAI_INTERPRETED", "0")
    out, _ = run(ip, "ts own_u64", "export function f(n: u64): u64 { return n * 1000n; }\n")
    assert (
        "own_u64: typescript component, built in" in out or "own_u64: typescript component, from cache" in out
    )
    with pytest.raises(GuestTrap, match="2\\^53"):
        ip.user_ns["own_u64"].f(2**50)  # 1.1e18 does not fit a double exactly: an error, not a rounded number


def test_no_wasi_http_import(ip, demo):
    from asterai_kernel.session import get_session

    session = get_session()
    live = session.components["demo_ts"]
    imports = list(live.component.type.imports(session.engine))
    assert imports and not any("wasi:http" in name for name in imports)
    assert live.wasm_size < 3 << 20  # the QuickJS engine: about 1.7 MB


# ---------------------------------------------------------------- JavaScript


JS = """
/**
 * @typedef {Object} Item
 * @property {string} name
 * @property {number} price
 * @property {u32} [count]
 */

/**
 * The total price of a basket.
 * @param {Item[]} items
 * @returns {number}
 */
export function total(items) {
  console.log(`${items.length} items`);
  return items.reduce((sum, it) => sum + it.price * (it.count ?? 1), 0);
}

/** @param {string} s @returns {string} */
export const shout = (s) => s.toUpperCase() + "!";

/** @param {number} x @returns {number} */
function half(x) { return x / 2; }
export { half as halve };
"""


def test_javascript_with_jsdoc(ip):
    out, _ = run(ip, "js basket", JS)
    assert "basket: javascript component" in out
    assert "total(items: list<item>) -> f64" in out
    ns = ip.user_ns
    value, printed, _ = calling(
        ns["total"], [{"name": "tea", "price": 2.5, "count": 2}, {"name": "pie", "price": 4, "count": None}]
    )
    assert value == 9.0 and printed == "2 items\n"
    assert ns["shout"]("hey") == "HEY!"
    assert ns["halve"](5) == 2.5


def test_javascript_without_types_shows_how_to_annotate(ip):
    with pytest.raises(CompileError) as info:
        run(ip, "js", "const k = 2;\nexport function double(x) { return x * k; }\n")
    message = str(info.value)
    assert message.startswith("line 3: `export function double`: parameter `x` has no type")
    assert "@param {number} x" in message and "@returns {number}" in message


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "source, expected",
    [
        # a syntax error: esbuild's message at the cell's line (magic = line 1)
        (
            "export function f(a: number): number {\n  let x = ;\n  return a;\n}\n",
            ['line 3: error: Unexpected ";"', "3 |   let x = ;"],
        ),
        # an error only esbuild sees
        (
            "export function f(a: number): number {\n  const x = 1;\n  const x = 2;\n  return a;\n}\n",
            ['line 4: error: The symbol "x" has already been declared'],
        ),
        # a type the kernel cannot map, named
        (
            "export function f(a: number,\n  m: Map<string, number>): number { return a; }\n",
            [
                "line 3: `export function f`: parameter `m` has type `Map<string, number>`",
                "no WIT equivalent",
            ],
        ),
        (
            "export function f(n: bigint): number { return 1; }\n",
            ["parameter `n` has type `bigint` (write the kernel's `s64` or `u64`)"],
        ),
        # missing annotations
        (
            "export function f(a): number { return a; }\n",
            ["line 2: `export function f`: parameter `a` has no type"],
        ),
        ("export function f(a: number) { return a; }\n", ["line 2: `export function f` has no return type"]),
        # a module that throws while loading
        (
            "const ok = 1;\nthrow new Error('not ready');\nexport function f(a: number): number { return a; }\n",
            ["the cell's top-level code failed: Error: not ready", "(line 3)"],
        ),
        # an npm package that was not asked for
        (
            "import ms from 'ms';\nexport function f(a: number): string { return ms(a); }\n",
            ['line 2: error: Could not resolve "ms"', "add `--npm ms` to the magic line"],
        ),
        ("const a = 1;\n", ["this TypeScript cell exports nothing"]),
    ],
)
def test_bad_cells(ip, source, expected):
    with pytest.raises(CompileError) as info:
        run(ip, "ts bad_cell", source)
    message = str(info.value)
    for part in expected:
        assert part in message, message


def test_a_wrong_return_type_is_a_trap_that_says_so(ip):
    run(ip, "ts liar", "export function f(a: number): u32 { return 'x' as any; }\n")
    with pytest.raises(GuestTrap, match="returned a value that does not fit `u32`: result must be an int"):
        calling(ip.user_ns["f"], 1)


def test_sandbox_limits_stop_runaway_javascript(ip):
    from asterai_kernel import OutOfMemory, Timeout

    run(
        ip,
        "ts runaway --timeout 1 --max-memory 32MiB",
        """
export function spin(): u32 { let i = 0; while (true) { i++; } }
export function hog(n: u32): u32 {
  const xs: string[] = [];
  for (let i = 0; i < n; i++) xs.push("x".repeat(1000) + i);
  return xs.length;
}
export function fine(): u32 { return 7; }
""",
    )
    ns = ip.user_ns
    with pytest.raises(Timeout):
        ns["spin"]()
    assert ns["fine"]() == 7
    with pytest.raises(OutOfMemory) as info:
        calling(ns["hog"], 10_000_000)
    assert "32MiB" in str(info.value)
    assert ns["fine"]() == 7


def test_npm_option_is_for_js_and_ts_only(ip):
    with pytest.raises(AsteraiError, match="--npm is for javascript and typescript cells"):
        run(ip, "rust --npm ms", "pub fn f() -> u32 { 1 }\n")


# ---------------------------------------------------------------- --npm


def test_npm_package_is_bundled(ip):
    source = "import ms from 'ms';\nexport function human(millis: number): string { return ms(millis, { long: true }); }\n"
    out, err = run(ip, "ts humanize --npm ms@2.1.3", source)
    assert "humanize: typescript component" in out
    assert ip.user_ns["human"](90_000) == "2 minutes"


# ---------------------------------------------------------------- StarlingMonkey


def test_starlingmonkey_engine(ip, monkeypatch):
    """ASTERAI_JS_ENGINE=starlingmonkey: 12 MB components with exact u64 and the full web platform."""
    monkeypatch.setenv("ASTERAI_JS_ENGINE", "starlingmonkey")
    source = """
export interface Tagged { label: string; id: u64 }
export function tag(id: u64, label: string | undefined): Tagged {
  console.log("tagging", id);
  return { label: label ?? new URL("https://example.org/x").pathname, id: id + 1n };
}
export function boom(): void {
  throw new Error("sm boom");
}
"""
    run(ip, "ts sm_cell", source)
    assert os.environ["ASTERAI_JS_ENGINE"] == "starlingmonkey"
    ns = ip.user_ns
    value, printed, _ = calling(ns["tag"], 2**64 - 2, None)
    assert value == ns["sm_cell"].Tagged(label="/x", id=2**64 - 1)
    assert printed == "tagging 18446744073709551614n\n"
    with pytest.raises(GuestTrap) as info:
        calling(ns["boom"])
    assert "Error: sm boom" in info.value.guest_message and "(line 9)" in info.value.guest_message
    assert ns["sm_cell"].tag(1, "one") == ns["sm_cell"].Tagged(label="one", id=2)


# ---------------------------------------------------------------- the tutorial


@pytest.fixture(scope="module")
def tutorial():
    from test_notebooks import execute

    return execute("03-python-and-typescript.ipynb")


def test_tutorial_typescript_component(tutorial):
    out = tutorial["ts-first"]
    assert "compass: typescript component" in out
    assert "walk(start: position, heading: heading, steps: u32) -> position" in out
    assert "turn_right(heading: heading) -> heading" in out
    assert tutorial["ts-calls"] == (
        "walking 3 step(s) north from (0, 0)\n"
        "Position(x=0.0, y=3.0)\n"
        "walking 2 step(s) east from (0, 3)\n"
        "Position(x=2.0, y=3.0) True\n"
        "north\n"
    )
    wit_text = tutorial["ts-wit"]
    assert "record position {" in wit_text and "enum heading {" in wit_text
    assert "/// A union of strings becomes a WIT enum." in wit_text


def test_tutorial_checked_arguments(tutorial):
    assert tutorial["ts-checked"] == (
        "ValueError: parameter 'heading' = 'up' is not a case of enum heading (north, east, south, west)\n"
        "OverflowError: parameter 'steps' = -1 is out of range for u32 (0..4294967295)\n"
    )


def test_tutorial_throw_becomes_guest_trap(tutorial):
    assert "divider: typescript component" in tutorial["ts-divider"]
    out = tutorial["ts-trap"]
    assert out.startswith("0.25 3.0 divisions so far: 2\n")
    assert (
        "GuestTrap from divider.divide: Error: cannot divide 1 by zero\n    at divide (line 6)\n"
        "after the restart, divisions so far: 0\n2.5\n"
    ) in out


def test_tutorial_javascript(tutorial):
    assert "wordstats: javascript component" in tutorial["ts-js"]
    assert "tally(words: list<string>) -> list<tuple<string, u32>>" in tutorial["ts-js"]
    assert tutorial["ts-js-call"] == "[('to', 2), ('be', 2), ('or', 1), ('not', 1)]\n"


def test_tutorial_shared_engine(tutorial):
    assert re.match(
        r"stats: typescript component, on the shared interpreter in \d+\.\d\d s; exports "
        r"mean\(xs: list<f64>\) -> f64\n  build \d+ ms \(glue for the shared interpreter\), machine code ",
        tutorial["ts-shared"],
    )
    assert tutorial["ts-shared-calls"] == "2.5\n0.5\n"
    assert "on the shared interpreter" not in tutorial["ts-resource"]  # a class: a component of its own


# ---------------------------------------------------------------- --use


def test_use_calls_other_components(ip):
    run(
        ip,
        "rust geo_rs",
        """
pub struct Point { pub x: f64, pub y: f64 }
pub fn word_count(text: &str) -> u32 { text.split_whitespace().count() as u32 }
pub fn mid(a: Point, b: Point) -> Point { Point { x: (a.x + b.x) / 2.0, y: (a.y + b.y) / 2.0 } }
pub fn parse(s: &str) -> Result<u32, String> { s.parse::<u32>().map_err(|e| e.to_string()) }
pub fn explode(s: &str) -> u32 { panic!("geo exploded: {}", s) }
""",
    )
    run(ip, "ts tally_ts", "let n = 0;\nexport function bump(by: u32): u32 { n += by; return n; }\n")
    run(
        ip,
        "ts user_ts --use geo_rs,tally_ts",
        """
import { wordCount, mid, parse, explode } from "geo_rs";
import { bump } from "tally_ts";
import type { Point } from "geo_rs";

export function summary(text: string): string {
  const m: Point = mid({ x: 0, y: 0 }, { x: 2, y: 4 });
  const bad = parse("x");
  return `${wordCount(text)} words, mid (${m.x}, ${m.y}), ${JSON.stringify(parse("12"))}, ${bad.tag}: ${bad.val}`;
}
export function bumpTwice(): u32 { bump(1); return bump(1); }
export function boom(): u32 { return explode("now"); }
""",
    )
    ns = ip.user_ns
    assert ns["summary"]("a b c") == (
        '3 words, mid (1, 2), {"tag":"ok","val":12}, err: invalid digit found in string'
    )
    assert ns["bump_twice"]() == 2 and ns["tally_ts"].bump(0) == 2  # the provider's live state is shared
    with pytest.raises(GuestTrap, match="geo_rs.explode trapped: geo exploded: now"):
        calling(ns["boom"])
    assert ns["summary"]("x").startswith("1 words")


def test_tutorial_resources(tutorial):
    assert "class Stack (resource stack)" in tutorial["ts-resource"]
    assert tutorial["ts-resource-calls"] == "3.0 3.0 c b a None\n"  # number is f64


def test_tutorial_flags(tutorial):
    out, calls = tutorial["ts-flags"], tutorial["ts-flags-calls"]
    assert "lock_down(f: file) -> file" in out and "describe(p: perms) -> string" in out
    assert calls == "File(name='notes.txt', perms=<Perms.read: 1>)\neverything read+exec nothing\n"
    assert "can_write(m: mode) -> bool" in tutorial["js-flags"]  # JSDoc's @enum of bits
    assert tutorial["js-flags-calls"] == "True False\n"
