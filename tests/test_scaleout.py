"""asterai_kernel.map on a real Dask cluster: a scheduler and two worker processes for the module.

The fast tier uses a component written in WAT (no guest compiler); records, grants, `--use` links, host
functions and a Python guest need their toolchains.
"""

from __future__ import annotations

import contextlib
import http.server
import io
import os
import threading
import time
from pathlib import Path

import dask
import pytest
from conftest import wat_component
from distributed import Client, LocalCluster
from test_kernel_protocol import interrupt, run

import asterai_kernel
from asterai_kernel import AsteraiError, ComponentError, GuestTrap, Timeout, scaleout
from asterai_kernel.batching import Plan
from asterai_kernel.session import get_session

fast = pytest.mark.no_toolchain

# Four functions on one counter: add and div (which traps on a zero divisor), tick (the instance's own
# count of calls) and burn (a loop of n steps, to keep a worker busy).
SCALE = """
(component
  (core module $m
    (global $count (mut i32) (i32.const 0))
    (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
    (func (export "div") (param i32 i32) (result i32) (i32.div_u (local.get 0) (local.get 1)))
    (func (export "tick") (param i32) (result i32)
      (global.set $count (i32.add (global.get $count) (i32.const 1)))
      (global.get $count))
    (func (export "burn") (param i32) (result i32)
      (local $i i32)
      (block $done
        (loop $l
          (br_if $done (i32.ge_u (local.get $i) (local.get 0)))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $l)))
      (local.get $i))
  )
  (core instance $i (instantiate $m))
  (func (export "add") (param "a" u32) (param "b" u32) (result u32) (canon lift (core func $i "add")))
  (func (export "div") (param "a" u32) (param "b" u32) (result u32) (canon lift (core func $i "div")))
  (func (export "tick") (param "x" u32) (result u32) (canon lift (core func $i "tick")))
  (func (export "burn") (param "n" u32) (result u32) (canon lift (core func $i "burn")))
)
"""


@pytest.fixture(scope="module")
def client():
    cluster = LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=":0")
    client = Client(cluster, set_as_default=False)
    yield client
    client.close()
    cluster.close()


@pytest.fixture(scope="module")
def scale_wasm(tmp_path_factory):
    return wat_component(tmp_path_factory.mktemp("wat"), "scale", SCALE)


@pytest.fixture
def scale(cell, ns, scale_wasm):
    cell.line(f"load {scale_wasm} scale")
    return ns["scale"]


def _kernel_package() -> str:
    return os.path.dirname(asterai_kernel.__file__)


def _graphs(client) -> int:
    """Task graphs the scheduler has received (each submission logs one)."""
    return sum(msg.get("action") == "update-graph" for _, msg in client.get_events("scheduler"))


def _map_tasks(dask_scheduler) -> list[str]:
    return [str(k) for k in dask_scheduler.tasks if str(k).startswith("asterai-map-")]


@fast
def test_batches_cover_every_item_once_in_order():
    def covered(spans):
        return [i for start, stop in spans for i in range(start, stop)]

    fixed = Plan(10, threads=2, batch_size=4)
    assert fixed.first() == [(0, 4), (4, 8), (8, 10)] and not fixed.waiting
    probed = Plan(1000, threads=2)
    assert probed.first() == [(0, 1), (1, 2)] and probed.waiting  # one item per thread, timed
    rest = probed.rest(seconds_per_item=0.01)  # 0.2 s of work per batch: 20 items
    assert rest[0] == (2, 22) and covered(rest) == list(range(2, 1000)) and not probed.waiting
    cheap = Plan(1000, threads=2, known=1e-9)  # known from an earlier map: no probes
    spans = cheap.first()
    sizes = [stop - start for start, stop in spans]
    assert covered(spans) == list(range(1000)) and sizes[0] == 125  # at least 4 batches per thread
    assert sizes == sorted(sizes, reverse=True) and min(sizes[:-1]) == 125 // 8  # shrinking to a floor
    slow = Plan(5, threads=2, known=10.0)
    assert slow.first() == [(i, i + 1) for i in range(5)]  # a batch is never empty


