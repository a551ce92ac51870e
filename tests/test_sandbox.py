"""The sandbox, adversarially: deny by default, grants, limits, interrupts, output floods, fault isolation."""

from __future__ import annotations

import _thread
import contextlib
import io
import threading
import time

import pytest

from asterai_kernel import AsteraiError, ComponentError, GuestTrap, OutOfFuel, OutOfMemory, Timeout
from asterai_kernel.session import get_session

PROBE = """
use std::sync::atomic::{AtomicU64, Ordering};
static CALLS: AtomicU64 = AtomicU64::new(0);
pub fn calls() -> u64 { CALLS.fetch_add(1, Ordering::SeqCst) + 1 }
pub fn read(path: String) -> Result<String, String> { std::fs::read_to_string(&path).map_err(|e| e.to_string()) }
pub fn write(path: String, text: String) -> Result<(), String> { std::fs::write(&path, text).map_err(|e| e.to_string()) }
pub fn list(path: String) -> Result<Vec<String>, String> {
    let mut names: Vec<String> = std::fs::read_dir(&path).map_err(|e| e.to_string())?
        .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()).map_err(|e| e.to_string()))
        .collect::<Result<_, _>>()?;
    names.sort();
    Ok(names)
}
pub fn env(name: String) -> Option<String> { std::env::var(&name).ok() }
pub fn env_count() -> u32 { std::env::vars().count() as u32 }
pub fn spin() -> u64 { let mut i: u64 = 0; loop { i = std::hint::black_box(i.wrapping_add(1)); } }
pub fn work(n: u64) -> u64 { (0..n).fold(0u64, |a, x| std::hint::black_box(a.wrapping_add(x * x))) }
pub fn alloc(mib: u32) -> u32 { let v = vec![1u8; (mib as usize) << 20]; std::hint::black_box(&v); v.len() as u32 >> 20 }
pub fn recurse(n: u64) -> u64 { if n == 0 { 0 } else { std::hint::black_box(recurse(n - 1)) + 1 } }
pub fn shout(mib: u32) -> u32 {
    use std::io::Write;
    let line = "x".repeat(1023) + "\\n";
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    for _ in 0..(mib * 1024) { out.write_all(line.as_bytes()).unwrap(); }
    mib
}
"""


def make(cell, name: str, options: str = "") -> None:
    cell(f"rust {name} {options}".strip(), PROBE)


@pytest.fixture(scope="module")
def box(ip, tmp_path_factory):
    root = tmp_path_factory.mktemp("sandbox")
    (root / "data").mkdir()
    (root / "data" / "hello.txt").write_text("hello from the host")
    (root / "secret.txt").write_text("top secret")
    (root / "data" / "link").symlink_to("/etc")
    (root / "data" / "up").symlink_to(root)
    (root / "out").mkdir()
    with contextlib.redirect_stdout(io.StringIO()):
        ip.run_cell_magic("asterai", "rust denied", PROBE)
        ip.run_cell_magic("asterai", f"rust reader --allow-read {root / 'data'}", PROBE)
        ip.run_cell_magic("asterai", f"rust writer --allow-write {root / 'out'}", PROBE)
    return ip.user_ns, root


def test_nothing_is_granted_by_default(box, monkeypatch):
    ns, root = box
    denied = ns["denied"]
    for path in ["/etc/passwd", str(root / "data" / "hello.txt"), ".", "/"]:
        with pytest.raises(ComponentError):
            denied.read(path)
    with pytest.raises(ComponentError):
        denied.write(str(root / "out" / "x.txt"), "x")
    assert not (root / "out" / "x.txt").exists()
    monkeypatch.setenv("ASTERAI_TEST_SECRET", "s3cret")
    assert (
        denied.env("ASTERAI_TEST_SECRET") is None and denied.env("HOME") is None and denied.env_count() == 0
    )


