"""C++ cells end to end, in-process: clang++-14 (C++20, -fno-exceptions) for wasm32-wasi, libc++, wasm-tools
and wasmtime; and a C++ cell that uses a Python component (`--use`)."""

from __future__ import annotations

import contextlib
import io

import pytest

from asterai_kernel import CompileError, GuestTrap

SHAPES = r"""#include <algorithm>
#include <iostream>

struct Point { double x, y; };
struct Tagged { std::string name; std::vector<Point> points; std::optional<uint32_t> id; };
enum class Color { Red, DarkRed, Blue };

std::string shout(const std::string &s) {
    std::string out = s;
    std::transform(out.begin(), out.end(), out.begin(), ::toupper);
    return out;
}
size_t length(std::string_view v) { return v.size(); }
std::vector<double> scale(const std::vector<double> &xs, double k) {
    std::vector<double> out;
    for (double x : xs) out.push_back(x * k);
    return out;
}
std::optional<int32_t> half(int32_t x) {
    if (x % 2) return std::nullopt;
    return x / 2;
}
std::pair<int32_t, std::string> labelled(int32_t n) { return {n, std::to_string(n)}; }
Point middle(const Point &a, Point b) { return {(a.x + b.x) / 2, (a.y + b.y) / 2}; }
Color next(Color c) { return c == Color::Blue ? Color::Red : Color::Blue; }
Tagged tag(std::string name, std::vector<Point> points) { return {name, points, points.size()}; }
std::vector<std::string> words(const std::string &s) {
    std::vector<std::string> out;
    std::string word;
    for (char c : s + " ") {
        if (c != ' ') { word += c; continue; }
        if (!word.empty()) out.push_back(word);
        word.clear();
    }
    return out;
}
void chat(int n) {
    for (int i = 0; i < n; i++) {
        std::cout << "out " << i << "\n";
        std::cerr << "err " << i << "\n";
    }
}
int check(int x) {
    if (x > 3) std::abort();
    return 12 / x;
}
template <typename T> static T twice(T x) { return x + x; }  // a static template: a helper
namespace helpers { int hidden() { return 1; } }
namespace { int also_hidden() { return 2; } }
int uses_helpers(int x) { return twice(x) + helpers::hidden() + also_hidden(); }
"""


@pytest.fixture(scope="module")
def shapes(ip):
    with contextlib.redirect_stdout(io.StringIO()):
        ip.run_cell_magic("asterai", "cpp shapes", SHAPES)
    return ip.user_ns["shapes"]


def test_exports_are_the_global_functions(cell):
    out = cell("cpp shapes_wit --show-wit", SHAPES)
    for signature in [
        "shout: func(s: string) -> string;",
        "length: func(v: string) -> u32;",
        "scale: func(xs: list<f64>, k: f64) -> list<f64>;",
        "half: func(x: s32) -> option<s32>;",
        "labelled: func(n: s32) -> tuple<s32, string>;",
        "middle: func(a: point, b: point) -> point;",
        "tag: func(name: string, points: list<point>) -> tagged;",
        "enum color {\n    red,\n    dark-red,\n    blue,\n  }",
    ]:
        assert signature in out, out
    for helper in ("twice", "hidden", "also-hidden"):
        assert f"  {helper}:" not in out


def test_the_standard_library_types_cross(shapes):
    assert shapes.shout("hi there") == "HI THERE"
    assert shapes.length("héllo") == 6
    assert list(shapes.scale([1.0, 2.5], 2)) == [2.0, 5.0]
    assert shapes.half(8) == 4 and shapes.half(7) is None
    assert shapes.labelled(42) == (42, "42")
    mid = shapes.middle({"x": 0.0, "y": 0.0}, {"x": 2.0, "y": 6.0})
    assert (mid.x, mid.y) == (1.0, 3.0)
    assert shapes.next("red") == "blue" and shapes.next("blue") == "red"
    tagged = shapes.tag("t", [{"x": 1.0, "y": 2.0}])
    assert tagged.name == "t" and tagged.id == 1 and (tagged.points[0].x, tagged.points[0].y) == (1.0, 2.0)
    assert shapes.words("a bb  ccc") == ["a", "bb", "ccc"]
    assert shapes.uses_helpers(5) == 13


