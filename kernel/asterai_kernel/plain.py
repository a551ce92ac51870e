"""Values as plain data, for cells that run on a shared interpreter component (interpreted.py).

A runner's calls carry arguments and results as plain data (list, tuple, int, float, bool, str, bytes,
None), one wire format for every interpreter, so each language only spells its own decoding.

- Arguments are the codecs' checked values (`values.Codec.check`) with numpy arrays turned into their raw
  little-endian bytes (`dumper`): string as UTF-8 bytes, list<u8> and numeric lists as bytes, tuple and
  record as a list (fields in WIT order), enum as its WIT case name, flags as a list of WIT names, option as
  None or a 1-tuple, result as (is_ok, value), variant as (case, value).
- Results come back in the same shapes, with string and char as str, numeric lists and list<u8> as raw
  bytes, as those bytes in a latin-1 str (for text formats such as JSON) or as a list, option as None or a
  1-item list or tuple (`loader`). The host trusts nothing a guest returns: each value is
  checked against its WIT type as strictly as `values` reads a component's results, and becomes the
  contract's Python value (the component's dataclasses, enums and flags).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

import numpy as np

from . import values, wit
from .values import BadValue, Err, Ok, Some, Variant

Load = Callable[[Any], Any]
_SEQ = (list, tuple)


def _tn(v: Any) -> str:
    return type(v).__name__


# ---------------------------------------------------------------- arguments


def dumper(codec: values.Codec) -> Callable[[Any], Any] | None:
    """How a checked argument becomes plain data; None when it already is."""
    if isinstance(codec, values.NumericListCodec):  # and BytesCodec: a numpy array
        return _raw_bytes
    if isinstance(codec, values.ListCodec):
        inner = dumper(codec.elem)
        return None if inner is None else lambda v: [inner(x) for x in v]
    if isinstance(codec, values.TupleCodec):
        return _dump_items([dumper(c) for c in codec.elems])
    if isinstance(codec, values.RecordCodec):
        return _dump_items([dumper(c) for _, _, c in codec.fields])
    if isinstance(codec, values.OptionCodec):
        inner = dumper(codec.inner)
        return None if inner is None else lambda v: None if v is None else (inner(v[0]),)
    if isinstance(codec, values.ResultCodec):
        ok, err = (dumper(c) if c is not None else None for c in (codec.ok, codec.err))
        if ok is None and err is None:
            return None
        return lambda v: (v[0], _maybe(ok if v[0] else err, v[1]))
    if isinstance(codec, values.VariantCodec):
        cases = {case: dumper(c) if c is not None else None for case, c in codec.cases.values()}
        if not any(cases.values()):
            return None
        return lambda v: (v[0], _maybe(cases[v[0]], v[1]))
    return None


def _raw_bytes(arr: np.ndarray) -> bytes:
    return arr.astype(arr.dtype.newbyteorder("<"), copy=False).tobytes()


def _maybe(fn, v):
    return v if fn is None or v is None else fn(v)


def _dump_items(parts: list) -> Callable[[Any], Any] | None:
    if not any(parts):
        return None
    return lambda v: [x if p is None else p(x) for p, x in zip(parts, v)]


# ---------------------------------------------------------------- results


def loader(codec: values.Codec, numpy_out: bool = False) -> Load:
    """A function from a guest's plain result to the contract's Python value (raises BadValue).
    `numpy_out`: a numeric list comes back as a numpy array of its element's dtype."""
    if isinstance(codec, values.NumericListCodec):
        return _numeric_list(codec, numpy_out)
    make = _LOADERS.get(type(codec))
    if make is None:
        raise NotImplementedError(f"values of WIT type {codec.ty.wit()} cannot come back from an interpreter")
    return make(codec)


def _int(codec: values.IntCodec) -> Load:
    name = codec.name
    lo, hi = wit.INT_RANGES[name]

    def load(x):
        if type(x) is not int:
            raise BadValue(TypeError, f" must be an int ({name}), not {_tn(x)}")
        if not lo <= x <= hi:
            raise BadValue(OverflowError, f" = {x} is out of range for {name} ({lo}..{hi})")
        return x

    return load


def _float(codec: values.FloatCodec) -> Load:
    f32 = codec.name == "f32"

    def load(x):
        if type(x) is not float:
            if type(x) is not int:
                raise BadValue(TypeError, f" must be a float ({codec.name}), not {_tn(x)}")
            x = float(x)
        if f32:
            try:
                return struct.unpack("<f", struct.pack("<f", x))[0]
            except OverflowError:
                raise BadValue(OverflowError, f" = {x} is out of range for f32") from None
        return x

    return load


def _bool(codec) -> Load:
    def load(x):
        if type(x) is not bool:
            raise BadValue(TypeError, f" must be a bool, not {_tn(x)}")
        return x

    return load


def _char(codec) -> Load:
    def load(x):
        if type(x) is not str or len(x) != 1 or 0xD800 <= ord(x) <= 0xDFFF:
            raise BadValue(TypeError, f" must be one Unicode scalar value (char), not {x!r:.40}")
        return x

    return load


def _string(codec) -> Load:
    def load(x):
        if type(x) is not str:
            raise BadValue(TypeError, f" must be a str, not {_tn(x)}")
        if not x.isascii():
            try:
                x.encode()
            except UnicodeEncodeError as e:
                raise BadValue(
                    ValueError, f" holds {e.reason} at index {e.start}, which is not UTF-8"
                ) from None
        return x

    return load


