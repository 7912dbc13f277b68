"""`import --from picker` end to end through the command line, against the fake Google and
the fake Immich / a folder library: what lands, a re-run that downloads nothing, and a
later Takeout of the same items completing them without a second copy."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import piexif
import pytest

from importer.state import State
from tests.conftest import CliResult, library_entries, originals
from tests.exportgen import TruthItem, unique_jpeg, unique_mp4, write_folder
from tests.fakes.google_picker import FakeGooglePhotos, LibraryItem
from tests.fakes.immich import FakeImmich
from tests.immich_server import Server

PHONE_ZONE = timezone(timedelta(hours=2))


def truth() -> list[TruthItem]:
    """Three photos and a video as Google holds them (the Takeout's view)."""
    base = "https://photos.google.com/photo/AF1QipPick"
    return [
        TruthItem("IMG_20210704_153000.jpg", f"{base}0", datetime(2021, 7, 4, 13, 30, tzinfo=UTC),
                  location=(38.7223, -9.1393), description="Tram 28", favorite=True,
                  albums=["Lisbon"]),
        TruthItem("IMG_20210705_101500.jpg", f"{base}1", datetime(2021, 7, 5, 8, 15, tzinfo=UTC),
                  location=(38.6916, -9.2160), albums=["Lisbon", "Towers"]),
        TruthItem("scan_0001.jpg", f"{base}2", datetime(2019, 3, 2, 9, 0, tzinfo=UTC),
                  archived=True),
        TruthItem("VID_20210706_200000.mp4", f"{base}3",
                  datetime(2021, 7, 6, 18, 0, tzinfo=UTC), location=(38.71, -9.13),
                  description="sunset", video=True),
    ]


def picker_copy(item: TruthItem, exif: bool = True) -> bytes:
    """What the Picker serves: `=dv` a transcoded video; `=d` the photo with its EXIF date
    (a phone's wall time, no offset) but without the location. A scan without EXIF or
    GPS comes down byte for byte as the original."""
    if item.video:
        return unique_mp4(item.url + "#transcoded")
    if item.location is None:
        return item.content()
    if not exif:  # a picture that never had a camera date (shared from a chat app)
        return unique_jpeg(item.url + "#picker")
    wall = item.taken_at.astimezone(PHONE_ZONE).strftime("%Y:%m:%d %H:%M:%S").encode()
    exif = piexif.dump({"Exif": {piexif.ExifIFD.DateTimeOriginal: wall}})
    out = io.BytesIO()
    piexif.insert(exif, unique_jpeg(item.url + "#picker"), out)
    return out.getvalue()


@pytest.fixture
def google() -> Iterator[FakeGooglePhotos]:
    with FakeGooglePhotos() as server:
        assert isinstance(server, FakeGooglePhotos)
        yield server


def stock(google: FakeGooglePhotos, items: list[TruthItem],
          without_exif: tuple[str, ...] = ()) -> list[LibraryItem]:
    picked = [google.add(i.name, i.taken_at, picker_copy(i, i.name not in without_exif),
                         video=i.video) for i in items]
    google.pick(*picked)
    return picked


def run_report(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def immich_view(immich: FakeImmich) -> dict[str, dict[str, Any]]:
    """Every asset by original file name, read through the API as a client would."""
    server = Server(immich.url, immich.api_key)
    names = {a["id"]: a["albumName"] for a in server.get("/albums")}
    view = {}
    for asset in immich.owned():
        data = server.asset(asset.id)
        data["albums"] = sorted(names[a] for a in server.album_ids_of(asset.id))
        view[data["originalFileName"]] = data
    server.client.close()
    return view


def taken(data: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(data["exifInfo"]["dateTimeOriginal"].replace("Z", "+00:00"))


def test_picked_items_land_then_takeout_completes_them(
        tmp_path: Path, google: FakeGooglePhotos, immich: FakeImmich,
        cli: Callable[..., CliResult]) -> None:
    items = truth()
    stock(google, items)
    state, report = tmp_path / "state.sqlite", tmp_path / "report.json"
    config = google.config(tmp_path)
    target = ("--to", f"immich:{immich.url}", "--state", state, "--config", config)

    first = cli("import", "--from", "picker", *target, "--album", "Picked", "--report", report)
    assert first.code == 0, first.out + first.err
    assert "https://photos.google.com/picker/" in first.out
    view = immich_view(immich)
    assert sorted(view) == sorted(i.name for i in items)
    for item in items:
        data = view[item.name]
        assert taken(data) == item.taken_at, item.name  # the capture time, to the second
        assert data["exifInfo"]["latitude"] is None  # the Picker gives no location
        assert data["albums"] == ["Picked"]
    assert len(google.downloads) == 4 and google.live_sessions() == []
    assert run_report(report)["counts"] == {"imported": 4}

    again = cli("import", "--from", "picker", *target, "--album", "Picked")
    assert again.code == 0 and "Nothing new to import" in again.out, again.out
    assert len(google.downloads) == 4  # the re-run downloaded nothing
    assert len(immich.owned()) == 4

    takeout = write_folder(tmp_path / "takeout", items)
    later = cli("import", *takeout.sources, *target, "--report", report)
    assert later.code == 0, later.out + later.err
    assert len(immich.owned()) == 4  # no second asset
    lines = {Path(f["file"]).name: f for f in run_report(report)["files"]}
    for item in items:
        assert lines[item.name]["outcome"] == "updated"
        assert "duplicate" in lines[item.name]["reason"]
    assert "same bytes" in lines["scan_0001.jpg"]["reason"]
    assert "capture time and name" in lines[items[0].name]["reason"]
    view = immich_view(immich)
    for item in items:
        data = view[item.name]
        assert taken(data) == item.taken_at
        if item.location is not None:
            exif = data["exifInfo"]
            assert (exif["latitude"], exif["longitude"]) == pytest.approx(item.location)
        assert (data["exifInfo"]["description"] or None) == item.description
        assert data["isFavorite"] is item.favorite
        assert (data["visibility"] == "archive") is item.archived
        assert data["albums"] == sorted([*item.albums, "Picked"])

    rerun = cli("import", *takeout.sources, *target)
    assert rerun.code == 0 and "Nothing new to import" in rerun.out
    repick = cli("import", "--from", "picker", *target)
    assert repick.code == 0 and "Nothing new to import" in repick.out
    assert len(google.downloads) == 4 and len(immich.owned()) == 4
    verified = cli("verify", *target)
    assert verified.code == 0 and "0 missing or different" in verified.out, verified.out


def test_folder_library_swaps_in_the_originals(
        tmp_path: Path, google: FakeGooglePhotos, cli: Callable[..., CliResult]) -> None:
    items = truth()
    # Taken 23:30 UTC on the last of the month in Tokyo: the Picker copy (no place, no
    # EXIF date) files it under January, the Takeout original (GPS: +09:00) under February.
    items[1].taken_at = datetime(2021, 1, 31, 23, 30, tzinfo=UTC)
    items[1].location = (35.6586, 139.7454)
    stock(google, items, without_exif=(items[1].name,))
    library = tmp_path / "library"
    config = google.config(tmp_path)
    target = ("--to", f"folder:{library}", "--config", config)
    assert cli("import", "--from", "picker", *target, "--album", "Picked").code == 0
    picked_files = {p.relative_to(library).as_posix() for p in originals(library)}
    assert "2021/01/IMG_20210705_101500.jpg" in picked_files
    assert all(e.get("origin") == "picker" for e in library_entries(library))

    takeout = write_folder(tmp_path / "takeout", items)
    plan = cli("import", *takeout.sources, *target, "--dry-run")
    assert plan.code == 0 and plan.out.count("complete ") == 4, plan.out  # time and name
    assert "upload " not in plan.out
    result = cli("import", *takeout.sources, *target)
    assert result.code == 0, result.out + result.err
    files = originals(library)
    assert len(files) == 4  # each Picker file replaced, none left beside its original
    entries = {e["original_name"]: e for e in library_entries(library)}
    assert len(entries) == 4 and not any("origin" in e for e in entries.values())
    moved = entries["IMG_20210705_101500.jpg"]
    assert moved["path"] == "2021/02/IMG_20210705_101500.jpg"
    assert not (library / "2021/01/IMG_20210705_101500.jpg").exists()
    for item in items:
        entry = entries[item.name]
        assert entry["original_sha1"] == _sha1(item.content())  # the Takeout original
        assert entry["favorite"] is item.favorite and entry["description"] == item.description
        assert sorted(entry["albums"]) == sorted([*item.albums, "Picked"])
        for album in entry["albums"]:
            links = [p for p in (library / "albums" / album).iterdir() if p.is_symlink()]
            assert any(os.path.realpath(p) == str(library / entry["path"]) for p in links)
    for link in (library / "albums").rglob("*"):
        if link.is_symlink():
            assert link.exists(), f"dangling album link {link}"
    assert cli("verify", *target).code == 0
    with State(library / ".gphotos-importer" / "state.sqlite", readonly=True) as state:
        records = list(state.items())
    picker = [r for r in records if r.origin == "picker"]
    assert len(picker) == 4 and all(r.same_as for r in picker)


def _sha1(data: bytes) -> str:
    import hashlib

    return hashlib.sha1(data).hexdigest()


def test_revoked_mid_run_stops_with_one_line_and_keeps_what_is_done(
        tmp_path: Path, google: FakeGooglePhotos, cli: Callable[..., CliResult]) -> None:
    items = [TruthItem(f"IMG_{n}.jpg", f"u{n}", datetime(2020, 1, 1 + n, tzinfo=UTC))
             for n in range(8)]
    stock(google, items)
    serve = google._download

    def revoke_after_three(path: str) -> Any:
        answer = serve(path)
        if len(google.downloads) == 3:
            google.oauth.revoke()
        return answer

    google._download = revoke_after_three  # type: ignore[method-assign]
    library = tmp_path / "library"
    result = cli("import", "--from", "picker", "--to", f"folder:{library}",
                 "--config", google.config(tmp_path))
    assert result.code == 3  # a remote service stopped the run mid-way
    assert "auth google" in result.err and result.err.strip().count("\n") == 0, result.err
    with State(library / ".gphotos-importer" / "state.sqlite", readonly=True) as state:
        done = [r for r in state.items() if r.origin == "picker"]
    assert len(done) == 3 and len(originals(library)) == 3  # finished, then stopped


def test_dry_run_downloads_nothing(tmp_path: Path, google: FakeGooglePhotos,
                                   cli: Callable[..., CliResult]) -> None:
    stock(google, truth())
    library = tmp_path / "library"
    result = cli("import", "--from", "picker", "--to", f"folder:{library}", "--dry-run",
                 "--config", google.config(tmp_path))
    assert result.code == 0, result.out + result.err
    assert result.out.count("upload ") == 4 and google.downloads == []
    assert not library.exists() and google.live_sessions() == []


@pytest.mark.parametrize(("args", "expected"), [
    (("--from", "picker", "some.zip"), "give no SOURCE"),
    (("takeout.zip", "--album", "X"), "--album is for --from picker"),
    (("--from", "picker", "--config", "MISSING"), "no Google authorization at"),
])
def test_usage_errors_are_one_line(tmp_path: Path, cli: Callable[..., CliResult],
                                   args: tuple[str, ...], expected: str) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(f"google:\n  token_file: {tmp_path / 'none.json'}\n")
    args = tuple(str(config) if a == "MISSING" else a for a in args)
    result = cli("import", *args, "--to", f"folder:{tmp_path / 'lib'}")
    assert result.code == 2 and expected in result.err, result.err
    assert result.err.strip().count("\n") == 0


def test_picking_again_into_another_album_keeps_the_first(
        tmp_path: Path, google: FakeGooglePhotos, immich: FakeImmich,
        cli: Callable[..., CliResult]) -> None:
    """Immich can rename albums, and the importer follows albums renamed in Google; a
    second pick into a new album must not look like a rename of the first."""
    stock(google, truth()[:2])
    target = ("--to", f"immich:{immich.url}", "--state", tmp_path / "state.sqlite",
              "--config", google.config(tmp_path))
    assert cli("import", "--from", "picker", *target, "--album", "First").code == 0
    second = cli("import", "--from", "picker", *target, "--album", "Second")
    assert second.code == 0, second.out + second.err
    assert len(google.downloads) == 2 and len(immich.owned()) == 2
    for data in immich_view(immich).values():
        assert data["albums"] == ["First", "Second"]


def test_revoked_before_the_run_stops_before_anything(
        tmp_path: Path, google: FakeGooglePhotos, cli: Callable[..., CliResult]) -> None:
    stock(google, truth())
    config = google.config(tmp_path)
    google.oauth.revoke()
    library = tmp_path / "library"
    result = cli("import", "--from", "picker", "--to", f"folder:{library}", "--config", config)
    assert result.code == 2 and result.err.strip().count("\n") == 0, result.err
    assert "no longer accepts the saved authorization (invalid_grant" in result.err
    assert "run `gphotos-importer auth google --client-secrets FILE` again" in result.err
    assert google.sessions == {} and not library.exists()


def test_a_replaced_path_stays_gone_after_a_crash(tmp_path: Path) -> None:
    """library.jsonl is a journal: a move written before a crash (no compaction on close)
    still removes the old path when the library is opened again."""
    from adapters.folder.index import LibraryIndex

    index = LibraryIndex(tmp_path / "library.jsonl")
    entry = {"taken_at": None, "favorite": False, "archived": False, "albums": []}
    index.put({**entry, "path": "2021/01/a.jpg", "sha1": "1" * 40})
    index.put({**entry, "path": "2021/02/a.jpg", "sha1": "2" * 40})  # replace() moves:
    index.remove("2021/01/a.jpg")  # the new entry first, then the old one's removal
    index._journal.close()  # killed: no compaction
    reopened = LibraryIndex(tmp_path / "library.jsonl")
    assert [e["path"] for e in reopened.entries()] == ["2021/02/a.jpg"]
    assert reopened.path_for("1" * 40) is None and reopened.path_for("2" * 40) == "2021/02/a.jpg"
    reopened.close()


def test_photoprism_keeps_one_photo_per_item_too(
        tmp_path: Path, google: FakeGooglePhotos, monkeypatch: pytest.MonkeyPatch,
        cli: Callable[..., CliResult]) -> None:
    from tests.fakes.photoprism import APP_PASSWORD, FakePhotoPrism

    items = truth()
    stock(google, items)
    monkeypatch.setenv("PHOTOPRISM_TOKEN", APP_PASSWORD)
    with FakePhotoPrism(index_delay=0.01) as prism:
        assert isinstance(prism, FakePhotoPrism)
        target = ("--to", f"photoprism:{prism.url}", "--state", tmp_path / "state.sqlite",
                  "--config", google.config(tmp_path))
        picked = cli("import", "--from", "picker", *target, "--album", "Picked")
        assert picked.code == 0, picked.out + picked.err
        assert len(prism.library.photos) == 4
        later = cli("import", *write_folder(tmp_path / "takeout", items).sources, *target)
        assert later.code == 0, later.out + later.err
        assert len(prism.library.photos) == 4  # metadata added, no second photo
        with State(tmp_path / "state.sqlite", readonly=True) as state:
            uids = {r.google_url: r.on(f"photoprism:{prism.url}") for r in state.items()}
        for item in items:
            record = uids[item.url]
            assert record is not None and record.remote_id is not None
            photo = prism.library.photos[record.remote_id]
            assert photo.taken_at == item.taken_at
            assert ((photo.lat, photo.lng) if photo.lat or photo.lng else None) == item.location
            assert (photo.caption or None, photo.favorite) == (item.description, item.favorite)
            assert (photo.deleted_at is not None) is item.archived
            assert prism.album_titles(photo.uid) == {*item.albums, "Picked"}
        assert prism.rejected == [] and prism.violations == []
