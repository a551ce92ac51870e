"""What a provider's resource costs a consumer cell of each language (`--use`): a method call on an object
living in the provider, and making and dropping one, against a plain function call of the same provider
from the same cell, all in this run.

    python benchmarks/resources.py [--calls N] [--no-python]    # --no-python: skip the ~30 s Python build

The provider is a Rust cell exporting `Counter` (a resource: `new`, `add(&mut self, k)`) and a plain
`add(a, b)`. Each consumer exports `methods(n)` (one Counter, n method calls), `plain(n)` (n calls of the
plain `add`) and `objects(n)` (n Counters made and dropped), so one export call makes n cross-component
calls and the per-call figure leaves out the entry from Python. `method / plain` is the price of the handle
(the kernel lends the provider's object for each call); `make+drop` is two cross calls. The last row calls
the provider's Counter from Python directly. Nothing asserts.
"""

from __future__ import annotations

import argparse
import time

from _timing import cell, median_time
from IPython.testing.globalipapp import start_ipython

PROVIDER = """
pub struct Counter { n: i64 }

impl Counter {
    pub fn new(start: i64) -> Self { Counter { n: start } }
    pub fn add(&mut self, k: i64) -> i64 { self.n += k; self.n }
}

pub fn add(a: i64, b: i64) -> i64 { a + b }
"""

CONSUMERS = {
    "rust": """
pub fn methods(n: u32) -> i64 {
    let c = rb::Counter::new(0);
    let mut s = 0;
    for _ in 0..n { s = c.add(1); }
    s
}
pub fn plain(n: u32) -> i64 { let mut s = 0; for _ in 0..n { s = rb::add(s, 1); } s }
pub fn objects(n: u32) -> i64 { for i in 0..n { let _c = rb::Counter::new(i as i64); } 0 }
""",
    "c": """
int64_t methods(uint32_t n) {
    rb_own_counter_t c = rb_constructor_counter(0);
    int64_t s = 0;
    for (uint32_t i = 0; i < n; i++) s = rb_method_counter_add(rb_borrow_counter(c), 1);
    rb_counter_drop_own(c);
    return s;
}
int64_t plain(uint32_t n) { int64_t s = 0; for (uint32_t i = 0; i < n; i++) s = rb_add(s, 1); return s; }
int64_t objects(uint32_t n) {
    for (uint32_t i = 0; i < n; i++) rb_counter_drop_own(rb_constructor_counter(i));
    return 0;
}
""",
    "cpp": """
int64_t methods(uint32_t n) {
    rb::Counter c(0);
    int64_t s = 0;
    for (uint32_t i = 0; i < n; i++) s = c.add(1);
    return s;
}
int64_t plain(uint32_t n) { int64_t s = 0; for (uint32_t i = 0; i < n; i++) s = rb::add(s, 1); return s; }
int64_t objects(uint32_t n) { for (uint32_t i = 0; i < n; i++) { rb::Counter c(i); } return 0; }
""",
    "go": """
func Methods(n uint32) int64 {
	c := rb.NewCounter(0)
	defer c.ResourceDrop()
	var s int64
	for i := uint32(0); i < n; i++ {
		s = c.Add(1)
	}
	return s
}

func Plain(n uint32) int64 {
	var s int64
	for i := uint32(0); i < n; i++ {
		s = rb.Add(s, 1)
	}
	return s
}

func Objects(n uint32) int64 {
	for i := uint32(0); i < n; i++ {
		rb.NewCounter(int64(i)).ResourceDrop()
	}
	return 0
}
""",
    "zig": """
const rb = @import("rb");

pub fn methods(n: u32) i64 {
    const c = rb.Counter.init(0);
    defer c.deinit();
    var s: i64 = 0;
    var i: u32 = 0;
    while (i < n) : (i += 1) s = c.add(1);
    return s;
}

pub fn plain(n: u32) i64 {
    var s: i64 = 0;
    var i: u32 = 0;
    while (i < n) : (i += 1) s = rb.add(s, 1);
    return s;
}

pub fn objects(n: u32) i64 {
    var i: u32 = 0;
    while (i < n) : (i += 1) rb.Counter.init(i).deinit();
    return 0;
}
""",
    "typescript": """
import { Counter, add } from "rb";

export function methods(n: u32): s64 {
  using c = new Counter(0n);
  let s = 0n;
  for (let i = 0; i < n; i++) s = c.add(1n);
  return s;
}

export function plain(n: u32): s64 {
  let s = 0n;
  for (let i = 0; i < n; i++) s = add(s, 1n);
  return s;
}

export function objects(n: u32): s64 {
  for (let i = 0; i < n; i++) new Counter(BigInt(i))[Symbol.dispose]();
  return 0n;
}
""",
    "python": """
import rb


def methods(n: int) -> int:
    c, s = rb.Counter(0), 0
    for _ in range(n):
        s = c.add(1)
    return s


def plain(n: int) -> int:
    s = 0
    for _ in range(n):
        s = rb.add(s, 1)
    return s


def objects(n: int) -> int:
    for i in range(n):
        rb.Counter(i)
    return 0
""",
}


def per_cross_call(fn, n: int, reps: int) -> float:
    """Microseconds per cross-component call when one export call makes `n` of them."""
    return median_time(lambda: fn(n), reps) / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=20_000, help="cross calls per export call")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--no-python", action="store_true", help="skip the Python consumer (a ~30 s build)")
    args = parser.parse_args()
    ip = start_ipython()
    ip.run_line_magic("load_ext", "asterai_kernel")
    cell(ip, "rust rb", PROVIDER)
    n, reps = args.calls, args.reps
    print(f"{n} cross calls per export call, median of {reps}; microseconds per cross call\n")
    print("| consumer | method call | plain call | method / plain | make+drop |\n|---|---|---|---|---|")
    for lang, source in CONSUMERS.items():
        if lang == "python" and args.no_python:
            continue
        t0 = time.perf_counter()
        _, live = cell(ip, f"{lang} rb_{lang} --use rb", source)
        built = time.perf_counter() - t0
        h = ip.user_ns[f"rb_{lang}"]
        assert h.methods(3) == 3 and h.plain(3) == 3  # the figures below are of working code
        method, plain = per_cross_call(h.methods, n, reps), per_cross_call(h.plain, n, reps)
        objects = per_cross_call(h.objects, n, reps)
        figures = f"{method:.2f} | {plain:.2f} | {method / plain:.2f} | {objects:.2f}"
        print(f"| {lang} (built in {built:.1f} s) | {figures} |")
    counter = ip.user_ns["rb"].Counter(0)
    direct = median_time(lambda: [counter.add(1) for _ in range(n)], reps) / n * 1e6
    print(f"| Python itself, `counter.add(1)` | {direct:.2f} | | | |")


if __name__ == "__main__":
    main()
