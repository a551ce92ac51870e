"""Rust cells end to end, in-process: the real rustc, wasm-component-ld and wasmtime, driven by the magic."""

from __future__ import annotations

import contextlib
import io
import subprocess
import sys

import pytest

from asterai_kernel import AsteraiError, CompileError, GuestTrap

SCALARS = """
pub fn neg(b: bool) -> bool { !b }
pub fn id_s8(x: i8) -> i8 { x }
pub fn id_u8(x: u8) -> u8 { x }
pub fn id_s16(x: i16) -> i16 { x }
pub fn id_u16(x: u16) -> u16 { x }
pub fn id_s32(x: i32) -> i32 { x }
pub fn id_u32(x: u32) -> u32 { x }
pub fn id_s64(x: i64) -> i64 { x }
pub fn id_u64(x: u64) -> u64 { x }
pub fn half32(x: f32) -> f32 { x / 2.0 }
pub fn half64(x: f64) -> f64 { x / 2.0 }
pub fn next_char(c: char) -> char { char::from_u32(c as u32 + 1).unwrap_or('?') }
pub fn mix(a: u8, b: i16, c: u32, d: i64, e: f32, f: f64, g: bool, h: char) -> f64 {
    a as f64 + b as f64 + c as f64 + d as f64 + e as f64 + f + if g { 1.0 } else { 0.0 } + h as u32 as f64
}
"""


@pytest.fixture(scope="module")
def scalars(ip):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        ip.run_cell_magic("asterai", "rust scalars", SCALARS)
    return ip.user_ns


def test_scalars_round_trip(scalars):
    ns = scalars
    assert ns["neg"](True) is False
    for fn, lo, hi in [
        ("id_s8", -128, 127),
        ("id_u8", 0, 255),
        ("id_s16", -32768, 32767),
        ("id_u16", 0, 65535),
        ("id_s32", -(2**31), 2**31 - 1),
        ("id_u32", 0, 2**32 - 1),
        ("id_s64", -(2**63), 2**63 - 1),
        ("id_u64", 0, 2**64 - 1),
    ]:
        assert ns[fn](lo) == lo and ns[fn](hi) == hi, fn
        with pytest.raises(OverflowError, match="parameter 'x'"):
            ns[fn](hi + 1)
        with pytest.raises(OverflowError, match="parameter 'x'"):
            ns[fn](lo - 1)
    assert ns["half32"](3) == 1.5
    assert ns["half64"](1e300) == 5e299
    assert ns["next_char"]("a") == "b"
    assert ns["next_char"]("é") == "ê"
    assert ns["mix"](1, -2, 3, -4, 0.5, 0.25, True, "A") == 1 - 2 + 3 - 4 + 0.5 + 0.25 + 1 + 65


def test_wrong_python_types_name_the_parameter(scalars):
    ns = scalars
    with pytest.raises(TypeError, match="parameter 'x' must be an int"):
        ns["id_s32"]("12")
    with pytest.raises(TypeError, match="parameter 'x' must be an int"):
        ns["id_u8"](1.0)
    with pytest.raises(TypeError, match="parameter 'b' must be a bool"):
        ns["neg"](1)
    with pytest.raises(ValueError, match="parameter 'c' must be a single character"):
        ns["next_char"]("ab")
    with pytest.raises(TypeError, match="takes 1 argument"):
        ns["id_s32"](1, 2)
    with pytest.raises(OverflowError, match="out of range for f32"):
        ns["half32"](1e39)


def test_keyword_arguments(scalars):
    assert scalars["mix"](1, 2, 3, 4, 0.0, 0.0, g=False, h="\x00") == 10


