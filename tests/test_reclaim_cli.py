"""The reclaim and login commands as a user meets them: the plan file and its summary,
--limit and --older-than, the latest plan, login (visible and with cookies.txt), and every
mistake answered in one line with exit 2, nothing trashed."""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from importer.config import build_settings
from importer.reclaim import ReclaimError
from importer.reclaim.browser import browser
from importer.reclaim.candidates import candidate
from importer.reclaim.login import check_session, login_visible, read_cookies
from importer.reclaim.planfile import latest_plan, load_plan, plan_dir
from importer.reclaim.texts import load_texts
from importer.state import ItemRecord, State, TargetRecord
from tests.fakes.gphotos_web import GooglePhotosWeb
from tests.reclaim_env import Cli, Scene, build_scene, item


def scene_of(tmp_path: Path, cli: Cli, n: int = 4, **kw: Any) -> Scene:
    items = {f"p{i}": item(f"p{i}", i, **kw) for i in range(1, n + 1)}
    return build_scene(tmp_path, cli, items, f"folder:{tmp_path / 'library'}", sign_in=False)


def test_plan_lands_in_the_state_directory_private_and_complete(tmp_path: Path,
                                                                cli: Cli) -> None:
    scene = scene_of(tmp_path, cli, 3)
    done = scene.run("reclaim", "--to", scene.target)
    assert done.code == 0, done.err
    path = latest_plan(scene.state)
    assert path is not None and path.parent == plan_dir(scene.state)
    assert f"Plan written: {path}" in done.out and "Nothing was trashed" in done.out
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    data = json.loads(path.read_text())
    assert set(data) == {"id", "created", "target", "state", "older_than_days", "items"}
    assert data["state"] == str(scene.state) and data["older_than_days"] == 30
    for entry, truth in zip(data["items"], scene.items.values(), strict=True):
        assert entry["google_url"] == truth.url and entry["title"] == truth.name
        assert entry["decision"] == "trash" and entry["size"] == len(truth.content())
        assert datetime.fromisoformat(entry["taken_at"]) == truth.taken_at
        assert (scene.tmp / "library" / entry["gallery_ref"]).is_file()
    freed = sum(len(t.content()) for t in scene.items.values())
    assert f"would free {freed / 1000:.1f} KB" in done.out
    assert scene.web.page_loads() == 0


def test_limit_older_than_and_the_latest_plan(tmp_path: Path, cli: Cli) -> None:
    scene = scene_of(tmp_path, cli, 5)
    _, limited = scene.plan("--limit", "2")
    assert [i["rule"] for i in limited["items"]] == ["eligible"] * 2 + ["limit"] * 3
    days = (datetime.now(UTC) - scene.items["p3"].taken_at).days
    _, aged = scene.plan("--older-than", str(days))
    assert [i["decision"] for i in aged["items"]] == ["trash"] * 3 + ["keep"] * 2
    first = scene.run("reclaim", "--to", scene.target)
    second = scene.run("reclaim", "--to", scene.target)
    assert first.code == second.code == 0
    assert latest_plan(scene.state) is not None
    assert str(latest_plan(scene.state)) in second.out  # two plans in one second: both kept
    assert len(list(plan_dir(scene.state).glob("plan-*.json"))) == 2


@pytest.mark.parametrize(("args", "message"), [
    (["--apply", "{tmp}/nowhere.json"], "cannot read the plan"),
    (["--apply", "{tmp}/garbage.json"], "not a plan file"),
    (["--apply"], "no plan in"),
    (["--apply", "x", "--list-trashed"], "either --apply or --list-trashed"),
    (["--limit", "-1"], "--limit"),
])
def test_mistakes_get_one_line_and_exit_2(tmp_path: Path, cli: Cli, args: list[str],
                                          message: str) -> None:
    scene = scene_of(tmp_path, cli, 1)
    (tmp_path / "garbage.json").write_text("{not json")
    done = scene.run("reclaim", "--to", scene.target, *(a.format(tmp=tmp_path) for a in args))
    assert done.code == 2 and message in done.err, done.err
    assert len(done.err.strip().splitlines()) == 1 and "Traceback" not in done.err
    assert scene.web.page_loads() == 0


