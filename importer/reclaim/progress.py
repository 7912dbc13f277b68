"""`<PLAN>.progress.json`: how far `reclaim --apply` is, for the review page to show.

Replaced atomically after every item, so a reader never sees half a file; `pid` lets a
reader tell a run that was killed (state still "running", process gone) from a live one.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from importer.reclaim.planfile import PROGRESS_SUFFIX, write_private
from importer.state import now_iso

RUNNING, FINISHED, STOPPED = "running", "finished", "stopped"
BY_DAILY_CAP, BY_REQUEST, BY_GALLERY = "daily_cap", "request", "gallery"
"""Stops that end by themselves: the cap's day passes, the run is started again, the
gallery answers again (watch mode resumes these)."""
BY_SIGN_OUT, BY_FAILURES = "signed_out", "failures"
"""Stops that need the user: sign in again; look at the page or the locator file."""


def progress_path(plan_path: Path) -> Path:
    return plan_path.with_name(plan_path.name + PROGRESS_SUFFIX)


@dataclass
class Progress:
    plan_id: str
    total: int
    pid: int = field(default_factory=os.getpid)
    state: str = RUNNING
    done: int = 0
    trashed: int = 0
    kept: int = 0
    failed: int = 0
    current: str | None = None
    message: str = ""
    stopped_by: str | None = None
    """Why a `stopped` run stopped (one of the BY_ names)."""
    updated: str = field(default_factory=now_iso)


class ProgressFile:
    def __init__(self, plan_path: Path, plan_id: str, total: int) -> None:
        self.path = progress_path(plan_path)
        self.progress = Progress(plan_id, total)
        self.write()

    def write(self) -> None:
        self.progress.updated = now_iso()
        with contextlib.suppress(OSError):  # the page shows less; trashing goes on
            write_private(self.path, asdict(self.progress))

    def begin(self, current: str) -> None:
        self.progress.current = current
        self.write()

    def count(self, outcome: str) -> None:
        """`outcome`: "trashed", "kept" or "failed"."""
        progress = self.progress
        setattr(progress, outcome, getattr(progress, outcome) + 1)
        progress.done += 1
        progress.current = None
        self.write()

    def end(self, state: str, message: str, stopped_by: str | None = None) -> None:
        self.progress.state = state
        self.progress.message = message
        self.progress.stopped_by = stopped_by
        self.progress.current = None
        self.write()
