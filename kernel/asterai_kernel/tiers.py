"""Tiered machine code: a big component runs at once on Winch's quick code, and Cranelift's optimized code
replaces it from its next instantiation.

Cranelift takes seconds on a Go, TypeScript or Python component (15 s for componentize-py's 30 MB), Winch
a fifth to a tenth of that, for guest code 1.4-5x slower. A cell's component is loaded with Winch when no
Cranelift code is cached; Cranelift then compiles it in a worker process, one component at a time, niced
(the user's next cell goes first), the latest request first, and only while a live component still runs
that Winch code. `asterai_kernel.optimize` makes it at once, in the foreground. The optimized code is taken
when the component next starts (a restart after a trap, a regrant, a re-run of its cell, a new session),
never by swapping a live instance, whose state would be lost.

Which components: those with TIER_UP_MIN bytes of function bodies or more (`code_bytes`). Cranelift's time
follows the code it compiles, not the file's size, which data and custom sections swell: a 485 KiB C++
component holds 31 KB of code (Cranelift 0.05 s), a Rust cell with the regex crate 453 KB in 843 KiB
(Cranelift 0.27 s on two cores, Winch 0.05 s, while the whole plain Rust cell takes 0.23 s). Below the
threshold Cranelift costs under about 0.15 s: Winch would save too little to be worth slower code.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from .engine import EngineConfig
from .errors import AsteraiError

TIER_UP_MIN = 256 << 10  # bytes of function bodies: components with less get Cranelift's code at once

_COMPONENT_LAYER = b"\x01\x00"  # a binary's bytes 6-7: 1 for a component, 0 for a core module
_CORE_MODULE, _NESTED_COMPONENT = 1, 4  # component section ids holding whole binaries
_CODE = 10  # the core module section of function bodies


def code_bytes(wasm_path: Path) -> int:
    """The bytes of function bodies in a component's core modules (nested ones too): what Cranelift's time
    follows. Reads only section headers; a file it cannot walk counts whole (wasmtime says what is wrong)."""
    size = wasm_path.stat().st_size
    try:
        with open(wasm_path, "rb") as f:
            return _code_in(f, 0, size)
    except (OSError, ValueError, IndexError):
        return size


def _code_in(f: BinaryIO, start: int, end: int) -> int:
    f.seek(start)
    header = f.read(8)
    if len(header) < 8 or header[:4] != b"\0asm":
        raise ValueError("not a WebAssembly binary")
    component = header[6:8] == _COMPONENT_LAYER
    total, pos = 0, start + 8
    while pos < end:
        f.seek(pos)
        section = f.read(1)[0]
        size = _leb128(f)
        payload = f.tell()
        if payload + size > end:
            raise ValueError("a section runs past its binary")
        if component and section in (_CORE_MODULE, _NESTED_COMPONENT):
            total += _code_in(f, payload, payload + size)
        elif not component and section == _CODE:
            total += size
        pos = payload + size
    return total


def _leb128(f: BinaryIO) -> int:
    value = shift = 0
    while True:
        byte = f.read(1)[0]
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value
        shift += 7
        if shift > 35:
            raise ValueError("a section size longer than 5 bytes")


def worker_command(wasm_path: Path, cwasm: Path, config: EngineConfig) -> list[str]:
    """The precompile worker's command line for one component and engine configuration."""
    return [sys.executable, "-m", "asterai_kernel.build.precompile", str(wasm_path), str(cwasm),
            *config.flags()]  # fmt: skip


class TierUp:
    """Cranelift compiles in a worker process, in the background, one at a time, the latest request first
    (the cell just run matters most); `now` makes one in the foreground for a caller who waits for it."""

    def __init__(self) -> None:
        self._stack: list[tuple] = []  # requests not started: (wasm_path, cwasm, config, wanted)
        self._pending: set[Path] = set()  # .cwasm files asked for and not yet written (or given up)
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._current: tuple[Path, subprocess.Popen] | None = None  # the background compile running
        self._thread: threading.Thread | None = None
        self._closed = False

    def request(self, wasm_path: Path, cwasm: Path, config: EngineConfig, wanted: Callable[[], bool]) -> None:
        """Make `cwasm` (Cranelift's code of `wasm_path` for `config`) unless it is already on its way, if
        `wanted()` still says so when its turn comes (the component may have been re-run or removed)."""
        with self._changed:
            if cwasm in self._pending or self._closed:
                return
            self._pending.add(cwasm)
            self._stack.append((wasm_path, cwasm, config, wanted))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="asterai-tier-up", daemon=True)
                self._thread.start()
            self._changed.notify_all()

    def now(self, wasm_path: Path, cwasm: Path, config: EngineConfig) -> None:
        """Make `cwasm` in the foreground, at normal priority (a background compile of it is stopped, a
        queued one dropped); raises AsteraiError if Cranelift fails."""
        with self._changed:
            self._stack = [item for item in self._stack if item[1] != cwasm]
            if self._current is not None and self._current[0] == cwasm:
                with contextlib.suppress(ProcessLookupError):
                    self._current[1].kill()
        try:
            if not cwasm.exists():
                command = worker_command(wasm_path, cwasm, config)
                done = subprocess.run(command, capture_output=True, text=True)
                if done.returncode != 0:
                    raise AsteraiError(f"Cranelift could not compile the component:\n{done.stderr.strip()}")
        finally:
            with self._changed:
                self._pending.discard(cwasm)
                self._changed.notify_all()

    def pending(self) -> int:
        with self._lock:
            return len(self._pending)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until every requested compile has ended; False if `timeout` passed first."""
        with self._changed:
            return self._changed.wait_for(lambda: not self._pending, timeout)

    def close(self) -> None:
        """Stop: the compile in progress is killed (its .cwasm is written atomically, so none is left)."""
        with self._changed:
            self._closed = True
            self._stack.clear()
            if self._current is not None:
                with contextlib.suppress(ProcessLookupError):
                    self._current[1].kill()
            self._changed.notify_all()

    def _run(self) -> None:
        while True:
            with self._changed:
                self._changed.wait_for(lambda: self._stack or self._closed)
                if self._closed:
                    return
                wasm_path, cwasm, config, wanted = self._stack.pop()
            try:
                if not cwasm.exists() and wanted():
                    self._compile(wasm_path, cwasm, config)
            finally:
                with self._changed:
                    self._pending.discard(cwasm)
                    self._changed.notify_all()

    def _compile(self, wasm_path: Path, cwasm: Path, config: EngineConfig) -> None:
        # A failure here costs only speed: the component keeps Winch's code, and the next load tries again.
        # Niced: the user's next cell, or anything else the machine does, goes first.
        proc = subprocess.Popen(worker_command(wasm_path, cwasm, config), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, preexec_fn=lambda: os.nice(10))  # fmt: skip
        with self._changed:
            self._current = (cwasm, proc)
        proc.wait()
        with self._changed:
            self._current = None
