"""Go cells end to end, in-process: the real Go (wasip1), wasm-tools, the preview1 reactor adapter and wasmtime.

Few builds (Go's are slow): one cell holds most functions, including the memory and garbage-collector tests.
"""

from __future__ import annotations

import contextlib
import io
import json
import uuid
from pathlib import Path

import pytest

from asterai_kernel import CompileError, ComponentError, GuestTrap

MAIN = """import (
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// Point is a point with a label.
type Point struct {
	X, Y  float64
	Label string
}

type Box struct {
	Corner *Point
	Tags   []string
	Dims   []uint16
}

// WordCount counts the words of s.
func WordCount(s string) int { return len(strings.Fields(s)) }

func Neg(b bool) bool { return !b }
func Mix(a int8, b uint8, c int16, d uint16, e int32, f uint32, g int64, h uint64, i float32, j float64) float64 {
	return float64(a) + float64(b) + float64(c) + float64(d) + float64(e) + float64(f) + float64(g) + float64(h) + float64(i) + j
}
func IdU64(x uint64) uint64 { return x }
func IdInt(x int) int       { return x }
func NextRune(r rune) rune  { return r + 1 }
func Shout(s string) string { return strings.ToUpper(s) }
func Reverse(b []byte) []byte {
	out := make([]byte, len(b))
	for i, x := range b {
		out[len(b)-1-i] = x
	}
	return out
}
func Lengths(xs []string) []int32 {
	out := []int32{}
	for _, x := range xs {
		out = append(out, int32(len(x)))
	}
	return out
}
func Move(p Point, dx float64) Point { p.X += dx; p.Label += "!"; return p }
func Find(xs []Point, label string) *Point {
	for _, p := range xs {
		if p.Label == label {
			return &p
		}
	}
	return nil
}
func Grow(b Box) Box { b.Tags = append(b.Tags, "grown"); b.Dims = append(b.Dims, 7); return b }
func Div(a, b int32) (int32, error) {
	if b == 0 {
		return 0, fmt.Errorf("cannot divide %d by zero", a)
	}
	return a / b, nil
}
func Check(ok bool) error {
	if !ok {
		return errors.New("not ok")
	}
	return nil
}
func MinMax(xs []float64) (float64, float64) {
	lo, hi := xs[0], xs[0]
	for _, x := range xs {
		lo, hi = min(lo, x), max(hi, x)
	}
	return lo, hi
}
func Boom(n int) int { xs := []int{1}; return xs[n] }
func Fail(msg string) int32 { panic("failed: " + msg) }

var calls int

func Count() int { calls++; return calls }

// ---- memory ----

var keep [][]byte

// Aggressive makes the collector run on almost every allocation (1% growth), including the host's.
func Aggressive(percent int) int { return debug.SetGCPercent(percent) }

// Churn allocates garbage and keeps a little, so collections run while arguments are lowered.
func Churn(n int) int {
	total := 0
	for i := 0; i < n; i++ {
		b := make([]byte, 4096+i%1000)
		b[0] = byte(i)
		total += len(b)
		if i%64 == 0 {
			keep = append(keep, b)
		}
	}
	if len(keep) > 256 {
		keep = keep[len(keep)-256:]
	}
	return total
}

// Echo returns its large arguments joined, after allocating and collecting: corruption would show.
func Echo(a string, b []byte, c []string, d []int64, e string) string {
	Churn(200)
	runtime.GC()
	var sb strings.Builder
	sb.WriteString(a)
	sb.Write(b)
	for _, x := range c {
		sb.WriteString(x)
	}
	var sum int64
	for _, x := range d {
		sum += x
	}
	fmt.Fprintf(&sb, "|%d|%d|", len(d), sum)
	sb.WriteString(e)
	return sb.String()
}

// Probe reads a string's length and its last byte.
func Probe(s string) int { return len(s)*256 + int(s[len(s)-1]) }

func HeapMB() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc >> 20
}
"""


@pytest.fixture(scope="module")
def go(ip):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        ip.run_cell_magic("asterai", "go gocell", MAIN)
    ns = ip.user_ns
    ns["_go_build_line"] = out.getvalue()
    return ns


def test_names_and_signatures(go):
    line = go["_go_build_line"]
    assert "gocell: go component" in line
    assert "word_count(s: string) -> s64" in line
    assert "div(a: s32, b: s32) -> result<s32, string>" in line
    assert "find(xs: list<point>, label: string) -> option<point>" in line
    assert "min_max(xs: list<f64>) -> tuple<f64, f64>" in line
    assert go["word_count"]("the quick  brown fox") == 4


