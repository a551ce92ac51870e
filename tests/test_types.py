"""Records, enums, variants, options and results from Rust cells: inference, Python classes, bad input."""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import io

import pytest

from asterai_kernel import AsteraiError, ComponentError, Err, Ok, Some, Variant

SHAPES = """
/// A point in the plane.
pub struct Point { pub x: f64, pub y: f64 }
pub enum Color { Red, DarkRed, Blue }
pub enum Shape { Circle(f64), Rect(f64, f64), Dot, Poly(Vec<Point>) }
pub struct Labeled { pub name: String, pub color: Color, pub tags: Vec<String>, pub at: Option<Point> }

pub fn mid(a: Point, b: Point) -> Point { Point { x: (a.x + b.x) / 2.0, y: (a.y + b.y) / 2.0 } }
pub fn darker(c: Color) -> Color { match c { Color::Red => Color::DarkRed, o => o } }
pub fn area(s: Shape) -> f64 {
    match s { Shape::Circle(r) => 3.0 * r * r, Shape::Rect(w, h) => w * h, Shape::Dot => 0.0, Shape::Poly(p) => p.len() as f64 }
}
pub fn grow(s: Shape, k: f64) -> Shape {
    match s { Shape::Circle(r) => Shape::Circle(r * k), Shape::Rect(w, h) => Shape::Rect(w * k, h * k), o => o }
}
pub fn parse(s: &str) -> Result<u32, String> { s.parse::<u32>().map_err(|e| format!("bad number {s:?}: {e}")) }
pub fn find(xs: Vec<i32>, x: i32) -> Option<u32> { xs.iter().position(|&v| v == x).map(|i| i as u32) }
pub fn label(l: Labeled) -> Labeled {
    Labeled { name: l.name.to_uppercase(), color: darker(l.color), tags: l.tags, at: l.at }
}
pub fn nested(r: Result<Option<u8>, String>) -> Option<Option<u8>> { match r { Ok(v) => Some(v), Err(_) => None } }
pub fn results(n: u32) -> Vec<Result<u32, String>> {
    (0..n).map(|i| if i % 2 == 0 { Ok(i) } else { Err(format!("odd {i}")) }).collect()
}
"""


@pytest.fixture(scope="module")
def shapes(ip):
    with contextlib.redirect_stdout(io.StringIO()):
        ip.run_cell_magic("asterai", "rust shapes", SHAPES)
    return ip.user_ns


def test_records_are_frozen_dataclasses(shapes):
    P = shapes["shapes"].Point
    assert dataclasses.is_dataclass(P) and P.__name__ == "Point"
    m = shapes["mid"](P(0, 0), P(2, 4))
    assert m == P(1.0, 2.0) and type(m) is P
    assert repr(m) == "Point(x=1.0, y=2.0)"
    assert hash(m) == hash(P(1.0, 2.0))
    with pytest.raises(dataclasses.FrozenInstanceError):
        m.x = 3
    # dicts and any object with the fields are accepted too
    assert shapes["mid"]({"x": 1, "y": 1}, type("Obj", (), {"x": 3, "y": 3})()) == P(2.0, 2.0)


def test_enums_are_str_enums(shapes):
    C = shapes["shapes"].Color
    assert issubclass(C, enum.Enum) and issubclass(C, str)
    assert shapes["darker"]("red") is C.dark_red
    assert shapes["darker"]("red") == "dark-red"
    assert shapes["darker"]("dark_red") is C.dark_red
    assert shapes["darker"](C.blue) is C.blue


def test_variants(shapes):
    assert shapes["area"](("circle", 1.0)) == 3.0
    assert shapes["area"](("rect", (2, 3))) == 6.0
    assert shapes["area"]("dot") == 0.0
    assert shapes["area"](("poly", [{"x": 0, "y": 0}] * 4)) == 4.0
    grown = shapes["grow"](Variant("rect", (1.0, 2.0)), 2)
    assert grown == ("rect", (2.0, 4.0)) and grown.tag == "rect" and grown.value == (2.0, 4.0)
    assert shapes["grow"]("dot", 2) == Variant("dot")


