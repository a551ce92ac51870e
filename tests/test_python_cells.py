"""Python cells end to end, in-process: the real componentize-py and wasmtime, driven by the magic.

Each distinct cell costs a componentize-py build (10-40 s) and a Cranelift compile the first time, then comes
from the cache; so the tests share a few cells. The tutorial section of 03-python-and-typescript runs on a
real kernel at the end.
"""

from __future__ import annotations

import contextlib
import io
import textwrap

import pytest

from asterai_kernel import AsteraiError, CompileError, GuestTrap
from asterai_kernel.languages.python.exports import trap_message
from asterai_kernel.languages.python.plugin import Python, read_cell

# The cell's own line numbers (the magic line is line 1) of a few statements, checked below.
MAIN = '''\
"""Every hint the kernel maps, state, output, and ways to fail."""
from dataclasses import dataclass
from enum import Enum
from typing import Optional

calls = 0


@dataclass
class Point:
    x: float
    y: float

    def norm(self) -> float:
        return (self.x**2 + self.y**2) ** 0.5


class Color(Enum):
    RED = "red"
    DARK_RED = "dark-red"


@dataclass
class Shape:
    name: str
    corners: list[Point]
    color: Color
    tag: Optional[str] = None


def add(a: int, b: int) -> int:
    return a + b


def count() -> int:
    global calls
    calls += 1
    print(f"call number {calls}")
    return calls


def describe(s: Shape) -> str:
    return f"{s.name}: {len(s.corners)} corners, {s.color.value}, first norm {s.corners[0].norm():.1f}"


def brighter(c: Color) -> Color:
    return Color.RED if c is Color.DARK_RED else c


def moved(s: Shape, dx: float) -> Shape:
    return Shape(s.name + "'", [Point(p.x + dx, p.y) for p in s.corners], s.color, s.tag)


def divide(a: float, b: float) -> float:
    return a / b


def fall(n: int) -> int:
    return fall(n + 1) + 1


def dumps(xs: list[int]) -> str:
    import json

    return json.dumps(xs)


def peek(path: str) -> str:
    with open(path) as f:
        return f.read()


def wrong() -> int:
    return "not a number"  # type: ignore


def loud(n: int) -> None:
    import sys

    for i in range(n):
        print(f"out {i}")
        print(f"err {i}", file=sys.stderr)


def stats(xs: list[float], label: str | None) -> tuple[float, float, str]:
    return (min(xs), max(xs), label or "none")


def flip(data: bytes, bits: list[bool]) -> tuple[bytes, list[bool]]:
    return bytearray(reversed(data)), tuple(not b for b in bits)  # lenient containers are normalised


def pairs(rows: list[tuple[str, int]]) -> list[list[int]]:
    return [[n] * 2 for _, n in rows]


def ramp(n: int) -> list[float]:
    return [i / 2 for i in range(n)]


def scale(xs: list[float], k: float) -> list[float]:
    return [x * k for x in xs]


def checksum(data: bytes) -> int:
    return sum(data) % 1_000_003


def echo_bytes(data: bytes) -> bytes:
    return data


def _private(x: int) -> int:
    return x


def untyped(x):
    return x
'''


def line_of(text: str) -> int:
    """The cell line (magic = 1) of the first source line containing `text`."""
    return next(i for i, ln in enumerate(MAIN.splitlines(), start=2) if text in ln)


