"""Issue 3: archive parts read in place; damaged parts, unsafe names, empty files reported
with their name and reason while the rest of the export imports."""

from __future__ import annotations

import io
import json
import random
import tarfile
import zipfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from importer.config import TakeoutSettings
from importer.model import Accounted, FileOutcome, MediaItem
from importer.sources.listing import wanted
from importer.sources.parts import Entry, Problem
from importer.sources.takeout import TakeoutSource
from importer.sources.tarpart import TarPart
from importer.sources.zippart import ZipPart
from tests.conftest import CliResult, library_entries
from tests.exportgen import PRODUCT, make_items, sidecar_name, unique_jpeg, write_parts

YEAR = f"{PRODUCT}/Photos from 2020"


def _sidecar(url: str) -> bytes:
    return json.dumps({"title": "x", "photoTakenTime": {"timestamp": "1600000000"},
                       "url": url}).encode()


def _write_tar(path: Path, files: list[tuple[str, bytes]], mode: str = "w:gz") -> None:
    with tarfile.open(path, mode) as tar:
        for name, data in files:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def _listing(part: ZipPart | TarPart) -> dict[str, tuple[Entry, bytes | None]]:
    found: dict[str, tuple[Entry, bytes | None]] = {}
    for listed in part.entries(wanted):
        assert not isinstance(listed, Problem), listed
        found[listed[0].path] = listed
    return found


@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED,
                                         zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA])
def test_zip_members_read_like_zipfile_reads_them(tmp_path: Path, compression: int) -> None:
    path = tmp_path / "part.zip"
    contents = {f"{YEAR}/IMG_{i}.jpg": unique_jpeg(str(i), pad=i * 3000) for i in range(5)}
    contents[f"{YEAR}/Zoë ünïcode.jpg"] = unique_jpeg("u")
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, data in contents.items():
            with archive.open(name, "w", force_zip64=name.endswith("2.jpg")) as out:
                out.write(data)
    part = ZipPart(path)
    listing = _listing(part)
    assert set(listing) == set(contents)
    for name, (entry, _) in listing.items():
        with entry.open() as stream:
            assert stream.read() == contents[name]
        assert entry.size == len(contents[name])


def test_zip_with_bytes_in_front_still_reads(tmp_path: Path) -> None:
    """Self-extracting or concatenated archives shift every offset."""
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as archive:
        archive.writestr(f"{YEAR}/a.jpg", unique_jpeg("a"))
    path = tmp_path / "prefixed.zip"
    path.write_bytes(b"#!stub\n" * 100 + inner.getvalue())
    (entry, _), = _listing(ZipPart(path)).values()
    with entry.open() as stream:
        assert stream.read() == unique_jpeg("a")


def test_damaged_zip_member_is_reported_when_read(tmp_path: Path) -> None:
    path = tmp_path / "part.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(f"{YEAR}/a.jpg.json", _sidecar("u"))
    raw = bytearray(path.read_bytes())
    raw[raw.index(b'"title"') + 2] ^= 0xFF  # flip a bit inside the stored JSON
    path.write_bytes(bytes(raw))
    (problem,) = list(ZipPart(path).entries(wanted))
    assert isinstance(problem, Problem)
    assert problem.location.endswith("a.jpg.json") and "CRC" in problem.reason


def test_tar_lists_in_one_pass_and_spools_in_a_second(tmp_path: Path) -> None:
    path = tmp_path / "part.tgz"
    files = [(f"{YEAR}/IMG_{i}.jpg", unique_jpeg(str(i))) for i in range(4)]
    files += [(f"{YEAR}/IMG_0.jpg.json", _sidecar("u0"))]
    _write_tar(path, files)
    part = TarPart(path)
    listing = _listing(part)
    assert listing[f"{YEAR}/IMG_0.jpg.json"][1] == _sidecar("u0")  # JSON read while listing
    assert listing[f"{YEAR}/IMG_1.jpg"][1] is None  # media is not
    with pytest.raises(OSError):
        listing[f"{YEAR}/IMG_1.jpg"][0].open()
    from importer.sources.spool import Spool, Spooled

    (tmp_path / "spool-parent").mkdir()
    wanted_entries = {e.ref: e for e, _ in listing.values() if e.name[4] in "13"}
    for budget in (0, 1 << 20):  # on disk, then in memory
        spool = Spool(tmp_path / "spool-parent", memory_budget=budget)
        results = list(part.fetch(wanted_entries, spool))
        assert [e.name for e, _ in results] == ["IMG_1.jpg", "IMG_3.jpg"]
        for (_entry, spooled), tag in zip(results, "13", strict=True):
            assert isinstance(spooled, Spooled)
            assert (spooled.path is None) is (budget > 0)
            with spooled.open() as stream:
                assert stream.read() == unique_jpeg(tag)
            spooled.release()
            spooled.release()
            with pytest.raises(OSError):
                spooled.open()
        spool.close()
        assert list((tmp_path / "spool-parent").iterdir()) == []


