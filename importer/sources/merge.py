"""One item per Google Photos item, however many folders hold a copy of it.

Year folders hold every item once; each album folder holds another copy of its members
(and the Archive and Trash folders may repeat items too). Folders that hold originals are
merged first, so an album copy finds its item and only adds its album. Copies are matched
by Google URL (plus the file name for edited variants); without a URL, an album copy
matches by name and size.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from importer.model import Accounted, FileKind, FileOutcome
from importer.sources.resolve import Found

Key = tuple[str, str, str, int]


def _key(found: Found) -> Key:
    url = found.metadata.google_url
    if url:
        return ("url", url, found.entry.name if found.variant_of else "", 0)
    return ("file", found.entry.name, "", found.entry.size)


class Merger:
    """Keeps the first Found of each item as its record (no second object per item: a
    100k-item export holds them all until the album folders are merged in)."""

    def __init__(self) -> None:
        self._by_key: dict[Key, Found] = {}
        self._by_file: dict[tuple[str, int], Found] = {}
        """Records by file name and size, for copies whose sidecar went missing."""
        self.records: list[Found] = []
        self.live_parts = 0

    def add(self, found: Found) -> Iterator[Accounted]:
        key = _key(found)
        record = self._by_key.get(key)
        if record is not None and record.entry.size != found.entry.size:
            key = (*key[:3], found.entry.size)  # same Google item, other bytes: its own item
            record = self._by_key.get(key)
            if record is None and not found.variant_of:
                found.variant_of = found.entry.name
        if record is None:
            record = self._lost_sidecar(found, key)
        elif key[0] == "file" and not found.role.holds_copies:
            record = None
        if record is None:
            self._by_key.setdefault(key, found)
            if not found.variant_of:
                self._by_file.setdefault((found.entry.name, found.entry.size), found)
            self.records.append(found)
            self.live_parts += found.live is not None
            return
        yield from self._merge(record, found)

    def _lost_sidecar(self, found: Found, key: Key) -> Found | None:
        """The record `found` is a copy of although one of the two lacks the sidecar the
        other has (lost with a part cut short, say): same name and size, and one of them an
        album copy (album copies are the same bytes). The record takes the sidecar."""
        if found.variant_of:
            return None
        record = self._by_file.get((found.entry.name, found.entry.size))
        if record is None or record.variant_of:
            return None
        if not (record.role.holds_copies or found.role.holds_copies):
            return None
        with_url, without = (record.metadata.google_url, found.metadata.google_url)
        if (with_url is None) == (without is None):
            return None  # both have one (other items) or neither (the usual name match)
        if with_url is None:  # the record lost its sidecar: it takes this one's
            mine = record.metadata
            record.metadata = replace(found.metadata, favorite=found.metadata.favorite or
                                      mine.favorite, archived=found.metadata.archived or
                                      mine.archived, trashed=found.metadata.trashed or
                                      mine.trashed)
            record.sidecar = found.sidecar
            self._by_key[key] = record
        return record

    def _merge(self, primary: Found, copy: Found) -> Iterator[Accounted]:
        # Copies hold the same bytes: read each file from a zip or folder when a copy sits
        # in one, rather than spooling a .tgz member.
        if not primary.entry.random_access and copy.entry.random_access:
            primary.entry, copy.entry = copy.entry, primary.entry
            primary.kind, copy.kind = copy.kind, primary.kind
        if (primary.live is not None and copy.live is not None
                and not primary.live.random_access and copy.live.random_access
                and primary.live.size == copy.live.size):
            primary.live, copy.live = copy.live, primary.live
            primary.live_kind, copy.live_kind = copy.live_kind, primary.live_kind
        _add_flags(primary, copy)
        if copy.album is not None and copy.album not in primary.albums:
            primary.more_albums = [*(primary.more_albums or ()), copy.album]
        if primary.live is None and copy.live is not None:
            primary.live, primary.live_kind, copy.live = copy.live, copy.live_kind, None
            self.live_parts += 1
        primary.copies = [*(primary.copies or ()), copy.entry]
        where = primary.entry.location
        yield Accounted(copy.entry.location, FileOutcome.ALBUM_COPY, f"same item as {where}",
                        FileKind.ALBUM_COPY)
        if copy.live is not None:
            yield Accounted(copy.live.location, FileOutcome.ALBUM_COPY,
                            f"motion part of a copy of {where}", FileKind.ALBUM_COPY)


def _add_flags(primary: Found, copy: Found) -> None:
    """A flag any copy carries (the Archive folder, a sidecar) holds for the item."""
    mine, theirs = primary.metadata, copy.metadata
    favorite = mine.favorite or theirs.favorite
    archived = mine.archived or theirs.archived
    trashed = mine.trashed or theirs.trashed
    if (favorite, archived, trashed) != (mine.favorite, mine.archived, mine.trashed):
        primary.metadata = replace(mine, favorite=favorite, archived=archived, trashed=trashed)