def test_read_grant_reads_but_never_writes(box):
    ns, root = box
    reader = ns["reader"]
    data = str(root / "data")
    assert reader.read(f"{data}/hello.txt") == "hello from the host"
    assert reader.list(data) == ["hello.txt", "link", "up"]
    with pytest.raises(ComponentError) as info:
        reader.write(f"{data}/new.txt", "nope")
    assert "not permitted" in info.value.value.lower()
    assert not (root / "data" / "new.txt").exists()
    with pytest.raises(ComponentError):
        reader.write(f"{data}/hello.txt", "overwrite")
    assert (root / "data" / "hello.txt").read_text() == "hello from the host"


def test_grants_cannot_be_escaped(box):
    ns, root = box
    reader, data = ns["reader"], str(root / "data")
    for path in [f"{data}/../secret.txt", f"{data}/link/passwd", f"{data}/up/secret.txt", "/etc/passwd"]:
        with pytest.raises(ComponentError):
            reader.read(path)


def test_write_grant(box):
    ns, root = box
    ns["writer"].write(str(root / "out" / "made.txt"), "made in wasm")
    assert (root / "out" / "made.txt").read_text() == "made in wasm"


def test_env_grants(cell, ns, monkeypatch):
    monkeypatch.setenv("ASTERAI_TEST_GRANTED", "from host")
    make(cell, "envy", "--env ASTERAI_TEST_GRANTED --env MODE=fast")
    assert ns["envy"].env("ASTERAI_TEST_GRANTED") == "from host"
    assert ns["envy"].env("MODE") == "fast"
    assert ns["envy"].env("HOME") is None and ns["envy"].env_count() == 2


def test_timeout_stops_an_infinite_loop(cell, ns):
    make(cell, "looper", "--timeout 0.3")
    assert ns["looper"].calls() == 1
    t0 = time.monotonic()
    with pytest.raises(Timeout) as info:
        ns["looper"].spin()
    assert time.monotonic() - t0 >= 0.3  # never early; how late depends on the machine's load
    assert info.value.component == "looper" and "0.3 s" in info.value.guest_message
    assert ns["looper"].calls() == 1  # restarted: fresh state, working
    assert ns["looper"].work(1000) > 0  # a short call under the same timeout is fine


def test_timeouts_do_not_fire_in_other_components(cell, ns):
    make(cell, "patient", "--timeout 60")  # a watch that must not fire; long enough for any load
    make(cell, "unlimited")
    assert ns["unlimited"].work(3_000_000) > 0
    assert ns["patient"].work(3_000_000) > 0


def test_interrupt_stops_a_loop_without_timeout(cell, ns):
    make(cell, "endless")
    ns["endless"].calls()
    get_session().interrupt_soon(after=0.1)
    with pytest.raises(KeyboardInterrupt):
        ns["endless"].spin()
    assert ns["endless"].calls() == 1  # only the interrupted component restarted


def test_no_interrupt_is_lost_in_a_loop_of_short_calls(cell, ns):
    make(cell, "short")
    work = ns["short"].work
    session = get_session()

    def interrupt():  # what the kernel does: stop guest code, else a normal KeyboardInterrupt
        if not session.interrupt():
            _thread.interrupt_main()

    for delay in (0.05, 0.11, 0.2):
        threading.Timer(delay, interrupt).start()
        with pytest.raises(KeyboardInterrupt):
            deadline = time.monotonic() + 120  # only a bound on a failing run: the interrupt ends the loop
            while time.monotonic() < deadline:
                work(100)
        assert not session.interrupt_pending
    assert work(10) == sum(x * x for x in range(10))


def test_memory_limit(cell, ns):
    make(cell, "hungry", "--max-memory 64MiB")
    assert ns["hungry"].alloc(16) == 16
    with pytest.raises(OutOfMemory) as info:
        ns["hungry"].alloc(1024)
    assert "64MiB" in info.value.guest_message
    assert ns["hungry"].alloc(8) == 8


def test_default_memory_cap_stops_a_memory_bomb(cell, ns):
    make(cell, "bomb")
    with pytest.raises(OutOfMemory) as info:
        ns["bomb"].alloc(1500)
    assert "512MiB" in info.value.guest_message


