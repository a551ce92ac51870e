"""The one Zig emitter of canonical-ABI glue: abi.py's planned steps spelled in Zig, for both sides of a cell.

The export side (exports.py: glue.zig, the root module, which calls the cell's `pub fn`s) and the import side
(imports.py: a module per `--use` provider) walk the same planned steps with this emitter. A `ZigType`
travels beside each step (abi.Emitter's `spell`): the Zig type as the code writes it, and the Zig names of
its fields and cases. The export side reads it from the cell's source (`cell.Point`, `[]const usize`, a
function's `!T`); the import side derives it from WIT (`spell_wit`).

Memory is the runtime's (asterai.zig): strings and lists lifted from the host are used in place (they sit in
the call's arena, where `cabi_realloc` put them); lowered ones are lent as they are, or built in the arena,
which every export's post-return releases after the host has read the result.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ... import abi, wit
from ...names import pascal_name, snake_name, words

# WIT primitive -> the Zig type with its layout in memory (bool: one byte, 0 or 1; char: a u21 code point)
ZIG_PRIMS = {"bool": "bool", "s8": "i8", "u8": "u8", "s16": "i16", "u16": "u16", "s32": "i32",
             "u32": "u32", "s64": "i64", "u64": "u64", "f32": "f32", "f64": "f64", "char": "u21"}  # fmt: skip
CORE = {"i32": "i32", "i64": "i64", "f32": "f32", "f64": "f64"}
# Joined variant slots (abi.Case.slots): (joined, own) reads a case's own value, (own, joined) widens it.
CAST_IN = {
    ("i64", "i32"): "@as(i32, @truncate({v}))",
    ("i32", "f32"): "@as(f32, @bitCast({v}))",
    ("i64", "f32"): "@as(f32, @bitCast(@as(i32, @truncate({v}))))",
    ("i64", "f64"): "@as(f64, @bitCast({v}))",
}
CAST_OUT = {
    ("i32", "i64"): "@as(i64, @as(u32, @bitCast({v})))",
    ("f32", "i32"): "@as(i32, @bitCast({v}))",
    ("f32", "i64"): "@as(i64, @as(u32, @bitCast({v})))",
    ("f64", "i64"): "@as(i64, @bitCast({v}))",
}
RUNTIME = "asterai"  # the runtime module's name, in the glue and in every `--use` module


@dataclass(frozen=True)
class ZigType:
    """A WIT type as Zig code spells it: `zig` is the type; `parts` the spellings of its fields, tuple
    elements, list element (0) or cases' payloads (an option's `some` is case 1); `names` the Zig names of
    its fields or cases. `errors`: a function's error union `!T`, whose err case is the error's name."""

    wit: wit.WitType
    zig: str
    parts: tuple[ZigType | None, ...] = ()
    names: tuple[str, ...] = ()
    errors: bool = False

    def part(self, index: int) -> ZigType | None:
        return self.parts[index]


def zig_ident(name: str) -> str:
    """A Zig identifier for a generated name: quoted when it is a keyword or a primitive type name."""
    return f'@"{name}"' if name in ZIG_RESERVED or _primitive(name) else name


def _primitive(name: str) -> bool:
    return name[:1] in "iu" and name[1:].isdigit() or name in ZIG_PRIMITIVE_NAMES


ZIG_RESERVED = frozenset(
    """addrspace align allowzero and anyframe anytype asm break callconv catch comptime const continue defer
    else enum errdefer error export extern fn for if inline linksection noalias noinline nosuspend opaque or
    orelse packed pub resume return struct suspend switch test threadlocal try union unreachable var volatile
    while""".split()
)
ZIG_PRIMITIVE_NAMES = frozenset(
    """anyerror anyframe anyopaque bool c_char c_int c_long c_longdouble c_longlong c_short c_uint c_ulong
    c_ulonglong c_ushort comptime_float comptime_int f128 f16 f32 f64 f80 false isize noreturn null type
    true undefined usize void""".split()
)


def field_name(wit_field: str) -> str:
    """The Zig name of a WIT field or case (`dark-red` -> `dark_red`): Zig's snake_case."""
    return zig_ident("_".join(words(wit_field)))


