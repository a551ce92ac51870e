"""`%%asterai wit` cells declare interfaces; `--exports IFACE` implements one exactly, under its real name."""

from __future__ import annotations

import subprocess

import pytest

from asterai_kernel import AsteraiError
from asterai_kernel.toolchains import wasm_tools

CALC_WIT = """
package demo:math@1.0.0;

interface calc {
    record point { x: f64, y: f64 }
    add: func(a: s32, b: s32) -> s32;
    mid: func(a: point, b: point) -> point;
}
"""

CALC_RUST = """
pub struct Point { pub x: f64, pub y: f64 }
pub fn add(a: i32, b: i32) -> i32 { a + b }
pub fn mid(a: Point, b: Point) -> Point { Point { x: (a.x + b.x) / 2.0, y: (a.y + b.y) / 2.0 } }
"""


def test_declare_and_implement_an_interface(cell, ns, tmp_path):
    out = cell("wit", CALC_WIT)
    assert out.startswith(
        "declared demo:math/calc@1.0.0: add(a: s32, b: s32) -> s32, mid(a: point, b: point)"
    )
    out = cell("rust calc_impl --exports demo:math/calc", CALC_RUST)
    assert "calc_impl: rust component" in out
    assert ns["add"](2, 3) == 5 and ns["calc_impl"].mid({"x": 0, "y": 0}, {"x": 2, "y": 2}).x == 1.0
    # the component really exports the interface under its own name, for any host of demo:math/calc
    cell.line(f"export calc_impl {tmp_path / 'calc.wasm'}")
    text = subprocess.run([str(wasm_tools()), "component", "wit", str(tmp_path / "calc.wasm")],
                          capture_output=True, text=True, check=True).stdout  # fmt: skip
    assert "export demo:math/calc@1.0.0;" in text and "export asterai:cells/calc-impl;" in text


def test_exports_check_gives_a_diff(cell):
    cell("wit", CALC_WIT)
    wrong = CALC_RUST.replace(
        "pub fn add(a: i32, b: i32) -> i32 { a + b }", "pub fn add(a: u32, b: u32) -> u32 { a + b }"
    )
    wrong += "pub fn extra() -> u32 { 1 }\n"
    with pytest.raises(AsteraiError) as info:
        cell("rust calc_bad --exports calc", wrong)
    text = str(info.value)
    assert "does not implement it exactly" in text
    assert (
        "declared  add: func(a: s32, b: s32) -> s32" in text
        and "but cell  add: func(a: u32, b: u32) -> u32" in text
    )
    assert "extra     extra: func() -> u32" in text
    with pytest.raises(AsteraiError, match="missing   mid"):
        cell("rust calc_bad --exports calc", "pub fn add(a: i32, b: i32) -> i32 { a }\n")


def test_bad_wit_and_unknown_interfaces(cell):
    with pytest.raises(AsteraiError, match="does not parse"):
        cell("wit", "package demo:broken;\ninterface x { add: func(a: s32 -> s32; }\n")
    with pytest.raises(AsteraiError, match="is not declared"):
        cell("rust nope --exports no:such/iface", "pub fn f() -> u32 { 1 }\n")


TWO_WIT = """
package demo:twofold@0.1.0;

interface adder {
    add: func(a: u32, b: u32) -> u32;
}

interface namer {
    name: func() -> string;
}
"""


def test_an_interface_named_twice_is_exported_once(cell, ns, tmp_path):
    cell("wit", TWO_WIT)
    src = 'pub fn add(a: u32, b: u32) -> u32 { a + b }\npub fn name() -> String { "twofold".into() }\n'
    with pytest.raises(AsteraiError, match="extra     name"):  # exactly: nothing more than adder
        cell("rust twofold_bad --exports demo:twofold/adder", src)
    src_a = "pub fn add(a: u32, b: u32) -> u32 { a + b }\n"
    cell("rust twofold_a --exports demo:twofold/adder --exports adder", src_a)
    assert ns["twofold_a"].add(2, 2) == 4
    path = tmp_path / "a.wasm"
    cell.line(f"export twofold_a {path}")
    text = subprocess.run([str(wasm_tools()), "component", "wit", str(path)],
                          capture_output=True, text=True, check=True).stdout  # fmt: skip
    assert text.count("export demo:twofold/adder@0.1.0;") == 1
