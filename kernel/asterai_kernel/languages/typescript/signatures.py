"""TypeScript signatures (tree-sitter) -> WIT, and how each value looks on the JavaScript side.

JavaScript cells reuse this: their JSDoc types are turned into TypeScript declarations first (jsdoc.py).
A cell exports every top-level `export function` (and `export const f = (..): T => ..`) whose parameters and
result are typed. Types a cell can use: number (f64), the kernel's integer aliases u8..u64, s8..s64 and f32
(the 64-bit ones are bigint), char, string, boolean, T[] / Array<T>, Uint8Array (list<u8>), [A, B] (tuple),
T | undefined (option), Result<T, E> ({tag: "ok" | "err", val}), and types the cell declares: interfaces or
object type aliases (record), unions of string literals (enum), unions of `{tag: "name", val?: T}` (variant),
numeric enums of bits (flags, flags.py) and exported classes (resource).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import tree_sitter
import tree_sitter_typescript

from ... import wit
from ...errors import CompileError
from ...names import pascal_name, wit_name
from .. import treesitter
from ..base import refuse_held_resource
from ..treesitter import Unsupported, text
from ..treesitter import first_error as first_error
from .flags import read_flags

# The cell's code is written after one blank line, so a parser's line numbers are the cell's (magic = line 1).
LINE_OFFSET = 1

KERNEL_ALIASES = {
    "u8": "u8", "u16": "u16", "u32": "u32", "u64": "u64",
    "s8": "s8", "s16": "s16", "s32": "s32", "s64": "s64",
    "f32": "f32", "f64": "f64", "char": "char",
}  # fmt: skip
SUPPORTED_HINT = (
    "Supported: number, the kernel's u8..u64, s8..s64, f32, char (no need to declare them), string, boolean, "
    "T[], Uint8Array, [A, B], T | undefined, Result<T, E>, and interfaces, object types, string-literal "
    "unions, {tag, val} unions and enums of bits (`Read = 1 << 0`) declared in the cell."
)
# What a newcomer may write instead of a name this mapping does not know.
HINTS = {
    "bigint": "`bigint` (write the kernel's `s64` or `u64`)",
    "any": "`any` (give the parameter a real type)",
    "unknown": "`unknown` (give the parameter a real type)",
    "object": "`object` (declare an interface with the fields)",
    "Object": "`Object` (declare an interface with the fields)",
    "Date": "`Date` (pass a number of milliseconds or an ISO string)",
    "Promise": "`Promise` (exports must be synchronous)",
    "i8": "`i8` (the kernel's signed integers are s8, s16, s32, s64)",
    "i16": "`i16` (the kernel's signed integers are s8, s16, s32, s64)",
    "i32": "`i32` (the kernel's signed integers are s8, s16, s32, s64)",
    "i64": "`i64` (the kernel's signed integers are s8, s16, s32, s64)",
}


def parser() -> tree_sitter.Parser:
    return treesitter.parser(tree_sitter_typescript.language_typescript)


@dataclass(frozen=True)
class JsType:
    """A WIT type and how the cell's JavaScript sees it (the glue converts between the two)."""

    kind: str  # prim string bytes list option result tuple record enum variant flags resource
    wit: wit.WitType
    children: tuple[JsType | None, ...] = ()
    # record: the cell's property names; enum: its string literals; variant: its tag literals; flags: its
    # enum's member names, in bit order
    keys: tuple[str, ...] = ()
    as_array: bool = False  # list<u8> written `u8[]` (a plain array, not a Uint8Array)


@dataclass
class Export:
    js_name: str  # the cell's name for it
    fn: wit.Function
    params: list[tuple[str, JsType]]
    result: JsType | None
    top_result: bool  # returns Result<T, E>: an err raises ComponentError in Python
    line: int


@dataclass
class Cell:
    exports: list[Export]
    # named types by WIT name, for the glue
    named: dict[str, JsType] = field(default_factory=dict)
    # exported classes, which are WIT resources: WIT name -> the class's name in the cell
    resources: dict[str, str] = field(default_factory=dict)


def camel(name: str) -> str:
    """JavaScript's name for a WIT name, as jco and componentize-qjs spell it: `word-count` -> `wordCount`."""
    first, *rest = wit_name(name).split("-")
    return first + "".join(w[:1].upper() + w[1:] for w in rest)


