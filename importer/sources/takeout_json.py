"""Takeout JSON, by content: asset sidecars, album metadata, and everything else.

File names lie (localized `metadata.json`, cut-off sidecar names), so the fields decide.
These are pure functions from parsed JSON to our model; a parsed dict is converted at once
and dropped, so a 100k-item export never holds 100k dicts.
"""

from __future__ import annotations

import json
import math
import re
from collections import deque
from dataclasses import dataclass
from typing import Any, Literal

from importer.metadata.convert import distance_m
from importer.model import DateSource, GeoPoint, Metadata
from importer.sources.dates import parse_epoch

JsonKind = Literal["asset", "album", "print-order", "other"]
MAX_DEPTH = 64
"""Takeout JSON nests 6 levels at most; anything deeper is damage, dropped field by field."""
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)
_ASSET_FIELDS = ("photoTakenTime", "geoDataExif", "imageViews", "photoLastModifiedTime")
_MAX_ENRICHMENT_TEXTS = 50
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_MAX_URL = 2048


def _json_int(digits: str) -> int | float:
    """An integer of thousands of digits (beyond Python's int-parsing limit) would make
    the whole file unreadable; it is read as infinity instead, a value no field takes."""
    return int(digits) if len(digits) < 4000 else float(digits)


def _flattened(text: str) -> str:
    """`text` with every value nested deeper than MAX_DEPTH replaced by null (strings are
    skipped whole, so brackets inside them do not count)."""
    out: list[str] = []
    depth, kept_to, cut_from = 0, 0, -1
    for token in _TOKEN.finditer(text):
        mark = token.group()
        if mark in "[{":
            depth += 1
            if depth == MAX_DEPTH + 1:
                cut_from = token.start()
        elif mark in "]}":
            depth -= 1
            if depth == MAX_DEPTH:
                out += [text[kept_to:cut_from], "null"]
                kept_to = token.end()
    out.append(text[kept_to:cut_from] if depth > MAX_DEPTH else text[kept_to:])
    return "".join(out)


def loads(text: str) -> Any:
    """JSON as Takeout wrote it, or as damage left it: a field nested absurdly deep or a
    number too long to parse is dropped (that field only); ValueError for what is not JSON."""
    try:
        return json.loads(text, parse_int=_json_int)
    except RecursionError:
        pass
    try:
        return json.loads(_flattened(text), parse_int=_json_int)
    except RecursionError:
        raise ValueError("nested too deeply to be a Takeout file") from None


def classify(data: dict[str, Any]) -> JsonKind:
    if any(k in data for k in _ASSET_FIELDS) or ("creationTime" in data and "url" in data):
        return "asset"
    url = data.get("url")
    if isinstance(url, str) and "photos.google.com/photo/" in url:
        return "asset"
    if "externalOrderId" in data:
        return "print-order"
    if isinstance(data.get("albumData"), dict) or "title" in data:
        return "album"
    return "other"


def _text(value: Any) -> str | None:
    """A JSON string as text every later stage can store, or None for any other type.
    JSON may spell lone surrogates ("\\ud800"), which no UTF-8 file or database takes."""
    if not isinstance(value, str):
        return None
    stripped = _LONE_SURROGATE.sub("\ufffd", value).strip()
    return stripped or None


def _url(value: Any) -> str | None:
    """The item's Google address, its identity for ever: only a plausible one is kept
    (one line of printable text), so a damaged value cannot become a strange key."""
    text = _text(value)
    if text is None or len(text) > _MAX_URL or not text.isprintable() or " " in text:
        return None
    return text


def _geo(value: Any) -> GeoPoint | None:
    """A position, or None for Takeout's 0/0 'unknown' and anything out of range."""
    if not isinstance(value, dict):
        return None
    try:
        lat = float(value.get("latitude", 0.0))
        lon = float(value.get("longitude", 0.0))
        alt_raw = value.get("altitude")
        alt = float(alt_raw) if alt_raw is not None else None
    except (TypeError, ValueError, OverflowError):
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


def _timestamp(value: Any) -> Any:
    return value.get("timestamp") if isinstance(value, dict) else None


def _people(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    names = (_text(p.get("name")) for p in value if isinstance(p, dict))
    return tuple(dict.fromkeys(n for n in names if n))


EDIT_TOLERANCE_M = 20.0


def _edited(camera: GeoPoint | None, shown: GeoPoint | None) -> GeoPoint | None:
    """`geoData` moved away from the camera's position: the user placed it elsewhere."""
    if camera is None or shown is None or distance_m(camera, shown) <= EDIT_TOLERANCE_M:
        return None
    return shown


def metadata_from_sidecar(data: dict[str, Any]) -> Metadata:
    """Google's view of one item. `photoTakenTime` "0" means unknown (taken_at None);
    the reader then falls back to a date in the file name, never to an archive mtime."""
    taken_at = parse_epoch(_timestamp(data.get("photoTakenTime")))
    camera, shown = _geo(data.get("geoDataExif")), _geo(data.get("geoData"))
    return Metadata(
        taken_at=taken_at,
        taken_at_source=DateSource.SIDECAR if taken_at else DateSource.NONE,
        location=camera or shown,
        edited_location=_edited(camera, shown),
        description=_text(data.get("description")),
        favorite=data.get("favorited") is True,
        archived=data.get("archived") is True,
        trashed=data.get("trashed") is True,
        partner_shared=_partner_shared(data),
        people=_people(data.get("people")),
        google_url=_url(data.get("url")),
        title=_text(data.get("title")),
    )


@dataclass(frozen=True)
class AlbumInfo:
    """What an album JSON says. `title` None: an untitled album."""

    title: str | None
    description: str | None
    date: str | None


def _enrichment_texts(value: Any) -> list[str]:
    """Texts and place names the user added to an album (2025 `enrichments`), in the order
    they appear; linear in the size of the JSON (a queue, not list.pop(0): an album with
    thousands of enrichments took minutes)."""
    found: list[str] = []
    stack: deque[Any] = deque([value])
    while stack and len(found) < _MAX_ENRICHMENT_TEXTS:
        node = stack.popleft()
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict):
            for key, child in node.items():
                text = _text(child) if key in ("text", "name") else None
                if text:
                    found.append(text)
                elif isinstance(child, dict | list):
                    stack.append(child)
    return list(dict.fromkeys(found))


def album_from_json(data: dict[str, Any]) -> AlbumInfo:
    """Old exports wrap the album in `albumData`; 2025 exports put it at the top level,
    sometimes with `enrichments` (text and locations), kept in the description."""
    body = data["albumData"] if isinstance(data.get("albumData"), dict) else data
    description = _text(body.get("description"))
    extra = _enrichment_texts(body.get("enrichments"))
    if extra:
        description = "\n\n".join([description, *extra] if description else extra)
    date = _timestamp(body.get("date"))
    return AlbumInfo(
        title=_text(body.get("title")),
        description=description,
        date=_text(str(date)) if isinstance(date, str | int) else None,
    )
