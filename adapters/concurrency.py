"""How many uploads a gallery gets at once, adapted to its answer times.

The idea is TCP Vegas' (as in Netflix's concurrency-limits): compare answer times with
the best seen. Little's law turns the ratio into the number of requests waiting inside
the server, `limit * (1 - best / current)`. Fewer than `GROW_BELOW` waiting: the server
has room, one more may go; more than `SHRINK_ABOVE`: requests queue, one less.

Answer times depend on the file's size, so a sample is compared with the best seen for
files of about its size (one class per doubling), and only classes seen at least once
with no other upload in flight count: their best is the unloaded time. The first upload
of a run goes alone (the pipeline starts it as soon as the first item is looked up). The
best is never forgotten: once every answer waits in the server, no answer shows the
unloaded time again, and a best that drifted up would let the limit grow without end.
A decision is made once per window of answers, on its median, so one slow video does not
move the limit.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

GROW_BELOW = 2.0
SHRINK_ABOVE = 4.0


def size_class(size: int) -> int:
    """0 for files up to 1 MB, then one class per doubling."""
    return max(0, (max(size, 1) - 1).bit_length() - 20)


class AdaptiveLimit:
    def __init__(self, initial: int, lowest: int = 1, highest: int | None = None) -> None:
        self.lowest = max(1, lowest)
        self.highest = max(self.lowest, highest if highest is not None else initial)
        self.limit = min(max(initial, self.lowest), self.highest)
        self.changes: list[int] = []
        """The limit after each change, for the run report and tests."""
        self._in_use = 0
        self._best: dict[int, float] = {}
        self._trusted: set[int] = set()
        self._window: list[float] = []
        self._cond = threading.Condition()

    @contextmanager
    def slot(self, size: int) -> Iterator[None]:
        """Hold one of the `limit` places for a request carrying `size` bytes; its answer
        time (when it succeeds) adapts the limit."""
        with self._cond:
            while self._in_use >= self.limit:
                self._cond.wait()
            self._in_use += 1
            alone = self._in_use == 1
        started = time.monotonic()
        ok = False
        try:
            yield
            ok = True
        finally:
            with self._cond:
                self._in_use -= 1
                if ok:
                    self.record(size, time.monotonic() - started, alone)
                self._cond.notify_all()

    def record(self, size: int, seconds: float, alone: bool) -> None:
        """One answer time; `alone`: no other upload was in flight when it started.
        (Called with the lock held by `slot`; tests call it directly.)"""
        key = size_class(size)
        best = min(self._best.get(key, seconds), seconds)
        self._best[key] = best
        if alone:
            self._trusted.add(key)
        if key not in self._trusted:
            return
        self._window.append(best / seconds if seconds > 0 else 1.0)
        if len(self._window) < max(8, 2 * self.limit):
            return
        waiting = self.limit * (1 - statistics.median(self._window))
        self._window.clear()
        if waiting < GROW_BELOW and self.limit < self.highest:
            self.limit += 1
            self.changes.append(self.limit)
        elif waiting > SHRINK_ABOVE and self.limit > self.lowest:
            self.limit -= 1
            self.changes.append(self.limit)
