"""Issue 11: previews for the review page, from each gallery (fake Immich and PhotoPrism
served faithfully: auth checked, unknown ids refused) and from the folder library, which
never serves anything outside itself."""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from adapters import open_thumbnails
from adapters.base import AuthError, ThumbnailMissing
from adapters.folder.thumbnails import FolderThumbnails
from adapters.immich.thumbnails import ImmichThumbnails
from adapters.photoprism.client import Credentials
from adapters.photoprism.thumbnails import PhotoPrismThumbnails
from importer.config import build_settings
from importer.reclaim.planfile import latest_plan, read_raw
from importer.state import State
from importer.web import start_in_thread
from tests.conftest import CliResult, originals
from tests.exportgen import make_items, unique_mp4, write_folder
from tests.fakes.immich import FakeImmich
from tests.fakes.photoprism import APP_PASSWORD, PASSWORD, USERNAME, FakePhotoPrism


def imported(tmp_path: Path, cli: Callable[..., CliResult], target: str) -> dict[str, str]:
    """Import a small generated export into `target`; Google URL -> remote id."""
    export = write_folder(tmp_path / "export", make_items(4, seed=11, albums=1))
    state = tmp_path / "state.sqlite"
    result = cli("import", *export.sources, "--to", target, "--state", state)
    assert result.code == 0, result.err
    with State(state, readonly=True) as opened:
        records = list(opened.items())
    ids = {r.identity: r.targets[next(iter(r.targets))].remote_id for r in records}
    assert len(ids) == 4
    return {k: v for k, v in ids.items() if v is not None}


def picture(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


# -- Immich --------------------------------------------------------------------------------


def test_immich_thumbnails_are_the_assets_previews(
        tmp_path: Path, cli: Callable[..., CliResult], immich: FakeImmich) -> None:
    ids = imported(tmp_path, cli, f"immich:{immich.url}")
    thumbs = ImmichThumbnails(immich.url, immich.api_key)
    try:
        for asset_id in ids.values():
            data, mime = thumbs.thumbnail(asset_id)
            assert mime == "image/webp"
            assert picture(data).format == "WEBP"
        with pytest.raises(ThumbnailMissing):
            thumbs.thumbnail("6f1c1a52-0b3e-4a43-9d39-3c1b1c7e2f10")  # well-formed, unknown
        sent = immich.count("GET", "/api/assets/")
        with pytest.raises(ThumbnailMissing):
            thumbs.thumbnail("../../server/version")  # never reaches the server
        assert immich.count("GET", "/api/assets/") == sent
    finally:
        thumbs.close()


def test_immich_thumbnails_name_the_missing_permission(
        tmp_path: Path, cli: Callable[..., CliResult], immich: FakeImmich) -> None:
    asset_id = next(iter(imported(tmp_path, cli, f"immich:{immich.url}").values()))
    no_view = immich.add_key(immich.user, ("asset.read", "asset.upload"))
    with closing(ImmichThumbnails(immich.url, no_view)) as thumbs, pytest.raises(AuthError) as err:
        thumbs.thumbnail(asset_id)
    assert "asset.view" in str(err.value) and no_view not in str(err.value)
    wrong = ImmichThumbnails(immich.url, "key-wrong")
    with closing(wrong) as thumbs, pytest.raises(AuthError) as err:
        thumbs.thumbnail(asset_id)
    assert "key-wrong" not in str(err.value)


# -- PhotoPrism ----------------------------------------------------------------------------

@pytest.fixture
def photoprism(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakePhotoPrism]:
    server = FakePhotoPrism()
    monkeypatch.setenv("PHOTOPRISM_TOKEN", APP_PASSWORD)
    with server:
        yield server
    assert server.rejected == [] and server.violations == []


@pytest.mark.parametrize("login", ["app password", "user session"])
def test_photoprism_thumbnails_by_uid_and_by_hash(
        tmp_path: Path, cli: Callable[..., CliResult], photoprism: FakePhotoPrism,
        login: str) -> None:
    uids = imported(tmp_path, cli, f"photoprism:{photoprism.url}")
    credentials = (Credentials(APP_PASSWORD) if login == "app password"
                   else Credentials(None, USERNAME, PASSWORD))
    thumbs = PhotoPrismThumbnails(photoprism.url, credentials)
    try:
        for uid in uids.values():
            data, mime = thumbs.thumbnail(uid)
            assert mime == "image/jpeg" and max(picture(data).size) <= 224
            photo = photoprism.library.photos[uid]
            file_hash = next(f.hash for f in photoprism.library.files_of(photo.uid))
            assert thumbs.thumbnail(file_hash)[0] == data
        with pytest.raises(ThumbnailMissing):
            thumbs.thumbnail("pzzzzzzzzzzzzzzz")
        with pytest.raises(ThumbnailMissing):
            thumbs.thumbnail("../config")
    finally:
        thumbs.close()


def test_photoprism_refuses_a_wrong_preview_token(photoprism: FakePhotoPrism) -> None:
    """The fake behaves like PhotoPrism: no bearer needed, but the token must be right."""
    answer = httpx.get(f"{photoprism.url}/api/v1/t/{'0' * 40}/wrongtoken/tile_224")
    assert answer.status_code == 403 and answer.headers["content-type"] == "image/svg+xml"
    answer = httpx.get(f"{photoprism.url}/api/v1/t/{'0' * 40}/{photoprism.preview_token}/"
                       "tile_224")
    assert answer.status_code == 200 and answer.headers["content-type"] == "image/svg+xml"


# -- folder --------------------------------------------------------------------------------

@pytest.fixture
def library(tmp_path: Path) -> Path:
    root = tmp_path / "library"
    (root / "2020" / "05").mkdir(parents=True)
    Image.new("RGB", (8, 6), (200, 10, 10)).save(root / "2020" / "05" / "a.jpg", "JPEG")
    (root / "2020" / "05" / "b.mp4").write_bytes(unique_mp4("b"))
    (tmp_path / "secret.jpg").write_bytes((root / "2020" / "05" / "a.jpg").read_bytes())
    os.symlink(tmp_path / "secret.jpg", root / "2020" / "05" / "escape.jpg")
    return root


def test_folder_serves_images_as_they_are_and_placeholders_for_the_rest(library: Path) -> None:
    thumbs = FolderThumbnails(library)
    data, mime = thumbs.thumbnail("2020/05/a.jpg")
    assert mime == "image/jpeg" and data == (library / "2020/05/a.jpg").read_bytes()
    data, mime = thumbs.thumbnail("2020/05/b.mp4")
    assert mime == "image/svg+xml" and b"MP4" in data and b"<script" not in data
    for outside in ("2020/05/escape.jpg", "../secret.jpg", "/etc/passwd", "", "2020/05/none"):
        with pytest.raises(ThumbnailMissing):
            thumbs.thumbnail(outside)


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(["..", ".", "2020", "05", "a.jpg", "/", "secret.jpg",
                                 "escape.jpg", "%2e%2e", "\\"]), max_size=6))
