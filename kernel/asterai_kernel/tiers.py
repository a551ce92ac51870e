"""Tiered machine code: a big component runs at once on Winch's quick code, and Cranelift's optimized code
replaces it from its next instantiation.

Cranelift takes seconds on a Go, TypeScript or Python component (15 s for componentize-py's 30 MB), Winch
a fifth to a tenth of that, for guest code 3-5x slower. A cell's component is loaded with Winch when no
Cranelift code is cached; Cranelift then compiles it in a worker process, one component at a time (the
machine's other core stays free for the user) at a low priority, and only while a live component still runs
that Winch code. The optimized code is taken when the component next starts
afresh (a restart after a trap, a regrant, a re-run of its cell, a new session), never by swapping a live
instance, whose state would be lost. Small components are compiled by Cranelift at once: Winch would save
them nothing worth slower code.
"""

from __future__ import annotations

import contextlib
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from .engine import EngineConfig

TIER_UP_MIN = 1 << 20  # bytes: smaller components get Cranelift's code at once


def worker_command(wasm_path: Path, cwasm: Path, config: EngineConfig) -> list[str]:
    """The precompile worker's command line for one component and engine configuration."""
    return [sys.executable, "-m", "asterai_kernel.build.precompile", str(wasm_path), str(cwasm),
            *config.flags()]  # fmt: skip


class TierUp:
    """Cranelift compiles, queued and run one at a time in a worker process, in the background."""

    def __init__(self) -> None:
        self._queue: queue.Queue[tuple | None] = queue.Queue()
        self._pending: set[Path] = set()  # .cwasm files asked for and not yet written (or given up)
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._proc: subprocess.Popen | None = None
        self._thread: threading.Thread | None = None

    def request(self, wasm_path: Path, cwasm: Path, config: EngineConfig, wanted: Callable[[], bool]) -> None:
        """Make `cwasm` (Cranelift's code of `wasm_path` for `config`) unless it is already on its way, if
        `wanted()` still says so when its turn comes (the component may have been re-run or removed)."""
        with self._lock:
            if cwasm in self._pending:
                return
            self._pending.add(cwasm)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="asterai-tier-up", daemon=True)
                self._thread.start()
        self._queue.put((wasm_path, cwasm, config, wanted))

    def pending(self) -> int:
        with self._lock:
            return len(self._pending)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until every requested compile has ended; False if `timeout` passed first."""
        with self._idle:
            return self._idle.wait_for(lambda: not self._pending, timeout)

    def close(self) -> None:
        """Stop: the compile in progress is killed (its .cwasm is written atomically, so none is left)."""
        self._queue.put(None)
        with self._lock:
            proc = self._proc
        if proc is not None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            wasm_path, cwasm, config, wanted = item
            try:
                if not cwasm.exists() and wanted():
                    self._compile(wasm_path, cwasm, config)
            finally:
                with self._idle:
                    self._pending.discard(cwasm)
                    self._idle.notify_all()

    def _compile(self, wasm_path: Path, cwasm: Path, config: EngineConfig) -> None:
        # A failure here costs only speed: the component keeps Winch's code, and the next load tries again.
        # Niced: the user's next cell, or anything else the machine does, goes first.
        proc = subprocess.Popen(worker_command(wasm_path, cwasm, config), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, preexec_fn=lambda: os.nice(10))  # fmt: skip
        with self._lock:
            self._proc = proc
        proc.wait()
        with self._lock:
            self._proc = None
