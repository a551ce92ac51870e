"""The shared QuickJS runner (issue 17, route 1) on its own, against today's per-cell component and a Rust
cell, all measured in this run:

    python benchmarks/typescript_runner.py [--reps N]

Per cell on the runner: signatures (tree-sitter) + glue (esbuild's native binary; a fresh nonce each time,
so never cached) + a new instance of the runner + `load`. The runner's machine code is compiled once, before.
Per cell today and for Rust: magic to callable, cold (fresh nonce). Per call: arguments encoded to JSON,
the call (the kernel's raw C call), the result decoded, against a call through the kernel into today's
per-cell component (which includes the kernel's checks of the arguments: the runner's rows leave them out).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import wasmtime
from _timing import cell, per_call
from IPython.testing.globalipapp import start_ipython
from typescript import RUST, TS
from wasmtime.component import Component, Linker

from asterai_kernel import values, wit
from asterai_kernel.component import ExportFunc
from asterai_kernel.languages.base import BuildJob
from asterai_kernel.languages.typescript.interpreter import QuickJsInterpreter
from asterai_kernel.languages.typescript.plugin import TypeScript

CALL = wit.Function("call", (("index", wit.Prim("u32")), ("args", wit.String())), wit.String())


class RunnerCell:
    def __init__(self, engine, linker, component, interp, iface, glue_text):
        self.store = wasmtime.Store(engine)
        self.store.set_wasi(wasmtime.WasiConfig())
        instance = linker.instantiate(self.store, component)
        index = instance.get_export_index(self.store, "asterai:runner/runner@0.1.0")
        load = instance.get_func(self.store, instance.get_export_index(self.store, "load", index))
        call = instance.get_func(self.store, instance.get_export_index(self.store, "call", index))
        (codecs,) = values.codecs_for([CALL], {})
        self.call_ = ExportFunc(self.store, call, CALL, codecs, "bench").call  # the kernel's raw C call
        self.loaded = load(self.store, glue_text)
        self.interp, self.fns = interp, {fn.name: (i, fn) for i, fn in enumerate(iface.functions)}

    def caller(self, name: str, *lowered):
        i, fn = self.fns[name]
        encode, decode, call = self.interp.encode_args, self.interp.decode_result, self.call_
        args = list(lowered)
        return lambda: decode(fn, call([i, encode(fn, args).encode()]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=5)
    reps = parser.parse_args().reps
    lang = TypeScript()
    interp = QuickJsInterpreter(lang)
    engine = wasmtime.Engine(wasmtime.Config())
    linker = Linker(engine)
    linker.add_wasip2()
    t0 = time.perf_counter()
    path = interp.runner(print)
    t1 = time.perf_counter()
    component = Component.from_file(engine, str(path))
    t2 = time.perf_counter()
    size = path.stat().st_size / 2**20
    print(f"runner: {size:.1f} MB, built or found in {t1 - t0:.2f} s, compiled in {t2 - t1:.2f} s "
          "(once per toolchain; the kernel caches its machine code)\n")  # fmt: skip

    steps = {"signatures": [], "glue": [], "instantiate": [], "load": [], "total": []}
    for _ in range(reps):
        source = TS.format(nonce=uuid.uuid4().hex).replace("{{", "{").replace("}}", "}")
        with tempfile.TemporaryDirectory(prefix="asterai-bench-") as tmp:
            a = time.perf_counter()
            iface = lang.interface(source, "bench")
            b = time.perf_counter()
            text = interp.glue(BuildJob("bench", source, iface, Path(tmp)))
            c = time.perf_counter()
            store = wasmtime.Store(engine)
            store.set_wasi(wasmtime.WasiConfig())
            instance = linker.instantiate(store, component)
            d = time.perf_counter()
            index = instance.get_export_index(store, "asterai:runner/runner@0.1.0")
            load = instance.get_func(store, instance.get_export_index(store, "load", index))
            assert load(store, text).tag == "ok"
            e = time.perf_counter()
        for key, value in zip(steps, (b - a, c - b, d - c, e - d, e - a)):
            steps[key].append(value)

    ip = start_ipython()
    ip.run_line_magic("load_ext", "asterai_kernel")
    nonce = uuid.uuid4().hex
    rust, _ = cell(ip, "rust bench_rust", RUST.format(nonce=nonce))
    today, _ = cell(ip, "ts bench_ts", TS.format(nonce=nonce))
    ms = {k: statistics.median(v) * 1e3 for k, v in steps.items()}
    print(f"{'cold cell, magic to callable':<44} {'ms':>8} {'vs Rust':>8}")
    print(f"{'Rust':<44} {rust * 1e3:>8.1f} {1:>7.1f}x")
    print(f"{'TypeScript, own component (today)':<44} {today * 1e3:>8.1f} {today / rust:>7.1f}x")
    parts = ", ".join(f"{k} {v:.1f}" for k, v in ms.items() if k != "total")
    label = f"TypeScript on the runner (median of {reps})"
    print(f"{label:<44} {ms['total']:>8.1f} "
          f"{ms['total'] / 1e3 / rust:>7.2f}x   ({parts})")  # fmt: skip

    source = TS.format(nonce=nonce).replace("{{", "{").replace("}}", "}")
    iface = lang.interface(source, "bench")
    with tempfile.TemporaryDirectory(prefix="asterai-bench-") as tmp:
        text = interp.glue(BuildJob("bench", source, iface, Path(tmp)))
    on_runner = RunnerCell(engine, linker, component, interp, iface, text)
    handle = ip.user_ns["bench_ts"]
    xs = [float(i) for i in range(1000)]
    calls = [
        ("add(f64, f64)", handle.add, on_runner.caller("add", 1.0, 2.0), (1.0, 2.0)),
        ("shout(string)", handle.shout, on_runner.caller("shout", b"hello world"), ("hello world",)),
        ("total(list<f64> x1000)", handle.total, on_runner.caller("total", xs), (xs,)),
        ("mid(point, point)", handle.mid, on_runner.caller("mid", [1.0, 2.0], [3.0, 4.0]),
         ({"x": 1.0, "y": 2.0}, {"x": 3.0, "y": 4.0})),
    ]  # fmt: skip
    print(f"\n{'call (us per call)':<26} {'own component':>14} {'runner':>16}")
    for label, today_fn, runner_fn, args in calls:
        a = per_call(lambda f=today_fn, args=args: f(*args), 2000)
        b = per_call(runner_fn, 2000)
        print(f"{label:<26} {a * 1e6:>14.1f} {b * 1e6:>9.1f} ({b / a:>4.1f}x)")


if __name__ == "__main__":
    main()
