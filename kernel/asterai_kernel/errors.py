"""The exceptions a notebook user can catch: all importable from ``asterai_kernel``."""

from __future__ import annotations

import functools
import os
import traceback


class AsteraiError(Exception):
    """Base of every error the kernel raises on purpose (bad cell, bad option, missing toolchain)."""

    index: int | None = None  # the item of `asterai_kernel.map` that raised it, when one did

    def __reduce__(self):
        # Errors travel back from Dask workers: rebuilt from their args and attributes, whatever the
        # subclass's __init__ takes.
        return _rebuild, (type(self), self.args, self.__dict__)

    def _render_traceback_(self) -> list[str]:
        # IPython shows this instead of a traceback: the kernel's internals are not the user's business.
        return [f"\x1b[31m{type(self).__name__}\x1b[0m: {self}"]


def _rebuild(cls, args: tuple, state: dict) -> AsteraiError:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


class CompileError(AsteraiError):
    """A build failed. The message holds the compiler's diagnostics at the cell's own line numbers."""

    def __init__(self, message: str, *, diagnostics: str = "", component: str = ""):
        super().__init__(message)
        self.diagnostics = diagnostics
        self.component = component

    def __str__(self) -> str:
        head = super().__str__()
        return f"{head}\n{self.diagnostics}" if self.diagnostics else head


class ToolchainMissing(AsteraiError):
    """A compiler or tool a cell needs is not installed; the message names the command that installs it."""


class ComponentError(AsteraiError):
    """An export returned the ``err`` case of its top-level ``result``; the component is fine."""

    def __init__(self, value, *, component: str = "", function: str = ""):
        super().__init__(f"{component}.{function} returned err({value!r})")
        self.value = value
        self.component = component
        self.function = function


class GuestTrap(AsteraiError):
    """The guest panicked, threw or trapped. Its component was restarted; the others are untouched."""

    def __init__(self, component: str, function: str, guest_message: str, detail: str = ""):
        self.component = component
        self.function = function
        self.guest_message = guest_message
        self.detail = detail
        super().__init__(
            f"{component}.{function} trapped: {guest_message}\n"
            f"The component {component!r} was restarted (its state is reset); other components are untouched."
        )


class Timeout(GuestTrap):
    """The call ran longer than the component's ``--timeout``."""


class OutOfFuel(GuestTrap):
    """The call used up the component's ``--fuel``."""


class OutOfMemory(GuestTrap):
    """The guest tried to grow its memory past ``--max-memory``."""


def argument_error(kind: type[Exception], message: str) -> Exception:
    """A bad argument to an export: the builtin TypeError, ValueError or OverflowError the contract names,
    shown by IPython as the user's own lines and the error, without the kernel's frames."""
    error = kind(message)
    error._render_traceback_ = functools.partial(_user_traceback, error)  # picklable, unlike a lambda
    return error


def _user_traceback(error: BaseException) -> list[str]:
    package = os.path.dirname(os.path.abspath(__file__))
    frames = []
    for frame, line in traceback.walk_tb(error.__traceback__):
        if frame.f_locals.get("__tracebackhide__"):  # IPython's own frames end with one marked so
            frames = []
        elif not frame.f_code.co_filename.startswith(package) and frame.f_code.co_filename != "<string>":
            frames.append((frame, line))  # not the kernel's, nor its generated call paths
    shown = [line.rstrip("\n") for line in traceback.StackSummary.extract(frames).format()]
    head = ["Traceback (most recent call last):", *shown] if shown else []
    return [*head, f"\x1b[31m{type(error).__name__}\x1b[0m: {error}"]
