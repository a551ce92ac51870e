"""Bulk twins in the glue of C, C++, Go and Zig cells: numeric lists as one block, decoded and encoded in the
guest (c/runtime.h asterai_bulk_decode/encode, go/exports.py asteraiBulkIn/Out, zig/asterai.zig bulkIn/Out).

One cell per language echoes every numeric element type; values are compared bit for bit (NaN payloads,
-0.0, the extremes of every integer type), through the twin (4096 bytes and more, or any list result) and
below it.
"""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest
from test_bulk import DTYPES, random_array, same

from asterai_kernel import GuestTrap

C_TYPES = {"u8": "uint8_t", "s8": "int8_t", "u16": "uint16_t", "s16": "int16_t", "u32": "uint32_t",
           "s32": "int32_t", "u64": "uint64_t", "s64": "int64_t", "f32": "float", "f64": "double"}  # fmt: skip
GO_TYPES = {"u8": "byte", "s8": "int8", "u16": "uint16", "s16": "int16", "u32": "uint32", "s32": "int32",
            "u64": "uint64", "s64": "int64", "f32": "float32", "f64": "float64"}  # fmt: skip
ZIG_TYPES = {"u8": "asterai.Bytes", **{n: f"[]const {t}" for n, t in {
    "s8": "i8", "u16": "u16", "s16": "i16", "u32": "u32", "s32": "i32", "u64": "u64", "s64": "i64",
    "f32": "f32", "f64": "f64"}.items()}}  # fmt: skip

C_CELL = (
    "".join(f"asterai_list_{n} echo_{n}(asterai_list_{n} v) {{ return v; }}\n" for n in DTYPES)
    + """
double total(const double *xs, size_t n) { double s = 0; for (size_t i = 0; i < n; i++) s += xs[i]; return s; }
asterai_list_f64 mix(const int32_t *a, size_t n, double k, asterai_list_u8 b) {
    asterai_list_f64 out = { malloc((n + b.len) * sizeof(double) + 1), n + b.len };
    for (size_t i = 0; i < n; i++) out.ptr[i] = a[i] * k;
    for (size_t i = 0; i < b.len; i++) out.ptr[n + i] = b.ptr[i];
    return out;
}
asterai_list_f64 picky(asterai_list_f64 v) { assert(v.len < 1000); return v; }
asterai_list_f32 ramp(uint32_t n) {
    asterai_list_f32 out = { malloc(n * sizeof(float) + 1), n };
    for (uint32_t i = 0; i < n; i++) out.ptr[i] = (float)i;
    return out;
}
"""
)
CPP_CELL = (
    "".join(
        f"std::vector<{t}> echo_{n}(const std::vector<{t}> &v) {{ return v; }}\n" for n, t in C_TYPES.items()
    )
    + """
double total(const double *xs, size_t n) { double s = 0; for (size_t i = 0; i < n; i++) s += xs[i]; return s; }
std::vector<double> mix(const std::vector<int32_t> &a, double k, std::vector<uint8_t> b) {
    std::vector<double> out;
    for (int32_t x : a) out.push_back(x * k);
    for (uint8_t x : b) out.push_back(x);
    return out;
}
std::vector<double> picky(std::vector<double> v) { assert(v.size() < 1000); return v; }
std::vector<float> ramp(uint32_t n) {
    std::vector<float> out;
    for (uint32_t i = 0; i < n; i++) out.push_back((float)i);
    return out;
}
"""
)
GO_CELL = (
    "".join(f"func Echo{n.upper()}(v []{t}) []{t} {{ return v }}\n" for n, t in GO_TYPES.items())
    + """
func Total(xs []float64) float64 { s := 0.0; for _, x := range xs { s += x }; return s }
func Mix(a []int32, k float64, b []byte) []float64 {
	out := make([]float64, 0, len(a)+len(b))
	for _, x := range a { out = append(out, float64(x)*k) }
	for _, x := range b { out = append(out, float64(x)) }
	return out
}
func Picky(v []float64) []float64 { if len(v) >= 1000 { panic("too many") }; return v }
func Ramp(n uint32) []float32 {
	out := make([]float32, n)
	for i := range out { out[i] = float32(i) }
	return out
}
"""
)
ZIG_CELL = (
    'const asterai = @import("asterai");\n'
    + "".join(f"pub fn echo_{n}(v: {t}) {t} {{ return v; }}\n" for n, t in ZIG_TYPES.items())
    + """
pub fn total(xs: []const f64) f64 { var s: f64 = 0; for (xs) |x| s += x; return s; }
pub fn mix(a: []const i32, k: f64, b: asterai.Bytes) []const f64 {
    const out = asterai.allocator.alloc(f64, a.len + b.len) catch @panic("out of memory");
    for (a, 0..) |x, i| out[i] = @as(f64, @floatFromInt(x)) * k;
    for (b, 0..) |x, i| out[a.len + i] = @floatFromInt(x);
    return out;
}
pub fn picky(v: []const f64) []const f64 { if (v.len >= 1000) @panic("too many"); return v; }
pub fn ramp(n: u32) []const f32 {
    const out = asterai.allocator.alloc(f32, n) catch @panic("out of memory");
    for (out, 0..) |*x, i| x.* = @floatFromInt(i);
    return out;
}
"""
)
CELLS = {"c": C_CELL, "cpp": CPP_CELL, "go": GO_CELL, "zig": ZIG_CELL}
TRAPS = {"c": "Assertion failed: v.len < 1000", "cpp": "Assertion failed: v.size", "go": "too many",
         "zig": "too many"}  # fmt: skip


