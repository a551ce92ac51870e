"""Go cells that use other components (`--use`): `atlas.WordCount(s)` in Go calls atlas's live instance.

Few builds (Go's take a second or more each): one Rust provider and one Go consumer hold most checks; the
conformance table goes through a Rust identity provider and one Go cell that builds every row's value as a
Go literal, sends it through the import and compares what comes back.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import math

import pytest
from conformance import CASES, check_case, fn_name
from test_conformance_rust import identity_cell

import asterai_kernel
from asterai_kernel import CompileError, Err, GuestTrap, Ok, Some, Variant, wit
from asterai_kernel.languages.go.imports import GO_PRIMS, check_use_name, package
from asterai_kernel.names import pascal_name, snake_name

ATLAS = """
use std::sync::atomic::{AtomicU64, Ordering};
static CALLS: AtomicU64 = AtomicU64::new(0);
/// A point on the map.
pub struct Point { pub x: f64, pub y: f64 }
pub struct Person { pub name: String, pub age: u32, pub tags: Vec<String> }
pub enum Unit { Metric, Imperial }
pub enum Shape { Circle(f64), Rect(f64, f64), Dot }
pub fn word_count(text: &str) -> u32 { CALLS.fetch_add(1, Ordering::SeqCst); text.split_whitespace().count() as u32 }
pub fn calls() -> u64 { CALLS.load(Ordering::SeqCst) }
pub fn greet(name: &str) -> String { format!("hello, {name}") }
pub fn mid(a: Point, b: Point) -> Point { Point { x: (a.x + b.x) / 2.0, y: (a.y + b.y) / 2.0 } }
pub fn unit_name(u: Unit) -> String { match u { Unit::Metric => "m".into(), Unit::Imperial => "ft".into() } }
pub fn unit_of(s: &str) -> Unit { if s == "ft" { Unit::Imperial } else { Unit::Metric } }
pub fn maybe(x: Option<u32>) -> Option<String> { x.map(|v| format!("got {v}")) }
pub fn parse(s: &str) -> Result<u32, String> { s.parse::<u32>().map_err(|e| e.to_string()) }
pub fn check(ok: bool) -> Result<(), String> { if ok { Ok(()) } else { Err("not ok".into()) } }
pub fn split(s: &str) -> Result<(u32, String), Unit> {
    match s.split_once(' ') { Some((n, rest)) => Ok((n.len() as u32, rest.to_string())), None => Err(Unit::Imperial) }
}
pub fn oldest(people: Vec<Person>) -> Option<Person> { people.into_iter().max_by_key(|p| p.age) }
pub fn people(n: u32) -> Vec<Person> {
    (0..n).map(|i| Person { name: format!("p{i}"), age: 20 + i, tags: (0..i % 3).map(|t| format!("t{t}")).collect() }).collect()
}
pub fn scale(xs: &[f64], k: f64) -> Vec<f64> { xs.iter().map(|x| x * k).collect() }
pub fn reverse(b: Vec<u8>) -> Vec<u8> { b.into_iter().rev().collect() }
pub fn area(s: Shape) -> f64 { match s { Shape::Circle(r) => 3.0 * r * r, Shape::Rect(w, h) => w * h, Shape::Dot => 0.0 } }
pub fn shapes() -> Vec<Shape> { vec![Shape::Circle(0.5), Shape::Rect(2.0, 3.0), Shape::Dot] }
pub fn min_max(xs: &[i32]) -> (i32, i32) { (*xs.iter().min().unwrap(), *xs.iter().max().unwrap()) }
pub fn big(n: u32) -> String { (0..n).map(|i| char::from(b'a' + (i % 26) as u8)).collect() }
pub fn boom(x: u32) -> u32 { if x > 1 { panic!("atlas exploded at {x}") } x }
pub fn pad(runtime: &str, len: u32, string: bool) -> String { if string { format!("{runtime:>len$}", len = len as usize) } else { runtime.into() } }
pub fn many(a: u8, b: i16, c: u32, d: i64, e: f32, f: f64, g: bool, h: char, i: String, j: u64, k: u8, l: u8, m: u8, n: u8, o: u8, p: u8) -> String {
    format!("{a} {b} {c} {d} {e} {f} {g} {h} {i} {j} {}", k as u32 + l as u32 + m as u32 + n as u32 + o as u32 + p as u32)
}
"""

TRAVELER = """import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"strings"
)

func Words(texts []string) uint32 {
	var n uint32
	for _, t := range texts {
		n += atlas.WordCount(t)
	}
	return n
}

func Hello(name string) string { return atlas.Greet(name) + "!" }

func Center(x, y float64) string {
	m := atlas.Mid(atlas.Point{X: 0, Y: 0}, atlas.Point{X: x, Y: y})
	return fmt.Sprintf("%T %v %v", m, m.X, m.Y)
}

func Units() string {
	return fmt.Sprint(atlas.UnitName(atlas.UnitMetric), " ", atlas.UnitName(atlas.UnitImperial), " ",
		atlas.UnitOf("ft"), " ", atlas.UnitOf("m") == atlas.UnitMetric)
}

func Maybes(x uint32) string {
	a, b := atlas.Maybe(&x), atlas.Maybe(nil)
	return fmt.Sprintf("%q %v", *a, b == nil)
}

func Parsed(s string) int64 {
	v, err := atlas.Parse(s)
	if err != nil {
		return -int64(len(err.Error()))
	}
	return int64(v)
}

func Checked(ok bool) string {
	if err := atlas.Check(ok); err != nil {
		return "err: " + err.Error()
	}
	return "ok"
}

func Split(s string) string {
	n, rest, err := atlas.Split(s)
	var e *atlas.Error[atlas.Unit]
	if errors.As(err, &e) {
		return "error " + e.Value.String()
	}
	return fmt.Sprintf("%d|%s", n, rest)
}

func Oldest(names []string, ages []uint32) string {
	var people []atlas.Person
	for i, n := range names {
		people = append(people, atlas.Person{Name: n, Age: ages[i], Tags: []string{n + "!"}})
	}
	p := atlas.Oldest(people)
	if p == nil {
		return "nobody"
	}
	return fmt.Sprintf("%s %d %v", p.Name, p.Age, p.Tags)
}

func People(n uint32) string {
	var parts []string
	for _, p := range atlas.People(n) {
		parts = append(parts, fmt.Sprintf("%s:%d:%s", p.Name, p.Age, strings.Join(p.Tags, "+")))
	}
	return strings.Join(parts, " ")
}

