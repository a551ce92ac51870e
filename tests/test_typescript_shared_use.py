"""TypeScript and JavaScript cells with `--use` on the shared QuickJS runner (runner_links.py,
languages/typescript/runner_uses.py): the module `NAME` calls the provider's live instance through the
runner's `host` import, for providers in Rust and in Python; traps, re-runs and the cells that still get a
component of their own."""

from __future__ import annotations

import pytest
import test_python_shared_use as python_use

import asterai_kernel
from asterai_kernel import CompileError, GuestTrap, Timeout, hostfns, wit
from asterai_kernel.interpreted import InterpretedComponent
from asterai_kernel.languages import get_language
from asterai_kernel.languages.base import BuildJob
from asterai_kernel.session import get_session

# The providers of the Python consumers' tests, with a 64-bit function.
SHAPES_RS = python_use.SHAPES_RS + "pub fn wide(x: u64) -> u64 { x - 1 }\n"
SHAPES_PY = python_use.SHAPES_PY + "\n\ndef wide(x: int) -> int:\n    return x - 1\n"
PARSE_RS = python_use.PARSE_RS
_live, _host_double, POINT, GEO = python_use._live, python_use._host_double, python_use.POINT, python_use.GEO

USER_TS = """
import { mid, name, darker, sum, scale, shout, maybe, boom, blob, pair, wide } from "{p}";

export function center(x: number, y: number): string {
  const m = mid({ x: 0, y: 0 }, { x, y });
  return `${m.x} ${m.y}`;
}
export function colors(): string {
  const c = darker("red");
  return `${c} ${name(c)} ${name("red")}`;
}
export function lists(xs: number[]): string {
  return `${sum(xs)} ${typeof sum(xs)} ${JSON.stringify(scale([1, 2.5], 2))}`;
}
export function text(s: string): string { return shout(s); }
export function maybes(x: number): string { return `${maybe(x)} ${maybe(undefined)}`; }
export function bytesAndTuples(): string {
  const b = blob(new Uint8Array(1200).map((_, i) => [0, 255, 97, 98][i % 4]));
  return `${b.constructor.name} ${b.length} ${Array.from(b.slice(0, 4))} ${pair([7, "x"]).join(" ")}`;
}
// 64-bit values beyond a JavaScript number's exact range cross exactly
export function widen(): string { return `${wide(2n ** 62n + 1n)} ${typeof wide(5n)}`; }
export function viaBoom(x: number): number { return Number(boom(x)) + 1; }
export function badArgument(): string {
  try { shout(42 as any); return "accepted"; } catch (e) { return `${e.name}: ${e.message}`; }
}
export function badNumbers(): string {
  const why = (f: () => unknown) => { try { f(); return "accepted"; } catch (e) { return `${e.name}: ${e.message}`; } };
  return [why(() => wide(2 ** 70)), why(() => mid({ x: "NaN" as any, y: 0 }, { x: 0, y: 0 }))].join("\\n");
}
export function tooBig(): string {
  try { wide(2n ** 64n); return "accepted"; } catch (e) { return `${e.name}: ${e.message}`; }
}
"""

USER_JS = """
import { mid, wide, shout } from "{p}";

/** @param {number} x @returns {string} */
export function center(x) {
  const m = mid({ x: 0, y: 0 }, { x, y: x });
  return `${m.x} ${m.y}`;
}
/** @returns {string} */
export function widen() { return String(wide(2n ** 62n + 3n)); }
/** @param {string} s @returns {string} */
export function text(s) { return shout(s); }
"""

USER_RESULT = """
import { parse } from "parse_rs";
export function parsed(s: string): string {
  const r = parse(s);
  return r.tag === "ok" ? `ok ${r.val}` : `err ${r.val}`;
}
"""


def _user(p: str, template: str) -> str:
    return template.replace("{p}", p)


@pytest.fixture(scope="module", params=["rust", "python"])
def shapes(request, ip):
    """A provider `tsu_<lang>` and TypeScript and JavaScript consumers of it, on the shared runner."""
    from conftest import Cell

    cell = Cell(ip)
    lang = request.param
    provider = f"tsu_{'rs' if lang == 'rust' else 'py'}"
    cell(f"{lang} {provider}", SHAPES_RS if lang == "rust" else SHAPES_PY)
    out = cell(f"typescript ts_{provider} --use {provider}", _user(provider, USER_TS))
    out += cell(f"javascript js_{provider} --use {provider}", _user(provider, USER_JS))
    return provider, f"ts_{provider}", out, ip.user_ns