COLLECTIONS = """
pub fn greet(name: &str) -> String { format!("hello, {name}!") }
pub fn shout(s: String) -> String { s.to_uppercase() }
pub fn sum(xs: &[f64]) -> f64 { xs.iter().sum() }
pub fn evens(n: u32) -> Vec<u32> { (0..n).filter(|x| x % 2 == 0).collect() }
pub fn reverse(data: Vec<u8>) -> Vec<u8> { data.into_iter().rev().collect() }
pub fn words(s: &str) -> Vec<String> { s.split_whitespace().map(String::from).collect() }
pub fn lengths(ws: Vec<String>) -> Vec<u32> { ws.iter().map(|w| w.chars().count() as u32).collect() }
pub fn flags(bs: Vec<bool>) -> Vec<bool> { bs.iter().map(|b| !b).collect() }
pub fn chars(s: &str) -> Vec<char> { s.chars().collect() }
pub fn stats(xs: Vec<i64>) -> (i64, i64, u32) {
    (*xs.iter().min().unwrap_or(&0), *xs.iter().max().unwrap_or(&0), xs.len() as u32)
}
pub fn nested(rows: Vec<Vec<i32>>) -> Vec<i32> { rows.iter().map(|r| r.iter().sum()).collect() }
"""


@pytest.fixture(scope="module")
def coll(ip):
    with contextlib.redirect_stdout(io.StringIO()):
        ip.run_cell_magic("asterai", "rust coll", COLLECTIONS)
    return ip.user_ns


def test_strings_lists_bytes_tuples(coll):
    ns = coll
    assert ns["greet"]("wasm") == "hello, wasm!"
    assert ns["shout"]("grüße 🎉") == "GRÜSSE 🎉"
    assert ns["greet"]("") == "hello, !"
    assert ns["sum"]([1.5, 2.5, 3]) == 7.0
    assert ns["sum"]([]) == 0.0
    assert ns["evens"](7) == [0, 2, 4, 6]
    assert ns["evens"](0) == []
    assert ns["reverse"](b"abc") == b"cba"
    assert ns["reverse"](bytearray(b"xy")) == b"yx"
    assert ns["reverse"](memoryview(b"12")) == b"21"
    assert ns["reverse"](b"") == b""
    assert ns["words"]("the quick  brown") == ["the", "quick", "brown"]
    assert ns["lengths"](["a", "héllo", ""]) == [1, 5, 0]
    assert ns["flags"]([True, False]) == [False, True]
    assert ns["chars"]("añ") == ["a", "ñ"]
    assert ns["stats"]([3, -7, 12]) == (-7, 12, 3)
    assert ns["nested"]([[1, 2], [], [3]]) == [3, 0, 3]
    big = "x" * 1_000_000
    assert len(ns["shout"](big)) == 1_000_000


def test_numpy_arrays_are_accepted(coll):
    np = pytest.importorskip("numpy")
    assert coll["sum"](np.arange(5, dtype=np.float64)) == 10.0
    out = coll["reverse"](np.array([1, 2, 3], dtype=np.uint8))  # numpy in, numpy out
    assert out.dtype == np.uint8 and out.tolist() == [3, 2, 1]
    assert coll["reverse"](b"\x01\x02\x03") == b"\x03\x02\x01"


def test_bad_collection_items_name_index(coll):
    with pytest.raises(TypeError, match=r"parameter 'xs'\[1\] must be a float"):
        coll["sum"]([1.0, "two"])
    with pytest.raises(OverflowError, match=r"parameter 'data'\[0\]"):
        coll["reverse"]([256])
    with pytest.raises(TypeError, match="parameter 'name' must be a str"):
        coll["greet"](b"bytes")
    with pytest.raises(TypeError, match=r"parameter 'rows'\[1\]\[0\] must be an int"):
        coll["nested"]([[1], ["x"]])


def test_summary_line_and_show_wit(cell):
    out = cell(
        "rust wit_demo --show-wit",
        "/// Doubles.\npub fn word_count(text: &str) -> u32 { text.len() as u32 }\n",
    )
    assert "interface wit-demo {" in out
    assert "word-count: func(text: string) -> u32;" in out
    assert "world cell" in out
    assert "wit_demo: rust component" in out
    assert "word_count(text: string) -> u32" in out


def test_cache_hit_force_and_time(cell):
    src = "pub fn cached_fn(x: u32) -> u32 { x * 41 }\n"
    cell("rust cache_demo", src)
    out = cell("rust cache_demo --time", src)
    assert "from cache" in out
    assert "build 0 ms (cached)" in out and "instantiate" in out
    out = cell("rust cache_demo --force --time", src)
    assert "built in" in out and "(replaced)" in out
    # The summary's time is the whole wait (build, machine code, instance...); --time splits it.
    summary, split = out.splitlines()[:2]
    waited_ms = float(summary.split("built in ")[1].split(" s")[0]) * 1e3
    build_ms = float(split.split("build ")[1].split(" ms")[0])
    total_ms = float(split.split("total ")[1].split(" ms")[0])
    assert "machine code" in split and "instantiate" in split and "the rest" in split
    assert abs(total_ms - waited_ms) <= 10 and build_ms <= total_ms  # one measurement, two roundings


