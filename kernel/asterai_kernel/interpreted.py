"""Cells that run on a shared interpreter component: magic to callable without building a component.

A language whose cells are code for an interpreter (Python, JavaScript) builds one *runner* component per
toolchain (languages/base.Interpreter): an interpreter exporting `load` and `call` (RUNNER_WIT). A cell
then costs its glue (the cell's code plus converters between its values and plain.py's data), one
instantiation of the runner in a Store of its own, and the `load` of its glue. Each cell is still its own
instance: grants, limits, fuel, interrupts, traps and restarts are exactly those of any component, and one
cell's state never reaches another's.

Calls are typed at the host, as for every component: arguments are checked by the cell's codecs before
they cross, and results are checked against the cell's WIT when they come back (plain.loader), so a guest
can return nothing its signature does not allow.

A runner that imports the kernel's `host` interface (HOST_WIT) lets its cells use other components
(`--use`): the cell's glue calls `host.call`, which runner_links.py serves from the providers' live
instances.

What needs a component file of the cell's own (`%asterai export`, Dask with --pip mounts, a consumer's
`--use`) builds it on demand from the same plan (`standalone_path`); `asterai build` always builds them.
`ASTERAI_INTERPRETED=0` builds every cell's own component, as before.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import wasmtime

from . import plain, values, wit
from .component import _INLINE_CHECK, ExportFunc, LiveComponent, Timings, _scalar_fast_call
from .errors import AsteraiError, CompileError, ComponentError, GuestTrap
from .languages.base import BuildJob, Interpreter, Progress
from .links import NestedTrap, new_error
from .names import snake_name
from .values import VAL

ENV = "ASTERAI_INTERPRETED"
LOAD_FUEL = 10**10  # what loading a cell may burn under --fuel (about 50 million for a small cell)
PACKAGE = "asterai:runner@0.1.0"
INTERFACE = "asterai:runner/runner@0.1.0"
WORLD = "interpreter"
RUNNER_WIT = f"""package {PACKAGE};

/// A shared interpreter: each cell instantiates it and loads its glue (asterai_kernel/interpreted.py).
interface runner {{
  /// Load a cell's glue: ok is what its top-level code printed, err why it failed (at the cell's lines).
  load: func(glue: string) -> result<string, string>;
  /// Call the cell's export number `index` (its place in the cell's interface) with encoded arguments;
  /// the encoded result. A call that fails writes why to stderr and traps.
  call: func(index: u32, args: string) -> string;
}}

world {WORLD} {{
  export runner;
}}
"""
HOST_INTERFACE = "asterai:runner/host@0.1.0"
HOST_WORLD = "interpreter-using"
HOST_WIT = f"""package {PACKAGE};

/// What a cell on a runner calls to reach the components it uses (`--use`): the kernel serves it
/// (asterai_kernel/runner_links.py).
interface host {{
  /// Call export number `index` of `component` (its place in the interface the cell was built against)
  /// with encoded arguments; the encoded answer. A trap in the provider traps the caller.
  call: func(component: string, index: u32, args: string) -> string;
}}