def test_consumers_run_on_the_shared_runner(shapes):
    provider, user, out, _ = shapes
    assert f"{user}: typescript component, on the shared interpreter in " in out, out
    for consumer in (user, f"js_{provider}"):
        assert isinstance(_live(consumer), InterpretedComponent)
        assert _live(consumer).uses.keys() == {provider}
    assert sorted(get_session().consumers_of(provider)) == sorted([user, f"js_{provider}"])


def test_values_cross_both_ways(shapes):
    provider, user, _, ns = shapes
    u = ns[user]
    assert u.center(4.0, 2.0) == "2 1"
    assert u.colors() == "dark-green dark green red"
    assert u.lists([1, 2, -3]) == "0 bigint [2,5]"
    assert u.text("héllo") == "HÉLLO"
    assert u.maybes(7) == "got 7 undefined"
    assert u.bytes_and_tuples() == "Uint8Array 1200 98,97,255,0 x 7"
    assert u.widen() == f"{2**62} bigint"
    j = ns[f"js_{provider}"]
    assert j.center(3.0) == "1.5 1.5"
    assert j.widen() == str(2**62 + 2)
    assert j.text("ß") == "ß".upper()


def test_bad_arguments_throw_in_the_cell(shapes):
    provider, user, _, ns = shapes
    u = ns[user]
    assert u.bad_argument() == f"TypeError: {provider}.shout(): parameter 's' must be a str, not int"
    wide, bad_float = u.bad_numbers().split("\n")
    assert wide.startswith(f"RangeError: {provider}.wide(): parameter 'x'") and "out of range" in wide
    assert bad_float == f"TypeError: {provider}.mid(): parameter 'a'.x must be a float (f64), not str"
    too_big = u.too_big()
    assert too_big.startswith(f"RangeError: {provider}.wide(): parameter 'x'") and "out of range" in too_big


def test_a_provider_trap_fails_the_call_and_restarts_the_provider_only(shapes):
    python_use.check_a_provider_trap(shapes)


def test_a_result_is_tag_and_val(cell, ns):
    cell("rust parse_rs", PARSE_RS)
    cell("typescript parse_ts --use parse_rs", USER_RESULT)
    assert isinstance(_live("parse_ts"), InterpretedComponent)
    assert ns["parse_ts"].parsed("42") == "ok 42"
    assert ns["parse_ts"].parsed("x") == "err invalid digit found in string"


def test_a_rerun_provider_serves_its_consumers(cell, ns):
    cell("rust tsu_version", "pub fn version() -> u32 { 1 }\n")
    user = 'import { version } from "tsu_version";\nexport function v(): number { return version(); }\n'
    cell("typescript tsu_version_user --use tsu_version", user)
    assert ns["tsu_version_user"].v() == 1
    out = cell("rust tsu_version", "pub fn version() -> u32 { 2 }\n")
    assert "relinked: tsu_version_user now calls the new tsu_version" in out
    assert ns["tsu_version_user"].v() == 2
    cell("rust tsu_version", 'pub fn version() -> String { "three".into() }\n')
    with pytest.raises(GuestTrap, match="tsu_version_user was built against tsu_version.version"):
        ns["tsu_version_user"].v()


def test_grants_stay_per_component(cell, ns, tmp_path):
    (tmp_path / "note.txt").write_text("for the provider only")
    cell(
        f"python tsu_reader --allow-read {tmp_path}",
        "def read(path: str) -> str:\n    return open(path).read()\n",
    )
    user = 'import { read } from "tsu_reader";\nexport function via(path: string): string { return read(path); }\n'
    cell("typescript tsu_reader_user --use tsu_reader", user)
    assert isinstance(_live("tsu_reader_user"), InterpretedComponent)
    assert not _live("tsu_reader_user").grants.read  # nothing granted to the consumer
    assert ns["tsu_reader_user"].via(str(tmp_path / "note.txt")) == "for the provider only"


