"""Components made elsewhere (wit-bindgen's runtime tests, tests/fixtures/components) with their foreign
imports provided from Python (`@asterai_kernel.provide`), by another component (`--use`), or by nobody."""

from __future__ import annotations

import dataclasses
import enum
import gc
import inspect
from pathlib import Path
from typing import Any

import pytest
from conftest import wat_component

import asterai_kernel as ak
from asterai_kernel import AsteraiError, GuestTrap
from asterai_kernel.hostfns import PROVIDERS

pytestmark = pytest.mark.no_toolchain

FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name: str) -> str:
    return str(FIXTURES / "components" / f"{name}.component.wasm")


@pytest.fixture
def providers():
    """Python providers registered by a test are gone after it (PROVIDERS is the session's)."""
    before = set(PROVIDERS)
    yield
    for key in set(PROVIDERS) - before:
        del PROVIDERS[key]


def provide_numbers(seen: dict) -> None:
    for width in ("u8", "s8", "u16", "s16", "u32", "s32", "u64", "s64"):
        ak.provide("test:numbers/test")(_identity(f"roundtrip_{width}", int))
    for width in ("f32", "f64"):
        ak.provide("test:numbers/test")(_identity(f"roundtrip_{width}", float))
    ak.provide("test:numbers/test")(_identity("roundtrip_char", str))

    @ak.provide("test:numbers/test")
    def set_scalar(a: int) -> None:
        seen["scalar"] = a

    @ak.provide("test:numbers/test")
    def get_scalar() -> int:
        return seen["scalar"]


def _identity(name: str, kind: type):
    def identity(a):
        return a

    identity.__name__ = name
    identity.__annotations__ = {"a": kind, "return": kind}
    return identity


def test_missing_imports_load_with_a_note_and_trap_only_when_reached(cell, ns, providers):
    out = cell.line(f"load {fixture('numbers')}")
    assert "not provided (a call reaching them raises GuestTrap): test:numbers/test" in out
    assert ns["numbers"].roundtrip_u8(7) == 7 and ns["numbers"].roundtrip_char("ß") == "ß"
    with pytest.raises(GuestTrap, match=r"test:numbers/test\.roundtrip-u8, which nothing provides") as e:
        ns["numbers"].test_imports()
    assert "provide('test:numbers/test')" in str(e.value)
    assert ns["numbers"].roundtrip_s64(-(2**63)) == -(2**63)  # restarted, still works


def test_numbers_imports_provided_from_python(cell, ns, providers):
    seen = {}
    provide_numbers(seen)
    out = cell.line(f"load {fixture('numbers')}")
    assert "not provided" not in out
    ns["numbers"].test_imports()  # the guest asserts every round trip (extremes of each width included)
    assert seen["scalar"] == 4


def test_a_provider_result_out_of_range_traps_the_guest_naming_it(cell, ns, providers):
    seen = {}
    provide_numbers(seen)

    @ak.provide("test:numbers/test")
    def roundtrip_u8(a: int) -> int:
        return a + 300

    cell.line(f"load {fixture('numbers')}")
    with pytest.raises(
        GuestTrap, match=r"host function roundtrip_u8 returned a bad value: .*out of range for u8"
    ):
        ns["numbers"].test_imports()


def test_provider_types_are_checked_against_the_import(cell, providers):
    @ak.provide("test:numbers/test")
    def roundtrip_u8(a: str) -> int:
        return 0

    @ak.provide("test:numbers/test")
    def roundtrip_u9(a: int) -> int:
        return a

    with pytest.raises(AsteraiError) as e:
        cell.line(f"load {fixture('numbers')} numbers_bad")
    message = str(e.value)
    assert "roundtrip_u8: parameter 'a' is annotated string, the import declares u8" in message
    assert "roundtrip_u9 is not a function of it" in message


def test_strings_with_a_versionless_interface_name(cell, ns, providers):
    taken = []

    @ak.provide("test:strings/imports")
    def take_basic(s: str) -> None:
        taken.append(s)

    @ak.provide("test:strings/imports")
    def return_unicode() -> str:
        return "🚀🚀🚀 𠈄𓀀"

    cell.line(f"load {fixture('strings')}")
    ns["strings"].test_imports()
    assert taken == ["latin utf16"]
    assert ns["strings"].roundtrip("héllo 🚀") == "héllo 🚀" and ns["strings"].return_empty() == ""


