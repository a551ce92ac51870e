"""The notebook session's runtime: the Engine, the build/load pipeline and the registry of live components."""

from __future__ import annotations

import atexit
import functools
import hashlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import wasmtime
from wasmtime.component import Component

from . import hostfns, net, pins, values, wit
from .build import cache
from .build.cache import BuildResult
from .component import LiveComponent, Timings
from .engine import EngineConfig, Runtime
from .errors import AsteraiError
from .handles import ExportProxy
from .hostfns import PROVIDERS
from .languages.base import Language, Progress
from .limits import DeadlineWatch
from .pipeline import CellResult, CellSpec, build_component, run_cell
from .sandbox import Grants
from .tiers import TIER_UP_MIN, TierUp, worker_command
from .wit_json import declare, find_declared

# Components above this size are compiled to machine code in a worker process (Cranelift's memory stays
# there); small ones in-process, where a worker's start-up would cost more than the compile. Winch is
# quick and lean: in-process up to a bigger size.
IN_PROCESS_COMPILE_LIMIT = 2 << 20
IN_PROCESS_WINCH_LIMIT = 16 << 20


class Session:
    def __init__(self) -> None:
        net.register()
        values.keep_freed_memory()  # big calls reuse their buffers' pages
        self.runtimes = {EngineConfig(): Runtime.create(EngineConfig())}
        self.engine = self.runtimes[EngineConfig()].engine  # the default engine
        self.components: dict[str, LiveComponent] = {}
        self.proxies: dict[tuple[str, str], ExportProxy] = {}  # (component, WIT function) -> its proxy
        self.guest_depth = 0  # calls into guest code in progress (only the main thread changes it)
        # Bumped whenever an epoch advances: each Store resets its deadline before its next call.
        self.epoch_gen = 0
        self.interrupt_pending = False
        self.cell_running = False  # between the pre_execute and post_execute events (Session.interrupt)
        self.python_interrupted = False  # a SIGINT was sent for the running cell
        self.nested_traps: list = []  # links.NestedTrap of providers that trapped under the current call
        self.declarations: dict[str, wit.Interface] = {}  # `%%asterai wit` interfaces, by qualified name
        self.deadlines = DeadlineWatch(self._advance_epochs)
        self.tier_up = TierUp()  # Cranelift's code for components loaded with Winch's (tiers.py)
        self.tiered = os.environ.get("ASTERAI_TIERED", "1") != "0"
        self._lock = threading.Lock()
        atexit.register(self.close)

    def runtime(self, grants: Grants, winch: bool = False) -> Runtime:
        config = EngineConfig(consume_fuel=grants.fuel is not None, winch=winch)
        if config not in self.runtimes:
            self.runtimes[config] = Runtime.create(config)
        return self.runtimes[config]

    # ---- interrupt: called from the kernel's control thread or a signal watcher ----
    # The main thread leaves guest code by decrementing guest_depth and then reading interrupt_pending;
    # interrupt() sets interrupt_pending and then reads guest_depth. Whichever order the two threads run
    # in, an interrupt that saw guest code running is seen by that call (a trap, or the check after it
    # returns), so it ends the cell that was running and never waits for a later one.
    def interrupt(self, interrupt_python: Callable[[], None] | None = None) -> bool:
        """Stop running guest code (the epoch traps it); True when it did. Otherwise, while a cell's own
        code runs, call `interrupt_python` (the kernel's usual SIGINT); between cells, do nothing: a
        KeyboardInterrupt there would land in the kernel's own code and lose the cell's reply."""
        with self._lock:
            self.interrupt_pending = True
            if self.guest_depth == 0:
                self.interrupt_pending = False  # no guest call will see it: Python's interrupt instead
                if interrupt_python is not None and self.cell_running:
                    self.python_interrupted = True
                    interrupt_python()
                return False
            self._advance_epochs_locked()
        if hostfns.serving():  # a host function (say, a network call) is running: stop it like Python
            signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)
        return True

    def cell_started(self) -> None:
        """A new cell runs: an interrupt meant for an earlier one must not end it."""
        with self._lock:  # waits for an interrupt in progress, so its epoch bump is visible from here on
            self.interrupt_pending = False
            self.cell_running = True

    def cell_finished(self) -> None:
        with self._lock:
            self.cell_running = False
            signalled, self.python_interrupted = self.python_interrupted, False
        if signalled:  # the SIGINT sent while the cell ran may not have reached Python's handler yet
            try:
                _check_signals()
            except KeyboardInterrupt:
                pass  # meant for the cell that just ended: its reply must still go out

    def take_interrupt(self) -> bool:
        with self._lock:
            pending, self.interrupt_pending = self.interrupt_pending, False
            return pending

    def raise_pending_interrupt(self) -> None:
        """The guest returned before the epoch stopped it: the interrupt still ends the cell."""
        if self.take_interrupt():
            raise KeyboardInterrupt("interrupted")

    def interrupt_soon(self, after: float = 0.0, give_up: float = 120.0) -> threading.Thread:
        """Press the stop button from code: once guest code has run for `after` seconds, interrupt it.

        What tests and the tutorials use instead of a timer, which on a busy machine can fire before the
        guest call even started (and then interrupts Python, or nothing). Gives up after `give_up` seconds
        without guest code.
        """

        def press() -> None:
            deadline = time.monotonic() + give_up
            while time.monotonic() < deadline:
                if self.guest_depth == 0:
                    time.sleep(0.002)
                    continue
                time.sleep(after)
                if self.interrupt():
                    return

        thread = threading.Thread(target=press, name="asterai-interrupt-soon", daemon=True)
        thread.start()
        return thread

    def _advance_epochs(self) -> None:
        with self._lock:
            self._advance_epochs_locked()

    def _advance_epochs_locked(self) -> None:
        # The engines' epochs first, then the generation every Store compares before its next call: a call
        # that sees the new generation sets its deadline after the bump, so the bump cannot trap it.
        for rt in list(self.runtimes.values()):
            rt.engine.increment_epoch()
        self.epoch_gen += 1

    # ---- a cell, start to end ----
    def run_cell(self, spec: CellSpec, progress: Progress = lambda msg: None,
                 on_wit: Callable[[str], None] | None = None) -> CellResult:  # fmt: skip
        """Build (or take from the cache) the component of one cell and make it live: see pipeline."""
        return run_cell(self, spec, progress, on_wit)

    # ---- building ----
    def build(self, lang: Language, name: str, source: str, iface: wit.Interface, **kwargs) -> BuildResult:
        return build_component(lang, name, source, iface, **kwargs)

    def load(self, wasm_path: Path, runtime: Runtime | None = None) -> Component:
        """The component compiled for an Engine: from the .cwasm cache, else compiled once and cached."""
        runtime = runtime or self.runtimes[EngineConfig()]
        return self._load(wasm_path, runtime)

    def load_best(self, wasm_path: Path, grants: Grants) -> tuple[Component, Runtime]:
        """Cranelift's code when it is cached or the component is small; else Winch's (and `optimize_later`
        once the component is live: see tiers.py)."""
        optimized = self.runtime(grants)
        small = wasm_path.stat().st_size < TIER_UP_MIN
        if small or not self.tiered or cwasm_path(wasm_path, optimized.config).exists():
            return self._load(wasm_path, optimized), optimized
        quick = self.runtime(grants, winch=True)
        return self._load(wasm_path, quick), quick

    def optimize_later(self, live: LiveComponent) -> None:
        """A live component on Winch's code: Cranelift's is compiled in the background for its next start."""
        if not live.runtime.config.winch:
            return
        optimized = self.runtime(live.grants)

        def wanted() -> bool:  # still live on Winch's code when its turn comes (not re-run, not removed)
            return self.components.get(live.name) is live and live.runtime.config.winch

        self.tier_up.request(
            live.code_path, cwasm_path(live.code_path, optimized.config), optimized.config, wanted
        )

    def optimized_code(self, live: LiveComponent) -> tuple[Component, Runtime] | None:
        """Cranelift's code of a component now running on Winch's, once the background compile made it."""
        optimized = self.runtime(live.grants)
        if not cwasm_path(live.code_path, optimized.config).exists():
            return None
        return self._load(live.code_path, optimized), optimized

    def optimize(self, name: str, progress: Progress) -> bool:
        """Restart a component on Cranelift's code, compiled now if the background has not made it yet;
        False when it already ran optimized code (`asterai_kernel.optimize`)."""
        live = self.get(name)
        if not live.runtime.config.winch:
            return False
        progress(f"{name}: Cranelift is compiling optimized machine code...")
        self.optimized_now(live)
        live.restart()
        if live.runtime.config.winch:
            raise AsteraiError(f"{name}: Cranelift's code could not be loaded; it keeps Winch's machine code")
        return True

    def optimized_now(self, live: LiveComponent) -> None:
        """Cranelift's code of a component running Winch's, made now unless it exists (no restart)."""
        optimized = self.runtime(live.grants)
        self.tier_up.now(live.code_path, cwasm_path(live.code_path, optimized.config), optimized.config)

    def _load(self, wasm_path: Path, runtime: Runtime) -> Component:
        cwasm = cwasm_path(wasm_path, runtime.config)
        if cwasm.exists():
            try:
                return Component.deserialize_file(runtime.engine, str(cwasm))
            except wasmtime.WasmtimeError:
                cwasm.unlink(missing_ok=True)  # stale or foreign: compile again below
        limit = IN_PROCESS_WINCH_LIMIT if runtime.config.winch else IN_PROCESS_COMPILE_LIMIT
        if wasm_path.stat().st_size < limit:
            component = Component(runtime.engine, wasm_path.read_bytes())
            cache.write_atomic(cwasm, component.serialize())
            return component
        command = worker_command(wasm_path, cwasm, runtime.config)
        proc = subprocess.run(command, capture_output=True, text=True)
        if proc.returncode != 0:
            raise AsteraiError(f"compiling the component to machine code failed:\n{proc.stderr.strip()}")
        return Component.deserialize_file(runtime.engine, str(cwasm))

    # ---- registry ----
    def install(self, name: str, lang: Language, iface: wit.Interface, built: BuildResult,
                grants: Grants | None = None,
                uses: dict[str, wit.Interface] | None = None,
                export_paths: dict | None = None, foreign: list | None = None) -> LiveComponent:  # fmt: skip
        grants = grants or Grants()
        t0 = time.perf_counter()
        component, runtime = self.load_best(built.wasm_path, grants)
        load_time = time.perf_counter() - t0
        live = LiveComponent(
            name, lang, iface, component, runtime, built.wasm_path.stat().st_size,
            Timings(built.built_seconds, load_time, cached=built.cached, winch=runtime.config.winch),
            session=self, grants=grants, wasm_path=built.wasm_path, uses=dict(uses or {}),
            export_paths=dict(export_paths or {}), foreign=list(foreign or []),
        )  # fmt: skip
        return self.register(live)

    def register(self, live: LiveComponent) -> LiveComponent:
        """Start a new component and put it in the registry, in place of the one of that name."""
        live.instantiate()
        old = self.components.get(live.name)
        if old is not None:
            old.close()
        self.components[live.name] = live
        self.publish(live)
        self.optimize_later(live)
        return live

    def get(self, name: str) -> LiveComponent:
        live = self.components.get(name)
        if live is None:
            raise AsteraiError(f"there is no component named {name!r} (it was removed); re-run its cell")
        if live.store is None:
            raise AsteraiError(f"component {name!r} is down (it failed to restart); re-run its cell")
        return live

    def proxy(self, component: str, fn_name: str) -> ExportProxy:
        """The one proxy of an export: handed out once, relinked on every restart and re-run."""
        key = (component, fn_name)
        proxy = self.proxies.get(key)
        if proxy is None:
            proxy = self.proxies[key] = ExportProxy(self, component, fn_name)
            live = self.components.get(component)
            if live is not None and fn_name in live.exports:
                proxy.attach(live)
        return proxy

    def publish(self, live: LiveComponent) -> None:
        """Point the proxies of this component's exports at its (new) instance."""
        for fn in live.iface.functions:
            proxy = self.proxies.get((live.name, fn.name))
            if proxy is not None:
                proxy.attach(live)

    def unpublish(self, live: LiveComponent) -> None:
        for (component, _), proxy in self.proxies.items():
            if component == live.name:
                proxy.detach(live)

    def remove(self, name: str) -> None:
        if name not in self.components:
            raise AsteraiError(f"there is no component named {name!r}; `%asterai ls` lists them")
        users = self.consumers_of(name)
        if users:
            raise AsteraiError(
                f"{name} is used by {', '.join(users)} (--use {name}); remove or re-run those first"
            )
        self.components.pop(name).close()

    # ---- declared interfaces (`%%asterai wit`, `--exports`) ----
    def declare(self, text: str) -> list[wit.Interface]:
        declared = declare(text)
        for iface in declared:
            self.declarations[iface.qualified] = iface
        return declared

    def declared(self, name: str) -> wit.Interface:
        return find_declared(self.declarations, name)

    # ---- links (`--use`) ----
    def consumers_of(self, provider: str) -> list[str]:
        return sorted(n for n, live in self.components.items() if provider in live.uses)

    def providers(self, uses: list[str], consumer: str) -> dict[str, wit.Interface]:
        """The interfaces a cell with `--use` imports; unknown names and cycles are refused."""
        found = {}
        for name in uses:
            if name == consumer:
                raise AsteraiError(f"--use {name}: a component cannot use itself")
            live = self.components.get(name)
            if live is None and name in PROVIDERS:
                untyped = [f for f, h in PROVIDERS[name].functions.items() if h.params is None]
                if untyped:
                    raise AsteraiError(f"--use {name}: annotate every parameter and the return "
                                       f"type of {', '.join(untyped)} (Any is for imports)")  # fmt: skip
                found[name] = PROVIDERS[name].iface
                continue
            if live is None:
                known = ", ".join(sorted([*self.components, *PROVIDERS])) or "none yet"
                raise AsteraiError(f"--use {name}: there is no component named {name!r} (known: {known})")
            if consumer in self._needs(name):
                raise AsteraiError(f"--use {name}: {name} already uses {consumer} (directly or via others); "
                                   "cycles between components are not supported")  # fmt: skip
            found[name] = live.iface
        return found

    def _needs(self, name: str, seen: set[str] | None = None) -> set[str]:
        """Every component `name` uses, directly or through others."""
        seen = set() if seen is None else seen
        for dep in self.components[name].uses if name in self.components else ():
            if dep not in seen:
                seen.add(dep)
                self._needs(dep, seen)
        return seen

    def relink_report(self, provider: LiveComponent) -> str:
        """After a provider's re-run: which consumers now call it, and which must be re-run."""
        relinked, stale = [], []
        for consumer in self.consumers_of(provider.name):
            expected = self.components[consumer].uses[provider.name]
            if expected.shape() == provider.iface.shape():
                relinked.append(consumer)
            else:
                stale.append(consumer)
        lines = [f"  relinked: {', '.join(relinked)} now call{'s' if len(relinked) == 1 else ''} the new "
                 f"{provider.name}"] if relinked else []  # fmt: skip
        lines += [
            f"  {c} was built against the old {provider.name} interface: re-run its cell" for c in stale
        ]
        return "\n".join(lines)

    def close(self) -> None:
        """Close every Store: their output callbacks must not outlive the interpreter."""
        self.tier_up.close()
        for live in self.components.values():
            live.close()
            live.component.close()
        self.components.clear()


def cwasm_path(wasm_path: Path, config: EngineConfig) -> Path:
    """Where the machine code of a component file for an engine configuration is cached."""
    key = cache.content_key("cwasm", file_digest(wasm_path), pins.WASMTIME_VERSION, config)
    return cache.entry_dir("cwasm", key) / "component.cwasm"


def file_digest(wasm_path: Path) -> str:
    """The sha256 of a component file, computed once per version of the file."""
    stat = wasm_path.stat()
    return _file_digest(str(wasm_path), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=512)
def _file_digest(path: str, size: int, mtime_ns: int) -> str:
    """A component file's hash, once per version of the file (a re-run or restart finds it here: a Python
    component is 30 MB)."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _check_signals() -> None:
    """A Python-level call: the interpreter runs pending signal handlers on entering it."""


_session: Session | None = None


def get_session() -> Session:
    global _session
    if _session is None:
        _session = Session()
    return _session
