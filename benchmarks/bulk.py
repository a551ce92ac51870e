"""Numeric arrays and short strings across the boundary (issue 20), baselines measured in the same run.

    python benchmarks/bulk.py            # two minutes (a Rust, Python, C, C++, Go, Zig and TypeScript cell)
    python benchmarks/bulk.py --quick

Rows: a 1e6-element round trip (numpy in, numpy out) of each element type through an identity export,
for each language whose glue has bulk twins (Rust, Python, C, C++, Go, Zig; each on Cranelift's optimized
code; TypeScript, which has none, for context), against two plain numpy copies of the same array; a
100-character string call against the scalar call `add(1, 2)` of the same cell.
Nothing asserts: targets are reported as met or not.
"""

from __future__ import annotations

import argparse
import contextlib
import io

import numpy as np
from _timing import cell, median_time, per_call
from IPython.testing.globalipapp import start_ipython

from asterai_kernel import optimize

N = 1_000_000
# element type -> how Rust, Python, C, Go and Zig spell it, and its numpy dtype
TYPES = {"f64": ("f64", "float", "double", "float64", "f64", np.float64),
         "f32": ("f32", None, "float", "float32", "f32", np.float32),
         "s32": ("i32", None, "int32_t", "int32", "i32", np.int32),
         "s64": ("i64", "int", "int64_t", "int64", "i64", np.int64),
         "u8": ("u8", None, "uint8_t", "byte", "u8", np.uint8)}  # fmt: skip

RUST = "".join(f"pub fn echo_{w}(v: Vec<{r}>) -> Vec<{r}> {{ v }}\n" for w, (r, *_) in TYPES.items()) + (
    "pub fn add(a: i32, b: i32) -> i32 { a.wrapping_add(b) }\n"
    "pub fn shout(s: &str) -> String { s.to_uppercase() }\n"
)
PYTHON = "".join(
    f"def echo_{w}(v: list[{p}]) -> list[{p}]:\n    return v\n\n" for w, (_, p, *_) in TYPES.items() if p
)
C = "".join(f"asterai_list_{w} echo_{w}(asterai_list_{w} v) {{ return v; }}\n" for w in TYPES)
CPP = "".join(
    f"std::vector<{c}> echo_{w}(std::vector<{c}> v) {{ return v; }}\n" for w, (_, _, c, *_) in TYPES.items()
)
GO = "".join(f"func Echo{w.upper()}(v []{g}) []{g} {{ return v }}\n" for w, (*_, g, _, _) in TYPES.items())
ZIG = 'const asterai = @import("asterai");\n' + "".join(
    f"pub fn echo_{w}(v: {t}) {t} {{ return v; }}\n"
    for w, (*_, z, _) in TYPES.items()
    for t in ["asterai.Bytes" if z == "u8" else f"[]const {z}"]
)
# no bulk twins (QuickJS decodes a block slower than it takes a list): element by element, for context
TYPESCRIPT = (
    "export function echo_f64(v: number[]): number[] { return v; }\n"
    "export function echo_u8(v: Uint8Array): Uint8Array { return v; }\n"
)
CELLS = {"rust": RUST, "python": PYTHON, "c": C, "cpp": CPP, "go": GO, "zig": ZIG, "typescript": TYPESCRIPT}
SLOW = {"python", "typescript"}  # fewer repetitions


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    quick = parser.parse_args().quick
    reps, calls = (5, 2000) if quick else (15, 10_000)
    ip = start_ipython()
    ip.run_line_magic("load_ext", "asterai_kernel")
    handles = {}
    for lang, source in CELLS.items():
        cell(ip, f"{lang} bulk_{lang}", source)
        with contextlib.redirect_stdout(io.StringIO()):
            optimize(f"bulk_{lang}")  # Cranelift's code, as a cell runs once its background compile is done
        handles[lang] = ip.user_ns[f"bulk_{lang}"]
    rng = np.random.default_rng(1)
    rows = []
    for wit_name, (*_, dtype) in TYPES.items():
        arr = rng.integers(0, 100, N).astype(dtype)
        for lang, handle in handles.items():
            echo = getattr(handle, f"echo_{wit_name}", None)
            if echo is None:  # a type the language's cell does not declare
                continue
            out = echo(arr)
            assert isinstance(out, np.ndarray) and out.dtype == arr.dtype and (out == arr).all()
            base = median_time(lambda: arr.copy().copy(), reps)  # noqa: B023 - measured right here
            t = median_time(lambda: echo(arr), max(3, reps // 3) if lang in SLOW else reps)  # noqa: B023
            rows.append((f"1e6 {wit_name} round trip, {lang}", t, "two numpy copies", base, 5.0))
    shout, add = handles["rust"].shout, handles["rust"].add
    text = "a" * 100
    assert shout(text) == "A" * 100 and add(1, 2) == 3
    t_add = per_call(lambda: add(1, 2), calls, reps)
    t_str = per_call(lambda: shout(text), calls, reps)
    rows.append(("100-char string call shout(s)", t_str, "scalar call add(1, 2)", t_add, 2.0))
    print(f"{'measurement':36} {'asterai':>10} {'baseline':24} {'time':>10} {'ratio':>7}  target  met")
    for name, t, base_name, base, target in rows:
        fmt = (lambda s: f"{s * 1e3:.2f} ms") if t > 1e-3 else (lambda s: f"{s * 1e6:.2f} us")
        ratio = t / base
        met = "yes" if ratio <= target else "NO"
        print(f"{name:36} {fmt(t):>10} {base_name:24} {fmt(base):>10} {ratio:6.1f}x  <= {target:g}x  {met}")


if __name__ == "__main__":
    main()
