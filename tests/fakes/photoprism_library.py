"""The library behind the fake PhotoPrism: photos, files, albums, and how importing works.

Modelled on PhotoPrism's code (develop 2026-06, see tests/contracts/NOTES.md): uploads are
checked file by file and dropped without an error when the extension lies about the content,
the type is unknown or the file is over the size limit; an import groups files by name stem
(after stripping extensions, "(n)" and " copy" suffixes and `_jpg`-style suffixes) into one
photo, stacks a file into an existing photo with the same capture time and place read from
the file (`index_mediafile.go`: lat, lng, taken_at, taken_src "meta" and camera serial all
equal; "stack by place and time", on by default), skips files whose SHA-1 is already
indexed, and makes the new files findable by hash only after an indexing delay. Archiving
flags the photo's album entries hidden; adding a photo to an album (again) clears the flag;
restoring does not.
"""

from __future__ import annotations

import hashlib
import random
import re
import shutil
import string
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import piexif

WIRE = "%Y-%m-%dT%H:%M:%SZ"
SIDECARS = {".xmp": "xmp", ".json": "json"}
MEDIA_EXTENSIONS = {
    ".jpg": "jpg", ".jpeg": "jpg", ".jpe": "jpg", ".png": "png", ".gif": "gif",
    ".webp": "webp", ".heic": "heic", ".heif": "heic", ".avif": "heic", ".tif": "tiff",
    ".tiff": "tiff", ".dng": "tiff", ".mp4": "video", ".m4v": "video", ".mov": "video",
    ".3gp": "video",
}
_RELATED_SUFFIX = re.compile(r"(?i)_(jpg|jpeg|hevc)$")
_UTC_NAMES = {"UTC", "Etc/UTC", "Z", "Zulu", "Etc/Zulu", "UTC+0", "UTC-0"}
_OFFSET_NAME = re.compile(r"^UTC([+-])(\d{1,2})$")


def new_uid(prefix: str, rng: random.Random) -> str:
    return prefix + "".join(rng.choice(string.digits + string.ascii_lowercase)
                            for _ in range(15))


def wire(moment: datetime) -> str:
    return moment.strftime(WIRE)


def sniff(head: bytes) -> str | None:
    """The kind the bytes really are, as PhotoPrism's type check sees them."""
    if head.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if head.startswith(b"\x89PNG"):
        return "png"
    if head.startswith(b"GIF8"):
        return "gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        return "heic" if brand in (b"heic", b"heix", b"mif1", b"msf1", b"avif") else "video"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith((b"<?xpacket", b"<x:xmpmeta", b"<?xml")):
        return "xmp"
    if text.startswith(b"{"):
        return "json"
    return None


def declared_kind(name: str) -> str | None:
    suffix = Path(name).suffix.lower()
    return MEDIA_EXTENSIONS.get(suffix) or SIDECARS.get(suffix)


def stem(name: str, strip_sequence: bool = True) -> str:
    """PhotoPrism's `BasePrefix` and related-file comparison, for grouping."""
    base = Path(name).name
    known = {*MEDIA_EXTENSIONS, *SIDECARS}
    base = base.rsplit(".", 1)[0] if "." in base else base
    while "." in base and "." + base.rsplit(".", 1)[1].lower() in known:
        base = base.rsplit(".", 1)[0]
    if strip_sequence:
        for marker in ("(", " copy"):
            if marker in base and base.index(marker) > 0:
                base = base[: base.index(marker)]
        base = base.strip()
    return _RELATED_SUFFIX.sub("", base)


def zone_offset(name: str, local: datetime) -> timedelta | None:
    """Offset of `name` at wall time `local`, the way `tz.Find` resolves it (None: UTC)."""
    if name in _UTC_NAMES or not name:
        return None
    match = _OFFSET_NAME.match(name)
    if match:
        hours = int(match.group(2))
        return timedelta(hours=hours if match.group(1) == "+" else -hours)
    try:
        return ZoneInfo(name).utcoffset(local)
    except (ZoneInfoNotFoundError, ValueError):
        return timedelta(0)  # an unknown name is "Local", offset 0: wall time taken as UTC


