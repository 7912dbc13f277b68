"""Issue 10's safety list, end to end on each gallery: a real import into the folder
library, the fake Immich and the fake PhotoPrism; the gallery then changed behind the
tool's back; a plan; and `--apply` driving real Chromium against the photos.google.com
imitation. What the imitation records as trashed is exactly the items that were safe,
and planning touched nothing anywhere."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CliResult
from tests.fakes.immich import FakeImmich
from tests.fakes.photoprism import APP_PASSWORD, FakePhotoPrism
from tests.reclaim_env import Cli, GallerySide, build_scene, item, web_id

SAFE = {"ok1", "ok2", "live_ok", "edited_ok", "album_ok", "slash"}
PAGE_REFUSES = {"other_page": "another item", "redirect": "another item",
                "no_info": "no file name or date"}
LOST_AFTER_PLAN = "lost_later"
READS = ("/assets/bulk-upload-check", "/search/metadata")  # Immich's reads sent as POST
KEPT_AT_PLAN = {"fav": "favorite", "recent": "recent", "kept_album": "keep_album",
                "archived": "archived", "missing": "missing", "changed": "mismatch",
                "live_gone": "missing", "edited_gone": "missing", "album_out": "albums"}


def roles() -> dict[str, Any]:
    recent = datetime.now(UTC) - timedelta(days=3)
    return {
        "ok1": item("ok1", 1), "ok2": item("ok2", 2),
        "live_ok": item("live_ok", 3, name="IMG_0003.JPG", live=".MOV"),
        "edited_ok": item("edited_ok", 4, edited="-edited"),
        "album_ok": item("album_ok", 5, albums=["Trip"]),
        "slash": item("slash", 6, title="Paris/London 6.jpg"),
        "fav": item("fav", 10, favorite=True),
        "recent": item("recent", 11, taken_at=recent.replace(microsecond=0)),
        "kept_album": item("kept_album", 12, albums=["Keep me"]),
        "archived": item("archived", 13, archived=True),
        "missing": item("missing", 14), "changed": item("changed", 15),
        "live_gone": item("live_gone", 16, name="IMG_0016.JPG", live=".MP4"),
        "edited_gone": item("edited_gone", 17, edited="-edited"),
        "album_out": item("album_out", 18, albums=["Trip"]),
        "other_page": item("other_page", 19), "redirect": item("redirect", 20),
        "no_info": item("no_info", 21), LOST_AFTER_PLAN: item(LOST_AFTER_PLAN, 22),
    }


@pytest.fixture(params=["folder", "immich", "photoprism"])
def gallery(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
            ) -> Iterator[tuple[str, GallerySide]]:
    if request.param == "folder":
        library = tmp_path / "library"
        yield f"folder:{library}", GallerySide("folder", None, library)
        return
    fake: Any
    if request.param == "immich":
        fake = FakeImmich()
        fake.start()
        monkeypatch.setenv("IMMICH_API_KEY", fake.api_key)
    else:
        fake = FakePhotoPrism()
        fake.start()
        monkeypatch.setenv("PHOTOPRISM_TOKEN", APP_PASSWORD)
    yield f"{request.param}:{fake.url}", GallerySide(request.param, fake, None)
    fake.stop()
    assert fake.rejected == [], fake.rejected
    assert fake.violations == [], fake.violations


def _snapshot(*roots: Path) -> dict[str, str]:
    found = {}
    for root in roots:
        for path in sorted(root.rglob("*")) if root.is_dir() else [root]:
            if path.is_file() and not path.is_symlink():
                found[str(path)] = hashlib.sha1(path.read_bytes()).hexdigest()
    return found


def test_only_what_is_safe_is_ever_trashed(tmp_path: Path, cli: Cli,
                                           gallery: tuple[str, GallerySide]) -> None:
    target, side = gallery
    scene = build_scene(tmp_path, cli, roles(), target, keep_albums=["KEEP ME"],
                        keep_archived=True)
    _change_gallery(scene, side)
    web = scene.web
    web.items[web_id(scene.items["other_page"])].shows = web_id(scene.items["ok1"])
    web.items[web_id(scene.items["redirect"])].redirect_to = web_id(scene.items["ok2"])
    web.items[web_id(scene.items["no_info"])].no_info = True

    before = _snapshot(scene.state, tmp_path / "library")
    loads, asked = web.page_loads(), len(side.fake.requests) if side.fake else 0
    plan_path, plan = scene.plan()
    assert web.page_loads() == loads and web.trashed_ids() == []  # planning never browses
    assert _snapshot(scene.state, tmp_path / "library") == before  # nor writes anything
    if side.fake is not None:  # and only reads the gallery
        for method, path, _ in side.fake.requests[asked:]:
            assert method == "GET" or path.endswith(READS), (method, path)
    decided = scene.roles(plan)
    for role, rule in KEPT_AT_PLAN.items():
        # PhotoPrism keeps a live photo's video inside the photo: with the video's file gone
        # the photo is still there, holding other files, which its verify calls a mismatch.
        allowed = {rule, "mismatch"} if role == "live_gone" else {rule}
        assert decided[role]["decision"] == "keep" and decided[role]["rule"] in allowed, role
    to_trash = SAFE | set(PAGE_REFUSES) | {LOST_AFTER_PLAN}
    assert {r for r, i in decided.items() if i["decision"] == "trash"} == to_trash
    assert "live video" in decided["live_gone"]["reason"]
    assert "edited copy" in decided["edited_gone"]["reason"]

    side.lose(scene.record(LOST_AFTER_PLAN).remote_id)  # the gallery loses it after the plan
    done = scene.apply(plan_path)
    assert done.code == 0, done.out + done.err
    assert sorted(scene.trashed_roles()) == sorted(SAFE)  # each once, nothing else
    assert scene.recorded_roles() == SAFE
    _check_explained(done, scene.items)
    for role in PAGE_REFUSES:
        outcome = scene.outcome(role)
        assert outcome is not None and outcome["outcome"] == "kept", role
        assert PAGE_REFUSES[role] in outcome["detail"]
    progress = json.loads(plan_path.with_name(plan_path.name + ".progress.json").read_text())
    assert progress | {"pid": 0, "updated": ""} == progress | {
        "plan_id": plan["id"], "pid": 0, "state": "finished", "total": len(to_trash),
        "done": len(to_trash), "trashed": len(SAFE), "kept": len(to_trash) - len(SAFE),
        "failed": 0, "current": None, "updated": ""}


def _change_gallery(scene: Any, side: GallerySide) -> None:
    side.lose(scene.record("missing").remote_id)
    side.change(scene.record("changed").remote_id)
    live = scene.record("live_gone")
    side.lose_file(live.live_video_id, live.live_video_sha1)
    truth = scene.items["edited_gone"]
    from importer.state import State

    with State(scene.state, readonly=True) as state:
        variant = state.get(f"{truth.url}#variant:{truth.edited_name}")
        assert variant is not None
        variant_id = variant.on(scene.target_key()).remote_id
    side.lose(variant_id)
    album = scene.album_remote("album_out", "Trip")
    side.leave_album(album, scene.record("album_out").remote_id)


def _check_explained(done: CliResult, items: dict[str, Any]) -> None:
    lines = done.out.splitlines()
    for role, why in PAGE_REFUSES.items():
        line = next(x for x in lines if items[role].url in x)
        assert line.startswith("kept") and why in line, line
    line = next(x for x in lines if items[LOST_AFTER_PLAN].url in x)
    assert line.startswith("kept") and "no longer eligible" in line and "missing" in line
