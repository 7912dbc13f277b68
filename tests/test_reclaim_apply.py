"""`reclaim --apply` against the photos.google.com imitation, with real Chromium: the page
misbehaving (slow, failing, a dialog that never comes, a click that does nothing, no
toast), signing out mid-run, approvals, the daily cap, other UI languages and a user's
own locator file. The imitation's record of what was trashed is what is asserted."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from importer.reclaim import planfile
from tests.conftest import REPO, cli_command
from tests.fakes.gphotos_web import TEXTS
from tests.reclaim_env import Cli, Scene, build_scene, item, web_id


def small(n: int = 4) -> dict[str, Any]:
    return {f"p{i}": item(f"p{i}", i) for i in range(1, n + 1)}


def folder_scene(tmp_path: Path, cli: Cli, items: dict[str, Any] | None = None,
                 language: str = "en", **reclaim: Any) -> Scene:
    return build_scene(tmp_path, cli, items or small(), f"folder:{tmp_path / 'library'}",
                       language, **reclaim)


def progress(plan: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(plan.with_name(plan.name + ".progress.json").read_text())
    return data


def test_a_troubled_page_is_retried_or_kept_and_never_trashed_blindly(
        tmp_path: Path, cli: Cli) -> None:
    items = {**small(2), **{r: item(r, n) for n, r in enumerate(
        ("slow", "flaky", "broken", "no_dialog", "dead_confirm", "no_toast", "gone"), 10)}}
    scene = folder_scene(tmp_path, cli, items, max_consecutive_failures=10)
    web, ids = scene.web, {role: web_id(t) for role, t in items.items()}
    web.items[ids["slow"]].delay = 1.0              # renders late, within the timeout
    web.items[ids["flaky"]].load_failures = 1       # one 500, then fine (retries: 1)
    web.items[ids["broken"]].load_failures = 10     # keeps failing
    web.items[ids["no_dialog"]].no_dialog = True    # the dialog never appears
    web.items[ids["dead_confirm"]].dead_confirm = True  # the confirm click does nothing
    web.items[ids["no_toast"]].no_toast = True      # trashed, but no message
    del web.items[ids["gone"]]                      # "Can't access photo"
    plan, _ = scene.plan()
    done = scene.apply(plan)
    assert done.code == 1  # some items failed
    good = {"p1", "p2", "slow", "flaky", "no_toast"}
    assert sorted(scene.trashed_roles()) == sorted(good)
    assert scene.recorded_roles() == good
    lines = {role: next(x for x in done.out.splitlines() if t.url in x)
             for role, t in items.items()}
    assert lines["broken"].startswith("failed") and "500" in lines["broken"]
    assert "dialog did not appear" in lines["no_dialog"]
    assert "still in the library" in lines["dead_confirm"]
    assert "no confirmation message" in lines["no_toast"]
    assert lines["gone"].startswith("kept") and "not in Google Photos" in lines["gone"]
    for role in ("broken", "no_dialog", "dead_confirm"):  # explained afterwards, too
        outcome = scene.outcome(role)
        assert outcome is not None and outcome["outcome"] == "failed"
        assert outcome["detail"] in lines[role]
    assert (scene.outcome("slow") or {}).get("outcome") == "trashed"
    assert progress(plan) | {"pid": 0, "updated": ""} == {
        "plan_id": json.loads(plan.read_text())["id"], "pid": 0, "state": "finished",
        "total": 9, "done": 9, "trashed": 5, "kept": 1, "failed": 3, "current": None,
        "message": "trashed 5, kept 1, failed 3 of 9", "stopped_by": None, "updated": ""}


def test_consecutive_failures_stop_the_run(tmp_path: Path, cli: Cli) -> None:
    scene = folder_scene(tmp_path, cli, small(5), max_consecutive_failures=2, retries=0)
    for web_item in scene.web.items.values():
        web_item.no_dialog = True
    plan, _ = scene.plan()
    done = scene.apply(plan)
    assert done.code == 1
    assert scene.web.trashed_ids() == []
    assert sum(line.startswith("failed") for line in done.out.splitlines()) == 2
    assert "stopped after 2 failures in a row" in done.out
    assert progress(plan)["state"] == "stopped" and progress(plan)["done"] == 2
    assert progress(plan)["stopped_by"] == "failures"


def test_signed_out_mid_run_stops_in_one_line_and_a_rerun_finishes(tmp_path: Path,
                                                                  cli: Cli) -> None:
    scene = folder_scene(tmp_path, cli, small(5))
    scene.web.sign_out_after = 2
    plan, _ = scene.plan()
    done = scene.apply(plan)
    assert done.code == 1
    assert len(scene.web.trashed_ids()) == 2
    assert [x for x in done.out.splitlines() if "signed this browser out" in x] == [
        x for x in done.out.splitlines() if "login google" in x]
    assert len([x for x in done.out.splitlines() if "signed this browser out" in x]) == 1
    assert "Traceback" not in done.out + done.err
    assert progress(plan)["state"] == "stopped" and progress(plan)["stopped_by"] == "signed_out"
    assert scene.recorded_roles() <= set(scene.trashed_roles())
    scene.web.sign_out_after = None
    relogin = scene.run("login", "google", "--cookies",
                        scene.web.write_cookies_txt(tmp_path / "again.txt"))
    assert relogin.code == 0, relogin.err
    again = scene.apply(plan)
    assert again.code == 0, again.out
    assert sorted(scene.trashed_roles()) == sorted(small(5))  # each exactly once
    assert scene.recorded_roles() == set(small(5))


def test_not_signed_in_at_all_stops_before_anything(tmp_path: Path, cli: Cli) -> None:
    scene = build_scene(tmp_path, cli, small(3), f"folder:{tmp_path / 'library'}",
                        sign_in=False)
    plan, _ = scene.plan()
    done = scene.apply(plan)
    assert done.code == 1 and "login google" in done.out
    assert scene.web.trashed_ids() == [] and scene.recorded_roles() == set()


def test_only_approved_items_go_when_the_plan_carries_approvals(tmp_path: Path,
                                                                cli: Cli) -> None:
    scene = folder_scene(tmp_path, cli, small(4))
    plan_path, plan = scene.plan()
    urls = {t.url: role for role, t in scene.items.items()}
    for entry in plan["items"]:
        if urls[entry["google_url"]] == "p2":
            entry["approved"] = True
        if urls[entry["google_url"]] == "p3":
            entry["approved"] = False
    plan_path.write_text(json.dumps(plan))
    done = scene.apply(plan_path)
    assert done.code == 0, done.out
    assert scene.trashed_roles() == ["p2"]
    assert progress(plan_path)["total"] == 1
    for entry in plan["items"]:
        entry["approved"] = False  # the review page withdrew everything
    plan_path.write_text(json.dumps(plan))
    loads = scene.web.page_loads()
    nothing = scene.apply(plan_path)
    assert nothing.code == 0 and "no item is approved" in nothing.out
    assert scene.web.page_loads() == loads and progress(plan_path)["state"] == "finished"


def test_apply_reads_the_approvals_in_turn_with_the_review_page(tmp_path: Path,
                                                                cli: Cli) -> None:
    """While the review page holds the plan's lock (writing approvals), `--apply` waits for
    its turn, then trashes by what was written, never by a plan read half-way."""
    scene = folder_scene(tmp_path, cli, small(4))
    plan_path, plan = scene.plan()
    for entry in plan["items"]:
        entry["approved"] = True
    planfile.write_raw(plan_path, plan)
    command = cli_command("reclaim", "--to", scene.target, "--apply", plan_path, "--config",
                          scene.config, "--state", scene.state)
    with planfile.locked(plan_path):
        process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + 60
        while not plan_path.with_name(plan_path.name + ".progress.json").exists():
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        time.sleep(1.5)  # the browser is up; without the lock it would be trashing now
        assert scene.web.trashed_ids() == []
        withdrawn = next(e for e in plan["items"] if e["google_url"] == scene.items["p3"].url)
        withdrawn["approved"] = False
        planfile.write_raw(plan_path, plan)
    out, _ = process.communicate(timeout=120)
    assert process.returncode == 0, out
    assert sorted(scene.trashed_roles()) == ["p1", "p2", "p4"]
    assert "no longer approved" in next(x for x in out.splitlines()
                                        if scene.items["p3"].url in x)


def test_the_daily_cap_counts_over_runs(tmp_path: Path, cli: Cli) -> None:
    scene = folder_scene(tmp_path, cli, small(4), daily_cap=2)
    plan, _ = scene.plan()
    first = scene.apply(plan)
    assert first.code == 0 and "daily cap of 2 reached" in first.out
    assert progress(plan)["stopped_by"] == "daily_cap"
    assert len(scene.web.trashed_ids()) == 2
    second = scene.apply(plan)
    assert second.code == 0 and "daily cap of 2 reached" in second.out
    assert len(scene.web.trashed_ids()) == 2
    assert scene.recorded_roles() == set(scene.trashed_roles())


@pytest.mark.parametrize("language", ["en", "de", "fr"])
def test_each_ui_language_and_an_item_known_by_its_date(tmp_path: Path, cli: Cli,
                                                        language: str) -> None:
    items = {**small(2), "undated_name": item("undated_name", 7)}
    scene = folder_scene(tmp_path, cli, items, language)
    scene.web.items[web_id(items["undated_name"])].title = None  # identified by its date
    plan, _ = scene.plan()
    done = scene.apply(plan)
    assert done.code == 0, done.out
    assert sorted(scene.trashed_roles()) == sorted(items)


def test_a_users_own_locator_file_follows_a_changed_page(tmp_path: Path, cli: Cli,
                                                         monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    changed = {**TEXTS["en"], "trash": "Bin it", "confirm": "Yes, bin it"}
    monkeypatch.setitem(TEXTS, "en", changed)
    scene = folder_scene(tmp_path, cli, small(2), retries=0)
    plan, _ = scene.plan()
    stale = scene.apply(plan)
    assert stale.code == 1 and scene.web.trashed_ids() == []  # Google changed its page
    own = tmp_path / "my-texts.json"
    own.write_text(json.dumps({
        "trash_button": {"role": "button", "names": ["Bin it"]},
        "confirm_button": {"role": "button", "names": ["Yes, bin it"]}}))
    scene.write_config(ui_texts_file=str(own))
    fixed = scene.apply(plan)
    assert fixed.code == 0, fixed.out
    assert sorted(scene.trashed_roles()) == ["p1", "p2"]


def test_list_trashed_shows_urls_dates_and_how_to_undo(tmp_path: Path, cli: Cli) -> None:
    scene = folder_scene(tmp_path, cli, small(2))
    plan, _ = scene.plan()
    assert scene.apply(plan).code == 0
    listed = scene.run("reclaim", "--list-trashed")
    assert listed.code == 0
    for truth in scene.items.values():
        line = next(x for x in listed.out.splitlines() if truth.url in x)
        assert truth.name in line and line[:4].isdigit()
    assert "photos.google.com/trash" in listed.out and "60 days" in listed.out
