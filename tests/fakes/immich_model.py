"""The fake Immich's records and how it shows them (v2 and v3 DTOs), plus the metadata
extraction Immich runs after an upload, reduced to what the importer relies on.

Extraction follows Immich's metadata service as described in the contract notes: tags of
an uploaded XMP sidecar override the file's own; a date without an offset is taken as UTC;
with no date at all, the earlier of fileCreatedAt/fileModifiedAt is used; and values set
through `PUT /assets/{id}` are "locked" (v2.4+), so extraction never overwrites them.
"""

from __future__ import annotations

import base64
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import piexif

VIDEO_EXTENSIONS = {".mp4", ".mov", ".m4v", ".3gp", ".3g2", ".avi", ".mkv", ".webm", ".mpg",
                    ".mpeg", ".mts", ".m2ts", ".wmv", ".flv", ".mp2t", ".ogv", ".qt"}
IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".gif", ".webp", ".heic",
                    ".heif", ".avif", ".tif", ".tiff", ".bmp", ".dng", ".cr2", ".cr3", ".nef",
                    ".arw", ".orf", ".rw2", ".raf", ".srw", ".pef", ".jxl", ".insp", ".psd"}
SIDECAR_EXTENSIONS = {".xmp"}
EXIF_FIELDS = ("dateTimeOriginal", "latitude", "longitude", "description")


def new_id() -> str:
    return str(uuid.uuid4())


def stamp(moment: datetime) -> str:
    """How Immich writes instants: UTC, milliseconds, Z."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_instant(text: str) -> tuple[datetime, str | None]:
    """An ISO date as Immich reads it; (instant, fixed zone name or None if none given)."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC), None
    return value, zone_name(value.utcoffset())


