"""A second host that shares no code with ours: exported components, transpiled by jco, called from Node.js.

Each component is built and called in the notebook session first; the same calls from Node must give the same
values. jco and the WASI shim are the ones `asterai setup typescript` installed (offline); Node is Debian's.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from asterai_kernel.toolchains import npm_dir

MODULES = npm_dir("typescript") / "node_modules"
JCO = MODULES / ".bin" / "jco"

SHAPES = """pub struct Point { pub x: f64, pub y: f64 }
pub enum Color { Red, DarkRed, Blue }
pub fn middle(a: Point, b: Point) -> Point { Point { x: (a.x + b.x) / 2.0, y: (a.y + b.y) / 2.0 } }
pub fn darker(c: Color) -> Vec<Color> { vec![c, Color::DarkRed] }
pub fn around(p: Point, d: f64) -> Vec<Point> { vec![Point { x: p.x - d, y: p.y }, Point { x: p.x + d, y: p.y }] }
pub fn find(words: Vec<String>, w: String) -> Option<u32> { words.iter().position(|x| *x == w).map(|i| i as u32) }
pub fn word_count(text: &str) -> u32 { text.split_whitespace().count() as u32 }
"""

TEXT_PY = """from dataclasses import dataclass


@dataclass
class Stats:
    words: int
    longest: str


def analyze(text: str) -> Stats:
    words = text.split()
    return Stats(len(words), max(words, key=len))


def initials(names: list[str]) -> str:
    return "".join(n[0] for n in names)
"""

GREET_TS = """export interface Greeting { text: string; loud: boolean }
export function greet(name: string, times: u32): Greeting {
  return { text: `hello ${name}`.repeat(times), loud: times > 2 };
}
export function total(xs: number[]): number { return xs.reduce((a, b) => a + b, 0); }
"""

REPORT_RS = """pub fn report(text: &str) -> String {
    let m = node_shapes::middle(node_shapes::Point { x: 0.0, y: 0.0 }, node_shapes::Point { x: 2.0, y: 4.0 });
    format!("{} words, middle ({}, {})", node_shapes::word_count(text), m.x, m.y)
}
"""


def plain(value):
    """A notebook value as JSON sees it, which is how Node prints jco's values."""
    if dataclasses.is_dataclass(value):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


@pytest.fixture(scope="module")
def node_dir(tmp_path_factory):
    """A folder where Node finds the WASI shim jco's modules import (as `npm install` would put it)."""
    if not JCO.exists() or shutil.which("node") is None:
        pytest.fail(f"jco or Node.js is missing: run `asterai setup typescript` ({JCO})")
    folder = tmp_path_factory.mktemp("node-host")
    (folder / "node_modules").symlink_to(MODULES)
    return folder


