"""Reading a Rust cell: its top-level `pub fn` signatures and the structs and enums they use (tree-sitter's
Rust grammar) -> WIT functions and types, and how the glue spells each type in Rust."""

from __future__ import annotations

import tree_sitter
import tree_sitter_rust

from ... import wit
from ...errors import CompileError
from ...names import pascal_name, wit_name
from .. import treesitter
from ..base import check_unique_wit_names
from ..treesitter import Unsupported
from ..treesitter import first_error as _first_error
from ..treesitter import text as _text
from . import exports, imports

# The cell's code is written after one blank line, so rustc's line numbers are the cell's (magic = line 1).
LINE_OFFSET = 1

_SCALARS = {
    "bool": "bool",
    "i8": "s8",
    "u8": "u8",
    "i16": "s16",
    "u16": "u16",
    "i32": "s32",
    "u32": "u32",
    "i64": "s64",
    "u64": "u64",
    "f32": "f32",
    "f64": "f64",
    "char": "char",
}
SUPPORTED_HINT = (
    "Supported: bool, i8..i64, u8..u64, f32, f64, char, String/&str, Vec<T>/&[T], tuples, Option<T>, "
    "Result<T, E>, structs/enums defined in the cell, and types of components it uses (`geo::Point`)."
)


def _parser() -> tree_sitter.Parser:
    return treesitter.parser(tree_sitter_rust.language)


class _Types(treesitter.CellTypes):
    """Maps Rust type nodes to WIT types, resolving the cell's own structs and enums on first use, and the
    types of the components it uses (`geo::Point`, see `used_type`)."""

    def __init__(self, root, uses: dict[str, wit.Interface] | None = None) -> None:
        super().__init__()
        self.defs = {
            _text(n.child_by_field_name("name")): n
            for n in root.named_children
            if n.type in ("struct_item", "enum_item")
        }
        self.rust: dict[str, exports.RustType] = {}  # WIT type name -> how the glue spells it in Rust
        self.uses = uses or {}
        # Providers' types the exports use, with what they contain: (owner, WIT name) -> (Rust path, spelling)
        self.used: dict[tuple[str, str], tuple[str, exports.RustType]] = {}

    def param(self, node) -> tuple[wit.WitType, bool]:
        """WIT type of a parameter's type node, and whether it is a borrow the glue must lend."""
        kind = node.type
        if kind == "primitive_type" and _text(node) == "str":
            raise Unsupported("a bare `str` (write `&str` or `String`)")
        if kind == "reference_type":
            if any(c.type == "mutable_specifier" for c in node.children):
                raise Unsupported(
                    f"`{_text(node)}` (a mutable borrow cannot cross; take the value and return it)"
                )
            inner = node.child_by_field_name("type")
            if inner.type == "primitive_type" and _text(inner) == "str":
                return wit.String(), True
            if inner.type == "array_type" and inner.child_by_field_name("length") is None:
                return wit.List(self.owned(inner.child_by_field_name("element"))), True
            return self.owned(inner), True
        return self.owned(node), False

    def owned(self, node) -> wit.WitType:
        kind, text = node.type, _text(node)
        if kind == "primitive_type" and text in _SCALARS:
            return wit.Prim(_SCALARS[text])
        if kind == "type_identifier" and text == "String":
            return wit.String()
        if kind == "type_identifier" and text in self.defs:
            return self.user_type(text)
        if kind == "scoped_type_identifier":
            module = _text(node.child_by_field_name("path")).removeprefix("crate::")
            if module in self.uses:
                return self.used_type(module, _text(node.child_by_field_name("name")))
        if kind == "generic_type":
            base = _text(node.child_by_field_name("type"))
            args = node.child_by_field_name("type_arguments").named_children
            if base == "Vec" and len(args) == 1:
                return wit.List(self.owned(args[0]))
            if base == "Option" and len(args) == 1:
                return wit.Option(self.owned(args[0]))
            if base == "Result" and len(args) == 2:
                return wit.Result(self.maybe_unit(args[0]), self.maybe_unit(args[1]))
        if kind == "tuple_type":
            return wit.Tuple(tuple(self.owned(c) for c in node.named_children))
        raise Unsupported(f"`{text}`")

    def used_type(self, module: str, name: str) -> wit.WitType:
        """`geo::Point`: a type of a used component's interface. The cell's interface takes it from there
        (WIT `use geo.{point}`) and the glue lifts and lowers the `geo::Point` of the import module."""
        iface = self.uses[module]
        found = {pascal_name(t.name): t for t in iface.types()}
        if name not in found:
            have = ", ".join(f"{module}::{n}" for n in found) or "none"
            raise Unsupported(f"`{module}::{name}` ({module}'s exports use no such type; they use: {have})")
        ty = wit.foreign(found[name], iface.name)
        _, spelled = imports.rust_types(module, iface, self.uses)
        for n in ty.named_types():
            rt = spelled[n.name]
            self.used.setdefault((n.owner, n.name), (rt.path.removeprefix("crate::"), rt))
        return ty

    def maybe_unit(self, node) -> wit.WitType | None:
        return None if node.type == "unit_type" else self.owned(node)

    def define(self, name: str, node) -> wit.WitType:
        return self._struct(name, node) if node.type == "struct_item" else self._enum(name, node)

    def _struct(self, name: str, node) -> wit.Record:
        body = node.child_by_field_name("body")
        if body is None or body.type != "field_declaration_list" or not body.named_children:
            raise Unsupported(
                f"`{name}` (only structs with named fields cross, e.g. `struct P {{ x: f64 }}`)"
            )
        fields, rust_fields = [], []
        for f in body.named_children:
            if f.type != "field_declaration":
                continue
            fname = _text(f.child_by_field_name("name"))
            fields.append((wit_name(fname), self.owned(f.child_by_field_name("type"))))
            rust_fields.append(fname)
        record = wit.Record(wit_name(name), tuple(fields), docs=_docs(node))
        self.rust[record.name] = exports.RustType(f"crate::{name}", fields=rust_fields)
        return record

    def _enum(self, name: str, node) -> wit.WitType:
        cases, rust_cases = [], []
        for v in node.child_by_field_name("body").named_children:
            if v.type != "enum_variant":
                continue
            vname = _text(v.child_by_field_name("name"))
            body = v.child_by_field_name("body")
            if body is None:
                cases.append((wit_name(vname), None))
                rust_cases.append((vname, 0))
            elif body.type == "ordered_field_declaration_list":
                types = [self.owned(c) for c in body.named_children if c.type not in ("attribute_item",)]
                payload = types[0] if len(types) == 1 else wit.Tuple(tuple(types))
                cases.append((wit_name(vname), payload))
                rust_cases.append((vname, len(types)))
            else:
                raise Unsupported(
                    f"`{name}::{vname} {{ .. }}` (a variant with named fields; "
                    f"use `{vname}(T)` with a struct T)"
                )
        if not cases:
            raise Unsupported(f"`{name}` (an enum without variants)")
        self.rust[wit_name(name)] = exports.RustType(f"crate::{name}", cases=rust_cases)
        if all(p is None for _, p in cases):
            return wit.Enum(wit_name(name), tuple(c for c, _ in cases), docs=_docs(node))
        return wit.Variant(wit_name(name), tuple(cases), docs=_docs(node))


