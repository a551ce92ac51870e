"""The canonical-ABI planner (abi.py): its numbers against CanonicalABI.md, and its walks run for real.

The walks are exercised through an emitter that spells them in Python and runs the generated code over a
bytearray as linear memory: storing and loading back, lowering to flat core values and lifting back must
give the value again, and every flat value must fit its core type. A wrong offset, joined-slot cast or
field split shows up as a different value. No guest compiler is needed.
"""

from __future__ import annotations

import struct
import textwrap

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from asterai_kernel import abi, wit

pytestmark = pytest.mark.no_toolchain

U8, U32, U64, F32, F64, S8 = (wit.Prim(n) for n in ("u8", "u32", "u64", "f32", "f64", "s8"))

BITS = {"s8": 8, "u8": 8, "s16": 16, "u16": 16, "s32": 32, "u32": 32, "s64": 64, "u64": 64}
F32_BITS = ("<f", "<I")


class PyEmitter(abi.Emitter):
    """Spells the steps in Python. Core i32/i64 values are unsigned ints, f32/f64 are floats; a case
    value is (case name, payload), a record a dict, a tuple a tuple, a char a one-character str."""

    def lift_scalar(self, step, val, spell=None):
        name = step.name
        if name == "bool":
            return f"({val} != 0)"
        if name == "char":
            return f"chr({val})"
        if name in ("f32", "f64"):
            return val
        bits = BITS[name]
        mask = f"({val} & {(1 << bits) - 1})"
        return (
            f"({mask} - {1 << bits} if {mask} >= {1 << (bits - 1)} else {mask})" if name[0] == "s" else mask
        )

    def lower_scalar(self, step, val, spell=None):
        name = step.name
        if name == "bool":
            return f"int({val})"
        if name == "char":
            return f"ord({val})"
        if name == "f32":
            return f"struct.unpack('<f', struct.pack('<f', {val}))[0]"
        if name == "f64":
            return val
        return f"({val} & {(1 << (64 if step.flat[0] == 'i64' else 32)) - 1})"

    def _fmt(self, name):
        return {"bool": "<B", "char": "<I", "f32": "<f", "f64": "<d"}.get(name) or (
            "<" + {8: "b", 16: "h", 32: "i", 64: "q"}[BITS[name]].swapcase()
            if name[0] == "u"
            else "<" + {8: "b", 16: "h", 32: "i", 64: "q"}[BITS[name]]
        )

    def load_scalar(self, step, ptr, spell=None):
        raw = f"struct.unpack_from('{self._fmt(step.name)}', mem, {ptr})[0]"
        if step.name in ("f32", "f64", "bool", "char"):
            return self.lift_scalar(step, raw if step.name != "f32" else raw)
        return self.lift_scalar(step, raw)

    def store_scalar(self, step, val, ptr, spell=None):
        low = self.lower_scalar(step, val)
        if step.name[0] == "s":  # the format is signed: store the value itself
            low = val
        return f"struct.pack_into('{self._fmt(step.name)}', mem, {ptr}, {low})"

    def at(self, ptr, offset):
        return f"({ptr} + {offset})" if offset else ptr

    def lift_text(self, ptr, length, spell=None):
        return f"bytes(mem[{ptr}:{ptr} + {length}]).decode()"

    def lower_text(self, val, out, spell=None):
        b, p = self.tmp("b"), self.tmp("p")
        out += [f"{b} = {val}.encode()", f"{p} = alloc(len({b}), 1)", f"mem[{p}:{p} + len({b})] = {b}"]
        return [p, f"len({b})"]

    def lift_list(self, step, ptr, length, spell=None):
        q, i = self.tmp("q"), self.tmp("i")
        elem = self.load(step.elem, q)
        return f"[(lambda {q}: {elem})({ptr} + {i} * {step.elem.size}) for {i} in range({length})]"

    def lower_list(self, step, val, out, spell=None):
        s, buf, i, x = self.tmp("s"), self.tmp("buf"), self.tmp("i"), self.tmp("x")
        out += [f"{s} = {val}", f"{buf} = alloc(len({s}) * {step.elem.size}, {step.elem.align})"]
        store = self.store(step.elem, x, f"({buf} + {i} * {step.elem.size})")
        out.append(f"for {i}, {x} in enumerate({s}):\n{textwrap.indent(store, '    ')}")
        return [buf, f"len({s})"]

    # flags: a Python int, bit i member i
    _WORD = {"u8": "<B", "u16": "<H", "u32": "<I"}

    def lift_flags(self, step, word, spell=None):
        return f"({word} & {step.mask})"

    def lower_flags(self, step, val, out, spell=None):
        return f"({val} & {step.mask})"

    def load_flags(self, step, ptr, spell=None):
        return f"(struct.unpack_from('{self._WORD[step.word.name]}', mem, {ptr})[0] & {step.mask})"

    def store_flags(self, step, val, ptr, spell=None):
        return f"struct.pack_into('{self._WORD[step.word.name]}', mem, {ptr}, {val} & {step.mask})"

    def make_fields(self, step, parts, spell=None):
        if isinstance(step.ty, wit.Tuple):
            return f"({', '.join(parts)},)"
        return "{" + ", ".join(f"{f.name!r}: {p}" for f, p in zip(step.fields, parts)) + "}"

    def bind(self, val, out, spell=None):
        name = self.tmp("v")
        out.append(f"{name} = {val}")
        return name

    def field(self, step, val, index, spell=None):
        return f"{val}[{index}]" if isinstance(step.ty, wit.Tuple) else f"{val}[{step.fields[index].name!r}]"

    def select_case(self, step, disc, arms, spell=None):
        d = self.tmp("d")
        chain = "None"
        for case, value in reversed(arms):
            chain = f"({case.name!r}, {value}) if {d} == {case.index} else {chain}"
        return f"(lambda {d}: {chain})({disc})"

    def match_cases(self, step, val, arms, spell=None):
        v = self.tmp("v")
        lines = [f"{v} = {val}"]
        for case, x, body in arms:
            bind = [f"{x} = {v}[1]"] if x else []
            lines.append(f"if {v}[0] == {case.name!r}:\n" + textwrap.indent(self.block(bind + body), "    "))
        return "\n".join(lines)

    def load_disc(self, step, ptr):
        return (
            f"struct.unpack_from('<{ {'u8': 'B', 'u16': 'H', 'u32': 'I'}[step.disc.name] }', mem, {ptr})[0]"
        )

    def store_disc(self, step, index, ptr):
        return f"struct.pack_into('<{ {'u8': 'B', 'u16': 'H', 'u32': 'I'}[step.disc.name] }', mem, {ptr}, {index})"

    def cast_in(self, val, joined, own):
        if joined == own:
            return val
        if own == "i32":  # from i64
            return f"({val} & 0xffffffff)"
        if own == "f32":  # from i32 or i64 bits
            return f"struct.unpack('<f', struct.pack('<I', {val} & 0xffffffff))[0]"
        return f"struct.unpack('<d', struct.pack('<Q', {val}))[0]"  # f64 from i64

    def cast_out(self, val, own, joined):
        if joined == own:
            return val
        if own == "i32":  # into i64: zero-extended
            return val
        if own == "f32":
            return f"struct.unpack('<I', struct.pack('<f', {val}))[0]"
        return f"struct.unpack('<Q', struct.pack('<d', {val}))[0]"

    def declare(self, name, core):
        return f"{name} = {'0.0' if core.startswith('f') else '0'}"

    def assign(self, name, val):
        return f"{name} = {val}"

    def block(self, stmts):
        return "\n".join(stmts) if stmts else "pass"


