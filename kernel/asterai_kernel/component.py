"""One live component: its own Store (a trap poisons a whole Store), WASI config, instance and exports.

A trap restarts only this component: a fresh Store and instance replace the poisoned ones, and the exports
are looked up again, so the proxies bound in the notebook keep working.
"""

from __future__ import annotations

import ctypes
import sys
import threading
import time
from ctypes import byref
from dataclasses import dataclass, field
from functools import partial

import wasmtime
from wasmtime import _bindings
from wasmtime import _ffi as ffi
from wasmtime.component import Component, Instance, Linker

from . import values, wit
from .errors import GuestTrap
from .languages.base import Language
from .names import snake_name

OUTPUT_CAP = 1 << 20  # bytes a single call may print before the rest is dropped


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


# WIT scalar -> field of wasmtime_component_val_t's union (the kind constants come from wasmtime-py)
_SCALAR_FIELDS = {
    "bool": ("boolean", "BOOL"), "s8": ("s8", "S8"), "u8": ("u8", "U8"), "s16": ("s16", "S16"),
    "u16": ("u16", "U16"), "s32": ("s32", "S32"), "u32": ("u32", "U32"), "s64": ("s64", "S64"),
    "u64": ("u64", "U64"), "f32": ("f32", "F32"), "f64": ("f64", "F64"), "char": ("character", "CHAR"),
}  # fmt: skip
_func_call = _bindings._wasmtime_component_func_call
_set_deadline = _bindings._wasmtime_context_set_epoch_deadline


class ExportFunc:
    """An export bound to one Store, with its types resolved once.

    `Func.__call__` looks the function's type up and converts every value through Python objects on each
    call. Here functions whose parameters and result are all scalars get argument and result slots built
    once, so a call only stores the numbers and enters wasm; other functions convert through wasmtime-py's
    value types, looked up once.
    """

    def __init__(self, store: wasmtime.Store, func, fn: wit.Function):
        self.fn = fn
        self.func = func
        self.param_names = [snake_name(n) for n, _ in fn.params]
        self.lowers = [values.lower(t, f"parameter {snake_name(n)!r}") for n, t in fn.params]
        self.lift = values.lift(fn.result)
        ftype = func.type(store)
        self._ftype = ftype  # keeps the value types below alive
        self.valtypes = [t for _, t in ftype.params]
        self.result_type = ftype.result
        self._store = store
        self._ctx = store._context()
        self._func_ref = byref(func._func)
        self.call = self._scalar_call() or self._generic_call

    def bind(self, args: tuple, kwargs: dict) -> list:
        if kwargs:
            args = self._merge(args, kwargs)
        if len(args) != len(self.lowers):
            raise TypeError(
                f"{snake_name(self.fn.name)}() takes {len(self.lowers)} argument(s) "
                f"({', '.join(self.param_names)}), got {len(args)}"
            )
        return [conv(a) for conv, a in zip(self.lowers, args)]

    def _merge(self, args: tuple, kwargs: dict) -> tuple:
        merged = list(args)
        for name in self.param_names[len(args) :]:
            if name not in kwargs:
                raise TypeError(f"{snake_name(self.fn.name)}() missing argument {name!r}")
            merged.append(kwargs.pop(name))
        if kwargs:
            raise TypeError(f"{snake_name(self.fn.name)}() got unexpected argument(s) {', '.join(kwargs)}")
        return tuple(merged)

    def _scalar_call(self):
        types = [t for _, t in self.fn.params] + ([self.fn.result] if self.fn.result else [])
        if not all(isinstance(t, wit.Prim) for t in types):
            return None
        n = len(self.fn.params)
        params = (ffi.wasmtime_component_val_t * max(n, 1))()
        setters = []
        for i, (_, t) in enumerate(self.fn.params):
            field_name, kind = _SCALAR_FIELDS[t.name]
            params[i].kind = getattr(ffi, f"WASMTIME_COMPONENT_{kind}")
            set_field = partial(setattr, params[i].of, field_name)
            setters.append((lambda v, s=set_field: s(ord(v))) if t.name == "char" else set_field)
        result = ffi.wasmtime_component_val_t()
        result_ref = byref(result) if self.fn.result else None
        get_result = _scalar_getter(result, self.fn.result)
        func_ref, ctx, nresults = self._func_ref, self._ctx, 1 if self.fn.result else 0

        def call(lowered):
            for set_value, v in zip(setters, lowered):
                set_value(v)
            err = _func_call(func_ref, ctx, params, n, result_ref, nresults)
            if err:
                raise wasmtime.WasmtimeError._from_ptr(err)
            return get_result()

        call.keep_alive = (params, result)
        return call

    def _generic_call(self, lowered: list):
        store = self._store
        n = len(lowered)
        params = (ffi.wasmtime_component_val_t * max(n, 1))()
        done = 0
        try:
            for ty, val in zip(self.valtypes, lowered):
                ty.convert_to_c(store, val, ctypes.pointer(params[done]))
                done += 1
            result = ffi.wasmtime_component_val_t()
            has_result = self.result_type is not None
            err = _func_call(self._func_ref, self._ctx, params, n, byref(result) if has_result else None,
                             1 if has_result else 0)  # fmt: skip
            if err:
                raise wasmtime.WasmtimeError._from_ptr(err)
            if not has_result:
                return None
            try:
                value = self.result_type.convert_from_c(result)
            finally:
                ffi.wasmtime_component_val_delete(byref(result))
            return value if self.lift is None else self.lift(value)
        finally:
            for i in range(done):
                ffi.wasmtime_component_val_delete(byref(params[i]))


