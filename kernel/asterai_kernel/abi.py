"""The canonical ABI, planned once: how each WIT value and function crosses between host and guest.

`plan(ty)` turns a WIT type into a tree of steps (Scalar, Text, Sequence, Bulk, Fields, Cases, Bits) that
carry everything a glue generator needs: the flat core values, size and alignment, field offsets and which
flat values belong to which field, and for each case of a variant the casts between its own flat values and
the variant's joined ones. `plan_function(fn)` adds what a function needs: whether its parameters spill to
memory (more than 16 flat values) and at which offsets, whether its result goes through a return area, and
whether a post-return function must free what the result points to.

`Emitter` walks the steps once for every language (`lift_flat`, `lower_flat`, `load`, `store`); a
language's emitter only spells the leaves (a scalar load, a string lift) and its way of building and taking
apart records and cases. Layout numbers themselves come from the WIT model (wit.py), which follows
CanonicalABI.md.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from functools import lru_cache

from . import wit

WORD = wit.Prim("s32")  # pointers and lengths in linear memory
PLAIN = frozenset(wit.NUMERIC)  # list elements whose memory layout is every language's native array's


@dataclass(frozen=True)
class Step:
    """How one WIT value crosses: its flat core values and its size and alignment in memory."""

    ty: wit.WitType
    flat: tuple[str, ...]
    size: int
    align: int


@dataclass(frozen=True)
class Scalar(Step):
    """bool, the integers, floats and char: one flat value."""

    @property
    def name(self) -> str:
        return self.ty.name


@dataclass(frozen=True)
class Text(Step):
    """A string: (pointer, length in bytes) of UTF-8."""


@dataclass(frozen=True)
class Sequence(Step):
    """A list: (pointer, length) of elements laid out `elem.size` apart. `plain` elements are numbers whose
    memory layout is the language's own array's, so a glue may lend or take over the buffer as it is."""

    elem: Step
    plain: bool


@dataclass(frozen=True)
class Bulk(Step):
    """A numeric list carried as one string block (wit.Bulk, the glue's bulk twins)."""

    elem: Scalar


@dataclass(frozen=True)
class Field:
    """A field of a record or an element of a tuple: where it sits in memory and in the flat values."""

    name: str  # the WIT field name, or the element's index for a tuple
    step: Step
    offset: int
    first: int  # its flat values are flat[first : first + len(step.flat)]

    def flat_of(self, values: list[str]) -> list[str]:
        return values[self.first : self.first + len(self.step.flat)]


@dataclass(frozen=True)
class Fields(Step):
    """A record or a tuple."""

    fields: tuple[Field, ...]


@dataclass(frozen=True)
class Case:
    """One case of an option, result, variant or enum (option: none, some; result: ok, err)."""

    index: int
    name: str
    step: Step | None  # its payload, if any
    # Per flat value of the payload: (its own core type, the core type of the variant's joined slot).
    slots: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Cases(Step):
    """option, result, variant and enum: a discriminant, then the payload of the case it names."""

    disc: wit.Prim
    payload_offset: int
    cases: tuple[Case, ...]

    @property
    def is_enum(self) -> bool:
        return all(c.step is None for c in self.cases)


def _case_names(ty: wit.WitType) -> list[str]:
    if isinstance(ty, wit.Option):
        return ["none", "some"]
    if isinstance(ty, wit.Result):
        return ["ok", "err"]
    if isinstance(ty, wit.Enum):
        return list(ty.cases)
    return [name for name, _ in ty.cases]


@dataclass(frozen=True)
class Bits(Step):
    """flags: member i is bit i of one flat i32 and of one unsigned integer of `size` bytes (1, 2 or 4) in
    memory (the Component Model allows at most 32 flags). A language keeps the set as an integer, or
    something bit-cast to one, whose bit i is member i."""

    names: tuple[str, ...]

    @property
    def word(self) -> wit.Prim:
        """The unsigned integer one word is stored as in memory."""
        return wit.Prim({1: "u8", 2: "u16", 4: "u32"}[self.size])

    @property
    def mask(self) -> int:
        """The bits that are members: a set lowered or stored keeps only these."""
        return (1 << len(self.names)) - 1


@dataclass(frozen=True)
class Handle(Scalar):
    """own<r> / borrow<r>: one i32 (a handle, or for a borrow of the component's own resource, its rep)."""

    @property
    def name(self) -> str:
        return "s32"


@lru_cache(maxsize=4096)
def plan(ty: wit.WitType) -> Step:
    """The steps by which a value of `ty` crosses the canonical ABI."""
    shape = (ty, tuple(ty.flat()), ty.size(), ty.align())
    if isinstance(ty, wit.Prim):
        return Scalar(*shape)
    if isinstance(ty, wit.Handle):
        return Handle(*shape)
    if isinstance(ty, wit.String):
        return Text(*shape)
    if isinstance(ty, wit.Bulk):
        return Bulk(*shape, elem=plan(ty.elem))
    if isinstance(ty, wit.List):
        return Sequence(
            *shape, elem=plan(ty.elem), plain=isinstance(ty.elem, wit.Prim) and ty.elem.name in PLAIN
        )
    if isinstance(ty, (wit.Record, wit.Tuple)):
        return Fields(*shape, fields=_fields(ty))
    if isinstance(ty, wit.Flags):
        return Bits(*shape, names=ty.flags)
    assert isinstance(ty, wit._Cases), ty
    joined = ty.flat()[1:]
    cases = []
    for i, (name, payload) in enumerate(zip(_case_names(ty), ty.payloads())):
        step = plan(payload) if payload is not None else None
        slots = tuple(zip(step.flat, joined)) if step else ()
        cases.append(Case(i, name, step, slots))
    return Cases(*shape, disc=ty.disc(), payload_offset=ty.payload_offset(), cases=tuple(cases))


def _fields(ty: wit.Record | wit.Tuple) -> tuple[Field, ...]:
    named = list(ty.fields) if isinstance(ty, wit.Record) else [(str(i), t) for i, t in enumerate(ty.elems)]
    out, first = [], 0
    for (name, t), offset in zip(named, ty.offsets(), strict=True):
        step = plan(t)
        out.append(Field(name, step, offset, first))
        first += len(step.flat)
    return tuple(out)


def owns_memory(step: Step | None) -> bool:
    """Whether a value points at memory of its own (strings, lists), which its receiver must free."""
    if isinstance(step, (Text, Sequence, Bulk)):
        return True
    if isinstance(step, Fields):
        return any(owns_memory(f.step) for f in step.fields)
    if isinstance(step, Cases):
        return any(owns_memory(c.step) for c in step.cases)
    return False


@dataclass(frozen=True)
class FunctionPlan:
    """How a call crosses. Exports: the core function takes `core_params` and returns `core_result`, or a
    pointer to the return area when `result_indirect`. Imports: the same, but an indirect result is written
    where a last i32 parameter points."""

    fn: wit.Function
    params: tuple[Step, ...]
    params_indirect: bool  # the arguments are a tuple in memory (`args`), passed by one pointer
    args: Fields  # that tuple's layout (planned whether or not it spills)
    result: Step | None
    result_indirect: bool
    post_return: bool  # an indirect result owns memory: cabi_post_NAME frees it after the host read it

    @property
    def core_params(self) -> tuple[str, ...]:
        return ("i32",) if self.params_indirect else tuple(f for p in self.params for f in p.flat)

    @property
    def core_result(self) -> str | None:
        """The core result of the export's function (an indirect result returns its area's address)."""
        if self.result is None:
            return None
        return "i32" if self.result_indirect else self.result.flat[0]

    @property
    def return_area(self) -> int:
        """Bytes of return area the result needs (0 when it is direct), a multiple of 8."""
        return wit.align_to(self.result.size, 8) if self.result_indirect else 0


@lru_cache(maxsize=1024)
def plan_function(fn: wit.Function) -> FunctionPlan:
    params = tuple(plan(t) for _, t in fn.params)
    args = plan(wit.Tuple(tuple(t for _, t in fn.params)))
    result = plan(fn.result) if fn.result is not None else None
    indirect = fn.result_indirect()
    return FunctionPlan(
        fn, params, fn.params_indirect(), args, result, indirect, indirect and owns_memory(result)
    )


def return_area(plans: list[FunctionPlan]) -> int:
    """One static return area that every function of a component can share: at least 8 bytes."""
    return max([8] + [p.return_area for p in plans])


class Emitter(ABC):
    """Spells planned steps in one language: expressions and statements as source text.

    The walks (`lift_flat`, `lower_flat`, `load`, `store`) are the canonical ABI's, written once here; a
    language implements the leaves and how it builds, binds and takes apart its records and cases. `spell`
    is the language's own description of a type (the cell's Go type for a WIT record, say) carried down the
    walk beside the step; `part(spell, i)` gives that of field `i`, list element (0) or case `i`'s payload.
    """

    def __init__(self) -> None:
        self.n = 0

    def tmp(self, stem: str = "t") -> str:
        self.n += 1
        return f"{stem}{self.n}"

    def part(self, spell, index: int):
        return None if spell is None else spell.part(index)

    # ---- the walks ----
    def lift_flat(self, step: Step, vals: list[str], spell=None) -> str:
        """An expression for the value whose flat core values are `vals`."""
        if isinstance(step, Scalar):
            return self.lift_scalar(step, vals[0], spell)
        if isinstance(step, Text):
            return self.lift_text(vals[0], vals[1], spell)
        if isinstance(step, Bulk):
            return self.lift_bulk(step, vals[0], vals[1], spell)
        if isinstance(step, Sequence):
            return self.lift_list(step, vals[0], vals[1], spell)
        if isinstance(step, Bits):
            return self.lift_flags(step, vals[0], spell)
        if isinstance(step, Fields):
            parts = [
                self.lift_flat(f.step, f.flat_of(vals), self.part(spell, i))
                for i, f in enumerate(step.fields)
            ]
            return self.make_fields(step, parts, spell)
        arms = []
        for case in step.cases:
            value = None
            if case.step is not None:
                own = [self.cast_in(v, joined, mine) for v, (mine, joined) in zip(vals[1:], case.slots)]
                value = self.lift_flat(case.step, own, self.part(spell, case.index))
            arms.append((case, value))
        return self.select_case(step, vals[0], arms, spell)

    def lower_flat(self, step: Step, val: str, out: list[str], spell=None) -> list[str]:
        """Statements appended to `out` that turn `val` into flat core values; returns those values."""
        if isinstance(step, Scalar):
            return [self.lower_scalar(step, val, spell)]
        if isinstance(step, Text):
            return self.lower_text(val, out, spell)
        if isinstance(step, Bulk):
            return self.lower_bulk(step, val, out, spell)
        if isinstance(step, Sequence):
            return self.lower_list(step, val, out, spell)
        if isinstance(step, Bits):
            return [self.lower_flags(step, val, out, spell)]
        if isinstance(step, Fields):
            v = self.bind(val, out, spell)
            return [
                x
                for i, f in enumerate(step.fields)
                for x in self.lower_flat(f.step, self.field(step, v, i, spell), out, self.part(spell, i))
            ]
        names = [self.tmp("f") for _ in step.flat]
        out += [self.declare(name, core) for name, core in zip(names, step.flat)]
        arms = []
        for case in step.cases:
            x = self.tmp("x") if case.step is not None else None
            body = [self.assign(names[0], self.disc_value(case.index))]
            if case.step is not None:
                own = self.lower_flat(case.step, x, body, self.part(spell, case.index))
                for name, v, (mine, joined) in zip(names[1:], own, case.slots):
                    body.append(self.assign(name, self.cast_out(v, mine, joined)))
            arms.append((case, x, body))
        out.append(self.match_cases(step, val, arms, spell))
        return names

    def load(self, step: Step, ptr: str, spell=None) -> str:
        """An expression for the value stored at address `ptr`."""
        if isinstance(step, Scalar):
            return self.load_scalar(step, ptr, spell)
        if isinstance(step, (Text, Sequence, Bulk)):
            words = [self.load_scalar(plan(WORD), self.at(ptr, k)) for k in (0, 4)]
            return self.lift_flat(step, words, spell)
        if isinstance(step, Bits):
            return self.load_flags(step, ptr, spell)
        if isinstance(step, Fields):
            parts = [
                self.load(f.step, self.at(ptr, f.offset), self.part(spell, i))
                for i, f in enumerate(step.fields)
            ]
            return self.make_fields(step, parts, spell)
        payload = self.at(ptr, step.payload_offset)
        arms = [
            (c, None if c.step is None else self.load(c.step, payload, self.part(spell, c.index)))
            for c in step.cases
        ]
        return self.select_case(step, self.load_disc(step, ptr), arms, spell)

    def store(self, step: Step, val: str, ptr: str, spell=None) -> str:
        """A statement storing `val` at address `ptr`."""
        if isinstance(step, Scalar):
            return self.store_scalar(step, val, ptr, spell)
        out: list[str] = []
        if isinstance(step, (Text, Sequence, Bulk)):
            p, n = self.lower_flat(step, val, out, spell)
            word = plan(WORD)
            out += [self.store_scalar(word, p, self.at(ptr, 0)), self.store_scalar(word, n, self.at(ptr, 4))]
        elif isinstance(step, Bits):
            out.append(self.store_flags(step, val, ptr, spell))
        elif isinstance(step, Fields):
            v = self.bind(val, out, spell)
            for i, f in enumerate(step.fields):
                part = self.part(spell, i)
                out.append(self.store(f.step, self.field(step, v, i, spell), self.at(ptr, f.offset), part))
        else:
            payload = self.at(ptr, step.payload_offset)
            arms = []
            for case in step.cases:
                x = self.tmp("x") if case.step is not None else None
                body = [self.store_disc(step, case.index, ptr)]
                if case.step is not None:
                    body.append(self.store(case.step, x, payload, self.part(spell, case.index)))
                arms.append((case, x, body))
            out.append(self.match_cases(step, val, arms, spell))
        return self.block(out)

    # ---- leaves: every language spells these ----
    @abstractmethod
    def lift_scalar(self, step: Scalar, val: str, spell=None) -> str: ...

    @abstractmethod
    def lower_scalar(self, step: Scalar, val: str, spell=None) -> str: ...

    @abstractmethod
    def load_scalar(self, step: Scalar, ptr: str, spell=None) -> str: ...

    @abstractmethod
    def store_scalar(self, step: Scalar, val: str, ptr: str, spell=None) -> str: ...

    @abstractmethod
    def at(self, ptr: str, offset: int) -> str:
        """The address `offset` bytes after `ptr`."""

    @abstractmethod
    def lift_text(self, ptr: str, length: str, spell=None) -> str: ...

    @abstractmethod
    def lower_text(self, val: str, out: list[str], spell=None) -> list[str]: ...

    @abstractmethod
    def lift_list(self, step: Sequence, ptr: str, length: str, spell=None) -> str: ...

    @abstractmethod
    def lower_list(self, step: Sequence, val: str, out: list[str], spell=None) -> list[str]: ...

    def lift_bulk(self, step: Bulk, ptr: str, length: str, spell=None) -> str:
        raise NotImplementedError(f"{type(self).__name__} has no bulk twins")

    def lower_bulk(self, step: Bulk, val: str, out: list[str], spell=None) -> list[str]:
        raise NotImplementedError(f"{type(self).__name__} has no bulk twins")

    # ---- flags: the language's bit set <-> its flat i32 `word`, or the `step.word` at `ptr` (Bits) ----
    def lift_flags(self, step: Bits, word: str, spell=None) -> str:
        raise NotImplementedError(f"{type(self).__name__} has no flags")

    def lower_flags(self, step: Bits, val: str, out: list[str], spell=None) -> str:
        raise NotImplementedError(f"{type(self).__name__} has no flags")

    def load_flags(self, step: Bits, ptr: str, spell=None) -> str:
        raise NotImplementedError(f"{type(self).__name__} has no flags")

    def store_flags(self, step: Bits, val: str, ptr: str, spell=None) -> str:
        raise NotImplementedError(f"{type(self).__name__} has no flags")

    # ---- records and tuples ----
    @abstractmethod
    def make_fields(self, step: Fields, parts: list[str], spell=None) -> str:
        """A record or tuple value built from its fields' values."""

    @abstractmethod
    def bind(self, val: str, out: list[str], spell=None) -> str:
        """A name for `val`, evaluated once (statements to `out`)."""

    @abstractmethod
    def field(self, step: Fields, val: str, index: int, spell=None) -> str:
        """Field `index` of the bound value `val`."""

    # ---- cases ----
    @abstractmethod
    def select_case(self, step: Cases, disc: str, arms: list[tuple[Case, str | None]], spell=None) -> str:
        """The value whose case is `disc`, from each case's payload expression (None: no payload)."""

    @abstractmethod
    def match_cases(
        self, step: Cases, val: str, arms: list[tuple[Case, str | None, list[str]]], spell=None
    ) -> str:
        """A statement running the arm of `val`'s case with its payload bound to the arm's name."""

    @abstractmethod
    def load_disc(self, step: Cases, ptr: str) -> str: ...

    @abstractmethod
    def store_disc(self, step: Cases, index: int, ptr: str) -> str: ...

    def disc_value(self, index: int) -> str:
        return str(index)

    @abstractmethod
    def cast_in(self, val: str, joined: str, own: str) -> str:
        """A payload's flat value read from the variant's joined slot (i64 -> i32 wraps, i32/i64 -> floats
        reinterpret their bits); `val` as it is when the types are the same."""

    @abstractmethod
    def cast_out(self, val: str, own: str, joined: str) -> str:
        """The inverse: a payload's flat value widened into the joined slot (i32 zero-extends)."""

    # ---- statements ----
    @abstractmethod
    def declare(self, name: str, core: str) -> str:
        """A statement declaring a mutable local of core type `core`, initially zero."""

    @abstractmethod
    def assign(self, name: str, val: str) -> str: ...

    @abstractmethod
    def block(self, stmts: list[str]) -> str:
        """Statements as one statement."""