@fast
def test_workers_import_the_same_asterai_kernel(client):
    assert set(client.run(_kernel_package).values()) == {_kernel_package()}


@fast
def test_shipped_bytes_are_the_components(client, scale):
    from asterai_kernel.handles import live_component

    shipment = live_component(scale).shipment()
    assert shipment.wasm == Path(live_component(scale).wasm_path).read_bytes()
    assert shipment.grants == scale.grants and not shipment.providers


@fast
def test_results_come_back_in_input_order(client, scale):
    assert asterai_kernel.map(scale.add, range(1000), range(1000), client=client) == [
        2 * i for i in range(1000)
    ]
    assert scaleout.last_stats.items == 1000 and scaleout.last_stats.batches > 2  # probes, then the rest
    assert asterai_kernel.map(scale.add, [1, 2, 3], (10, 20, 30), client=client, batch_size=2) == [11, 22, 33]
    assert scaleout.last_stats.batches == 2
    assert asterai_kernel.map(scale.add, [], [], client=client) == []


@fast
def test_bad_items_are_refused_before_anything_is_sent(client, scale):
    before = _graphs(client)
    with pytest.raises(OverflowError, match=r"^item 2: parameter 'a' = -1 is out of range for u32"):
        asterai_kernel.map(scale.add, [1, 2, -1, 4], [1, 1, 1, 1], client=client)
    with pytest.raises(TypeError, match=r"^item 1: parameter 'b' must be an int \(u32\), not str"):
        asterai_kernel.map(scale.add, [1, 2], [1, "2"], client=client)
    with pytest.raises(ValueError, match=r"lengths differ \(a: 3, b: 2\)"):
        asterai_kernel.map(scale.add, [1, 2, 3], [1, 2], client=client)
    with pytest.raises(
        TypeError, match=r"add\(\) takes 2 argument\(s\) \(a, b\): give one iterable for each"
    ):
        asterai_kernel.map(scale.add, [1, 2], client=client)
    with pytest.raises(TypeError, match="the values of 'b' must come as an iterable, not int"):
        asterai_kernel.map(scale.add, [1], 5, client=client)
    with pytest.raises(TypeError, match="fn must be a component's export .* not function"):
        asterai_kernel.map(lambda text: len(text), ["ab"], client=client)
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        asterai_kernel.map(scale.add, [1], [1], client=client, batch_size=0)
    with pytest.raises(TypeError, match="client must be a distributed.Client"):
        asterai_kernel.map(scale.add, [1], [1], client=42)
    assert _graphs(client) == before  # the scheduler received nothing


@fast
def test_a_trap_names_its_item_and_the_component_keeps_working(client, scale):
    divisors = [1] * 20 + [0] + [1] * 29
    with pytest.raises(GuestTrap) as info:
        asterai_kernel.map(scale.div, [10] * 50, divisors, client=client, batch_size=10)
    error = info.value
    assert error.index == 20 and error.guest_message == "integer divide by zero"
    assert str(error).startswith("item 20 (on Dask worker tcp://")
    assert "scale.div trapped: integer divide by zero" in str(error)
    assert asterai_kernel.map(scale.div, [10, 9], [5, 3], client=client) == [2, 3]  # restarted there
    assert scale.div(8, 2) == 4  # the notebook's own instance was never involved


@fast
def test_limits_travel_with_the_component(client, cell, ns, scale_wasm):
    cell.line(f"load {scale_wasm} limited")
    ns["limited"].regrant(timeout=0.5)
    with pytest.raises(Timeout) as info:  # 4e9 loop steps: seconds, far past 0.5 s on any machine
        asterai_kernel.map(ns["limited"].burn, [10, 2**32 - 1, 10], client=client, batch_size=3)
    assert info.value.index == 1 and "ran longer than its --timeout of 0.5 s" in str(info.value)
    assert asterai_kernel.map(ns["limited"].burn, [5, 6], client=client) == [5, 6]


@fast
def test_each_worker_keeps_its_own_instance(client, scale):
    # One batch per call: each batch's ticks count up from wherever its worker's instance was.
    ticks = asterai_kernel.map(scale.tick, range(12), client=client, batch_size=4)
    for batch in (ticks[0:4], ticks[4:8], ticks[8:12]):
        assert batch == list(range(batch[0], batch[0] + 4))
    assert scale.tick(0) == 1  # the notebook's instance did none of them