def test_fuel(cell, ns):
    make(cell, "metered", "--fuel 2000000")
    assert ns["metered"].work(1000) > 0
    with pytest.raises(OutOfFuel):
        ns["metered"].spin()
    assert ns["metered"].work(1000) > 0  # a fresh budget per call


def test_deep_recursion_traps_and_restarts(cell, ns):
    make(cell, "deep")
    assert ns["deep"].recurse(1000) == 1000
    with pytest.raises(GuestTrap) as info:
        ns["deep"].recurse(10**9)
    assert "stack" in info.value.guest_message.lower() or "overflow" in info.value.guest_message.lower()
    assert ns["deep"].recurse(10) == 10


def test_trap_leaves_other_state_intact(cell, ns):
    make(cell, "keeper")
    make(cell, "crasher")
    assert [ns["keeper"].calls() for _ in range(3)] == [1, 2, 3]
    with pytest.raises(GuestTrap):
        ns["crasher"].recurse(10**9)
    assert ns["keeper"].calls() == 4


def test_output_flood_is_capped(cell, ns):
    make(cell, "loud")
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        assert ns["loud"].shout(100) == 100  # 100 MiB of output
    assert len(out.getvalue()) <= (1 << 20) + 1024
    assert "output truncated: the call printed 104,857,600 bytes" in err.getvalue()
    assert ns["loud"].calls() == 1


def test_regrant_from_python(box, capsys):
    ns, root = box
    handle = ns["denied"]
    with pytest.raises(ComponentError):
        handle.read(str(root / "data" / "hello.txt"))
    handle.regrant(allow_read=[str(root / "data")], timeout=1)
    assert "grants now read" in capsys.readouterr().out
    assert handle.read(str(root / "data" / "hello.txt")) == "hello from the host"
    assert handle.grants.timeout == 1.0 and handle.grants.read[0][0] == str(root / "data")
    with pytest.raises(Timeout):
        handle.spin()
    handle.regrant(allow_read=[], timeout=None, fuel=10**6)
    with pytest.raises(OutOfFuel):
        handle.spin()
    handle.regrant(fuel=None)
    with pytest.raises(ComponentError):
        handle.read(str(root / "data" / "hello.txt"))
    with pytest.raises(TypeError, match="unknown grant"):
        handle.regrant(allow_everything=True)
    with pytest.raises(AsteraiError, match="does not exist"):
        handle.regrant(allow_read=["/nonexistent/place"])


def test_grants_panel_applies_and_reports(box, cell):
    from asterai_kernel import grants

    ns, root = box
    make(cell, "paneled")
    panel = grants("paneled")
    assert panel.read.value == "" and panel.net.value == "" and panel.max_memory.value == "512MiB"
    with pytest.raises(ComponentError) as refused:  # the panel explains the refusal the guest really sees
        ns["paneled"].read(str(root / "data" / "hello.txt"))
    help_html = panel.widget.children[-1].value
    assert "Capabilities insufficient (os error 76)" in refused.value.value
    assert "Capabilities insufficient (os error 76)" in help_html and "--allow-read DIR" in help_html
    panel.read.value = str(root / "data")
    panel.timeout.value = "2"
    assert panel.apply()
    assert "restarted" in panel.status.value and "timeout 2s" in panel.status.value
    assert ns["paneled"].read(str(root / "data" / "hello.txt")) == "hello from the host"
    assert ns["paneled"].grants.timeout == 2.0
    panel.fuel.value = "lots"
    assert not panel.apply()
    assert "--fuel" in panel.status.value and ns["paneled"].grants.fuel is None  # nothing changed
    panel.fuel.value = ""
    panel.net.value = "127.0.0.1:8080, example.org"
    assert panel.apply() and ns["paneled"].grants.net == ("127.0.0.1:8080", "example.org")
    # the line magic shows the same panel
    shown = cell.ip.run_line_magic("asterai", "grants paneled")
    assert shown.handle._name == "paneled" and shown.read.value.startswith(str(root / "data"))