world {HOST_WORLD} {{
  include {WORLD};
  import host;
}}
"""
LOAD = wit.Function("load", (("glue", wit.String()),), wit.Result(wit.String(), wit.String()))
CALL = wit.Function("call", (("index", wit.Prim("u32")), ("args", wit.String())), wit.String())


_LOAD_CODECS, _CALL_CODECS = values.codecs_for((LOAD, CALL), {})


def enabled() -> bool:
    return os.environ.get(ENV, "1") != "0"


def interpreter_for(lang, job: BuildJob) -> Interpreter | None:
    """The interpreter this cell runs on, or None when it gets a component of its own."""
    interp = lang.interpreter() if enabled() else None
    if interp is None or interp.why_not(job) is not None:
        return None
    return interp


class InterpretedExport(ExportFunc):
    """One of the cell's exports: checked like any export, then carried through the runner's `call`."""

    def __init__(self, store, runner_func, index: int, fn: wit.Function, codecs, component: str,
                 interp: Interpreter, restart: Callable[[], None]):  # fmt: skip
        self.fn, self.component, self.index, self.interp = fn, component, index, interp
        self.restart = restart  # after a result the host refuses: the guest broke the runner's contract
        # the runner's `call`, named after this export: a trap in it names the cell's function
        named = wit.Function(fn.name, CALL.params, CALL.result)
        self.runner_call = ExportFunc(store, runner_func, named, _CALL_CODECS, component)
        self.param_names = [snake_name(n) for n, _ in fn.params]
        self.params, self.result = codecs
        self.top_result = isinstance(fn.result, wit.Result)
        self.twin, self.bulk_params = None, []
        self._dumps = [plain.dumper(c) for c in self.params]
        self._loaders = {}

    def call(self, lowered: list, numpy_out: bool = False):
        """The result as the contract's value (a top-level err raises ComponentError); a wasmtime error on
        a trap."""
        dumped = [v if dump is None else dump(v) for dump, v in zip(self._dumps, lowered)]
        text = self.runner_call._generic_call([self.index, self.interp.encode_args(self.fn, dumped).encode()])
        value = None if self.result is None else self.load_result(text, numpy_out)
        if not self.top_result or isinstance(value, values.Ok):
            return value.value if self.top_result else value
        raise ComponentError(value.value, component=self.component, function=snake_name(self.fn.name))

    def load_result(self, text: str, numpy_out: bool = False):
        """What the runner returned, checked against the WIT result type and made the contract's value."""
        try:
            data = self.interp.decode_result(self.fn, text)
        except (ValueError, RecursionError) as e:
            self._refuse(f"returned something that is not a value ({type(e).__name__}: {e})")
        load = self._loaders.get(numpy_out)
        if load is None:
            load = self._loaders[numpy_out] = plain.loader(self.result, numpy_out)
        try:
            return load(data)
        except values.BadValue as e:
            what = f"result{''.join(e.path)}{e.message}"
            self._refuse(f"returned a value that does not fit `{self.fn.result.wit()}`: {what}")

    def _refuse(self, message: str):
        self.restart()
        raise GuestTrap(self.component, snake_name(self.fn.name), message) from None


