"""Zig cells and other components (`--use`): a Zig cell calls a Rust component through `@import("atlas")`,
the whole conformance table goes Python -> Zig -> Rust and back, and Rust, Python and Zig cells call a Zig
component.
"""

from __future__ import annotations

import contextlib
import io

import pytest
from conformance import CASES, check_case, fn_name
from test_conformance_rust import identity_cell
from test_conformance_zig import zig_type
from test_go_links import ATLAS, run

from asterai_kernel import CompileError, ComponentError, GuestTrap, wit
from asterai_kernel.languages.zig.imports import check_use_name, import_module

TRAVELER = """const std = @import("std");
const asterai = @import("asterai");
const atlas = @import("atlas");

fn concat(parts: []const []const u8) []const u8 {
    return std.mem.concat(asterai.allocator, u8, parts) catch @panic("out of memory");
}

fn format(comptime fmt: []const u8, args: anytype) []const u8 {
    return std.fmt.allocPrint(asterai.allocator, fmt, args) catch @panic("out of memory");
}

pub fn words(texts: []const []const u8) u32 {
    var n: u32 = 0;
    for (texts) |t| n += atlas.wordCount(t);
    return n;
}

pub fn hello(name: []const u8) []const u8 {
    return concat(&.{ atlas.greet(name), "!" });
}

/// The middle of (0, 0) and (x, y), as atlas computes it, in atlas's own type.
pub fn center(x: f64, y: f64) atlas.Point {
    return atlas.mid(.{ .x = 0, .y = 0 }, .{ .x = x, .y = y });
}

pub fn moved(p: atlas.Point) atlas.Point {
    return atlas.mid(p, .{ .x = p.x + 2, .y = p.y + 2 });
}

pub fn padded(s: []const u8) []const u8 {
    return concat(&.{ atlas.pad(s, 5, true), "|", atlas.pad(s, 5, false) });
}

pub fn viaMany() []const u8 {
    return atlas.many(1, -2, 3, -4, 0.5, 0.25, true, 'é', "str", std.math.maxInt(u64), 1, 1, 1, 1, 1, 1);
}

pub fn units() []const u8 {
    return format("{s} {s} {s}", .{ atlas.unitName(.metric), atlas.unitName(.imperial), @tagName(atlas.unitOf("ft")) });
}

pub fn maybes(x: ?u32) ?[]const u8 {
    return atlas.maybe(x);
}

pub fn parsed(s: []const u8) i64 {
    return switch (atlas.parse(s)) {
        .ok => |n| n,
        .err => |e| -@as(i64, @intCast(e.len)),
    };
}

pub fn checked(ok: bool) []const u8 {
    return switch (atlas.check(ok)) {
        .ok => "ok",
        .err => |e| concat(&.{ "err: ", e }),
    };
}

pub fn split(s: []const u8) []const u8 {
    return switch (atlas.split(s)) {
        .ok => |t| format("{d}|{s}", .{ t[0], t[1] }),
        .err => |unit| @tagName(unit),
    };
}

pub fn oldest(names: []const []const u8, ages: []const u32) []const u8 {
    const team = asterai.allocator.alloc(atlas.Person, names.len) catch @panic("out of memory");
    for (team, names, ages) |*p, name, age| {
        const tags = asterai.allocator.dupe([]const u8, &.{concat(&.{ name, "!" })}) catch @panic("out of memory");
        p.* = .{ .name = name, .age = age, .tags = tags };
    }
    const found = atlas.oldest(team) orelse return "nobody";
    return format("{s} {d} {s}", .{ found.name, found.age, found.tags[0] });
}

pub fn people(n: u32) []const atlas.Person {
    return atlas.people(n);
}

pub fn scaled(xs: []const f64) []const f64 {
    return atlas.scale(xs, 10);
}

pub fn reversed(b: asterai.Bytes) asterai.Bytes {
    return atlas.reverse(b);
}

pub fn areas() f64 {
    var total: f64 = 0;
    for (atlas.shapes()) |s| total += atlas.area(s);
    return total + atlas.area(.{ .rect = .{ 1, 2 } }) + atlas.area(.dot);
}

pub fn minMax(xs: []const i32) struct { i32, i32 } {
    return atlas.minMax(xs);
}

pub fn big(n: u32) []const u8 {
    const s = atlas.big(n);
    return format("{d} {s}", .{ s.len, s[s.len - 2 ..] });
}

pub fn providerCalls() u64 {
    return atlas.calls();
}

pub fn viaBoom(x: u32) u32 {
    return atlas.boom(x) + 1;
}
"""


