"""WIT flags in TypeScript cells: a numeric enum whose members are bits, as TypeScript's own compiler writes
them,

    export enum Perms { None = 0, Read = 1 << 0, Write = 1 << 1, Exec = 1 << 2, All = Read | Write | Exec }

is `flags perms { read, write, exec }`. An enum is flags when a member's value is written with `<<` or `|`
(the bit-set idiom); then a member that is 0 (`None`, the empty set) and one written as other members joined
with `|` (`All`, a combination) are not members, and the others must be single bits from bit 0 without gaps
(languages/bitflags.py refuses the rest, naming the line). Members are read as TypeScript numbers them: a
member without a value is the one before it plus 1. Any other enum (string members, `Red, Green` numbered
0, 1, ..., plain numbers) stays refused, with a hint.

The cell holds a flags value as the enum's number (bit i: member i); the glue converts it to the engine's
object of booleans (exports.py) or the runner's list of names (glue.py), checking the number it returns
(runtime.js `__asteraiFlagsOut`).
"""

from __future__ import annotations

from collections.abc import Callable

from ... import wit
from ...errors import CompileError
from ...names import wit_name
from ..bitflags import BitConst, members
from ..treesitter import Unsupported, text

BIT_OPERATORS = ("<<", "|")
WORD = 0xFFFF_FFFF  # JavaScript's bitwise operators work on 32-bit words


def not_flags_hint(name: str) -> Unsupported:
    return Unsupported(
        f'`{name}` (a TypeScript enum: write a string union, e.g. `type {name} = "red" | "green"`; an enum '
        "whose members are bits, `Read = 1 << 0, Write = 1 << 1`, is WIT flags)"
    )


def read_flags(name: str, node, line_of: Callable, docs: str) -> tuple[wit.Flags, tuple[str, ...]]:
    """The WIT flags of `enum name` and the cell's member names in bit order; Unsupported when the enum is
    not written as bits, CompileError (with the line) when it is but WIT flags cannot say it."""
    entries = [m for m in node.child_by_field_name("body").named_children if m.type != "comment"]
    if not any(_uses_bit_operator(m) for m in entries):
        raise not_flags_hint(name)
    values: dict[str, int] = {}
    consts, combinations = [], []
    previous = -1
    for entry in entries:
        key_node = entry.child_by_field_name("name") if entry.type == "enum_assignment" else entry
        key, line = _member_key(key_node), line_of(entry)
        value_node = entry.child_by_field_name("value") if entry.type == "enum_assignment" else None
        value = previous + 1 if value_node is None else _value(value_node, name, values, line)
        if value is None:
            raise CompileError(
                f"line {line}: `{name}.{key}`: a member of flags `{name}` must be a number written with "
                "literals, `<<`, `|`, parentheses and the enum's other members: `1 << 2`, `Read | Write`."
            )
        values[key] = previous = value
        if not value & (value - 1):
            consts.append(BitConst(key, value, line))
        elif value_node is not None and _operator(value_node) == "|":
            combinations.append((key, value, line))
        else:
            counted = " (a member without a value is the one before it plus 1)" if value_node is None else ""
            raise CompileError(
                f"line {line}: `{name}.{key}` is {value:#x}{counted}, not a single bit: the members of flags "
                f"`{name}` are distinct bits, `1 << 0`, `1 << 1`, ...; a combination joins members with `|`, "
                "e.g. `All = Read | Write`."
            )
    for c in consts:
        try:
            wit_name(c.name)
        except ValueError:
            raise CompileError(
                f"line {c.line}: `{name}.{c.name}` cannot be a WIT name (start it with a letter)."
            ) from None
    names = members(name, consts, "")
    bits = sum(1 << i for i in range(len(names)))
    for key, value, line in combinations:
        if value & ~bits:
            bit = (value & ~bits).bit_length() - 1
            raise CompileError(
                f"line {line}: `{name}.{key}` is {value:#x}, which has bit {bit}, and no member of flags "
                f"`{name}` is that bit: a combination joins the enum's members with `|`."
            )
    by_bit = sorted((c for c in consts if c.value), key=lambda c: c.value)
    return wit.Flags(wit_name(name), names, docs=docs), tuple(c.name for c in by_bit)


def _member_key(node) -> str:
    key = text(node)
    return key[1:-1] if node.type == "string" else key


def _operator(node) -> str | None:
    while node.type == "parenthesized_expression":
        node = node.named_children[0]
    op = node.child_by_field_name("operator") if node.type == "binary_expression" else None
    return None if op is None else text(op)


def _uses_bit_operator(entry) -> bool:
    if entry.type != "enum_assignment":
        return False
    stack = [entry.child_by_field_name("value")]
    while stack:
        node = stack.pop()
        if _operator(node) in BIT_OPERATORS:
            return True
        stack.extend(node.named_children)
    return False


def _value(node, enum: str, known: dict[str, int], line: int) -> int | None:
    """A member's value as TypeScript computes it, or None for what this reader does not evaluate."""
    kind = node.type
    if kind == "parenthesized_expression":
        return _value(node.named_children[0], enum, known, line)
    if kind == "number":
        try:
            return int(text(node).replace("_", ""), 0)
        except ValueError:  # 1.5, 1e3, 017
            return None
    if kind == "identifier":
        return known.get(text(node))
    if kind == "member_expression" and text(node.child_by_field_name("object")) == enum:
        return known.get(text(node.child_by_field_name("property")))
    if kind == "binary_expression" and _operator(node) in BIT_OPERATORS:
        left = _value(node.child_by_field_name("left"), enum, known, line)
        right = _value(node.child_by_field_name("right"), enum, known, line)
        if left is None or right is None:
            return None
        if _operator(node) == "<<":
            if right > 31:  # JavaScript shifts by the count modulo 32: `1 << 32` is 1
                raise CompileError(
                    f"line {line}: `{text(node)}` in flags `{enum}`: flags hold at most 32 members "
                    "(bits 0..31)."
                )
            return ((left & WORD) << (right & 31)) & WORD
        return (left | right) & WORD
    return None
