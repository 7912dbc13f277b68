"""Ctrl-C and SIGTERM during `--apply`: finish the item in flight, then stop.

Stopping in the middle of an item could leave a trash done in Google but not recorded, or
a dialog half confirmed; so the first signal only asks the run to stop between items. A
second Ctrl-C means "now" and interrupts at once (what was recorded stays recorded).
"""

from __future__ import annotations

import signal
import sys
import threading
from types import FrameType, TracebackType
from typing import Any


class Interrupts:
    def __init__(self) -> None:
        self._asked = threading.Event()
        self._previous: dict[int, Any] = {}

    def requested(self) -> bool:
        return self._asked.is_set()

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self._asked.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self._asked.set()
        print("gphotos-importer: stopping after the item in flight (Ctrl-C again to stop "
              "now)", file=sys.stderr, flush=True)

    def __enter__(self) -> Interrupts:
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
