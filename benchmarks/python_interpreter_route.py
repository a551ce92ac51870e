"""Issue 17, route 1 measured: one shared CPython component, a fresh instance per Python cell.

    python benchmarks/python_interpreter_route.py

Not the product yet: a measurement that decides the route. It builds, once, a componentize-py component
whose only export is a generic runner (`load(source)`, `call(name, args)`, arguments and results as
marshal bytes carried in a latin-1 string), then measures what each Python cell would cost on that route
(a fresh instance in its own Store, then `load` of the cell's source) and what a call through `call` costs
on the kernel's raw call path. Baselines in the same run: a Rust cold cell (magic to callable) and a typed
call of a Rust cell. Nothing asserts.
"""

from __future__ import annotations

import marshal
import os
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import wasmtime
from _timing import cell, per_call
from IPython.testing.globalipapp import start_ipython
from wasmtime.component import Component

from asterai_kernel import values, wit
from asterai_kernel.component import ExportFunc
from asterai_kernel.engine import EngineConfig, Runtime
from asterai_kernel.languages.python.toolchain import python_toolchain

RUNNER_WIT = """package asterai:runner;
interface runner {
  load: func(source: string) -> result<_, string>;
  call: func(name: string, args: string) -> result<string, string>;
}
world interp { export runner; }
"""
# The standard library is imported at build time: a call cannot read module files (see python/exports.py).
RUNNER_APP = """import importlib, io, marshal, sys, types
from wit_world import exports

def _preload():
    streams = sys.stdout, sys.stderr
    sys.stdout = sys.stderr = io.StringIO()
    skip = {"antigravity", "this", "idlelib", "tkinter", "turtle", "turtledemo", "ensurepip", "venv",
            "test", "ctypes", "ssl", "sqlite3", "curses", "dbm", "readline", "multiprocessing"}
    for name in sorted(sys.stdlib_module_names - skip):
        try:
            importlib.import_module(name)
        except BaseException:
            pass
    sys.stdout, sys.stderr = streams

_preload()
_cell = {}

class Runner(exports.Runner):
    def load(self, source):
        module = types.ModuleType("asterai_cell")
        exec(compile(source, "<cell>", "exec"), module.__dict__)
        _cell.clear()
        _cell.update(module.__dict__)

    def call(self, name, args):
        return marshal.dumps(_cell[name](*marshal.loads(args.encode("latin-1"))), 4).decode("latin-1")
"""
CELL = """# {nonce}
from dataclasses import dataclass

@dataclass
class Point:
    x: float
    y: float

def noop() -> None:
    pass

def add(a: int, b: int) -> int:
    return a + b

def shout(s: str) -> str:
    return s.upper()
"""
RUST = "// {nonce}\npub fn add(a: i64, b: i64) -> i64 {{ a + b }}\n"
LOAD = wit.Function("load", (("source", wit.String()),), wit.Result(None, wit.String()))
CALL = wit.Function(
    "call", (("name", wit.String()), ("args", wit.String())), wit.Result(wit.String(), wit.String())
)


def build_runner(work: Path) -> Path:
    (work / "wit").mkdir()
    (work / "wit" / "runner.wit").write_text(RUNNER_WIT)
    (work / "app").mkdir()
    (work / "app" / "app.py").write_text(RUNNER_APP)
    venv = work / "venv"  # empty: componentize-py would otherwise offer the kernel's site-packages
    (venv / "lib" / f"python{python_toolchain().guest_python}" / "site-packages").mkdir(parents=True)
    out = work / "runner.wasm"
    cmd = [str(python_toolchain().componentize_py), "-d", str(work / "wit"), "-w", "interp", "componentize",
           "-p", str(work / "app"), "app", "-o", str(out)]  # fmt: skip
    subprocess.run(cmd, check=True, capture_output=True, env={**os.environ, "VIRTUAL_ENV": str(venv)})
    return out


def new_cell(runtime: Runtime, component: Component, source: str) -> ExportFunc:
    """What a cell would cost: a Store of its own, an instance, the cell's source loaded; its `call`."""
    store = wasmtime.Store(runtime.engine)
    store.set_wasi(wasmtime.WasiConfig())
    store.set_epoch_deadline(1 << 40)
    instance = runtime.linker.instantiate(store, component)
    where = instance.get_export_index(store, "asterai:runner/runner")
    funcs = {}
    for fn, codecs in zip([LOAD, CALL], values.codecs_for([LOAD, CALL], {})):
        func = instance.get_func(store, instance.get_export_index(store, fn.name, where))
        funcs[fn.name] = ExportFunc(store, func, fn, codecs, "cell")
    funcs["load"].call(funcs["load"].bind((source,), {}))
    funcs["call"].keep = store
    return funcs["call"]


def main() -> None:
    ip = start_ipython()
    ip.run_line_magic("load_ext", "asterai_kernel")
    runtime = Runtime.create(EngineConfig())
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        wasm = build_runner(Path(tmp))
        t1 = time.perf_counter()
        machine_code = Component(runtime.engine, wasm.read_bytes()).serialize()
        t2 = time.perf_counter()
    print(f"once per toolchain: componentize-py {t1 - t0:.1f} s, Cranelift {t2 - t1:.1f} s "
          f"({len(machine_code) / 2**20:.1f} MiB of machine code)")  # fmt: skip
    t0 = time.perf_counter()
    component = Component.deserialize(runtime.engine, machine_code)
    print(f"once per session:   deserialize {1e3 * (time.perf_counter() - t0):.0f} ms")

    per_cell = []
    for _ in range(5):
        t0 = time.perf_counter()
        call = new_cell(runtime, component, CELL.format(nonce=uuid.uuid4().hex))
        per_cell.append(time.perf_counter() - t0)
    rust = sorted(cell(ip, "rust route_rs", RUST.format(nonce=uuid.uuid4().hex))[0] for _ in range(3))[1]
    cold = sorted(per_cell)[2]
    print(f"per cell:           instance + load {cold * 1e3:.1f} ms; Rust cold cell {rust * 1e3:.0f} ms "
          f"(ratio {cold / rust:.2f}, target <= 3)")  # fmt: skip

    def generic(name, *args):
        packed = marshal.dumps(args, 4).decode("latin-1")
        return marshal.loads(call.call(call.bind((name, packed), {})).encode("latin-1"))

    assert generic("add", 1, 2) == 3 and generic("shout", "abc") == "ABC"
    typed = ip.user_ns["route_rs"].add
    base = per_call(lambda: typed(1, 2), 5000)
    for label, fn in [("noop()", lambda: generic("noop")), ("add(1, 2)", lambda: generic("add", 1, 2)),
                      ("shout(100 chars)", lambda: generic("shout", "x" * 100))]:  # fmt: skip
        t = per_call(fn, 5000)
        print(f"call {label:17} {t * 1e6:6.2f} us; Rust typed add(1, 2) {base * 1e6:.2f} us "
              f"(ratio {t / base:.1f}; target < 10 us)")  # fmt: skip


if __name__ == "__main__":
    main()
