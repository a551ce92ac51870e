"""The shared conformance table (conformance.py) through C identity functions, plus hypothesis round trips.

C spells a string as asterai_string (any bytes, NUL included), a list as an ASTERAI_LIST(T) typedef (asterai.h
has them for scalars and strings), a record as a typedef'd struct and an enum as a typedef'd enum. C has no
tuple, option, result or variant: those rows are listed in SKIP with the reason.
"""

from __future__ import annotations

import contextlib
import io

import pytest
from conformance import CASES, check_case, check_round_trips, fn_name

from asterai_kernel import wit
from asterai_kernel.languages.c.exports import C_PRIMS
from asterai_kernel.names import pascal_name, snake_name


class Inexpressible(Exception):
    pass


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


ROWS: list[int] = []
SKIP: dict[int, str] = {}
for _i, _case in enumerate(CASES):
    try:
        c_type(_case.ty, {})
        ROWS.append(_i)
    except Inexpressible as _e:
        SKIP[_i] = str(_e)


def identity_cell(types: dict[int, wit.WitType]) -> str:
    typedefs: dict[str, str] = {}
    functions = []
    for i, ty in types.items():
        c = c_type(ty, typedefs)
        functions.append(f"{c} {fn_name(i)}({c} x) {{ return x; }}")
    return "\n".join([*typedefs.values(), *functions]) + "\n"


@pytest.fixture(scope="module")
def conf(ip):
    with contextlib.redirect_stdout(io.StringIO()):
        ip.run_cell_magic("asterai", "c conf_c", identity_cell({i: CASES[i].ty for i in ROWS}))
    return ip.user_ns["conf_c"]


@pytest.mark.no_toolchain
def test_the_rows_c_cannot_express_are_named():
    assert len(ROWS) == 25 and len(SKIP) == len(CASES) - 25, [CASES[i].ty.wit() for i in ROWS]
    assert {CASES[i].ty.wit() for i in SKIP} == {
        "tuple<u8, string, f64>",
        "option<u32>",
        "option<string>",
        "option<option<string>>",
        "list<option<s64>>",
        "option<list<u8>>",
        "result<u32, string>",
        "result<_, string>",
        "option<result<string, u8>>",
        "list<result<f64, string>>",
        "shape",
        "outer",
        "reading",
        "option<result<f32, u64>>",
    }


@pytest.mark.parametrize("i", ROWS, ids=[CASES[i].ty.wit() for i in ROWS])
def test_conformance(conf, i):
    check_case(getattr(conf, fn_name(i)), CASES[i])


# ---- property-based round trips ----
ROUND_TRIP = [
    wit.List(wit.String()),
    wit.Record("pair", (("key", wit.String()), ("value", wit.List(wit.Prim("u16"))))),
    wit.List(wit.Record("entry", (("name", wit.String()), ("weights", wit.List(wit.Prim("f64")))))),
    wit.List(wit.Prim("u8")),
]


@pytest.fixture(scope="module")
def props(ip):
    with contextlib.redirect_stdout(io.StringIO()):
        ip.run_cell_magic("asterai", "c props_c", identity_cell(dict(enumerate(ROUND_TRIP))))
    return ip.user_ns["props_c"]


@pytest.mark.parametrize("i", range(len(ROUND_TRIP)), ids=[t.wit() for t in ROUND_TRIP])
def test_hypothesis_round_trip(props, i):
    check_round_trips(getattr(props, fn_name(i)), ROUND_TRIP[i])
