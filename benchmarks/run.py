"""Asterai benchmarks: one run, baselines measured in the same run, a table of medians and ratios.

    python benchmarks/run.py            # full run (a few minutes at most)
    python benchmarks/run.py --quick    # fewer repetitions (about half a minute)

Nothing here asserts: targets are reported as met or not, never enforced. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import random
import statistics
import subprocess
import sys
import tempfile
import time
import types
from collections.abc import Callable
from pathlib import Path

# ---- the cell, three ways: the same five functions; build_id carries the nonce that forces a cold build ----

RUST_CELL = """\
pub fn add(a: i32, b: i32) -> i32 { a + b }
pub fn fib(n: u32) -> u64 {
    let (mut a, mut b) = (0u64, 1u64);
    for _ in 0..n { let t = a.wrapping_add(b); a = b; b = t; }
    a
}
pub fn word_count(text: &str) -> u32 { text.split_whitespace().count() as u32 }
pub fn sum(xs: &[f64]) -> f64 { xs.iter().sum() }
pub fn build_id() -> u64 { NONCE }
"""

# The same five functions in C and C++ (their cold builds are compared with Rust's in the same run).
C_CELL = """\
int32_t add(int32_t a, int32_t b) { return a + b; }
uint64_t fib(uint32_t n) {
    uint64_t a = 0, b = 1;
    for (uint32_t i = 0; i < n; i++) { uint64_t t = a + b; a = b; b = t; }
    return a;
}
uint32_t word_count(const char *text) {
    uint32_t n = 0;
    for (const char *p = text; *p; p++) n += *p != ' ' && (p == text || p[-1] == ' ');
    return n;
}
double sum(const double *xs, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += xs[i];
    return s;
}
uint64_t build_id(void) { return NONCE; }
"""

CPP_CELL = """\
int32_t add(int32_t a, int32_t b) { return a + b; }
uint64_t fib(uint32_t n) {
    uint64_t a = 0, b = 1;
    for (uint32_t i = 0; i < n; i++) { uint64_t t = a + b; a = b; b = t; }
    return a;
}
uint32_t word_count(const std::string &text) {
    uint32_t n = 0;
    for (size_t i = 0; i < text.size(); i++) n += text[i] != ' ' && (i == 0 || text[i - 1] == ' ');
    return n;
}
double sum(const std::vector<double> &xs) {
    double s = 0;
    for (double x : xs) s += x;
    return s;
}
uint64_t build_id() { return NONCE; }
"""

# The same five functions in Zig.
ZIG_CELL = """\
const std = @import("std");
pub fn add(a: i32, b: i32) i32 { return a +% b; }
pub fn fib(n: u32) u64 {
    var a: u64 = 0;
    var b: u64 = 1;
    for (0..n) |_| { const t = a +% b; a = b; b = t; }
    return a;
}
pub fn wordCount(text: []const u8) u32 {
    var words = std.mem.tokenizeAny(u8, text, " \\t\\n\\r");
    var n: u32 = 0;
    while (words.next()) |_| n += 1;
    return n;
}
pub fn sum(xs: []const f64) f64 {
    var total: f64 = 0;
    for (xs) |x| total += x;
    return total;
}
pub fn buildId() u64 { return NONCE; }
"""

# "rustc alone": the same bodies as a plain C-ABI cdylib (slices as pointer + length), no glue, no component.
PLAIN_RUST = """\
#[no_mangle] pub extern "C" fn add(a: i32, b: i32) -> i32 { a + b }
#[no_mangle] pub extern "C" fn fib(n: u32) -> u64 {
    let (mut a, mut b) = (0u64, 1u64);
    for _ in 0..n { let t = a.wrapping_add(b); a = b; b = t; }
    a
}
#[no_mangle] pub unsafe extern "C" fn word_count(p: *const u8, n: usize) -> u32 {
    core::str::from_utf8_unchecked(core::slice::from_raw_parts(p, n)).split_whitespace().count() as u32
}
#[no_mangle] pub unsafe extern "C" fn sum(p: *const f64, n: usize) -> f64 {
    core::slice::from_raw_parts(p, n).iter().sum()
}
#[no_mangle] pub extern "C" fn build_id() -> u64 { NONCE }
"""

CYTHON_CELL = """\
def add(int a, int b): return a + b
def fib(unsigned int n):
    cdef unsigned long long a = 0, b = 1, t
    for _ in range(n):
        t = a + b; a = b; b = t
    return a
