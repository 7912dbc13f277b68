"""`reclaim` without `--apply`: decide for every item, write the plan, print the summary.

Touches nothing: the state is opened read-only, the gallery is only read, and no browser
is started. The plan lists every candidate with its decision and the rule behind it, so
a person (or the review page) can see why each item would go or stay.
"""

from __future__ import annotations

import secrets
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console

from adapters import open_target, target_key
from adapters.base import Gallery
from importer.config import ConfigError, ReclaimSettings, Settings
from importer.reclaim import ReclaimError
from importer.reclaim.candidates import Candidate, gather
from importer.reclaim.gallerycheck import check
from importer.reclaim.planfile import (
    TRASH,
    Plan,
    PlanItem,
    plan_dir,
    plan_name,
    save_plan,
)
from importer.reclaim.rules import (
    RULE_LABELS,
    Decision,
    Policy,
    gallery_decision,
    keep,
    static_decision,
)
from importer.run import state_path
from importer.state import State
from importer.units import readable_bytes

FAR_FUTURE = datetime.max.replace(tzinfo=UTC)


@dataclass(frozen=True)
class PlanRequest:
    older_than_days: int
    limit: int | None = None
    plan_path: Path | None = None


def require_target(settings: Settings) -> str:
    if not settings.to:
        raise ConfigError("reclaim needs --to TARGET (the gallery that holds the copies)")
    target_key(settings.to)
    return settings.to


@dataclass(frozen=True)
class WrittenPlan:
    plan: Plan
    path: Path
    trashed_before: int
    """Items trashed by earlier runs, left out of the plan."""

    def counts(self) -> dict[str, int]:
        trash = [i for i in self.plan.items if i.decision == TRASH]
        return {"trash": len(trash), "keep": len(self.plan.items) - len(trash),
                "bytes": sum(i.size or 0 for i in trash),
                "trashed_before": self.trashed_before}


def make_plan(settings: Settings, request: PlanRequest, out: Console,
              now: datetime | None = None) -> Path:
    """Write a plan, print its summary and return its path (the `reclaim` command)."""
    spec = require_target(settings)
    path = state_path(settings)
    if not path.exists():
        raise ReclaimError(f"{path}: no state here; import into {spec} first")
    with State(path, readonly=True) as state:
        gallery = open_target(spec, settings)
        try:
            written = write_plan(state, gallery, settings.reclaim, request, now)
        finally:
            gallery.close()
    print_summary(written.plan, written.path, written.trashed_before, spec, out)
    return written.path


def write_plan(state: State, gallery: Gallery, reclaim: ReclaimSettings,
               request: PlanRequest, now: datetime | None = None) -> WrittenPlan:
    """Decide for every item of the state on this gallery and write the plan; reads only
    (watch mode calls this after each import, with the state it holds open)."""
    moment = now or datetime.now(UTC)
    policy = Policy.of(request.older_than_days, reclaim.keep_albums, reclaim.keep_archived)
    decided, before = decide_all(state, gallery, policy, moment)
    items = plan_items(decided, request.limit)
    created, plan_path = _where(request.plan_path, state.path, moment)
    plan = Plan(f"{created:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}",
                created.isoformat(timespec="seconds"), gallery.target,
                str(state.path.absolute()), request.older_than_days, tuple(items))
    save_plan(plan, plan_path)
    return WrittenPlan(plan, plan_path, before)


def decide_all(state: State, gallery: Gallery, policy: Policy, now: datetime
               ) -> tuple[list[tuple[Candidate, Decision]], int]:
    """Every candidate with its decision, and how many were trashed before (left out)."""
    trashed = {t["url"] for t in state.all_trashed()}
    decided: list[tuple[Candidate, Decision | None]] = []
    before = 0
    for found in gather(state, gallery.target):
        if found.google_url in trashed:
            before += 1
            continue
        decided.append((found, static_decision(found, policy, now, False)))
    facts = check(gallery, [c for c, d in decided if d is None])
    return [(c, d or gallery_decision(c, facts)) for c, d in decided], before


def plan_items(decided: list[tuple[Candidate, Decision]], limit: int | None
               ) -> list[PlanItem]:
    """Oldest first, so a limited plan trashes the oldest items."""
    ordered = sorted(decided, key=lambda pair: (pair[0].taken_at or pair[0].imported_at
                                                or FAR_FUTURE, pair[0].identity))
    items = []
    chosen = 0
    for found, decision in ordered:
        if decision.trash:
            chosen += 1
            if limit is not None and chosen > limit:
                decision = keep("limit", f"over the limit of {limit} (--limit)")
        items.append(PlanItem(
            identity=found.identity, google_url=found.google_url, file=found.name,
            taken_at=found.taken_at.isoformat() if found.taken_at else None,
            gallery_ref=found.remote_id, decision=decision.decision,
            reason=decision.reason, rule=decision.rule, size=found.size, title=found.title))
    return items


def _where(given: Path | None, state: Path, now: datetime) -> tuple[datetime, Path]:
    created = now.replace(microsecond=0)
    if given is not None:
        return created, given
    while (plan_dir(state) / plan_name(created)).exists():  # two plans in one second
        created += timedelta(seconds=1)
    return created, plan_dir(state) / plan_name(created)


def print_summary(plan: Plan, path: Path, before: int, spec: str, out: Console) -> None:
    trash = [i for i in plan.items if i.decision == "trash"]
    freed = sum(i.size or 0 for i in trash)
    rules = Counter(i.rule for i in plan.items if i.decision != "trash")
    out.print(f"Plan written: {path}", markup=False, highlight=False)
    out.print(f"  trash {len(trash):>7}  would free {readable_bytes(freed)}", markup=False)
    for rule, n in rules.most_common():
        out.print(f"  keep  {n:>7}  {RULE_LABELS.get(rule, rule)}", markup=False)
    if before:
        out.print(f"  ({before} trashed before by this tool, not listed; see "
                  "--list-trashed)", markup=False)
    if not trash:
        out.print("Nothing was trashed, and nothing would be.", markup=False)
        return
    out.print("Nothing was trashed. Review the plan, then run: gphotos-importer reclaim "
              f"--to {spec} --apply {path}", markup=False, highlight=False)