class Memory:
    def __init__(self) -> None:
        self.mem = bytearray(1 << 16)
        self.top = 8

    def alloc(self, size: int, align: int) -> int:
        self.top = wit.align_to(self.top, align)
        ptr, self.top = self.top, self.top + size
        return ptr

    def run(self, code: str, **names):
        scope = {"struct": struct, "mem": self.mem, "alloc": self.alloc, **names}
        exec(code, scope)
        return scope


def store_then_load(ty: wit.WitType, value):
    step, memory = abi.plan(ty), Memory()
    ptr = memory.alloc(step.size, step.align)
    emit = PyEmitter()
    code = f"{emit.store(step, 'value', 'ptr')}\nresult = {emit.load(step, 'ptr')}"
    return memory.run(code, value=value, ptr=ptr)["result"]


def lower_then_lift(ty: wit.WitType, value):
    step, emit, out = abi.plan(ty), PyEmitter(), []
    flat = emit.lower_flat(step, "value", out)
    code = "\n".join(out) + f"\nflat = [{', '.join(flat)}]\nresult = {emit.lift_flat(step, flat)}"
    scope = Memory().run(code, value=value)
    return scope["flat"], scope["result"]


# ---------------------------------------------------------------- values of random types


def prims():
    ints = {n: st.integers(*wit.INT_RANGES[n]) for n in wit.INT_RANGES}
    f32 = st.floats(width=32, allow_nan=False)
    others = {"bool": st.booleans(), "f32": f32, "f64": st.floats(allow_nan=False)}
    others["char"] = st.characters(exclude_categories=("Cs",))
    values = {**ints, **others}
    scalars = st.sampled_from(sorted(values)).map(lambda n: (wit.Prim(n), values[n]))
    flags = st.integers(1, 32).map(lambda n: (flags_of(n), st.integers(0, (1 << n) - 1)))
    return st.one_of(scalars, flags)