def word_count(str text): return len(text.split())
def sum(list xs):
    cdef double s = 0.0
    for x in xs: s += x
    return s
def build_id(): return NONCE
"""

# The values section: one cell of identity functions, our proxies vs raw wasmtime-py on the same instance.
VALUES_CELL = """\
pub struct P { pub x: f64, pub y: f64, pub name: String }
pub fn add(a: i32, b: i32) -> i32 { a.wrapping_add(b) }
pub fn echo_str(s: String) -> String { s }
pub fn echo_bytes(b: Vec<u8>) -> Vec<u8> { b }
pub fn echo_f64(v: Vec<f64>) -> Vec<f64> { v }
pub fn echo_p(p: P) -> P { p }
"""
MIB, N_FLOATS = 1 << 20, 1_000_000

_nonce = time.time_ns() * 1000 + random.randrange(1000)  # unique across runs: the build caches persist


def fresh(template: str) -> str:
    """The template with a never-seen constant, so every cache (component, .cwasm, Cython .so) misses."""
    global _nonce
    _nonce += 1
    return template.replace("NONCE", str(_nonce % (1 << 63)))


def median_time(fn: Callable[[], object], reps: int) -> float:
    """Run fn reps times; the median wall time of one run, in seconds."""
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def per_call(fn: Callable[[], object], calls: int, batches: int) -> float:
    """Median over batches of the time per call of fn (seconds), each batch `calls` calls long."""

    def batch() -> None:
        for _ in range(calls):
            fn()

    return median_time(batch, batches) / calls


# ---- the measured operations ----


def rustc_alone(sysroot: Path, wasi_libc: Path, workdir: Path) -> Callable[[], None]:
    def compile_once() -> None:
        src = workdir / "cell.rs"
        src.write_text(fresh(PLAIN_RUST))
        subprocess.run(
            ["/usr/bin/rustc", "--edition", "2021", "--crate-type", "cdylib", "--target", "wasm32-wasip1",
             "--sysroot", str(sysroot), "-C", "panic=abort", "-C", "opt-level=2",
             "-C", "link-self-contained=no", "-L", f"native={wasi_libc}", "-C", "link-arg=--no-entry",
             "-o", str(workdir / "cell.wasm"), str(src)],
            check=True, cwd=workdir,
        )  # fmt: skip

    return compile_once


def quiet_cell(ip, magic: str, line: str, cell: str) -> None:
    """Run a cell magic with its printed summary swallowed (errors still raise)."""
    with contextlib.redirect_stdout(io.StringIO()):
        ip.run_cell_magic(magic, line, cell)


def cold_and_hit(ip, line: str, template: str, cold_reps: int, hit_reps: int):
    """Median cold build (a new nonce each time, after one untimed warm-up) and cache-hit re-run of an
    `%%asterai LINE` cell; and each cold build's (build, load, instantiate) seconds."""
    name = line.split()[1]
    quiet_cell(ip, "asterai", line, fresh(template))  # warm-up: first cell of the kind, compiler start
    breakdown: list[tuple[float, float, float]] = []

    def cold() -> None:
        quiet_cell(ip, "asterai", line, fresh(template))
        t = ip.user_ns[name]._live.timings
        breakdown.append((t.build, t.load, t.instantiate))

    cold_time = median_time(cold, cold_reps)
    same = fresh(template)
    quiet_cell(ip, "asterai", line, same)
    return cold_time, median_time(lambda: quiet_cell(ip, "asterai", line, same), hit_reps), breakdown


Row = tuple[str, str, str, str, float, str, bool | str | None]


def print_table(rows: list[Row]) -> None:
    """measurement, asterai, baseline, baseline time, ratio, target, met (None: no target; str: as given)."""
    header = ("measurement", "asterai", "baseline", "baseline time", "ratio", "target", "met")
    met = lambda m: "-" if m is None else m if isinstance(m, str) else ("yes" if m else "NO")  # noqa: E731
    times = lambda x: f"{x:.2f}x" if x >= 0.01 else f"{x:.2g}x"  # noqa: E731 - 0.0032x, not 0.00x
    table = [header] + [(m, a, b, bt, times(ratio), tgt, met(ok)) for m, a, b, bt, ratio, tgt, ok in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    right = {1, 3, 4}
    for i, row in enumerate(table):
        pairs = enumerate(zip(row, widths, strict=True))
        cells = (c.rjust(w) if j in right else c.ljust(w) for j, (c, w) in pairs)
        print("  ".join(cells).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))


