"""A used component's types in a consumer's own exports: `pub fn center(a: geo::Point) -> geo::Point`.

The consumer's interface takes the types from the provider's (WIT `use lt-geo.{point}`), its glue reuses the
import module's `lt_geo::Point`, and in Python both components take and return the same class.
"""

from __future__ import annotations

import dataclasses

import pytest

import asterai_kernel
from asterai_kernel import CompileError, GuestTrap, Variant
from asterai_kernel.session import get_session

GEO = """
pub struct Point { pub x: f64, pub y: f64 }
pub enum Unit { Metric, Imperial }
pub enum Shape { Circle(f64), Segment(Point, Point), Dot }
pub fn mid(a: Point, b: Point) -> Point { Point { x: (a.x + b.x) / 2.0, y: (a.y + b.y) / 2.0 } }
pub fn len(s: Shape, u: Unit) -> f64 {
    let k = match u { Unit::Metric => 1.0, Unit::Imperial => 3.0 };
    k * match s { Shape::Circle(r) => 6.0 * r, Shape::Segment(a, b) => (b.x - a.x).abs() + (b.y - a.y).abs(), Shape::Dot => 0.0 }
}
"""

SHAPES = """
/// A path of the plane, in the provider's points.
pub struct Path { pub name: String, pub points: Vec<lt_geo::Point>, pub unit: lt_geo::Unit }

pub fn center(a: lt_geo::Point, b: lt_geo::Point) -> lt_geo::Point { lt_geo::mid(a, b) }
pub fn shift(ps: Vec<lt_geo::Point>, dx: f64) -> Vec<lt_geo::Point> {
    ps.into_iter().map(|p| lt_geo::Point { x: p.x + dx, y: p.y }).collect()
}
pub fn segment(ps: &[lt_geo::Point]) -> Option<lt_geo::Shape> {
    match ps { [a, b, ..] => Some(lt_geo::Shape::Segment((a.clone(), b.clone()))), _ => None }
}
pub fn measure(s: Option<lt_geo::Shape>, u: &lt_geo::Unit) -> f64 { s.map(|s| lt_geo::len(s, *u)).unwrap_or(-1.0) }
pub fn flip(u: lt_geo::Unit) -> lt_geo::Unit { match u { lt_geo::Unit::Metric => lt_geo::Unit::Imperial, _ => lt_geo::Unit::Metric } }
pub fn make_path(name: String, ps: Vec<lt_geo::Point>) -> Path { Path { name, points: ps, unit: lt_geo::Unit::Metric } }
pub fn first(p: Path) -> Result<lt_geo::Point, String> { p.points.first().cloned().ok_or(format!("{} is empty", p.name)) }
pub fn swap(p: (lt_geo::Point, u8)) -> (u8, lt_geo::Point) { (p.1, lt_geo::Point { x: p.0.y, y: p.0.x }) }
pub fn weigh(ps: Vec<lt_geo::Point>, ks: &[f64]) -> Vec<f64> { ps.iter().zip(ks).map(|(p, k)| (p.x + p.y) * k).collect() }
"""


@pytest.fixture
def linked(cell, ns):
    cell("rust lt_geo", GEO)
    out = cell("rust lt_shapes --use lt_geo --show-wit", SHAPES)
    return ns, out


def test_consumer_exports_use_the_providers_types(linked):
    ns, wit_text = linked
    assert "interface lt-shapes {\n  use lt-geo.{point, shape, unit};\n  /// A path" in wit_text
    assert "center: func(a: point, b: point) -> point;" in wit_text
    geo, shapes = ns["lt_geo"], ns["lt_shapes"]
    Point = geo.Point
    m = shapes.center(Point(1, 2), Point(3, 4))
    assert m == Point(2.0, 3.0) and type(m) is Point  # the provider's class, not a copy
    assert shapes.Point is Point and shapes.Unit is geo.Unit
    assert geo.mid(m, shapes.center(m, Point(0, 0))) == Point(1.5, 2.25)  # values flow both ways as they are
    assert shapes.center({"x": 0, "y": 0}, Point(2, 2)) == Point(1.0, 1.0)  # any record input still works