def doc_comment(node) -> str:
    """The description of a `/** ... */` comment right above a declaration (JSDoc tags left out)."""
    prev = node.prev_named_sibling
    if prev is None or prev.type != "comment" or not text(prev).startswith("/**"):
        return ""
    if prev.end_point[0] + 1 < node.start_point[0]:
        return ""
    lines = []
    for line in text(prev)[3:-2].splitlines():
        line = line.strip().removeprefix("*").strip()
        if line.startswith("@"):
            break
        lines.append(line)
    return "\n".join(lines).strip()


class Types(treesitter.CellTypes):
    """Maps TypeScript type nodes to JsType, resolving the cell's own declarations on first use."""

    def __init__(self, root, line_of: Callable, uses: dict[str, wit.Interface] | None = None) -> None:
        self.line_of = line_of
        self.uses = uses or {}
        super().__init__()
        self.defs: dict[str, object] = {}
        for n in root.named_children:
            decl = n.child_by_field_name("declaration") if n.type == "export_statement" else n
            if decl is not None and decl.type in ("interface_declaration", "type_alias_declaration"):
                self.defs[text(decl.child_by_field_name("name"))] = decl
            if decl is not None and decl.type == "enum_declaration":
                self.defs[text(decl.child_by_field_name("name"))] = decl
            if decl is not None and decl.type == "class_declaration" and n.type == "export_statement":
                self.defs[text(decl.child_by_field_name("name"))] = decl
        self.imported = _imported_names(root)  # name -> the module it comes from
        self.originals = _imported_originals(root)  # `import { Point as P }`: P -> Point
        self.named: dict[str, JsType] = {}  # WIT name -> type
        self.resources: dict[str, str] = {}  # WIT name -> the exported class's name
        self.resource_exports: list[Export] = []  # their constructors, methods and static functions

    # ---- type expressions ----
    def map(self, node) -> JsType:
        kind, src = node.type, text(node)
        if kind in ("parenthesized_type", "readonly_type"):
            return self.map(node.named_children[-1])
        if kind == "predefined_type":
            if src == "number":
                return JsType("prim", wit.Prim("f64"))
            if src == "string":
                return JsType("string", wit.String())
            if src == "boolean":
                return JsType("prim", wit.Prim("bool"))
            raise Unsupported(HINTS.get(src, f"`{src}`"))
        if kind == "type_identifier":
            return self.named_type(src)
        if kind == "nested_type_identifier":  # `geo.Point`, after `import * as geo from "geo"`
            module = self.imported.get(text(node.named_children[0]))
            if module in self.uses:
                return self.used_type(module, text(node.named_children[-1]))
        if kind == "member_expression":  # `import("geo").Point` (a JSDoc typedef becomes that)
            target = node.child_by_field_name("object")
            args = target.child_by_field_name("arguments") if target.type == "call_expression" else None
            if args is not None and text(target.child_by_field_name("function")) == "import":
                module = text(args)[2:-2]
                if module in self.uses and len(args.named_children) == 1:
                    return self.used_type(module, text(node.child_by_field_name("property")))
        if kind == "generic_type":
            return self.generic(node)
        if kind == "array_type":
            elem = self.map(node.named_children[0])
            if elem.wit == wit.Prim("u8"):
                return JsType("bytes", wit.List(elem.wit), (elem,), as_array=True)
            return JsType("list", wit.List(elem.wit), (elem,))
        if kind == "tuple_type":
            elems = [self.map(c) for c in node.named_children]
            if not elems:
                raise Unsupported("`[]` (an empty tuple)")
            return JsType("tuple", wit.Tuple(tuple(e.wit for e in elems)), tuple(elems))
        if kind == "union_type":
            return self.union(node)
        if kind == "object_type":
            raise Unsupported(
                f"`{_short(src)}` (an inline object type: declare it with a name, e.g. "
                "`interface Point { x: number; y: number }`, and use `Point`)"
            )
        if kind == "literal_type":
            raise Unsupported(f'`{src}` (a literal type: declare a union, e.g. `type Mode = "a" | "b"`)')
        raise Unsupported(f"`{_short(src)}`")

    def named_type(self, name: str) -> JsType:
        if name in KERNEL_ALIASES:
            prim = KERNEL_ALIASES[name]
            return JsType("string", wit.Prim("char")) if prim == "char" else JsType("prim", wit.Prim(prim))
        if name == "Uint8Array":
            return JsType("bytes", wit.List(wit.Prim("u8")), (JsType("prim", wit.Prim("u8")),))
        if name in self.defs:
            return self.user_type(name)
        if self.imported.get(name) in self.uses:
            return self.used_type(self.imported[name], self.originals.get(name, name))
        if name in self.imported:
            raise Unsupported(
                f'`{name}` (imported from "{self.imported[name]}"; this cell\'s exports can only use types '
                f"it declares: declare `{name}` here with the same fields)"
            )
        raise Unsupported(HINTS.get(name, f"`{name}`"))

    def used_type(self, module: str, name: str) -> JsType:
        """`import type { Point } from "geo"`: a type of a used component. The cell's interface takes it
        from geo's (WIT `use`); the cell sees it as geo's module does, so the glue converts nothing."""
        iface = self.uses[module]
        found = {pascal_name(t.name): t for t in iface.types()}
        if name not in found:
            have = ", ".join(found) or "none"
            raise Unsupported(f'`{name}` from "{module}" ({module}\'s exports use no such type; they use: '
                              f"{have})")  # fmt: skip
        refuse_held_resource(found[name], module, name)  # the cell's own exports cannot pass them on
        ty = default_js(wit.foreign(found[name], iface.name))
        for n in ty.wit.named_types():
            other = self.named.get(n.name)
            if other is not None and other.wit.owner != n.owner:
                raise Unsupported(
                    f'`{name}` from "{module}" (it brings the WIT type `{n.name}`, and a type of the cell '
                    "also becomes that WIT name; rename the cell's)"
                )
            if other is None:
                self.named[n.name] = default_js(n)
        return ty

    def generic(self, node) -> JsType:
        base = text(node.named_children[0])
        args = node.child_by_field_name("type_arguments") or node.named_children[-1]
        args = [a for a in args.named_children]
        if base in ("Array", "ReadonlyArray") and len(args) == 1:
            elem = self.map(args[0])
            if elem.wit == wit.Prim("u8"):
                return JsType("bytes", wit.List(elem.wit), (elem,), as_array=True)
            return JsType("list", wit.List(elem.wit), (elem,))
        if base == "Result" and len(args) == 2:
            ok, err = (None if _is_void(a) else self.map(a) for a in args)
            return JsType("result", wit.Result(ok and ok.wit, err and err.wit), (ok, err))
        raise Unsupported(HINTS.get(base, f"`{_short(text(node))}`"))

    def union(self, node) -> JsType:
        members = _flatten_union(node)
        nullish = [m for m in members if _is_nullish(m)]
        rest = [m for m in members if not _is_nullish(m)]
        if not rest:
            raise Unsupported(f"`{text(node)}` (nothing but undefined)")
        if nullish:
            inner = self.map(rest[0]) if len(rest) == 1 else self.union_of(rest, node)
            if inner.kind == "option":
                raise Unsupported(f"`{text(node)}` (an option inside an option cannot be written here)")
            return JsType("option", wit.Option(inner.wit), (inner,))
        return self.union_of(rest, node)

    def union_of(self, members, node) -> JsType:
        if all(_string_literal(m) is not None for m in members):
            raise Unsupported(
                f"`{_short(text(node))}` (name the union to make it an enum, e.g. "
                f"`type Mode = {_short(text(node))}`)"
            )
        raise Unsupported(f"`{_short(text(node))}` (a union; only `T | undefined` maps to WIT here)")

    # ---- the cell's declarations ----
    def define(self, name: str, node) -> JsType:
        return self._declaration(name, node)

    def user_type(self, name: str) -> JsType:
        known = name in self.resolved
        ty = super().user_type(name)
        # (`type P = import("geo").Point` names a used component's type: not one of the cell's own)
        if not known and ty.kind in ("record", "enum", "variant", "flags") and not ty.wit.owner:
            other = self.named.get(ty.wit.name)
            if other is not None and other is not ty:
                what = "a type of a used component" if other.wit.owner else "another type"
                raise Unsupported(f"`{name}` ({what} also becomes the WIT name `{ty.wit.name}`)")
            self.named[ty.wit.name] = ty
        return ty

    def _declaration(self, name: str, node) -> JsType:
        docs = doc_comment(node.parent if node.parent.type == "export_statement" else node)
        if node.type == "interface_declaration":
            if any(c.type == "extends_type_clause" for c in node.children):
                raise Unsupported(f"`{name}` (an interface that extends another: list all its fields)")
            return self._record(name, node.child_by_field_name("body"), docs)
        if node.type == "class_declaration":
            return self._resource(name, node, docs)
        if node.type == "enum_declaration":
            flags, cell_names = read_flags(name, node, self.line_of, docs)
            return JsType("flags", flags, (), cell_names)
        value = node.child_by_field_name("value")
        while value.type == "parenthesized_type":
            value = value.named_children[0]
        if value.type == "object_type":
            return self._record(name, value, docs)
        if value.type == "union_type":
            members = _flatten_union(value)
            if not any(_is_nullish(m) for m in members):
                literals = [_string_literal(m) for m in members]
                if all(lit is not None for lit in literals):
                    return self._enum(name, literals, docs)
                if all(m.type == "object_type" for m in members):
                    return self._variant(name, members, docs)
        return self.map(value)  # a plain alias: `type Id = u32`

    def _resource(self, name: str, node, docs: str) -> JsType:
        """`export class Account`: a WIT resource. Its constructor and public methods with types are the
        resource's; `static` methods its static functions. The engine calls the class itself."""
        resource = wit.Resource(self._wit_name(name, "the class"), docs=docs)
        own = JsType("resource", wit.Handle(resource, True))
        self.resolved[name] = own  # its methods name the class itself
        self.resources[resource.name] = name
        for member in node.child_by_field_name("body").named_children:
            if member.type != "method_definition":
                continue
            mname = text(member.child_by_field_name("name"))
            if mname.startswith(("#", "_")) or any(
                c.type == "accessibility_modifier" for c in member.children
            ):
                continue
            static = any(c.type == "static" for c in member.children)
            kind = "constructor" if mname == "constructor" else "static" if static else "method"
            ex = read_export(mname, member, member, self, self.line_of, constructor=kind == "constructor")
            params = tuple(ex.fn.params)
            if kind == "method":
                params = (("self", wit.Handle(resource, False)), *params)
            wit_fn = {"constructor": f"[constructor]{resource.name}",
                      "method": f"[method]{resource.name}.{wit_name(mname)}",
                      "static": f"[static]{resource.name}.{wit_name(mname)}"}[kind]  # fmt: skip
            result = own.wit if kind == "constructor" else ex.fn.result
            ex.fn = wit.Function(wit_fn, params, result, docs=ex.fn.docs)
            self.resource_exports.append(ex)
        if not any(wit.resource_part(e.fn.name)[1:] == (resource.name, "") for e in self.resource_exports):
            raise Unsupported(f"`{name}` (an exported class needs a constructor with typed parameters)")
        return own

    def _wit_name(self, name: str, what: str) -> str:
        try:
            return wit_name(name)
        except ValueError:
            raise Unsupported(f"{what} `{name}` (a WIT name must start with a letter)") from None

    def _record(self, name: str, body, docs: str) -> JsType:
        fields, keys, kids = [], [], []
        for member in body.named_children:
            if member.type == "comment":
                continue
            if member.type != "property_signature":
                raise Unsupported(f"`{name}` (its member `{_short(text(member))}` is not a plain field)")
            key = text(member.child_by_field_name("name"))
            if key[:1] in "'\"":
                key = key[1:-1]
            annotation = member.child_by_field_name("type")
            if annotation is None:
                raise Unsupported(f"`{name}` (its field `{key}` has no type)")
            try:
                ty = self.map(annotation.named_children[0])
            except Unsupported as e:
                raise Unsupported(f"`{name}` (its field `{key}` has type {e})") from None
            if any(c.type == "?" for c in member.children):
                if ty.kind == "option":
                    raise Unsupported(f"`{name}` (its field `{key}?` is already optional)")
                ty = JsType("option", wit.Option(ty.wit), (ty,))
            fname = self._wit_name(key, "the field")
            if fname in [f for f, _ in fields]:
                raise Unsupported(f"`{name}` (two fields become the WIT name `{fname}`)")
            fields.append((fname, ty.wit))
            keys.append(key)
            kids.append(ty)
        if not fields:
            raise Unsupported(f"`{name}` (a record needs at least one field)")
        record = wit.Record(self._wit_name(name, "the type"), tuple(fields), docs=docs)
        return JsType("record", record, tuple(kids), tuple(keys))

    def _enum(self, name: str, literals: list[str], docs: str) -> JsType:
        cases = [self._wit_name(lit, "the case") for lit in literals]
        if len(set(cases)) != len(cases):
            raise Unsupported(f"`{name}` (two of its strings become the same WIT name)")
        enum = wit.Enum(self._wit_name(name, "the type"), tuple(cases), docs=docs)
        return JsType("enum", enum, (), tuple(literals))

    def _variant(self, name: str, members, docs: str) -> JsType:
        cases, tags, kids = [], [], []
        for m in members:
            props = {}
            for p in m.named_children:
                if p.type == "comment":
                    continue
                if p.type != "property_signature":
                    raise Unsupported(f'`{name}` (a case must look like `{{ tag: "name"; val: T }}`)')
                props[text(p.child_by_field_name("name"))] = p
            tag = props.pop("tag", None)
            lit = None
            if tag is not None and tag.child_by_field_name("type") is not None:
                lit = _string_literal(tag.child_by_field_name("type").named_children[0])
            if lit is None or set(props) - {"val"}:
                raise Unsupported(
                    f"`{name}` (a union of objects maps to a WIT variant when each case is "
                    f'`{{ tag: "name"; val: T }}` or `{{ tag: "name" }}`; got `{_short(text(m))}`)'
                )
            payload = None
            if "val" in props:
                payload = self.map(props["val"].child_by_field_name("type").named_children[0])
            cases.append((self._wit_name(lit, "the case"), payload and payload.wit))
            tags.append(lit)
            kids.append(payload)
        if len({c for c, _ in cases}) != len(cases):
            raise Unsupported(f"`{name}` (two of its tags become the same WIT name)")
        variant = wit.Variant(self._wit_name(name, "the type"), tuple(cases), docs=docs)
        return JsType("variant", variant, tuple(kids), tuple(tags))


