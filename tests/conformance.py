"""The shared value-conformance table: every guest language runs it through identity functions.

Each case is a WIT type and values to send through `fn cN(x: T) -> T { x }` written in the guest language.
A language plugin proves itself by generating those identity functions (see test_conformance_rust.py) and
passing `check_case` for every row. `expected` defaults to the value itself; `normalize` compares records
(dataclasses or dicts), enums (members or names) and variants (Variant or tuples) by content.
"""

from __future__ import annotations

import dataclasses
import enum
import math
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from asterai_kernel import ComponentError, Err, Ok, Some, Variant, wit
from asterai_kernel.names import snake_name

INF, NAN = float("inf"), float("nan")
S = wit.String()


def P(name: str) -> wit.Prim:
    return wit.Prim(name)


POINT = wit.Record("point", (("x", P("f64")), ("y", P("f64"))))
COLOR = wit.Enum("color", ("red", "dark-red", "blue"))
SHAPE = wit.Variant(
    "shape", (("circle", P("f32")), ("rect", wit.Tuple((P("u16"), P("u16")))), ("none", None), ("named", S))
)
INNER = wit.Record("inner", (("label", S), ("tags", wit.List(S)), ("at", wit.Option(POINT))))
MIDDLE = wit.Record("middle", (("inner", INNER), ("color", COLOR), ("weights", wit.List(P("f64")))))
# Cases whose payloads share a flat slot of another type: i32 into i64, f32 and f64 bits into i64.
READING = wit.Variant(
    "reading",
    (("small", P("s8")), ("wide", P("f64")), ("single", P("f32")), ("big", P("s64")), ("off", None)),
)
OUTER = wit.Record("outer", (("middle", MIDDLE), ("shapes", wit.List(SHAPE)), ("id", P("u64"))))
# 18 flat values: a function taking one gets its parameters in memory (they spill past 16)
WIDE = wit.Record(
    "wide",
    tuple(
        zip(
            "abcdefghijklmno",
            [P("u8"), P("s16"), P("u32"), P("s64"), P("f32"), P("f64"), P("bool"), P("char"), S, P("u64"),
             wit.Option(P("u8")), wit.List(P("u16")), P("u8"), P("s8"), P("u16")],
        )
    ),
)  # fmt: skip


@dataclass
class Raises:
    """The call must raise `kind` (a top-level result's err), whose .value equals `value`."""

    kind: type[Exception]
    value: Any


@dataclass
class Case:
    ty: wit.WitType
    values: list[Any]
    expected: list[Any] = field(default_factory=list)  # empty: each value comes back as is

    def pairs(self):
        return zip(self.values, self.expected or self.values)


DEEP = {
    "middle": {
        "inner": {"label": "deep 😀", "tags": ["", "a"], "at": {"x": -0.0, "y": 1e300}},
        "color": "dark-red",
        "weights": [0.5, INF],
    },
    "shapes": [("circle", 1.5), ("rect", (0, 65535)), ("none", None), ("named", "")],
    "id": 2**64 - 1,
}

CASES: list[Case] = [
    Case(P("bool"), [True, False]),
    Case(P("s8"), [-128, -1, 0, 127]),
    Case(P("u8"), [0, 255]),
    Case(P("s16"), [-(2**15), 2**15 - 1]),
    Case(P("u16"), [0, 2**16 - 1]),
    Case(P("s32"), [-(2**31), 0, 2**31 - 1]),
    Case(P("u32"), [0, 2**32 - 1]),
    Case(P("s64"), [-(2**63), -1, 2**63 - 1]),
    Case(P("u64"), [0, 2**63, 2**64 - 1]),
    Case(P("f32"), [0.0, -0.0, 1.5, -2.25, INF, -INF, NAN, 3.4028234663852886e38, 1.401298464324817e-45]),
    Case(P("f64"), [0.0, -0.0, 0.1, INF, -INF, NAN, 5e-324, 1.7976931348623157e308]),
    Case(P("char"), ["a", "\x00", "é", "😀", "\U0010ffff"]),
    Case(S, ["", "ascii", "grüße", "😀 astral 𝄞 plane", "\x00 inside", "x" * 100_000]),
    Case(wit.List(P("u8")), [b"", b"\x00\xff", bytes(range(256)) * 40]),
    Case(wit.List(P("s64")), [[], [-(2**63), 2**63 - 1]]),
    Case(wit.List(P("u64")), [[0, 2**64 - 1]]),
    Case(wit.List(P("f32")), [[1.5, -INF]]),
    Case(
        wit.List(P("f64")),
        [[], [0.5, -0.0, INF], list(range(1000))],
        [[], [0.5, -0.0, INF], list(range(1000))],
    ),
    Case(wit.List(P("bool")), [[], [True, False, True]]),
    Case(wit.List(P("char")), [["a", "😀"]]),
    Case(wit.List(S), [[], ["", "😀", "x" * 1000]]),
    Case(wit.List(wit.List(P("s32"))), [[], [[], [1], [2, 3]]]),
    Case(wit.Tuple((P("u8"), S, P("f64"))), [(0, "", 1.5), (255, "😀", -INF)]),
    Case(wit.Option(P("u32")), [None, 0, 7]),
    Case(wit.Option(S), [None, "", "x"]),
    Case(wit.Option(wit.Option(S)), [None, Some(None), "x", Some("y")], [None, Some(None), "x", "y"]),
    Case(wit.List(wit.Option(P("s64"))), [[None, -1, None, 2**63 - 1]]),
    Case(wit.Option(wit.List(P("u8"))), [None, b"", b"abc"]),
    Case(wit.Result(P("u32"), S), [Ok(5), Err("bad")], [5, Raises(ComponentError, "bad")]),
    Case(wit.Result(None, S), [Ok(), Err("")], [None, Raises(ComponentError, "")]),
    Case(wit.Option(wit.Result(S, P("u8"))), [None, Ok("fine"), Err(3)]),
    Case(wit.List(wit.Result(P("f64"), S)), [[Ok(1.0), Err("e"), Ok(-0.0)]]),
    Case(POINT, [{"x": 1.0, "y": -2.5}, {"x": NAN, "y": INF}]),
    Case(wit.List(POINT), [[], [{"x": 0.0, "y": 0.0}] * 3]),
    Case(COLOR, ["red", "dark-red", "dark_red", "blue"], ["red", "dark-red", "dark-red", "blue"]),
    Case(
        SHAPE,
        [("circle", 2.5), ("rect", (1, 2)), "none", ("named", "😀"), Variant("none")],
        [("circle", 2.5), ("rect", (1, 2)), ("none", None), ("named", "😀"), ("none", None)],
    ),
    Case(OUTER, [DEEP]),
    Case(
        READING,
        [("small", -5), ("wide", -0.5), ("single", 1.5), ("big", -(2**63)), ("off", None)],
    ),
    Case(wit.Option(wit.Result(P("f32"), P("u64"))), [None, Ok(-1.5), Err(2**64 - 1)]),
    Case(
        WIDE,
        [
            {
                "a": 255,
                "b": -(2**15),
                "c": 2**32 - 1,
                "d": -1,
                "e": 1.5,
                "f": -0.0,
                "g": True,
                "h": "😀",
                "i": "wide 😀",
                "j": 2**53 - 1,
                "k": 7,
                "l": [0, 65535],
                "m": 0,
                "n": -128,
                "o": 65535,
            },
            {
                "a": 0,
                "b": 2**15 - 1,
                "c": 0,
                "d": -(2**63),
                "e": -INF,
                "f": NAN,
                "g": False,
                "h": "\x00",
                "i": "",
                "j": 2**64 - 1,
                "k": None,
                "l": [],
                "m": 255,
                "n": 127,
                "o": 0,
            },
        ],
    ),
    Case(wit.Tuple((S, S)), [("", "😀"), ("x" * 1000, "")]),
]


