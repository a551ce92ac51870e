"""Widgets: the grants panel (see and change what a component may touch and its limits)."""

from __future__ import annotations

import ast
import contextlib
import dataclasses
import html
import io
import time

import ipywidgets as w

from . import wit
from .errors import AsteraiError
from .handles import ComponentHandle, component_name, html_table, live_component
from .names import snake_name
from .sandbox import DEFAULT_MAX_MEMORY, format_size
from .session import get_session
from .values import Err, Ok


def _handle(target):
    """A component handle from a handle or a component name."""
    if isinstance(target, ComponentHandle):
        return target
    session = get_session()
    session.get(target)  # a clear error for an unknown name
    return ComponentHandle(session, target)


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


# What the guest sees when it reaches past its grants (its own words: the kernel cannot rewrite them), and the
# field of this panel (or the cell option) that lifts it.
_REFUSAL_ROWS = [
    ("read a file", "<code>Capabilities insufficient (os error 76)</code> (Python: <code>[Errno 76]</code>)",
     "its directory under <i>read dirs</i> (<code>--allow-read DIR</code>)"),
    ("write a file", "<code>Operation not permitted (os error 63)</code> where granted read-only",
     "the directory under <i>write dirs</i> (<code>--allow-write DIR</code>)"),
    ("read an environment variable", "the variable looks unset (no error)",
     "<code>NAME</code> or <code>NAME=VALUE</code> under <i>env vars</i> (<code>--env NAME</code>)"),
    ("connect with <code>--use net</code>", "<code>NAME may not connect to HOST:PORT (granted: ...)</code>",
     "the host under <i>network</i> (<code>--allow-host HOST</code>; <code>*</code> for any)"),
    ("run long, loop, allocate", "<code>Timeout</code>, <code>OutOfFuel</code>, <code>OutOfMemory</code>",
     "a larger <i>timeout</i>, <i>fuel</i> or <i>max memory</i>"),
]  # fmt: skip
REFUSALS = (
    "<details><summary>What a refusal looks like, and what lifts it</summary>"
    + html_table(_REFUSAL_ROWS, header=("when the component tries to", "it sees", "grant"))
    + "</details>"
)


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
        self.net = w.Text(", ".join(g.net), description="network", placeholder="none; * for any host; or "
                          "HOST[:PORT], comma-separated", **box)  # fmt: skip
        self.timeout = w.Text("" if g.timeout is None else f"{g.timeout:g}", description="timeout (s)",
                              placeholder="none")  # fmt: skip
        self.fuel = w.Text("" if g.fuel is None else str(g.fuel), description="fuel", placeholder="none")
        self.max_memory = w.Text(format_size(g.max_memory), description="max memory",
                                 placeholder=format_size(DEFAULT_MAX_MEMORY))  # fmt: skip
        self.apply_button = w.Button(description="Apply", button_style="primary", icon="check")
        self.apply_button.on_click(lambda _: self.apply())
        self.status = w.HTML(self._status_text(f"current grants: {g.summary()}"))
        title = w.HTML(f"<b>Grants of <code>{html.escape(component_name(self.handle))}</code></b>")
        self.widget = w.VBox([title, self.read, self.write, self.env, self.net, self.timeout, self.fuel,
                              self.max_memory, self.apply_button, self.status, w.HTML(REFUSALS)])  # fmt: skip

    def changes(self) -> dict:
        return {
            "allow_read": _lines(self.read.value),
            "allow_write": _lines(self.write.value),
            "env": _lines(self.env.value),
            "allow_net": self.net.value,  # "*", "host:port, host", or "" (none)
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


# ---- the call form ----
class _Field:
    """One input for a WIT type, a message line under it, and how to read a Python value from it.

    A value the type cannot hold (70000 for a u16, two characters for a char) is never clamped or wrapped:
    `read` raises ValueError and the message under the field says why, and the call does not run. The
    message also follows the input as it is edited.
    """

    def __init__(self, ty, label: str, width: str = "initial"):
        self.ty, self.label, self.problem = ty, label, ""
        self.widget, self._read, self.parts = _field(ty, label, width)
        self.message = w.HTML()
        self.box = w.VBox([self.widget, self.message])
        if isinstance(ty, wit.Prim) and ty.name != "bool":  # check as the user types
            self.widget.observe(lambda _: self.check(), names="value")

    def read(self):
        try:
            value = self._read()
        except ValueError as e:
            self.problem = "" if self.parts else f"{self.label}: {e}"  # a group's parts say it themselves
            self.message.value = f'<span style="color:#b00020">{html.escape(self.problem)}</span>'
            raise
        self.problem = self.message.value = ""
        return value

    def clear(self) -> None:
        """Not sent (an option left unset): nothing to say about it."""
        self.problem = self.message.value = ""
        for part in self.parts:
            part.clear()

    def problems(self) -> list[str]:
        """What is wrong with this field's input now (and its parts'), as the messages under them say."""
        return [p for p in [self.problem] if p] + [p for part in self.parts for p in part.problems()]

    def check(self) -> bool:
        try:
            self.read()
        except ValueError:
            return False
        return True


def _int_reader(ty, read_text):
    lo, hi = wit.INT_RANGES[ty.name]

    def read():
        text = str(read_text()).strip()
        try:
            value = int(text)
        except ValueError:
            raise ValueError(f"{text!r} is not an integer") from None
        if not lo <= value <= hi:
            raise ValueError(f"{value} is out of range for {ty.name} ({lo} to {hi})")
        return value

    return read


def _char_reader(box):
    def read():
        if len(box.value) != 1:
            raise ValueError(f"a char is one character, not {len(box.value)}")
        return box.value

    return read


def _field(ty, label: str, width: str = "initial"):
    """(widget, reader, sub-fields) for a WIT type; readers raise ValueError with a readable message."""
    layout = {"description": label, "style": {"description_width": width}}
    if isinstance(ty, wit.Prim):
        if ty.name == "bool":
            box = w.Checkbox(False, **layout)
            return box, lambda: box.value, []
        if ty.name in ("f32", "f64"):
            box = w.FloatText(0.0, **layout)
            return box, lambda: box.value, []
        if ty.name in ("s64", "u64"):  # beyond JavaScript's exact integers: typed as text
            box = w.Text("0", **layout)
            return box, _int_reader(ty, lambda: box.value), []
        if ty.name in wit.INT_RANGES:  # unbounded in the browser: a bounded box would clamp silently
            box = w.IntText(0, **layout)
            return box, _int_reader(ty, lambda: box.value), []
        box = w.Text("a", **layout)  # char
        return box, _char_reader(box), []
    if isinstance(ty, wit.String):
        box = w.Text("", **layout)
        return box, lambda: box.value, []
    if isinstance(ty, wit.Enum):
        box = w.Dropdown(options=list(ty.cases), **layout)
        return box, lambda: box.value, []
    if isinstance(ty, wit.Record):
        inner = _label_width([snake_name(n) for n, _ in ty.fields])
        fields = [(snake_name(n), _Field(t, snake_name(n), inner)) for n, t in ty.fields]
        title = w.HTML(f"<i>{html.escape(label)}</i> (record {ty.name})")
        frame = w.Layout(border="1px solid #ddd", padding="4px", margin="2px 0")
        # children: the title, each field's input (in order), then their messages
        box = w.VBox([title, *[f.widget for _, f in fields], *[f.message for _, f in fields]], layout=frame)
        return box, lambda: {n: f.read() for n, f in fields}, [f for _, f in fields]
    if isinstance(ty, wit.List) and isinstance(ty.elem, wit.Record):
        return _record_rows(ty.elem, label)
    if isinstance(ty, wit.Option):
        present = w.Checkbox(False, description=f"{label} (set)", style={"description_width": width})
        inner = _Field(ty.inner, label, width)
        box = w.VBox([present, inner.widget, inner.message])
        return box, lambda: inner.read() if present.value else inner.clear(), [inner]
    # lists, tuples, variants, results: a Python literal (several lines when it helps), checked by the same
    # value layer as any call
    hint = {"List": "[1, 2]", "Tuple": "(1, 'x')", "Variant": "('case', value)", "Result": "Ok(1) / Err('e')"}
    box = w.Textarea("", placeholder=hint.get(type(ty).__name__, "a Python literal"), rows=3,
                     layout=w.Layout(width="95%"), **layout)  # fmt: skip
    return box, lambda: _literal(box.value, ty), []


def _record_rows(record, label: str):
    """list<record>: one record per row, with buttons to add a row and to remove each one."""
    rows: list[_Field] = []  # the group's parts: the list is kept current, so their messages are read
    removers: dict[int, w.Button] = {}
    holder = w.VBox()

    def redraw():
        holder.children = [
            w.HBox([w.HTML(f"<code>[{i}]</code>", layout=w.Layout(width="3em")), row.box, removers[id(row)]])
            for i, row in enumerate(rows)
        ]

    def add(_=None):
        row = _Field(record, "item")
        remove = w.Button(icon="trash", tooltip="remove this row", layout=w.Layout(width="3em"))
        remove.on_click(lambda _: (rows.remove(row), redraw()))
        rows.append(row)
        removers[id(row)] = remove
        redraw()

    add_button = w.Button(description="add a row", icon="plus", layout=w.Layout(width="auto"))
    add_button.on_click(add)
    add()  # one row to start with: lists are rarely empty
    title = w.HTML(f"<i>{html.escape(label)}</i> (list of {record.name})")
    frame = w.Layout(border="1px solid #ddd", padding="4px", margin="2px 0")
    box = w.VBox([title, holder, add_button], layout=frame)
    return box, lambda: [row.read() for row in rows], rows


def _label_width(labels: list[str]) -> str:
    """One description width for a group of fields, so their inputs line up."""
    return f"{min(24, max([4, *map(len, labels)]) + 2)}ch"


def _literal(text: str, ty):
    text = text.strip()
    if text.startswith(("Ok(", "Err(")) and text.endswith(")"):
        kind = Ok if text.startswith("Ok(") else Err
        inner = text[text.index("(") + 1 : -1].strip()
        return kind(ast.literal_eval(inner) if inner else None)
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        raise ValueError(f"{text!r} is not a Python literal for {ty.wit()}") from None


class CallForm:
    """One form per export, generated from its WIT types; Call shows the result or the error, and the time."""

    def __init__(self, target):
        self.handle = _handle(target)
        live = live_component(self.handle)
        self.forms = {}
        tabs = []
        for fn in wit.plain_functions(live.iface.functions):
            width = _label_width([snake_name(n) for n, _ in fn.params])
            fields = [_Field(t, snake_name(n), width) for n, t in fn.params]
            button = w.Button(description=f"Call {snake_name(fn.name)}", button_style="primary")
            output = w.HTML()
            button.on_click(lambda _, f=fn.name: self.call(f))
            self.forms[fn.name] = (fields, button, output)
            sig = html.escape(f"{snake_name(fn.name)}: {fn.signature()}")
            doc = f"<div style='color:#555'>{html.escape(fn.docs)}</div>" if fn.docs else ""
            tabs.append(
                w.VBox([w.HTML(f"<code>{sig}</code>{doc}"), *[f.box for f in fields], button, output])
            )
        self.widget = w.Tab(children=tabs)
        for i, fn in enumerate(wit.plain_functions(live.iface.functions)):
            self.widget.set_title(i, snake_name(fn.name))

    def problems(self, fn_name: str) -> list[str]:
        """The messages under the fields of an export's form (empty when every input can be sent)."""
        fields, _, _ = self.forms[fn_name]
        for f in fields:
            f.check()
        return [p for f in fields for p in f.problems()]

    def call(self, fn_name: str):
        """Press Call: read the fields, call the export through its proxy, show what came back."""
        fields, _, output = self.forms[fn_name]
        try:
            args = [f.read() for f in fields]
            t0 = time.perf_counter()
            with contextlib.redirect_stdout(io.StringIO()) as printed:
                result = getattr(self.handle, snake_name(fn_name))(*args)
            took = (time.perf_counter() - t0) * 1e3
        except Exception as e:  # the form shows every error, it never raises into the widget machinery
            output.value = self._status_text(f"{type(e).__name__}: {e}", error=True)
            return None
        shown = _render(result)
        extra = f"<pre>{html.escape(printed.getvalue())}</pre>" if printed.getvalue() else ""
        output.value = f"{shown}{extra}<div style='color:#777'>{took:.2f} ms</div>"
        return result

    _status_text = staticmethod(GrantsPanel._status_text)

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)


def _render(value) -> str:
    """A result as HTML: records as a table, everything else as its repr."""
    if dataclasses.is_dataclass(value):
        rows = "".join(
            f"<tr><th style='text-align:left'>{html.escape(f.name)}</th>"
            f"<td>{_render(getattr(value, f.name))}</td></tr>"
            for f in dataclasses.fields(value)
        )
        return f"<table>{rows}</table>"
    return f"<code>{html.escape(repr(value))}</code>"


def call_form(target) -> CallForm:
    """`asterai_kernel.call_form(NAME or handle)`: a form per export of the component."""
    return CallForm(target)
