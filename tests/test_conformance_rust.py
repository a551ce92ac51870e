"""The shared conformance table (conformance.py) through Rust identity functions, plus hypothesis round trips."""

from __future__ import annotations

import contextlib
import io

import pytest
from conformance import CASES, check_case, check_round_trips, fn_name, normalize

from asterai_kernel import wit
from asterai_kernel.languages.rust.imports import rust_type as imported_rust_type
from asterai_kernel.names import pascal_name, snake_name


def rust_type(ty: wit.WitType | None) -> str:
    return imported_rust_type(ty, None)


def rust_definition(ty: wit.WitType) -> str:
    name = pascal_name(ty.name)
    if isinstance(ty, wit.Record):
        fields = " ".join(f"pub {snake_name(n)}: {rust_type(t)}," for n, t in ty.fields)
        return f"pub struct {name} {{ {fields} }}"
    if isinstance(ty, wit.Enum):
        return f"pub enum {name} {{ {', '.join(pascal_name(c) for c in ty.cases)} }}"
    cases = []
    for c, t in ty.cases:
        if t is None:
            cases.append(pascal_name(c))
        elif isinstance(t, wit.Tuple):
            cases.append(f"{pascal_name(c)}({', '.join(rust_type(e) for e in t.elems)})")
        else:
            cases.append(f"{pascal_name(c)}({rust_type(t)})")
    return f"pub enum {name} {{ {', '.join(cases)} }}"


def identity_cell(cases) -> str:
    named: dict[str, wit.WitType] = {}
    for case in cases:
        for t in case.ty.named_types():
            named.setdefault(t.name, t)
    lines = [rust_definition(t) for t in named.values()]
    lines += [
        f"pub fn {fn_name(i)}(x: {rust_type(c.ty)}) -> {rust_type(c.ty)} {{ x }}" for i, c in enumerate(cases)
    ]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def conf(ip):
    with contextlib.redirect_stdout(io.StringIO()):
        ip.run_cell_magic("asterai", "rust conf_rust", identity_cell(CASES))
    return ip.user_ns["conf_rust"]


@pytest.mark.parametrize("i", range(len(CASES)), ids=[c.ty.wit() for c in CASES])
def test_conformance(conf, i):
    check_case(getattr(conf, fn_name(i)), CASES[i])


def test_the_component_keeps_working_after_bad_input(conf):
    point = CASES.index(next(c for c in CASES if c.ty.wit() == "point"))
    call = getattr(conf, fn_name(point))
    for bad in [{"x": 1.0}, {"x": 1.0, "y": "2"}, {"x": 1, "y": 2, "z": 3}, 5]:
        with pytest.raises((TypeError, ValueError)):
            call(bad)
    assert normalize(call({"x": 1.0, "y": 2.0})) == {"x": 1.0, "y": 2.0}


# ---- property-based round trips ----
ROUND_TRIP = [
    wit.List(wit.Option(wit.String())),
    wit.Tuple((wit.Prim("s64"), wit.Prim("f64"), wit.Prim("char"))),
    wit.List(wit.Record("pair", (("key", wit.String()), ("value", wit.List(wit.Prim("u16")))))),
    wit.Result(wit.List(wit.Prim("u8")), wit.String()),
]


@pytest.fixture(scope="module")
def props(ip):
    # Results are wrapped in an option so both cases come back as values rather than raising.
    types = [wit.Option(t) if isinstance(t, wit.Result) else t for t in ROUND_TRIP]
    cases = [type("C", (), {"ty": t}) for t in types]
    with contextlib.redirect_stdout(io.StringIO()):
        ip.run_cell_magic("asterai", "rust props_rust", identity_cell(cases))
    return ip.user_ns["props_rust"]


@pytest.mark.parametrize("i", range(len(ROUND_TRIP)), ids=[t.wit() for t in ROUND_TRIP])
def test_hypothesis_round_trip(props, i):
    check_round_trips(getattr(props, fn_name(i)), ROUND_TRIP[i])