@pytest.fixture(scope="module")
def linked(ip):
    run(ip, "rust atlas", ATLAS)
    # (not `traveler`: test_go_links makes one in the same session, and this build would then be a replacement)
    ip.user_ns["_traveler_build"] = run(ip, "zig zig_traveler --use atlas", TRAVELER)
    return ip.user_ns


def test_the_zig_cell_builds_against_the_provider(linked):
    out = linked["_traveler_build"]
    assert "zig_traveler: zig component" in out
    assert "center(x: f64, y: f64) -> point" in out and "people(n: u32) -> list<person>" in out


def test_scalars_strings_and_records(linked):
    ns = linked
    assert ns["words"](["a b", "c d e", ""]) == 5
    assert ns["hello"]("grüße 😀") == "hello, grüße 😀!"
    p = ns["center"](4.0, 2.0)
    assert (p.x, p.y) == (2.0, 1.0) and type(p) is ns["atlas"].Point  # one class per WIT type
    assert ns["moved"](ns["atlas"].Point(x=1.0, y=1.0)) == ns["atlas"].Point(x=2.0, y=2.0)
    assert ns["padded"]("ab") == "   ab|ab"  # the provider's parameters `runtime`, `len`, `string`
    assert ns["via_many"]() == f"1 -2 3 -4 0.5 0.25 true é str {2**64 - 1} 6"  # 17 flat values: in memory


def test_enums_options_results(linked):
    ns = linked
    assert ns["units"]() == "m ft imperial"
    assert ns["maybes"](7) == "got 7" and ns["maybes"](None) is None
    assert ns["parsed"]("42") == 42 and ns["parsed"]("x") == -len("invalid digit found in string")
    assert ns["checked"](True) == "ok" and ns["checked"](False) == "err: not ok"
    assert ns["split"]("abc def ghi") == "3|def ghi" and ns["split"]("nospace") == "imperial"


def test_lists_of_records_variants_and_tuples(linked):
    ns = linked
    assert ns["oldest"](["ann", "bob", "cy"], [30, 41, 29]) == "bob 41 bob!"
    assert ns["oldest"]([], []) == "nobody"
    people = ns["people"](3)
    assert [(p.name, p.age, p.tags) for p in people] == [
        ("p0", 20, []),
        ("p1", 21, ["t0"]),
        ("p2", 22, ["t0", "t1"]),
    ]
    assert ns["scaled"]([1.0, 2.5, -0.0]) == [10.0, 25.0, -0.0] and ns["scaled"]([]) == []
    assert ns["reversed"](bytes(range(256))) == bytes(range(255, -1, -1)) and ns["reversed"](b"") == b""
    assert ns["areas"]() == 0.75 + 6.0 + 2.0
    assert ns["min_max"]([3, -7, 12, 0]) == (-7, 12)

    def tail(n: int) -> str:  # atlas.big(n) is n letters a..z, repeated
        return "".join(chr(97 + i % 26) for i in (n - 2, n - 1))

    assert ns["big"](3_000_000) == f"3000000 {tail(3_000_000)}"  # 3 MB through the consumer's arena
    for _ in range(200):  # the arena is released after every call
        assert ns["big"](1 << 20) == f"{1 << 20} {tail(1 << 20)}"


def test_links_are_live_and_state_is_shared(linked):
    ns = linked
    before = ns["atlas"].calls()
    assert ns["words"](["x y", "z"]) == 3
    assert ns["atlas"].calls() == before + 2
    ns["word_count"]("from the notebook")
    assert ns["provider_calls"]() == before + 3


