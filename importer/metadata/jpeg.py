"""JPEG segment surgery: find the EXIF segment, replace or insert it, copy all else as is.

piexif's own `insert` drops the JFIF APP0 segment and puts EXIF in front of whatever comes
first, so we place the segment ourselves: an existing EXIF APP1 is replaced where it stands,
a new one goes right after SOI and any APP0 (JFIF/JFXX must lead). Every other byte, and in
particular everything from the start-of-scan marker to the end, is copied unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

from importer.metadata import exif as exif_mod
from importer.metadata.exif import ExifError

SOI, APP0, APP1, SOS, EOI = 0xD8, 0xE0, 0xE1, 0xDA, 0xD9
EXIF_HEADER = b"Exif\x00\x00"
_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})  # TEM, RST0-7: no length field
_MAX_SEGMENT = 0xFFFF - 2


@dataclass(frozen=True)
class Segment:
    marker: int
    start: int
    end: int


def header_segments(data: bytes) -> tuple[list[Segment], int]:
    """The segments before the image data, and the offset of the SOS marker."""
    if data[:2] != b"\xff\xd8":
        raise ExifError("not a JPEG (no SOI marker)")
    segments: list[Segment] = []
    at = 2
    while at + 4 <= len(data):
        if data[at] != 0xFF:
            raise ExifError(f"JPEG structure broken at byte {at}")
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        if marker in (SOS, EOI):
            return segments, at
        if marker in _STANDALONE:
            at += 2
            continue
        end = at + 2 + int.from_bytes(data[at + 2:at + 4], "big")
        if end > len(data):
            raise ExifError(f"JPEG segment at byte {at} runs past the end")
        segments.append(Segment(marker, at, end))
        at = end
    raise ExifError("JPEG has no image data (no SOS marker)")


def _is_exif(data: bytes, segment: Segment) -> bool:
    return segment.marker == APP1 and data[segment.start + 4:segment.start + 10] == EXIF_HEADER


def exif_block(data: bytes) -> bytes | None:
    """The TIFF-structured EXIF block of the first EXIF APP1 segment, if any."""
    segments, _ = header_segments(data)
    for segment in segments:
        if _is_exif(data, segment):
            return data[segment.start + 10:segment.end]
    return None


def scan_data(data: bytes) -> memoryview:
    """Everything from the SOS marker on: the compressed image, which must never change.
    A view, not a copy (comparing two of them compares the bytes)."""
    return memoryview(data)[header_segments(data)[1]:]


def with_exif_block(data: bytes, block: bytes) -> bytes:
    """`data` with `block` as its EXIF; all other bytes identical and in the same order."""
    payload = EXIF_HEADER + block
    if len(payload) > _MAX_SEGMENT:
        raise ExifError(f"EXIF of {len(payload)} bytes does not fit one JPEG segment")
    segment = b"\xff\xe1" + (len(payload) + 2).to_bytes(2, "big") + payload
    segments, _ = header_segments(data)
    view = memoryview(data)  # one copy of a big file, not three
    existing = next((s for s in segments if _is_exif(data, s)), None)
    if existing is not None:
        return b"".join((view[:existing.start], segment, view[existing.end:]))
    at = 2
    for leading in segments:
        if leading.marker != APP0 or leading.start != at:
            break
        at = leading.end
    return b"".join((view[:at], segment, view[at:]))


def rewrite_exif(data: bytes, exif: exif_mod.Exif, added: frozenset[exif_mod.Key],
                 replaced: frozenset[exif_mod.Key] = frozenset()) -> bytes:
    """`data` with `exif` as its EXIF, audited: only the `added` tags appear, only the
    `replaced` ones (ours, written earlier) may change or go, and the image data after the
    EXIF is the same byte for byte. Raises ExifError otherwise."""
    block = exif_mod.dump_checked(exif_block(data), exif, added, replaced)
    written = with_exif_block(data, block)
    if scan_data(written) != scan_data(data) or exif_block(written) != block:
        raise ExifError("the rewritten JPEG does not check out")
    return written
