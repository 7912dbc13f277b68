"""Capture times from Takeout values and file names (pure functions, table-tested).

Takeout gives UTC epoch seconds as a string ("0" when unknown). When a file has neither a
sidecar date nor an EXIF date, many phone file names still carry the capture time; that
beats the archive mtime, which is only the export time.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from importer.model import DateSource, Metadata

# Google Photos did not exist before digital cameras; anything earlier is a broken value.
_EARLIEST = datetime(1826, 1, 1, tzinfo=UTC)


def parse_epoch(value: object) -> datetime | None:
    """`photoTakenTime.timestamp` -> aware UTC datetime, or None for missing/"0"/garbage."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        seconds = int(str(value).strip())
    except ValueError:
        return None
    if seconds == 0:
        return None
    try:
        moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds)
    except OverflowError:
        return None
    return moment if moment >= _EARLIEST else None


# Ordered: the most specific patterns first. Groups: year, month, day, hour, minute, second.
_NAME_PATTERNS = [
    # PXL_20230809_203449253, IMG_20190101_120000, VID_20200101_101010, MVIMG_…, BURST…
    re.compile(r"(?<!\d)(\d{4})(\d{2})(\d{2})[_-](\d{2})(\d{2})(\d{2})(?!\d{3}\d)"),
    # Screenshot_2024-08-31-00-53-48, Screenshot 2023-10-27 at 12.33.03
    re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})[ _-](?:at )?(\d{2})[.:-](\d{2})[.:-](\d{2})"),
    # 2019-07-04 10.15.00.jpg (Dropbox camera uploads)
    re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2}) (\d{2})\.(\d{2})\.(\d{2})"),
    # Burst covers: 00000IMG_00000_BURST20190101120000123_COVER.jpg
    re.compile(r"BURST(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})"),
    # WhatsApp: IMG-20190101-WA0001 (date only)
    re.compile(r"(?<!\d)(\d{4})(\d{2})(\d{2})-WA\d+"),
]


def parse_filename_date(name: str) -> datetime | None:
    """A wall-clock time found in a camera-style file name, as a naive datetime.

    Naive on purpose: names carry local time with no offset; the caller decides which
    offset applies (GPS time zone, else UTC) and records that it guessed.
    """
    for pattern in _NAME_PATTERNS:
        match = pattern.search(name)
        if match is None:
            continue
        numbers = [int(g) for g in match.groups()]
        numbers += [0] * (6 - len(numbers))
        year, month, day, hour, minute, second = numbers
        if not 1990 <= year <= 2100:
            continue
        try:
            return datetime(year, month, day, hour, minute, second)
        except ValueError:
            continue
    return None


def filename_date(*names: str | None) -> datetime | None:
    """The first capture time found in `names`, as UTC (names carry no offset; later
    stages may refine it from GPS, knowing it came from the name)."""
    for name in names:
        if name:
            wall = parse_filename_date(name)
            if wall is not None:
                return wall.replace(tzinfo=UTC)
    return None


def with_fallback_date(metadata: Metadata, *names: str | None) -> Metadata:
    """Sidecar date, else a date from the file name (or the sidecar's title), else none.

    Never the archive mtime: that is the export time, and a wrong date is worse than none.
    """
    if metadata.taken_at is not None:
        return metadata
    found = filename_date(*names)
    if found is None:
        return metadata
    return replace(metadata, taken_at=found, taken_at_source=DateSource.FILENAME)
