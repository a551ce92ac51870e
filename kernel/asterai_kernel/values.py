"""Python <-> WIT values, the same for every guest language, written straight into wasmtime's C values.

Each WIT type gets a codec built once per export:
- `check(v)` accepts the "Python in" column of DESIGN.md's type table and returns a normalised value, or
  raises `BadValue` with a path (`[3]`, `.field`) that the call site turns into the builtin TypeError,
  OverflowError or ValueError naming the parameter. Nothing reaches the guest before every check passed
  (wasmtime-py itself does not range-check integers: it would pass 2**40 to a u8 as 0).
- `write(v, slot)` fills a `wasmtime_component_val_t` from a checked value; it cannot fail halfway, so a
  half-built argument never needs unwinding.
- `read(slot)` returns the "Python out" column.
Numeric lists and bytes are filled and read with numpy over the C array (32 bytes per element), not
element by element in Python.
"""

from __future__ import annotations

import ctypes
import dataclasses
import enum
import struct
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
from wasmtime import _ffi as ffi

from . import pins, wit
from .errors import argument_error
from .names import pascal_name, snake_name, wit_name

F32_MAX = struct.unpack("<f", b"\xff\xff\x7f\x7f")[0]
VAL = ffi.wasmtime_component_val_t
VAL_SIZE = 32


def check_layout() -> None:
    """The fast paths write wasmtime's C structs directly: refuse a layout they were not built for."""
    expected = {
        "wasmtime_component_val_t": (ctypes.sizeof(VAL), 32),
        "offset of val.of": (VAL.of.offset, 8),
        "wasmtime_component_vallist_t": (ctypes.sizeof(ffi.wasmtime_component_vallist_t), 16),
        "wasmtime_component_valrecord_entry_t": (ctypes.sizeof(ffi.wasmtime_component_valrecord_entry_t), 48),
        "wasm_byte_vec_t": (ctypes.sizeof(ffi.wasm_byte_vec_t), 16),
    }
    wrong = {k: v for k, v in expected.items() if v[0] != v[1]}
    if wrong:
        raise ImportError(
            f"asterai_kernel: wasmtime's C value layout differs from the one this version expects {wrong}; "
            f"install the pinned wasmtime=={pins.WASMTIME_VERSION}"
        )


check_layout()


def keep_freed_memory() -> None:
    """Let glibc keep freed big blocks for the next call instead of returning them to the system.

    A bulk call copies its block through a few buffers of the same size (ours, wasmtime's, numpy's).
    Left to its defaults, glibc gives such blocks back on free and the next call faults every page in
    again: for 10 MB that is most of a round trip's time (a 10 MB string echo: 18 ms against 4 ms).
    Big blocks (up to 32 MiB) now come from the heap, which keeps up to 256 MiB of free memory.
    Elsewhere than glibc this does nothing.
    """
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return
    m_trim_threshold, m_mmap_threshold = -1, -3
    mallopt(m_trim_threshold, 256 << 20)
    mallopt(m_mmap_threshold, 32 << 20)


# ---- the Python-side value classes of the contract ----
class Variant(NamedTuple):
    """A WIT variant value: `.tag` (the WIT case name) and `.value`; equal to `(tag, value)`."""

    tag: str
    value: Any = None


@dataclasses.dataclass(frozen=True)
class Some:
    """The outer level of a nested option: `Some(None)` is `some(none)` for `option<option<T>>`."""

    value: Any


@dataclasses.dataclass(frozen=True)
class Ok:
    value: Any = None


@dataclasses.dataclass(frozen=True)
class Err:
    value: Any = None


class BadValue(Exception):
    """A value that does not fit its WIT type; `path` grows as it travels out of containers."""

    def __init__(self, kind: type[Exception], message: str):
        super().__init__(message)
        self.kind, self.message, self.path = kind, message, []

    def at(self, step: str) -> BadValue:
        self.path.insert(0, step)
        return self

    def error(self, where: str) -> Exception:
        return argument_error(self.kind, f"{where}{''.join(self.path)}{self.message}")


def _tn(v: Any) -> str:
    return type(v).__name__


# kind constants and union fields of wasmtime_component_val_t
def kind_code(name: str) -> int:
    return getattr(ffi, f"WASMTIME_COMPONENT_{name}").value


