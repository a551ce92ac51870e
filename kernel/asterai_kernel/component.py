"""One live component: its own Store (a trap poisons a whole Store), WASI config, instance and exports.

A trap restarts only this component: a fresh Store and instance replace the poisoned ones, and the exports
are looked up again, so the proxies bound in the notebook keep working.
"""

from __future__ import annotations

import ctypes
import re
import sys
import threading
import time
from ctypes import byref
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
import wasmtime
from wasmtime import _bindings
from wasmtime.component import Component, Instance

from . import resources, values, wit
from .errors import AsteraiError, ComponentError, GuestTrap, OutOfFuel, OutOfMemory, Timeout, argument_error
from .imports import linker as foreign_linker
from .languages.base import Language
from .links import NestedTrap, consumer_linker, new_error, release_held
from .names import snake_name
from .sandbox import Grants, format_size
from .values import VAL

OUTPUT_CAP = 1 << 20  # bytes a single call may print before the rest is dropped
BULK_MIN_BYTES = 4096  # numeric lists at least this big cross through the function's bulk twin


class OutputCapture:
    """Collects the guest's stdout/stderr in the order written and forwards it after each call.

    WASI output callbacks run on wasmtime's worker threads while the call is in progress; writing to the
    kernel's streams from there is not safe, so chunks are queued here and written from the caller's thread.
    """

    def __init__(self) -> None:
        self.chunks: list[tuple[int, bytes]] = []
        self.size = 0
        self.lock = threading.Lock()

    def writer(self, stream: int):
        def write(data: bytes) -> None:
            with self.lock:
                if self.size < OUTPUT_CAP:
                    self.chunks.append((stream, data))
                self.size += len(data)

        return write

    def flush(self) -> str:
        """Write the queued output to sys.stdout/sys.stderr; return what went to stderr."""
        with self.lock:
            chunks, size = self.chunks, self.size
            self.chunks, self.size = [], 0
        err_text = []
        for stream, data in chunks:
            text = data.decode("utf-8", "replace")
            out = sys.stdout if stream == 1 else sys.stderr
            other = sys.stderr if stream == 1 else sys.stdout
            other.flush()  # keep the two streams interleaved as the guest wrote them
            out.write(text)
            if stream == 2:
                err_text.append(text)
        if size > OUTPUT_CAP:
            sys.stderr.write(f"\n[asterai: output truncated: the call printed {size:,} bytes, "
                             f"the first {OUTPUT_CAP:,} are shown]\n")  # fmt: skip
        sys.stdout.flush()
        sys.stderr.flush()
        return "".join(err_text)


# wasmtime_component_func_call without ctypes' per-argument conversions: callers pass prebuilt C objects
# (c_void_p / c_size_t), which halves the cost of entering wasm (1.5 us against 2.6 us here).
_raw_func_call = ctypes.CFUNCTYPE(ctypes.c_void_p)(
    ctypes.cast(_bindings._wasmtime_component_func_call, ctypes.c_void_p).value
)
_ERROR_PTR = ctypes.POINTER(_bindings.wasmtime_error_t)


def _raise_error(err: int):
    raise wasmtime.WasmtimeError._from_ptr(ctypes.cast(err, _ERROR_PTR))


_val_delete = _bindings._wasmtime_component_val_delete


