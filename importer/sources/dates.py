"""Capture times from Takeout values and file names (pure functions, table-tested).

Takeout gives UTC epoch seconds as a string ("0" when unknown). When a file has neither a
sidecar date nor an EXIF date, many phone file names still carry the capture time; that
beats the archive mtime, which is only the export time.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

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