func Scaled(xs []float64) []float64 { return atlas.Scale(xs, 10) }
func Reversed(b []byte) []byte      { return atlas.Reverse(b) }

func Areas() float64 {
	rect := atlas.ShapeRect{Value: atlas.Tuple2[float64, float64]{F0: 2, F1: 3}}
	return atlas.Area(atlas.ShapeCircle{Value: 1}) + atlas.Area(rect) + atlas.Area(&atlas.ShapeDot{})
}

func ShapeNames() string {
	var out []string
	for _, s := range atlas.Shapes() {
		switch v := s.(type) {
		case atlas.ShapeCircle:
			out = append(out, fmt.Sprintf("circle(%v)", v.Value))
		case atlas.ShapeRect:
			out = append(out, fmt.Sprintf("rect(%v,%v)", v.Value.F0, v.Value.F1))
		case atlas.ShapeDot:
			out = append(out, "dot")
		}
	}
	return strings.Join(out, " ")
}

func MinMax(xs []int32) (int32, int32) { return atlas.MinMax(xs) }

func ViaMany() string {
	return atlas.Many(1, -2, 3, -4, 0.5, 0.25, true, 'é', "str", math.MaxUint64, 1, 1, 1, 1, 1, 1)
}

func ViaBoom(x uint32) uint32 { return atlas.Boom(x) + 1 }
func Padded(s string) string   { return atlas.Pad(s, 5, true) + "|" + atlas.Pad(s, 5, false) }
func ProviderCalls() uint64   { return atlas.Calls() }

// Big checks a large result character by character.
func Big(n uint32) string {
	s := atlas.Big(n)
	for i := 0; i < len(s); i++ {
		if s[i] != byte('a'+i%26) {
			return fmt.Sprintf("wrong byte at %d", i)
		}
	}
	return fmt.Sprintf("%d ok", len(s))
}

var kept [][]byte