def test_guest_output_reaches_the_cell(cell, ns):
    cell(
        "rust printer",
        'pub fn chat(n: u32) -> u32 { for i in 0..n { println!("line {i}"); } eprintln!("done"); n }\n',
    )
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        assert ns["chat"](3) == 3
    assert out.getvalue() == "line 0\nline 1\nline 2\n"
    assert err.getvalue() == "done\n"


COUNTER = """
use std::sync::atomic::{AtomicU64, Ordering};
static COUNT: AtomicU64 = AtomicU64::new(0);
pub fn bump() -> u64 { COUNT.fetch_add(1, Ordering::SeqCst) + 1 }
"""


def test_panic_restarts_only_that_component(cell, ns):
    cell("rust counter", COUNTER)
    cell(
        "rust fragile",
        'pub fn check(x: u32) -> u32 {\n    if x > 3 {\n        panic!("too big: {x}");\n    }\n    x\n}\n',
    )
    assert [ns["bump"]() for _ in range(3)] == [1, 2, 3]
    check = ns["check"]
    with pytest.raises(GuestTrap) as info:
        with contextlib.redirect_stderr(io.StringIO()):
            check(7)
    trap = info.value
    assert trap.component == "fragile" and trap.function == "check"
    assert "too big: 7" in trap.guest_message and "line 4" in trap.guest_message
    assert check(2) == 2  # the name bound before the trap still works (restarted component)
    assert ns["bump"]() == 4  # the other component kept its state


def test_trap_without_panic_message(cell, ns):
    cell("rust divider", "pub fn div(a: i32, b: i32) -> i32 { a / b }\n")
    with pytest.raises(GuestTrap, match="divider.div trapped"):
        with contextlib.redirect_stderr(io.StringIO()):
            ns["div"](1, 0)
    assert ns["div"](9, 3) == 3


def test_rerun_replaces_and_unbinds_stale_names(cell, ns):
    cell("rust evolving", "pub fn old_api() -> u32 { 1 }\npub fn kept() -> u32 { 1 }\n")
    kept = ns["kept"]
    assert ns["old_api"]() == 1
    cell("rust evolving", "pub fn kept() -> u32 { 2 }\n")
    assert "old_api" not in ns
    assert kept() == 2  # the proxy bound before the re-run calls the new version
    assert ns["evolving"].kept() == 2


def test_export_named_like_component(cell, ns):
    cell("rust twice", "pub fn twice(x: i32) -> i32 { x * 2 }\n")
    assert ns["twice"].twice(21) == 42


def test_warns_when_binding_over_user_variable(ip, cell):
    ip.user_ns["shadowed"] = 123
    cell("rust shadowing", "pub fn shadowed() -> u32 { 5 }\n")
    assert "warning: 'shadowed' was a variable of yours" in cell.stderr
    assert ip.user_ns["shadowed"]() == 5


def test_default_names_count_per_language(ip, cell):
    magics = ip.magics_manager.registry["AsteraiMagics"]
    magics.cell_id = None
    before = magics.counters["rust"]
    out = cell("rust", "pub fn unnamed_a() -> u32 { 1 }\n")
    assert out.startswith(f"rust_{before + 1}:")
    out = cell("rust", "pub fn unnamed_a() -> u32 { 1 }\n")
    assert out.startswith(f"rust_{before + 2}:")


def test_cell_id_keeps_the_default_name(ip, cell):
    magics = ip.magics_manager.registry["AsteraiMagics"]
    magics.cell_id = "cell-abc"
    try:
        first = cell("rust", "pub fn by_id() -> u32 { 1 }\n").split(":")[0]
        second = cell("rust", "pub fn by_id() -> u32 { 2 }\n").split(":")[0].removesuffix(" (replaced)")
    finally:
        magics.cell_id = None
    assert first == second
    assert ip.user_ns["by_id"]() == 2


