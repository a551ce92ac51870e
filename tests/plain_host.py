"""A host that knows nothing of asterai: plain wasmtime-py, as any embedder of an exported component uses it."""

from __future__ import annotations

import wasmtime
from wasmtime.component import Component, Linker


class PlainHost:
    """One instance of the component at `path`; `imports` supplies instances by hand: {name: {func: fn}}."""

    def __init__(self, path, imports: dict | None = None) -> None:
        engine = wasmtime.Engine()
        linker = Linker(engine)
        linker.add_wasip2()
        for name, funcs in (imports or {}).items():
            with linker.root() as root, root.add_instance(name) as instance:
                for fn_name, fn in funcs.items():
                    instance.add_func(fn_name, fn)
        self.store = wasmtime.Store(engine)
        self.store.set_wasi(wasmtime.WasiConfig())
        self.instance = linker.instantiate(self.store, Component.from_file(engine, str(path)))

    def func(self, iface: str, name: str):
        """Function `name` of the exported interface `iface`, called with its arguments only."""
        index = self.instance.get_export_index(self.store, iface)
        assert index is not None, f"no export {iface}"
        fn_index = self.instance.get_export_index(self.store, name, index)
        assert fn_index is not None, f"no function {name} in {iface}"
        fn = self.instance.get_func(self.store, fn_index)
        return lambda *args: fn(self.store, *args)
