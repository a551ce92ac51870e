"""Python cells with `--use` on the shared interpreter (runner_links.py, languages/python/runner_uses.py):
the module `NAME` calls the provider's live instance through the runner's `host` import, for providers in
Rust and in Python; traps, re-runs and the cells that still get a component of their own."""

from __future__ import annotations

import pytest

import asterai_kernel
from asterai_kernel import CompileError, GuestTrap, Timeout, hostfns, interpreted, wit
from asterai_kernel.interpreted import InterpretedComponent
from asterai_kernel.languages import get_language
from asterai_kernel.languages.base import BuildJob
from asterai_kernel.session import get_session

SHAPES_RS = """
pub struct Point { pub x: f64, pub y: f64 }
pub enum Color { Red, DarkGreen }
pub fn mid(a: Point, b: Point) -> Point { Point { x: (a.x + b.x) / 2.0, y: (a.y + b.y) / 2.0 } }
pub fn name(c: Color) -> String { match c { Color::Red => "red".into(), Color::DarkGreen => "dark green".into() } }
pub fn darker(c: Color) -> Color { match c { _ => Color::DarkGreen } }
pub fn sum(xs: Vec<i32>) -> i64 { xs.iter().map(|&x| x as i64).sum() }
pub fn scale(xs: Vec<f64>, k: f64) -> Vec<f64> { xs.iter().map(|x| x * k).collect() }
pub fn shout(s: String) -> String { s.to_uppercase() }
pub fn maybe(x: Option<u32>) -> Option<String> { x.map(|v| format!("got {v}")) }
pub fn parse(s: &str) -> Result<u32, String> { s.parse::<u32>().map_err(|e| e.to_string()) }
pub fn boom(x: u32) -> u32 { if x > 1 { panic!("shapes exploded at {x}") } x }
pub fn blob(b: Vec<u8>) -> Vec<u8> { b.iter().rev().cloned().collect() }
pub fn pair(p: (u8, String)) -> (String, u8) { (p.1, p.0) }
"""

SHAPES_PY = """
from dataclasses import dataclass
from enum import Enum


@dataclass
class Point:
    x: float
    y: float


class Color(Enum):
    RED = "red"
    DARK_GREEN = "dark-green"


def mid(a: Point, b: Point) -> Point:
    return Point((a.x + b.x) / 2, (a.y + b.y) / 2)


def name(c: Color) -> str:
    return {Color.RED: "red", Color.DARK_GREEN: "dark green"}[c]


def darker(c: Color) -> Color:
    return Color.DARK_GREEN


def sum(xs: list[int]) -> int:
    return __builtins__["sum"](xs) if isinstance(__builtins__, dict) else __builtins__.sum(xs)


def scale(xs: list[float], k: float) -> list[float]:
    return [x * k for x in xs]


def shout(s: str) -> str:
    return s.upper()


def maybe(x: int | None) -> str | None:
    return None if x is None else f"got {x}"


def parse(s: str) -> int:
    return int(s)


def boom(x: int) -> int:
    if x > 1:
        raise RuntimeError(f"shapes exploded at {x}")
    return x


def blob(b: bytes) -> bytes:
    return b[::-1]


def pair(p: tuple[int, str]) -> tuple[str, int]:
    return (p[1], p[0])
"""

USER = """
import dataclasses

import {p}


def center(x: float, y: float) -> str:
    m = {p}.mid({p}.Point(x=0.0, y=0.0), {p}.Point(x=x, y=y))
    return f"{{type(m).__name__}} {{dataclasses.is_dataclass(m)}} {{m.x}} {{m.y}}"


def colors() -> str:
    c = {p}.darker({p}.Color.RED)
    return f"{{c!r}} {{{p}.name(c)}} {{{p}.name({p}.Color.RED)}}"


def lists(xs: list[int]) -> str:
    return f"{{{p}.sum(xs)}} {{{p}.scale([1.0, 2.5], 2.0)}}"


def text(s: str) -> str:
    return {p}.shout(s)


def maybes(x: int) -> str:
    return f"{{{p}.maybe(x)!r}} {{{p}.maybe(None)!r}}"


def bytes_and_tuples() -> str:
    data = bytes([0, 255, 97, 98]) * 300
    return f"{{{p}.blob(data)[:4]!r}} {{{p}.pair((7, 'x'))!r}}"


def via_boom(x: int) -> int:
    return {p}.boom(x) + 1


def bad_argument() -> str:
    try:
        {p}.shout(42)
    except TypeError as e:
        return str(e)
    return "accepted"


def too_big() -> str:
    try:
        {p}.maybe(2**70)
    except OverflowError as e:
        return str(e)
    return "accepted"
"""

