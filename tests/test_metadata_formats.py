"""Issue 4: PNG, HEIC and MP4/MOV keep their bytes; an XMP sidecar carries what they lack,
and ExifTool (what Immich and PhotoPrism run) reads it back exactly."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from importer.metadata import isobmff, jpeg
from importer.metadata.probe import probe_image, probe_movie
from importer.model import DateSource, GeoPoint, MediaFile, MediaType, Metadata
from importer.prepare import PrepareError, prepare_file
from importer.sources import mediatypes
from tests.media.readback import MEDIA, read, read_with_sidecars, shown

TRAM = (datetime(2019, 7, 4, 9, 15, tzinfo=UTC), GeoPoint(38.7139, -9.1334, 45.0),
        "Tram 28 – 路面電車")
EDGE = (datetime(1901, 12, 14, 20, 45, 52, tzinfo=UTC), GeoPoint(-89.9999999, 179.9999999),
        "Sud & <antiméridien>")


def google(taken: datetime | None, place: GeoPoint | None = None, caption: str | None = None,
           favorite: bool = False) -> Metadata:
    return Metadata(taken_at=taken, taken_at_source=DateSource.SIDECAR if taken
                    else DateSource.NONE, location=place, description=caption,
                    favorite=favorite)


def write(folder: Path, name: str, meta: Metadata, prefer: frozenset[str] = frozenset()
          ) -> tuple[Path, bytes | None, tuple[str, ...]]:
    data = (MEDIA / name).read_bytes()
    file = MediaFile(name, f"test:{name}", len(data), MediaType.PHOTO, "application/x",
                     lambda: io.BytesIO(data))
    prepared, _, notes = prepare_file(file, meta, prefer)
    path = folder / name
    with prepared.opener() as stream:
        path.write_bytes(stream.read())
    assert path.read_bytes() == data, "files other than JPEG are never written into"
    assert prepared.sha1 == prepared.source_sha1
    if prepared.xmp is not None:
        path.with_name(name + ".xmp").write_bytes(prepared.xmp)
    return path, prepared.xmp, notes


IDENTITY_TAGS = ("IFD0:Make", "IFD0:Model", "IFD0:Orientation", "UserData:Make",
                 "UserData:Model", "Keys:Make", "Keys:Model", "QuickTime:Rotation")


@pytest.mark.parametrize("name", ["plain.png", "plain.heic", "camera.mp4"])
@pytest.mark.parametrize("case", [TRAM, EDGE], ids=["lisbon", "edge"])
def test_sidecar_round_trip(tmp_path: Path, name: str,
                            case: tuple[datetime, GeoPoint, str]) -> None:
    instant, place, caption = case
    path, xmp, notes = write(tmp_path, name, google(instant, place, caption, favorite=True))
    assert xmp is not None and notes == ()
    tags = read_with_sidecars(MEDIA / name, path)
    seen = shown(path, tags)
    assert seen.taken_at is not None
    if name == "camera.mp4":  # the movie header says 2016-05-06T07:08:09Z: the file wins
        assert seen.taken_at == datetime(2016, 5, 6, 7, 8, 9, tzinfo=UTC)
    else:
        assert seen.taken_at == instant
    assert seen.latitude is not None and abs(seen.latitude - place.latitude) < 1e-9
    assert seen.longitude is not None and abs(seen.longitude - place.longitude) < 1e-9
    assert seen.description == caption
    assert tags[path.with_name(name + ".xmp")]["XMP-xmp:Rating"] == 5
    before = {k: v for k, v in tags[MEDIA / name].items() if k in IDENTITY_TAGS}
    assert {k: v for k, v in tags[path].items() if k in IDENTITY_TAGS} == before


def test_mp4_time_is_shown_in_the_local_offset(tmp_path: Path) -> None:
    path, _, _ = write(tmp_path, "camera.mp4", google(None, GeoPoint(-33.8568, 151.2153)))
    seen = shown(path, read_with_sidecars(path))
    assert seen.taken_at is not None
    assert seen.taken_at.isoformat() == "2016-05-06T17:08:09+10:00"


def test_heic_with_everything_needs_no_sidecar(tmp_path: Path) -> None:
    same = google(datetime(2020, 1, 2, 8, 4, 5, tzinfo=UTC), GeoPoint(-33.8598333, 151.2096))
    path, xmp, _ = write(tmp_path, "iphone.heic", same)
    assert xmp is None
    tags = read(path)[path]
    assert (tags["IFD0:Make"], tags["IFD0:Model"]) == ("Apple", "iPhone 12")


def test_heic_own_date_wins_and_google_can_be_preferred(tmp_path: Path) -> None:
    edited = google(datetime(2020, 1, 3, 12, 0, tzinfo=UTC))
    _, xmp, _ = write(tmp_path, "iphone.heic", edited)
    assert xmp is None  # the file's own date (with its offset) stands
    (tmp_path / "won").mkdir()
    won, xmp, _ = write(tmp_path / "won", "iphone.heic", edited, frozenset({"taken_at"}))
    assert xmp is not None
    seen = shown(won, read_with_sidecars(won))
    assert seen.taken_at == edited.taken_at
    assert seen.taken_at is not None and seen.taken_at.utcoffset() == timedelta(hours=-5)


def test_mov_apple_metadata_is_read(tmp_path: Path) -> None:
    data = (MEDIA / "iphone.mov").read_bytes()
    facts = probe_movie(mediatypes.MOV, _moov(data, 5))
    assert facts.taken_at == datetime(2020, 1, 2, 3, 4, 5,
                                      tzinfo=timezone(timedelta(hours=-5)))
    assert facts.location == GeoPoint(-33.8598, 151.2096, 58.0)
    path, xmp, _ = write(tmp_path, "iphone.mov", google(None, None, "Bondi"))
    assert xmp is not None
    seen = shown(path, read_with_sidecars(path))
    assert seen.taken_at == facts.taken_at and seen.description == "Bondi"


def test_png_exif_chunk_is_read() -> None:
    facts, _ = probe_image(mediatypes.PNG, (MEDIA / "exif.png").read_bytes())
    assert facts.taken_at == datetime(2021, 8, 1, 9, 0, tzinfo=timezone(timedelta(hours=2)))


def test_heic_exif_item_is_read() -> None:
    facts, exif = probe_image(mediatypes.HEIC, (MEDIA / "iphone.heic").read_bytes())
    assert exif is not None and exif["0th"][271] == b"Apple"
    assert facts.taken_at == datetime(2020, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=-5)))
    assert facts.location is not None and abs(facts.location.latitude + 33.8598333) < 1e-6


def _moov(data: bytes, chunk: int) -> bytes | None:
    collector = isobmff.TopBoxCollector()
    for at in range(0, len(data), chunk):
        collector.feed(data[at:at + chunk])
    return collector.boxes.get(b"moov")


@given(st.lists(st.integers(1, 300), min_size=1, max_size=40), st.sampled_from(
    ["camera.mp4", "iphone.mov", "plain.heic"]))
def test_moov_is_found_however_the_stream_is_cut(cuts: list[int], name: str) -> None:
    data = (MEDIA / name).read_bytes()
    collector = isobmff.TopBoxCollector(frozenset({b"moov", b"meta"}))
    at, n = 0, 0
    while at < len(data):
        size = cuts[n % len(cuts)]
        collector.feed(data[at:at + size])
        at, n = at + size, n + 1
    expected = {kind: data[start:end] for kind, start, end in isobmff.iter_boxes(data)
                if kind in (b"moov", b"meta")}
    assert collector.boxes == expected and not collector.broken


def test_large_box_sizes_and_oversized_moov() -> None:
    moov = b"\0\0\0\x10moov" + b"abcdefgh"
    large = b"\0\0\0\x01mdat" + (24).to_bytes(8, "big") + b"x" * 8
    collector = isobmff.TopBoxCollector()
    collector.feed(large + moov)
    assert collector.boxes == {b"moov": b"abcdefgh"}
    small = isobmff.TopBoxCollector(limit=4)
    small.feed(moov)
    assert small.boxes == {}


@settings(max_examples=200)
@given(st.binary(max_size=400), st.sampled_from(["iphone.heic", "exif.png", "nikon.jpg"]),
       st.integers(0, 2000))
def test_garbled_files_never_raise(noise: bytes, name: str, cut: int) -> None:
    """Damaged input is reported (or ignored), never an exception that fails the item."""
    data = (MEDIA / name).read_bytes()
    garbled = data[:cut] + noise + data[cut + len(noise):]
    kind = {"iphone.heic": mediatypes.HEIC, "exif.png": mediatypes.PNG,
            "nikon.jpg": mediatypes.JPEG}[name]
    facts, _ = probe_image(kind, garbled)
    assert facts.readable
    probe_movie(mediatypes.MP4, noise)
    file = MediaFile(name, f"test:{name}", len(garbled), MediaType.PHOTO, "application/x",
                     lambda: io.BytesIO(garbled))
    try:
        prepared, _, _ = prepare_file(file, google(*TRAM))
    except PrepareError as exc:  # the bytes are no longer any media we know: a clear error
        assert str(exc).startswith(f"test:{name}: not a photo or video")
        return
    with prepared.opener() as stream:
        written = stream.read()
    if written != garbled:  # only ever a JPEG with EXIF inserted before its image data
        assert kind is mediatypes.JPEG
        assert jpeg.scan_data(written) == jpeg.scan_data(garbled)