SCALAR = {  # WIT -> (union field, kind name, numpy dtype)
    "bool": ("boolean", "BOOL", "u1"),
    "s8": ("s8", "S8", "i1"),
    "u8": ("u8", "U8", "u1"),
    "s16": ("s16", "S16", "<i2"),
    "u16": ("u16", "U16", "<u2"),
    "s32": ("s32", "S32", "<i4"),
    "u32": ("u32", "U32", "<u4"),
    "s64": ("s64", "S64", "<i8"),
    "u64": ("u64", "U64", "<u8"),
    "f32": ("f32", "F32", "<f4"),
    "f64": ("f64", "F64", "<f8"),
    "char": ("character", "CHAR", "<u4"),
}
K_STRING, K_LIST, K_RECORD, K_TUPLE = (kind_code(k) for k in ("STRING", "LIST", "RECORD", "TUPLE"))
K_VARIANT, K_ENUM, K_OPTION, K_RESULT = (kind_code(k) for k in ("VARIANT", "ENUM", "OPTION", "RESULT"))
K_FLAGS = kind_code("FLAGS")
# One C value seen by numpy: the kind byte at 0 and every scalar payload at 8.
VAL_DTYPE = np.dtype(
    {
        "names": ["kind", *[f for f, _, _ in SCALAR.values() if f != "character"]],
        "formats": ["u1", *[d for f, _, d in SCALAR.values() if f != "character"]],
        "offsets": [0, *[8 for f, _, _ in SCALAR.values() if f != "character"]],
        "itemsize": VAL_SIZE,
    }
)


def _name_vec(text: str) -> ffi.wasm_byte_vec_t:
    return ffi.bytes_to_capi(text.encode())


def _vec_bytes(vec) -> bytes:
    return ctypes.string_at(vec.data, vec.size) if vec.size else b""


def _vec_text(vec) -> str:
    """Decode a C byte vector in place (one pass: copies are what large strings cost)."""
    if not vec.size:
        return ""
    return str(
        memoryview((ctypes.c_char * vec.size).from_address(ctypes.addressof(vec.data.contents))), "utf-8"
    )


def _vec_fill(vec, data) -> None:
    """A C byte vector holding `data` (bytes or a uint8 array), copied once."""
    ptr = ctypes.cast(ctypes.c_char_p(data) if isinstance(data, bytes) else data.ctypes.data, _BYTE_PTR)
    ffi.wasm_byte_vec_new(ctypes.byref(vec), len(data), ptr)


_BYTE_PTR = ctypes.POINTER(ctypes.c_ubyte)


def _as_array(ptr, n: int) -> np.ndarray:
    addr = ctypes.cast(ptr, ctypes.c_void_p).value
    return np.frombuffer((ctypes.c_char * (n * VAL_SIZE)).from_address(addr), dtype=VAL_DTYPE)


def _boxed(codec: Codec, value: Any):
    """A heap C value owned by its parent (option/result/variant payloads)."""
    raw = VAL()
    codec.write(value, raw)
    return ffi.wasmtime_component_val_new(ctypes.byref(raw))


class Codec:
    ty: wit.WitType

    def check(self, v: Any) -> Any:
        raise NotImplementedError

    def write(self, v: Any, slot) -> None:
        raise NotImplementedError

    def read(self, slot) -> Any:
        raise NotImplementedError


@dataclasses.dataclass(frozen=True)
class Scope:
    """What codecs take from the component they are built for: its record/enum classes (WIT name -> class),
    and narrower integer ranges its guest language holds (WIT type -> (lo, hi, why))."""

    classes: dict[str, type] = dataclasses.field(default_factory=dict)
    ranges: dict[str, tuple[int, int, str]] = dataclasses.field(default_factory=dict)

    def int_range(self, name: str) -> tuple[int, int, str]:
        """The integers a guest takes for WIT type `name`: the type's range unless the guest's is narrower."""
        lo, hi = wit.INT_RANGES[name]
        return self.ranges.get(name, (lo, hi, ""))


class IntCodec(Codec):
    def __init__(self, ty: wit.Prim, scope: Scope):
        self.ty, self.name = ty, ty.name
        self.lo, self.hi, self.why = scope.int_range(ty.name)
        self.field, kind, _ = SCALAR[ty.name]
        self.kind = kind_code(kind)

    def check(self, v):
        if type(v) is not int:
            if isinstance(v, (bool, float)) or not hasattr(v, "__index__"):
                raise BadValue(TypeError, f" must be an int ({self.name}), not {_tn(v)}")
            v = v.__index__()
        if self.lo <= v <= self.hi:
            return v
        raise BadValue(
            OverflowError, f" = {v} is out of range for {self.name} ({self.lo}..{self.hi}{self.why})"
        )

    def write(self, v, slot):
        slot.kind = self.kind
        setattr(slot.of, self.field, v)

    def read(self, slot):
        return getattr(slot.of, self.field)


