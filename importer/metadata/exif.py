"""EXIF (as piexif's dicts): what a file says, what is missing, and a rewrite we can trust.

Rule: fill what is missing, never touch what is there. `fill_missing` only adds tags that
are absent; `dump_checked` serialises with piexif and then audits the result with our own
TIFF reader (`tiff.py`): every tag the file had must come out with the same type, count and
value, the thumbnail byte for byte, and maker notes must not move unless they are
self-contained. Anything else raises `ExifError`, and the caller keeps the original bytes
and carries the values in an XMP sidecar instead.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import piexif

from importer.metadata import tiff
from importer.metadata.convert import (
    altitude_rational,
    clean_text,
    dms_rationals,
    exif_datetime,
    format_offset,
    from_dms_rationals,
    is_placeholder_description,
    latitude_ref,
    longitude_ref,
    parse_exif_datetime,
    parse_offset,
    valid_position,
)
from importer.metadata.facts import FileFacts
from importer.metadata.resolve import Resolution
from importer.model import GeoPoint

Exif = dict[str, Any]
Key = tuple[str, int]
E, G, I = piexif.ExifIFD, piexif.GPSIFD, piexif.ImageIFD  # noqa: E741

# Maker notes whose inner offsets count from the note itself (ExifTool's MakerNotes.pm bases):
# they survive being moved. Any other maker note must stay where it is, or we do not rewrite.
_SELF_CONTAINED_NOTES = (b"Nikon\x00\x02", b"Apple iOS\x00", b"FUJIFILM", b"OLYMPUS\x00",
                         b"OM SYSTEM\x00", b"HDRP\x02", b"HDRP\x03")
# Tags holding positions inside the block that piexif copies as plain numbers (the data they
# point at would be lost): SubIFDs, strips, tiles, GlobalParametersIFD, DNGPrivateData, and
# Microsoft's OffsetSchema (a correction for moved maker notes).
_OFFSET_TAGS = frozenset({0x0111, 0x0144, 0x014A, 0x0190, 0xC634, 0xEA1D})


class ExifError(Exception):
    """The EXIF cannot be read, or cannot be rewritten without changing what is there."""


def load(tiff_block: bytes) -> Exif:
    """piexif's dict of a TIFF-structured EXIF block (without the "Exif\\0\\0" header)."""
    try:
        tiff.read_tiff(tiff_block)  # structural check independent of piexif
        exif: Exif = piexif.load(tiff_block)
    except tiff.TiffError as exc:
        raise ExifError(f"unreadable EXIF ({exc})") from None
    except Exception as exc:  # piexif raises ValueError, struct.error, KeyError, …
        raise ExifError(f"unreadable EXIF ({type(exc).__name__})") from None
    return exif


# -- reading ---------------------------------------------------------------------------------


def _text(raw: Any) -> str | None:
    if isinstance(raw, bytes):
        raw = raw.rstrip(b"\x00")
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError:
            raw = raw.decode("latin-1")
    return raw if isinstance(raw, str) and raw.strip() else None


def _date(ifd: dict[int, Any], date_tag: int, offset_tag: int) -> Any:
    text = _text(ifd.get(date_tag))
    wall = parse_exif_datetime(text) if text else None
    if wall is None:
        return None
    offset_text = _text(ifd.get(offset_tag))
    offset = parse_offset(offset_text) if offset_text else None
    return wall.replace(tzinfo=offset) if offset else wall


def _position(gps: dict[int, Any]) -> GeoPoint | None:
    lat = from_dms_rationals(gps.get(G.GPSLatitude), _text(gps.get(G.GPSLatitudeRef)) or "N")
    lon = from_dms_rationals(gps.get(G.GPSLongitude), _text(gps.get(G.GPSLongitudeRef)) or "E")
    if lat is None or lon is None or not valid_position(lat, lon):
        return None
    altitude = _rational(gps.get(G.GPSAltitude))
    if altitude is not None and gps.get(G.GPSAltitudeRef) in (1, b"\x01", (1,)):
        altitude = -altitude
    return GeoPoint(lat, lon, altitude)


