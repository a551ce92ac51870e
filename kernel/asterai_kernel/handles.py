"""What the notebook holds: a handle per component and a proxy per export.

Both look the component up by name on every call, so they keep working after a restart or a re-run (a raw
wasmtime Func used with a newer Store would abort the whole process).
"""

from __future__ import annotations

import html
import inspect

from . import wit
from .names import snake_name


class ExportProxy:
    """A callable export: `add(1, 2)`; its doc shows the WIT signature and the guest's doc comment."""

    def __init__(self, session, component: str, fn_name: str):
        self._session = session
        self._component = component
        self._fn = fn_name
        self._owner = None  # the LiveComponent whose export `fast` calls (attach, detach)
        self.fast = self._unavailable
        self.__name__ = snake_name(fn_name)
        self.__qualname__ = f"{component}.{self.__name__}"
        fn = self._function()
        self.__doc__ = f"{self.__name__}: {fn.signature()}\n\n{fn.docs}".rstrip()
        self.__signature__ = inspect.Signature(
            [inspect.Parameter(snake_name(n), inspect.Parameter.POSITIONAL_OR_KEYWORD) for n, _ in fn.params]
        )

    def _function(self):
        live = self._session.get(self._component)
        return live.exports[self._fn].fn

    def __call__(self, *args, **kwargs):
        return self.fast(*args, **kwargs)

    @property
    def function_name(self) -> str:
        """The export's WIT name."""
        return self._fn

    @property
    def component_name(self) -> str:
        """The name of the component whose export this is."""
        return self._component

    def attach(self, live) -> None:
        """Calls go to this live component's export from now on, by its fast path."""
        self._owner, self.fast = live, live.exports[self._fn].fast

    def detach(self, live) -> None:
        """`live` went down: calls take the general path, which raises the clear error."""
        if self._owner is live:
            self._owner, self.fast = None, self._unavailable

    def _unavailable(self, *args, **kwargs):
        """While the component is removed or down: the general path raises the clear error."""
        return self._session.get(self._component).call(self._fn, args, kwargs)

    def __repr__(self) -> str:
        try:
            sig = self._function().signature()
        except Exception:
            sig = "(unavailable)"
        return f"<{self._component}.{self.__name__}: {sig}>"


class ComponentHandle:
    """`NAME` in the notebook: exports as attributes, and a summary of the component."""

    def __init__(self, session, name: str):
        object.__setattr__(self, "_session", session)
        object.__setattr__(self, "_name", name)

    @property
    def _live(self):
        return self._session.get(self._name)

    def _exports(self) -> dict[str, str]:
        """Python name -> WIT function name."""
        return self._live.py_names

    def __getattr__(self, attr: str):
        if attr.startswith("__"):
            raise AttributeError(attr)
        fn = self._exports().get(attr)
        if fn is None:
            cls = {c.__name__: c for c in self._live.types.values()}.get(attr)
            if cls is not None:
                return cls
            raise AttributeError(f"component {self._name!r} has no export {attr!r}; it has: "
                                 f"{', '.join(self._exports()) or 'none'}")  # fmt: skip
        return self._session.proxy(self._name, fn)

    def __setattr__(self, attr, value):
        raise AttributeError(f"component handles are read-only; re-run the cell that defines {self._name!r}")

    def __dir__(self):
        types = {c.__name__ for c in self._live.types.values()}
        return sorted(set(super().__dir__()) | set(self._exports()) | types)

    @property
    def grants(self):
        """What this component may touch and its limits (`asterai_kernel.sandbox.Grants`)."""
        return self._live.grants

    def regrant(self, **changes) -> None:
        """Change grants with the cell options' keywords, e.g. `regrant(allow_read=["data"], timeout=2)`.

        The component is re-instantiated with them, so its guest state restarts.
        """
        live = self._live
        live.regrant(live.grants.updated(**changes))
        print(f"{self._name}: grants now {live.grants.summary()}; its state restarted")

    @property
    def wit(self) -> str:
        live = self._live  # with the interfaces it imports: its own may `use` their types
        return wit.render_world(live.iface, uses=tuple(live.uses.values()))

    def _repr_html_(self) -> str:
        """The inspector: name, language, exports with WIT signatures, imports, grants, size and timings."""
        try:
            live = self._live
        except Exception as e:
            return f"<b>{html.escape(self._name)}</b>: {html.escape(str(e))}"
        exports = [
            (f"<code>{html.escape(snake_name(f.name))}</code>", f"<code>{html.escape(f.signature())}</code>",
             html.escape(f.docs))
            for f in live.iface.functions
        ]  # fmt: skip
        t = live.timings
        built = (
            f"runs on the shared interpreter (glue made in {t.build * 1e3:.1f} ms)" if t.interpreted
            else "from cache" if t.cached else f"built in {t.build:.2f} s"
        )  # fmt: skip
        facts = [
            ("language", live.language.name),
            ("imports", ", ".join(live.uses) or "none"),
            ("grants", live.grants.summary()),
            ("size", f"{live.wasm_size / 1024:.0f} KiB"),
            (
                "machine code",
                "Winch's, quick to make (Cranelift's optimized code at its next start)"
                if live.runtime.config.winch
                else "Cranelift's, optimized",
            ),
            (
                "timings",
                f"{built}, loaded in {t.load * 1e3:.1f} ms, instantiated in {t.instantiate * 1e3:.1f} ms",
            ),
        ]
        info = [(f"<b>{k}</b>", html.escape(v)) for k, v in facts]
        return (
            f"<div><b>{html.escape(self._name)}</b> (WebAssembly component)"
            f"{html_table(info)}{html_table(exports, header=('export', 'WIT', 'docs'))}</div>"
        )

    def __repr__(self) -> str:
        try:
            live = self._live
        except Exception as e:
            return f"<asterai component {self._name!r}: {e}>"
        fns = ", ".join(
            f"{snake_name(f.name)}{f.signature()[4:]}" for f in wit.plain_functions(live.iface.functions)
        )
        return f"<asterai component {self._name} ({live.language.name}): {fns}>"


# Jupyter's stylesheet right-aligns table cells; the inspector's columns read left to right, top-aligned.
_CELL = "text-align:left;vertical-align:top;padding:2px 10px 2px 0"


def html_table(rows: list[tuple[str, ...]], header: tuple[str, ...] = ()) -> str:
    """An HTML table of already-escaped cells, every column aligned left."""
    head = "".join(f"<th style='{_CELL}'>{h}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td style='{_CELL}'>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table style='margin:4px 0'>{f'<tr>{head}</tr>' if head else ''}{body}</table>"


# A handle's attributes are its component's exports, so what front ends need of it are functions, not
# attributes that an export could shadow.
def component_name(handle: ComponentHandle) -> str:
    return handle._name


def live_component(handle: ComponentHandle):
    """The handle's LiveComponent now (raises the clear error when it was removed or is down)."""
    return handle._live
