"""The foreign imports of a component loaded from elsewhere: who provides each, and the Linker joining them.

An import that is not WASI is provided by, in this order: a component named with `--use` that exports
every function of it (calls go to its live instance, as between cells: links.Forwarder), or typed Python
functions registered with `@asterai_kernel.provide(NAME)` under the import's name (`ns:pkg/iface`, with or
without its `@version`; the world's key for an interface declared inline in the world; `provide()` with no
name for functions the world imports itself). The Python functions' annotations are checked against the
import's WIT when the component loads; their values cross with the import's own types (an `int` parameter
receives a `u8`, and a `u8` result is range-checked).

Nothing provided is no reason to refuse a component: each unprovided function is a host function that
traps (`Unprovided`), so every export that does not reach one works, and a call that does raises
GuestTrap naming the import.
"""

from __future__ import annotations

import dataclasses
from functools import partial

from wasmtime.component import Linker, ResourceType

from . import resources, values, wit
from .errors import AsteraiError
from .hostfns import PROVIDERS, Caller, HostFunction, Untyped, call_host
from .links import Forwarder, _add_func, provide_from_component
from .names import pascal_name, snake_name
from .wit_json import WORLD, ImportedInterface


@dataclasses.dataclass(frozen=True)
class Binding:
    """One foreign import and what serves it: a live component, a `@provide` key, or nothing."""

    imported: ImportedInterface
    component: str | None = None  # a live component exporting it (`--use`)
    python: str | None = None  # the PROVIDERS key of the Python functions providing it

    @property
    def name(self) -> str:
        return self.imported.import_name

    @property
    def label(self) -> str:
        return "the world's own imports" if self.name == WORLD else self.name

    def functions(self) -> tuple[wit.Function, ...]:
        """The functions actually linked (a Python provider may give only some)."""
        if self.component is not None:
            return self.imported.iface.functions
        if self.python is not None:
            provider = PROVIDERS[self.python]
            fns = self.imported.iface.functions
            has = set(provider.functions) | {f.name for f in fns if _resource_of(f) in provider.resources}
            return tuple(f for f in fns if f.name in has)
        return ()

    def missing(self) -> list[str]:
        linked = {f.name for f in self.functions()}
        return [f.name for f in self.imported.iface.functions if f.name not in linked]


def _resource_of(fn: wit.Function) -> str | None:
    part = wit.resource_part(fn.name)
    return part[1] if part else None


def python_key(import_name: str) -> str | None:
    """The `@provide` name that provides an import, if any is registered."""
    for key in (import_name, import_name.partition("@")[0]):
        if key in PROVIDERS:
            return key
    return None


def bind(session, imported: list[ImportedInterface], uses: list[str], consumer: str) -> list[Binding]:
    """Who provides each foreign import; a type mismatch or an unused `--use` is an AsteraiError."""
    foreign = [i for i in imported if not i.is_wasi]
    for name in uses:
        if name not in session.components:
            known = ", ".join(sorted(session.components)) or "none yet"
            raise AsteraiError(f"--use {name}: there is no component named {name!r} (known: {known})")
    bindings, used = [], set()
    for imp in foreign:
        provider = next((u for u in uses if _exports_all(session.components[u], imp)), None)
        if provider is not None:
            used.add(provider)
            _check_component(session.components[provider], imp, consumer)
            bindings.append(Binding(imp, component=provider))
            continue
        key = python_key(imp.import_name)
        if key is not None:
            _check_python(key, imp)
        bindings.append(Binding(imp, python=key))
    unused = [u for u in uses if u not in used]
    if unused:
        wanted = ", ".join(b.label for b in bindings) or "nothing but WASI"
        raise AsteraiError(f"--use {', '.join(unused)}: exports none of this component's imports "
                           f"(it imports {wanted})")  # fmt: skip
    return bindings


def _exports_all(live, imp: ImportedInterface) -> bool:
    return bool(imp.iface.functions) and all(f.name in live.exports for f in imp.iface.functions)


def _check_component(live, imp: ImportedInterface, consumer: str) -> None:
    for fn in imp.iface.functions:
        have = live.exports[fn.name].fn
        if have.shape() != fn.shape():
            raise AsteraiError(
                f"--use {live.name}: {consumer} imports {imp.import_name or 'the world'}.{fn.name}: "
                f"{fn.shape()}, but {live.name} exports {fn.name}: {have.shape()}"
            )


