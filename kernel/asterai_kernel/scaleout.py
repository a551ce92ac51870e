"""`asterai_kernel.map` and `asterai_kernel.cluster`: one component's export over many items, on Dask.

Arguments are checked here with the codecs of a direct call, so a bad item fails, naming its index, before
anything is sent. The component travels once to each worker (shipment.py, scattered to all of them) and is
rebuilt there in a Store of the worker's own (remote.py); items travel in batches (batching.py). Results
come back in input order; the first error, or the stop button, cancels what is left.
"""

from __future__ import annotations

import atexit
import os
import sys
import time
import uuid
from dataclasses import dataclass

from . import __version__, remote
from .batching import Plan
from .errors import AsteraiError, argument_error
from .handles import ExportProxy
from .names import snake_name
from .progress import BuildProgress, ItemsProgress
from .session import get_session

try:
    import distributed
except ImportError:  # the `dask` extra is optional: everything else works without it
    distributed = None

WORKER_WAIT = 60.0  # seconds to wait for a cluster that has no worker yet


@dataclass
class MapStats:
    """How the last map went (the benchmark reads it)."""

    items: int
    batches: int
    threads: int  # worker threads in the cluster
    seconds: float  # from the first submission to the last result
    busy: float  # seconds the workers spent in guest calls, summed over batches

    @property
    def idle(self) -> float:
        """The part of the workers' time not spent in calls: Dask's per-task cost, transfers, stragglers."""
        return max(0.0, 1.0 - self.busy / (self.threads * self.seconds)) if self.seconds else 0.0


last_stats: MapStats | None = None
_per_item: dict[tuple[str, str], float] = {}  # (shipment key, export) -> seconds per item, last measured


def map(fn, *iterables, client=None, batch_size: int | None = None) -> list:
    """`fn(*args)` for each item of the iterables (one per parameter), on Dask worker processes; the results
    in input order. See asterai_kernel.map."""
    live, fn_name = _export(fn)
    items = _checked_items(live, fn_name, iterables)
    _check_batch_size(batch_size)
    if not items:
        return []
    dask_client = _client(client)
    threads = _check_workers(dask_client)
    shipped, key = _ship(dask_client, live)
    plan = Plan(len(items), threads, batch_size, _per_item.get((key, fn_name)))
    results = _run(dask_client, shipped, f"{live.name}.{snake_name(fn_name)}", fn_name, items, plan)
    _per_item[(key, fn_name)] = last_stats.busy / last_stats.items
    return results


# ---- before anything is sent ----
def _export(fn):
    if not isinstance(fn, ExportProxy):
        raise argument_error(TypeError, f"asterai_kernel.map: fn must be a component's export (such as "
                                        f"word_count or geo.word_count), not {type(fn).__name__}; for a "
                                        "Python function, use the Dask client's own client.map")  # fmt: skip
    return get_session().get(fn.component_name), fn.function_name


def _checked_items(live, fn_name: str, iterables: tuple) -> list[list]:
    """Each item's arguments, checked and normalised as a direct call would; errors name the item."""
    export = live.exports[fn_name]
    name, params = snake_name(fn_name), export.param_names
    if not params:
        raise argument_error(TypeError, f"asterai_kernel.map: {name}() takes no arguments, so there is "
                                        "nothing to map over; call it directly")  # fmt: skip
    if len(iterables) != len(params):
        raise argument_error(TypeError, f"asterai_kernel.map: {name}() takes {len(params)} argument(s) "
                                        f"({', '.join(params)}): give one iterable for each, got "
                                        f"{len(iterables)}")  # fmt: skip
    columns = []
    for param, iterable in zip(params, iterables):
        try:
            columns.append(list(iterable))
        except TypeError:
            raise argument_error(TypeError, f"asterai_kernel.map: the values of {param!r} must come as an "
                                            f"iterable, not {type(iterable).__name__}") from None  # fmt: skip
    lengths = [len(c) for c in columns]
    if len(set(lengths)) > 1:
        given = ", ".join(f"{p}: {n}" for p, n in zip(params, lengths))
        raise argument_error(ValueError, f"asterai_kernel.map: the iterables' lengths differ ({given})")
    items = []
    for i, args in enumerate(zip(*columns)):
        try:
            items.append(export.bind(args, {}))
        except (TypeError, ValueError, OverflowError) as e:
            raise argument_error(type(e), f"item {i}: {e}") from None
    return items


