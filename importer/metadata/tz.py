"""The time zone at a GPS position, offline, and wall times in it.

Takeout gives capture instants in UTC only; a photo taken at 15:30 in Delhi must still say
15:30+05:30, so the zone comes from where it was taken. timezonefinder answers from the
timezone-boundary-builder polygons it ships (no network, ~1 µs per look-up, oceans get
their nautical `Etc/GMT±N` zone); zoneinfo then gives the offset in force at that instant,
summer time and historical changes included.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from importer.model import GeoPoint

if TYPE_CHECKING:
    from timezonefinder import TimezoneFinder as Finder

TimezoneFinder: type[Finder] | None = None
"""timezonefinder's class, imported on first use, not at start-up: it pulls in numpy
(~0.1 s of a run's start, and a re-run with nothing new never needs it)."""

_local = threading.local()
_creating = threading.Lock()


def _finder() -> Finder:
    """One finder per thread: timezonefinder documents its instances as not thread-safe.
    They are made one at a time: loading one parses headers with `ast`, and CPython 3.11
    parsing in two threads at once fails ("AST constructor recursion depth mismatch")."""
    global TimezoneFinder
    finder: Finder | None = getattr(_local, "finder", None)
    if finder is None:
        with _creating:
            if TimezoneFinder is None:
                from timezonefinder import TimezoneFinder as loaded

                TimezoneFinder = loaded
            finder = TimezoneFinder()
        _local.finder = finder
    return finder


def zone_at(point: GeoPoint) -> str | None:
    """The IANA zone name at `point`, or None when the position is unusable."""
    try:
        name = _finder().timezone_at(lat=point.latitude, lng=point.longitude)
    except ValueError:  # out of range coordinates
        return None
    return name if isinstance(name, str) and _zone(name) is not None else None


def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _writable(offset: timedelta | None) -> timedelta | None:
    """Offsets EXIF can state (±HH:MM); local mean times before 1900 have seconds."""
    if offset is None or offset.total_seconds() % 60 or abs(offset) > timedelta(hours=14):
        return None
    return offset


def instant_in_zone(instant: datetime, zone: str) -> datetime | None:
    """`instant` as the wall time in `zone`, with a fixed offset; None if not expressible."""
    tz = _zone(zone)
    if tz is None:
        return None
    try:
        local = instant.astimezone(tz)
    except (OverflowError, ValueError):
        return None
    offset = _writable(local.utcoffset())
    return local.replace(tzinfo=timezone(offset)) if offset is not None else None


def wall_in_zone(wall: datetime, zone: str) -> datetime | None:
    """A naive wall time read as local time in `zone` (the earlier one when ambiguous)."""
    tz = _zone(zone)
    if tz is None:
        return None
    try:
        offset = _writable(wall.replace(tzinfo=tz, fold=0).utcoffset())
    except (OverflowError, ValueError):
        return None
    return wall.replace(tzinfo=timezone(offset)) if offset is not None else None
