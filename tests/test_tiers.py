"""Tiered machine code (tiers.py): a big component runs at once on Winch's code; Cranelift's, compiled in
the background, takes over at the component's next start. Each test's cell returns a new nonce, so no
machine code of it is cached and the first load really is Winch's."""

from __future__ import annotations

import html
import re
import subprocess
import threading
import uuid

import pytest
from conftest import wat_component

from asterai_kernel import OutOfFuel, Timeout
from asterai_kernel.sandbox import Grants
from asterai_kernel.session import get_session
from asterai_kernel.tiers import TIER_UP_MIN, code_bytes
from asterai_kernel.toolchains import wasm_tools

GO = """package main

// BuildId returns the test's nonce: a new constant changes the compiled code, so no machine code of an
// earlier run (the cache outlives the suite) matches it. A comment would not: it leaves the bytes alone.
func BuildId() uint64 { return NONCE }

func Spin(n uint64) uint64 {
	x := uint64(7)
	for i := uint64(0); i < n; i++ {
		x = x*6364136223846793005 + 1442695040888963407
	}
	return x
}

func Forever() uint64 {
	var x uint64
	for {
		x++
	}
}
"""


def with_nonce(source: str = GO) -> str:
    return source.replace("NONCE", str(uuid.uuid4().int % 2**63))


def fresh(cell, name: str, options: str = "", source: str = GO):
    cell(f"go {name} {options}".strip(), with_nonce(source))
    return get_session().components[name]


def test_a_big_component_starts_on_winch_and_restarts_on_cranelift(cell, ns):
    session = get_session()
    live = fresh(cell, "tiered")
    assert code_bytes(live.wasm_path) >= TIER_UP_MIN and live.runtime.config.winch and live.timings.winch
    first = ns["tiered"].spin(100_000)
    assert first == spin(100_000)
    session.optimized_now(live)  # what the background compile makes (tested on its own below)
    assert live.runtime.config.winch  # a live instance is never swapped: its state would be lost
    assert ns["tiered"].spin(100_000) == first
    live.restart()
    assert not live.runtime.config.winch and ns["tiered"].spin(100_000) == first


def test_a_rerun_once_cranelifts_code_is_made_loads_it(cell, ns):
    source = with_nonce()
    cell("go tiered_again", source)
    assert get_session().components["tiered_again"].runtime.config.winch
    get_session().optimized_now(get_session().components["tiered_again"])
    cell("go tiered_again", source)
    live = get_session().components["tiered_again"]
    assert not live.runtime.config.winch and not live.timings.winch
    assert "Winch" not in cell("go tiered_again --time", source)


def test_limits_and_interrupts_hold_on_winchs_code(cell, ns):
    session = get_session()
    live = fresh(cell, "tiered_limits", "--timeout 0.5")
    assert live.runtime.config.winch
    with pytest.raises(Timeout):
        ns["tiered_limits"].forever()
    ns["tiered_limits"].regrant(fuel=1_000_000, timeout=None)
    live = session.components["tiered_limits"]
    assert live.runtime.config.consume_fuel
    with pytest.raises(OutOfFuel):
        ns["tiered_limits"].forever()
    ns["tiered_limits"].regrant(fuel=None)
    session.interrupt_soon(after=0.3)
    with pytest.raises(KeyboardInterrupt):
        ns["tiered_limits"].forever()
    assert ns["tiered_limits"].spin(3) == spin(3)  # and it works again


def spin(n: int) -> int:
    """Spin's value, computed by the host: u64 arithmetic wraps."""
    x = 7
    for _ in range(n):
        x = (x * 6364136223846793005 + 1442695040888963407) % 2**64
    return x


def test_the_summary_under_time_says_which_code_runs(cell):
    printed = cell("go tiered_timed --time", with_nonce())
    assert (
        "machine code" in printed
        and "(Winch's; Cranelift's optimized code is used from its next start)" in printed
    )


def test_optimize_waits_for_cranelifts_code_and_restarts_on_it(cell, ns, capsys):
    import asterai_kernel

    live = fresh(cell, "tiered_opt")
    assert "Winch's, quick to make" in html.unescape(
        ns["tiered_opt"]._repr_html_()
    )  # the inspector says which code runs
    asterai_kernel.optimize("tiered_opt")
    assert capsys.readouterr().out.endswith(
        "tiered_opt: now on Cranelift's optimized machine code; its state restarted\n"
    )
    assert not live.runtime.config.winch and ns["tiered_opt"].spin(5) == spin(5)
    assert "Cranelift's, optimized" in html.unescape(ns["tiered_opt"]._repr_html_())
    asterai_kernel.optimize(ns["tiered_opt"])
    assert capsys.readouterr().out == "tiered_opt: already on Cranelift's optimized machine code\n"


