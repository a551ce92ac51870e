"""C cells end to end, in-process: Debian's clang-14 for wasm32-wasi, wasm-tools with the reactor adapter and
wasmtime. One cell holds most functions; bad input gets its own small cells (they fail before or in clang).
"""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest

from asterai_kernel import CompileError, GuestTrap, OutOfMemory, Timeout
from asterai_kernel.languages.c import toolchain

GEO = r"""#include <math.h>

typedef struct { double x; double y; } Point;
typedef enum { COLOR_RED, COLOR_DARK_RED, COLOR_BLUE } Color;
typedef ASTERAI_LIST(Point) Points;

/** Counts the words of a text. */
uint32_t word_count(const char *text) {
    uint32_t n = 0;
    bool in_word = false;
    for (const char *p = text; *p; p++) {
        bool space = *p == ' ' || *p == '\n';
        n += !space && !in_word;
        in_word = !space;
    }
    return n;
}

double total(const double *xs, size_t n) {
    double sum = 0;
    for (size_t i = 0; i < n; i++) sum += xs[i];
    return sum;
}

Point middle(Point a, Point b) { return (Point){(a.x + b.x) / 2, (a.y + b.y) / 2}; }
double norm(Point p) { return sqrt(p.x * p.x + p.y * p.y); }
Color next_color(Color c) { return (Color)((c + 1) % 3); }
char *greet(const char *name) {
    char *s = malloc(strlen(name) + 8);
    sprintf(s, "hello, %s", name);
    return s;
}
const char *version(void) { return "1.0"; }
asterai_list_f64 scale(const double *xs, size_t n, double k) {
    asterai_list_f64 out = {malloc(n * sizeof(double)), n};
    for (size_t i = 0; i < n; i++) out.ptr[i] = xs[i] * k;
    return out;
}
Points corners(Point p, double size) {
    Points out = {malloc(4 * sizeof(Point)), 4};
    for (int i = 0; i < 4; i++) out.ptr[i] = (Point){p.x + size * (i & 1), p.y + size * (i >> 1)};
    return out;
}
asterai_string echo(asterai_string s) { return s; }
int64_t mix(int8_t a, uint8_t b, int16_t c, uint16_t d, int e, unsigned f, long long g, unsigned long long h,
            float i, bool j, char32_t k) {
    return a + b + c + d + e + f + g + (int64_t)h + (int64_t)i + j + (int64_t)k;
}
static int counter;
int count(void) { return ++counter; }
static int helper(int x) { return x; }
void chat(int n) {
    for (int i = 0; i < n; i++) {
        printf("out %d\n", i);
        fprintf(stderr, "err %d\n", i);
    }
}
int check(int x) {
    if (x > 10) abort();
    assert(x != 5);
    return 100 / x;
}
size_t probe(const char *s) { return strlen(s); }
int read_file(const char *path) {
    FILE *f = fopen(path, "r");
    if (f == NULL) return -1;
    fclose(f);
    return 1;
}
"""
GEO_LINES = GEO.splitlines()


def cell_line(marker: str) -> int:
    """The cell's line of the first source line containing `marker` (the magic is line 1)."""
    return next(i for i, line in enumerate(GEO_LINES) if marker in line) + 2


@pytest.fixture(scope="module")
def geo(ip):
    with contextlib.redirect_stdout(io.StringIO()):
        ip.run_cell_magic("asterai", "c cgeo", GEO)
    return ip.user_ns


def test_every_non_static_function_is_exported_with_its_wit(cell):
    out = cell("c cgeo_wit --show-wit", GEO)
    for signature in [
        "word-count: func(text: string) -> u32;",
        "total: func(xs: list<f64>) -> f64;",
        "middle: func(a: point, b: point) -> point;",
        "next-color: func(c: color) -> color;",
        "scale: func(xs: list<f64>, k: f64) -> list<f64>;",
        "corners: func(p: point, size: f64) -> list<point>;",
        "echo: func(s: string) -> string;",
        "enum color {\n    red,\n    dark-red,\n    blue,\n  }",
        "/// Counts the words of a text.",
    ]:
        assert signature in out, out
    assert "helper" not in out and "counter" not in out  # static: not exported


def test_scalars_strings_lists_records_enums(geo):
    assert geo["word_count"]("the quick  brown fox") == 4
    assert geo["total"]([1.0, 2.5]) == 3.5
    assert geo["total"](np.arange(1000, dtype=np.float64)) == 499500.0
    mid = geo["middle"]({"x": 0.0, "y": 0.0}, {"x": 2.0, "y": 4.0})
    assert (mid.x, mid.y) == (1.0, 2.0) and type(mid).__name__ == "Point"
    assert geo["norm"]({"x": 3.0, "y": 4.0}) == 5.0
    assert geo["next_color"]("dark_red") == "blue" and geo["next_color"]("blue") == "red"
    assert geo["greet"]("bob") == "hello, bob" and geo["version"]() == "1.0"
    assert list(geo["scale"]([1.0, 2.0], 3)) == [3.0, 6.0]
    assert [(p.x, p.y) for p in geo["corners"]({"x": 1.0, "y": 1.0}, 2.0)] == [(1, 1), (3, 1), (1, 3), (3, 3)]
    assert geo["echo"]("a\x00b 😀") == "a\x00b 😀"
    assert geo["mix"](-1, 255, -300, 60000, -5, 7, -(2**40), 2**40, 2.5, True, "A") == 60024
    with pytest.raises(OverflowError):
        geo["mix"](128, 0, 0, 0, 0, 0, 0, 0, 0.0, False, "a")