def test_trap_in_provider_restarts_both_and_names_both(linked):
    ns = linked
    ns["words"](["a"])
    with pytest.raises(GuestTrap) as info, contextlib.redirect_stderr(io.StringIO()):
        ns["via_boom"](5)
    assert info.value.component == "zig_traveler" and info.value.function == "via_boom"
    assert "atlas.boom trapped: atlas exploded at 5" in info.value.guest_message
    assert ns["atlas"].calls() == 0  # the provider restarted too
    assert ns["via_boom"](1) == 2 and ns["hello"]("again") == "hello, again!"


def test_a_missing_provider_function_is_a_compile_error_at_the_cell_line(linked, cell):
    src = 'const atlas = @import("atlas");\npub fn f(s: []const u8) u32 {\n    return atlas.wordCount(s) + atlas.nope(s);\n}\n'
    with pytest.raises(CompileError) as info:
        cell("zig bad_traveler --use atlas", src)
    assert "line 4:" in info.value.diagnostics and "has no member named 'nope'" in info.value.diagnostics


@pytest.mark.no_toolchain
@pytest.mark.parametrize("name", ["std", "builtin", "root", "asterai", "asterai_cell"])
def test_names_zig_needs_are_refused(name):
    with pytest.raises(CompileError, match=f"--use {name}: a Zig cell cannot import"):
        check_use_name(name)


@pytest.mark.no_toolchain
def test_names_that_would_shadow_the_modules_own_are_renamed():
    u32 = wit.Prim("u32")
    scale = wit.Function("scale", (("scale", u32), ("rt", u32), ("r", u32)), u32)
    rt = wit.Function("rt", (("args", u32),), None)
    source, _ = import_module("geo", wit.Interface("geo", (scale, rt)), {})
    assert "pub fn scale(scale_: u32, rt_: u32, r: u32) u32" in source
    assert "pub fn rt_(args: u32) void" in source


def test_a_provider_whose_names_are_the_generated_modules_own(ip, ns):
    run(ip, "rust odd", "pub fn rt(args: u32, r: u32, imports: u32) -> u32 { args + r + imports }\n")
    src = 'const odd = @import("odd");\npub fn f(x: u32) u32 {\n    return odd.rt_(x, 1, 2);\n}\n'
    run(ip, "zig odd_user --use odd", src)
    assert ns["odd_user"].f(3) == 6


def test_a_type_one_provider_takes_from_another_is_one_zig_type(ip, ns):
    run(
        ip,
        "rust shapes",
        "pub struct Point { pub x: f64, pub y: f64 }\npub fn origin() -> Point { Point { x: 0.0, y: 0.0 } }\n",
    )
    run(
        ip,
        "rust mover --use shapes",
        "pub fn shift(p: shapes::Point) -> shapes::Point { shapes::Point { x: p.x + 1.0, y: p.y } }\n",
    )
    src = """const shapes = @import("shapes");
const mover = @import("mover");

pub fn moved(p: mover.Point) shapes.Point {
    return mover.shift(p); // mover.Point is shapes.Point: one Zig type
}

pub fn fromOrigin() f64 {
    return mover.shift(shapes.origin()).x;
}
"""
    run(ip, "zig shape_user --use shapes,mover", src)
    assert ns["shape_user"].moved(ns["shapes"].Point(1.0, 2.0)) == ns["shapes"].Point(2.0, 2.0)
    assert ns["shape_user"].from_origin() == 1.0


# ---- the conformance table through an import: Python -> Zig export -> Zig import -> Rust, and back ----


def relay_cell() -> str:
    lines = ['const asterai = @import("asterai");', 'const ident = @import("ident");', ""]
    for i, case in enumerate(CASES):
        t = zig_type(case.ty, "ident.")
        lines.append(f"pub fn {fn_name(i)}(x: {t}) {t} {{\n    return ident.{fn_name(i)}(x);\n}}")
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def relay(ip):
    run(ip, "rust ident", identity_cell(CASES))
    run(ip, "zig relay --use ident", relay_cell())
    return ip.user_ns["relay"]


