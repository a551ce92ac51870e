"""Tiered machine code (issue 17, route 2): cold cells on Winch's code first, against Cranelift's at once.

    python benchmarks/tiers.py [--reps N] [--no-python]

For Go, TypeScript and Python: a cold cell (a new nonce: nothing cached), magic to callable, with tiering
(Winch now, Cranelift in the background) and without (`session.tiered = False`: Cranelift at once, as
before), against a Rust cold cell of the same run; and what Winch's code costs in guest speed (a loop in Go).
Targets from the issue: Go within 3x a Rust cold cell, TypeScript within 2x, Python within 3x. Nothing
asserts. Python and TypeScript cells run on their shared interpreters by default (interpreted.py; their
figures: benchmarks/python.py and typescript.py): here they build their own components, whose tiering this
measures (as `%asterai export`, Dask and cells with --use or --exports do).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time

from _timing import cell
from IPython.testing.globalipapp import start_ipython

from asterai_kernel.session import get_session

os.environ["ASTERAI_INTERPRETED"] = "0"  # every cell its own component: the tiers are what is measured

# Each cell returns a new constant: a comment would leave the component's bytes, and so its cached machine
# code, unchanged (Rust, C and Go, built directly, make the same bytes whatever the comments).
CELLS = {
    "rust": "pub fn add(a: i64, b: i64) -> i64 {{ a + b }}\npub fn build_id() -> u64 {{ {n} }}\n",
    "go": "package main\n\nfunc Add(a int64, b int64) int64 {{ return a + b }}\n"
    "func BuildId() uint64 {{ return {n} }}\n",
    "typescript": "export function add(a: number, b: number): number {{ return a + b; }}\n"
    "export function buildId(): number {{ return {n}; }}\n",
    "python": "def add(a: int, b: int) -> int:\n    return a + b\n\n\n"
    "def build_id() -> int:\n    return {n}\n",
}
TARGET = {"go": 3, "typescript": 2, "python": 3}
SPIN = """package main

func BuildId() uint64 {{ return {n} }}

func Spin(n uint64) uint64 {{
	x := uint64(7)
	for i := uint64(0); i < n; i++ {{
		x = x*6364136223846793005 + 1442695040888963407
	}}
	return x
}}
"""


def nonce() -> int:
    return random.randrange(1 << 40)


def cold(ip, lang: str, tiered: bool, reps: int) -> float:
    session = get_session()
    session.tiered = tiered
    times = []
    for _ in range(reps):
        wall, _ = cell(ip, f"{lang} tier_{lang}", CELLS[lang].format(n=nonce()))
        times.append(wall)
        session.tier_up.wait()  # the next cold cell must not share the machine with a background compile
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--no-python", action="store_true", help="skip Python (30 s and more per cold cell)")
    args = parser.parse_args()
    ip = start_ipython()
    ip.run_line_magic("load_ext", "asterai_kernel")
    for lang in CELLS:  # warm-up: first compiler starts pay one-off costs
        cell(ip, f"{lang} tier_{lang}", CELLS[lang].format(n=nonce()))
    get_session().tier_up.wait()
    rust = cold(ip, "rust", True, args.reps)
    print(f"Rust cold cell {rust * 1e3:.0f} ms (the baseline)\n")
    print(f"{'cold cell':12} {'tiered':>9} {'Cranelift':>10} {'tiered/Rust':>12} {'target':>7}  met")
    for lang in [lang for lang in TARGET if not (args.no_python and lang == "python")]:
        reps = 1 if lang == "python" else args.reps
        tiered, plain = cold(ip, lang, True, reps), cold(ip, lang, False, reps)
        ratio = tiered / rust
        print(f"{lang:12} {tiered:8.2f}s {plain:9.2f}s {ratio:11.1f}x {TARGET[lang]:6}x  "
              f"{'yes' if ratio <= TARGET[lang] else 'NO'}")  # fmt: skip

    session = get_session()
    session.tiered = True
    cell(ip, "go tier_spin", SPIN.format(n=nonce()))
    live, spin = session.components["tier_spin"], ip.user_ns["tier_spin"].spin
    assert live.runtime.config.winch
    t0 = time.perf_counter()
    expected = spin(20_000_000)
    winch = time.perf_counter() - t0
    session.tier_up.wait()
    live.restart()
    assert not live.runtime.config.winch
    t0 = time.perf_counter()
    assert spin(20_000_000) == expected
    cranelift = time.perf_counter() - t0
    print(f"\nguest loop (Go, 2e7 steps): Winch {winch * 1e3:.0f} ms, Cranelift {cranelift * 1e3:.0f} ms "
          f"({winch / cranelift:.1f}x)")  # fmt: skip


if __name__ == "__main__":
    main()