// Stress calls the provider many times while the collector runs often: results must never be corrupted.
func Stress(rounds int) string {
	for r := 0; r < rounds; r++ {
		n := uint32(r % 40)
		ps := atlas.People(n)
		if len(ps) != int(n) {
			return fmt.Sprintf("round %d: %d people", r, len(ps))
		}
		for i, p := range ps {
			if p.Name != fmt.Sprintf("p%d", i) || p.Age != uint32(20+i) || len(p.Tags) != i%3 {
				return fmt.Sprintf("round %d: person %d is %+v", r, i, p)
			}
		}
		if h := atlas.Greet(strings.Repeat("x", r)); len(h) != 7+r {
			return fmt.Sprintf("round %d: greeting %q", r, h)
		}
		kept = append(kept, make([]byte, 10000+r))
		if len(kept) > 50 {
			kept = kept[25:]
		}
		if r%97 == 0 {
			runtime.GC()
		}
	}
	return "ok"
}
"""


def run(ip, line: str, source: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        ip.run_cell_magic("asterai", line, source)
    return out.getvalue()


@pytest.fixture(scope="module")
def linked(ip):
    run(ip, "rust atlas", ATLAS)
    ip.user_ns["_traveler_build"] = run(ip, "go traveler --use atlas", TRAVELER)
    return ip.user_ns


def test_the_go_cell_builds_against_the_provider(linked):
    out = linked["_traveler_build"]
    assert "traveler: go component" in out
    assert "words(texts: list<string>) -> u32" in out


def test_scalars_strings_and_records(linked):
    ns = linked
    assert ns["words"](["a b", "c d e", ""]) == 5
    assert ns["hello"]("ada") == "hello, ada!"
    assert ns["hello"]("grüße 😀") == "hello, grüße 😀!"
    assert ns["center"](4.0, 2.0) == "atlas.Point 2 1"
    assert ns["padded"]("ab") == "   ab|ab"  # parameters named runtime, len, string: renamed in Go
    assert ns["via_many"]() == f"1 -2 3 -4 0.5 0.25 true é str {2**64 - 1} 6"  # 17 flat values: in memory


def test_enums_options_results(linked):
    ns = linked
    assert ns["units"]() == "m ft imperial true"  # an enum prints its WIT name
    assert ns["maybes"](7) == '"got 7" true'
    assert ns["parsed"]("42") == 42
    assert ns["parsed"]("x") == -len("invalid digit found in string")
    assert ns["checked"](True) == "ok" and ns["checked"](False) == "err: not ok"
    assert ns["split"]("abc def ghi") == "3|def ghi"  # result<tuple<u32, string>, unit>: (n, rest, err)
    assert ns["split"]("nospace") == "error imperial"  # the err payload, typed: *atlas.Error[atlas.Unit]


def test_lists_of_records_variants_and_tuples(linked):
    ns = linked
    assert ns["oldest"](["ann", "bob", "cy"], [30, 41, 29]) == "bob 41 [bob!]"
    assert ns["oldest"]([], []) == "nobody"
    assert ns["people"](4) == "p0:20: p1:21:t0 p2:22:t0+t1 p3:23:"
    assert ns["people"](0) == ""
    assert ns["scaled"]([1.0, 2.5, -0.0]) == [10.0, 25.0, -0.0]
    assert ns["scaled"]([]) == []
    assert ns["reversed"](bytes(range(256))) == bytes(range(255, -1, -1))
    assert ns["reversed"](b"") == b""
    assert ns["areas"]() == 9.0
    assert ns["shape_names"]() == "circle(0.5) rect(2,3) dot"
    assert ns["min_max"]([3, -7, 12, 0]) == (-7, 12)


def test_large_results_and_many_calls_under_the_collector(linked):
    ns = linked
    assert ns["big"](3_000_000) == "3000000 ok"  # larger than the result arena: Go's allocator, collector off
    assert ns["big"](10) == "10 ok"
    assert ns["stress"](600) == "ok"


def test_links_are_live_and_state_is_shared(linked):
    ns = linked
    before = ns["atlas"].calls()
    assert ns["words"](["x y", "z"]) == 3
    assert ns["atlas"].calls() == before + 2  # the notebook sees the Go cell's calls
    ns["word_count"]("from the notebook")
    assert ns["provider_calls"]() == before + 3  # and the Go cell sees the notebook's


def test_trap_in_provider_restarts_both_and_names_both(linked):
    ns = linked
    ns["words"](["a"])
    with pytest.raises(GuestTrap) as info:
        with contextlib.redirect_stderr(io.StringIO()):
            ns["via_boom"](5)
    assert info.value.component == "traveler" and info.value.function == "via_boom"
    assert "atlas.boom trapped: atlas exploded at 5" in info.value.guest_message
    assert ns["atlas"].calls() == 0  # the provider restarted too
    assert ns["via_boom"](1) == 2 and ns["hello"]("again") == "hello, again!"  # both work again


def test_rerunning_the_provider_relinks_the_go_cell(linked, ip):
    ns = linked
    try:
        out = run(ip, "rust atlas", ATLAS.replace("count() as u32 }", "count() as u32 * 10 }"))
        assert "relinked: traveler now calls the new atlas" in out
        assert ns["words"](["a b", "c"]) == 30
        assert ns["hello"]("x") == "hello, x!"
    finally:
        run(ip, "rust atlas", ATLAS)
    assert ns["words"](["a b", "c"]) == 3


def test_a_missing_provider_function_is_a_compile_error_at_the_cell_line(linked, cell):
    src = "func F(s string) uint32 {\n\treturn atlas.WordCount(s) + atlas.Nope(s)\n}\n"
    with pytest.raises(CompileError) as info:
        cell("go bad_traveler --use atlas", src)
    assert "line 3:" in info.value.diagnostics and "undefined: atlas.Nope" in info.value.diagnostics
    src = "func F() uint32 {\n\treturn atlas.WordCount(42)\n}\n"
    with pytest.raises(CompileError) as info:
        cell("go bad_traveler --use atlas", src)
    assert "line 3:" in info.value.diagnostics and "cannot use 42" in info.value.diagnostics


def test_an_explicit_import_and_a_package_clause_work_too(linked, cell, ns):
    src = 'package main\n\nimport (\n\t"atlas"\n\t"strings"\n)\n\nfunc Shout(s string) string {\n\treturn strings.ToUpper(atlas.Greet(s))\n}\n'
    cell("go importer --use atlas", src)
    assert ns["shout"]("bo") == "HELLO, BO"
    src = "package main\n\nfunc Twice(s string) uint32 {\n\treturn 2 * atlas.WordCount(s)\n}\n\nfunc main() {}\n"
    cell("go clause --use atlas", src)
    assert ns["twice"]("a b c") == 6
    with pytest.raises(CompileError) as info:
        cell("go clause2", 'import "atlas"\n\nfunc F() uint32 { return atlas.WordCount("a") }\n')
    assert "line 2: package atlas is not in std" in info.value.diagnostics
    assert "add `--use atlas` to the magic line" in info.value.diagnostics
    src = "package main\n\nfunc F(s string) uint32 {\n\treturn atlas.WordCount(s) + nothing\n}\n"
    with pytest.raises(CompileError) as info:
        cell("go clause3 --use atlas", src)  # the import added after the clause keeps the lines
    assert "line 5:" in info.value.diagnostics and "undefined: nothing" in info.value.diagnostics


@pytest.mark.no_toolchain
def test_names_that_collide_in_go_are_refused():
    color = wit.Enum("color", ("red", "blue"))
    iface = wit.Interface("pal", (wit.Function("pick", (("c", color),), None),
                                  wit.Function("color-red", (), wit.Prim("u8"))))  # fmt: skip
    with pytest.raises(
        CompileError,
        match=r"case `red` of enum `color` and function `color-red` would both be `pal.ColorRed`",
    ):
        package("pal", iface)


@pytest.mark.parametrize(
    ("name", "imports", "why"),
    [("strings", {"strings": "strings"}, 'already imports "strings"'), ("len", {}, "built-in"),
     ("string", {}, "built-in"), ("main", {}, "cannot import"), ("range", {}, "keyword"),
     ("utf8", {"utf8": "unicode/utf8"}, 'already imports "unicode/utf8"')],
)  # fmt: skip
@pytest.mark.no_toolchain
def test_names_go_needs_are_refused(name, imports, why):
    with pytest.raises(CompileError, match=why):
        check_use_name(name, imports)
    check_use_name("atlas", {"atlas": "atlas", "fmt": "fmt"})


def test_a_provider_named_like_a_go_std_package(ip, cell, ns):
    run(ip, "rust strings", "pub fn one() -> u32 { 1 }\n")
    try:
        # its package is imported as "cells/strings", so Go's own `strings` stays reachable by its path
        cell("go std_named_user --use strings", "func F() uint32 { return strings.One() + 1 }\n")
        assert ns["std_named_user"].f() == 2
        with pytest.raises(CompileError, match=r'--use strings: .*already imports "strings"'):
            cell(
                "go std_clash --use strings",
                'import "strings"\n\nfunc G() int32 { return int32(len(strings.TrimSpace(" a "))) }\n',
            )
    finally:
        for name in ("std_named_user", "strings"):
            cell.line(f"rm {name}")


# ---- two providers, one using the other's types ----

PLANE = """
pub struct Point { pub x: f64, pub y: f64 }
pub enum Unit { Metric, Imperial }
pub fn dist(a: Point, b: Point, u: Unit) -> f64 {
    let d = ((b.x - a.x).powi(2) + (b.y - a.y).powi(2)).sqrt();
    match u { Unit::Metric => d, Unit::Imperial => d * 3.0 }
}
"""

ROUTES = """
pub struct Route { pub name: String, pub stops: Vec<plane::Point>, pub unit: plane::Unit }
pub fn length(r: Route) -> f64 { r.stops.windows(2).map(|w| plane::dist(w[0].clone(), w[1].clone(), r.unit)).sum() }
pub fn start(r: Route) -> Option<plane::Point> { r.stops.first().cloned() }
"""

TRIP = """func Trip(x, y float64) string {
	stops := []plane.Point{{X: 0, Y: 0}, {X: 3, Y: 4}, {X: x, Y: y}}
	r := routes.Route{Name: "r", Stops: stops, Unit: plane.UnitImperial}
	var first *plane.Point = routes.Start(r) // routes.Point is plane.Point: one Go type
	return fmt.Sprint(routes.Length(r), " ", plane.Dist(*first, stops[1], routes.UnitMetric))
}
"""


def test_a_type_one_provider_takes_from_another_is_one_go_type(ip, ns):
    if not hasattr(wit, "foreign"):
        pytest.skip("consumer exports using providers' types are not in this tree")
    run(ip, "rust plane", PLANE)
    run(ip, "rust routes --use plane", ROUTES)
    run(ip, "go trips --use plane,routes", 'import "fmt"\n\n' + TRIP)
    assert ns["trip"](3.0, 8.0) == "27 5"
    # without plane, routes' package has its own Point
    alone = (
        "func Begin() float64 {\n\treturn routes.Start(routes.Route{Stops: []routes.Point{{X: 2}}}).X\n}\n"
    )
    run(ip, "go trips_alone --use routes", alone)
    assert ns["begin"]() == 2.0


# ---- a used component's types in the Go cell's own exports ----

GEO2D = """
pub struct Point { pub x: f64, pub y: f64 }
pub struct Label { pub text: String, pub at: Point, pub tags: Vec<String> }
pub enum Unit { Metric, Imperial }
pub enum Shape { Circle(f64), Segment(Point, Point), Tag(Label), Dot }
pub fn mid(a: Point, b: Point) -> Point { Point { x: (a.x + b.x) / 2.0, y: (a.y + b.y) / 2.0 } }
pub fn len(s: Shape, u: Unit) -> f64 {
    let k = match u { Unit::Metric => 1.0, Unit::Imperial => 3.0 };
    k * match s { Shape::Circle(r) => 6.0 * r, Shape::Segment(a, b) => (b.x - a.x).abs() + (b.y - a.y).abs(),
                  Shape::Tag(l) => l.text.len() as f64, Shape::Dot => 0.0 }
}
pub fn make_label(text: String, at: Point) -> Label { Label { text, at, tags: vec![] } }
pub fn check(r: Result<Point, String>) -> Result<f64, Unit> { match r { Ok(p) => Ok(p.x + p.y), Err(_) => Err(Unit::Imperial) } }
"""

FIGURES = """import (
	"errors"
	"fmt"
	"strings"
)

