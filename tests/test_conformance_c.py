"""The shared conformance table (conformance.py) through C and C++ identity functions, plus hypothesis round
trips.

C spells a string as asterai_string (any bytes, NUL included), a list as an ASTERAI_LIST(T) typedef (asterai.h
has them for scalars and strings), a record as a typedef'd struct and an enum as a typedef'd enum; it has no
tuple, option, result or variant. C++ spells them std::string, std::vector<T>, std::optional<T>, std::tuple,
a struct and an enum class; it maps no type to a result or a variant (std::variant is not mapped). The rows a
language cannot write are listed with the reason.
"""

from __future__ import annotations

import pytest
from conformance import (
    CASES,
    Inexpressible,
    build,
    check_case,
    check_round_trips,
    expressible,
    fn_name,
    identity_source,
)

from asterai_kernel import wit
from asterai_kernel.languages.c.exports import C_PRIMS
from asterai_kernel.names import pascal_name, snake_name


def c_type(ty: wit.WitType, typedefs: dict[str, str]) -> str:
    """The C spelling of `ty`, adding the typedefs it needs to `typedefs` (name -> definition)."""
    if isinstance(ty, wit.Prim):
        return C_PRIMS[ty.name]
    if isinstance(ty, wit.String):
        return "asterai_string"
    if isinstance(ty, wit.List):
        if isinstance(ty.elem, (wit.Prim, wit.String)):
            return f"asterai_list_{'string' if isinstance(ty.elem, wit.String) else ty.elem.name}"
        elem = c_type(ty.elem, typedefs)
        name = f"{elem}_list"
        typedefs.setdefault(name, f"typedef ASTERAI_LIST({elem}) {name};")
        return name
    if isinstance(ty, wit.Record):
        name = pascal_name(ty.name)
        fields = " ".join(f"{c_type(t, typedefs)} {snake_name(n)};" for n, t in ty.fields)
        typedefs.setdefault(name, f"typedef struct {{ {fields} }} {name};")
        return name
    if isinstance(ty, wit.Enum):
        name = pascal_name(ty.name)
        cases = ", ".join(snake_name(c).upper() for c in ty.cases)
        typedefs.setdefault(name, f"typedef enum {{ {cases} }} {name};")
        return name
    raise Inexpressible(f"C has no {type(ty).__name__.lower()} type (`{ty.wit()}`)")


def cpp_type(ty: wit.WitType, defs: dict[str, str]) -> str:
    """The C++ spelling of `ty`, adding the definitions it needs to `defs` (name -> definition)."""
    if isinstance(ty, wit.Prim):
        return C_PRIMS[ty.name]
    if isinstance(ty, wit.String):
        return "std::string"
    if isinstance(ty, wit.List):
        return f"std::vector<{cpp_type(ty.elem, defs)}>"
    if isinstance(ty, wit.Option):
        return f"std::optional<{cpp_type(ty.inner, defs)}>"
    if isinstance(ty, wit.Tuple):
        return f"std::tuple<{', '.join(cpp_type(e, defs) for e in ty.elems)}>"
    if isinstance(ty, wit.Record):
        name = pascal_name(ty.name)
        fields = " ".join(f"{cpp_type(t, defs)} {snake_name(n)};" for n, t in ty.fields)
        defs.setdefault(name, f"struct {name} {{ {fields} }};")
        return name
    if isinstance(ty, wit.Enum):
        name = pascal_name(ty.name)
        defs.setdefault(name, f"enum class {name} {{ {', '.join(pascal_name(c) for c in ty.cases)} }};")
        return name
    raise Inexpressible(f"C++ cells map no type to a WIT {type(ty).__name__.lower()} (`{ty.wit()}`)")


# language -> (its spelling of a WIT type, its identity function)
LANGS = {
    "c": (c_type, lambda name, t: f"{t} {name}({t} x) {{ return x; }}"),
    "cpp": (cpp_type, lambda name, t: f"{t} {name}(const {t} &x) {{ return x; }}"),
}
ROWS = {lang: expressible(spell) for lang, (spell, _) in LANGS.items()}  # (rows, skipped with the reason)
UNMAPPED = {"result<u32, string>", "result<_, string>", "option<result<string, u8>>", "list<result<f64, string>>",
            "shape", "outer", "reading", "option<result<f32, u64>>"}  # fmt: skip
C_ONLY = {
    "tuple<u8, string, f64>",
    "tuple<string, string>",
    "option<u32>",
    "option<string>",
    "option<option<string>>",
    "list<option<s64>>",
    "option<list<u8>>",
    "wide",
}  # fmt: skip  (`wide` has an option<u8> field)


def identity_cell(lang: str, types: dict[int, wit.WitType]) -> str:
    spell, function = LANGS[lang]
    return identity_source(spell, types, function)


@pytest.mark.no_toolchain
def test_the_rows_each_language_cannot_express_are_named():
    c_rows, c_skipped = ROWS["c"]
    cpp_rows, cpp_skipped = ROWS["cpp"]
    assert (len(c_rows), len(cpp_rows)) == (25, 33) and len(c_skipped) == len(CASES) - 25
    assert {CASES[i].ty.wit() for i in cpp_skipped} == UNMAPPED
    assert {CASES[i].ty.wit() for i in c_skipped} == UNMAPPED | C_ONLY


@pytest.fixture(scope="module", params=list(LANGS))
def conf(ip, request):
    lang = request.param
    return lang, build(
        ip, f"{lang} conf_{lang}", identity_cell(lang, {i: CASES[i].ty for i in ROWS[lang][0]})
    )


@pytest.mark.parametrize("i", range(len(CASES)), ids=[c.ty.wit() for c in CASES])
def test_conformance(conf, i):
    lang, handle = conf
    if i not in ROWS[lang][0]:
        pytest.skip(ROWS[lang][1][i])
    check_case(getattr(handle, fn_name(i)), CASES[i])


# ---- property-based round trips ----
ROUND_TRIP = {
    "c": [
        wit.List(wit.String()),
        wit.Record("pair", (("key", wit.String()), ("value", wit.List(wit.Prim("u16"))))),
        wit.List(wit.Record("entry", (("name", wit.String()), ("weights", wit.List(wit.Prim("f64")))))),
        wit.List(wit.Prim("u8")),
    ],
    "cpp": [
        wit.List(wit.Option(wit.String())),
        wit.Tuple((wit.Prim("s64"), wit.Prim("f64"), wit.Prim("char"))),
        wit.List(wit.Record("pair", (("key", wit.String()), ("value", wit.List(wit.Prim("u16")))))),
        wit.Option(wit.List(wit.Prim("u8"))),
    ],
}


@pytest.fixture(scope="module", params=list(LANGS))
def props(ip, request):
    lang = request.param
    return lang, build(ip, f"{lang} props_{lang}", identity_cell(lang, dict(enumerate(ROUND_TRIP[lang]))))


@pytest.mark.parametrize("i", range(4))
def test_hypothesis_round_trip(props, i):
    lang, handle = props
    check_round_trips(getattr(handle, fn_name(i)), ROUND_TRIP[lang][i])
