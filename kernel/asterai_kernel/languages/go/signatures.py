"""Reading a Go cell (tree-sitter's Go grammar): its exported `func` signatures and the structs and bit sets
(`type Perms uint8` with `PermsRead Perms = 1 << iota` constants: WIT flags) they use -> WIT functions and
types (with how the cell spells each type in Go), whether it has a package clause and a main, and the
packages it imports."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from typing import NamedTuple

import tree_sitter
import tree_sitter_go

from ... import wit
from ...errors import CompileError
from ...names import pascal_name, wit_name
from .. import treesitter
from ..base import check_unique_wit_names, refuse_held_resource
from ..bitflags import BitConst, members
from ..treesitter import Unsupported
from ..treesitter import first_error as _first_error
from ..treesitter import text as _text
from . import exports, imports
from .emit import GoType, spell_wit

# The cell body's line 1 is the cell's line 2 (the magic line is line 1); a //line directive says so to Go.
FIRST_LINE = 2

_SCALARS = {
    "bool": "bool",
    "int8": "s8",
    "uint8": "u8",
    "byte": "u8",
    "int16": "s16",
    "uint16": "u16",
    "int32": "s32",
    "uint32": "u32",
    "rune": "char",
    "int64": "s64",
    "uint64": "u64",
    "int": "s64",
    "uint": "u64",
    "float32": "f32",
    "float64": "f64",
}
SUPPORTED_HINT = (
    "Supported: bool, int8..int64, int, uint8..uint64, uint, float32, float64, rune, string, []T, *T "
    "(an option), structs declared in the cell, flags (`type Perms uint8` with constants `PermsRead Perms = "
    "1 << iota`, ...), types of components it uses (`geo.Point`, "
    "`geo.Result[T, E]`, `geo.Tuple2[A, B]`), and a trailing `error` result."
)
_UNSUPPORTED_KINDS = {
    "map_type": "a map",
    "channel_type": "a channel",
    "interface_type": "an interface",
    "function_type": "a function",
    "array_type": "a fixed-size array (use a slice)",
    "struct_type": "an anonymous struct (declare a named struct type in the cell)",
    "generic_type": "a generic type",
    "qualified_type": "a type from another package; of those, only the types of components the cell uses "
    "(`--use geo`: `geo.Point`) cross",
    "negated_type": "a type constraint",
}


def _parser() -> tree_sitter.Parser:
    return treesitter.parser(tree_sitter_go.language)


def _line(node) -> int:
    return node.start_point[0] + FIRST_LINE


def _error_at(node, message: str) -> CompileError:
    return CompileError(f"line {_line(node)}: {message}")


def _docs(node) -> str:
    """The `//` comment lines right above a declaration (Go's doc comment)."""
    lines = []
    prev = node.prev_named_sibling
    row = node.start_point[0]
    while prev is not None and prev.type == "comment" and prev.end_point[0] == row - 1:
        text = _text(prev)
        if not text.startswith("//"):
            break
        lines.append(text[2:].strip())
        row = prev.start_point[0]
        prev = prev.prev_named_sibling
    return "\n".join(reversed(lines))


class _Types:
    """Maps Go type nodes to WIT types, resolving structs declared in the cell on first use, and the types
    of the components it uses (`geo.Point`, see `used_type`)."""

    def __init__(self, root, uses: dict[str, wit.Interface] | None = None) -> None:
        self.uses = uses or {}
        # the cell's name for each used component's package -> the component (`import g "geo"` adds g)
        self.packages = {name: name for name in self.uses}
        paths = {imports.module_path(name): name for name in self.uses}
        self.packages.update({local: paths[path] for local, path in _imported(root).items() if path in paths})
        # Providers' types the exports use: (owner, WIT name) -> how the cell spells it
        self.used: dict[tuple[str, str], str] = {}
        # per used component, the types the exports spell with its package (it declares their generics)
        self.spelled: dict[str, list[wit.WitType]] = {}
        self.defs = {}
        for decl in root.named_children:
            if decl.type != "type_declaration":
                continue
            for spec in decl.named_children:
                if spec.type in ("type_spec", "type_alias"):
                    self.defs[_text(spec.child_by_field_name("name"))] = (spec, decl)
        self.resolved: dict[str, GoType] = {}
        self.resolving: list[str] = []
        self.consts = _typed_consts(root)

    def go(self, node) -> GoType:
        kind, text = node.type, _text(node)
        if kind == "parenthesized_type":
            return self.go(node.named_children[0])
        if kind == "type_identifier":
            if text in self.defs:
                return self.user_type(text)
            if text in _SCALARS:
                return GoType(wit.Prim(_SCALARS[text]), text)
            if text == "string":
                return GoType(wit.String(), "string")
            if text in ("any", "error"):
                raise Unsupported(f"`{text}` (an interface)")
            raise Unsupported(f"`{text}`")
        if kind == "slice_type":
            elem = self.go(node.child_by_field_name("element"))
            return GoType(wit.List(elem.wit), f"[]{elem.go}", elem=elem)
        if kind == "pointer_type":
            inner = self.go(node.named_children[0])
            return GoType(wit.Option(inner.wit), f"*{inner.go}", elem=inner)
        if kind == "qualified_type" and _text(node.child_by_field_name("package")) in self.packages:
            return self.used_type(node)
        if kind == "generic_type" and (base := node.child_by_field_name("type")).type == "qualified_type":
            if _text(base.child_by_field_name("package")) in self.packages:
                return self.used_type(node)
        if kind in _UNSUPPORTED_KINDS:
            raise Unsupported(f"`{text}` ({_UNSUPPORTED_KINDS[kind]})")
        raise Unsupported(f"`{text}`")

    def used_type(self, node) -> GoType:
        """`geo.Point` (or `geo.Result[..]`, `geo.Tuple2[..]`): a type of a used component. The cell's
        interface takes it from geo's (WIT `use geo.{point}`); the glue spells it as the package geo
        does, through its own import of that package (exports.use_alias)."""
        qualified = node if node.type == "qualified_type" else node.child_by_field_name("type")
        local = _text(qualified.child_by_field_name("package"))
        use = self.packages[local]
        iface = self.uses[use]
        ty = _UsedTypes(iface, local).read(node)
        assert ty is not None  # (only a type argument can be `struct{}`)
        tagged = wit.foreign(ty, iface.name)
        for n in tagged.named_types():
            self.used.setdefault((n.owner, n.name), f"the type `{local}.{pascal_name(n.name)}`")
        spelled = self.spelled.setdefault(use, [])
        if ty not in spelled:
            spelled.append(ty)
        alias = exports.use_alias(use)
        return replace(spell_wit(tagged, lambda name: f"{alias}.{name}"), package=use)

    def user_type(self, name: str) -> GoType:
        if name in self.resolved:
            return self.resolved[name]
        if name in self.resolving:
            cycle = " -> ".join([*self.resolving[self.resolving.index(name) :], name])
            raise Unsupported(f"`{name}`, which contains itself ({cycle}); WIT types cannot be recursive")
        spec, decl = self.defs[name]
        if spec.child_by_field_name("type_parameters") is not None:
            raise Unsupported(f"`{name}` (a generic type; exported types need concrete fields)")
        body = spec.child_by_field_name("type")
        if name in self.consts and body.type == "type_identifier":
            return self.flags(name, spec, decl)
        if spec.type == "type_alias" or body.type != "struct_type":
            raise Unsupported(
                f"`{name}` (a defined type over `{_text(body)}`; only struct types declared in the cell "
                "cross as records: use the underlying type in exported signatures)"
            )
        self.resolving.append(name)
        try:
            fields: list[tuple[str, GoType]] = []
            for f in body.named_children[0].named_children if body.named_children else []:
                if f.type != "field_declaration":
                    continue
                names = f.children_by_field_name("name")
                if not names:
                    raise Unsupported(f"`{name}` (an embedded field `{_text(f)}`; name the field)")
                ft = self.go(f.child_by_field_name("type"))
                fields += [(_text(n), ft) for n in names if _text(n) != "_"]
        finally:
            self.resolving.pop()
        if not fields:
            raise Unsupported(f"`{name}` (a struct without fields)")
        seen: dict[str, str] = {}
        for fname, _ in fields:
            if wit_name(fname) in seen:
                raise Unsupported(
                    f"`{name}`: fields `{seen[wit_name(fname)]}` and `{fname}` share a WIT name"
                )
            seen[wit_name(fname)] = fname
        record = wit.Record(wit_name(name), tuple((wit_name(f), t.wit) for f, t in fields), docs=_docs(decl))
        ty = GoType(record, name, fields=tuple(fields))
        self.resolved[name] = ty
        return ty

    def flags(self, name: str, spec, decl) -> GoType:
        """`type Perms uint8` with constants of that type that are single bits: WIT flags."""
        under = _text(spec.child_by_field_name("type"))
        if spec.type == "type_alias" or under not in _FLAG_WIDTHS:
            raise Unsupported(
                f"`{name}` (a type over `{under}` with constants: flags are a defined type over uint8, "
                "uint16, uint32 or uint64, `type Perms uint8`)"
            )
        consts = []
        for const_name, value, node in self.consts[name]:
            if value is None:
                raise _error_at(
                    node, f"`{const_name}`: the value of a constant of flags `{name}` must be an integer "
                    "expression of literals, iota, <<, |, + and parentheses.",
                )  # fmt: skip
            consts.append(BitConst(const_name, value, _line(node)))
        names = members(name, consts, name, _FLAG_WIDTHS[under])
        self.resolved[name] = ty = GoType(wit.Flags(wit_name(name), names, docs=_docs(decl)), name)
        return ty


_FLAG_WIDTHS = {"uint8": 8, "byte": 8, "uint16": 16, "uint32": 32, "uint64": 64}


def _typed_consts(root) -> dict[str, list[tuple[str, int | None, object]]]:
    """Per type name, its constants declared at top level: (name, value or None if it cannot be read,
    node). A spec without type and value repeats the one before it (Go's implicit repetition, with iota)."""
    found: dict[str, list] = {}
    for decl in root.named_children:
        if decl.type != "const_declaration":
            continue
        typ = expr = None
        for iota, spec in enumerate(c for c in decl.named_children if c.type == "const_spec"):
            if spec.child_by_field_name("value") is not None:
                typ, expr = spec.child_by_field_name("type"), spec.child_by_field_name("value")
            if typ is None or expr is None:
                continue
            values = [c for c in expr.named_children if c.type != "comment"]
            for k, n in enumerate(spec.children_by_field_name("name")):
                if _text(n) != "_" and k < len(values):
                    found.setdefault(_text(typ), []).append((_text(n), _const_value(values[k], iota), spec))
    return found


_OPS = {"<<": lambda a, b: a << b, "|": lambda a, b: a | b, "+": lambda a, b: a + b}


def _const_value(node, iota: int) -> int | None:
    """The value of a constant expression of int literals, iota, <<, | and +; None for anything else."""
    kind = node.type
    if kind == "iota":
        return iota
    if kind == "int_literal":
        digits = _text(node).replace("_", "")
        if len(digits) > 1 and digits[0] == "0" and digits[1].isdigit():
            digits = "0o" + digits[1:]  # Go's 017 is octal
        return int(digits, 0)
    if kind == "parenthesized_expression" and len(node.named_children) == 1:
        return _const_value(node.named_children[0], iota)
    if kind == "binary_expression" and _text(node.child_by_field_name("operator")) in _OPS:
        a = _const_value(node.child_by_field_name("left"), iota)
        b = _const_value(node.child_by_field_name("right"), iota)
        if a is not None and b is not None and b < 4096:
            return _OPS[_text(node.child_by_field_name("operator"))](a, b)
    return None


class _UsedTypes:
    """Reads a type the cell spells with a used component's package (`geo.Point`, `geo.Result[int32,
    geo.Point]`): its WIT type, in the provider's own terms.

    The type arguments of `geo.Result` and `geo.TupleN` are spelled as the package spells them (those are
    aliases of generic types, so `geo.Result[int, string]` would be another type than the package's
    `Result[int64, string]`): scalars by their sized names, strings, slices, pointers, and geo's types."""

    def __init__(self, iface: wit.Interface, local: str) -> None:
        self.iface, self.local = iface, local
        self.named = {pascal_name(t.name): t for t in iface.types()}

    def read(self, node, top: bool = True) -> wit.WitType | None:
        kind, text = node.type, _text(node)
        if kind in ("type_elem", "parenthesized_type") and len(node.named_children) == 1:
            return self.read(node.named_children[0], top)
        if kind == "qualified_type" and _text(node.child_by_field_name("package")) == self.local:
            name = _text(node.child_by_field_name("name"))
            if name not in self.named:
                have = ", ".join(f"{self.local}.{n}" for n in self.named) or "none"
                generic = " (`Result` and `TupleN` take type arguments)" if _GENERIC.fullmatch(name) else ""
                raise Unsupported(
                    f"`{text}` ({self.local}'s exports use no such type{generic}; they use: {have})"
                )
            refuse_held_resource(self.named[name], self.local, name)  # as every language does
            return self.named[name]
        if kind == "generic_type":
            base = node.child_by_field_name("type")
            if base.type == "qualified_type" and _text(base.child_by_field_name("package")) == self.local:
                return self.generic(_text(base.child_by_field_name("name")), node)
        if top:  # (a top-level node is always one of the above)
            raise Unsupported(f"`{text}`")
        if kind == "type_identifier" and text in _SCALARS and text not in ("int", "uint"):
            return wit.Prim(_SCALARS[text])
        if kind == "type_identifier" and text == "string":
            return wit.String()
        if kind == "slice_type":
            elem = self.read(node.child_by_field_name("element"), False)
            if elem is not None:
                return wit.List(elem)
        if kind == "pointer_type":
            inner = self.read(node.named_children[0], False)
            if inner is not None:
                return wit.Option(inner)
        if kind == "struct_type" and not any(c.named_children for c in node.named_children):
            return None
        sized = {"int": " (write `int64`)", "uint": " (write `uint64`)"}.get(text, "")
        raise Unsupported(
            f"`{text}` in a type argument{sized}: the type arguments of package {self.local}'s `Result` "
            f"and `TupleN` are spelled as {self.local} spells them: bool, int8..int64, uint8..uint64, "
            f"float32, float64, rune, string, []T, *T, `struct{{}}` (a Result's empty side) and "
            f"{self.local}'s own types"
        )

    def generic(self, name: str, node) -> wit.WitType:
        args = [c for c in node.child_by_field_name("type_arguments").named_children if c.type != "comment"]
        read = [self.read(a, False) for a in args]
        m = _GENERIC.fullmatch(name)
        if name == "Result" and len(read) == 2:
            return wit.Result(*read)
        if m and m.group(1) and int(m.group(1)) == len(read) <= imports.MAX_TUPLE \
                and all(t is not None for t in read):  # fmt: skip
            return wit.Tuple(tuple(read))
        raise Unsupported(
            f"`{_text(node)}` (of package {self.local}'s generic types, `Result[T, E]` and `TupleN[..]` "
            "with N types, none empty, cross)"
        )


_GENERIC = re.compile(r"Result|Tuple(\d+)")


def _params(node, types: _Types, go_name: str) -> tuple[list[tuple[str, GoType]], list[GoType], bool]:
    params: list[tuple[str, GoType]] = []
    for p in node.child_by_field_name("parameters").named_children:
        if p.type == "variadic_parameter_declaration":
            raise _error_at(
                p, f"`func {go_name}`: a variadic parameter `{_text(p)}` cannot cross; take a slice."
            )
        if p.type != "parameter_declaration":
            continue
        try:
            ty = types.go(p.child_by_field_name("type"))
        except Unsupported as e:
            raise _error_at(
                p, f"`func {go_name}`: parameter `{_text(p)}` has type {e}, which has no WIT equivalent. "
                f"{SUPPORTED_HINT}",
            ) from None  # fmt: skip
        names = [_text(n) for n in p.children_by_field_name("name")] or [f"arg{len(params)}"]
        for n in names:
            params.append((n if n != "_" else f"arg{len(params)}", ty))
    results: list[GoType] = []
    has_error = False
    res = node.child_by_field_name("result")
    if res is not None:
        items = []  # (type node, count)
        if res.type == "parameter_list":
            for d in res.named_children:
                if d.type == "parameter_declaration":
                    items += [d.child_by_field_name("type")] * max(1, len(d.children_by_field_name("name")))
        else:
            items = [res]
        if items and _text(items[-1]) == "error":
            has_error = True
            items = items[:-1]
        for t in items:
            try:
                results.append(types.go(t))
            except Unsupported as e:
                raise _error_at(
                    t, f"`func {go_name}` returns {e}, which has no WIT equivalent. {SUPPORTED_HINT}"
                ) from None
    return params, results, has_error


def _export(node, types: _Types) -> exports.Export:
    go_name = _text(node.child_by_field_name("name"))
    if node.child_by_field_name("type_parameters") is not None:
        raise _error_at(node, f"`func {go_name}` is generic; exported functions need concrete types.")
    params, results, has_error = _params(node, types, go_name)
    if not results:
        value = None
    elif len(results) == 1:
        value = results[0].wit
    else:
        value = wit.Tuple(tuple(r.wit for r in results))
    result = wit.Result(value, wit.String()) if has_error else value
    seen: set[str] = set()
    for n, _ in params:
        if wit_name(n) in seen:
            raise _error_at(node, f"`func {go_name}`: two parameters share the WIT name `{wit_name(n)}`.")
        seen.add(wit_name(n))
    fn = wit.Function(
        wit_name(go_name), tuple((wit_name(n), t.wit) for n, t in params), result, docs=_docs(node)
    )
    return exports.Export(go_name, fn, [t for _, t in params], results, has_error)


class Parsed(NamedTuple):
    exports: list[exports.Export]
    has_package: bool
    has_main: bool
    # per used component, the types the exports spell with its package (imports.package)
    spelled: dict[str, list[wit.WitType]]


def parse(source: str, uses: dict[str, wit.Interface] | None = None) -> Parsed:
    """The cell's exports, whether it has a package clause, whether it defines main, and the types of the
    components in `uses` (`--use`) that the exports take or return."""
    root = _parser().parse(source.encode()).root_node
    if root.has_error:
        bad = _first_error(root)
        raise _error_at(bad, f"syntax error near `{_text(bad)[:40]}`")
    package = next((n for n in root.named_children if n.type == "package_clause"), None)
    if package is not None and _text(package).split()[-1] != "main":
        raise _error_at(package, "a Go cell is `package main` (or has no package clause).")
    funcs = [n for n in root.named_children if n.type == "function_declaration"]
    has_main = any(_text(n.child_by_field_name("name")) == "main" for n in funcs)
    types = _Types(root, uses)
    found = [_export(n, types) for n in funcs if _text(n.child_by_field_name("name"))[:1].isupper()]
    check_unique_wit_names(
        [(ex.fn.name, f"`{ex.go_name}`") for ex in found]
        + [(t.wit.name, f"the type `{name}`") for name, t in types.resolved.items()]
        + [(wname, f"{label} of the used component") for (_, wname), label in types.used.items()]
    )
    return Parsed(found, package is not None, has_main, types.spelled)


def read_imports(source: str) -> tuple[int | None, dict[str, str]]:
    """The 0-based row where the cell's package clause ends (None without one), and each package the cell
    imports: its local name -> its import path (blank and dot imports left out)."""
    root = _parser().parse(source.encode()).root_node
    package = next((n for n in root.named_children if n.type == "package_clause"), None)
    return (package.end_point[0] if package is not None else None), _imported(root)


def import_paths(source: str) -> set[str]:
    """Every package path a Go file imports (blank and dot imports too)."""
    return {path for _, path in _import_specs(_parser().parse(source.encode()).root_node)}


def _imported(root) -> dict[str, str]:
    return {local: path for local, path in _import_specs(root) if local not in ("_", ".")}


def _import_specs(root) -> Iterator[tuple[str, str]]:
    """(local name, path) of each import spec."""
    for decl in root.named_children:
        if decl.type != "import_declaration":
            continue
        specs = [
            c for n in decl.named_children for c in ([n] if n.type == "import_spec" else n.named_children)
        ]
        for spec in specs:
            if spec.type != "import_spec" or spec.child_by_field_name("path") is None:
                continue
            path = _text(spec.child_by_field_name("path")).strip('"`')
            alias = spec.child_by_field_name("name")
            yield (_text(alias) if alias is not None else path.rsplit("/", 1)[-1]), path
