"""Build progress for a cell: in Jupyter, one output that updates in place and goes away when the build ends;
in a terminal, plain lines on stderr.

A build reports through a `progress(message)` callback. A one-line message is the current step: shown with
the time since the cell started, refreshed every second, replaced by the next step. A message of several
lines (compiler warnings) is kept: it goes to stderr and stays after the cell succeeds.
"""

from __future__ import annotations

import sys
import threading
import time

from IPython.display import display


def _in_a_kernel() -> bool:
    """Whether outputs go to a Jupyter frontend (which can update a display in place)."""
    from IPython import get_ipython

    return getattr(get_ipython(), "kernel", None) is not None


class BuildProgress:
    """`with BuildProgress() as progress: build(progress=progress)`."""

    TICK = 1.0  # seconds between refreshes of the elapsed time

    def __init__(self, live: bool | None = None) -> None:
        self.live = _in_a_kernel() if live is None else live
        self.message = ""
        self.handle = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None

    def __enter__(self) -> BuildProgress:
        self.start = time.monotonic()
        return self

    def __call__(self, message: str) -> None:
        message = message.strip()
        if "\n" in message or not self.live:
            print(message, file=sys.stderr, flush=True)
            return
        with self._lock:
            self.message = message
            self._show()
        if self._ticker is None:
            self._ticker = threading.Thread(target=self._tick, name="asterai-progress", daemon=True)
            self._ticker.start()

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join()
        with self._lock:
            if self.handle is not None:  # the summary (or the error) takes its place
                self.handle.update({"text/plain": ""}, raw=True)

    def _show(self) -> None:
        text = f"{self.message} [{time.monotonic() - self.start:.0f} s]"
        if self.handle is None:
            self.handle = display({"text/plain": text}, raw=True, display_id=True)
        else:
            self.handle.update({"text/plain": text}, raw=True)

    def _tick(self) -> None:
        while not self._stop.wait(self.TICK):
            with self._lock:
                self._show()
