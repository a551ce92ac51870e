"""A progress bar that updates in place: a widget in a notebook, one rewritten line in a terminal, and
nothing where neither would be seen (a script's redirected output, tests)."""

from __future__ import annotations

import html
import sys
import time

REFRESH_SECONDS = 0.1  # a redraw at most this often: a widget's every update is a message to the browser


def _in_notebook() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    return getattr(get_ipython(), "kernel", None) is not None


class Progress:
    def __init__(self, total: int, label: str):
        self.total, self.label, self.done = total, label, 0
        self._drawn = 0.0
        self._widget = self._text = None
        if _in_notebook():
            self._widget = _Widget(total, label)
        elif sys.stderr.isatty():
            self._text = sys.stderr

    def advance(self, n: int) -> None:
        self.done += n
        now = time.monotonic()
        if now - self._drawn >= REFRESH_SECONDS or self.done == self.total:
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
        import ipywidgets as w
        from IPython.display import display

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
