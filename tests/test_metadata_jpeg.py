"""Issue 4: JPEGs get what they lack inserted into EXIF, losslessly, checked with ExifTool.

The image data (SOS to EOI) stays byte-identical, every existing tag (Make, Model,
Orientation, maker notes, thumbnails) survives, and when piexif would harm something the
original bytes are kept and the values go to an XMP sidecar instead.
"""

from __future__ import annotations

import hashlib
import io
import struct
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import piexif
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from importer.metadata import jpeg, tiff
from importer.metadata.convert import clean_text, from_dms_rationals, valid_position
from importer.metadata.resolve import Resolution
from importer.model import DateSource, GeoPoint, MediaFile, MediaType, Metadata, PreparedFile
from importer.prepare import prepare_file
from tests.media import make_media
from tests.media.readback import MEDIA, read, read_with_sidecars, shown

CASES = [
    # (Google's capture instant, position, caption): dates across centuries, all
    # hemispheres, the poles and the antimeridian, long and non-ASCII captions.
    (datetime(2019, 7, 4, 9, 15, tzinfo=UTC), GeoPoint(38.7139, -9.1334, 45.0), "Tram 28"),
    (datetime(1969, 12, 31, 23, 59, 59, tzinfo=UTC), GeoPoint(-33.8568, 151.2153, -2.5),
     "Before the epoch – avant l'époque – 昭和44年"),
    (datetime(2038, 1, 19, 3, 14, 8, tzinfo=UTC), GeoPoint(64.1466, -21.9426), "2038 ✓"),
    (datetime(1905, 3, 1, 12, 0, tzinfo=UTC), GeoPoint(-54.8019, -68.303, 12.345), "Ushuaia"),
    (datetime(2150, 6, 30, 23, 0, tzinfo=UTC), GeoPoint(90.0, 180.0), "North pole, east"),
    (datetime(2001, 2, 3, 4, 5, 6, tzinfo=UTC), GeoPoint(-90.0, -180.0), "South pole, west"),
    (datetime(2012, 12, 12, 12, 12, 12, tzinfo=UTC), GeoPoint(-0.0000001, 179.9999999),
     "Antimeridian " + "long caption " * 200),
    (datetime(2020, 2, 29, 0, 0, tzinfo=UTC), GeoPoint(28.6139, 77.209),
     "नमस्ते <&> \"quoted\" 'single' \n second line 🚋🇵🇹"),
    (datetime(1999, 12, 31, 23, 59, 59, tzinfo=UTC), GeoPoint(31.5, 35.5, -430.5),
     "Dead Sea, below sea level"),
]


@dataclass
class Written:
    path: Path
    prepared: PreparedFile
    resolution: Resolution
    notes: tuple[str, ...]


def media_file(name: str, data: bytes) -> MediaFile:
    return MediaFile(name, f"test:{name}", len(data), MediaType.PHOTO, "image/jpeg",
                     lambda: io.BytesIO(data))


def google(taken: datetime | None, place: GeoPoint | None = None,
           caption: str | None = None, favorite: bool = False) -> Metadata:
    return Metadata(taken_at=taken, taken_at_source=DateSource.SIDECAR if taken else
                    DateSource.NONE, location=place, description=caption, favorite=favorite)


def write(folder: Path, name: str, data: bytes, meta: Metadata,
          prefer: frozenset[str] = frozenset()) -> Written:
    prepared, resolution, notes = prepare_file(media_file(name, data), meta, prefer)
    path = folder / name
    with prepared.opener() as stream:
        path.write_bytes(stream.read())
    if prepared.xmp is not None:
        path.with_name(name + ".xmp").write_bytes(prepared.xmp)
    return Written(path, prepared, resolution, notes)


def fixture(name: str) -> bytes:
    return (MEDIA / name).read_bytes()


def camera_tags(tags: dict[str, object]) -> dict[str, object]:
    keep = ("IFD0:Make", "IFD0:Model", "IFD0:Orientation", "IFD0:XResolution")
    return {k: v for k, v in tags.items() if k in keep or k.startswith(("Nikon:", "Canon:"))}


