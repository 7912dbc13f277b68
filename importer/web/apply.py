"""The page's "trash the approved items" button: runs `reclaim --apply` as a child process
and reports its progress file (`<plan>.progress.json`, written by `reclaim`: see
importer/reclaim/progress.py).

A child process, not a thread: the apply drives a browser for hours and must survive the
page being closed; its own progress file is what any later page reads.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from importer.progressfile import pid_alive, read_json
from importer.reclaim.planfile import PlanError, read_raw
from importer.reclaim.progress import progress_path
from importer.web.plans import approved_items

COMMAND = (sys.executable, "-m", "importer.cli")
"""This tool, as the running interpreter runs it (no PATH lookup)."""


def log_file(plan: Path) -> Path:
    return plan.with_name(plan.name + ".apply.log")


@dataclass
class ApplyRunner:
    """At most one apply per plan at a time; remembers the children it started."""

    state_file: Path
    config_file: Path | None = None
    _children: dict[Path, subprocess.Popen[bytes]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self, plan: Path, plan_id: str) -> None:
        with self._lock:
            data = read_raw(plan)
            if data.get("id") != plan_id:
                raise PlanError("the plan file now holds another plan; reload the page")
            if not approved_items(data):
                raise PlanError("approve at least one item first: only approved items are "
                                "moved to Google's trash")
            if self.running(plan):
                raise PlanError("this plan is being applied already")
            target = data.get("target")
            if not isinstance(target, str) or not target:
                raise PlanError(f"{plan}: the plan names no target")
            argv = [*COMMAND, "reclaim", "--apply", str(plan), "--to", target,
                    "--state", str(self.state_file)]
            if self.config_file is not None:
                argv += ["--config", str(self.config_file)]
            self._children[plan] = self._spawn(argv, plan)

    @staticmethod
    def _spawn(argv: list[str], plan: Path) -> subprocess.Popen[bytes]:
        fd = os.open(log_file(plan), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=fd,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        except OSError as exc:
            raise PlanError(f"cannot start {argv[0]}: {exc.strerror}") from None
        finally:
            os.close(fd)

    def running(self, plan: Path) -> bool:
        child = self._children.get(plan)
        if child is not None and child.poll() is None:
            return True
        progress = self._progress(plan)
        return bool(progress and progress.get("state") == "running"
                    and pid_alive(progress.get("pid")))

    def _progress(self, plan: Path) -> dict[str, Any] | None:
        return read_json(progress_path(plan))

    def status(self, plan: Path) -> dict[str, Any] | None:
        """The apply's progress as `reclaim` wrote it, corrected by what we know of the
        process: a child that exited without saying `finished` has `stopped`."""
        progress = self._progress(plan)
        child = self._children.get(plan)
        code = child.poll() if child is not None else None
        if progress is None:
            if child is None:
                return None
            progress = {"state": "running" if code is None else "stopped", "done": 0,
                        "total": None, "message": "starting"}
        progress = dict(progress)
        gone = code is not None if child is not None else not pid_alive(progress.get("pid"))
        if progress.get("state") == "running" and gone:
            progress["state"] = "stopped"
        if code is not None:
            progress["exit_code"] = code
            if progress["state"] == "stopped":
                progress["message"] = _last_line(log_file(plan)) or progress.get("message")
        return progress

    def stop_all(self) -> None:
        """Children keep running when the page stops (they finish their item and record
        it); this only forgets them."""
        self._children.clear()


def _last_line(path: Path) -> str | None:
    try:
        with path.open("rb") as stream:
            stream.seek(max(0, path.stat().st_size - 4096))
            lines = stream.read().decode("utf-8", "replace").strip().splitlines()
    except OSError:
        return None
    return lines[-1][:300] if lines else None
