"""Reading a C++ cell (tree-sitter's C++ grammar): C's forms (c/signatures.py) plus std::string,
std::string_view, std::vector<T>, std::optional<T>, std::pair / std::tuple, structs and enum class, by value
or `const &`. An `enum class` with an `operator|` of its own is WIT flags (wit-bindgen's C++ spelling:
`enum class Perms : uint8_t { kNone = 0, kRead = 1 << 0, ... }`); without one it stays a WIT enum.
Exports are the functions of the global namespace that are not static (nor operators); overloads and
templates among them are refused (WIT has neither), and so is `throw` (no C++ exceptions for wasm with
clang-14).
"""

from __future__ import annotations

import re

from ... import wit
from ...errors import CompileError
from ...names import wit_name
from ..bitflags import BitConst, members
from ..c import signatures as c_signatures
from ..c.exports import CType, prim
from ..c.signatures import FIRST_LINE, FLAG_WIDTHS, SCALARS, Reader, error_at, function_declarator, int_value
from ..treesitter import Unsupported, text

CPP_HINT = (
    " C++ also takes std::string, std::string_view, std::vector<T>, std::optional<T>, std::pair<A, B>, "
    "std::tuple<...>, structs and enum class, by value or const &."
)
NO_EXCEPTIONS = (
    "C++ exceptions are not available in WebAssembly cells (clang-14 has none for wasm; cells build with "
    "-fno-exceptions). Return the failure instead (std::optional<T>, or an error code), or call abort() "
    "to stop with a trap."
)


class CppReader(Reader):
    """C's reader, plus the standard library's types and C++'s own structs and enums."""

    def collect(self, node) -> None:
        super().collect(node)
        fd = function_declarator(node)[0] if node.type == "function_definition" else None
        if fd is not None and text(fd.child_by_field_name("declarator")) == "operator|":
            params = fd.child_by_field_name("parameters").named_children
            self.bit_sets.add(" ".join(text(params[0].child_by_field_name("type")).split()) if params else "")
        if (
            node.type in ("struct_specifier", "enum_specifier")
            and node.child_by_field_name("body") is not None
        ):
            name = node.child_by_field_name("name")
            if name is not None:
                self.defs[text(name)] = node  # C++ names a struct or an enum without its keyword

    def named(self, node) -> CType:
        if node.type == "qualified_identifier" and text(node.child_by_field_name("scope")) == "std":
            return self.std(node.child_by_field_name("name"))
        return super().named(node)

    def std(self, node) -> CType:
        """A type of namespace std: `string`, `vector<T>`, ..."""
        if node.type == "type_identifier":
            name = text(node)
            if name == "string":
                return CType(wit.String(), "std::string", "stdstring")
            if name == "string_view":
                return CType(wit.String(), "std::string_view", "view", borrowed=True)
            if name in SCALARS:
                return prim(SCALARS[name], f"std::{name}")
        if node.type == "template_type":
            name = text(node.child_by_field_name("name"))
            args = [self.element(a) for a in node.child_by_field_name("arguments").named_children]
            spelled = f"std::{name}<{', '.join(a.c for a in args)}>"
            if name == "vector" and len(args) == 1:
                return CType(wit.List(args[0].wit), spelled, "vector", parts=tuple(args))
            if name == "optional" and len(args) == 1:
                return CType(wit.Option(args[0].wit), spelled, "optional", parts=tuple(args))
            if name in ("pair", "tuple") and args:
                return CType(wit.Tuple(tuple(a.wit for a in args)), spelled, "tuple", parts=tuple(args))
        raise Unsupported(f"`std::{text(node)}`")

    def __init__(self, root) -> None:
        self.bit_sets: set[str] = set()  # the types an `operator|` is defined for
        super().__init__(root)

    def enum(self, name: str, node) -> CType:
        scoped = any(c.type == "class" or text(c) in ("class", "struct") for c in node.children)
        if scoped and name.removeprefix("enum ") in self.bit_sets:
            return self.flags_enum(name.removeprefix("enum "), node)
        ctype = super().enum(name, node)
        if scoped:
            scope = name.removeprefix("enum ")
            return CType(ctype.wit, ctype.c, "enum", names=tuple(f"{scope}::{c}" for c in ctype.names))
        return ctype

    def flags_enum(self, name: str, node) -> CType:
        """`enum class Perms : uint8_t { kRead = 1 << 0, ... }` with an `operator|`: WIT flags, one member
        per enumerator that is a bit (a zero one, `kNone`, is the empty set)."""
        base = node.child_by_field_name("base")
        width = FLAG_WIDTHS.get(SCALARS.get(" ".join(text(base).split()), "") if base else "u32")
        if width is None:
            raise error_at(base, f"flags `{name}`: its underlying type must be an unsigned integer")
        values: dict[str, int | None] = {}
        consts, last = [], -1
        for e in node.child_by_field_name("body").named_children:
            if e.type != "enumerator":
                continue
            const, v = text(e.child_by_field_name("name")), e.child_by_field_name("value")
            value = int_value(text(v), values.get) if v is not None else last + 1
            if value is None:
                raise error_at(e, f"`{const}`: the value of a bit of flags `{name}` must be an integer "
                               "expression of literals, <<, | and parentheses, e.g. `1 << 2`.")  # fmt: skip
            values[const] = last = value
            consts.append(BitConst(const, value, e.start_point[0] + FIRST_LINE))
        bits = [c.name for c in consts if c.value]
        prefix = "k" if all(re.match(r"k[A-Z_]", c) for c in bits) else ""  # wit-bindgen's `kRead`
        names = members(name, consts, prefix, width)
        consts.sort(key=lambda c: c.value)
        return CType(wit.Flags(wit_name(name), names), name, "flags",
                     names=tuple(f"{name}::{c.name}" for c in consts if c.value))  # fmt: skip

    def record(self, name: str, node) -> CType:
        body = node.child_by_field_name("body")
        for f in body.named_children:  # methods are fine; static data is not a field
            if f.type == "field_declaration" and any(text(c) == "static" for c in f.children):
                raise Unsupported(f"`{name}` (its static member `{text(f)}`; move it out of the struct)")
        return super().record(name, node)