// Path is a named path of geo2d's points.
type Path struct {
	Name   string
	Points []geo2d.Point
	Unit   geo2d.Unit
	Note   *geo2d.Label
}

func Center(a geo2d.Point, b geo2d.Point) geo2d.Point { return geo2d.Mid(a, b) }

func Shift(ps []geo2d.Point, dx float64) []geo2d.Point {
	out := make([]geo2d.Point, len(ps))
	for i, p := range ps {
		out[i] = geo2d.Point{X: p.X + dx, Y: p.Y}
	}
	return out
}

func Segment(ps []geo2d.Point) *geo2d.Shape {
	if len(ps) < 2 {
		return nil
	}
	var s geo2d.Shape = geo2d.ShapeSegment{Value: geo2d.Tuple2[geo2d.Point, geo2d.Point]{F0: ps[0], F1: ps[1]}}
	return &s
}

func Measure(s *geo2d.Shape, u geo2d.Unit) float64 {
	if s == nil {
		return -1
	}
	return geo2d.Len(*s, u)
}

func Describe(s geo2d.Shape) string {
	switch v := s.(type) {
	case geo2d.ShapeCircle:
		return fmt.Sprint("circle ", v.Value)
	case geo2d.ShapeSegment:
		return fmt.Sprint("segment ", v.Value.F0.X, " ", v.Value.F1.Y)
	case geo2d.ShapeTag:
		return "tag " + v.Value.Text + " " + strings.Join(v.Value.Tags, "+")
	}
	return "dot"
}

func Flip(u geo2d.Unit) geo2d.Unit {
	if u == geo2d.UnitMetric {
		return geo2d.UnitImperial
	}
	return geo2d.UnitMetric
}

func Units(n int) []geo2d.Unit {
	out := []geo2d.Unit{}
	for i := 0; i < n; i++ {
		out = append(out, geo2d.Unit(i%2))
	}
	return out
}

func MakePath(name string, ps []geo2d.Point) Path {
	l := geo2d.MakeLabel(name+"!", geo2d.Point{X: 1, Y: 2})
	l.Tags = []string{"a", name}
	return Path{Name: name, Points: ps, Unit: geo2d.UnitImperial, Note: &l}
}

func First(p Path) (geo2d.Point, error) {
	if len(p.Points) == 0 {
		return geo2d.Point{}, errors.New(p.Name + " is empty")
	}
	return p.Points[0], nil
}

func Swap(p geo2d.Tuple2[geo2d.Point, uint8]) (uint8, geo2d.Point) {
	return p.F1, geo2d.Point{X: p.F0.Y, Y: p.F0.X}
}

// Check passes a nested result on to geo2d and returns geo2d's answer as a result of its own.
func Check(r geo2d.Result[geo2d.Point, string]) geo2d.Result[float64, geo2d.Unit] {
	v, err := geo2d.Check(r)
	var e *geo2d.Error[geo2d.Unit]
	if errors.As(err, &e) {
		return geo2d.Result[float64, geo2d.Unit]{Err: e.Value, IsErr: true}
	}
	return geo2d.Result[float64, geo2d.Unit]{Ok: v}
}

func Nested(r []geo2d.Result[*geo2d.Point, struct{}]) []string {
	out := []string{}
	for _, x := range r {
		switch {
		case x.IsErr:
			out = append(out, "err")
		case x.Ok == nil:
			out = append(out, "none")
		default:
			out = append(out, fmt.Sprint(x.Ok.X))
		}
	}
	return out
}

func Tagged(text string, tags []string) geo2d.Shape {
	return geo2d.ShapeTag{Value: geo2d.Label{Text: text, At: geo2d.Point{X: 0, Y: 1}, Tags: tags}}
}

func Labels(n int) []geo2d.Label {
	var out []geo2d.Label
	for i := 0; i < n; i++ {
		out = append(out, geo2d.Label{Text: strings.Repeat("x", i), Tags: []string{fmt.Sprint(i)}})
	}
	return out
}

func Maybe(on bool) *geo2d.Point {
	if !on {
		return nil
	}
	return &geo2d.Point{X: 7, Y: 8}
}

// Many has more than 16 flat parameters: they arrive in memory.
func Many(a, b, c, d, e, f, g, h, i geo2d.Point) geo2d.Point {
	return geo2d.Point{X: a.X + b.X + c.X + d.X + e.X + f.X + g.X + h.X + i.X, Y: i.Y}
}