def test_nested_provider_types(linked):
    ns, _ = linked
    geo, shapes = ns["lt_geo"], ns["lt_shapes"]
    P, Unit = geo.Point, geo.Unit
    moved = shapes.shift([P(0, 1), P(2, 3)], 10)
    assert moved == [P(10.0, 1.0), P(12.0, 3.0)] and all(type(p) is P for p in moved)
    seg = shapes.segment(moved)
    assert seg == Variant("segment", (P(10.0, 1.0), P(12.0, 3.0))) and type(seg.value[0]) is P
    assert shapes.segment([P(0, 0)]) is None
    assert shapes.measure(seg, Unit.imperial) == 12.0
    assert shapes.measure(("circle", 1.0), "metric") == 6.0 and shapes.measure(None, Unit.metric) == -1.0
    assert geo.len(seg, Unit.metric) == 4.0  # the consumer's variant value goes straight to the provider
    assert shapes.flip(Unit.metric) is Unit.imperial and shapes.flip("imperial") is Unit.metric
    path = shapes.make_path("p", moved)
    assert type(path).__name__ == "Path" and dataclasses.is_dataclass(path) and path.unit is Unit.metric
    assert path.points == moved and type(path.points[0]) is P
    assert shapes.first(path) == P(10.0, 1.0)
    with pytest.raises(asterai_kernel.ComponentError) as info:
        shapes.first(shapes.make_path("void", []))
    assert info.value.value == "void is empty"
    assert shapes.swap((P(1, 2), 7)) == (7, P(2.0, 1.0))
    # numeric lists big enough for the bulk twin (interface lt-shapes-bulk, which uses lt-geo's point too)
    assert get_session().components["lt_shapes"].exports["weigh"].twin is not None
    assert shapes.weigh([P(1, 2)] * 3000, [2.0] * 3000) == [6.0] * 3000


def test_the_consumers_wit(linked, cell):
    ns, _ = linked
    text = ns["lt_shapes"].wit
    assert "interface lt-geo {" in text and "use lt-geo.{point, shape, unit};" in text
    assert "world cell {\n  import lt-geo;\n  export lt-shapes;\n}" in text
    assert cell.line("wit lt_shapes").strip() == text.strip()


def test_bad_values_name_the_field(linked):
    ns, _ = linked
    shapes = ns["lt_shapes"]
    with pytest.raises(TypeError, match=r"parameter 'a' is missing field 'y'"):
        shapes.center({"x": 1}, ns["lt_geo"].Point(0, 0))
    with pytest.raises(TypeError, match=r"parameter 'ps'\[1\]\.x must be a float"):
        shapes.shift([{"x": 1, "y": 2}, {"x": "no", "y": 2}], 1)
    with pytest.raises(ValueError, match="not a case of enum unit"):
        shapes.flip("furlong")


def test_rerunning_the_provider_keeps_its_classes(linked, cell):
    ns, _ = linked
    Point = ns["lt_geo"].Point
    out = cell("rust lt_geo", GEO.replace("/ 2.0", "/ 4.0"))
    assert "relinked: lt_shapes now calls the new lt_geo" in out
    assert ns["lt_geo"].Point is Point  # same type, same class: old values still compare equal
    m = ns["lt_shapes"].center(Point(4, 8), Point(0, 0))
    assert m == Point(1.0, 2.0) and type(m) is ns["lt_geo"].Point


def test_a_changed_provider_type_is_a_stale_link_not_a_crash(linked, cell, ns):
    changed = GEO.replace(
        "pub struct Point { pub x: f64, pub y: f64 }",
        "pub struct Point { pub x: f64, pub y: f64, pub z: f64 }",
    )
    changed = changed.replace("y: (a.y + b.y) / 2.0 }", "y: (a.y + b.y) / 2.0, z: 0.0 }")
    out = cell("rust lt_geo", changed)
    assert "lt_shapes was built against the old lt_geo interface: re-run its cell" in out
    old = ns["lt_shapes"].Point
    with pytest.raises(GuestTrap) as info:
        ns["lt_shapes"].center(old(1, 2), old(3, 4))
    message = str(info.value)
    assert "re-run the cell of lt_shapes" in message
    assert (
        "record point { x: f64, y: f64, }" in message
        and "record point { x: f64, y: f64, z: f64, }" in message
    )
    # functions that do not call the provider keep working with the types they were built with
    assert ns["lt_shapes"].shift([old(0, 0)], 1) == [old(1.0, 0.0)]
    cell("rust lt_shapes --use lt_geo", "pub fn center(a: lt_geo::Point, b: lt_geo::Point) -> lt_geo::Point { lt_geo::mid(a, b) }\n"
         "pub fn lift(p: lt_geo::Point) -> lt_geo::Point { lt_geo::Point { z: p.z + 1.0, ..p } }\n")  # fmt: skip
    P = ns["lt_geo"].Point
    assert ns["lt_shapes"].center(P(1, 2, 3), P(3, 4, 5)) == P(2.0, 3.0, 0.0)
    assert ns["lt_shapes"].lift(P(0, 0, 9)) == P(0.0, 0.0, 10.0) and "shift" not in dir(ns["lt_shapes"])


