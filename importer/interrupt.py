"""Ctrl-C (SIGINT) and SIGTERM during an import: the first asks the run to stop once the
items in flight are done (they are recorded, the summary and report follow); a second one
abandons those items at once. A third, with the default handler back, ends the process.

A signal only sets a flag while the pipeline is at work, because an exception raised at an
arbitrary point could land between sending an item and recording it. Where nothing of
ours is half-done (waiting for the next item of the export, which can mean minutes of
listing archives), `immediate()` lets it interrupt right away.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator
from types import FrameType, TracebackType
from typing import Any

from importer.faults import EXIT_INTERRUPTED, EXIT_OK, EXIT_TERMINATED, Stop

SIGNALS = (signal.SIGINT, signal.SIGTERM)


NOTICE = ("gphotos-importer: stopping once the items in flight are done (Ctrl-C again to "
          "abandon them)")


class StopRequest:
    """Installs the handlers for the length of a `with` block (main thread only). The
    first signal's `notice` goes to a terminal, or always with `always_notice` (a command
    whose items take seconds each, where silence would look like a hang)."""

    def __init__(self, notice: str = NOTICE, always_notice: bool = False) -> None:
        self.notice = notice
        self.always_notice = always_notice
        self.signal: int | None = None
        self._count = 0
        self._immediate = False
        self._previous: dict[int, Any] = {}

    @property
    def requested(self) -> bool:
        return self._count > 0

    def stop(self) -> Stop:
        """What to report for the request received."""
        if self.signal == signal.SIGTERM:
            return Stop("stopped by SIGTERM", EXIT_TERMINATED)
        return Stop("interrupted (Ctrl-C)", EXIT_INTERRUPTED)

    def __enter__(self) -> StopRequest:
        if threading.current_thread() is threading.main_thread():
            for number in SIGNALS:
                self._previous[number] = signal.signal(number, self._handle)
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)
        self._previous = {}

    def _handle(self, number: int, frame: FrameType | None) -> None:
        self._count += 1
        if self.signal is None:
            self.signal = number
        if self._count == 1 and not self._immediate:
            if self.always_notice or sys.stderr.isatty():
                os.write(2, f"\n{self.notice}\n".encode())
            return
        if self._count > 1:  # a third one ends the process the default way
            for signum in SIGNALS:
                signal.signal(signum, signal.SIG_DFL)
        raise KeyboardInterrupt

    @contextlib.contextmanager
    def immediate(self) -> Iterator[None]:
        """A region where a first signal may interrupt at once (raises KeyboardInterrupt)."""
        if self._count:
            raise KeyboardInterrupt
        self._immediate = True
        try:
            yield
        finally:
            self._immediate = False


class FlagStop(StopRequest):
    """A stop asked for through a flag the caller owns (watch mode's signal handlers set
    it): no handlers of its own, and the run it stops ends as planned, not as a failure."""

    def __init__(self, flag: threading.Event) -> None:
        super().__init__()
        self._flag = flag

    @property
    def requested(self) -> bool:
        return self._flag.is_set()

    def stop(self) -> Stop:
        return Stop("stopped on request; the rest follows on the next start", EXIT_OK)

    def __enter__(self) -> FlagStop:
        return self
