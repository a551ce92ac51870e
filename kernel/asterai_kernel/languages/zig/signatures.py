"""Reading a Zig cell: its top-level `pub fn` signatures and the `pub const` structs, enums, tagged unions
and packed structs of bools (WIT flags) they use (tree-sitter's Zig grammar) -> WIT functions and types, and
how the glue spells each in Zig.

tree-sitter-zig 1.1 parses a prefixed qualified type inside out (`?geo.Point` as `(?geo).Point`,
`[]const asterai.Bytes` as `([]const asterai).Bytes`): `_Types.spell` pushes the member (and a call's
arguments) down to the innermost name, so the prefixes apply to the whole qualified name as Zig means.
"""

from __future__ import annotations

import functools

import tree_sitter

from ... import wit
from ...errors import CompileError, ToolchainMissing
from ...names import wit_name
from .. import treesitter
from ..base import check_unique_wit_names, used_type
from ..treesitter import Unsupported
from ..treesitter import first_error as _first_error
from ..treesitter import text as _text
from .emit import RUNTIME, ZigType, spell_wit, type_name
from .exports import CELL, Export, use_alias
from .toolchain import SETUP

# The cell's code is written after one blank line, so Zig's line numbers are the cell's (magic = line 1).
LINE_OFFSET = 1

SCALARS = {"bool": "bool", "i8": "s8", "u8": "u8", "i16": "s16", "u16": "u16", "i32": "s32", "u32": "u32",
           "i64": "s64", "u64": "u64", "f32": "f32", "f64": "f64", "usize": "u32", "isize": "s32",
           "u21": "char"}  # fmt: skip
SUPPORTED_HINT = (
    "Supported: bool, i8..i64, u8..u64, usize, isize, f32, f64, u21 (a char), []const u8 (a string), "
    "asterai.Bytes (bytes), []const T, ?T, tuples `struct { A, B }`, asterai.Result(T, E), the cell's "
    "`pub const` structs, enums, `union(enum)`s and flags (a `packed struct` of bools), types of components "
    "it uses (`geo.Point`), and `!T` as a function's result."
)
_WRAPPERS = ("nullable_type", "slice_type", "pointer_type", "array_type", "error_union_type")


@functools.cache
def _parser() -> tree_sitter.Parser:
    try:
        import tree_sitter_zig
    except ImportError:
        raise ToolchainMissing(
            f"Zig cells need the tree-sitter-zig grammar. Install it with:\n    {SETUP}"
        ) from None
    return treesitter.parser(tree_sitter_zig.language)


def _unquote(name: str) -> str:
    """An identifier as a name: `@"odd name"` -> `odd name`."""
    return name[2:-1] if name.startswith('@"') else name


def _ident(node) -> str:
    return _unquote(_text(node))


def _has(node, token: str) -> bool:
    return any(c.type == token for c in node.children)


def _docs(node) -> str:
    """The `///` doc comment lines right above a declaration."""
    lines = []
    prev = node.prev_sibling
    while prev is not None and prev.type == "comment" and _text(prev).startswith("///"):
        lines.append(_text(prev)[3:].strip())
        prev = prev.prev_sibling
    return "\n".join(reversed(lines))


