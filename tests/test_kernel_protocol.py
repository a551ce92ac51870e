"""The Asterai kernel over the Jupyter protocol (jupyter_client): one real kernel process for the module."""

from __future__ import annotations

import random
import time

import pytest
from jupyter_client.manager import start_new_kernel

TIMEOUT = 180  # the first Rust cell may wait for the one-time std build


@pytest.fixture(scope="module")
def kernel():
    km, kc = start_new_kernel(kernel_name="asterai", startup_timeout=60)
    yield km, kc
    kc.stop_channels()
    km.shutdown_kernel(now=True)


def run(kc, code: str, timeout: float = TIMEOUT) -> dict:
    """Execute code; return its reply plus the iopub messages (streams in order, results, errors).

    After a cell fails, ipykernel 7 aborts the requests it already queued; one sent right after the error
    reply can still be caught by that (it never runs and its reply says "aborted"): send it again.
    """
    while True:
        r = _run_once(kc, code, timeout)
        if r["reply"]["status"] != "aborted":
            return r


def _run_once(kc, code: str, timeout: float) -> dict:
    msg_id = kc.execute(code)
    streams: list[tuple[str, str]] = []
    results, errors, displays = [], [], []
    deadline = time.monotonic() + timeout
    while True:
        msg = kc.get_iopub_msg(timeout=max(0.1, deadline - time.monotonic()))
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        kind, content = msg["msg_type"], msg["content"]
        if kind == "stream":
            if streams and streams[-1][0] == content["name"]:
                streams[-1] = (content["name"], streams[-1][1] + content["text"])
            else:
                streams.append((content["name"], content["text"]))
        elif kind == "execute_result":
            results.append(content["data"]["text/plain"])
        elif kind == "error":
            errors.append(content)
        elif kind in ("display_data", "update_display_data"):
            display_id = content.get("transient", {}).get("display_id")
            displays.append((kind, display_id, content["data"].get("text/plain", "")))
        elif kind == "status" and content["execution_state"] == "idle":
            break
    reply = kc.get_shell_msg(timeout=timeout)
    while reply["parent_header"].get("msg_id") != msg_id:
        reply = kc.get_shell_msg(timeout=timeout)
    return {"reply": reply["content"], "streams": streams, "results": results, "errors": errors,
            "displays": displays}  # fmt: skip


def stdout(r: dict) -> str:
    return "".join(text for name, text in r["streams"] if name == "stdout")


def test_kernel_info_names_the_languages(kernel):
    _, kc = kernel
    kc.kernel_info()
    info = kc.get_shell_msg(timeout=30)["content"]
    assert info["implementation"] == "asterai"
    assert "rust" in info["asterai"]["languages"]
    assert "ts" in info["asterai"]["aliases"]["typescript"]  # the extension highlights every alias too
    assert info["language_info"]["name"] == "python"


GEO = "%%asterai rust geo\npub fn word_count(text: &str) -> u32 { text.split_whitespace().count() as u32 }\n"


def test_rust_cell_then_python_call(kernel):
    _, kc = kernel
    r = run(kc, GEO)
    assert r["reply"]["status"] == "ok", r
    assert "geo: rust component" in stdout(r)
    r = run(kc, "word_count('the quick brown fox'), geo.word_count('a b')")
    assert r["results"] == ["(4, 2)"]


def test_guest_output_keeps_its_order(kernel):
    _, kc = kernel
    src = 'pub fn talk() { println!("one"); eprintln!("two"); println!("three"); }\n'
    assert run(kc, "%%asterai rust talker\n" + src)["reply"]["status"] == "ok"
    r = run(kc, "talk()")
    assert r["streams"] == [("stdout", "one\n"), ("stderr", "two\n"), ("stdout", "three\n")]


def test_errors_show_without_kernel_traceback(kernel):
    _, kc = kernel
    r = run(kc, "%%asterai rust bad\npub fn f() -> u32 {\n    nope\n}\n")
    assert r["reply"]["status"] == "error"
    (err,) = r["errors"]
    assert err["ename"] == "CompileError"
    text = "\n".join(err["traceback"])
    assert "cell.rs:3:5" in text and "cannot find value `nope`" in text
    assert "magics.py" not in text and "session.py" not in text


SPIN = """
use std::sync::atomic::{AtomicU64, Ordering};
static CALLS: AtomicU64 = AtomicU64::new(0);
pub fn calls() -> u64 { CALLS.fetch_add(1, Ordering::SeqCst) + 1 }
pub fn spin() -> u64 {
    let mut i: u64 = 0;
    loop { i = std::hint::black_box(i.wrapping_add(1)); }
}
"""