class FloatCodec(IntCodec):
    def __init__(self, ty: wit.Prim):
        self.ty, self.name = ty, ty.name
        self.field, kind, _ = SCALAR[ty.name]
        self.kind = kind_code(kind)

    def check(self, v):
        if type(v) is float:
            f = v
        elif isinstance(v, (bool, str, bytes)) or not hasattr(v, "__float__"):
            raise BadValue(TypeError, f" must be a float ({self.name}), not {_tn(v)}")
        else:
            f = float(v)
        if self.name == "f32" and F32_MAX < abs(f) < float("inf"):
            raise BadValue(OverflowError, f" = {v} is out of range for f32 (about ±3.4e38)")
        return f


class BoolCodec(IntCodec):
    def __init__(self, ty: wit.Prim):
        self.ty, self.name, self.field, self.kind = ty, "bool", "boolean", kind_code("BOOL")

    def check(self, v):
        if type(v) is bool or _tn(v) == "bool_":  # numpy.bool_ too
            return bool(v)
        raise BadValue(TypeError, f" must be a bool, not {_tn(v)}")

    def read(self, slot):
        return bool(slot.of.boolean)


class CharCodec(IntCodec):
    def __init__(self, ty: wit.Prim):
        self.ty, self.name, self.field, self.kind = ty, "char", "character", kind_code("CHAR")

    def check(self, v):
        if not isinstance(v, str):
            raise BadValue(TypeError, f" must be a str of length 1 (char), not {_tn(v)}")
        if len(v) != 1:
            raise BadValue(ValueError, f" must be a single character (char), got a str of length {len(v)}")
        if 0xD800 <= ord(v) <= 0xDFFF:
            raise BadValue(ValueError, f" is a lone surrogate {v!r}, which is not a Unicode scalar value")
        return v

    def write(self, v, slot):
        slot.kind = self.kind
        slot.of.character = ord(v)

    def read(self, slot):
        return chr(slot.of.character)


class StringCodec(Codec):
    def __init__(self, ty):
        self.ty = ty

    def check(self, v):
        if not isinstance(v, str):
            raise BadValue(TypeError, f" must be a str, not {_tn(v)}")
        try:
            return v.encode()
        except UnicodeEncodeError as e:
            raise BadValue(
                ValueError, f" cannot be encoded as UTF-8: {e.reason} at index {e.start}"
            ) from None

    def write(self, v: bytes, slot):
        slot.kind = K_STRING
        _vec_fill(slot.of.string, v)

    def read(self, slot):
        return _vec_text(slot.of.string)


class ListCodec(Codec):
    """list<T> of anything: element by element."""

    def __init__(self, ty: wit.List, elem: Codec):
        self.ty, self.elem = ty, elem

    def check(self, v):
        if isinstance(v, (str, bytes, Mapping)) or not (isinstance(v, Sequence) or hasattr(v, "__array__")):
            raise BadValue(TypeError, f" must be a sequence ({self.ty.wit()}), not {_tn(v)}")
        out, check = [], self.elem.check
        for i, x in enumerate(v):
            try:
                out.append(check(x))
            except BadValue as e:
                raise e.at(f"[{i}]") from None
        return out

    def write(self, v, slot):
        slot.kind = K_LIST
        lst = slot.of.list
        if not v:
            ffi.wasmtime_component_vallist_new_empty(ctypes.byref(lst))
            return
        ffi.wasmtime_component_vallist_new_uninit(ctypes.byref(lst), len(v))
        data, write = lst.data, self.elem.write
        for i, x in enumerate(v):
            write(x, data[i])

    def read(self, slot):
        lst, read = slot.of.list, self.elem.read
        return [read(lst.data[i]) for i in range(lst.size)]