def flags_of(n: int) -> wit.Flags:
    """Flags of n members: the int value's bit i is member i."""
    return wit.Flags(f"f{n}", tuple(f"m{i}" for i in range(n)))


def compound(children):
    def record(items):
        fields = tuple((f"f{i}", t) for i, (t, _) in enumerate(items))
        values = st.fixed_dictionaries({f"f{i}": s for i, (_, s) in enumerate(items)})
        return wit.Record("r", fields), values

    def tuple_(items):
        return wit.Tuple(tuple(t for t, _ in items)), st.tuples(*(s for _, s in items))

    def variant(items):
        cases = tuple((f"c{i}", t if i % 2 == 0 else None) for i, (t, _) in enumerate(items))
        values = st.one_of(
            *(st.tuples(st.just(f"c{i}"), s if i % 2 == 0 else st.none()) for i, (_, s) in enumerate(items))
        )
        return wit.Variant("v", cases), values

    def option(item):
        t, s = item
        return wit.Option(t), st.one_of(st.tuples(st.just("none"), st.none()), st.tuples(st.just("some"), s))

    def result(pair):
        (ok, s1), (err, s2) = pair
        return wit.Result(ok, err), st.one_of(st.tuples(st.just("ok"), s1), st.tuples(st.just("err"), s2))

    def list_(item):
        t, s = item
        return wit.List(t), st.lists(s, max_size=4)

    some = st.lists(children, min_size=1, max_size=4)
    return st.one_of(
        some.map(record),
        some.map(tuple_),
        some.map(variant),
        children.map(option),
        st.tuples(children, children).map(result),
        children.map(list_),
        st.just((wit.String(), st.text(max_size=8))),
    )


types_and_values = st.recursive(prims(), compound, max_leaves=8).flatmap(
    lambda pair: st.tuples(st.just(pair[0]), pair[1])
)


@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(types_and_values)
def test_store_then_load_gives_the_value_back(case):
    ty, value = case
    assert store_then_load(ty, value) == value


@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(types_and_values)
def test_lower_then_lift_gives_the_value_back_in_core_values_of_the_planned_types(case):
    ty, value = case
    flat, result = lower_then_lift(ty, value)
    assert result == value
    assert len(flat) == len(ty.flat())
    for core, v in zip(ty.flat(), flat, strict=True):
        if core.startswith("i"):
            assert isinstance(v, int) and 0 <= v < 1 << int(core[1:]), (core, v)
        else:
            assert isinstance(v, float), (core, v)


# ---------------------------------------------------------------- against the specification, read literally
# An independent reading of CanonicalABI.md's `store` and `lower_flat` for values that own no memory: it
# computes its own sizes, alignments and joins, so a planner offset or cast that is wrong but consistent
# with itself (a round trip would not see it) still shows up.

SPEC_SCALARS = {"bool": "<B", "s8": "<b", "u8": "<B", "s16": "<h", "u16": "<H", "s32": "<i", "u32": "<I",
                "s64": "<q", "u64": "<Q", "f32": "<f", "f64": "<d", "char": "<I"}  # fmt: skip


def spec_cases(ty):
    if isinstance(ty, wit.Option):
        return [("none", None), ("some", ty.inner)]
    if isinstance(ty, wit.Result):
        return [("ok", ty.ok), ("err", ty.err)]
    return list(ty.cases) if isinstance(ty, wit.Variant) else [(c, None) for c in ty.cases]


def spec_members(ty):
    return list(ty.elems) if isinstance(ty, wit.Tuple) else [t for _, t in ty.fields]


def spec_flags_size(ty):
    """CanonicalABI.md: flags of up to 8 labels take 1 byte, up to 16 two, up to 32 four."""
    n = len(ty.flags)
    return 1 if n <= 8 else 2 if n <= 16 else 4


def spec_align(ty):
    if isinstance(ty, wit.Prim):
        return struct.calcsize(SPEC_SCALARS[ty.name])
    if isinstance(ty, wit.Flags):
        return spec_flags_size(ty)
    if isinstance(ty, (wit.Record, wit.Tuple)):
        return max([1, *map(spec_align, spec_members(ty))])
    n = len(spec_cases(ty))
    disc = 1 if n <= 256 else 2 if n <= 65536 else 4
    return max([disc, *(spec_align(t) for _, t in spec_cases(ty) if t is not None)])