def _numeric_list(codec: values.NumericListCodec, numpy_out: bool) -> Load:
    as_bytes = isinstance(codec, values.BytesCodec) and not numpy_out
    dtype = codec.dtype.newbyteorder("<")

    def load(x):
        if type(x) is str:
            try:
                x = x.encode("latin-1")
            except UnicodeEncodeError:
                raise BadValue(ValueError, f" is text that does not hold bytes ({codec.ty.wit()})") from None
        if isinstance(x, (bytes, bytearray)):
            if len(x) % dtype.itemsize:
                raise BadValue(ValueError, f" holds {len(x)} bytes, not a whole number of {codec.name}")
            if as_bytes:
                return bytes(x)
            arr = np.frombuffer(x, dtype).astype(codec.dtype)  # a copy the caller owns
        elif isinstance(x, _SEQ):
            arr = codec.check(x)  # element by element where needed: names the bad one
        else:
            raise BadValue(TypeError, f" must be a list ({codec.ty.wit()}), not {_tn(x)}")
        if numpy_out:
            return arr
        return arr.tobytes() if as_bytes else arr.tolist()

    return load


def _list(codec: values.ListCodec) -> Load:
    inner = loader(codec.elem)

    def load(x):
        if not isinstance(x, _SEQ):
            raise BadValue(TypeError, f" must be a list ({codec.ty.wit()}), not {_tn(x)}")
        out = []
        for i, e in enumerate(x):
            try:
                out.append(inner(e))
            except BadValue as err:
                raise err.at(f"[{i}]") from None
        return out

    return load


def _items(what: str, steps: list[str], loads: list[Load]) -> Load:
    """A fixed-length list of values (a tuple's items, a record's fields): the loaded values, as a list."""
    n = len(loads)

    def load(x):
        if not isinstance(x, _SEQ) or len(x) != n:
            got = f"{len(x)} items" if isinstance(x, _SEQ) else _tn(x)
            raise BadValue(TypeError, f" must be {n} values ({what}), not {got}")
        out = []
        for step, fn, e in zip(steps, loads, x):
            try:
                out.append(fn(e))
            except BadValue as err:
                raise err.at(step) from None
        return out

    return load


def _tuple(codec: values.TupleCodec) -> Load:
    items = _items(
        codec.ty.wit(), [f"[{i}]" for i in range(len(codec.elems))], [loader(c) for c in codec.elems]
    )
    return lambda x: tuple(items(x))


def _record(codec: values.RecordCodec) -> Load:
    items = _items(f"record {codec.ty.name}", [f".{s}" for _, s, _ in codec.fields],
                   [loader(c) for _, _, c in codec.fields])  # fmt: skip
    cls = codec.cls
    return lambda x: cls(*items(x))


def _enum(codec: values.EnumCodec) -> Load:
    cases, cls = set(codec.ty.cases), codec.cls

    def load(x):
        if type(x) is not str or x not in cases:
            raise BadValue(ValueError, f" = {x!r:.40} is not a case of enum {codec.ty.name}")
        return cls(x)

    return load


def _flags(codec: values.FlagsCodec) -> Load:
    bits, cls = codec.bits, codec.cls

    def load(x):
        if not isinstance(x, _SEQ):
            raise BadValue(TypeError, f" must be a list of flag names ({codec.ty.name}), not {_tn(x)}")
        value = 0
        for name in x:
            if type(name) is not str or name not in bits:
                raise BadValue(ValueError, f" has {name!r:.40}, which is not a flag of {codec.ty.name}")
            value |= bits[name]
        return cls(value)

    return load


def _option(codec: values.OptionCodec) -> Load:
    inner, nested = loader(codec.inner), codec.nested

    def load(x):
        if x is None:
            return None
        if not isinstance(x, _SEQ) or len(x) != 1:
            raise BadValue(TypeError, f" must be None or [value] ({codec.ty.wit()}), not {x!r:.40}")
        try:
            value = inner(x[0])
        except BadValue as err:
            raise err.at(".some") from None
        return Some(value) if nested and value is None else value

    return load


def _payload(load: Load | None, x, step: str):
    if load is None:
        if x is not None:
            raise BadValue(TypeError, f" carries no value, got {_tn(x)}").at(step)
        return None
    try:
        return load(x)
    except BadValue as err:
        raise err.at(step) from None


def _result(codec: values.ResultCodec) -> Load:
    ok, err = (loader(c) if c is not None else None for c in (codec.ok, codec.err))

    def load(x):
        if not isinstance(x, _SEQ) or len(x) != 2 or type(x[0]) is not bool:
            raise BadValue(TypeError, f" must be [is_ok, value] ({codec.ty.wit()}), not {x!r:.40}")
        if x[0]:
            return Ok(_payload(ok, x[1], ".ok"))
        return Err(_payload(err, x[1], ".err"))

    return load


def _variant(codec: values.VariantCodec) -> Load:
    cases = {case: (case, loader(c) if c is not None else None) for case, c in codec.cases.values()}

    def load(x):
        if not isinstance(x, _SEQ) or len(x) != 2 or x[0] not in cases:
            raise BadValue(TypeError, f" must be [case, value] of variant {codec.ty.name}, not {x!r:.40}")
        case, fn = cases[x[0]]
        return Variant(case, _payload(fn, x[1], f"({case})"))

    return load


_LOADERS = {values.IntCodec: _int, values.FloatCodec: _float, values.BoolCodec: _bool,
            values.CharCodec: _char, values.StringCodec: _string, values.ListCodec: _list,
            values.TupleCodec: _tuple, values.RecordCodec: _record, values.EnumCodec: _enum,
            values.FlagsCodec: _flags, values.OptionCodec: _option, values.ResultCodec: _result,
            values.VariantCodec: _variant}  # fmt: skip