def zone_name(offset: timedelta | None) -> str | None:
    """luxon's name for a fixed offset, which Immich stores: UTC, UTC+2, UTC-3:30."""
    if offset is None:
        return None
    minutes = int(offset.total_seconds() // 60)
    if minutes == 0:
        return "UTC"
    sign, minutes = ("+" if minutes > 0 else "-"), abs(minutes)
    hours, rest = divmod(minutes, 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


@dataclass
class User:
    id: str
    email: str
    name: str
    created: datetime = field(default_factory=lambda: datetime.now(UTC))

    def dto(self) -> dict[str, Any]:
        return {"id": self.id, "email": self.email, "name": self.name, "avatarColor": "primary",
                "profileImagePath": "", "profileChangedAt": stamp(self.created)}

    def admin_dto(self) -> dict[str, Any]:
        return {**self.dto(), "createdAt": stamp(self.created), "updatedAt": stamp(self.created),
                "deletedAt": None, "isAdmin": False, "license": None, "oauthId": "",
                "quotaSizeInBytes": None, "quotaUsageInBytes": 0, "shouldChangePassword": False,
                "status": "active", "storageLabel": None}


@dataclass
class ApiKey:
    id: str
    secret: str
    user_id: str
    permissions: list[str]
    created: datetime = field(default_factory=lambda: datetime.now(UTC))

    def allows(self, permission: str | None) -> bool:
        return permission is None or "all" in self.permissions or permission in self.permissions

    def dto(self) -> dict[str, Any]:
        return {"id": self.id, "name": "importer", "permissions": list(self.permissions),
                "createdAt": stamp(self.created), "updatedAt": stamp(self.created)}


@dataclass
class Asset:
    id: str
    owner_id: str
    checksum: str  # hex
    type: str
    original_file_name: str
    path: Path
    size: int
    file_created_at: datetime
    file_modified_at: datetime
    is_favorite: bool = False
    visibility: str = "timeline"
    live_photo_video_id: str | None = None
    sidecar: Path | None = None
    device_asset_id: str = ""
    device_id: str = ""
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    updated_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    deleted_at: datetime | None = None
    exif: dict[str, Any] = field(default_factory=dict)
    time_zone: str | None = None
    locked: set[str] = field(default_factory=set)
    extracted: bool = False

    def local_date_time(self) -> str:
        moment = self.exif.get("dateTimeOriginal") or self.file_created_at
        zone = self.time_zone
        match = re.fullmatch(r"UTC(?:([+-])(\d+)(?::(\d\d))?)?", zone or "")
        if match and match.group(1):
            minutes = int(match.group(2)) * 60 + int(match.group(3) or 0)
            offset = timedelta(minutes=minutes if match.group(1) == "+" else -minutes)
            wall = moment.astimezone(timezone(offset)).replace(tzinfo=UTC)
            return stamp(wall)
        return stamp(moment)

    def exif_dto(self) -> dict[str, Any]:
        taken = self.exif.get("dateTimeOriginal")
        return {"dateTimeOriginal": stamp(taken) if taken else None, "timeZone": self.time_zone,
                "latitude": self.exif.get("latitude"), "longitude": self.exif.get("longitude"),
                "description": self.exif.get("description") or "",
                "fileSizeInByte": self.size}

    def dto(self, v2: bool, with_exif: bool = True) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id, "ownerId": self.owner_id,
            "checksum": base64.b64encode(bytes.fromhex(self.checksum)).decode(),
            "type": self.type, "originalFileName": self.original_file_name,
            "originalPath": str(self.path), "fileCreatedAt": stamp(self.file_created_at),
            "fileModifiedAt": stamp(self.file_modified_at), "createdAt": stamp(self.created_at),
            "updatedAt": stamp(self.updated_at), "localDateTime": self.local_date_time(),
            "isFavorite": self.is_favorite, "isArchived": self.visibility == "archive",
            "visibility": self.visibility, "isTrashed": self.deleted_at is not None,
            "isOffline": False, "isEdited": False, "hasMetadata": self.extracted,
            "livePhotoVideoId": self.live_photo_video_id, "thumbhash": None,
            "width": None, "height": None, "duration": None,
        }
        if v2:
            data.update(deviceAssetId=self.device_asset_id, deviceId=self.device_id,
                        duration="0:00:00.000000")
        if with_exif:
            data["exifInfo"] = self.exif_dto()
        return data


@dataclass
class Album:
    id: str
    owner: User
    name: str
    description: str = ""
    asset_ids: list[str] = field(default_factory=list)
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    updated_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def dto(self, v2: bool, assets: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id, "albumName": self.name, "description": self.description,
            "albumThumbnailAssetId": self.asset_ids[0] if self.asset_ids else None,
            "assetCount": len(self.asset_ids), "createdAt": stamp(self.created_at),
            "updatedAt": stamp(self.updated_at), "hasSharedLink": False, "shared": False,
            "isActivityEnabled": True, "order": "desc",
        }
        if v2:
            data.update(albumUsers=[], owner=self.owner.dto(), ownerId=self.owner.id,
                        assets=assets or [])
        else:
            data["albumUsers"] = [{"user": self.owner.dto(), "role": "owner"}]
        return data


# -- metadata extraction ------------------------------------------------------------------

def _rational(value: tuple[int, int]) -> float:
    return value[0] / value[1] if value[1] else 0.0


def _gps(ifd: dict[int, Any], value_tag: int, ref_tag: int) -> float | None:
    value = ifd.get(value_tag)
    if not value:
        return None
    degrees = _rational(value[0]) + _rational(value[1]) / 60 + _rational(value[2]) / 3600
    ref = ifd.get(ref_tag, b"N")
    return -degrees if ref in (b"S", b"W") else degrees


def _exif_date(text: str, offset: str | None) -> datetime | None:
    try:
        wall = datetime.strptime(text.strip("\x00 "), "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    if offset:
        try:
            return datetime.fromisoformat(wall.isoformat() + offset.strip("\x00 "))
        except ValueError:
            pass
    return wall.replace(tzinfo=UTC)


def read_file_tags(path: Path) -> dict[str, Any]:
    """DateTimeOriginal (+OffsetTimeOriginal), GPS and ImageDescription of a JPEG."""
    try:
        exif = piexif.load(str(path))
    except Exception:
        return {}
    tags: dict[str, Any] = {}
    sub, zeroth, gps = exif.get("Exif", {}), exif.get("0th", {}), exif.get("GPS", {})
    raw = sub.get(piexif.ExifIFD.DateTimeOriginal)
    if raw:
        offset = sub.get(piexif.ExifIFD.OffsetTimeOriginal)
        moment = _exif_date(raw.decode("ascii", "replace"),
                            offset.decode("ascii", "replace") if offset else None)
        if moment is not None:
            tags["dateTimeOriginal"] = moment
    lat = _gps(gps, piexif.GPSIFD.GPSLatitude, piexif.GPSIFD.GPSLatitudeRef)
    lon = _gps(gps, piexif.GPSIFD.GPSLongitude, piexif.GPSIFD.GPSLongitudeRef)
    if lat is not None and lon is not None:
        tags["latitude"], tags["longitude"] = lat, lon
    description = zeroth.get(piexif.ImageIFD.ImageDescription)
    if description:
        tags["description"] = description.decode("utf-8", "replace").strip("\x00")
    return tags


def _xmp_value(text: str, name: str) -> str | None:
    attribute = re.search(rf'{name}="([^"]*)"', text)
    if attribute:
        return attribute.group(1)
    element = re.search(rf"<{name}>(.*?)</{name}>", text, re.S)
    if element is None:
        return None
    inner = re.search(r"<rdf:li[^>]*>(.*?)</rdf:li>", element.group(1), re.S)
    return (inner.group(1) if inner else element.group(1)).strip()


def _xmp_coordinate(value: str) -> float | None:
    """XMP GPS: "DDD,MM.mmmmK", "DDD,MM,SSK" or a plain decimal."""
    match = re.fullmatch(r"(\d+),(\d+(?:\.\d+)?)(?:,(\d+(?:\.\d+)?))?([NSEW])", value.strip())
    if match is None:
        try:
            return float(value)
        except ValueError:
            return None
    degrees = int(match.group(1)) + float(match.group(2)) / 60 + float(match.group(3) or 0) / 3600
    return -degrees if match.group(4) in "SW" else degrees


def read_sidecar_tags(path: Path) -> dict[str, Any]:
    text = path.read_text(encoding="utf-8", errors="replace")
    tags: dict[str, Any] = {}
    for name in ("exif:DateTimeOriginal", "xmp:CreateDate", "photoshop:DateCreated"):
        value = _xmp_value(text, name)
        if value:
            try:
                tags["dateTimeOriginal"] = parse_instant(value)[0]
                tags["_zone"] = parse_instant(value)[1]
            except ValueError:
                continue
            break
    lat, lon = _xmp_value(text, "exif:GPSLatitude"), _xmp_value(text, "exif:GPSLongitude")
    if lat and lon and _xmp_coordinate(lat) is not None and _xmp_coordinate(lon) is not None:
        tags["latitude"], tags["longitude"] = _xmp_coordinate(lat), _xmp_coordinate(lon)
    description = _xmp_value(text, "dc:description")
    if description:
        tags["description"] = description
    return tags


def extract(asset: Asset) -> None:
    """Immich's metadata job: sidecar over file, locked (API-set) values untouched."""
    tags = read_file_tags(asset.path) if asset.type == "IMAGE" else {}
    if asset.sidecar is not None:
        tags.update(read_sidecar_tags(asset.sidecar))
    zone = tags.pop("_zone", None)
    if "dateTimeOriginal" in tags and zone is None:
        zone = zone_name(tags["dateTimeOriginal"].utcoffset())
    if "dateTimeOriginal" not in tags:
        tags["dateTimeOriginal"] = min(asset.file_created_at, asset.file_modified_at)
        zone = None
    for name in EXIF_FIELDS:
        if name not in asset.locked and name in tags:
            asset.exif[name] = tags[name]
    if "dateTimeOriginal" not in asset.locked:
        asset.time_zone = zone
        asset.file_created_at = asset.exif["dateTimeOriginal"]
    asset.extracted = True