def _imported_originals(root) -> dict[str, str]:
    """Names imported under an alias (`import { Point as P }`): alias -> the module's own name."""
    found = {}
    for n in root.named_children:
        if n.type == "import_statement":
            stack = [n]
            while stack:
                node = stack.pop()
                if node.type == "import_specifier" and node.child_by_field_name("alias") is not None:
                    found[text(node.child_by_field_name("alias"))] = text(node.child_by_field_name("name"))
                stack.extend(node.named_children)
    return found


def _imported_names(root) -> dict[str, str]:
    names = {}
    for n in root.named_children:
        if n.type != "import_statement":
            continue
        source = n.child_by_field_name("source")
        module = text(source)[1:-1] if source is not None else ""
        stack = [n]
        while stack:
            node = stack.pop()
            if node.type in ("import_specifier", "namespace_import") or (
                node.type == "identifier" and node.parent is not None and node.parent.type == "import_clause"
            ):
                ident = node.child_by_field_name("alias") or node.child_by_field_name("name") or node
                if ident.type == "namespace_import":
                    ident = ident.named_children[-1]
                names[text(ident)] = module
            else:
                stack.extend(node.named_children)
    return names


def _short(s: str, n: int = 60) -> str:
    s = " ".join(s.split())
    return s if len(s) <= n else s[: n - 3] + "..."


