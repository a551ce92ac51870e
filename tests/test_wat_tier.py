"""The runtime without any guest compiler: components written in WAT (the Component Model's text format),
made with wasm-tools as wasmtime-py's own tests do, loaded with `%asterai load`.

They cover what does not depend on a language: the value layer's checks and conversions, traps and restarts,
timeouts, fuel, interrupts (also in loops of short calls) and isolation between components. This module is in
the fast tier: `pytest -m "not toolchain"` runs it.
"""

from __future__ import annotations

import _thread
import threading
import time

import pytest
from conftest import wat_component

from asterai_kernel import GuestTrap, OutOfFuel, Timeout
from asterai_kernel.session import get_session

pytestmark = pytest.mark.no_toolchain

# A bump allocator for the canonical ABI's realloc, a counter, a trap, a loop, and functions that show how
# each kind of value is laid out: strings and bytes as (pointer, length), tuples flattened to their fields,
# options as (discriminant, payload), results written to a return area in memory. (Named types, records among
# them, need an exported interface; the toolchain tier covers them.)
PROBE = """
(component
  (core module $m
    (memory (export "memory") 1)
    (global $count (mut i32) (i32.const 0))
    (global $heap (mut i32) (i32.const 1024))
    (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
    (func (export "neg") (param i64) (result i64) (i64.sub (i64.const 0) (local.get 0)))
    (func (export "tick") (result i32)
      (global.set $count (i32.add (global.get $count) (i32.const 1)))
      (global.get $count))
    (func (export "boom") (param i32) (result i32) unreachable)
    (func (export "spin") (loop $l (br $l)))
    (func (export "realloc") (param i32 i32 i32 i32) (result i32)
      (local $p i32)
      (local.set $p (i32.and (i32.add (global.get $heap) (i32.sub (local.get 2) (i32.const 1)))
                             (i32.xor (i32.sub (local.get 2) (i32.const 1)) (i32.const -1))))
      (global.set $heap (i32.add (local.get $p) (local.get 3)))
      (local.get $p))
    (func (export "echo") (param i32 i32) (result i32)
      (i32.store (i32.const 16) (local.get 0))
      (i32.store (i32.const 20) (local.get 1))
      (i32.const 16))
    (func (export "swap") (param f64 f64) (result i32)
      (f64.store (i32.const 32) (local.get 1))
      (f64.store (i32.const 40) (local.get 0))
      (i32.const 32))
    (func (export "twice") (param i32 i32) (result i32)
      (i32.store8 (i32.const 48) (local.get 0))
      (i32.store (i32.const 52) (i32.mul (local.get 1) (i32.const 2)))
      (i32.const 48))
  )
  (core instance $i (instantiate $m))
  (func (export "add") (param "a" u32) (param "b" u32) (result u32) (canon lift (core func $i "add")))
  (func (export "neg") (param "x" s64) (result s64) (canon lift (core func $i "neg")))
  (func (export "tick") (result u32) (canon lift (core func $i "tick")))
  (func (export "boom") (param "x" u32) (result u32) (canon lift (core func $i "boom")))
  (func (export "spin") (canon lift (core func $i "spin")))
  (func (export "echo") (param "text" string) (result string)
    (canon lift (core func $i "echo") (memory (core memory $i "memory")) (realloc (core func $i "realloc"))))
  (func (export "echo-bytes") (param "data" (list u8)) (result (list u8))
    (canon lift (core func $i "echo") (memory (core memory $i "memory")) (realloc (core func $i "realloc"))))
  (func (export "swap") (param "p" (tuple f64 f64)) (result (tuple f64 f64))
    (canon lift (core func $i "swap") (memory (core memory $i "memory"))))
  (func (export "twice") (param "x" (option u32)) (result (option u32))
    (canon lift (core func $i "twice") (memory (core memory $i "memory"))))
)
"""


@pytest.fixture(scope="module")
def probe_wasm(tmp_path_factory):
    return wat_component(tmp_path_factory.mktemp("wat"), "probe", PROBE)


@pytest.fixture
def probe(cell, ns, probe_wasm):
    """A fresh instance of the probe, named probe."""
    cell.line(f"load {probe_wasm} probe")
    return ns["probe"]


def test_scalars_are_range_checked_before_the_call(probe, ns):
    assert ns["add"](2, 3) == 5 and ns["neg"](-(2**63) + 1) == 2**63 - 1
    with pytest.raises(OverflowError, match="parameter 'a' = -1 is out of range for u32"):
        ns["add"](-1, 2)
    with pytest.raises(OverflowError, match="parameter 'x' = 9223372036854775808 is out of range for s64"):
        ns["neg"](2**63)
    with pytest.raises(TypeError, match="parameter 'b' must be an int"):
        ns["add"](1, "2")
    assert ns["tick"]() == 1  # nothing refused reached the guest