def test_scalars(go):
    assert go["neg"](True) is False
    assert go["mix"](-1, 2, -3, 4, -5, 6, -7, 8, 0.5, 0.25) == -1 + 2 - 3 + 4 - 5 + 6 - 7 + 8 + 0.75
    assert go["id_u64"](2**64 - 1) == 2**64 - 1
    assert go["id_int"](-(2**63)) == -(2**63)
    with pytest.raises(OverflowError, match="parameter 'x'"):
        go["id_int"](2**63)
    assert go["next_rune"]("a") == "b" and go["next_rune"]("😀") == "😁"


def test_strings_slices_structs(go):
    assert go["shout"]("grüße") == "GRÜßE"  # Go maps ß to itself
    assert go["reverse"](b"abc\x00") == b"\x00cba"
    assert go["reverse"](b"") == b""
    assert go["lengths"](["", "ab", "😀"]) == [0, 2, 4]
    assert go["lengths"]([]) == []
    p = go["move"]({"x": 1.0, "y": 2.0, "label": "p"}, 1.5)
    assert (p.x, p.y, p.label) == (2.5, 2.0, "p!")
    assert type(p) is go["gocell"].Point
    pts = [{"x": 1.0, "y": 2.0, "label": "a"}, {"x": 3.0, "y": 4.0, "label": "b"}]
    assert go["find"](pts, "b").x == 3.0
    assert go["find"](pts, "zz") is None
    b = go["grow"]({"corner": None, "tags": ["x"], "dims": [1, 2]})
    assert (b.corner, b.tags, b.dims) == (None, ["x", "grown"], [1, 2, 7])
    b = go["grow"]({"corner": {"x": 0.0, "y": -1.0, "label": "c"}, "tags": [], "dims": []})
    assert b.corner.label == "c" and b.tags == ["grown"]
    assert go["min_max"]([3.0, -1.0, 8.5]) == (-1.0, 8.5)


def test_errors_become_component_errors(go):
    assert go["div"](7, 2) == 3
    with pytest.raises(ComponentError) as info:
        go["div"](1, 0)
    assert info.value.value == "cannot divide 1 by zero"
    assert go["check"](True) is None
    with pytest.raises(ComponentError, match="not ok"):
        go["check"](False)


def test_panics_are_guest_traps_with_the_cell_line(go):
    go["count"]()
    assert go["count"]() >= 2
    with pytest.raises(GuestTrap) as info:
        go["boom"](3)
    # the cell's line: the magic is line 1, so MAIN's line N is the cell's N + 1
    boom_line = MAIN.splitlines().index(next(ln for ln in MAIN.splitlines() if "func Boom" in ln)) + 2
    assert (
        info.value.guest_message
        == f"runtime error: index out of range [3] with length 1 (at line {boom_line})"
    )
    assert info.value.function == "boom"
    assert go["count"]() == 1  # restarted: state is fresh
    with pytest.raises(GuestTrap, match="failed: bad news"):
        go["fail"]("bad news")
    assert go["shout"]("alive") == "ALIVE"


def test_several_large_arguments_survive_collections(go):
    go["aggressive"](1)
    try:
        a = "a" * 1_500_000 + "A"
        b = bytes(i % 128 for i in range(1 << 20))  # 1 MiB of ASCII: valid inside a Go string
        c = [chr(0x41 + i % 26) * (50_000 + i) for i in range(40)]
        d = list(range(-100_000, 100_000, 3))
        e = "é" * 300_000
        expected = a + b.decode() + "".join(c) + f"|{len(d)}|{sum(d)}|" + e
        for _ in range(3):
            go["churn"](500)
            assert go["echo"](a, b, c, d, e) == expected
    finally:
        go["aggressive"](100)


def test_bytes_argument_content_exact(go):
    go["aggressive"](1)
    try:
        b = bytes((i * 7) % 256 for i in range(300_000))
        for _ in range(5):
            go["churn"](300)
            assert go["reverse"](b) == b[::-1]
    finally:
        go["aggressive"](100)


def test_ten_thousand_calls_with_one_megabyte_strings(go):
    base = "x" * (1 << 20)
    for i in range(10_000):
        s = base[:-1] + chr(65 + i % 26)
        assert go["probe"](s) == len(s) * 256 + 65 + i % 26
    assert go["heap_mb"]() < 128  # 10 GB went through: garbage is collected, the heap stays small


