"""AsteraiKernel: IPython's kernel with the asterai magics loaded and interrupts that reach guest code."""

from __future__ import annotations

from ipykernel.ipkernel import IPythonKernel

from . import __version__
from .languages import LANGUAGES, supported


class AsteraiKernel(IPythonKernel):
    implementation = "asterai"
    implementation_version = __version__
    banner = (
        "Asterai: Python plus cells in other languages compiled to sandboxed WebAssembly components.\n"
        f"Start a cell with %%asterai LANG (one of: {', '.join(supported())})."
    )

    @property
    def kernel_info(self):
        info = super().kernel_info
        aliases = {lang.name: list(lang.aliases) for lang in LANGUAGES.values()}
        info["asterai"] = {"version": __version__, "languages": supported(), "aliases": aliases}
        return info

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        from .magics import register

        self.asterai_magics = register(self.shell)

    def _send_interrupt_children(self):
        # Runs on the control thread. While the main thread is inside wasm, Python's SIGINT handler cannot
        # run until the call returns (never, for a loop): bump the engine's epoch so the guest traps instead.
        # Otherwise the usual SIGINT, but only while a cell's code runs (see Session.interrupt).
        self.asterai_magics.session.interrupt(interrupt_python=super()._send_interrupt_children)

    def do_shutdown(self, restart):
        self.asterai_magics.session.close()
        return super().do_shutdown(restart)
