"""Reading a C cell (tree-sitter's C grammar): its non-static functions and the typedefs they use -> WIT
functions and types, and how the glue spells each in C (exports.CType). C++ (cpp/signatures.py) extends
`Reader` with its own types.

Flags are spelled as wit-bindgen's C generator spells them: an unsigned integer typedef (`perms_t`) and a
`#define` per bit named after it (`PERMS_READ (1 << 0)`), which is what C code tests and sets bits with.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable

from ... import wit
from ...errors import CompileError
from ...names import wit_name, words
from ..base import check_unique_wit_names
from ..bitflags import BitConst, members
from ..treesitter import CellTypes, Unsupported, first_error, text
from .exports import C_PRIMS, CType, Export, Param, prim

# The cell's code is written after `#line 2`, so the compiler's line numbers are the cell's (magic = line 1).
FIRST_LINE = 2

# C spellings of integers and floats (wasm32: int and long are 32 bits, long long 64, size_t 32).
SCALARS = {
    "bool": "bool", "_Bool": "bool", "char": "s8", "signed char": "s8", "unsigned char": "u8",
    "short": "s16", "short int": "s16", "signed short": "s16", "unsigned short": "u16",
    "unsigned short int": "u16", "int": "s32", "signed": "s32", "signed int": "s32", "unsigned": "u32",
    "unsigned int": "u32", "long": "s32", "long int": "s32", "signed long": "s32", "unsigned long": "u32",
    "unsigned long int": "u32", "long long": "s64", "long long int": "s64", "signed long long": "s64",
    "unsigned long long": "u64", "unsigned long long int": "u64", "float": "f32", "double": "f64",
    "int8_t": "s8", "uint8_t": "u8", "int16_t": "s16", "uint16_t": "u16", "int32_t": "s32",
    "uint32_t": "u32", "int64_t": "s64", "uint64_t": "u64", "size_t": "u32", "ssize_t": "s32",
    "ptrdiff_t": "s32", "intptr_t": "s32", "uintptr_t": "u32", "char32_t": "char",
}  # fmt: skip
# asterai.h's ready-made lists
BUILTIN_LISTS = {f"asterai_list_{n}": n for n in wit.INT_RANGES} | {
    "asterai_list_bool": "bool", "asterai_list_f32": "f32", "asterai_list_f64": "f64",
    "asterai_list_char": "char", "asterai_list_string": "string",
}  # fmt: skip
STRING = CType(wit.String(), "asterai_string", "string")
SUPPORTED_HINT = (
    "Supported: bool, int8_t..uint64_t (and int, unsigned, long long, size_t...), float, double, char32_t, "
    "`const char *` (and a malloc'ed `char *` result), asterai_string, a pointer parameter followed by its "
    "size_t length (a list), ASTERAI_LIST(T) typedefs and asterai_list_f64..., typedef'd structs and "
    "enums defined in the cell, and flags (`typedef uint8_t perms_t;` with `#define PERMS_READ (1 << 0)`, "
    "...) (see asterai.h)."
)


def error_at(node, message: str) -> CompileError:
    return CompileError(f"line {node.start_point[0] + FIRST_LINE}: {message}")


def list_of(elem: CType, c: str) -> CType:
    return CType(wit.List(elem.wit), c, "list", parts=(elem,))


class Reader(CellTypes):
    """Maps the cell's C type nodes to CTypes, resolving its typedefs (records, enums, lists) on first use."""

    def __init__(self, root) -> None:
        super().__init__()
        self.defs: dict[str, object] = {}  # C type name (`Point`, `struct Point`) -> its definition node
        self.macros: dict[str, object] = {}  # `#define NAME value` -> its node
        for node in root.named_children:
            self.collect(node)

    def collect(self, node) -> None:
        if node.type == "preproc_def" and node.child_by_field_name("value") is not None:
            self.macros[text(node.child_by_field_name("name"))] = node
        if node.type == "type_definition":
            for d in node.children_by_field_name("declarator"):
                if d.type == "type_identifier":
                    self.defs[text(d)] = node.child_by_field_name("type")
        spec = node.child_by_field_name("type") if node.type in ("type_definition", "declaration") else node
        if spec is not None and spec.type in ("struct_specifier", "enum_specifier"):
            name = spec.child_by_field_name("name")
            if name is not None and spec.child_by_field_name("body") is not None:
                self.defs[f"{spec.type.split('_')[0]} {text(name)}"] = spec

    # ---- types ----
    def value(self, type_node, pointers: int = 0, const: bool = False) -> CType:
        """The CType of a value written `type_node` with `pointers` stars."""
        if pointers == 1 and text(type_node) == "char":
            return CType(wit.String(), "const char *" if const else "char *", "cstr", borrowed=const)
        if pointers:
            raise Unsupported(f"`{text(type_node)} {'*' * pointers}`")
        return self.named(type_node)

    def named(self, node) -> CType:
        kind, spelled = node.type, " ".join(text(node).split())
        if spelled in SCALARS:
            return prim(SCALARS[spelled], spelled)
        if kind in ("struct_specifier", "enum_specifier") and node.child_by_field_name("body") is None:
            spelled = f"{kind.split('_')[0]} {text(node.child_by_field_name('name'))}"
        if spelled == "asterai_string":
            return STRING
        if spelled in BUILTIN_LISTS:
            elem = BUILTIN_LISTS[spelled]
            return list_of(STRING if elem == "string" else prim(elem), spelled)
        if spelled in self.defs:
            return self.user_type(spelled)
        raise Unsupported(f"`{spelled}`")

    def define(self, name: str, node) -> CType:
        if node.type == "struct_specifier" and node.child_by_field_name("body") is not None:
            return self.record(name, node)
        if node.type == "enum_specifier" and node.child_by_field_name("body") is not None:
            return self.enum(name, node)
        if node.type == "macro_type_specifier" and text(node.child_by_field_name("name")) == "ASTERAI_LIST":
            elem = self.element(node.child_by_field_name("type"))
            return list_of(elem, name)
        named = self.named(node)  # `typedef double real;`: the type it names
        if named.kind == "scalar" and named.wit.name in FLAG_WIDTHS and self.bits(name):
            return self.flags(name, named)
        return named

    def bits(self, name: str) -> list:
        """The `#define`s of bit set `name` (`perms_t` or `Perms`: those named `PERMS_...`)."""
        return [node for macro, node in self.macros.items() if macro.startswith(flags_prefix(name))]

    def flags(self, name: str, integer: CType) -> CType:
        """`typedef uint8_t perms_t;` with `#define PERMS_READ (1 << 0)`, ... (wit-bindgen's C spelling)."""
        consts = []
        for node in self.bits(name):
            macro = text(node.child_by_field_name("name"))
            value = macro_value(macro, self.macros)
            if value is None:
                raise error_at(
                    node, f"`{macro}`: the value of a bit of flags `{name}` must be an integer expression "
                    "of literals, <<, | and parentheses, e.g. `(1u << 2)`.",
                )  # fmt: skip
            consts.append(BitConst(macro, value, node.start_point[0] + FIRST_LINE))
        names = members(name, consts, flags_prefix(name), FLAG_WIDTHS[integer.wit.name])
        consts.sort(key=lambda c: c.value)
        macros = tuple(c.name for c in consts if c.value)
        return CType(wit.Flags(wit_name(name.removesuffix("_t")), names), name, "flags", names=macros)

    def element(self, descriptor) -> CType:
        """The element type of ASTERAI_LIST(T) (a type descriptor, `char *` included)."""
        pointers = text(descriptor).count("*")
        const = any(c.type == "type_qualifier" for c in descriptor.children)
        return self.value(descriptor.child_by_field_name("type"), pointers, const)

    def record(self, name: str, node) -> CType:
        names, parts = [], []
        for f in node.child_by_field_name("body").named_children:
            if f.type != "field_declaration":
                continue
            const = any(c.type == "type_qualifier" for c in f.children)
            for d in f.children_by_field_name("declarator"):
                field_name, pointers = declared_name(d)
                if field_name is None:
                    raise Unsupported(f"`{name}` (its field `{text(d)}` is an array; use ASTERAI_LIST(T))")
                try:
                    parts.append(self.value(f.child_by_field_name("type"), pointers, const))
                except Unsupported as e:
                    raise Unsupported(f"`{name}` (its field `{field_name}` has type {e})") from None
                names.append(field_name)
        if not names:
            raise Unsupported(f"`{name}` (a struct without fields)")
        fields = tuple((wit_name(n), p.wit) for n, p in zip(names, parts))
        record = wit.Record(wit_name(name.removeprefix("struct ")), fields)
        return CType(record, name, "record", parts=tuple(parts), names=tuple(names))

    def enum(self, name: str, node) -> CType:
        constants = [
            text(e.child_by_field_name("name"))
            for e in node.child_by_field_name("body").named_children
            if e.type == "enumerator"
        ]
        if not constants:
            raise Unsupported(f"`{name}` (an enum without cases)")
        cases = tuple(wit_name(c) for c in case_names(name.removeprefix("enum "), constants))
        return CType(
            wit.Enum(wit_name(name.removeprefix("enum ")), cases), name, "enum", names=tuple(constants)
        )