def test_inline_world_interface_is_provided_by_its_bare_name(cell, ns, providers):
    got = []

    @ak.provide("imports")
    def many_arguments(a1: int, a2: int, a3: int, a4: int, a5: int, a6: int, a7: int, a8: int, a9: int,
                       a10: int, a11: int, a12: int, a13: int, a14: int, a15: int, a16: int) -> None:  # fmt: skip
        got.extend([a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16])

    out = cell.line(f"load {fixture('many-arguments')}")
    assert "not provided" not in out and "root:component" not in out
    ns["many_arguments"].many_arguments(*range(1, 17))  # the guest asserts a_i == i, then passes them on
    assert got == list(range(1, 17))
    with pytest.raises(GuestTrap, match=r"Assertion failed: a16 == 16"):  # its own words, from stderr
        ns["many_arguments"].many_arguments(*range(1, 16), 2**64 - 1)


def test_imports_linked_to_another_loaded_component(cell, ns, tmp_path, providers):
    provider = wat_component(
        tmp_path, "numbers_provider", (FIXTURES / "wat" / "numbers_provider.wat").read_text()
    )
    cell.line(f"load {provider}")
    out = cell.line(f"load {fixture('numbers')} numbers_linked --use numbers_provider")
    assert "not provided" not in out
    ns["numbers_linked"].test_imports()
    assert ns["numbers_provider"].get_scalar() == 4  # the provider's live instance served the calls
    with pytest.raises(AsteraiError, match="exports none of this component's imports"):
        cell.line(f"load {fixture('strings')} strings_linked --use numbers_provider")


class F1(enum.Flag):
    A = 1
    B = 2


@dataclasses.dataclass
class R1:
    a: int
    b: F1


def test_records_and_flags_provided_with_python_types(cell, ns, providers):
    records = ak.provide("test:records/test")

    @records
    def multiple_results() -> tuple[int, int]:
        return (4, 5)

    @records
    def swap_tuple(a: tuple[int, int]) -> tuple[int, int]:
        return (a[1], a[0])

    @records
    def roundtrip_flags1(a: F1) -> F1:
        assert isinstance(a, F1)  # the provider's own Flag class
        return a

    @records
    def roundtrip_flags2(a):  # unannotated: the import's own types (a generated enum.Flag here)
        return a

    @records
    def roundtrip_flags3(a: Any, b: Any, c: Any) -> Any:
        return (a, b, c)

    @records
    def roundtrip_record1(a: R1) -> R1:
        return a

    @records
    def tuple1(a):
        return a

    out = cell.line(f"load {fixture('records')}")
    assert "not provided" not in out
    ns["records"].test_imports()  # the guest asserts every flags and record round trip


def test_flags_cross_both_ways(cell, ns):
    cell.line(f"load {fixture('records')} flags")
    h = ns["flags"]
    both = h.roundtrip_flags1(h.F1.a | h.F1.b)
    assert both == h.F1.a | h.F1.b and isinstance(both, h.F1)
    assert h.roundtrip_flags1([]) == h.F1(0) and h.roundtrip_flags1(["b"]) == h.F1.b
    assert h.roundtrip_flags2({"c", "e"}) == h.F2.c | h.F2.e
    a, b, c = h.roundtrip_flags3(["b0", "b7"], ["b15"], ("b31", "b0"))
    assert (a, b, c) == (h.Flag8.b0 | h.Flag8.b7, h.Flag16.b15, h.Flag32.b0 | h.Flag32.b31)
    assert c.value == 2**31 + 1  # 32 flags in one word
    assert h.roundtrip_record1({"a": 8, "b": F1.B}) == h.R1(8, h.F1.b)  # any Flag with the same names
    with pytest.raises(ValueError, match=r"parameter 'a' has 'zz', which is not a flag of f1 \(a, b\)"):
        h.roundtrip_flags1(["zz"])
    with pytest.raises(TypeError, match="parameter 'a' must be a F1"):
        h.roundtrip_flags1("a")