def _flatten_union(node) -> list:
    out = []
    for c in node.named_children:
        while c.type == "parenthesized_type":
            c = c.named_children[0]
        out.extend(_flatten_union(c) if c.type == "union_type" else [c])
    return out


def _is_nullish(node) -> bool:
    return text(node) in ("undefined", "null") and node.type in ("literal_type", "predefined_type")


def _is_void(node) -> bool:
    return text(node) in ("void", "undefined")


def _string_literal(node) -> str | None:
    if node.type == "literal_type" and node.named_children and node.named_children[0].type == "string":
        s = text(node.named_children[0])
        return s[1:-1]
    return None


# ---------------------------------------------------------------- exports


def _error(line: int, message: str) -> CompileError:
    return CompileError(f"line {line}: {message}")


def syntax_check(root, line_of: Callable) -> None:
    if root.has_error:
        bad = first_error(root)
        what = f"missing `{bad.type}`" if bad.is_missing else f"near `{_short(text(bad), 40)}`"
        raise _error(line_of(bad), f"syntax error {what}")


def _functions_of(stmt, decl) -> list[tuple[str, object, object]]:
    if decl.type in ("function_declaration", "generator_function_declaration", "function_signature"):
        return [(text(decl.child_by_field_name("name")), decl, stmt)]
    found = []
    if decl.type in ("lexical_declaration", "variable_declaration"):
        for d in decl.named_children:
            value = d.child_by_field_name("value") if d.type == "variable_declarator" else None
            if value is not None and value.type in ("arrow_function", "function_expression", "function"):
                found.append((text(d.child_by_field_name("name")), value, stmt))
    return found


