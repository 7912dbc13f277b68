"""Watch's reclaim step (issue 12): after each import a reclaim plan of the target, written
and never applied unless `reclaim.auto_apply: true`; then applied against the
photos.google.com imitation in real Chromium, each eligible item trashed exactly once,
resumed after the daily cap or a SIGTERM, and a stop that needs the user failing every
cycle (so `health` says so) until the user has fixed it."""

from __future__ import annotations

import copy
import json
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from importer.reclaim.planfile import latest_plan
from importer.reclaim.progress import progress_path
from importer.state import State
from tests.conftest import CliResult
from tests.exportgen import TruthItem, write_parts
from tests.reclaim_env import Cli, Scene, item, stage_google, web_id
from tests.watchkit import Delivery, WatchProcess, renamed

FIRST, LATER = "20260601T101010Z", "20260801T101010Z"
OLD = ["p1", "p2", "p3", "p4"]
Event = dict[str, Any]


def library_items() -> dict[str, TruthItem]:
    """Four old photos, a favorite and one taken two days ago (both kept)."""
    found = {role: item(role, n) for n, role in enumerate(OLD, 1)}
    found["fav"] = item("fav", 5, favorite=True)
    found["new"] = item("new", 6, taken_at=datetime.now(UTC) - timedelta(days=2))
    return found


def watched_scene(tmp_path: Path, cli: Cli, *, sign_in: bool = True,
                  **reclaim: Any) -> Scene:
    scene = stage_google(tmp_path, cli, library_items(), f"folder:{tmp_path / 'library'}",
                         sign_in=sign_in, **reclaim)
    scene.settings["watch"] = {"after_import": ["verify", "plan"]}
    scene.write_config()
    (tmp_path / "inbox").mkdir()
    return scene


def deliver(scene: Scene, items: list[TruthItem], stamp: str) -> None:
    parts = write_parts(scene.tmp / f"gen-{stamp}", items, "zip", parts=1).sources
    for part in parts:
        Delivery(scene.tmp / "inbox").copy(part, renamed(part, stamp))


def once(scene: Scene) -> tuple[CliResult, list[Event]]:
    result = scene.run("watch", "--once", "--inbox", scene.tmp / "inbox", "--to", scene.target,
                       "--settle", "0s", "--log-format", "json")
    assert result.err == "", result.err
    return result, [json.loads(line) for line in result.out.splitlines() if line.strip()]


def named(found: list[Event], name: str) -> list[Event]:
    return [e for e in found if e["event"] == name]


def health(scene: Scene) -> CliResult:
    return scene.cli("health", "--state", scene.state)


def age_trashes(scene: Scene, days: float) -> None:
    """The trashes recorded so far happened `days` earlier (the daily cap's window)."""
    with State(scene.state) as state:
        for record in state.all_trashed():
            when = datetime.fromisoformat(record["when"]) - timedelta(days=days)
            state.put_trashed(record["url"], {**record, "when": when.isoformat()})


def test_a_plan_of_the_imported_items_is_written_and_nothing_is_touched(
        tmp_path: Path, cli: Cli) -> None:
    scene = watched_scene(tmp_path, cli)
    deliver(scene, list(scene.items.values()), FIRST)
    loads = scene.web.page_loads()  # (signing in looked at the page)
    result, found = once(scene)
    assert result.code == 0, result.out
    assert any("verified 6 item(s)" in e["message"] for e in named(found, "verify"))
    (written,) = named(found, "plan.written")
    plan = Path(written["plan"])
    assert plan == latest_plan(scene.state)
    data = json.loads(plan.read_text(encoding="utf-8"))
    assert sorted(i["google_url"] for i in data["items"]) == sorted(
        t.url for t in scene.items.values())
    roles = scene.roles(data)
    assert sorted(r for r, i in roles.items() if i["decision"] == "trash") == OLD
    assert (roles["fav"]["rule"], roles["new"]["rule"]) == ("favorite", "recent")
    assert (written["trash"], written["keep"]) == (4, 2)
    assert "nothing trashed" in written["message"] and str(plan) in written["message"]
    assert scene.web.trashed_ids() == [] and scene.web.page_loads() == loads
    assert not progress_path(plan).exists() and not named(found, "plan.applying")
    again, found = once(scene)  # nothing new: no plan
    assert again.code == 0 and not named(found, "plan.written")