@pytest.fixture(scope="module", params=list(CELLS))
def glue(request, ip):
    """(language, the handle of its cell), built once per module."""
    lang = request.param
    with contextlib.redirect_stdout(io.StringIO()):
        ip.run_cell_magic("asterai", f"{lang} bulk_{lang}", CELLS[lang])
    return lang, ip.user_ns[f"bulk_{lang}"]


def extremes(name: str) -> np.ndarray:
    """The edges of a type: integer minima and maxima, -0.0, infinities, NaNs with payloads, subnormals."""
    dtype = np.dtype(DTYPES[name])
    if dtype.kind == "f":
        bits = np.dtype(f"u{dtype.itemsize}")
        nans = np.array([0x7FF8000000000001, 0xFFF8DEADBEEF0000] if dtype.itemsize == 8
                        else [0x7FC00001, 0xFFC0BEEF], bits).view(dtype)  # fmt: skip
        info = np.finfo(dtype)
        edges = [0.0, -0.0, np.inf, -np.inf, info.max, info.min, info.tiny, info.smallest_subnormal]
        return np.concatenate([np.array(edges, dtype), nans])
    info = np.iinfo(dtype)
    return np.array([info.min, info.max, 0, -1 if info.min else 1, info.min + 1, info.max - 1], dtype)


@pytest.mark.parametrize("name", DTYPES)
def test_round_trips_a_million_exactly(glue, name):
    lang, glue = glue
    echo = getattr(glue, f"echo_{name}")
    arr = np.concatenate([extremes(name), random_array(name, 1_000_000, seed=7), extremes(name)])
    assert same(echo(arr), arr), lang  # numpy in, numpy out of the element's dtype
    small = np.concatenate([random_array(name, 5, seed=1), extremes(name)])
    assert same(echo(small), small), lang  # below the block size too


def test_blocks_of_every_tail_length(glue):
    lang, glue = glue
    # the guest works 8 bytes at a time: every tail, through the twin (4096 bytes and more)
    for k in range(17):
        data = random_array("u8", 4096 + k, seed=k)
        assert same(glue.echo_u8(data), data), (lang, k)
        shorts = random_array("s16", 2048 + k, seed=k)
        assert same(glue.echo_s16(shorts), shorts), (lang, k)
    exports = glue._live.exports
    assert all(exports[f"echo-{n}"].twin for n in DTYPES) and exports["total"].twin, lang
    assert exports["ramp"].twin.worth_it([5])  # a list result always takes the twin
    for n in [*range(0, 20), 1001]:
        assert glue.ramp(n) == [float(i) for i in range(n)], (lang, n)


def test_several_blocks_and_scalars_in_one_call(glue):
    lang, glue = glue
    assert glue._live.exports["mix"].twin, lang
    for n, m in [(5000, 3), (3, 5000), (0, 4096), (1001, 4097)]:  # one block or both big enough for the twin
        a, b = random_array("s32", n, seed=n), random_array("u8", m, seed=m)
        want = np.concatenate([a * 0.5, b.astype(np.float64)])
        assert same(glue.mix(a, 0.5, b), want), (lang, n, m)
        assert same(glue.mix(k=0.5, b=b, a=a), want), (lang, n, m)  # keywords: the same twin


def test_lists_in_give_lists_out(glue):
    lang, glue = glue
    floats = random_array("f64", 10_000, seed=3)
    floats = floats[~np.isnan(floats)]  # lists compare by value
    assert glue.echo_f64(floats.tolist()) == floats.tolist()
    data = random_array("u8", 100_000).tobytes()
    assert glue.echo_u8(data) == data  # bytes in, bytes out
    assert glue.ramp(5000) == [float(i) for i in range(5000)]  # no argument is numpy: a list
    assert glue.total(np.ones(100_000)) == 100_000.0  # a borrowed pointer and length (C, C++)
    assert same(glue.echo_f32(np.empty(0, np.float32)), np.empty(0, np.float32))


def test_a_trap_mid_transfer_leaves_the_component_usable(glue):
    lang, glue = glue
    live = glue._live
    before = live.restarts
    arr = random_array("f64", 200_000, seed=5)
    with pytest.raises(GuestTrap, match=TRAPS[lang]):
        glue.picky(arr)
    assert live.restarts == before + 1
    small = np.arange(999, dtype=np.float64)
    assert same(glue.picky(small), small)
    assert same(glue.echo_f64(arr), arr)


def test_blocks_leave_nothing_behind(glue):
    # 10 MB blocks in and out: were either kept, 60 calls would pass the 512 MiB every component is capped at
    lang, glue = glue
    live, before = glue._live, glue._live.restarts
    arr = random_array("f64", 1_000_000, seed=8)
    for _ in range(60):
        glue.echo_f64(arr)
    assert live.restarts == before and same(glue.echo_f64(arr), arr), lang