def test_ls_wit_and_rm(cell, ns):
    cell("rust listed", "pub fn listed_fn(a: u8) -> u8 { a }\n")
    table = cell.line("ls")
    assert "listed" in table and "listed_fn" in table and "rust" in table
    assert "listed-fn: func(a: u8) -> u8;" in cell.line("wit listed")
    assert "removed listed" in cell.line("rm listed")
    assert "listed_fn" not in ns and "listed" not in ns


def test_compile_error_points_at_cell_lines(cell):
    src = "pub fn ok() -> u32 { 1 }\n\npub fn bad() -> u32 {\n    undefined_thing\n}\n"
    with pytest.raises(CompileError) as info:
        cell("rust broken", src)
    text = str(info.value)
    assert "cannot find value `undefined_thing`" in text
    assert "cell.rs:5:5" in text  # line 5 of the cell: the magic is line 1
    assert "glue" not in text
    assert info.value._render_traceback_()[0].startswith("\x1b[31mCompileError")


@pytest.mark.parametrize(
    "line, source, message",
    [
        ("cobol", "x", "unknown language 'cobol'. Supported: "),
        ("rust --frobnicate", "pub fn f() {}", "unrecognized arguments: --frobnicate"),
        ("rust --opt 9", "pub fn f() {}", "invalid choice: '9'"),
        ("rust 1bad", "pub fn f() {}", "not a valid component name"),
        ("rust", "fn private() {}\n", "exports nothing"),
        (
            "rust",
            "use std::collections::HashMap;\npub fn f(m: HashMap<u8, u8>) -> u8 { 0 }\n",
            "line 3: `pub fn f`: parameter `m` has type `HashMap<u8, u8>`, which has no WIT equivalent",
        ),
        ("rust", "pub fn f(x: &mut Vec<u8>) {}\n", "mutable borrow"),
        ("rust", "pub fn f<T>(x: T) {}\n", "generic"),
        ("rust", "pub fn f(x: u32 -> u32 {}\n", "syntax error"),
        ("rust --exports geo", "pub fn f() {}", "--exports geo is not declared"),
        ("rust --use nowhere", "pub fn f() {}", "no component named 'nowhere'"),
        ("rust --timeout -1", "pub fn f() {}", "--timeout '-1': write a positive number of seconds"),
        ("rust --max-memory lots", "pub fn f() {}", "write a size such as 64MiB"),
        ("rust --allow-read /nonexistent/dir", "pub fn f() {}", "/nonexistent/dir does not exist"),
        ("rust --env NO_SUCH_VAR_ASTERAI", "pub fn f() {}", "the host has no variable NO_SUCH_VAR_ASTERAI"),
    ],
)
def test_bad_input_gets_a_clear_error(cell, line, source, message):
    with pytest.raises(AsteraiError, match=None) as info:
        cell(line, source)
    assert message in str(info.value)


def test_bad_line_magic(cell):
    with pytest.raises(AsteraiError, match="unknown command"):
        cell.line("frobnicate")
    with pytest.raises(AsteraiError, match="no component named 'nope'"):
        cell.line("wit nope")


def test_interpreter_exits_cleanly_after_guest_output(tmp_path):
    # WASI output callbacks alive at interpreter exit abort the process unless the session closes its Stores.
    script = tmp_path / "exit.py"
    script.write_text(
        "from IPython.testing.globalipapp import start_ipython\n"
        "ip = start_ipython()\n"
        "ip.run_line_magic('load_ext', 'asterai_kernel')\n"
        "ip.run_cell_magic('asterai', 'rust leaving', 'pub fn hi() -> u32 { println!(\"bye\"); 1 }')\n"
        "print(ip.user_ns['hi']())\n"
    )
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.endswith("bye\n1\n")
    assert "panicked" not in proc.stderr and "Exception ignored" not in proc.stderr


