"""Google Takeout reader: all parts of one export, read together and in place.

1. List every part (`listing`): files filed by folder, JSON parsed on the spot.
2. Pair each folder (`resolve`): sidecars, live photos, edited copies; folders holding
   originals first, then album folders, whose copies merge into their items (`merge`).
3. Hand out the items: those readable in place (zip, folder) at once; those with a file in
   a `.tgz` part during a second pass over that part, each member copied to the spool
   and released by the pipeline when the item is finished.

Every file of the export ends up as exactly one report line (an item's files, an album
copy, an unmatched JSON, a skipped or unreadable file), except the sidecars and album JSON
that were used; `stats` counts those, so the totals add up.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from importer.config import TakeoutSettings
from importer.model import (
    Accounted,
    Album,
    FileKind,
    FileOutcome,
    MediaFile,
    MediaItem,
    ScanEvent,
)
from importer.sources import mediatypes
from importer.sources.layout import Role, album_for, distinct_albums, folder_role
from importer.sources.listing import ExportStats, Listing, wanted
from importer.sources.merge import Merger
from importer.sources.parts import Entry, Part, Problem, open_parts
from importer.sources.resolve import FolderContext, Found, resolve_folder
from importer.sources.spool import Spool, Spooled
from importer.sources.tarpart import TarPart


class TakeoutSource:
    def __init__(self, sources: Sequence[Path], settings: TakeoutSettings) -> None:
        self.settings = settings
        self.parts: list[Part]
        self.parts, self._problems = open_parts(sources)
        self.expected_files: int | None = None
        """Media files in the export, known once every part is listed (for progress)."""
        self.stats = ExportStats()
        self._spool = Spool(Path(settings.spool_dir) if settings.spool_dir else None)

    def close(self) -> None:
        for part in self.parts:
            part.close()
        self._spool.close()

    def scan(self) -> Iterator[ScanEvent]:
        listing = Listing()
        self.stats = listing.stats
        self.stats.parts = len(self.parts) + len(self._problems)
        for problem in self._problems:
            yield listing.part_problem(problem)
        for part in self.parts:
            for listed in part.entries(wanted):
                if isinstance(listed, Problem) and listed.location == part.name:
                    yield listing.part_problem(listed)
                else:
                    yield from listing.add(listed)
        self.expected_files = self.stats.media
        merger = Merger()
        yield from self._pair(listing, merger)
        self.expected_files = self.stats.media - merger.live_parts
        waiting = []
        for record in merger.records:
            if record.random_access:
                yield _item(record)
            else:
                waiting.append(record)
        del merger
        if waiting:
            yield from self._fetch(waiting)

    def _albums(self, listing: Listing, roles: dict[str, Role]) -> dict[str, Album]:
        """Each album folder's Album; equal titles stay apart (`distinct_albums`)."""
        keep_untitled = self.settings.untitled_albums == "keep"
        found = {}
        for folder, role in roles.items():
            info = listing.folders[folder].album
            album = album_for(folder, info, keep_untitled=keep_untitled) \
                if role is Role.ALBUM else None
            if album is not None:
                found[folder] = (album, info)
        return distinct_albums(found)

    def _pair(self, listing: Listing, merger: Merger) -> Iterator[Accounted]:
        roles = {folder: folder_role(folder, files.album)
                 for folder, files in listing.folders.items()}
        albums = self._albums(listing, roles)
        for folder in sorted(roles, key=lambda f: (roles[f].holds_copies, f)):
            files = listing.folders.pop(folder)
            context = FolderContext(folder, roles[folder], albums.get(folder), self.settings)
            for event in resolve_folder(files, context, self.stats):
                if isinstance(event, Accounted):
                    yield event
                else:
                    yield from merger.add(event)

    def _fetch(self, records: list[Found]) -> Iterator[ScanEvent]:
        """Second pass over each `.tgz` part: spool the members still needed, in order;
        an item goes out as soon as all its files are in."""
        owners: dict[Entry, Found] = {}
        by_part: dict[TarPart, dict[int, Entry]] = {}
        for found in records:
            for entry in _tar_files(found):
                assert isinstance(entry.part, TarPart)
                by_part.setdefault(entry.part, {})[entry.ref] = entry
                owners[entry] = found
        records.clear()
        partial: dict[int, dict[Entry, Spooled | str]] = {}  # items with two tgz files
        for part, wanted_entries in by_part.items():
            for entry, result in part.fetch(wanted_entries, self._spool):
                found = owners.pop(entry)
                if len(_tar_files(found)) == 1:
                    yield from _complete(found, {entry: result})
                    continue
                got = partial.setdefault(id(found), {})
                got[entry] = result
                if len(got) == len(_tar_files(found)):
                    del partial[id(found)]
                    yield from _complete(found, got)


def _tar_files(found: Found) -> list[Entry]:
    return [e for e in (found.entry, found.live) if e is not None and not e.random_access]


def _complete(found: Found, results: dict[Entry, Spooled | str]) -> Iterator[ScanEvent]:
    """The item with its spooled files; files that could not be read are reported, and a
    lost still leaves its motion half as an item of its own."""
    copies = {e: s for e, s in results.items() if isinstance(s, Spooled)}
    lost = {e for e, s in results.items() if isinstance(s, str)}
    for entry in lost:
        kind = FileKind.LIVE_PART if entry is found.live else _kind_of(found)
        yield Accounted(entry.location, FileOutcome.UNREADABLE, str(results[entry]), kind)
    if found.entry in lost:
        if found.live is None or found.live in lost:
            for spooled in copies.values():
                spooled.release()
            return
        found.entry, found.kind, found.live = found.live, found.live_kind or found.kind, None
    if found.live in lost:
        found.live = None
    yield _item(found, copies)


def _kind_of(found: Found) -> FileKind:
    if found.variant_of:
        return FileKind.EDITED
    return FileKind.ORIGINAL if found.sidecar is not None else FileKind.NO_SIDECAR


def _media_file(entry: Entry, kind: mediatypes.Kind, spooled: Spooled | None) -> MediaFile:
    return MediaFile(
        name=entry.name,
        location=entry.location,
        size=entry.size,
        media_type=kind.media_type,
        mime=kind.mime,
        opener=spooled.open if spooled is not None else entry.open,
        release=spooled.release if spooled is not None else None,
    )


def _item(found: Found, spooled: dict[Entry, Spooled] | None = None) -> MediaItem:
    held = spooled or {}
    live = None
    if found.live is not None:
        assert found.live_kind is not None
        live = _media_file(found.live, found.live_kind, held.get(found.live))
    return MediaItem(
        file=_media_file(found.entry, found.kind, held.get(found.entry)),
        metadata=found.metadata,
        albums=found.albums,
        live_video=live,
        copies=tuple(c.location for c in found.copies or ()),
        sidecar=found.sidecar.location if found.sidecar is not None else None,
        variant_of=found.variant_of,
    )