class ExportFunc:
    """An export bound to one Store, with its types resolved and its value codecs built once.

    Arguments are checked, written straight into wasmtime's C values and passed to
    `wasmtime_component_func_call`, skipping wasmtime-py's per-call type lookups and conversions.
    Signatures of scalars only keep their argument and result slots from call to call.
    """

    def __init__(self, store: wasmtime.Store, func, fn: wit.Function, codecs, component: str):
        self.fn, self.func = fn, func
        self.component = component
        self.param_names = [snake_name(n) for n, _ in fn.params]
        self.params, self.result = codecs
        self._ctx = store._context()
        self._func_addr = ctypes.c_void_p(ctypes.addressof(func._func))
        self._ctx_addr = ctypes.c_void_p(ctypes.cast(self._ctx, ctypes.c_void_p).value)
        self.top_result = isinstance(fn.result, wit.Result)
        self.call = self._generic_call
        self.twin: ExportFunc | None = None  # the bulk twin (wit.bulk_twin), where the glue exports one
        self.bulk_params = [i for i, (_, t) in enumerate(fn.params) if isinstance(t, wit.Bulk)]

    def worth_it(self, lowered: list) -> bool:
        """Use this bulk twin when its lists are big enough for one block to beat element-by-element."""
        if not self.bulk_params:
            return True  # only the result is a list: its size is unknown, and one block never loses much
        return sum(lowered[i].nbytes for i in self.bulk_params) >= BULK_MIN_BYTES

    def bind(self, args: tuple, kwargs: dict) -> list:
        """Checked, normalised arguments; errors name the parameter (and index or field)."""
        if kwargs:
            args = self._merge(args, kwargs)
        if len(args) != len(self.params):
            raise argument_error(
                TypeError,
                f"{snake_name(self.fn.name)}() takes {len(self.params)} argument(s) "
                f"({', '.join(self.param_names)}), got {len(args)}",
            )
        out = []
        for name, codec, a in zip(self.param_names, self.params, args):
            try:
                out.append(codec.check(a))
            except values.BadValue as e:
                raise e.error(f"parameter {name!r}") from None
        return out

    def check(self, i: int, value):
        """One argument through its codec, errors naming the parameter."""
        try:
            return self.params[i].check(value)
        except values.BadValue as e:
            raise e.error(f"parameter {self.param_names[i]!r}") from None

    def _merge(self, args: tuple, kwargs: dict) -> tuple:
        merged = list(args)
        for name in self.param_names[len(args) :]:
            if name not in kwargs:
                raise argument_error(TypeError, f"{snake_name(self.fn.name)}() missing argument {name!r}")
            merged.append(kwargs.pop(name))
        if kwargs:
            unexpected = ", ".join(kwargs)
            raise argument_error(
                TypeError, f"{snake_name(self.fn.name)}() got unexpected argument(s) {unexpected}"
            )
        return tuple(merged)

    def _generic_call(self, lowered: list, numpy_out: bool = False):
        """`numpy_out`: a top-level numeric list result comes back as a numpy array of its element's dtype."""
        n = len(lowered)
        slots = (VAL * max(n, 1))()
        written = 0
        try:
            for codec, v in zip(self.params, lowered):
                codec.write(v, slots[written])
                written += 1
            result = VAL()
            err = _raw_func_call(self._func_addr, self._ctx_addr, ctypes.c_void_p(ctypes.addressof(slots)),
                                 ctypes.c_size_t(n), ctypes.c_void_p(ctypes.addressof(result)),
                                 ctypes.c_size_t(1 if self.result else 0))  # fmt: skip
            if err:
                _raise_error(err)
            if self.result is None:
                return None
            try:
                if self.top_result:
                    return self._top_level_result(result)
                if numpy_out and hasattr(self.result, "read_array"):
                    return self.result.read_array(result)
                return self.result.read(result)
            finally:
                _val_delete(byref(result))
        finally:
            for i in range(written):
                _val_delete(byref(slots[i]))

    def _top_level_result(self, slot):
        is_ok, value = self.result.read_parts(slot)
        if is_ok:
            return value
        raise ComponentError(value, component=self.component, function=snake_name(self.fn.name))


@dataclass
class Timings:
    build: float = 0.0  # seconds spent compiling (0 when the cache had it)
    load: float = 0.0  # deserialize or Cranelift-compile the component
    instantiate: float = 0.0
    cached: bool = False
    winch: bool = False  # loaded with Winch's quick code; Cranelift's comes at its next start (tiers.py)
    interpreted: bool = False  # on its language's shared interpreter (interpreted.py): build is the glue


