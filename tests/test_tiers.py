"""Tiered machine code (tiers.py): a big component runs at once on Winch's code; Cranelift's, compiled in
the background, takes over at the component's next start. Each test's cell carries a new nonce, so no
machine code of it is cached and the first load really is Winch's."""

from __future__ import annotations

import html
import threading
import uuid

import pytest

from asterai_kernel import OutOfFuel, Timeout
from asterai_kernel.session import get_session
from asterai_kernel.tiers import TIER_UP_MIN

GO = """package main

// NONCE
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


def fresh(cell, name: str, options: str = "", source: str = GO):
    cell(f"go {name} {options}".strip(), source.replace("NONCE", uuid.uuid4().hex))
    return get_session().components[name]


def test_a_big_component_starts_on_winch_and_restarts_on_cranelift(cell, ns):
    session = get_session()
    live = fresh(cell, "tiered")
    assert live.wasm_size >= TIER_UP_MIN and live.runtime.config.winch and live.timings.winch
    first = ns["tiered"].spin(100_000)
    assert first == spin(100_000)
    session.optimized_now(live)  # what the background compile makes (tested on its own below)
    assert live.runtime.config.winch  # a live instance is never swapped: its state would be lost
    assert ns["tiered"].spin(100_000) == first
    live.restart()
    assert not live.runtime.config.winch and ns["tiered"].spin(100_000) == first


def test_a_rerun_once_cranelifts_code_is_made_loads_it(cell, ns):
    source = GO.replace("NONCE", uuid.uuid4().hex)
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
    printed = cell("go tiered_timed --time", GO.replace("NONCE", uuid.uuid4().hex))
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
    assert live.wasm_size < TIER_UP_MIN and not live.runtime.config.winch


def test_tiering_can_be_turned_off(cell, monkeypatch):
    monkeypatch.setattr(get_session(), "tiered", False)  # ASTERAI_TIERED=0
    assert not fresh(cell, "untiered").runtime.config.winch