@fast
def test_a_client_a_cluster_or_an_address(client, scale):
    address = client.scheduler.address
    with Client(address, set_as_default=False) as other:
        assert asterai_kernel.map(scale.add, [1, 2], [3, 4], client=other) == [4, 6]
    assert asterai_kernel.map(scale.add, [1, 2], [3, 4], client=address) == [4, 6]
    assert asterai_kernel.map(scale.add, [5], [5], client=client.cluster) == [10]
    with (
        dask.config.set({"distributed.comm.timeouts.connect": "1s"}),  # nothing listens: no need to wait 30 s
        pytest.raises(AsteraiError, match="could not reach the Dask scheduler at tcp://127.0.0.1:9"),
    ):
        asterai_kernel.map(scale.add, [1], [1], client="tcp://127.0.0.1:9")


@fast
def test_the_session_cluster_starts_on_first_use(scale):
    try:
        own = asterai_kernel.cluster(n_workers=1)
        assert asterai_kernel.cluster() is own
        assert asterai_kernel.map(scale.add, [1, 2], [2, 3]) == [3, 5]  # client=None: the session's
        assert isinstance(own.cluster, LocalCluster) and list(own.nthreads().values()) == [1]
        assert os.getpid() not in own.run(os.getpid).values()  # worker processes
    finally:
        scaleout._close_own()


BLOCKER = "import sys\nsys.modules['asterai_kernel'] = None  # as if it were not installed\n"


@fast
def test_a_worker_without_asterai_kernel_is_named(scale, tmp_path):
    blocker = tmp_path / "no_asterai.py"
    blocker.write_text(BLOCKER)
    with (
        LocalCluster(n_workers=1, processes=True, dashboard_address=":0", preload=[str(blocker)]) as bare,
        Client(bare, set_as_default=False) as client,
    ):
        with pytest.raises(AsteraiError, match=r"Dask worker\(s\) tcp://\S+ cannot import asterai_kernel"):
            asterai_kernel.map(scale.add, [1], [1], client=client)


# ---- the toolchain tier ----
SHAPES = """
pub struct Point { pub x: f64, pub y: f64 }
pub enum Quadrant { NorthEast, NorthWest, SouthWest, SouthEast }
pub fn scaled(p: Point, k: f64) -> Point { Point { x: p.x * k, y: p.y * k } }
pub fn quadrant_of(p: Point) -> Quadrant {
    match (p.x >= 0.0, p.y >= 0.0) {
        (true, true) => Quadrant::NorthEast, (false, true) => Quadrant::NorthWest,
        (false, false) => Quadrant::SouthWest, (true, false) => Quadrant::SouthEast,
    }
}
pub fn checked_sqrt(x: f64) -> Result<f64, String> {
    if x < 0.0 { Err(format!("{x} has no real square root")) } else { Ok(x.sqrt()) }
}
"""


def test_records_and_enums_cross_both_ways(client, cell, ns):
    cell("rust shapes", SHAPES)
    Point = ns["shapes"].Point
    points = [Point(1.0, 2.0), {"x": -3.0, "y": 4.0}, Point(x=-1.0, y=-1.0)]
    scaled = asterai_kernel.map(ns["scaled"], points, [2, 0.5, 3], client=client)
    assert scaled == [Point(2.0, 4.0), Point(-1.5, 2.0), Point(-3.0, -3.0)]
    assert all(type(p) is Point for p in scaled)  # the notebook's own class, not a copy
    quadrants = asterai_kernel.map(ns["quadrant_of"], points, client=client)
    assert quadrants == [ns["quadrant_of"](p) for p in points] == ["north-east", "north-west", "south-west"]
    assert all(isinstance(q, ns["shapes"].Quadrant) for q in quadrants)
    with pytest.raises(ComponentError) as info:
        asterai_kernel.map(ns["checked_sqrt"], [4.0, 9.0, -1.0, 16.0], client=client, batch_size=1)
    assert info.value.index == 2 and info.value.value == "-1 has no real square root"
    with pytest.raises(TypeError, match=r"^item 1: parameter 'p' is missing field 'y'"):
        asterai_kernel.map(ns["quadrant_of"], [Point(1.0, 1.0), {"x": 1.0}], client=client)


