"""Python cells on the shared interpreter (interpreted.py): one instance per cell, checked both ways, and the
cells that still get a component of their own. plain.py's checks of what a guest returns run without one."""

from __future__ import annotations

import enum

import numpy as np
import pytest
from plain_host import PlainHost

import asterai_kernel
from asterai_kernel import GuestTrap, Timeout, plain, values, wit
from asterai_kernel.interpreted import InterpretedComponent
from asterai_kernel.session import get_session

COUNTER = """\
hits = 0
print("counter loaded")


def bump() -> int:
    global hits
    hits += 1
    return hits


def fail(x: int) -> int:
    return 10 // x
"""


def _live(name: str):
    return get_session().components[name]


def test_each_cell_is_its_own_instance_and_a_trap_restarts_only_it(cell, ns):
    first = cell("python counter_a", COUNTER)
    assert first.startswith("counter loaded\ncounter_a: python component, on the shared interpreter in ")
    cell("python counter_b", COUNTER)
    assert isinstance(_live("counter_a"), InterpretedComponent)
    a, b = ns["counter_a"], ns["counter_b"]
    assert [a.bump(), a.bump(), b.bump()] == [1, 2, 1]  # same runner, separate memories
    with pytest.raises(GuestTrap, match=r"ZeroDivisionError: division by zero \(at line 13\)"):
        a.fail(0)
    assert cell.stderr == ""  # the traceback went to the call's stderr, not the cell's
    assert a.bump() == 1 and b.bump() == 2  # a restarted, b untouched
    assert "counter loaded" not in cell.stderr  # a restart loads the cell again, quietly


def test_limits_and_grants_work_on_the_shared_interpreter(cell, ns):
    cell("python spinner_py --timeout 0.5", "def spin() -> int:\n    while True:\n        pass\n")
    with pytest.raises(Timeout):
        ns["spinner_py"].spin()
    cell("python fueled_py --fuel 2000000", "def spin() -> int:\n    while True:\n        pass\n")
    with pytest.raises(asterai_kernel.OutOfFuel):
        ns["fueled_py"].spin()
    reader = "def read(path: str) -> str:\n    return open(path).read()\n"
    cell("python reader_py", reader)
    with pytest.raises(GuestTrap, match="FileNotFoundError"):
        ns["reader_py"].read("/etc/hostname")  # nothing granted


def test_arguments_and_results_are_checked(cell, ns):
    source = "def echo(x: int) -> int:\n    return x\n\ndef wrong() -> int:\n    return 'text'\n\n" \
             "def big() -> int:\n    return 2**70\n"  # fmt: skip
    cell("python typed_py", source)
    with pytest.raises(OverflowError, match="parameter 'x' = 9223372036854775808 is out of range for s64"):
        ns["typed_py"].echo(2**63)
    with pytest.raises(GuestTrap, match="returned a value that does not match its hint `int`"):
        ns["typed_py"].wrong()
    with pytest.raises(GuestTrap, match="does not fit in 64 bits"):
        ns["typed_py"].big()
    assert ns["typed_py"].echo(-(2**63)) == -(2**63)


def test_pip_packages_load_on_the_shared_interpreter_read_only(cell, ns):
    source = (
        "import attrs\n\n@attrs.define\nclass P:\n    x: int\n\n"
        "def f() -> int:\n    return P(7).x\n\n"
        "def scribble() -> None:\n    open(attrs.__file__, 'a').write('x')\n"
    )
    out = cell("python pip_py --pip attrs==25.3.0", source)
    assert "pip_py: python component, on the shared interpreter in " in out
    assert ns["pip_py"].f() == 7
    with pytest.raises(GuestTrap, match="Errno"):  # the packages' folder is mounted read-only
        ns["pip_py"].scribble()
    assert [guest for _, guest in _live("pip_py").mounts] == ["/.asterai/pip"]


def test_a_cell_with_use_runs_on_the_shared_interpreter(cell, ns):
    cell("rust tally_rs", "pub fn tally(n: u32) -> u32 { n + 1 }\n")
    out = cell(
        "python tally_user --use tally_rs",
        "import tally_rs\n\ndef f() -> int:\n    return tally_rs.tally(6)\n",
    )
    assert "tally_user: python component, on the shared interpreter in " in out
    assert isinstance(_live("tally_user"), InterpretedComponent) and ns["tally_user"].f() == 7


def test_a_rust_cell_uses_a_python_cell(cell, ns):
    cell("python words_py", "def count(text: str) -> int:\n    return len(text.split())\n")
    cell("rust words_user --use words_py", "pub fn twice(t: &str) -> i64 { 2 * words_py::count(t) }\n")
    assert ns["words_user"].twice("one two three") == 6


def test_export_builds_the_cells_own_component(cell, tmp_path):
    cell("python exported_py", "def triple(x: int) -> int:\n    return 3 * x\n")
    out = cell.line(f"export exported_py {tmp_path / 'exported_py.wasm'}")
    assert out.startswith(f"wrote {tmp_path / 'exported_py.wasm'}")
    live = _live("exported_py")
    assert live.standalone_path() != live.code_path  # its own component, not the runner
    host = PlainHost(tmp_path / "exported_py.wasm")
    assert host.func("asterai:cells/exported-py", "triple")(14) == 42


# ---- plain.py: what the host accepts back from an interpreter (no toolchain) ----


POINT = wit.Record("point", (("x", wit.Prim("f64")), ("tags", wit.List(wit.String()))))
SCOPE = values.Scope(
    {"point": values.user_types(wit.Interface("t", (wit.Function("f", (), POINT),)))["point"]}
)