def type_name(wit_type: str) -> str:
    return zig_ident(pascal_name(wit_type))


def fn_name(wit_fn: str) -> str:
    """The Zig name of a WIT function (`word-count` -> `wordCount`): Zig's camelCase."""
    first, *rest = snake_name(wit_fn).rstrip("_").split("_")
    return zig_ident(first + "".join(w[:1].upper() + w[1:] for w in rest))


def spell_wit(ty: wit.WitType | None, qualify: Callable[[wit.WitType], str] = lambda t: type_name(t.name)
              ) -> ZigType | None:  # fmt: skip
    """How generated Zig spells a WIT type; `qualify` names a record, enum or variant."""
    if ty is None:
        return None
    if isinstance(ty, wit.Prim):
        return ZigType(ty, ZIG_PRIMS[ty.name])
    if isinstance(ty, wit.Handle):  # own or borrow: the provider's resource struct (imports.py)
        return ZigType(ty, qualify(ty.resource))
    if isinstance(ty, (wit.String, wit.Bulk)):
        return ZigType(ty, "[]const u8")
    if isinstance(ty, wit.List):
        elem = spell_wit(ty.elem, qualify)
        bytes_ = ty.elem == wit.Prim("u8")  # `[]const u8` is a string
        return ZigType(ty, f"{RUNTIME}.Bytes" if bytes_ else f"[]const {elem.zig}", (elem,))
    if isinstance(ty, wit.Option):
        inner = spell_wit(ty.inner, qualify)
        return ZigType(ty, f"?{inner.zig}", (None, inner))
    if isinstance(ty, wit.Result):
        ok, err = spell_wit(ty.ok, qualify), spell_wit(ty.err, qualify)
        both = ", ".join(t.zig if t else "void" for t in (ok, err))
        return ZigType(ty, f"{RUNTIME}.Result({both})", (ok, err), ("ok", "err"))
    if isinstance(ty, wit.Tuple):
        elems = tuple(spell_wit(e, qualify) for e in ty.elems)
        return ZigType(ty, f"struct {{ {', '.join(e.zig for e in elems)} }}", elems)
    if isinstance(ty, wit.Record):
        fields = tuple(spell_wit(t, qualify) for _, t in ty.fields)
        return ZigType(ty, qualify(ty), fields, tuple(field_name(n) for n, _ in ty.fields))
    if isinstance(ty, (wit.Enum, wit.Flags)):
        names = ty.cases if isinstance(ty, wit.Enum) else ty.flags
        return ZigType(ty, qualify(ty), (), tuple(field_name(c) for c in names))
    assert isinstance(ty, wit.Variant), ty
    cases = tuple(spell_wit(t, qualify) for _, t in ty.cases)
    return ZigType(ty, qualify(ty), cases, tuple(field_name(c) for c, _ in ty.cases))


def indent(text: str) -> str:
    return "\n".join(f"    {line}" if line else line for line in text.split("\n"))