def run(ip, line: str, source: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        ip.run_cell_magic("asterai", line, source)
    return out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def main(ip):
    out, err = run(ip, "python pycell", MAIN)
    return ip.user_ns, out, err


def test_summary_names_the_exports_with_their_wit(main):
    _, out, _ = main
    assert out.startswith("pycell: python component, ")
    for sig in [
        "add(a: s64, b: s64) -> s64",
        "describe(s: shape) -> string",
        "brighter(c: color) -> color",
        "loud(n: s64)",
        "stats(xs: list<f64>, label: option<string>) -> tuple<f64, f64, string>",
        "flip(data: list<u8>, bits: list<bool>) -> tuple<list<u8>, list<bool>>",
    ]:
        assert sig in out
    assert "_private" not in out and "untyped" not in out


def test_scalars_and_collections(main):
    ns = main[0]
    assert ns["add"](2, 3) == 5
    assert ns["add"](-(2**62), -(2**62)) == -(2**63)
    assert ns["stats"]([1.5, -2, 7], None) == (-2.0, 7.0, "none")
    assert ns["stats"]([0.0], "x") == (0.0, 0.0, "x")
    assert ns["flip"](b"abc", [True, False]) == (b"cba", [False, True])
    assert ns["pairs"]([("a", 1), ("b", 3)]) == [[1, 1], [3, 3]]
    assert ns["dumps"]([1, 2, 3]) == "[1, 2, 3]"  # `import json` inside the function works at call time


def test_big_numeric_lists_and_bytes_cross_as_one_block(main):
    ns = main[0]
    # Large lists take the bulk twin (one string block each way); small ones the element-wise path.
    xs = [i * 0.25 for i in range(100_000)]
    assert ns["scale"](xs, 2.0) == [x * 2.0 for x in xs]
    assert ns["scale"]([1.0, -0.0], -1.0) == [-1.0, 0.0]
    assert ns["ramp"](5) == [0.0, 0.5, 1.0, 1.5, 2.0] and ns["ramp"](0) == []
    assert len(ns["ramp"](200_000)) == 200_000
    data = bytes(range(256)) * 4096  # 1 MiB
    assert ns["checksum"](data) == sum(data) % 1_000_003
    assert ns["echo_bytes"](data) == data and ns["echo_bytes"](b"") == b""
    with pytest.raises(TypeError, match="parameter 'xs'"):
        ns["scale"]([1.0] * 10_000 + ["x"], 1.0)


def test_records_and_enums_become_the_cells_own_classes(main):
    ns = main[0]
    shape = {"name": "sq", "corners": [{"x": 3.0, "y": 4.0}, {"x": 0.0, "y": 1.0}], "color": "dark-red"}
    assert ns["describe"]({**shape, "tag": None}) == "sq: 2 corners, dark-red, first norm 5.0"
    assert ns["brighter"]("dark_red") == "red"
    moved = ns["moved"]({**shape, "tag": "t"}, 1.5)
    assert moved.name == "sq'" and moved.tag == "t" and moved.color == "dark-red"
    assert [(p.x, p.y) for p in moved.corners] == [(4.5, 4.0), (1.5, 1.0)]
    assert type(moved).__name__ == "Shape" and moved == ns["pycell"].Shape(**vars(moved))


def test_wrong_python_arguments_are_refused_before_the_guest(main):
    ns = main[0]
    with pytest.raises(OverflowError, match="parameter 'a'"):
        ns["add"](2**63, 0)
    with pytest.raises(TypeError, match="parameter 'a' must be an int"):
        ns["add"]("1", 2)
    with pytest.raises(ValueError, match="parameter 'c'"):
        ns["brighter"]("green")


def test_print_reaches_the_cell_in_order(main):
    ns = main[0]
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        ns["loud"](3)
    assert out.getvalue() == "out 0\nout 1\nout 2\n"
    assert err.getvalue() == "err 0\nerr 1\nerr 2\n"


def test_an_exception_is_a_guest_trap_at_the_cells_line_and_restarts_only_that_component(ip, main):
    ns = main[0]
    run(ip, "rust other", "static mut N: u32 = 0;\npub fn bump() -> u32 { unsafe { N += 1; N } }\n")
    assert ns["bump"]() == 1
    with contextlib.redirect_stdout(io.StringIO()):
        ns["count"]()
        assert ns["count"]() >= 2
    err = io.StringIO()
    with contextlib.redirect_stderr(err), pytest.raises(GuestTrap) as info:
        ns["divide"](1.0, 0.0)
    line = line_of("return a / b")
    assert info.value.guest_message == f"ZeroDivisionError: division by zero (at line {line})"
    assert info.value.component == "pycell" and info.value.function == "divide"
    assert "was restarted" in str(info.value)
    # The guest's own traceback reached the cell: cell line numbers and source, no glue frames.
    tb = err.getvalue()
    assert f'File "<cell pycell>", line {line}, in divide\n    return a / b' in tb
    assert "asterai_app" not in tb and "panicked" not in tb
    with contextlib.redirect_stdout(io.StringIO()) as out:
        assert ns["count"]() == 1  # a fresh instance: module state starts again from the snapshot
    assert out.getvalue() == "call number 1\n"
    assert ns["bump"]() == 2  # the Rust component kept its state


def test_runaway_recursion_traps_and_the_component_lives_on(main):
    ns = main[0]
    with contextlib.redirect_stderr(io.StringIO()) as err, pytest.raises(GuestTrap) as info:
        ns["fall"](0)
    assert info.value.guest_message.startswith("RecursionError: maximum recursion depth exceeded")
    assert f"(at line {line_of('return fall(n + 1) + 1')})" in info.value.guest_message
    assert "[Previous line repeated" in err.getvalue()
    assert ns["add"](1, 1) == 2


def test_the_sandbox_has_no_host_files(main):
    ns = main[0]
    with contextlib.redirect_stderr(io.StringIO()), pytest.raises(GuestTrap) as info:
        ns["peek"]("/etc/passwd")
    assert info.value.guest_message.startswith("FileNotFoundError: [Errno 44] No such file or directory")
    assert ns["add"](2, 2) == 4


def test_a_returned_value_that_does_not_fit_its_hint(main):
    ns = main[0]
    with contextlib.redirect_stderr(io.StringIO()), pytest.raises(GuestTrap) as info:
        ns["wrong"]()
    msg = info.value.guest_message
    assert msg.startswith(f"TypeError: `wrong` (line {line_of('def wrong')}) returned a value")
    assert "does not match its hint `int`: str 'not a number' is not an int" in msg
    with contextlib.redirect_stderr(io.StringIO()), pytest.raises(GuestTrap, match="does not fit in 64 bits"):
        ns["add"](2**62, 2**62)


def test_rerun_runs_on_the_shared_interpreter_afresh(ip, main):
    ns = main[0]
    with contextlib.redirect_stdout(io.StringIO()):
        ns["count"]()
    out, _ = run(ip, "python pycell", MAIN)
    assert out.startswith("pycell (replaced): python component, on the shared interpreter in ")
    with contextlib.redirect_stdout(io.StringIO()):
        assert ns["add"](1, 2) == 3 and ns["count"]() == 1  # a new instance: the cell's state starts again


# ---- bad input: refused before any build ----


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (
            "def f(x: int) -> int\n    return x\n",
            "line 2: SyntaxError: expected ':'\n2 | def f(x: int) -> int",
        ),
        ("x = 1\n\n\ndef g(:\n", "line 5: SyntaxError"),
        (
            "def f(x: dict[str, int]) -> int:\n    return 0\n",
            "line 2: `def f`: parameter `x` has the hint `dict[str, int]`, which has no WIT equivalent",
        ),
        ("def f(x: int) -> int | str:\n    return 0\n", "`def f` returns the hint `int | str` (a union"),
        ("def f(x: int) -> list:\n    return 0\n", "returns the hint a bare `list`"),
        (
            "\nclass A:\n    pass\n\ndef f(a: A) -> None:\n    pass\n",
            "line 6: `def f`: parameter `a` has the hint `A`",
        ),
        (
            "from enum import Enum\nclass E(Enum):\n    A = 1\ndef f(e: E) -> None:\n    pass\n",
            "`A` is not a string",
        ),
        ("def f(*xs: int) -> None:\n    pass\n", "`def f` takes `*xs`"),
        (
            "async def f(x: int) -> int:\n    return x\n",
            "`async def f`: exported functions must be synchronous",
        ),
        ("def f(x: tuple[int, ...]) -> None:\n    pass\n", "a tuple of any length"),
        (
            "from dataclasses import dataclass\n@dataclass\nclass N:\n    next: 'N'\ndef f(n: N) -> None:\n    pass\n",
            "contains itself (N -> N)",
        ),
        (
            "def word_count(x: int) -> int: ...\ndef wordCount(x: int) -> int: ...\n",
            "both become the WIT name",
        ),
    ],
)
def test_cells_that_cannot_be_exported_are_clear_errors(ip, source, message):
    with pytest.raises(CompileError) as info:
        run(ip, "python bad", source)
    assert message in str(info.value)


