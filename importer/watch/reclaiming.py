"""Watch's reclaim step: a reclaim plan after each import, applied only with
`reclaim.auto_apply: true`, and then resumed by later cycles until it is done.

The plan covers every item of the target, not only the export's: an item is kept while it
is newer than `reclaim.older_than_days`, and an export's items are mostly that new when it
arrives (scheduled exports come every two months), so a plan of the export alone would
never trash them. Each plan is the whole picture at that moment, items trashed before
left out, as `reclaim --to` writes it; the review page shows the latest.

The apply runs in this process once the cycle has closed the state (apply opens the state
itself, and the state's lock is exclusive), with watch's own stop flag: SIGTERM finishes
the item in flight. A stop that ends by itself (the daily cap, SIGTERM, the gallery away)
is resumed by a later cycle; one that needs the user (signed out, failures in a row) fails
every cycle, so `health` says so, until the plan is applied by hand or a new one is.
"""

from __future__ import annotations

import io
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console

from adapters.base import Gallery, GalleryError
from importer.config import Settings
from importer.progressfile import pid_alive, read_json
from importer.reclaim import ReclaimError, browser_failure
from importer.reclaim.planning import PlanRequest, write_plan
from importer.reclaim.progress import (
    BY_DAILY_CAP,
    BY_GALLERY,
    BY_REQUEST,
    RUNNING,
    STOPPED,
    progress_path,
)
from importer.state import State, StateError
from importer.units import readable_bytes
from importer.watch.log import EventLog

RESUMABLE = frozenset({BY_DAILY_CAP, BY_REQUEST, BY_GALLERY})
DAY = timedelta(days=1)


def write_reclaim_plan(settings: Settings, state: State, gallery: Gallery, log: EventLog,
                       export: str) -> Path:
    """Write the plan (reads only); raises ReclaimError or GalleryError, one line."""
    written = write_plan(state, gallery, settings.reclaim,
                         PlanRequest(settings.reclaim.older_than_days))
    counts = written.counts()
    before = (f", {counts['trashed_before']} trashed before" if counts["trashed_before"]
              else "")
    then = ("applying it (reclaim.auto_apply)" if settings.reclaim.auto_apply else
            "nothing trashed; review it on the web page or apply it with `gphotos-importer "
            f"reclaim --apply {written.path}`")
    log.info("plan.written", f"{export}: reclaim plan {written.path}: trash "
             f"{counts['trash']} ({readable_bytes(counts['bytes'])}), keep {counts['keep']}"
             f"{before}; {then}", export=export, plan=str(written.path), **counts)
    return written.path


def apply_due(settings: Settings, spec: str, section: dict[str, Any], state_path: Path,
              log: EventLog, stop: threading.Event) -> str | None:
    """Apply (or resume) the plan watch wrote last, when it has work left; returns the
    cycle's problem line, or None."""
    plan = _plan_of(section)
    if plan is None:
        return None
    progress = read_json(progress_path(plan))
    if progress is not None and not _resumable(progress):
        return _left_for_user(progress, plan, spec)
    try:
        if _cap_reached(settings, state_path):
            return None
    except StateError as exc:
        return f"reclaim: {exc}"
    return _apply(settings, spec, plan, log, stop)


def _plan_of(section: dict[str, Any]) -> Path | None:
    text = section.get("plan")
    if not isinstance(text, str):
        return None
    plan = Path(text)
    if not plan.is_file():
        section.pop("plan", None)
        return None
    return plan


def _resumable(progress: dict[str, Any]) -> bool:
    """Not finished, not being applied by someone else (`reclaim --apply` by hand, or the
    page), and not stopped for the user to fix."""
    state = progress.get("state")
    if state == RUNNING:
        return not pid_alive(progress.get("pid"))  # killed: resume
    return state == STOPPED and progress.get("stopped_by") in RESUMABLE


def _left_for_user(progress: dict[str, Any], plan: Path, spec: str) -> str | None:
    if progress.get("state") != STOPPED:
        return None
    return (f"reclaim: applying {plan.name} stopped: {progress.get('message')}; once fixed, "
            f"run `gphotos-importer reclaim --to {spec} --apply {plan}`")


def _cap_reached(settings: Settings, state_path: Path) -> bool:
    """The daily cap is used up (counted over runs): the next cycles wait, without starting
    a browser each time."""
    from importer.reclaim.apply import trashed_since

    with State(state_path, readonly=True) as state:
        used = trashed_since(state, datetime.now(UTC) - DAY)
    return used >= settings.reclaim.daily_cap


def _apply(settings: Settings, spec: str, plan: Path, log: EventLog,
           stop: threading.Event) -> str | None:
    from importer.reclaim.apply import apply_plan

    log.info("plan.applying", f"applying reclaim plan {plan}", plan=str(plan))
    out = Console(file=_LogLines(log, plan), width=1000, no_color=True, highlight=False)
    try:
        code = apply_plan(replace(settings, to=spec), plan, out, stop=stop.is_set)
    except (ReclaimError, GalleryError, StateError) as exc:
        log.error("plan.failed", f"reclaim: {exc}", plan=str(plan))
        return f"reclaim: {exc}"
    except Exception as exc:
        failure = browser_failure(exc)
        if failure is None:
            raise
        log.error("plan.failed", f"reclaim: {failure}", plan=str(plan))
        return f"reclaim: {failure}"
    progress = read_json(progress_path(plan)) or {}
    message = str(progress.get("message") or f"exit code {code}")
    emit = log.info if code == 0 else log.warning
    emit("plan.applied", f"{plan.name}: {message}", plan=str(plan), exit_code=code,
         **{k: progress.get(k) for k in ("trashed", "kept", "failed", "stopped_by")})
    if code == 0 or progress.get("stopped_by") in RESUMABLE:
        return None
    return f"reclaim: {plan.name}: {message}"


class _LogLines(io.StringIO):
    """What apply prints (one line per item), as watch log events."""

    def __init__(self, log: EventLog, plan: Path) -> None:
        super().__init__()
        self.log, self.plan, self._pending = log, str(plan), ""

    def write(self, text: str) -> int:
        self._pending += text
        *lines, self._pending = self._pending.split("\n")
        for line in lines:
            if line.strip():
                self.log.info("reclaim.apply", line.strip(), plan=self.plan)
        return len(text)
