"""The exceptions a notebook user can catch: all importable from ``asterai_kernel``."""

from __future__ import annotations

import functools
import os
import traceback

# The WASI sandbox's refusals as a guest reports them in its own words (Rust's "os error 76", Python's
# "[Errno 76]"), what they mean, and the grant that lifts them. The guest's own text stays as it is.
_NOT_GRANTED = (
    "the sandbox refused: nothing granted to this component covers that path. Grant a directory with "
    "--allow-read DIR (or --allow-write DIR to also write) on the cell's magic line, or change a live "
    "component's grants with asterai_kernel.grants(NAME)."
)
_READ_ONLY = (
    "the sandbox refused the operation: a directory granted with --allow-read is read-only; "
    "--allow-write DIR lets the component write there."
)
SANDBOX_REFUSALS = {"os error 76": _NOT_GRANTED, "Errno 76": _NOT_GRANTED,
                    "os error 63": _READ_ONLY, "Errno 63": _READ_ONLY}  # fmt: skip


def sandbox_hint(guest_text: object) -> str:
    """What a sandbox refusal in a guest's error text means and which grant lifts it ("" if none)."""
    text = guest_text if isinstance(guest_text, str) else ""
    return next((hint for mark, hint in SANDBOX_REFUSALS.items() if mark in text), "")


class AsteraiError(Exception):
    """Base of every error the kernel raises on purpose (bad cell, bad option, missing toolchain)."""

    hint = ""  # what the error means for the user, when the message alone would not say (sandbox_hint)
    index: int | None = None  # the item of `asterai_kernel.map` that raised it, when one did

    def __reduce__(self):
        # Errors travel back from Dask workers: rebuilt from their args and attributes, whatever the
        # subclass's __init__ takes.
        return _rebuild, (type(self), self.args, self.__dict__)

    def _render_traceback_(self) -> list[str]:
        # IPython shows this instead of a traceback: the kernel's internals are not the user's business.
        return [
            f"\x1b[31m{type(self).__name__}\x1b[0m: {self}",
            *([f"hint: {self.hint}"] if self.hint else []),
        ]


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
        self.hint = sandbox_hint(value)


class GuestTrap(AsteraiError):
    """The guest panicked, threw or trapped. Its component was restarted; the others are untouched."""

    def __init__(self, component: str, function: str, guest_message: str, detail: str = "",
                 started: bool = True):  # fmt: skip
        self.component = component
        self.function = function
        self.guest_message = guest_message
        self.detail = detail
        self.hint = sandbox_hint(guest_message)
        after = (
            f"The component {component!r} was restarted (its state is reset)"
            if started  # else it trapped while starting: there is nothing to restart
            else f"The component {component!r} could not start"
        )
        super().__init__(
            f"{component}.{function} trapped: {guest_message}\n{after}; other components are untouched."
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