class NumericListCodec(ListCodec):
    """list<number>: checked, filled and read in bulk with numpy."""

    def __init__(self, ty: wit.List, scope: Scope):
        self.ty, self.elem = ty, make(ty.elem, scope)
        name = ty.elem.name
        self.field, kind, dtype = SCALAR[name]
        self.kind, self.dtype, self.name = kind_code(kind), np.dtype(dtype), name
        if name in wit.INT_RANGES:
            self.lo, self.hi, self.why = scope.int_range(name)

    def check(self, v):
        if isinstance(v, (str, bytes, Mapping)) or not (isinstance(v, Sequence) or hasattr(v, "__array__")):
            raise BadValue(TypeError, f" must be a sequence ({self.ty.wit()}), not {_tn(v)}")
        arr = v if isinstance(v, np.ndarray) else _try_array(v)
        if arr is not None and arr.size == 0:
            return np.empty(0, self.dtype)
        if arr is None or arr.ndim != 1 or arr.dtype.kind not in self._kinds():
            items = ListCodec.check(self, v)  # element by element: names the offending one
            return np.array(items, dtype=self.dtype)
        if arr.dtype.kind in "iu" and self.dtype.kind in "iu" and arr.size:
            lo, hi = self.lo, self.hi
            bad = np.flatnonzero((arr < lo) | (arr > hi))
            if bad.size:
                i = int(bad[0])
                what = f" = {arr[i]} is out of range for {self.name} ({lo}..{hi}{self.why})"
                raise BadValue(OverflowError, what).at(f"[{i}]")
        if self.name == "f32" and arr.size:
            big = np.flatnonzero(np.isfinite(arr) & (np.abs(arr) > F32_MAX))
            if big.size:
                i = int(big[0])
                raise BadValue(OverflowError, f" = {arr[i]} is out of range for f32").at(f"[{i}]")
        return np.ascontiguousarray(arr, dtype=self.dtype)

    def _kinds(self) -> str:
        return "iu" if self.dtype.kind in "iu" else "iuf"

    def write(self, v: np.ndarray, slot):
        slot.kind = K_LIST
        lst = slot.of.list
        if not v.size:
            ffi.wasmtime_component_vallist_new_empty(ctypes.byref(lst))
            return
        ffi.wasmtime_component_vallist_new_uninit(ctypes.byref(lst), v.size)
        view = _as_array(lst.data, v.size)
        view["kind"] = self.kind
        view[self.field] = v

    def read_array(self, slot) -> np.ndarray:
        lst = slot.of.list
        if not lst.size:
            return np.empty(0, self.dtype)
        return _as_array(lst.data, lst.size)[self.field].copy()

    def read(self, slot):
        return self.read_array(slot).tolist()


def _try_array(v) -> np.ndarray | None:
    try:
        arr = np.asarray(v)
    except (ValueError, TypeError, OverflowError):
        return None
    return arr


class BytesCodec(NumericListCodec):
    """list<u8>: bytes, bytearray, memoryview, numpy uint8 in; bytes out."""

    def check(self, v):
        if isinstance(v, (bytes, bytearray, memoryview)):
            mv = memoryview(v)
            if mv.itemsize != 1:
                raise BadValue(TypeError, f" must have 1-byte items (list<u8>), got format {mv.format!r}")
            return np.frombuffer(mv.cast("B") if mv.ndim != 1 or mv.format != "B" else mv, dtype=np.uint8)
        if isinstance(v, np.ndarray) and v.dtype == np.uint8:
            return np.ascontiguousarray(v.reshape(-1))
        return super().check(v)

    def read(self, slot):
        return self.read_array(slot).tobytes()


class BulkCodec(Codec):
    """A numeric list carried by a bulk twin (wit.bulk_twin) as one ASCII string block, 5 bytes per 4.

    The list's n little-endian bytes, each with its top bit cleared, then one character per 4 bytes
    holding those 4 top bits: 0x40 | bit k for byte 4j+k. ASCII is always valid UTF-8, so the block
    crosses as a plain copy; numpy codes it in a few vector passes and a guest 8 bytes at a time.
    Checks like the list it stands for, so checked arguments fit the twin too.
    """

    def __init__(self, ty: wit.Bulk, scope: Scope):
        self.ty = ty
        self.list = make(wit.List(ty.elem), scope)

    def check(self, v):
        return self.list.check(v)

    def write(self, v: np.ndarray, slot):
        data = v.view(np.uint8)
        slot.kind = K_STRING
        vec = slot.of.string
        ffi.wasm_byte_vec_new_uninitialized(ctypes.byref(vec), block_size(data.size))
        if data.size:
            block_into(data, np.ctypeslib.as_array(ctypes.cast(vec.data, _BYTE_PTR), (vec.size,)))

    def read_array(self, slot) -> np.ndarray:
        vec = slot.of.string
        if not vec.size:
            return np.empty(0, self.list.dtype)
        text = np.ctypeslib.as_array(ctypes.cast(vec.data, _BYTE_PTR), (vec.size,))
        return block_data(text).view(self.list.dtype)

    def read(self, slot):
        data = self.read_array(slot)
        return data.tobytes() if isinstance(self.list, BytesCodec) else data.tolist()


