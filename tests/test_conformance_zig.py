"""The shared conformance table (conformance.py) through Zig identity functions, plus hypothesis round trips.

Zig spells every row: integers and floats by width, `u21` for a char, `[]const u8` for a string and
`asterai.Bytes` for list<u8>, `?T` (`??T` nests), tuples `struct { A, B }`, `asterai.Result(T, E)`,
structs, enums and `union(enum)`s. So no row is skipped.
"""

from __future__ import annotations

import contextlib
import io

import pytest
from conformance import CASES, check_case, check_round_trips, fn_name

from asterai_kernel import wit
from asterai_kernel.languages.zig.emit import spell_wit, type_name
from asterai_kernel.languages.zig.imports import definition


def zig_type(ty: wit.WitType | None, prefix: str = "") -> str:
    """The Zig spelling of a WIT type; named types are the cell's own, or `prefix` + name (`ident.`)."""
    return "void" if ty is None else spell_wit(ty, lambda t: prefix + type_name(t.name)).zig


def identity_cell(types: dict[int, wit.WitType]) -> str:
    named: dict[str, wit.WitType] = {}
    for ty in types.values():
        for t in ty.named_types():
            named.setdefault(t.name, t)
    lines = ['const asterai = @import("asterai");', ""]
    lines += [definition(t, zig_type) for t in named.values()]
    for i, ty in types.items():
        t = zig_type(ty)
        lines.append(f"pub fn {fn_name(i)}(x: {t}) {t} {{\n    return x;\n}}")
    return "\n".join(lines) + "\n"


ROWS = dict(enumerate(c.ty for c in CASES))
SKIP: dict[int, str] = {}  # Zig expresses every row


@pytest.fixture(scope="module")
def conf(ip):
    with contextlib.redirect_stdout(io.StringIO()):
        ip.run_cell_magic("asterai", "zig conf_zig", identity_cell(ROWS))
    return ip.user_ns["conf_zig"]


@pytest.mark.no_toolchain
def test_every_row_is_expressible():
    assert len(ROWS) == len(CASES) and not SKIP


@pytest.mark.parametrize("i", sorted(ROWS), ids=[CASES[i].ty.wit() for i in sorted(ROWS)])
def test_conformance(conf, i):
    check_case(getattr(conf, fn_name(i)), CASES[i])


# ---- property-based round trips (one more cell) ----
ROUND_TRIP = [
    wit.List(wit.Option(wit.String())),
    wit.Tuple((wit.Prim("s64"), wit.Prim("f64"), wit.String())),
    wit.List(wit.Record("pair", (("key", wit.String()), ("value", wit.List(wit.Prim("s64")))))),
    wit.Option(wit.List(wit.Prim("u8"))),
    wit.List(wit.Result(wit.Prim("u32"), wit.String())),
]


@pytest.fixture(scope="module")
def props(ip):
    with contextlib.redirect_stdout(io.StringIO()):
        ip.run_cell_magic("asterai", "zig props_zig", identity_cell(dict(enumerate(ROUND_TRIP))))
    return ip.user_ns["props_zig"]


@pytest.mark.parametrize("i", range(len(ROUND_TRIP)), ids=[t.wit() for t in ROUND_TRIP])
def test_hypothesis_round_trip(props, i):
    check_round_trips(getattr(props, fn_name(i)), ROUND_TRIP[i])
