"""`asterai build NOTEBOOK`: a notebook's components as files, its Python cells never run; bad input refused."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from plain_host import PlainHost

from asterai_kernel.cli import main

SHAPES = """%%asterai rust shapes
pub struct Point { pub x: f64, pub y: f64 }
pub enum Color { Red, DarkRed }
pub fn middle(a: Point, b: Point) -> Point { Point { x: (a.x + b.x) / 2.0, y: (a.y + b.y) / 2.0 } }
pub fn word_count(text: &str) -> u32 { text.split_whitespace().count() as u32 }
pub fn darker(c: Color) -> Vec<Color> { vec![c, Color::DarkRed] }"""

REPORT = """%%asterai rust report --use shapes --allow-read {folder}:/data --env TOKEN --timeout 2 --max-memory 64MiB
pub fn report(text: &str) -> String { format!("{} words", shapes::word_count(text)) }"""

BROKEN = """%%asterai rust broken
pub fn seven() -> u32 { seven_ }"""

PRICING_WIT = """%%asterai wit
package demo:shop@1.0.0;
interface pricing { total: func(unit: u32, qty: u16) -> u32; }"""

PRICED = """%%asterai rust --exports pricing
pub fn total(unit: u32, qty: u16) -> u32 { unit * qty as u32 }"""


def notebook(path: Path, *sources: str, marker: Path | None = None) -> Path:
    """A notebook of these cells; a Python cell between them would write `marker` if it ever ran."""
    nb = new_notebook()
    nb.cells = [new_markdown_cell("# a project")]
    for source in sources:
        nb.cells.append(new_code_cell(source))
        if marker is not None:
            nb.cells.append(new_code_cell(f"open({str(marker)!r}, 'a').write('ran')\nraise SystemExit(3)"))
    nbformat.write(nb, path)
    return path


def build(capsys, *args) -> tuple[int, str, str]:
    code = main(["build", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def test_build_writes_components_wit_composed_and_manifest(tmp_path, capsys):
    marker = tmp_path / "python-ran"
    nb = notebook(tmp_path / "project.ipynb", SHAPES, REPORT, BROKEN, PRICING_WIT, PRICED, marker=marker)
    out = tmp_path / "dist"
    code, stdout, stderr = build(capsys, nb, "-o", out)

    assert code == 1  # one cell failed, the rest were built and written
    assert not marker.exists()  # no Python cell ran
    assert "error: cell 6 (id " in stderr and "`%%asterai rust broken` failed to build:" in stderr
    assert "cannot find value `seven_`" in stderr
    assert stdout == f"wrote 3 components and manifest.json to {out}\n"
    assert sorted(p.name for p in out.iterdir()) == [
        "manifest.json", "report.composed.wasm", "report.wasm", "report.wit", "rust_1.wasm", "rust_1.wit",
        "shapes.wasm", "shapes.wit",
    ]  # fmt: skip
    assert not list(tmp_path.glob(".dist.*"))  # no staging folder left behind

    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["notebook"] == "project.ipynb"
    by_name = {c["name"]: c for c in manifest["components"]}
    assert list(by_name) == ["shapes", "report", "rust_1"]  # notebook order; an unnamed cell is LANG_N
    shapes, report, priced = by_name["shapes"], by_name["report"], by_name["rust_1"]
    assert shapes["language"] == "rust" and shapes["interface"] == "asterai:cells/shapes"
    assert [e["wit"] for e in shapes["exports"]] == [
        "middle: func(a: point, b: point) -> point",
        "word-count: func(text: string) -> u32",
        "darker: func(c: color) -> list<color>",
    ]
    assert shapes["imports"] == [] and "composed" not in shapes
    assert report["uses"] == ["shapes"] and report["imports"] == ["asterai:cells/shapes"]
    assert report["composed"]["wasm"] == "report.composed.wasm" and report["composed"]["imports"] == []
    # grants as written on the magic line (not looked up here), limits checked and normalised
    assert report["grants"] == {"allow_read": ["{folder}:/data"], "allow_write": [], "env": ["TOKEN"],
                                "allow_net": []}  # fmt: skip
    assert report["limits"] == {"timeout": 2.0, "fuel": None, "max_memory": "64MiB"}
    assert priced["implements"] == ["demo:shop/pricing@1.0.0"]
    for entry in [*manifest["components"], report["composed"]]:
        assert hashlib.sha256((out / entry["wasm"]).read_bytes()).hexdigest() == entry["sha256"]
    assert all(isinstance(c["cached"], bool) and c["build_seconds"] >= 0 for c in manifest["components"])
    [failed] = manifest["failed"]
    assert failed["cell"] == 6 and failed["magic"] == "%%asterai rust broken"
    assert "cannot find value `seven_`" in failed["error"]
    assert "export asterai:cells/shapes;" in (out / "shapes.wit").read_text()

    # the composed file needs nothing but WASI: a host that knows nothing of the notebook runs it
    host = PlainHost(out / "report.composed.wasm")
    assert host.func("asterai:cells/report", "report")("a b c") == "3 words"
    plain = PlainHost(out / "shapes.wasm")
    assert plain.func("asterai:cells/shapes", "word-count")("one two") == 2


def test_build_reads_languages_from_the_cells_not_the_metadata(tmp_path, capsys):
    """Any client: with every notebook and cell metadata stripped, the same components come out."""
    nb_path = notebook(tmp_path / "a.ipynb", SHAPES, REPORT)
    assert build(capsys, nb_path, "-o", tmp_path / "a")[0] == 0
    nb = nbformat.read(nb_path, as_version=4)
    nb.metadata = {}
    for cell in nb.cells:
        cell.metadata = {}
    nbformat.write(nb, tmp_path / "bare.ipynb")
    assert build(capsys, tmp_path / "bare.ipynb", "-o", tmp_path / "b")[0] == 0
    hashes = [{c["name"]: c["sha256"] for c in json.loads((tmp_path / d / "manifest.json").read_text())
               ["components"]} for d in "ab"]  # fmt: skip
    assert hashes[0] == hashes[1] and set(hashes[0]) == {"shapes", "report"}


def test_only_builds_the_named_components_and_their_providers(tmp_path, capsys):
    nb = notebook(tmp_path / "p.ipynb", SHAPES, BROKEN, REPORT)
    out = tmp_path / "dist"
    code, stdout, _ = build(capsys, nb, "-o", out, "--only", "report")
    assert code == 0  # the broken cell is not asked for
    assert stdout == f"wrote 2 components and manifest.json to {out}\n"
    names = [c["name"] for c in json.loads((out / "manifest.json").read_text())["components"]]
    assert names == ["shapes", "report"]
    # building again into the same folder replaces it whole
    assert build(capsys, nb, "-o", out, "--only", "shapes")[0] == 0
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json", "shapes.wasm", "shapes.wit"]


def test_a_use_of_a_component_not_defined_above_or_broken_names_the_cells(tmp_path, capsys):
    late = "%%asterai rust early --use later\npub fn f() -> u32 { later::g() }"
    uses_broken = "%%asterai rust needy --use broken\npub fn f() -> u32 { broken::seven() }"
    nb = notebook(
        tmp_path / "p.ipynb", late, "%%asterai rust later\npub fn g() -> u32 { 1 }", BROKEN, uses_broken
    )
    code, _, stderr = build(capsys, nb, "-o", tmp_path / "out")
    assert code == 1
    assert "`%%asterai rust early --use later` failed to build:" in stderr
    assert "--use later: no cell above defines 'later'" in stderr
    assert "--use broken: broken did not build (cell 4 (id " in stderr


# ---- bad input: a clear message, nothing written (fast tier: refused before any compiler runs) ----
@pytest.mark.no_toolchain
def test_a_missing_path_or_a_folder_is_refused(tmp_path, capsys):
    code, _, err = build(capsys, tmp_path / "nope.ipynb")
    assert (
        code == 1
        and err
        == f"error: {tmp_path / 'nope.ipynb'}: no such file; give the path of a Jupyter notebook (.ipynb)\n"
    )
    code, _, err = build(capsys, tmp_path)
    assert code == 1 and "is a folder; give the path of a Jupyter notebook" in err


@pytest.mark.no_toolchain
@pytest.mark.parametrize("text", ["not json at all", '{"cells": 3}', "[]"])
def test_a_file_that_is_not_a_notebook_is_refused(tmp_path, capsys, text):
    path = tmp_path / "x.ipynb"
    path.write_text(text)
    code, _, err = build(capsys, path, "-o", tmp_path / "out")
    assert code == 1 and err.startswith(f"error: {path} is not a Jupyter notebook (.ipynb): ")
    assert not (tmp_path / "out").exists()


@pytest.mark.no_toolchain
def test_only_a_component_the_notebook_does_not_define_is_refused(tmp_path, capsys):
    nb = notebook(tmp_path / "p.ipynb", SHAPES, REPORT)
    out = tmp_path / "out"
    out.mkdir()
    (out / "manifest.json").write_text("{}")  # an earlier build's folder: left as it was
    code, _, err = build(capsys, nb, "-o", out, "--only", "report", "sahpes")
    assert code == 1
    assert err == ("error: --only sahpes: the notebook defines no such component (it defines: shapes, "
                   "report)\n")  # fmt: skip
    assert [p.name for p in out.iterdir()] == ["manifest.json"] and not list(tmp_path.glob(".out.*"))


@pytest.mark.no_toolchain
def test_an_output_folder_that_cannot_be_written_is_refused(tmp_path, capsys):
    nb = notebook(tmp_path / "p.ipynb", SHAPES)
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    code, _, err = build(capsys, nb, "-o", blocker / "out")
    assert code == 1 and err.startswith(f"error: -o {blocker / 'out'}: cannot write there (")
    code, _, err = build(capsys, nb, "-o", blocker)
    assert code == 1 and "it is a file; give a folder" in err
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "notes.txt").write_text("mine")
    code, _, err = build(capsys, nb, "-o", theirs)
    assert code == 1 and "holds files asterai build did not write" in err
    assert [p.name for p in theirs.iterdir()] == ["notes.txt"]


@pytest.mark.no_toolchain
def test_a_notebook_of_wit_and_python_cells_builds_an_empty_manifest(tmp_path, capsys):
    marker = tmp_path / "ran"
    nb = notebook(tmp_path / "p.ipynb", PRICING_WIT, "%%time\nx = 1", marker=marker)
    code, stdout, _ = build(capsys, nb, "-o", tmp_path / "out")
    assert code == 0 and stdout == f"wrote 0 components and manifest.json to {tmp_path / 'out'}\n"
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["components"] == [] and manifest["failed"] == [] and not marker.exists()


def test_a_component_using_what_the_notebook_provides_lists_it_as_an_import(tmp_path, capsys):
    fetch = "%%asterai rust fetch --use net --allow-host example.org\npub fn get(url: &str) -> String { net::http_get(url).unwrap_or_default() }"
    assert build(capsys, notebook(tmp_path / "p.ipynb", fetch), "-o", tmp_path / "out")[0] == 0
    [entry] = json.loads((tmp_path / "out" / "manifest.json").read_text())["components"]
    assert entry["uses"] == ["net"] and entry["imports"] == ["asterai:cells/net"]
    assert "composed" not in entry and entry["grants"]["allow_net"] == ["example.org"]
    assert not (tmp_path / "out" / "fetch.composed.wasm").exists()