def _docs(node) -> str:
    """The `///` doc comment lines right above an item."""
    lines = []
    prev = node.prev_named_sibling
    while prev is not None and prev.type in ("line_comment", "attribute_item"):
        if prev.type == "line_comment" and _text(prev).startswith("///"):
            lines.append(_text(prev)[3:].strip())
        prev = prev.prev_named_sibling
    return "\n".join(reversed(lines))


def _is_exported(node) -> bool:
    vis = next((c for c in node.children if c.type == "visibility_modifier"), None)
    return vis is not None and _text(vis) == "pub"


def _error_at(node, message: str) -> CompileError:
    line = node.start_point[0] + 1 + LINE_OFFSET
    return CompileError(f"line {line}: {message}")


def _export(node, types: _Types) -> exports.Export:
    rust_name = _text(node.child_by_field_name("name"))
    if node.child_by_field_name("type_parameters") is not None:
        raise _error_at(node, f"`pub fn {rust_name}` is generic; exported functions need concrete types.")
    modifiers = next((c for c in node.children if c.type == "function_modifiers"), None)
    if modifiers is not None and "async" in _text(modifiers):
        raise _error_at(node, f"`pub fn {rust_name}` is async; exported functions must be synchronous.")
    params: list[exports.Param] = []
    for i, p in enumerate(node.child_by_field_name("parameters").named_children):
        if p.type != "parameter":
            raise _error_at(p, f"`pub fn {rust_name}`: unsupported parameter `{_text(p)}`.")
        name = _text(p.child_by_field_name("pattern")).removeprefix("mut ").strip()
        if not name.isidentifier() or name == "_":
            name = f"arg{i}"
        try:
            ty, by_ref = types.param(p.child_by_field_name("type"))
        except Unsupported as e:
            raise _error_at(
                p,
                f"`pub fn {rust_name}`: parameter `{name}` has type {e}, which has no WIT equivalent. "
                f"{SUPPORTED_HINT}",
            ) from None
        params.append(exports.Param(name, ty, by_ref))
    result = None
    ret = node.child_by_field_name("return_type")
    if ret is not None and ret.type != "unit_type":
        if ret.type == "reference_type":
            raise _error_at(
                ret, f"`pub fn {rust_name}` returns a borrow `{_text(ret)}`; return an owned value."
            )
        try:
            result = types.owned(ret)
        except Unsupported as e:
            raise _error_at(
                ret, f"`pub fn {rust_name}` returns {e}, which has no WIT equivalent. {SUPPORTED_HINT}"
            ) from None
    fn = wit.Function(
        wit_name(rust_name), tuple((wit_name(p.name), p.ty) for p in params), result, docs=_docs(node)
    )
    return exports.Export(rust_name, fn, params)


def read_cell(source: str, uses: dict[str, wit.Interface] | None = None
              ) -> tuple[list[exports.Export], dict[str, exports.RustType]]:  # fmt: skip
    """The cell's exported functions, and the Rust spelling of the types they use (the cell's own, and
    those of the components in `uses` it names, like `geo::Point`)."""
    root = _parser().parse(source.encode()).root_node
    if root.has_error:
        bad = _first_error(root)
        raise _error_at(bad, f"syntax error near `{_text(bad)[:40]}`")
    types = _Types(root, uses)
    found = [_export(n, types) for n in root.named_children if n.type == "function_item" and _is_exported(n)]
    check_unique_wit_names(
        [(ex.fn.name, f"`{ex.rust_name}`") for ex in found]
        + [(name, f"the type `{rt.path.removeprefix('crate::')}`") for name, rt in types.rust.items()]
        + [(name, f"the type `{path}` of the used component") for (_, name), (path, _) in types.used.items()]
    )
    return found, {**types.rust, **{name: rt for (_, name), (_, rt) in types.used.items()}}