def test_the_background_makes_cranelifts_code_latest_first_and_only_if_wanted(cell, tmp_path):
    """The queue on its own (the session's is shared with every big component of the test run)."""
    from asterai_kernel.engine import EngineConfig
    from asterai_kernel.tiers import TierUp

    paths = []
    for name in ("tier_q1", "tier_q2"):
        cell(f"rust {name}", f"// {uuid.uuid4().hex}\npub fn one() -> u32 {{ 1 }}\n")
        paths.append(get_session().components[name].wasm_path)
    order, queue, config = [], TierUp(), EngineConfig()
    released = threading.Event()  # the first request's turn may come at once: it waits for the others

    def wanted(name, answer=True):
        return lambda: order.append(name) or (released.wait(900) and answer)

    queue.request(paths[0], tmp_path / "a.cwasm", config, wanted("a"))
    queue.request(paths[1], tmp_path / "b.cwasm", config, wanted("b", answer=False))  # re-run meanwhile
    queue.request(paths[1], tmp_path / "c.cwasm", config, wanted("c"))
    released.set()
    assert queue.wait(timeout=900)  # a verdict on what was made, not on how long it took
    assert (tmp_path / "a.cwasm").exists() and (tmp_path / "c.cwasm").exists()
    assert not (tmp_path / "b.cwasm").exists()  # not wanted when its turn came
    assert order.index("c") < order.index("b")  # the latest request first
    assert queue.pending() == 0
    queue.close()


def test_small_components_get_cranelifts_code_at_once(cell):
    cell("rust tiered_small", f"// {uuid.uuid4().hex}\npub fn one() -> u32 {{ 1 }}\n")
    live = get_session().components["tiered_small"]
    assert code_bytes(live.wasm_path) < TIER_UP_MIN and not live.runtime.config.winch
    assert code_bytes(live.wasm_path) == objdump_code_bytes(live.wasm_path)  # counted as wasm-tools does


def objdump_code_bytes(path) -> int:
    """The sizes of every code section that `wasm-tools objdump` lists (nested modules included)."""
    out = subprocess.run([wasm_tools(), "objdump", path], capture_output=True, text=True, check=True).stdout
    return sum(int(m[1]) for m in re.finditer(r"^\s*code\s.*\|\s*(\d+) bytes", out, re.M))


def component(tmp_path, functions: int, data_bytes: int):
    """A new component (no machine code of it cached) whose core module has `functions` small functions
    and a data segment of `data_bytes`."""
    body = "".join(f"(func (result i32) i32.const {i} i32.const 3 i32.mul i32.const 1 i32.add)\n"
                   for i in range(functions))  # fmt: skip
    data = f'(memory {data_bytes // 65536 + 1}) (data (i32.const 0) "{"x" * data_bytes}")'
    module = f'(core module $m {data}\n{body}(func (export "f") (result i32) i32.const 1))'
    return wat_component(
        tmp_path, f"c{uuid.uuid4().hex}", f"(component {module} (core instance (instantiate $m)))"
    )


@pytest.mark.no_toolchain
def test_a_big_file_with_little_code_gets_cranelifts_code_at_once(tmp_path):
    path = component(tmp_path, functions=10, data_bytes=2 << 20)  # mostly data, like C++'s
    assert path.stat().st_size > 2 << 20 and code_bytes(path) < 1000
    assert code_bytes(path) == objdump_code_bytes(path)
    _, runtime = get_session().load_best(path, Grants())
    assert not runtime.config.winch


@pytest.mark.no_toolchain
def test_a_component_with_much_code_starts_on_winch(tmp_path):
    path = component(tmp_path, functions=TIER_UP_MIN // 10, data_bytes=16)  # ~13 bytes each
    assert path.stat().st_size < 1 << 20 and code_bytes(path) >= TIER_UP_MIN
    assert code_bytes(path) == objdump_code_bytes(path)
    _, runtime = get_session().load_best(path, Grants())
    assert runtime.config.winch


@pytest.mark.no_toolchain
def test_a_file_that_is_not_webassembly_counts_whole(tmp_path):
    junk = tmp_path / "junk.wasm"
    junk.write_bytes(b"\0asm\x0d\x00\x01\x00\x01\xff\xff")  # a section size that never ends
    assert code_bytes(junk) == junk.stat().st_size


def test_tiering_can_be_turned_off(cell, monkeypatch):
    monkeypatch.setattr(get_session(), "tiered", False)  # ASTERAI_TIERED=0
    assert not fresh(cell, "untiered").runtime.config.winch
