"""`--exports IFACE` for Python cells: a cell implements an interface declared in a `wit` cell, exactly, and
the component exports it under its real name besides `asterai:cells/NAME` (see test_wit_cells.py for Rust).

Python's `int` is WIT s64 and `float` f64, so the interfaces here use those. Each distinct cell costs a
componentize-py build (10-30 s) the first time, then comes from the cache.
"""

from __future__ import annotations

import subprocess
from types import SimpleNamespace

import pytest
from plain_host import PlainHost

from asterai_kernel import AsteraiError
from asterai_kernel.toolchains import wasm_tools

# A package of this file's own, so its declarations do not clash with other tests' in the same session.
CALC_WIT = """
package demo:pymath@1.0.0;

interface pycalc {
    record point { x: f64, y: f64 }
    enum tone { light, dark-red }
    add: func(a: s64, b: s64) -> s64;
    mid: func(a: point, b: point) -> point;
    shade: func(t: tone, p: list<point>) -> option<tone>;
}
"""

CALC_PY = """
from dataclasses import dataclass
from enum import Enum


@dataclass
class Point:
    x: float
    y: float


class Tone(Enum):
    LIGHT = "light"
    DARK_RED = "dark-red"


def shade(t: Tone, p: list[Point]) -> Tone | None:
    if not p:
        return None
    return Tone.LIGHT if t is Tone.DARK_RED else Tone.DARK_RED


def add(a: int, b: int) -> int:
    return a + b


def mid(a: Point, b: Point) -> Point:
    return Point((a.x + b.x) / 2, (a.y + b.y) / 2)
"""


@pytest.fixture
def pycalc(cell, tmp_path):
    """The component is named like the interface: its world exports asterai:cells/pycalc and
    demo:pymath/pycalc, which componentize-py binds as modules asterai_cells_pycalc and demo_pymath_pycalc."""
    cell("wit", CALC_WIT)
    out = cell("python pycalc --exports pycalc", CALC_PY)
    assert out.startswith("pycalc") and "python component" in out
    path = tmp_path / "pycalc.wasm"
    cell.line(f"export pycalc {path}")
    return path


def test_python_cell_implements_a_declared_interface(pycalc, ns):
    assert ns["add"](2, 3) == 5
    m = ns["pycalc"].mid({"x": 0, "y": 0}, {"x": 2, "y": 4})
    assert (m.x, m.y) == (1.0, 2.0)
    assert ns["shade"]("dark-red", [{"x": 0, "y": 0}]) == "light"
    assert ns["shade"]("light", []) is None
    text = subprocess.run([str(wasm_tools()), "component", "wit", str(pycalc)],
                          capture_output=True, text=True, check=True).stdout  # fmt: skip
    assert "export demo:pymath/pycalc@1.0.0;" in text and "export asterai:cells/pycalc;" in text


def test_the_foreign_export_works_in_any_host(pycalc):
    """Plain wasmtime-py, no asterai: the component is a demo:pymath/pycalc like any other."""
    host = PlainHost(pycalc)

    def func(name):
        return host.func("demo:pymath/pycalc@1.0.0", name)

    assert func("add")(40, 2) == 42
    a, b = SimpleNamespace(x=1.0, y=2.0), SimpleNamespace(x=3.0, y=6.0)
    m = func("mid")(a, b)
    assert (m.x, m.y) == (2.0, 4.0)
    assert func("shade")("light", [a]) == "dark-red"
    assert func("shade")("dark-red", []) is None


def test_a_wrong_signature_gives_the_diff(cell):
    cell("wit", CALC_WIT)
    wrong = CALC_PY.replace("def add(a: int, b: int) -> int:", "def add(a: float, b: int) -> int:")
    wrong += "\n\ndef extra() -> str:\n    return 'x'\n"
    with pytest.raises(AsteraiError) as info:
        cell("python calc_bad_py --exports demo:pymath/pycalc", wrong)
    text = str(info.value)
    assert "--exports demo:pymath/pycalc@1.0.0: this cell does not implement it exactly" in text
    assert "declared  add: func(a: s64, b: s64) -> s64" in text
    assert "but cell  add: func(a: f64, b: s64) -> s64" in text
    assert "extra     extra: func() -> string" in text
    with pytest.raises(AsteraiError, match="missing   mid"):
        cell(
            "python calc_bad_py --exports demo:pymath/pycalc",
            "def add(a: int, b: int) -> int:\n    return a\n",
        )
    renamed = CALC_PY.replace("Tone", "Hue")
    with pytest.raises(AsteraiError, match="shade: func"):
        cell("python calc_bad_py --exports demo:pymath/pycalc", renamed)


# The exported functions take and return a used component's types (`--use`): the cell has the classes of
# geo's bindings, the export of demo:pyshapes/draw classes of its own, converted both ways, variants too.
SHAPES_WIT = """
package demo:pyshapes@0.1.0;

interface draw {
    record spot { x: f64, y: f64 }
    enum ink { black, dark-red }
    variant shape { dot, circle(f64), at(spot), pair(tuple<spot, ink>) }
    record stroke { shape: shape, ink: option<ink>, size: result<f64, string> }
    flip: func(s: shape) -> shape;
    paint: func(st: stroke) -> list<stroke>;
}
"""

GEO_RUST = """
pub struct Spot { pub x: f64, pub y: f64 }
pub enum Ink { Black, DarkRed }
pub enum Shape { Dot, Circle(f64), At(Spot), Pair(Spot, Ink) }
pub struct Stroke { pub shape: Shape, pub ink: Option<Ink>, pub size: Result<f64, String> }
pub fn make_spot(x: f64, y: f64) -> Spot { Spot { x, y } }
pub fn same(s: Stroke) -> Stroke { s }
"""

