"""Shared fixtures: one in-process IPython shell with the asterai magics loaded; the test tiers.

Every test needs a guest language's toolchain (marker `toolchain`) unless it is marked `no_toolchain`:
`pytest -m "not toolchain"` is the fast tier, which runs without any guest compiler.

The suite must pass on an empty cache and on one warm from earlier runs (CI's cache outlives the suite). A
test that needs a cold build or cold machine code gives its cell a new constant its code returns: a new
comment changes the cache key of the build but, for Rust, C and Go, not the component's bytes, whose
machine code is then found cached.
"""

from __future__ import annotations

import contextlib
import io
import subprocess
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def ip():
    from IPython.testing.globalipapp import start_ipython

    shell = start_ipython()
    shell.run_line_magic("load_ext", "asterai_kernel")
    return shell


class Cell:
    """Runs a %%asterai cell and keeps what it printed."""

    def __init__(self, ip):
        self.ip = ip

    def __call__(self, line: str, source: str) -> str:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            self.ip.run_cell_magic("asterai", line, source)
        self.stderr = err.getvalue()
        return out.getvalue()

    def line(self, line: str) -> str:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            self.ip.run_line_magic("asterai", line)
        return out.getvalue()


@pytest.fixture
def cell(ip):
    return Cell(ip)


@pytest.fixture
def ns(ip):
    return ip.user_ns


def wat_component(folder: Path, name: str, text: str) -> Path:
    """`folder/NAME.wasm` made with wasm-tools from WAT text: the fast tier's components need no compiler."""
    from asterai_kernel.toolchains import wasm_tools

    (folder / f"{name}.wat").write_text(text)
    subprocess.run([wasm_tools(), "parse", f"{name}.wat", "-o", f"{name}.wasm"], cwd=folder, check=True)
    return folder / f"{name}.wasm"


def pytest_collection_modifyitems(items):
    for item in items:
        if item.get_closest_marker("no_toolchain") is None:
            item.add_marker(pytest.mark.toolchain)


def pytest_report_header(config):
    if config.option.markexpr == "not toolchain":
        return "fast tier: the tests that need no guest compiler"


@pytest.fixture(scope="module")
def providers(ip):
    """The namespace, holding py_bank and rs_bank (test_use_resources.py): components exporting a resource,
    which the test_use_resources* modules' consumer cells of every language `--use`."""
    from test_use_resources import BANK_PY, BANK_RS

    cell = Cell(ip)
    cell("python py_bank", BANK_PY)
    cell("rust rs_bank", BANK_RS)
    return ip.user_ns
