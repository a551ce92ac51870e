"""Live links between components: a consumer's imports forwarded to its providers' current instances.

No wasmtime API puts one instance's export into another's imports, so each import of `asterai:cells/geo`
is a host function on the consumer's Linker. It hands the consumer's arguments, still as wasmtime's C
values, straight to the provider's export (`wasmtime_component_func_call`) and lets the provider write the
result where the consumer reads it: no conversion through Python objects. The provider is looked up by
name on every call, so re-running it relinks every consumer at once.

A trap in the provider poisons its Store; the host function then fails, which traps the consumer too. The
session records the provider's trap so the consumer's error can name both and restart both.
"""

from __future__ import annotations

import ctypes
import itertools
from dataclasses import dataclass

from wasmtime import WasmtimeError, _bindings
from wasmtime import _ffi as ffi
from wasmtime.component import Linker

from . import wit
from .hostfns import PROVIDERS, Caller, call_host

_FORWARDERS: dict[int, Forwarder] = {}
_ids = itertools.count(1)


@dataclass
class NestedTrap:
    """A provider's trap during a consumer's call, kept until the consumer's call reports it."""

    provider: object  # LiveComponent, or None when the link itself failed (provider gone or changed)
    function: str
    message: str
    detail: str
    timed_out: bool
    interrupted: bool


def new_error(message: str) -> int:
    return ctypes.cast(ffi.wasmtime_error_new(message.encode()), ctypes.c_void_p).value


class Forwarder:
    """The host function behind one import: calls `provider`'s export `fn` on its live instance."""

    def __init__(self, session, consumer: str, provider: str, fn: wit.Function):
        self.session, self.consumer, self.provider, self.fn = session, consumer, provider, fn
        self._checked = None  # the provider instance whose signature was last found to match

    def __call__(self, args, nargs: int, results, nresults: int) -> int:
        session = self.session
        live = session.components.get(self.provider)
        if live is None or live.store is None:
            return self._fail(
                f"component {self.provider!r} is not available (removed or down); re-run its cell"
            )
        export = live.exports.get(self.fn.name)
        if live is not self._checked:
            mismatch = self._mismatch(export)
            if mismatch:
                return self._fail(mismatch)
            self._checked = live
        return live.forward(export, args, nargs, results, nresults)

    def _fail(self, message: str) -> int:
        self.session.nested_traps.append(NestedTrap(None, self.fn.name, message, message, False, False))
        return new_error(message)

    def _mismatch(self, export) -> str:
        # The types' definitions count too: a record that gained a field keeps the signature's text.
        if export is not None and export.fn.shape() == self.fn.shape():
            return ""
        if export is None:
            was, now = self.fn.signature(), "no such function"
        elif export.fn.signature() != self.fn.signature():
            was, now = self.fn.signature(), f"{self.fn.name}: {export.fn.signature()}"
        else:
            was, now = self.fn.shape(), f"{self.fn.name}: {export.fn.shape()}"
        return (
            f"{self.consumer} was built against {self.provider}.{self.fn.name}: {was}, "
            f"but {self.provider} now has {now}; re-run the cell of {self.consumer}"
        )


# The callback and its registration use plain addresses (c_void_p) rather than wasmtime-py's pointer types:
# converting pointers costs more than the rest of a forwarded call.
_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_size_t, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p,
                             ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p, ctypes.c_size_t)  # fmt: skip
_add_func_raw = ctypes.CFUNCTYPE(ctypes.c_void_p)(
    ctypes.cast(_bindings._wasmtime_component_linker_instance_add_func, ctypes.c_void_p).value
)


@_CALLBACK
def _forward(env, context, ty, args, nargs, results, nresults):
    forwarder = _FORWARDERS.get(env or 0)
    try:
        return forwarder(args, nargs, results, nresults)
    except BaseException as e:  # nothing may unwind into wasmtime
        return new_error(f"asterai: forwarding to another component failed: {type(e).__name__}: {e}")


@ctypes.CFUNCTYPE(None, ctypes.c_void_p)
def _forget(env):
    if _FORWARDERS is not None:  # None at interpreter exit, when wasmtime frees linkers after module globals
        _FORWARDERS.pop(env or 0, None)


class HostForwarder(Forwarder):
    """An import served by a Python function registered with `@asterai_kernel.provide`."""

    def __call__(self, args, nargs: int, results, nresults: int) -> int:
        host = PROVIDERS.get(self.provider)
        function = host.functions.get(self.fn.name) if host is not None else None
        if function is None or function.fn.signature() != self.fn.signature():
            now = function.fn.signature() if function is not None else "nothing"
            return self._fail(f"{self.consumer} was built against {self.provider}.{self.fn.name}: "
                              f"{self.fn.signature()}, but the notebook now provides {now}; "
                              f"re-run the cell of {self.consumer}")  # fmt: skip
        live = self.session.components.get(self.consumer)
        by = Caller(self.consumer, live.grants if live is not None else None)
        error = call_host(function, args or 0, nargs, results or 0, by)
        return self._fail(error) if error else 0


def consumer_linker(runtime, session, consumer: str, uses: dict[str, wit.Interface]) -> Linker:
    """A Linker with WASI and one forwarding host function per import of each used provider."""
    linker = Linker(runtime.engine)
    linker.add_wasip2()
    with linker.root() as root:
        for provider, iface in uses.items():
            kind = Forwarder if provider in session.components else HostForwarder
            with root.add_instance(f"{wit.PACKAGE}/{iface.name}") as instance:
                for fn in iface.functions:
                    _add_func(instance, fn.name, kind(session, consumer, provider, fn))
    return linker


def _add_func(instance, name: str, forwarder: Forwarder) -> None:
    key = next(_ids)
    _FORWARDERS[key] = forwarder
    raw = name.encode()
    err = _add_func_raw(ctypes.c_void_p(ctypes.cast(instance.ptr(), ctypes.c_void_p).value),
                        ctypes.create_string_buffer(raw), ctypes.c_size_t(len(raw)), _forward,
                        ctypes.c_void_p(key), _forget)  # fmt: skip
    if err:
        raise WasmtimeError._from_ptr(ctypes.cast(err, ctypes.POINTER(ffi.wasmtime_error_t)))