FLAG_WIDTHS = {"u8": 8, "u16": 16, "u32": 32, "u64": 64}


def flags_prefix(type_name: str) -> str:
    """The prefix of the bits of flags `perms_t` (or `Perms`): `PERMS_`."""
    return "_".join(words(type_name.removesuffix("_t"))).upper() + "_"


_SUFFIX = re.compile(r"\b(0[xX][0-9a-fA-F]+|\d+)[uUlL]*\b")


def macro_value(name: str, macros: dict, depth: int = 0) -> int | None:
    """The value of an integer `#define`: see `int_value`; None for anything else."""
    node = macros.get(name)
    if node is None or depth > 8:
        return None
    return int_value(text(node.child_by_field_name("value")), lambda n: macro_value(n, macros, depth + 1))


def int_value(source: str, resolve: Callable[[str], int | None]) -> int | None:
    """The value of a C integer constant expression of literals (suffixes, octal, UINT8_C(..)), <<, |, +,
    parentheses and names (`resolve`d); None for anything else."""
    source = re.sub(r"\bU?INT(8|16|32|64)_C\b", "", source.strip())
    source = _SUFFIX.sub(lambda m: m.group(1), source)
    source = re.sub(r"\b0(\d+)\b", r"0o\1", source)  # C's 017 is octal
    try:
        tree = ast.parse(source, mode="eval").body
    except SyntaxError:
        return None

    def value(n) -> int | None:
        if isinstance(n, ast.Constant) and type(n.value) is int:
            return n.value
        if isinstance(n, ast.Name):
            return resolve(n.id)
        if isinstance(n, ast.BinOp) and isinstance(n.op, (ast.LShift, ast.BitOr, ast.Add)):
            a, b = value(n.left), value(n.right)
            if a is None or b is None:
                return None
            if isinstance(n.op, ast.LShift):
                return a << b if b <= 64 else None
            return a | b if isinstance(n.op, ast.BitOr) else a + b
        return None

    return value(tree)