class InterpretedComponent(LiveComponent):
    """A cell running on its language's runner: `code_path` is the runner, the glue says which cell."""

    def __init__(self, *args, interp: Interpreter, glue: str, runner_path: Path,
                 standalone: Callable[[Progress], Path], mounts=(), **kwargs):  # fmt: skip
        self.interp, self.glue, self.runner_path = interp, glue, runner_path
        self.mounts = list(mounts)  # (host folder, guest path): read-only, besides the grants
        self._standalone = standalone
        super().__init__(*args, **kwargs)

    @property
    def code_path(self) -> Path:
        return self.runner_path

    def standalone_path(self, progress: Progress = lambda msg: None) -> Path:
        """The cell's own component file, built (once, then from the cache) when something needs one."""
        if self.wasm_path is None:
            self.wasm_path = self._standalone(progress)
        return self.wasm_path

    def shipped_code(self, progress: Progress = lambda msg: None) -> tuple[Path, str | None]:
        """The runner and the glue, unless the cell reads folders of this machine (its --pip packages)."""
        if self.mounts:
            return self.standalone_path(progress), None
        return self.runner_path, self.glue

    def _linker(self):
        """A runner that imports the kernel's `host` gets it from a Linker of this cell's own: its calls to
        the components it uses (runner_links.py)."""
        if not self.interp.host_calls:
            return self.runtime.linker
        if getattr(self, "linker", None) is None:
            from .runner_links import runner_linker  # it builds on this module's Linker-less parts

            self.linker = runner_linker(self.runtime, self.session, self.name, self.uses, self.interp)
        return self.linker

    def _wasi_config(self):
        wasi = self.grants.wasi_config()
        for host, guest in self.mounts:
            wasi.preopen_dir(str(host), guest, fs_mutable=False)
        return wasi

    def _bind_exports(self, instance) -> None:
        store = self.store
        where = instance.get_export_index(store, INTERFACE)
        func = {fn.name: instance.get_func(store, instance.get_export_index(store, fn.name, where))
                for fn in (LOAD, CALL)}  # fmt: skip
        load = ExportFunc(store, func["load"], LOAD, _LOAD_CODECS, self.name)
        if self.grants.fuel is not None:  # loading is the kernel's work: --fuel is each call's budget
            store.set_fuel(max(self.grants.fuel, LOAD_FUEL))
        try:
            text = load.call(load.bind((self.glue,), {}))
        except ComponentError as e:
            # its first line: the diagnostics hold the whole report (a JavaScript stack, a traceback)
            summary = (self.language.trap_message(e.value) or "it raised an exception").splitlines()[0]
            raise CompileError(f"{self.name}: the cell's top-level code failed: {summary}",
                               diagnostics=e.value.rstrip(), component=self.name) from None  # fmt: skip
        except wasmtime.WasmtimeError:
            nested, self.session.nested_traps = self.session.nested_traps, []
            if not nested:  # a trap of its own (instantiate reports it)
                raise
            # its top-level code called a component it uses (--use), which trapped
            raise CompileError(f"{self.name}: the cell's top-level code failed: {nested[0].message}",
                               diagnostics=nested[0].detail, component=self.name) from None  # fmt: skip
        finally:
            self.output.flush()
        if self.printed is None:  # shown once, when the cell runs (restarts load it again, quietly)
            self.printed = text
        self.exports = {}
        for index, (fn, codecs) in enumerate(zip(self.iface.functions, self.codecs)):
            export = InterpretedExport(store, func["call"], index, fn, codecs, self.name, self.interp,
                                       self._after_trap)  # fmt: skip
            export.fast = self.fast_call(export)
            self.exports[fn.name] = export

    def fast_call(self, export: InterpretedExport):
        """Scalars and strings without limits: checks, the runner's generated fast path, the result."""
        types = [t for _, t in export.fn.params] + [export.fn.result] * (export.fn.result is not None)
        limited = self.grants.timeout is not None or self.grants.fuel is not None
        fn_name = export.fn.name
        if limited or not all(isinstance(t, (wit.Prim, wit.String)) for t in types):
            return lambda *args, **kwargs: self.call(fn_name, args, kwargs)
        return _fast_call(self, export)

    def forward(self, export: InterpretedExport, args, nargs: int, results, nresults: int) -> int:
        """A consumer's import served by this cell: its C values read, the call made, the result written."""
        slots = (VAL * max(nargs, 1)).from_address(args) if nargs else ()
        try:
            lowered = [c.check(c.read(slots[i])) for i, c in enumerate(export.params)]
            value = self._result_value(export, lowered)
            if export.result is not None:
                export.result.write(export.result.check(value), VAL.from_address(results))
            return 0
        except (AsteraiError, values.BadValue) as e:
            fn = snake_name(export.fn.name)
            message = e.guest_message if isinstance(e, GuestTrap) else str(e)
            self.session.nested_traps.append(
                NestedTrap(None, fn, f"{self.name}.{fn} trapped: {message}", str(e), False, False)
            )
            return new_error(f"{self.name}.{fn} trapped: {message}")

    def _result_value(self, export: InterpretedExport, lowered: list):
        """The call's result as the WIT value a consumer reads: a top-level result as Ok or Err."""
        try:
            value = self.call_checked(export.fn.name, lowered)
        except ComponentError as e:
            return values.Err(e.value)
        return values.Ok(value) if export.top_result else value