def _load(ty: wit.WitType, data, numpy_out: bool = False):
    return plain.loader(values.make(ty, SCOPE), numpy_out)(data)


@pytest.mark.no_toolchain
@pytest.mark.parametrize(
    ("ty", "data", "expected"),
    [
        (wit.Prim("s64"), 5, 5),
        (wit.Prim("f64"), 2, 2.0),
        (wit.Prim("f32"), 0.1, np.float32(0.1).item()),
        (wit.List(wit.Prim("u8")), "\x00\xff", b"\x00\xff"),  # bytes as latin-1 text (JSON)
        (wit.List(wit.Prim("s64")), np.array([1, -2], "<i8").tobytes(), [1, -2]),
        (wit.Option(wit.Prim("u8")), [7], 7),
        (wit.Option(wit.Option(wit.Prim("u8"))), [None], values.Some(None)),
        (wit.Tuple((wit.Prim("bool"), wit.String())), [True, "x"], (True, "x")),
        (wit.Result(wit.Prim("u8"), wit.String()), [False, "no"], values.Err("no")),
        (wit.Variant("v", (("a", None), ("b", wit.Prim("u8")))), ["b", 3], values.Variant("b", 3)),
    ],
)
def test_plain_results_become_the_contracts_values(ty, data, expected):
    assert _load(ty, data) == expected


@pytest.mark.no_toolchain
def test_plain_records_and_numpy_out():
    point = _load(POINT, [1.5, ["a"]])
    assert (point.x, point.tags) == (1.5, ["a"]) and type(point).__name__ == "Point"
    arr = _load(wit.List(wit.Prim("f32")), np.array([1, 2], "<f4").tobytes(), numpy_out=True)
    assert arr.dtype == np.float32 and arr.tolist() == [1.0, 2.0]


@pytest.mark.no_toolchain
@pytest.mark.parametrize(
    ("ty", "data", "message"),
    [
        (wit.Prim("u8"), 256, " = 256 is out of range for u8 (0..255)"),
        (wit.Prim("s64"), True, " must be an int (s64), not bool"),
        (wit.Prim("s64"), 1.0, " must be an int (s64), not float"),
        (wit.String(), "\ud800", "which is not UTF-8"),
        (wit.Prim("char"), "ab", "must be one Unicode scalar value"),
        (wit.List(wit.Prim("s32")), b"\x00\x00\x00", "holds 3 bytes, not a whole number of s32"),
        (wit.List(wit.Prim("u8")), "\u0100", "text that does not hold bytes"),
        (POINT, [1.5], "must be 2 values (record point), not 1 items"),
        (wit.Option(wit.Prim("u8")), 7, "must be None or [value]"),
        (wit.Enum("e", ("a", "b")), "c", "is not a case of enum e"),
    ],
)
def test_plain_results_that_do_not_fit_are_refused(ty, data, message):
    scope = (
        SCOPE
        if not isinstance(ty, wit.Enum)
        else values.Scope({"e": enum.Enum("E", [("a", "a"), ("b", "b")])})
    )
    with pytest.raises(values.BadValue) as info:
        plain.loader(values.make(ty, scope))(data)
    assert message in "".join(info.value.path) + info.value.message


@pytest.mark.no_toolchain
def test_plain_paths_name_where_a_nested_value_is_wrong():
    with pytest.raises(values.BadValue) as info:
        _load(wit.List(POINT), [[1.0, ["a"]], [2.0, ["b", 3]]])
    assert "".join(info.value.path) == "[1].tags[1]"


@pytest.mark.no_toolchain
def test_plain_arguments_carry_numpy_arrays_as_little_endian_bytes():
    codec = values.make(wit.Tuple((wit.List(wit.Prim("s32")), wit.String())), SCOPE)
    dump = plain.dumper(codec)
    assert dump(codec.check(([1, 2], "hi"))) == [b"\x01\x00\x00\x00\x02\x00\x00\x00", b"hi"]
    assert plain.dumper(values.make(wit.Prim("s64"), SCOPE)) is None  # nothing to do for scalars


FORGER = """\
import asterai_runner


def get() -> int:
    return 1


def forge(text: str) -> None:
    asterai_runner._calls[0] = lambda args: text  # the runner's own table: what `get` answers now
"""


def test_a_guest_that_forges_its_results_is_refused_and_restarted(cell, ns):
    cell("python forger", FORGER)
    forger = ns["forger"]
    assert forger.get() == 1
    forger.forge("[1, 2")
    with pytest.raises(GuestTrap, match=r"forger.get trapped: returned something that is not a value \(JSON"):
        forger.get()
    assert forger.get() == 1  # restarted: the runner's table is its own again
    forger.forge(str(2**70))
    with pytest.raises(
        GuestTrap, match=r"does not fit `s64`: result = 1180591620717411303424 is out of range"
    ):
        forger.get()
    assert forger.get() == 1


def test_the_stop_button_interrupts_a_cell_on_the_shared_interpreter(cell, ns):
    cell(
        "python looper",
        "done = 0\n\ndef spin() -> int:\n    while True:\n        pass\n\ndef ok() -> int:\n    return 5\n",
    )
    live = _live("looper")
    before = live.restarts
    get_session().interrupt_soon(after=0.2)
    with pytest.raises(KeyboardInterrupt):
        ns["looper"].spin()
    assert live.restarts == before + 1 and ns["looper"].ok() == 5
