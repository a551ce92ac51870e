"""The WIT type model: the types a cell's exports use, their canonical-ABI layout, and WIT text.

Sizes, alignments and flattening follow the Component Model's canonical ABI (CanonicalABI.md), because the
glue generated for guests lays values out in linear memory by these numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from .names import wit_ident

MAX_FLAT_PARAMS = 16
MAX_FLAT_RESULTS = 1

# name -> (size/align in bytes, flat core type)
_PRIMS = {
    "bool": (1, "i32"),
    "s8": (1, "i32"),
    "u8": (1, "i32"),
    "s16": (2, "i32"),
    "u16": (2, "i32"),
    "s32": (4, "i32"),
    "u32": (4, "i32"),
    "s64": (8, "i64"),
    "u64": (8, "i64"),
    "f32": (4, "f32"),
    "f64": (8, "f64"),
    "char": (4, "i32"),
}
INT_RANGES = {
    "s8": (-(2**7), 2**7 - 1),
    "u8": (0, 2**8 - 1),
    "s16": (-(2**15), 2**15 - 1),
    "u16": (0, 2**16 - 1),
    "s32": (-(2**31), 2**31 - 1),
    "u32": (0, 2**32 - 1),
    "s64": (-(2**63), 2**63 - 1),
    "u64": (0, 2**64 - 1),
}


def align_to(offset: int, align: int) -> int:
    return -(-offset // align) * align


class WitType:
    """A WIT value type. Subclasses give layout, flattening and WIT text."""

    def size(self) -> int:
        raise NotImplementedError

    def align(self) -> int:
        raise NotImplementedError

    def flat(self) -> list[str]:
        raise NotImplementedError

    def wit(self) -> str:
        raise NotImplementedError

    def named_types(self) -> list[WitType]:
        """Named (record/enum/variant) types this type refers to, innermost first."""
        return []

    def __str__(self) -> str:
        return self.wit()


@dataclass(frozen=True)
class Prim(WitType):
    name: str

    def size(self):
        return _PRIMS[self.name][0]

    def align(self):
        return _PRIMS[self.name][0]

    def flat(self):
        return [_PRIMS[self.name][1]]

    def wit(self):
        return self.name


class _Slice(WitType):
    """Types passed as (pointer, length)."""

    def size(self):
        return 8

    def align(self):
        return 4

    def flat(self):
        return ["i32", "i32"]


@dataclass(frozen=True)
class String(_Slice):
    def wit(self):
        return "string"


@dataclass(frozen=True)
class List(_Slice):
    elem: WitType

    def wit(self):
        return f"list<{self.elem.wit()}>"

    def named_types(self):
        return self.elem.named_types()


def _record_layout(types: list[WitType]) -> tuple[list[int], int, int]:
    """Offsets of consecutive fields, total size and alignment."""
    offsets, offset, align = [], 0, 1
    for t in types:
        offset = align_to(offset, t.align())
        offsets.append(offset)
        offset += t.size()
        align = max(align, t.align())
    return offsets, align_to(offset, align), align


@dataclass(frozen=True)
class Tuple(WitType):
    elems: tuple[WitType, ...]

    def size(self):
        return _record_layout(list(self.elems))[1]

    def align(self):
        return _record_layout(list(self.elems))[2]

    def offsets(self):
        return _record_layout(list(self.elems))[0]

    def flat(self):
        return [f for e in self.elems for f in e.flat()]

    def wit(self):
        return f"tuple<{', '.join(e.wit() for e in self.elems)}>"

    def named_types(self):
        return [n for e in self.elems for n in e.named_types()]


@dataclass(frozen=True)
class Record(WitType):
    name: str
    fields: tuple[tuple[str, WitType], ...]
    docs: str = field(default="", compare=False)
    owner: str = field(default="", compare=False)  # see `foreign`

    def size(self):
        return _record_layout([t for _, t in self.fields])[1]

    def align(self):
        return _record_layout([t for _, t in self.fields])[2]

    def offsets(self):
        return _record_layout([t for _, t in self.fields])[0]

    def flat(self):
        return [f for _, t in self.fields for f in t.flat()]

    def wit(self):
        return wit_ident(self.name)

    def named_types(self):
        return [n for _, t in self.fields for n in t.named_types()] + [self]

    def definition(self) -> str:
        body = "".join(f"    {wit_ident(n)}: {t.wit()},\n" for n, t in self.fields)
        return f"record {wit_ident(self.name)} {{\n{body}  }}"


def _discriminant(n: int) -> Prim:
    return Prim("u8") if n <= 256 else Prim("u16") if n <= 65536 else Prim("u32")


def _join(a: str, b: str) -> str:
    if a == b:
        return a
    if {a, b} == {"i32", "f32"}:
        return "i32"
    return "i64"


class _Cases(WitType):
    """Layout shared by variant-like types: a discriminant followed by the largest payload."""

    def payloads(self) -> list[WitType | None]:
        raise NotImplementedError

    def disc(self) -> Prim:
        return _discriminant(len(self.payloads()))

    def max_case_align(self) -> int:
        return max([1] + [p.align() for p in self.payloads() if p is not None])

    def payload_offset(self) -> int:
        return align_to(self.disc().size(), self.max_case_align())

    def size(self):
        size = self.payload_offset() + max([0] + [p.size() for p in self.payloads() if p is not None])
        return align_to(size, self.align())

    def align(self):
        return max(self.disc().align(), self.max_case_align())

    def flat(self):
        joined: list[str] = []
        for p in self.payloads():
            if p is None:
                continue
            for i, f in enumerate(p.flat()):
                if i < len(joined):
                    joined[i] = _join(joined[i], f)
                else:
                    joined.append(f)
        return ["i32", *joined]


@dataclass(frozen=True)
class Option(_Cases):
    inner: WitType

    def payloads(self):
        return [None, self.inner]

    def wit(self):
        return f"option<{self.inner.wit()}>"

    def named_types(self):
        return self.inner.named_types()


@dataclass(frozen=True)
class Result(_Cases):
    ok: WitType | None
    err: WitType | None

    def payloads(self):
        return [self.ok, self.err]

    def wit(self):
        ok = self.ok.wit() if self.ok else "_"
        if self.err is None:
            return "result" if self.ok is None else f"result<{ok}>"
        return f"result<{ok}, {self.err.wit()}>"

    def named_types(self):
        return [n for t in (self.ok, self.err) if t for n in t.named_types()]


@dataclass(frozen=True)
class Enum(_Cases):
    name: str
    cases: tuple[str, ...]
    docs: str = field(default="", compare=False)
    owner: str = field(default="", compare=False)

    def payloads(self):
        return [None] * len(self.cases)

    def wit(self):
        return wit_ident(self.name)

    def named_types(self):
        return [self]

    def definition(self) -> str:
        body = "".join(f"    {wit_ident(c)},\n" for c in self.cases)
        return f"enum {wit_ident(self.name)} {{\n{body}  }}"


@dataclass(frozen=True)
class Variant(_Cases):
    name: str
    cases: tuple[tuple[str, WitType | None], ...]
    docs: str = field(default="", compare=False)
    owner: str = field(default="", compare=False)

    def payloads(self):
        return [t for _, t in self.cases]

    def wit(self):
        return wit_ident(self.name)

    def named_types(self):
        return [n for _, t in self.cases if t for n in t.named_types()] + [self]

    def definition(self) -> str:
        body = "".join(f"    {wit_ident(c)}{f'({t.wit()})' if t else ''},\n" for c, t in self.cases)
        return f"variant {wit_ident(self.name)} {{\n{body}  }}"


@dataclass(frozen=True)
class Flags(WitType):
    """A set of named bits: one bit per flag, in 1, 2 or 4-byte words (canonical ABI)."""

    name: str
    flags: tuple[str, ...]
    docs: str = field(default="", compare=False)
    owner: str = field(default="", compare=False)

    def size(self):
        n = len(self.flags)
        return 0 if n == 0 else 1 if n <= 8 else 2 if n <= 16 else 4 * -(-n // 32)

    def align(self):
        return max(1, min(self.size(), 4))

    def flat(self):
        return ["i32"] * -(-len(self.flags) // 32)

    def wit(self):
        return wit_ident(self.name)

    def named_types(self):
        return [self]

    def definition(self) -> str:
        body = "".join(f"    {wit_ident(f)},\n" for f in self.flags)
        return f"flags {wit_ident(self.name)} {{\n{body}  }}"


@dataclass(frozen=True)
class Resource(WitType):
    """A resource type: an opaque object living in the component that exports it, used through handles."""

    name: str
    docs: str = field(default="", compare=False)
    owner: str = field(default="", compare=False)

    def size(self):
        return 4

    def align(self):
        return 4

    def flat(self):
        return ["i32"]

    def wit(self):
        return wit_ident(self.name)

    def named_types(self):
        return [self]

    def definition(self) -> str:
        return f"resource {wit_ident(self.name)};"


@dataclass(frozen=True)
class Handle(WitType):
    """`own<r>` (the caller gives or receives the object) or `borrow<r>` (lent for one call): an i32."""

    resource: Resource
    own: bool

    def size(self):
        return 4

    def align(self):
        return 4

    def flat(self):
        return ["i32"]

    def wit(self):
        return self.resource.wit() if self.own else f"borrow<{self.resource.wit()}>"

    def named_types(self):
        return [self.resource]


RESOURCE_FUNCTION = ("[constructor]", "[method]", "[static]")


def plain_functions(functions) -> list[Function]:
    """The functions that are not a resource's constructor, method or static function."""
    return [f for f in functions if not f.name.startswith(RESOURCE_FUNCTION)]


