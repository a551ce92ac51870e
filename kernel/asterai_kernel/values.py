"""Python <-> WIT value conversion, the same for every guest language.

`lower(ty, where)` builds a function that checks a Python value and turns it into what wasmtime-py takes;
`lift(ty)` builds one that turns what wasmtime-py returns into the Python value the user sees. Both are built
once per export, so a call pays only for the checks. Bad input raises the builtin TypeError, OverflowError
or ValueError naming the parameter (and index), and never reaches the guest: wasmtime-py itself does not
range-check integers (it would pass 2**40 to a u8 as 0).
"""

from __future__ import annotations

import operator
import struct
from collections.abc import Callable, Sequence
from typing import Any

from . import wit

Convert = Callable[[Any], Any]
F32_MAX = struct.unpack("<f", b"\xff\xff\x7f\x7f")[0]


def _typename(v: Any) -> str:
    return type(v).__name__


def lower(ty: wit.WitType, where: str) -> Convert:
    """A checker/converter for values passed as `where` (e.g. "parameter 'a'")."""
    if isinstance(ty, wit.Prim):
        return _lower_prim(ty.name, where)
    if isinstance(ty, wit.String):
        return _lower_string(where)
    if isinstance(ty, wit.List):
        if ty.elem == wit.Prim("u8"):
            return _lower_bytes(where)
        return _lower_list(ty, where)
    if isinstance(ty, wit.Tuple):
        return _lower_tuple(ty, where)
    raise NotImplementedError(f"values of WIT type {ty.wit()} cannot cross yet")


def lift(ty: wit.WitType | None) -> Convert | None:
    """A converter for results, or None where wasmtime-py's value is already the user's value."""
    if ty is None or isinstance(ty, (wit.Prim, wit.String)):
        return None
    if isinstance(ty, wit.List):
        inner = lift(ty.elem)
        if inner is None:
            return None
        return lambda v: [inner(x) for x in v]
    if isinstance(ty, wit.Tuple):
        parts = [lift(e) for e in ty.elems]
        if all(p is None for p in parts):
            return tuple
        return lambda v: tuple(x if p is None else p(x) for p, x in zip(parts, v))
    raise NotImplementedError(f"values of WIT type {ty.wit()} cannot cross yet")


def _lower_prim(name: str, where: str) -> Convert:
    if name in wit.INT_RANGES:
        return _lower_int(name, where)
    if name == "bool":

        def conv_bool(v):
            if type(v) is bool:
                return v
            if type(v).__name__ == "bool_":  # numpy.bool_
                return bool(v)
            raise TypeError(f"{where} must be a bool, not {_typename(v)}")

        return conv_bool
    if name in ("f32", "f64"):
        return _lower_float(name, where)
    if name == "char":
        return _lower_char(where)
    raise AssertionError(name)


def _lower_int(name: str, where: str) -> Convert:
    lo, hi = wit.INT_RANGES[name]

    def conv_int(v):
        if type(v) is not int:
            if isinstance(v, (bool, float)) or not hasattr(v, "__index__"):
                raise TypeError(f"{where} must be an int ({name}), not {_typename(v)}")
            v = operator.index(v)
        if lo <= v <= hi:
            return v
        raise OverflowError(f"{where} = {v} is out of range for {name} ({lo}..{hi})")

    return conv_int


def _lower_float(name: str, where: str) -> Convert:
    def conv_float(v):
        if type(v) is float:
            f = v
        elif isinstance(v, (bool, str, bytes)) or not hasattr(v, "__float__"):
            raise TypeError(f"{where} must be a float ({name}), not {_typename(v)}")
        else:
            f = float(v)
        if name == "f32" and abs(f) > F32_MAX and f == f and abs(f) != float("inf"):
            raise OverflowError(f"{where} = {v} is out of range for f32 (about ±3.4e38)")
        return f

    return conv_float


def _lower_char(where: str) -> Convert:
    def conv_char(v):
        if not isinstance(v, str):
            raise TypeError(f"{where} must be a str of length 1 (char), not {_typename(v)}")
        if len(v) != 1:
            raise ValueError(f"{where} must be a single character (char), got a str of length {len(v)}")
        if 0xD800 <= ord(v) <= 0xDFFF:
            raise ValueError(f"{where} is a lone surrogate {v!r}, which is not a Unicode scalar value")
        return v

    return conv_char


def _lower_string(where: str) -> Convert:
    def conv_string(v):
        if type(v) is not str:
            if not isinstance(v, str):
                raise TypeError(f"{where} must be a str, not {_typename(v)}")
            v = str(v)
        if not v.isascii():
            try:
                v.encode("utf-8")
            except UnicodeEncodeError as e:
                raise ValueError(
                    f"{where} cannot be encoded as UTF-8: {e.reason} at index {e.start}"
                ) from None
        return v

    return conv_string


def _lower_bytes(where: str) -> Convert:
    elem = _lower_int("u8", f"{where} element")

    def conv_bytes(v):
        if type(v) is bytes:
            return v
        if isinstance(v, (bytes, bytearray)):
            return bytes(v)
        if isinstance(v, memoryview) or hasattr(v, "__array_interface__"):
            mv = memoryview(v)
            if mv.format not in ("B", "b", "c") or mv.itemsize != 1:
                raise TypeError(
                    f"{where} must be bytes-like with 1-byte items (list<u8>), got format {mv.format!r}"
                )
            return mv.tobytes()
        if isinstance(v, str) or not isinstance(v, Sequence):
            raise TypeError(f"{where} must be bytes, bytearray, memoryview or a sequence of ints (list<u8>), "
                            f"not {_typename(v)}")  # fmt: skip
        return bytes(_each(elem, v, where))

    return conv_bytes


def _each(conv: Convert, seq: Sequence, where: str) -> list:
    out = []
    for i, x in enumerate(seq):
        try:
            out.append(conv(x))
        except (TypeError, ValueError, OverflowError) as e:
            raise type(e)(str(e).replace(f"{where} element", f"{where}[{i}]", 1)) from None
    return out


def _lower_list(ty: wit.List, where: str) -> Convert:
    elem = lower(ty.elem, f"{where} element")

    def conv_list(v):
        if isinstance(v, (str, bytes, dict)) or not (
            isinstance(v, Sequence) or hasattr(v, "__array_interface__")
        ):
            raise TypeError(f"{where} must be a sequence ({ty.wit()}), not {_typename(v)}")
        if hasattr(v, "tolist"):  # numpy arrays: one C-level conversion to Python scalars
            v = v.tolist()
        return _each(elem, v, where)

    return conv_list


def _lower_tuple(ty: wit.Tuple, where: str) -> Convert:
    parts = [lower(e, f"{where}[{i}]") for i, e in enumerate(ty.elems)]

    def conv_tuple(v):
        if isinstance(v, (str, bytes)) or not isinstance(v, Sequence):
            raise TypeError(f"{where} must be a tuple ({ty.wit()}), not {_typename(v)}")
        if len(v) != len(parts):
            raise ValueError(f"{where} must have {len(parts)} items ({ty.wit()}), got {len(v)}")
        return tuple(p(x) for p, x in zip(parts, v))

    return conv_tuple
