"""The one Go emitter of canonical-ABI glue: abi.py's planned steps spelled in Go, for both sides of a cell.

A Go cell has glue on two sides: its exports (exports.py: glue.go in package main, lifting what the host
passes into the cell's own Go types) and the packages of the components it uses (imports.py: `--use geo`
gives package `geo`, lowering Go values for the host and lifting its answers). Both walk the same planned
steps (abi.Emitter) with this one emitter; what differs is a parameter:

- How values are spelled: a `GoType` travels beside each step (the `spell` of abi.Emitter). The export
  side reads it from the cell's source (user struct and field names, `int`, `[]byte`, or a used package's
  `geo.Point` spelled through glue.go's alias of that package); the import side derives it from WIT names
  (`spell_wit`).
- Memory (`Memory`): the export side aliases the arena the host wrote the arguments into and pins what it
  returns in asteraiRetPins until cabi_post; the import side copies what it lifts (its arena is reused by
  the next call) and lends what it lowers through an `rt.Keep` that lives until the call has returned.

Every record, tuple, option, result, enum, variant and non-plain list is moved by a helper function per
type and direction (`asteraiLift3`, `asteraiStore5`), made once per file and called wherever the type
occurs; scalars, strings and plain lists are spelled inline.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ... import abi, wit
from ...names import pascal_name

# WIT primitive -> its Go type, which has the primitive's layout in memory (bool: one byte, 0 or 1)
GO_PRIMS = {"bool": "bool", "s8": "int8", "u8": "uint8", "s16": "int16", "u16": "uint16", "s32": "int32",
            "u32": "uint32", "s64": "int64", "u64": "uint64", "f32": "float32", "f64": "float64",
            "char": "rune"}  # fmt: skip
CORE = {"i32": "int32", "i64": "int64", "f32": "float32", "f64": "float64"}


@dataclass
class GoType:
    """A WIT type and how the Go code spells it: the `spell` that travels beside its planned step."""

    wit: wit.WitType
    go: str
    elem: GoType | None = None  # list element, option inner
    fields: tuple[tuple[str, GoType], ...] = field(default=())  # record, tuple: (Go field, type)
    # variant: (Go type of the case, its payload); result: (("Ok", ok), ("Err", err))
    cases: tuple[tuple[str, GoType | None], ...] = field(default=())
    package: str = ""  # the used component whose package spells it (glue.go imports that package)

    def part(self, index: int) -> GoType | None:
        """Field `index`, the list element (0), or the payload of case `index` (abi.Emitter.part)."""
        if self.elem is not None:
            return self.elem
        return self.fields[index][1] if self.fields else self.cases[index][1]

    def packages(self) -> set[str]:
        """The used components' packages this spelling names."""
        found = {self.package} if self.package else set()
        for t in [self.elem, *(t for _, t in self.fields), *(t for _, t in self.cases)]:
            if t is not None:
                found |= t.packages()
        return found


def case_type(variant: str, case: str) -> str:
    """The Go type of a variant's case (`shape`, `circle` -> `ShapeCircle`)."""
    return pascal_name(variant) + pascal_name(case)


