"""Issue 9: a change made in Google rewrites the folder library's file (our EXIF tags, else
its XMP sidecar), so the file and library.jsonl never disagree; a new date moves the file
to its date folder with its sidecar, live-photo video and album links. The image data and
the camera's own tags never change."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import piexif
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.base import VerifyStatus
from adapters.folder.target import FolderTarget, date_folder
from importer import act
from importer.config import MetadataSettings
from importer.metadata import jpeg, tiff
from importer.metadata.convert import is_placeholder_description
from importer.model import Album, GeoPoint, MediaFile, MediaItem, MediaType, Metadata
from importer.prepare import prepare
from tests.conftest import library_entries, originals
from tests.gallery_contract import file_values
from tests.media.readback import MEDIA, read_with_sidecars, shown

PHOTOS = ["plain.jpg", "nikon.jpg", "thumbnail.jpg", "canon.jpg", "unknown_tag.jpg",
          "complete.jpg", "naive.jpg", "plain.png", "exif.png", "iphone.heic"]
MIMES = {".jpg": "image/jpeg", ".png": "image/png", ".heic": "image/heic",
         ".mp4": "video/mp4", ".mov": "video/quicktime"}


def _file(name: str, data: bytes) -> MediaFile:
    kind = MediaType.VIDEO if name.endswith((".mp4", ".mov")) else MediaType.PHOTO
    return MediaFile(name, f"test:{name}", len(data), kind, MIMES[Path(name).suffix],
                     lambda: io.BytesIO(data))


def _item(name: str, meta: Metadata, video: str | None = None) -> MediaItem:
    data = (MEDIA / name).read_bytes()
    live = _file(Path(name).stem + ".mov", (MEDIA / video).read_bytes()) if video else None
    return MediaItem(_file(name, data), meta, live_video=live)


offsets = st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30)),
                           timezone(timedelta(hours=-7))])
dates = st.builds(lambda y, m, d, s, tz: datetime(y, m, d, tzinfo=tz) + timedelta(seconds=s),
                  st.integers(1995, 2030), st.integers(1, 12), st.integers(1, 28),
                  st.integers(0, 86399), offsets)
places = st.builds(GeoPoint, st.floats(-80, 80).map(lambda v: round(v, 5)),
                   st.floats(-179, 179).map(lambda v: round(v, 5)))
captions = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")),
                   min_size=1, max_size=30).filter(str.strip)


@st.composite
def metadata(draw: st.DrawFn) -> Metadata:
    return Metadata(taken_at=draw(st.none() | dates), location=draw(st.none() | places),
                    description=draw(st.none() | captions), favorite=draw(st.booleans()),
                    google_url="https://photos.google.com/photo/X")


def _camera_tags(data: bytes) -> dict[tuple[str, int], object]:
    try:
        block = jpeg.exif_block(data)
    except Exception:
        return {}
    if block is None:
        return {}
    exif = piexif.load(block)
    return {(ifd, tag): value for ifd in ("0th", "Exif", "GPS", "1st")
            for tag, value in (exif.get(ifd) or {}).items() if tag not in tiff.POINTER_TAGS}


def _assert_agree(target: FolderTarget, remote_id: str) -> dict[str, object]:
    (entry,) = [e for e in target.index.entries() if e["path"] == remote_id]
    path = target.root / remote_id
    taken, place, caption, favorite = file_values(path)
    said_place = (entry["latitude"], entry["longitude"]) if entry["latitude"] is not None \
        else None
    said = datetime.fromisoformat(entry["taken_at"]) if entry["taken_at"] else None
    if taken is not None and taken.tzinfo is None:  # a camera's wall time, offset unknown
        assert said is not None and said.replace(tzinfo=None) == taken and said.utcoffset() \
            == timedelta(0)
    else:
        assert taken == said
    if said_place is None or place is None:
        assert place == said_place
    else:
        assert place == pytest.approx(said_place, abs=1e-6)
    said_caption = entry["description"]
    in_exif = not path.with_name(path.name + ".xmp").is_file()
    if said_caption and is_placeholder_description(said_caption) and in_exif:
        assert caption is None  # stated in EXIF, where cameras' filler text reads as none
    else:
        assert (caption or None) == (said_caption or None) or caption == said_caption.strip()
    assert favorite in (None, entry["favorite"])
    return entry


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(PHOTOS), first=metadata(), later=metadata(),
       fields=st.sets(st.sampled_from(["taken_at", "location", "description"]), min_size=1),
       favorite=st.booleans())
def test_changes_land_in_the_file_losslessly(tmp_path_factory: pytest.TempPathFactory,
                                             name: str, first: Metadata, later: Metadata,
                                             fields: set[str], favorite: bool) -> None:
    library = tmp_path_factory.mktemp("lib")
    target = FolderTarget(library)
    try:
        asset = prepare(_item(name, first), settings=MetadataSettings())
        uploaded = target.upload(asset)
        album = target.ensure_album(Album("k", "Trip"), None)
        target.add_to_album(album, [uploaded.remote_id])
        original = (MEDIA / name).read_bytes()
        rewritten = act.settle(target, uploaded.remote_id, later, frozenset(
            {"taken_at", "location", "description"} - fields) | {"favorite", "archived"})
        remote_id = rewritten.remote_id if rewritten else uploaded.remote_id
        target.set_favorite(remote_id, favorite)
        entry = _assert_agree(target, remote_id)
        stored = (library / remote_id).read_bytes()
        if name.endswith(".jpg"):
            assert jpeg.scan_data(stored) == jpeg.scan_data(original)
            before = _camera_tags(original)
            after = _camera_tags(stored)
            assert {k: after.get(k) for k in before} == before, "a camera tag changed"
        else:
            assert stored == original
        sha1 = rewritten.sha1 if rewritten else asset.primary.sha1
        assert target.verify({remote_id: sha1}) == {remote_id: VerifyStatus.OK}
        meta = Metadata(taken_at=datetime.fromisoformat(entry["taken_at"])
                        if entry["taken_at"] else None)
        assert remote_id.startswith(date_folder(meta) + "/")  # moved with its date
        link = library / "albums" / album / Path(uploaded.remote_id).name
        assert link.resolve() == (library / remote_id).resolve()
    finally:
        target.close()
    files = originals(library)
    assert [p.relative_to(library).as_posix() for p in files] == [remote_id]
    sidecars = sorted(p.relative_to(library).as_posix() for p in library.rglob("*.xmp")
                      if "albums" not in p.parts)
    assert sidecars in ([], [remote_id + ".xmp"])


def test_exiftool_reads_the_new_values(tmp_path: Path) -> None:
    """An independent reader sees the change: our EXIF tags replaced in a JPEG, the camera's
    own date kept with the sidecar carrying Google's, a PNG's sidecar rewritten."""
    target = FolderTarget(tmp_path / "lib")
    ist = timezone(timedelta(hours=5, minutes=30))
    first = Metadata(taken_at=datetime(2019, 7, 4, 10, 15, tzinfo=UTC),
                     location=GeoPoint(38.7139, -9.1334), description="old caption")
    later = Metadata(taken_at=datetime(2021, 3, 9, 18, 45, tzinfo=ist),
                     location=GeoPoint(28.6139, 77.209), description="new caption ✓")
    everything = frozenset({"taken_at", "location", "description"})
    ids = {}
    for name in ("plain.jpg", "complete.jpg", "plain.png"):
        uploaded = target.upload(prepare(_item(name, first)))
        moved = target.set_metadata(uploaded.remote_id, later, everything)
        assert moved is not None
        ids[name] = moved.remote_id
    target.close()
    files = {name: tmp_path / "lib" / rel for name, rel in ids.items()}
    tags = read_with_sidecars(*files.values())
    for name in ("plain.jpg", "plain.png"):
        seen = shown(files[name], tags)
        assert seen.taken_at == later.taken_at and seen.taken_at.utcoffset() == \
            timedelta(hours=5, minutes=30)
        assert (seen.latitude, seen.longitude) == pytest.approx((28.6139, 77.209), abs=1e-6)
        assert seen.description == "new caption ✓"
        assert ids[name].startswith("2021/03/")
    plain = tags[files["plain.jpg"]]
    assert plain["ExifIFD:DateTimeOriginal"] == "2021:03:09 18:45:00"
    assert plain["ExifIFD:OffsetTimeOriginal"] == "+05:30"
    assert plain["IFD0:ImageDescription"] == "new caption ✓"
    assert not (files["plain.jpg"].with_name("plain.jpg.xmp")).exists()
    camera = tags[files["complete.jpg"]]
    assert camera["ExifIFD:DateTimeOriginal"] == "2022:12:31 20:15:07"  # the camera's own
    assert shown(files["complete.jpg"], tags).taken_at == later.taken_at  # sidecar wins
    entries = {e["path"]: e for e in library_entries(tmp_path / "lib")}
    assert set(entries) == set(ids.values())
    assert {e["description"] for e in entries.values()} == {"new caption ✓"}


def test_a_new_date_moves_a_live_photo_with_its_video_sidecars_and_links(
        tmp_path: Path) -> None:
    library = tmp_path / "lib"
    target = FolderTarget(library)
    asset = prepare(_item("plain.png", Metadata(google_url="u"), video="iphone.mov"))
    uploaded = target.upload(asset)
    assert uploaded.remote_id == "undated/plain.png"
    albums = [target.ensure_album(Album(k, k), None) for k in ("one", "two")]
    for album in albums:
        target.add_to_album(album, [uploaded.remote_id])
    dated = Metadata(taken_at=datetime(2020, 2, 3, 4, 5, 6, tzinfo=UTC), favorite=True)
    moved = target.set_metadata(uploaded.remote_id, dated, frozenset({"taken_at"}))
    target.set_favorite(moved.remote_id if moved else "", True)
    target.close()
    assert moved is not None and moved.remote_id == "2020/02/plain.png"
    entry = library_entries(library)[0]
    assert entry["path"] == moved.remote_id and entry["live_video"] == "2020/02/plain.mov"
    assert sorted(p.relative_to(library).as_posix() for p in library.rglob("*")
                  if p.is_file() and "albums" not in p.parts and ".gphotos-importer" not in p.parts
                  ) == ["2020/02/plain.mov", "2020/02/plain.png", "2020/02/plain.png.xmp",
                        "library.jsonl"]
    for album in albums:
        (link,) = list((library / "albums" / album).glob("*.png"))
        assert link.resolve() == (library / moved.remote_id).resolve()
    assert file_values(library / moved.remote_id)[0] == dated.taken_at
    assert file_values(library / moved.remote_id)[3] is True