def case_names(type_name: str, constants: list[str]) -> list[str]:
    """The enum's constants without a prefix that names the type and that all share (`COLOR_RED` -> `RED`)."""
    prefix = "_".join(words(type_name)).upper() + "_"
    if all(c.upper().startswith(prefix) and len(c) > len(prefix) for c in constants):
        return [c[len(prefix) :] for c in constants]
    return constants


def declared_name(declarator) -> tuple[str | None, int]:
    """The name a (field or parameter) declarator declares and its number of stars; an array declarator
    (`xs[]`) counts as one star, and gives no name inside a struct."""
    pointers = 0
    node = declarator
    while node is not None:
        if node.type in ("identifier", "field_identifier"):
            return text(node), pointers
        if node.type == "pointer_declarator":
            pointers += 1
        elif node.type == "reference_declarator":  # C++ `const T &x`: the value
            node = node.named_children[0]
            continue
        elif node.type == "array_declarator":
            if (
                declarator.type == "array_declarator"
                and node is declarator
                and node.parent.type == "field_declaration"
            ):
                return None, pointers
            pointers += 1
        else:
            return None, pointers
        node = node.child_by_field_name("declarator")
    return None, pointers


def function_declarator(node):
    """The function_declarator inside a definition's declarator (under the stars of a pointer result) and
    how many stars the result has."""
    stars, d = 0, node.child_by_field_name("declarator")
    while d is not None and d.type == "pointer_declarator":
        stars += 1
        d = d.child_by_field_name("declarator")
    return (d if d is not None and d.type == "function_declarator" else None), stars


def is_exported(node) -> bool:
    """A function definition the cell exports: not `static`, not `main`."""
    storage = {text(c) for c in node.children if c.type == "storage_class_specifier"}
    fd, _ = function_declarator(node)
    if fd is None or fd.child_by_field_name("declarator").type == "operator_name":  # C++'s `operator|`
        return False
    return "static" not in storage and text(fd.child_by_field_name("declarator")) != "main"


