"""Numeric lists in one block (values.BulkCodec and each glue's bulk twins), and numpy in -> numpy out.

Values are compared bit for bit (NaN payloads, -0.0, extremes of every integer type): the block codes
bytes, so nothing may be rounded or normalised on the way.
"""

from __future__ import annotations

import contextlib
import ctypes
import io

import numpy as np
import pytest

from asterai_kernel import GuestTrap, values, wit
from asterai_kernel.component import _val_delete
from asterai_kernel.languages.python import exports as python_exports

DTYPES = {"u8": np.uint8, "s8": np.int8, "u16": np.uint16, "s16": np.int16, "u32": np.uint32,
          "s32": np.int32, "u64": np.uint64, "s64": np.int64, "f32": np.float32, "f64": np.float64}  # fmt: skip
RUST = {"u8": "u8", "s8": "i8", "u16": "u16", "s16": "i16", "u32": "u32", "s32": "i32", "u64": "u64",
        "s64": "i64", "f32": "f32", "f64": "f64"}  # fmt: skip


def random_array(name: str, n: int, seed: int = 0) -> np.ndarray:
    """Every bit pattern is as likely (floats: NaNs with payloads, infinities, -0.0, subnormals)."""
    dtype = np.dtype(DTYPES[name])
    raw = np.random.default_rng(seed).integers(0, 256, n * dtype.itemsize, dtype=np.uint8)
    if dtype.kind == "f":  # keep NaNs quiet: a signalling NaN may be quietened by any float move
        arr = raw.view(dtype).copy()
        arr[np.isnan(arr)] = np.nan
        return arr
    return raw.view(dtype)


def same(a, b) -> bool:
    return isinstance(a, np.ndarray) and a.dtype == b.dtype and a.tobytes() == b.tobytes()


def through_block(codec: values.BulkCodec, value) -> tuple[str, object]:
    """The block the host writes for `value`, and what the host reads back from it."""
    slot = values.VAL()
    codec.write(codec.check(value), slot)
    try:
        return values._vec_text(slot.of.string), codec.read_array(slot)
    finally:
        _val_delete(ctypes.byref(slot))


def python_glue_codec() -> dict:
    """The Python glue's block coding (`_bulk_text`, `_bulk_bytes`), run here as the guest runs it."""
    helpers = python_exports.helpers()
    source = helpers[helpers.index("_LOW7 =") : helpers.index("def _bulk_in_bytes")]
    glue: dict = {}
    exec(source, glue)  # noqa: S102 - our own glue
    return glue


@pytest.mark.no_toolchain
@pytest.mark.parametrize("name", DTYPES)
def test_block_round_trips_every_length_and_bit_pattern(name):
    codec = values.make(wit.Bulk(wit.Prim(name)), values.Scope())
    for n in [*range(0, 20), 4095, 100_003]:
        arr = random_array(name, n, seed=n)
        text, back = through_block(codec, arr)
        assert text.isascii() and len(text) == arr.nbytes + (arr.nbytes + 3) // 4  # 5 bytes per 4
        assert same(back, arr), (name, n)


@pytest.mark.no_toolchain
def test_python_glue_codes_blocks_like_the_host():
    glue = python_glue_codec()
    codec = values.make(wit.Bulk(wit.Prim("u8")), values.Scope())
    for n in [*range(0, 40), 1 << 16]:
        data = random_array("u8", n, seed=n).tobytes()
        text, _ = through_block(codec, data)
        assert glue["_bulk_text"](data) == text
        assert glue["_bulk_bytes"](text) == data


