"""Canonical-ABI glue for C++ cells: C's (c/exports.py) with C++'s own leaves.

std::string and std::vector are lifted by copying what the host wrote (then freed at once) and lowered by
lending their own buffers; a result that lends memory to the host is therefore kept alive (a static
std::optional) until the post-return. Records and tuples are built with braces, std::optional with its
constructors; values are bound by `const auto &`, so lowering lends the result's own memory, not a copy's.
"""

from __future__ import annotations

from ... import abi
from ..c.exports import CEmitter, CType


class CppEmitter(CEmitter):
    def literal(self, c: str, inits: list[str]) -> str:
        return f"{c}{{ {', '.join(inits)} }}"

    def bind(self, val, out, spell=None):
        name = self.tmp("v")
        out.append(f"const auto &{name} = {val};")
        return name

    # ---- strings ----
    def lift_text(self, ptr, length, spell=None):
        if spell is not None and spell.kind == "stdstring":
            return f"asterai_lift_std_string({ptr}, {length})"
        if spell is not None and spell.kind == "view":  # its chars are owned by the call (own_other)
            return f"std::string_view(asterai_lift_chars({ptr}, {length}), (size_t)({length}))"
        return super().lift_text(ptr, length, spell)

    def lower_text(self, val, out, spell=None):
        if spell is None or spell.kind not in ("stdstring", "view"):
            return super().lower_text(val, out, spell)
        s = self.bind(val, out, spell)
        return [f"ASTERAI_I32({s}.data())", f"((int32_t){s}.size())"]

    # ---- std::vector ----
    def lift_list(self, step, ptr, length, spell=None):
        if spell.kind != "vector":
            return super().lift_list(step, ptr, length, spell)
        if step.plain:
            return f"asterai_lift_vector<{spell.parts[0].c}>({ptr}, {length})"
        lift = self.helper("liftv", spell, lambda name: self._lift_vector(name, step, spell))
        return f"{lift}({ptr}, {length})"

    def _lift_vector(self, name: str, step: abi.Sequence, spell: CType) -> str:
        load = self.load(step.elem, f"(base + i * {step.elem.size})", spell.parts[0])
        return (
            f"static {spell.c} {name}(int32_t p, int32_t n) {{\n"
            f"    {spell.c} out;\n    out.reserve((size_t)n);\n"
            f"    uint8_t *base = ASTERAI_PTR(p);\n"
            f"    for (size_t i = 0; i < (size_t)n; i++) {{\n        out.push_back({load});\n    }}\n"
            f"    free(base);\n    return out;\n}}\n"
        )

    def decoded(self, spell, p, count):
        if spell.kind != "vector":
            return super().decoded(spell, p, count)
        return f"asterai_lift_vector<{spell.parts[0].c}>({p}, (int32_t)({count}))"

    def items(self, spell, v):
        if spell.kind != "vector":
            return super().items(spell, v)
        return f"{v}.data()", f"{v}.size()", f"{v}[i]"

    def argument(self, spell, val):
        return f"std::move({val})" if spell.kind in ("vector", "stdstring") else val

    def by_ref(self, c):
        return f"const {c} &"

    # ---- tuples and records ----
    def make_fields(self, step, parts, spell=None):
        if spell.kind == "tuple":
            return f"{spell.c}{{ {', '.join(parts)} }}"
        return super().make_fields(step, parts, spell)

    def field(self, step, val, index, spell=None):
        if spell.kind == "tuple":
            return f"std::get<{index}>({val})"
        return super().field(step, val, index, spell)

    # ---- std::optional ----
    def select_case(self, step, disc, arms, spell=None):
        if spell.kind != "optional":
            return super().select_case(step, disc, arms, spell)
        (_, _), (_, some) = arms
        return f"(({disc}) == 0 ? {spell.c}() : {spell.c}({some}))"

    def match_cases(self, step, val, arms, spell=None):
        if spell.kind != "optional":
            return super().match_cases(step, val, arms, spell)
        (_, _, none), (_, x, some) = arms
        o = self.tmp("o")
        return (
            f"{{ const auto &{o} = {val}; if (!{o}.has_value()) {self.block(none)} "
            f"else {{ const auto &{x} = *{o}; {self.block(some)} }} }}"
        )

    # ---- results and ownership ----
    def hold_result(self, index, spell, call, until_post_return):
        if not until_post_return:
            return super().hold_result(index, spell, call, until_post_return)
        held = f"asterai_held_{index}"
        self.defs.append(f"static std::optional<{spell.c}> {held};\n")
        return [f"{held}.emplace({call});", f"const {spell.c} &r = *{held};"]

    def drop_result(self, index):
        return [f"asterai_held_{index}.reset();"]

    def own_other(self, spell, val, result):
        kind = spell.kind
        if kind == "view":
            return [f"asterai_own((void *)({val}).data());"]
        if kind == "vector":
            e = self.tmp("e")
            return [f"for (const auto &{e} : {val}) {{ {' '.join(self.own(spell.parts[0], e, result))} }}"]
        if kind == "optional":
            return [f"if ({val}) {{ {' '.join(self.own(spell.parts[0], f'(*{val})', result))} }}"]
        if kind == "tuple":
            return [
                s for i, p in enumerate(spell.parts) for s in self.own(p, f"std::get<{i}>({val})", result)
            ]
        return super().own_other(spell, val, result)
