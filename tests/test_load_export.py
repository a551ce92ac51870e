"""`%asterai load` (components made elsewhere) and `%asterai export` (components for elsewhere)."""

from __future__ import annotations

import subprocess

import pytest

from asterai_kernel import AsteraiError
from asterai_kernel.toolchains import wasm_tools

ADDER_WAT = """
(component
  (core module $m
    (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
    (func (export "neg") (param f64) (result f64) local.get 0 f64.neg))
  (core instance $i (instantiate $m))
  (func (export "add") (param "a" u32) (param "b" u32) (result u32) (canon lift (core func $i "add")))
  (func (export "negate") (param "x" f64) (result f64) (canon lift (core func $i "neg"))))
"""


def test_load_a_component_built_by_hand_from_wat(cell, ns, tmp_path):
    wat = tmp_path / "hand-made.wat"
    wat.write_text(ADDER_WAT)
    wasm = tmp_path / "hand-made.wasm"
    subprocess.run([str(wasm_tools()), "parse", str(wat), "-o", str(wasm)], check=True)
    out = cell.line(f"load {wasm}")
    assert out.startswith("hand_made: wasm component, loaded; exports add(a: u32, b: u32) -> u32")
    assert ns["add"](2, 40) == 42 and ns["hand_made"].negate(1.5) == -1.5
    with pytest.raises(OverflowError, match="parameter 'a'"):
        ns["add"](-1, 0)  # the same value layer: range-checked


def test_export_then_load_round_trip(cell, ns, tmp_path):
    cell("rust exported", "pub struct P { pub x: f64 }\npub fn double(p: P) -> P { P { x: p.x * 2.0 } }\n")
    out = cell.line(f"export exported {tmp_path / 'out' / 'exported.wasm'}")
    assert "wrote" in out
    wit_text = (tmp_path / "out" / "exported.wit").read_text()
    assert "export asterai:cells/exported" in wit_text and "double: func(p: p) -> p;" in wit_text
    cell.line(f"load {tmp_path / 'out' / 'exported.wasm'} reloaded")
    assert ns["reloaded"].double({"x": 2.0}).x == 4.0


def test_load_refuses_what_it_cannot_link(cell, tmp_path):
    with pytest.raises(AsteraiError, match="is not a file"):
        cell.line(f"load {tmp_path / 'missing.wasm'}")
    junk = tmp_path / "junk.wasm"
    junk.write_bytes(b"\x00asm-not-really")
    with pytest.raises(AsteraiError, match="not a WebAssembly component"):
        cell.line(f"load {junk}")


def test_export_composed_puts_the_providers_inside(cell, ns, tmp_path):
    from plain_host import PlainHost

    cell(
        "rust inner_geo", "pub fn word_count(text: &str) -> u32 { text.split_whitespace().count() as u32 }\n"
    )
    cell("rust inner_mark", 'pub fn mark() -> String { String::from("!") }\n')
    cell(
        "rust outer --use inner_geo,inner_mark",
        'pub fn outer(t: &str) -> String { format!("{}{}", inner_geo::word_count(t), inner_mark::mark()) }\n',
    )
    plain = cell.line(f"export outer {tmp_path / 'plain.wasm'}")
    assert "it imports inner_geo, inner_mark: --composed writes them into the file" in plain
    out = cell.line(f"export outer {tmp_path / 'whole.wasm'} --composed")
    assert "(composed with the components it uses)" in out
    host = PlainHost(tmp_path / "whole.wasm")  # nothing supplied: the provider is inside
    assert host.func("asterai:cells/outer", "outer")("a b") == ns["outer"].outer("a b") == "2!"
    assert "import asterai:cells/inner" not in (tmp_path / "whole.wit").read_text()  # both providers inside


def test_export_composed_refuses_what_only_the_notebook_provides(cell, tmp_path):
    cell(
        "rust fetcher --use net",
        "pub fn get(url: &str) -> String { net::http_get(url).unwrap_or_default() }\n",
    )
    plain = cell.line(f"export fetcher {tmp_path / 'plain.wasm'}")
    assert "it imports net, which the notebook provides: the host must supply it" in plain
    with pytest.raises(AsteraiError, match="fetcher uses net, which the notebook provides from Python"):
        cell.line(f"export fetcher {tmp_path / 'f.wasm'} --composed")
    assert not (tmp_path / "f.wasm").exists()
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(AsteraiError, match="cannot write"):
        cell.line(f"export fetcher {blocker / 'f.wasm'}")
