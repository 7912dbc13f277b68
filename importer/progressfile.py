"""Live progress of a running import, in a small JSON file beside the state, for the page.

The terminal bar lives inside the importing process; the web page runs in another process
(`serve`) or thread (`watch --web`). A file replaced atomically at most every half second is
the simplest channel that survives either side restarting, and costs the import nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from collections import Counter, deque
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

from importer.atomicfile import replace_json
from importer.model import FileOutcome
from importer.state import now_iso

WRITE_INTERVAL = 0.5
RATE_WINDOW = 30.0
"""Seconds of recent work the rate (and so the ETA) is measured over."""
PREFIX = "progress-"


def progress_path(state_file: Path, target: str) -> Path:
    """Where an import into `target` using `state_file` reports its progress."""
    digest = hashlib.sha1(target.encode(), usedforsecurity=False).hexdigest()[:12]
    return state_file.parent / f"{PREFIX}{digest}.json"


class ProgressFile:
    """A `Progress` (see importer/pipeline.py) that writes what it counts to `path`."""

    def __init__(self, path: Path, target: str, expected: Callable[[], int | None],
                 *, clock: Callable[[], float] = time.monotonic,
                 interval: float = WRITE_INTERVAL) -> None:
        self.path = path
        self.target = target
        self._expected = expected
        self._clock = clock
        self._interval = interval
        self._counts: Counter[str] = Counter()
        self._files = 0
        self._bytes = 0
        self._started = now_iso()
        self._start = clock()
        self._last_write = float("-inf")
        self._samples: deque[tuple[float, int, int]] = deque()
        self._broken = False

    def __enter__(self) -> ProgressFile:
        self._write("running")
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if kind is None:
            self._write("finished")
        else:
            self._write("interrupted" if issubclass(kind, KeyboardInterrupt) else "failed")

    def advance(self, outcome: FileOutcome, size: int) -> None:
        self._counts[str(outcome)] += 1
        if outcome is not FileOutcome.UNMATCHED_JSON:  # as the terminal bar counts
            self._files += 1
        self._bytes += size
        if self._clock() - self._last_write >= self._interval:
            self._write("running")

    def snapshot(self, state: str) -> dict[str, Any]:
        now = self._clock()
        total = self._expected()
        if total is not None or state != "running":
            # The source's total counts media files; a few other files (a damaged sidecar,
            # an HTML page) are steps too. Never show more done than total; at the end
            # everything accounted for is the total.
            total = self._files if state != "running" else max(total or 0, self._files)
        files_rate, bytes_rate = self._rates(now)
        eta = None
        if total is not None and files_rate > 0 and state == "running":
            eta = round(max(0, total - self._files) / files_rate, 1)
        return {
            "target": self.target, "pid": os.getpid(), "state": state,
            "started": self._started, "updated": now_iso(),
            "elapsed_seconds": round(now - self._start, 1),
            "files_done": self._files, "files_total": total, "bytes_done": self._bytes,
            "files_per_second": round(files_rate, 2), "bytes_per_second": round(bytes_rate),
            "eta_seconds": eta, "counts": dict(sorted(self._counts.items())),
        }

    def _rates(self, now: float) -> tuple[float, float]:
        """Files and bytes per second over the last RATE_WINDOW seconds (or since start)."""
        self._samples.append((now, self._files, self._bytes))
        while len(self._samples) > 2 and now - self._samples[1][0] >= RATE_WINDOW:
            self._samples.popleft()
        then, files, sent = self._samples[0]
        if now - then <= 0:
            then, files, sent = self._start, 0, 0
        span = now - then
        if span <= 0:
            return 0.0, 0.0
        return (self._files - files) / span, (self._bytes - sent) / span

    def _write(self, state: str) -> None:
        """A progress file that cannot be written never stops the import."""
        self._last_write = self._clock()
        if self._broken:
            return
        try:
            replace_json(self.path, self.snapshot(state), mode=0o644)
        except OSError:
            self._broken = True


class TeeProgress:
    """Several `Progress` receivers fed the same events (terminal bar and file)."""

    def __init__(self, *receivers: Any) -> None:
        self.receivers = receivers

    def advance(self, outcome: FileOutcome, size: int) -> None:
        for receiver in self.receivers:
            receiver.advance(outcome, size)


def pid_alive(pid: object) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_json(path: Path) -> dict[str, Any] | None:
    """A JSON object from `path`, or None when missing, half-written or not an object."""
    with contextlib.suppress(OSError, ValueError):
        data = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(data, dict):
            return data
    return None


def imports_in(state_dir: Path) -> list[dict[str, Any]]:
    """Every import progress file beside a state, newest first. A run whose process is gone
    without saying it finished (killed) is reported as `stopped`."""
    found = []
    for path in state_dir.glob(f"{PREFIX}*.json"):
        data = read_json(path)
        if data is None:
            continue
        if data.get("state") == "running" and not pid_alive(data.get("pid")):
            data["state"] = "stopped"
        found.append(data)
    return sorted(found, key=lambda d: str(d.get("updated", "")), reverse=True)
