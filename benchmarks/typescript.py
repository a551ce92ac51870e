"""TypeScript cells per engine: cold build, cache-hit run, and call cost against a Rust cell of the same
signatures.

    python benchmarks/typescript.py [--quick]      # --quick: QuickJS only (StarlingMonkey takes minutes)

Cold: a cell never built before (a fresh nonce in its source): build (esbuild + componentize), compile to
machine code, instantiate. Cache hit: the same cell run again (no compiler, the .cwasm deserialized).
"""

from __future__ import annotations

import argparse
import os
import uuid

from _timing import cell, per_call
from IPython.testing.globalipapp import start_ipython

TS = """// {nonce}
export function add(a: number, b: number): number {{ return a + b; }}
export function shout(s: string): string {{ return s.toUpperCase(); }}
export function total(xs: number[]): number {{ let t = 0; for (const x of xs) t += x; return t; }}
export interface Point {{ x: number; y: number }}
export function mid(a: Point, b: Point): Point {{ return {{ x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 }}; }}
"""
RUST = """// {nonce}
pub fn add(a: f64, b: f64) -> f64 {{ a + b }}
pub fn shout(s: String) -> String {{ s.to_uppercase() }}
pub fn total(xs: Vec<f64>) -> f64 {{ xs.iter().sum() }}
pub struct Point {{ pub x: f64, pub y: f64 }}
pub fn mid(a: Point, b: Point) -> Point {{ Point {{ x: (a.x + b.x) / 2.0, y: (a.y + b.y) / 2.0 }} }}
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    quick = parser.parse_args().quick
    reps = 3 if quick else 7
    ip = start_ipython()
    ip.run_line_magic("load_ext", "asterai_kernel")
    engines = ["quickjs"] if quick else ["quickjs", "starlingmonkey"]
    nonce = uuid.uuid4().hex
    handles = {}
    print(f"{'cell':<22} {'cold total':>10} {'build':>8} {'compile':>8} {'size':>8} {'cache hit':>10}")
    for name, lang, source, env in [("rust", "rust", RUST, None)] + [(e, "ts", TS, e) for e in engines]:
        if env:
            os.environ["ASTERAI_JS_ENGINE"] = env
        src = source.format(nonce=nonce)
        wall, live = cell(ip, f"{lang} bench_{name}", src)
        t = live.timings
        hit, _ = cell(ip, f"{lang} bench_{name}", src)
        handles[name] = ip.user_ns[f"bench_{name}"]
        print(f"{name:<22} {wall:>9.2f}s {t.build:>7.2f}s {t.load:>7.2f}s {live.wasm_size / 2**20:>6.1f}MB "
              f"{hit * 1e3:>8.1f}ms")  # fmt: skip
        os.environ.pop("ASTERAI_JS_ENGINE", None)
    n = 2000
    xs = [float(i) for i in range(1000)]
    a, b = {"x": 1.0, "y": 2.0}, {"x": 3.0, "y": 4.0}
    calls = {  # each export looked up once, as a notebook's bound name is
        "add(f64, f64)": lambda h: (lambda f: lambda: f(1.0, 2.0))(h.add),
        "shout(string)": lambda h: (lambda f: lambda: f("hello world"))(h.shout),
        "total(list<f64> x1000)": lambda h: (lambda f: lambda: f(xs))(h.total),
        "mid(point, point)": lambda h: (lambda f: lambda: f(a, b))(h.mid),
    }
    print(f"\n{'call (us per call)':<26} " + " ".join(f"{k:>16}" for k in handles))
    for label, make in calls.items():
        costs = {k: per_call(make(h), n, reps) for k, h in handles.items()}
        base = costs["rust"]
        cells = " ".join(f"{c * 1e6:>9.1f} ({c / base:>4.1f}x)" for c in costs.values())
        print(f"{label:<26} {cells}")


if __name__ == "__main__":
    main()
