"""`reclaim --apply PLAN`: trash the plan's items in photos.google.com, one at a time.

The plan is only a proposal: just before each small batch of items is trashed, the plan
file is read again (approvals may have changed) and every item is decided again with the
gallery's answers of that moment. Each trash is recorded in the state the moment the page
confirms it; a run killed at any point and started again trashes nothing twice (an item
already in Google's trash is recorded, not trashed again). Pauses with jitter, a daily
cap, bounded retries and a stop after consecutive failures keep the pace of a person.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console

from adapters import open_target, target_key
from adapters.base import AuthError, Gallery, TargetUnavailable
from importer.config import Settings
from importer.faults import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK
from importer.interrupt import StopRequest
from importer.reclaim import ReclaimError
from importer.reclaim.browser import browser
from importer.reclaim.candidates import for_urls
from importer.reclaim.gallerycheck import check
from importer.reclaim.itempage import ItemPage, Outcome, PageResult, SignedOut
from importer.reclaim.planfile import Plan, PlanItem, load_current, load_plan
from importer.reclaim.progress import (
    BY_DAILY_CAP,
    BY_FAILURES,
    BY_GALLERY,
    BY_REQUEST,
    BY_SIGN_OUT,
    FINISHED,
    STOPPED,
    ProgressFile,
)
from importer.reclaim.rules import Decision, Policy, gallery_decision, static_decision
from importer.reclaim.texts import load_texts
from importer.run import state_path
from importer.state import State, now_iso

CHUNK = 20
"""Items decided again together, just before they are trashed (one bulk gallery check)."""
SIGNED_OUT = ("Google signed this browser out; sign in again with `gphotos-importer login "
              "google {where}` (or add `--cookies FILE`), then run the same command again")


@dataclass
class Tally:
    trashed: int = 0
    kept: int = 0
    failed: int = 0
    in_a_row: int = 0
    stop: str | None = None
    stopped_by: str | None = None
    exit_code: int = EXIT_OK
    kept_reasons: dict[str, int] = field(default_factory=dict)


def apply_plan(settings: Settings, plan_path: Path, out: Console,
               stop: Callable[[], bool] | None = None) -> int:
    """Apply a plan; returns the exit code. The web page runs this in a subprocess
    (`gphotos-importer reclaim --apply PLAN --to TARGET`); watch mode in-process, with its
    own stop flag (`stop`), since it owns the signals then."""
    plan = load_plan(plan_path)
    spec = settings.to or plan.target
    if target_key(spec) != plan.target:
        raise ReclaimError(f"{plan_path}: the plan is for {plan.target}, not {spec}")
    texts = load_texts(settings.reclaim.ui_language, settings.reclaim.ui_texts_file)
    state_file = (Path(settings.state).expanduser() if settings.state
                  else Path(plan.state) if plan.state else state_path(settings))
    if not state_file.exists():
        raise ReclaimError(f"{state_file}: no state here (the plan names it)")
    if not any(True for _ in plan.to_trash()):
        ProgressFile(plan_path, plan.id, 0).end(FINISHED, "nothing to trash in this plan")
        out.print(f"Nothing to trash in {plan_path}" + (" (no item is approved)"
                  if plan.carries_approvals else ""), markup=False, highlight=False)
        return EXIT_OK
    with State(state_file) as state:
        gallery = open_target(spec, settings)
        try:
            with browser(settings) as context, _stop_asked(stop) as asked:
                page = ItemPage(context.new_page(), texts, settings.reclaim.base_url,
                                settings.reclaim.timeout_seconds)
                run = ApplyRun(settings, plan, plan_path, state, gallery, page, out, asked)
                return run.run()
        finally:
            gallery.close()


@contextmanager
def _stop_asked(stop: Callable[[], bool] | None) -> Iterator[Callable[[], bool]]:
    """The caller's stop flag, or Ctrl-C/SIGTERM handled here."""
    if stop is not None:
        yield stop
        return
    notice = "gphotos-importer: stopping after the item in flight (Ctrl-C again to stop now)"
    with StopRequest(notice, always_notice=True) as request:
        yield lambda: request.requested