def test_a_plan_for_another_gallery_or_a_broken_setting_is_refused(tmp_path: Path,
                                                                  cli: Cli) -> None:
    scene = scene_of(tmp_path, cli, 1)
    plan, _ = scene.plan()
    other = scene.run("reclaim", "--to", f"folder:{tmp_path / 'other'}", "--apply", plan)
    assert other.code == 2 and "the plan is for folder:" in other.err
    for bad, message in (({"browser": "/no/such/chromium"}, "does not exist"),
                         ({"ui_texts_file": str(tmp_path / "none.json")}, "none.json"),
                         ({"ui_language": "xx"}, "reclaim.ui_language")):
        scene.write_config(**bad)
        done = scene.apply(plan)
        assert done.code == 2 and message in done.err and len(done.err.splitlines()) == 1
        scene.settings["reclaim"].pop(next(iter(bad)))
    assert scene.web.trashed_ids() == []


def test_a_broken_texts_file_names_the_key(tmp_path: Path) -> None:
    own = tmp_path / "t.json"
    own.write_text(json.dumps({"trash_button": {"role": "button", "css": "x"}}))
    with pytest.raises(ReclaimError, match=r"t\.json: `trash_button`.*exactly one"):
        load_texts("en", str(own))
    own.write_text(json.dumps({"months": [["jan"]]}))
    with pytest.raises(ReclaimError, match="12 lists"):
        load_texts("de", str(own))


def test_cookies_txt_keeps_googles_live_cookies_and_names_bad_lines(tmp_path: Path) -> None:
    now = 1_700_000_000.0
    good = tmp_path / "cookies.txt"
    good.write_text("# Netscape HTTP Cookie File\n\n"
                    f".google.com\tTRUE\t/\tTRUE\t{int(now) + 99}\tSID\tabc\n"
                    f"#HttpOnly_accounts.google.com\tFALSE\t/\tTRUE\t{int(now) + 99}\tLSID\tx\n"
                    f".google.com\tTRUE\t/\tTRUE\t{int(now) - 1}\tOLD\tgone\n"
                    ".evil.example\tTRUE\t/\tFALSE\t0\tSID\tnot-google\n")
    cookies = read_cookies(good, ("google.com",), now)
    assert [(c["name"], c["domain"], c["httpOnly"]) for c in cookies] == [
        ("SID", ".google.com", False), ("LSID", "accounts.google.com", True)]
    bad = tmp_path / "bad.txt"
    bad.write_text("# Netscape\n.google.com\tTRUE\t/\n")
    with pytest.raises(ReclaimError, match=r"bad\.txt:2: not a cookies\.txt line"):
        read_cookies(bad, ("google.com",), now)
    none = tmp_path / "none.txt"
    none.write_text(".evil.example\tTRUE\t/\tFALSE\t0\tSID\tx\n")
    with pytest.raises(ReclaimError, match="no current cookies"):
        read_cookies(none, ("google.com",), now)


def test_login_waits_for_the_user_to_sign_in(tmp_path: Path) -> None:
    web = GooglePhotosWeb(auto_sign_in=True)  # "the user" types into the sign-in page
    url = web.start()
    try:
        settings = build_settings(None, {"state": str(tmp_path / "state.sqlite")})
        settings = _with_reclaim(settings, base_url=url, timeout_seconds=5.0)
        assert login_visible(settings, Console(file=None), headless=True, wait=30) == 0
        with browser(settings) as context:  # the sign-in outlives the browser
            assert check_session(context, load_texts("en"), url)
        assert (tmp_path / "google-profile").is_dir()
        assert stat.S_IMODE((tmp_path / "google-profile").stat().st_mode) == 0o700
    finally:
        web.stop()