def test_variants_provided_without_annotations(cell, ns, providers):
    variants = ak.provide("test:variants/test")

    @variants
    def roundtrip_option(a):
        return None if a is None else int(a)

    @variants
    def roundtrip_result(a):
        return ak.Ok(float(a.value)) if isinstance(a, ak.Ok) else ak.Err(int(a.value))

    @variants
    def roundtrip_enum(a):
        return a

    @variants
    def invert_bool(a):
        return not a

    @variants
    def variant_casts(a):
        return a

    @variants
    def variant_zeros(a):
        return a

    @variants
    def variant_typedefs(a, b, c):
        assert (a, b, c) == (None, False, ak.Err())

    @variants
    def variant_enums(a, b, c):
        assert (a, b, c) == (True, ak.Ok(), "success")
        return (False, ak.Err(), "a")

    cell.line(f"load {fixture('variants')}")
    ns["variants"].test_imports()


def test_exported_resources_are_python_classes(cell, ns):
    out = cell.line(f"load {fixture('resources')}")
    assert "class X (resource x)" in out and "class KebabCase (resource kebab-case)" in out
    assert "add, consume, test_imports, X, Z, KebabCase" in cell.line("ls")
    h = ns["resources"]
    assert not [name for name in dir(h) if "[" in name]  # a resource's functions are its class's only
    x = h.X(5)  # the constructor
    assert x.get_a() == 5
    x.set_a(7)  # a method: borrows x
    y = h.X.add(x, 3)  # a static function taking an own handle: x is given away
    assert y.get_a() == 10
    with pytest.raises(ValueError, match=r"parameter 'self' \(X\) was closed, or given away"):
        x.get_a()
    z1, z2 = h.Z(1), h.Z(2)
    dropped = h.Z.num_dropped()
    assert h.add(z1, z2).get_a() == 3  # borrows, then a new own handle back (dropped when collected)
    z1.close()  # the guest's destructor runs now
    assert h.Z.num_dropped() == dropped + 2  # z1, and the sum no one kept
    del z2
    gc.collect()
    assert h.Z.num_dropped() == dropped + 3
    with h.Z(9) as z:
        assert z.get_a() == 9
    assert h.Z.num_dropped() == dropped + 4
    k = h.KebabCase(3)
    assert h.KebabCase.take_owned(k) == 3
    with pytest.raises(TypeError, match=r"parameter 'x' must be a X \(resource x\), not Z"):
        h.consume(h.Z(1))


def test_resource_objects_refuse_use_after_their_component_restarted(cell, ns):
    cell.line(f"load {fixture('resources')} res_restart")
    h = ns["res_restart"]
    z = h.Z(4)
    with pytest.raises(GuestTrap, match=r"imports\.\[constructor\]y, which nothing provides"):
        h.test_imports()  # traps: the component restarts
    with pytest.raises(ValueError, match="before it restarted"):
        z.get_a()
    assert h.Z(5).get_a() == 5  # new objects work


def test_an_imported_resource_implemented_by_a_python_class(cell, ns, providers):
    made = []

    @ak.provide("imports")
    class Y:
        def __init__(self, a: int):
            self.a = a
            made.append(self)

        def get_a(self) -> int:
            return self.a

        def set_a(self, a: int) -> None:
            self.a = a

        @staticmethod
        def add(y: Y, a: int) -> Y:
            y.a += a
            return y

    out = cell.line(f"load {fixture('resources')} res_imports")
    assert "not provided" not in out
    assert ns["res_imports"].test_imports() is None  # the guest made, changed and added Ys, asserting each
    assert len(made) == 3 and all(isinstance(y, Y) for y in made)
    from asterai_kernel.resources import _HOST_OBJECTS

    assert not [o for o in _HOST_OBJECTS.values() if isinstance(o, Y)]  # every handle the guest held dropped


def test_a_resource_class_missing_a_method_is_named(cell, providers):
    @ak.provide("imports")
    class Y:
        def __init__(self, a: int):
            self.a = a

        def get_a(self) -> int:
            return self.a

    with pytest.raises(
        AsteraiError, match=r"class Y has no method set_a \(func\(self: borrow<y>, a: s32\)\)"
    ):
        cell.line(f"load {fixture('resources')} res_bad")