def check_cell(root) -> None:
    """What C++ allows and a cell's exports cannot have: exceptions, templates, overloads."""
    throw = _first(root, ("throw_statement", "throw_expression", "try_statement"))
    if throw is not None:
        what = "try" if throw.type == "try_statement" else "throw"
        raise error_at(throw, f"`{what}`: {NO_EXCEPTIONS}")
    seen: dict[str, int] = {}
    for node in root.named_children:
        if node.type == "template_declaration":
            inner = next((c for c in node.named_children if c.type == "function_definition"), None)
            if inner is not None and c_signatures.is_exported(inner):
                fd, _ = function_declarator(inner)
                raise error_at(
                    node,
                    f"`{text(fd.child_by_field_name('declarator'))}` is a template: exported functions need "
                    "concrete types (WIT has no generics). Make it `static`, or put it in a namespace, to "
                    "keep it as a helper.",
                )
        if node.type == "function_definition" and c_signatures.is_exported(node):
            fd, _ = function_declarator(node)
            name = text(fd.child_by_field_name("declarator"))
            line = node.start_point[0] + c_signatures.FIRST_LINE
            if name in seen:
                raise error_at(
                    node,
                    f"`{name}` is overloaded (also defined at line {seen[name]}): WIT has no overloading. "
                    "Rename one, or make the helper `static` or put it in a namespace.",
                )
            seen[name] = line


def _first(node, kinds: tuple[str, ...]):
    if node.type in kinds:
        return node
    for child in node.children:
        found = _first(child, kinds)
        if found is not None:
            return found
    return None


def read_cell(root) -> list:
    error = c_signatures.syntax_error(root)
    if error is not None:
        raise error
    check_cell(root)
    try:
        return c_signatures.read_cell(root, CppReader(root))
    except CompileError as e:
        if "no WIT equivalent" in str(e):
            raise CompileError(str(e) + CPP_HINT) from None
        raise


__all__ = ["CppReader", "check_cell", "read_cell", "wit_name"]
