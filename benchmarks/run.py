"""Asterai benchmarks: one run, baselines measured in the same run, a table of medians and ratios.

    python benchmarks/run.py            # full run (a few minutes at most)
    python benchmarks/run.py --quick    # fewer repetitions (well under a minute)

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


def main() -> None:
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=raw)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (well under a minute)")
    quick = parser.parse_args().quick
    cold_reps, cy_cold_reps, hit_reps = (3, 2, 10) if quick else (9, 5, 50)
    calls, batches = (2_000, 5) if quick else (20_000, 15)
    bulk_reps = 5 if quick else 25

    from importlib.metadata import version

    from IPython.testing.globalipapp import start_ipython

    from asterai_kernel.toolchains import rust_toolchain

    tc = rust_toolchain()  # builds the Rust std sysroot once if needed (a minute or two, then cached)
    ip = start_ipython()
    ip.run_line_magic("load_ext", "Cython")
    ip.run_line_magic("load_ext", "asterai_kernel")
    print(f"asterai benchmarks{' (--quick)' if quick else ''}: {tc.version}, wasmtime {version('wasmtime')}, "
          f"Python {sys.version.split()[0]}", flush=True)  # fmt: skip

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
    quiet_cell(ip, "asterai", "rust bench", fresh(RUST_CELL))  # warm-up: first cell of the session
    breakdown: list[tuple[float, float, float]] = []

    def asterai_cold() -> None:
        quiet_cell(ip, "asterai", "rust bench", fresh(RUST_CELL))
        t = ip.user_ns["bench"]._live.timings
        breakdown.append((t.build, t.load, t.instantiate))

    r["ast_cold"] = median_time(asterai_cold, cold_reps)
    same_rs = fresh(RUST_CELL)
    quiet_cell(ip, "asterai", "rust bench", same_rs)
    r["ast_hit"] = median_time(lambda: quiet_cell(ip, "asterai", "rust bench", same_rs), hit_reps)

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

    ms, us = (lambda s: f"{s * 1e3:.1f} ms"), (lambda s: f"{s * 1e6:.2f} us")
    rows = [
        ("cold cell, magic to callable", ms(r["ast_cold"]), "rustc alone", ms(r["rustc"]),
         r["ast_cold"] / r["rustc"], "< 0.4 s", r["ast_cold"] < 0.4),
        ("cold cell, magic to callable", ms(r["ast_cold"]), "%%cython cold", ms(r["cy_cold"]),
         r["ast_cold"] / r["cy_cold"], "< 0.4 s", r["ast_cold"] < 0.4),
        ("cache-hit re-run of the cell", ms(r["ast_hit"]), "%%cython hit", ms(r["cy_hit"]),
         r["ast_hit"] / r["cy_hit"], "< 20 ms", r["ast_hit"] < 0.020),
        ("scalar call add(1, 2)", us(r["proxy"]), "raw Func.__call__", us(r["raw"]),
         r["proxy"] / r["raw"], "ratio <= 1", r["proxy"] <= r["raw"]),
        ("sum of 100,000 floats", ms(r["bulk"]), "Python sum()", ms(r["py_sum"]),
         r["bulk"] / r["py_sum"], "(context)", None),
    ]  # fmt: skip
    header = ("measurement", "asterai", "baseline", "baseline time", "ratio", "target", "met")
    table = [header] + [
        (m, a, b, bt, f"{ratio:.2f}x", tgt, "-" if met is None else ("yes" if met else "NO"))
        for m, a, b, bt, ratio, tgt, met in rows
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    right = {1, 3, 4}
    print()
    for i, row in enumerate(table):
        pairs = enumerate(zip(row, widths, strict=True))
        cells = (c.rjust(w) if j in right else c.ljust(w) for j, (c, w) in pairs)
        print("  ".join(cells).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))
    b, lo, inst = (statistics.median(x) for x in zip(*breakdown, strict=True))
    print(f"\ncold cell breakdown (medians): build {ms(b)}, load {ms(lo)}, instantiate {ms(inst)}; "
          f"the rest is parsing, WIT, cache keys and binding")  # fmt: skip
    print(f"medians of {cold_reps} cold builds ({cy_cold_reps} for Cython), {hit_reps} cache hits, "
          f"{batches} batches of {calls:,} calls, {bulk_reps} bulk sums")  # fmt: skip
    print("ratio = asterai / baseline (below 1: asterai is faster)")


if __name__ == "__main__":
    main()
