"""Host functions offered to components: `@asterai_kernel.provide("hostlib")` on typed Python functions.

A cell with `--use hostlib` then imports them like any component's exports: a guest can call back into the
notebook's Python. Types come from the annotations (int -> s64, float -> f64, str, bool, bytes -> list<u8>,
list[T], tuple[...], T | None, dataclasses -> records, str Enums -> enums). A function annotated
`-> asterai_kernel.Result[T, E]` reports a Python exception to the guest as `err(str(exception))`; any other
function's exception traps the calling guest, and the traceback is shown in the cell.
"""

from __future__ import annotations

import contextvars
import dataclasses
import enum
import inspect
import re
import sys
import traceback
import types
import typing
from typing import Any, Generic, TypeVar

from . import values, wit
from .errors import AsteraiError
from .names import check_component_name, snake_name, wit_name

T = TypeVar("T")
E = TypeVar("E")


class Result(Generic[T, E]):
    """Annotation for a host function returning WIT `result<T, E>`: return T; an exception becomes err."""


_SCALARS = {int: wit.Prim("s64"), float: wit.Prim("f64"), str: wit.String(), bool: wit.Prim("bool"),
            bytes: wit.List(wit.Prim("u8"))}  # fmt: skip


@dataclasses.dataclass(frozen=True)
class Untyped(wit.WitType):
    """`typing.Any`, or no annotation, in a provider of a component's import: the import's own type."""

    def wit(self):
        return "any"


def wit_type(hint: Any, where: str, open_types: bool = False) -> wit.WitType | None:
    """The WIT type of an annotation; with `open_types` (a provider of an import), `Any` is Untyped."""
    if hint is Any and open_types:
        return Untyped()
    if hint is None or hint is type(None):
        return None
    if hint in _SCALARS:
        return _SCALARS[hint]
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is list and len(args) == 1:
        return wit.List(wit_type(args[0], where, open_types))
    if origin is tuple and args and args[-1] is not Ellipsis:
        return wit.Tuple(tuple(wit_type(a, where, open_types) for a in args))
    if origin in (typing.Union, types.UnionType) and type(None) in args and len(args) == 2:
        return wit.Option(wit_type(next(a for a in args if a is not type(None)), where, open_types))
    if origin is Result and len(args) == 2:
        return wit.Result(wit_type(args[0], where, open_types), wit_type(args[1], where, open_types))
    if dataclasses.is_dataclass(hint):
        fields = typing.get_type_hints(hint)
        typed = tuple(
            (wit_name(f.name), wit_type(fields[f.name], where, open_types)) for f in dataclasses.fields(hint)
        )
        return wit.Record(wit_name(hint.__name__), typed)
    if isinstance(hint, type) and issubclass(hint, enum.Flag):
        return wit.Flags(wit_name(hint.__name__), tuple(wit_name(m.name) for m in hint))
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return wit.Enum(wit_name(hint.__name__), tuple(wit_name(str(m.value)) for m in hint))
    raise AsteraiError(
        f"{where}: the annotation {hint!r} has no WIT equivalent (use int, float, str, bool, bytes, "
        "list[T], tuple[...], T | None, a dataclass, an Enum or a Flag)"
    )


@dataclasses.dataclass
class HostFunction:
    fn: wit.Function
    call: Any  # the Python function
    params: list  # codecs
    result: Any  # codec or None
    catches: bool  # declared Result[...]: exceptions become err
    classes: dict = dataclasses.field(default_factory=dict)  # WIT name -> the user's dataclass or Enum


