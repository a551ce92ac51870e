"""`--use` with C: a C cell calling a Rust component through the generated `rgeo.h`, and a Rust cell calling a
C component (real rustc, clang-14 and wasmtime)."""

from __future__ import annotations

import contextlib
import io

import pytest

from asterai_kernel import CompileError, GuestTrap
from asterai_kernel.languages.c.imports import header
from asterai_kernel.session import get_session

PROVIDER = r"""
pub struct Point { pub x: f64, pub y: f64 }
pub enum Color { Red, DarkRed, Blue }
pub struct Tagged { pub name: String, pub at: Point, pub color: Color }

static mut CALLS: u32 = 0;

pub fn word_count(text: &str) -> u32 { unsafe { CALLS += 1; } text.split_whitespace().count() as u32 }
pub fn calls() -> u32 { unsafe { CALLS } }
pub fn scale(xs: Vec<f64>, k: f64) -> Vec<f64> { xs.iter().map(|x| x * k).collect() }
pub fn describe(p: Point) -> String { format!("({}, {})", p.x, p.y) }
pub fn shout(words: Vec<String>) -> Vec<String> { words.iter().map(|w| w.to_uppercase()).collect() }
pub fn brighter(c: Color) -> Color { match c { Color::Red => Color::DarkRed, _ => Color::Blue } }
pub fn tag(name: String, at: Point) -> Tagged { Tagged { name, at, color: Color::Red } }
pub fn centroid(ps: Vec<Point>) -> Point {
    let n = ps.len() as f64;
    Point { x: ps.iter().map(|p| p.x).sum::<f64>() / n, y: ps.iter().map(|p| p.y).sum::<f64>() / n }
}
pub fn maybe(x: u32) -> Option<u32> { if x > 0 { Some(x) } else { None } }
pub fn boom() -> u32 { panic!("provider exploded") }
"""

CONSUMER = r"""
uint32_t report(const char *text) {
    char *s = rgeo_describe((rgeo_point){1.5, -2});
    printf("%s\n", s);
    free(s);
    return rgeo_word_count(text) * 10;
}

double scaled_sum(const double *xs, size_t n) {
    asterai_list_f64 out = rgeo_scale(xs, n, 2.0);
    double sum = 0;
    for (size_t i = 0; i < out.len; i++) sum += out.ptr[i];
    free(out.ptr);
    return sum;
}

char *loud(const char *a, const char *b) {
    char *words[] = {(char *)a, (char *)b};
    rgeo_string_list up = rgeo_shout((const char **)words, 2);
    char *joined = malloc(strlen(up.ptr[0]) + strlen(up.ptr[1]) + 2);
    sprintf(joined, "%s %s", up.ptr[0], up.ptr[1]);
    for (size_t i = 0; i < up.len; i++) free(up.ptr[i]);
    free(up.ptr);
    return joined;
}

int32_t color_after(int32_t c) { return (int32_t)rgeo_brighter((rgeo_color)c); }
bool is_dark_red(void) { return rgeo_brighter(RGEO_COLOR_RED) == RGEO_COLOR_DARK_RED; }

char *tag_name(const char *name) {
    rgeo_tagged t = rgeo_tag(name, (rgeo_point){0, 0});
    return t.name;  /* the caller of rgeo_tag owns it: handed on as this function's result */
}

double middle_x(void) {
    rgeo_point ps[] = {{0, 0}, {4, 2}};
    return rgeo_centroid(ps, 2).x;
}

uint32_t calls(void) { return rgeo_calls(); }
uint32_t explode(void) { return rgeo_boom(); }
"""


@pytest.fixture(scope="module")
def linked(ip):
    with contextlib.redirect_stdout(io.StringIO()):
        ip.run_cell_magic("asterai", "rust rgeo", PROVIDER)
        ip.run_cell_magic("asterai", "c cuser --use rgeo", CONSUMER)
    return ip.user_ns["cuser"]


def test_a_c_cell_calls_a_rust_component_through_its_header(linked):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert linked.report("one two three") == 30
    assert out.getvalue() == "(1.5, -2)\n"
    assert linked.scaled_sum([1.0, 2.0, 3.5]) == 13.0
    assert linked.loud("hi", "there") == "HI THERE"
    assert linked.color_after(0) == 1 and linked.is_dark_red() is True
    assert linked.tag_name("pin") == "pin"
    assert linked.middle_x() == 2.0