def block_size(n: int) -> int:
    """The length of the block (BulkCodec) holding n bytes."""
    return n + (n + 3) // 4


def block_into(data: np.ndarray, text: np.ndarray) -> None:
    """Code the bytes `data` (uint8) as a block into `text` (uint8, block_size long)."""
    n, m = data.size, (data.size + 3) // 4
    np.bitwise_and(data, 0x7F, out=text[:n])
    # the top bits of 8 bytes make two characters, built as one uint16 (strided uint8 writes are slower)
    pairs = np.packbits(data >> 7, bitorder="little").astype(np.uint16)
    high = pairs << 4
    high &= 0x0F00
    pairs &= 0x000F
    pairs |= high
    pairs |= 0x4040
    tops, k = text[n:], m // 2
    tops[: 2 * k].view(np.uint16)[:] = pairs[:k]
    if m % 2:
        tops[2 * k] = pairs[k] & 0xFF


def block_data(text: np.ndarray) -> np.ndarray:
    """The bytes (a new uint8 array) a block (uint8) holds."""
    size = text.size
    n = size * 4 // 5
    tops, k = text[n:], (size - n) // 2
    top = np.empty(k + (size - n) % 2, np.uint8)  # back to the top bits of 8 bytes per byte
    pairs = tops[: 2 * k].view(np.uint16) & 0x0F0F
    top[:k] = pairs | pairs >> 4  # the low byte: low nibble | high nibble << 4
    if len(top) > k:
        top[k] = tops[2 * k] & 0x0F
    bits = np.unpackbits(top, bitorder="little")  # a byte 0 or 1 per top bit (8 * len(top) >= n)
    bits.view(np.uint64)[...] <<= np.uint64(7)  # to bit 7 of each byte: 8 bytes at once, none carries
    data = bits[:n]
    data |= text[:n]
    return data


class TupleCodec(Codec):
    def __init__(self, ty: wit.Tuple, scope: Scope):
        self.ty, self.elems = ty, [make(e, scope) for e in ty.elems]

    def check(self, v):
        if isinstance(v, (str, bytes, Mapping)) or not isinstance(v, Sequence):
            raise BadValue(TypeError, f" must be a tuple ({self.ty.wit()}), not {_tn(v)}")
        if len(v) != len(self.elems):
            raise BadValue(ValueError, f" must have {len(self.elems)} items ({self.ty.wit()}), got {len(v)}")
        out = []
        for i, (c, x) in enumerate(zip(self.elems, v)):
            try:
                out.append(c.check(x))
            except BadValue as e:
                raise e.at(f"[{i}]") from None
        return out

    def write(self, v, slot):
        slot.kind = K_TUPLE
        t = slot.of.tuple
        ffi.wasmtime_component_valtuple_new_uninit(ctypes.byref(t), len(v))
        for i, (c, x) in enumerate(zip(self.elems, v)):
            c.write(x, t.data[i])

    def read(self, slot):
        t = slot.of.tuple
        return tuple(c.read(t.data[i]) for i, c in enumerate(self.elems))


class RecordCodec(Codec):
    """A record: a generated frozen dataclass out; a dataclass, object with the fields, or dict in."""

    def __init__(self, ty: wit.Record, scope: Scope):
        self.ty, self.cls = ty, scope.classes[ty.name]
        self.fields = [(n, snake_name(n), make(t, scope)) for n, t in ty.fields]

    def check(self, v):
        if isinstance(v, Mapping):
            known = {k for n, s, _ in self.fields for k in (n, s)}
            extra = [k for k in v if k not in known]
            if extra:
                raise BadValue(ValueError, f" has no field {extra[0]!r} (record {self.ty.name}: "
                                           f"{', '.join(s for _, s, _ in self.fields)})")  # fmt: skip
            get = lambda n, s: v[s] if s in v else v[n]  # noqa: E731
        else:
            get = lambda n, s: getattr(v, s)  # noqa: E731
        out = []
        for n, s, c in self.fields:
            try:
                x = get(n, s)
            except (KeyError, AttributeError):
                raise BadValue(
                    TypeError, f" is missing field {s!r} (record {self.ty.name}, given {_tn(v)})"
                ) from None
            try:
                out.append(c.check(x))
            except BadValue as e:
                raise e.at(f".{s}") from None
        return out

    def write(self, v, slot):
        slot.kind = K_RECORD
        r = slot.of.record
        ffi.wasmtime_component_valrecord_new_uninit(ctypes.byref(r), len(v))
        for i, ((n, _, c), x) in enumerate(zip(self.fields, v)):
            entry = r.data[i]
            entry.name = _name_vec(n)
            c.write(x, entry.val)

    def read(self, slot):
        r = slot.of.record
        return self.cls(*[c.read(r.data[i].val) for i, (_, _, c) in enumerate(self.fields)])


