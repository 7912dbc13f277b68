"""The domain model every stage shares.

Sources produce these values, the planner and the pipeline pass them along and adapters
consume them; no source- or gallery-specific type crosses a stage boundary. Everything is
frozen so a value seen by one stage cannot change under another (workers run in threads).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO

VARIANT = "#variant:"
"""Between an item's Google URL and a file name: the identity of an edited copy Takeout
exported beside its original (the same URL describes both)."""

Opener = Callable[[], IO[bytes]]


class MediaType(enum.StrEnum):
    PHOTO = "photo"
    VIDEO = "video"


class DateSource(enum.StrEnum):
    """Where a capture time came from; later stages trust them in this order."""

    EXIF = "exif"
    SIDECAR = "sidecar"
    FILENAME = "filename"
    PICKER = "picker"
    """Google's capture time as the Picker API gives it (`createTime`): an instant, like
    the sidecar's `photoTakenTime`."""
    NONE = "none"


class FileKind(enum.StrEnum):
    """What a file of the export is, reported beside its outcome (see README, run report).

    The outcome says what happened; the kind says what the file was: a photo with its
    sidecar, one no sidecar matched, an edited copy, the motion half of a live photo, a copy
    found again in an album folder, a JSON file that matched nothing, or anything else.
    """

    ORIGINAL = "original"
    NO_SIDECAR = "no sidecar"
    EDITED = "edited variant"
    LIVE_PART = "live-photo part"
    ALBUM_COPY = "album copy"
    JSON = "json"
    PICKED = "picked"
    """Downloaded through the Picker API (no sidecar: Google's metadata came with it)."""
    OTHER = "other"


class FileOutcome(enum.StrEnum):
    """What became of one file of the export; every file seen gets exactly one."""

    IMPORTED = "imported"
    ALREADY_THERE = "already there"
    UPDATED = "updated"
    SKIPPED = "skipped"
    FAILED = "failed"
    ALBUM_COPY = "merged album copy"
    LIVE_PART = "live-photo part"
    UNREADABLE = "unreadable"
    UNMATCHED_JSON = "unmatched json"
    PLANNED = "planned"
    INTERRUPTED = "interrupted"
    """The run stopped (Ctrl-C, a full disk, the target gone) before this item was done;
    nothing about it was recorded, so the next run does it."""


@dataclass(frozen=True)
class Accounted:
    """A file of the export that does not become an item of its own, and why."""

    location: str
    outcome: FileOutcome
    reason: str
    kind: FileKind = FileKind.OTHER


@dataclass(frozen=True, slots=True)
class GeoPoint:
    latitude: float
    longitude: float
    altitude: float | None = None


@dataclass(frozen=True, slots=True)
class Metadata:
    """What Google knew about an item, in our own terms (not Takeout's JSON shape).

    `taken_at` is always timezone-aware; a naive wall time would be ambiguous forever.
    Slotted: a 100k-item export holds one per item until the listing is paired.
    """

    taken_at: datetime | None = None
    taken_at_source: DateSource = DateSource.NONE
    location: GeoPoint | None = None
    edited_location: GeoPoint | None = None
    """Google's `geoData` where it differs from the camera's `geoDataExif`: a place the
    user set in Google Photos. It wins only with `metadata.prefer_google: [location]`."""
    description: str | None = None
    favorite: bool = False
    archived: bool = False
    trashed: bool = False
    partner_shared: bool = False
    people: tuple[str, ...] = ()
    google_url: str | None = None
    title: str | None = None
    time_zone: str | None = None
    """IANA zone name (e.g. "Europe/Lisbon") of the place it was taken, set only when that
    zone's offset at `taken_at` is the offset `taken_at` carries; for galleries that store
    a zone beside the local time."""

    def __post_init__(self) -> None:
        if self.taken_at is not None and self.taken_at.utcoffset() is None:
            raise ValueError("Metadata.taken_at must be timezone-aware")


@dataclass(frozen=True)
class Album:
    """A Google album. `key` identifies it across exports; `title` is what users see."""

    key: str
    title: str
    description: str | None = None


@dataclass(frozen=True)
class MediaFile:
    """One file of the export, readable in place (a folder file or an archive member).

    `location` names it for people ("part.zip:Takeout/…/IMG_1.jpg"); `opener` gives a fresh
    binary stream each call, so a retry can read the bytes again. `release`, when set, frees
    what backs the bytes (a temporary copy of a `.tgz` member): the pipeline calls it once
    the item is finished (sent, skipped or failed); calling it twice is harmless.
    """

    name: str
    location: str
    size: int
    media_type: MediaType
    mime: str
    opener: Opener = field(compare=False, repr=False)
    release: Callable[[], None] | None = field(default=None, compare=False, repr=False)

    @property
    def held_bytes(self) -> int:
        """Bytes held on temporary storage for this file until it is released."""
        return self.size if self.release is not None else 0


