"""Cross-component calls (`--use`): typed imports, live links, relinking, traps across the link."""

from __future__ import annotations

import contextlib
import dataclasses
import io

import pytest

import asterai_kernel
from asterai_kernel import AsteraiError, GuestTrap, Timeout
from asterai_kernel.session import get_session


@dataclasses.dataclass
class Reading:
    sensor: str
    value: float


GEO = """
use std::sync::atomic::{AtomicU64, Ordering};
static CALLS: AtomicU64 = AtomicU64::new(0);
pub struct Point { pub x: f64, pub y: f64 }
pub enum Unit { Metric, Imperial }
pub enum Shape { Circle(f64), Rect(f64, f64), Dot }
pub fn word_count(text: &str) -> u32 { CALLS.fetch_add(1, Ordering::SeqCst); text.split_whitespace().count() as u32 }
pub fn calls() -> u64 { CALLS.load(Ordering::SeqCst) }
pub fn mid(a: Point, b: Point) -> Point { Point { x: (a.x + b.x) / 2.0, y: (a.y + b.y) / 2.0 } }
pub fn names(n: u32) -> Vec<String> { (0..n).map(|i| format!("n{i}")).collect() }
pub fn parse(s: &str) -> Result<u32, String> { s.parse::<u32>().map_err(|e| e.to_string()) }
pub fn scale(xs: &[f64], k: f64) -> Vec<f64> { xs.iter().map(|x| x * k).collect() }
pub fn unit_name(u: Unit) -> String { match u { Unit::Metric => "m".into(), Unit::Imperial => "ft".into() } }
pub fn area(s: Shape) -> f64 { match s { Shape::Circle(r) => 3.0 * r * r, Shape::Rect(w, h) => w * h, Shape::Dot => 0.0 } }
pub fn maybe(x: Option<u32>) -> Option<String> { x.map(|v| format!("got {v}")) }
pub fn boom(x: u32) -> u32 { if x > 1 { panic!("geo exploded at {x}") } x }
pub fn spin() -> u64 { let mut i: u64 = 0; loop { i = std::hint::black_box(i.wrapping_add(1)); } }
pub fn many(a: u8, b: i16, c: u32, d: i64, e: f32, f: f64, g: bool, h: char, i: String, j: u64, k: u8, l: u8, m: u8, n: u8, o: u8, p: u8) -> String {
    format!("{a} {b} {c} {d} {e} {f} {g} {h} {i} {j} {}", k as u32 + l as u32 + m as u32 + n as u32 + o as u32 + p as u32)
}
"""

USER = """
pub fn total_words(texts: Vec<String>) -> u32 { texts.iter().map(|t| geo::word_count(t)).sum() }
pub fn center() -> f64 { let m = geo::mid(geo::Point { x: 0.0, y: 0.0 }, geo::Point { x: 4.0, y: 2.0 }); m.x + m.y }
pub fn joined(n: u32) -> String { geo::names(n).join("+") }
pub fn parsed(s: String) -> i64 { match geo::parse(&s) { Ok(v) => v as i64, Err(_) => -1 } }
pub fn scaled(xs: Vec<f64>) -> Vec<f64> { geo::scale(&xs, 10.0) }
pub fn unit(m: bool) -> String { geo::unit_name(if m { geo::Unit::Metric } else { geo::Unit::Imperial }) }
pub fn areas() -> f64 { geo::area(geo::Shape::Circle(1.0)) + geo::area(geo::Shape::Rect((2.0, 3.0))) + geo::area(geo::Shape::Dot) }
pub fn maybe(x: u32) -> String { format!("{:?} {:?}", geo::maybe(Some(x)), geo::maybe(None)) }
pub fn via_boom(x: u32) -> u32 { geo::boom(x) + 1 }
pub fn via_spin() -> u64 { geo::spin() }
pub fn via_many() -> String { geo::many(1, -2, 3, -4, 0.5, 0.25, true, 'é', "str", u64::MAX, 1, 1, 1, 1, 1, 1) }
"""


@pytest.fixture
def linked(cell, ns):
    cell("rust geo", GEO)
    cell("rust user --use geo", USER)
    return ns


def test_typed_calls_across_components(linked):
    ns = linked
    assert ns["total_words"](["a b", "c d e"]) == 5
    assert ns["center"]() == 3.0
    assert ns["joined"](3) == "n0+n1+n2"
    assert ns["parsed"]("42") == 42 and ns["parsed"]("x") == -1
    assert ns["scaled"]([1.0, 2.5]) == [10.0, 25.0]
    assert ns["unit"](True) == "m" and ns["unit"](False) == "ft"
    assert ns["areas"]() == 9.0
    assert ns["maybe"](7) == 'Some("got 7") None'
    assert (
        ns["via_many"]() == f"1 -2 3 -4 0.5 0.25 true é str {2**64 - 1} 6"
    )  # 17 flat values: passed in memory


def test_links_are_live_and_state_is_shared(linked):
    ns = linked
    before = ns["geo"].calls()
    ns["total_words"](["x y"])
    ns["word_count"]("from the notebook")
    assert ns["geo"].calls() == before + 2


def test_rerunning_the_provider_relinks_consumers(linked, cell):
    ns = linked
    out = cell("rust geo", GEO.replace("count() as u32 }", "count() as u32 * 10 }"))
    assert "relinked: user now calls the new geo" in out
    assert ns["total_words"](["a b"]) == 20
    changed = GEO.replace("pub fn word_count(text: &str) -> u32", "pub fn word_count(text: &str) -> u64")
    out = cell("rust geo", changed.replace("count() as u32 }", "count() as u64 }"))
    assert "user was built against the old geo interface: re-run its cell" in out
    with pytest.raises(GuestTrap) as info:
        ns["total_words"](["a b"])
    assert "word-count: func(text: string) -> u32" in str(info.value)
    assert "word-count: func(text: string) -> u64" in str(info.value)
    assert ns["center"]() == 3.0  # the functions whose signature did not change still work