def exported_functions(root) -> list[tuple[str, object, object]]:
    """(name, function node, statement node) for each `export function`, `export const f = (...) =>` and
    `export { f, g as h }` of the cell's top-level functions."""
    found, local, clauses = [], {}, []
    for n in root.named_children:
        if n.type != "export_statement":
            for name, fn, stmt in _functions_of(n, n):
                local[name] = (fn, stmt)
            continue
        if any(c.type == "default" for c in n.children):
            continue
        decl = n.child_by_field_name("declaration")
        if decl is not None:
            found += _functions_of(n, decl)
        elif n.child_by_field_name("source") is None:  # `export { a, b as c }`, not a re-export
            clauses += [c for c in n.named_children if c.type == "export_clause"]
    for clause in clauses:
        for spec in clause.named_children:
            if spec.type != "export_specifier":
                continue
            name = text(spec.child_by_field_name("name"))
            alias = spec.child_by_field_name("alias")
            if name in local:
                fn, stmt = local[name]
                found.append((text(alias) if alias is not None else name, fn, stmt))
    return found


def read_export(name: str, fn, stmt, types: Types, line_of: Callable, how: str = "TypeScript",
                constructor: bool = False) -> Export:  # fmt: skip
    line = line_of(fn)
    label = f"`export function {name}`"
    if fn.type == "generator_function_declaration":
        raise _error(line, f"{label} is a generator; exported functions must return a value.")
    if fn.type == "function_signature":
        raise _error(line, f"{label} is an overload signature; export one function with one signature.")
    if any(c.type == "async" for c in fn.children):
        raise _error(line, f"{label} is async; exported functions must be synchronous.")
    if fn.child_by_field_name("type_parameters") is not None:
        raise _error(line, f"{label} is generic; exported functions need concrete types.")
    params: list[tuple[str, JsType]] = []
    param_nodes = fn.child_by_field_name("parameters")
    if param_nodes is None:  # `x => ...`
        raise _error(line, f"{label}: put its parameter in parentheses with a type, e.g. `(x: number) =>`.")
    for p in param_nodes.named_children:
        if p.type == "comment":
            continue
        pattern = p.child_by_field_name("pattern")
        pname = text(pattern) if pattern is not None else text(p)
        if p.type not in ("required_parameter", "optional_parameter") or pattern.type != "identifier":
            raise _error(line_of(p), f"{label}: parameter `{_short(pname)}` must be a plain name and a type.")
        annotation = p.child_by_field_name("type")
        if annotation is None:
            raise _error(line_of(p), missing_type(name, pname, how))
        try:
            ty = types.map(annotation.named_children[0])
        except Unsupported as e:
            raise _error(
                line_of(p),
                f"{label}: parameter `{pname}` has type {e}, which has no WIT equivalent. {SUPPORTED_HINT}",
            ) from None
        if p.type == "optional_parameter":
            if ty.kind == "option":
                raise _error(line_of(p), f"{label}: parameter `{pname}?` is already optional.")
            ty = JsType("option", wit.Option(ty.wit), (ty,))
        if ty.kind == "resource":  # an object of an exported class is lent for the call
            ty = JsType("resource", wit.Handle(ty.wit.resource, False))
        params.append((pname, ty))
    ret = fn.child_by_field_name("return_type")
    if ret is None and not constructor:
        raise _error(line, missing_return(name, how))
    ret_node = None if ret is None else ret.named_children[0] if ret.type == "type_annotation" else ret
    result = None
    if ret_node is not None and not _is_void(ret_node):
        try:
            result = types.map(ret_node)
        except Unsupported as e:
            raise _error(
                line_of(ret_node), f"{label} returns {e}, which has no WIT equivalent. {SUPPORTED_HINT}"
            ) from None
    wit_params = []
    for pname, ty in params:
        try:
            wit_params.append((wit_name(pname), ty.wit))
        except ValueError:
            raise _error(line, f"{label}: parameter `{pname}` cannot be a WIT name.") from None
    try:
        fname = wit_name(name)
    except ValueError:
        raise _error(line, f"{label}: `{name}` cannot be a WIT name (start it with a letter).") from None
    function = wit.Function(fname, tuple(wit_params), result and result.wit, docs=doc_comment(stmt))
    top = result is not None and result.kind == "result"
    return Export(name, function, params, result, top, line)