def test_folder_never_serves_a_file_outside_the_library(library: Path,
                                                        parts: list[str]) -> None:
    remote_id = "/".join(parts)
    secret = (library.parent / "secret.jpg").read_bytes()
    try:
        data, _ = FolderThumbnails(library).thumbnail(remote_id)
    except ThumbnailMissing:
        return
    resolved = (library / remote_id).resolve()
    assert resolved.is_relative_to(library.resolve())
    assert remote_id.strip("/") and not remote_id.startswith("/")
    assert data == resolved.read_bytes() or data.startswith(b"<svg")
    assert resolved != (library.parent / "secret.jpg").resolve() or data != secret


# -- the page, with the plan `reclaim` really writes ---------------------------------------

@pytest.mark.parametrize("kind", ["folder", "immich", "photoprism"])
def test_page_thumbnails_follow_the_gallery_refs_reclaim_writes(
        tmp_path: Path, cli: Callable[..., CliResult], request: pytest.FixtureRequest,
        kind: str) -> None:
    """`reclaim --to TARGET` records each item's gallery reference (a folder path, an
    Immich asset id, a PhotoPrism photo UID); the page's thumbnail proxy serves each one
    as the gallery's own preview, never the placeholder."""
    server = None if kind == "folder" else request.getfixturevalue(kind)
    target = f"folder:{tmp_path / 'library'}" if server is None else f"{kind}:{server.url}"
    imported(tmp_path, cli, target)
    state = tmp_path / "state.sqlite"
    made = cli("reclaim", "--to", target, "--state", state, "--older-than", "0")
    assert made.code == 0, made.err
    plan_path = latest_plan(state)
    assert plan_path is not None
    plan = read_raw(plan_path)
    refs = [item["gallery_ref"] for item in plan["items"]]
    assert len(refs) == 4 and all(isinstance(ref, str) and ref for ref in refs)
    known = ({str(p.relative_to(tmp_path / "library")) for p in originals(tmp_path / "library")}
             if server is None else set(server.assets) if kind == "immich"
             else set(server.library.photos))
    assert set(refs) <= known  # a library path, an Immich asset id, a PhotoPrism UID
    settings = build_settings(None, {"state": str(state), "to": target})
    settings = replace(settings, web=replace(settings.web, port=0))
    handle = start_in_thread(settings)
    direct = open_thumbnails(plan["target"], settings)
    try:
        for index, ref in enumerate(refs):
            answer = httpx.get(f"{handle.url}thumbs/{plan['id']}/{index}", timeout=30)
            assert answer.status_code == 200
            mime = answer.headers["content-type"].split(";")[0]
            assert mime != "image/svg+xml", f"placeholder for {ref!r}"
            assert picture(answer.content).size[0] > 0
            assert (answer.content, mime) == direct.thumbnail(ref)
    finally:
        direct.close()
        handle.stop()
