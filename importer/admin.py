"""`status`, `verify` and `restore-state`: what the state holds, whether the target agrees,
and getting a damaged state back from its last backup."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from adapters import open_target
from adapters.base import VerifyStatus
from importer import statefile
from importer.config import ConfigError, Settings
from importer.model import VARIANT
from importer.run import state_path
from importer.safetext import json_shown, shown
from importer.state import ItemRecord, State, TargetRecord, now_iso

VERIFY_BATCH = 500
Checker = Callable[[Mapping[str, str]], Mapping[str, VerifyStatus]]
RUNS_SHOWN = 5


def status_data(path: Path) -> dict[str, Any]:
    """Counts by target and outcome (plus how many are verified) and the recent runs."""
    with State(path, readonly=True) as state:
        return status_of(state)


def status_of(state: State) -> dict[str, Any]:
    """`status_data` of a state already open (the web page reads more from it)."""
    counts: dict[str, Counter[str]] = {}
    items = 0
    for record in state.items():
        items += 1
        for target, on_target in record.targets.items():
            per_target = counts.setdefault(target, Counter())
            per_target[on_target.outcome] += 1
            if on_target.verified_at:
                per_target["verified"] += 1
    return {
        "state": str(state.path),
        "schema_version": state.schema_version,
        "items": items,
        "counts": {t: dict(sorted(c.items())) for t, c in sorted(counts.items())},
        "runs": state.runs()[-RUNS_SHOWN:],
    }


def show_status(settings: Settings, out: Console, as_json: bool = False) -> int:
    path = state_path(settings)
    if not path.exists():
        if as_json:
            out.print_json(data={"state": str(path), "items": 0, "counts": {}, "runs": []})
        else:
            out.print(shown(f"No state at {path}: nothing has been imported with it yet."),
                      markup=False)
        return 0
    data = status_data(path)
    if as_json:
        out.print(json_shown(json.dumps(data, ensure_ascii=False, indent=1)), markup=False,
                  highlight=False, soft_wrap=True)
        return 0
    out.print(shown(f"State {path} (schema {data['schema_version']}): {data['items']} items"),
              markup=False)
    table = Table(title="Items by target and outcome")
    for column in ("target", "outcome", "items"):
        table.add_column(column, justify="right" if column == "items" else "left")
    for target, per_target in data["counts"].items():
        for outcome, n in per_target.items():
            table.add_row(Text(shown(target)), Text(shown(outcome)), str(n))
    out.print(table)
    _print_runs(data["runs"], out)
    return 0


def _print_runs(runs: list[dict[str, Any]], out: Console) -> None:
    if not runs:
        return
    table = Table(title="Last runs")
    for column in ("started", "finished", "target", "outcomes"):
        table.add_column(column)
    for run in runs[-RUNS_SHOWN:]:
        counts = run.get("counts")
        pairs = counts.items() if isinstance(counts, dict) else []
        summary = ", ".join(f"{k} {v}" for k, v in pairs) or "nothing"
        cells = (str(run.get("started")), str(run.get("finished") or "(interrupted)"),
                 str(run.get("target")), summary)
        table.add_row(*(Text(shown(cell)) for cell in cells))
    out.print(table)


def verify(settings: Settings, out: Console) -> int:
    """Check every imported item on the target; mark the good ones verified."""
    if not settings.to:
        raise ConfigError("verify needs --to TARGET")
    path = state_path(settings)
    with State(path) as state:
        gallery = open_target(settings.to, settings)
        try:
            bad = verify_items(state, gallery.target, gallery.verify, out)
        finally:
            gallery.close()
    return 1 if bad else 0


def verify_items(state: State, target: str, check: Checker, out: Console,
                 only: Collection[str] | None = None) -> int:
    """Check imported items (all, or the identities in `only`) on the target and mark the
    good ones verified: every item's file, its live photo's video, and for an edited copy
    that its original is there too (Google's pair stays a pair). Prints one line per bad
    item and a total; returns how many are bad."""
    pending: dict[tuple[str, bool], tuple[str, str]] = {}  # (remote id, is video) -> ...
    ok = bad = 0
    variants: list[tuple[str, str]] = []
    for record in _records(state, only):
        on_target = record.on(target)
        if on_target is None or not on_target.done or on_target.written_sha1 is None:
            continue
        assert on_target.remote_id is not None
        if (on_target.remote_id, False) in pending:  # a PhotoPrism stack: each file its own
            good, wrong = _verify_batch(state, target, check, pending, out)  # check
            ok, bad, pending = ok + good, bad + wrong, {}
        if VARIANT in record.identity:
            variants.append((record.identity.partition(VARIANT)[0], record.name))
        pending[(on_target.remote_id, False)] = (record.identity, on_target.written_sha1)
        if on_target.live_video_id and on_target.live_video_sha1:
            pending[(on_target.live_video_id, True)] = (record.identity,
                                                        on_target.live_video_sha1)
        if len(pending) >= VERIFY_BATCH:
            good, wrong = _verify_batch(state, target, check, pending, out)
            ok, bad, pending = ok + good, bad + wrong, {}
    if pending:
        good, wrong = _verify_batch(state, target, check, pending, out)
        ok, bad = ok + good, bad + wrong
    for original, name in variants:
        if not state.done_on(original, target):
            bad += 1
            out.print(shown(f"  original missing: {name} is an edited copy; its original "
                            f"({original}) is not on the target"), markup=False)
    out.print(shown(f"verified {ok} item(s) on {target}; {bad} missing or different"),
              markup=False)
    return bad


def _records(state: State, only: Collection[str] | None) -> Iterator[ItemRecord]:
    """All records, or those of `only` (an export's items: read by key, not by a scan)."""
    if only is None:
        yield from state.items()
        return
    for identity in dict.fromkeys(only):
        record = state.get(identity)
        if record is not None:
            yield record


def _verify_batch(state: State, target: str, check: Checker,
                  pending: dict[tuple[str, bool], tuple[str, str]], out: Console
                  ) -> tuple[int, int]:
    """Bulk checks (the videos apart: a gallery may give a live photo's video the photo's
    id); an item is verified when its file and its video (if any) are."""
    results: dict[tuple[str, bool], VerifyStatus] = {}
    for videos in (False, True):
        asked = {remote: sha1 for (remote, video), (_, sha1) in pending.items()
                 if video is videos}
        if asked:
            results.update({(r, videos): v for r, v in check(asked).items()})
    verdict: dict[str, bool] = {}
    for (remote, video), (identity, _) in pending.items():
        status = results.get((remote, video), VerifyStatus.MISSING)
        if status is not VerifyStatus.OK:
            record = state.get(identity)
            name = record.name if record else identity
            hint = " (the next import repairs it)" if status is VerifyStatus.INCOMPLETE else ""
            what = f"live-photo video of {name}" if video else name
            out.print(shown(f"  {status}: {what} ({remote}){hint}"), markup=False)
        verdict[identity] = verdict.get(identity, True) and status is VerifyStatus.OK
    stamp = now_iso()
    for identity, good in verdict.items():
        record = state.get(identity)
        on_target: TargetRecord | None = record.on(target) if record else None
        if record is None or on_target is None:
            continue
        if good and not on_target.verified_at:
            state.put(record.with_target(target, replace(on_target, verified_at=stamp)))
        elif not good and on_target.verified_at:
            state.put(record.with_target(target, replace(on_target, verified_at=None)))
    good_items = sum(verdict.values())
    return good_items, len(verdict) - good_items


def restore_state(settings: Settings, out: Console) -> int:
    """Replace the state with its newest intact backup; the old file is kept aside."""
    path = state_path(settings)
    lock = statefile.acquire_lock(path)
    try:
        used, aside = statefile.restore(path)
    finally:
        lock.close()
    out.print(f"Restored {path} from {used.name}.", markup=False)
    if aside is not None:
        out.print(f"The state that was there is kept as {aside.name}.", markup=False)
    out.print("Run the import again: items imported after that backup are found again by "
              "checksum and not copied twice.", markup=False)
    return 0