def spec_size(ty):
    if isinstance(ty, (wit.Prim, wit.Flags)):
        return spec_align(ty)
    if isinstance(ty, (wit.Record, wit.Tuple)):
        end = 0
        for t in spec_members(ty):
            end = -(-end // spec_align(t)) * spec_align(t) + spec_size(t)
        return -(-end // spec_align(ty)) * spec_align(ty)
    end = spec_payload_offset(ty) + max([0, *(spec_size(t) for _, t in spec_cases(ty) if t is not None)])
    return -(-end // spec_align(ty)) * spec_align(ty)


def spec_payload_offset(ty):
    n = len(spec_cases(ty))
    disc = 1 if n <= 256 else 2 if n <= 65536 else 4
    align = max([1, *(spec_align(t) for _, t in spec_cases(ty) if t is not None)])
    return -(-disc // align) * align


def spec_store(ty, value, mem, ptr):
    if isinstance(ty, wit.Prim):
        raw = ord(value) if ty.name == "char" else int(value) if ty.name == "bool" else value
        struct.pack_into(SPEC_SCALARS[ty.name], mem, ptr, raw)
    elif isinstance(ty, wit.Flags):
        struct.pack_into({1: "<B", 2: "<H", 4: "<I"}[spec_flags_size(ty)], mem, ptr, value)
    elif isinstance(ty, (wit.Record, wit.Tuple)):
        values = list(value) if isinstance(ty, wit.Tuple) else [value[n] for n, _ in ty.fields]
        offset = 0
        for t, v in zip(spec_members(ty), values):
            offset = -(-offset // spec_align(t)) * spec_align(t)
            spec_store(t, v, mem, ptr + offset)
            offset += spec_size(t)
    else:
        cases = spec_cases(ty)
        index = [name for name, _ in cases].index(value[0])
        fmt = {1: "<B", 2: "<H", 4: "<I"}[1 if len(cases) <= 256 else 2 if len(cases) <= 65536 else 4]
        struct.pack_into(fmt, mem, ptr, index)
        if cases[index][1] is not None:
            spec_store(cases[index][1], value[1], mem, ptr + spec_payload_offset(ty))


def spec_flat_types(ty):
    if isinstance(ty, wit.Flags):
        return ["i32"]
    if isinstance(ty, wit.Prim):
        return ["i64" if ty.name in ("s64", "u64") else ty.name if ty.name in ("f32", "f64") else "i32"]
    if isinstance(ty, (wit.Record, wit.Tuple)):
        return [f for t in spec_members(ty) for f in spec_flat_types(t)]
    joined = []
    for _, t in spec_cases(ty):
        for i, f in enumerate(spec_flat_types(t) if t is not None else []):
            if i == len(joined):
                joined.append(f)
            elif joined[i] != f:
                joined[i] = "i32" if {joined[i], f} == {"i32", "f32"} else "i64"
    return ["i32", *joined]


def spec_lower_flat(ty, value):
    if isinstance(ty, wit.Flags):
        return [value]
    if isinstance(ty, wit.Prim):
        if ty.name in ("f32", "f64"):
            return [struct.unpack("<f", struct.pack("<f", value))[0] if ty.name == "f32" else value]
        raw = ord(value) if ty.name == "char" else int(value)
        return [raw & ((1 << 64) - 1 if ty.name in ("s64", "u64") else 0xFFFFFFFF)]
    if isinstance(ty, (wit.Record, wit.Tuple)):
        values = list(value) if isinstance(ty, wit.Tuple) else [value[n] for n, _ in ty.fields]
        return [f for t, v in zip(spec_members(ty), values) for f in spec_lower_flat(t, v)]
    cases, joined = spec_cases(ty), spec_flat_types(ty)[1:]
    index = [name for name, _ in cases].index(value[0])
    payload = cases[index][1]
    own = spec_lower_flat(payload, value[1]) if payload is not None else []
    own_types = spec_flat_types(payload) if payload is not None else []
    out = []
    for k, want in enumerate(joined):
        if k >= len(own):
            out.append(0.0 if want.startswith("f") else 0)
            continue
        v, have = own[k], own_types[k]
        if have == "f32" and want != "f32":
            v = struct.unpack("<I", struct.pack("<f", v))[0]
        elif have == "f64" and want == "i64":
            v = struct.unpack("<Q", struct.pack("<d", v))[0]
        out.append(v)
    return [index, *out]


def owns_no_memory(ty):
    return not abi.owns_memory(abi.plan(ty)) and not isinstance(ty, (wit.String, wit.List))


MIXED = [  # joins of every kind, nested
    (wit.Result(F32, U64), ("ok", 1.5)),
    (wit.Variant("v", (("a", F32), ("b", U32), ("c", F64), ("d", None))), ("c", -2.25)),
    (wit.Variant("v", (("a", wit.Tuple((U8, F32))), ("b", wit.Tuple((F64, U8))))), ("a", (7, 0.5))),
    (wit.Option(wit.Result(wit.Prim("s16"), F32)), ("some", ("err", 3.0))),
    (wit.Record("r", (("a", U8), ("b", wit.Option(F64)), ("c", S8))), {"a": 1, "b": ("some", 2.0), "c": -3}),
]


@pytest.mark.parametrize(("ty", "value"), MIXED)
def test_joined_slots_cross_and_come_back(ty, value):
    assert store_then_load(ty, value) == value
    flat, result = lower_then_lift(ty, value)
    assert result == value and flat == spec_lower_flat(ty, value)


@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(types_and_values.filter(lambda case: owns_no_memory(case[0])))
def test_bytes_and_flat_values_are_the_specifications(case):
    ty, value = case
    step = abi.plan(ty)
    assert (step.size, step.align, list(step.flat)) == (spec_size(ty), spec_align(ty), spec_flat_types(ty))
    memory, emit = Memory(), PyEmitter()
    ptr = memory.alloc(step.size, step.align)
    memory.run(emit.store(step, "value", "ptr"), value=value, ptr=ptr)
    expected = bytearray(len(memory.mem))
    spec_store(ty, value, expected, ptr)
    assert memory.mem[ptr : ptr + step.size] == expected[ptr : ptr + step.size]
    assert lower_then_lift(ty, value)[0] == spec_lower_flat(ty, value)


# ---------------------------------------------------------------- the numbers (CanonicalABI.md)


def test_record_layout_and_flat_split():
    step = abi.plan(wit.Record("r", (("a", U8), ("b", U32), ("c", U8), ("d", wit.String()))))
    assert [(f.name, f.offset, f.first) for f in step.fields] == [
        ("a", 0, 0),
        ("b", 4, 1),
        ("c", 8, 2),
        ("d", 12, 3),
    ]
    assert (step.size, step.align, step.flat) == (20, 4, ("i32",) * 5)


def test_joined_slots_follow_the_canonical_join():
    f32_or_u32 = abi.plan(wit.Variant("v", (("a", F32), ("b", U32))))
    assert f32_or_u32.flat == ("i32", "i32")
    assert [c.slots for c in f32_or_u32.cases] == [(("f32", "i32"),), (("i32", "i32"),)]
    wide = abi.plan(wit.Result(F32, U64))
    assert wide.flat == ("i32", "i64") and wide.cases[0].slots == (("f32", "i64"),)
    assert abi.plan(wit.Option(F64)).cases[1].slots == (("f64", "f64"),)
    assert (wide.payload_offset, wide.size, wide.align) == (8, 16, 8)


def test_discriminant_widths():
    assert abi.plan(wit.Enum("e", tuple(f"c{i}" for i in range(256)))).disc == U8
    big = abi.plan(wit.Enum("e", tuple(f"c{i}" for i in range(257))))
    assert big.disc == wit.Prim("u16") and big.is_enum and big.size == 2


def test_function_plans():
    many = wit.Function("many", tuple((f"p{i}", U8) for i in range(17)), None)
    plan = abi.plan_function(many)
    assert plan.params_indirect and plan.core_params == ("i32",) and plan.args.size == 17
    text = abi.plan_function(wit.Function("t", (("s", wit.String()),), wit.String()))
    assert text.core_params == ("i32", "i32") and text.core_result == "i32"
    assert text.result_indirect and text.post_return and text.return_area == 8
    pair = abi.plan_function(wit.Function("p", (), wit.Tuple((U64, F32))))
    assert pair.result_indirect and not pair.post_return and pair.return_area == 16
    one = abi.plan_function(wit.Function("o", (("x", S8),), wit.Record("r", (("x", F64),))))
    assert not one.result_indirect and one.core_result == "f64" and one.return_area == 0
    assert abi.return_area([plan, text, pair, one]) == 16


def test_owns_memory():
    assert abi.owns_memory(abi.plan(wit.Option(wit.Tuple((U8, wit.List(U8))))))
    assert not abi.owns_memory(abi.plan(wit.Result(U8, wit.Enum("e", ("a",)))))
    assert abi.plan(wit.List(U8)).plain and not abi.plan(wit.List(wit.Prim("bool"))).plain