// Churn makes garbage while it builds its result, so the collector runs between lifting and lowering.
func Churn(ls []geo2d.Label) []geo2d.Label {
	var junk [][]byte
	out := make([]geo2d.Label, 0, len(ls))
	for i, l := range ls {
		junk = append(junk, make([]byte, 1<<16))
		l.Tags = append(l.Tags, strings.Repeat("t", i))
		out = append(out, l)
	}
	runtime.GC()
	return out
}
"""


@pytest.fixture(scope="module")
def exported(ip):
    run(ip, "rust geo2d", GEO2D)
    out = run(ip, "go figures --use geo2d --show-wit", FIGURES.replace('"fmt"', '"fmt"\n\t"runtime"'))
    return ip.user_ns, out


def test_go_exports_use_the_providers_types(exported):
    ns, out = exported
    assert "interface figures {\n  use geo2d.{point, label, shape, unit};\n  /// Path is a named path" in out
    assert "center: func(a: point, b: point) -> point;" in out
    geo, fig = ns["geo2d"], ns["figures"]
    P = geo.Point
    m = fig.center(P(1, 2), P(3, 4))
    assert m == P(2.0, 3.0) and type(m) is P  # the provider's class, not a copy
    assert fig.Point is P and fig.Unit is geo.Unit and fig.Label is geo.Label
    assert geo.mid(m, fig.center(m, P(0, 0))) == P(1.5, 2.25)  # values flow both ways as they are
    assert fig.center({"x": 0, "y": 0}, P(2, 2)) == P(1.0, 1.0)  # any record input still works
    assert "use geo2d.{point, label, shape, unit};" in fig.wit


def test_go_exports_nested_provider_types(exported):
    ns, _ = exported
    geo, fig = ns["geo2d"], ns["figures"]
    P, Unit, Label = geo.Point, geo.Unit, geo.Label
    moved = fig.shift([P(0, 1), P(2, 3)], 10)
    assert moved == [P(10.0, 1.0), P(12.0, 3.0)] and all(type(p) is P for p in moved)
    assert fig.shift([], 1) == []
    seg = fig.segment(moved)  # option<variant> with a tuple payload
    assert seg == Variant("segment", (P(10.0, 1.0), P(12.0, 3.0))) and type(seg.value[0]) is P
    assert fig.segment([P(0, 0)]) is None
    assert fig.measure(seg, Unit.imperial) == 12.0 and geo.len(seg, Unit.metric) == 4.0
    assert fig.measure(("circle", 1.0), "metric") == 6.0 and fig.measure(None, Unit.metric) == -1.0
    assert fig.describe(("circle", 2.5)) == "circle 2.5" and fig.describe(seg) == "segment 10 3"
    assert fig.describe(("tag", Label("hi", P(0, 0), ["a", "b"]))) == "tag hi a+b"
    assert fig.describe("dot") == "dot"
    assert fig.flip(Unit.metric) is Unit.imperial and fig.flip("imperial") is Unit.metric
    assert fig.units(3) == [Unit.metric, Unit.imperial, Unit.metric] and fig.units(0) == []
    tagged = fig.tagged("word", ["x", "yz"])  # a variant holding a record holding strings
    assert tagged == Variant("tag", Label("word", P(0.0, 1.0), ["x", "yz"])) and type(tagged.value) is Label
    assert type(tagged.value.at) is P and geo.len(fig.tagged("four", []), "metric") == 4.0
    assert fig.labels(3) == [Label(t, P(0.0, 0.0), [str(i)]) for i, t in enumerate(["", "x", "xx"])]
    assert fig.maybe(True) == P(7.0, 8.0) and type(fig.maybe(True)) is P and fig.maybe(False) is None
    assert fig.many(*[P(i, i) for i in range(9)]) == P(36.0, 8.0)


def test_go_exports_records_results_and_tuples_of_provider_types(exported):
    ns, _ = exported
    geo, fig = ns["geo2d"], ns["figures"]
    P, Unit, Label = geo.Point, geo.Unit, geo.Label
    moved = [P(10.0, 1.0), P(12.0, 3.0)]
    path = fig.make_path("p", moved)  # the cell's own record, with the provider's types in its fields
    assert type(path).__name__ == "Path" and dataclasses.is_dataclass(path) and path.unit is Unit.imperial
    assert path.points == moved and type(path.points[0]) is P
    assert path.note == Label("p!", P(1.0, 2.0), ["a", "p"]) and type(path.note) is Label
    assert fig.first(path) == P(10.0, 1.0)
    assert fig.first({"name": "q", "points": [P(5, 6)], "unit": "metric", "note": None}) == P(5.0, 6.0)
    with pytest.raises(asterai_kernel.ComponentError) as info:
        fig.first(fig.make_path("void", []))
    assert info.value.value == "void is empty"
    assert fig.swap((P(1, 2), 7)) == (7, P(2.0, 1.0))  # geo2d.Tuple2[..] in, (A, B) out
    assert fig.check(Ok(P(1, 2))) == 3.0  # geo2d.Result[..] in and out
    with pytest.raises(asterai_kernel.ComponentError) as info:
        fig.check(Err("no"))
    assert info.value.value is Unit.imperial
    assert fig.nested([Ok(P(1, 2)), Ok(None), Err(None)]) == ["1", "none", "err"]
    labels = [Label(f"l{i}", P(i, 0), ["x" * i]) for i in range(40)]
    for _ in range(3):  # strings in lists in records, lowered while the collector runs
        got = fig.churn(labels)
        assert got == [Label(f"l{i}", P(i, 0), ["x" * i, "t" * i]) for i in range(40)]


def test_go_exports_bad_values_name_the_field(exported):
    ns, _ = exported
    fig = ns["figures"]
    with pytest.raises(TypeError, match=r"parameter 'a' is missing field 'y'"):
        fig.center({"x": 1}, ns["geo2d"].Point(0, 0))
    with pytest.raises(ValueError, match="not a case of enum unit"):
        fig.flip("furlong")


def test_rerunning_the_provider_keeps_the_go_cells_classes(exported, ip):
    ns, _ = exported
    Point = ns["geo2d"].Point
    try:
        out = run(ip, "rust geo2d", GEO2D.replace("/ 2.0", "/ 4.0"))
        assert "relinked: figures now calls the new geo2d" in out
        assert ns["geo2d"].Point is Point
        m = ns["figures"].center(Point(4, 8), Point(0, 0))
        assert m == Point(1.0, 2.0) and type(m) is Point
    finally:
        run(ip, "rust geo2d", GEO2D)


def test_go_export_type_errors(exported, cell, ns):
    with pytest.raises(CompileError) as info:
        cell("go bad_figures --use geo2d", "\n\nfunc Nope(p geo2d.Nope) float64 { return 0 }\n")
    assert str(info.value).startswith("line 4: `func Nope`: parameter `p geo2d.Nope` has type `geo2d.Nope`")
    assert (
        "(geo2d's exports use no such type; they use: geo2d.Point, geo2d.Label, geo2d.Shape, geo2d.Unit)"
        in str(info.value)
    )
    with pytest.raises(CompileError, match=r"^line 2: `func F` returns `geo2d.Nope` \(geo2d's exports"):
        cell("go bad_figures --use geo2d", "func F() geo2d.Nope { return 0 }\n")
    with pytest.raises(CompileError, match=r"the type `Point` and the type `geo2d.Point` of the used component "
                                           r"both become the WIT name `point`; rename one"):  # fmt: skip
        cell("go bad_figures --use geo2d", "type Point struct{ X float64 }\n\n"
             "func Mine(p Point) float64 { return p.X }\nfunc Theirs(p geo2d.Point) float64 { return p.X }\n")  # fmt: skip
    with pytest.raises(
        CompileError,
        match=r"the type `geo2d.Point` of the used component both become the WIT "
        r"name `point`",
    ):  # fmt: skip  (nested in another type)
        cell("go bad_figures --use geo2d", "type Point struct{ X float64 }\n\n"
             "func Theirs(s []geo2d.Shape) int32 { return 0 }\nfunc Mine(p Point) float64 { return p.X }\n")  # fmt: skip
    with pytest.raises(CompileError, match=r"line 2: .*`int` in a type argument \(write `int64`\)"):
        cell("go bad_figures --use geo2d", "func F(r geo2d.Result[int, string]) int32 { return 0 }\n")
    with pytest.raises(CompileError, match=r"`atlas.Point` \(a type from another package; .*--use geo"):
        cell("go bad_figures", "func F(p atlas.Point) int32 { return 0 }\n")
    # a type of the cell's own that its exports do not mix with the used one is fine, and so is an alias
    cell("go figures_own --use geo2d", 'import g "geo2d"\n\ntype Spot struct{ X float64 }\n\n'
         "func ToSpot(p g.Point, us []*g.Unit) Spot { return Spot{X: p.X + float64(len(us))} }\n")  # fmt: skip
    spot = ns["to_spot"](ns["geo2d"].Point(1, 2), [None, "metric"])
    assert type(spot).__name__ == "Spot" and spot.x == 3.0


def test_go_exports_types_a_provider_took_from_another(ip, ns):
    run(ip, "rust plane", PLANE)
    run(ip, "rust routes --use plane", ROUTES)
    src = (
        "func Shorten(r routes.Route) routes.Route {\n\tr.Stops = r.Stops[:1]\n\treturn r\n}\n\n"
        "func Origin(u plane.Unit) *routes.Point {\n\treturn &plane.Point{X: 0, Y: float64(u)}\n}\n"
    )
    out = run(ip, "go trips_out --use plane,routes --show-wit", src)
    # routes.Point is plane.Point: the interface takes point from plane, its owner
    assert "interface trips-out {\n  use plane.{point, unit};\n  use routes.{route};\n" in out
    P, Unit = ns["plane"].Point, ns["plane"].Unit
    r = ns["shorten"](ns["routes"].Route("r", [P(1, 2), P(3, 4)], Unit.imperial))
    assert r == ns["routes"].Route("r", [P(1.0, 2.0)], Unit.imperial) and type(r.stops[0]) is P
    assert type(r) is ns["routes"].Route
    assert ns["origin"]("imperial") == P(0.0, 1.0) and type(ns["origin"]("metric")) is P


# ---- a Python provider ----

PYSTATS = """
from dataclasses import dataclass
from enum import Enum

