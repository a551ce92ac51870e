"""Resources a component exports, as Python classes on its handle.

`h.X(5)` calls the resource's constructor, methods are bound methods (`x.get_a()`), static functions class
attributes (`h.X.add(x, 3)`). An own handle Python receives is an object that owns the guest's resource:
closing it (`.close()`, `with`) or losing it (garbage collection) drops it in the guest, running its
destructor. Passing an object as an `own` parameter gives it away (it cannot be used afterwards); as a
`borrow` parameter lends it for the call.

Handles are wasmtime `ResourceAny` values, valid only in the Store that made them: after the component
restarts (a trap) or is re-run, its objects refuse to be used with an error saying so. A drop asked for by
the garbage collector while guest code runs (a host function) waits for the component's next call from
Python: a Store cannot be entered twice.
"""

from __future__ import annotations

import ctypes

from wasmtime import WasmtimeError
from wasmtime import _ffi as ffi

from . import wit
from .errors import AsteraiError
from .names import pascal_name, snake_name
from .values import BadValue, Codec, _tn, kind_code

K_RESOURCE = kind_code("RESOURCE")
_ANY = ctypes.POINTER(ffi.wasmtime_component_resource_any_t)


class ResourceObject:
    """Base of the generated class of each exported resource (one class per live component)."""

    _live = None  # the LiveComponent exporting the resource (set by `bind`)
    _resource = ""  # WIT name
    _constructor: str | None = None  # WIT function name of the constructor, if any

    def __init__(self, *args, **kwargs):
        cls = type(self)
        if cls._constructor is None:
            raise TypeError(f"resource {cls._resource} has no constructor: get one from a function")
        made = cls._call(cls._constructor, args, kwargs)
        self._ptr, self._gen, made._ptr = made._ptr, made._gen, None

    @classmethod
    def _adopt(cls, ptr) -> ResourceObject:
        obj = cls.__new__(cls)
        obj._ptr, obj._gen = ptr, cls._live.restarts
        return obj

    @classmethod
    def _call(cls, fn_name: str, args: tuple, kwargs: dict):
        live = cls._current()
        drop_pending(live)
        return live.exports[fn_name].fast(*args, **kwargs)  # the proxy's own way (component.fast_call)

    @classmethod
    def _current(cls):
        live = cls._live
        if live.store is None or live.session.components.get(live.name) is not live:
            raise AsteraiError(f"{live.name} was re-run or removed: its resource {cls._resource} objects are "
                               f"gone; make new ones with {live.name}.{cls.__name__}(...)")  # fmt: skip
        return live

    def _problem(self) -> str:
        """Why this object cannot be used now, or ""."""
        ptr = self.__dict__.get("_ptr")
        if ptr is None:
            return "was closed, or given away as an owned argument"
        live = type(self)._live
        if live.store is None or live.session.components.get(live.name) is not live:
            return f"belongs to a {live.name} that was re-run or removed"
        if self._gen != live.restarts:
            return f"belonged to {live.name} before it restarted (its state was reset); make a new one"
        return ""

    def close(self, busy: bool | None = None) -> None:
        """Drop the guest's resource now (its destructor runs); the object cannot be used afterwards.

        `busy`: whether the component's Store may be running (then the drop waits for its next call from
        Python); by default, whenever any guest code runs. A consumer across `--use` dropping its handle
        passes False: its provider is never running then (links.py)."""
        ptr, self._ptr = self.__dict__.get("_ptr"), None
        if ptr is None:
            return
        live = type(self)._live
        if busy is None:
            busy = live.session.guest_depth > 0
        if self._gen == live.restarts and live.store is not None:
            if busy:  # inside a host function: the Store is busy
                live.__dict__.setdefault("pending_drops", []).append(ptr)
                return
            _drop(live, ptr)
        ffi.wasmtime_component_resource_any_delete(ptr)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:  # never raise from the garbage collector
            pass

    def __repr__(self) -> str:
        state = self._problem()
        return f"<{type(self)._live.name}.{type(self).__name__}{' (' + state + ')' if state else ''}>"


def _drop(live, ptr) -> None:
    err = ffi.wasmtime_component_resource_any_drop(live.store._context(), ptr)
    if err:
        raise AsteraiError(f"dropping a resource of {live.name} failed: {WasmtimeError._from_ptr(err)}")


def drop_pending(live) -> None:
    """Drops the garbage collector asked for while the component's Store was busy."""
    pending = live.__dict__.pop("pending_drops", None)
    for ptr in pending or ():
        try:
            _drop(live, ptr)
        finally:
            ffi.wasmtime_component_resource_any_delete(ptr)


def resource_class(iface: wit.Interface, resource: wit.Resource) -> type:
    """The Python class of one exported resource: constructor, bound methods and static functions."""
    attrs: dict = {"_resource": resource.name, "__doc__": f"WIT resource {resource.name}"}
    for fn in iface.functions:
        part = wit.resource_part(fn.name)
        if part is None or part[1] != resource.name:
            continue
        kind, _, name = part
        if kind == "constructor":
            attrs["_constructor"] = fn.name
        elif kind == "method":
            attrs[snake_name(name)] = _method(fn)
        else:
            attrs[snake_name(name)] = classmethod(_static(fn))
    return type(pascal_name(resource.name), (ResourceObject,), attrs)