def test_missing_toolchain_names_the_install_command(cell, monkeypatch):
    from asterai_kernel import ToolchainMissing
    from asterai_kernel.languages.rust import toolchain

    # Pretend Debian's wasi-libc is absent: the real detection must notice and say how to install it.
    markers = tuple(
        (pkg, "/nonexistent/libc.a" if pkg == "wasi-libc" else m) for pkg, m in toolchain.RUST_APT
    )
    monkeypatch.setattr(toolchain, "RUST_APT", markers)
    monkeypatch.setattr(toolchain, "_rust_cache", {})
    with pytest.raises(ToolchainMissing) as info:
        cell("rust needs_tools", "pub fn f() -> u32 { 1 }\n")
    assert "wasi-libc" in str(info.value) and "asterai setup rust" in str(info.value)
    assert "apt-get install -y" in str(info.value)


@pytest.mark.parametrize("fuel", [False, True])
@pytest.mark.parametrize("winch", [False, True])
def test_large_components_compile_in_a_worker(tmp_path, fuel, winch):
    # Big components (componentize-py's are 30 MB) are compiled to machine code in a worker process; the
    # result must load into the session's engine of that configuration, i.e. the worker used the same one.
    import subprocess

    from wasmtime.component import Component

    from asterai_kernel.engine import EngineConfig
    from asterai_kernel.languages import get_language
    from asterai_kernel.session import get_session
    from asterai_kernel.tiers import worker_command

    session, rust = get_session(), get_language("rust")
    src = "pub fn seven() -> u32 { 7 }\n"
    built = session.build(rust, "worker_built", src, rust.interface(src, "worker_built"), opt="2", force=False,
                          progress=print)  # fmt: skip
    cwasm = tmp_path / "component.cwasm"
    config = EngineConfig(consume_fuel=fuel, winch=winch)
    subprocess.run(worker_command(built.wasm_path, cwasm, config), check=True)
    assert Component.deserialize_file(config.build(), str(cwasm)) is not None
    other = EngineConfig(consume_fuel=fuel, winch=not winch).build()
    with pytest.raises(Exception, match="failed to load code"):  # the other compiler's code is refused
        Component.deserialize_file(other, str(cwasm))


@pytest.mark.no_toolchain
def test_the_magic_help_documents_every_option(ip):
    """`%%asterai?` shows the docstring, written from the same parser that reads the magic line."""
    doc = ip.magics_manager.magics["cell"]["asterai"].__doc__
    contract = ["--use", "--exports", "--allow-read", "--allow-write", "--env", "--allow-net", "--allow-host",
                "--timeout", "--fuel", "--max-memory", "--opt", "--force", "--time", "--show-wit", "--pip", "--npm"]  # fmt: skip
    for option in contract:
        assert f"  {option} " in doc, option
    flat = " ".join(doc.split())
    assert "(python; repeatable)" in flat and "(javascript, typescript; repeatable)" in flat


def test_a_cell_runs_through_the_session_without_the_magic():
    """Front ends other than the magic (a CLI, a widget, tests) make the same one call."""
    from asterai_kernel.pipeline import CellSpec
    from asterai_kernel.sandbox import Grants
    from asterai_kernel.session import get_session

    spec = CellSpec(
        "rs", "piped", "pub fn twice(x: u32) -> u32 { x * 2 }\n", grants=Grants.parse(timeout="5")
    )
    result = get_session().run_cell(spec)
    assert result.live.name == "piped" and result.live.grants.timeout == 5.0
    assert result.live.call("twice", (21,), {}) == 42


def test_a_long_summary_lists_the_exports_one_per_line(cell):
    """A summary longer than a line would wrap mid-word in the notebook: the exports go one per line."""
    out = cell(
        "rust turtle",
        "pub fn turn_right(heading: u32, degrees: u32) -> u32 { (heading + degrees) % 360 }\n"
        "pub fn describe(names: Vec<String>, loud: bool) -> Vec<String> { if loud { names } else { vec![] } }\n",
    )
    head, *exports = out.splitlines()
    assert head.startswith("turtle: rust component, ") and head.endswith("; exports:")
    assert exports == [
        "  turn_right(heading: u32, degrees: u32) -> u32",
        "  describe(names: list<string>, loud: bool) -> list<string>",
    ]
    short = cell("rust turtle", "pub fn turn(heading: u32) -> u32 { heading }\n")
    assert short.splitlines()[0].endswith("; exports turn(heading: u32) -> u32")
