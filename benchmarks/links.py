"""What a call between two components costs (`--use`), against calling the provider directly from Python
and against the same pair fused ahead of time with `wasm-tools compose`.

    python benchmarks/links.py [--quick]

The consumer makes N calls to the provider inside one export call, so the figure per cross call excludes
the Python -> guest entry; the direct row is a call of the same provider function from Python. The fused row
runs the same two built components composed into one (the consumer's import `asterai:cells/bench-geo`
satisfied by the provider's export: a direct wasm-to-wasm call through the canonical ABI adapter), called with
plain wasmtime-py; `kernel / fused` is the kernel-forwarded figure over the fused one, from the same run.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import wasmtime
from IPython.testing.globalipapp import start_ipython
from wasmtime.component import Component, Linker

from asterai_kernel import toolchains, wit
from asterai_kernel.session import get_session

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


def fused_exports(consumer, provider, workdir: Path) -> dict:
    """Compose `consumer` with `provider` ahead of time; instantiate it with plain wasmtime-py.

    Returns the consumer's exports as callables taking the arguments only (wasmtime-py's `Func.__call__`).
    `wasm-tools compose` names each definition component after its file stem, which must be kebab-case
    (`bench_geo.wasm` is refused: "`bench_geo` is not in kebab case"), hence the copy under the WIT name.
    """
    dep = workdir / f"{provider.iface.name}.wasm"  # the WIT interface name: `bench-geo`
    shutil.copyfile(provider.wasm_path, dep)
    out = workdir / "fused.wasm"
    cmd = [toolchains.wasm_tools(), "compose", "-q", consumer.wasm_path, "-d", dep, "-o", out]
    subprocess.run([str(a) for a in cmd], check=True, capture_output=True, text=True)
    config = wasmtime.Config()
    config.epoch_interruption = True  # as the kernel's Engine, so both run the same machine code
    engine = wasmtime.Engine(config)
    linker = Linker(engine)
    linker.add_wasip2()  # the only imports left: compose satisfied asterai:cells/bench-geo
    store = wasmtime.Store(engine)
    store.set_wasi(wasmtime.WasiConfig())
    store.set_epoch_deadline(1)
    instance = linker.instantiate(store, Component.from_file(engine, str(out)))
    iface = instance.get_export_index(store, f"{wit.PACKAGE}/{consumer.iface.name}")
    funcs = {fn.name: instance.get_func(store, instance.get_export_index(store, fn.name, iface))
             for fn in consumer.iface.functions}  # fmt: skip
    return {name: (lambda *args, f=f: f(store, *args)) for name, f in funcs.items()}


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
    live = get_session().components
    with tempfile.TemporaryDirectory(prefix="asterai-fused-") as tmp:
        fused = fused_exports(live["bench_user"], live["bench_geo"], Path(tmp))
    add_many, shout_many = fused["add-many"], fused["shout-many"]
    assert add_many(n) == user.add_many(n) and shout_many(n) == user.shout_many(n) == 5 * n
    add = per_call(lambda: user.add_many(n), n, reps), per_call(lambda: add_many(n), n, reps)
    shout = per_call(lambda: user.shout_many(n), n, reps), per_call(lambda: shout_many(n), n, reps)
    direct_add = per_call(lambda: [geo.add(1, 2) for _ in range(n)], n, reps)
    direct_shout = per_call(lambda: [geo.shout("hello") for _ in range(n)], n, reps)
    rows = [
        ("scalar add: guest -> guest", add[0], add[0] / add[1]),
        ("scalar add: guest -> guest, fused", add[1], None),
        ("scalar add: Python -> guest", direct_add, None),
        ("string shout: guest -> guest", shout[0], shout[0] / shout[1]),
        ("string shout: guest -> guest, fused", shout[1], None),
        ("string shout: Python -> guest", direct_shout, None),
    ]
    loop = per_call(lambda: user.local_many(n), n, reps)
    print(f"{'call':38} {'us per call':>12} {'kernel / fused':>15}")
    for label, seconds, ratio in rows:
        print(f"{label:38} {seconds * 1e6:12.3f} {'' if ratio is None else f'{ratio:14.1f}x':>15}")
    print(f"(the consumer's own loop costs {loop * 1e9:.1f} ns per iteration; target: cross call < 15 us, "
          "the Python trampoline of DESIGN.md costs 28 us)")  # fmt: skip


if __name__ == "__main__":
    main()