def test_a_cell_type_named_like_a_used_type_is_refused(cell):
    cell("rust lt_geo", GEO)
    with pytest.raises(CompileError, match=r"the type `Point` and the type `lt_geo::Point` of the used component "
                                           r"both become the WIT name `point`"):  # fmt: skip
        cell("rust lt_clash --use lt_geo", "pub struct Point { pub x: f64 }\n"
             "pub fn mine(p: Point) -> f64 { p.x }\npub fn theirs(p: lt_geo::Point) -> f64 { p.x }\n")  # fmt: skip
    with pytest.raises(
        CompileError, match=r"both become the WIT name `point`"
    ):  # also when nested in another type
        cell("rust lt_clash --use lt_geo", "pub struct Point { pub x: f64 }\n"
             "pub fn mine(p: Point) -> f64 { p.x }\npub fn theirs(s: lt_geo::Shape) -> u8 { 0 }\n")  # fmt: skip
    with pytest.raises(CompileError, match=r"`point` and the type `lt_geo::Point`.*WIT name"):
        cell("rust lt_clash --use lt_geo", "pub fn point(p: lt_geo::Point) -> f64 { p.x }\n")
    with pytest.raises(CompileError, match=r"`lt_geo::Nope` \(lt_geo's exports use no such type; they use: "
                                           r"lt_geo::Point, lt_geo::Shape, lt_geo::Unit\)"):  # fmt: skip
        cell("rust lt_clash --use lt_geo", "pub fn nope(p: lt_geo::Nope) -> u8 { 0 }\n")
    # a cell type of its own that its exports do not mix with the used one is fine
    cell("rust lt_own --use lt_geo", "pub struct Spot { pub x: f64 }\n"
         "pub fn to_spot(p: lt_geo::Point) -> Spot { Spot { x: p.x } }\n")  # fmt: skip


def test_consumers_of_a_consumer(linked, cell):
    ns, _ = linked
    # only lt_shapes used: its types are its own here (lt_geo is not imported)
    cell("rust lt_app --use lt_shapes",
         "pub fn go(x: f64) -> f64 { lt_shapes::center(lt_shapes::Point { x, y: 0.0 }, lt_shapes::Point { x: 0.0, y: 0.0 }).x }\n")  # fmt: skip
    assert ns["lt_app"].go(8.0) == 4.0
    # both used: lt_shapes' point is lt_geo's point, one Rust type, and the app can export it too
    cell("rust lt_app2 --use lt_geo,lt_shapes",
         "pub fn go2(p: lt_geo::Point) -> lt_shapes::Point { lt_shapes::center(lt_geo::mid(p.clone(), p), lt_geo::Point { x: 0.0, y: 0.0 }) }\n")  # fmt: skip
    P = ns["lt_geo"].Point
    got = ns["lt_app2"].go2(P(4, 6))
    assert got == P(2.0, 3.0) and type(got) is P


@dataclasses.dataclass(frozen=True)
class Reading:
    sensor: str
    value: float


def test_host_provider_types_are_the_users_classes(cell, ns):
    @asterai_kernel.provide("lt_host")
    def record(r: Reading) -> float:
        return r.value * 2

    cell("rust lt_sensor --use lt_host",
         "pub fn make_reading(v: f64) -> lt_host::Reading { lt_host::Reading { sensor: \"t\".into(), value: lt_host::record(lt_host::Reading { sensor: \"x\".into(), value: v }) } }\n"
         "pub fn value(r: lt_host::Reading) -> f64 { r.value }\n")  # fmt: skip
    got = ns["lt_sensor"].make_reading(2.5)
    assert got == Reading("t", 5.0) and type(got) is Reading
    assert ns["lt_sensor"].value(Reading("a", 1.5)) == 1.5


PY_SHAPES = """
from dataclasses import dataclass

import lt_geo
from lt_geo import Point as P


@dataclass
class Tagged:
    label: str
    at: lt_geo.Point


def center(a: P, b: P) -> P:
    return lt_geo.mid(a, b)


def shift(ps: list[P], dx: float) -> list[lt_geo.Point]:
    return [P(x=p.x + dx, y=p.y) for p in ps]


def segment(a: P, b: P) -> lt_geo.Shape | None:
    return lt_geo.Shape_Segment((a, b))


def flip(u: lt_geo.Unit) -> lt_geo.Unit:
    return lt_geo.Unit.IMPERIAL if u == lt_geo.Unit.METRIC else lt_geo.Unit.METRIC


def tag(label: str, at: P) -> Tagged:
    return Tagged(label, at)


def where(t: Tagged) -> P:
    return t.at
"""