def test_results_and_options(shapes):
    assert shapes["parse"]("42") == 42
    with pytest.raises(ComponentError) as info:
        shapes["parse"]("4x2")
    assert info.value.value.startswith('bad number "4x2"')
    assert info.value.component == "shapes" and info.value.function == "parse"
    assert shapes["parse"]("7") == 7  # the component is fine after an err
    assert shapes["find"]([1, 2, 3], 3) == 2 and shapes["find"]([1], 5) is None
    assert shapes["nested"](Ok(5)) == 5
    assert shapes["nested"](Ok(None)) == Some(None)
    assert shapes["nested"](Err("x")) is None
    assert shapes["results"](3) == [Ok(0), Err("odd 1"), Ok(2)]


def test_nested_records(shapes):
    out = shapes["label"]({"name": "a", "color": "red", "tags": ["t"], "at": {"x": 1, "y": 2}})
    L, P, C = shapes["shapes"].Labeled, shapes["shapes"].Point, shapes["shapes"].Color
    assert out == L(name="A", color=C.dark_red, tags=["t"], at=P(1.0, 2.0))


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda ns: ns["mid"]({"x": 1}, {"x": 1, "y": 1}), TypeError, "parameter 'a' is missing field 'y'"),
        (lambda ns: ns["mid"]({"x": 1, "y": 2, "z": 3}, {"x": 1, "y": 1}), ValueError, "has no field 'z'"),
        (
            lambda ns: ns["mid"]({"x": "1", "y": 2}, {"x": 1, "y": 1}),
            TypeError,
            "parameter 'a'.x must be a float",
        ),
        (
            lambda ns: ns["darker"]("green"),
            ValueError,
            "'green' is not a case of enum color (red, dark-red, blue)",
        ),
        (lambda ns: ns["darker"](3), TypeError, "parameter 'c' must be a Color member"),
        (lambda ns: ns["area"](("hex", 1)), ValueError, "tag 'hex', which is not a case of variant shape"),
        (lambda ns: ns["area"](("circle", "big")), TypeError, "parameter 's'(circle) must be a float"),
        (lambda ns: ns["area"]("circle"), TypeError, "case 'circle' needs a value (f64)"),
        (lambda ns: ns["area"](("dot", 1)), TypeError, "case 'dot' carries no value"),
        (lambda ns: ns["area"](("rect", (1,))), ValueError, "parameter 's'(rect) must have 2 items"),
        (lambda ns: ns["nested"](5), TypeError, "must be asterai_kernel.Ok(...) or Err(...)"),
        (lambda ns: ns["nested"](Ok(300)), OverflowError, "parameter 'r'.ok = 300 is out of range for u8"),
        (
            lambda ns: ns["label"]({"name": "a", "color": "red", "tags": ["x", 1], "at": None}),
            TypeError,
            "parameter 'l'.tags[1] must be a str",
        ),
        (
            lambda ns: ns["find"]([1, 2**31], 1),
            OverflowError,
            "parameter 'xs'[1] = 2147483648 is out of range",
        ),
    ],
)
def test_bad_values_name_parameter_and_path(shapes, call, error, message):
    with pytest.raises(error) as info:
        call(shapes)
    assert message in str(info.value)
    assert shapes["darker"]("red") == "dark-red"  # and the component keeps working


@pytest.mark.parametrize(
    "source, message",
    [
        ("pub struct N { pub next: Vec<N> }\npub fn f(n: N) {}\n", "contains itself (N -> N)"),
        ("pub struct T(u32, u32);\npub fn f(t: T) {}\n", "only structs with named fields cross"),
        ("pub enum E { A { x: u32 } }\npub fn f(e: E) {}\n", "a variant with named fields"),
        ("pub struct G<T> { pub x: T }\npub fn f(g: G<u8>) {}\n", "`G<u8>`"),
        ('pub fn f() -> &\'static str { "" }\n', "returns a borrow"),
        ("pub fn f(x: std::collections::BTreeMap<u8, u8>) {}\n", "has no WIT equivalent"),
    ],
)
def test_unsupported_rust_types_are_named(cell, source, message):
    with pytest.raises(AsteraiError) as info:
        cell("rust unsupported", source)
    assert message in str(info.value)


