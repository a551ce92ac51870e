"""What runs on a Dask worker for `asterai_kernel.map`: batches of checked arguments through a component.

Each worker thread has its own Session (wasmtime Stores belong to one thread at a time; the GIL is released
while guest code runs, so threads of one worker run guests in parallel), in which shipped components are
installed once and kept: their guest state lives on between batches and maps, per worker.

What the guest prints during a batch travels back with its results and is written in the notebook's cell,
as a direct call's output is; otherwise it would reach whatever terminal started the workers.
"""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass, field

from .component import OUTPUT_CAP
from .errors import AsteraiError
from .session import Session
from .shipment import Shipment, install

_local = threading.local()


@dataclass
class BatchResult:
    values: list  # one result per item, in order, up to the item that failed
    seconds: float  # spent in the calls (not in installing the component)
    error: AsteraiError | None = None  # returned, not raised: Dask would log a raised one on the worker
    output: list[tuple[int, str]] = field(default_factory=list)  # (1 stdout or 2 stderr, text) in order


def session() -> Session:
    """This worker thread's session."""
    if getattr(_local, "session", None) is None:
        if not isinstance(sys.stdout, _Routed):
            sys.stdout, sys.stderr = _Routed(1, sys.stdout), _Routed(2, sys.stderr)
        _local.session = Session()
    return _local.session


class _Routed:
    """A worker's sys.stdout or sys.stderr: a thread running a batch writes into that batch's output;
    anything else (other threads, fileno, encoding) is the original stream's."""

    def __init__(self, stream: int, original):
        self.stream, self.original = stream, original

    def __getattr__(self, name: str):
        return getattr(self.original, name)

    def write(self, text: str) -> int:
        output = getattr(_local, "output", None)
        if output is None:
            return self.original.write(text)
        size = getattr(_local, "output_size", 0)
        if size < OUTPUT_CAP:
            output.append((self.stream, text))
        _local.output_size = size + len(text)
        return len(text)

    def flush(self) -> None:
        if getattr(_local, "output", None) is None:
            self.original.flush()


def run_batch(shipment: Shipment, fn_name: str, start: int, items: list) -> BatchResult:
    """Call export `fn_name` on each item's checked arguments (`start`: the first item's index in the map)."""
    result = BatchResult([], 0.0)
    _local.output, _local.output_size = result.output, 0
    try:
        _run(session(), shipment, fn_name, start, items, result)
    finally:
        _local.output = None
    if _local.output_size > OUTPUT_CAP:
        result.output.append((2, f"\n[asterai: output truncated: the batch printed {_local.output_size:,} "
                                 f"bytes, the first {OUTPUT_CAP:,} are shown]\n"))  # fmt: skip
    return result


def _run(session: Session, shipment: Shipment, fn_name: str, start: int, items: list, result) -> None:
    try:
        live = install(session, shipment)
    except AsteraiError as e:
        result.error = _located(e, None)
        return
    t0 = time.perf_counter()
    try:
        for i, args in enumerate(items):
            try:
                result.values.append(live.call_checked(fn_name, args))
            except AsteraiError as e:
                result.error = _located(e, start + i)
                return
    finally:
        result.seconds = time.perf_counter() - t0


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
