"""Widgets: the grants panel (see and change what a component may touch and its limits)."""

from __future__ import annotations

import contextlib
import html
import io

import ipywidgets as w

from .errors import AsteraiError
from .sandbox import DEFAULT_MAX_MEMORY, format_size


def _handle(target):
    """A component handle from a handle or a component name."""
    from .handles import ComponentHandle
    from .session import get_session

    if isinstance(target, ComponentHandle):
        return target
    session = get_session()
    session.get(target)  # a clear error for an unknown name
    return ComponentHandle(session, target)


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


class GrantsPanel:
    """Toggles and fields for each capability; Apply re-instantiates the component with the new grants."""

    def __init__(self, target):
        self.handle = _handle(target)
        g = self.handle.grants
        box = {"layout": w.Layout(width="32em")}
        self.read = w.Textarea("\n".join(f"{h}:{gp}" for h, gp in g.read), description="read dirs",
                               placeholder="HOST[:GUEST], one per line", **box)  # fmt: skip
        self.write = w.Textarea("\n".join(f"{h}:{gp}" for h, gp in g.write), description="write dirs",
                                placeholder="HOST[:GUEST], one per line", **box)  # fmt: skip
        self.env = w.Textarea("\n".join(f"{n}={v}" for n, v in g.env), description="env vars",
                              placeholder="NAME or NAME=VALUE, one per line", **box)  # fmt: skip
        self.net = w.Checkbox(g.net, description="network (all or nothing)")
        self.timeout = w.Text("" if g.timeout is None else f"{g.timeout:g}", description="timeout (s)",
                              placeholder="none")  # fmt: skip
        self.fuel = w.Text("" if g.fuel is None else str(g.fuel), description="fuel", placeholder="none")
        self.max_memory = w.Text(format_size(g.max_memory), description="max memory",
                                 placeholder=format_size(DEFAULT_MAX_MEMORY))  # fmt: skip
        self.apply_button = w.Button(description="Apply", button_style="primary", icon="check")
        self.apply_button.on_click(lambda _: self.apply())
        self.status = w.HTML(self._status_text(f"current grants: {g.summary()}"))
        title = w.HTML(f"<b>Grants of <code>{html.escape(self.handle._name)}</code></b>")
        self.widget = w.VBox([title, self.read, self.write, self.env, self.net, self.timeout, self.fuel,
                              self.max_memory, self.apply_button, self.status])  # fmt: skip

    def changes(self) -> dict:
        return {
            "allow_read": _lines(self.read.value),
            "allow_write": _lines(self.write.value),
            "env": _lines(self.env.value),
            "allow_net": self.net.value,
            "timeout": self.timeout.value.strip() or None,
            "fuel": self.fuel.value.strip() or None,
            "max_memory": self.max_memory.value.strip() or None,
        }

    def apply(self) -> bool:
        """Regrant from the fields; the status line says what happened (the component's state restarts)."""
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                self.handle.regrant(**self.changes())
        except (AsteraiError, TypeError) as e:
            self.status.value = self._status_text(str(e), error=True)
            return False
        g = self.handle.grants
        self.status.value = self._status_text(f"applied: {g.summary()}. The component restarted with them "
                                              "(its guest state is reset).")  # fmt: skip
        return True

    @staticmethod
    def _status_text(text: str, error: bool = False) -> str:
        color = "#b00020" if error else "#1b5e20"
        return f'<span style="color:{color}">{html.escape(text)}</span>'

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)


def grants(target) -> GrantsPanel:
    """`asterai_kernel.grants(NAME or handle)`: the grants panel of a component."""
    return GrantsPanel(target)
