"""Issue 11 end to end, in real Chromium (Debian's, driven by Playwright) against the page
served by the test, on a state made by a real import of a generated export.

GPI_UPDATE_SCREENSHOTS=1 writes the screenshots into docs/ (committed, linked from the
README); otherwise they go to a temporary folder, so a test run leaves the tree clean.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from importer.config import build_settings
from importer.reclaim.planfile import latest_plan, plan_dir
from importer.state import State
from importer.units import readable_bytes
from importer.web import start_in_thread
from importer.web.plans import month_of
from importer.web.server import WebHandle
from tests.conftest import REPO, CliResult, cli_command
from tests.exportgen import TruthItem, make_items, make_quirky_items, write_folder, write_parts
from tests.fakes.immich import FakeImmich
from tests.reclaim_env import Scene, build_scene, item
from tests.web_helpers import serving

CHROMIUM = "/usr/bin/chromium"


@dataclass
class Site:
    handle: WebHandle
    state: Path
    library: Path
    work: Path

    def url(self, path: str = "") -> str:
        return self.handle.url.rstrip("/") + path


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    work = tmp_path_factory.mktemp("web-e2e")
    export = write_parts(work / "export", make_quirky_items(40, seed=3), "zip", 2, extras=True)
    library = work / "library"
    done = subprocess.run(cli_command("import", *export.sources, "--to", f"folder:{library}"),
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    state = library / ".gphotos-importer" / "state.sqlite"
    with serving(state) as handle:
        yield Site(handle, state, library, work)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-background-networking"])
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    tab = context.new_page()
    yield tab
    context.close()


def screenshot(page: Page, name: str, tmp_path: Path, full_page: bool = True) -> None:
    folder = REPO / "docs" if os.environ.get("GPI_UPDATE_SCREENSHOTS") == "1" else tmp_path
    folder.mkdir(exist_ok=True)
    path = folder / f"web-{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000


def state_counts(state: Path) -> dict[str, Counter[str]]:
    counts: dict[str, Counter[str]] = {}
    with State(state, readonly=True) as opened:
        for record in opened.items():
            for target, on_target in record.targets.items():
                counts.setdefault(target, Counter())[on_target.outcome] += 1
    return counts


def test_overview_shows_the_counts_the_state_holds(site: Site, page: Page,
                                                   tmp_path: Path) -> None:
    page.goto(site.url("/"))
    truth = state_counts(site.state)
    folder = f"folder:{site.library.absolute()}"
    assert folder in truth
    for target, counts in truth.items():
        card = page.locator(f'article.target[data-target="{target}"]')
        shown = {row.get_attribute("data-outcome"): int(row.locator("td.num").inner_text())
                 for row in card.locator("tr[data-outcome]").all()}
        shown.pop("verified", None)
        assert shown == dict(counts)
        assert int(card.locator('[data-count="items"]').inner_text()) == sum(counts.values())
    with State(site.state, readonly=True) as opened:
        items = sum(1 for _ in opened.items())
    assert int(page.locator("#item-total").inner_text()) == items
    assert page.locator("table.runs tbody tr").count() >= 1
    screenshot(page, "overview", tmp_path)


def test_a_running_imports_progress_advances_on_the_page(site: Site, page: Page,
                                                         tmp_path: Path) -> None:
    """A slow gallery (every request of the fake Immich takes 0.3 s) and one worker: the
    import runs for several page refreshes (one a second) in a subprocess while the page,
    never reloaded, follows it. At 0.1 s the upload phase took about 3 s, and on a busy CI
    machine it once fell between two refreshes."""
    export = write_folder(tmp_path / "slow-export", make_items(30, seed=8))
    with FakeImmich("v3") as immich:
        assert isinstance(immich, FakeImmich)
        immich.faults.delay = 0.3
        target = f"immich:{immich.url}"
        page.goto(site.url("/"))
        page.evaluate("window.__notReloaded = true")
        process = subprocess.Popen(
            cli_command("import", *export.sources, "--to", target, "--state", site.state,
                        "--workers", "1"),
            env={**os.environ, "IMMICH_API_KEY": immich.api_key},
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        seen = watch_import(page, target, process)
        assert process.wait(timeout=120) == 0, process.stderr.read() if process.stderr else ""
    running = [done for state, done in seen if state == "running"]
    assert len(set(running)) >= 3, seen  # several distinct, growing values while it ran
    assert running == sorted(running)
    card = page.locator(f'article.import[data-target="{target}"]')
    card.locator('.badge.finished').wait_for(timeout=15_000)
    done = int(card.get_attribute("data-done") or 0)
    assert done == int(card.locator(".total").inner_text()) >= 30  # every file accounted
    page.locator(f'article.target[data-target="{target}"]').wait_for(timeout=15_000)
    page.locator("table.runs tbody tr", has_text=target).wait_for(timeout=15_000)
    assert page.evaluate("window.__notReloaded") is True
    screenshot(page, "overview-running", tmp_path)


def watch_import(page: Page, target: str, process: subprocess.Popen[str]
                 ) -> list[tuple[str, int]]:
    seen: list[tuple[str, int]] = []
    card = page.locator(f'article.import[data-target="{target}"]')
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if card.count():
            state = card.get_attribute("data-state") or ""
            seen.append((state, int(card.get_attribute("data-done") or 0)))
            if state != "running" and process.poll() is not None:
                break
        page.wait_for_timeout(250)
    return seen


def test_problems_page_lists_the_unreadable_file_with_its_reason(
        site: Site, page: Page, tmp_path: Path) -> None:
    page.goto(site.url("/problems"))
    group = page.locator('section.group[data-outcome="unreadable"][data-group="zero-byte file"]')
    assert group.count() == 1
    row = group.locator("tr", has_text="EMPTY_1.jpg")
    assert row.count() == 1 and "zero-byte file" in row.inner_text()
    assert page.locator('section.group[data-outcome="unmatched json"]').count() >= 1
    screenshot(page, "problems", tmp_path)
    page.fill('input[name="text"]', "EMPTY_1")
    page.click('form.filters button[type="submit"]')
    assert page.locator("td.file").all_inner_texts() == [
        t for t in page.locator("td.file").all_inner_texts() if "EMPTY_1.jpg" in t]
    assert page.locator("#problem-shown").inner_text() == "1"
    with page.expect_download() as download:
        page.click("#csv")
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    assert len(rows) == 1
    assert rows[0]["outcome"] == "unreadable" and rows[0]["reason"] == "zero-byte file"
    assert rows[0]["file"].endswith("EMPTY_1.jpg")


def plan_items(path: Path) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))["items"]
    return items


# -- the reclaim review, against the real `reclaim` and the photos.google.com imitation ----

MONTHS = {"jun": (6, (2, 9, 17)), "jul": (7, (3, 8, 14, 27)), "sep": (9, (5, 21))}


def reclaim_items() -> dict[str, TruthItem]:
    """Old photos over three months, plus two `reclaim` keeps: a favorite (in July) and
    one taken three days ago."""
    items: dict[str, TruthItem] = {}
    for prefix, (month, days) in MONTHS.items():
        for n, day in enumerate(days, 1):
            items[f"{prefix}{n}"] = item(f"{prefix}{n}", len(items) + 1,
                                         taken_at=datetime(2019, month, day, 12, tzinfo=UTC))
    items["fav"] = item("fav", 20, taken_at=datetime(2019, 7, 20, 12, tzinfo=UTC),
                        favorite=True)
    items["new"] = item("new", 21, taken_at=datetime.now(UTC) - timedelta(days=3))
    return items


@dataclass
class ReclaimSite:
    scene: Scene
    handle: WebHandle
    plan: Path

    def url(self, path: str = "") -> str:
        return self.handle.url.rstrip("/") + path

    def role(self, entry: dict[str, Any]) -> str:
        return next(r for r, t in self.scene.items.items() if t.url == entry["google_url"])


def command_line(*args: str | Path) -> CliResult:
    """The command line in a child process: this one runs Playwright for the page already,
    and `login` (Playwright too) cannot share its thread."""
    done = subprocess.run(cli_command(*args), capture_output=True, text=True, check=False)
    return CliResult(done.returncode, done.stdout, done.stderr)


@pytest.fixture
def reclaim_site(tmp_path: Path) -> Iterator[ReclaimSite]:
    """A folder import, the imitation holding the same items, a signed-in profile, the plan
    `reclaim --to` writes into its default folder, and the page served with that config (so
    its apply button runs `reclaim --apply … --config`)."""
    scene = build_scene(tmp_path, command_line, reclaim_items(),
                        f"folder:{tmp_path / 'library'}")
    made = scene.run("reclaim", "--to", scene.target)
    assert made.code == 0, made.err
    plan = latest_plan(scene.state)
    assert plan is not None and plan.parent == plan_dir(scene.state)
    settings = build_settings(scene.config, {"state": str(scene.state), "to": scene.target})
    handle = start_in_thread(replace(settings, web=replace(settings.web, port=0)),
                             config_file=scene.config)
    try:
        yield ReclaimSite(scene, handle, plan)
    finally:
        handle.stop()
        scene.web.stop()


def test_approving_a_month_changes_exactly_those_items_then_apply_trashes_them(
        reclaim_site: ReclaimSite, page: Page, tmp_path: Path) -> None:
    site, month = reclaim_site, "2019-07"
    before = plan_items(site.plan)
    assert sorted(site.role(i) for i in before if i["decision"] == "keep") == ["fav", "new"]
    in_month = [n for n, i in enumerate(before) if i["decision"] == "trash"
                and month_of(i) == month]
    assert sorted(site.role(before[n]) for n in in_month) == ["jul1", "jul2", "jul3", "jul4"]
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(site.url("/reclaim"))
    details = page.locator(f'details.month[data-month="{month}"]')
    favorite = details.locator('.tile[data-decision="keep"]')
    kept = next(i for i in before if site.role(i) == "fav")
    assert favorite.locator(".reason").inner_text() == f"Kept: {kept['reason']}"
    details.locator('button[data-action="approve"][data-scope="month"]').click()
    details.locator('[data-month-count="approved"]').filter(has_text="4").wait_for()
    after = plan_items(site.plan)
    changed = [n for n, (a, b) in enumerate(zip(before, after, strict=True)) if a != b]
    assert changed == in_month
    assert all(after[n] == {**before[n], "approved": True} for n in changed)
    approved_bytes = sum(before[n]["size"] for n in in_month)
    assert page.locator('[data-total="approved_bytes"]').inner_text() == \
        readable_bytes(approved_bytes)

    # Reject one item of that month: it stays in Google.
    tiles = details.locator('.tile[data-decision="trash"]')
    rejected = int(tiles.first.get_attribute("data-index") or -1)
    tiles.first.locator('button[data-action="reject"]').click()
    page.locator(f'.tile[data-index="{rejected}"][data-approved="false"]').wait_for()
    approved = plan_items(site.plan)
    assert approved[rejected] == {**before[rejected], "approved": False}
    details.scroll_into_view_if_needed()
    screenshot(page, "reclaim", tmp_path, full_page=False)

    assert site.scene.web.trashed_ids() == []  # approving touched nothing in Google
    expected = sorted(site.role(before[n]) for n in in_month if n != rejected)
    page.locator("#apply-button").click()
    page.locator('#apply .apply[data-state="finished"]').wait_for(timeout=120_000)
    assert sorted(site.scene.trashed_roles()) == expected  # each once, nothing else
    assert site.scene.recorded_roles() == set(expected)
    assert plan_items(site.plan) == approved  # apply only reads the plan
    assert page.locator("#apply .trashed").inner_text() == str(len(expected))
    page.locator("#apply").scroll_into_view_if_needed()
    screenshot(page, "reclaim-applied", tmp_path, full_page=False)


def test_approve_and_reject_everything(reclaim_site: ReclaimSite, page: Page) -> None:
    plan = reclaim_site.plan
    before = plan_items(plan)
    trash = [n for n, i in enumerate(before) if i["decision"] == "trash"]
    assert len(trash) == 9
    page.goto(reclaim_site.url("/reclaim"))
    plan_id = json.loads(plan.read_text(encoding="utf-8"))["id"]
    assert page.locator("#plan").get_attribute("data-plan") == plan_id
    for verdict, label in ((True, "approve"), (False, "reject")):
        page.click(f'#plan > .actions button[data-action="{label}"]')
        page.locator('[data-total="approved"]').filter(
            has_text=str(len(trash) if verdict else 0)).wait_for()
        after = plan_items(plan)
        assert [n for n, i in enumerate(after) if i.get("approved") is verdict] == trash
        assert all("approved" not in after[n] for n, i in enumerate(before)
                   if i["decision"] == "keep")
        assert page.locator("#apply-button").is_disabled() is (not verdict)
    assert reclaim_site.scene.web.trashed_ids() == []