def test_lists_provided_from_python(cell, ns, providers):
    lists = ak.provide("test:lists/test")
    got = {}

    def taking(name):
        def take(a):
            got.setdefault(name, []).append(a)

        take.__name__ = name
        lists(take)

    for name in ("empty_list_param", "empty_string_param", "list_param", "list_param2", "list_param3",
                 "list_param4", "list_param5", "list_param_large"):  # fmt: skip
        taking(name)
    returning = {"empty_list_result": b"", "empty_string_result": "", "list_result": b"\x01\x02\x03\x04\x05",
                 "list_result2": "hello!", "list_result3": ["hello,", "world!"]}  # fmt: skip
    for name, value in returning.items():
        lists(_constant(name, value))
    for name in ("list_roundtrip", "string_roundtrip"):
        lists(_identity(name, Any))

    @lists
    def list_minmax8(a, b):
        return (a, b)

    for bits in ("16", "32", "64", "_float"):
        lists(_renamed(list_minmax8, f"list_minmax{bits}"))

    cell.line(f"load {fixture('lists')}")
    ns["lists"].test_imports()  # the guest asserts each result (extremes of every width, infinities)
    assert got["list_param"] == [b"\x01\x02\x03\x04"] and got["list_param2"] == ["foo"]
    assert got["list_param3"] == [["foo", "bar", "baz"]]
    assert got["list_param4"] == [[["foo", "bar"], ["baz"]]]
    h = ns["lists"]
    assert h.list_roundtrip(b"xyz") == b"xyz" and h.string_roundtrip("⚑") == "⚑"
    with pytest.raises(OverflowError, match=r"parameter 'a'\[1\] = 256 is out of range for u8"):
        h.list_minmax8([0, 256], [])


def _constant(name: str, value):
    def constant():
        return value

    constant.__name__ = name
    return constant


def _renamed(fn, name: str):
    def renamed(*args):
        return fn(*args)

    renamed.__name__ = name
    renamed.__signature__ = inspect.signature(fn)
    return renamed


def test_world_level_function_imports_are_provided_with_a_bare_provide(cell, ns, tmp_path, providers):
    wasm = wat_component(tmp_path, "world_import", (FIXTURES / "wat" / "world_import.wat").read_text())
    out = cell.line(f"load {wasm} unprovided_world")
    assert "not provided (a call reaching them raises GuestTrap): the world's own imports" in out
    assert ns["unprovided_world"].inc(1) == 2
    with pytest.raises(GuestTrap, match=r"the import double, which nothing provides: give double to "
                                        r"@asterai_kernel.provide\(\)"):  # fmt: skip
        ns["unprovided_world"].quad(1)

    @ak.provide()
    def double(x: int) -> int:
        return 2 * x

    cell.line(f"load {wasm} provided_world")
    assert ns["provided_world"].quad(5) == 20


def test_components_with_foreign_imports_refuse_to_scale_out(cell, ns):
    cell.line(f"load {fixture('numbers')} numbers_ship")
    with pytest.raises(AsteraiError, match="provided in this notebook only: components with foreign imports"):
        ns["numbers_ship"]._live.shipment()


def test_flavorful_records_and_variants_holding_lists(cell, ns, providers):
    flavorful = ak.provide("test:flavorful/test")
    seen = []

    for name, answer in {
        "f_list_in_record1": None,
        "f_list_in_record3": {"a": "list_in_record3 output"},
        "f_list_in_record4": {"a": "result4"},
        "f_list_in_variant3": "output3",
    }.items():
        flavorful(_recording(name, answer, seen))
    flavorful(_constant("f_list_in_record2", {"a": "list_in_record2"}))
    flavorful(_constant("f_list_in_variant2", "list_in_variant2"))
    errnos = [ak.Err("b"), ak.Ok()]  # the guest expects err(b), then ok

    @flavorful
    def errno_result():
        return errnos.pop(0)

    @flavorful
    def f_list_in_variant1(a, b):
        seen.append((a, b))

    @flavorful
    def list_typedefs(a, c):
        seen.append((a, c))
        return (b"typedef3", ["typedef4"])

    @flavorful
    def list_of_variants(a, b, c):
        seen.append((a, b, c))
        return ([False, True], [ak.Err(), ak.Ok()], ["a", "b"])

    cell.line(f"load {fixture('flavorful')}")
    ns["flavorful"].test_imports()  # the guest asserts every answer
    assert seen[0].a == "list_in_record1"  # a record of the import's own (generated) class
    assert ("foo", ak.Err("bar")) in seen and ("typedef1", ["typedef2"]) in seen
    assert ([True, False], [ak.Ok(), ak.Err()], ["success", "a"]) in seen