def test_consumers_exports_take_and_return_a_providers_types(cell, ns):
    cell("rust tsu_geo", "pub struct Point { pub x: f64, pub y: f64 }\n"
         "pub fn mid(a: Point, b: Point) -> Point { Point { x: (a.x + b.x) / 2.0, y: (a.y + b.y) / 2.0 } }\n")  # fmt: skip
    source = ('import type { Point } from "tsu_geo";\nimport { mid } from "tsu_geo";\n'
              "export function center(a: Point, b: Point): Point { return mid(a, b); }\n")  # fmt: skip
    cell("typescript tsu_geo_user --use tsu_geo", source)
    assert isinstance(_live("tsu_geo_user"), InterpretedComponent)
    P = ns["tsu_geo"].Point
    m = ns["tsu_geo_user"].center(P(1, 2), P(3, 4))
    assert m == P(2.0, 3.0) and type(m) is P


# ---- what still builds the cell's own component (why_not; no toolchain) ----


def _why_not(tmp_path, source: str, uses: dict):
    lang = get_language("typescript")
    iface = lang.interface_using(source, "user", uses)
    return lang.interpreter().why_not(BuildJob("user", source, iface, tmp_path, uses=uses))


@pytest.mark.no_toolchain
def test_why_not_leaves_some_consumers_to_their_own_component(tmp_path):
    plain = 'import { mid } from "geo";\nexport function f(x: number): number { return mid({ x }).x; }\n'
    assert _why_not(tmp_path, plain, {"geo": GEO}) is None
    counter = wit.Resource("counter", ())
    with_resource = wit.Interface("geo", (wit.Function("make", (), wit.Handle(counter, True)),))
    assert _why_not(tmp_path, plain, {"geo": with_resource}) == "--use geo: geo exports resources"
    asterai_kernel.provide("hostlib_tsuse")(_host_double)
    hostlib = hostfns.PROVIDERS["hostlib_tsuse"].iface
    assert _why_not(tmp_path, plain.replace('"geo"', '"hostlib_tsuse"'), {"hostlib_tsuse": hostlib}) == (
        "--use hostlib_tsuse: functions the notebook's Python provides (@provide)"
    )
    foreign = wit.Interface("geo", (wit.Function("mid", (), wit.foreign(POINT, "shapes")),))
    assert (
        _why_not(tmp_path, plain, {"geo": foreign})
        == "--use geo: geo's exports use the types of component shapes"
    )


MORE_RS = """
pub enum Shape { Circle(f32), Square(u32), Empty }
pub struct Big { pub id: u64, pub ratio: f32 }
pub fn grow(s: Shape) -> Shape { match s { Shape::Circle(r) => Shape::Circle(r * 2.0), Shape::Square(n) => Shape::Square(n + 1), Shape::Empty => Shape::Empty } }
pub fn bump(b: Big) -> Big { Big { id: b.id + 1, ratio: b.ratio * 2.0 } }
pub fn nan() -> f64 { f64::NAN }
pub fn ids(xs: Vec<u64>) -> Vec<u64> { xs.iter().map(|x| x + 1).collect() }
pub fn nested(x: Option<Option<u8>>) -> Option<Option<u8>> { x }
"""
MORE_TS = """
import { grow, bump, nan, ids } from "tsu_more";
export function shapes(): string {
  const c = grow({ tag: "circle", val: 1.5 }), s = grow({ tag: "square", val: 4 }), e = grow({ tag: "empty" });
  return `${c.tag} ${c.val} ${s.tag} ${s.val} ${e.tag} ${e.val}`;
}
export function wide(): string {
  const b = bump({ id: 2n ** 60n, ratio: 1.5 });
  return `${b.id} ${b.ratio} ${Number.isNaN(nan())} ${ids([1n, 2n ** 63n]).join(",")}`;
}
"""


def test_variants_records_of_64_bit_fields_and_lists_of_u64(cell, ns):
    cell("rust tsu_more", MORE_RS)
    cell("typescript tsu_more_user --use tsu_more", MORE_TS)
    assert isinstance(_live("tsu_more_user"), InterpretedComponent)
    u = ns["tsu_more_user"]
    assert u.shapes() == "circle 3 square 5 empty undefined"
    assert u.wide() == f"{2**60 + 1} 3 true 2,{2**63 + 1}"


def test_export_builds_a_consumers_own_component(cell, tmp_path):
    cell("rust parse_rs", PARSE_RS)
    cell("typescript parse_ts --use parse_rs", USER_RESULT)
    out = cell.line(f"export parse_ts {tmp_path / 'parse_ts.wasm'}")
    assert out.startswith(f"wrote {tmp_path / 'parse_ts.wasm'}")
    live = _live("parse_ts")
    assert live.standalone_path() != live.code_path  # its own component, not the runner
    assert "import asterai:cells/parse-rs;" in (tmp_path / "parse_ts.wit").read_text()