@pytest.mark.parametrize("base", ["plain.jpg", "nikon.jpg"])
def test_round_trip_through_exiftool(tmp_path: Path, base: str) -> None:
    original = fixture(base)
    written = [write(tmp_path, f"{n}-{base}", original, google(*case))
               for n, case in enumerate(CASES)]
    tags = read_with_sidecars(MEDIA / base, *(w.path for w in written))
    before = camera_tags(tags[MEDIA / base])
    for w, (instant, place, caption) in zip(written, CASES, strict=True):
        assert w.prepared.xmp is None, w.notes  # everything went into EXIF
        assert w.prepared.sha1 == hashlib.sha1(w.path.read_bytes()).hexdigest()
        assert w.prepared.source_sha1 == hashlib.sha1(original).hexdigest()
        assert jpeg.scan_data(w.path.read_bytes()) == jpeg.scan_data(original)
        assert w.path.read_bytes()[2:4] == b"\xff\xe0"  # JFIF APP0 still leads
        seen = shown(w.path, tags)
        assert seen.taken_at == instant
        assert seen.taken_at is not None and w.resolution.metadata.taken_at is not None
        assert seen.taken_at.utcoffset() == w.resolution.metadata.taken_at.utcoffset()
        assert seen.latitude is not None and abs(seen.latitude - place.latitude) < 1e-9
        assert seen.longitude is not None and abs(seen.longitude - place.longitude) < 1e-9
        if place.altitude:
            assert seen.altitude is not None and abs(seen.altitude - place.altitude) < 1e-3
        assert seen.description == caption.strip()
        assert camera_tags(tags[w.path]) == before
        assert not [k for k in tags[w.path] if k.endswith(":Warning")], tags[w.path]


def test_nikon_maker_notes_come_through_a_rewrite(tmp_path: Path) -> None:
    w = write(tmp_path, "nikon.jpg", fixture("nikon.jpg"), google(*CASES[0]))
    assert w.prepared.sha1 != w.prepared.source_sha1 and w.prepared.xmp is None
    tags = read(MEDIA / "nikon.jpg", w.path)
    nikon = {k: v for k, v in tags[w.path].items() if k.startswith("Nikon:")}
    assert nikon == {k: v for k, v in tags[MEDIA / "nikon.jpg"].items() if k.startswith("Nikon:")}
    assert nikon["Nikon:Quality"].strip() == "FINE" and nikon["Nikon:ISO"] == "0 400"


def test_canon_maker_notes_would_break_so_the_sidecar_carries_the_values(
        tmp_path: Path) -> None:
    original = fixture("canon.jpg")
    w = write(tmp_path, "canon.jpg", original, google(*CASES[0]))
    assert w.path.read_bytes() == original
    assert w.prepared.sha1 == w.prepared.source_sha1
    assert w.prepared.xmp is not None
    assert any("maker notes would move" in note for note in w.notes)
    tags = read_with_sidecars(w.path)
    seen = shown(w.path, tags)
    assert seen.taken_at == CASES[0][0] and seen.description == "Tram 28"
    assert seen.from_sidecar == frozenset({"taken_at", "location", "description"})
    assert tags[w.path]["Canon:CanonImageType"] == "Canon EOS 200D JPEG"


def test_why_the_audit_exists_piexif_alone_breaks_canon_maker_notes(tmp_path: Path) -> None:
    """What a plain piexif rewrite does to absolute-offset maker notes (ExifTool notices)."""
    original = fixture("canon.jpg")
    exif = piexif.load(original)
    exif["Exif"][piexif.ExifIFD.DateTimeOriginal] = b"2019:07:04 10:15:00"
    naive = tmp_path / "naive-rewrite.jpg"
    naive.write_bytes(jpeg.with_exif_block(original, piexif.dump(exif)[6:]))
    tags = read(naive)[naive]
    warnings = [str(v).lower() for k, v in tags.items() if k.endswith(":Warning")]
    assert any("maker notes offsets" in w for w in warnings)
    assert tags.get("Canon:CanonImageType") != "Canon EOS 200D JPEG"


def test_a_complete_file_keeps_its_exact_bytes(tmp_path: Path) -> None:
    original = fixture("complete.jpg")
    same = google(datetime(2022, 12, 31, 9, 15, 7, tzinfo=UTC),
                  GeoPoint(-33.8598333, 151.2096), "Harbour bridge at dusk")
    for meta in (same, Metadata()):
        w = write(tmp_path, "complete.jpg", original, meta)
        assert w.path.read_bytes() == original
        assert w.prepared.sha1 == w.prepared.source_sha1 == hashlib.sha1(original).hexdigest()
        assert w.prepared.xmp is None and w.resolution.conflicts == () and w.notes == ()
        assert w.resolution.from_file == frozenset({"taken_at", "location", "description"})