class ApplyRun:
    def __init__(self, settings: Settings, plan: Plan, plan_path: Path, state: State,
                 gallery: Gallery, page: ItemPage, out: Console,
                 stop_requested: Callable[[], bool]) -> None:
        self.reclaim = settings.reclaim
        self.where = f"--state {state.path}"
        self.plan, self.plan_path = plan, plan_path
        self.state, self.gallery, self.page, self.out = state, gallery, page, out
        self.stop_requested = stop_requested
        self.policy = Policy.of(plan.older_than_days, self.reclaim.keep_albums,
                                self.reclaim.keep_archived)
        self.items = list(plan.to_trash())
        self.progress = ProgressFile(plan_path, plan.id, len(self.items))
        self.tally = Tally()
        self.rng = random.Random()
        self.budget = self.reclaim.daily_cap - trashed_since(
            state, datetime.now(UTC) - timedelta(days=1))

    def run(self) -> int:
        pending = self._resume()
        try:
            for start in range(0, len(pending), CHUNK):
                if self._should_stop():
                    break
                self._chunk(pending[start:start + CHUNK])
        except SignedOut:
            self._halt(SIGNED_OUT.format(where=self.where), EXIT_FAILED, BY_SIGN_OUT)
        except (AuthError, TargetUnavailable) as exc:
            self._halt(f"the gallery cannot be checked any more: {exc}", EXIT_FAILED, BY_GALLERY)
        except KeyboardInterrupt:
            self._halt("interrupted; what was trashed is recorded", EXIT_INTERRUPTED, BY_REQUEST)
            self._finish()
            raise
        self._finish()
        return self.tally.exit_code

    def _resume(self) -> list[PlanItem]:
        """Items an earlier run of this plan (or another) trashed count as done."""
        pending = [i for i in self.items
                   if not i.google_url or self.state.trashed(i.google_url) is None]
        before = len(self.items) - len(pending)
        if before:
            self.progress.progress.done = self.progress.progress.trashed = before
            self.progress.write()
            self.out.print(f"{before} item(s) of this plan were trashed before; going on "
                           "with the rest", markup=False)
        return pending

    # -- deciding again --------------------------------------------------------------------

    def _chunk(self, chunk: list[PlanItem]) -> None:
        approved = self._still_approved()
        decisions = self._decide([i for i in chunk if i.identity in approved])
        for item in chunk:
            if self._should_stop():
                return
            decision = decisions.get(item.identity)
            if decision is None:
                self._kept(item, "no longer approved in the plan")
            elif not decision.trash:
                self._kept(item, f"no longer eligible: {decision.reason}")
            else:
                self._trash(item)

    def _still_approved(self) -> set[str]:
        """The plan file as it is now: the review page may have withdrawn approvals."""
        try:
            current = load_current(self.plan_path)
        except ReclaimError:
            return set()
        return {item.identity for item in current.to_trash()}

    def _decide(self, chunk: list[PlanItem]) -> dict[str, Decision]:
        now = datetime.now(UTC)
        urls = [i.google_url for i in chunk if i.google_url]
        found = for_urls(self.state, self.gallery.target, urls)
        decided: dict[str, Decision | None] = {}
        for item in chunk:
            candidate = found.get(item.google_url or "")
            if candidate is None or candidate.identity != item.identity:
                decided[item.identity] = Decision("keep", "not_imported",
                                                  "no longer in the state")
                continue
            before = self.state.trashed(candidate.google_url or "") is not None
            decided[item.identity] = static_decision(candidate, self.policy, now, before)
        pending = [found[i.google_url or ""] for i in chunk if decided[i.identity] is None]
        facts = check(self.gallery, pending)
        return {identity: d or gallery_decision(found[_url(chunk, identity)], facts)
                for identity, d in decided.items()}

    # -- acting ----------------------------------------------------------------------------

    def _trash(self, item: PlanItem) -> None:
        if self.budget <= 0:
            self._halt(f"daily cap of {self.reclaim.daily_cap} reached; run again later "
                       "to go on", EXIT_OK, BY_DAILY_CAP)
            return
        self.progress.begin(item.google_url or item.file)
        result = self._attempts(item)
        if result.outcome in (Outcome.TRASHED, Outcome.IN_TRASH):
            self._record(item, result)
        elif result.outcome is Outcome.FAILED:
            self._failed(item, result.detail)
        else:
            self._kept(item, f"{result.outcome}: {result.detail}", touched=True)
        self._pause()

    def _attempts(self, item: PlanItem) -> PageResult:
        result = self.page.process(item)
        for attempt in range(self.reclaim.retries):
            if result.outcome is not Outcome.FAILED or self.stop_requested():
                break
            time.sleep(min(0.5 * (attempt + 1), 5.0))
            result = self.page.process(item)
        return result

    def _record(self, item: PlanItem, result: PageResult) -> None:
        """At once: a trash done in Google and not recorded could be forgotten."""
        assert item.google_url is not None
        self.state.put_trashed(item.google_url, {
            "identity": item.identity, "when": now_iso(), "plan_id": self.plan.id,
            "file": item.file, "title": item.title, "size": item.size,
            "how": str(result.outcome), "target": self.plan.target})
        self._log(item, "trashed", result.detail)
        self.budget -= 1
        self.tally.trashed += 1
        self.tally.in_a_row = 0
        self.progress.count("trashed")
        self._say("trashed", item, result.detail)

    def _log(self, item: PlanItem, outcome: str, detail: str) -> None:
        """Every apply-time outcome, so a decision can be explained afterwards."""
        if item.google_url:
            self.state.put_reclaim_outcome(item.google_url, {
                "outcome": outcome, "detail": detail, "when": now_iso(),
                "plan_id": self.plan.id, "identity": item.identity})

    def _kept(self, item: PlanItem, reason: str, touched: bool = False) -> None:
        self._log(item, "kept", reason)
        self.tally.kept += 1
        if touched:
            self.tally.in_a_row = 0
        self.progress.count("kept")
        self._say("kept", item, reason)

    def _failed(self, item: PlanItem, reason: str) -> None:
        self._log(item, "failed", reason)
        self.tally.failed += 1
        self.tally.in_a_row += 1
        self.tally.exit_code = EXIT_FAILED
        self.progress.count("failed")
        self._say("failed", item, reason)
        limit = self.reclaim.max_consecutive_failures
        if self.tally.in_a_row >= limit:
            self._halt(f"stopped after {limit} failures in a row; check the page (or "
                       "reclaim.ui_texts_file) and run again", EXIT_FAILED, BY_FAILURES)

    def _say(self, what: str, item: PlanItem, detail: str) -> None:
        name = item.title or item.file
        self.out.print(f"{what:<8} {name}  {item.google_url}  {detail}".rstrip(),
                       markup=False, highlight=False)

    def _pause(self) -> None:
        delay = self.reclaim.pause_seconds + self.rng.uniform(
            0, self.reclaim.pause_jitter_seconds)
        end = time.monotonic() + delay
        while not self._should_stop() and time.monotonic() < end:
            time.sleep(min(0.1, max(0.0, end - time.monotonic())))

    # -- stopping --------------------------------------------------------------------------

    def _should_stop(self) -> bool:
        if self.tally.stop is None and self.stop_requested():
            self._halt("stopped on request; the item in flight was finished",
                       EXIT_INTERRUPTED, BY_REQUEST)
        return self.tally.stop is not None

    def _halt(self, message: str, code: int, cause: str) -> None:
        if self.tally.stop is None:
            self.tally.stop = message
            self.tally.stopped_by = cause
            self.tally.exit_code = max(self.tally.exit_code, code)

    def _finish(self) -> None:
        tally = self.tally
        summary = (f"trashed {tally.trashed}, kept {tally.kept}, failed {tally.failed} "
                   f"of {len(self.items)}")
        message = f"{tally.stop}; {summary}" if tally.stop else summary
        self.progress.end(STOPPED if tally.stop else FINISHED, message, tally.stopped_by)
        self.out.print(message, markup=False, highlight=False)


def trashed_since(state: State, since: datetime) -> int:
    """Trashes recorded after `since` (the daily cap counts over runs)."""
    count = 0
    for record in state.all_trashed():
        try:
            when = datetime.fromisoformat(str(record.get("when")))
        except ValueError:
            continue
        count += when >= since
    return count


def _url(chunk: list[PlanItem], identity: str) -> str:
    return next(i.google_url or "" for i in chunk if i.identity == identity)