def test_links_are_live_and_state_is_shared(linked, ns):
    before = ns["rgeo"].calls()
    linked.report("a b")
    assert ns["rgeo"].calls() == before + 1 == linked.calls()


def test_a_trap_in_the_provider_names_it(linked):
    with contextlib.redirect_stderr(io.StringIO()), pytest.raises(GuestTrap) as info:
        linked.explode()
    assert "rgeo.boom trapped" in str(info.value) and "provider exploded" in str(info.value)
    assert linked.middle_x() == 2.0  # both restarted and working


def test_the_header_says_what_c_cannot_call(ns, cell):
    text = header("rgeo", get_session().components["rgeo"].iface)
    assert "/* rgeo_maybe: not available from C (option<u32> has no C spelling here) */" in text
    assert "static inline uint32_t rgeo_word_count(const char *text)" in text
    assert "static inline asterai_list_f64 rgeo_scale(const double *xs, size_t xs_len, double k)" in text
    with pytest.raises(CompileError) as info:
        cell("c cuser2 --use rgeo", "uint32_t f(void) {\n    return rgeo_maybe(3);\n}\n")
    assert "line 3:12:" in info.value.diagnostics and "rgeo_maybe" in info.value.diagnostics


C_PROVIDER = r"""
typedef struct { double x; double y; } Point;
typedef enum { RED, GREEN } Color;
static int total_calls;

uint32_t word_count(const char *text) {
    total_calls++;
    uint32_t n = 0;
    for (const char *p = text; *p; p++) n += (*p != ' ') && (p == text || p[-1] == ' ');
    return n;
}
char *greet(const char *name) {
    char *s = malloc(strlen(name) + 4);
    sprintf(s, "hi %s", name);
    return s;
}
asterai_list_f64 doubled(const double *xs, size_t n) {
    asterai_list_f64 out = {malloc(n * sizeof(double)), n};
    for (size_t i = 0; i < n; i++) out.ptr[i] = 2 * xs[i];
    return out;
}
Point swap(Point p) { return (Point){p.y, p.x}; }
Color flip(Color c) { return c == RED ? GREEN : RED; }
int calls(void) { return total_calls; }
"""

RUST_CONSUMER = r"""
pub fn use_c(text: String) -> String {
    let n = cgeo2::word_count(&text);
    let p = cgeo2::swap(cgeo2::Point { x: 1.0, y: 2.0 });
    let xs = cgeo2::doubled(&[1.0, 2.5]);
    let c = cgeo2::flip(cgeo2::Color::Red);
    format!("{} {} {:?} {} {}", n, cgeo2::greet("rust"), xs, p.x, c == cgeo2::Color::Green)
}
"""


def test_a_rust_cell_calls_a_c_component(cell, ns):
    cell("c cgeo2", C_PROVIDER)
    cell("rust ruser --use cgeo2", RUST_CONSUMER)
    assert ns["use_c"]("a b c") == "3 hi rust [2.0, 5.0] 2 true"
    assert ns["cgeo2"].calls() == 1


CPP_CONSUMER = r"""
std::string cpp_report(const std::string &text) {
    std::vector<std::string> loud = rgeo::shout({"x", "y"});
    rgeo::Point mid = rgeo::centroid({{0, 0}, {2, 4}});
    std::vector<double> scaled = rgeo::scale({1.0, 2.0}, 10);
    rgeo::Tagged t = rgeo::tag(text, {1, 1});  // a C struct: its char * is the caller's to free
    std::string name = t.name;
    free(t.name);
    return rgeo::describe(mid) + " " + loud[0] + loud[1] + " " + std::to_string((int)scaled[1]) + " " + name +
           " " + std::to_string(rgeo::word_count(text)) + (rgeo::brighter(RGEO_COLOR_RED) == RGEO_COLOR_DARK_RED ? " dark" : "");
}
"""


def test_a_cpp_cell_calls_a_rust_component_in_cpp_types(linked, cell, ns):
    cell("cpp cppuser --use rgeo", CPP_CONSUMER)
    assert ns["cpp_report"]("two words") == "(1, 2) XY 20 two words 2 dark"