PRINTER = """
pub fn echoed(x: u32) -> u32 { println!("item {x}"); if x == 99 { panic!("no 99, please"); } x }
"""


def test_what_a_guest_prints_on_a_worker_reaches_the_caller(client, cell, ns):
    cell("rust printer", PRINTER)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        assert asterai_kernel.map(ns["echoed"], [1, 2, 3], client=client, batch_size=3) == [1, 2, 3]
        with pytest.raises(GuestTrap, match="no 99, please"):
            asterai_kernel.map(ns["echoed"], [5, 99], client=client, batch_size=2)
    assert out.getvalue() == "item 1\nitem 2\nitem 3\nitem 5\nitem 99\n"
    assert "no 99, please" in err.getvalue()  # the panic's own line, as a direct call shows it


READER = """
pub fn read(path: String) -> Result<String, String> { std::fs::read_to_string(&path).map_err(|e| e.to_string()) }
"""


def test_grants_are_enforced_on_the_workers(client, cell, ns, tmp_path):
    (tmp_path / "note.txt").write_text("remember the milk")
    cell("rust closed_reader", READER)
    with pytest.raises(ComponentError) as info:
        asterai_kernel.map(ns["closed_reader"].read, ["/data/note.txt"], client=client)
    assert info.value.index == 0 and "Capabilities insufficient" in info.value.value
    cell(f"rust open_reader --allow-read {tmp_path}:/data", READER)
    assert (
        asterai_kernel.map(ns["open_reader"].read, ["/data/note.txt"] * 3, client=client)
        == ["remember the milk"] * 3
    )


HOST_FUNCTIONS = """
import asterai_kernel

@asterai_kernel.provide("shouter")
def shout(text: str) -> str:
    return text.upper() + "!"
"""

GREETER = """
pub fn greeting(name: String) -> String { format!("{}, {}", shouter::shout("hello"), word_tools::first_word(&name)) }
"""


def test_links_and_host_functions_travel(client, cell, ns, ip):
    ip.run_cell(HOST_FUNCTIONS)  # a notebook's function: Dask pickles it by value
    cell(
        "rust word_tools",
        'pub fn first_word(s: &str) -> String { s.split_whitespace().next().unwrap_or("").to_string() }',
    )
    cell("rust greeter --use shouter,word_tools", GREETER)
    names = ["ada lovelace", "alan turing", "grace hopper"]
    assert asterai_kernel.map(ns["greeting"], names, client=client) == [
        "HELLO!, ada",
        "HELLO!, alan",
        "HELLO!, grace",
    ]


class _Hello(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = f"you asked for {self.path}".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


FETCHER = "pub fn fetch(url: String) -> Result<String, String> { net::http_get(&url) }"


def test_the_net_provider_checks_grants_on_the_workers(client, cell, ns):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hello)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        cell("rust fetcher --use net --allow-host 127.0.0.1", FETCHER)
        assert asterai_kernel.map(ns["fetcher"].fetch, [f"{url}/a", f"{url}/b"], client=client) == [
            "you asked for /a",
            "you asked for /b",
        ]
        cell("rust stranger --use net --allow-host example.org", FETCHER)
        with pytest.raises(ComponentError) as info:
            asterai_kernel.map(ns["stranger"].fetch, [f"{url}/a"], client=client)
        assert "stranger may not connect to 127.0.0.1" in info.value.value
    finally:
        server.shutdown()


PY_CELL = """
def vowels(text: str) -> int:
    return sum(1 for c in text.lower() if c in "aeiou")
"""


def test_a_python_guest_on_the_workers(client, cell, ns):
    cell("python vowel_counter", PY_CELL)
    shipment = get_session().components["vowel_counter"].shipment()
    assert shipment.glue is not None  # the shared interpreter travels (once per worker), and the cell's glue
    words = ["component", "model", "dask", "sandbox"] * 25
    assert asterai_kernel.map(ns["vowels"], words, client=client) == [3, 2, 1, 2] * 25