@dataclass
class FileRec:
    uid: str
    photo_uid: str
    name: str
    hash: str
    size: int
    kind: str
    path: Path
    visible_at: float
    primary: bool = False
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def sidecar(self) -> bool:
        return self.kind in SIDECARS.values()

    def json(self) -> dict[str, Any]:
        return {
            "UID": self.uid, "PhotoUID": self.photo_uid, "Name": self.name, "Root": "/",
            "OriginalName": self.name, "Hash": self.hash, "Size": self.size,
            "FileType": self.kind, "MediaType": "video" if self.kind == "video" else
            ("sidecar" if self.sidecar else "image"), "Primary": self.primary,
            "Sidecar": self.sidecar, "Video": self.kind == "video", "Missing": False,
            "CreatedAt": wire(self.created_at), "UpdatedAt": wire(self.created_at),
        }


@dataclass
class PhotoRec:
    uid: str
    kind: str
    name: str
    created_by: str
    taken_at: datetime = field(default_factory=lambda: datetime.now(UTC).replace(microsecond=0))
    taken_local: datetime | None = None
    time_zone: str = "Local"
    taken_src: str = "auto"
    title: str = ""
    caption: str = ""
    caption_src: str = ""
    lat: float = 0.0
    lng: float = 0.0
    altitude: int = 0
    place_src: str = ""
    favorite: bool = False
    private: bool = False
    original_name: str = ""
    camera_serial: str = ""
    deleted_at: datetime | None = None
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __post_init__(self) -> None:
        if self.taken_local is None:
            self.taken_local = self.taken_at.replace(tzinfo=None)

    def json(self, albums: list[dict[str, Any]], files: list[dict[str, Any]]) -> dict[str, Any]:
        local = self.taken_local or self.taken_at.replace(tzinfo=None)
        body: dict[str, Any] = {
            "UID": self.uid, "Type": self.kind, "TakenAt": wire(self.taken_at),
            "TakenAtLocal": wire(local), "TakenSrc": self.taken_src,
            "TimeZone": self.time_zone, "Title": self.title, "Caption": self.caption,
            "CaptionSrc": self.caption_src, "Lat": self.lat, "Lng": self.lng,
            "Altitude": self.altitude, "PlaceSrc": self.place_src, "Favorite": self.favorite,
            "Private": self.private, "Name": self.name, "Path": "",
            "OriginalName": self.original_name, "Year": local.year, "Month": local.month,
            "Day": local.day, "CreatedBy": self.created_by, "CreatedAt": wire(self.created_at),
            "UpdatedAt": wire(self.created_at), "Albums": albums, "files": files,
        }
        if self.deleted_at is not None:
            body["DeletedAt"] = wire(self.deleted_at)
        return body


@dataclass
class AlbumRec:
    uid: str
    title: str
    created_by: str
    description: str = ""
    favorite: bool = False
    deleted_at: datetime | None = None
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "UID": self.uid, "Title": self.title, "Description": self.description,
            "Favorite": self.favorite, "Type": "album", "Slug": self.title.lower(),
            "CreatedBy": self.created_by, "Order": "oldest", "Private": False,
            "CreatedAt": wire(self.created_at), "UpdatedAt": wire(self.created_at),
        }
        if self.deleted_at is not None:
            body["DeletedAt"] = wire(self.deleted_at)
        return body