def test_a_cell_without_exports(ip):
    with pytest.raises(CompileError) as info:
        run(
            ip,
            "python bad",
            "import math\n\ndef helper(x):\n    return x\n\ndef _hidden(a: int) -> int:\n    return a\n",
        )
    msg = str(info.value)
    assert msg.startswith("this Python cell exports nothing")
    assert "`helper` (line 4) has no type hint on parameter `x`" in msg


def test_pip_is_for_python_cells_and_takes_requirements(ip):
    with pytest.raises(AsteraiError, match="--pip is for python cells"):
        run(ip, "rust r --pip six", "pub fn f() -> u32 { 1 }\n")
    with pytest.raises(CompileError, match="not a package requirement"):
        run(ip, "python p --pip=--index-url=http://x", "def f() -> int:\n    return 1\n")


def test_pip_of_a_missing_package(ip):
    with pytest.raises(CompileError) as info:
        run(ip, "python p --pip asterai-no-such-package-xyz", "def f() -> int:\n    return 1\n")
    assert str(info.value).startswith("--pip: there is no package `asterai-no-such-package-xyz` on PyPI.")


def test_pip_of_a_package_with_native_code(ip):
    with pytest.raises(CompileError) as info:
        run(ip, "python p --pip numpy", "def f() -> int:\n    return 1\n")
    assert "`numpy` has no pure-Python wheel for Python 3.14: it has native extensions" in str(info.value)


