"""The shared conformance table (conformance.py) through TypeScript identity functions (QuickJS engine).

QuickJS carries 64-bit integers as doubles: a value within +-(2^53 - 1) crosses exactly (the cell sees a
bigint), one beyond raises GuestTrap naming the limit, never a wrong number. Those rows run with that rule.
A JavaScript (JSDoc) cell checks a few rows too.
"""

from __future__ import annotations

import contextlib
import io

import pytest
from conformance import CASES, Case, check_case, fn_name, normalize

from asterai_kernel import Ok, Some, wit
from asterai_kernel.languages.typescript.signatures import camel
from asterai_kernel.names import pascal_name

SAFE = 2**53 - 1

TS = {"bool": "boolean", "f64": "number"}
# not expressible in TypeScript's `T | undefined`: an option inside an option
SKIP = {"option<option<string>>": "an option inside an option cannot be written as `T | undefined`"}


def ts_type(ty: wit.WitType | None) -> str:
    if ty is None:
        return "void"
    if isinstance(ty, wit.Prim):
        return TS.get(ty.name, ty.name)  # the kernel's aliases: u8, s64, f32, char, ...
    if isinstance(ty, wit.String):
        return "string"
    if isinstance(ty, wit.List):
        if ty.elem == wit.Prim("u8"):
            return "Uint8Array"
        inner = ts_type(ty.elem)
        return f"({inner})[]" if "|" in inner else f"{inner}[]"
    if isinstance(ty, wit.Tuple):
        return f"[{', '.join(ts_type(e) for e in ty.elems)}]"
    if isinstance(ty, wit.Option):
        return f"{ts_type(ty.inner)} | undefined"
    if isinstance(ty, wit.Result):
        return f"Result<{ts_type(ty.ok)}, {ts_type(ty.err)}>"
    return pascal_name(ty.name)


def ts_definition(ty: wit.WitType) -> str:
    name = pascal_name(ty.name)
    if isinstance(ty, wit.Record):
        fields = " ".join(f"{camel(n)}: {ts_type(t)};" for n, t in ty.fields)
        return f"export interface {name} {{ {fields} }}"
    if isinstance(ty, wit.Enum):
        return f"export type {name} = {' | '.join(repr(c) for c in ty.cases)};"
    cases = []
    for c, t in ty.cases:
        cases.append(f'{{ tag: "{c}" }}' if t is None else f'{{ tag: "{c}"; val: {ts_type(t)} }}')
    return f"export type {name} = {' | '.join(cases)};"


def identity_cell(cases: dict[int, object]) -> str:
    named: dict[str, wit.WitType] = {}
    for case in cases.values():
        for t in case.ty.named_types():
            named.setdefault(t.name, t)
    lines = [ts_definition(t) for t in named.values()]
    lines += [f"export function {fn_name(i)}(x: {ts_type(c.ty)}): {ts_type(c.ty)} {{ return x; }}"
              for i, c in cases.items()]  # fmt: skip
    return "\n".join(lines) + "\n"


def _exact(value) -> bool:
    """Whether every integer in the value is one QuickJS carries exactly."""
    if isinstance(value, bool) or value is None or isinstance(value, (str, bytes, float)):
        return True
    if isinstance(value, int):
        return -SAFE <= value <= SAFE
    if isinstance(value, dict):
        return all(_exact(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return all(_exact(v) for v in value)
    if isinstance(value, Some | Ok) or hasattr(value, "value"):
        return _exact(value.value)
    return True


CELL = {i: c for i, c in enumerate(CASES) if c.ty.wit() not in SKIP}


@pytest.fixture(scope="module")
def conf(ip):
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        ip.run_cell_magic("asterai", "ts conf_ts", identity_cell(CELL))
    return ip.user_ns["conf_ts"]


@pytest.mark.parametrize("i", sorted(CELL), ids=[CASES[i].ty.wit() for i in sorted(CELL)])
def test_conformance(conf, i):
    case = CASES[i]
    call = getattr(conf, fn_name(i))
    pairs = list(case.pairs())
    exact = [(v, e) for v, e in pairs if _exact(v)]
    if exact:
        check_case(call, Case(case.ty, [v for v, _ in exact], [e for _, e in exact]))
    for value, _ in pairs:
        if not _exact(value):  # refused before the call: the component keeps its state
            with pytest.raises(OverflowError, match=r"exact to 2\^53 - 1"):
                call(value)


def test_64_bit_integers_cross_exactly_up_to_2_53(conf):
    s64 = getattr(conf, fn_name(next(i for i, c in CELL.items() if c.ty.wit() == "s64")))
    u64 = getattr(conf, fn_name(next(i for i, c in CELL.items() if c.ty.wit() == "u64")))
    assert [s64(v) for v in (-SAFE, -1, 0, SAFE)] == [-SAFE, -1, 0, SAFE]
    assert [u64(v) for v in (0, SAFE)] == [0, SAFE]
    for call, value in [(s64, SAFE + 1), (s64, -(2**63)), (u64, 2**53), (u64, 2**64 - 1)]:
        with pytest.raises(OverflowError, match=rf"= {value} is out of range for .64 \(.*exact to 2\^53 - 1"):
            call(value)
    outer = next(i for i, c in CELL.items() if c.ty.wit() == "outer")
    from conformance import DEEP

    safe_deep = {**DEEP, "id": SAFE}
    assert normalize(getattr(conf, fn_name(outer))(safe_deep)) == normalize(safe_deep)


@pytest.mark.no_toolchain
def test_every_row_is_covered():
    skipped = {i for i, c in enumerate(CASES) if c.ty.wit() in SKIP}
    assert set(CELL) | skipped == set(range(len(CASES))) and len(skipped) == 1


def test_the_component_keeps_working_after_bad_input(conf):
    point = next(i for i, c in CELL.items() if c.ty.wit() == "point")
    call = getattr(conf, fn_name(point))
    for bad in [{"x": 1.0}, {"x": 1.0, "y": "2"}, 5]:
        with pytest.raises((TypeError, ValueError)):
            call(bad)
    assert normalize(call({"x": 1.0, "y": 2.0})) == {"x": 1.0, "y": 2.0}


def test_javascript_jsdoc_identities(ip):
    source = """
/**
 * @typedef {Object} Point
 * @property {number} x
 * @property {number} y
 */
/** @typedef {"red" | "dark-red"} Color */

/** @param {Point} p @returns {Point} */
export function echoPoint(p) { return p; }
/** @param {Color} c @returns {Color} */
export function echoColor(c) { return c; }
/** @param {Array<string | undefined>} xs @returns {(string | undefined)[]} */
export function strings(xs) { return xs; }
/** @param {[u8, string]} t @returns {[u8, string]} */
export function pair(t) { return t; }
/** @param {Uint8Array} b @returns {Uint8Array} */
export function bytes(b) { return b; }
"""
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        ip.run_cell_magic("asterai", "js conf_js", source)
    js = ip.user_ns["conf_js"]
    assert normalize(js.echo_point({"x": 1.5, "y": -2.0})) == {"x": 1.5, "y": -2.0}
    assert js.echo_color("dark_red") == "dark-red"
    assert js.strings(["a", None, "😀"]) == ["a", None, "😀"]
    assert js.pair((255, "é")) == (255, "é")
    assert js.bytes(b"\x00\xff") == b"\x00\xff"