def transpile(wasm: Path) -> Path:
    out = wasm.with_name(f"{wasm.stem}-js")
    done = subprocess.run([str(JCO), "transpile", str(wasm), "-o", str(out)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return out / f"{wasm.stem}.js"


# componentize-py's components use extended constant expressions, which Node 20 (Debian's) runs only with
# this flag; a pure wasm-tools check in composition.node_flags decides when the printed lines need it.
NODE = ["node", "--experimental-wasm-extended-const"]
SHOW = "const show = (v) => console.log(JSON.stringify(v ?? null, (k, x) => typeof x === 'bigint' ? Number(x) : x));"


def node(folder: Path, script: str) -> list:
    """Run an ES module in Node; it prints one JSON value per line (`show(value)`)."""
    (folder / "run.mjs").write_text(f"{SHOW}\n{script}")
    done = subprocess.run([*NODE, "run.mjs"], cwd=folder, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def export(cell, name: str, folder: Path, *flags: str) -> Path:
    cell.line(f"export {name} {folder / name}.wasm {' '.join(flags)}")
    return folder / f"{name}.wasm"


def test_rust_records_enums_lists_and_options_match_in_node(cell, ns, node_dir):
    cell("rust node_shapes", SHAPES)
    s = ns["node_shapes"]
    expected = [
        s.middle({"x": 1.0, "y": 2.0}, {"x": 3.0, "y": 5.0}),
        s.darker("blue"),
        s.around({"x": 1.0, "y": 1.0}, 0.5),
        s.find(["a", "b", "c"], "c"),
        s.find(["a"], "z"),
        s.word_count("the quick brown fox"),
    ]
    module = transpile(export(cell, "node_shapes", node_dir))
    got = node(
        node_dir,
        f"""import {{ nodeShapes as s }} from '{module}';
show(s.middle({{x: 1, y: 2}}, {{x: 3, y: 5}}));
show(s.darker('blue'));
show(s.around({{x: 1, y: 1}}, 0.5));
show(s.find(['a', 'b', 'c'], 'c'));
show(s.find(['a'], 'z'));
show(s.wordCount('the quick brown fox'));
""",
    )
    assert got == [plain(v) for v in expected]
    assert got[0] == {"x": 2.0, "y": 3.5} and got[1] == ["blue", "dark-red"] and got[4] is None


def test_a_python_cell_runs_in_node(cell, ns, node_dir):
    cell("python node_text", TEXT_PY)
    expected = [ns["node_text"].analyze("a component model notebook"), ns["initials"](["Ada", "Grace"])]
    module = transpile(export(cell, "node_text", node_dir))
    got = node(
        node_dir,
        f"""import {{ nodeText }} from '{module}';
show(nodeText.analyze('a component model notebook'));
show(nodeText.initials(['Ada', 'Grace']));
""",
    )
    assert got == [plain(v) for v in expected] == [{"words": 4, "longest": "component"}, "AG"]


def test_a_typescript_cell_runs_in_node(cell, ns, node_dir):
    cell("typescript node_greet", GREET_TS)
    expected = [ns["greet"]("ada", 3), ns["node_greet"].total([1.5, 2.25, 3])]
    module = transpile(export(cell, "node_greet", node_dir))
    got = node(
        node_dir,
        f"""import {{ nodeGreet }} from '{module}';
show(nodeGreet.greet('ada', 3));
show(nodeGreet.total([1.5, 2.25, 3]));
""",
    )
    assert got == [plain(v) for v in expected]
    assert got[0] == {"text": "hello adahello adahello ada", "loud": True} and got[1] == 6.75


def test_a_composed_consumer_runs_in_node_with_its_provider_inside(cell, ns, node_dir):
    cell("rust node_shapes", SHAPES)
    cell("rust node_report --use node_shapes", REPORT_RS)
    expected = ns["node_report"].report("one two three")
    wasm = export(cell, "node_report", node_dir, "--composed")
    module = transpile(wasm)
    got = node(
        node_dir,
        f"""import {{ nodeReport }} from '{module}';
show(nodeReport.report('one two three'));
""",
    )
    assert got == [expected] == ["3 words, middle (1, 2)"]


def run_printed_lines(cell, name: str, folder: Path) -> str:
    """`%asterai export`'s two lines, run as a user would (jco from the set-up instead of npx's download)."""
    out = cell.line(f"export {name} {folder / name}.wasm")
    transpile_line, node_line = [line.strip() for line in out.splitlines()[-2:]]
    assert transpile_line.startswith("npx @bytecodealliance/jco transpile ")
    assert node_line.startswith("node ") and "--input-type=module -e " in node_line
    local = transpile_line.replace("npx @bytecodealliance/jco", str(JCO), 1)
    subprocess.run(local, shell=True, check=True, capture_output=True, cwd=folder)
    ran = subprocess.run(node_line, shell=True, capture_output=True, text=True, cwd=folder)
    assert ran.returncode == 0, ran.stderr
    return ran.stdout.strip()


def test_export_prints_the_lines_that_run_it_in_node(cell, ns, node_dir):
    cell("rust node_words", "pub fn count_words(text: &str, min_len: u32) -> u32 {\n"
         "    text.split_whitespace().filter(|w| w.len() as u32 >= min_len).count() as u32\n}\n")  # fmt: skip
    # a call with sample values: 'hello world' and 1
    assert run_printed_lines(cell, "node_words", node_dir) == str(ns["count_words"]("hello world", 1)) == "2"
    # a record parameter has no sample value: the line lists the exports instead
    cell("rust node_shapes", SHAPES)
    listed = run_printed_lines(cell, "node_shapes", node_dir)
    assert listed == "[ 'around', 'darker', 'find', 'middle', 'wordCount' ]"  # a module's names, sorted
    # a Python cell's component: the node line carries the flag Node 20 needs for it
    cell("python node_text", TEXT_PY)
    stats = ns["node_text"].analyze("hello world")
    assert (
        run_printed_lines(cell, "node_text", node_dir)
        == f"{{ words: {stats.words}n, longest: '{stats.longest}' }}"
    )