def test_a_plan_that_failed_is_written_by_the_next_cycle(
        tmp_path: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    """The export is done when its plan fails (no space, the gallery away for a moment): a
    later cycle writes the plan without a new export, and health fails until it has."""
    from importer.reclaim import ReclaimError
    from importer.watch import reclaiming

    real = reclaiming.write_plan
    failures = iter([ReclaimError("plans/: No space left on device")])

    def flaky(*args: Any, **kwargs: Any) -> Any:
        failure = next(failures, None)
        if failure is not None:
            raise failure
        return real(*args, **kwargs)

    monkeypatch.setattr(reclaiming, "write_plan", flaky)
    scene = watched_scene(tmp_path, cli)
    deliver(scene, list(scene.items.values()), FIRST)
    result, found = once(scene)
    assert result.code != 0 and named(found, "plan.failed") and not named(found, "plan.written")
    assert "No space left" in named(found, "plan.failed")[0]["message"]
    assert latest_plan(scene.state) is None and health(scene).code != 0
    again, found = once(scene)
    assert again.code == 0, again.out
    assert not named(found, "export.imported")  # the export itself is not read again
    (written,) = named(found, "plan.written")
    assert Path(written["plan"]) == latest_plan(scene.state)
    assert (written["trash"], written["keep"]) == (4, 2)
    assert health(scene).code == 0
    third, found = once(scene)  # written once: no plan again
    assert third.code == 0 and not named(found, "plan.written")


def test_auto_apply_trashes_each_eligible_item_once(tmp_path: Path, cli: Cli) -> None:
    scene = watched_scene(tmp_path, cli, auto_apply=True)
    deliver(scene, list(scene.items.values()), FIRST)
    result, found = once(scene)
    assert result.code == 0, result.out
    assert sorted(scene.trashed_roles()) == OLD
    assert scene.recorded_roles() == set(OLD)
    (applied,) = named(found, "plan.applied")
    assert (applied["trashed"], applied["kept"], applied["failed"]) == (4, 0, 0)
    assert len(named(found, "reclaim.apply")) >= 4  # a line per item

    loads = scene.web.page_loads()
    result, found = once(scene)  # a second cycle, nothing new: nothing more
    assert result.code == 0 and not named(found, "plan.applying")
    assert scene.web.page_loads() == loads and sorted(scene.trashed_roles()) == OLD

    # A later export: the favorite was un-favorited in Google, and an old photo is new.
    unfavorite = copy.deepcopy(scene.items["fav"])
    unfavorite.favorite = False
    late = scene.items["late"] = item("late", 7)
    scene.web.add(web_id(late), late.name, late.taken_at)
    deliver(scene, [unfavorite, late], LATER)
    result, found = once(scene)
    assert result.code == 0, result.out
    (written,) = named(found, "plan.written")
    assert (written["trash"], written["keep"], written["trashed_before"]) == (2, 1, 4)
    trashed = scene.web.trashed_ids()
    assert len(trashed) == len(set(trashed))  # nothing twice
    assert sorted(scene.trashed_roles()) == sorted([*OLD, "fav", "late"])
    assert health(scene).code == 0


def test_auto_apply_waits_out_the_daily_cap_then_resumes(tmp_path: Path, cli: Cli) -> None:
    scene = watched_scene(tmp_path, cli, auto_apply=True, daily_cap=3)
    deliver(scene, list(scene.items.values()), FIRST)
    result, found = once(scene)
    assert result.code == 0, result.out
    assert len(scene.web.trashed_ids()) == 3
    assert named(found, "plan.applied")[0]["stopped_by"] == "daily_cap"
    loads = scene.web.page_loads()
    result, found = once(scene)  # within the day: no browser, nothing trashed
    assert result.code == 0 and not named(found, "plan.applying")
    assert scene.web.page_loads() == loads and len(scene.web.trashed_ids()) == 3
    age_trashes(scene, days=1.5)
    result, found = once(scene)
    assert result.code == 0 and named(found, "plan.applying")
    trashed = scene.web.trashed_ids()
    assert len(trashed) == len(set(trashed)) and sorted(scene.trashed_roles()) == OLD


def test_signed_out_fails_every_cycle_until_the_user_fixed_it(tmp_path: Path,
                                                             cli: Cli) -> None:
    scene = watched_scene(tmp_path, cli, sign_in=False, auto_apply=True)
    deliver(scene, list(scene.items.values()), FIRST)
    result, found = once(scene)
    assert result.code == 1
    (done,) = named(found, "cycle.done")
    assert "login google" in done["message"] and done["ok"] is False
    assert named(found, "export.imported") and scene.web.trashed_ids() == []
    said = health(scene)
    assert said.code == 1 and "login google" in said.out
    cookies = scene.web.write_cookies_txt(tmp_path / "cookies.txt")
    assert scene.run("login", "google", "--cookies", cookies).code == 0
    result, found = once(scene)  # still failing: the user applies a stopped plan by hand
    assert result.code == 1 and "--apply" in named(found, "cycle.done")[0]["message"]
    plan = latest_plan(scene.state)
    assert plan is not None and scene.apply(plan).code == 0
    result, found = once(scene)
    assert result.code == 0 and not named(found, "plan.applying")
    assert sorted(scene.trashed_roles()) == OLD and health(scene).code == 0


def test_sigterm_during_the_apply_finishes_the_item_and_a_restart_resumes(
        tmp_path: Path, cli: Cli) -> None:
    scene = watched_scene(tmp_path, cli, auto_apply=True, pause_seconds=1.0)
    deliver(scene, list(scene.items.values()), FIRST)
    watch = WatchProcess(scene.tmp / "inbox", scene.target, scene.state,
                         tmp_path / "watch.log", "--config", str(scene.config))
    try:
        watch.wait_for("reclaim.apply", lambda e: e["message"].startswith("trashed"))
        assert watch.stop(signal.SIGTERM) == 0
    finally:
        watch.kill()
    first = scene.web.trashed_ids()
    assert 1 <= len(first) < 4
    assert scene.recorded_roles() == set(scene.trashed_roles())  # every trash recorded
    assert watch.events("plan.applied")[0]["stopped_by"] == "request"
    result, found = once(scene)
    assert result.code == 0 and named(found, "plan.applying")
    trashed = scene.web.trashed_ids()
    assert len(trashed) == len(set(trashed)) and sorted(scene.trashed_roles()) == OLD
