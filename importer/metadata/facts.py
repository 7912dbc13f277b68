"""What a file says about itself, in one shape for every format we read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from importer.model import GeoPoint


@dataclass(frozen=True)
class FileFacts:
    """The file's own capture time, place and caption, as far as we can read them.

    `taken_at` is aware when the file states its offset, naive otherwise (EXIF wall time of
    an unknown zone; QuickTime's `mvhd` time, UTC by the spec, sets `naive_is_utc`).
    `offset` is the file's own offset even when it has no capture date (EXIF OffsetTime).
    `description_tag` says a caption tag exists, even one we ignore as a camera placeholder:
    such a tag is never overwritten; `shown_description` is its text, placeholder or not
    (what a reader of the file displays). `readable` is False for formats whose metadata we do not
    parse; `damaged` says why metadata that should be readable is not.
    """

    taken_at: datetime | None = None
    naive_is_utc: bool = False
    offset: timezone | None = None
    location: GeoPoint | None = None
    description: str | None = None
    description_tag: bool = False
    shown_description: str | None = None
    readable: bool = True
    damaged: str | None = None


UNREAD = FileFacts(readable=False)