def missing_type(fn: str, param: str, how: str) -> str:
    if how == "JavaScript":
        return (
            f"`export function {fn}`: parameter `{param}` has no type. Annotate it with JSDoc, e.g.\n"
            f"  /**\n   * @param {{number}} {param}\n   * @returns {{number}}\n   */"
        )
    return f"`export function {fn}`: parameter `{param}` has no type; write e.g. `{param}: number`."


def missing_return(fn: str, how: str) -> str:
    if how == "JavaScript":
        return (
            f"`export function {fn}` has no @returns: say what it returns, e.g. `@returns {{number}}` "
            "(or `@returns {void}`)."
        )
    return (
        f"`export function {fn}` has no return type: write it after the parameters, e.g. "
        f"`function {fn}(...): number {{` (or `: void`)."
    )


def read_cell(source: str, how: str = "TypeScript", line_of: Callable | None = None,
              uses: dict[str, wit.Interface] | None = None) -> Cell:  # fmt: skip
    """The exports of a TypeScript cell (or of the TypeScript that a JavaScript cell's JSDoc became);
    `uses`: the components it imports (`--use`), whose types its exports may use."""
    line_of = line_of or (lambda node: node.start_point[0] + 1 + LINE_OFFSET)
    root = parser().parse(source.encode()).root_node
    syntax_check(root, line_of)
    types = Types(root, line_of, uses)
    exports = [read_export(n, fn, stmt, types, line_of, how) for n, fn, stmt in exported_functions(root)]
    for name, decl in types.defs.items():  # every exported class is a resource, named or not
        if decl.type == "class_declaration":
            try:
                types.user_type(name)
            except Unsupported as e:
                raise _error(line_of(decl), f"`export class {name}`: {e}") from None
    exports += types.resource_exports
    seen: dict[str, str] = {}
    for ex in exports:
        if ex.fn.name in seen:
            raise _error(ex.line, f"`{seen[ex.fn.name]}` and `{ex.js_name}` both become the WIT name "
                                  f"`{ex.fn.name}`; rename one.")  # fmt: skip
        seen[ex.fn.name] = ex.js_name
    for ex in exports:
        if ex.fn.name in types.named:
            raise _error(
                ex.line,
                f"`{ex.js_name}` and a type of the cell both become the WIT name "
                f"`{ex.fn.name}`; rename one (WIT keeps functions and types in one scope).",
            )
    return Cell(exports, dict(types.named), dict(types.resources))