def measure_values(ip, calls: int, batches: int, reps: int) -> tuple[list[Row], float]:
    """The values rows: each proxy against wasmtime-py's own Func.__call__ on the same instance and Store.

    Raw wasmtime-py converts big lists element by element (seconds for 1 MiB), so its bulk rows are one run
    each on the full input. Returns the rows and the seconds those single raw runs took.
    """
    import numpy as np

    quiet_cell(ip, "asterai", "rust values", VALUES_CELL)
    ns, live = ip.user_ns, ip.user_ns["values"]._live
    store = live.store
    raw = {name: live.exports[name].func for name in ("add", "echo-str", "echo-bytes", "echo-f64", "echo-p")}
    add, echo_str, echo_bytes, echo_f64, echo_p = (ns[n] for n in ("add", "echo_str", "echo_bytes",
                                                                   "echo_f64", "echo_p"))  # fmt: skip
    rng = random.Random(1)
    text = "".join(rng.choices("abcdefghij klmnopqrstuvwxyz\n", k=MIB))  # ASCII: 1 MiB of UTF-8 too
    data = rng.randbytes(MIB)
    arr = np.random.default_rng(1).random(N_FLOATS)
    floats = arr.tolist()
    p = ns["values"].P(1.0, 2.0, "pt")
    raw_p = types.SimpleNamespace(x=1.0, y=2.0, name="pt")  # wasmtime-py wants the WIT field names

    # correctness, once, before any timing (raw on small inputs: on the full ones it takes seconds)
    assert add(1, 2) == raw["add"](store, 1, 2) == 3 and add(2**31 - 1, 1) == -(2**31)
    assert echo_str(text) == text and raw["echo-str"](store, text) == text
    assert echo_bytes(data) == data and raw["echo-bytes"](store, data[:4096]) == data[:4096]
    assert echo_f64(arr).tolist() == floats and echo_f64(floats) == floats  # numpy in, numpy out
    assert raw["echo-f64"](store, floats[:4096]) == floats[:4096]
    got = raw["echo-p"](store, raw_p)
    assert echo_p(p) == p and (got.x, got.y, got.name) == (1.0, 2.0, "pt")

    r: dict[str, float] = {}
    r["add"] = per_call(lambda: add(1, 2), calls, batches)
    r["add_raw"] = per_call(lambda: raw["add"](store, 1, 2), calls, batches)
    r["str"] = median_time(lambda: echo_str(text), reps)
    r["str_raw"] = median_time(lambda: raw["echo-str"](store, text), reps)
    r["bytes"] = median_time(lambda: echo_bytes(data), reps)
    r["bytes_raw"] = median_time(lambda: raw["echo-bytes"](store, data), 1)
    r["np"] = median_time(lambda: echo_f64(arr), reps)
    r["np_raw"] = median_time(lambda: raw["echo-f64"](store, arr.tolist()), 1)  # it refuses ndarrays
    r["list"] = median_time(lambda: echo_f64(floats), reps)
    r["list_raw"] = median_time(lambda: raw["echo-f64"](store, floats), 1)
    r["rec"] = per_call(lambda: echo_p(p), calls // 20, batches)
    r["rec_raw"] = per_call(lambda: raw["echo-p"](store, raw_p), calls // 20, batches)

    def within(t: float, target: float, stretch: float) -> str:
        return ("yes" if t < target else "NO") + f", stretch {'yes' if t < stretch else 'no'}"

    ms, us = (lambda s: f"{s * 1e3:.1f} ms"), (lambda s: f"{s * 1e6:.2f} us")
    raw_call, one_run = "raw Func.__call__", "raw Func.__call__, 1 run"
    rows: list[Row] = [
        ("scalar call add(1, 2)", us(r["add"]), raw_call, us(r["add_raw"]),
         r["add"] / r["add_raw"], "< 3 us", r["add"] < 3e-6),
        ("1 MiB str round trip", ms(r["str"]), raw_call, ms(r["str_raw"]),
         r["str"] / r["str_raw"], "(context)", None),
        ("1 MiB bytes round trip", ms(r["bytes"]), one_run, ms(r["bytes_raw"]),
         r["bytes"] / r["bytes_raw"], "< 60 ms (stretch 10)", within(r["bytes"], 0.060, 0.010)),
        ("1e6 f64 round trip, numpy in", ms(r["np"]), one_run + " on .tolist()", ms(r["np_raw"]),
         r["np"] / r["np_raw"], "< 60 ms (stretch 10)", within(r["np"], 0.060, 0.010)),
        ("1e6 f64 round trip, list in", ms(r["list"]), one_run, ms(r["list_raw"]),
         r["list"] / r["list_raw"], "(context)", None),
        ("record P round trip", us(r["rec"]), raw_call, us(r["rec_raw"]),
         r["rec"] / r["rec_raw"], "(context)", None),
    ]  # fmt: skip
    return rows, r["bytes_raw"] + r["np_raw"] + r["list_raw"]


def main() -> None:
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=raw)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (about half a minute)")
    quick = parser.parse_args().quick
    cold_reps, cy_cold_reps, hit_reps = (3, 2, 10) if quick else (9, 5, 50)
    calls, batches = (2_000, 5) if quick else (20_000, 15)
    bulk_reps = 5 if quick else 25

    from importlib.metadata import version

    from IPython.testing.globalipapp import start_ipython

    from asterai_kernel.languages.rust.toolchain import rust_toolchain

    tc = rust_toolchain()  # builds the Rust std sysroot once if needed (a minute or two, then cached)
    ip = start_ipython()
    ip.run_line_magic("load_ext", "Cython")
    ip.run_line_magic("load_ext", "asterai_kernel")
    print(f"asterai benchmarks{' (--quick)' if quick else ''}: {tc.version}, wasmtime {version('wasmtime')}, "
          f"numpy {version('numpy')}, Python {sys.version.split()[0]}", flush=True)  # fmt: skip

    def step(label: str) -> None:
        print(f"  measuring {label} ...", file=sys.stderr, flush=True)

    r: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="asterai-bench-") as tmp:
        step("rustc alone")
        compile_once = rustc_alone(tc.sysroot, tc.wasi_libc, Path(tmp))
        compile_once()  # warm-up: page cache, first rustc start
        r["rustc"] = median_time(compile_once, cold_reps)

    step("%%cython cold and cache hit")
    quiet_cell(ip, "cython", "", fresh(CYTHON_CELL))  # warm-up: imports, compiler start
    r["cy_cold"] = median_time(lambda: quiet_cell(ip, "cython", "", fresh(CYTHON_CELL)), cy_cold_reps)
    same_cy = fresh(CYTHON_CELL)
    quiet_cell(ip, "cython", "", same_cy)
    r["cy_hit"] = median_time(lambda: quiet_cell(ip, "cython", "", same_cy), hit_reps)
    for name in ("add", "fib", "word_count", "sum", "build_id"):
        ip.user_ns.pop(name, None)  # leave the names to the asterai cell's proxies

    step("%%asterai rust cold and cache hit")
    r["ast_cold"], r["ast_hit"], breakdown = cold_and_hit(ip, "rust bench", RUST_CELL, cold_reps, hit_reps)

    step("calls")
    ns = ip.user_ns
    add, fsum, live = ns["add"], ns["sum"], ns["bench"]._live
    raw_add, store = live.exports["add"].func, live.store
    # sanity only (not a target): the bound functions compute what they should
    assert add(1, 2) == raw_add(store, 1, 2) == 3 and ns["fib"](10) == 55 and ns["word_count"]("a b c") == 3
    r["proxy"] = per_call(lambda: add(1, 2), calls, batches)
    r["raw"] = per_call(lambda: raw_add(store, 1, 2), calls, batches)
    floats = [random.random() for _ in range(100_000)]
    assert abs(fsum(floats) - sum(floats)) < 1e-6 * len(floats)
    r["bulk"] = median_time(lambda: fsum(floats), bulk_reps)
    r["py_sum"] = median_time(lambda: sum(floats), bulk_reps)

    step("values")
    value_rows, raw_bulk = measure_values(ip, calls, batches, bulk_reps)

    for lang, template in (("c", C_CELL), ("cpp", CPP_CELL), ("zig", ZIG_CELL)):
        step(f"%%asterai {lang} cold and cache hit")
        line = f"{lang} bench_{lang}"
        r[f"{lang}_cold"], r[f"{lang}_hit"], _ = cold_and_hit(ip, line, template, cold_reps, hit_reps)
        handle = ip.user_ns[f"bench_{lang}"]  # sanity only: the same functions, the same answers
        assert handle.fib(10) == 55 and handle.sum([1.0, 2.5]) == 3.5 and handle.word_count("a b c") == 3

    ms, us = (lambda s: f"{s * 1e3:.1f} ms"), (lambda s: f"{s * 1e6:.2f} us")
    rows = [
        ("cold cell, magic to callable", ms(r["ast_cold"]), "rustc alone", ms(r["rustc"]),
         r["ast_cold"] / r["rustc"], "< 0.4 s", r["ast_cold"] < 0.4),
        ("cold cell, magic to callable", ms(r["ast_cold"]), "%%cython cold", ms(r["cy_cold"]),
         r["ast_cold"] / r["cy_cold"], "< 0.4 s", r["ast_cold"] < 0.4),
        ("cache-hit re-run of the cell", ms(r["ast_hit"]), "%%cython hit", ms(r["cy_hit"]),
         r["ast_hit"] / r["cy_hit"], "< 20 ms", r["ast_hit"] < 0.020),
        ("cold C cell, magic to callable", ms(r["c_cold"]), "Rust cold cell", ms(r["ast_cold"]),
         r["c_cold"] / r["ast_cold"], "ratio <= 1.5", r["c_cold"] <= 1.5 * r["ast_cold"]),
        ("cold C++ cell, magic to callable", ms(r["cpp_cold"]), "Rust cold cell", ms(r["ast_cold"]),
         r["cpp_cold"] / r["ast_cold"], "ratio <= 4", r["cpp_cold"] <= 4 * r["ast_cold"]),
        ("cache-hit re-run, C cell", ms(r["c_hit"]), "Rust cache hit", ms(r["ast_hit"]),
         r["c_hit"] / r["ast_hit"], "(as fast)", None),
        ("cache-hit re-run, C++ cell", ms(r["cpp_hit"]), "Rust cache hit", ms(r["ast_hit"]),
         r["cpp_hit"] / r["ast_hit"], "(as fast)", None),
        ("cold Zig cell, magic to callable", ms(r["zig_cold"]), "Rust cold cell", ms(r["ast_cold"]),
         r["zig_cold"] / r["ast_cold"], "ratio <= 3", r["zig_cold"] <= 3 * r["ast_cold"]),
        ("cache-hit re-run, Zig cell", ms(r["zig_hit"]), "Rust cache hit", ms(r["ast_hit"]),
         r["zig_hit"] / r["ast_hit"], "(as fast)", None),
        ("scalar call add(1, 2)", us(r["proxy"]), "raw Func.__call__", us(r["raw"]),
         r["proxy"] / r["raw"], "ratio <= 1", r["proxy"] <= r["raw"]),
        ("sum of 100,000 floats", ms(r["bulk"]), "Python sum()", ms(r["py_sum"]),
         r["bulk"] / r["py_sum"], "(context)", None),
    ]  # fmt: skip
    print()
    print_table(rows)
    b, lo, inst = (statistics.median(x) for x in zip(*breakdown, strict=True))
    print(f"\ncold cell breakdown (medians): build {ms(b)}, load {ms(lo)}, instantiate {ms(inst)}; "
          f"the rest is parsing, WIT, cache keys and binding")  # fmt: skip
    print(f"medians of {cold_reps} cold builds ({cy_cold_reps} for Cython), {hit_reps} cache hits, "
          f"{batches} batches of {calls:,} calls, {bulk_reps} bulk sums")  # fmt: skip
    print("ratio = asterai / baseline (below 1: asterai is faster)")
    print("\nvalues: identity functions of one cell, the bound proxy vs raw wasmtime-py on the same instance")
    print()
    print_table(value_rows)
    print(f"\nmedians of {batches} batches of {calls:,} calls ({calls // 20:,} for the record), "
          f"{bulk_reps} round trips of bulk data; raw bulk rows: one run each on the full input "
          f"({raw_bulk:.1f} s together)")  # fmt: skip


if __name__ == "__main__":
    main()