@pytest.mark.parametrize("i", range(len(CASES)), ids=[c.ty.wit() for c in CASES])
def test_conformance_through_an_import(relay, i):
    check_case(getattr(relay, fn_name(i)), CASES[i])


# ---- other languages calling a Zig component ----

ZGEO = """const std = @import("std");
const asterai = @import("asterai");

pub const Point = struct { x: f64, y: f64 };
pub const Unit = enum { metric, imperial };

var calls: u32 = 0;

pub fn wordCount(text: []const u8) u32 {
    calls += 1;
    var words = std.mem.tokenizeScalar(u8, text, ' ');
    var n: u32 = 0;
    while (words.next()) |_| n += 1;
    return n;
}

pub fn callCount() u32 {
    return calls;
}

pub fn mid(a: Point, b: Point) Point {
    return .{ .x = (a.x + b.x) / 2, .y = (a.y + b.y) / 2 };
}

pub fn label(u: Unit, xs: []const f64) []const u8 {
    var total: f64 = 0;
    for (xs) |x| total += x;
    const unit = if (u == .metric) "m" else "ft";
    return std.fmt.allocPrint(asterai.allocator, "{d} {s}", .{ total, unit }) catch @panic("out of memory");
}

pub fn parse(s: []const u8) !u32 {
    return std.fmt.parseInt(u32, s, 10);
}

pub fn boom(x: u32) u32 {
    if (x > 1) std.debug.panic("zgeo exploded at {d}", .{x});
    return x;
}
"""

RUST_USER = """
pub fn words(texts: Vec<String>) -> u32 { texts.iter().map(|t| zgeo::word_count(t)).sum() }
pub fn center(x: f64, y: f64) -> String { let m = zgeo::mid(zgeo::Point { x: 0.0, y: 0.0 }, zgeo::Point { x, y }); format!("{} {}", m.x, m.y) }
pub fn labelled(xs: Vec<f64>) -> String { zgeo::label(zgeo::Unit::Imperial, &xs) }
pub fn parsed(s: String) -> String { match zgeo::parse(&s) { Ok(n) => format!("ok {n}"), Err(e) => format!("err {e}") } }
pub fn via_boom(x: u32) -> u32 { zgeo::boom(x) + 1 }
"""

PY_USER = """import zgeo

def shout_count(text: str) -> str:
    n = zgeo.word_count(text)
    return f"{n} words, {zgeo.label(zgeo.Unit.METRIC, [1.5, 2.5])}"
"""

ZIG_USER = """const zgeo = @import("zgeo");

pub fn twice(text: []const u8) u32 {
    return 2 * zgeo.wordCount(text);
}
"""


@pytest.fixture(scope="module")
def zgeo(ip):
    run(ip, "zig zgeo", ZGEO)
    return ip.user_ns


def test_a_rust_cell_calls_a_zig_component(zgeo, ip):
    ns = zgeo
    run(ip, "rust rust_user --use zgeo", RUST_USER)
    assert ns["rust_user"].words(["a b", "c"]) == 3
    assert ns["rust_user"].center(4.0, 2.0) == "2 1"
    assert ns["rust_user"].labelled([1.0, 2.0]) == "3 ft"
    assert ns["rust_user"].parsed("17") == "ok 17" and ns["rust_user"].parsed("x") == "err InvalidCharacter"
    with pytest.raises(ComponentError, match="Overflow"):
        ns["zgeo"].parse("99999999999")
    with pytest.raises(GuestTrap) as info, contextlib.redirect_stderr(io.StringIO()):
        ns["rust_user"].via_boom(3)
    assert "zgeo.boom trapped: zgeo exploded at 3" in info.value.guest_message
    assert ns["rust_user"].via_boom(1) == 2


def test_zig_and_python_cells_call_a_zig_component(zgeo, ip):
    ns = zgeo
    run(ip, "zig zig_user --use zgeo", ZIG_USER)
    before = ns["zgeo"].call_count()
    assert ns["zig_user"].twice("a b c") == 6
    assert ns["zgeo"].call_count() == before + 1  # the same live instance
    run(ip, "python py_user --use zgeo", PY_USER)
    assert ns["py_user"].shout_count("one two") == "2 words, 4 m"