@dataclass
class LiveComponent:
    name: str
    language: Language
    iface: wit.Interface
    component: Component
    runtime: object  # session.Runtime: the Engine (fuel on or off) and its Linker
    wasm_size: int
    timings: Timings = field(default_factory=Timings)
    session: object = None
    grants: Grants = field(default_factory=Grants)
    wasm_path: Path | None = None  # the cached component, to load it into another engine on regrant
    uses: dict = field(default_factory=dict)  # `--use`: provider name -> the wit.Interface built against
    # Where each function is exported when not in `asterai:cells/NAME` (components loaded from elsewhere):
    # WIT function name -> interface export name, or None for a function the world exports directly.
    export_paths: dict = field(default_factory=dict)
    foreign: list = field(default_factory=list)  # imports.Binding per non-WASI import (loaded components)

    def __post_init__(self) -> None:
        self.store: wasmtime.Store | None = None
        self.instance: Instance | None = None
        self.exports: dict[str, ExportFunc] = {}
        self.output = OutputCapture()
        self.printed: str | None = None  # what a shared interpreter's cell printed as it loaded
        self.restarts = 0
        self.types = values.user_types(self.iface)  # NAME.Point, NAME.Color: stable across restarts
        resources.bind(self)  # NAME.Counter(...): resource classes call this component
        # Python name -> WIT name of the functions on the handle (a resource's are its class's)
        self.py_names = {
            snake_name(f.name): f.name for f in self.iface.functions if not wit.resource_part(f.name)
        }
        self.codecs = values.codecs_for(self.iface.functions, self.types, self.language.int_ranges())

    # ---- lifecycle ----
    def instantiate(self) -> None:
        t0 = time.perf_counter()
        store = wasmtime.Store(self.runtime.engine)
        wasi = self._wasi_config()
        wasi.stdout_custom = self.output.writer(1)
        wasi.stderr_custom = self.output.writer(2)
        store.set_wasi(wasi)
        store.set_limits(memory_size=self.grants.max_memory)
        if self.grants.fuel is not None:
            store.set_fuel(self.grants.fuel)
        store.set_epoch_deadline(1)  # before instantiating: initializers run guest code too
        self.deadline_gen = self.session.epoch_gen
        try:
            instance = self._linker().instantiate(store, self.component)
        except wasmtime.WasmtimeError as e:
            store.close()
            self.output.flush()
            raise self._start_error(str(e)) from None
        finally:
            self.output.flush()
        self.store, self.instance = store, instance
        try:
            self._bind_exports(instance)
        except wasmtime.WasmtimeError as e:  # guest code run while binding (a runner's load) trapped
            self.close()
            self.output.flush()
            raise self._start_error(str(e)) from None
        except BaseException:
            self.close()
            raise
        self.timings.instantiate = time.perf_counter() - t0
        if self.session.components.get(self.name) is self:  # a restart: relink the proxies now
            self.session.publish(self)

    def _wasi_config(self) -> wasmtime.WasiConfig:
        return self.grants.wasi_config()  # nothing but what was granted

    def _bind_exports(self, instance: Instance) -> None:
        store = self.store
        own = f"{wit.PACKAGE}/{self.iface.name}"
        paths = {p: None if p is None else instance.get_export_index(store, p)
                 for p in set(self.export_paths.values()) | {own}}  # fmt: skip
        self.exports = {}
        for fn, codecs in zip(self.iface.functions, self.codecs):
            index = instance.get_export_index(store, fn.name, paths[self.export_paths.get(fn.name, own)])
            export = ExportFunc(store, instance.get_func(store, index), fn, codecs, self.name)
            export.fast = self.fast_call(export)
            self.exports[fn.name] = export
        self._link_bulk_twins(instance)

    @property
    def code_path(self) -> Path:
        """The component file whose machine code runs (another engine loads it on regrant)."""
        return self.wasm_path

    def standalone_path(self, progress=lambda msg: None) -> Path:
        """The component file that is this component on its own (what export builds)."""
        return self.wasm_path

    def shipped_code(self, progress=lambda msg: None) -> tuple[Path, str | None]:
        """What a Dask worker runs: a component file, and the glue a shared interpreter loads (or None)."""
        return self.standalone_path(progress), None

    def _linker(self):
        """The engine's shared Linker (WASI), or one of this component's own for its imports (kept across
        restarts; dropped when the engine changes)."""
        if not (self.uses or self.foreign):
            return self.runtime.linker
        if getattr(self, "linker", None) is None:
            self.linker = self._own_linker()
        return self.linker

    def _own_linker(self):
        if self.foreign:
            return foreign_linker(self.runtime, self.session, self.name, self.foreign)
        return consumer_linker(self.runtime, self.session, self.name, self.uses)

    def _start_error(self, detail: str) -> AsteraiError:
        """Why instantiating failed: a memory limit below what the component needs to start, or a trap."""
        pages = re.search(r"memory minimum size of (\d+) pages exceeds memory limits", detail)
        if pages is None:
            return GuestTrap(self.name, "(initialization)", _first_line(detail), detail, started=False)
        need = int(pages[1]) << 16
        enough = -(-need // (1 << 20))  # MiB, rounded up
        limit = format_size(self.grants.max_memory)
        return AsteraiError(
            f"{self.name} cannot start: it needs {format_size(need)} of memory from the start, more than "
            f"its --max-memory of {limit}; give it --max-memory {enough}MiB or more"
        )

    def _link_bulk_twins(self, instance: Instance) -> None:
        bulk = wit.bulk_interface(self.iface) if self.language.bulk_twins else None
        if bulk is None:
            return
        store = self.store
        bulk_index = instance.get_export_index(store, f"{wit.PACKAGE}/{bulk.name}")
        for twin, codecs in zip(bulk.functions, values.codecs_for(bulk.functions, self.types)):
            index = instance.get_export_index(store, twin.name, bulk_index)
            self.exports[twin.name].twin = ExportFunc(
                store, instance.get_func(store, index), twin, codecs, self.name
            )

    def reset_deadline(self) -> None:
        """The engine's epoch moved (an interrupt): this Store's deadline is one tick ahead again."""
        self.store.set_epoch_deadline(1)
        self.deadline_gen = self.session.epoch_gen

    def restart(self) -> None:
        self.close()
        self.restarts += 1
        if self.runtime.config.winch:
            self._take_optimized_code()
        self.instantiate()

    def _take_optimized_code(self) -> None:
        """A fresh start on Winch's code: Cranelift's replaces it when the background compile made it."""
        found = self.session.optimized_code(self)
        if found is not None:
            self.component, self.runtime = found
            self.linker = None  # a consumer's forwarding linker belongs to the old engine

    def close(self) -> None:
        self.session.unpublish(self)
        self.exports = {}
        self.instance = None
        if self.store is not None:
            release_held(self.store)  # its handles to other components' resources go with its Store
            self.store.close()
            self.store = None

    def regrant(self, grants: Grants) -> None:
        """Apply new grants: a fresh Store with them (on the fuel engine if needed); guest state restarts.
        Grants it cannot start with (too little memory) are refused and the old ones kept."""
        before = self.grants, self.component, self.runtime
        if self.session.runtime(grants) is not self.runtime:
            self.component, self.runtime = self.session.load_best(self.code_path, grants)
            self.linker = None  # a consumer's forwarding linker belongs to the old engine
        self.grants = grants
        try:
            self.restart()
        except AsteraiError:
            self.grants, self.component, self.runtime = before
            self.linker = None
            self.instantiate()
            raise
        self.session.optimize_later(self)

    def shipment(self, progress=lambda msg: None):
        """What travels to a Dask worker for `asterai_kernel.map`: the component's bytes and those of the
        components it uses, its WIT, grants and limits; never a Store (see shipment.py)."""
        from .shipment import pack

        return pack(self, progress)

    # ---- calls ----
    def call(self, fn_name: str, args: tuple, kwargs: dict):
        export = self.exports.get(fn_name)
        if export is None:
            raise AttributeError(f"component {self.name!r} has no export {fn_name!r}")
        numpy_in = any(isinstance(a, np.ndarray) for a in args) or any(
            isinstance(a, np.ndarray) for a in kwargs.values()
        )
        return self.call_checked(fn_name, export.bind(args, kwargs), numpy_out=numpy_in)

    def call_checked(self, fn_name: str, lowered: list, numpy_out: bool = False):
        """Call an export with arguments its `bind` already checked (here, or on the client of a Dask map).
        `numpy_out`: numeric list results come back as numpy arrays (the call had a numpy argument)."""
        export = self.exports[fn_name]
        if export.twin is not None and export.twin.worth_it(lowered):
            export = export.twin
        session, grants = self.session, self.grants
        if self.deadline_gen != session.epoch_gen:
            self.reset_deadline()
        if grants.fuel is not None:
            self.store.set_fuel(grants.fuel)  # a budget per call
        watch = session.deadlines.start(grants.timeout) if grants.timeout else None
        session.guest_depth += 1
        try:
            result = export.call(lowered, numpy_out)
        except wasmtime.WasmtimeError as e:
            session.guest_depth -= 1
            timed_out = watch is not None and session.deadlines.stop(watch)
            self.trapped(fn_name, e, timed_out=timed_out)
        except BaseException as e:
            session.guest_depth -= 1
            self.call_interrupted(e)
            raise
        finally:
            if watch is not None:
                session.deadlines.stop(watch)
            if self.output.chunks:
                self.output.flush()
        session.guest_depth -= 1  # then read the flag: see Session.interrupt
        if session.interrupt_pending:
            session.raise_pending_interrupt()
        return result

    def forward(self, export: ExportFunc, args, nargs: int, results, nresults: int) -> int:
        """Run an export for a consumer's import, on the consumer's C values (see links.py).

        Returns 0, or a wasmtime error (which traps the consumer) after noting this component's trap.
        """
        session, grants = self.session, self.grants
        if self.deadline_gen != session.epoch_gen:
            self.reset_deadline()
        if grants.fuel is not None:
            self.store.set_fuel(grants.fuel)
        watch = session.deadlines.start(grants.timeout) if grants.timeout else None
        session.guest_depth += 1
        try:
            err = _raw_func_call(export._func_addr, export._ctx_addr, ctypes.c_void_p(args),
                                 ctypes.c_size_t(nargs), ctypes.c_void_p(results),
                                 ctypes.c_size_t(nresults))  # fmt: skip
        finally:
            session.guest_depth -= 1
        timed_out = watch is not None and session.deadlines.stop(watch)
        stderr_text = self.output.flush() if self.output.chunks else ""
        if not err:
            return 0
        detail = str(wasmtime.WasmtimeError._from_ptr(ctypes.cast(err, _ERROR_PTR)))
        message = self.language.trap_message(stderr_text) or _first_line(detail)
        session.nested_traps.append(
            NestedTrap(
                self, snake_name(export.fn.name), message, detail, timed_out, session.interrupt_pending
            )
        )
        return new_error(f"{self.name}.{snake_name(export.fn.name)} trapped: {message}")

    def trapped(self, fn_name: str, error: wasmtime.WasmtimeError, timed_out: bool = False):
        """Turn a trap into the exception that says why, after restarting only this component."""
        interrupted = self.session.take_interrupt()
        stderr_text = self.output.flush()
        nested, self.session.nested_traps = self.session.nested_traps, []
        for trap in nested:  # providers that trapped under this call: their Stores are poisoned too
            if trap.provider is not None and trap.provider is not self:
                trap.provider._after_trap()
        self._after_trap()
        fn = snake_name(fn_name)
        if interrupted:
            raise KeyboardInterrupt(f"interrupted {self.name}.{fn}") from None
        if nested:
            inner = nested[0]
            kind = Timeout if inner.timed_out else GuestTrap
            where = f"{inner.provider.name}.{inner.function} trapped: " if inner.provider is not None else ""
            raise kind(self.name, fn, f"{where}{inner.message}", detail=inner.detail) from None
        detail = str(error)
        if timed_out:
            raise Timeout(
                self.name, fn, f"ran longer than its --timeout of {self.grants.timeout:g} s", detail
            )
        if "all fuel consumed" in detail:
            raise OutOfFuel(self.name, fn, f"used up its --fuel of {self.grants.fuel:,}", detail) from None
        if self.language.out_of_memory(stderr_text):
            limit = format_size(self.grants.max_memory)
            raise OutOfMemory(self.name, fn, f"ran out of memory (its limit is {limit}; raise it with "
                                             "--max-memory)", detail) from None  # fmt: skip
        message = self.language.trap_message(stderr_text) or _first_line(detail)
        raise GuestTrap(self.name, fn, message, detail=detail) from None

    def fast_call(self, export: ExportFunc):
        """The callable a proxy (and a resource object's method) uses: generated straight-line code for
        signatures of scalars, strings and lent objects, else `call`."""
        simple = lambda t: isinstance(t, (wit.Prim, wit.String))  # noqa: E731
        lent = lambda t: isinstance(t, wit.Handle) and not t.own  # noqa: E731 (a method's `self`, often)
        result = export.fn.result
        scalar = all(simple(t) or lent(t) for _, t in export.fn.params) and (result is None or simple(result))
        limited = self.grants.timeout is not None or self.grants.fuel is not None
        if not scalar or limited:
            fn_name = export.fn.name
            return lambda *args, **kwargs: self.call(fn_name, args, kwargs)
        return _scalar_fast_call(self, export)

    def call_interrupted(self, error: BaseException) -> None:
        """Python's own KeyboardInterrupt landed as a guest call returned (a stop pressed just as the call
        began is delivered by a signal when it ends): the call may have trapped, so start afresh."""
        if isinstance(error, KeyboardInterrupt):
            self.session.take_interrupt()
            self._after_trap()

    def _after_trap(self) -> None:
        """One trap poisons the whole Store: start this component afresh, leave every other one alone."""
        try:
            self.restart()
        except Exception as e:  # a component that traps while initializing stays down until re-run
            self.close()
            sys.stderr.write(f"[asterai: {self.name} could not restart: {e}]\n")


def _first_line(message: str) -> str:
    lines = [ln.strip() for ln in message.strip().splitlines() if ln.strip()]
    for ln in lines:
        if ln.startswith("wasm trap:"):
            return ln.removeprefix("wasm trap:").strip()
    if lines and lines[0].endswith("backtrace:") and "Caused by:" in lines[:-1]:
        cause = lines[lines.index("Caused by:") + 1]  # the first line says nothing: the cause does
        if cause.startswith("unknown handle index"):  # C, Go, Zig cells can use a handle they gave up
            cause += " (the cell used a resource object it no longer holds: dropped, or given away)"
        return cause
    return lines[0] if lines else message


# Integer checks inlined into the generated code; other scalars call their codec's check.
_INLINE_CHECK = {
    **{n: "type({a}) is not int or not ({lo} <= {a} <= {hi})" for n in wit.INT_RANGES},
    "f64": "type({a}) is not float",
    "bool": "type({a}) is not bool",
}
_READ = {"bool": "bool(ru.boolean)", "char": "chr(ru.character)", "string": "text(ru.string)"}
# wasm_byte_vec_new/delete taking a plain address: a string argument's bytes are copied straight into its slot
_raw_vec_new = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p)(
    ctypes.cast(_bindings._wasm_byte_vec_new, ctypes.c_void_p).value
)
_raw_vec_delete = ctypes.CFUNCTYPE(None, ctypes.c_void_p)(
    ctypes.cast(_bindings._wasm_byte_vec_delete, ctypes.c_void_p).value
)