def holds_resource(ty: WitType) -> bool:
    """Whether a value of `ty` can hold a resource handle (at any depth)."""
    return any(isinstance(n, Resource) for n in ty.named_types())


def has_handles(fn: Function) -> bool:
    """Whether a call of `fn` can carry resource handles, either way."""
    return any(holds_resource(t) for t in fn.types())


def resource_part(fn_name: str) -> tuple[str, str, str] | None:
    """`[method]x.get-a` -> ("method", "x", "get-a"); a constructor's name part is ""; else None."""
    if not fn_name.startswith(RESOURCE_FUNCTION):
        return None
    kind, _, rest = fn_name[1:].partition("]")
    resource, _, name = rest.partition(".")
    return kind, resource, name


@dataclass(frozen=True)
class Function:
    """One exported function: WIT name (kebab), params and optional result."""

    name: str
    params: tuple[tuple[str, WitType], ...]
    result: WitType | None
    docs: str = field(default="", compare=False)

    def signature(self) -> str:
        params = ", ".join(f"{wit_ident(n)}: {t.wit()}" for n, t in self.params)
        result = f" -> {self.result.wit()}" if self.result is not None else ""
        return f"func({params}){result}"

    def shape(self) -> str:
        """The signature and the definitions of the named types it uses: what a caller's glue relies on."""
        named = {n.name: " ".join(n.definition().split()) for t in self.types() for n in t.named_types()}
        return "; ".join([self.signature(), *named.values()])

    def types(self) -> list[WitType]:
        return [t for _, t in self.params] + ([self.result] if self.result is not None else [])

    def flat_params(self) -> list[str]:
        return [f for _, t in self.params for f in t.flat()]

    def params_indirect(self) -> bool:
        return len(self.flat_params()) > MAX_FLAT_PARAMS

    def result_indirect(self) -> bool:
        return self.result is not None and len(self.result.flat()) > MAX_FLAT_RESULTS


