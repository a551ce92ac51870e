"""The shared conformance table (conformance.py) through C++ identity functions, plus hypothesis round trips.

C++ spells a string as std::string, a list as std::vector<T>, an option as std::optional<T>, a tuple as
std::tuple, a record as a struct and an enum as an enum class. It has no result or variant type the cells
take (std::variant is not mapped): those rows are listed in SKIP with the reason.
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


ROWS: list[int] = []
SKIP: dict[int, str] = {}
for _i, _case in enumerate(CASES):
    try:
        cpp_type(_case.ty, {})
        ROWS.append(_i)
    except Inexpressible as _e:
        SKIP[_i] = str(_e)


def identity_cell(types: dict[int, wit.WitType]) -> str:
    defs: dict[str, str] = {}
    functions = []
    for i, ty in types.items():
        c = cpp_type(ty, defs)
        functions.append(f"{c} {fn_name(i)}(const {c} &x) {{ return x; }}")
    return "\n".join([*defs.values(), *functions]) + "\n"


@pytest.fixture(scope="module")
def conf(ip):
    with contextlib.redirect_stdout(io.StringIO()):
        ip.run_cell_magic("asterai", "cpp conf_cpp", identity_cell({i: CASES[i].ty for i in ROWS}))
    return ip.user_ns["conf_cpp"]


@pytest.mark.no_toolchain
def test_the_rows_cpp_cannot_express_are_named():
    assert len(ROWS) == 31 and len(SKIP) == len(CASES) - 31, [CASES[i].ty.wit() for i in ROWS]
    assert {CASES[i].ty.wit() for i in SKIP} == {
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


ROUND_TRIP = [
    wit.List(wit.Option(wit.String())),
    wit.Tuple((wit.Prim("s64"), wit.Prim("f64"), wit.Prim("char"))),
    wit.List(wit.Record("pair", (("key", wit.String()), ("value", wit.List(wit.Prim("u16")))))),
    wit.Option(wit.List(wit.Prim("u8"))),
]


@pytest.fixture(scope="module")
def props(ip):
    with contextlib.redirect_stdout(io.StringIO()):
        ip.run_cell_magic("asterai", "cpp props_cpp", identity_cell(dict(enumerate(ROUND_TRIP))))
    return ip.user_ns["props_cpp"]


@pytest.mark.parametrize("i", range(len(ROUND_TRIP)), ids=[t.wit() for t in ROUND_TRIP])
def test_hypothesis_round_trip(props, i):
    check_round_trips(getattr(props, fn_name(i)), ROUND_TRIP[i])