WORK = (
    "pub fn work(n: u64) -> u64 { (0..n).fold(0u64, |a, x| std::hint::black_box(a.wrapping_add(x * x))) }\n"
)

# Prints a marker once the main thread is inside guest code, so the test presses stop when the guest runs,
# not after a sleep that a busy machine can outlast.
ANNOUNCE_GUEST = """
import threading as _threading, time as _time
from asterai_kernel.session import get_session as _get_session
def _announce():
    while _get_session().guest_depth == 0:
        _time.sleep(0.001)
    print("in guest code", flush=True)
_threading.Thread(target=_announce, daemon=True).start()
"""


def interrupt(kc) -> None:
    """Press the stop button and wait until the kernel has handled it."""
    kc.control_channel.send(kc.session.msg("interrupt_request", {}))
    while kc.get_control_msg(timeout=60)["msg_type"] != "interrupt_reply":
        pass


def wait_stream(kc, msg_id: str, text: str) -> None:
    while True:
        msg = kc.get_iopub_msg(timeout=TIMEOUT)
        if msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "stream":
            if text in msg["content"]["text"]:
                return


def wait_reply(kc, msg_id: str, timeout: float = TIMEOUT) -> dict:
    while True:
        reply = kc.get_shell_msg(timeout=timeout)
        if reply["parent_header"].get("msg_id") == msg_id:
            return reply["content"]


def test_interrupt_stops_guest_code_and_keeps_the_session(kernel):
    _, kc = kernel
    assert run(kc, GEO)["reply"]["status"] == "ok"
    assert run(kc, "%%asterai rust spinner\n" + SPIN)["reply"]["status"] == "ok"
    assert run(kc, "x_before = 41; calls(), calls()")["results"] == ["(1, 2)"]
    msg_id = kc.execute(ANNOUNCE_GUEST + "spin()")
    wait_stream(kc, msg_id, "in guest code")
    t0 = time.monotonic()
    interrupt(kc)
    while True:
        msg = kc.get_iopub_msg(timeout=60)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "error":
            assert msg["content"]["ename"] == "KeyboardInterrupt"
            break
    elapsed = time.monotonic() - t0
    assert wait_reply(kc, msg_id)["status"] == "error"
    assert elapsed < 30, elapsed  # measured about 25 ms: this only says the loop did not run on to its end
    r = run(kc, "x_before + 1, word_count('still here'), calls()")
    # Python state and other components survive; the interrupted component restarted (its counter too).
    assert r["results"] == ["(42, 2, 1)"]


def test_an_interrupt_as_a_call_ends_never_reaches_the_next_cell(kernel):
    """Stop pressed at random moments around the end of short guest calls: the cell that was running
    ends (or had already ended), and the next cell always runs clean. Every fifth round is a loop of short
    calls, which the interrupt must always stop."""
    _, kc = kernel
    assert run(kc, "%%asterai rust racer\n" + WORK)["reply"]["status"] == "ok"
    assert run(kc, "work(10)")["results"] == ["285"]  # warm: the rounds below time guest calls only
    rng = random.Random(14)
    outcomes = {"ok": 0, "interrupted": 0}
    for round_ in range(60):
        loop = round_ % 5 == 4
        if loop:  # press stop once the loop runs (an interrupt that reaches an idle kernel does nothing)
            msg_id = kc.execute(ANNOUNCE_GUEST + "while True:\n    work(20_000)")
            wait_stream(kc, msg_id, "in guest code")
        else:
            msg_id = kc.execute("r = work(200_000); r > 0")
        time.sleep(rng.uniform(0, 0.004))  # about one call's length: before, during and after it
        interrupt(kc)
        reply = wait_reply(kc, msg_id, timeout=60)
        if loop:
            assert reply["status"] == "error" and reply["ename"] == "KeyboardInterrupt", reply
        elif reply["status"] == "error":
            assert reply["ename"] == "KeyboardInterrupt", reply  # never a GuestTrap of the epoch
        outcomes["interrupted" if reply["status"] == "error" else "ok"] += 1
        after = run(kc, "1 + 1, work(10)")
        assert after["reply"]["status"] == "ok", (round_, after)
        assert after["results"] == ["(2, 285)"], (round_, after)
    assert outcomes["interrupted"] >= 12, outcomes  # the loops at least


def test_trap_keeps_the_kernel_alive(kernel):
    _, kc = kernel
    src = 'pub fn boom(x: u32) -> u32 { if x > 0 { panic!("boom {x}"); } x }\n'
    assert run(kc, "%%asterai rust bomb\n" + src)["reply"]["status"] == "ok"
    r = run(kc, "boom(3)")
    assert r["errors"][0]["ename"] == "GuestTrap"
    assert "boom 3" in r["errors"][0]["evalue"]
    assert run(kc, "boom(0), word_count('a')")["results"] == ["(0, 1)"]


