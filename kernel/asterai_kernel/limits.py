"""Per-call time limits on one engine-wide epoch.

All guest calls run on the kernel's main thread, so the calls in progress at any moment form one chain
(a consumer's call into a provider). A watcher thread sleeps until the earliest deadline among them and then
advances the epoch once, which traps the running guest code; the call whose deadline passed reports Timeout.
Calls without a timeout cost nothing here, and no periodic tick runs while nothing has a timeout.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable


class DeadlineWatch:
    def __init__(self, expire: Callable[[], None]):
        self._expire = expire  # advances the epoch (thread-safe)
        self._cond = threading.Condition()
        self._deadlines: dict[int, float] = {}  # token -> time.monotonic() deadline
        self._expired: set[int] = set()
        self._tokens = itertools.count(1)
        self._thread: threading.Thread | None = None

    def start(self, seconds: float) -> int:
        with self._cond:
            token = next(self._tokens)
            self._deadlines[token] = time.monotonic() + seconds
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="asterai-deadlines", daemon=True)
                self._thread.start()
            self._cond.notify()
        return token

    def stop(self, token: int) -> bool:
        """End the call's watch; True when its deadline passed (the trap was a timeout)."""
        with self._cond:
            self._deadlines.pop(token, None)
            if token in self._expired:
                self._expired.discard(token)
                return True
            return False

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._deadlines:
                    self._cond.wait()
                now = time.monotonic()
                due = [t for t, d in self._deadlines.items() if d <= now]
                if not due:
                    self._cond.wait(min(self._deadlines.values()) - now)
                    continue
                for t in due:
                    del self._deadlines[t]
                    self._expired.add(t)
                # Under the lock: a call whose stop() already ran is not expired late, so the bump can only
                # trap the calls still running (a late bump would trap the next, unrelated call).
                self._expire()
