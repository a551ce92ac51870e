"""The shared conformance table (conformance.py) through Go identity functions.

Go has no tuple, enum or variant types, and a `result` exists only as a trailing `error` result (never a
parameter), so those rows are left out; every other row runs.
"""

from __future__ import annotations

import contextlib
import io

import pytest
from conformance import CASES, check_case, fn_name

from asterai_kernel import wit
from asterai_kernel.languages.go.imports import GO_PRIMS
from asterai_kernel.names import pascal_name, snake_name


def go_type(ty: wit.WitType) -> str:
    if isinstance(ty, wit.Prim):
        return GO_PRIMS[ty.name]
    if isinstance(ty, wit.String):
        return "string"
    if isinstance(ty, wit.List):
        return f"[]{go_type(ty.elem)}"
    if isinstance(ty, wit.Option):
        return f"*{go_type(ty.inner)}"
    if isinstance(ty, wit.Record):
        for _, t in ty.fields:
            go_type(t)
        return pascal_name(ty.name)
    raise NotImplementedError(ty.wit())


def supported(ty: wit.WitType) -> bool:
    try:
        go_type(ty)
        return True
    except NotImplementedError:
        return False


ROWS = [i for i, c in enumerate(CASES) if supported(c.ty)]


def identity_cell() -> str:
    named: dict[str, wit.Record] = {}
    for i in ROWS:
        for t in CASES[i].ty.named_types():
            named.setdefault(t.name, t)
    # this cell spells out its package and main (MAIN in test_go_cells omits them)
    lines = ["package main", ""]
    for t in named.values():
        fields = "; ".join(f"{pascal_name(n)} {go_type(ft)}" for n, ft in t.fields)
        lines.append(f"type {pascal_name(t.name)} struct {{ {fields} }}")
    for i in ROWS:
        ty = go_type(CASES[i].ty)
        lines.append(f"func {fn_name(i).upper()}(x {ty}) {ty} {{ return x }}")
    lines.append("func main() {}")
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def conf(ip):
    with contextlib.redirect_stdout(io.StringIO()):
        ip.run_cell_magic("asterai", "go conf_go", identity_cell())
    return ip.user_ns["conf_go"]


@pytest.mark.no_toolchain
def test_the_supported_rows_are_most_of_the_table():
    assert len(ROWS) >= 25, [CASES[i].ty.wit() for i in ROWS]


@pytest.mark.parametrize("i", ROWS, ids=[CASES[i].ty.wit() for i in ROWS])
def test_conformance(conf, i):
    check_case(getattr(conf, snake_name(fn_name(i))), CASES[i])
