"""Immich's wire format in and out: dates, checksums, update bodies, error answers.

Pure functions, so the fiddly rules (offsets Immich accepts, base64 vs hex checksums, which
status means what) are table-tested without a server.
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from adapters.base import AuthError, GalleryError, ItemRejected, TargetUnavailable
from importer.model import Metadata

ARCHIVE, TIMELINE = "archive", "timeline"


def iso_instant(moment: datetime) -> str:
    """ISO 8601 with an offset Immich's date pattern accepts (±HH:MM or Z).

    Offsets with seconds (historic local mean times) are not accepted, so such a moment
    is sent in UTC: the instant stays exact, only the shown zone changes.
    """
    offset = moment.utcoffset()
    if offset is None or offset % timedelta(minutes=1):
        moment = (moment if offset is not None else moment.replace(tzinfo=UTC)).astimezone(UTC)
    text = moment.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def checksum_hex(value: str) -> str | None:
    """A SHA-1 as Immich writes it (base64, 28 chars) or as we do (hex, 40) -> hex."""
    if len(value) == 40:
        try:
            return bytes.fromhex(value).hex()
        except ValueError:
            return None
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw.hex() if len(raw) == 20 else None


def asset_update(metadata: Metadata, fields: frozenset[str]) -> dict[str, Any]:
    """The `PUT /assets/{id}` body writing `fields` of `metadata`.

    A caption removed in Google is cleared (empty text); a date or place cannot be removed
    through the API, so a missing one is left as it is.
    """
    body: dict[str, Any] = {}
    if "taken_at" in fields and metadata.taken_at is not None:
        body["dateTimeOriginal"] = iso_instant(metadata.taken_at)
    if "location" in fields and metadata.location is not None:
        body["latitude"] = metadata.location.latitude
        body["longitude"] = metadata.location.longitude
    if "description" in fields:
        body["description"] = metadata.description or ""
    return body


def has_value(metadata: Metadata, field: str) -> bool:
    return {
        "taken_at": metadata.taken_at is not None,
        "location": metadata.location is not None,
        "description": bool(metadata.description),
    }[field]


def message_of(response: httpx.Response) -> str:
    """Immich's error text (NestJS: {"message": str | [str], "error", "statusCode"})."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:200] or response.reason_phrase
    if not isinstance(body, dict):
        return str(body)[:200]
    message = body.get("message") or body.get("error") or response.reason_phrase
    if isinstance(message, list):
        message = "; ".join(str(m) for m in message)
    return str(message)


def error_for(response: httpx.Response, doing: str) -> GalleryError:
    """Our error type for a non-success answer; `doing` says what we were trying."""
    status = response.status_code
    detail = f"{doing}: Immich answered HTTP {status}: {message_of(response)}"
    if status == 401:
        return AuthError(f"{doing}: Immich rejected the API key ({message_of(response)})")
    if status == 403:
        return AuthError(f"{doing}: {message_of(response)}; give the API key this permission "
                         "in Immich (Account Settings › API Keys)")
    if status in (400, 413, 415, 422):
        return ItemRejected(detail)
    if status == 404:
        return TargetUnavailable(f"{doing}: Immich has no such endpoint (HTTP 404); "
                                 "is the URL right?")
    return GalleryError(detail)


def json_of(response: httpx.Response, doing: str) -> Any:
    try:
        return response.json()
    except ValueError:
        raise GalleryError(f"{doing}: Immich answered something that is not JSON") from None
