"""Rust cells with `--crate regex` and `--crate itertools`: the first cell (the one-time crate build) and
later cells with the same set, against a plain Rust cold cell measured in the same run.

    python benchmarks/crates.py [--reps N] [--sources crates-io,debian]

For each source, the set's build is removed from the cache first, so the first cell really compiles the crates
(crates.io's downloaded sources stay in the cache's cargo home: the figure is compile time, not download time;
Debian's regex package is installed, untimed, before). Every cell carries a fresh nonce, so each one is a cold
component build; "later cell" is the median of N such cells. Target: a later cell within 2x a plain cold cell.
Nothing asserts.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import shutil
import statistics
import time

from IPython.testing.globalipapp import start_ipython

from asterai_kernel.languages.rust import crates
from asterai_kernel.languages.rust.toolchain import rust_toolchain

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
CELLS = {"regex": WITH_REGEX, "itertools": WITH_ITERTOOLS}
_nonce = time.time_ns() % 1_000_000_000


def fresh(template: str) -> str:
    global _nonce
    _nonce += 1
    return template.replace("NONCE", str(_nonce))


def timed_cell(ip, line: str, template: str) -> float:
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        ip.run_cell_magic("asterai", line, fresh(template))
    took = time.perf_counter() - t0
    name = line.split()[1]
    sizes[name] = ip.user_ns[name]._live.wasm_size
    t = ip.user_ns[name]._live.timings
    parts.setdefault(name, []).append((t.build, t.load))
    return took


sizes: dict[str, int] = {}
parts: dict[str, list[tuple[float, float]]] = {}


def split(name: str) -> str:
    """The medians of the last cells' build and machine-code seconds, and the component's size."""
    build = statistics.median(b for b, _ in parts[name])
    load = statistics.median(lo for _, lo in parts[name])
    return f"(build {build:.2f} s, machine code {load:.2f} s; {sizes[name] / 2**10:.0f} KiB)"


def measure(ip, tc, crate: str, template: str, source: str, plain: float, reps: int) -> None:
    """The first cell with `--crate CRATE` (its set's build removed first), then the median of later ones."""
    specs = crates.parse_specs([crate])
    if source == "debian":
        crates.ensure_debian_packages(specs, print)
    shutil.rmtree(crates.set_folder(specs, source, tc), ignore_errors=True)
    line = f"rust uses_{crate} --crate {crate} --crate-source {source}"
    first = timed_cell(ip, line, template)
    parts.pop(f"uses_{crate}", None)
    later = statistics.median(timed_cell(ip, line, template) for _ in range(reps))
    versions = crates.crate_set([crate], [source], tc, lambda m: None).versions
    version = next(v for v in versions if v.startswith(f"{crate} "))
    met = "yes" if later <= 2 * plain else "NO"
    print(f"{'first cell, ' + version + ' from ' + source:42} {first:7.2f} s  {first / plain:6.1f}x plain")
    ratio = f"{later / plain:6.2f}x plain  (target <= 2x: {met})"
    print(f"{'later cell, same set':42} {later:7.2f} s  {ratio}  {split(f'uses_{crate}')}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--sources", default="crates-io,debian")
    args = parser.parse_args()
    ip = start_ipython()
    ip.run_line_magic("load_ext", "asterai_kernel")
    tc = rust_toolchain()
    print(f"{tc.version}; {args.reps} cells per median")

    timed_cell(ip, "rust plain", PLAIN)  # warm-up: the session's first cell pays one-off costs
    parts.clear()
    plain = statistics.median(timed_cell(ip, "rust plain", PLAIN) for _ in range(args.reps))
    print(f"{'plain Rust cold cell':42} {plain:7.2f} s  {split('plain')}")
    for crate, template in CELLS.items():
        for source in args.sources.split(","):
            measure(ip, tc, crate, template, source, plain, args.reps)
    plain_again = statistics.median(timed_cell(ip, "rust plain", PLAIN) for _ in range(args.reps))
    print(f"{'plain Rust cold cell, again (load drift)':42} {plain_again:7.2f} s")


if __name__ == "__main__":
    main()