def test_trap_in_provider_restarts_both_and_names_both(linked, cell, ns):
    cell("rust bystander", "static mut N: u32 = 0;\npub fn tick() -> u32 { unsafe { N += 1; N } }\n")
    assert ns["tick"]() == 1
    ns["total_words"](["a"])
    with pytest.raises(GuestTrap) as info:
        with contextlib.redirect_stderr(io.StringIO()):
            ns["via_boom"](5)
    assert info.value.component == "user" and info.value.function == "via_boom"
    assert "geo.boom trapped: geo exploded at 5" in info.value.guest_message
    assert ns["geo"].calls() == 0  # the provider restarted too (a trap poisons its Store)
    assert ns["via_boom"](1) == 2 and ns["tick"]() == 2  # both work again; the bystander kept its state


def test_interrupt_and_timeout_inside_a_provider(linked, cell, ns):
    get_session().interrupt_soon(after=0.1)
    with pytest.raises(KeyboardInterrupt):
        ns["via_spin"]()
    assert ns["center"]() == 3.0
    cell("rust geo --timeout 0.3", GEO)
    with pytest.raises(Timeout, match="geo.spin"):
        ns["via_spin"]()
    assert ns["center"]() == 3.0


def test_bad_uses_are_refused(linked, cell):
    with pytest.raises(AsteraiError, match="no component named 'nowhere'"):
        cell("rust other --use nowhere", "pub fn f() -> u32 { 1 }\n")
    with pytest.raises(AsteraiError, match="cannot use itself"):
        cell("rust selfish --use selfish", "pub fn f() -> u32 { 1 }\n")
    with pytest.raises(AsteraiError, match="cycles between components are not supported"):
        cell("rust geo --use user", GEO)
    with pytest.raises(AsteraiError, match="geo is used by user"):
        cell.line("rm geo")
    cell("rust std", "pub fn one() -> u32 { 1 }\n")
    with pytest.raises(AsteraiError, match="cannot be a Rust module"):
        cell("rust kw_user --use std", "pub fn f() -> u32 { 1 }\n")
    cell.line("rm std")


def test_host_functions_provided_from_python(cell, ns, capsys):
    seen = []

    @asterai_kernel.provide("hostlib")
    def record(r: Reading) -> int:
        seen.append(r)
        return len(seen)

    @asterai_kernel.provide("hostlib")
    def lookup(key: str) -> asterai_kernel.Result[int, str]:
        return {"a": 1, "b": 2}[key]

    @asterai_kernel.provide("hostlib")
    def explode(x: int) -> int:
        raise RuntimeError(f"host refuses {x}")

    cell(
        "rust sensor --use hostlib",
        """
pub fn report(v: f64) -> i64 { hostlib::record(hostlib::Reading { sensor: "t1".to_string(), value: v }) }
pub fn find(k: String) -> String { match hostlib::lookup(&k) { Ok(v) => format!("ok {v}"), Err(e) => format!("err {e}") } }
pub fn explode(x: i64) -> i64 { hostlib::explode(x) }
""",
    )
    assert ns["report"](21.5) == 1 and ns["report"](22.0) == 2
    assert seen == [Reading("t1", 21.5), Reading("t1", 22.0)]  # the guest called back into the notebook
    assert ns["find"]("b") == "ok 2"
    assert ns["find"]("zz") == "err KeyError: 'zz'"
    with pytest.raises(GuestTrap, match="host function explode raised RuntimeError: host refuses 7"):
        ns["sensor"].explode(7)
    assert "Traceback" in capsys.readouterr().err  # the Python traceback is shown in the cell
    assert ns["report"](1.0) == 3


@pytest.mark.no_toolchain
def test_provide_needs_annotations():
    with pytest.raises(AsteraiError, match="annotate every parameter"):

        @asterai_kernel.provide("badlib")
        def untyped(x):
            return x

    with pytest.raises(AsteraiError, match="has no WIT equivalent"):

        @asterai_kernel.provide("badlib")
        def weird(x: dict) -> int:
            return 0


def test_variant_payloads_sharing_a_slot_cross_a_link(cell, ns):
    """Payloads of different core types share one flat slot (s8 and s64 as i64, f32 and f64 as bit
    patterns in i64): the consumer lowers them, the provider lifts them and the result comes back."""
    cell(
        "rust meter",
        """
pub enum Reading { Small(i8), Wide(f64), Single(f32), Big(i64), Off }
pub fn twice(r: Reading) -> Reading {
    match r { Reading::Small(x) => Reading::Small(x * 2), Reading::Wide(x) => Reading::Wide(x * 2.0),
              Reading::Single(x) => Reading::Single(x * 2.0), Reading::Big(x) => Reading::Big(x * 2), Reading::Off => Reading::Off }
}
pub fn pick(ok: bool) -> Result<f32, u64> { if ok { Ok(-1.25) } else { Err(u64::MAX) } }
""",
    )
    cell(
        "rust panel --use meter",
        """
use meter::Reading;
pub fn show() -> String {
    let all = [Reading::Small(-5), Reading::Wide(-0.75), Reading::Single(1.5), Reading::Big(-(1 << 62)), Reading::Off];
    let out: Vec<String> = all.into_iter().map(|r| format!("{:?}", meter::twice(r))).collect();
    format!("{} {:?} {:?}", out.join(" "), meter::pick(true), meter::pick(false))
}
""",
    )
    assert ns["show"]() == (
        "Small(-10) Wide(-1.5) Single(3.0) Big(-9223372036854775808) Off Ok(-1.25) Err(18446744073709551615)"
    )
