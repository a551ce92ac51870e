"""What a call between two components costs (`--use`), against calling the provider directly from Python.

    python benchmarks/links.py [--quick]

The consumer makes N calls to the provider inside one export call, so the figure per cross call excludes
the Python -> guest entry; the direct row is a call of the same provider function from Python.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import time

from IPython.testing.globalipapp import start_ipython

PROVIDER = """
pub fn add(a: u32, b: u32) -> u32 { a.wrapping_add(b) }
pub fn shout(s: &str) -> String { s.to_uppercase() }
"""
CONSUMER = """
pub fn add_many(n: u32) -> u32 { let mut s = 0; for i in 0..n { s = bench_geo::add(s, i); } s }
pub fn shout_many(n: u32) -> u32 { (0..n).map(|_| bench_geo::shout("hello").len() as u32).sum() }
pub fn local_many(n: u32) -> u32 {
    let mut s = 0u32;
    for i in 0..n { s = std::hint::black_box(s.wrapping_add(i)); }
    s
}
"""


def per_call(fn, n: int, reps: int) -> float:
    fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) / n)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    reps = 3 if parser.parse_args().quick else 9
    ip = start_ipython()
    ip.run_line_magic("load_ext", "asterai_kernel")
    with contextlib.redirect_stdout(io.StringIO()):
        ip.run_cell_magic("asterai", "rust bench_geo", PROVIDER)
        ip.run_cell_magic("asterai", "rust bench_user --use bench_geo", CONSUMER)
    ns, n = ip.user_ns, 20_000
    user, geo = ns["bench_user"], ns["bench_geo"]
    rows = [
        ("scalar add: guest -> guest", per_call(lambda: user.add_many(n), n, reps)),
        ("scalar add: Python -> guest", per_call(lambda: [geo.add(1, 2) for _ in range(n)], n, reps)),
        ("string shout: guest -> guest", per_call(lambda: user.shout_many(n), n, reps)),
        ("string shout: Python -> guest", per_call(lambda: [geo.shout("hello") for _ in range(n)], n, reps)),
    ]
    loop = per_call(lambda: user.local_many(n), n, reps)
    print(f"{'call':34} {'us per call':>12}")
    for label, seconds in rows:
        print(f"{label:34} {seconds * 1e6:12.2f}")
    print(f"(the consumer's own loop costs {loop * 1e9:.1f} ns per iteration; target: cross call < 15 us, "
          "the Python trampoline of DESIGN.md costs 28 us)")  # fmt: skip


if __name__ == "__main__":
    main()