@dataclasses.dataclass
class HostProvider:
    name: str
    functions: dict[str, HostFunction] = dataclasses.field(default_factory=dict)
    resources: dict[str, type] = dataclasses.field(default_factory=dict)  # WIT name -> implementing class

    @property
    def iface(self) -> wit.Interface:
        return wit.Interface(wit_name(self.name), tuple(h.fn for h in self.functions.values()))

    def add(self, func) -> None:
        where = f"@provide({self.name!r}) {func.__name__}"
        hints = typing.get_type_hints(func)
        sig = inspect.signature(func)
        open_types = bool(_QUALIFIED.match(self.name or "w:w"))  # an import's provider: Any is its type
        if open_types:
            hints = {p: hints.get(p, Any) for p in [*sig.parameters, "return"]}
        missing = [p for p in sig.parameters if p not in hints]
        if missing or "return" not in hints:
            missing += [] if "return" in hints else ["return"]
            raise AsteraiError(
                f"{where}: annotate every parameter and the return type (missing: {', '.join(missing)})"
            )
        typed = [(p, f"{where}, parameter {p!r}") for p in sig.parameters]
        params = tuple((wit_name(p), wit_type(hints[p], place, open_types)) for p, place in typed)
        result = wit_type(hints["return"], f"{where}, return", open_types)
        fn = wit.Function(wit_name(func.__name__), params, result, docs=inspect.getdoc(func) or "")
        classes = {}
        for t in wit.Interface("x", (fn,)).types():
            hint_cls = _find_class(hints, t.name)
            if hint_cls is not None:
                classes[t.name] = hint_cls
                # a consumer's exports return it too
                values.share_class(wit_name(self.name or "root"), t, hint_cls)
        try:
            (codecs,) = values.codecs_for([fn], classes)
        except NotImplementedError:  # Untyped somewhere: only the import it serves gives the types
            codecs = (None, None)
        catches = isinstance(result, wit.Result)
        self.functions[fn.name] = HostFunction(fn, func, codecs[0], codecs[1], catches, classes)


def _find_class(hints: dict, name: str):
    """The user's own dataclass, Enum or Flag behind a WIT type name (values are built with it), also
    among a dataclass's fields."""
    stack, seen = list(hints.values()), set()
    while stack:
        h = stack.pop()
        if isinstance(h, type) and wit_name(h.__name__) == name:
            return h
        if dataclasses.is_dataclass(h) and h not in seen:
            seen.add(h)
            stack.extend(typing.get_type_hints(h).values())
        stack.extend(typing.get_args(h))
    return None


PROVIDERS: dict[str, HostProvider] = {}


@dataclasses.dataclass(frozen=True)
class Caller:
    """The component whose call a host function is serving."""

    name: str
    grants: Any  # sandbox.Grants


_CALLER: contextvars.ContextVar[Caller | None] = contextvars.ContextVar("asterai_caller", default=None)


_serving = 0  # host functions running for guests (changed on the main thread only; read by any thread)


def serving() -> bool:
    """Whether a guest's call into a host function is running (Python code an interrupt signal can stop)."""
    return _serving > 0


def caller() -> Caller | None:
    """Inside a host function: which component called it (name and grants); None when called from Python."""
    return _CALLER.get()


_QUALIFIED = re.compile(r"^[a-z][a-z0-9-]*:[a-z][a-z0-9-]*(/[a-z][a-z0-9-]*)?(@[0-9A-Za-z.+-]+)?$")


def provide(name: str = ""):
    """Decorator: offer a typed Python function to components as `name.<function>`.

    `name` is a provider cells use (`--use name`), or what a component loaded from elsewhere imports: an
    interface `ns:pkg/iface` (with or without `@version`), the bare name of an interface its world
    declares inline, or nothing (`provide()`) for functions its world imports directly.
    """
    if name and not (_QUALIFIED.match(name) or re.match(r"^[a-z][a-z0-9-]*$", name)):
        check_component_name(name)

    def register(func):
        provider = PROVIDERS.setdefault(name, HostProvider(name))
        if isinstance(func, type):  # a class: implements the imported resource of its name
            provider.resources[wit_name(func.__name__)] = func
        else:
            provider.add(func)
        return func

    return register


def call_host(host: HostFunction, args_addr: int, nargs: int, results_addr: int, by: Caller) -> str | None:
    """Run a host function on a guest's C values; returns an error message to trap the guest, else None."""
    global _serving
    token = _CALLER.set(by)
    _serving += 1
    try:
        py_args = [codec.read(values.VAL.from_address(args_addr + i * values.VAL_SIZE))
                   for i, codec in enumerate(host.params)]  # fmt: skip
        try:
            out = host.call(*py_args)
        except Exception as e:
            if not host.catches:
                raise
            out = values.Err(f"{type(e).__name__}: {e}")
        else:
            out = values.Ok(out) if host.catches else out
        if host.result is not None:
            host.result.write(host.result.check(out), values.VAL.from_address(results_addr))
        return None
    except values.BadValue as e:
        return f"host function {snake_name(host.fn.name)} returned a bad value: {e.error('its result')}"
    except Exception:
        sys.stderr.write(traceback.format_exc())
        exc = sys.exc_info()[1]
        return f"host function {snake_name(host.fn.name)} raised {type(exc).__name__}: {exc}"
    finally:
        _serving -= 1
        _CALLER.reset(token)
