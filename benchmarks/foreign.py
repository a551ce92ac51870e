"""What the Component Model's other parts cost, on components made elsewhere (tests/fixtures/components):
an import served by a Python function, a resource's method and its life cycle, a flags value; each against a
plain scalar call from Python to the same kind of component, measured in the same run.

    python benchmarks/foreign.py [--quick]

The import row divides `numbers.test_imports()` (one export call whose guest calls its imports; the
providers count the calls) by the number of import calls: Python -> guest once, then guest -> Python N times.
"""

from __future__ import annotations

import argparse
import contextlib
import io
from pathlib import Path

from _timing import per_call
from IPython.testing.globalipapp import start_ipython

import asterai_kernel as ak

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "components"


def provide_numbers(calls: list) -> None:
    def identity(name: str):
        def f(a):
            calls.append(1)
            return a

        f.__name__ = name
        return f

    for kind in ("u8", "s8", "u16", "s16", "u32", "s32", "u64", "s64", "f32", "f64", "char"):
        ak.provide("test:numbers/test")(identity(f"roundtrip_{kind}"))
    state = {}

    @ak.provide("test:numbers/test")
    def set_scalar(a):
        calls.append(1)
        state["a"] = a

    @ak.provide("test:numbers/test")
    def get_scalar():
        calls.append(1)
        return state["a"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    n = 2_000 if parser.parse_args().quick else 20_000
    ip = start_ipython()
    ip.run_line_magic("load_ext", "asterai_kernel")
    calls: list = []
    provide_numbers(calls)
    with contextlib.redirect_stdout(io.StringIO()):
        for name in ("numbers", "resources", "records"):
            ip.run_line_magic("asterai", f"load {FIXTURES / name}.component.wasm")
    ns = ip.user_ns
    numbers, resources, records = ns["numbers"], ns["resources"], ns["records"]

    scalar = per_call(lambda: numbers.roundtrip_u32(7), n)
    numbers.test_imports()
    per_test = len(calls)
    imports = per_call(numbers.test_imports, max(n // 100, 20)) / per_test
    x = resources.X(5)
    method = per_call(x.get_a, n)
    static = per_call(lambda: resources.Z.num_dropped(), n)

    def life():
        with resources.Z(1):
            pass

    lifecycle = per_call(life, n // 4)
    both = records.F1.a | records.F1.b
    flags = per_call(lambda: records.roundtrip_flags1(both), n)
    names = per_call(lambda: records.roundtrip_flags1(["a", "b"]), n)
    u8 = per_call(lambda: records.tuple1((3,)), n)

    rows = [
        ("scalar export call (baseline)", scalar, scalar),
        (f"import served by Python (per call, {per_test} per test_imports)", imports, scalar),
        ("resource method x.get_a()", method, scalar),
        ("resource static Z.num_dropped()", static, scalar),
        ("resource made and dropped (with Z(1))", lifecycle, scalar),
        ("flags round trip (enum.Flag in)", flags, scalar),
        ("flags round trip (list of names in)", names, scalar),
        ("tuple<u8> round trip (for scale)", u8, scalar),
    ]
    print(f"{'':60} {'us/call':>9} {'x scalar':>9}")
    for label, t, base in rows:
        print(f"{label:60} {t * 1e6:9.2f} {t / base:9.2f}")


if __name__ == "__main__":
    main()