def _scalar_getter(slot, ty: wit.Prim | None):
    if ty is None:
        return lambda: None
    union, field_name = slot.of, _SCALAR_FIELDS[ty.name][0]
    if ty.name == "bool":
        return lambda: bool(union.boolean)
    if ty.name == "char":
        return lambda: chr(union.character)
    return partial(getattr, union, field_name)


@dataclass
class Timings:
    build: float = 0.0  # seconds spent compiling (0 when the cache had it)
    load: float = 0.0  # deserialize or Cranelift-compile the component
    instantiate: float = 0.0
    cached: bool = False


@dataclass
class LiveComponent:
    name: str
    language: Language
    iface: wit.Interface
    component: Component
    linker: Linker
    engine: wasmtime.Engine
    wasm_size: int
    timings: Timings = field(default_factory=Timings)
    session: object = None

    def __post_init__(self) -> None:
        self.store: wasmtime.Store | None = None
        self.instance: Instance | None = None
        self.exports: dict[str, ExportFunc] = {}
        self.output = OutputCapture()
        self.restarts = 0

    # ---- lifecycle ----
    def instantiate(self) -> None:
        t0 = time.perf_counter()
        store = wasmtime.Store(self.engine)
        wasi = wasmtime.WasiConfig()  # deny by default: no preopens, no env, no network
        wasi.stdout_custom = self.output.writer(1)
        wasi.stderr_custom = self.output.writer(2)
        store.set_wasi(wasi)
        store.set_epoch_deadline(1)  # before instantiating: initializers run guest code too
        try:
            instance = self.linker.instantiate(store, self.component)
        except wasmtime.WasmtimeError as e:
            store.close()
            self.output.flush()
            raise GuestTrap(self.name, "(initialization)", _first_line(str(e))) from None
        finally:
            self.output.flush()
        self.store, self.instance = store, instance
        iface_index = instance.get_export_index(store, f"{wit.PACKAGE}/{self.iface.name}")
        self.exports = {}
        for fn in self.iface.functions:
            index = instance.get_export_index(store, fn.name, iface_index)
            self.exports[fn.name] = ExportFunc(store, instance.get_func(store, index), fn)
        self.timings.instantiate = time.perf_counter() - t0

    def restart(self) -> None:
        self.close()
        self.restarts += 1
        self.instantiate()

    def close(self) -> None:
        self.exports = {}
        self.instance = None
        if self.store is not None:
            self.store.close()
            self.store = None

    # ---- calls ----
    def call(self, fn_name: str, args: tuple, kwargs: dict):
        export = self.exports.get(fn_name)
        if export is None:
            raise AttributeError(f"component {self.name!r} has no export {fn_name!r}")
        lowered = export.bind(args, kwargs)
        session = self.session
        _set_deadline(export._ctx, 1)  # one epoch tick (an interrupt) stops it
        session.guest_depth += 1
        try:
            return export.call(lowered)
        except wasmtime.WasmtimeError as e:
            interrupted = session.take_interrupt()
            stderr_text = self.output.flush()
            self._after_trap()
            if interrupted:
                raise KeyboardInterrupt(f"interrupted {self.name}.{snake_name(fn_name)}") from None
            message = self.language.trap_message(stderr_text) or _first_line(str(e))
            raise GuestTrap(self.name, snake_name(fn_name), message, detail=str(e)) from None
        finally:
            session.guest_depth -= 1
            if self.output.chunks:
                self.output.flush()

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
    return lines[0] if lines else message