PARSE_RS = "pub fn parse(s: &str) -> Result<u32, String> { s.parse::<u32>().map_err(|e| e.to_string()) }\n"
# The Rust provider's `result` error is its message; the Python provider's parse raises for "x".
USER_RESULT = """
import {p}


def parsed(s: str) -> int:
    try:
        return {p}.parse(s)
    except {p}.Err as e:
        return -len(e.value)
"""


def _live(name: str):
    return get_session().components[name]


@pytest.fixture(scope="module", params=["rust", "python"])
def shapes(request, ip):
    """A provider `shapes_<lang>` and a Python consumer `user_<lang>` of it, on the shared interpreter."""
    from conftest import Cell

    cell = Cell(ip)
    lang = request.param
    provider = f"shapes_{'rs' if lang == 'rust' else 'py'}"
    cell(f"{lang} {provider}", SHAPES_RS if lang == "rust" else SHAPES_PY)
    out = cell(f"python user_{provider} --use {provider}", USER.format(p=provider))
    return provider, f"user_{provider}", out, ip.user_ns


def test_a_consumer_runs_on_the_shared_interpreter(shapes):
    provider, user, out, _ = shapes
    assert f"{user}: python component, on the shared interpreter in " in out
    assert isinstance(_live(user), InterpretedComponent)
    assert _live(user).uses.keys() == {provider}
    assert get_session().consumers_of(provider) == [user]


def test_values_cross_both_ways(shapes):
    _, user, _, ns = shapes
    u = ns[user]
    assert u.center(4.0, 2.0) == "Point True 2.0 1.0"
    assert u.colors() == "<Color.DARK_GREEN: 1> dark green red"
    assert u.lists([1, 2, -3]) == "0 [2.0, 5.0]"
    assert u.text("héllo") == "HÉLLO"
    assert u.maybes(7) == "'got 7' None"
    assert u.bytes_and_tuples() == "b'ba\\xff\\x00' ('x', 7)"


def test_bad_arguments_raise_in_the_cell(shapes):
    provider, user, _, ns = shapes
    u = ns[user]
    assert u.bad_argument() == f"{provider}.shout(): parameter 's' must be a str, not int"
    assert (
        u.too_big().startswith(f"{provider}.maybe(): parameter 'x'") and "is out of range for" in u.too_big()
    )


def test_a_provider_trap_fails_the_call_and_restarts_the_provider_only(shapes, capsys):
    check_a_provider_trap(shapes)


def check_a_provider_trap(shapes) -> None:
    """The consumer's call into a trapping provider fails naming both; only the provider restarts (also
    test_typescript_shared_use's)."""
    provider, user, _, ns = shapes
    u = ns[user]
    before = (_live(provider).restarts, _live(user).restarts)
    assert u.via_boom(1) == 2
    with pytest.raises(
        GuestTrap, match=rf"{user}.via_boom trapped: {provider}.boom trapped: .*exploded at 5"
    ):
        u.via_boom(5)
    assert _live(provider).restarts == before[0] + 1
    assert u.via_boom(0) == 1 and ns[provider].boom(1) == 1  # both work afterwards


def test_a_result_error_raises_err(ip):
    from conftest import Cell

    cell = Cell(ip)
    cell("rust parse_rs", PARSE_RS)
    cell("python parse_user --use parse_rs", USER_RESULT.format(p="parse_rs"))
    assert isinstance(_live("parse_user"), InterpretedComponent)
    u = ip.user_ns["parse_user"]
    assert u.parsed("42") == 42
    assert u.parsed("x") == -len("invalid digit found in string")


