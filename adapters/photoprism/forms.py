"""Pure translations between our model and PhotoPrism's wire shapes (table-tested).

PhotoPrism groups files that share a name stem into one photo, strips "copy" and "(n)"
suffixes when it compares stems, and recomputes `TakenAt` from `TakenAtLocal` in the photo's
`TimeZone` (a zone name it does not know counts as UTC wall time). Every rule here exists to
keep one of those from silently changing what we send.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from importer.model import Metadata

_UNSAFE = re.compile(r"[^\w-]+")
STEM_MAX = 60
HASH_CHARS = 12
WIRE_TIME = "%Y-%m-%dT%H:%M:%SZ"
MAX_WHOLE_HOURS = 12
# Zones with a fixed offset over long periods; one is used only if, at the photo's instant,
# its offset equals the photo's own, so a wrong guess cannot shift the time.
OFFSET_ZONES = (
    "Asia/Kolkata", "Asia/Kathmandu", "Asia/Yangon", "Asia/Kabul", "Asia/Tehran",
    "Australia/Darwin", "Australia/Adelaide", "Australia/Eucla", "Australia/Lord_Howe",
    "America/St_Johns", "America/Caracas", "Pacific/Marquesas", "Pacific/Chatham",
    "Pacific/Tongatapu", "Pacific/Kiritimati", "Pacific/Apia",
)


def upload_stem(name: str, sha1: str) -> str:
    """A stem no other file can share: the original stem made safe (no dots, brackets or
    spaces, which PhotoPrism reads as extensions or copy markers) plus a content suffix."""
    safe = _UNSAFE.sub("_", PurePosixPath(name).stem).strip("_-")[:STEM_MAX] or "item"
    return f"{safe}_{sha1[:HASH_CHARS]}"


def extension(filename: str) -> str:
    return PurePosixPath(filename).suffix.lower()


def photo_zone(taken_at: datetime, zone_name: str | None) -> tuple[str, datetime]:
    """The `TimeZone` to send and the wall time in it, so that PhotoPrism's recomputation
    lands on the same instant: the IANA zone when known, "UTC±N" for whole hours, a zone
    with the same offset at that instant, else UTC (right instant, UTC wall time)."""
    instant = taken_at.astimezone(UTC)
    if zone_name:
        try:
            return zone_name, instant.astimezone(ZoneInfo(zone_name))
        except (ZoneInfoNotFoundError, ValueError):
            pass
    offset = taken_at.utcoffset()
    seconds = int(offset.total_seconds()) if offset is not None else 0
    if seconds == 0:
        return "UTC", instant
    hours, rest = divmod(seconds, 3600)
    if rest == 0 and abs(hours) <= MAX_WHOLE_HOURS:
        return f"UTC{hours:+d}", instant.astimezone(taken_at.tzinfo)
    for name in OFFSET_ZONES:
        local = instant.astimezone(ZoneInfo(name))
        if local.utcoffset() == offset:
            return name, local
    return "UTC", instant


def wire_time(moment: datetime) -> str:
    """PhotoPrism's JSON time: wall clock digits with a Z, whatever the zone."""
    return moment.strftime(WIRE_TIME)


def photo_form(metadata: Metadata, fields: Collection[str]) -> dict[str, Any]:
    """The `PUT /photos/{uid}` body setting `fields`; `*Src: manual` makes re-indexing keep
    them, and the date is always sent as the full TakenAt/TakenAtLocal/TimeZone triple."""
    form: dict[str, Any] = {}
    if "taken_at" in fields and metadata.taken_at is not None:
        zone, local = photo_zone(metadata.taken_at, getattr(metadata, "time_zone", None))
        form.update(TakenAt=wire_time(metadata.taken_at.astimezone(UTC)),
                    TakenAtLocal=wire_time(local), TimeZone=zone, TakenSrc="manual")
    if "location" in fields:
        where = metadata.location
        form.update(Lat=where.latitude if where else 0.0,
                    Lng=where.longitude if where else 0.0, PlaceSrc="manual")
        if where is not None and where.altitude is not None:
            form["Altitude"] = round(where.altitude)
    if "description" in fields:
        form.update(Caption=metadata.description or "", CaptionSrc="manual")
    return form


def form_fields(metadata: Metadata) -> frozenset[str]:
    """The metadata fields an upload sets: those the item has a value for."""
    present = {
        "taken_at": metadata.taken_at is not None,
        "location": metadata.location is not None,
        "description": bool(metadata.description),
    }
    return frozenset(name for name, known in present.items() if known)
