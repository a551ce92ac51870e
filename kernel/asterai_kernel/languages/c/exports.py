"""Canonical-ABI glue for C cells, generated as C source appended to the cell (after `#line` to its own file).

Each export gets a core function `asterai:cells/NAME#fn` that lifts the flat core arguments into the cell's
C types, calls the cell's function and lowers the result: directly when it is one core value, else into a
static return area read by the host, after which `cabi_post_...` frees what the call owned (runtime.h:
asterai_own / asterai_release). C has no closures, so a list is lifted and lowered by a helper function
per (kind, C type), made once per glue (`CEmitter.helper`). A function with numeric lists also gets its
bulk twin (`asterai:cells/NAME-bulk#fn`, wit.bulk_twin), which takes and returns them as one string block
(runtime.h asterai_bulk_decode, in place, and asterai_bulk_encode).

How the cell spells each value is a `CType` carried down the planner's walk (abi.Emitter's `spell`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ... import abi, wit

# WIT primitive -> the C type it sits in memory as, and the C type a cell writes for it by default
MEM = {
    "bool": "uint8_t",
    "s8": "int8_t",
    "u8": "uint8_t",
    "s16": "int16_t",
    "u16": "uint16_t",
    "s32": "int32_t",
    "u32": "uint32_t",
    "s64": "int64_t",
    "u64": "uint64_t",
    "f32": "float",
    "f64": "double",
    "char": "uint32_t",
}
C_PRIMS = {**MEM, "bool": "bool", "char": "char32_t"}
CORE = {"i32": "int32_t", "i64": "int64_t", "f32": "float", "f64": "double"}


@dataclass(frozen=True)
class CType:
    """A WIT type as the cell spells it in C (or C++).

    kind: scalar | cstr (`char *`, NUL-terminated) | string (asterai_string) | list (a struct of ptr and
    len) | pair (a `T *xs, size_t n` parameter pair) | record | enum | flags (an unsigned integer typedef,
    bit i member i) | handle (a provider's resource held through `--use`: a struct of one i32); C++ adds
    its own (cpp/).
    """

    wit: wit.WitType
    c: str  # how C spells it: "int32_t", "Point", "asterai_list_f64", "const char *"
    kind: str
    borrowed: bool = False  # a result the cell keeps (`const char *`): not freed after the call
    parts: tuple[CType, ...] = ()  # list/pair: (element,); record: its fields
    # record: C field names; enum: C constants; flags: its bits' macros
    names: tuple[str, ...] = field(default=(), compare=True)

    def part(self, index: int) -> CType | None:
        """Field `index`, the list element (0), or case `index`'s payload (an optional's some: 1)."""
        if self.kind == "optional":
            return self.parts[0] if index == 1 else None
        return self.parts[index] if self.parts else None


def prim(name: str, c: str | None = None) -> CType:
    return CType(wit.Prim(name), c or C_PRIMS[name], "scalar")


@dataclass
class Param:
    name: str  # the C parameter (the pointer's, for a pair)
    ctype: CType


@dataclass
class Export:
    c_name: str  # the cell's function
    fn: wit.Function
    params: list[Param]
    result: CType | None


class CEmitter(abi.Emitter):
    """Spells the planner's steps in C. Helpers (list loops, enum switches, ownership walks) are made once
    per (kind, C type) into `defs`, which the glue writes before the functions that call them."""

    def __init__(self, prefix: str = "asterai_") -> None:
        super().__init__()
        self.prefix = prefix  # a `--use` header's helpers are its own (several headers share the cell)
        self.made: dict = {}
        self.defs: list[str] = []

    def helper(self, kind: str, spell: CType, make: Callable[[str], str]) -> str:
        """The name of the helper of this kind for this type, made on first use."""
        key = (kind, spell)
        if key not in self.made:
            name = f"{self.prefix}{kind}_{len(self.made)}"
            self.made[key] = name
            self.defs.append(make(name))  # after the helpers its body made
        return self.made[key]

    def c_of(self, spell: CType) -> str:
        """The C type of a value: a pair parameter's list is a struct the glue declares for it."""
        if spell.kind != "pair":
            return spell.c
        elem = spell.parts[0]
        return self.helper("pair", elem, lambda name: f"typedef ASTERAI_LIST({elem.c}) {name};\n")

    # ---- scalars; a provider's resource handle (`--use`) is a struct of one i32, as wit-bindgen's ----
    def lift_scalar(self, step, val, spell=None):
        if isinstance(step, abi.Handle):
            return self.literal(spell.c, [f".__handle = ({val})"])
        if step.name == "bool":
            return f"(({val}) != 0)"
        return f"(({spell.c if spell else C_PRIMS[step.name]})({val}))"

    def lower_scalar(self, step, val, spell=None):
        if isinstance(step, abi.Handle):  # own: given away (the cell must not drop it); borrow: lent
            return f"(({val}).__handle)"
        return f"(({CORE[step.flat[0]]})({val}))"

    def load_scalar(self, step, ptr, spell=None):
        if isinstance(step, abi.Handle):
            return self.lift_scalar(step, f"*(const int32_t *)({ptr})", spell)
        raw = f"(*(const {MEM[step.name]} *)({ptr}))"
        return self.lift_scalar(step, raw, spell) if step.name in ("bool", "char") else raw

    def store_scalar(self, step, val, ptr, spell=None):
        if isinstance(step, abi.Handle):
            return f"*(int32_t *)({ptr}) = ({val}).__handle;"
        if step.name == "bool":
            return f"*(uint8_t *)({ptr}) = ({val}) ? 1 : 0;"
        return f"*({MEM[step.name]} *)({ptr}) = ({MEM[step.name]})({val});"

    def at(self, ptr, offset):
        return f"({ptr} + {offset})" if offset else ptr

    # ---- strings ----
    def lift_text(self, ptr, length, spell=None):
        if spell is not None and spell.kind == "string":
            return f"asterai_lift_string({ptr}, {length})"
        return f"asterai_lift_cstr({ptr}, {length})"

    def lower_text(self, val, out, spell=None):
        s = self.tmp("s")
        if spell is not None and spell.kind == "string":
            out.append(f"asterai_string {s} = {val};")
            return [f"ASTERAI_I32({s}.ptr)", f"((int32_t){s}.len)"]
        out.append(f"const char *{s} = {val};")
        return [f"ASTERAI_I32({s})", f"asterai_cstr_len({s})"]

    # ---- flags: an unsigned integer typedef (`perms_t`), bit i member i ----
    def lift_flags(self, step, word, spell=None):
        return f"(({spell.c})(uint32_t)({word}))"

    def lower_flags(self, step, val, out, spell=None):
        return f"((int32_t)((uint32_t)({val}) & {step.mask:#x}u))"

    def load_flags(self, step, ptr, spell=None):
        return f"(({spell.c})(*(const {MEM[step.word.name]} *)({ptr})))"

    def store_flags(self, step, val, ptr, spell=None):
        mem = MEM[step.word.name]
        return f"*({mem} *)({ptr}) = ({mem})((uint32_t)({val}) & {step.mask:#x}u);"

    # ---- lists: a struct of ptr and len ----
    def plain(self, step: abi.Sequence, spell: CType) -> bool:
        """Elements laid out in memory as the canonical ABI lays them: the buffer is taken as it is."""
        return step.plain

    def lift_list(self, step, ptr, length, spell=None):
        elem = spell.parts[0]
        if self.plain(step, spell):
            return self.literal(
                self.c_of(spell), [f".ptr = ({elem.c} *)ASTERAI_PTR({ptr})", f".len = (size_t)({length})"]
            )
        lift = self.helper("lift", spell, lambda name: self._lift_helper(name, step, spell))
        return f"{lift}({ptr}, {length})"

    def _lift_helper(self, name: str, step: abi.Sequence, spell: CType) -> str:
        elem, size, c = spell.parts[0], step.elem.size, self.c_of(spell)
        load = self.load(step.elem, f"(base + i * {size})", elem)
        return (
            f"static {c} {name}(int32_t p, int32_t n) {{\n"
            f"    {c} out;\n    out.len = (size_t)n;\n"
            f"    out.ptr = ({elem.c} *)asterai_alloc(out.len * sizeof({elem.c}));\n"
            f"    uint8_t *base = ASTERAI_PTR(p);\n"
            f"    for (size_t i = 0; i < out.len; i++) {{\n        out.ptr[i] = {load};\n    }}\n"
            f"    free(base);\n    return out;\n}}\n"
        )

    def items(self, spell: CType, v: str) -> tuple[str, str, str]:
        """A list value's data pointer, its length and its element `i` (C++'s vector spells them its way)."""
        return f"{v}.ptr", f"{v}.len", f"{v}.ptr[i]"

    def argument(self, spell: CType, val: str) -> str:
        """A lifted argument as the cell's function takes it (C++ moves it: the call is its last use)."""
        return val

    def by_ref(self, c: str) -> str:
        """How a helper takes a value it reads (C++: by const reference, so what it lends stays the
        caller's)."""
        return c

    def lower_list(self, step, val, out, spell=None):
        p, n = self.tmp("p"), self.tmp("n")
        if self.plain(step, spell):
            data, size, _ = self.items(spell, self.bind(val, out, spell))
            out.append(f"int32_t {p} = ASTERAI_I32({data}), {n} = (int32_t){size};")
            return [p, n]
        lower = self.helper("lower", spell, lambda name: self._lower_helper(name, step, spell))
        out.append(f"int32_t {p}, {n};\n{lower}({val}, &{p}, &{n});")
        return [p, n]

    def _lower_helper(self, name: str, step: abi.Sequence, spell: CType) -> str:
        size = step.elem.size
        _, count, item = self.items(spell, "v")
        store = self.store(step.elem, item, f"(buf + i * {size})", spell.parts[0])
        return (
            f"static void {name}({self.by_ref(self.c_of(spell))} v, int32_t *p, int32_t *n) {{\n"
            f"    uint8_t *buf = asterai_scratch({count} * {size});\n"
            f"    for (size_t i = 0; i < {count}; i++) {{\n        {store}\n    }}\n"
            f"    *p = ASTERAI_I32(buf);\n    *n = (int32_t){count};\n}}\n"
        )

    # ---- bulk twins: a numeric list as one string block (runtime.h asterai_bulk_decode/encode) ----
    def lift_bulk(self, step, ptr, length, spell=None):
        lift = self.helper("bulkin", spell, lambda name: self._bulk_in_helper(name, spell))
        return f"{lift}({ptr}, {length})"

    def _bulk_in_helper(self, name: str, spell: CType) -> str:
        count = f"bytes / sizeof({spell.parts[0].c})"
        return (
            f"static {self.c_of(spell)} {name}(int32_t p, int32_t n) {{\n"
            f"    size_t bytes = asterai_bulk_decode(p, n);\n"
            f"    return {self.decoded(spell, 'p', count)};\n}}\n"
        )

    def decoded(self, spell: CType, p: str, count: str) -> str:
        """The list decoded in place at `p`: taken as it is (malloc's alignment, 16, suits every number)."""
        elem = spell.parts[0].c
        return self.literal(self.c_of(spell), [f".ptr = ({elem} *)ASTERAI_PTR({p})", f".len = {count}"])

    def lower_bulk(self, step, val, out, spell=None):
        p, n = self.tmp("p"), self.tmp("n")
        data, count, _ = self.items(spell, self.bind(val, out, spell))
        elem = spell.parts[0]
        out.append(f"int32_t {p}, {n};\nasterai_bulk_encode({data}, {count} * sizeof({elem.c}), &{p}, &{n});")
        return [p, n]

    # ---- records ----
    def literal(self, c: str, inits: list[str]) -> str:
        """A value of struct type `c` from its designated initializers (`.x = 1`)."""
        return f"(({c}){{ {', '.join(inits)} }})"

    def make_fields(self, step, parts, spell=None):
        return self.literal(spell.c, [f".{name} = {part}" for name, part in zip(spell.names, parts)])

    def bind(self, val, out, spell=None):
        name = self.tmp("v")
        out.append(f"{self.c_of(spell)} {name} = {val};")
        return name

    def field(self, step, val, index, spell=None):
        return f"{val}.{spell.names[index]}"

    # ---- enums (C's only cases) ----
    def select_case(self, step, disc, arms, spell=None):
        return f"{self.helper('enum', spell, lambda name: self._enum_helper(name, spell))}({disc})"

    def _enum_helper(self, name: str, spell: CType) -> str:
        cases = "".join(f"    case {i}: return {c};\n" for i, c in enumerate(spell.names))
        return (
            f"static {spell.c} {name}(uint32_t d) {{\n    switch (d) {{\n{cases}"
            f'    default: asterai_trap("not a case of enum {spell.wit.wit()}");\n    }}\n}}\n'
        )

    def match_cases(self, step, val, arms, spell=None):
        cases = " ".join(
            f"case {spell.names[case.index]}: {self.block(body)} break;" for case, _, body in arms
        )
        what = f"{spell.c}(%d) is not a case of enum {spell.wit.wit()}"
        return (
            f"switch ({val}) {{ {cases} default: {{ char m[96]; "
            f'snprintf(m, sizeof m, "{what}", (int)({val})); asterai_trap(m); }} }}'
        )

    def load_disc(self, step, ptr):
        return f"((uint32_t)*(const {MEM[step.disc.name]} *)({ptr}))"

    def store_disc(self, step, index, ptr):
        return f"*({MEM[step.disc.name]} *)({ptr}) = {index};"

    def cast_in(self, val, joined, own):
        # C and C++ cells have no result or variant, whose cases share slots of other core types; an
        # option's one payload always has its slots to itself.
        assert joined == own, (joined, own)
        return val

    def cast_out(self, val, own, joined):
        assert joined == own, (joined, own)
        return val

    # ---- statements ----
    def declare(self, name, core):
        return f"{CORE[core]} {name} = 0;"

    def assign(self, name, val):
        return f"{name} = {val};"

    def block(self, stmts):
        return "{ " + " ".join(stmts) + " }"

    # ---- results the host reads after the call returns ----
    def hold_result(self, index: int, spell: CType, call: str, until_post_return: bool) -> list[str]:
        """Statements binding the cell's result to `r`, alive until the post-return when it owns memory
        the host reads (in C a copy holds the same pointers)."""
        return [f"{spell.c} r = {call};"]

    def drop_result(self, index: int) -> list[str]:
        """Statements ending what `hold_result` kept (none in C)."""
        return []

    # ---- ownership: what the call frees once the host is done (runtime.h asterai_own) ----
    def own(self, spell: CType, val: str, result: bool) -> list[str]:
        """Statements noting the memory `val` owns. `result`: a value the cell returned, whose
        borrowed parts (`const char *`) it keeps; otherwise a value the glue lifted, all of it owned."""
        if not owns(spell, result):
            return []
        if spell.kind == "cstr":
            return [f"asterai_own((void *)({val}));"]
        if spell.kind == "string":
            return [f"asterai_own({val}.ptr);"]
        if spell.kind == "record":
            return [
                s for part, n in zip(spell.parts, spell.names) for s in self.own(part, f"{val}.{n}", result)
            ]
        if spell.kind in ("list", "pair"):
            walk = self.helper(
                f"own{'r' if result else 'a'}", spell, lambda name: self._own_helper(name, spell, result)
            )
            return [f"{walk}({val});"]
        return self.own_other(spell, val, result)

    def own_other(self, spell: CType, val: str, result: bool) -> list[str]:
        raise NotImplementedError(spell.kind)

    def _own_helper(self, name: str, spell: CType, result: bool) -> str:
        elem = self.own(spell.parts[0], "v.ptr[i]", result)
        loop = (
            f"    for (size_t i = 0; i < v.len; i++) {{\n        {' '.join(elem)}\n    }}\n" if elem else ""
        )
        return f"static void {name}({self.c_of(spell)} v) {{\n{loop}    asterai_own(v.ptr);\n}}\n"