class _Types(treesitter.CellTypes):
    """Maps Zig type nodes to spellings (ZigType, which carry their WIT type), resolving the cell's own
    containers on first use, the runtime's (`asterai.Bytes`, `asterai.Result(T, E)`) and those of the
    components the cell uses (`geo.Point`)."""

    def __init__(self, root, uses: dict[str, wit.Interface]) -> None:
        super().__init__()
        self.defs, self.modules = {}, {RUNTIME: RUNTIME}
        for n in root.named_children:
            if n.type != "variable_declaration":
                continue
            name, value = n.named_children[0], n.named_children[-1]
            if value.type in ("struct_declaration", "enum_declaration", "union_declaration"):
                self.defs[_ident(name)] = n
            elif value.type == "builtin_function" and _text(value).startswith("@import("):
                self.modules[_ident(name)] = _text(value)[len("@import(") :].strip('")')
        self.uses = uses
        self.used_modules: set[str] = set()
        self.used_names: list[tuple[str, str]] = []  # (WIT name, Zig spelling) of used components' types

    def spell(self, node, tail: tuple = ()) -> ZigType:
        kind = node.type
        if kind == "field_expression":  # `a.b`: resolved at the innermost name (see the module's doc)
            member = _ident(node.child_by_field_name("member"))
            return self.spell(node.child_by_field_name("object"), (("member", member), *tail))
        if kind == "call_expression":
            function = node.child_by_field_name("function")
            args = tuple(c for c in node.named_children if c != function)
            return self.spell(function, (("call", args), *tail))
        if kind in _WRAPPERS:
            return self._wrapped(node, tail)
        if kind == "parenthesized_expression":
            return self.spell(node.named_children[0], tail)
        if tail:
            if kind != "identifier":
                raise Unsupported(f"`{_text(node)}`")
            return self._qualified(_ident(node), tail)
        if kind == "builtin_type" and _text(node) in SCALARS:
            return ZigType(wit.Prim(SCALARS[_text(node)]), _text(node))
        if kind == "identifier" and _ident(node) in self.defs:
            return self.user_type(_ident(node))
        if kind == "struct_declaration" and self._tuple_fields(node) is not None:
            return self._tuple(self._tuple_fields(node))
        if kind == "struct_declaration":
            raise Unsupported("an anonymous struct (declare it as `pub const Name = struct { ... };`)")
        raise Unsupported(f"`{_text(node)}`")

    def _wrapped(self, node, tail: tuple) -> ZigType:
        kind, inner = node.type, node.named_children[-1]
        if kind == "pointer_type":
            raise Unsupported(
                f"a pointer `{_text(node)}` (take or return the value; a slice `[]const T` is a list)"
            )
        if kind == "array_type":
            raise Unsupported(
                f"an array `{_text(node)}` (WIT lists have no fixed length; use a slice `[]const T`)"
            )
        if kind == "error_union_type":
            raise Unsupported(f"an error union `{_text(node)}` (only a function's result can be `!T`)")
        elem = self.spell(inner, tail)
        if kind == "nullable_type":
            return ZigType(wit.Option(elem.wit), f"?{elem.zig}", (None, elem))
        if node.child_by_field_name("sentinel") is not None:
            raise Unsupported(f"a sentinel-terminated slice `{_text(node)}` (use `[]const {_text(inner)}`)")
        const = "const " if _has(node, "const") else ""
        zig = f"[]{const}{elem.zig}"
        if elem.wit == wit.Prim("u8") and elem.zig == "u8":
            return ZigType(wit.String(), zig)
        return ZigType(wit.List(elem.wit), zig, (elem,))

    def _qualified(self, alias: str, tail: tuple) -> ZigType:
        module = self.modules.get(alias)
        (kind, member), *rest = tail
        if module == RUNTIME and kind == "member":
            if member == "Bytes" and not rest:
                return spell_wit(wit.List(wit.Prim("u8")))
            if member == "Result" and len(rest) == 1 and rest[0][0] == "call" and len(rest[0][1]) == 2:
                ok, err = (self._payload(a) for a in rest[0][1])
                both = ", ".join(t.zig if t else "void" for t in (ok, err))
                ty = wit.Result(ok.wit if ok else None, err.wit if err else None)
                return ZigType(ty, f"{RUNTIME}.Result({both})", (ok, err), ("ok", "err"))
        if module in self.uses and kind == "member" and not rest:
            return self._used(module, member)
        if module is not None and module not in self.uses and module not in ("std", RUNTIME):
            raise Unsupported(f"`{alias}.{member}` (to use component {module}'s types, add `--use {module}`)")
        raise Unsupported(f"`{alias}.{member}`")

    def _payload(self, node) -> ZigType | None:
        """A payload type: `void` is none."""
        return None if _text(node) == "void" else self.spell(node)

    def _used(self, module: str, name: str) -> ZigType:
        """`geo.Point`: a type of a used component; the cell's interface takes it from there (WIT `use`)."""
        ty = used_type(self.uses[module], module, name)
        self.used_modules.add(module)
        self.used_names += [(n.name, f"{module}.{type_name(n.name)}") for n in ty.named_types()]
        return spell_wit(ty, lambda t: f"{use_alias(module)}.{type_name(t.name)}")

    # ---- the cell's own types ----
    def define(self, name: str, node) -> ZigType:
        if not _has(node, "pub"):
            raise Unsupported(f"`{name}`, which is not `pub` (the glue reads it from outside the cell: "
                              f"write `pub const {name} = ...`)")  # fmt: skip
        value, docs = node.named_children[-1], _docs(node)
        zig = f"{CELL}.{_text(node.named_children[0])}"  # as the glue, which imports the cell, spells it
        fields = self._fields(value)
        if not fields:
            raise Unsupported(f"`{name}` (a container without fields has no WIT equivalent)")
        elems = self._tuple_fields(value) if value.type == "struct_declaration" else None
        if elems is not None:
            return self._tuple(elems, zig)
        names = tuple(_text(f.child_by_field_name("name")) for f in fields)
        wit_names = tuple(wit_name(_unquote(n)) for n in names)
        if value.type == "enum_declaration":
            return ZigType(wit.Enum(wit_name(name), wit_names, docs=docs), zig, (), names)
        if value.type == "struct_declaration" and _has(value, "packed") and _flags(fields):
            return self._flags(name, fields, zig, docs)
        if value.type == "union_declaration" and not _has(value, "("):
            raise Unsupported(f"`{name}`, an untagged union (write `union(enum) {{ ... }}`)")
        types = [f.child_by_field_name("type") for f in fields]
        if value.type == "union_declaration":
            parts = tuple(None if t is None else self._payload(t) for t in types)
            cases = tuple((n, p.wit if p else None) for n, p in zip(wit_names, parts))
            return ZigType(wit.Variant(wit_name(name), cases, docs=docs), zig, parts, names)
        parts = tuple(self.spell(t) for t in types)
        record = wit.Record(wit_name(name), tuple(zip(wit_names, (p.wit for p in parts))), docs=docs)
        return ZigType(record, zig, parts, names)

    def _flags(self, name: str, fields: list, zig: str, docs: str) -> ZigType:
        """`packed struct(u8) { read: bool = false, write: bool = false, _pad: u6 = 0 }`: WIT flags, field
        i bit i; padding fields (named `_...`) only after the members, as WIT flags have no gaps."""
        members = [f for f in fields if not _text(f.child_by_field_name("name")).startswith("_")]
        if fields[: len(members)] != members:
            pad = next(f for f in fields if f not in members)
            pad_name = _text(pad.child_by_field_name("name"))
            raise _error_at(pad, f"flags `{name}`: the padding field `{pad_name}` comes before a member; "
                            "WIT flags have no gaps, so put padding last.")  # fmt: skip
        if len(members) > 32:
            raise _error_at(members[32], f"flags `{name}` have {len(members)} members: WIT flags hold at "
                            "most 32.")  # fmt: skip
        names = tuple(_text(f.child_by_field_name("name")) for f in members)
        flags = wit.Flags(wit_name(name), tuple(wit_name(_unquote(n)) for n in names), docs=docs)
        return ZigType(flags, zig, (), names)

    @staticmethod
    def _fields(container) -> list:
        return [c for c in container.named_children if c.type == "container_field"]

    def _tuple_fields(self, struct) -> list | None:
        """The element types of a tuple struct (`struct { u8, []const u8 }`), None for a struct with names.
        (The grammar files a tuple element's type under `name`.)"""
        fields = self._fields(struct)
        if not fields or any(f.child_by_field_name("type") is not None for f in fields):
            return None
        return [f.child_by_field_name("name") for f in fields]

    def _tuple(self, elems: list, zig: str | None = None) -> ZigType:
        parts = tuple(self.spell(e) for e in elems)
        zig = zig or f"struct {{ {', '.join(p.zig for p in parts)} }}"
        return ZigType(wit.Tuple(tuple(p.wit for p in parts)), zig, parts)