def test_strings_bytes_tuples_options_cross(probe, ns):
    assert ns["echo"]("héllo, wörld ✓") == "héllo, wörld ✓"
    assert ns["echo_bytes"](bytes(range(256))) == bytes(range(256))
    assert ns["swap"]((1.5, -2.0)) == (-2.0, 1.5) and ns["swap"]([3, 4]) == (4.0, 3.0)
    assert ns["twice"](21) == 42 and ns["twice"](None) is None
    with pytest.raises(ValueError, match="must have 2 items"):
        ns["swap"]((1.0,))
    with pytest.raises(TypeError, match=r"parameter 'p'\[1\] must be a float"):
        ns["swap"]((1.0, "y"))


def test_a_trap_restarts_only_that_component(probe, cell, ns, probe_wasm):
    cell.line(f"load {probe_wasm} bystander")
    bystander = ns["bystander"]
    assert [probe.tick(), probe.tick(), bystander.tick()] == [1, 2, 1]
    with pytest.raises(GuestTrap) as info:
        probe.boom(1)
    assert info.value.component == "probe" and "unreachable" in info.value.guest_message
    assert probe.tick() == 1  # restarted: its state starts again
    assert bystander.tick() == 2  # untouched


def test_timeout_and_fuel_stop_a_loop(probe):
    probe.regrant(timeout=0.2)
    with pytest.raises(Timeout, match="--timeout of 0.2 s"):
        probe.spin()
    assert probe.add(1, 1) == 2
    probe.regrant(timeout=None, fuel=100_000)
    with pytest.raises(OutOfFuel, match="100,000"):
        probe.spin()
    assert probe.add(2, 2) == 4  # a fresh budget per call


def test_interrupt_stops_a_loop(probe):
    probe.tick()
    get_session().interrupt_soon(after=0.05)
    with pytest.raises(KeyboardInterrupt):
        probe.spin()
    assert probe.tick() == 1


def test_no_interrupt_is_lost_in_a_loop_of_short_calls(probe):
    session, add = get_session(), probe.add

    def interrupt():  # what the kernel does: stop guest code, else interrupt Python
        if not session.interrupt():
            _thread.interrupt_main()

    for delay in (0.01, 0.03, 0.07):
        threading.Timer(delay, interrupt).start()
        with pytest.raises(KeyboardInterrupt):
            deadline = time.monotonic() + 120  # bounds a failing run only
            while time.monotonic() < deadline:
                add(1, 2)
        assert not session.interrupt_pending
    assert add(20, 22) == 42


def test_sandbox_refusals_in_a_guests_words_get_a_hint():
    from asterai_kernel import ComponentError, GuestTrap

    denied = ComponentError("Capabilities insufficient (os error 76)", component="c", function="read")
    assert (
        "--allow-read DIR" in denied.hint and "hint: the sandbox refused" in denied._render_traceback_()[-1]
    )
    trap = GuestTrap("c", "write", "PermissionError: [Errno 63] Operation not permitted")
    assert "--allow-write DIR" in trap.hint
    assert ComponentError("not found", component="c", function="f").hint == ""
    assert ComponentError(76, component="c", function="f").hint == ""  # only a guest's text is read


# Memory the component needs from its start (4 pages), and a start function that traps.
NEEDS_MEMORY = """
(component
  (core module $m (memory (export "memory") 4) (func (export "one") (result i32) (i32.const 1)))
  (core instance $i (instantiate $m))
  (func (export "one") (result u32) (canon lift (core func $i "one"))))
"""
TRAPS_AT_START = """
(component
  (core module $m (func $start unreachable) (start $start) (func (export "one") (result i32) (i32.const 1)))
  (core instance $i (instantiate $m))
  (func (export "one") (result u32) (canon lift (core func $i "one"))))
"""


def test_a_memory_limit_below_what_the_component_starts_with_says_so(cell, tmp_path):
    from asterai_kernel import AsteraiError

    wasm = wat_component(tmp_path, "roomy", NEEDS_MEMORY)
    cell.line(f"load {wasm} roomy")
    roomy = get_session().components["roomy"]
    with pytest.raises(AsteraiError) as refused:
        roomy.regrant(roomy.grants.updated(max_memory="128KiB"))
    assert str(refused.value) == (
        "roomy cannot start: it needs 256KiB of memory from the start, more than its --max-memory of 128KiB; "
        "give it --max-memory 1MiB or more"
    )
    assert roomy.grants.max_memory == 512 << 20 and roomy.call("one", (), {}) == 1  # the old grants, still up
    roomy.regrant(roomy.grants.updated(max_memory="1MiB"))
    assert roomy.call("one", (), {}) == 1


def test_a_trap_while_starting_says_it_could_not_start(cell, tmp_path):
    wasm = wat_component(tmp_path, "stillborn", TRAPS_AT_START)
    with pytest.raises(GuestTrap) as trapped:
        cell.line(f"load {wasm} stillborn")
    assert "stillborn.(initialization) trapped: " in str(trapped.value)
    assert "could not start; other components are untouched" in str(trapped.value)
    assert "restarted" not in str(trapped.value)