def test_a_nul_in_a_c_string_argument_is_refused_with_the_reason(geo):
    with pytest.raises(GuestTrap, match="NUL character"):
        geo["word_count"]("a\x00b")
    assert geo["word_count"]("still works") == 2


def test_output_keeps_the_order_it_was_written_in(geo):
    both = io.StringIO()
    with contextlib.redirect_stdout(both), contextlib.redirect_stderr(both):
        geo["chat"](2)
    assert both.getvalue() == "out 0\nerr 0\nout 1\nerr 1\n"


def test_abort_assert_and_traps_are_guest_traps_with_the_cell_line(geo):
    geo["count"]()
    assert geo["count"]() >= 2
    with contextlib.redirect_stderr(io.StringIO()):
        with pytest.raises(GuestTrap) as info:
            geo["check"](11)
        assert info.value.guest_message == f"abort() called (at line {cell_line('abort()')})"
        assert geo["count"]() == 1  # restarted: its state is fresh
        with pytest.raises(GuestTrap) as info:
            geo["check"](5)
        assert info.value.guest_message == f"Assertion failed: x != 5 (at line {cell_line('assert(')})"
        with pytest.raises(GuestTrap, match="divide by zero"):
            geo["check"](0)
    assert geo["check"](4) == 25


def test_arguments_and_results_are_freed(ip):
    src = "size_t length(const char *s) { return strlen(s); }\n"
    src += "char *copy(asterai_string s) {\n    char *c = malloc(s.len + 1);\n"
    src += '    if (c == NULL) { perror("copy"); abort(); }\n    memcpy(c, s.ptr, s.len + 1);\n    return c;\n}\n'
    with contextlib.redirect_stdout(io.StringIO()):
        ip.run_cell_magic("asterai", "c leaks --max-memory 8MiB", src)
    big = "x" * (1 << 20)
    for _ in range(50):  # 100 MiB through an 8 MiB memory: what each call owned was freed
        assert ip.user_ns["length"](big) == len(big)
        assert len(ip.user_ns["copy"](big)) == len(big)
    with pytest.raises(GuestTrap):  # no room for the argument: a trap (no message can be written then)
        ip.user_ns["length"]("y" * (9 << 20))
    assert ip.user_ns["length"]("fine") == 4
    with contextlib.redirect_stderr(io.StringIO()), pytest.raises(OutOfMemory):  # perror: "Out of memory"
        ip.user_ns["copy"]("z" * (5 << 20))


def test_the_sandbox_holds(geo, tmp_path, ip):
    assert geo["read_file"]("/etc/passwd") == -1
    (tmp_path / "data.txt").write_text("hi")
    with contextlib.redirect_stdout(io.StringIO()):
        ip.run_cell_magic("asterai", f"c reader --allow-read {tmp_path}", GEO)
    assert ip.user_ns["reader"].read_file(f"{tmp_path}/data.txt") == 1
    assert ip.user_ns["reader"].read_file("/etc/passwd") == -1


# ---- bad input ----


def test_syntax_error_at_its_line(cell):
    with pytest.raises(CompileError) as info:
        cell("c broken", "int ok(void) { return 1; }\n\nint bad(int x) {\n    return x +;\n}\n")
    assert "line 5:" in str(info.value) and "expected expression" in str(info.value)
    assert "asterai" not in info.value.diagnostics  # nothing of the glue


def test_compile_errors_show_the_cells_lines_and_no_glue(cell):
    with pytest.raises(CompileError) as info:
        cell("c typo", "#include <math.h>\n\ndouble f(double x) {\n    return undefined_thing(x);\n}\n")
    diag = info.value.diagnostics
    assert "line 5:12: error: call to undeclared function 'undefined_thing'" in diag or (
        "line 5:12:" in diag and "undefined_thing" in diag
    ), diag
    assert "glue" not in diag and "asterai" not in diag


@pytest.mark.parametrize(
    "source, named",
    [
        ("long double f(void) { return 0; }", "`long double`"),
        ("int f(int *p) { return *p; }", "must be followed by its length"),
        ("int f(int **p, size_t n) { return 0; }", "`int *`"),
        ("typedef union { int a; } U;\nint f(U u) { return 0; }", "`union { int a; }`"),
        ("int f(int x, ...) { return x; }", "variadic"),
        ("typedef struct { int v[3]; } S;\nint f(S s) { return 0; }", "array"),
    ],
)
def test_unsupported_types_are_named(cell, source, named):
    with pytest.raises(CompileError, match="no WIT equivalent|variadic") as info:
        cell("c bad_type", source + "\n")
    assert named in str(info.value)
    assert "line 2" in str(info.value) or "line 3" in str(info.value)


def test_a_cell_without_exports_says_what_to_write(cell):
    with pytest.raises(CompileError, match="exports nothing"):
        cell("c nothing", "static int helper(void) { return 1; }\nint main(void) { return 0; }\n")


def test_a_runaway_loop_stops_at_its_timeout(ip):
    with contextlib.redirect_stdout(io.StringIO()):
        ip.run_cell_magic(
            "asterai", "c spinner --timeout 0.5", "int spin(void) { volatile int x = 0; for (;;) x++; }\n"
        )
    with pytest.raises(Timeout):
        ip.user_ns["spin"]()


def test_a_damaged_precompiled_header_is_set_aside(cell, ns):
    pch = toolchain.precompiled_header(toolchain.C_COMPILER, "2")
    pch.write_bytes(b"not a precompiled header")
    cell("c with_bad_pch --force", "int one(void) { return 1; }\n")
    assert ns["one"]() == 1 and not pch.exists()  # built without it; the next build makes it again
    cell("c with_new_pch --force", "int two(void) { return 2; }\n")
    assert ns["two"]() == 2 and pch.exists()
