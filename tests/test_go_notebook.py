"""notebooks/04-go.ipynb runs clean on the Asterai kernel and prints what it teaches."""

from __future__ import annotations

import pytest
from test_notebooks import execute


@pytest.fixture(scope="module")
def go_nb():
    return execute("04-go.ipynb")


def test_go_component_and_calls(go_nb):
    out = go_nb["go-component"]
    assert "text: go component" in out
    assert (
        "analyze(s: string) -> result<stats, string>" in out and "initial(s: string) -> option<char>" in out
    )
    assert go_nb["go-calls"] == ("4\nStats(words=4, longest='THINGS', upper=True)\n4 THINGS True\né None\n")


def test_go_errors_and_panics(go_nb):
    assert go_nb["go-error"] == "error: nothing to analyze\n2\n"
    out = go_nb["go-panic"]
    assert "trapped: runtime error: index out of range [5] with length 2 (at line 39)" in out
    assert "after the restart: b" in out


def test_go_rerun_comes_from_the_cache(go_nb):
    assert "text (replaced): go component, from cache" in go_nb["go-rerun"]


def test_go_cell_uses_a_rust_component(go_nb):
    assert "geo: rust component" in go_nb["go-use-provider"]
    out = go_nb["go-use-consumer"]
    assert (
        "trip: go component" in out
        and "route(stops: list<string>, feet: bool) -> result<string, string>" in out
    )
    assert go_nb["go-use-calls"] == (
        "3 stops, 9.0 metric\n"
        "3 stops, 29.5 imperial\n"
        'error: stop "oops": expected x,y\n'
        "distances geo computed: 4\n"  # the Go cell's calls reached geo's live instance
    )


def test_go_cell_exports_take_the_providers_types(go_nb):
    out = go_nb["go-use-exports"]
    assert "plan: go component" in out
    assert (
        "midpoint(a: point, b: point) -> point" in out
        and "farthest(ps: list<point>, unit: unit) -> option<point>" in out
    )
    assert go_nb["go-use-exports-calls"] == (
        "Point(x=1.5, y=2.0) True\n"  # the class of geo's own records
        "Point(x=-3.0, y=0.0)\n"
        "None\n"
        "7.5\n"
    )


def test_go_flags(go_nb):
    assert "files: go component" in go_nb["go-flags"]
    assert "read_only(f: file) -> file" in go_nb["go-flags"]
    assert go_nb["go-flags-calls"] == (
        "Perms.read True\nPerms.read|exec\n"
        "ValueError: parameter 'f'.perms has 'reed', which is not a flag of perms (read, write, exec)\n"
    )