TS_SHAPES = """
import type { Point, Shape as S } from "lt_geo";
import * as g from "lt_geo";
import { mid } from "lt_geo";
export interface Tagged { label: string; at: Point }
export function center(a: Point, b: Point): Point { return mid(a, b); }
export function shift(ps: Point[], dx: number): Point[] { return ps.map((p) => ({ x: p.x + dx, y: p.y })); }
export function segment(a: Point, b: Point): S | undefined { return { tag: "segment", val: [a, b] }; }
export function flip(u: g.Unit): g.Unit { return u === "metric" ? "imperial" : "metric"; }
export function tag(label: string, at: Point): Tagged { return { label, at }; }
export function where(t: Tagged): Point { return t.at; }
"""


@pytest.mark.parametrize("lang, source", [("python", PY_SHAPES), ("typescript", TS_SHAPES)])
def test_python_and_typescript_consumers(cell, ns, lang, source):
    cell("rust lt_geo", GEO)
    name = f"lt_{lang}"
    out = cell(f"{lang} {name} --use lt_geo --show-wit", source)
    assert "  use lt-geo.{point, shape, unit};\n  record tagged {" in out
    geo, shapes = ns["lt_geo"], ns[name]
    P, Unit = geo.Point, geo.Unit
    m = shapes.center(P(1, 2), P(3, 4))
    assert m == P(2.0, 3.0) and type(m) is P
    assert shapes.shift([P(1, 2)], 1) == [P(2.0, 2.0)]
    seg = shapes.segment(P(0, 0), m)
    assert seg == Variant("segment", (P(0.0, 0.0), P(2.0, 3.0))) and geo.len(seg, Unit.metric) == 5.0
    assert shapes.flip(Unit.metric) is Unit.imperial and shapes.flip("imperial") is Unit.metric
    tagged = shapes.tag("a", m)
    assert type(tagged).__name__ == "Tagged" and type(tagged.at) is P and shapes.where(tagged) == m


def test_python_and_typescript_name_clashes(cell):
    cell("rust lt_geo", GEO)
    with pytest.raises(CompileError, match=r"the class `Point` and the type `lt_geo.Point` of the used "
                                           r"component both become the WIT name `point`"):  # fmt: skip
        cell("python lt_py_clash --use lt_geo", "import dataclasses\nimport lt_geo\n\n\n@dataclasses.dataclass\n"
             "class Point:\n    x: float\n\n\ndef mine(p: Point) -> float:\n    return p.x\n\n\n"
             "def theirs(p: lt_geo.Point) -> float:\n    return p.x\n")  # fmt: skip
    with pytest.raises(CompileError, match=r"lt_geo.Nope` \(lt_geo's exports use no such type"):
        cell(
            "python lt_py_clash --use lt_geo",
            "import lt_geo\n\n\ndef f(p: lt_geo.Nope) -> int:\n    return 0\n",
        )
    with pytest.raises(CompileError, match=r"a type of the cell also becomes that WIT name"):
        cell("ts lt_ts_clash --use lt_geo", 'import type { Point as P } from "lt_geo";\n'
             "interface Point { x: number }\nexport function mine(p: Point): number { return p.x; }\n"
             "export function theirs(p: P): number { return p.x; }\n")  # fmt: skip
    with pytest.raises(CompileError, match=r"a type of a used component also becomes the WIT name `point`"):
        cell("ts lt_ts_clash --use lt_geo", 'import type { Point as P } from "lt_geo";\n'
             "interface Point { x: number }\nexport function theirs(p: P): number { return p.x; }\n"
             "export function mine(p: Point): number { return p.x; }\n")  # fmt: skip


def test_javascript_consumer_with_jsdoc_typedefs(cell, ns):
    cell("rust lt_geo", GEO)
    cell(
        "js lt_js --use lt_geo",
        """import { mid } from "lt_geo";
/** @typedef {import("lt_geo").Point} Point */
/** @typedef {import("lt_geo").Unit} Unit */
/** @param {Point} a @param {Point} b @returns {Point} */
export function center(a, b) { return mid(a, b); }
/** @param {Unit[]} us @returns {Unit | undefined} */
export function last(us) { return us[us.length - 1]; }
""",
    )
    P, Unit = ns["lt_geo"].Point, ns["lt_geo"].Unit
    m = ns["lt_js"].center(P(1, 2), P(3, 4))
    assert m == P(2.0, 3.0) and type(m) is P
    assert ns["lt_js"].last(["metric", Unit.imperial]) is Unit.imperial and ns["lt_js"].last([]) is None
