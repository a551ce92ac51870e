"""Progress shown in place. A cell's build (BuildProgress): in Jupyter, one output that updates in place and
goes away when the build ends; in a terminal, plain lines on stderr. A map over many items (ItemsProgress):
a progress bar widget in Jupyter, one rewritten line in a terminal, nothing where neither would be seen.

A build reports through a `progress(message)` callback. A one-line message is the current step: shown with
the time since the cell started, refreshed every second, replaced by the next step. A step counted as
`LABEL [n/total] WHAT` (the Rust std build's crates) is drawn as a progress bar. A message of several lines
(compiler warnings) is kept: it goes to stderr and stays after the cell succeeds.
"""

from __future__ import annotations

import html
import re
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
        shown = step_bundle(self.message, time.monotonic() - self.start)
        if self.handle is None:
            self.handle = display(shown, raw=True, display_id=True)
        else:
            self.handle.update(shown, raw=True)

    def _tick(self) -> None:
        while not self._stop.wait(self.TICK):
            with self._lock:
                self._show()


COUNTED = re.compile(r"(?P<label>.*?)\s*\[(?P<done>\d+)/(?P<total>\d+)\]\s*(?P<what>.*)")


def step_bundle(message: str, elapsed: float) -> dict[str, str]:
    """The display of one step: its text with the elapsed time, and a bar when the step is counted."""
    clock = f"[{elapsed:.0f} s]"
    counted = COUNTED.fullmatch(message)
    if counted is None:
        return {"text/plain": f"{message} {clock}"}
    done, total = int(counted["done"]), max(int(counted["total"]), 1)
    width = 30
    filled = width * min(done, total) // total
    label, what = counted["label"], counted["what"]
    text = f"{label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total} {what} {clock}".strip()
    bar = f'<progress value="{done}" max="{total}" style="width:20em;vertical-align:middle"></progress>'
    return {
        "text/plain": text,
        "text/html": f"{html.escape(label)} {bar} {done}/{total} {html.escape(what)} {clock}".strip(),
    }


class ItemsProgress:
    """`bar.advance(n)` as items finish, then `bar.finish(note, ok)`."""

    REFRESH = 0.1  # seconds between redraws at most: a widget's every update is a message to the browser

    def __init__(self, total: int, label: str):
        self.total, self.label, self.done = total, label, 0
        self._drawn = 0.0
        self._widget = self._text = None
        if _in_a_kernel():
            self._widget = _Widget(total, label)
        elif sys.stderr.isatty():
            self._text = sys.stderr

    def advance(self, n: int) -> None:
        self.done += n
        now = time.monotonic()
        if now - self._drawn >= self.REFRESH or self.done == self.total:
            self._drawn = now
            self._draw(f"{self.done:,}/{self.total:,} items")

    def finish(self, note: str, ok: bool = True) -> None:
        """The last state: `note` says how it went."""
        if self._widget is not None:
            self._widget.finish(self.done, note, ok)
        elif self._text is not None:
            self._text.write(f"\r{self.label}: {note}\x1b[K\n")
            self._text.flush()

    def _draw(self, status: str) -> None:
        if self._widget is not None:
            self._widget.show(self.done, status)
        elif self._text is not None:
            width = 30
            filled = width * self.done // max(self.total, 1)
            self._text.write(f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] {status}\x1b[K")
            self._text.flush()


class _Widget:
    def __init__(self, total: int, label: str):
        import ipywidgets as w  # loaded only when a bar is shown

        self.bar = w.IntProgress(value=0, min=0, max=max(total, 1), layout=w.Layout(width="20em"))
        self.status = w.HTML(html.escape(f"{label}: starting"))
        self.label = label
        display(w.HBox([self.bar, self.status]))

    def show(self, done: int, status: str) -> None:
        self.bar.value = done
        self.status.value = html.escape(f"{self.label}: {status}")

    def finish(self, done: int, note: str, ok: bool) -> None:
        self.bar.value = done
        self.bar.bar_style = "success" if ok else "danger"
        self.status.value = html.escape(f"{self.label}: {note}")