def test_top_level_code_may_call_a_provider(cell, ns):
    cell("rust tsu_top", 'pub fn seven() -> u32 { 7 }\npub fn boom() -> u32 { panic!("top boom") }\n')
    out = cell("typescript tsu_top_user --use tsu_top", 'import { seven } from "tsu_top";\n'
               "const at = seven();\nconsole.log(`seven is ${at}`);\nexport function f(): number { return at; }\n")  # fmt: skip
    assert "seven is 7" in out and ns["tsu_top_user"].f() == 7
    with pytest.raises(
        CompileError, match=r"tsu_top_bad: the cell's top-level code failed: tsu_top.boom trapped"
    ):
        cell("typescript tsu_top_bad --use tsu_top", 'import { boom } from "tsu_top";\nconst x = boom();\n'
             "export function f(): number { return x; }\n")  # fmt: skip
    assert ns["tsu_top_user"].f() == 7 and ns["tsu_top"].seven() == 7  # the kernel and the others go on


def test_a_consumer_on_the_runner_travels_with_its_provider_to_dask_workers(cell, ns):
    from distributed import Client, LocalCluster

    cell(
        "rust tsu_first",
        'pub fn first(s: &str) -> String { s.split_whitespace().next().unwrap_or("").into() }',
    )
    source = 'import { first } from "tsu_first";\nexport function loudFirst(s: string): string { return first(s).toUpperCase(); }\n'
    cell("typescript tsu_loud --use tsu_first", source)
    shipment = get_session().components["tsu_loud"].shipment()
    assert shipment.glue is not None and [p.name for p in shipment.providers] == ["tsu_first"]
    names = ["ada lovelace", "alan turing"] * 10
    with LocalCluster(n_workers=1, processes=True, threads_per_worker=1, dashboard_address=":0") as cluster:
        with Client(cluster, set_as_default=False) as client:
            assert asterai_kernel.map(ns["loud_first"], names, client=client) == ["ADA", "ALAN"] * 10


def test_the_stop_button_and_timeouts_end_a_call_into_a_provider(cell, ns):
    spin = "pub fn spin() -> u32 { let mut i: u32 = 0; loop { i = std::hint::black_box(i.wrapping_add(1)); } }\n" \
           "pub fn ok() -> u32 { 5 }\n"  # fmt: skip
    cell("rust tsu_spinner", spin)
    cell("rust tsu_timed --timeout 0.5", spin)
    user = 'import * as s from "tsu_spinner";\nimport * as t from "tsu_timed";\n' \
           "export function via(): number { return s.spin(); }\nexport function timed(): number { return t.spin(); }\n"  # fmt: skip
    cell("typescript tsu_spin_user --use tsu_spinner,tsu_timed", user)
    assert isinstance(_live("tsu_spin_user"), InterpretedComponent)
    get_session().interrupt_soon(after=0.2)
    with pytest.raises(KeyboardInterrupt):
        ns["tsu_spin_user"].via()
    assert ns["tsu_spinner"].ok() == 5 and not get_session().interrupt_pending
    with pytest.raises(Timeout, match="tsu_spin_user.timed trapped: tsu_timed.spin trapped: ran longer than"):
        ns["tsu_spin_user"].timed()
    assert ns["tsu_timed"].ok() == 5


def test_flags_cross_as_numbers_with_an_object_of_bits(cell, ns):
    from test_cell_flags import RUST

    cell("rust tsu_flags", RUST)
    source = (
        'import { grant, Perms } from "tsu_flags";\n'
        "export function run(p: Perms): [Perms, boolean] {\n"
        "  const all = grant(p, Perms.Exec);\n"
        "  return [all, (all & Perms.Write) !== 0];\n"
        "}\n"
    )
    cell("typescript tsu_flags_user --use tsu_flags", source)
    assert isinstance(_live("tsu_flags_user"), InterpretedComponent)
    P = ns["tsu_flags_user"].Perms
    assert ns["tsu_flags_user"].run(["read", "write"]) == (P.read | P.write | P.exec, True)
    assert ns["tsu_flags_user"].run([]) == (P.exec, False)