def test_a_python_consumer_on_the_shared_interpreter_travels_with_its_provider(client, cell, ns):
    cell(
        "rust first_words",
        'pub fn first(s: &str) -> String { s.split_whitespace().next().unwrap_or("").into() }',
    )
    source = "import first_words\n\ndef loud_first(s: str) -> str:\n    return first_words.first(s).upper()\n"
    cell("python loud_first_py --use first_words", source)
    shipment = get_session().components["loud_first_py"].shipment()
    assert shipment.glue is not None and [p.name for p in shipment.providers] == ["first_words"]
    names = ["ada lovelace", "alan turing"] * 10
    assert asterai_kernel.map(ns["loud_first"], names, client=client) == ["ADA", "ALAN"] * 10


TS_CELL = """
export function initials(name: string): string {
  return name.split(" ").map((w) => w[0]).join("");
}
"""


def test_a_typescript_guest_on_the_workers(client, cell, ns):
    cell("ts initials_ts", TS_CELL)
    shipment = get_session().components["initials_ts"].shipment()
    assert shipment.glue is not None  # the QuickJS runner travels (once per worker), and the cell's glue
    names = ["Ada Lovelace", "Alan Mathison Turing"] * 20
    assert asterai_kernel.map(ns["initials"], names, client=client) == ["AL", "AMT"] * 20


# ---- in a notebook's kernel, through the Jupyter protocol ----
@pytest.fixture(scope="module")
def kernel(client, scale_wasm):
    """A kernel with the WAT component loaded, mapping on the module's cluster."""
    from jupyter_client.manager import start_new_kernel

    km, kc = start_new_kernel(kernel_name="asterai", startup_timeout=60)
    setup = f"%asterai load {scale_wasm} scale\nimport asterai_kernel\naddress = {client.scheduler.address!r}"
    assert run(kc, setup)["reply"]["status"] == "ok"
    yield kc
    kc.stop_channels()
    km.shutdown_kernel(now=True)


@fast
def test_the_stop_button_cancels_a_running_map(client, kernel):
    code = "asterai_kernel.map(burn, [2**28] * 64, client=address, batch_size=1)"
    reply = {}
    runner = threading.Thread(target=lambda: reply.update(run(kernel, code)))
    runner.start()
    _until(lambda: client.run_on_scheduler(_map_tasks), "the map's tasks reach the scheduler")
    _until(lambda: any(client.processing().values()), "a worker runs a batch")
    interrupt(kernel)
    runner.join(timeout=120)
    assert reply["reply"]["status"] == "error" and reply["reply"]["ename"] == "KeyboardInterrupt"
    _until(lambda: not client.run_on_scheduler(_map_tasks), "the scheduler forgets the cancelled map")
    after = run(kernel, "print(asterai_kernel.map(add, [1, 2], [3, 4], client=address))")
    assert after["streams"] == [("stdout", "[4, 6]\n")]


@fast
def test_map_errors_show_the_users_line_not_the_kernels(kernel):
    (trap,) = run(kernel, "asterai_kernel.map(div, [4, 1], [2, 0], client=address)")["errors"]
    assert trap["ename"] == "GuestTrap" and trap["evalue"].startswith("item 1 (on Dask worker tcp://")
    (bad,) = run(kernel, "x = 1\nasterai_kernel.map(add, [1, -1], [1, 1], client=address)")["errors"]
    assert bad["ename"] == "OverflowError" and bad["evalue"].startswith("item 1: parameter 'a' = -1")
    text = "\n".join(trap["traceback"] + bad["traceback"])
    assert "asterai_kernel.map(add, [1, -1], [1, 1], client=address)" in text  # the user's own line
    for internal in ("scaleout.py", "remote.py", "distributed", "__init__.py"):
        assert internal not in text, text


def _until(condition, what: str, give_up: float = 120.0) -> None:
    """Wait for `condition` (a liveness bound for a loaded machine, not a timing verdict)."""
    deadline = time.monotonic() + give_up
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting until {what}"
        time.sleep(0.05)