def spell_wit(ty: wit.WitType, qualify: Callable[[str], str] = str,
              note: Callable[[wit.WitType], None] | None = None) -> GoType:  # fmt: skip
    """How a `--use` package spells `ty`: its own named types and generics (`Point`, `Result[..]`,
    `Tuple2[..]`), each name passed through `qualify` (glue.go prefixes the package's alias). `note` sees
    every type on the way (the package declares the generics it meets)."""
    if note is not None:
        note(ty)

    def sub(t: wit.WitType | None) -> GoType | None:
        return None if t is None else spell_wit(t, qualify, note)

    def go(t: GoType | None) -> str:
        return "struct{}" if t is None else t.go

    if isinstance(ty, wit.Prim):
        return GoType(ty, GO_PRIMS[ty.name])
    if isinstance(ty, wit.String):
        return GoType(ty, "string")
    if isinstance(ty, wit.List):
        e = sub(ty.elem)
        return GoType(ty, "[]byte" if ty.elem == wit.Prim("u8") else f"[]{e.go}", elem=e)
    if isinstance(ty, wit.Option):
        inner = sub(ty.inner)
        return GoType(ty, f"*{inner.go}", elem=inner)
    if isinstance(ty, wit.Result):
        ok, err = sub(ty.ok), sub(ty.err)
        return GoType(ty, f"{qualify('Result')}[{go(ok)}, {go(err)}]", cases=(("Ok", ok), ("Err", err)))
    if isinstance(ty, wit.Tuple):
        elems = [sub(e) for e in ty.elems]
        spelled = f"{qualify(f'Tuple{len(elems)}')}[{', '.join(e.go for e in elems)}]"
        return GoType(ty, spelled, fields=tuple((f"F{i}", e) for i, e in enumerate(elems)))
    if isinstance(ty, wit.Handle):  # own<account>, borrow<account>: both the package's `Account`
        ty = ty.resource
    name = qualify(pascal_name(ty.name))
    if isinstance(ty, wit.Resource):  # a named int32 holding the handle: crosses as its i32
        return GoType(ty, name)
    if isinstance(ty, wit.Record):
        return GoType(ty, name, fields=tuple((pascal_name(f), sub(t)) for f, t in ty.fields))
    if isinstance(ty, wit.Variant):
        cases = tuple((qualify(case_type(ty.name, c)), sub(t)) for c, t in ty.cases)
        return GoType(ty, name, cases=cases)
    assert isinstance(ty, (wit.Enum, wit.Flags)), ty
    return GoType(ty, name)


def flags_uint(ty: wit.Flags) -> str:
    """The Go unsigned integer a `--use` package declares flags over: the smallest that holds them."""
    return next(f"uint{w}" for w in (8, 16, 32) if len(ty.flags) <= w)


@dataclass(frozen=True)
class Memory:
    """Where one side of the glue gets memory and how it keeps it alive: Go spellings, filled in with
    `p` and `n` (a pointer and length as int32), `t` (an element type), `v` (a value), `size`, `align`."""

    lift_string: str
    lift_plain: str  # a list whose elements have the same layout in Go and in the canonical ABI
    lower_string: str  # -> (int32, int32)
    lower_plain: str  # -> (int32, int32)
    alloc: str  # a buffer of `size` bytes, as a uintptr
    b2i: str  # a function: bool -> int32
    keep: str = ""  # the parameter that holds lent memory in lowering helpers ("": none, it is pinned)
    lift_bulk: str = ""  # a bulk twin's block -> a slice of `t` (export side only)
    lower_bulk: str = ""  # a slice -> its block, (int32, int32)


def _indent(text: str) -> str:
    return "\n".join(f"\t{line}" if line else line for line in text.split("\n"))


_COMPOSITE = (abi.Fields, abi.Cases)


def _plain(step: abi.Sequence) -> bool:
    """Go's bool is one byte holding 0 or 1 and rune is an int32: every scalar is laid out as in the ABI."""
    return isinstance(step.elem, abi.Scalar)