def test_unsupported_types_are_named(cell):
    for sig, what in [
        ("func F(m map[string]int) int { return 0 }", "map"),
        ("func F(c chan int) {}", "channel"),
        ("func F(x any) {}", "interface"),
        ("func F(x interface{ M() }) {}", "interface"),
        ("func F() [3]int { return [3]int{} }", "fixed-size array"),
        ("func F(xs ...int) {}", "variadic"),
    ]:
        with pytest.raises(CompileError, match=what):
            cell("go bad_types", sig)


def test_unexported_only_and_bad_package(cell):
    with pytest.raises(CompileError, match="exports nothing"):
        cell("go nothing", "func helper() int { return 1 }\n")
    with pytest.raises(CompileError, match="package main"):
        cell("go wrongpkg", "package lib\n\nfunc F() int32 { return 1 }\n")


def test_compile_errors_point_at_cell_lines(cell):
    src = 'import "strings"\n\nfunc F(s string) int32 {\n\treturn undefinedThing(s)\n}\n'
    with pytest.raises(CompileError) as info:
        cell("go broken", src)
    diag = info.value.diagnostics
    assert "line 5: undefined: undefinedThing" in diag, diag  # cell line 5: the magic is line 1
    assert 'line 2: "strings" imported and not used' in diag, diag


def _direct_plan():
    from asterai_kernel.languages.go import direct
    from asterai_kernel.languages.go.toolchain import go_toolchain

    tc = go_toolchain()
    path = direct.plan_file(str(tc.go), tc.version, "1.24")  # the cells' go.mod says go 1.24
    return path, json.loads(path.read_text())


def test_standard_library_cells_build_without_the_go_command(cell, ns):
    """Such cells are compiled and linked directly (languages/go/direct.py): a new import grows the map of
    compiled packages, and a map naming packages that left Go's cache, or tools that left with their Go, is
    made again. Each Go installation has a map of its own (test_direct_plans_are_per_installation)."""
    nonce = f"// {uuid.uuid4().hex}\n"  # new cells: built, not found in the component cache
    json_cell = 'import "encoding/json"\n\nfunc Enc(xs []int32) string { b, _ := json.Marshal(xs); return string(b) }\n'
    cell("go jsoncell", nonce + json_cell)
    assert ns["enc"]([1, 2, 3]) == "[1,2,3]"
    path, plan = _direct_plan()
    assert "encoding/json" in plan["packages"] and "fmt" in plan["packages"]
    plan["packages"]["fmt"] = "/nonexistent/fmt.a"
    path.write_text(json.dumps(plan))
    fmt_cell = 'import "fmt"\n\nfunc Show(x int32) string { return fmt.Sprintf("<%d>", x) }\n'
    cell("go fmtcell", nonce + fmt_cell)
    assert ns["show"](7) == "<7>"
    path, plan = _direct_plan()
    assert Path(plan["packages"]["fmt"]).exists()
    plan["tools"] = "/nonexistent/go/pkg/tool"  # a Go that went with its virtualenv: a plan made again
    path.write_text(json.dumps(plan))
    cell("go fmtcell", nonce + fmt_cell.replace("<%d>", "[%d]"))
    assert ns["show"](7) == "[7]"
    assert (Path(_direct_plan()[1]["tools"]) / "compile").exists()


def test_cells_the_go_command_must_read_still_build(cell, ns):
    """`//go:debug` (and `//go:embed`, `//go:build`) are the go command's: such cells take `go build`."""
    src = "//go:debug panicnil=1\npackage main\n\nfunc Nil() bool {\n\tdefer func() { recover() }()\n\treturn true\n}\n"
    cell("go debugcell", src)
    assert ns["nil"]() is True


@pytest.mark.no_toolchain
def test_direct_plans_are_per_installation():
    """Two virtualenvs may hold the same Go version at two paths: a plan names its installation's tools, so
    one installation's plan is never another's (a CI whose cache outlived a removed venv failed so)."""
    from asterai_kernel.languages.go import direct

    a = direct.plan_file("/venv-a/go/bin/go", "go1.25.0", "1.24")
    assert a != direct.plan_file("/venv-b/go/bin/go", "go1.25.0", "1.24")
    assert a == direct.plan_file("/venv-a/go/bin/go", "go1.25.0", "1.24")