def _check_python(key: str, imp: ImportedInterface) -> None:
    want = {f.name: f for f in imp.iface.functions}
    problems = []
    for name, host in PROVIDERS[key].functions.items():
        if name not in want:
            problems.append(f"{snake_name(name)} is not a function of it (it has: "
                            f"{', '.join(snake_name(f) for f in want)})")  # fmt: skip
            continue
        why = mismatch(host.fn, want[name])
        if why:
            problems.append(f"{snake_name(name)}: {why}")
    for resource, cls in PROVIDERS[key].resources.items():
        if resource not in imp.resources:
            problems.append(f"class {cls.__name__}: {imp.import_name} has no resource {resource} (it has: "
                            f"{', '.join(imp.resources) or 'none'})")  # fmt: skip
            continue
        for fn in imp.iface.functions:
            part = wit.resource_part(fn.name)
            if (
                part
                and part[1] == resource
                and part[0] != "constructor"
                and not hasattr(cls, snake_name(part[2]))
            ):
                problems.append(
                    f"class {cls.__name__} has no {part[0]} {snake_name(part[2])} ({fn.signature()})"
                )
    if problems:
        label = "functions the world imports" if key == WORLD else key
        raise AsteraiError(f"@asterai_kernel.provide({key!r}) does not match {label} as the component "
                           "imports it:\n  " + "\n  ".join(problems))  # fmt: skip


def mismatch(have: wit.Function, want: wit.Function) -> str:
    """Why Python annotations (`have`) cannot serve an imported function (`want`), or ""."""
    if len(have.params) != len(want.params):
        taken = ", ".join(snake_name(n) for n, _ in have.params)
        return f"the import is {want.signature()}, the Python function takes ({taken})"
    for (n, h), (_, w) in zip(have.params, want.params):
        if not fits(h, w):
            return f"parameter {snake_name(n)!r} is annotated {h.wit()}, the import declares {w.wit()}"
    if not fits(have.result, want.result):
        h = have.result.wit() if have.result else "None"
        w = want.result.wit() if want.result else "nothing"
        return f"the return is annotated {h}, the import declares {w}"
    return ""


_INTS = frozenset(wit.INT_RANGES)


def fits(have: wit.WitType | None, want: wit.WitType | None) -> bool:
    """Whether a value of the Python annotation's type can be a value of the WIT type (int for any integer
    width, float for f32, str for char: values are range-checked as they cross)."""
    if have == want or isinstance(have, Untyped):
        return True
    if have is None or want is None:
        return False
    if isinstance(have, wit.Prim) and isinstance(want, wit.Prim):
        return (have.name, want.name in _INTS) == ("s64", True) or (have.name, want.name) == ("f64", "f32")
    if isinstance(have, wit.String) and want == wit.Prim("char"):
        return True
    pairs = _children(have, want)
    return pairs is not None and all(fits(h, w) for h, w in pairs)


def _children(have, want):
    """Matching parts of two composite types of the same shape, else None."""
    if type(have) is not type(want):
        return None
    if isinstance(have, wit.List):
        return [(have.elem, want.elem)]
    if isinstance(have, wit.Option):
        return [(have.inner, want.inner)]
    if isinstance(have, wit.Result):
        return [(have.ok, want.ok), (have.err, want.err)]
    if isinstance(have, wit.Tuple) and len(have.elems) == len(want.elems):
        return list(zip(have.elems, want.elems))
    if isinstance(have, wit.Record) and [n for n, _ in have.fields] == [n for n, _ in want.fields]:
        return [(h, w) for (_, h), (_, w) in zip(have.fields, want.fields)]
    if isinstance(have, wit.Enum) and have.cases == want.cases:
        return []
    if isinstance(have, wit.Flags) and have.flags == want.flags:
        return []
    if isinstance(have, wit.Variant) and [c for c, _ in have.cases] == [c for c, _ in want.cases]:
        return [(h, w) for (_, h), (_, w) in zip(have.cases, want.cases)]
    return None


class PythonImport(Forwarder):
    """An import served by a `@provide`d Python function, its values crossing with the import's types."""

    def __init__(self, session, consumer: str, key: str, fn: wit.Function, classes: dict):
        super().__init__(session, consumer, key, fn)
        self.classes = classes
        self._host: tuple | None = None  # (the Python function, its HostFunction with the import's codecs)

    def __call__(self, args, nargs: int, results, nresults: int) -> int:
        provider = PROVIDERS.get(self.provider)
        current = provider.functions.get(self.fn.name) if provider is not None else None
        if current is None:
            return self._fail(f"the notebook no longer provides {self.provider}.{snake_name(self.fn.name)}")
        if self._host is None or self._host[0] is not current.call:
            why = mismatch(current.fn, self.fn)
            if why:
                return self._fail(f"@provide({self.provider!r}) {snake_name(self.fn.name)} changed: {why}")
            ((params, result),) = values.codecs_for([self.fn], self.classes)
            self._host = (current.call, HostFunction(self.fn, current.call, params, result, current.catches))
        return self._serve(self._host[1], args, nargs, results)

    def _serve(self, host: HostFunction, args, nargs: int, results) -> int:
        live = self.session.components.get(self.consumer)
        by = Caller(self.consumer, live.grants if live is not None else None)
        with resources.serving(live.store):  # handles crossing belong to the consumer's Store
            error = call_host(host, args or 0, nargs, results or 0, by)
        return self._fail(error) if error else 0


