"""One live component: its own Store (a trap poisons a whole Store), WASI config, instance and exports.

A trap restarts only this component: a fresh Store and instance replace the poisoned ones, and the exports
are looked up again, so the proxies bound in the notebook keep working.
"""

from __future__ import annotations

import sys
import threading
import time
from ctypes import byref
from dataclasses import dataclass, field
from functools import partial

import wasmtime
from wasmtime import _bindings
from wasmtime.component import Component, Instance, Linker

from . import values, wit
from .values import VAL
from .errors import ComponentError, GuestTrap
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


_func_call = _bindings._wasmtime_component_func_call
_set_deadline = _bindings._wasmtime_context_set_epoch_deadline
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
        self._func_ref = byref(func._func)
        self.top_result = isinstance(fn.result, wit.Result)
        self.call = self._scalar_call() or self._generic_call

    def bind(self, args: tuple, kwargs: dict) -> list:
        """Checked, normalised arguments; errors name the parameter (and index or field)."""
        if kwargs:
            args = self._merge(args, kwargs)
        if len(args) != len(self.params):
            raise TypeError(
                f"{snake_name(self.fn.name)}() takes {len(self.params)} argument(s) "
                f"({', '.join(self.param_names)}), got {len(args)}"
            )
        out = []
        for name, codec, a in zip(self.param_names, self.params, args):
            try:
                out.append(codec.check(a))
            except values.BadValue as e:
                raise e.error(f"parameter {name!r}") from None
        return out

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
        n = len(self.params)
        slots = (VAL * max(n, 1))()
        writers = [partial(codec.write, slot=slots[i]) for i, codec in enumerate(self.params)]
        result = VAL()
        result_ref = byref(result) if self.result else None
        read = partial(self.result.read, result) if self.result else (lambda: None)
        func_ref, ctx, nresults = self._func_ref, self._ctx, 1 if self.result else 0

        def call(lowered):
            for write, v in zip(writers, lowered):
                write(v)
            err = _func_call(func_ref, ctx, slots, n, result_ref, nresults)
            if err:
                raise wasmtime.WasmtimeError._from_ptr(err)
            return read()

        call.keep_alive = (slots, result)
        return call

    def _generic_call(self, lowered: list):
        n = len(lowered)
        slots = (VAL * max(n, 1))()
        written = 0
        try:
            for codec, v in zip(self.params, lowered):
                codec.write(v, slots[written])
                written += 1
            result = VAL()
            err = _func_call(self._func_ref, self._ctx, slots, n, byref(result) if self.result else None,
                             1 if self.result else 0)  # fmt: skip
            if err:
                raise wasmtime.WasmtimeError._from_ptr(err)
            if self.result is None:
                return None
            try:
                if self.top_result:
                    return self._top_level_result(result)
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
        self.types = values.user_types(self.iface)  # NAME.Point, NAME.Color: stable across restarts
        self.codecs = values.codecs_for(self.iface.functions, self.types)

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
        for fn, codecs in zip(self.iface.functions, self.codecs):
            index = instance.get_export_index(store, fn.name, iface_index)
            self.exports[fn.name] = ExportFunc(store, instance.get_func(store, index), fn, codecs, self.name)
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