class EnumCodec(Codec):
    def __init__(self, ty: wit.Enum, cls: type[enum.Enum]):
        self.ty, self.cls = ty, cls
        self.lookup = {}
        for case in ty.cases:
            self.lookup[case] = case
            self.lookup[snake_name(case)] = case

    def check(self, v):
        if isinstance(v, self.cls):
            return v.value
        if isinstance(v, str) and v in self.lookup:
            return self.lookup[v]
        if isinstance(v, str):
            raise BadValue(ValueError, f" = {v!r} is not a case of enum {self.ty.name} "
                                       f"({', '.join(self.ty.cases)})")  # fmt: skip
        raise BadValue(TypeError, f" must be a {self.cls.__name__} member or its name, not {_tn(v)}")

    def write(self, v, slot):
        slot.kind = K_ENUM
        slot.of.enumeration = _name_vec(v)

    def read(self, slot):
        return self.cls(_vec_bytes(slot.of.enumeration).decode())


class FlagsCodec(Codec):
    """WIT flags: a member of the component's generated `enum.Flag` class out; that, or any iterable of
    flag names (WIT or snake spelling), in."""

    def __init__(self, ty: wit.Flags, cls: type[enum.Flag]):
        self.ty, self.cls = ty, cls
        self.members = {wit_name(m.name): m for m in cls}  # the class may be the user's own (@provide)
        self.lookup = {}
        for name in ty.flags:
            self.lookup[name] = name
            self.lookup[snake_name(name)] = name

        self.bits = {f: self.members[f].value for f in ty.flags if f in self.members}  # Flag ops are slow

    def check(self, v):
        if isinstance(v, self.cls):  # the usual case, without spelling names again
            value = v.value
            return [f for f, bit in self.bits.items() if value & bit]
        if isinstance(v, enum.Flag):
            names = [wit_name(m.name) for m in type(v) if m in v]  # any Flag class with these members
        elif isinstance(v, (str, bytes, Mapping)) or not hasattr(v, "__iter__"):
            raise BadValue(TypeError, f" must be a {self.cls.__name__} (flags {self.ty.name}) or an iterable "
                                      f"of its flag names, not {_tn(v)}")  # fmt: skip
        else:
            names = list(v)
        out = []
        for n in names:
            if not isinstance(n, str) or n not in self.lookup:
                raise BadValue(ValueError, f" has {n!r}, which is not a flag of {self.ty.name} "
                                           f"({', '.join(self.ty.flags)})")  # fmt: skip
            if self.lookup[n] not in out:
                out.append(self.lookup[n])
        return [f for f in self.ty.flags if f in out]  # in declaration order

    def write(self, v, slot):
        slot.kind = K_FLAGS
        flags = slot.of.flags
        if not v:
            ffi.wasmtime_component_valflags_new_empty(ctypes.byref(flags))
            return
        ffi.wasmtime_component_valflags_new_uninit(ctypes.byref(flags), len(v))
        for i, name in enumerate(v):
            flags.data[i] = _name_vec(name)

    def read(self, slot):
        flags = slot.of.flags
        bits = 0
        for i in range(flags.size):
            bits |= self.bits[_vec_bytes(flags.data[i]).decode()]
        return self.cls(bits)


class OptionCodec(Codec):
    def __init__(self, ty: wit.Option, scope: Scope):
        self.ty, self.inner = ty, make(ty.inner, scope)
        self.nested = isinstance(ty.inner, wit.Option)

    def check(self, v):
        if v is None:
            return None
        if isinstance(v, Some):
            v = v.value
            if not self.nested and v is None:
                raise BadValue(TypeError, f" is Some(None), but {self.ty.wit()} has no inner option")
        return (self.inner.check(v),)

    def write(self, v, slot):
        slot.kind = K_OPTION
        slot.of.option = None if v is None else _boxed(self.inner, v[0])

    def read(self, slot):
        p = slot.of.option
        if not p:
            return None
        inner = self.inner.read(p.contents)
        return Some(inner) if self.nested and inner is None else inner


