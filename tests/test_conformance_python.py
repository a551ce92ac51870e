"""The shared conformance table (conformance.py) through Python identity functions, plus hypothesis round trips.

A Python cell writes its types as hints, and hints name fewer WIT types than the table holds: every integer
is `int` (WIT s64), every float `float` (f64), a character a `str`. Each row runs through the Python view of
its type (`u8` becomes `int`, `char` becomes `str`, ...) with the values that view can carry; rows the
hints cannot express at all (result, variant, an option inside an option) are listed in SKIP with the reason.
"""

from __future__ import annotations

import contextlib
import io

import pytest
from conformance import CASES, Case, check_case, check_round_trips, fn_name

from asterai_kernel import wit
from asterai_kernel.names import pascal_name, snake_name

S64 = wit.INT_RANGES["s64"]


class Inexpressible(Exception):
    pass


def py_view(ty: wit.WitType) -> wit.WitType:
    """The WIT type a Python cell declares for `ty` (what its hint maps to)."""
    if isinstance(ty, wit.Prim):
        if ty.name in wit.INT_RANGES:
            return wit.Prim("s64")
        if ty.name in ("f32", "f64"):
            return wit.Prim("f64")
        return wit.String() if ty.name == "char" else ty
    if isinstance(ty, wit.String):
        return ty
    if isinstance(ty, wit.List):
        return wit.List(ty.elem if ty.elem == wit.Prim("u8") else py_view(ty.elem))
    if isinstance(ty, wit.Tuple):
        return wit.Tuple(tuple(py_view(e) for e in ty.elems))
    if isinstance(ty, wit.Option):
        if isinstance(ty.inner, wit.Option):
            raise Inexpressible("an optional of an optional (`T | None | None` is `T | None`)")
        return wit.Option(py_view(ty.inner))
    if isinstance(ty, wit.Record):
        return wit.Record(ty.name, tuple((n, py_view(t)) for n, t in ty.fields))
    if isinstance(ty, wit.Enum):
        return ty
    if isinstance(ty, wit.Result):
        raise Inexpressible("no Python hint maps to result<T, E> (a Python function raises instead)")
    raise Inexpressible(f"no Python hint maps to a WIT {type(ty).__name__.lower()}")


def fits(value, ty: wit.WitType) -> bool:
    """Whether a value of the table can be carried by the Python view of its type (s64 for every integer)."""
    if isinstance(value, bool) or value is None:
        return True
    if isinstance(value, int):
        return S64[0] <= value <= S64[1]
    if isinstance(value, dict):
        return all(fits(v, ty) for v in value.values())
    if isinstance(value, (list, tuple)):
        return all(fits(v, ty) for v in value)
    return True


def hint(ty: wit.WitType) -> str:
    if isinstance(ty, wit.Prim):
        return {"s64": "int", "f64": "float", "bool": "bool"}[ty.name]
    if isinstance(ty, wit.String):
        return "str"
    if isinstance(ty, wit.List):
        return "bytes" if ty.elem == wit.Prim("u8") else f"list[{hint(ty.elem)}]"
    if isinstance(ty, wit.Tuple):
        return f"tuple[{', '.join(hint(e) for e in ty.elems)}]"
    if isinstance(ty, wit.Option):
        return f"{hint(ty.inner)} | None"
    return pascal_name(ty.name)


def definition(ty: wit.WitType) -> str:
    name = pascal_name(ty.name)
    if isinstance(ty, wit.Record):
        fields = "".join(f"    {snake_name(n)}: {hint(t)}\n" for n, t in ty.fields)
        return f"@dataclass\nclass {name}:\n{fields}"
    members = "".join(f"    {snake_name(c).upper()} = {c!r}\n" for c in ty.cases)
    return f"class {name}(Enum):\n{members}"


def identity_cell(types: dict[int, wit.WitType]) -> str:
    named: dict[str, wit.WitType] = {}
    for ty in types.values():
        for t in ty.named_types():
            named.setdefault(t.name, t)
    lines = ["from dataclasses import dataclass", "from enum import Enum", ""]
    lines += [definition(t) for t in named.values()]
    lines += [f"def {fn_name(i)}(x: {hint(t)}) -> {hint(t)}:\n    return x\n" for i, t in types.items()]
    return "\n".join(lines)


VIEWS: dict[int, wit.WitType] = {}
SKIP: dict[int, str] = {}
for _i, _case in enumerate(CASES):
    try:
        VIEWS[_i] = py_view(_case.ty)
    except Inexpressible as _e:
        SKIP[_i] = str(_e)


def narrow(value):
    """A list of integers without those beyond s64 (the u64 rows)."""
    if isinstance(value, list) and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        return [v for v in value if fits(v, None)]
    return value


def python_case(i: int) -> Case:
    """The row with the values the Python view carries (u64 values beyond s64 are left out)."""
    case = CASES[i]
    pairs = [(narrow(v), narrow(e)) for v, e in case.pairs()]
    pairs = [(v, e) for v, e in pairs if fits(v, case.ty)]
    return Case(VIEWS[i], [v for v, _ in pairs], [e for _, e in pairs])


@pytest.fixture(scope="module")
def conf(ip):
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        ip.run_cell_magic("asterai", "python conf_python", identity_cell(VIEWS))
    return ip.user_ns["conf_python"]


@pytest.mark.no_toolchain
def test_most_of_the_table_is_expressible():
    assert len(VIEWS) == len(CASES) - len(SKIP) and len(SKIP) == 9, SKIP
    assert sorted(CASES[i].ty.wit() for i in SKIP) == sorted(
        [
            "option<option<string>>",
            "result<u32, string>",
            "result<_, string>",
            "option<result<string, u8>>",
            "list<result<f64, string>>",
            "shape",
            "outer",
            "reading",
            "option<result<f32, u64>>",
        ]
    )


@pytest.mark.parametrize("i", sorted(VIEWS), ids=[CASES[i].ty.wit() for i in sorted(VIEWS)])
def test_conformance(conf, i):
    case = python_case(i)
    assert case.values, "every expressible row keeps some values"
    check_case(getattr(conf, fn_name(i)), case)


def test_the_cell_sees_its_own_classes(conf):
    point = next(i for i in VIEWS if CASES[i].ty.wit() == "point")
    got = getattr(conf, fn_name(point))({"x": 1.0, "y": 2.0})
    assert type(got).__name__ == "Point" and (got.x, got.y) == (1.0, 2.0)


# ---- property-based round trips (one more cell) ----
ROUND_TRIP = [
    wit.List(wit.Option(wit.String())),
    wit.Tuple((wit.Prim("s64"), wit.Prim("f64"), wit.String())),
    wit.List(wit.Record("pair", (("key", wit.String()), ("value", wit.List(wit.Prim("s64")))))),
    wit.Option(wit.List(wit.Prim("u8"))),
]


@pytest.fixture(scope="module")
def props(ip):
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        ip.run_cell_magic("asterai", "python props_python", identity_cell(dict(enumerate(ROUND_TRIP))))
    return ip.user_ns["props_python"]


@pytest.mark.parametrize("i", range(len(ROUND_TRIP)), ids=[t.wit() for t in ROUND_TRIP])
def test_hypothesis_round_trip(props, i):
    check_round_trips(getattr(props, fn_name(i)), ROUND_TRIP[i])