class ResourceImport(PythonImport):
    """A constructor, method or static function of an imported resource a Python class implements."""

    def __call__(self, args, nargs: int, results, nresults: int) -> int:
        if self._host is None:
            kind, resource, name = wit.resource_part(self.fn.name)
            cls = PROVIDERS[self.provider].resources[resource]
            if kind == "constructor":
                target = cls
            elif kind == "method":
                target = partial(_call_method, snake_name(name))
            else:
                target = getattr(cls, snake_name(name))
            ((params, result),) = values.codecs_for([self.fn], self.classes)
            self._host = (target, HostFunction(self.fn, target, params, result, False))
        return self._serve(self._host[1], args, nargs, results)


def _call_method(name: str, obj, *args):
    return getattr(obj, name)(*args)


def classes_for(imp: ImportedInterface, key: str | None) -> dict:
    """Python classes of the import's records and enums: the provider's own where names match."""
    classes = values.user_types(imp.iface)
    for host in PROVIDERS[key].functions.values() if key is not None else ():
        classes.update({n: c for n, c in host.classes.items() if n in classes})
    return classes


def linker(runtime, session, consumer: str, bindings: list[Binding]) -> Linker:
    """WASI, and a host function per function of each foreign import: its provider's, or one that traps
    saying nothing provides it. (wasmtime's define_unknown_imports_as_traps would also shadow the WASI
    versions the linker serves by semver, e.g. a component's wasi:cli/stdin@0.2.0.)"""
    link = Linker(runtime.engine)
    link.add_wasip2()
    with link.root() as root:
        for b in bindings:
            if b.name == WORLD:
                _add_all(root, b, session, consumer)
            else:
                with root.add_instance(b.name) as instance:
                    _add_all(instance, b, session, consumer)
    return link


def _add_all(instance, b: Binding, session, consumer: str) -> None:
    provided = {f.name for f in b.functions()}
    for fn in b.imported.iface.functions:
        if fn.name not in provided:
            _add_func(instance, fn.name, Unprovided(session, consumer, b.name, fn))
    if b.component is not None:  # another component serves the import: as between cells
        iface = b.imported.iface
        return provide_from_component(instance, b.name, iface, session, consumer, b.component, provided)
    classes = classes_for(b.imported, b.python) if b.python is not None else {}
    implemented = PROVIDERS[b.python].resources if b.python is not None else {}
    for resource in b.imported.resources:
        type_id = resources.host_type_id(b.name, resource)
        instance.add_resource(resource, ResourceType.host(type_id), resources.host_dropped)
        if resource in implemented:
            classes[resource] = (implemented[resource], type_id)
    for fn in b.imported.iface.functions:
        if fn.name in provided:
            kind = ResourceImport if _resource_of(fn) is not None else PythonImport
            _add_func(instance, fn.name, kind(session, consumer, b.python, fn, classes))


class Unprovided(Forwarder):
    """An imported function nothing provides: calling it traps the guest, saying what to provide."""

    def __call__(self, args, nargs: int, results, nresults: int) -> int:
        iface, fn = self.provider, self.fn.name
        where = f"{iface}.{fn}" if iface else fn
        how = f"@asterai_kernel.provide({iface!r})" if iface else "@asterai_kernel.provide()"
        part = wit.resource_part(fn)
        what = f"a class {pascal_name(part[1])}" if part else snake_name(fn)
        return self._fail(f"it called the import {where}, which nothing provides: give {what} to {how} "
                          "(or load with --use COMPONENT), then load the component again")  # fmt: skip


def note(bindings: list[Binding]) -> str:
    """The one line saying which imports nothing provides (their calls trap), or ""."""
    unprovided = []
    for b in bindings:
        missing = b.missing()
        if missing and b.python is None and b.component is None:
            unprovided.append(b.label)
        elif missing:
            unprovided.append(f"{b.label} ({', '.join(missing)})")
    if not unprovided:
        return ""
    return (f"  not provided (a call reaching them raises GuestTrap): {'; '.join(unprovided)}; provide them "
            "with @asterai_kernel.provide(NAME) or --use COMPONENT, then load again")  # fmt: skip
