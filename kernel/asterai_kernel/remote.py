"""What runs on a Dask worker for `asterai_kernel.map`: batches of checked arguments through a component.

Each worker thread has its own Session (wasmtime Stores belong to one thread at a time; the GIL is released
while guest code runs, so threads of one worker run guests in parallel), in which shipped components are
installed once and kept: their guest state lives on between batches and maps, per worker.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from .errors import AsteraiError
from .session import Session
from .shipment import Shipment, install

_local = threading.local()


@dataclass
class BatchResult:
    values: list  # one result per item, in order, up to the item that failed
    seconds: float  # spent in the calls (not in installing the component)
    error: AsteraiError | None = None  # returned, not raised: Dask would log a raised one on the worker


def session() -> Session:
    """This worker thread's session."""
    if getattr(_local, "session", None) is None:
        _local.session = Session()
    return _local.session


def run_batch(shipment: Shipment, fn_name: str, start: int, items: list) -> BatchResult:
    """Call export `fn_name` on each item's checked arguments (`start`: the first item's index in the map)."""
    try:
        live = install(session(), shipment)
    except AsteraiError as e:
        return BatchResult([], 0.0, _located(e, None))
    values = []
    t0 = time.perf_counter()
    for i, args in enumerate(items):
        try:
            values.append(live.call_checked(fn_name, args))
        except AsteraiError as e:
            return BatchResult(values, time.perf_counter() - t0, _located(e, start + i))
    return BatchResult(values, time.perf_counter() - t0)


def _located(error: AsteraiError, index: int | None) -> AsteraiError:
    """The error, saying which item failed and where (`.index` holds the item's index)."""
    error.index = index
    where = f"on Dask worker {_worker_address()}"
    head = f"item {index} ({where})" if index is not None else where
    error.args = (f"{head}: {error.args[0] if error.args else ''}", *error.args[1:])
    return error


def _worker_address() -> str:
    from distributed import get_worker

    try:
        return get_worker().address
    except ValueError:  # not in a worker (called directly)
        return "?"