class ResultCodec(Codec):
    """Nested results are `Ok(x)`/`Err(e)`; a top-level err becomes ComponentError at the call site."""

    def __init__(self, ty: wit.Result, scope: Scope):
        self.ty = ty
        self.ok = make(ty.ok, scope) if ty.ok else None
        self.err = make(ty.err, scope) if ty.err else None

    def check(self, v):
        if not isinstance(v, (Ok, Err)):
            raise BadValue(
                TypeError, f" must be asterai_kernel.Ok(...) or Err(...) ({self.ty.wit()}), not {_tn(v)}"
            )
        codec = self.ok if isinstance(v, Ok) else self.err
        if codec is None:
            if v.value is not None:
                raise BadValue(TypeError, f" {type(v).__name__} carries no value in {self.ty.wit()}")
            return (isinstance(v, Ok), None)
        try:
            return (isinstance(v, Ok), codec.check(v.value))
        except BadValue as e:
            raise e.at(f".{type(v).__name__.lower()}") from None

    def write(self, v, slot):
        is_ok, payload = v
        codec = self.ok if is_ok else self.err
        slot.kind = K_RESULT
        slot.of.result.is_ok = is_ok
        slot.of.result.val = None if codec is None else _boxed(codec, payload)

    def read_parts(self, slot) -> tuple[bool, Any]:
        res = slot.of.result
        codec = self.ok if res.is_ok else self.err
        return bool(res.is_ok), (codec.read(res.val.contents) if codec is not None and res.val else None)

    def read(self, slot):
        is_ok, value = self.read_parts(slot)
        return Ok(value) if is_ok else Err(value)


class VariantCodec(Codec):
    def __init__(self, ty: wit.Variant, scope: Scope):
        self.ty = ty
        self.cases = {}
        for case, t in ty.cases:
            entry = (case, make(t, scope) if t else None)
            self.cases[case] = entry
            self.cases[snake_name(case)] = entry

    def check(self, v):
        if isinstance(v, str):
            tag, payload, bare = v, None, True
        elif isinstance(v, tuple) and len(v) == 2:
            (tag, payload), bare = v, False
        else:
            raise BadValue(TypeError, f" must be (tag, value), a bare tag or asterai_kernel.Variant "
                                      f"(variant {self.ty.name}), not {_tn(v)}")  # fmt: skip
        if tag not in self.cases:
            names = ", ".join(c for c, _ in self.ty.cases)
            raise BadValue(
                ValueError, f" has tag {tag!r}, which is not a case of variant {self.ty.name} ({names})"
            )
        case, codec = self.cases[tag]
        if codec is None:
            if payload is not None:
                raise BadValue(TypeError, f" case {case!r} carries no value, got {_tn(payload)}")
            return (case, None)
        if bare:
            raise BadValue(
                TypeError, f" case {case!r} needs a value ({codec.ty.wit()}): pass ({case!r}, value)"
            )
        try:
            return (case, codec.check(payload))
        except BadValue as e:
            raise e.at(f"({case})") from None

    def write(self, v, slot):
        case, payload = v
        codec = self.cases[case][1]
        slot.kind = K_VARIANT
        slot.of.variant.discriminant = _name_vec(case)
        slot.of.variant.val = None if codec is None else _boxed(codec, payload)

    def read(self, slot):
        var = slot.of.variant
        case, codec = self.cases[_vec_bytes(var.discriminant).decode()]
        return Variant(case, codec.read(var.val.contents) if codec is not None and var.val else None)


_SCALAR_CODECS = {"bool": BoolCodec, "char": CharCodec, "f32": FloatCodec, "f64": FloatCodec}
NUMERIC = {"s8", "u8", "s16", "u16", "s32", "u32", "s64", "u64", "f32", "f64"}


def make(ty: wit.WitType, scope: Scope) -> Codec:
    """The codec of a WIT type, for the component `scope` describes."""
    if isinstance(ty, wit.Prim):
        codec = _SCALAR_CODECS.get(ty.name)
        return codec(ty) if codec else IntCodec(ty, scope)
    if isinstance(ty, wit.String):
        return StringCodec(ty)
    if isinstance(ty, wit.List):
        if ty.elem == wit.Prim("u8"):
            return BytesCodec(ty, scope)
        if isinstance(ty.elem, wit.Prim) and ty.elem.name in NUMERIC:
            return NumericListCodec(ty, scope)
        return ListCodec(ty, make(ty.elem, scope))
    if isinstance(ty, wit.Enum):
        return EnumCodec(ty, scope.classes[ty.name])
    if isinstance(ty, wit.Flags):
        return FlagsCodec(ty, scope.classes[ty.name])
    if isinstance(ty, wit.Handle):
        from .resources import HandleCodec, HostHandleCodec  # resources.py builds on this module

        cls = scope.classes[ty.resource.name]
        if isinstance(cls, tuple):  # (a Python class implementing an imported resource, its type number)
            return HostHandleCodec(ty, *cls)
        return HandleCodec(ty, cls)
    composite = _COMPOSITE_CODECS.get(type(ty))
    if composite is None:
        raise NotImplementedError(f"values of WIT type {ty.wit()} cannot cross yet")
    return composite(ty, scope)


