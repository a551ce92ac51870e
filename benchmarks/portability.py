"""Components outside the notebook: `asterai build` against running the notebook, and one export called
from Node.js (jco) against the same export called from the notebook's Python. Prints figures and ratios
measured in the same run; asserts nothing.

    python benchmarks/portability.py
"""

from __future__ import annotations

import contextlib
import io
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from _timing import per_call
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

from asterai_kernel.toolchains import npm_dir

GEO = (
    "%%asterai rust bench_geo\n"
    "pub fn word_count(text: &str) -> u32 { text.split_whitespace().count() as u32 }"
)
REPORT = (
    "%%asterai rust bench_report --use bench_geo\n"
    'pub fn report(t: &str) -> String { format!("{} words", bench_geo::word_count(t)) }'
)
CALLS = 100_000
TEXT = "the quick brown fox jumps over the lazy dog"


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="asterai-bench-"))
    nb_path = folder / "project.ipynb"
    nb = new_notebook()
    nb.cells = [new_code_cell(GEO), new_code_cell("print(word_count('a b'))"), new_code_cell(REPORT)]
    nbformat.write(nb, nb_path)
    build = [sys.executable, "-m", "asterai_kernel.cli", "build", str(nb_path), "-o", str(folder / "out")]
    subprocess.run(build, check=True, capture_output=True)  # warms the cache
    t_build = timed(lambda: subprocess.run(build, check=True, capture_output=True))
    t_run = timed(
        lambda: NotebookClient(nbformat.read(nb_path, as_version=4), kernel_name="asterai").execute()
    )
    print(f"asterai build (cached cells):    {t_build:6.2f} s")
    print(f"nbclient run of the notebook:    {t_run:6.2f} s   build / run = {t_build / t_run:.2f}")

    modules = npm_dir("typescript") / "node_modules"
    (folder / "node_modules").symlink_to(modules)
    jco = str(modules / ".bin" / "jco")
    wasm = folder / "out" / "bench_geo.wasm"
    t_jco = timed(lambda: subprocess.run([jco, "transpile", str(wasm), "-o", str(folder / "js")], check=True,
                                         capture_output=True))  # fmt: skip
    print(f"jco transpile (Rust, {wasm.stat().st_size // 1024} KiB):    {t_jco:6.2f} s")
    script = f"""import {{ benchGeo }} from './js/bench_geo.js';
let n = 0; for (let i = 0; i < 1000; i++) n += benchGeo.wordCount('{TEXT}');
const t0 = performance.now();
for (let i = 0; i < {CALLS}; i++) n += benchGeo.wordCount('{TEXT}');
console.log((performance.now() - t0) / {CALLS} * 1000);"""
    (folder / "bench.mjs").write_text(script)
    node_us = float(subprocess.run(["node", "bench.mjs"], cwd=folder, check=True, capture_output=True,
                                   text=True).stdout)  # fmt: skip

    from IPython.testing.globalipapp import start_ipython

    ip = start_ipython()
    ip.run_line_magic("load_ext", "asterai_kernel")
    with contextlib.redirect_stdout(io.StringIO()):
        ip.run_cell_magic("asterai", GEO.split("\n", 1)[0][len("%%asterai ") :], GEO.split("\n", 1)[1])
    fn = ip.user_ns["word_count"]
    py_us = per_call(lambda: fn(TEXT), 20_000) * 1e6
    native_us = per_call(lambda: len(TEXT.split()), 20_000) * 1e6
    print(f"word_count from Node.js (jco):   {node_us:6.2f} us/call")
    print(f"word_count from the notebook:    {py_us:6.2f} us/call   node / notebook = {node_us / py_us:.2f}")
    print(f"len(text.split()) in Python:     {native_us:6.2f} us/call")


if __name__ == "__main__":
    main()