# ---- builds that exercise the rest ----

PIP_CELL = """\
import humanize

print("bundled humanize", humanize.__version__)


def size(n: int) -> str:
    return humanize.naturalsize(n)


def words(n: int) -> str:
    from humanize import intword

    return intword(n)
"""


def test_pip_bundles_a_pure_python_package(ip):
    out, err = run(ip, "python pipcell --pip humanize==4.11.0", PIP_CELL)
    assert "pipcell: python component" in out
    if (
        "built in" in out
    ):  # top-level code runs at build time; what it printed is shown then (not on a cache hit)
        assert (
            "pipcell: its top-level code printed (it runs once, at build time):\nbundled humanize 4.11.0\n"
            in err
        )
    assert ip.user_ns["size"](123456789) == "123.5 MB"
    assert ip.user_ns["words"](1_200_000) == "1.2 million"


@pytest.mark.parametrize("route", ["shared", "own"])
def test_top_level_code_errors_are_compile_errors(ip, route, monkeypatch):
    # The kernel's own packages are not visible to a cell: platformdirs is installed in the kernel.
    monkeypatch.setenv("ASTERAI_INTERPRETED", "1" if route == "shared" else "0")
    source = "import math\nimport platformdirs\n\ndef f() -> int:\n    return 1\n"
    with pytest.raises(CompileError) as info:
        run(ip, "python initfail", source)
    msg = str(info.value)
    when = "" if route == "shared" else " while the component was built"
    assert msg.startswith(f"initfail: the cell's top-level code failed{when}: ")
    assert "ModuleNotFoundError: No module named 'platformdirs': a Python component holds" in msg
    assert "add `--pip platformdirs` to the magic line" in msg and msg.count("(at line 3)") == 1
    assert 'File "<cell initfail>", line 3, in <module>\n    import platformdirs' in msg


# ---- reading the cell and the guest's output (no build) ----


@pytest.mark.no_toolchain
def test_hints_map_to_wit():
    cell = read_cell(
        textwrap.dedent("""\
        from typing import List, Optional, Tuple, Union
        import enum, dataclasses

        class Mode(enum.Enum):
            FAST = "fast"
            SLOW_AND_STEADY = "slow_and_steady"

        @dataclasses.dataclass(frozen=True)
        class Base:
            id: int

        @dataclasses.dataclass
        class Item(Base):
            name: "str"
            mode: Mode
            parts: List[Tuple[bytes, float]]

        def f(a: Optional[int], b: Union[None, str], c: list[Item | None], d: bool) -> Tuple[Mode, int]:
            ...
        """)
    )
    (ex,) = cell.exports
    assert ex.fn.signature() == (
        "func(a: option<s64>, b: option<string>, c: list<option<item>>, d: bool) -> tuple<mode, s64>"
    )
    assert cell.records["item"].ty.definition() == (
        "record item {\n    id: s64,\n    name: string,\n    mode: mode,\n    parts: list<tuple<list<u8>, f64>>,\n  }"
    )
    assert cell.enums["mode"].ty.cases == ("fast", "slow-and-steady")
    assert ex.line == 19


@pytest.mark.no_toolchain
def test_imports_below_the_top_level_are_hoisted():
    cell = read_cell(
        "def f() -> str:\n    import json, os.path\n    from xml.etree import ElementTree\n    return ''\n"
    )
    assert cell.hoisted == [
        "import json",
        "import os.path",
        "import xml.etree",
        "import xml.etree.ElementTree",
    ]


