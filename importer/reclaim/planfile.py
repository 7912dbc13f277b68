"""The reclaim plan file: what would be trashed and why, written once, applied later.

A plan is reviewed by people (and approved item by item on the web page, issue 11) before
anything is trashed, so it is plain JSON, written atomically and readable by the owner
only (it lists the whole library). Keys this version does not know are kept out of the
way, never an error: the review page may add its own.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from importer.reclaim import ReclaimError

TRASH, KEEP = "trash", "keep"
PLAN_GLOB = "plan-*.json"
PROGRESS_SUFFIX = ".progress.json"


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
    """The newest plan next to this state (names sort by creation time)."""
    folder = plan_dir(state_path)
    plans = sorted(p for p in folder.glob(PLAN_GLOB) if not p.name.endswith(PROGRESS_SUFFIX))
    return plans[-1] if plans else None


def write_private(path: Path, data: Any) -> None:
    """Atomic (temporary file, then rename) and owner-only (0600) from the first byte."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(data, out, ensure_ascii=False, indent=1)
            out.write("\n")
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_plan(plan: Plan, path: Path) -> None:
    try:
        write_private(path, plan.to_json())
    except OSError as exc:
        raise ReclaimError(f"{path}: cannot write the plan: {exc.strerror}") from None


def load_plan(path: Path) -> Plan:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ReclaimError(f"{path}: cannot read the plan: {exc.strerror}") from None
    except ValueError:
        raise ReclaimError(f"{path}: not a plan file (not valid JSON)") from None
    try:
        return _plan_from(data)
    except (KeyError, TypeError, ValueError, OverflowError) as exc:
        raise ReclaimError(f"{path}: not a plan file ({exc})") from None


def _plan_from(data: Any) -> Plan:
    if not isinstance(data, dict) or not isinstance(data.get("items"), list):
        raise ValueError("no `items` list")
    raw = data["items"]
    items = tuple(_item_from(i, n) for n, i in enumerate(raw))
    approvals = any(isinstance(i, dict) and "approved" in i for i in raw)
    return Plan(str(data["id"]), str(data["created"]), str(data["target"]),
                str(data.get("state") or ""), int(data.get("older_than_days", 0)), items,
                approvals)


def _item_from(data: Any, n: int) -> PlanItem:
    if not isinstance(data, dict):
        raise ValueError(f"item {n} is not an object")
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