def _recording(name: str, answer, seen: list):
    def record(a):
        seen.append(a)
        return answer

    record.__name__ = name
    return record


def provide_aggregates(seen: dict) -> None:
    """resource_aggregates' import from Python: a Thing holding its number; `foo` notes the number of every
    thing it is given (in parameter order) and returns their sum."""

    @ak.provide("test:resource-aggregates/test")
    class Thing:
        def __init__(self, v: int):
            self.v = v

    @ak.provide("test:resource-aggregates/test")
    def foo(r1, r2, r3, t1, t2, v1, v2, l1, l2, o1, o2, result1, result2) -> int:
        things = [r1.thing, r2.thing, r3.thing1, r3.thing2, t1[0], t1[1].thing, t2[0], v1.value, v2.value,
                  *l1, *l2, o1, o2, result1.value, result2.value]  # fmt: skip
        seen["values"] = [t.v for t in things]
        return sum(seen["values"])


def foo_of_sixteen_things(h) -> int:
    """resource_aggregates' export `foo`, given things 0..15 in every aggregate it takes."""
    T = h.Thing
    return h.foo(
        h.R1(T(0)), h.R2(T(1)), h.R3(T(2), T(3)), (T(4), h.R1(T(5))), (T(6),), ("thing", T(7)), ("thing", T(8)),
        [T(9), T(10)], [T(11)], T(12), T(13), ak.Ok(T(14)), ak.Ok(T(15)),
    )  # fmt: skip


def test_resources_inside_records_tuples_variants_lists_options_and_results(cell, ns, providers):
    """wit-bindgen's resource_aggregates: own and borrowed handles everywhere an aggregate can hold one, into
    the component's exports and out of it into an import a Python class and function implement."""
    seen = {}
    provide_aggregates(seen)
    cell.line(f"load {fixture('resource_aggregates')}")
    total = foo_of_sixteen_things(ns["resource_aggregates"])
    assert seen["values"] == [v + 1 for v in range(16)]  # the guest's constructor adds one
    assert total == sum(seen["values"]) + 4  # and its foo four


def test_borrowed_handles_inside_a_list_of_records(cell, ns, providers):
    """wit-bindgen's resource_borrow_in_record: `list<record { thing: borrow<thing> }>` into an import."""
    seen = []

    @ak.provide("test:resource-borrow-in-record/test")
    class Thing:
        def __init__(self, s: str):
            self.s = s

        def get(self) -> str:
            return self.s

    @ak.provide("test:resource-borrow-in-record/test")
    def test(a):
        seen.extend(f.thing.s for f in a)
        return [Thing(f"{f.thing.s} test") for f in a]

    cell.line(f"load {fixture('resource_borrow_in_record')}")
    h = ns["resource_borrow_in_record"]
    out = h.test([h.Foo(h.Thing("one")), h.Foo(h.Thing("two"))])
    assert seen == ["one Thing", "two Thing"]  # the guest's constructor names what it makes
    assert [t.get() for t in out] == ["one Thing test Thing.get", "two Thing test Thing.get"]


def test_imported_resources_served_by_another_loaded_component(cell, ns, providers):
    """`load --use`: one resource_aggregates serves the other's import, handles in every aggregate crossing
    from one component's Store into the other's; the first's own import is provided from Python."""
    seen = {}
    provide_aggregates(seen)
    cell.line(f"load {fixture('resource_aggregates')} agg_inner")
    out = cell.line(f"load {fixture('resource_aggregates')} agg_outer --use agg_inner")
    assert "not provided" not in out
    total = foo_of_sixteen_things(ns["agg_outer"])
    assert seen["values"] == [v + 2 for v in range(16)]  # each component's constructor added one
    assert total == sum(seen["values"]) + 4 + 4  # and each component's foo four