def _check_batch_size(batch_size) -> None:
    if batch_size is not None and (type(batch_size) is not int or batch_size < 1):
        raise argument_error(ValueError, "asterai_kernel.map: batch_size must be a positive int (or None: "
                                         f"sized from the items' times), not {batch_size!r}")  # fmt: skip


# ---- the cluster ----
def _dask():
    if distributed is None:
        raise AsteraiError("asterai_kernel.map runs on Dask's distributed scheduler, which is not installed "
                           "here: pip install 'asterai-kernel[dask]'")  # fmt: skip
    return distributed


_own = None  # the session's Client, which owns its LocalCluster
_own_config: tuple[int, bool] = (0, False)
_clients: dict[str, object] = {}  # clients made here for a scheduler address or a cluster object


def cluster(n_workers: int | None = None, *, dashboard: bool = False):
    """The session's Dask `Client`; the first call starts a `LocalCluster` of worker processes (one per
    core unless `n_workers` says, one thread each, no dashboard unless asked). Asking for another size
    or the dashboard starts a new one."""
    global _own, _own_config
    dask = _dask()
    if n_workers is not None and (type(n_workers) is not int or n_workers < 1):
        raise ValueError(f"cluster(): n_workers must be a positive int, not {n_workers!r}")
    if _own is not None and _own.status == "running":
        same_size = n_workers in (None, _own_config[0])
        if same_size and (_own_config[1] or not dashboard):
            return _own
        _own.close()
    n = n_workers or os.cpu_count() or 1
    if _own is None:
        atexit.register(_close_own)
    # Without a dashboard the scheduler still serves metrics over HTTP: on a free port, not on 8787.
    _own = dask.Client(n_workers=n, threads_per_worker=1, processes=True,
                       dashboard_address=":8787" if dashboard else None,
                       scheduler_kwargs={} if dashboard else {"dashboard_address": ":0"})  # fmt: skip
    _own_config = (n, dashboard)
    return _own


def _close_own() -> None:
    if _own is not None:
        _own.close()


def _client(target):
    """A Client for map(client=...): the session's, a given Client, or one for a cluster or an address."""
    dask = _dask()
    if target is None:
        return cluster()
    if isinstance(target, dask.Client):
        return target
    if not isinstance(target, (str, dask.deploy.Cluster)):
        raise argument_error(TypeError, f"asterai_kernel.map: client must be a distributed.Client, a Dask "
                                        "cluster such as LocalCluster, or a scheduler address such as "
                                        f"'tcp://scheduler:8786', not {type(target).__name__}")  # fmt: skip
    address = target if isinstance(target, str) else target.scheduler_address
    client = _clients.get(address)
    if client is None or client.status != "running":
        try:
            client = _clients[address] = dask.Client(target, set_as_default=False)
        except OSError as e:
            raise AsteraiError(f"could not reach the Dask scheduler at {address}: {e}") from None
    return client


_seen_workers: dict[str, set[str]] = {}  # client id -> workers found to run this asterai_kernel
# Run on each worker by the builtin eval: a function of ours could not be unpickled where it is missing.
_PROBE = "__import__('asterai_kernel').__version__"