calls = 0


@dataclass
class Summary:
    count: int
    mean: float
    label: str


class Trend(Enum):
    UP = "up"
    DOWN = "down"
    FLAT = "flat"


def summarize(xs: list[float], label: str) -> Summary:
    global calls
    calls += 1
    return Summary(len(xs), sum(xs) / len(xs) if xs else 0.0, label.upper())


def direction(xs: list[float]) -> Trend:
    return Trend.FLAT if len(xs) < 2 or xs[-1] == xs[0] else Trend.UP if xs[-1] > xs[0] else Trend.DOWN


def first_long(words: list[str], n: int) -> str | None:
    return next((w for w in words if len(w) >= n), None)


def pairs(n: int) -> list[tuple[str, int]]:
    return [(chr(97 + i), i * i) for i in range(n)]


def count() -> int:
    return calls


def fail(msg: str) -> int:
    raise ValueError(msg)
"""

REPORT = """import (
	"fmt"
	"strings"
)

func Report(xs []float64) string {
	s := pystats.Summarize(xs, "temps")
	return fmt.Sprintf("%d %.2f %s %v", s.Count, s.Mean, s.Label, pystats.Direction(xs))
}

func IsUp(xs []float64) bool { return pystats.Direction(xs) == pystats.TrendUp }

func FirstLong(words []string, n int64) string {
	if w := pystats.FirstLong(words, n); w != nil {
		return *w
	}
	return "-"
}

func Pairs(n int64) string {
	var out []string
	for _, p := range pystats.Pairs(n) {
		out = append(out, fmt.Sprintf("%s=%d", p.F0, p.F1))
	}
	return strings.Join(out, ",")
}

func Calls() int64 { return pystats.Count() }

func ViaFail(msg string) int64 { return pystats.Fail(msg) }
"""


@pytest.fixture(scope="module")
def from_python(ip):
    run(ip, "python pystats", PYSTATS)
    run(ip, "go weather --use pystats", REPORT)
    return ip.user_ns


def test_go_calls_a_python_component(from_python):
    ns = from_python
    assert ns["report"]([1.0, 2.0, 4.5]) == "3 2.50 TEMPS up"
    assert ns["report"]([]) == "0 0.00 TEMPS flat"
    assert ns["is_up"]([1.0, 3.0]) is True and ns["is_up"]([3.0, 1.0]) is False
    assert ns["first_long"](["a", "tree", "forest"], 5) == "forest"
    assert ns["first_long"](["a"], 5) == "-"
    assert ns["pairs"](4) == "a=0,b=1,c=4,d=9"
    before = ns["count"]()  # the Python component's own state, seen from Python and from Go
    ns["report"]([1.0])
    assert ns["pystats"].count() == before + 1 and ns["calls"]() == before + 1


def test_an_exception_in_the_python_provider_names_it(from_python):
    ns = from_python
    with contextlib.redirect_stderr(io.StringIO()), pytest.raises(GuestTrap) as info:
        ns["via_fail"]("no way")
    assert info.value.component == "weather"
    assert "pystats.fail trapped" in info.value.guest_message and "no way" in info.value.guest_message
    assert ns["report"]([2.0]) == "1 2.00 TEMPS flat"


WEATHER_OUT = """func Relabel(s pystats.Summary, label string) pystats.Summary {
	s.Label = label
	return s
}