def test_export_builds_a_consumers_own_component(cell, tmp_path):
    cell("rust parse_rs", PARSE_RS)
    cell("python parse_user --use parse_rs", USER_RESULT.format(p="parse_rs"))
    out = cell.line(f"export parse_user {tmp_path / 'parse_user.wasm'}")
    assert out.startswith(f"wrote {tmp_path / 'parse_user.wasm'}")
    live = _live("parse_user")
    assert live.standalone_path() != live.code_path  # its own component, not the runner
    assert "import asterai:cells/parse-rs;" in (tmp_path / "parse_user.wit").read_text()


def test_a_rerun_provider_serves_its_consumers(cell, ns):
    cell("python version_py", "def version() -> int:\n    return 1\n")
    cell(
        "python version_user --use version_py",
        "import version_py\n\ndef v() -> int:\n    return version_py.version()\n",
    )
    assert ns["version_user"].v() == 1
    out = cell("python version_py", "def version() -> int:\n    return 2\n")
    assert "relinked: version_user now calls the new version_py" in out
    assert ns["version_user"].v() == 2
    cell("python version_py", "def version() -> str:\n    return 'three'\n")
    with pytest.raises(GuestTrap, match="version_user was built against version_py.version"):
        ns["version_user"].v()


# ---- what still builds the cell's own component (why_not; no toolchain) ----

POINT = wit.Record("point", (("x", wit.Prim("f64")),))
GEO = wit.Interface("geo", (wit.Function("mid", (("a", POINT),), POINT),))


def _why_not(tmp_path, source: str, uses: dict, iface: wit.Interface | None = None):
    lang = get_language("python")
    iface = iface or lang.interface_using(source, "user", uses)
    return lang.interpreter().why_not(BuildJob("user", source, iface, tmp_path, uses=uses))


@pytest.mark.no_toolchain
def test_why_not_leaves_some_consumers_to_their_own_component(tmp_path):
    plain = "import geo\n\ndef f(x: float) -> float:\n    return geo.mid(geo.Point(x)).x\n"
    assert _why_not(tmp_path, plain, {"geo": GEO}) is None
    typed = "import geo\n\ndef f(p: geo.Point) -> list[geo.Point]:\n    return [p]\n"
    assert _why_not(tmp_path, typed, {"geo": GEO}) is None
    counter = wit.Resource("counter", ())
    with_resource = wit.Interface("geo", (wit.Function("make", (), wit.Handle(counter, True)),))
    assert _why_not(tmp_path, plain, {"geo": with_resource}) == "--use geo: geo exports resources"
    asterai_kernel.provide("hostlib_pyuse")(_host_double)
    hostlib = hostfns.PROVIDERS["hostlib_pyuse"].iface
    assert _why_not(tmp_path, plain, {"hostlib_pyuse": hostlib}) == (
        "--use hostlib_pyuse: functions the notebook's Python provides (@provide)"
    )
    foreign = wit.Interface("geo", (wit.Function("mid", (), wit.foreign(POINT, "shapes")),))
    assert (
        _why_not(tmp_path, plain, {"geo": foreign})
        == "--use geo: geo's exports use the types of component shapes"
    )


def _host_double(x: int) -> int:
    return 2 * x


TALLY_USER = """
import tally_ty


def f(t: tally_ty.Tally) -> int:
    return tally_ty.count(t)


def bigger(ts: list[tally_ty.Tally], by: int) -> list[tally_ty.Tally]:
    return [tally_ty.Tally(n=t.n + by, kind=t.kind) for t in ts]


def wrong() -> tally_ty.Tally:
    return "not a tally"
"""


@pytest.mark.parametrize("path", ["shared", "own"])
def test_a_consumers_exports_take_and_return_a_providers_types(cell, ns, monkeypatch, path):
    cell(
        "rust tally_ty",
        "pub enum Kind { Sheep, Goats }\npub struct Tally { pub n: u32, pub kind: Kind }\n"
        "pub fn count(t: Tally) -> u32 { t.n + 1 }\n",
    )
    monkeypatch.setenv(interpreted.ENV, "1" if path == "shared" else "0")
    cell(f"python tally_user_{path} --use tally_ty", TALLY_USER)
    assert isinstance(_live(f"tally_user_{path}"), InterpretedComponent) == (path == "shared")
    user, tally = ns[f"tally_user_{path}"], ns["tally_ty"]
    assert user.f(tally.Tally(6, tally.Kind.goats)) == 7
    assert user.bigger([tally.Tally(1, tally.Kind.sheep)], 2) == [tally.Tally(3, tally.Kind.sheep)]
    with pytest.raises(GuestTrap, match=r"wrong trapped: .*does not match"):
        user.wrong()


