"""Rust cells with `--crate regex` and `--crate itertools`: the first cell (the one-time crate build) and
later cells with the same set, each timed next to a plain Rust cold cell of the same moment.

    python benchmarks/crates.py [--reps N] [--sources crates-io,debian]

For each source, the set's build is removed from the cache first, so the first cell really compiles the crates
(crates.io's downloaded sources stay in the cache's cargo home: the figure is compile time, not download time;
Debian's regex package is installed, untimed, before). Every cell carries a fresh nonce, so each one is a cold
component build and a cold machine-code compile. A later cell is timed right after a plain cold cell, N times;
its ratio is the median of those pairs' ratios, so the machine's load, which drifts over a run on a shared
machine, weighs on both sides alike. Target: a later cell within 2x a plain cold cell. Also: a plain cell
with itertools' generic code written with std's HashSet (what the itertools row's build time is made of), and
what Winch's quick machine code costs a regex call until Cranelift's takes over. Nothing asserts.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import shutil
import statistics
import time

from _timing import cell, per_call
from IPython.testing.globalipapp import start_ipython

import asterai_kernel
from asterai_kernel.languages.rust import crates
from asterai_kernel.languages.rust.toolchain import rust_toolchain
from asterai_kernel.tiers import code_bytes

# build_id returns the nonce: a new constant changes the compiled code, so the machine-code cache misses too.
PLAIN = """pub fn count(text: &str) -> u32 { text.split_whitespace().count() as u32 }
pub fn build_id() -> u64 { NONCE }
"""
WITH_REGEX = """use regex::Regex;
pub fn count(text: &str) -> u32 { Regex::new(r"\\d+").unwrap().find_iter(text).count() as u32 }
pub fn build_id() -> u64 { NONCE }
"""
# itertools: generic code, compiled into the cell itself; regex: a large engine the component carries.
WITH_ITERTOOLS = """use itertools::Itertools;
pub fn count(text: &str) -> u32 { text.split_whitespace().unique().count() as u32 }
pub fn build_id() -> u64 { NONCE }
"""
# What `unique()` instantiates (a HashSet of &str), from std alone: no crate.
WITH_HASHSET = """use std::collections::HashSet;
pub fn count(text: &str) -> u32 { text.split_whitespace().collect::<HashSet<_>>().len() as u32 }
pub fn build_id() -> u64 { NONCE }
"""
CELLS = {"regex": WITH_REGEX, "itertools": WITH_ITERTOOLS}
TEXT = "ab 12 cd 345 " * 80_000  # 1 MiB for a regex call
_nonce = time.time_ns() % 1_000_000_000


def fresh(template: str) -> str:
    global _nonce
    _nonce += 1
    return template.replace("NONCE", str(_nonce))


def timed(ip, line: str, template: str) -> tuple[float, object]:
    return cell(ip, line, fresh(template))


def paired(ip, line: str, template: str, reps: int) -> tuple[float, float, str]:
    """`reps` cells of `line`, each right after a plain cold cell: the median time, the median ratio, and
    where the time went (the medians of build and machine-code seconds, the component's size and code)."""
    pairs, lives = [], []
    for _ in range(reps):
        plain, _ = timed(ip, "rust plain", PLAIN)
        plains.append(plain)
        took, live = timed(ip, line, template)
        pairs.append((took, took / plain))
        lives.append(live)
    return statistics.median(t for t, _ in pairs), statistics.median(r for _, r in pairs), split(lives)


plains: list[float] = []  # every plain cold cell of the pairs, to show the load's drift


def split(lives: list) -> str:
    build = statistics.median(live.timings.build for live in lives)
    load = statistics.median(live.timings.load for live in lives)
    live = lives[-1]
    code = "Winch" if live.timings.winch else "Cranelift"
    return (f"(build {build:.2f} s, machine code {load:.2f} s {code}; {live.wasm_size / 2**10:.0f} KiB, "
            f"{code_bytes(live.wasm_path) / 2**10:.0f} KiB of code)")  # fmt: skip


def row(label: str, seconds: float, ratio: float, detail: str = "") -> None:
    met = f"  (target <= 2x: {'yes' if ratio <= 2 else 'NO'})" if detail else ""
    print(f"{label:46} {seconds:6.2f} s  {ratio:5.2f}x plain{met}  {detail}".rstrip())


def measure(ip, tc, crate: str, template: str, source: str, reps: int) -> None:
    """The first cell with `--crate CRATE` (its set's build removed first), then later ones, paired."""
    specs = crates.parse_specs([crate])
    if source == "debian":
        crates.ensure_debian_packages(specs, print)
    shutil.rmtree(crates.set_folder(specs, source, tc), ignore_errors=True)
    name = f"uses_{crate}_{source.replace('-', '_')}"
    line = f"rust {name} --crate {crate} --crate-source {source}"
    plain, _ = timed(ip, "rust plain", PLAIN)
    first, _ = timed(ip, line, template)
    versions = crates.crate_set([crate], [source], tc, lambda m: None).versions
    version = next(v for v in versions if v.startswith(f"{crate} "))
    row(f"first cell, {version} from {source}", first, first / plain)
    later, ratio, where = paired(ip, line, template, reps)
    row("later cell, same set", later, ratio, where)
    if crate == "regex":
        call_cost(ip, name)


def call_cost(ip, name: str) -> None:
    """A regex call over 1 MiB on the machine code the cell started with, then on Cranelift's."""
    live = ip.user_ns[name]._live
    if not live.runtime.config.winch:
        return
    count = ip.user_ns[name].count
    quick = per_call(lambda: count(TEXT), 3)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        asterai_kernel.optimize(name)  # waits for Cranelift's code and restarts on it
    optimized = per_call(lambda: count(TEXT), 3)
    print(f"{'  a call over 1 MiB: Winch / Cranelift':46} {quick * 1e3:6.1f} ms / {optimized * 1e3:.1f} ms "
          f"({quick / optimized:.1f}x, until the component next starts)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--sources", default="crates-io,debian")
    args = parser.parse_args()
    ip = start_ipython()
    ip.run_line_magic("load_ext", "asterai_kernel")
    tc = rust_toolchain()
    print(f"{tc.version}; {args.reps} pairs per median")

    timed(ip, "rust plain", PLAIN)  # warm-up: the session's first cell pays one-off costs
    plain = [timed(ip, "rust plain", PLAIN) for _ in range(args.reps)]
    row("plain Rust cold cell", statistics.median(t for t, _ in plain), 1.0)
    print(f"{'':46} {split([live for _, live in plain])}")
    for crate, template in CELLS.items():
        for source in args.sources.split(","):
            measure(ip, tc, crate, template, source, args.reps)
    same, ratio, where = paired(ip, "rust hashset", WITH_HASHSET, args.reps)
    row("plain cell, itertools' generics from std", same, ratio, where)
    spread = f"{min(plains):.2f}-{max(plains):.2f} s"
    print(f"{'plain cold cells of the pairs (load drift)':46} {statistics.median(plains):6.2f} s  ({spread})")


if __name__ == "__main__":
    main()