func Trends(xss [][]float64) []pystats.Trend {
	out := []pystats.Trend{}
	for _, xs := range xss {
		out = append(out, pystats.Direction(xs))
	}
	return out
}

func Summaries(label string, xss [][]float64) []*pystats.Summary {
	var out []*pystats.Summary
	for _, xs := range xss {
		if len(xs) == 0 {
			out = append(out, nil)
			continue
		}
		s := pystats.Summarize(xs, label)
		out = append(out, &s)
	}
	return out
}
"""


def test_go_exports_a_python_providers_types(from_python, ip):
    ns = from_python
    run(ip, "go weather_out --use pystats", WEATHER_OUT)
    Summary, Trend = ns["pystats"].Summary, ns["pystats"].Trend
    got = ns["relabel"](ns["pystats"].summarize([1.0, 3.0], "t"), "new")
    assert got == Summary(2, 2.0, "new") and type(got) is Summary
    assert ns["weather_out"].Summary is Summary
    trends = ns["trends"]([[1, 2], [2, 1], []])
    assert trends == ["up", "down", "flat"] and all(type(t) is Trend for t in trends)
    got = ns["summaries"]("x", [[2.0], []])
    assert got == [Summary(1, 2.0, "X"), None] and type(got[0]) is Summary


# ---- Python host functions ----


@dataclasses.dataclass
class Sample:
    sensor: str
    value: float


SAMPLER = """import "fmt"

func Report(v float64) int64 { return gohost.Record(gohost.Sample{Sensor: "t1", Value: v}) }

func Find(key string) string {
	v, err := gohost.Lookup(key)
	if err != nil {
		return "err " + err.Error()
	}
	return fmt.Sprint("ok ", v)
}
"""


def test_go_calls_python_host_functions(ip, ns):
    seen = []

    @asterai_kernel.provide("gohost")
    def record(s: Sample) -> int:
        seen.append(s)
        return len(seen)

    @asterai_kernel.provide("gohost")
    def lookup(key: str) -> asterai_kernel.Result[int, str]:
        return {"a": 1, "b": 2}[key]

    run(ip, "go sampler --use gohost", SAMPLER)
    assert ns["report"](21.5) == 1 and ns["report"](22.0) == 2
    assert seen == [Sample("t1", 21.5), Sample("t1", 22.0)]  # the Go guest called back into the notebook
    assert ns["find"]("b") == "ok 2"
    assert ns["find"]("zz") == "err KeyError: 'zz'"


# ---- the conformance table, from Go ----

PKG = "confsrc"


def go_type(ty: wit.WitType | None) -> str:
    if ty is None:
        return "struct{}"
    if isinstance(ty, wit.Prim):
        return GO_PRIMS[ty.name]
    if isinstance(ty, wit.String):
        return "string"
    if isinstance(ty, wit.List):
        return f"[]{go_type(ty.elem)}"
    if isinstance(ty, wit.Option):
        return f"*{go_type(ty.inner)}"
    if isinstance(ty, wit.Tuple):
        return f"{PKG}.Tuple{len(ty.elems)}[{', '.join(go_type(e) for e in ty.elems)}]"
    if isinstance(ty, wit.Result):
        return f"{PKG}.Result[{go_type(ty.ok)}, {go_type(ty.err)}]"
    return f"{PKG}.{pascal_name(ty.name)}"


def go_string(s: str) -> str:
    return '"' + "".join(c if " " <= c <= "~" and c not in '"\\' else f"\\U{ord(c):08x}" for c in s) + '"'


def go_float(x: float, t: str) -> str:
    if math.isnan(x):
        return f"{t}(math.NaN())"
    if math.isinf(x):
        return f"{t}(math.Inf({1 if x > 0 else -1}))"
    if x == 0.0 and math.copysign(1, x) < 0:
        return f"{t}(math.Copysign(0, -1))"
    return f"{t}({x!r})"


def go_value(ty: wit.WitType, v) -> str:
    """The Go literal of a conformance value."""
    if isinstance(ty, wit.Prim):
        if ty.name == "bool":
            return "true" if v else "false"
        if ty.name in ("f32", "f64"):
            return go_float(float(v), GO_PRIMS[ty.name])
        if ty.name == "char":
            return f"rune({ord(v)})"
        return f"{GO_PRIMS[ty.name]}({v})"
    if isinstance(ty, wit.String):
        return go_string(v)
    if isinstance(ty, wit.List):
        if ty.elem == wit.Prim("u8"):
            return "[]uint8{" + ", ".join(str(b) for b in v) + "}"
        return f"{go_type(ty)}{{" + ", ".join(go_value(ty.elem, x) for x in v) + "}"
    if isinstance(ty, wit.Option):
        if v is None:
            return f"({go_type(ty)})(nil)"
        inner = v.value if isinstance(v, Some) else v
        return f"ptr[{go_type(ty.inner)}]({go_value(ty.inner, inner)})"
    if isinstance(ty, wit.Tuple):
        return f"{go_type(ty)}{{" + ", ".join(go_value(e, x) for e, x in zip(ty.elems, v)) + "}"
    if isinstance(ty, wit.Result):
        is_err = type(v).__name__ == "Err"
        payload_ty = ty.err if is_err else ty.ok
        field = "Err" if is_err else "Ok"
        inner = f"{field}: {go_value(payload_ty, v.value)}" if payload_ty is not None else ""
        return f"{go_type(ty)}{{{inner}{', IsErr: true' if is_err else ''}}}"
    if isinstance(ty, wit.Record):
        fields = ", ".join(f"{pascal_name(n)}: {go_value(t, v[n.replace('-', '_')])}" for n, t in ty.fields)
        return f"{go_type(ty)}{{{fields}}}"
    if isinstance(ty, wit.Enum):
        return f"{go_type(ty)}{pascal_name(v)}"
    assert isinstance(ty, wit.Variant)
    tag, payload = (v.tag, v.value) if isinstance(v, Variant) else (v, None) if isinstance(v, str) else v
    case_ty = dict(ty.cases)[tag]
    value = f"Value: {go_value(case_ty, payload)}" if case_ty is not None else ""
    return f"{go_type(ty)}{pascal_name(tag)}{{{value}}}"


SAME = """
func ptr[T any](v T) *T { return &v }