@dataclass(frozen=True)
class MediaItem:
    """One logical Google Photos item: a file plus what is known about it.

    A live photo is one item whose `live_video` is the motion part. `copies` lists the
    locations of the same item found again in album folders (merged, never imported twice).
    """

    file: MediaFile
    metadata: Metadata = field(default_factory=Metadata)
    albums: tuple[Album, ...] = ()
    live_video: MediaFile | None = None
    copies: tuple[str, ...] = ()
    sidecar: str | None = None
    variant_of: str | None = None
    picker_id: str | None = None
    """The Picker API's media item id when the item came from the Picker (a download that
    lacks the location, albums and flags, and for videos a transcoded copy)."""

    @property
    def kind(self) -> FileKind:
        """What the primary file is, for the report."""
        if self.picker_id:
            return FileKind.PICKED
        if self.variant_of:
            return FileKind.EDITED
        return FileKind.ORIGINAL if self.sidecar else FileKind.NO_SIDECAR

    @property
    def held_bytes(self) -> int:
        video = self.live_video.held_bytes if self.live_video else 0
        return self.file.held_bytes + video

    def release(self) -> None:
        """Free temporary copies backing the item's files (see MediaFile.release)."""
        for file in (self.file, self.live_video):
            if file is not None and file.release is not None:
                file.release()

    @property
    def google_identity(self) -> str | None:
        """The identity Google gave it, when the export carried one: the media item id for a
        Picker item (its content checksum is recorded beside it)."""
        if self.picker_id:
            return f"picker:{self.picker_id}"
        url = self.metadata.google_url
        if not url:
            return None
        return f"{url}{VARIANT}{self.file.name}" if self.variant_of else url


@dataclass(frozen=True)
class PreparedFile:
    """Bytes ready to send: the original, or the original with metadata inserted losslessly."""

    filename: str
    size: int
    mime: str
    sha1: str
    source_sha1: str
    opener: Opener = field(compare=False, repr=False)
    xmp: bytes | None = field(default=None, repr=False)
    held: int = field(default=0, compare=False)
    """Bytes kept in memory for `opener` until the file is sent (a rewritten JPEG), for the
    pipeline's memory budget."""

    @property
    def held_bytes(self) -> int:
        return self.held + len(self.xmp or b"")

    exif_added: frozenset[tuple[str, int]] = frozenset()
    """EXIF tags (IFD name, tag) inserted into these bytes: ours, so a later change in
    Google may replace exactly these (the folder library rewrites its files), never the
    camera's own."""

    @property
    def checksums(self) -> tuple[str, ...]:
        """Both digests: a gallery may hold our written bytes or the untouched original."""
        if self.sha1 == self.source_sha1:
            return (self.sha1,)
        return (self.sha1, self.source_sha1)


@dataclass(frozen=True)
class MetadataConflict:
    """The file's own value and Google's disagree; `winner` ("file" or "google") is used."""

    field: str
    file_value: str
    google_value: str
    winner: str


@dataclass(frozen=True)
class PreparedAsset:
    """An item with its prepared bytes: what an adapter's upload receives.

    `item.metadata` is resolved against the file: the winning values, `taken_at` in the
    offset of the place (the file's own, else the GPS time zone's, else UTC).
    """

    item: MediaItem
    identity: str
    primary: PreparedFile
    live_video: PreparedFile | None = None
    carried: frozenset[str] = frozenset()
    """Metadata fields the bytes or their XMP sidecar carry ("taken_at", "location",
    "description"); an adapter sets the others through its API."""
    from_file: frozenset[str] = frozenset()
    """Fields whose value is the file's own (a later change in Google must not replace it
    unless the user prefers Google's values)."""
    conflicts: tuple[MetadataConflict, ...] = ()
    metadata_notes: tuple[str, ...] = ()
    """Problems with the file's own metadata (damaged EXIF, EXIF we could not rewrite
    safely), each saying where the values went instead."""

    @property
    def held_bytes(self) -> int:
        """Memory the prepared bytes keep until they are sent."""
        video = self.live_video.held_bytes if self.live_video else 0
        return self.primary.held_bytes + video


ScanEvent = MediaItem | Accounted