def _rational(raw: Any) -> float | None:
    """One rational as piexif gives it, (num, den); None for any other shape or type (a
    camera may write two rationals, or a SHORT, where one RATIONAL belongs)."""
    if isinstance(raw, tuple) and len(raw) == 1:
        raw = raw[0]
    if not (isinstance(raw, tuple) and len(raw) == 2
            and all(isinstance(n, int) for n in raw) and raw[1]):
        return None
    numerator, denominator = raw
    return float(numerator / denominator)


def facts_from_exif(exif: Exif) -> FileFacts:
    ifd: dict[int, Any] = exif.get("Exif") or {}
    zeroth: dict[int, Any] = exif.get("0th") or {}
    taken = (_date(ifd, E.DateTimeOriginal, E.OffsetTimeOriginal)
             or _date(ifd, E.DateTimeDigitized, E.OffsetTimeDigitized))
    offsets = (_text(ifd.get(tag)) for tag in
               (E.OffsetTimeOriginal, E.OffsetTimeDigitized, E.OffsetTime))
    offset = next((parsed for text in offsets if text and (parsed := parse_offset(text))), None)
    raw = _text(zeroth.get(I.ImageDescription))
    shown = clean_text(raw) if raw else None
    return FileFacts(
        taken_at=taken,
        offset=offset,
        location=_position(exif.get("GPS") or {}),
        description=shown if shown and not is_placeholder_description(shown) else None,
        description_tag=I.ImageDescription in zeroth,
        shown_description=shown or None,
    )


# -- filling ---------------------------------------------------------------------------------


class _Filler:
    def __init__(self, exif: Exif) -> None:
        self.ifds: dict[str, dict[int, Any]] = {
            name: dict(exif.get(name) or {}) for name in ("0th", "Exif", "GPS", "Interop", "1st")
        }
        self.exif = exif
        self.added: set[Key] = set()

    def put(self, ifd: str, tag: int, value: Any) -> None:
        if tag not in self.ifds[ifd]:
            self.ifds[ifd][tag] = value
            self.added.add((ifd, tag))

    def result(self) -> tuple[Exif, frozenset[Key]]:
        return {**self.exif, **self.ifds}, frozenset(self.added)


def _fill_date(filler: _Filler, facts: FileFacts, resolution: Resolution) -> None:
    taken = resolution.metadata.taken_at
    if taken is None or resolution.offset_assumed:
        return
    stamp, offset = exif_datetime(taken).encode("ascii"), format_offset(taken).encode("ascii")
    ifd = filler.ifds["Exif"]
    if E.DateTimeOriginal not in ifd:
        filler.put("Exif", E.DateTimeOriginal, stamp)
        filler.put("Exif", E.OffsetTimeOriginal, offset)
        if E.DateTimeDigitized not in ifd:
            filler.put("Exif", E.DateTimeDigitized, stamp)
            filler.put("Exif", E.OffsetTimeDigitized, offset)
    elif (facts.taken_at is not None and facts.taken_at.tzinfo is None
          and "taken_at" in resolution.from_file
          and (_text(ifd[E.DateTimeOriginal]) or "")[:19] == stamp.decode()):
        filler.put("Exif", E.OffsetTimeOriginal, offset)  # the camera's wall time, now placed


_GPS_TAGS = (G.GPSLatitudeRef, G.GPSLatitude, G.GPSLongitudeRef, G.GPSLongitude)


def _fill_position(filler: _Filler, facts: FileFacts, point: GeoPoint | None) -> None:
    gps = filler.ifds["GPS"]
    if point is None or facts.location is not None or any(t in gps for t in _GPS_TAGS):
        return
    filler.put("GPS", G.GPSVersionID, (2, 3, 0, 0))
    filler.put("GPS", G.GPSLatitudeRef, latitude_ref(point.latitude).encode("ascii"))
    filler.put("GPS", G.GPSLatitude, dms_rationals(point.latitude))
    filler.put("GPS", G.GPSLongitudeRef, longitude_ref(point.longitude).encode("ascii"))
    filler.put("GPS", G.GPSLongitude, dms_rationals(point.longitude))
    altitude_known = point.altitude is not None and point.altitude != 0.0
    if altitude_known and G.GPSAltitude not in gps and G.GPSAltitudeRef not in gps:
        assert point.altitude is not None
        rational, ref = altitude_rational(point.altitude)
        filler.put("GPS", G.GPSAltitudeRef, ref)
        filler.put("GPS", G.GPSAltitude, rational)