def test_cout_and_cerr_keep_their_order(shapes):
    both = io.StringIO()
    with contextlib.redirect_stdout(both), contextlib.redirect_stderr(both):
        shapes.chat(2)
    assert both.getvalue() == "out 0\nerr 0\nout 1\nerr 1\n"


def test_abort_and_traps_are_guest_traps(shapes):
    line = next(i for i, text in enumerate(SHAPES.splitlines()) if "std::abort()" in text) + 2
    with contextlib.redirect_stderr(io.StringIO()):
        with pytest.raises(GuestTrap) as info:
            shapes.check(4)
        assert info.value.guest_message == f"abort() called (at line {line})"
        with pytest.raises(GuestTrap, match="divide by zero"):
            shapes.check(0)
    assert shapes.check(3) == 4


@pytest.mark.parametrize(
    "source, message",
    [
        (
            'int f(int x) {\n    if (x < 0) throw "negative";\n    return x;\n}\n',
            "line 3: `throw`: C++ exceptions",
        ),
        (
            "int f(int x) {\n    try { return x; } catch (...) { return 0; }\n}\n",
            "line 3: `try`: C++ exceptions",
        ),
        ("int f(int x) { return x; }\ndouble f(double x) { return x; }\n", "line 3: `f` is overloaded"),
        ("template <typename T> T f(T x) { return x; }\n", "line 2: `f` is a template"),
        ("#include <map>\nint f(std::map<int, int> m) { return 0; }\n", "`std::map<int, int>`"),
        ("int f(int *p) { return 0; }\n", "must be followed by its length"),
    ],
)
def test_what_cells_cannot_export_is_refused_at_its_line(cell, source, message):
    with pytest.raises(CompileError) as info:
        cell("cpp refused", source)
    assert message in str(info.value)


def test_compile_errors_show_the_cells_lines_and_no_glue(cell):
    with pytest.raises(CompileError) as info:
        cell("cpp typo", "#include <string>\n\nstd::string f(int x) {\n    return x;\n}\n")
    diag = info.value.diagnostics
    assert "line 5:12: error: no viable conversion from returned value of type 'int'" in diag, diag
    assert "asterai" not in diag and "glue" not in diag


GEO_PY = """
from dataclasses import dataclass


@dataclass
class Point:
    x: float
    y: float


def word_count(text: str) -> int:
    return len(text.split())


def shout(words: list[str]) -> list[str]:
    return [w.upper() for w in words]


def mid(a: Point, b: Point) -> Point:
    return Point((a.x + b.x) / 2, (a.y + b.y) / 2)
"""

USES_PY = r"""
std::string summary(const std::string &text) {
    std::vector<std::string> loud = geo_py::shout({"a", "b"});  // geo_py's functions in C++'s own types
    geo_py::Point m = geo_py::mid({0, 0}, {.x = 4, .y = 2});
    return std::to_string(geo_py::word_count(text)) + " " + loud[0] + loud[1] + " " +
           std::to_string((int)m.x) + "," + std::to_string((int)m.y);
}

uint32_t in_c_style(const char *text) { return (uint32_t)geo_py_word_count(text); }  // geo_py.h's C functions
"""


def test_a_cpp_cell_calls_a_python_component(cell, ns):
    cell("python geo_py", GEO_PY)
    cell("cpp uses_py --use geo_py", USES_PY)
    assert ns["summary"]("one two three") == "3 AB 2,1"
    assert ns["in_c_style"]("a b") == 2


def test_a_providers_names_that_are_cpp_keywords_get_a_trailing_underscore(cell, ns):
    """C++ cells include the provider's C header too: its names avoid C++'s keywords as well as C's."""
    cell(
        "rust kv_words",
        "pub struct Entry { pub this: u32, pub template: u32 }\n"
        "pub fn delete(x: u32) -> u32 { x + 1 }\npub fn new(e: Entry) -> u32 { e.this + e.template }\n",
    )
    cell("cpp kv_cpp --use kv_words",
         "uint32_t both(uint32_t x) { return kv_words::delete_(x) + kv_words::new_({x, x}); }\n")  # fmt: skip
    cell("c kv_c --use kv_words",
         "uint32_t both_c(uint32_t x) { kv_words_entry e = {.this_ = x, .template_ = x};\n"
         "    return kv_words_delete_(x) + kv_words_new_(e); }\n")  # fmt: skip
    assert ns["both"](3) == 10 and ns["both_c"](3) == 10
