"""WIT flags in Rust: a tuple struct over an unsigned integer whose associated constants are its bits.

    pub struct Perms(u8);
    impl Perms {
        pub const READ: Perms = Perms(1 << 0);
        pub const WRITE: Perms = Perms(1 << 1);
    }

is WIT `flags perms { read, write }`: each constant of the type is one member, in bit order (the rules are
languages/bitflags.py's); a constant that is zero (`EMPTY`) is not a member. The glue builds the struct from
the word and reads `.0` back (a private field is visible to the glue, a module of the same crate), and adds
`impl BitOr` and `fn contains` when the cell has none, so `Perms::READ | Perms::WRITE` works without a crate.
A `--use` module spells a provider's flags the same way, with `pub` field, `empty()`, `all()`, `|` and `&`.
"""

from __future__ import annotations

import re

from ... import wit
from ...errors import CompileError
from ...names import pascal_name, wit_name
from ..bitflags import BitConst, members
from ..treesitter import text

WIDTHS = {"u8": 8, "u16": 16, "u32": 32}
_OPS = {"<<": lambda a, b: a << b, "|": lambda a, b: a | b, "+": lambda a, b: a + b}


def bit_consts(root) -> dict[str, list]:
    """Per type name, the `const` items of its inherent impls whose type is that type (`Perms` or `Self`)."""
    found: dict[str, list] = {}
    for impl in root.named_children:
        if impl.type != "impl_item" or impl.child_by_field_name("trait") is not None:
            continue
        name, body = text(impl.child_by_field_name("type")), impl.child_by_field_name("body")
        for item in body.named_children if body is not None else ():
            if item.type == "const_item" and text(item.child_by_field_name("type")) in (name, "Self"):
                found.setdefault(name, []).append(item)
    return found


def is_candidate(struct, consts: dict[str, list]) -> bool:
    """A tuple struct over one integer with constants of its own type: meant as flags (read_flags says
    whether it fits). Any other tuple struct (`Meters(f64)`) stays what it was."""
    body = struct.child_by_field_name("body")
    if struct.type != "struct_item" or body is None or body.type != "ordered_field_declaration_list":
        return False
    types = body.children_by_field_name("type")
    return (
        text(struct.child_by_field_name("name")) in consts
        and len(types) == 1
        and re.fullmatch(r"[ui](8|16|32|64|128|size)", text(types[0])) is not None
    )


def read_flags(name: str, struct, consts: list, root, line_of) -> tuple[wit.Flags, str, tuple[str, ...]]:
    """The WIT flags of tuple struct `name`, its backing integer, and the helpers the glue adds for it
    (those the cell does not define). Refuses what flags cannot say, naming the line (`line_of(node)`)."""
    backing = text(struct.child_by_field_name("body").children_by_field_name("type")[0])
    if backing not in WIDTHS:
        raise CompileError(
            f"line {line_of(struct)}: `{name}` has constants of its own type, so it would be WIT flags, but "
            f"flags are a tuple struct over u8, u16 or u32 (at most 32 members), e.g. `pub struct {name}"
            f"(u8);`, not over `{backing}`."
        )
    by_name = {text(c.child_by_field_name("name")): c for c in consts}
    bits = [BitConst(n, _const_value(name, c, by_name, line_of), line_of(c)) for n, c in by_name.items()]
    flags = wit.Flags(wit_name(name), members(name, bits, "", WIDTHS[backing]))
    return flags, backing, _missing_helpers(name, struct, root)


def _const_value(name: str, const, by_name: dict, line_of, depth: int = 0) -> int:
    """`Perms(1 << 2)` (or `Self(..)`): the integer inside, of literals, <<, |, + and other bits' `.0`."""
    value = const.child_by_field_name("value")
    if value is not None and value.type == "call_expression":
        args = value.child_by_field_name("arguments").named_children
        inner = [a for a in args if a.type not in ("line_comment", "block_comment")]
        if text(value.child_by_field_name("function")) in (name, "Self") and len(inner) == 1:
            found = _int(name, inner[0], by_name, line_of, depth)
            if found is not None:
                return found
    const_name = text(const.child_by_field_name("name"))
    raise CompileError(
        f"line {line_of(const)}: `{const_name}`: a constant of flags `{name}` must be `{name}(...)` of an "
        f"integer expression of literals, <<, | and parentheses, e.g. `{name}(1 << 2)`."
    )


