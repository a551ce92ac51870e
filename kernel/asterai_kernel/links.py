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
from wasmtime.component import Linker, ResourceType

from . import resources, values, wit
from .errors import AsteraiError
from .hostfns import PROVIDERS, Caller, call_host
from .names import snake_name

_FORWARDERS: dict[int, Forwarder] = {}
_val_delete = _bindings._wasmtime_component_val_delete
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
        live, export, error = self._target()
        return error or live.forward(export, args, nargs, results, nresults)

    def _target(self):
        """The provider's live instance and export, and 0; or an error (trapping the consumer) saying why."""
        live = self.session.components.get(self.provider)
        if live is None or live.store is None:
            gone = f"component {self.provider!r} is not available (removed or down); re-run its cell"
            return None, None, self._fail(gone)
        export = live.exports.get(self.fn.name)
        if live is not self._checked:
            mismatch = self._mismatch(export)
            if mismatch:
                return None, None, self._fail(mismatch)
            self._checked = live
        return live, export, 0

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


class HandleForwarder(Forwarder):
    """An import whose values hold resource handles. A handle is valid in one Store only, so the values
    cross through Python: read in the consumer's Store, where each handle is a host handle whose number
    names the provider's own handle (a ResourceObject of the provider's class, kept in resources' table of
    host objects), and written into the provider's; the result crosses back the same way."""

    def __init__(self, session, consumer: str, provider: str, fn: wit.Function, type_ids: dict[str, int]):
        super().__init__(session, consumer, provider, fn)
        self.type_ids = type_ids  # resource -> the consumer's host resource type number
        self._codecs = (None, None)  # (provider instance, the consumer side's codecs for it)
        # a parameter holding a handle, other than a lent one: it may give the consumer's handle away
        lent = lambda t: isinstance(t, wit.Handle) and not t.own  # noqa: E731
        self._gives = any(wit.holds_resource(t) and not lent(t) for _, t in fn.params)
        # only lent handles, each a whole argument (a method's `self`), and a result holding none
        self._lent = [i for i, (_, t) in enumerate(fn.params) if lent(t)]
        others = [t for _, t in fn.params if not lent(t)] + [fn.result] * (fn.result is not None)
        self._lends_only = not any(map(wit.holds_resource, others))

    def __call__(self, args, nargs: int, results, nresults: int) -> int:
        live, export, error = self._target()
        if error:
            return error
        if self._lends_only:
            return self._lend(live, export, args, nargs, results, nresults)
        params, result = self._consumer_codecs(live)
        store = self.session.components[self.consumer].store
        given = self._read(store, params, args)
        try:
            lowered = export.bind(given, {})  # refuses the objects of a provider that restarted since
        except (TypeError, ValueError) as e:
            return self._fail(f"{self.provider}.{snake_name(self.fn.name)}: {e}")
        out = _call_with(live, export, lowered)
        if isinstance(out, _Failed):
            return out.error
        if result is not None:
            self._hand_over(store, result, out, results)
        return 0

    def _lend(self, live, export, args: int, nargs: int, results: int, nresults: int) -> int:
        """The fast way, for calls whose only handles are lent arguments (method calls): the consumer's C
        values go to the provider as they are, as plain Forwarders pass them, each lent handle swapped for
        the provider's own (not a copy: the call does not take it); the provider writes the result where
        the consumer reads it: half the time of the way below (benchmarks/resources.py)."""
        slots = (values.VAL * nargs)()
        ctypes.memmove(slots, args, nargs * values.VAL_SIZE)
        context = self.session.components[self.consumer].store._context()
        for i in self._lent:
            held = resources._HOST_OBJECTS.get(resources.host_rep(context, slots[i].of.resource))
            try:
                slots[i].of.resource = export.check(i, held)._ptr  # the provider's checks and errors
            except (TypeError, ValueError) as e:
                return self._fail(f"{self.provider}.{snake_name(self.fn.name)}: {e}")
        return live.forward(export, ctypes.addressof(slots), nargs, results, nresults)

    def _read(self, store, params: list, args: int) -> list:
        """The consumer's arguments, each handle as the provider's object."""
        slots = [values.VAL.from_address(args + i * values.VAL_SIZE) for i in range(len(params))]
        with resources.serving(store):
            given = [c.read(slot) for c, slot in zip(params, slots)]
        held = _HELD.get(id(store))
        if self._gives and held:  # own handles given back: the consumer holds them no more
            held.intersection_update(resources._HOST_OBJECTS)
        return given

    def _hand_over(self, store, result, out, slot_addr: int) -> None:
        """Write the provider's result into the consumer's Store: each object it holds gets a handle there."""
        before = len(resources._HOST_OBJECTS)
        with resources.serving(store):
            result.write(result.check(out), values.VAL.from_address(slot_addr))
        made = len(resources._HOST_OBJECTS) - before  # the handles just given: the newest entries
        newest = itertools.islice(reversed(resources._HOST_OBJECTS), made)
        _HELD.setdefault(id(store), set()).update(newest)

    def _consumer_codecs(self, live):
        """Codecs reading and writing the consumer's values with the provider instance's classes."""
        if self._codecs[0] is not live:
            classes = dict(live.types)
            classes.update({r: (live.types[r], n) for r, n in self.type_ids.items() if r in live.types})
            ((params, result),) = values.codecs_for([self.fn], classes)
            self._codecs = (live, (params, result))
        return self._codecs[1]


