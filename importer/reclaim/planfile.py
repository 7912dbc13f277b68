"""The reclaim plan file: what would be trashed and why, written once, applied later.

The one owner of the file: where plans live (`<state dir>/reclaim/plan-STAMP.json`, newest
name last), how they are read, written and locked. `reclaim` writes and applies plans; the
review page (importer/web/plans.py) writes approvals into them through the same functions.

A plan is reviewed by people before anything is trashed, so it is plain JSON, written
atomically (never half a plan) and readable by the owner only (it lists the whole library).
Keys this version does not know are kept, never an error. Writers, and `--apply` when it
reads the approvals again, take turns through an flock on `<plan>.lock`.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from importer.atomicfile import replace_json
from importer.reclaim import ReclaimError

TRASH, KEEP = "trash", "keep"
PLAN_GLOB = "plan-*.json"
PROGRESS_SUFFIX = ".progress.json"
LOCK_SUFFIX = ".lock"


class PlanError(ReclaimError):
    """The plan cannot be read or changed as asked; the message is one line."""


@dataclass(frozen=True)
class PlanItem:
    identity: str
    google_url: str | None
    file: str
    taken_at: str | None
    gallery_ref: str | None
    decision: str
    reason: str
    rule: str
    """Short name of the rule that decided (`eligible`, `favorite`, `recent`, …)."""
    size: int | None = None
    title: str | None = None
    approved: bool | None = None
    """Set by the review page; None when the plan carries no approval for this item."""

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "google_url": self.google_url, "file": self.file, "taken_at": self.taken_at,
            "gallery_ref": self.gallery_ref, "decision": self.decision,
            "reason": self.reason, "rule": self.rule, "identity": self.identity,
            "size": self.size, "title": self.title,
        }
        if self.approved is not None:
            data["approved"] = self.approved
        return data


@dataclass(frozen=True)
class Plan:
    id: str
    created: str
    target: str
    state: str
    """The state file the plan was made from (and that `--apply` records trashes in)."""
    older_than_days: int
    items: tuple[PlanItem, ...] = field(default=())
    carries_approvals: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "created": self.created, "target": self.target,
                "state": self.state, "older_than_days": self.older_than_days,
                "items": [item.to_json() for item in self.items]}

    def to_trash(self) -> Iterator[PlanItem]:
        """What `--apply` may trash: the `trash` decisions, and when the plan carries
        approvals (any item has the key), only those approved."""
        for item in self.items:
            if item.decision != TRASH:
                continue
            if self.carries_approvals and item.approved is not True:
                continue
            yield item


def plan_dir(state_path: Path) -> Path:
    return state_path.parent / "reclaim"


def plan_name(created: datetime) -> str:
    return f"plan-{created:%Y%m%dT%H%M%SZ}.json"


def latest_plan(state_path: Path) -> Path | None:
    """The newest plan next to this state (names carry a sortable UTC stamp); files beside
    plans (`<plan>.progress.json`, `.lock`, temporary files) are not plans."""
    folder = plan_dir(state_path)
    if not folder.is_dir():
        return None
    plans = sorted(p for p in folder.glob(PLAN_GLOB) if p.name.count(".") == 1 and p.is_file())
    return plans[-1] if plans else None


def carries_approvals(items: list[dict[str, Any]]) -> bool:
    """Any item with an `approved` key: `--apply` then trashes only approved items."""
    return any("approved" in item for item in items)


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Exclusive turn on the plan: read, change, replace, with no other writer between."""
    fd = os.open(path.with_name(path.name + LOCK_SUFFIX), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def write_private(path: Path, data: Any, *, durable: bool = False) -> None:
    """Owner-only and replaced whole; `durable` for a plan (it decides what gets deleted)."""
    replace_json(path, data, durable=durable, indent=1)


def save_plan(plan: Plan, path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with locked(path):
            write_raw(path, plan.to_json())
    except OSError as exc:
        raise PlanError(f"{path}: cannot write the plan: {exc.strerror}") from None


def write_raw(path: Path, data: dict[str, Any]) -> None:
    """The plan as JSON, every key kept (the review page's approvals, keys of later
    versions). Callers changing a plan hold `locked(path)`."""
    write_private(path, data, durable=True)


def read_raw(path: Path) -> dict[str, Any]:
    """The plan as JSON, checked only for what every reader needs: an `items` list of
    objects."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PlanError(f"{path}: cannot read the plan: the file is gone") from None
    except OSError as exc:
        raise PlanError(f"{path}: cannot read the plan: {exc.strerror}") from None
    except ValueError:
        raise PlanError(f"{path}: not a plan file (not valid JSON)") from None
    if not isinstance(data, dict) or not isinstance(data.get("items"), list):
        raise PlanError(f"{path}: not a plan file (no `items` list)")
    for n, item in enumerate(data["items"]):
        if not isinstance(item, dict):
            raise PlanError(f"{path}: not a plan file (item {n} is not an object)")
    return data


def load_plan(path: Path) -> Plan:
    data = read_raw(path)
    try:
        return _plan_from(data)
    except (KeyError, TypeError, ValueError, OverflowError) as exc:
        raise PlanError(f"{path}: not a plan file ({exc})") from None


def load_current(path: Path) -> Plan:
    """The plan as it is now, read in its turn between writers (`--apply` reads approvals
    again while the review page may be writing them)."""
    try:
        with locked(path):
            return load_plan(path)
    except OSError:  # no lock file beside a read-only plan; writes replace it atomically
        return load_plan(path)


def _plan_from(data: dict[str, Any]) -> Plan:
    raw = data["items"]
    items = tuple(_item_from(i, n) for n, i in enumerate(raw))
    approvals = carries_approvals(raw)
    return Plan(str(data["id"]), str(data["created"]), str(data["target"]),
                str(data.get("state") or ""), int(data.get("older_than_days", 0)), items,
                approvals)


def _item_from(data: dict[str, Any], n: int) -> PlanItem:
    decision = data.get("decision")
    if decision not in (TRASH, KEEP):
        raise ValueError(f"item {n}: decision must be 'trash' or 'keep'")
    approved = data.get("approved")
    size = data.get("size")
    return PlanItem(
        identity=str(data["identity"]), google_url=_text(data.get("google_url")),
        file=str(data.get("file") or ""), taken_at=_text(data.get("taken_at")),
        gallery_ref=_text(data.get("gallery_ref")), decision=str(decision),
        reason=str(data.get("reason") or ""), rule=str(data.get("rule") or ""),
        size=size if isinstance(size, int) and not isinstance(size, bool) else None,
        title=_text(data.get("title")),
        approved=approved if isinstance(approved, bool) else None,
    )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
