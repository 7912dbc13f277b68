"""The folder target: never overwrites a different file, dedupes identical ones, albums
with equal titles stay apart, and library.jsonl survives a torn write."""

from __future__ import annotations

import errno
import io
import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from adapters.base import GalleryError, TargetUnavailable, UploadStatus
from adapters.folder.target import FolderTarget
from importer.model import Album, MediaFile, MediaItem, MediaType, Metadata
from importer.prepare import prepare
from tests.exportgen import unique_jpeg

WHEN = datetime(2020, 2, 3, 4, 5, 6, tzinfo=UTC)


def _item(name: str, data: bytes, url: str, **meta: object) -> MediaItem:
    file = MediaFile(name, f"test:{name}", len(data), MediaType.PHOTO, "image/jpeg",
                     lambda: io.BytesIO(data))
    return MediaItem(file, Metadata(taken_at=WHEN, google_url=url, **meta))  # type: ignore[arg-type]


def test_same_name_different_bytes_never_overwrites(tmp_path: Path) -> None:
    target = FolderTarget(tmp_path / "lib")
    first = target.upload(prepare(_item("IMG_1.jpg", unique_jpeg("one"), "u1")))
    second = target.upload(prepare(_item("IMG_1.jpg", unique_jpeg("two"), "u2")))
    target.close()
    assert first.remote_id == "2020/02/IMG_1.jpg"
    assert second.remote_id == "2020/02/IMG_1 (1).jpg"
    assert first.status == second.status == UploadStatus.CREATED
    assert b"one" in (tmp_path / "lib" / first.remote_id).read_bytes()
    assert b"two" in (tmp_path / "lib" / second.remote_id).read_bytes()


def test_foreign_file_in_the_way_is_kept(tmp_path: Path) -> None:
    (tmp_path / "lib" / "2020" / "02").mkdir(parents=True)
    foreign = tmp_path / "lib" / "2020" / "02" / "IMG_1.jpg"
    foreign.write_bytes(b"the user's own file")
    target = FolderTarget(tmp_path / "lib")
    result = target.upload(prepare(_item("IMG_1.jpg", unique_jpeg("one"), "u1")))
    target.close()
    assert foreign.read_bytes() == b"the user's own file"
    assert result.remote_id == "2020/02/IMG_1 (1).jpg"


def test_identical_file_left_by_a_crash_is_adopted(tmp_path: Path) -> None:
    asset = prepare(_item("IMG_1.jpg", unique_jpeg("one"), "u1"))
    dest = tmp_path / "lib" / "2020" / "02" / "IMG_1.jpg"
    dest.parent.mkdir(parents=True)
    with asset.primary.opener() as src:
        dest.write_bytes(src.read())  # written, but the crash came before the index line
    target = FolderTarget(tmp_path / "lib")
    result = target.upload(asset)
    target.close()
    assert (result.remote_id, result.status) == ("2020/02/IMG_1.jpg", UploadStatus.DUPLICATE)
    assert sorted(p.name for p in dest.parent.iterdir()) == ["IMG_1.jpg"]


def test_find_existing_by_written_and_original_checksum(tmp_path: Path) -> None:
    target = FolderTarget(tmp_path / "lib")
    asset = prepare(_item("IMG_1.jpg", unique_jpeg("one"), "u1"))
    assert asset.primary.sha1 != asset.primary.source_sha1  # a date was embedded
    result = target.upload(asset)
    found = target.find_existing([asset.primary.sha1, asset.primary.source_sha1, "0" * 40])
    target.close()
    assert found == {asset.primary.sha1: result.remote_id,
                     asset.primary.source_sha1: result.remote_id}


def test_albums_with_the_same_title_stay_apart(tmp_path: Path) -> None:
    target = FolderTarget(tmp_path / "lib")
    one = target.ensure_album(Album("k1", "Trips / 2019", "first"), None)
    two = target.ensure_album(Album("k2", "Trips / 2019"), None)
    again = target.ensure_album(Album("k1", "Trips / 2019", "first"), None)
    photo = target.upload(prepare(_item("IMG_1.jpg", unique_jpeg("one"), "u1")))
    target.add_to_album(one, [photo.remote_id])
    target.add_to_album(one, [photo.remote_id])  # idempotent
    target.close()
    assert one != two and again == one
    assert "/" not in one
    links = list((tmp_path / "lib" / "albums" / one).glob("*.jpg"))
    assert [p.resolve() for p in links] == [(tmp_path / "lib" / photo.remote_id).resolve()]
    entries = [json.loads(x) for x in (tmp_path / "lib" / "library.jsonl").read_text().splitlines()]
    assert [e["albums"] for e in entries] == [["Trips / 2019"]]


def test_library_index_survives_torn_line_and_compacts(tmp_path: Path) -> None:
    target = FolderTarget(tmp_path / "lib")
    photo = target.upload(prepare(_item("IMG_1.jpg", unique_jpeg("one"), "u1")))
    target.set_favorite(photo.remote_id, True)
    target.index._journal.write('{"path": "torn')  # a crash mid-line
    target.index._journal.flush()
    lines = (tmp_path / "lib" / "library.jsonl").read_text().splitlines()
    assert len(lines) == 3  # appended as it went: put, update, torn
    target._library_lock.close()  # the process died: the kernel dropped its lock
    reopened = FolderTarget(tmp_path / "lib")
    reopened.close()
    entries = [json.loads(x) for x in (tmp_path / "lib" / "library.jsonl").read_text().splitlines()]
    assert len(entries) == 1 and entries[0]["favorite"] is True


@pytest.mark.parametrize(("code", "fatal"), [(errno.ENOSPC, True), (errno.EDQUOT, True),
                                              (errno.EACCES, False), (errno.EIO, False)])
def test_file_system_errors_are_one_line_and_a_full_disk_stops(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int, fatal: bool) -> None:
    target = FolderTarget(tmp_path / "lib")
    first = target.upload(prepare(_item("IMG_1.jpg", unique_jpeg("one"), "u1")))

    def failing_link(source: object, dest: object) -> None:
        raise OSError(code, os.strerror(code), str(dest))

    def failing_write(path: Path, data: bytes) -> None:
        raise OSError(code, os.strerror(code), str(path))

    monkeypatch.setattr("adapters.folder.files.os.link", failing_link)
    monkeypatch.setattr("pathlib.Path.write_bytes", failing_write)
    calls = [lambda: target.upload(prepare(_item("IMG_2.jpg", unique_jpeg("two"), "u2"))),
             lambda: target.set_metadata(first.remote_id, Metadata(
                 taken_at=datetime(2001, 1, 1, tzinfo=UTC)), frozenset({"taken_at"}))]
    for call in calls:
        with pytest.raises(GalleryError) as raised:
            call()
        assert isinstance(raised.value, TargetUnavailable) is fatal
        message = str(raised.value)
        assert "\n" not in message and os.strerror(code) in message
        assert "lib" in message  # names the file
    monkeypatch.undo()
    target.close()
    assert sorted(p.name for p in (tmp_path / "lib" / "2020" / "02").iterdir()) == ["IMG_1.jpg"]
