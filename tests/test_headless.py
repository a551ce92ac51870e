"""Headless runs: papermill runs a tutorial on the Asterai kernel with injected parameters. A cell's language
is in its own text (`%%asterai rust`), never in notebook or cell metadata, so any client runs it alike."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import papermill
import pytest

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _printed(cell) -> str:
    return ANSI.sub("", "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream"))


def test_papermill_runs_a_tutorial_with_parameters(tmp_path):
    out = tmp_path / "ran.ipynb"
    papermill.execute_notebook(
        str(NOTEBOOKS / "08-under-the-hood.ipynb"), str(out), kernel_name="asterai", cwd=str(NOTEBOOKS),
        parameters={"sample": "one two three four five six seven"}, progress_bar=False,
    )  # fmt: skip
    nb = nbformat.read(out, as_version=4)
    cells = {c.id: c for c in nb.cells}
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1 and "sample = " in injected[0].source
    # the parameter reached the component, in the notebook and in Node.js alike
    assert _printed(cells["node"]) == "Node.js: 7 WORDS\nthis notebook: 7 WORDS\n"
    assert nb.metadata.papermill.parameters == {"sample": "one two three four five six seven"}


@pytest.mark.no_toolchain
def test_the_tutorials_keep_cell_languages_in_the_cells():
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            assert not {"language", "vscode", "polyglot_notebook"} & set(cell.metadata), (path.name, cell.id)
    tagged = nbformat.read(NOTEBOOKS / "08-under-the-hood.ipynb", as_version=4)
    assert [c.id for c in tagged.cells if "parameters" in c.metadata.get("tags", [])] == ["parameters"]