// same compares two values deeply: NaN equals NaN, -0 differs from 0, nil and empty slices are equal.
func same(a, b reflect.Value) bool {
	if a.Kind() != b.Kind() {
		return false
	}
	switch a.Kind() {
	case reflect.Float32, reflect.Float64:
		x, y := a.Float(), b.Float()
		return (math.IsNaN(x) && math.IsNaN(y)) || (x == y && math.Signbit(x) == math.Signbit(y))
	case reflect.Pointer:
		if a.IsNil() || b.IsNil() {
			return a.IsNil() == b.IsNil()
		}
		return same(a.Elem(), b.Elem())
	case reflect.Interface:
		if a.IsNil() || b.IsNil() {
			return a.IsNil() == b.IsNil()
		}
		return a.Elem().Type() == b.Elem().Type() && same(a.Elem(), b.Elem())
	case reflect.Slice:
		if a.Len() != b.Len() {
			return false
		}
		for i := 0; i < a.Len(); i++ {
			if !same(a.Index(i), b.Index(i)) {
				return false
			}
		}
		return true
	case reflect.Struct:
		for i := 0; i < a.NumField(); i++ {
			if !same(a.Field(i), b.Field(i)) {
				return false
			}
		}
		return true
	}
	return a.Interface() == b.Interface()
}

var failures []string

func expect(what string, got, want any) {
	if !same(reflect.ValueOf(&got).Elem(), reflect.ValueOf(&want).Elem()) {
		failures = append(failures, fmt.Sprintf("%s: got %.200v, want %.200v", what, got, want))
	}
}
"""


def conformance_cell() -> str:
    lines = [
        'import (\n\t"fmt"\n\t"math"\n\t"reflect"\n)',
        SAME,
        "func Conformance() []string {",
        "\tfailures = nil",
    ]
    for i, case in enumerate(CASES):
        call = f"{PKG}.{pascal_name(fn_name(i))}"
        for j, value in enumerate(case.values):
            lit = go_value(case.ty, value)
            what = go_string(f"{case.ty.wit()} #{j}")
            if isinstance(case.ty, wit.Tuple):  # a tuple result is Go's multiple results
                want = go_value(case.ty, case.expected[j] if case.expected else value)
                vs = [f"v{k}" for k in range(len(case.ty.elems))]
                lines.append(f"\t{{\n\t\t{', '.join(vs)} := {call}({lit})")
                lines.append(f"\t\texpect({what}, {go_type(case.ty)}{{{', '.join(vs)}}}, {want})\n\t}}")
                continue
            if not isinstance(case.ty, wit.Result):
                want = go_value(case.ty, case.expected[j] if case.expected else value)
                lines.append(f"\texpect({what}, {call}({lit}), {want})")
                continue
            # a top-level result: (ok..., error)
            okv = "_, " if case.ty.ok is not None else ""
            lines.append(f"\t{{\n\t\t{okv.replace('_', 'v')}err := {call}({lit})")
            if type(value).__name__ == "Err":
                lines.append(
                    f"\t\tvar e *{PKG}.Error[{go_type(case.ty.err)}]\n"
                    f'\t\tif !errors.As(err, &e) {{ failures = append(failures, "{case.ty.wit()}: no error") }} '
                    f"else {{ expect({go_string(case.ty.wit())}, e.Value, {go_value(case.ty.err, value.value)}) }}"
                )
                if case.ty.ok is not None:
                    lines.append("\t\t_ = v")
            else:
                lines.append(f"\t\texpect({go_string(case.ty.wit())}, err, error(nil))")
                if case.ty.ok is not None:
                    lines.append(
                        f"\t\texpect({go_string(case.ty.wit())}, v, {go_value(case.ty.ok, value.value)})"
                    )
            lines.append("\t}")
    lines += ["\treturn append([]string{}, failures...)", "}"]
    return "\n".join(lines).replace('import (\n\t"fmt"', 'import (\n\t"errors"\n\t"fmt"', 1) + "\n"


@pytest.fixture(scope="module")
def conformance(ip):
    run(ip, f"rust {PKG}", identity_cell(CASES))
    run(ip, f"go conf_go_user --use {PKG}", conformance_cell())
    return ip.user_ns["conf_go_user"]


def test_every_row_of_the_conformance_table_crosses_from_go(conformance):
    assert conformance.conformance() == []


def test_the_conformance_check_catches_a_wrong_value(ip, conformance):
    """The Go-side comparison is not vacuous: a provider that changes one value is caught."""
    i = next(i for i, c in enumerate(CASES) if c.ty.wit() == "point")
    broken = identity_cell(CASES).replace(
        f"pub fn {fn_name(i)}(x: Point) -> Point {{ x }}",
        f"pub fn {fn_name(i)}(x: Point) -> Point {{ Point {{ x: x.y, y: x.x }} }}",
    )
    assert broken != identity_cell(CASES)
    try:
        run(ip, f"rust {PKG}", broken)
        failures = conformance.conformance()
        assert failures and all(f.startswith("point #") for f in failures), failures
    finally:
        run(ip, f"rust {PKG}", identity_cell(CASES))
    assert conformance.conformance() == []


def test_every_row_crosses_a_go_cells_exports_in_the_providers_types(conformance, ip):
    """The Go cell's own exports take and return every row's type as the provider's package spells it
    (`confsrc.Point`, `confsrc.Result[..]`, `[]confsrc.Shape`): the glue lifts and lowers them with that
    package's helpers, and Python gets the values (and the classes) it gets from the provider."""
    lines = []
    for i, case in enumerate(CASES):
        t = go_type(case.ty)
        lines.append(f"func {pascal_name(fn_name(i))}(x {t}) {t} {{ return x }}")
    run(ip, f"go conf_go_bridge --use {PKG}", "\n".join(lines) + "\n")
    bridge = ip.user_ns["conf_go_bridge"]
    for i, case in enumerate(CASES):
        check_case(getattr(bridge, snake_name(fn_name(i))), case)
    i = next(i for i, c in enumerate(CASES) if c.ty.wit() == "point")
    point = getattr(bridge, snake_name(fn_name(i)))({"x": 1.0, "y": 2.0})
    assert type(point) is ip.user_ns[PKG].Point