@dataclass
class _Failed:
    error: int  # the wasmtime error trapping the consumer


def _call_with(live, export, lowered: list):
    """Run the provider's export on Python values (its codecs write them into its Store): its result, or
    _Failed when it trapped (live.forward noted the trap)."""
    slots = (values.VAL * max(len(lowered), 1))()
    written = 0
    try:
        for codec, v in zip(export.params, lowered):
            codec.write(v, slots[written])
            written += 1
        result = values.VAL()
        nresults = 1 if export.result is not None else 0
        error = live.forward(export, ctypes.addressof(slots), written, ctypes.addressof(result), nresults)
        if error:
            return _Failed(error)
        if export.result is None:
            return None
        try:
            return export.result.read(result)
        finally:
            _val_delete(ctypes.byref(result))
    finally:
        for i in range(written):
            _val_delete(ctypes.byref(slots[i]))


# id of a consumer's Store -> the numbers of the handles to providers' resources it holds
_HELD: dict[int, set[int]] = {}


def _dropped(store, rep: int) -> None:
    """The consumer dropped its handle: the provider's goes too, at once."""
    for reps in _HELD.values():
        reps.discard(rep)
    _release(resources.take_host_object(rep), during_call=True)


def release_held(store) -> None:
    """A consumer's Store is closing (a restart, a re-run): drop the provider objects its handles named."""
    for rep in _HELD.pop(id(store), ()):
        _release(resources.take_host_object(rep), during_call=False)


def _release(held, during_call: bool) -> None:
    """Drop a provider's object now: the provider is not running while its consumer drops a handle. A
    destructor that traps is the provider's trap: during the consumer's call, noted so the consumer's error
    names it and both restart; else the provider restarts at once."""
    if not isinstance(held, resources.ResourceObject):
        return
    try:
        held.close(busy=False)
    except AsteraiError as e:
        live = type(held)._live
        if not during_call:
            live._after_trap()
            return
        message = live.language.trap_message(live.output.flush()) or str(e)
        trap = NestedTrap(live, f"drop of a {held._resource}", message, str(e), False, False)
        live.session.nested_traps.append(trap)
        raise


def consumer_linker(runtime, session, consumer: str, uses: dict[str, wit.Interface]) -> Linker:
    """A Linker with WASI and, for each used provider, its resources (host resources standing for the
    provider's) and one forwarding host function per import."""
    linker = Linker(runtime.engine)
    linker.add_wasip2()
    with linker.root() as root:
        for provider, iface in uses.items():
            name = f"{wit.PACKAGE}/{iface.name}"
            with root.add_instance(name) as instance:
                if provider in session.components:
                    provide_from_component(instance, name, iface, session, consumer, provider)
                else:
                    for fn in iface.functions:
                        _add_func(instance, fn.name, HostForwarder(session, consumer, provider, fn))
    return linker


def provide_from_component(instance, name: str, iface: wit.Interface, session, consumer: str,
                           provider: str, only: set[str] | None = None) -> None:  # fmt: skip
    """The import instance `name` (interface `iface`) served by the live component `provider`: each resource
    a host resource standing for the provider's, each function (or those named in `only`) forwarded
    (through Python when its values hold handles)."""
    type_ids = {}
    for t in iface.types():
        if isinstance(t, wit.Resource):
            type_ids[t.name] = resources.host_type_id(name, t.name)
            instance.add_resource(t.name, ResourceType.host(type_ids[t.name]), _dropped)
    for fn in iface.functions:
        if only is not None and fn.name not in only:
            continue
        if type_ids and wit.has_handles(fn):
            forwarder = HandleForwarder(session, consumer, provider, fn, type_ids)
        else:
            forwarder = Forwarder(session, consumer, provider, fn)
        _add_func(instance, fn.name, forwarder)


def _add_func(instance, name: str, forwarder: Forwarder) -> None:
    key = next(_ids)
    _FORWARDERS[key] = forwarder
    raw = name.encode()
    err = _add_func_raw(ctypes.c_void_p(ctypes.cast(instance.ptr(), ctypes.c_void_p).value),
                        ctypes.create_string_buffer(raw), ctypes.c_size_t(len(raw)), _forward,
                        ctypes.c_void_p(key), _forget)  # fmt: skip
    if err:
        raise WasmtimeError._from_ptr(ctypes.cast(err, ctypes.POINTER(ffi.wasmtime_error_t)))