def fill_missing(exif: Exif, facts: FileFacts, resolution: Resolution
                 ) -> tuple[Exif, frozenset[Key]]:
    """`exif` plus the resolved values it lacks, and the (ifd, tag) keys added.

    The caption goes into ImageDescription as UTF-8: EXIF calls the type ASCII, but UTF-8
    there is what ExifTool writes and what every reader we target decodes (EXIF 3.0's UTF-8
    type is unknown to piexif and to older readers)."""
    filler = _Filler(exif)
    _fill_date(filler, facts, resolution)
    _fill_position(filler, facts, resolution.metadata.location)
    caption = resolution.metadata.description
    if caption and not facts.description_tag and clean_text(caption):
        filler.put("0th", I.ImageDescription, clean_text(caption).encode("utf-8"))
    return filler.result()


# -- writing ---------------------------------------------------------------------------------


def _entry_problem(old: tiff.TiffBlock, new: tiff.TiffBlock, added: Iterable[Key],
                   replaced: frozenset[Key]) -> str | None:
    for (ifd, tag), entry in old.entries.items():
        if tag in _OFFSET_TAGS or entry.type == 13:
            return f"tag 0x{tag:04X} in {ifd} points into the block"
        if tag in tiff.POINTER_TAGS or (ifd, tag) in replaced:
            continue
        after = new.entries.get((ifd, tag))
        if after is None or (after.type, after.count, after.value) != (
                entry.type, entry.count, entry.value):
            return f"tag 0x{tag:04X} in {ifd} would change"
    extra = {key for key in new.entries if key[1] not in tiff.POINTER_TAGS}
    extra -= set(old.entries) | set(added) | {("1st", tiff.THUMBNAIL_LENGTH)}
    if extra:
        ifd, tag = sorted(extra)[0]
        return f"tag 0x{tag:04X} in {ifd} would appear"
    return None


def _maker_note_problem(old: tiff.TiffBlock, new: tiff.TiffBlock) -> str | None:
    before = old.entries.get(("Exif", tiff.MAKER_NOTE))
    after = new.entries.get(("Exif", tiff.MAKER_NOTE))
    if before is None or after is None or before.position == after.position:
        return None
    if before.value.startswith(_SELF_CONTAINED_NOTES):
        return None
    return "the maker notes would move and they hold offsets"


def dump_checked(original: bytes | None, exif: Exif, added: frozenset[Key],
                 replaced: frozenset[Key] = frozenset()) -> bytes:
    """The new TIFF block for `exif`, proven to keep everything `original` had, except the
    `replaced` tags (ours from an earlier write, which a change may rewrite or remove)."""
    try:
        blob: bytes = piexif.dump(exif)
    except Exception as exc:
        raise ExifError(f"cannot write EXIF ({type(exc).__name__}: {exc})") from None
    block = blob[6:]  # piexif prepends "Exif\0\0"
    try:
        old = tiff.read_tiff(original) if original else tiff.TiffBlock({}, None, False)
        new = tiff.read_tiff(block)
    except tiff.TiffError as exc:
        raise ExifError(f"cannot check the rewritten EXIF ({exc})") from None
    problem = (("the file has more image directories than piexif keeps" if old.more_ifds
                else None)
               or _entry_problem(old, new, added, replaced)
               or ("the thumbnail would change" if old.thumbnail != new.thumbnail else None)
               or _maker_note_problem(old, new))
    if problem:
        raise ExifError(f"EXIF left as it is: {problem}")
    return block