_COMPOSITE_CODECS = {wit.Tuple: TupleCodec, wit.Bulk: BulkCodec, wit.Record: RecordCodec,
                     wit.Option: OptionCodec, wit.Result: ResultCodec, wit.Variant: VariantCodec}  # fmt: skip


def codecs_for(functions, classes: dict[str, type], ranges=None) -> list[tuple[list[Codec], Codec | None]]:
    """Parameter codecs and result codec of each function, with this component's generated classes (and
    its guest's integer ranges, when narrower than WIT's: values beyond them are refused before the call)."""
    scope = Scope(classes, ranges or {})
    return [
        ([make(t, scope) for _, t in fn.params], make(fn.result, scope) if fn.result else None)
        for fn in functions
    ]


# One class per (owning interface, WIT definition): a consumer whose exports use a provider's type
# (wit.foreign) takes and returns the provider's own `geo.Point`; a re-run that keeps a type keeps its class.
_SHARED: dict[tuple[str, str], type] = {}


def share_class(owner: str, ty: wit.WitType, cls: type) -> None:
    """Make `cls` the Python class of interface `owner`'s type `ty` (host providers' own dataclasses)."""
    _SHARED[(owner, ty.definition())] = cls


def user_types(iface: wit.Interface) -> dict[str, type]:
    """Frozen dataclasses for records, str-Enums for enums and enum.Flag classes for flags, named like the
    WIT types in Python."""
    classes: dict[str, type] = {}
    for t in iface.types():
        if isinstance(t, wit.Resource):  # a class per component: its objects call that component
            from .resources import resource_class

            classes[t.name] = resource_class(iface, t)
            continue
        if not isinstance(t, (wit.Record, wit.Enum, wit.Flags)):
            continue
        key = (t.owner or iface.name, t.definition())
        if key not in _SHARED:
            _SHARED[key] = _new_class(t, key[0])
        classes[t.name] = _SHARED[key]
    return classes


def _new_class(t: wit.Record | wit.Enum, owner: str) -> type:
    # Generated classes live in no module, so values pickle as (owner, definition, payload): unpickled in
    # another process (results from a Dask worker) they become that process's class of the same type.
    if isinstance(t, wit.Record):
        cls = dataclasses.make_dataclass(
            pascal_name(t.name), [(snake_name(n), Any) for n, _ in t.fields], frozen=True
        )
        cls.__doc__ = f"WIT record {t.name} of component interface {owner}"
        cls.__reduce__ = lambda self: (_remake, (owner, t, _fields(self)))
        return cls
    if isinstance(t, wit.Flags):
        cls = enum.Flag(pascal_name(t.name), [(snake_name(f), 1 << i) for i, f in enumerate(t.flags)])
        cls.__doc__ = f"WIT flags {t.name} of component interface {owner}: combine members with |"
        cls.__reduce_ex__ = lambda self, protocol: (_remake, (owner, t, self.value))
        return cls
    cls = enum.Enum(pascal_name(t.name), [(snake_name(c), c) for c in t.cases], type=str)
    cls.__str__ = lambda self: self.value
    cls.__reduce_ex__ = lambda self, protocol: (_remake, (owner, t, self.value))
    return cls


def _fields(record) -> tuple:
    """A record's field values, shallow: nested records pickle themselves."""
    return tuple(getattr(record, f.name) for f in dataclasses.fields(record))


def _remake(owner: str, t: wit.Record | wit.Enum, payload):
    """A record or enum value unpickled: this process's class for the type, made if it has none yet."""
    key = (owner, t.definition())
    if key not in _SHARED:
        _SHARED[key] = _new_class(t, owner)
    cls = _SHARED[key]
    return cls(*payload) if isinstance(t, wit.Record) else cls(payload)  # Flags: from its int value
