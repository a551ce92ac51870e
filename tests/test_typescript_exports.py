"""`--exports IFACE` for TypeScript and JavaScript cells: a `wit` cell's interface, implemented by a TS/JS cell,
checked exactly and exported under its real name besides `asterai:cells/NAME` (see test_wit_cells.py for Rust).

The package and interface names are this file's own (`demo:tsmath/ts-calc`): declarations live for the whole
session, and `--exports calc` elsewhere must stay unambiguous.
"""

from __future__ import annotations

import subprocess
from types import SimpleNamespace

import pytest
from plain_host import PlainHost

from asterai_kernel import AsteraiError
from asterai_kernel.toolchains import wasm_tools

CALC_WIT = """
package demo:tsmath@1.0.0;

interface ts-calc {
    record point { x: f64, y: f64 }
    add: func(a: s32, b: s32) -> s32;
    mid: func(a: point, b: point) -> point;
}
"""
QUALIFIED = "demo:tsmath/ts-calc@1.0.0"

CALC_TS = """
export interface Point { x: number; y: number }
export function add(a: s32, b: s32): s32 { return a + b; }
export function mid(a: Point, b: Point): Point { return { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 }; }
"""

CALC_JS = """
/**
 * @typedef {Object} Point
 * @property {number} x
 * @property {number} y
 */

/** @param {s32} a @param {s32} b @returns {s32} */
export function add(a, b) { return a + b; }

/** @param {Point} a @param {Point} b @returns {Point} */
export function mid(a, b) { return { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 }; }
"""


@pytest.fixture
def declared(cell):
    out = cell("wit", CALC_WIT)
    assert out.startswith(f"declared {QUALIFIED}: add(a: s32, b: s32) -> s32, mid(a: point, b: point)")


def exported_wit(cell, name: str, path) -> str:
    cell.line(f"export {name} {path}")
    return subprocess.run([str(wasm_tools()), "component", "wit", str(path)],
                          capture_output=True, text=True, check=True).stdout  # fmt: skip


def check_foreign(path) -> None:
    """Calls the component's `demo:tsmath/ts-calc` export as any host of it would (plain wasmtime-py)."""
    host = PlainHost(path)
    added = host.func(QUALIFIED, "add")(2, 3)
    middle = host.func(QUALIFIED, "mid")(SimpleNamespace(x=0.0, y=1.0), SimpleNamespace(x=2.0, y=3.0))
    assert added == 5
    assert (middle.x, middle.y) == (1.0, 2.0)


def test_typescript_cell_implements_an_interface(cell, ns, declared, tmp_path):
    out = cell(f"ts ts_calc_impl --exports {QUALIFIED.split('@')[0]}", CALC_TS)
    assert "ts_calc_impl: typescript component" in out
    handle = ns["ts_calc_impl"]
    assert handle.add(2, 3) == 5 and handle.add(-7, 2) == -5
    middle = handle.mid({"x": 0, "y": 0}, {"x": 2, "y": 5})
    assert (middle.x, middle.y) == (1.0, 2.5)
    # the component really exports the interface under its own name, for any host of demo:tsmath/ts-calc
    text = exported_wit(cell, "ts_calc_impl", tmp_path / "calc.wasm")
    assert f"export {QUALIFIED};" in text and "export asterai:cells/ts-calc-impl;" in text
    check_foreign(tmp_path / "calc.wasm")


def test_show_wit_has_the_foreign_package(cell, declared):
    out = cell("ts ts_calc_shown --exports ts-calc --show-wit", CALC_TS)
    assert f"export {QUALIFIED};" in out and "package demo:tsmath@1.0.0 {" in out


def test_javascript_cell_named_like_the_interface(cell, ns, declared, tmp_path):
    """JSDoc types; the cell's own interface `asterai:cells/ts-calc` has the bare name of the declared one."""
    out = cell("js ts_calc --exports ts-calc", CALC_JS)
    assert "ts_calc: javascript component" in out
    handle = ns["ts_calc"]
    assert handle.add(40, 2) == 42 and handle.mid({"x": 1, "y": 1}, {"x": 3, "y": 3}).x == 2.0
    text = exported_wit(cell, "ts_calc", tmp_path / "calc.wasm")
    assert f"export {QUALIFIED};" in text and "export asterai:cells/ts-calc;" in text
    check_foreign(tmp_path / "calc.wasm")


def test_exports_check_gives_a_diff(cell, declared):
    wrong = CALC_TS.replace("add(a: s32, b: s32): s32", "add(a: u32, b: u32): u32")
    wrong += "export function extra(): u32 { return 1; }\n"
    with pytest.raises(AsteraiError) as info:
        cell("ts ts_calc_bad --exports ts-calc", wrong)
    text = str(info.value)
    assert f"--exports {QUALIFIED}: this cell does not implement it exactly" in text
    assert (
        "declared  add: func(a: s32, b: s32) -> s32" in text
        and "but cell  add: func(a: u32, b: u32) -> u32" in text
    )
    assert "extra     extra: func() -> u32" in text
    with pytest.raises(AsteraiError, match="missing   mid"):
        cell("js ts_calc_bad --exports ts-calc", "/** @param {s32} a @param {s32} b @returns {s32} */\n"
             "export function add(a, b) { return a; }\n")  # fmt: skip
    record = CALC_TS.replace("{ x: number; y: number }", "{ y: number; x: number }")
    with pytest.raises(AsteraiError, match="type point differs"):
        cell("ts ts_calc_bad --exports ts-calc", record)


def test_starlingmonkey_exports_the_interface(cell, ns, declared, tmp_path, monkeypatch):
    """componentize-js looks an interface of another package up by its qualified name (QuickJS: bare)."""
    monkeypatch.setenv("ASTERAI_JS_ENGINE", "starlingmonkey")
    cell(f"ts ts_calc_sm --exports {QUALIFIED}", CALC_TS)
    assert ns["ts_calc_sm"].add(2, 3) == 5
    text = exported_wit(cell, "ts_calc_sm", tmp_path / "calc.wasm")
    assert f"export {QUALIFIED};" in text
    check_foreign(tmp_path / "calc.wasm")