def _flags(fields: list) -> bool:
    """Whether a packed struct's fields are a bit set: its members (not named `_...`) are all bools."""
    members = [f for f in fields if not _text(f.child_by_field_name("name")).startswith("_")]
    return bool(members) and all(_text(f.child_by_field_name("type") or f) == "bool" for f in members)


def _error_at(node, message: str) -> CompileError:
    return CompileError(f"line {node.start_point[0] + 1 + LINE_OFFSET}: {message}")


def _result(node, types: _Types) -> ZigType | None:
    """A function's result: `void` is none, `!T` and `E!T` a result<T, string> carrying the error's name."""
    if node is None or _text(node) == "void":
        return None
    if node.type == "error_union_type":
        ok = types._payload(node.child_by_field_name("ok"))
        text = ZigType(wit.String(), "[]const u8")
        return ZigType(wit.Result(ok.wit if ok else None, wit.String()), "", (ok, text), errors=True)
    return types.spell(node)


def _export(node, types: _Types) -> Export:
    zig_name = _text(node.child_by_field_name("name"))
    label = f"`pub fn {_ident(node.child_by_field_name('name'))}`"
    params: list[tuple[str, ZigType]] = []
    plist = next(c for c in node.children if c.type == "parameters")
    for i, p in enumerate(n for n in plist.named_children if n.type == "parameter"):
        name_node, type_node = p.child_by_field_name("name"), p.child_by_field_name("type")
        if _has(p, "comptime") or type_node is None or _text(type_node) in ("anytype", "type"):
            raise _error_at(p, f"{label} is generic (`{_text(p)}`); exported functions need concrete types.")
        name = _ident(name_node) if name_node is not None and _text(name_node) != "_" else f"arg{i}"
        try:
            params.append((name, types.spell(type_node)))
        except Unsupported as e:
            raise _error_at(p, f"{label}: parameter `{name}` has type {e}, which has no WIT equivalent. "
                               f"{SUPPORTED_HINT}") from None  # fmt: skip
    ret = node.child_by_field_name("type")
    try:
        result = _result(ret, types)
    except Unsupported as e:
        raise _error_at(ret, f"{label} returns {e}, which has no WIT equivalent. {SUPPORTED_HINT}") from None
    fn = wit.Function(
        wit_name(_ident(node.child_by_field_name("name"))),
        tuple((wit_name(n), t.wit) for n, t in params),
        result.wit if result else None,
        docs=_docs(node),
    )
    return Export(zig_name, fn, [t for _, t in params], result)


