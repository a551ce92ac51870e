"""A Python guest can use any standard-library module at call time, whatever its cell imported.

The standard library imports modules inside its own functions (`Counter.most_common` imports heapq when
given `n`), and a call cannot read module files: the build imports the whole standard library into the
component's snapshot. Each use below imports its module only when called (`importlib`, which the build does
not hoist), in a fresh instance, so nothing imported by another use can mask a missing module. Expected
values come from the same expressions run by the host's Python.
"""

from __future__ import annotations

import importlib

import pytest

from asterai_kernel import GuestTrap
from asterai_kernel.session import get_session

# name -> (module, expression of `m`, the module): each becomes `def name() -> str`
USES = {
    "counter_most_common": ("collections", 'm.Counter("abracadabra").most_common(1)'),
    "statistics": ("statistics", "(m.median([3, 1, 4, 1, 5]), m.stdev([2, 4, 4, 4, 5, 5, 7, 9]))"),
    "fractions": ("fractions", "m.Fraction(3, 4) + m.Fraction(1, 6)"),
    "decimal": ("decimal", 'm.Decimal("1.10") + m.Decimal("2.20")'),
    "datetime": ("datetime", "m.date(2026, 12, 6) + m.timedelta(days=30)"),
    "difflib": ("difflib", 'list(m.unified_diff(["a", "b"], ["a", "c"], lineterm=""))'),
    "textwrap": ("textwrap", 'm.wrap("the quick brown fox jumps over the lazy dog", 12)'),
    "csv": ("csv", 'list(m.reader(["a,b", "1,\\"2,3\\""]))'),
    "json": ("json", 'm.dumps({"b": [1, 2.5, None], "a": "é"}, sort_keys=True)'),
    "re": ("re", 'm.findall(r"(\\w+)@(\\w+)", "ann@x bob@y")'),
    "hashlib": ("hashlib", 'm.sha256(b"abc").hexdigest()'),
    "zlib": ("zlib", 'm.crc32(m.compress(b"hello" * 100))'),
    "random": ("random", "m.Random(14).sample(range(100), 5)"),
    "unicodedata": ("unicodedata", 'm.name("é")'),
    "heapq": ("heapq", "m.nsmallest(3, [5, 1, 4, 2, 3])"),
    "bisect": ("bisect", "m.bisect_left([1, 3, 5, 7], 4)"),
    "itertools": ("itertools", 'list(m.combinations("abc", 2))'),
    "lru_cache": ("functools", "m.lru_cache(maxsize=None)(lambda n: n * n)(12)"),
    "dataclasses_asdict": ("dataclasses", 'm.asdict(m.make_dataclass("P", ["x", "y"])(1, 2))'),
    "string_template": ("string", 'm.Template("$who likes $what").substitute(who="tim", what="pie")'),
    "pprint": ("pprint", 'm.pformat({"k": list(range(30))}, width=40)'),
}

CELL = "import importlib\n\n" + "".join(
    f"def {name}() -> str:\n    m = importlib.import_module({module!r})\n    return str({expr})\n\n"
    for name, (module, expr) in USES.items()
)
SANDBOXED = """
import importlib

def run_ls() -> str:
    return str(importlib.import_module("subprocess").run(["ls"], capture_output=True))

def connect() -> str:
    return str(importlib.import_module("socket").create_connection(("127.0.0.1", 80)))

def use_ssl() -> str:
    return str(importlib.import_module("ssl").PROTOCOL_TLS_CLIENT)

def use_requests() -> str:
    return str(importlib.import_module("requests"))
"""


@pytest.fixture(scope="module")
def stdlib_user(ip):
    ip.run_cell_magic("asterai", "python stdlib_user", CELL)
    return get_session().components["stdlib_user"]


@pytest.mark.parametrize("name", list(USES))
def test_a_standard_library_use_works_at_call_time(stdlib_user, ns, name):
    module, expr = USES[name]
    stdlib_user.restart()  # a fresh instance: only what the build put in its snapshot
    expected = str(eval(expr, {"m": importlib.import_module(module)}))  # noqa: S307 - the table above
    assert ns[name]() == expected


def test_the_cell_from_the_issue(cell, ns):
    cell(
        "python wordtools",
        "from collections import Counter\n\n"
        "def top(text: str, n: int) -> str:\n"
        "    return str(Counter(text).most_common(n))\n",
    )
    assert ns["top"]("abracadabra", 1) == "[('a', 5)]"


@pytest.mark.parametrize(
    "fn, says",
    [
        ("run_ls", "subprocess: a WebAssembly component cannot start processes"),
        ("connect", "socket: a component cannot open sockets of its own"),
        ("use_ssl", "No module named 'ssl': the standard library's `ssl` cannot work inside"),
        ("use_requests", "No module named 'requests': a Python component holds the standard library and"),
    ],
)
def test_what_cannot_work_in_the_sandbox_says_so(cell, ns, fn, says):
    if "sandboxed" not in ns:
        cell("python sandboxed", SANDBOXED)
    with pytest.raises(GuestTrap) as info:
        ns[fn]()
    assert says in info.value.guest_message