def test_login_gives_up_in_one_line_when_nobody_signs_in(tmp_path: Path, cli: Cli) -> None:
    web = GooglePhotosWeb()
    url = web.start()
    try:
        settings = _with_reclaim(build_settings(None, {"state": str(tmp_path / "s.sqlite")}),
                                 base_url=url)
        with pytest.raises(ReclaimError, match="not signed in after"):
            login_visible(settings, Console(file=None), headless=True, wait=1)
        stale = web.write_cookies_txt(tmp_path / "c.txt", token="expired-session")
        config = tmp_path / "c.yaml"
        config.write_text(f"reclaim:\n  base_url: {url}\n")
        done = cli("login", "google", "--cookies", stale, "--config", config,
                   "--state", tmp_path / "s.sqlite")
        assert done.code == 2 and "still asks to sign in" in done.err
    finally:
        web.stop()


def test_state_gaps_keep_the_item(tmp_path: Path) -> None:
    target = "folder:/lib"
    url = "https://photos.google.com/photo/AF1"
    with State(tmp_path / "state.sqlite") as state:
        done = TargetRecord("imported", "2020-01-01T00:00:00+00:00", "2020/a.jpg", "a" * 40,
                            live_video_id="2020/a.mov")
        state.put(ItemRecord(url, "a.jpg", targets={target: done}))
        only_variant = ItemRecord(url + "2#variant:b-edited.jpg", "b-edited.jpg",
                                  google_url=url + "2")
        found = candidate(state, target, url, [ItemRecord(url, "a.jpg", google_url=url,
                                                          targets={target: done})])
        assert found.problem is not None and found.problem.rule == "live_video"
        orphan = candidate(state, target, url + "2", [only_variant])
        assert orphan.problem is not None and orphan.problem.rule == "original"


def test_plan_files_load_what_the_review_page_writes(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    base = {"id": "1", "created": "x", "target": "folder:/l", "state": "/s",
            "older_than_days": 30}
    entries = [{"identity": f"u{i}", "google_url": f"u{i}", "decision": d, "extra": 1}
               for i, d in enumerate(["trash", "trash", "keep", "trash"])]
    path.write_text(json.dumps({**base, "items": entries}))
    assert [i.identity for i in load_plan(path).to_trash()] == ["u0", "u1", "u3"]
    entries[1]["approved"] = True
    entries[2]["approved"] = True  # a kept item is never trashed, approved or not
    entries[3]["approved"] = None
    path.write_text(json.dumps({**base, "items": entries}))
    assert [i.identity for i in load_plan(path).to_trash()] == ["u1"]
    entries[0]["decision"] = "delete"
    path.write_text(json.dumps({**base, "items": entries}))
    with pytest.raises(ReclaimError, match="item 0: decision"):
        load_plan(path)


def _with_reclaim(settings: Any, **changes: Any) -> Any:
    from dataclasses import replace

    return replace(settings, reclaim=replace(settings.reclaim, **changes))




def test_the_readme_config_sample_is_valid_and_shows_the_defaults(tmp_path: Path) -> None:
    from importer.config import ReclaimSettings, load_file
    from tests.conftest import REPO

    text = (REPO / "README.md").read_text(encoding="utf-8")
    start = text.index("```yaml", text.index("### Configuration file")) + len("```yaml")
    path = tmp_path / "readme.yaml"
    path.write_text(text[start:text.index("```", start)], encoding="utf-8")
    loaded = load_file(path, {"IMMICH_API_KEY": "k", "PHOTOPRISM_TOKEN": "t"})
    assert loaded.reclaim == ReclaimSettings()


def test_login_without_a_display_points_to_cookies(tmp_path: Path, cli: Cli,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    done = cli("login", "google", "--state", tmp_path / "state.sqlite")
    assert done.code == 2 and "--cookies FILE" in done.err
    assert len(done.err.strip().splitlines()) == 1


def test_login_and_reclaim_find_the_same_profile(tmp_path: Path) -> None:
    from importer.reclaim.browser import profile_dir

    library = tmp_path / "lib"
    by_target = build_settings(None, {"to": f"folder:{library}"})
    assert profile_dir(by_target) == library / ".gphotos-importer" / "google-profile"
    by_state = build_settings(None, {"state": str(tmp_path / "s" / "state.sqlite")})
    assert profile_dir(by_state) == tmp_path / "s" / "google-profile"
    chosen = _with_reclaim(by_state, profile_dir=str(tmp_path / "mine"))
    assert profile_dir(chosen) == tmp_path / "mine"