def default_js(t: wit.WitType | None) -> JsType | None:
    """How a cell sees a WIT type it did not declare itself (another component's, under `--use`)."""
    if t is None:
        return None
    if isinstance(t, wit.Prim):
        return JsType("string" if t.name == "char" else "prim", t)
    if isinstance(t, wit.String):
        return JsType("string", t)
    if isinstance(t, wit.List):
        kind = "bytes" if t.elem == wit.Prim("u8") else "list"
        return JsType(kind, t, (default_js(t.elem),))
    if isinstance(t, wit.Option):
        return JsType("option", t, (default_js(t.inner),))
    if isinstance(t, wit.Result):
        return JsType("result", t, (default_js(t.ok), default_js(t.err)))
    if isinstance(t, wit.Tuple):
        return JsType("tuple", t, tuple(default_js(e) for e in t.elems))
    if isinstance(t, wit.Record):
        return JsType(
            "record", t, tuple(default_js(f) for _, f in t.fields), tuple(camel(n) for n, _ in t.fields)
        )
    if isinstance(t, wit.Enum):
        return JsType("enum", t, (), t.cases)
    if isinstance(t, wit.Variant):
        return JsType("variant", t, tuple(default_js(p) for _, p in t.cases), tuple(c for c, _ in t.cases))
    if isinstance(t, wit.Flags):
        return JsType("flags", t, (), tuple(pascal_name(f) for f in t.flags))
    if isinstance(t, wit.Handle):  # a provider's object: an instance of its `--use` module's class
        return JsType("resource", t)
    raise AssertionError(t)