def owns(spell: CType | None, result: bool) -> bool:
    """Whether a value of this type holds memory the glue frees (a result's borrowed parts excluded)."""
    if spell is None:
        return False
    if spell.kind in ("cstr", "string", "view"):
        return not (result and spell.borrowed)
    if spell.kind in ("list", "pair"):
        return True
    if spell.kind == "stdstring":  # C++'s own types free themselves
        return False
    return any(owns(p, result) for p in spell.parts)


def call_args(g: CEmitter, ex: Export, values: list[str]) -> str:
    """The cell's function's arguments: a pair parameter passes its list's ptr and len."""
    args = []
    for p, v in zip(ex.params, values):
        args += [f"{v}.ptr", f"{v}.len"] if p.ctype.kind == "pair" else [g.argument(p.ctype, v)]
    return ", ".join(args)


def export_function(g: CEmitter, iface: wit.Interface, ex: Export, index: int) -> str:
    plan = abi.plan_function(ex.fn)
    name = wit.export_name(iface, ex.fn)
    lines = ["size_t asterai_m = asterai_mark();"]
    if plan.params_indirect:
        core_params = "int32_t args_p"
        lines.append("uint8_t *args = ASTERAI_PTR(args_p);")
        for i, (p, f) in enumerate(zip(ex.params, plan.args.fields)):
            lines.append(f"{g.c_of(p.ctype)} a{i} = {g.load(f.step, g.at('args', f.offset), p.ctype)};")
        lines.append("free(args);")
    else:
        core = []
        for i, (p, step) in enumerate(zip(ex.params, plan.params)):
            vals = [f"p{i}_{j}" for j in range(len(step.flat))]
            core += [f"{CORE[f]} {v}" for v, f in zip(vals, step.flat)]
            lines.append(f"{g.c_of(p.ctype)} a{i} = {g.lift_flat(step, vals, p.ctype)};")
        core_params = ", ".join(core) or "void"
    call = f"{ex.c_name}({call_args(g, ex, [f'a{i}' for i in range(len(ex.params))])})"
    for i, p in enumerate(ex.params):
        lines += g.own(p.ctype, f"a{i}", result=False)
    ret = CORE[plan.core_result] if plan.core_result else "void"
    if plan.result is None:
        lines += [f"{call};", "asterai_release(asterai_m);"]
    elif plan.result_indirect:
        lines += g.hold_result(index, ex.result, call, plan.post_return)
        lines.append("uint8_t *ret = (uint8_t *)asterai_ret_area;")
        lines.append(g.store(plan.result, "r", "ret", ex.result))
        lines += g.own(ex.result, "r", result=True)
        if not plan.post_return:
            lines.append("asterai_release(asterai_m);")
        lines.append("return ASTERAI_I32(ret);")
    else:
        lines.append(f"{ex.result.c} r = {call};")
        (value,) = g.lower_flat(plan.result, "r", lines, ex.result)
        lines += [f"{ret} v = {value};", "asterai_release(asterai_m);", "return v;"]
    body = "\n    ".join(lines)
    head = f'__attribute__((export_name("{name}")))\n{ret} asterai_export_{index}({core_params})'
    out = f"{head} {{\n    {body}\n}}\n"
    if plan.post_return:
        post = "\n    ".join(["(void)ret;", *g.drop_result(index), "asterai_release(0);"])
        out += (
            f'__attribute__((export_name("cabi_post_{name}")))\n'
            f"void asterai_post_{index}(int32_t ret) {{\n    {post}\n}}\n"
        )
    return out


def glue(iface: wit.Interface, exports: list[Export], g: CEmitter | None = None) -> str:
    """The glue appended to the cell: helpers, the shared return area and one core function per export."""
    g = g or CEmitter()
    area = abi.return_area([abi.plan_function(e.fn) for e in exports])
    functions = [export_function(g, iface, ex, i) for i, ex in enumerate(exports)]
    bulk = wit.bulk_interface(iface)
    for i, ex in enumerate(exports):  # each twin (wit.bulk_twin) calls the same function
        twin = wit.bulk_twin(ex.fn)
        if twin is not None:
            functions.append(
                export_function(g, bulk, Export(ex.c_name, twin, ex.params, ex.result), len(exports) + i)
            )
    return "\n".join([f"static uint64_t asterai_ret_area[{area // 8}];\n", *g.defs, *functions])
