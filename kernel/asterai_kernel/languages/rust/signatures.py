"""Reading a Rust cell: its top-level `pub fn` signatures and the structs and enums they use (tree-sitter's
Rust grammar) -> WIT functions and types, and how the glue spells each type in Rust."""

from __future__ import annotations

import tree_sitter
import tree_sitter_rust

from ... import wit
from ...errors import CompileError
from ...names import wit_name
from .. import base, treesitter
from ..base import check_unique_wit_names
from ..treesitter import Unsupported
from ..treesitter import first_error as _first_error
from ..treesitter import text as _text
from . import exports, flags, imports

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
    "Result<T, E>, structs/enums defined in the cell, flags (`pub struct Perms(u8);` with `impl Perms { pub "
    "const READ: Perms = Perms(1 << 0); ... }`), and types of components it uses (`geo::Point`)."
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
        self.root = root
        self.consts = flags.bit_consts(root)  # a tuple struct with constants of its type is flags
        flagged = {name for name, node in self.defs.items() if flags.is_candidate(node, self.consts)}
        # `impl X { pub fn new(..) -> Self .. }` on a struct with private state: X is a resource, these are
        # its functions. A struct whose fields are all `pub` is plain data: a record, whatever its impl holds.
        self.impls = {
            _text(n.child_by_field_name("type")): n
            for n in root.named_children
            if n.type == "impl_item"
            and n.child_by_field_name("trait") is None
            and _text(n.child_by_field_name("type")) not in flagged
            and _has_constructor(n)
            and not _all_fields_public(self.defs.get(_text(n.child_by_field_name("type"))))
        }
        self.resources: list[exports.Export] = []  # the resources' constructors, methods, static functions
        self.current_self = ""  # the resource whose `impl` is being read (`Self`)
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
            owned = self.owned(inner)
            if isinstance(owned, wit.Handle):  # `&Account`: lent for the call (the glue hands a reference)
                return wit.Handle(owned.resource, False), False
            return owned, True
        owned = self.owned(node)
        if isinstance(owned, wit.Handle):
            raise Unsupported(f"`{_text(node)}` by value (take `&{_text(node)}`: a resource is lent)")
        return owned, False

    def owned(self, node) -> wit.WitType:
        kind, text = node.type, _text(node)
        if kind == "primitive_type" and text in _SCALARS:
            return wit.Prim(_SCALARS[text])
        if kind == "type_identifier" and text == "String":
            return wit.String()
        if kind == "type_identifier" and text == "Self" and self.current_self:
            return self.user_type(self.current_self)
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
        ty = base.used_type(iface, module, name, "::")
        _, spelled = imports.rust_types(module, iface, self.uses)
        for n in ty.named_types():
            rt = spelled[n.name]
            self.used.setdefault((n.owner, n.name), (rt.path.removeprefix("crate::"), rt))
        return ty

    def maybe_unit(self, node) -> wit.WitType | None:
        return None if node.type == "unit_type" else self.owned(node)

    def define(self, name: str, node) -> wit.WitType:
        if name in self.impls:
            return self._resource(name, node)
        if flags.is_candidate(node, self.consts):
            return self._flags(name, node)
        return self._struct(name, node) if node.type == "struct_item" else self._enum(name, node)

    def _flags(self, name: str, node) -> wit.Flags:
        ty, backing, missing = flags.read_flags(name, node, self.consts[name], self.root, _line)
        ty = wit.Flags(ty.name, ty.flags, docs=_docs(node))
        self.rust[ty.name] = exports.RustType(f"crate::{name}", backing=backing, helpers=missing)
        return ty

    def _resource(self, name: str, node) -> wit.Handle:
        """A struct with an `impl` holding `pub fn new`: a resource (the struct's fields stay inside)."""
        resource = wit.Resource(wit_name(name), docs=_docs(node))
        own = wit.Handle(resource, True)
        self.resolved[name] = own  # its functions name it (`Self`, `&Account`)
        self.rust[resource.name] = exports.RustType(f"crate::{name}")
        outer, self.current_self = self.current_self, name
        try:
            self._resource_functions(name, resource, own)
        finally:
            self.current_self = outer
        return own

    def _resource_functions(self, name: str, resource: wit.Resource, own: wit.Handle) -> None:
        for item in self.impls[name].child_by_field_name("body").named_children:
            if item.type != "function_item" or not _is_exported(item):
                continue
            fn_name = _text(item.child_by_field_name("name"))
            self_param = next((p for p in item.child_by_field_name("parameters").named_children
                               if p.type == "self_parameter"), None)  # fmt: skip
            if self_param is not None and "&" not in _text(self_param):
                raise Unsupported(f"`{name}::{fn_name}` takes `self` by value (take `&self` or `&mut self`)")
            kind = "constructor" if fn_name == "new" else "method" if self_param is not None else "static"
            ex = _export(item, self, self_type=name)
            wit_fn = {"constructor": f"[constructor]{resource.name}",
                      "method": f"[method]{resource.name}.{wit_name(fn_name)}",
                      "static": f"[static]{resource.name}.{wit_name(fn_name)}"}[kind]  # fmt: skip
            params = ex.fn.params
            if kind == "method":
                params = (("self", wit.Handle(resource, False)), *params)
                mutable = "mut" in _text(self_param)
                ex.params.insert(0, exports.Param("self", wit.Handle(resource, False), mutable))
            if kind == "constructor" and ex.fn.result != own:
                raise Unsupported(f"`{name}::new` (a constructor returns `Self`)")
            ex.fn = wit.Function(wit_fn, params, ex.fn.result, docs=ex.fn.docs)
            ex.rust_name = f"{name}::{fn_name}"
            self.resources.append(ex)

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


