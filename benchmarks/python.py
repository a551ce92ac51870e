"""Python cells: cold build, cache-hit run, and call cost against host Python and a Rust cell.

    python benchmarks/python.py [--calls N]

Cold: a cell never built before (a fresh nonce in its source): componentize-py, then Cranelift compiling the
18 MB component to machine code (in a worker process), then instantiating. Cache hit: the same cell again (no
compiler; the .cwasm is deserialized). Calls go through the bound proxies, as in a notebook; the host
baseline is the same function defined in the kernel's own Python, the Rust baseline a Rust cell.
Guest work (fib) shows what CPython compiled to WebAssembly costs against the host's CPython.
"""

from __future__ import annotations

import argparse
import uuid

from _timing import cell, per_call
from IPython.testing.globalipapp import start_ipython

PY = """# {nonce}
def noop() -> None:
    pass


def add(a: int, b: int) -> int:
    return a + b


def shout(s: str) -> str:
    return s.upper()


def total(xs: list[float]) -> float:
    return sum(xs)


def fib(n: int) -> int:
    return n if n < 2 else fib(n - 1) + fib(n - 2)
"""
RUST = """// {nonce}
pub fn noop() {{}}
pub fn add(a: i64, b: i64) -> i64 {{ a + b }}
pub fn shout(s: String) -> String {{ s.to_uppercase() }}
pub fn total(xs: Vec<f64>) -> f64 {{ xs.iter().sum() }}
"""


def host_noop() -> None:
    pass


def host_add(a: int, b: int) -> int:
    return a + b


def host_shout(s: str) -> str:
    return s.upper()


def host_total(xs: list[float]) -> float:
    return sum(xs)


def host_fib(n: int) -> int:
    return n if n < 2 else host_fib(n - 1) + host_fib(n - 2)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()
    ip = start_ipython()
    ip.run_line_magic("load_ext", "asterai_kernel")
    nonce = uuid.uuid4().hex
    py_src = PY.format(nonce=nonce)

    wall, live = cell(ip, "python pybench", py_src)
    t = live.timings
    print(f"cold build      {wall:7.2f} s  (componentize-py {t.build:.2f} s, machine code {t.load:.2f} s, "
          f"instantiate {t.instantiate * 1e3:.0f} ms; {live.wasm_size / 2**20:.1f} MiB)")  # fmt: skip
    wall, live = cell(ip, "python pybench", py_src)
    t = live.timings
    print(f"cache hit       {wall:7.2f} s  (load {t.load * 1e3:.0f} ms, "
          f"instantiate {t.instantiate * 1e3:.0f} ms)")  # fmt: skip
    cell(ip, "rust rsbench", RUST.format(nonce=nonce))
    py, rs = ip.user_ns["pybench"], ip.user_ns["rsbench"]

    xs = [float(i) for i in range(1000)]
    # The proxies a notebook binds (`add(1, 2)`), fetched once: attribute access on a handle costs extra.
    p = {n: getattr(py, n) for n in ("noop", "add", "shout", "total", "fib")}
    r = {n: getattr(rs, n) for n in ("noop", "add", "shout", "total")}
    rows = [
        ("noop()", lambda: p["noop"](), lambda: r["noop"](), host_noop),
        ("add(1, 2)", lambda: p["add"](1, 2), lambda: r["add"](1, 2), lambda: host_add(1, 2)),
        ("shout(100 chars)", lambda: p["shout"]("x" * 100), lambda: r["shout"]("x" * 100),
         lambda: host_shout("x" * 100)),
        ("total(1000 floats)", lambda: p["total"](xs), lambda: r["total"](xs), lambda: host_total(xs)),
    ]  # fmt: skip
    head = (
        f"{'call':20} {'python cell':>12} {'rust cell':>12} {'host python':>12} {'py/host':>9} {'py/rust':>8}"
    )
    print("\n" + head)
    for label, pf, rf, hf in rows:
        tp, tr, th = per_call(pf, args.calls), per_call(rf, args.calls), per_call(hf, args.calls)
        line = f"{label:20} {tp * 1e6:10.2f}us {tr * 1e6:10.2f}us {th * 1e6:10.3f}us {tp / th:8.0f}x"
        print(f"{line} {tp / tr:7.1f}x")
    tp, th = per_call(lambda: p["fib"](20), 5), per_call(lambda: host_fib(20), 5)
    print(f"{'fib(20) in guest':20} {tp * 1e3:10.2f}ms {'':>12} {th * 1e3:10.3f}ms {tp / th:8.1f}x")


if __name__ == "__main__":
    main()
