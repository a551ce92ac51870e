"""What the sandbox's limits cost on compute-bound guest code: epoch interruption and fuel.

Builds one Rust cell with the kernel's own pipeline, then runs its exports on three engines that differ only
in those settings (same component, same raw wasmtime-py call path), and prints each engine's median time
with the ratio against an engine that has neither.

    python benchmarks/limits.py [--quick]
"""

from __future__ import annotations

import argparse

import wasmtime
from _timing import median_time
from wasmtime.component import Component, Linker

from asterai_kernel.languages import get_language
from asterai_kernel.session import get_session

CELL = """
pub fn tight_loop(n: u64) -> u64 {
    let mut x: u64 = 1;
    for i in 0..n { x = x.wrapping_mul(6364136223846793005).wrapping_add(i); }
    x
}

pub fn parse_numbers(copies: u32) -> u64 {
    let text = "12, 7, 3401, 99, 100000, 42, 8, 15, 16, 23, 4, 1234567, ".repeat(copies as usize);
    text.split(',').filter_map(|t| t.trim().parse::<u64>().ok()).fold(0u64, |a, b| a.wrapping_add(b))
}

pub fn matmul(n: u32) -> f64 {
    let n = n as usize;
    let a: Vec<f64> = (0..n * n).map(|i| (i % 7) as f64 * 0.5).collect();
    let b: Vec<f64> = (0..n * n).map(|i| (i % 5) as f64 * 0.25).collect();
    let mut c = vec![0.0f64; n * n];
    for i in 0..n {
        for k in 0..n { let aik = a[i * n + k]; for j in 0..n { c[i * n + j] += aik * b[k * n + j]; } }
    }
    c.iter().sum()
}
"""
CALLS = {"tight_loop": ("tight-loop", 30_000_000), "parse_numbers": ("parse-numbers", 20_000),
         "matmul": ("matmul", 160)}  # fmt: skip
ENGINES = {"no epoch, no fuel (baseline)": (False, False), "epoch interruption (default)": (True, False),
           "epoch + fuel (--fuel)": (True, True)}  # fmt: skip


def component_path():
    session, rust = get_session(), get_language("rust")
    iface = rust.interface(CELL, "limits_bench")
    return session.build(rust, "limits_bench", CELL, iface, opt="2", force=False, progress=print).wasm_path


def instance(wasm: bytes, epoch: bool, fuel: bool):
    config = wasmtime.Config()
    config.epoch_interruption = epoch
    config.consume_fuel = fuel
    engine = wasmtime.Engine(config)
    linker = Linker(engine)
    linker.add_wasip2()
    store = wasmtime.Store(engine)
    store.set_wasi(wasmtime.WasiConfig())
    if epoch:
        store.set_epoch_deadline(1 << 40)
    if fuel:
        store.set_fuel(1 << 62)
    inst = linker.instantiate(store, Component(engine, wasm))
    iface = inst.get_export_index(store, "asterai:cells/limits-bench")
    funcs = {name: inst.get_func(store, inst.get_export_index(store, wit_name, iface))
             for name, (wit_name, _) in CALLS.items()}  # fmt: skip
    return store, funcs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    reps = 3 if parser.parse_args().quick else 7
    wasm = component_path().read_bytes()
    results: dict[str, dict[str, float]] = {}
    for label, (epoch, fuel) in ENGINES.items():
        store, funcs = instance(wasm, epoch, fuel)
        results[label] = {
            name: median_time(lambda f=funcs[name], a=arg, s=store: f(s, a), reps)
            for name, (_, arg) in CALLS.items()
        }
        store.close()
    base = results["no epoch, no fuel (baseline)"]
    print(f"{'engine':32} " + " ".join(f"{name:>22}" for name in CALLS))
    for label, row in results.items():
        cells = [f"{row[n] * 1e3:8.1f} ms ({row[n] / base[n]:4.2f}x)" for n in CALLS]
        print(f"{label:32} " + " ".join(f"{c:>22}" for c in cells))
    print(f"medians of {reps} calls; ratio = engine / baseline on the same component")


if __name__ == "__main__":
    main()