@pytest.mark.no_toolchain
def test_top_bits_land_in_their_bytes():
    # one set top bit at a time: a block that mixed up positions would move it
    codec = values.make(wit.Bulk(wit.Prim("u8")), values.Scope())
    for i in range(13):
        data = np.zeros(13, np.uint8)
        data[i] = 0x80
        text, back = through_block(codec, data)
        assert same(back, data) and text[13 + i // 4] == chr(0x40 | 1 << i % 4)


ECHOES = "".join(f"pub fn echo_{n}(v: Vec<{t}>) -> Vec<{t}> {{ v }}\n" for n, t in RUST.items())
RUST_CELL = (
    ECHOES
    + """
pub fn shifted(v: &[i64], k: i64) -> Vec<i64> { v.iter().map(|x| x.wrapping_add(k)).collect() }
pub fn ramp(n: u32) -> Vec<f32> { (0..n).map(|i| i as f32).collect() }
pub fn picky(v: Vec<f64>) -> Vec<f64> { assert!(v.len() < 1000, "too many: {}", v.len()); v }
pub fn stuck(v: Vec<f64>) -> Vec<f64> { while std::hint::black_box(true) {} v }
pub fn stuck_str(s: &str) -> String { while std::hint::black_box(true) {} s.to_string() }
"""
)


@pytest.fixture(scope="module")
def rust(ip):
    with contextlib.redirect_stdout(io.StringIO()):
        ip.run_cell_magic("asterai", "rust bulkrs", RUST_CELL)
    return ip.user_ns


@pytest.mark.parametrize("name", DTYPES)
def test_rust_round_trips_a_million_exactly(rust, name):
    arr = random_array(name, 1_000_000, seed=7)
    out = rust[f"echo_{name}"](arr)
    assert same(out, arr)  # numpy in, numpy out of the element's dtype
    small = random_array(name, 5, seed=1)
    assert same(rust[f"echo_{name}"](small), small)  # below the block size too


def test_rust_blocks_of_every_tail_length(rust):
    # the glue works 16 bytes at a time: lengths around that, through the twin (4096 bytes and more)
    for k in range(17):
        data = random_array("u8", 4096 + k, seed=k)
        assert same(rust["echo_u8"](data), data), k
        shorts = random_array("s16", 2048 + k, seed=k)
        assert same(rust["echo_s16"](shorts), shorts), k
    live = rust["bulkrs"]._live
    assert live.exports["ramp"].twin.worth_it([5])  # a list result always takes the twin
    for n in [*range(0, 40), 1001]:
        assert rust["ramp"](n) == [float(i) for i in range(n)], n


def test_lists_in_give_lists_out(rust):
    floats = random_array("f64", 10_000, seed=3)
    floats = floats[~np.isnan(floats)]  # lists compare by value
    assert rust["echo_f64"](floats.tolist()) == floats.tolist()
    data = random_array("u8", 100_000).tobytes()
    assert rust["echo_u8"](data) == data  # bytes in, bytes out
    assert rust["echo_u8"](np.frombuffer(data, np.uint8)).dtype == np.uint8
    assert rust["ramp"](5000) == [float(i) for i in range(5000)]  # no argument is numpy: a list


def test_numpy_anywhere_in_the_call_gives_numpy_out(rust):
    out = rust["shifted"](k=-1, v=np.arange(50_000, dtype=np.int64))
    assert same(out, np.arange(-1, 49_999, dtype=np.int64))
    assert rust["shifted"](list(range(3)), np.int64(1)) == [1, 2, 3]  # a numpy scalar is not an array
    assert same(rust["echo_f32"](np.empty(0, np.float32)), np.empty(0, np.float32))


def test_a_trap_mid_transfer_leaves_the_component_usable(rust):
    live = rust["bulkrs"]._live
    before = live.restarts
    arr = random_array("f64", 200_000, seed=5)
    with pytest.raises(GuestTrap, match="too many: 200000"):
        rust["picky"](arr)
    assert live.restarts == before + 1
    small = np.arange(999, dtype=np.float64)
    assert same(rust["picky"](small), small)
    assert same(rust["echo_f64"](arr), arr)


def test_an_interrupt_mid_call_leaves_the_component_usable(rust):
    from asterai_kernel.session import get_session

    live = rust["bulkrs"]._live
    before = live.restarts
    arr = random_array("f64", 300_000, seed=6)
    get_session().interrupt_soon(after=0.05)
    with pytest.raises(KeyboardInterrupt):
        rust["stuck"](arr)
    get_session().interrupt_soon(after=0.05)
    with pytest.raises(KeyboardInterrupt):
        rust["stuck_str"]("x" * 100)  # the string fast path
    assert live.restarts == before + 2
    assert same(rust["echo_f64"](arr), arr)


def test_a_block_too_big_for_the_guest_memory_traps_and_nothing_stays(cell, ns):
    cell("rust tight --max-memory 16MiB", "pub fn echo(v: Vec<f64>) -> Vec<f64> { v }\n")
    live = ns["tight"]._live
    with pytest.raises(GuestTrap):
        ns["echo"](np.ones(2_000_000))  # 20 MB of block: wasmtime cannot even copy it in
    arr = random_array("f64", 100_000, seed=9)
    assert same(ns["echo"](arr), arr) and live.restarts == 1


PY_CELL = """
def echo_f64(v: list[float]) -> list[float]:
    return v

def echo_ints(v: list[int]) -> list[int]:
    return v
"""


def test_python_cells_round_trip_blocks_exactly(cell, ns):
    cell("python bulkpy", PY_CELL)
    arr = random_array("f64", 200_000, seed=11)
    arr[np.isnan(arr)] = 0.5  # the guest holds Python floats: a NaN's payload is not promised there
    assert same(ns["echo_f64"](arr), arr)
    ints = random_array("s64", 200_003, seed=12)  # a Python cell's int is an s64
    assert same(ns["echo_ints"](ints), ints)


# ---- short strings: the generated fast path (component._scalar_fast_call) ----
STRINGS = """
pub fn shout(s: &str) -> String { s.to_uppercase() }
pub fn join(a: String, n: u8, b: &str) -> String { format!("{a}{}{b}", "-".repeat(n as usize)) }
pub fn size(s: &str) -> u32 { s.len() as u32 }
pub fn fussy(s: &str) -> String { assert!(s != "boom", "refused {s}"); s.to_string() }
"""


@pytest.fixture(scope="module")
def strings(ip):
    with contextlib.redirect_stdout(io.StringIO()):
        ip.run_cell_magic("asterai", "rust strs", STRINGS)
    return ip.user_ns


def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


def test_string_calls_take_the_generated_path(strings):
    live = strings["strs"]._live
    assert all(hasattr(live.exports[f].fast, "keep_alive") for f in ("shout", "join", "size", "fussy"))
    assert strings["shout"]("a" * 100) == "A" * 100
    assert strings["shout"]("héllo, wörld ✓") == "HÉLLO, WÖRLD ✓"  # not ASCII: checked, then the same
    assert strings["join"]("a", 3, "b") == "a---b" and strings["join"]("", 0, "") == ""
    assert strings["join"](b="z", n=1, a="y") == "y-z"  # keywords: the general path, same result
    assert strings["size"]("\0x\0") == 3


def test_string_fast_path_refuses_bad_arguments_before_the_call(strings):
    with pytest.raises(TypeError, match="parameter 's' must be a str, not bytes"):
        strings["shout"](b"abc")
    with pytest.raises(ValueError, match="parameter 'b' cannot be encoded as UTF-8"):
        strings["join"]("a", 1, "\ud800")
    with pytest.raises(OverflowError, match="parameter 'n'"):
        strings["join"]("a", 256, "b")
    assert strings["join"]("a", 1, "b") == "a-b"


def test_string_fast_path_trap_then_works(strings):
    live = strings["strs"]._live
    before = live.restarts
    with pytest.raises(GuestTrap, match="refused boom"):
        strings["fussy"]("boom")
    assert live.restarts == before + 1 and strings["fussy"]("fine") == "fine"


def test_string_fast_path_frees_what_it_copies(strings):
    text = "x" * (1 << 20)
    shout = strings["shout"]
    shout(text)
    start = rss()
    for _ in range(300):  # 600 MiB of strings each way if a copy were kept
        assert len(shout(text)) == 1 << 20
    assert rss() - start < 100 << 20
