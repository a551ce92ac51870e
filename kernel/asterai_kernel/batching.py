"""How `asterai_kernel.map` cuts its items into Dask tasks.

Dask costs about a millisecond per task (scheduling, sending, a thread hop) whatever the task does, so items
travel in batches that make that cost a small part of the work. Without a batch size the first item of each
worker thread goes alone, and the time it took sizes the rest: about TARGET_SECONDS of work per batch (the
per-task cost stays near 1%, and the stop button or an error waits for at most one batch), and at least
BATCHES_PER_THREAD batches per worker thread. Batches shrink towards the end (to a floor of an eighth of
their size) so the workers finish together: the last batch is what one waits for while the other idles.
A map of an export whose time per item is known from an earlier map skips the probes (they leave a worker
idle for one round trip).
"""

from __future__ import annotations

import math

TARGET_SECONDS = 0.2
BATCHES_PER_THREAD = 4

Span = tuple[int, int]  # items[start:stop]


class Plan:
    def __init__(self, n: int, threads: int, batch_size: int | None = None, known: float | None = None):
        self.n, self.threads, self.fixed = n, max(1, threads), batch_size
        self.known = known  # seconds per item measured by an earlier map, if any
        self.next = 0  # the first item not given to a batch yet

    @property
    def waiting(self) -> bool:
        """Some items are in no batch yet."""
        return self.next < self.n

    def first(self) -> list[Span]:
        """The batches to submit at once: all of them with a fixed size or a known time per item, else one
        item per thread."""
        if self.fixed:
            return self._cut(self.fixed)
        if self.known is not None:
            return self.rest(self.known)
        return [self._take(1) for _ in range(min(self.threads, self.n))]

    def rest(self, seconds_per_item: float) -> list[Span]:
        """Every remaining item, in batches sized by the measured time per item."""
        spread = math.ceil((self.n - self.next) / (self.threads * BATCHES_PER_THREAD))
        by_time = int(TARGET_SECONDS / seconds_per_item) if seconds_per_item > 0 else spread
        size = max(1, min(spread, by_time))
        floor = max(1, size // 8)
        spans = []
        while self.waiting:  # guided: half of what is left per thread, between floor and size
            share = math.ceil((self.n - self.next) / (2 * self.threads))
            spans.append(self._take(max(floor, min(size, share))))
        return spans

    def _cut(self, size: int) -> list[Span]:
        spans = []
        while self.waiting:
            spans.append(self._take(size))
        return spans

    def _take(self, size: int) -> Span:
        start = self.next
        self.next = min(self.n, start + size)
        return start, self.next