class ZigEmitter(abi.Emitter):
    """Spells planned steps in Zig. Addresses are usize expressions; flat core values are i32, i64, f32
    and f64; `rt` is the runtime's `abi` namespace (asterai.zig)."""

    def tmp(self, stem: str = "t") -> str:
        # `_` first: clear of the glue's own names and of Zig's (locals may not shadow anything)
        return "_" + super().tmp(stem)

    # ---- scalars; a handle is a provider's resource struct holding its i32 (imports.py) ----
    def lift_scalar(self, step, val, spell=None):
        if isinstance(step, abi.Handle):
            return f"{spell.zig}{{ .handle = {val} }}"
        name = step.name
        if name == "bool":
            return f"({val} != 0)"
        if name == "char":
            return f"@as(u21, @intCast(@as(u32, @bitCast({val}))))"
        if name in ("s8", "s16"):
            return f"@as({ZIG_PRIMS[name]}, @truncate({val}))"
        if name in ("u8", "u16"):
            return f"@as({ZIG_PRIMS[name]}, @truncate(@as(u32, @bitCast({val}))))"
        if name in ("u32", "u64"):
            return f"@as({ZIG_PRIMS[name]}, @bitCast({val}))"
        return val

    def lower_scalar(self, step, val, spell=None):
        if isinstance(step, abi.Handle):  # an own handle is given away, a borrow lent: the same i32
            return f"{val}.handle"
        name, core = step.name, CORE[step.flat[0]]
        if name == "bool":
            return f"rt.b2i({val})"
        if name in ("u32", "u64"):
            return f"@as({core}, @bitCast(@as({ZIG_PRIMS[name]}, {val})))"
        return f"@as({core}, {val})"

    def load_scalar(self, step, ptr, spell=None):
        if isinstance(step, abi.Handle):
            return self.lift_scalar(step, f"rt.load(i32, {ptr})", spell)
        if step.name == "bool":
            return f"(rt.load(u8, {ptr}) != 0)"
        if step.name == "char":
            return f"@as(u21, @intCast(rt.load(u32, {ptr})))"
        return f"rt.load({ZIG_PRIMS[step.name]}, {ptr})"

    def store_scalar(self, step, val, ptr, spell=None):
        if isinstance(step, abi.Handle):
            return f"rt.store(i32, {ptr}, {val}.handle);"
        if step.name == "bool":
            return f"rt.store(u8, {ptr}, @intFromBool({val}));"
        if step.name == "char":
            return f"rt.store(u32, {ptr}, {val});"
        return f"rt.store({ZIG_PRIMS[step.name]}, {ptr}, {val});"

    def at(self, ptr, offset):
        return f"({ptr} + {offset})" if offset else ptr

    # ---- strings and lists ----
    def lift_text(self, ptr, length, spell=None):
        return f"rt.slice(u8, {ptr}, {length})"

    def lower_text(self, val, out, spell=None):
        s = self.tmp("s")
        out.append(f"const {s} = rt.text({val});")
        return [f"rt.ptr({s})", f"rt.len({s})"]

    # ---- bulk twins: a numeric list as one string block (asterai.zig bulkIn/bulkOut) ----
    def lift_bulk(self, step, ptr, length, spell=None):
        return f"rt.bulkIn({spell.part(0).zig}, {ptr}, {length})"

    def lower_bulk(self, step, val, out, spell=None):
        b = self.tmp("b")
        out.append(f"const {b} = rt.bulkOut({val});")
        return [f"{b}[0]", f"{b}[1]"]

    def lift_list(self, step, ptr, length, spell=None):
        elem = spell.part(0)
        if isinstance(step.elem, abi.Scalar):  # laid out as the ABI does (a handle: extern struct): in place
            return f"rt.slice({elem.zig}, {ptr}, {length})"
        blk, out, base, o, i = (self.tmp(s) for s in ("blk", "out", "base", "o", "i"))
        load = self.load(step.elem, f"({base} + {i} * {step.elem.size})", elem)
        return (
            f"{blk}: {{\n    const {out} = rt.alloc({elem.zig}, rt.addr({length}));\n"
            f"    const {base} = rt.addr({ptr});\n"
            f"    for ({out}, 0..) |*{o}, {i}| {{\n{indent(indent(f'{o}.* = {load};'))}\n    }}\n"
            f"    break :{blk} {out};\n}}"
        )

    def lower_list(self, step, val, out, spell=None):
        s = self.bind(val, out, spell)
        # Lent as it is, but not a u21 char: the bits above its 21 are undefined in Zig's memory
        if isinstance(step.elem, abi.Scalar) and step.elem.name != "char":
            return [f"rt.ptr({s})", f"rt.len({s})"]
        e, buf, x, i = step.elem, self.tmp("buf"), self.tmp("x"), self.tmp("i")
        store = self.store(e, x, f"({buf} + {i} * {e.size})", spell.part(0))
        out += [
            f"const {buf} = rt.allocBytes({s}.len * {e.size}, {e.align});",
            f"for ({s}, 0..) |{x}, {i}| {{\n{indent(store)}\n}}",
        ]
        return [f"rt.core({buf})", f"rt.len({s})"]

    # ---- flags: a packed struct of bools, bit-cast (asterai.zig flagsFrom, flagsBits) ----
    def lift_flags(self, step, word, spell=None):
        return f"rt.flagsFrom({spell.zig}, {word})"

    def lower_flags(self, step, val, out, spell=None):
        return f"@as(i32, @bitCast(rt.flagsBits(u32, {val}, {step.mask:#x})))"

    def load_flags(self, step, ptr, spell=None):
        return f"rt.flagsFrom({spell.zig}, rt.load({ZIG_PRIMS[step.word.name]}, {ptr}))"

    def store_flags(self, step, val, ptr, spell=None):
        w = ZIG_PRIMS[step.word.name]
        return f"rt.store({w}, {ptr}, rt.flagsBits({w}, {val}, {step.mask:#x}));"

    # ---- records and tuples ----
    def make_fields(self, step, parts, spell=None):
        if isinstance(step.ty, wit.Tuple):
            return f"@as({spell.zig}, .{{ {', '.join(parts)} }})"
        inits = ", ".join(f".{name} = {part}" for name, part in zip(spell.names, parts))
        return f"{spell.zig}{{ {inits} }}"

    def bind(self, val, out, spell=None):
        if val.isidentifier():
            return val
        name = self.tmp("v")
        out.append(f"const {name} = {val};")
        return name

    def field(self, step, val, index, spell=None):
        if isinstance(step.ty, wit.Tuple):
            return f"{val}[{index}]"
        return f"{val}.{spell.names[index]}"

    # ---- cases: options, Result unions, a function's error union, enums, tagged unions ----
    def select_case(self, step, disc, arms, spell=None):
        ty, t = step.ty, spell.zig
        prongs = []
        for case, value in arms:
            if isinstance(ty, wit.Option):
                made = f"@as({t}, {'null' if value is None else value})"
            elif isinstance(ty, wit.Enum):
                made = f"{t}.{spell.names[case.index]}"
            else:  # a Result union or a tagged union
                made = f"{t}{{ .{spell.names[case.index]} = {'{}' if value is None else value} }}"
            prongs.append(f"{case.index} => {made},")
        return f"switch ({disc}) {{\n{indent(chr(10).join(prongs))}\n    else => unreachable,\n}}"

    def match_cases(self, step, val, arms, spell=None):
        ty = step.ty
        if isinstance(ty, wit.Option):
            (_, _, none), (_, x, some) = arms
            return f"if ({val}) |{x}| {self.block(some)} else {self.block(none)}"
        if spell.errors:  # `!T`: the err case's payload is the error's name
            (_, ok_x, ok), (_, err_x, err) = arms
            e = self.tmp("e")
            err_body = self.block([f"const {err_x} = @errorName({e});", *err])
            return f"if ({val}) |{ok_x or '_'}| {self.block(ok)} else |{e}| {err_body}"
        prongs = []
        for case, x, body in arms:
            capture = f"|{x}| " if x else ""
            prongs.append(f".{spell.names[case.index]} => {capture}{self.block(body)},")
        return f"switch ({val}) {{\n{indent(chr(10).join(prongs))}\n}}"

    def load_disc(self, step, ptr):
        return f"rt.load({ZIG_PRIMS[step.disc.name]}, {ptr})"

    def store_disc(self, step, index, ptr):
        return f"rt.store({ZIG_PRIMS[step.disc.name]}, {ptr}, {index});"

    def cast_in(self, val, joined, own):
        return val if joined == own else CAST_IN[joined, own].format(v=val)

    def cast_out(self, val, own, joined):
        return val if joined == own else CAST_OUT[own, joined].format(v=val)

    # ---- statements ----
    def declare(self, name, core):
        return f"var {name}: {CORE[core]} = 0;"

    def assign(self, name, val):
        return f"{name} = {val};"

    def block(self, stmts):
        body = "\n".join(s for s in stmts if s)
        return f"{{\n{indent(body)}\n}}" if body else "{}"
