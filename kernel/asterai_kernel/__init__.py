"""Asterai notebook: cells in other languages become sandboxed WebAssembly components with typed exports."""

from __future__ import annotations

from .errors import (
    AsteraiError,
    CompileError,
    ComponentError,
    GuestTrap,
    OutOfFuel,
    OutOfMemory,
    Timeout,
    ToolchainMissing,
)
from .hostfns import Result, provide
from .values import Err, Ok, Some, Variant

__version__ = "0.1.0"

__all__ = [
    "AsteraiError",
    "Err",
    "Ok",
    "Some",
    "Variant",
    "CompileError",
    "ComponentError",
    "GuestTrap",
    "OutOfFuel",
    "OutOfMemory",
    "Timeout",
    "Result",
    "ToolchainMissing",
    "call_form",
    "cluster",
    "map",
    "optimize",
    "provide",
    "grants",
    "load_ipython_extension",
    "unload_ipython_extension",
]


def grants(target):
    """The grants panel of a component (a name or its handle): see and change what it may touch."""
    from .widgets import grants as panel  # ipywidgets only when a widget is asked for

    return panel(target)


def call_form(target):
    """A form per export of a component (a name or its handle), generated from its WIT types."""
    from .widgets import call_form as form

    return form(target)


def optimize(target) -> None:
    """Put a component on Cranelift's optimized machine code now (its state restarts).

    A big component (Go, TypeScript, Python) starts on Winch's quickly made code while Cranelift's is compiled
    in the background, and takes that at its next start. This waits for it and restarts the component on it;
    a component already on optimized code is left alone.
    """
    from .handles import ComponentHandle, component_name
    from .progress import BuildProgress
    from .session import get_session

    name = component_name(target) if isinstance(target, ComponentHandle) else target
    with BuildProgress() as progress:
        changed = get_session().optimize(name, progress)
    print(f"{name}: {'now on' if changed else 'already on'} Cranelift's optimized machine code"
          + ("; its state restarted" if changed else ""))  # fmt: skip


def map(fn, *iterables, client=None, batch_size: int | None = None) -> list:
    """Run a component's export over many items on Dask worker processes; the results in input order.

    `fn` is a bound export (`word_count`, `geo.word_count`); the iterables give its arguments, one per
    parameter, checked here before anything is sent (a bad item raises TypeError/OverflowError/ValueError
    naming its index). `client` is the session's cluster by default (see `cluster`), or a
    `distributed.Client`, a `LocalCluster` or a scheduler address (`"tcp://host:8786"`). Each worker runs
    its own instance of the component, with the same grants and limits: guest state is not shared between
    workers. A trap or an `err` on a worker raises the same error here, with the item's index (`.index`),
    and cancels the rest. `batch_size` fixes how many items go in one Dask task (by default sized to about
    0.2 s of work each, from the first items' times).
    """
    from .scaleout import map as scaleout_map  # Dask (the optional `dask` extra) only when a map runs

    return scaleout_map(fn, *iterables, client=client, batch_size=batch_size)


def cluster(n_workers: int | None = None, *, dashboard: bool = False):
    """The session's Dask `Client`, starting a `LocalCluster` of worker processes on first use (one per
    core unless `n_workers` says, one thread each; `dashboard=True` serves Dask's dashboard)."""
    from .scaleout import cluster as session_cluster

    return session_cluster(n_workers, dashboard=dashboard)


def load_ipython_extension(ipython) -> None:
    """`%load_ext asterai_kernel`: the same magics in a stock IPython kernel."""
    from .magics import register  # the IPython machinery only where IPython asks (not on Dask workers)

    register(ipython)


def unload_ipython_extension(ipython) -> None:
    from .magics import unregister

    unregister(ipython)