@dataclass
class Library:
    originals: Path
    rng: random.Random = field(default_factory=lambda: random.Random(1))
    photos: dict[str, PhotoRec] = field(default_factory=dict)
    files: dict[str, FileRec] = field(default_factory=dict)
    hashes: dict[str, FileRec] = field(default_factory=dict)
    albums: dict[str, AlbumRec] = field(default_factory=dict)
    hidden: dict[tuple[str, str], bool] = field(default_factory=dict)  # (album, photo)
    index_delay: float = 0.0
    strip_sequence: bool = True
    stack_meta: bool = True

    # -- import ----------------------------------------------------------------------------

    def import_folder(self, folder: Path, user_uid: str) -> list[str]:
        """Import what is staged in `folder`; the UIDs of the new photos."""
        groups: dict[str, list[Path]] = {}
        for path in sorted(folder.iterdir()):
            groups.setdefault(stem(path.name, self.strip_sequence), []).append(path)
        created = [self._import_group(paths, user_uid) for paths in groups.values()]
        shutil.rmtree(folder, ignore_errors=True)
        return [uid for uid in created if uid is not None]

    def _import_group(self, paths: list[Path], user_uid: str) -> str | None:
        fresh = [(p, _sha1(p)) for p in paths]
        fresh = [(p, h) for p, h in fresh if self.by_hash(h, visible_only=False) is None]
        media = [(p, h) for p, h in fresh if declared_kind(p.name) not in SIDECARS.values()]
        if not media:
            return None
        kinds = {declared_kind(p.name) for p, _ in media}
        kind = "live" if "video" in kinds and len(kinds) > 1 else (
            "video" if kinds == {"video"} else "image")
        photo = PhotoRec(new_uid("p", self.rng), kind, media[0][0].name, user_uid,
                         title=stem(media[0][0].name), original_name=media[0][0].name)
        primary = next((p for p, _ in media if declared_kind(p.name) != "video"), media[0][0])
        _read_exif_date(photo, primary)
        _read_exif_place_and_caption(photo, primary)
        stack = self._stack_for(photo)
        if stack is not None:
            for path, sha1 in fresh:
                self._add_file(stack, path, sha1, primary=False)
            return None
        self.photos[photo.uid] = photo
        for path, sha1 in fresh:
            self._add_file(photo, path, sha1, primary=path == primary)
        return photo.uid

    def _stack_for(self, new: PhotoRec) -> PhotoRec | None:
        """The photo a new file stacks into: same time and place, both from metadata."""
        if not self.stack_meta or new.taken_src != "meta" or not (new.lat and new.lng):
            return None
        return next((p for p in self.photos.values()
                     if p.taken_src == "meta" and p.taken_at == new.taken_at
                     and p.lat == new.lat and p.lng == new.lng
                     and p.camera_serial == new.camera_serial), None)

    def _add_file(self, photo: PhotoRec, path: Path, sha1: str, primary: bool) -> None:
        dest = self.originals / f"{photo.uid}-{path.name}"
        shutil.move(path, dest)
        record = FileRec(new_uid("f", self.rng), photo.uid, path.name, sha1,
                         dest.stat().st_size, declared_kind(path.name) or "unknown", dest,
                         time.monotonic() + self.index_delay, primary)
        self.files[record.uid] = record
        self.hashes.setdefault(sha1, record)

    # -- queries ---------------------------------------------------------------------------

    def by_hash(self, sha1: str, visible_only: bool = True) -> FileRec | None:
        record = self.hashes.get(sha1)
        if record is None or (visible_only and record.visible_at > time.monotonic()):
            return None
        return record

    def files_of(self, photo_uid: str) -> list[FileRec]:
        return [f for f in self.files.values() if f.photo_uid == photo_uid]

    def albums_of(self, photo_uid: str) -> list[AlbumRec]:
        return [self.albums[a] for (a, p), hidden in self.hidden.items()
                if p == photo_uid and not hidden and self.albums[a].deleted_at is None]

    def photo_json(self, photo: PhotoRec) -> dict[str, Any]:
        return photo.json([a.json() for a in self.albums_of(photo.uid)],
                          [f.json() for f in self.files_of(photo.uid)])

    # -- edits -----------------------------------------------------------------------------

    def save_form(self, photo: PhotoRec, form: dict[str, Any]) -> None:
        """`SavePhotoForm`: merge, then make TakenAt and TakenAtLocal agree in the zone."""
        moved = ("Lat" in form and form["Lat"] != photo.lat) or (
            "Lng" in form and form["Lng"] != photo.lng)
        if "TakenAt" in form:
            photo.taken_at = _parse(form["TakenAt"]).astimezone(UTC)
        if "TakenAtLocal" in form:
            photo.taken_local = _parse(form["TakenAtLocal"]).replace(tzinfo=None)
        for key, attr in _FORM_FIELDS.items():
            if key in form:
                setattr(photo, attr, form[key])
        if not photo.caption and form.get("Description"):
            photo.caption = form["Description"]
            photo.caption_src = form.get("DescriptionSrc", "")
        if moved and photo.taken_src != "manual" and (photo.lat or photo.lng):
            photo.time_zone = f"UTC{round(photo.lng / 15):+d}"  # stands in for GPS zones
        self._settle_time(photo)

    @staticmethod
    def _settle_time(photo: PhotoRec) -> None:
        local = photo.taken_local or photo.taken_at.replace(tzinfo=None)
        offset = zone_offset(photo.time_zone, local)
        if offset is None:
            photo.taken_local = photo.taken_at.replace(tzinfo=None)
        else:
            photo.taken_at = local.replace(tzinfo=timezone(offset)).astimezone(UTC)

    def archive(self, uids: list[str]) -> None:
        for uid in uids:
            if uid in self.photos:
                self.photos[uid].deleted_at = datetime.now(UTC)
                for key in self.hidden:
                    if key[1] == uid:
                        self.hidden[key] = True

    def restore(self, uids: list[str]) -> None:
        for uid in uids:
            if uid in self.photos:
                self.photos[uid].deleted_at = None

    def add_to_album(self, album_uid: str, uids: list[str]) -> list[str]:
        added = [uid for uid in uids if uid in self.photos]
        for uid in added:
            self.hidden[(album_uid, uid)] = False
        return added

    def album_by_title(self, title: str) -> AlbumRec | None:
        return next((a for a in self.albums.values() if a.title == title), None)


