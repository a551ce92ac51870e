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


def load_ipython_extension(ipython) -> None:
    """`%load_ext asterai_kernel`: the same magics in a stock IPython kernel."""
    from .magics import register  # the IPython machinery only where IPython asks (not on Dask workers)

    register(ipython)


def unload_ipython_extension(ipython) -> None:
    from .magics import unregister

    unregister(ipython)
