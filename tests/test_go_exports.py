"""`--exports IFACE` for Go cells: a Go cell implements an interface declared in a `wit` cell, exactly, and
exports it under its real name too (mirrors test_wit_cells.py, which does it for Rust).

The package (`demo:gomath`) and the interface (`gocalc`) are apart from the other tests' declarations in
the same session (test_wit_cells.py names its `calc` by the bare name). The cell builds once; the other
tests find it in the cache.
"""

from __future__ import annotations

import subprocess
from types import SimpleNamespace

import pytest
from plain_host import PlainHost

from asterai_kernel import AsteraiError
from asterai_kernel.toolchains import wasm_tools

IFACE = "demo:gomath/gocalc@1.0.0"

CALC_WIT = """
package demo:gomath@1.0.0;

interface gocalc {
    record point { x: f64, y: f64 }
    add: func(a: s32, b: s32) -> s32;
    mid: func(a: point, b: point) -> point;
    scale: func(ps: list<point>, k: f64) -> list<point>;
}
"""

CALC_GO = """
type Point struct {
	X, Y float64
}

func Add(a, b int32) int32 { return a + b }
func Mid(a, b Point) Point { return Point{(a.X + b.X) / 2, (a.Y + b.Y) / 2} }
func Scale(ps []Point, k float64) []Point {
	out := make([]Point, len(ps))
	for i, p := range ps {
		out[i] = Point{p.X * k, p.Y * k}
	}
	return out
}
"""


@pytest.fixture
def go_calc(cell, ns):
    """The Go cell `go_calc` implementing demo:gomath/gocalc (built once, then from the cache)."""
    out = cell("wit", CALC_WIT)
    assert out.startswith(f"declared {IFACE}: add(a: s32, b: s32) -> s32, mid(a: point, b: point)")
    out = cell("go go_calc --exports demo:gomath/gocalc", CALC_GO)
    assert out.startswith("go_calc") and ": go component" in out
    return ns["go_calc"]


def test_go_cell_implements_a_declared_interface(go_calc, ns):
    assert ns["add"](2, 3) == 5 and go_calc.add(-7, 2) == -5
    m = go_calc.mid({"x": 0, "y": 0}, {"x": 2, "y": 4})
    assert (m.x, m.y) == (1.0, 2.0)
    assert [(p.x, p.y) for p in go_calc.scale([{"x": 1, "y": 2}, {"x": -3, "y": 0.5}], 2)] == [
        (2.0, 4.0),
        (-6.0, 1.0),
    ]


def test_exported_component_has_both_interfaces(go_calc, cell, tmp_path):
    cell.line(f"export go_calc {tmp_path / 'calc.wasm'}")
    text = subprocess.run([str(wasm_tools()), "component", "wit", str(tmp_path / "calc.wasm")],
                          capture_output=True, text=True, check=True).stdout  # fmt: skip
    assert f"export {IFACE};" in text and "export asterai:cells/go-calc;" in text


def test_foreign_export_works_in_a_plain_host(go_calc, cell, tmp_path):
    """Any host of demo:gomath/gocalc can use the component: plain wasmtime-py, no asterai runtime."""
    path = tmp_path / "calc.wasm"
    cell.line(f"export go_calc {path}")
    host = PlainHost(path)
    add, mid, scale = (host.func(IFACE, name) for name in ("add", "mid", "scale"))
    assert add(40, 2) == 42
    m = mid(SimpleNamespace(x=1.0, y=2.0), SimpleNamespace(x=3.0, y=-2.0))
    assert (m.x, m.y) == (2.0, 0.0)
    out = scale([SimpleNamespace(x=1.0, y=1.0), SimpleNamespace(x=0.5, y=-4.0)], 3.0)
    assert [(p.x, p.y) for p in out] == [(3.0, 3.0), (1.5, -12.0)]
    # the component's own interface answers too, from the same instance
    assert host.func("asterai:cells/go-calc", "add")(1, 2) == 3


def test_wrong_signature_gives_the_diff(cell):
    cell("wit", CALC_WIT)
    wrong = CALC_GO.replace("func Add(a, b int32) int32", "func Add(a, b uint32) uint32")
    wrong += "func Extra() uint32 { return 1 }\n"
    with pytest.raises(AsteraiError) as info:
        cell("go go_calc_bad --exports demo:gomath/gocalc", wrong)
    text = str(info.value)
    assert f"--exports {IFACE}: this cell does not implement it exactly" in text
    assert (
        "declared  add: func(a: s32, b: s32) -> s32" in text
        and "but cell  add: func(a: u32, b: u32) -> u32" in text
    )
    assert "extra     extra: func() -> u32" in text
    with pytest.raises(AsteraiError, match="missing   mid"):
        cell("go go_calc_bad --exports gocalc", "func Add(a, b int32) int32 { return a }\n")


def test_record_names_must_match(cell):
    """The cell's struct must be the declared record: another name is another type."""
    cell("wit", CALC_WIT)
    renamed = CALC_GO.replace("Point", "Pt")
    with pytest.raises(AsteraiError, match=r"declared  mid: func\(a: point, b: point\) -> point"):
        cell("go go_calc_bad --exports demo:gomath/gocalc", renamed)