def test_single_flat_records_and_enums_return_directly(cell, ns):
    # a record of one field and an enum each flatten to one core value: returned without a return area
    cell("rust wrappers", "pub struct Id { pub v: u32 }\npub enum On { Yes, No }\n"
         "pub fn next(i: Id) -> Id { Id { v: i.v + 1 } }\npub fn flip(o: On) -> On { match o { On::Yes => On::No, On::No => On::Yes } }\n")  # fmt: skip
    assert ns["next"]({"v": 41}).v == 42
    assert ns["flip"]("yes") == "no"


BULK = """
pub fn echo_bytes(b: Vec<u8>) -> Vec<u8> { b }
pub fn echo_i8(v: &[i8]) -> Vec<i8> { v.to_vec() }
pub fn echo_u64(v: Vec<u64>) -> Vec<u64> { v }
pub fn scale(v: Vec<f32>, k: f32) -> Vec<f32> { v.iter().map(|x| x * k).collect() }
pub fn total(v: &[f64]) -> f64 { v.iter().sum() }
pub fn ramp(n: u32) -> Vec<f64> { (0..n).map(|i| i as f64 * 0.5).collect() }
"""


@pytest.fixture(scope="module")
def bulk(ip):
    with contextlib.redirect_stdout(io.StringIO()):
        ip.run_cell_magic("asterai", "rust bulk", BULK)
    return ip.user_ns


def test_numeric_lists_cross_in_one_block(bulk):
    np = pytest.importorskip("numpy")
    live = bulk["bulk"]._live
    assert live.exports["echo-bytes"].twin is not None and live.exports["total"].twin is not None
    data = np.random.default_rng(1).integers(0, 256, 1 << 20, dtype=np.uint8).tobytes()
    assert bulk["echo_bytes"](data) == data  # 1 MiB: through the twin
    assert bulk["echo_bytes"](b"ab") == b"ab"  # small: element by element
    signed = np.arange(-128, 128, dtype=np.int8).repeat(64)
    assert bulk["echo_i8"](signed).tolist() == signed.tolist()  # numpy in, numpy out
    extremes = np.array([0, 2**64 - 1] * 4096, dtype=np.uint64)
    assert bulk["echo_u64"](extremes).tolist() == extremes.tolist()
    assert bulk["echo_u64"](extremes.tolist()) == extremes.tolist()  # a list in, a list out
    assert bulk["scale"](np.ones(5000, np.float32), 2.5).tolist() == [2.5] * 5000
    values = np.random.default_rng(2).random(100_000)
    assert bulk["total"](values) == pytest.approx(values.sum())
    assert bulk["total"](values.tolist()) == pytest.approx(values.sum())  # a list is checked, then the same
    assert bulk["ramp"](100_000)[-1] == 49_999.5  # a bulk result: through the twin whatever the inputs
    assert bulk["ramp"](0) == []


def test_bulk_inputs_are_checked_before_the_twin(bulk):
    big = [7] * 10_000
    big[1234] = 300
    with pytest.raises(OverflowError, match=r"parameter 'b'\[1234\] = 300 is out of range for u8"):
        bulk["echo_bytes"](big)
    with pytest.raises(TypeError, match=r"parameter 'v'\[2\] must be a float"):
        bulk["total"]([1.0, 2.0, "x"] + [0.0] * 10_000)


@pytest.mark.no_toolchain
def test_wasmtime_layout_is_checked(monkeypatch):
    import ctypes

    from asterai_kernel import values

    values.check_layout()  # the pinned wasmtime passes

    class Shrunk(ctypes.Structure):
        _fields_ = [("kind", ctypes.c_uint8), ("of", ctypes.c_uint64)]

    monkeypatch.setattr(values, "VAL", Shrunk)
    with pytest.raises(ImportError, match="C value layout differs"):
        values.check_layout()
