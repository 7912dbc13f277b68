"""Reclaim plans as the review page sees them: the latest plan, its items by month, and the
approvals the user gives, written back into the plan file without losing anyone's change.

The file itself (where plans live, reading, atomic private writes, the `<plan>.lock`) is
reclaim's: importer/reclaim/planfile.py. Here: each item may carry `approved` (true/false);
a plan with any such key "carries approvals", and `reclaim --apply` then trashes only
`trash` items approved true. A change takes the plan's lock, re-reads, changes, replaces.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from importer.reclaim.planfile import PlanError, carries_approvals, locked, read_raw, write_raw

UNDATED = "undated"
Scope = Literal["item", "month", "all"]


def month_of(item: dict[str, Any]) -> str:
    """`YYYY-MM` of the capture time in its own offset (the month people remember)."""
    taken = item.get("taken_at")
    if not isinstance(taken, str):
        return UNDATED
    try:
        return datetime.fromisoformat(taken.replace("Z", "+00:00")).strftime("%Y-%m")
    except ValueError:
        return UNDATED


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
        key = month_of(item)
        month = found.get(key) or found.setdefault(key, Month(key, []))
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


def summary(plan: dict[str, Any], groups: list[Month] | None = None) -> dict[str, Any]:
    """`groups`: the plan's `months`, when the caller has them already."""
    groups = months(plan) if groups is None else groups
    totals = {key: sum(getattr(m, key) for m in groups)
              for key in ("trash", "kept", "approved", "rejected", "trash_bytes",
                          "approved_bytes")}
    return {"id": plan.get("id"), "items": len(plan["items"]), **totals,
            "carries_approvals": carries_approvals(plan["items"]),
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


def set_approval(path: Path, plan_id: str, scope: Scope, key: str, approved: bool,
                 expected_url: str | None = None) -> tuple[list[int], dict[str, Any]]:
    """Mark the chosen trash items approved (or rejected) in the plan file; returns the
    indices changed and the new summary. Refused when the file now holds another plan."""
    with locked(path):
        plan = read_raw(path)
        if plan.get("id") != plan_id:
            raise PlanError("the plan file now holds another plan; reload the page")
        chosen = select(plan, scope, key)
        item = plan["items"][chosen[0]] if scope == "item" else {}
        if expected_url is not None and item.get("google_url", expected_url) != expected_url:
            raise PlanError("the plan's items changed; reload the page")
        for index in chosen:
            plan["items"][index]["approved"] = approved
        write_raw(path, plan)
    return chosen, summary(plan)