def foreign(ty: WitType, owner: str) -> WitType:
    """`ty`, a type of interface `owner`'s functions, as another interface's functions use it: each named
    type in it keeps the interface it comes from as its `owner` (the first one, through chains of uses).

    Rendered in a document that has the owner interface, such a type is `use`d from it (see
    `Interface.render`); hosts share one Python class per owner and definition (values.user_types).
    """
    if isinstance(ty, List):
        return List(foreign(ty.elem, owner))
    if isinstance(ty, Tuple):
        return Tuple(tuple(foreign(e, owner) for e in ty.elems))
    if isinstance(ty, Option):
        return Option(foreign(ty.inner, owner))
    if isinstance(ty, Result):
        return Result(*(foreign(t, owner) if t is not None else None for t in (ty.ok, ty.err)))
    if isinstance(ty, Record):
        fields = tuple((n, foreign(t, owner)) for n, t in ty.fields)
        return Record(ty.name, fields, docs=ty.docs, owner=ty.owner or owner)
    if isinstance(ty, Enum):
        return Enum(ty.name, ty.cases, docs=ty.docs, owner=ty.owner or owner)
    if isinstance(ty, Flags):
        return Flags(ty.name, ty.flags, docs=ty.docs, owner=ty.owner or owner)
    if isinstance(ty, Handle):
        return Handle(replace(ty.resource, owner=ty.resource.owner or owner), ty.own)
    if isinstance(ty, Variant):
        cases = tuple((c, foreign(t, owner) if t is not None else None) for c, t in ty.cases)
        return Variant(ty.name, cases, docs=ty.docs, owner=ty.owner or owner)
    return ty