def test_google_wins_when_preferred_without_touching_the_cameras_exif(tmp_path: Path) -> None:
    original = fixture("complete.jpg")
    edited = google(datetime(2023, 1, 1, 0, 0, tzinfo=UTC), None, "Edited in Google Photos")
    kept = write(tmp_path, "kept.jpg", original, edited)
    assert kept.path.read_bytes() == original and kept.prepared.xmp is None
    assert {(c.field, c.winner) for c in kept.resolution.conflicts} == {
        ("taken_at", "file"), ("description", "file")}
    won = write(tmp_path, "won.jpg", original, edited, frozenset({"taken_at", "description"}))
    assert won.path.read_bytes() == original
    tags = read_with_sidecars(won.path)
    assert tags[won.path]["ExifIFD:DateTimeOriginal"] == "2022:12:31 20:15:07"
    seen = shown(won.path, tags)
    assert seen.taken_at == datetime(2023, 1, 1, 0, 0, tzinfo=UTC)
    assert seen.taken_at is not None and seen.taken_at.utcoffset() == timedelta(hours=11)
    assert seen.description == "Edited in Google Photos"
    assert seen.latitude is not None and abs(seen.latitude + 33.8598333) < 1e-6


def test_thumbnail_is_kept_byte_for_byte(tmp_path: Path) -> None:
    w = write(tmp_path, "thumbnail.jpg", fixture("thumbnail.jpg"), google(*CASES[1]))
    assert w.prepared.xmp is None and w.prepared.sha1 != w.prepared.source_sha1
    before = read(MEDIA / "thumbnail.jpg", binary=True)[MEDIA / "thumbnail.jpg"]
    after = read(w.path, binary=True)[w.path]
    assert after["IFD1:ThumbnailImage"] == before["IFD1:ThumbnailImage"]
    assert after["IFD0:Make"] == "SONY" and after["IFD0:Orientation"] == 3


def test_a_thumbnail_piexif_would_alter_means_sidecar(tmp_path: Path) -> None:
    block = make_media.tiff_block("<", {"0th": make_media.camera_tags("<", "X", "Y", 1)},
                                  thumbnail=make_media.thumbnail_jpeg(app0=True))
    original = make_media.with_exif(make_media.jfif_jpeg((1, 2, 3)), block)
    w = write(tmp_path, "app0-thumb.jpg", original, google(*CASES[0]))
    assert w.path.read_bytes() == original and w.prepared.xmp is not None
    assert any("would change" in note for note in w.notes)


def test_tags_piexif_does_not_know_mean_sidecar(tmp_path: Path) -> None:
    original = fixture("unknown_tag.jpg")
    w = write(tmp_path, "unknown_tag.jpg", original, google(*CASES[2]))
    assert w.path.read_bytes() == original and w.prepared.xmp is not None
    assert any("0xC7A1" in note for note in w.notes)
    assert shown(w.path, read_with_sidecars(w.path)).taken_at == CASES[2][0]


def test_damaged_exif_keeps_the_bytes_and_names_the_problem(tmp_path: Path) -> None:
    original = fixture("damaged.jpg")
    w = write(tmp_path, "damaged.jpg", original, google(*CASES[0]))
    assert w.path.read_bytes() == original
    assert w.notes and w.notes[0].startswith("unreadable EXIF")
    assert "XMP sidecar" in w.notes[0]
    seen = shown(w.path, read_with_sidecars(w.path))
    assert seen.taken_at == CASES[0][0] and seen.description == "Tram 28"


def test_naive_camera_time_only_gains_its_offset(tmp_path: Path) -> None:
    original = fixture("naive.jpg")  # 2018:03:04 15:30:00, no offset
    w = write(tmp_path, "naive.jpg", original,
              google(datetime(2018, 3, 4, 14, 30, tzinfo=UTC)))
    tags = read(w.path)[w.path]
    assert tags["ExifIFD:DateTimeOriginal"] == "2018:03:04 15:30:00"
    assert tags["ExifIFD:OffsetTimeOriginal"] == "+01:00"
    assert "ExifIFD:CreateDate" not in tags  # nothing else was invented
    assert w.resolution.conflicts == () and w.prepared.xmp is None


def test_a_caption_too_long_for_exif_goes_to_the_sidecar(tmp_path: Path) -> None:
    caption = "ü" * 40_000  # 80 kB of UTF-8: more than one JPEG segment holds
    w = write(tmp_path, "long.jpg", fixture("plain.jpg"), google(CASES[0][0], None, caption))
    assert w.prepared.xmp is not None and any("does not fit" in n for n in w.notes)
    seen = shown(w.path, read_with_sidecars(w.path))
    assert seen.description == caption and seen.taken_at == CASES[0][0]