def _line(node) -> int:
    """The cell's line of a node (the magic is line 1)."""
    return node.start_point[0] + 1 + LINE_OFFSET


def _error_at(node, message: str) -> CompileError:
    return CompileError(f"line {_line(node)}: {message}")


def _all_fields_public(struct) -> bool:
    """A struct with named fields, every one of them `pub` (an enum, or a struct without them, is not)."""
    body = None if struct is None or struct.type != "struct_item" else struct.child_by_field_name("body")
    fields = [] if body is None else [f for f in body.named_children if f.type == "field_declaration"]
    return bool(fields) and all(any(c.type == "visibility_modifier" for c in f.children) for f in fields)


def _has_constructor(impl) -> bool:
    body = impl.child_by_field_name("body")
    return body is not None and any(
        n.type == "function_item" and _is_exported(n) and _text(n.child_by_field_name("name")) == "new"
        for n in body.named_children
    )


def _export(node, types: _Types, self_type: str = "") -> exports.Export:
    rust_name = _text(node.child_by_field_name("name"))
    if node.child_by_field_name("type_parameters") is not None:
        raise _error_at(node, f"`pub fn {rust_name}` is generic; exported functions need concrete types.")
    modifiers = next((c for c in node.children if c.type == "function_modifiers"), None)
    if modifiers is not None and "async" in _text(modifiers):
        raise _error_at(node, f"`pub fn {rust_name}` is async; exported functions must be synchronous.")
    params: list[exports.Param] = []
    for i, p in enumerate(node.child_by_field_name("parameters").named_children):
        if p.type == "self_parameter" and self_type:
            continue  # a method's receiver: the glue passes the resource (see _Types._resource)
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
    for name in types.impls:  # every resource is exported, whether a function names it or not
        if name in types.defs:
            try:
                types.user_type(name)
            except Unsupported as e:
                raise _error_at(types.impls[name], f"`impl {name}`: {e}") from None
    found += types.resources
    check_unique_wit_names(
        [(ex.fn.name, f"`{ex.rust_name}`") for ex in found]
        + [(name, f"the type `{rt.path.removeprefix('crate::')}`") for name, rt in types.rust.items()]
        + [(name, f"the type `{path}` of the used component") for (_, name), (path, _) in types.used.items()]
    )
    return found, {**types.rust, **{name: rt for (_, name), (_, rt) in types.used.items()}}