def _exported(node) -> bool:
    return node.type == "function_declaration" and _has(node, "pub") and not _has(node, "extern")


def read_cell(source: str, uses: dict[str, wit.Interface] | None = None
              ) -> tuple[list[Export], list[str]]:  # fmt: skip
    """The cell's exported functions (at least one), and the used components whose types they take or
    return."""
    root = _parser().parse(source.encode()).root_node
    if root.has_error:
        bad = _first_error(root)
        raise _error_at(bad, f"syntax error near `{_text(bad)[:40]}`")
    types = _Types(root, uses or {})
    found = [_export(n, types) for n in root.named_children if _exported(n)]
    if not found:
        raise CompileError(
            "this Zig cell exports nothing: write at least one top-level `pub fn` with typed parameters, "
            "e.g. `pub fn add(a: i32, b: i32) i32 { return a + b; }`."
        )
    check_unique_wit_names(
        [(ex.fn.name, f"`pub fn {ex.zig_name}`") for ex in found]
        + [(t.name, f"the type `{name}`") for name, spell in types.resolved.items() for t in [spell.wit]
           if isinstance(t, (wit.Record, wit.Enum, wit.Flags, wit.Variant))]
        + [(name, f"the type `{zig}` of the used component") for name, zig in dict(types.used_names).items()]
    )  # fmt: skip
    return found, sorted(types.used_modules)