_FORM_FIELDS = {
    "TimeZone": "time_zone", "TakenSrc": "taken_src", "Title": "title", "Caption": "caption",
    "CaptionSrc": "caption_src", "Lat": "lat", "Lng": "lng", "Altitude": "altitude",
    "PlaceSrc": "place_src", "Favorite": "favorite", "Private": "private",
    "OriginalName": "original_name",
}


def _degrees(value: Any, ref: bytes, negative: bytes) -> float:
    d, m, sec = (n / den for n, den in value)
    return round((d + m / 60 + sec / 3600) * (-1 if ref == negative else 1), 6)


def _read_exif_place_and_caption(photo: PhotoRec, path: Path) -> None:
    """The indexer also takes GPS and ImageDescription from the file (src meta)."""
    try:
        exif = piexif.load(str(path))
    except Exception:
        return
    gps = exif.get("GPS") or {}
    if piexif.GPSIFD.GPSLatitude in gps and piexif.GPSIFD.GPSLongitude in gps:
        photo.lat = _degrees(gps[piexif.GPSIFD.GPSLatitude],
                             gps.get(piexif.GPSIFD.GPSLatitudeRef, b"N"), b"S")
        photo.lng = _degrees(gps[piexif.GPSIFD.GPSLongitude],
                             gps.get(piexif.GPSIFD.GPSLongitudeRef, b"E"), b"W")
        photo.place_src = "meta"
    serial = (exif.get("Exif") or {}).get(piexif.ExifIFD.BodySerialNumber)
    if isinstance(serial, bytes):
        photo.camera_serial = serial.decode("utf-8", "replace").strip("\x00 ")
    caption = (exif.get("0th") or {}).get(piexif.ImageIFD.ImageDescription)
    if caption:
        photo.caption = caption.decode("utf-8", "replace").strip()
        photo.caption_src = "meta"


def _read_exif_date(photo: PhotoRec, path: Path) -> None:
    """The indexer reads DateTimeOriginal (+ OffsetTimeOriginal) from the file (src meta)."""
    try:
        ifd = piexif.load(str(path)).get("Exif") or {}
        wall = datetime.strptime(ifd[piexif.ExifIFD.DateTimeOriginal].decode()[:19],
                                 "%Y:%m:%d %H:%M:%S")
    except Exception:  # no EXIF, no date, or not a JPEG/TIFF: PhotoPrism keeps its default
        return
    raw = ifd.get(piexif.ExifIFD.OffsetTimeOriginal, b"").decode()
    match = re.fullmatch(r"([+-])(\d\d):(\d\d)", raw)
    offset = None
    if match:
        offset = timedelta(hours=int(match[2]), minutes=int(match[3]))
        offset = -offset if match[1] == "-" else offset
    photo.taken_local, photo.taken_src = wall, "meta"
    photo.taken_at = wall.replace(tzinfo=timezone(offset or timedelta(0))).astimezone(UTC)
    hours, rest = divmod(int(offset.total_seconds()), 3600) if offset is not None else (0, 1)
    photo.time_zone = "UTC" if offset == timedelta(0) else (
        f"UTC{hours:+d}" if offset is not None and rest == 0 and abs(hours) <= 12 else "Local")


def _parse(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _sha1(path: Path) -> str:
    digest = hashlib.sha1(usedforsecurity=False)
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
