"""The host's side of the QuickJS runner's JSON wire format (glue.py is the guest's): checked arguments as
plain data (plain.py) -> JSON text, and a result's JSON text -> plain data, which the host then checks.

Per WIT type: 64-bit integers as decimal strings (exact), non-finite floats as "NaN", "Infinity",
"-Infinity", strings as text (they arrive as UTF-8 bytes), numeric lists and list<u8> as arrays of numbers
(they arrive as raw little-endian bytes; list<u8> goes back as bytes), records and tuples as arrays, option
as null or [value], result as [is_ok, value], variant as [case, value], enum and flags as their WIT names.
Each function's converters are made once (a type needing none crosses as it is, at no cost per call).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from functools import cache

import numpy as np

from ... import wit

Convert = Callable[[object], object] | None  # None: the value crosses as it is
WIDE = ("s64", "u64")
FLOATS = ("f32", "f64")
NON_FINITE = {math.inf: "Infinity", -math.inf: "-Infinity"}
FLOAT_TEXT = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf, "-0": -0.0}  # what JSON lacks
DTYPES = {"u8": "<u1", "s8": "<i1", "u16": "<u2", "s16": "<i2", "u32": "<u4", "s32": "<i4", "u64": "<u8",
          "s64": "<i8", "f32": "<f4", "f64": "<f8"}  # fmt: skip
dumps = json.JSONEncoder(separators=(",", ":"), allow_nan=False).encode


def _float_out(x: float):
    return x if math.isfinite(x) else NON_FINITE.get(x, "NaN")


def _numbers(dtype: np.dtype, each: Convert) -> Callable:
    """A numeric list's raw bytes (or array, or list) -> a list of numbers, each converted if need be."""

    floats = dtype.kind == "f"

    def encode(xs):
        arr = np.frombuffer(xs, dtype) if isinstance(xs, bytes | bytearray | memoryview) else np.asarray(xs)
        if each is None or (floats and np.isfinite(arr).all()):  # element by element only when needed
            return arr.tolist()
        return [each(x) for x in arr.tolist()]

    return encode


@cache
def encoder(ty: wit.WitType) -> Convert:
    """lowered value -> what json.dumps writes for the guest."""
    if isinstance(ty, wit.Prim):
        if ty.name in WIDE:
            return str
        return _float_out if ty.name in FLOATS else None
    if isinstance(ty, wit.String):
        return lambda b: b.decode() if isinstance(b, bytes | bytearray | memoryview) else b
    if wit.is_numeric_list(ty):
        return _numbers(np.dtype(DTYPES[ty.elem.name]), encoder(ty.elem))
    if isinstance(ty, wit.List):
        inner = encoder(ty.elem)
        return list if inner is None else lambda xs: [inner(x) for x in xs]
    if isinstance(ty, wit.Tuple | wit.Record):
        parts = ty.elems if isinstance(ty, wit.Tuple) else tuple(t for _, t in ty.fields)
        return _fields(tuple(encoder(t) for t in parts))
    if isinstance(ty, wit.Option):
        inner = encoder(ty.inner) or (lambda v: v)
        return lambda v: None if v is None else [inner(v[0])]
    if isinstance(ty, wit.Result):
        ok, err = encoder(ty.ok) if ty.ok else None, encoder(ty.err) if ty.err else None
        return lambda v: _case(v, ok if v[0] else err)
    if isinstance(ty, wit.Variant):
        by_case = {case: encoder(t) if t is not None else None for case, t in ty.cases}
        return lambda v: _case(v, by_case[v[0]])
    if isinstance(ty, wit.Enum | wit.Flags):
        return None if isinstance(ty, wit.Enum) else list
    raise TypeError(f"the QuickJS runner carries no {type(ty).__name__}")


def _fields(convs: tuple[Convert, ...]) -> Callable:
    if not any(convs):
        return list
    return lambda v: [c(x) if c else x for c, x in zip(convs, v)]


@cache
def decoder(ty: wit.WitType) -> Convert:
    """The guest's JSON value -> the data tree."""
    if isinstance(ty, wit.Prim):
        if ty.name in WIDE:
            return lambda x: int(x) if type(x) is str else x
        return (lambda x: FLOAT_TEXT.get(x, x) if type(x) is str else x) if ty.name in FLOATS else None
    if isinstance(ty, wit.String):
        return None
    if isinstance(ty, wit.List):
        if ty.elem == wit.Prim("u8"):
            return _bytes
        inner = decoder(ty.elem)
        return None if inner is None else lambda xs: [inner(x) for x in xs] if type(xs) is list else xs
    if isinstance(ty, wit.Tuple | wit.Record):
        parts = ty.elems if isinstance(ty, wit.Tuple) else tuple(t for _, t in ty.fields)
        convs = tuple(decoder(t) for t in parts)
        if not any(convs):
            return None
        return lambda v: [c(x) if c else x for c, x in zip(convs, v)] if type(v) is list else v
    if isinstance(ty, wit.Option):
        inner = decoder(ty.inner)
        return None if inner is None else lambda v: [inner(v[0])] if type(v) is list and v else v
    if isinstance(ty, wit.Result):
        ok, err = decoder(ty.ok) if ty.ok else None, decoder(ty.err) if ty.err else None
        if ok is None and err is None:
            return None
        return lambda v: _case(v, ok if v[0] else err) if type(v) is list and len(v) == 2 else v
    if isinstance(ty, wit.Variant):
        by_case = {case: decoder(t) if t is not None else None for case, t in ty.cases}
        if not any(by_case.values()):
            return None
        return lambda v: _case(v, by_case.get(v[0])) if type(v) is list and len(v) == 2 else v
    return None  # enum, flags: their names


def _case(v: list, conv: Convert) -> list:
    return [v[0], conv(v[1]) if conv and v[1] is not None else v[1]]


def _bytes(xs):
    """list<u8>: bytes, unless the guest sent something else (the host's check then says what)."""
    try:
        return bytes(xs) if type(xs) is list else xs
    except (TypeError, ValueError):
        return xs


@cache
def function_codec(fn: wit.Function) -> tuple[Callable[[list], str], Callable[[str], object]]:
    """(encode the arguments, decode the result) for one function."""
    convs = tuple(encoder(t) for _, t in fn.params)
    if any(convs):
        encode = lambda lowered: dumps([c(x) if c else x for c, x in zip(convs, lowered)])  # noqa: E731
    else:
        encode = lambda lowered: dumps(list(lowered))  # noqa: E731
    result = decoder(fn.result) if fn.result is not None else None
    loads = json.loads
    if result is None:
        return encode, loads
    return encode, lambda text: result(loads(text))
