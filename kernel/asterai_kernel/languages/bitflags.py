"""What the compiled languages share when they read WIT flags from a cell: a bit set whose members are named
bit constants (Go `PermsRead Perms = 1 << iota`, C `#define PERMS_READ (1u << 0)`, ...).

WIT flags number their members from bit 0 without gaps, so the constants must be exactly 1 << 0 .. 1 << n-1
(in any order in the source); the member order is the bit order. At most 32 members: the Component Model
allows no more (wasm-tools: "cannot have more than 32 flags"), so flags are one i32 flat and at most 4 bytes.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import CompileError
from ..names import wit_name

MAX_MEMBERS = 32


@dataclass(frozen=True)
class BitConst:
    """A constant of the bit set as written in the cell: its name, value and line (for errors)."""

    name: str
    value: int
    line: int


def member_name(const: str, prefix: str) -> str:
    """The WIT name of a member: the constant's name after the type's (`PermsRead`, `Perms` -> `read`;
    `PERMS_READ`, `PERMS_` -> `read`), the whole name kebab-cased when it does not start with it."""
    rest = const[len(prefix) :] if const.lower().startswith(prefix.lower()) else ""
    return wit_name(rest.lstrip("_") or const)


def members(type_name: str, consts: list[BitConst], prefix: str, width: int = MAX_MEMBERS) -> tuple[str, ...]:
    """The WIT member names of bit set `type_name`, in bit order, from its constants; a constant that is
    zero (the empty set) is not a member. Refuses what WIT flags cannot say, naming the line."""
    by_bit: dict[int, BitConst] = {}
    for c in consts:
        if c.value == 0:
            continue
        if c.value < 0 or c.value & (c.value - 1):
            raise CompileError(
                f"line {c.line}: `{c.name}` is {c.value:#x}, not a single bit: the constants of flags "
                f"`{type_name}` must be distinct powers of two (1 << 0, 1 << 1, ...); write a combination "
                "in the code that uses the flags instead."
            )
        bit = c.value.bit_length() - 1
        if bit >= min(width, MAX_MEMBERS):
            raise CompileError(
                f"line {c.line}: `{c.name}` is bit {bit}: flags `{type_name}` hold at most "
                f"{min(width, MAX_MEMBERS)} members (bits 0..{min(width, MAX_MEMBERS) - 1})."
            )
        if bit in by_bit:
            raise CompileError(
                f"line {c.line}: `{c.name}` is bit {bit}, as `{by_bit[bit].name}` (line {by_bit[bit].line}) "
                f"is: each member of flags `{type_name}` needs a bit of its own."
            )
        by_bit[bit] = c
    if not by_bit:
        raise CompileError(f"flags `{type_name}` have no members: give it constants 1 << 0, 1 << 1, ...")
    missing = next((b for b in range(len(by_bit)) if b not in by_bit), None)
    if missing is not None:
        last = by_bit[max(by_bit)]
        raise CompileError(
            f"line {last.line}: flags `{type_name}` skip bit {missing} (no constant is 1 << {missing}): WIT "
            "flags are numbered from bit 0 without gaps."
        )
    names = [member_name(by_bit[b].name, prefix) for b in range(len(by_bit))]
    seen: dict[str, str] = {}
    for b, n in enumerate(names):
        if n in seen:
            raise CompileError(
                f"line {by_bit[b].line}: `{by_bit[b].name}` and `{seen[n]}` are both member `{n}` of flags "
                f"`{type_name}`."
            )
        seen[n] = by_bit[b].name
    return tuple(names)