def _cut(path: Path, keep: float) -> None:
    raw = path.read_bytes()
    path.write_bytes(raw[: int(len(raw) * keep)])


@pytest.mark.parametrize("mode", ["w:gz", "w"])
def test_truncated_tar_is_reported_and_what_came_before_is_kept(tmp_path: Path,
                                                                mode: str) -> None:
    path = tmp_path / ("part.tgz" if mode == "w:gz" else "part.tar")
    noise = random.Random(1)  # incompressible, so a cut at 47% lands inside member 9 or 10
    files = [(f"{YEAR}/IMG_{i:02d}.jpg", unique_jpeg(noise.randbytes(20_000).hex()))
             for i in range(20)]
    _write_tar(path, files, mode)
    _cut(path, 0.47)
    source = TakeoutSource([path], TakeoutSettings())
    try:
        events = list(source.scan())
        _check_cut(path, source, events)
    finally:
        source.close()


def _check_cut(path: Path, source: TakeoutSource, events: list[Any]) -> None:
    items = [e for e in events if isinstance(e, MediaItem)]
    problems = [e for e in events if isinstance(e, Accounted)]
    assert 8 <= len(items) <= 10
    part_problem = [p for p in problems if p.location == str(path)]
    assert len(part_problem) == 1 and "truncated" in part_problem[0].reason
    cut = [p for p in problems if p.location != str(path)]
    assert len(cut) == 1 and "cut off" in cut[0].reason
    for item in items:
        with item.file.opener() as stream:
            assert len(stream.read()) == item.file.size
        item.release()
    assert source.stats.files - source.stats.json_used + source.stats.part_problems == \
        len(events)


def test_zip_cut_short_is_reported_by_name_and_the_other_parts_import(
        tmp_path: Path, cli: Callable[..., CliResult]) -> None:
    items = make_items(30, seed=4, albums=0)
    export = write_parts(tmp_path / "parts", items, "mixed", parts=3, seed=4)
    broken = export.sources[0]
    _cut(broken, 0.6)
    library, report = tmp_path / "library", tmp_path / "report.json"
    result = cli("import", tmp_path / "parts", "--to", f"folder:{library}", "--report", report)
    assert result.code == 1, result.out  # some files failed: the cut part's are missing
    assert "Nothing new" not in result.out
    data = json.loads(report.read_text())
    line = next(f for f in data["files"] if f["file"] == str(broken))
    assert line["outcome"] == "unreadable" and "download this part again" in line["reason"]
    assert f"{broken}" in result.out
    imported = {e["original_name"] for e in library_entries(library)}
    assert 0 < len(imported) < 30
    for entry in library_entries(library):  # everything that came through is right
        truth = export.by_url().get(entry["google_url"])
        if truth is not None:
            assert datetime.fromisoformat(entry["taken_at"]) == truth.taken_at