def normalize(v: Any) -> Any:
    """Content of a value, whatever Python shape carries it (for comparing results with expectations)."""
    if dataclasses.is_dataclass(v) and not isinstance(v, (Some, Ok, Err)):
        return {f.name: normalize(getattr(v, f.name)) for f in dataclasses.fields(v)}
    if isinstance(v, dict):
        return {k.replace("-", "_"): normalize(x) for k, x in v.items()}
    if isinstance(v, enum.Enum):
        return v.value
    if isinstance(v, Variant):
        return (v.tag, normalize(v.value))
    if isinstance(v, str) and len(v) > 1 and "_" in v and v.replace("_", "").isalpha():
        return v.replace("_", "-")  # an enum given by its snake name
    if isinstance(v, (list, tuple)):
        items = [normalize(x) for x in v]
        return tuple(items) if isinstance(v, tuple) else items
    if isinstance(v, (Some, Ok, Err)):
        return (type(v).__name__, normalize(v.value))
    if isinstance(v, bytes):
        return v
    if isinstance(v, float) and math.isnan(v):
        return "NaN"
    if isinstance(v, float) and v == 0.0:
        return "-0.0" if math.copysign(1, v) < 0 else 0.0
    return v


def fn_name(i: int) -> str:
    return f"c{i}"


def check_case(call, case: Case) -> None:
    """Send each value of the case through its identity function `call` and compare."""
    for value, expected in case.pairs():
        if isinstance(expected, Raises):
            with pytest.raises(expected.kind) as info:
                call(value)
            assert normalize(info.value.value) == normalize(expected.value)
            continue
        got = call(value)
        assert normalize(got) == normalize(expected), (
            f"{case.ty.wit()}: sent {value!r:.200}, got {got!r:.200}"
        )


# ---- property-based round trips (hypothesis) ----
INTS = {n: st.integers(lo, hi) for n, (lo, hi) in wit.INT_RANGES.items()}


def strategy(ty: wit.WitType):
    if isinstance(ty, wit.Prim):
        if ty.name in INTS:
            return INTS[ty.name]
        if ty.name == "f64":
            return st.floats(allow_nan=False)
        if ty.name == "char":
            return st.characters(exclude_categories=["Cs"])
        return st.booleans()
    if isinstance(ty, wit.String):
        return st.text(st.characters(exclude_categories=["Cs"]))
    if isinstance(ty, wit.List):
        if ty.elem == wit.Prim("u8"):
            return st.binary()
        return st.lists(strategy(ty.elem), max_size=20)
    if isinstance(ty, wit.Option):
        return st.none() | strategy(ty.inner)
    if isinstance(ty, wit.Tuple):
        return st.tuples(*[strategy(e) for e in ty.elems])
    if isinstance(ty, wit.Record):
        return st.fixed_dictionaries({snake_name(n): strategy(t) for n, t in ty.fields})
    if isinstance(ty, wit.Result):
        return st.builds(Ok, strategy(ty.ok)) | st.builds(Err, strategy(ty.err))
    raise NotImplementedError(ty)


def check_round_trips(call, ty: wit.WitType, examples: int = 60) -> None:
    """Values drawn for `ty` come back unchanged through the identity function `call`."""

    # No deadline and no too_slow check: hypothesis's own timing verdicts would fail a busy machine.
    @settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(strategy(ty))
    def round_trip(value):
        assert normalize(call(value)) == normalize(value)

    round_trip()
