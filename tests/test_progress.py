"""Build progress as the user sees it: one display updated in place; counted steps drawn as a bar."""

from __future__ import annotations

import pytest
from IPython.utils.capture import capture_output

from asterai_kernel.progress import BuildProgress, step_bundle

pytestmark = pytest.mark.no_toolchain


def test_a_step_shows_its_text_and_the_time_waited():
    assert step_bundle("componentizing with QuickJS", 3.2) == {
        "text/plain": "componentizing with QuickJS [3 s]"
    }


def test_a_counted_step_is_a_bar_in_html_and_in_text():
    shown = step_bundle("Rust standard library for WebAssembly (once) [6/24] alloc", 41)
    assert '<progress value="6" max="24"' in shown["text/html"]
    assert shown["text/html"].startswith("Rust standard library for WebAssembly (once) <progress")
    assert shown["text/html"].endswith("6/24 alloc [41 s]")
    bar = shown["text/plain"].split("[")[1].split("]")[0]
    assert len(bar) == 30 and bar.count("#") == 7  # 6 of 24 of a 30-character bar


def test_a_count_past_its_total_stays_a_full_bar():
    bar = step_bundle("[30/24] extra", 0)["text/plain"].split("]")[0]
    assert bar == "[" + "#" * 30


def test_the_build_display_is_updated_in_place_then_emptied(ip):  # ip: the session's IPython shell
    with capture_output() as captured, BuildProgress(live=True) as progress:
        progress("compiling")
        progress("std [1/2] core")
        progress("std [2/2] alloc")
    bundles = [out.data for out in captured.outputs]
    assert bundles[0]["text/plain"].startswith("compiling [")
    # (the ticker may add refreshes in between: it redraws the elapsed time every second)
    assert any('<progress value="2" max="2"' in b.get("text/html", "") for b in bundles)
    assert bundles[-1] == {"text/plain": ""}  # the summary (or the error) takes its place
