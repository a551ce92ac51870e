"""Python cells that use other components (`--use`): `import NAME` in the cell calls NAME's live instance."""

from __future__ import annotations

import contextlib
import io

import pytest

from asterai_kernel import CompileError, GuestTrap, interpreted
from asterai_kernel.interpreted import InterpretedComponent
from asterai_kernel.languages.python.plugin import check_use_name
from asterai_kernel.session import get_session

GEO = """
use std::sync::atomic::{AtomicU64, Ordering};
static CALLS: AtomicU64 = AtomicU64::new(0);
pub struct Point { pub x: f64, pub y: f64 }
pub fn word_count(text: &str) -> u32 { CALLS.fetch_add(1, Ordering::SeqCst); text.split_whitespace().count() as u32 }
pub fn calls() -> u64 { CALLS.load(Ordering::SeqCst) }
pub fn greet(name: &str) -> String { format!("hello, {name}") }
pub fn mid(a: Point, b: Point) -> Point { Point { x: (a.x + b.x) / 2.0, y: (a.y + b.y) / 2.0 } }
pub fn maybe(x: Option<u32>) -> Option<String> { x.map(|v| format!("got {v}")) }
pub fn parse(s: &str) -> Result<u32, String> { s.parse::<u32>().map_err(|e| e.to_string()) }
pub fn boom(x: u32) -> u32 { if x > 1 { panic!("geo exploded at {x}") } x }
"""

USER = """
import dataclasses

import geo_py


def words(texts: list[str]) -> int:
    return sum(geo_py.word_count(t) for t in texts)


def greeting(name: str) -> str:
    return geo_py.greet(name) + "!"


def center(x: float, y: float) -> str:
    m = geo_py.mid(geo_py.Point(x=0.0, y=0.0), geo_py.Point(x=x, y=y))
    return f"{type(m).__name__} {dataclasses.is_dataclass(m)} {m.x} {m.y}"


def maybes(x: int) -> str:
    return f"{geo_py.maybe(x)!r} {geo_py.maybe(None)!r}"


def parsed(s: str) -> int:
    try:
        return geo_py.parse(s)
    except geo_py.Err as e:
        return -len(e.value)


def provider_calls() -> int:
    return geo_py.calls()


def via_boom(x: int) -> int:
    return geo_py.boom(x) + 1
"""


def run(ip, line: str, source: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        ip.run_cell_magic("asterai", line, source)
    return out.getvalue()


@pytest.fixture(scope="module", params=["shared", "own"])
def linked(request, ip):
    """The consumer on the shared interpreter (runner_links.py) and in a component of its own (links.py):
    the same behaviour on both paths."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(interpreted.ENV, "1" if request.param == "shared" else "0")
        run(ip, "rust geo_py", GEO)
        run(ip, "python user_py --use geo_py", USER)
    live = get_session().components["user_py"]
    assert isinstance(live, InterpretedComponent) == (request.param == "shared")
    return ip.user_ns


def test_python_calls_a_rust_component(linked):
    ns = linked
    assert ns["greeting"]("ada") == "hello, ada!"
    assert ns["center"](4.0, 2.0) == "Point True 2.0 1.0"
    assert ns["maybes"](7) == "'got 7' None"
    assert ns["parsed"]("42") == 42
    assert ns["parsed"]("x") == -len("invalid digit found in string")


def test_provider_state_is_shared_live(linked):
    ns = linked
    before = ns["geo_py"].calls()
    assert ns["words"](["a b", "c d e"]) == 5
    assert ns["geo_py"].calls() == before + 2  # the notebook sees the consumer's calls
    ns["geo_py"].word_count("x")
    assert ns["provider_calls"]() == before + 3  # and the consumer sees the notebook's


def test_provider_trap_names_the_provider(linked):
    ns = linked
    assert ns["via_boom"](1) == 2
    with contextlib.redirect_stderr(io.StringIO()), pytest.raises(GuestTrap, match="geo_py.boom trapped"):
        ns["via_boom"](5)
    with contextlib.redirect_stderr(io.StringIO()), pytest.raises(GuestTrap, match="geo exploded at 5"):
        ns["via_boom"](5)
    assert ns["greeting"]("again") == "hello, again!"  # both components still work afterwards


@pytest.mark.parametrize(
    ("name", "why"),
    [("os", "would hide the one Python"), ("json", "would hide the one Python"),
     ("wit_world", "would hide the one Python"), ("asterai_app", "would hide the one Python"),
     ("class", "not a name Python can import")],
)  # fmt: skip
@pytest.mark.no_toolchain
def test_names_that_shadow_modules_are_refused(name, why):
    with pytest.raises(CompileError, match=why):
        check_use_name(name)
    check_use_name("geo_py")


def test_shadowing_provider_refused_in_a_cell(ip):
    run(ip, "rust json", "pub fn one() -> u32 { 1 }\n")
    with pytest.raises(CompileError, match=r"--use json: .*give that component another name"):
        run(ip, "python bad_user_py --use json", "def f() -> int:\n    return 1\n")
