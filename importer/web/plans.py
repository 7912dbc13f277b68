"""Reclaim plans as the review page sees them: the latest plan, its items by month, and the
approvals the user gives, written back into the plan file without losing anyone's change.

Interface shared with `reclaim` (issue 10): plans are `<state dir>/reclaim/plan-*.json`,
newest name last; each item may carry `approved` (true/false), and a plan with any such key
"carries approvals": `reclaim --apply` then trashes only `trash` items approved true.
Writers take an exclusive flock on `<plan>.lock`, re-read, change, and replace the file.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

PLAN_GLOB = "plan-*.json"
UNDATED = "undated"
Scope = Literal["item", "month", "all"]


class PlanError(Exception):
    """The plan cannot be read or changed as asked; the message is one line for the page."""


def plans_dir(state_file: Path) -> Path:
    return state_file.parent / "reclaim"


def latest_plan(state_file: Path) -> Path | None:
    """The newest plan file (names carry a sortable UTC stamp), or None."""
    folder = plans_dir(state_file)
    names = sorted(p for p in folder.glob(PLAN_GLOB)
                   if p.name.count(".") == 1 and p.is_file()) if folder.is_dir() else []
    return names[-1] if names else None


def month_of(item: dict[str, Any]) -> str:
    """`YYYY-MM` of the capture time in its own offset (the month people remember)."""
    taken = item.get("taken_at")
    if not isinstance(taken, str):
        return UNDATED
    try:
        return datetime.fromisoformat(taken.replace("Z", "+00:00")).strftime("%Y-%m")
    except ValueError:
        return UNDATED


def read_plan(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PlanError(f"{path}: the plan file is gone") from None
    except (OSError, ValueError) as exc:
        raise PlanError(f"{path}: not a readable plan ({type(exc).__name__})") from None
    if not isinstance(data, dict) or not isinstance(data.get("items"), list):
        raise PlanError(f"{path}: not a reclaim plan (no items)")
    if not all(isinstance(item, dict) for item in data["items"]):
        raise PlanError(f"{path}: an item of the plan is not an object")
    return data


def carries_approvals(plan: dict[str, Any]) -> bool:
    return any("approved" in item for item in plan["items"])


def approved_items(plan: dict[str, Any]) -> list[dict[str, Any]]:
    """What `reclaim --apply` would trash once the plan carries approvals."""
    return [i for i in plan["items"] if i.get("decision") == "trash" and i.get("approved") is True]


@dataclass
class Month:
    key: str
    indices: list[int]
    trash: int = 0
    kept: int = 0
    approved: int = 0
    rejected: int = 0
    trash_bytes: int = 0
    approved_bytes: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "items": len(self.indices), "trash": self.trash,
                "kept": self.kept, "approved": self.approved, "rejected": self.rejected,
                "trash_bytes": self.trash_bytes, "approved_bytes": self.approved_bytes}


def months(plan: dict[str, Any]) -> list[Month]:
    """Items grouped by month, newest month first, undated last."""
    found: dict[str, Month] = {}
    for index, item in enumerate(plan["items"]):
        month = found.setdefault(month_of(item), Month(month_of(item), []))
        month.indices.append(index)
        size = item.get("size") if isinstance(item.get("size"), int) else 0
        if item.get("decision") != "trash":
            month.kept += 1
            continue
        month.trash += 1
        month.trash_bytes += size
        if item.get("approved") is True:
            month.approved += 1
            month.approved_bytes += size
        elif item.get("approved") is False:
            month.rejected += 1
    dated = sorted((m for k, m in found.items() if k != UNDATED), key=lambda m: m.key,
                   reverse=True)
    return dated + ([found[UNDATED]] if UNDATED in found else [])


def summary(plan: dict[str, Any]) -> dict[str, Any]:
    groups = months(plan)
    totals = {key: sum(getattr(m, key) for m in groups)
              for key in ("trash", "kept", "approved", "rejected", "trash_bytes",
                          "approved_bytes")}
    return {"id": plan.get("id"), "items": len(plan["items"]), **totals,
            "carries_approvals": carries_approvals(plan),
            "months": {m.key: m.as_dict() for m in groups}}


def select(plan: dict[str, Any], scope: Scope, key: str) -> list[int]:
    """Indices of the `trash` items a change applies to; kept items are never approved."""
    items = plan["items"]
    if scope == "all":
        return [i for i, item in enumerate(items) if item.get("decision") == "trash"]
    if scope == "month":
        return [i for i, item in enumerate(items)
                if item.get("decision") == "trash" and month_of(item) == key]
    try:
        index = int(key)
    except ValueError:
        raise PlanError(f"no item {key!r} in this plan") from None
    if not 0 <= index < len(items):
        raise PlanError(f"no item {key!r} in this plan")
    if items[index].get("decision") != "trash":
        reason = items[index].get("reason") or "kept"
        raise PlanError(f"{items[index].get('file')}: kept by the plan ({reason}); "
                        "only items planned for trash can be approved")
    return [index]


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """The plan's writers (this page, `reclaim`) take turns through `<plan>.lock`."""
    fd = os.open(path.with_name(path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def write_plan(path: Path, plan: dict[str, Any]) -> None:
    """Atomic and durable: the plan decides what gets deleted, so never half a plan."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(plan, out, ensure_ascii=False, indent=1)
        out.write("\n")
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)


def set_approval(path: Path, plan_id: str, scope: Scope, key: str, approved: bool,
                 expected_url: str | None = None) -> tuple[list[int], dict[str, Any]]:
    """Mark the chosen trash items approved (or rejected) in the plan file; returns the
    indices changed and the new summary. Refused when the file now holds another plan."""
    with locked(path):
        plan = read_plan(path)
        if plan.get("id") != plan_id:
            raise PlanError("the plan file now holds another plan; reload the page")
        chosen = select(plan, scope, key)
        item = plan["items"][chosen[0]] if scope == "item" else {}
        if expected_url is not None and item.get("google_url", expected_url) != expected_url:
            raise PlanError("the plan's items changed; reload the page")
        for index in chosen:
            plan["items"][index]["approved"] = approved
        write_plan(path, plan)
    return chosen, summary(plan)
