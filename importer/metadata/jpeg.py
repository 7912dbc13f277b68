"""EXIF in JPEG via piexif: read the camera's own values, insert missing ones losslessly.

piexif rewrites only the APP1 EXIF segment; the compressed image data is copied as is, so
no pixel changes and a file whose EXIF needs nothing keeps its exact bytes (and SHA-1).
"""

from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone
from typing import Any

import piexif

_EXIF_DATE = "%Y:%m:%d %H:%M:%S"


class ExifError(Exception):
    """The file's EXIF cannot be parsed or written; the original bytes must be kept."""


def load_exif(data: bytes) -> dict[str, Any]:
    try:
        exif: dict[str, Any] = piexif.load(data)
    except Exception as exc:  # piexif raises ValueError, struct.error, KeyError, …
        raise ExifError(f"unreadable EXIF ({type(exc).__name__})") from exc
    return exif


def format_offset(moment: datetime) -> str:
    offset = moment.utcoffset() or timedelta(0)
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def parse_offset(text: str) -> timezone | None:
    text = text.strip()
    if len(text) != 6 or text[0] not in "+-" or text[3] != ":":
        return None
    try:
        hours, minutes = int(text[1:3]), int(text[4:6])
    except ValueError:
        return None
    if hours > 14 or minutes >= 60:
        return None
    delta = timedelta(hours=hours, minutes=minutes)
    return timezone(-delta if text[0] == "-" else delta)


def _text(raw: Any) -> str | None:
    if isinstance(raw, bytes):
        raw = raw.rstrip(b"\x00").decode("ascii", "replace")
    return raw if isinstance(raw, str) and raw.strip() else None


def exif_capture_time(exif: dict[str, Any]) -> datetime | None:
    """DateTimeOriginal, aware when OffsetTimeOriginal says which offset; else naive."""
    ifd = exif.get("Exif") or {}
    text = _text(ifd.get(piexif.ExifIFD.DateTimeOriginal))
    if text is None:
        return None
    try:
        wall = datetime.strptime(text.strip()[:19], _EXIF_DATE)
    except ValueError:
        return None  # "0000:00:00 00:00:00" and other placeholders
    offset_text = _text(ifd.get(piexif.ExifIFD.OffsetTimeOriginal))
    offset = parse_offset(offset_text) if offset_text else None
    return wall.replace(tzinfo=offset) if offset else wall


def with_capture_time(exif: dict[str, Any], taken_at: datetime) -> dict[str, Any]:
    """A copy of `exif` with original/digitized time and offset set to `taken_at`'s wall time."""
    if taken_at.utcoffset() is None:
        raise ValueError("taken_at must be aware: a wall time without its offset is ambiguous")
    ifd = dict(exif.get("Exif") or {})
    stamp = taken_at.strftime(_EXIF_DATE).encode("ascii")
    offset = format_offset(taken_at).encode("ascii")
    ifd[piexif.ExifIFD.DateTimeOriginal] = stamp
    ifd[piexif.ExifIFD.OffsetTimeOriginal] = offset
    ifd.setdefault(piexif.ExifIFD.DateTimeDigitized, stamp)
    ifd.setdefault(piexif.ExifIFD.OffsetTimeDigitized, offset)
    return {**exif, "Exif": ifd}


def insert_exif(data: bytes, exif: dict[str, Any]) -> bytes:
    """JPEG bytes with `exif` as its EXIF segment; everything else byte-identical."""
    exif = {k: v for k, v in exif.items() if k != "thumbnail" or v}
    try:
        blob = piexif.dump(exif)
        out = io.BytesIO()
        piexif.insert(blob, data, out)
    except Exception as exc:
        raise ExifError(f"cannot write EXIF ({type(exc).__name__}: {exc})") from exc
    return out.getvalue()
