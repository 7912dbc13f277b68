"""The watch status file beside the state: heartbeat, cycles, and what the inbox looked like.

Written atomically (a reader never sees half of it) by the watch process: at start, at the
start and end of every cycle, and as a heartbeat while it runs. `health` reads only this
file, so it needs neither the state's lock nor the target. It also carries what must
survive a restart or a one-shot run (`--once`, systemd timer): since when each export has
looked the same (the settle clock), the read checks already done, and which "still
incomplete" lines were already logged.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from importer.atomicfile import replace_text
from importer.progressfile import read_json

FORMAT = 1


def status_path(state: Path) -> Path:
    return state.with_name(state.name + ".watch.json")


def iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).isoformat(timespec="seconds")


def span(seconds: float) -> str:
    """`45s`, `12m`, `3h05m`: how long ago, for people."""
    seconds = max(0, int(seconds))
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


class StatusFile:
    """The status as a dict, saved atomically."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.data: dict[str, Any] = read_json(path) or {}

    def save(self) -> None:
        """Only the main thread saves; the heartbeat thread only touches the file."""
        self.data["format"] = FORMAT
        text = json.dumps(self.data, ensure_ascii=False, sort_keys=True, indent=1)
        replace_text(self.path, text + "\n", mode=0o644)  # read by healthchecks and the page

    def section(self, name: str) -> dict[str, Any]:
        value = self.data.setdefault(name, {})
        if not isinstance(value, dict):
            value = self.data[name] = {}
        return value


@dataclass(frozen=True)
class Health:
    healthy: bool
    message: str


def _number(data: dict[str, Any], key: str) -> float | None:
    value = data.get(key)
    return float(value) if isinstance(value, int | float) else None


def heartbeat(path: Path) -> float | None:
    """When the watch process last showed it is alive: the status file's modification
    time (saved each cycle, touched by a heartbeat thread in between)."""
    try:
        return path.stat().st_mtime
    except OSError:
        return None


def touch(path: Path) -> None:
    with contextlib.suppress(OSError):  # the next save writes it again
        os.utime(path)


def judge(data: dict[str, Any] | None, now: float, beat: float | None) -> Health:
    """Healthy when the last cycle went well and ended within twice the interval (or a
    cycle is running and the process is alive); otherwise why not."""
    if data is None:
        return Health(False, "no watch status yet: watch has not run with this state")
    interval = _number(data, "interval") or 600.0
    limit = 2 * interval
    if beat is None or now - beat > limit:
        ago = "never" if beat is None else f"{span(now - beat)} ago"
        return Health(False, f"watch is not running: last heartbeat {ago} "
                             f"(interval {span(interval)})")
    last = data.get("last_cycle") if isinstance(data.get("last_cycle"), dict) else None
    running = data.get("cycle") if isinstance(data.get("cycle"), dict) else None
    if last is not None and not last.get("ok"):
        return Health(False, f"cycle {last.get('number')} failed "
                             f"{span(now - (_number(last, 'finished') or now))} ago: "
                             f"{last.get('problem') or 'see the log'}")
    if running is not None:
        started = _number(running, "started") or now
        return Health(True, f"cycle {running.get('number')} running for "
                            f"{span(now - started)}; the previous one went well")
    if last is None:
        return Health(True, f"watch started {span(now - (_number(data, 'started') or now))} "
                            "ago; first cycle not finished yet")
    ended = _number(last, "finished") or 0.0
    if now - ended > limit:
        return Health(False, f"no cycle ended in the last {span(limit)} (twice the interval); "
                             f"the last ended {span(now - ended)} ago")
    return Health(True, f"last cycle ({last.get('number')}) went well {span(now - ended)} ago: "
                        f"{last.get('summary') or ''}".rstrip(": "))