def test_cache_survives_a_kernel_restart(kernel):
    km, kc = kernel
    src = "%%asterai rust persisted\npub fn answer() -> u32 { 42 }\n"
    run(kc, src)
    km.restart_kernel(now=True)
    kc.wait_for_ready(timeout=60)
    r = run(kc, src)
    assert "persisted: rust component, from cache" in stdout(r)
    assert run(kc, "answer()")["results"] == ["42"]


SLOW_TO_COMPILE = """#![allow(long_running_const_eval)]
const SPIN: u64 = { let mut i = 0u64; let mut s = 0u64; while i < 4_000_000_000 { s = s.wrapping_add(i ^ s); i += 1; } s };
pub fn spin_const() -> u64 { SPIN }
"""


def test_interrupt_stops_a_compiling_cell(kernel):
    km, kc = kernel
    from asterai_kernel.build.cache import cache_dir

    def leftovers() -> list:  # build dirs of this cell (other builds may run at the same time)
        return [
            p for p in cache_dir().glob("build-*/cell.rs") if "spin_const" in p.read_text(errors="replace")
        ]

    msg_id = kc.execute("%%asterai rust never_built\n" + SLOW_TO_COMPILE)
    while not leftovers():  # rustc is at work on the cell (its const takes minutes to evaluate)
        time.sleep(0.05)
    interrupt(kc)
    while True:
        msg = kc.get_iopub_msg(timeout=60)  # well before the build could have finished
        if msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "error":
            assert msg["content"]["ename"] == "KeyboardInterrupt"
            break
    while kc.get_shell_msg(timeout=10)["parent_header"].get("msg_id") != msg_id:
        pass
    assert leftovers() == []  # the half-done build left nothing behind
    r = run(kc, "'never_built' in dir(), 2 + 2")
    assert r["results"] == ["(False, 4)"]


def test_a_comm_message_presses_call_in_a_call_form(kernel):
    _, kc = kernel
    src = "pub fn triple(x: u32) -> u32 { x * 3 }\n"
    assert run(kc, "%%asterai rust formed_remote\n" + src)["reply"]["status"] == "ok"
    setup = (
        "import asterai_kernel\n"
        "remote_form = asterai_kernel.call_form('formed_remote')\n"
        "fields, button, output = remote_form.forms['triple']\n"
        "fields[0].widget.value = 14\n"
        "button.model_id"
    )
    r = run(kc, setup)
    model_id = r["results"][0].strip("'")
    # what a browser sends when the button is clicked
    msg = kc.session.msg(
        "comm_msg", {"comm_id": model_id, "data": {"method": "custom", "content": {"event": "click"}}}
    )
    kc.shell_channel.send(msg)
    deadline = time.monotonic() + 120  # bounds a failing run only: the loop ends when the form shows 42
    while time.monotonic() < deadline:
        r = run(kc, "output.value")
        if "42" in r["results"][0]:
            break
        time.sleep(0.2)
    assert "<code>42</code>" in r["results"][0]


def test_a_bad_argument_shows_the_users_line_not_the_kernels(kernel):
    _, kc = kernel
    assert run(kc, GEO)["reply"]["status"] == "ok"
    r = run(kc, "x = 1\nword_count(42)")
    (err,) = r["errors"]
    assert err["ename"] == "TypeError" and err["evalue"] == "parameter 'text' must be a str, not int"
    text = "\n".join(err["traceback"])
    assert "word_count(42)" in text  # the user's own line
    for internal in ("handles.py", "component.py", "values.py", "interactiveshell.py"):
        assert internal not in text, text


def test_build_progress_updates_one_display_then_gives_way_to_the_summary(kernel):
    """Progress is not stderr text (red in JupyterLab, and it stayed): one display, updated in place with
    the current step and the time, emptied when the build is done; the summary is the cell's output."""
    _, kc = kernel
    source = "package main\n\nfunc Twice(x int32) int32 { return x * 2 }\n"
    r = run(kc, f"%%asterai go progress_go --force\n{source}")
    assert r["reply"]["status"] == "ok", r
    kinds = [kind for kind, _, _ in r["displays"]]
    assert kinds[0] == "display_data" and set(kinds[1:]) == {"update_display_data"}, kinds
    assert len({display_id for _, display_id, _ in r["displays"]}) == 1  # the same display throughout
    texts = [text for _, _, text in r["displays"]]
    assert any(text.startswith("go build (wasip1)...") and text.endswith(" s]") for text in texts), texts
    assert texts[-1] == ""  # gone once the build is done
    assert "go build" not in "".join(text for name, text in r["streams"] if name == "stderr")
    assert stdout(r).startswith("progress_go: go component, built in ")
