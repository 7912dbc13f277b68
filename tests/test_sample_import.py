"""Issue 2: the sample export into a folder library, then again, then `status`."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from tests.conftest import SAMPLE, CliResult, exiftool, library_entries, originals

EXPECTED = {
    # path in the library: (capture time with offset, albums, favorite, archived); times in
    # the offset of the place (GPS time zone) when the file does not state its own.
    "2019/07/IMG_20190704_101500.jpg": ("2019-07-04T10:15:00+01:00", ["Trip to Lisbon"], True,
                                        False),
    "2021/05/IMG_0042.jpg": ("2021-05-01T18:30:00+02:00", ["Trip to Lisbon"], False, False),
    "2021/06/Screenshot_20210612-091500.png": ("2021-06-12T07:15:00+00:00", [], False, False),
    "2023/08/PXL_20230809_203449253.jpg": ("2023-08-09T16:34:49-04:00", ["Family"], False, True),
}


def test_sample_import_builds_library(tmp_path: Path, cli: Callable[..., CliResult]) -> None:
    library = tmp_path / "library"
    result = cli("import", SAMPLE, "--to", f"folder:{library}")
    assert result.code == 0, result.err
    files = [p.relative_to(library).as_posix() for p in originals(library)]
    assert sorted(files) == sorted(EXPECTED)

    entries = {e["path"]: e for e in library_entries(library)}
    assert set(entries) == set(EXPECTED)
    for path, (taken, albums, favorite, archived) in EXPECTED.items():
        entry = entries[path]
        assert datetime.fromisoformat(entry["taken_at"]) == datetime.fromisoformat(taken)
        assert entry["taken_at"] == taken
        assert entry["albums"] == albums
        assert (entry["favorite"], entry["archived"]) == (favorite, archived)
        assert entry["google_url"].startswith("https://photos.google.com/photo/")
        assert len(entry["sha1"]) == 40
    tram = entries["2019/07/IMG_20190704_101500.jpg"]
    assert (tram["latitude"], tram["longitude"]) == (38.7139, -9.1334)
    assert tram["description"] == "Tram 28 in Alfama"

    lisbon = library / "albums" / "Trip to Lisbon"
    links = sorted(p.name for p in lisbon.iterdir() if p.is_symlink())
    assert links == ["IMG_0042.jpg", "IMG_20190704_101500.jpg"]
    for link in lisbon.iterdir():
        if link.is_symlink():
            assert not os.path.isabs(os.readlink(link)), "album links must be relative"
            assert link.resolve().is_file()


def test_dates_embedded_read_back_with_exiftool(tmp_path: Path,
                                                cli: Callable[..., CliResult]) -> None:
    library = tmp_path / "library"
    assert cli("import", SAMPLE, "--to", f"folder:{library}").code == 0
    jpegs = sorted(p for p in originals(library) if p.suffix == ".jpg")
    read = {Path(r["SourceFile"]).relative_to(library).as_posix(): r
            for r in exiftool(*jpegs, tags=("DateTimeOriginal", "OffsetTimeOriginal", "Make"))}
    for path, (taken, *_rest) in EXPECTED.items():
        if not path.endswith(".jpg"):
            continue
        moment = datetime.fromisoformat(taken)
        assert read[path]["ExifIFD:DateTimeOriginal"] == moment.strftime("%Y:%m:%d %H:%M:%S")
        assert read[path]["ExifIFD:OffsetTimeOriginal"] == taken[-6:]
    # The camera's own EXIF (and its Make) survives untouched.
    assert read["2021/05/IMG_0042.jpg"]["IFD0:Make"] == "Canon"
    original = SAMPLE / "Takeout/Google Photos/Photos from 2021/IMG_0042.jpg"
    assert (library / "2021/05/IMG_0042.jpg").read_bytes() == original.read_bytes()


def test_second_run_imports_nothing_and_says_so(tmp_path: Path,
                                                cli: Callable[..., CliResult]) -> None:
    library = tmp_path / "library"
    assert cli("import", SAMPLE, "--to", f"folder:{library}").code == 0
    before = {p: p.stat().st_mtime_ns for p in originals(library)}
    again = cli("import", SAMPLE, "--to", f"folder:{library}")
    assert again.code == 0
    assert "Nothing new to import" in again.out
    assert "imported" not in again.out.split("already there")[0].split("outcome")[-1]
    assert {p: p.stat().st_mtime_ns for p in originals(library)} == before
    assert len(library_entries(library)) == len(EXPECTED)

    status = cli("status", "--to", f"folder:{library}")
    assert status.code == 0
    assert "4 items" in status.out
    as_json = json.loads(cli("status", "--to", f"folder:{library}", "--json").out)
    assert as_json["items"] == 4
    assert as_json["counts"] == {f"folder:{library}": {"imported": 4}}
    assert [sorted(r["counts"].items()) for r in as_json["runs"]] == [
        [("imported", 4), ("merged album copy", 3)],
        [("already there", 4), ("merged album copy", 3)],
    ]


def test_report_accounts_for_every_file(tmp_path: Path, cli: Callable[..., CliResult]) -> None:
    library, report = tmp_path / "library", tmp_path / "report.json"
    assert cli("import", SAMPLE, "--to", f"folder:{library}", "--report", report).code == 0
    data = json.loads(report.read_text())
    media = [p for p in SAMPLE.rglob("*") if p.is_file() and p.suffix != ".json"]
    assert data["total_files"] == len(data["files"]) == len(media)
    assert data["counts"] == {"imported": 4, "merged album copy": 3}
    assert sum(data["counts"].values()) == data["total_files"]
    assert {f["outcome"] for f in data["files"]} == {"imported", "merged album copy"}


def test_verify_marks_items_and_finds_tampering(tmp_path: Path,
                                                cli: Callable[..., CliResult]) -> None:
    library = tmp_path / "library"
    assert cli("import", SAMPLE, "--to", f"folder:{library}").code == 0
    ok = cli("verify", "--to", f"folder:{library}")
    assert ok.code == 0 and "verified 4 item(s)" in ok.out
    status = json.loads(cli("status", "--to", f"folder:{library}", "--json").out)
    assert status["counts"][f"folder:{library}"]["verified"] == 4

    (library / "2021/05/IMG_0042.jpg").write_bytes(b"changed behind our back")
    (library / "2019/07/IMG_20190704_101500.jpg").unlink()
    bad = cli("verify", "--to", f"folder:{library}")
    assert bad.code == 1
    assert "mismatch: IMG_0042.jpg" in bad.out
    assert "missing: IMG_20190704_101500.jpg" in bad.out
    status = json.loads(cli("status", "--to", f"folder:{library}", "--json").out)
    assert status["counts"][f"folder:{library}"]["verified"] == 2