def _fast_call(live: InterpretedComponent, export: InterpretedExport):
    """Straight-line code for one signature of scalars and strings (as component._scalar_fast_call makes
    for a component's own exports): integers checked inline, then the runner's own fast path."""
    n = len(export.params)
    names = [f"a{i}" for i in range(n)]
    lines = ["def call(*args, **kwargs):",
             f"    if kwargs or len(args) != {n}:",
             "        return live.call(fn_name, args, kwargs)",  # the general path binds or explains
             f"    {''.join(a + ', ' for a in names)}= args" if n else ""]  # fmt: skip
    for i, ((_, t), a) in enumerate(zip(export.fn.params, names)):
        lo, hi = getattr(export.params[i], "lo", 0), getattr(export.params[i], "hi", 0)  # the guest's range
        cond = _INLINE_CHECK.get(t.name) if isinstance(t, wit.Prim) else None
        lines.append(f"    if {cond.format(a=a, lo=lo, hi=hi)}: {a} = check({i}, {a})" if cond
                     else f"    {a} = check({i}, {a})")  # fmt: skip
    result = "load(text)" if export.result is not None else "None"
    lines += [f"    text = enter({export.index}, encode(fn, [{', '.join(names)}]))", f"    return {result}"]
    env = {"live": live, "fn_name": export.fn.name, "fn": export.fn, "check": export.check,
           "enter": _scalar_fast_call(live, export.runner_call), "encode": live.interp.encode_args,
           "load": export.load_result}  # fmt: skip
    exec("\n".join(lines), env)  # noqa: S102 - generated from WIT types only, never from user text
    return env["call"]


def install(session, name: str, lang, iface: wit.Interface, job: BuildJob, interp: Interpreter,
            grants, standalone: Callable[[Progress], Path]) -> InterpretedComponent:  # fmt: skip
    """Make the cell live on its language's runner (built first if this toolchain has none yet)."""
    t0 = time.perf_counter()
    runner_path = interp.runner(job.progress)
    glue, mounts = interp.glue(job), interp.mounts(job)
    seconds = time.perf_counter() - t0
    return start(session, name, lang, iface, glue, runner_path, grants, standalone, seconds, mounts, job.uses)


def start(session, name: str, lang, iface: wit.Interface, glue: str, runner_path: Path, grants,
          standalone: Callable[[Progress], Path] | None = None, glue_seconds: float = 0.0, mounts=(),
          uses: dict[str, wit.Interface] | None = None) -> InterpretedComponent:  # fmt: skip
    """A cell live on a runner, from its glue (also on a Dask worker, which has no standalone build).
    `uses`: the components its glue calls (`--use`), provider name -> the interface it was built against."""
    t0 = time.perf_counter()
    component, runtime = session.load_best(runner_path, grants)
    live = InterpretedComponent(
        name, lang, iface, component, runtime, runner_path.stat().st_size,
        Timings(glue_seconds, time.perf_counter() - t0, winch=runtime.config.winch, interpreted=True),
        session=session, grants=grants, interp=lang.interpreter(), glue=glue, runner_path=runner_path,
        standalone=standalone or _no_standalone, mounts=mounts, uses=dict(uses or {}),
    )  # fmt: skip
    return session.register(live)


def _no_standalone(progress: Progress) -> Path:
    raise AsteraiError("this cell came from a notebook's session: export its component there")


def prepare(interp: Interpreter, progress: Progress) -> None:
    """Set-up (`asterai setup LANG`): the runner built, and its optimized machine code compiled, so the
    first cell of a session neither builds nor starts on quick code."""
    import subprocess

    from .engine import EngineConfig
    from .session import cwasm_path
    from .tiers import worker_command

    runner = interp.runner(progress)
    config = EngineConfig()
    cwasm = cwasm_path(runner, config)
    if not cwasm.exists():
        progress(f"compiling the shared interpreter ({runner.stat().st_size >> 20} MiB) to machine code...")
        subprocess.run(worker_command(runner, cwasm, config), check=True, capture_output=True)


__all__ = ["RUNNER_WIT", "InterpretedComponent", "install", "interpreter_for", "prepare", "start"]