def _int(name: str, node, by_name: dict, line_of, depth: int) -> int | None:
    kind = node.type
    if kind == "integer_literal":
        digits = text(node).replace("_", "").lower()
        digits = re.sub(r"[ui](8|16|32|64|128|size)$", "", digits)
        try:  # (Rust's 010 is ten)
            return int(digits, 0) if digits[:2] in ("0x", "0o", "0b") else int(digits, 10)
        except ValueError:
            return None
    if kind == "parenthesized_expression" and len(node.named_children) == 1:
        return _int(name, node.named_children[0], by_name, line_of, depth)
    if kind == "binary_expression" and text(node.child_by_field_name("operator")) in _OPS:
        a = _int(name, node.child_by_field_name("left"), by_name, line_of, depth)
        b = _int(name, node.child_by_field_name("right"), by_name, line_of, depth)
        if a is not None and b is not None and b < 4096:
            return _OPS[text(node.child_by_field_name("operator"))](a, b)
        return None
    if kind == "field_expression" and text(node.child_by_field_name("field")) == "0" and depth < 8:
        # `Perms::READ.0` / `Self::READ.0`: another constant's bits
        path = text(node.child_by_field_name("value")).split("::")
        if len(path) == 2 and path[0] in (name, "Self") and path[1] in by_name:
            return _const_value(name, by_name[path[1]], by_name, line_of, depth + 1)
    return None


def _missing_helpers(name: str, struct, root) -> tuple[str, ...]:
    """`bitor` unless the cell implements BitOr for the type (or derives it); `contains` unless any impl of
    the type has a `contains` (an inherent one the glue added would shadow a trait's)."""
    has_bitor = "BitOr" in "".join(text(a) for a in _attributes(struct))
    has_contains = False
    for impl in root.named_children:
        if impl.type != "impl_item" or text(impl.child_by_field_name("type")) != name:
            continue
        trait = impl.child_by_field_name("trait")
        if trait is not None and text(trait).split("<")[0].split("::")[-1].strip() == "BitOr":
            has_bitor = True
        body = impl.child_by_field_name("body")
        for item in body.named_children if body is not None else ():
            if item.type == "function_item" and text(item.child_by_field_name("name")) == "contains":
                has_contains = True
    return tuple(h for h, has in (("bitor", has_bitor), ("contains", has_contains)) if not has)


def _attributes(node) -> list:
    out, prev = [], node.prev_named_sibling
    while prev is not None and prev.type in ("attribute_item", "line_comment", "block_comment"):
        out.append(prev)
        prev = prev.prev_named_sibling
    return out


def helpers(path: str, missing: tuple[str, ...]) -> str:
    """The glue's `|` and `contains` for the cell's flags at `path`, those the cell does not have."""
    out = []
    if "bitor" in missing:
        out.append(
            f"    impl core::ops::BitOr for {path} {{\n        type Output = Self;\n"
            "        fn bitor(self, rhs: Self) -> Self { Self(self.0 | rhs.0) }\n    }\n"
        )
    if "contains" in missing:
        out.append(
            f"    impl {path} {{\n        /// Whether every member of `other` is in `self`.\n"
            "        pub fn contains(&self, other: Self) -> bool { self.0 & other.0 == other.0 }\n    }\n"
        )
    return "".join(out)


def backing(t: wit.Flags) -> str:
    """The smallest unsigned integer a `--use` module backs flags `t` with."""
    return next(f"u{w}" for w in WIDTHS.values() if len(t.flags) <= w)


def const_name(member: str) -> str:
    """The Rust constant of a WIT flags member: `read-all` -> `READ_ALL`."""
    return wit_name(member).replace("-", "_").upper()


def definition(t: wit.Flags) -> str:
    """A provider's flags in a `--use` module: the cell's own spelling, with a `pub` field and helpers."""
    name, word = pascal_name(t.name), backing(t)
    consts = "".join(
        f"    pub const {const_name(m)}: Self = Self(1 << {i});\n" for i, m in enumerate(t.flags)
    )
    ops = "".join(
        f"impl core::ops::{op} for {name} {{ type Output = Self; "
        f"fn {op.lower()}(self, rhs: Self) -> Self {{ Self(self.0 {sym} rhs.0) }} }}\n"
        for op, sym in (("BitOr", "|"), ("BitAnd", "&"))
    )
    return (
        f"/// flags `{t.name}`: one bit per member, in this order.\n"
        f"#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]\npub struct {name}(pub {word});\n"
        f"impl {name} {{\n{consts}"
        f"    pub const fn empty() -> Self {{ Self(0) }}\n"
        f"    pub const fn all() -> Self {{ Self({(1 << len(t.flags)) - 1:#x}) }}\n"
        "    pub fn contains(&self, other: Self) -> bool { self.0 & other.0 == other.0 }\n"
        "    pub fn is_empty(&self) -> bool { self.0 == 0 }\n"
        f"}}\n{ops}"
    )