def _method(fn: wit.Function):
    def method(self, *args, **kwargs):
        return type(self)._call(fn.name, (self, *args), kwargs)

    method.__name__ = snake_name(wit.resource_part(fn.name)[2])
    method.__doc__ = f"{method.__name__}: {fn.signature()}\n\n{fn.docs}".rstrip()
    return method


def _static(fn: wit.Function):
    def static(cls, *args, **kwargs):
        return cls._call(fn.name, args, kwargs)

    static.__name__ = snake_name(wit.resource_part(fn.name)[2])
    static.__doc__ = f"{static.__name__}: {fn.signature()}\n\n{fn.docs}".rstrip()
    return static


def bind(live) -> None:
    """Point the component's resource classes at it (they call its exports)."""
    for cls in live.types.values():
        if isinstance(cls, type) and issubclass(cls, ResourceObject):
            cls._live = live


class HandleCodec(Codec):
    """own<r> / borrow<r>: the resource's Python object in, a new object owning the handle out."""

    def __init__(self, ty: wit.Handle, cls: type[ResourceObject]):
        self.ty, self.cls = ty, cls

    def check(self, v):
        problem = v._problem() if isinstance(v, ResourceObject) else ""
        if problem:  # first: an object of the component's previous run is of its previous class
            raise BadValue(ValueError, f" ({self.cls.__name__}) {problem}")
        if not isinstance(v, self.cls):
            raise BadValue(TypeError, f" must be a {self.cls.__name__} (resource {self.ty.resource.name}), "
                                      f"not {_tn(v)}")  # fmt: skip
        return v

    def write(self, v: ResourceObject, slot):
        slot.kind = K_RESOURCE
        if self.ty.own:  # given away: the guest owns it now
            slot.of.resource, v._ptr = v._ptr, None
        else:
            slot.of.resource = ffi.wasmtime_component_resource_any_clone(v._ptr)

    def read(self, slot):
        return self.cls._adopt(ffi.wasmtime_component_resource_any_clone(slot.of.resource))


# ---- resources a component imports, implemented by a Python class (`@asterai_kernel.provide(NAME)`) ----
# The guest holds a handle whose number (`rep`) names a Python object here; each own handle given to a
# guest gets a number of its own, forgotten when the guest drops it (wasmtime calls `host_dropped`).
_HOST_OBJECTS: dict[int, object] = {}
_next_rep = iter(range(1, 2**32))
_context = None  # the Store context of the guest whose import call is being served (set by `serving`)


class serving:
    """While a host function serves a guest's import call: the Store its handles belong to."""

    def __init__(self, store):
        self.context = store._context()

    def __enter__(self):
        global _context
        self.saved, _context = _context, self.context

    def __exit__(self, *exc):
        global _context
        _context = self.saved


def take_host_object(rep: int):
    """The object a dropped host handle named (forgotten here), or None."""
    return _HOST_OBJECTS.pop(rep, None)


_HOST_TYPE_IDS: dict[tuple[str, str], int] = {}


def host_type_id(iface: str, resource: str) -> int:
    """The host resource type number of a resource an import instance has (wasmtime tells host resources
    apart by it): one per (instance name, resource), for the whole session."""
    return _HOST_TYPE_IDS.setdefault((iface, resource), len(_HOST_TYPE_IDS) + 1)


def host_rep(context, resource) -> int:
    """The number of a host handle a guest passed (in the Store of `context`)."""
    host = ctypes.POINTER(ffi.wasmtime_component_resource_host_t)()
    err = ffi.wasmtime_component_resource_any_to_host(context, resource, ctypes.byref(host))
    if err:
        raise WasmtimeError._from_ptr(err)
    rep = ffi.wasmtime_component_resource_host_rep(host)
    ffi.wasmtime_component_resource_host_delete(host)
    return rep


def host_dropped(store, rep: int) -> None:
    take_host_object(rep)


class HostHandleCodec(Codec):
    """own<r> / borrow<r> of a resource the notebook implements: the Python object on both sides."""

    def __init__(self, ty: wit.Handle, cls: type, type_id: int):
        self.ty, self.cls, self.type_id = ty, cls, type_id

    def check(self, v):
        if not isinstance(v, self.cls):
            raise BadValue(TypeError, f" must be a {self.cls.__name__} (resource {self.ty.resource.name}), "
                                      f"not {_tn(v)}")  # fmt: skip
        return v

    def write(self, v, slot):
        rep = next(_next_rep)
        _HOST_OBJECTS[rep] = v
        host = ffi.wasmtime_component_resource_host_new(True, rep, self.type_id)
        out = _ANY()
        err = ffi.wasmtime_component_resource_host_to_any(_context, host, ctypes.byref(out))
        ffi.wasmtime_component_resource_host_delete(host)
        if err:
            raise WasmtimeError._from_ptr(err)
        slot.kind = K_RESOURCE
        slot.of.resource = out

    def read(self, slot):
        rep = host_rep(_context, slot.of.resource)
        # An own handle the guest gave up ended in to_host (wasmtime took it out of the guest's table, and
        # calls no destructor): its number is forgotten here, the object lives on in Python.
        return _HOST_OBJECTS.pop(rep) if self.ty.own else _HOST_OBJECTS[rep]
