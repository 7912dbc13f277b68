"""Takeout JSON, by content: asset sidecars, album metadata, and everything else.

File names lie (localized `metadata.json`, cut-off sidecar names), so the fields decide.
These are pure functions from parsed JSON to our model.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from importer.model import Album, DateSource, GeoPoint, Metadata
from importer.sources.dates import parse_epoch

JsonKind = Literal["asset", "album", "print-order", "other"]


def classify(data: dict[str, Any]) -> JsonKind:
    if "photoTakenTime" in data or ("creationTime" in data and "url" in data):
        return "asset"
    if "externalOrderId" in data:
        return "print-order"
    if isinstance(data.get("albumData"), dict) or "title" in data:
        return "album"
    return "other"


def _text(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    stripped = value.strip()
    return stripped or None


def _geo(value: Any) -> GeoPoint | None:
    """A position, or None for Takeout's 0/0 'unknown' and anything out of range."""
    if not isinstance(value, dict):
        return None
    try:
        lat = float(value.get("latitude", 0.0))
        lon = float(value.get("longitude", 0.0))
        alt_raw = value.get("altitude")
        alt = float(alt_raw) if alt_raw is not None else None
    except (TypeError, ValueError):
        return None
    if not (math.isfinite(lat) and math.isfinite(lon)):
        return None
    if (lat == 0.0 and lon == 0.0) or abs(lat) > 90 or abs(lon) > 180:
        return None
    if alt is not None and not math.isfinite(alt):
        alt = None
    return GeoPoint(lat, lon, alt)


def _partner_shared(data: dict[str, Any]) -> bool:
    origin = data.get("googlePhotosOrigin")
    return isinstance(origin, dict) and "fromPartnerSharing" in origin


def metadata_from_sidecar(data: dict[str, Any]) -> Metadata:
    taken = data.get("photoTakenTime")
    taken_at = parse_epoch(taken.get("timestamp")) if isinstance(taken, dict) else None
    people = tuple(
        name for p in data.get("people") or [] if isinstance(p, dict)
        if (name := _text(p.get("name")))
    )
    return Metadata(
        taken_at=taken_at,
        taken_at_source=DateSource.SIDECAR if taken_at else DateSource.NONE,
        location=_geo(data.get("geoDataExif")) or _geo(data.get("geoData")),
        description=_text(data.get("description")),
        favorite=data.get("favorited") is True,
        archived=data.get("archived") is True,
        trashed=data.get("trashed") is True,
        partner_shared=_partner_shared(data),
        people=people,
        google_url=_text(data.get("url")),
        title=_text(data.get("title")),
    )


def album_from_json(data: dict[str, Any], folder_title: str) -> Album:
    """Old exports wrap the album in `albumData`; 2025 exports put it at the top level."""
    body = data["albumData"] if isinstance(data.get("albumData"), dict) else data
    title = _text(body.get("title")) or folder_title
    return Album(key=f"title:{title}", title=title, description=_text(body.get("description")))