def test_grants_stay_per_component(cell, ns, tmp_path):
    (tmp_path / "note.txt").write_text("for the provider only")
    cell(
        f"python granted_reader --allow-read {tmp_path}",
        "def read(path: str) -> str:\n    return open(path).read()\n",
    )
    user = (
        "import granted_reader\n\ndef via(path: str) -> str:\n    return granted_reader.read(path)\n\n"
        "def itself(path: str) -> str:\n    return open(path).read()\n"
    )
    cell("python reader_user --use granted_reader", user)
    assert isinstance(_live("reader_user"), InterpretedComponent)
    assert ns["reader_user"].via(str(tmp_path / "note.txt")) == "for the provider only"
    with pytest.raises(GuestTrap, match="reader_user.itself trapped: FileNotFoundError"):
        ns["reader_user"].itself(str(tmp_path / "note.txt"))  # the consumer was granted nothing


def test_the_stop_button_and_timeouts_end_a_call_into_a_provider(cell, ns):
    spin = "def spin() -> int:\n    while True:\n        pass\n\ndef ok() -> int:\n    return 5\n"
    cell("python spinner_prov", spin)
    cell("python timed_prov --timeout 0.5", spin)
    user = "import spinner_prov, timed_prov\n\ndef via() -> int:\n    return spinner_prov.spin()\n\n" \
           "def timed() -> int:\n    return timed_prov.spin()\n"  # fmt: skip
    cell("python spinner_user --use spinner_prov,timed_prov", user)
    get_session().interrupt_soon(after=0.2)
    with pytest.raises(KeyboardInterrupt):
        ns["spinner_user"].via()
    assert ns["spinner_prov"].ok() == 5 and not get_session().interrupt_pending
    with pytest.raises(Timeout, match="spinner_user.timed trapped: timed_prov.spin trapped: ran longer than"):
        ns["spinner_user"].timed()
    assert ns["timed_prov"].ok() == 5


def test_top_level_code_may_call_a_provider(cell, ns):
    cell(
        "python early_prov",
        "def boom(x: int) -> int:\n    if x > 1:\n        raise ValueError(f'boom at {x}')\n    return x\n",
    )
    out = cell(
        "python early_user --use early_prov",
        "import early_prov\nprint('loaded', early_prov.boom(1))\n\ndef f() -> int:\n    return 1\n",
    )
    assert out.startswith("loaded 1\n")
    with pytest.raises(
        CompileError,
        match=r"early_bad: the cell's top-level code failed: early_prov.boom trapped: ValueError: boom at 5",
    ):
        cell(
            "python early_bad --use early_prov",
            "import early_prov\nearly_prov.boom(5)\n\ndef f() -> int:\n    return 1\n",
        )
    assert get_session().nested_traps == [] and ns["early_prov"].boom(1) == 1


FORGER = """
from wit_world.imports import host


def call(component: str, index: int, args: str) -> str:
    return host.call(component, index, args)
"""


def test_a_cell_reaches_only_the_components_it_uses(cell, ns):
    cell("python secret_prov", "def secret() -> str:\n    return 'secret'\n")
    cell("python plain_prov", "def one() -> int:\n    return 1\n")
    cell("python host_forger --use plain_prov", FORGER)
    forger = ns["host_forger"]
    with pytest.raises(
        GuestTrap, match="host_forger called function 0 of 'secret_prov', which it does not use"
    ):
        forger.call("secret_prov", 0, "[]")
    with pytest.raises(GuestTrap, match=r"host_forger sent arguments that are not values \(JSONDecodeError"):
        forger.call("plain_prov", 0, "[1,")
    assert forger.call("plain_prov", 0, "[]") == forger.call("plain_prov", 0, "[]")  # restarted, working
    assert get_session().nested_traps == []