def read_params(reader: Reader, fn: str, fd) -> list[Param]:
    """The WIT parameters of a C function: a pointer followed by a size_t parameter is one list."""
    decls = [p for p in fd.child_by_field_name("parameters").named_children]
    params: list[Param] = []
    i = 0
    while i < len(decls):
        p = decls[i]
        if p.type != "parameter_declaration":
            raise error_at(p, f"`{fn}`: unsupported parameter `{text(p)}` (variadic functions cannot cross).")
        d = p.child_by_field_name("declarator")
        ty = p.child_by_field_name("type")
        if d is None and text(ty) == "void" and len(decls) == 1:
            break
        name, pointers = declared_name(d) if d is not None else (None, 0)
        name = name or f"arg{len(params)}"
        const = any(c.type == "type_qualifier" for c in p.children)
        nxt = decls[i + 1] if i + 1 < len(decls) else None
        try:
            if pointers == 1 and text(ty) != "char" and nxt is not None and is_size(nxt):
                elem = reader.value(ty)
                spelled = f"{'const ' if const else ''}{elem.c} *"
                params.append(Param(name, CType(wit.List(elem.wit), spelled, "pair", parts=(elem,))))
                i += 2
                continue
            if pointers and text(ty) != "char":
                raise Unsupported(
                    f"`{text(ty)} *`: a pointer parameter must be followed by its length "
                    f"(`const {text(ty)} *{name}, size_t n` is a list); pass a struct by value"
                )
            params.append(Param(name, reader.value(ty, pointers, const)))
        except Unsupported as e:
            raise error_at(
                p, f"`{fn}`: parameter `{name}` has type {e}, which has no WIT equivalent. {SUPPORTED_HINT}"
            ) from None
        i += 1
    return params


def is_size(param) -> bool:
    """A `size_t n` parameter (the length of the pointer before it)."""
    d = param.child_by_field_name("declarator")
    ty = param.child_by_field_name("type")
    return ty is not None and text(ty) == "size_t" and (d is None or d.type == "identifier")


def read_export(reader: Reader, node) -> Export:
    fd, stars = function_declarator(node)
    c_name = text(fd.child_by_field_name("declarator"))
    params = read_params(reader, c_name, fd)
    result = None
    ty = node.child_by_field_name("type")
    if stars or text(ty) != "void":
        const = any(c.type == "type_qualifier" for c in node.children)
        try:
            result = reader.value(ty, stars, const)
        except Unsupported as e:
            raise error_at(
                ty, f"`{c_name}` returns {e}, which has no WIT equivalent. {SUPPORTED_HINT}"
            ) from None
    fn = wit.Function(
        wit_name(c_name),
        tuple((wit_name(p.name), p.ctype.wit) for p in params),
        result.wit if result else None,
        docs=docs(node),
    )
    return Export(c_name, fn, params, result)


def docs(node) -> str:
    """The comment right above a definition (`/** ... */` or `//` lines)."""
    lines = []
    prev = node.prev_named_sibling
    while (
        prev is not None
        and prev.type == "comment"
        and prev.end_point[0] + 1 + len(lines) >= node.start_point[0]
    ):
        body = text(prev)
        if body.startswith("/*"):
            body = body[2:-2]
        lines.insert(0, "\n".join(line.strip().lstrip("*/").strip() for line in body.splitlines()).strip())
        prev = prev.prev_named_sibling
    return "\n".join(line for line in lines if line)


def _named_types(reader: Reader) -> dict[wit.WitType, str]:
    """The cell's records, enums and flags the exports use, each once (`Point` and `struct Point` may be
    one)."""
    named = ("record", "enum", "flags")
    return {t.wit: name for name, t in reversed(reader.resolved.items()) if t.kind in named}


def syntax_error(root) -> CompileError | None:
    if not root.has_error:
        return None
    bad = first_error(root)
    return error_at(bad, f"syntax error near `{text(bad)[:40]}`")


def read_cell(root, reader: Reader | None = None) -> list[Export]:
    """The exported functions of a parsed cell (raises CompileError)."""
    error = syntax_error(root)
    if error is not None:
        raise error
    reader = reader or Reader(root)
    found = [
        read_export(reader, n)
        for n in root.named_children
        if n.type == "function_definition" and is_exported(n)
    ]
    check_unique_wit_names(
        [(ex.fn.name, f"`{ex.c_name}`") for ex in found]
        + [(ty.name, f"the type `{name}`") for ty, name in _named_types(reader).items()]
    )
    return found


__all__ = ["C_PRIMS", "FIRST_LINE", "Reader", "read_cell", "error_at"]