def _check_workers(client) -> int:
    """Dask's rule: workers need this notebook's environment. Returns the cluster's worker threads."""
    threads = client.nthreads()
    if not threads:
        try:
            client.wait_for_workers(1, timeout=WORKER_WAIT)
        except TimeoutError:
            raise AsteraiError(f"the Dask cluster at {client.scheduler.address} has no workers") from None
        threads = client.nthreads()
    seen = _seen_workers.setdefault(client.id, set())
    if set(threads) - seen:
        versions = client.run(eval, _PROBE, on_error="return")
        missing = sorted(w for w, v in versions.items() if isinstance(v, BaseException))
        if missing:
            why = versions[missing[0]]
            raise AsteraiError(f"Dask worker(s) {', '.join(missing)} cannot import asterai_kernel "
                               f"({type(why).__name__}: {why}): workers need the same environment as this "
                               "notebook. Install it there: pip install "
                               f"'asterai-kernel[dask]=={__version__}'")  # fmt: skip
        for worker, version in versions.items():
            if version != __version__:
                raise AsteraiError(f"Dask worker {worker} runs asterai_kernel {version}, this notebook "
                                   f"{__version__}: install the same version on both")  # fmt: skip
        seen.update(versions)
    return sum(threads.values())


# ---- what travels ----
_shipped: dict[str, dict[str, tuple[str, object]]] = {}  # client id -> component -> (shipment key, future)


def _ship(client, live) -> tuple[object, str]:
    """The component's shipment on every worker, as a Dask future, and its key; sent only when changed."""
    with BuildProgress() as progress:
        shipment = live.shipment(progress)
    held = _shipped.setdefault(client.id, {})
    key, future = held.get(live.name, (None, None))
    if key != shipment.key or future.status != "finished":
        name = f"asterai-{live.name}-{shipment.key}"
        future = client.scatter({name: shipment}, broadcast=True, hash=False)[name]
        held[live.name] = (shipment.key, future)
    return future, shipment.key


# ---- running ----
def _run(client, shipped, label: str, fn_name: str, items: list, plan: Plan) -> list:
    global last_stats
    results: list = [None] * len(items)
    batches = 0
    pending = distributed.as_completed(loop=client.loop, with_results=True)
    prefix = f"asterai-map-{label}-{uuid.uuid4().hex[:8]}-"

    def submit(spans):
        nonlocal batches
        for start, stop in spans:
            future = client.submit(remote.run_batch, shipped, fn_name, start, items[start:stop],
                                   key=f"{prefix}{start}", pure=False)  # fmt: skip
            batches += 1
            pending.add(future)

    bar = ItemsProgress(len(items), f"{label} on {plan.threads} Dask worker thread(s)")
    t0, busy = time.perf_counter(), 0.0
    try:
        submit(plan.first())
        for future, batch in pending:
            start = int(future.key.removeprefix(prefix))  # the batch's first item
            results[start : start + len(batch.values)] = batch.values
            busy += batch.seconds
            _write(batch.output)
            if batch.error is not None:
                raise batch.error
            bar.advance(len(batch.values))
            if plan.waiting:
                submit(plan.rest(batch.seconds / max(len(batch.values), 1)))
    except BaseException as e:
        _cancel(client, prefix)
        bar.finish(_stopped(e), ok=False)
        raise
    seconds = time.perf_counter() - t0
    last_stats = MapStats(len(items), batches, plan.threads, seconds, busy)
    bar.finish(f"{len(items):,} items in {seconds:.2f} s ({len(items) / seconds:,.0f} items/s), "
               f"{batches} batches")  # fmt: skip
    return results


def _cancel(client, prefix: str) -> None:
    """Cancel every batch of the map, by its keys: the stop button can land inside client.submit, after
    the task was sent and before its future was kept."""
    ours = [distributed.Future(key, client) for key in list(client.futures) if str(key).startswith(prefix)]
    client.cancel(ours)


def _write(output: list[tuple[int, str]]) -> None:
    """What the guest printed on a worker, here, as a direct call's output would be."""
    for stream, text in output:
        (sys.stdout if stream == 1 else sys.stderr).write(text)
    if output:
        sys.stdout.flush()
        sys.stderr.flush()


def _stopped(error: BaseException) -> str:
    if isinstance(error, KeyboardInterrupt):
        return "interrupted; the rest was cancelled"
    where = f"at item {error.index}" if getattr(error, "index", None) is not None else ""
    return f"stopped {where} by {type(error).__name__}; the rest was cancelled".replace("  ", " ")