def _doc_lines(docs: str) -> list[str]:
    return [f"  /// {line}".rstrip() for line in docs.splitlines()]


@dataclass(frozen=True)
class Interface:
    """A component's exported interface `asterai:cells/NAME`."""

    name: str
    functions: tuple[Function, ...]
    package: str = "asterai:cells"  # a `%%asterai wit` cell's interface lives in its own package

    @property
    def qualified(self) -> str:
        """`ns:pkg/iface` (with `@version` when the package has one)."""
        ns_pkg, _, version = self.package.partition("@")
        return f"{ns_pkg}/{self.name}" + (f"@{version}" if version else "")

    def shape(self) -> tuple:
        """What callers depend on: functions' signatures and type definitions (not doc comments)."""
        return (
            tuple((f.name, f.signature()) for f in self.functions),
            tuple(t.definition() for t in self.types()),
        )

    def types(self) -> list[WitType]:
        seen: dict[str, WitType] = {}
        for fn in self.functions:
            for t in [t for _, t in fn.params] + ([fn.result] if fn.result else []):
                for n in t.named_types():
                    seen.setdefault(n.name, n)
        return list(seen.values())

    def render(self, known: frozenset[str] | set[str] = frozenset()) -> str:
        """The interface's WIT. A type another interface owns (`foreign`) is `use`d from it when that
        interface is in `known` (the document has it), else defined here like the interface's own."""
        lines = [f"interface {wit_ident(self.name)} {{"]
        used: dict[str, list[str]] = {}
        for t in self.types():
            if t.owner and t.owner != self.name and t.owner in known:
                used.setdefault(t.owner, []).append(wit_ident(t.name))
                continue
            lines += _doc_lines(t.docs)
            lines.append(f"  {self._resource_block(t) if isinstance(t, Resource) else t.definition()}")
        lines[1:1] = [f"  use {wit_ident(owner)}.{{{', '.join(names)}}};" for owner, names in used.items()]
        for fn in plain_functions(self.functions):
            lines += _doc_lines(fn.docs)
            lines.append(f"  {wit_ident(fn.name)}: {fn.signature()};")
        lines.append("}")
        return "\n".join(lines)

    def _resource_block(self, resource: Resource) -> str:
        """`resource x { constructor(..); m: func(..); s: static func(..); }` from the `[..]x` functions."""
        body = []
        for fn in self.functions:
            kind, of, name = resource_part(fn.name) or ("", "", "")
            if of != resource.name:
                continue
            params = fn.params[1:] if kind == "method" else fn.params  # a method's `self` is implicit
            body += [f"  {line}" for line in _doc_lines(fn.docs)]
            if kind == "constructor":
                body.append(f"    constructor({', '.join(f'{wit_ident(n)}: {t.wit()}' for n, t in params)});")
            else:
                sig = replace(fn, params=params).signature()
                body.append(f"    {wit_ident(name)}: {'static ' if kind == 'static' else ''}{sig};")
        return "\n".join([f"resource {wit_ident(resource.name)} {{", *body, "  }"])


@dataclass(frozen=True)
class Bulk(_Slice):
    """A numeric list sent as one `string` block (see `bulk_twin`): WIT `string`, meaning list<elem>."""

    elem: Prim

    def wit(self):
        return "string"


NUMERIC = frozenset(["s8", "u8", "s16", "u16", "s32", "u32", "s64", "u64", "f32", "f64"])


def is_numeric_list(ty: WitType | None) -> bool:
    return isinstance(ty, List) and isinstance(ty.elem, Prim) and ty.elem.name in NUMERIC


def bulk_twin(fn: Function) -> Function | None:
    """The twin of a function taking or returning numeric lists, which carries them as one string block.

    Through wasmtime's C API a list crosses element by element (about 100 ns each); a string crosses as one
    block. Glue we generate also exports this twin, and the host calls it for large data: each list's
    little-endian bytes travel as an ASCII string, 5 bytes for 4 (values.BulkCodec), decoded by the glue.
    """
    if has_handles(fn) or not any(is_numeric_list(t) for t in [t for _, t in fn.params] + [fn.result]):
        return None  # a twin would carry handles through a second interface (componentize-py miswrites it)

    def bulk(t):
        return Bulk(t.elem) if is_numeric_list(t) else t

    return Function(fn.name, tuple((n, bulk(t)) for n, t in fn.params), bulk(fn.result), docs=fn.docs)


