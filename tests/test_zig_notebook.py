"""notebooks/11-zig.ipynb runs clean on the Asterai kernel and prints what it teaches."""

from __future__ import annotations

import pytest
from test_notebooks import execute


@pytest.fixture(scope="module")
def zig_nb():
    return execute("11-zig.ipynb")


def test_zig_component_and_calls(zig_nb):
    out = zig_nb["zig-component"]
    assert "text: zig component" in out and "word_count(text: string) -> u32" in out
    assert "mean(xs: list<f64>) -> option<f64>" in out
    assert zig_nb["zig-calls"] == (
        "4\nnotebook\n2.6666666666666665 None\nTypeError: parameter 'text' must be a str, not int\n"
    )


def test_zig_types_and_errors(zig_nb):
    assert "parse_port(text: string) -> result<u16, string>" in zig_nb["zig-types"]
    assert zig_nb["zig-types-calls"] == (
        "Point(x=2.0, y=1.0)\ndark-red blue\n3.1416 6.0 0.0\n8080\n"
        "ComponentError: InvalidCharacter\nComponentError: Overflow\n"  # the Zig errors' names
    )


def test_zig_memory_and_output(zig_nb):
    assert zig_nb["zig-memory-calls"] == "HELLO, ZIG\n3 names read\n3 initials made\nAGL\nTrue\n"


def test_zig_panics_restart_only_that_component(zig_nb):
    out = zig_nb["zig-panic-calls"]
    assert out.startswith("1 2\n")
    assert "trapped: index out of bounds: index 5, len 2\n" in out
    assert out.endswith("after the restart: 20 1\nthe other components are fine: 2\n")
    assert "counter (replaced): zig component, from cache" in zig_nb["zig-rerun"]


def test_zig_cell_uses_a_rust_component(zig_nb):
    out = zig_nb["zig-use-consumer"]
    assert "trip: zig component" in out
    assert "route(stops: list<string>, feet: bool) -> result<string, string>" in out
    assert "midpoint(a: point, b: point) -> point" in out
    assert zig_nb["zig-use-calls"] == (
        "3 stops, 9.0 metric\n"
        "3 stops, 29.5 imperial\n"
        "stop oops: expected x,y\n"
        "ComponentError: BadStop\n"
        "distances geo computed: 4\n"  # the Zig cell's calls reached geo's live instance
        "Point(x=1.5, y=2.0) True\n"  # the class of geo's own records
    )


def test_zig_sandbox(zig_nb):
    lines = zig_nb["zig-sandbox"].splitlines()
    assert "reader: zig component" in zig_nb["zig-sandbox"] and "grants: read /tmp/" in zig_nb["zig-sandbox"]
    assert lines[-4:] == [
        "refused: NotGranted",
        "refused: NotGranted",
        "remember the milk",
        "refused: NotGranted",
    ]


def test_zig_flags(zig_nb):
    assert "files: zig component" in zig_nb["zig-flags"]
    assert "read_only(f: file) -> file" in zig_nb["zig-flags"]
    assert zig_nb["zig-flags-calls"] == (
        "Perms.read True\nPerms.read|exec\n"
        "ValueError: parameter 'f'.perms has 'reed', which is not a flag of perms (read, write, exec)\n"
    )
