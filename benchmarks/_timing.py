"""Timing helpers shared by the language benchmarks (python.py, typescript.py)."""

from __future__ import annotations

import contextlib
import io
import statistics
import time


def per_call(fn, n: int, reps: int = 5) -> float:
    """Median seconds per call of `fn` over `reps` batches of `n` calls (after one warm-up call)."""
    fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        times.append((time.perf_counter() - t0) / n)
    return statistics.median(times)


def median_time(fn, reps: int) -> float:
    """Median seconds of one call of `fn` over `reps` calls (after one warm-up call)."""
    fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def cell(ip, line: str, source: str):
    """Run a %%asterai cell quietly; return its wall time and the live component it made."""
    from asterai_kernel.session import get_session

    t0 = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        ip.run_cell_magic("asterai", line, source)
    return time.perf_counter() - t0, get_session().components[line.split()[1]]
