"""Issue 9: EXIF tags of unexpected type or count (rationals where shorts belong, counts of
0 or 2**32-1, offsets outside the block, unknown types, pointers to nowhere) never crash.

Generated EXIF blocks are put into a real JPEG and prepared as the pipeline would. Either
the original bytes are kept (and the values go to the XMP sidecar), or the rewrite keeps
every existing entry exactly (checked by our TIFF reader here, and by ExifTool, an
independent reader, over a batch of generated files) and the image data byte for byte.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from importer.metadata import jpeg, tiff
from importer.model import DateSource, GeoPoint, MediaFile, MediaType, Metadata
from importer.prepare import prepare_file
from tests.conftest import exiftool
from tests.exportgen import template_jpeg

GOOGLE = Metadata(taken_at=datetime(2019, 7, 4, 9, 15, tzinfo=UTC),
                  taken_at_source=DateSource.SIDECAR, location=GeoPoint(38.71, -9.13, 45.0),
                  description="Tram 28")
# Tags whose meaning the reader uses, plus pointers and odd ones: the interesting targets.
TAGS = {
    "0th": [0x010E, 0x010F, 0x0110, 0x0112, 0x011A, 0x0131, 0x0132, 0x8769, 0x8825, 0xC4A5,
            0x0111, 0x014A, 0x9999],
    "Exif": [0x9003, 0x9004, 0x9010, 0x9011, 0x9012, 0x927C, 0x9286, 0xA005, 0x829A, 0xA002],
    "GPS": [0x0000, 0x0001, 0x0002, 0x0003, 0x0004, 0x0005, 0x0006, 0x001D],
}
TYPES = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 0, 14, 0xFFFF]
COUNTS = [0, 1, 2, 3, 4, 7, 20, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF]


@dataclass(frozen=True)
class Field:
    tag: int
    type: int
    count: int
    data: bytes
    """The value bytes (placed after the directories when longer than 4)."""
    offset: int | None
    """A forced value offset (may point anywhere, even outside the block)."""


def _rationals(*values: tuple[int, int]) -> bytes:
    return b"".join(struct.pack(">LL", a, b) for a, b in values)


# What cameras write (tag, type, count, big-endian value): each field starts from one of
# these and is then mutated (type, count, offset, or bytes) or replaced by a random one.
TEMPLATES = {
    "0th": [(0x010F, 2, 6, b"Canon\x00"), (0x0112, 3, 1, b"\x00\x01"),
            (0x011A, 5, 1, _rationals((72, 1))), (0x010E, 2, 8, b"caption\x00"),
            (0x0132, 2, 20, b"2019:07:04 10:15:00\x00")],
    "Exif": [(0x9003, 2, 20, b"2019:07:04 10:15:00\x00"),
             (0x9004, 2, 20, b"2019:07:04 10:15:00\x00"),
             (0x9011, 2, 7, b"+02:00\x00"), (0x829A, 5, 1, _rationals((1, 250))),
             (0xA002, 4, 1, b"\x00\x00\x00\x10"),
             (0x927C, 7, 24, b"OLYMPUS\x00II" + bytes(14))],
    "GPS": [(0, 1, 4, b"\x02\x03\x00\x00"), (1, 2, 2, b"N\x00"),
            (2, 5, 3, _rationals((38, 1), (42, 1), (30, 1))), (3, 2, 2, b"W\x00"),
            (4, 5, 3, _rationals((9, 1), (8, 1), (0, 1))), (5, 1, 1, b"\x00"),
            (6, 5, 1, _rationals((45, 1)))],
}


def _field(draw: Any, ifd: str) -> Field:
    tag, kind, count, data = draw(st.sampled_from(TEMPLATES[ifd]))
    offset = None
    mutation = draw(st.sampled_from(["none", "type", "count", "offset", "bytes", "random"]))
    if mutation == "type":
        kind = draw(st.sampled_from(TYPES))
    elif mutation == "count":
        count = draw(st.sampled_from(COUNTS) | st.integers(0, 40))
    elif mutation == "offset":
        offset = draw(st.integers(0, 300) | st.just(0xFFFFFFF0))
    elif mutation == "bytes":
        data = draw(st.binary(max_size=40))
    elif mutation == "random":
        tag, kind = draw(st.sampled_from(TAGS[ifd])), draw(st.sampled_from(TYPES))
        count, data = draw(st.sampled_from(COUNTS)), draw(st.binary(max_size=40))
    size = tiff.TYPE_SIZES.get(kind, 1) * min(count, 64)
    return Field(tag, kind, count, data.ljust(size, b"\x00")[:size], offset)


def _fields(draw: Any, ifd: str) -> list[Field]:
    fields = {}
    for _ in range(draw(st.integers(0, 7))):
        field = _field(draw, ifd)
        fields[field.tag] = field
    return list(fields.values())


@st.composite
def exif_blocks(draw: Any) -> bytes:
    """A TIFF block: IFD0 (with Exif and GPS pointers when drawn), child IFDs, an IFD1
    sometimes, little or big endian."""
    order = draw(st.sampled_from(["<", ">"]))
    ifds = {name: _fields(draw, name) for name in TAGS}
    pointers = draw(st.sets(st.sampled_from(["Exif", "GPS", "1st"])))
    return _assemble(order, ifds, pointers, bad_pointer=draw(st.booleans()))


def _assemble(order: str, ifds: dict[str, list[Field]], pointers: set[str],
              bad_pointer: bool) -> bytes:
    directories: dict[str, list[Field]] = {"0th": list(ifds["0th"])}
    for child, tag in (("Exif", 0x8769), ("GPS", 0x8825)):
        if child in pointers:
            directories["0th"].append(Field(tag, 4, 1, b"", -1))
            directories[child] = ifds[child]
    if "1st" in pointers:
        directories["1st"] = [Field(0x0201, 4, 1, b"", None), Field(0x0202, 4, 1, b"", None)]
    # layout: header, then each directory, then the out-of-line values
    at = 8
    starts = {}
    for name, fields in directories.items():
        starts[name] = at
        at += 2 + 12 * len(fields) + 4
    values = bytearray()
    body = bytearray()
    for name, fields in directories.items():
        body += struct.pack(order + "H", len(fields))
        for field in sorted(fields, key=lambda f: f.tag):
            raw = _swapped(field.data, field.type) if order == "<" else field.data
            if field.offset == -1:  # a pointer to its child directory
                child = "Exif" if field.tag == 0x8769 else "GPS"
                slot = struct.pack(order + "L", 0xFFFF if bad_pointer else starts[child])
            elif len(raw) <= 4 and field.offset is None:
                slot = raw.ljust(4, b"\x00")
            else:
                position = field.offset if field.offset is not None else at + len(values)
                values += raw
                slot = struct.pack(order + "L", position & 0xFFFFFFFF)
            body += struct.pack(order + "HHL", field.tag, field.type & 0xFFFF,
                                field.count & 0xFFFFFFFF) + slot
        following = starts["1st"] if name == "0th" and "1st" in directories else 0
        body += struct.pack(order + "L", following)
    head = (b"II" if order == "<" else b"MM") + struct.pack(order + "HL", 42, 8)
    return head + bytes(body) + bytes(values)


def _swapped(data: bytes, kind: int) -> bytes:
    """Big-endian value bytes in little-endian order, element by element."""
    width = {3: 2, 8: 2, 4: 4, 9: 4, 11: 4, 13: 4, 5: 4, 10: 4, 12: 8}.get(kind, 1)
    usable = len(data) - len(data) % width
    return b"".join(data[i:i + width][::-1] for i in range(0, usable, width)) + data[usable:]


def jpeg_with(block: bytes) -> bytes:
    base = template_jpeg()
    return jpeg.with_exif_block(base, block[:60000])


def _prepare(data: bytes) -> tuple[bytes, bytes | None, tuple[str, ...]]:
    file = MediaFile("IMG.jpg", "test:IMG.jpg", len(data), MediaType.PHOTO, "image/jpeg",
                     lambda: io.BytesIO(data))
    prepared, _, notes = prepare_file(file, GOOGLE)
    with prepared.opener() as stream:
        return stream.read(), prepared.xmp, notes


def _kept(original: bytes, written: bytes) -> None:
    if written == original:
        return
    assert jpeg.scan_data(written) == jpeg.scan_data(original), "image data changed"
    before = jpeg.exif_block(original)
    after = jpeg.exif_block(written)
    assert after is not None
    old = tiff.read_tiff(before) if before else tiff.TiffBlock({}, None, False)
    new = tiff.read_tiff(after)
    for key, entry in old.entries.items():
        if key[1] in tiff.POINTER_TAGS:
            continue
        moved = new.entries[key]
        assert (moved.type, moved.count, moved.value) == (entry.type, entry.count, entry.value)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(block=exif_blocks())
def test_any_exif_is_kept_as_it_is_or_rewritten_losslessly(block: bytes) -> None:
    original = jpeg_with(block)
    written, xmp, notes = _prepare(original)
    _kept(original, written)
    if written == original:  # nothing written into the file: the sidecar carries it
        assert xmp is not None or not notes


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(block=exif_blocks())
def test_exiftool_agrees_that_every_tag_is_kept(tmp_path: Path, block: bytes) -> None:
    """Every tag ExifTool (an independent reader) finds in the original, it finds with
    the same value in what we send, rewritten or not."""
    original = jpeg_with(block)
    written, _, _ = _prepare(original)
    before, after = tmp_path / "a.jpg", tmp_path / "b.jpg"
    before.write_bytes(original)
    after.write_bytes(written)
    old, new = exiftool(before, after)
    for key, value in old.items():
        if key.startswith(("IFD0:", "ExifIFD:", "GPS:", "IFD1:")) and "Offset" not in key:
            assert new.get(key) == value, key


def test_a_camera_block_with_odd_value_counts_is_completed_losslessly() -> None:
    """Two rationals where GPSAltitude has one (this crashed the reader): the rewrite
    keeps them and adds the date."""
    gps = [Field(1, 2, 2, b"N\x00", None),
           Field(2, 5, 3, _rationals((38, 1), (42, 1), (0, 1)), None),
           Field(3, 2, 2, b"W\x00", None),
           Field(4, 5, 3, _rationals((9, 1), (8, 1), (0, 1)), None),
           Field(6, 5, 2, _rationals((10, 1), (20, 1)), None)]
    original = jpeg_with(_assemble(">", {"0th": [], "Exif": [], "GPS": gps}, {"Exif", "GPS"},
                                   False))
    written, _, notes = _prepare(original)
    assert written != original and not notes
    _kept(original, written)
    block = jpeg.exif_block(written)
    assert block is not None and b"2019:07:04" in block