def test_unsafe_names_links_and_empty_files_are_reported_and_nothing_escapes(
        tmp_path: Path, cli: Callable[..., CliResult]) -> None:
    parts = tmp_path / "parts"
    parts.mkdir()
    good = [(f"{YEAR}/ok.jpg", unique_jpeg("ok")), (f"{YEAR}/ok.jpg.json", _sidecar("u-ok"))]
    with zipfile.ZipFile(parts / "a.zip", "w") as archive:
        for name, data in good:
            archive.writestr(name, data)
        archive.writestr("../../evil.jpg", unique_jpeg("evil"))
        archive.writestr("/abs-evil.jpg", unique_jpeg("evil2"))
        archive.writestr(f"{YEAR}/empty.jpg", b"")
        archive.writestr(f"{YEAR}/{sidecar_name('empty.jpg')}", _sidecar("u-empty"))
        archive.writestr(f"{YEAR}/blank.json", b"")
    with tarfile.open(parts / "b.tgz", "w:gz") as tar:
        info = tarfile.TarInfo(f"{YEAR}/link.jpg")
        info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(info)
        for name in ("../tar-evil.jpg", "/tmp/tar-abs-evil.jpg"):
            info = tarfile.TarInfo(name)
            data = unique_jpeg(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    library, report = tmp_path / "lib" / "library", tmp_path / "report.json"
    result = cli("import", parts, "--to", f"folder:{library}", "--report", report)
    assert result.code == 0, result.out
    lines = {f["file"].split(":", 1)[1]: f for f in json.loads(report.read_text())["files"]}
    for name in ("../../evil.jpg", "/abs-evil.jpg", "../tar-evil.jpg", "/tmp/tar-abs-evil.jpg"):
        assert lines[name]["outcome"] == "unreadable" and "unsafe path" in lines[name]["reason"]
    assert lines[f"{YEAR}/link.jpg"]["reason"].startswith("not a regular file")
    assert lines[f"{YEAR}/empty.jpg"]["reason"] == "zero-byte file"
    assert lines[f"{YEAR}/blank.json"]["reason"] == "empty JSON file"
    assert [e["original_name"] for e in library_entries(library)] == ["ok.jpg"]
    outside = {p.name for p in tmp_path.rglob("*evil*")}
    assert outside == set(), "a member escaped the library"
    assert not Path("/tmp/tar-abs-evil.jpg").exists()


def test_unknown_extension_is_sniffed(tmp_path: Path) -> None:
    folder = tmp_path / "export" / YEAR
    folder.mkdir(parents=True)
    (folder / "photo_without_extension").write_bytes(unique_jpeg("x"))
    (folder / "notes.txt").write_bytes(b"hello")
    source = TakeoutSource([tmp_path / "export"], TakeoutSettings())
    events: list[Any] = list(source.scan())
    items = [e for e in events if isinstance(e, MediaItem)]
    assert [i.file.name for i in items] == ["photo_without_extension"]
    assert items[0].file.mime == "image/jpeg"
    skipped = [e for e in events if isinstance(e, Accounted)]
    assert [(s.location.rsplit("/", 1)[1], s.outcome) for s in skipped] == \
        [("notes.txt", FileOutcome.SKIPPED)]


def test_parts_extracted_side_by_side_or_at_any_depth_read_as_one_export(
        tmp_path: Path, cli: Callable[..., CliResult]) -> None:
    """takeout-001/Takeout/…, takeout-002/Takeout/… in one folder, plus a zip part and a
    product folder given directly: a sidecar in one finds its photo in another."""
    items = make_items(24, seed=12, albums=2)
    export = write_parts(tmp_path / "parts", items, "zip", parts=4, seed=12)
    side_by_side = tmp_path / "extracted"
    for index, part in enumerate(export.sources[:2]):
        with zipfile.ZipFile(part) as archive:
            archive.extractall(side_by_side / f"takeout-00{index + 1}")
        part.unlink()
    product = tmp_path / "product"
    with zipfile.ZipFile(export.sources[2]) as archive:
        archive.extractall(product)
    export.sources[2].unlink()
    library = tmp_path / "library"
    result = cli("import", side_by_side, product / "Takeout" / "Google Photos",
                 export.sources[3], "--to", f"folder:{library}")
    assert result.code == 0, result.out
    entries = library_entries(library)
    assert sorted(e["google_url"] for e in entries) == sorted(export.by_url())
    for entry in entries:
        truth = export.by_url()[entry["google_url"]]
        assert datetime.fromisoformat(entry["taken_at"]) == truth.taken_at
        assert sorted(entry["albums"]) == sorted(truth.albums)


def test_zip64_directory_of_a_part_with_more_than_65535_members(tmp_path: Path) -> None:
    """Real parts hold 100k+ files: their count lives in the zip64 end record."""
    path = tmp_path / "big.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for i in range(66_000):
            archive.writestr(f"{YEAR}/f{i}.txt", b"x")
        archive.writestr(f"{YEAR}/last.jpg", unique_jpeg("last"))
    assert b"PK\x06\x06" in path.read_bytes()[-200:]
    listed = [x for x in ZipPart(path).entries(lambda name, size: 0)]
    assert len(listed) == 66_001 and not any(isinstance(x, Problem) for x in listed)
    last = listed[-1]
    assert isinstance(last, tuple)
    with last[0].open() as stream:
        assert stream.read() == unique_jpeg("last")


@pytest.mark.parametrize("layout", ["folder", "zip", "tgz"])
def test_an_export_without_photos_says_so(tmp_path: Path, cli: Callable[..., CliResult],
                                          layout: str) -> None:
    files = [(f"{PRODUCT}/archive_browser.html", b"<html></html>"),
             (f"{YEAR}/notes.txt", b"hello"), (f"{PRODUCT}/Trip/metadata.json", b'{"title": "T"}')]
    if layout == "folder":
        for name, data in files:
            (tmp_path / "export" / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / "export" / name).write_bytes(data)
        source = tmp_path / "export"
    elif layout == "zip":
        source = tmp_path / "part.zip"
        with zipfile.ZipFile(source, "w") as archive:
            for name, data in files:
                archive.writestr(name, data)
    else:
        source = tmp_path / "part.tgz"
        _write_tar(source, files)
    library = tmp_path / "library"
    for _ in range(2):  # the first run and a re-run say the same
        result = cli("import", source, "--to", f"folder:{library}")
        assert result.code == 0, result.out
        assert "No photos or videos in this export" in result.out
        assert "Nothing new to import" not in result.out
        assert "already in the target" not in result.out


def test_an_unreadable_part_fails_the_run_and_a_good_one_does_not(
        tmp_path: Path, cli: Callable[..., CliResult]) -> None:
    items = make_items(6, seed=8, albums=0)
    export = write_parts(tmp_path / "parts", items, "tgz", parts=2, seed=8)
    library = tmp_path / "library"
    assert cli("import", *export.sources, "--to", f"folder:{library}").code == 0
    garbage = tmp_path / "parts" / "takeout-20240525T201456Z-003.zip"
    garbage.write_bytes(b"this is no zip archive" * 100)
    result = cli("import", tmp_path / "parts", "--to", f"folder:{library}")
    assert result.code == 1 and str(garbage) in result.out, result.out
    assert "already in the target" not in result.out