def _scalar_fast_call(live: LiveComponent, export: ExportFunc):
    """Straight-line code for one signature of scalars, strings and lent resource objects (a method's
    `self`): check, store, enter wasm, read (~1 us over the C call, plus a copy of each string).

    Generated once per instance, like dataclasses generate __init__: a loop over codecs costs several
    Python calls per argument, which is most of a scalar call's time. A string argument is copied into its
    slot's byte vector and freed as soon as wasm returns (trap or not); a string result is read, then freed.
    """
    fn, n = export.fn, len(export.params)
    slots = (VAL * max(n, 1))()
    result = VAL()
    names = [f"a{i}" for i in range(n)]
    lines = ["def call(*args, **kwargs):",
             f"    if kwargs or len(args) != {n}:",
             "        return live.call(fn_name, args, kwargs)",  # the general path binds or explains
             f"    {''.join(a + ', ' for a in names)}= args" if n else ""]  # fmt: skip
    env = {"live": live, "fn_name": fn.name, "session": live.session, "output": live.output,
           "check": export.check, "ru": result.of,
           "enter": partial(_raw_func_call, export._func_addr, export._ctx_addr,
                            ctypes.c_void_p(ctypes.addressof(slots)), ctypes.c_size_t(n),
                            ctypes.c_void_p(ctypes.addressof(result) if fn.result else None),
                            ctypes.c_size_t(1 if fn.result else 0))}  # fmt: skip
    strings = []  # the slots whose byte vectors are freed after the call
    for i, ((_, t), a) in enumerate(zip(fn.params, names)):
        env[f"u{i}"] = slots[i].of
        if isinstance(t, wit.Handle):  # lent: the object's own handle (the call does not take it)
            slots[i].kind = values.kind_code("RESOURCE")
            lines += [f"    {a} = check({i}, {a})", f"    u{i}.resource = {a}._ptr"]
            continue
        if isinstance(t, wit.String):
            slots[i].kind = values.K_STRING
            env[f"v{i}"] = ctypes.c_void_p(ctypes.addressof(slots[i].of.string))
            lines.append(f"    {a} = {a}.encode() if type({a}) is str and {a}.isascii() else check({i}, {a})")
            strings.append(i)
            continue
        lo, hi = getattr(export.params[i], "lo", 0), getattr(export.params[i], "hi", 0)  # the guest's range
        cond = _INLINE_CHECK.get(t.name)
        if cond:
            lines.append(f"    if {cond.format(a=a, lo=lo, hi=hi)}: {a} = check({i}, {a})")
        else:
            lines.append(f"    {a} = check({i}, {a})")
        field_name, kind, _ = values.SCALAR[t.name]
        slots[i].kind = values.kind_code(kind)
        value = f"ord({a})" if t.name == "char" else a
        lines.append(f"    u{i}.{field_name} = {value}")
    lines += [f"    vec_new(v{i}, len(a{i}), a{i})" for i in strings]  # after every check: nothing to undo
    free = [f"vec_delete(v{i})" for i in strings]
    lines += ["    if live.deadline_gen != session.epoch_gen:",
              "        live.reset_deadline()",
              "    session.guest_depth += 1",
              "    try:",
              "        err = enter()",
              "    except BaseException as e:",
              *[f"        {f}" for f in free],
              "        session.guest_depth -= 1",
              "        live.call_interrupted(e)",
              "        raise",
              "    session.guest_depth -= 1",  # then read the flag: see Session.interrupt
              *[f"    {f}" for f in free],
              "    if err:",
              "        live.trapped(fn_name, wasmtime.WasmtimeError._from_ptr(ctypes.cast(err, _ERROR_PTR)))",
              "    if session.interrupt_pending:",
              "        session.raise_pending_interrupt()",
              "    if output.chunks:",
              "        output.flush()"]  # fmt: skip
    if isinstance(fn.result, wit.String):
        lines += ["    try:", f"        return {_READ['string']}",
                  "    finally:", "        val_delete(result_ref)"]  # fmt: skip
    elif fn.result is not None:
        lines.append(f"    return {_READ.get(fn.result.name, 'ru.' + values.SCALAR[fn.result.name][0])}")
    env.update(wasmtime=wasmtime, ctypes=ctypes, _ERROR_PTR=_ERROR_PTR, text=values._vec_text,
               vec_new=_raw_vec_new, vec_delete=_raw_vec_delete, val_delete=_val_delete,
               result_ref=byref(result))  # fmt: skip
    exec("\n".join(lines), env)  # noqa: S102 - generated from WIT types only, never from user text
    call = env["call"]
    call.keep_alive = (slots, result)
    return call