DRAW_PY = """
import geo_shapes_py as geo
from geo_shapes_py import Shape, Stroke


def flip(s: Shape) -> Shape:
    if isinstance(s, geo.Shape_Dot):
        return geo.Shape_Circle(1.5)
    if isinstance(s, geo.Shape_Circle):
        return geo.Shape_At(geo.make_spot(s.value, -s.value))
    if isinstance(s, geo.Shape_At):
        ink = geo.Ink.DARK_RED if s.value.x > 0 else geo.Ink.BLACK
        return geo.Shape_Pair((geo.Spot(s.value.y, s.value.x), ink))
    return geo.Shape_Dot()


def paint(st: Stroke) -> list[Stroke]:
    size = st.size.value if isinstance(st.size, geo.Ok) else -1.0
    again = geo.Stroke(flip(st.shape), None if st.ink is None else geo.Ink.BLACK, geo.Err(f"was {size}"))
    return [st, geo.same(again)]
"""


def test_exports_with_a_used_components_types(cell, ns, tmp_path):
    cell("wit", SHAPES_WIT)
    cell("rust geo_shapes_py", GEO_RUST)
    cell("python draw_py --use geo_shapes_py --exports demo:pyshapes/draw", DRAW_PY)
    v = ns["flip"]("dot")
    assert (v.tag, v.value) == ("circle", 1.5)
    cell.line(f"export draw_py {tmp_path / 'draw.wasm'}")

    # geo_shapes_py's functions supplied by hand
    spot = {"make-spot": lambda _store, x, y: SimpleNamespace(x=x, y=y), "same": lambda _store, s: s}
    host = PlainHost(tmp_path / "draw.wasm", {"asterai:cells/geo-shapes-py": spot})

    def func(name):
        return host.func("demo:pyshapes/draw@0.1.0", name)

    flip, paint = func("flip"), func("paint")
    # wasmtime-py hands variants over raw where their cases' Python types tell them apart
    assert flip(None) == 1.5
    at = flip(2.0)
    assert (at.x, at.y) == (2.0, -2.0)
    pair = flip(at)
    assert (pair[0].x, pair[0].y, pair[1]) == (-2.0, 2.0, "dark-red")
    first, second = paint(SimpleNamespace(shape=None, ink="dark-red", size=3.0))
    assert (first.shape, first.ink, first.size) == (None, "dark-red", 3.0)
    assert (second.shape, second.ink) == (1.5, "black")
    assert second.size == "was 3.0"  # the err case: a str, where the ok case is a float


WIDTHS_WIT = """
package demo:pywidths@1.0.0;

interface counter {
    record span { lo: u8, hi: s32 }
    add: func(a: s32, b: s32) -> s32;
    widen: func(s: span, steps: list<u16>) -> option<span>;
}
"""

WIDTHS_PY = """
from dataclasses import dataclass


@dataclass
class Span:
    lo: int
    hi: int


def add(a: int, b: int) -> int:
    return a + b


def widen(s: Span, steps: list[int]) -> Span | None:
    return Span(s.lo, s.hi + sum(steps)) if steps else None
"""


def test_python_int_implements_any_declared_integer_width(cell, ns, tmp_path):
    """Python has one integer type: under --exports its `int` takes the declared width, range-checked."""
    cell("wit", WIDTHS_WIT)
    out = cell("python widths --exports demo:pywidths/counter --show-wit", WIDTHS_PY)
    assert "add: func(a: s32, b: s32) -> s32;" in out and "record span {" in out and "lo: u8," in out
    assert ns["widths"].add(2, 3) == 5
    assert ns["widths"].widen({"lo": 1, "hi": 10}, [1, 2, 3]).hi == 16
    with pytest.raises(OverflowError, match=r"parameter 'a' = 2147483648 is out of range for s32"):
        ns["widths"].add(2**31, 0)
    with pytest.raises(OverflowError, match=r"out of range for u16"):
        ns["widths"].widen({"lo": 1, "hi": 10}, [70000])
    path = tmp_path / "widths.wasm"
    cell.line(f"export widths {path}")
    assert PlainHost(path).func("demo:pywidths/counter@1.0.0", "add")(-7, 3) == -4


PERMS_WIT = """
package demo:pyperms;

interface access {
    flags perm { read, write, exec }
    grant: func(p: perm, extra: perm) -> perm;
    can-write: func(p: perm) -> bool;
}
"""

PERMS_PY = """
from enum import Flag, auto


class Perm(Flag):
    READ = auto()
    WRITE = auto()
    EXEC = auto()


def grant(p: Perm, extra: Perm) -> Perm:
    assert isinstance(p, Perm)  # the cell's own class, whatever the bindings use
    return p | extra


def can_write(p: Perm) -> bool:
    return Perm.WRITE in p
"""


def test_flags_in_a_python_cell_implementing_a_declared_interface(cell, ns):
    cell("wit", PERMS_WIT)
    out = cell("python pyperms --exports demo:pyperms/access", PERMS_PY)
    assert "grant(p: perm, extra: perm) -> perm" in out
    h = ns["pyperms"]
    assert h.grant(h.Perm.read, ["exec"]) == h.Perm.read | h.Perm.exec
    assert h.can_write({"write", "read"}) is True and h.can_write([]) is False
    with pytest.raises(ValueError, match="parameter 'p' has 'delete', which is not a flag of perm"):
        h.can_write(["delete"])
    wasm = ns["pyperms"]._live.wasm_path  # the declared interface is exported under its real name too
    text = subprocess.run([str(wasm_tools()), "component", "wit", str(wasm)], capture_output=True, text=True)
    assert "export demo:pyperms/access;" in text.stdout