def bulk_interface(iface: Interface) -> Interface | None:
    twins = tuple(t for t in map(bulk_twin, plain_functions(iface.functions)) if t is not None)
    return Interface(f"{iface.name}-bulk", twins) if twins else None


PACKAGE = "asterai:cells"
WORLD = "cell"


def render_world(iface: Interface, *, bulk: bool = False, uses: tuple[Interface, ...] = (),
                 extra_exports: tuple[Interface, ...] = ()) -> str:  # fmt: skip
    """The WIT document a cell is built against: the interfaces it imports (`--use`), its own interface
    (and bulk twins, and interfaces declared elsewhere that it implements), and a world joining them."""
    ifaces = [iface] + ([b] if bulk and (b := bulk_interface(iface)) else [])
    known = {i.name for i in [*uses, *ifaces]}
    body = "\n\n".join(i.render(known) for i in [*uses, *ifaces])
    packages: dict[str, list[Interface]] = {}  # one block per package: WIT allows no second one
    for i in extra_exports:
        packages.setdefault(i.package, []).append(i)
    foreign = "".join(f"\npackage {p} {{\n" + "\n\n".join(i.render() for i in members) + "\n}\n"
                      for p, members in packages.items())  # fmt: skip
    lines = "".join(f"  import {wit_ident(i.name)};\n" for i in uses)
    lines += "".join(f"  export {wit_ident(i.name)};\n" for i in ifaces)
    lines += "".join(f"  export {i.qualified};\n" for i in extra_exports)
    return f"package {PACKAGE};\n\n{body}\n\nworld {WORLD} {{\n{lines}}}\n{foreign}"


def export_name(iface: Interface, fn: Function) -> str:
    """The core-wasm export name of a function in an exported interface (canonical ABI naming)."""
    return f"{iface.qualified}#{fn.name}"


def adopt_int_widths(derived: Interface, declared: Interface) -> Interface:
    """`derived` with each s64 that stands where `declared` has another integer type given that type: for
    languages with one integer type (Python's `int`), whose cells implement any declared width."""
    want = {f.name: f for f in declared.functions}
    records = {t.name: t for t in declared.types() if isinstance(t, Record)}

    def adopt(have: WitType | None, decl: WitType | None) -> WitType | None:
        if have == Prim("s64") and isinstance(decl, Prim) and decl.name in INT_RANGES:
            return decl
        if isinstance(have, List) and isinstance(decl, List):
            return List(adopt(have.elem, decl.elem))
        if isinstance(have, Option) and isinstance(decl, Option):
            return Option(adopt(have.inner, decl.inner))
        if isinstance(have, Result) and isinstance(decl, Result):
            return Result(adopt(have.ok, decl.ok), adopt(have.err, decl.err))
        if isinstance(have, Tuple) and isinstance(decl, Tuple) and len(have.elems) == len(decl.elems):
            return Tuple(tuple(adopt(h, d) for h, d in zip(have.elems, decl.elems)))
        if isinstance(have, Record) and have.name in records:
            theirs = dict(records[have.name].fields)
            fields = tuple((n, adopt(t, theirs.get(n))) for n, t in have.fields)
            return replace(have, fields=fields)
        return have

    functions = []
    for fn in derived.functions:
        other = want.get(fn.name)
        if other is not None and len(other.params) == len(fn.params):
            params = tuple((n, adopt(t, d)) for (n, t), (_, d) in zip(fn.params, other.params))
            fn = replace(fn, params=params, result=adopt(fn.result, other.result))
        functions.append(fn)
    return replace(derived, functions=tuple(functions))


def diff(declared: Interface, derived: Interface) -> list[str]:
    """How a cell's derived interface differs from a declared one (empty when it implements it exactly)."""
    lines = []
    have = {f.name: f for f in derived.functions}
    want = {f.name: f for f in declared.functions}
    for name, fn in want.items():
        if name not in have:
            lines.append(f"missing   {name}: {fn.signature()}")
        elif have[name].signature() != fn.signature():
            lines.append(f"declared  {name}: {fn.signature()}")
            lines.append(f"but cell  {name}: {have[name].signature()}")
    lines += [f"extra     {name}: {fn.signature()} (not in {declared.qualified})"
              for name, fn in have.items() if name not in want]  # fmt: skip
    want_types = {t.name: t.definition() for t in declared.types()}
    for t in derived.types():
        if t.name in want_types and want_types[t.name] != t.definition():
            lines.append(
                f"type {t.name} differs:\n  declared {want_types[t.name]}\n  cell     {t.definition()}"
            )
    return lines