@pytest.mark.no_toolchain
def test_interface_uses_the_component_name():
    iface = Python().interface("def word_count(text: str) -> int:\n    return 0\n", "py_2")
    assert iface.name == "py2" and iface.functions[0].name == "word-count"


@pytest.mark.no_toolchain
def test_trap_message_reads_the_last_traceback():
    text = (
        "some output\n"
        "Traceback (most recent call last):\n"
        '  File "<cell c>", line 4, in f\n    g()\n    ~^^\n'
        '  File "/1/lib/mod.py", line 9, in g\n'
        "ValueError: bad\nvalue\n"
    )
    assert trap_message(text) == "ValueError: bad ... (at line 4)"
    panic = (
        "thread '<unnamed>' (1) panicked at runtime/src/lib.rs:1704:44:\n"
        "called `Result::unwrap()` on an `Err` value: CastError { from: {'a': 1}, classinfo: <class 'list'> }\n"
    )
    assert trap_message(panic) == (
        "a returned value does not match the function's type hints ({'a': 1} is not a list)"
    )
    assert trap_message("nothing to see\n") is None


@pytest.mark.no_toolchain
def test_pip_requirements_are_checked():
    from asterai_kernel.languages.python.plugin import check_pip_specs

    assert check_pip_specs(["attrs", "humanize==4.11.0", " requests[socks]>=2,<3 "]) == [
        "attrs",
        "humanize==4.11.0",
        "requests[socks]>=2,<3",
    ]
    for bad in ["-e .", "--index-url=x", "git+https://x/y", "a b", "../x"]:
        with pytest.raises(CompileError):
            check_pip_specs([bad])


# ---- the tutorial: the Python section of 03-python-and-typescript, on a real kernel ----


@pytest.fixture(scope="module")
def tutorial():
    from test_notebooks import execute

    return execute("03-python-and-typescript.ipynb")


def test_tutorial_first_component_and_calls(tutorial):
    out = tutorial["py-first-component"]  # (a first build also prints a progress line)
    assert "textstats: python component, " in out
    assert (
        "; exports:\n  analyze(text: string) -> stats\n  shout(text: string, times: s64) -> list<string>"
        in out
    )
    assert tutorial["py-first-calls"] == (
        "Stats(words=9, longest='quick', average=3.89)\nquick 9\n['HEY!', 'HEY!!', 'HEY!!!']\n"
    )
    assert tutorial["py-checked"] == "TypeError: parameter 'times' must be an int (s64), not str\n"


def test_tutorial_sandbox_trap_and_restart(tutorial):
    assert "explorer: python component, " in tutorial["py-sandbox"]
    out = tutorial["py-sandbox-calls"]
    assert out.startswith(
        "the notebook reads: meet at noon\nthe component sees these environment variables: []\n"
    )
    assert 'File "<cell explorer>", line 11, in read_file\n    with open(path) as f:' in out
    assert out.endswith(
        "GuestTrap: FileNotFoundError: [Errno 44] No such file or directory: '/tmp/asterai-note.txt' "
        "(at line 11)\ncomponent: explorer | function: read_file\n"
    )
    assert tutorial["py-restart"] == (
        "attempts after the restart: 0\ntextstats is untouched: ccc\nand so is the notebook: meet at noon\n"
    )


def test_tutorial_standard_library(tutorial):
    exports = "; exports:\n  top(text: string, n: s64) -> string\n  spread(xs: list<f64>) -> tuple<f64, f64>"
    assert exports in tutorial["py-stdlib"]
    out = tutorial["py-stdlib-calls"]  # the values, the guest's traceback (stderr), then the trap
    assert out.startswith("[('a', 5), ('b', 2)]\n(4.5, 2.138089935299395)\n")
    assert 'File "<cell wordtools>", line 18, in run' in out
    assert out.endswith(
        "GuestTrap: OSError: [Errno 58] subprocess: a WebAssembly component cannot start processes "
        "(wasi does not support processes.) (at line 18)\n"
    )


def test_tutorial_resources_and_flags(tutorial):
    out = tutorial["py-resources"]
    assert "richest(a: borrow<account>, b: borrow<account>) -> string" in out
    assert "class Account (resource account)" in out
    assert tutorial["py-resources-calls"] == (
        "40 alice\nPerm.read|write Perm.read|write\n2\n<bank.Account (was closed, or given away as an owned "
        "argument)>\n"
    )
