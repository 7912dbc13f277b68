"""Watch mode's log: one line per event, as text or JSON, for container logs and journald.

Text lines read `2026-06-01T10:10:10Z INFO  export.imported takeout-…: …`; JSON lines carry
the same `time`, `level`, `event` and `message` plus the event's own fields, so a log
collector can filter on them. Every line is flushed at once: a container's log must show
what happened before a crash.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import Any, TextIO

from importer.watch.status import iso


class EventLog:
    def __init__(self, fmt: str = "text", stream: TextIO | None = None) -> None:
        self.fmt = fmt
        self.stream = stream or sys.stdout
        self._lock = threading.RLock()  # a signal handler may log while a line is written

    def emit(self, level: str, event: str, message: str, **fields: Any) -> None:
        message = " ".join(message.split())  # one event, one line, whatever the message
        stamp = iso(time.time()).replace("+00:00", "Z")
        if self.fmt == "json":
            record = {"time": stamp, "level": level, "event": event, "message": message,
                      **{k: v for k, v in fields.items() if v is not None}}
            line = json.dumps(record, ensure_ascii=False, default=str)
        else:
            line = f"{stamp} {level.upper():<5} {event} {message}"
        with self._lock:
            self.stream.write(line + "\n")
            self.stream.flush()

    def info(self, event: str, message: str, **fields: Any) -> None:
        self.emit("info", event, message, **fields)

    def warning(self, event: str, message: str, **fields: Any) -> None:
        self.emit("warn", event, message, **fields)

    def error(self, event: str, message: str, **fields: Any) -> None:
        self.emit("error", event, message, **fields)