class GoEmitter(abi.Emitter):
    """Spells planned steps in Go. Pointers are uintptr expressions; flat core values are Go int32, int64,
    float32 and float64. Helper functions it makes collect in `helpers` (Go source, one per entry)."""

    def __init__(self, memory: Memory) -> None:
        super().__init__()
        self.memory = memory
        self.keep = "_k"  # what lowering passes its helpers to hold lent memory (import side: "nil" if none)
        self.helpers: list[str] = []
        self._made: dict[tuple, str] = {}
        self._closures: dict[str, list[str]] = {}

    def tmp(self, stem: str = "t") -> str:
        # `_` first: clear of the names of the parameters and types the glue sits among
        return "_" + super().tmp(stem)

    # ---- one helper function per type and direction ----
    def _helped(self, step: abi.Step) -> bool:
        """Whether lifting or lowering `step` goes through a helper (loading and storing a list only moves
        its two words, and lifts or lowers them)."""
        return isinstance(step, _COMPOSITE) or (isinstance(step, abi.Sequence) and not _plain(step))

    def _helper(self, kind: str, step: abi.Step, spell: GoType, params: list[str], result: str,
                body: Callable[[], list[str]]) -> str:  # fmt: skip
        key = (kind, step.ty, spell.go)
        if key not in self._made:
            name = self._made[key] = f"asterai{kind}{len(self._made)}"
            saved, self.keep = self.keep, "_k"
            try:
                lines = body()
            finally:
                self.keep = saved
            head = f"func {name}({', '.join(params)}){result} {{"
            self.helpers.append("\n".join([head, _indent("\n".join(lines)), "}", ""]))
        return self._made[key]

    def _keep(self, params: list[str]) -> list[str]:
        return [self.memory.keep, *params] if self.memory.keep else params

    def _keep_arg(self, args: list[str]) -> str:
        return ", ".join([self.keep, *args] if self.memory.keep else args)

    def _returning(self, expr: str) -> list[str]:
        return self._closures.get(expr) or [f"return {expr}"]

    def _closure(self, go: str, lines: list[str]) -> str:
        body = _indent("\n".join(lines))
        expr = f"func() {go} {{\n{body}\n}}()"
        self._closures[expr] = lines
        return expr

    def lift_flat(self, step, vals, spell=None):
        if not self._helped(step):
            return super().lift_flat(step, vals, spell)
        cs = [f"_c{i}" for i in range(len(step.flat))]
        params = [f"{c} {CORE[t]}" for c, t in zip(cs, step.flat)]

        def body() -> list[str]:
            return self._returning(abi.Emitter.lift_flat(self, step, cs, spell))

        return f"{self._helper('Lift', step, spell, params, f' {spell.go}', body)}({', '.join(vals)})"

    def load(self, step, ptr, spell=None):
        if not isinstance(step, _COMPOSITE):
            return super().load(step, ptr, spell)

        def body() -> list[str]:
            return self._returning(abi.Emitter.load(self, step, "_p", spell))

        return f"{self._helper('Load', step, spell, ['_p uintptr'], f' {spell.go}', body)}({ptr})"

    def store(self, step, val, ptr, spell=None):
        if not isinstance(step, _COMPOSITE):
            return super().store(step, val, ptr, spell)

        def body() -> list[str]:
            return [abi.Emitter.store(self, step, "_v", "_p", spell)]

        name = self._helper("Store", step, spell, self._keep(["_p uintptr", f"_v {spell.go}"]), "", body)
        return f"{name}({self._keep_arg([ptr, val])})"

    def lower_flat(self, step, val, out, spell=None):
        if not self._helped(step):
            return super().lower_flat(step, val, out, spell)

        def body() -> list[str]:
            lines: list[str] = []
            vals = abi.Emitter.lower_flat(self, step, "_v", lines, spell)
            return [*lines, f"return {', '.join(vals)}"]

        cores = [CORE[t] for t in step.flat]
        result = f" {cores[0]}" if len(cores) == 1 else f" ({', '.join(cores)})"
        name = self._helper("Lower", step, spell, self._keep([f"_v {spell.go}"]), result, body)
        names = [self.tmp("f") for _ in step.flat]
        out.append(f"{', '.join(names)} := {name}({self._keep_arg([val])})")
        return names

    # ---- scalars ----
    def _go(self, step: abi.Scalar, spell: GoType | None) -> str:
        return spell.go if spell is not None else GO_PRIMS[step.name]

    def lift_scalar(self, step, val, spell=None):
        if step.name == "bool":
            return f"({val} != 0)"
        go = self._go(step, spell)
        return val if go == CORE[step.flat[0]] else f"{go}({val})"

    def lower_scalar(self, step, val, spell=None):
        if step.name == "bool":
            return f"{self.memory.b2i}({val})"
        core = CORE[step.flat[0]]
        return val if self._go(step, spell) == core else f"{core}({val})"

    def load_scalar(self, step, ptr, spell=None):
        if step.name == "bool":
            return f"(*(*uint8)(unsafe.Pointer({ptr})) != 0)"
        mem, go = GO_PRIMS[step.name], self._go(step, spell)
        raw = f"*(*{mem})(unsafe.Pointer({ptr}))"
        return raw if go == mem else f"{go}({raw})"

    def store_scalar(self, step, val, ptr, spell=None):
        if step.name == "bool":
            return f"*(*uint8)(unsafe.Pointer({ptr})) = uint8({self.memory.b2i}({val}))"
        mem = GO_PRIMS[step.name]
        value = val if self._go(step, spell) == mem else f"{mem}({val})"
        return f"*(*{mem})(unsafe.Pointer({ptr})) = {value}"

    def at(self, ptr, offset):
        return f"{ptr}+{offset}" if offset else ptr

    # ---- strings and lists ----
    def lift_text(self, ptr, length, spell=None):
        return self.memory.lift_string.format(p=ptr, n=length)

    def lower_text(self, val, out, spell=None):
        p, n = self.tmp("p"), self.tmp("n")
        out.append(f"{p}, {n} := {self.memory.lower_string.format(v=val)}")
        return [p, n]

    def lift_list(self, step, ptr, length, spell=None):
        elem = self.part(spell, 0)
        if _plain(step):
            return self.memory.lift_plain.format(t=self._go(step.elem, elem), p=ptr, n=length)
        out, base, i = self.tmp("out"), self.tmp("base"), self.tmp("i")
        load = self.load(step.elem, f"{base}+uintptr({i}*{step.elem.size})", elem)
        return self._closure(spell.go, [
            f"{out} := make({spell.go}, int(uint32({length})))",
            f"{base} := uintptr(uint32({ptr}))",
            f"for {i} := range {out} {{\n\t{out}[{i}] = {load}\n}}",
            f"return {out}",
        ])  # fmt: skip

    def lower_list(self, step, val, out, spell=None):
        s, p, n = self.bind(val, out, spell), self.tmp("p"), self.tmp("n")
        if _plain(step):
            out.append(f"{p}, {n} := {self.memory.lower_plain.format(v=s)}")
            return [p, n]
        e, buf, i = step.elem, self.tmp("buf"), self.tmp("i")
        store = self.store(e, f"{s}[{i}]", f"{buf}+uintptr({i}*{e.size})", self.part(spell, 0))
        out += [
            f"{buf} := {self.memory.alloc.format(size=f'len({s})*{e.size}', align=e.align)}",
            f"for {i} := range {s} {{\n{_indent(store)}\n}}",
            f"{p}, {n} := int32(uint32({buf})), int32(len({s}))",
        ]
        return [p, n]

    # ---- bulk twins: a numeric list as one string block (exports.py asteraiBulkIn/Out) ----
    def lift_bulk(self, step, ptr, length, spell=None):
        return self.memory.lift_bulk.format(t=self._go(step.elem, self.part(spell, 0)), p=ptr, n=length)

    def lower_bulk(self, step, val, out, spell=None):
        p, n = self.tmp("p"), self.tmp("n")
        out.append(f"{p}, {n} := {self.memory.lower_bulk.format(v=val)}")
        return [p, n]

    # ---- flags: a Go unsigned integer type (`type Perms uint8`), bit i member i ----
    def lift_flags(self, step, word, spell=None):
        return f"{spell.go}(uint32({word}))"

    def lower_flags(self, step, val, out, spell=None):
        return f"int32(uint32({val}) & {step.mask:#x})"

    def load_flags(self, step, ptr, spell=None):
        return f"{spell.go}(*(*{GO_PRIMS[step.word.name]})(unsafe.Pointer({ptr})))"

    def store_flags(self, step, val, ptr, spell=None):
        mem = GO_PRIMS[step.word.name]
        return f"*(*{mem})(unsafe.Pointer({ptr})) = {mem}(uint32({val}) & {step.mask:#x})"

    # ---- records and tuples: Go structs ----
    def make_fields(self, step, parts, spell=None):
        inits = ", ".join(f"{name}: {part}" for (name, _), part in zip(spell.fields, parts))
        return f"{spell.go}{{{inits}}}"

    def bind(self, val, out, spell=None):
        if val.isidentifier():
            return val
        name = self.tmp("v")
        out.append(f"{name} := {val}")
        return name

    def field(self, step, val, index, spell=None):
        return f"{val}.{spell.fields[index][0]}"

    # ---- cases: options are pointers, results rt.Result, enums numbers, variants interfaces ----
    def select_case(self, step, disc, arms, spell=None):
        ty = step.ty
        if step.is_enum:
            return f"{spell.go}({disc})"
        lines = [f"switch {disc} {{"]
        for k, (case, value) in enumerate(arms):
            lines.append("default:" if k == len(arms) - 1 else f"case {case.index}:")
            if isinstance(ty, wit.Option):
                made = ["return nil"] if value is None else [f"_some := {value}", "return &_some"]
            elif isinstance(ty, wit.Result):  # rt.Result: Ok or Err, and IsErr
                inits = [f"{spell.cases[case.index][0]}: {value}"] if value is not None else []
                inits += ["IsErr: true"] if case.index else []
                made = [f"return {spell.go}{{{', '.join(inits)}}}"]
            else:
                made = [f"return {spell.cases[case.index][0]}{{{f'Value: {value}' if value else ''}}}"]
            lines.append(_indent("\n".join(made)))
        lines.append("}")
        return self._closure(spell.go, lines)

    def match_cases(self, step, val, arms, spell=None):
        ty, out = step.ty, []
        v = self.bind(val, out, spell)

        def arm(x: str | None, payload: str, body: list[str]) -> str:
            return _indent("\n".join(([f"{x} := {payload}"] if x else []) + body))

        if isinstance(ty, wit.Option):
            (_, _, none), (_, x, some) = arms
            out += [f"if {v} == nil {{", arm(None, "", none), "} else {", arm(x, f"*{v}", some), "}"]
        elif isinstance(ty, wit.Result):
            (_, ok_x, ok), (_, err_x, err) = arms
            out += [
                f"if {v}.IsErr {{",
                arm(err_x, f"{v}.Err", err),
                "} else {",
                arm(ok_x, f"{v}.Ok", ok),
                "}",
            ]
        elif isinstance(ty, wit.Enum):
            out.append(f"switch {v} {{")
            for case, _, body in arms:
                out += [f"case {case.index}:", arm(None, "", body)]
            what = f"%T(%d) is not a case of enum {ty.name}"
            out += ["default:", f'\tpanic(fmt.Sprintf("{what}", {v}, uint64({v})))', "}"]
        else:  # a variant: a value of one of its case types, or a non-nil pointer to one
            y = self.tmp("y")
            out.append(f"switch {y} := {v}.(type) {{")
            for name, _ in spell.cases:
                out += [f"case *{name}:", f"\tif {y} != nil {{\n\t\t{v} = *{y}\n\t}}"]
            out += [
                "}",
                f"switch {y} := {v}.(type) {{" if any(x for _, x, _ in arms) else f"switch {v}.(type) {{",
            ]
            for (_, x, body), (name, _) in zip(arms, spell.cases):
                out += [f"case {name}:", arm(x, f"{y}.Value", body)]
            what = f"%#v is not a case of variant {ty.name}"
            out += ["default:", f'\tpanic(fmt.Sprintf("{what}", {v}))', "}"]
        return "\n".join(out)

    def load_disc(self, step, ptr):
        return f"*(*{GO_PRIMS[step.disc.name]})(unsafe.Pointer({ptr}))"

    def store_disc(self, step, index, ptr):
        return f"*(*{GO_PRIMS[step.disc.name]})(unsafe.Pointer({ptr})) = {index}"

    def cast_in(self, val, joined, own):
        if joined == own:
            return val
        if own == "f32":  # from an i32 or i64 slot
            return f"math.Float32frombits(uint32({val}))"
        if own == "i32":  # from an i64 slot
            return f"int32({val})"
        return f"math.Float64frombits(uint64({val}))"

    def cast_out(self, val, own, joined):
        if joined == own:
            return val
        if own == "f32":
            return f"{CORE[joined]}(math.Float32bits({val}))"
        if own == "i32":  # zero-extended
            return f"int64(uint32({val}))"
        return f"int64(math.Float64bits({val}))"

    # ---- statements ----
    def declare(self, name, core):
        return f"var {name} {CORE[core]}"

    def assign(self, name, val):
        return f"{name} = {val}"

    def block(self, stmts):
        return "\n".join(s for s in stmts if s)
