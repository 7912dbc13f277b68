"""Issue 4 end to end: an export with JPEG, PNG, HEIC and MP4 files goes into a folder
library; ExifTool reads the files and sidecars there and finds the truth. Conflicts and
damaged metadata are listed in the run report; settings let Google win."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from importer.config import MetadataSettings
from importer.model import DateSource, GeoPoint, MediaFile, MediaItem, MediaType, Metadata
from importer.prepare import prepare
from importer.state import State
from tests.conftest import SAMPLE, CliResult, library_entries
from tests.exportgen import PRODUCT, TruthItem, make_items, unique_jpeg, write_zip_parts
from tests.media.readback import MEDIA, read_with_sidecars, shown

CAMERA_MP4 = datetime(2016, 5, 6, 7, 8, 9, tzinfo=UTC)
COMPLETE_JPG = datetime(2022, 12, 31, 9, 15, 7, tzinfo=UTC)


@dataclass
class Case:
    truth: TruthItem
    content: bytes
    expected: datetime
    """What a gallery must show: the file's own date wins over Google's by default."""


def cases() -> list[Case]:
    def item(name: str, n: int, taken: datetime, location: tuple[float, float] | None,
             description: str | None) -> TruthItem:
        return TruthItem(name=name, url=f"https://photos.google.com/photo/AF1QipMeta{n:03d}",
                         taken_at=taken, location=location, description=description)

    lisbon, delhi = (38.7139, -9.1334), (28.6139, 77.209)
    return [
        Case(item("IMG_20190704_101500.jpg", 1, datetime(2019, 7, 4, 9, 15, tzinfo=UTC),
                  lisbon, "Tram 28 ✓"), unique_jpeg("one"),
             datetime(2019, 7, 4, 9, 15, tzinfo=UTC)),
        Case(item("Screenshot_1.png", 2, datetime(1968, 2, 3, 4, 5, 6, tzinfo=UTC), delhi,
                  "Before 1970 – पहले"), (MEDIA / "plain.png").read_bytes(),
             datetime(1968, 2, 3, 4, 5, 6, tzinfo=UTC)),
        Case(item("IMG_0769.HEIC", 3, datetime(2039, 1, 1, 0, 0, 1, tzinfo=UTC),
                  (-33.8568, 151.2153), None), (MEDIA / "plain.heic").read_bytes(),
             datetime(2039, 1, 1, 0, 0, 1, tzinfo=UTC)),
        Case(item("VID_1.mp4", 4, CAMERA_MP4 + timedelta(seconds=30), (64.1466, -21.9426),
                  "Reykjavík"), (MEDIA / "camera.mp4").read_bytes(), CAMERA_MP4),
        # The camera's EXIF says 2022-12-31, Google says a day later: a conflict.
        Case(item("complete.jpg", 5, COMPLETE_JPG + timedelta(days=1), None, None),
             (MEDIA / "complete.jpg").read_bytes(), COMPLETE_JPG),
        Case(item("damaged.jpg", 6, datetime(2005, 5, 5, 5, 5, 5, tzinfo=UTC), lisbon, None),
             (MEDIA / "damaged.jpg").read_bytes(), datetime(2005, 5, 5, 5, 5, 5, tzinfo=UTC)),
    ]


def write_export(root: Path, all_cases: list[Case]) -> Path:
    folder = root / "export" / PRODUCT / "Photos from 2019"
    folder.mkdir(parents=True)
    for case in all_cases:
        (folder / case.truth.name).write_bytes(case.content)
        sidecar = folder / f"{case.truth.name}.supplemental-metadata.json"
        sidecar.write_text(json.dumps(case.truth.sidecar(), ensure_ascii=False))
    return root / "export"


def imported(library: Path) -> dict[str, Path]:
    return {e["google_url"]: library / e["path"] for e in library_entries(library)}


def test_export_lands_with_metadata_exiftool_agrees(
        tmp_path: Path, cli: Callable[..., CliResult]) -> None:
    all_cases = cases()
    export, library, report = write_export(tmp_path, all_cases), tmp_path / "lib", \
        tmp_path / "report.json"
    result = cli("import", export, "--to", f"folder:{library}", "--report", report)
    assert result.code == 0, result.err
    files = imported(library)
    tags = read_with_sidecars(*files.values())
    for case in all_cases:
        path = files[case.truth.url]
        seen = shown(path, tags)
        assert seen.taken_at == case.expected, path.name
        if case.truth.location is not None:
            assert seen.latitude is not None and seen.longitude is not None
            assert abs(seen.latitude - case.truth.location[0]) < 1e-9, path.name
            assert abs(seen.longitude - case.truth.location[1]) < 1e-9, path.name
        if case.truth.description:
            assert seen.description == case.truth.description, path.name
    complete = files["https://photos.google.com/photo/AF1QipMeta005"]
    assert complete.read_bytes() == (MEDIA / "complete.jpg").read_bytes()
    assert tags[complete]["IFD0:ImageDescription"] == "Harbour bridge at dusk"

    data = json.loads(report.read_text())
    [conflict] = data["conflicts"]
    assert conflict["file"].endswith("Photos from 2019/complete.jpg")
    assert (conflict["field"], conflict["winner"]) == ("taken_at", "file")
    assert conflict["file_value"] == "2022-12-31T20:15:07+11:00"
    assert conflict["google_value"] == "2023-01-01T09:15:07+00:00"
    [note] = data["metadata_notes"]
    assert note["file"].endswith("damaged.jpg") and "unreadable EXIF" in note["note"]
    assert data["metadata_conflicts"] == 1

    again = cli("import", export, "--to", f"folder:{library}")
    assert "Nothing new to import" in again.out


def test_generated_export_in_zip_parts_carries_its_truth_in_exif(
        tmp_path: Path, cli: Callable[..., CliResult]) -> None:
    items = make_items(40, seed=11)
    export = write_zip_parts(tmp_path / "parts", items, parts=3, seed=11)
    library = tmp_path / "lib"
    assert cli("import", *export.sources, "--to", f"folder:{library}").code == 0
    files = imported(library)
    tags = read_with_sidecars(*files.values())
    for truth in items:
        path = files[truth.url]
        assert not (path.parent / (path.name + ".xmp")).exists()  # all of it went into EXIF
        seen = shown(path, tags)
        assert seen.taken_at == truth.taken_at
        if truth.location is None:
            assert seen.latitude is None
        else:
            assert seen.latitude is not None and seen.longitude is not None
            assert abs(seen.latitude - truth.location[0]) < 1e-9
            assert abs(seen.longitude - truth.location[1]) < 1e-9
        assert seen.description == truth.description


def test_prefer_google_date_wins_and_is_recorded(
        tmp_path: Path, cli: Callable[..., CliResult]) -> None:
    all_cases = [c for c in cases() if c.truth.name == "complete.jpg"]
    export, library = write_export(tmp_path, all_cases), tmp_path / "lib"
    config = tmp_path / "config.yaml"
    config.write_text("metadata:\n  prefer_google: [date]\n")
    report = tmp_path / "report.json"
    result = cli("import", export, "--to", f"folder:{library}", "--config", config,
                 "--report", report)
    assert result.code == 0, result.err
    [path] = imported(library).values()
    assert path.read_bytes() == (MEDIA / "complete.jpg").read_bytes()  # EXIF untouched
    seen = shown(path, read_with_sidecars(path))
    assert seen.taken_at == COMPLETE_JPG + timedelta(days=1)
    assert seen.taken_at is not None and seen.taken_at.utcoffset() == timedelta(hours=11)
    [entry] = library_entries(library)
    assert entry["taken_at"] == "2023-01-01T20:15:07+11:00"
    assert json.loads(report.read_text())["conflicts"][0]["winner"] == "google"
    with State(library / ".gphotos-importer" / "state.sqlite", readonly=True) as state:
        [record] = [state.get(url) for url in [all_cases[0].truth.url]]
        assert record is not None
        on_target = record.on(f"folder:{library}")
        assert on_target is not None
        assert set(on_target.from_file) == {"location", "description"}


def test_both_checksums_are_recorded(tmp_path: Path, cli: Callable[..., CliResult]) -> None:
    all_cases = cases()[:1]
    export, library = write_export(tmp_path, all_cases), tmp_path / "lib"
    assert cli("import", export, "--to", f"folder:{library}").code == 0
    [entry] = library_entries(library)
    assert entry["sha1"] != entry["original_sha1"]
    with State(library / ".gphotos-importer" / "state.sqlite", readonly=True) as state:
        target = f"folder:{library}"
        url = all_cases[0].truth.url
        assert state.find_by_checksum(target, entry["sha1"]) == url
        assert state.find_by_checksum(target, entry["original_sha1"]) == url


def test_sample_export_reads_back_true(tmp_path: Path, cli: Callable[..., CliResult]) -> None:
    library = tmp_path / "lib"
    assert cli("import", SAMPLE, "--to", f"folder:{library}").code == 0
    files = {e["original_name"]: library / e["path"] for e in library_entries(library)}
    tags = read_with_sidecars(*files.values())
    tram = shown(files["IMG_20190704_101500.jpg"], tags)
    assert tram.taken_at is not None and tram.taken_at.isoformat() == "2019-07-04T10:15:00+01:00"
    assert (tram.latitude, tram.longitude) == (38.7139, -9.1334)
    assert tram.altitude == 45 and tram.description == "Tram 28 in Alfama"
    assert tram.from_sidecar == frozenset()  # all of it inside the JPEG's EXIF
    shot = shown(files["Screenshot_20210612-091500.png"], tags)
    assert shot.taken_at == datetime(2021, 6, 12, 7, 15, tzinfo=UTC)
    assert shot.from_sidecar == frozenset({"taken_at"})


def _file(name: str, data: bytes, kind: MediaType) -> MediaFile:
    return MediaFile(name, f"test:{name}", len(data), kind, "application/x",
                     lambda: io.BytesIO(data))


def test_prepare_threads_settings_and_describes_its_work() -> None:
    heic = (MEDIA / "iphone.heic").read_bytes()  # 2020-01-02T03:04:05-05:00, Sydney GPS
    movie = (MEDIA / "iphone.mov").read_bytes()
    meta = Metadata(taken_at=datetime(2021, 1, 1, tzinfo=UTC),
                    taken_at_source=DateSource.SIDECAR, description="Bondi",
                    location=GeoPoint(-33.8915, 151.2767), google_url="https://x/1")
    item = MediaItem(_file("IMG_1.HEIC", heic, MediaType.PHOTO), meta,
                     live_video=_file("IMG_1.MOV", movie, MediaType.VIDEO))
    default = prepare(item)
    assert default.carried == frozenset({"taken_at", "location", "description"})
    assert default.from_file == frozenset({"taken_at", "location"})
    assert {c.field for c in default.conflicts} == {"taken_at", "location"}
    assert default.item.metadata.taken_at == datetime(2020, 1, 2, 8, 4, 5, tzinfo=UTC)
    assert default.item.metadata.time_zone is None  # -05:00 is not Sydney's offset
    assert default.primary.xmp is not None  # the caption is not in the file
    assert default.live_video is not None and default.live_video.xmp is not None
    google_wins = prepare(item, settings=MetadataSettings(prefer_google=["date", "location"]))
    assert google_wins.item.metadata.taken_at == meta.taken_at
    assert google_wins.item.metadata.location == meta.location
    assert google_wins.from_file == frozenset()
    assert {c.winner for c in google_wins.conflicts} == {"google"}


def test_dry_run_identifies_items_without_a_google_url(
        tmp_path: Path, cli: Callable[..., CliResult]) -> None:
    folder = tmp_path / "export" / PRODUCT / "Photos from 2020"
    folder.mkdir(parents=True)
    (folder / "orphan.heic").write_bytes((MEDIA / "plain.heic").read_bytes())
    config = tmp_path / "config.yaml"
    config.write_text("metadata:\n  prefer_google: [location]\n")
    result = cli("import", tmp_path / "export", "--to", f"folder:{tmp_path / 'lib'}",
                 "--dry-run", "--config", config)
    assert result.code == 0, result.err
    assert "upload" in result.out and "orphan.heic" in result.out
    assert not (tmp_path / "lib").exists()