def test_camera_placeholder_caption_stays_and_googles_goes_to_the_sidecar(
        tmp_path: Path) -> None:
    block = make_media.tiff_block(">", {"0th": [
        *make_media.camera_tags(">", "OLYMPUS", "E-M5", 1),
        make_media.ascii_tag(0x010E, "OLYMPUS DIGITAL CAMERA         ")]})
    original = make_media.with_exif(make_media.jfif_jpeg((9, 9, 9)), block)
    w = write(tmp_path, "olympus.jpg", original, google(None, None, "Our first flat"))
    assert w.resolution.conflicts == ()
    tags = read_with_sidecars(w.path)
    assert tags[w.path]["IFD0:ImageDescription"].startswith("OLYMPUS DIGITAL CAMERA")
    assert shown(w.path, tags).description == "Our first flat"


def _segments(data: bytes) -> list[bytes]:
    segments, _ = jpeg.header_segments(data)
    return [data[s.start:s.end] for s in segments]


def test_exif_goes_after_jfif_and_every_other_segment_stays(tmp_path: Path) -> None:
    plain = fixture("plain.jpg")
    xmp_payload = b"http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta/>"
    icc = b"ICC_PROFILE\x00\x01\x01" + b"\x00" * 40
    extra = (b"\xff\xe1" + struct.pack(">H", len(xmp_payload) + 2) + xmp_payload
             + b"\xff\xe2" + struct.pack(">H", len(icc) + 2) + icc)
    app0_end = 4 + struct.unpack(">H", plain[4:6])[0]
    original = plain[:app0_end] + extra + plain[app0_end:]
    w = write(tmp_path, "segments.jpg", original, google(*CASES[0]))
    before, after = _segments(original), _segments(w.path.read_bytes())
    assert after[0] == before[0] and after[0][:2] == b"\xff\xe0"
    assert after[1][4:10] == b"Exif\x00\x00"
    assert after[2:] == before[1:]
    assert jpeg.scan_data(w.path.read_bytes()) == jpeg.scan_data(original)


@settings(max_examples=60, deadline=None)
@given(
    st.datetimes(min_value=datetime(1830, 1, 1), max_value=datetime(2900, 1, 1),
                 timezones=st.just(UTC)).map(lambda d: d.replace(microsecond=0)),
    st.floats(-90, 90, allow_nan=False), st.floats(-180, 180, allow_nan=False),
    st.text(min_size=1, max_size=2000),
)
def test_written_exif_reads_back_exactly(moment: datetime, lat: float, lon: float,
                                         caption: str) -> None:
    """The same round trip as with ExifTool, many more cases, read with piexif and our own
    TIFF reader (ExifTool runs once per file, too slow for hundreds of cases)."""
    original = fixture("nikon.jpg")
    place = GeoPoint(lat, lon) if valid_position(lat, lon) else None
    prepared, _, notes = prepare_file(media_file("x.jpg", original),
                                      google(moment, place, caption))
    assert notes == () and prepared.xmp is None
    with prepared.opener() as stream:
        data = stream.read()
    assert jpeg.scan_data(data) == jpeg.scan_data(original)
    block = jpeg.exif_block(data)
    assert block is not None
    old = tiff.read_tiff(jpeg.exif_block(original) or b"").entries
    new = tiff.read_tiff(block).entries
    for key, entry in old.items():
        if key[1] not in tiff.POINTER_TAGS:
            assert (new[key].type, new[key].count, new[key].value) == (
                entry.type, entry.count, entry.value)
    exif = piexif.load(block)
    offset = exif["Exif"][piexif.ExifIFD.OffsetTimeOriginal].decode()
    wall = exif["Exif"][piexif.ExifIFD.DateTimeOriginal].decode()
    assert datetime.fromisoformat(wall[:10].replace(":", "-") + "T" + wall[11:] + offset) \
        == moment
    if place is not None:
        gps = exif["GPS"]
        back = from_dms_rationals(gps[piexif.GPSIFD.GPSLatitude],
                                  gps[piexif.GPSIFD.GPSLatitudeRef].decode())
        assert back is not None and abs(back - lat) < 1e-9
    stored = exif["0th"].get(piexif.ImageIFD.ImageDescription)
    assert (stored.decode("utf-8") if stored else None) == (clean_text(caption) or None)


def test_scan_data_check_covers_the_whole_tail() -> None:
    data = fixture("plain.jpg")
    tail = bytes(jpeg.scan_data(data))
    assert tail.startswith(b"\xff\xda") and tail.endswith(b"\xff\xd9")
    segments, sos = jpeg.header_segments(data)
    assert data == data[:sos] + tail and segments[-1].end == sos
