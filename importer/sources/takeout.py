"""Google Takeout reader: all parts of one export, read together and in place.

The export is listed completely before anything is paired, because a sidecar can sit in a
different part than its photo. JSON is classified by content (asset sidecar, album
metadata, other), media is matched to sidecars per folder, and the copies of one photo
found in the year folder and in album folders become one item with those albums.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from importer.config import TakeoutSettings
from importer.model import (
    Accounted,
    Album,
    FileOutcome,
    MediaFile,
    MediaItem,
    Metadata,
    ScanEvent,
)
from importer.sources import mediatypes
from importer.sources.parts import Entry, Part, Problem, open_parts
from importer.sources.sidecar import edited_original, match_folder
from importer.sources.takeout_json import album_from_json, classify, metadata_from_sidecar

MAX_JSON_BYTES = 4 * 1024 * 1024
_YEAR_FOLDER = re.compile(r"^(Photos from|Fotos von|Photos de|Foto del|Fotos de) \d{4}$")
_ARCHIVE_FOLDERS = {"Archive", "Archiv", "Archives", "Archivio", "Archivo", "Archief"}
_TRASH_FOLDERS = {"Trash", "Bin", "Corbeille", "Papierkorb", "Cestino", "Papelera"}


@dataclass(frozen=True)
class _Found:
    """One media entry with what its folder and sidecar say about it."""

    entry: Entry
    kind: mediatypes.Kind
    metadata: Metadata
    sidecar: str | None
    album: Album | None
    variant_of: str | None


class TakeoutSource:
    def __init__(self, sources: Sequence[Path], settings: TakeoutSettings) -> None:
        self.settings = settings
        self.parts: list[Part]
        self.parts, self._problems = open_parts(sources)
        self.expected_files: int | None = None
        """Media files in the export, known once every part is listed (for progress)."""

    def close(self) -> None:
        for part in self.parts:
            part.close()

    def scan(self) -> Iterator[ScanEvent]:
        for problem in self._problems:
            yield Accounted(problem.location, FileOutcome.UNREADABLE, problem.reason)
        entries: list[Entry] = []
        for part in self.parts:
            for found in part.entries():
                if isinstance(found, Problem):
                    yield Accounted(found.location, FileOutcome.UNREADABLE, found.reason)
                else:
                    entries.append(found)
        yield from self._scan_entries(entries)

    def _scan_entries(self, entries: list[Entry]) -> Iterator[ScanEvent]:
        self.expected_files = sum(1 for e in entries if mediatypes.is_media_name(e.name))
        by_folder: dict[str, list[Entry]] = defaultdict(list)
        for entry in entries:
            by_folder[entry.folder].append(entry)
        found: list[_Found] = []
        for folder in sorted(by_folder):
            yield from self._scan_folder(folder, by_folder[folder], found)
        yield from _merge_copies(found)

    def _scan_folder(
        self, folder: str, entries: list[Entry], found: list[_Found]
    ) -> Iterator[ScanEvent]:
        jsons: dict[str, tuple[Entry, dict[str, Any]]] = {}
        album: Album | None = None
        media: dict[str, Entry] = {}
        for entry in entries:
            if entry.name.lower().endswith(".json"):
                data, problem = _read_json(entry)
                if problem is not None:
                    yield problem
                    continue
                assert data is not None
                kind = classify(data)
                if kind == "album":
                    album = album_from_json(data, folder_title(folder))
                elif kind == "asset":
                    jsons[entry.name] = (entry, data)
                else:
                    yield Accounted(entry.location, FileOutcome.UNMATCHED_JSON,
                                    f"{kind} JSON, not an asset")
            elif mediatypes.is_media_name(entry.name):
                media[entry.name] = entry
            else:
                yield Accounted(entry.location, FileOutcome.SKIPPED, "not a media file")
        album = album or self._implicit_album(folder)
        pairs = match_folder(media, jsons)
        used = {name for name in pairs.values() if name is not None}
        for name, entry in sorted(media.items()):
            yield from self._found(entry, pairs[name], jsons, album, found)
        for name in sorted(set(jsons) - used):
            yield Accounted(jsons[name][0].location, FileOutcome.UNMATCHED_JSON,
                            "no media file with a matching name in its folder")

    def _found(
        self,
        entry: Entry,
        sidecar_name: str | None,
        jsons: dict[str, tuple[Entry, dict[str, Any]]],
        album: Album | None,
        found: list[_Found],
    ) -> Iterator[ScanEvent]:
        if entry.size == 0:
            yield Accounted(entry.location, FileOutcome.UNREADABLE, "zero-byte file")
            return
        kind = mediatypes.by_name(entry.name)
        assert kind is not None
        metadata, sidecar = Metadata(), None
        if sidecar_name is not None:
            json_entry, data = jsons[sidecar_name]
            metadata, sidecar = metadata_from_sidecar(data), json_entry.location
        variant = edited_original(entry.name)
        if variant is not None and not self.settings.edited_variants:
            yield Accounted(entry.location, FileOutcome.SKIPPED,
                            "edited copy (takeout.edited_variants is off)")
            return
        folder = folder_title(entry.folder)
        if folder in _ARCHIVE_FOLDERS:
            metadata = replace(metadata, archived=True)
        if folder in _TRASH_FOLDERS:
            metadata = replace(metadata, trashed=True)
        found.append(_Found(entry, kind, metadata, sidecar, album, variant))

    def _implicit_album(self, folder: str) -> Album | None:
        """Old exports have album folders without album JSON; the folder name is the title."""
        title = folder_title(folder)
        if not title or _YEAR_FOLDER.match(title) or title in _ARCHIVE_FOLDERS | _TRASH_FOLDERS:
            return None
        if folder.count("/") < 2:  # 'Takeout/Google Photos' itself is no album
            return None
        return Album(key=f"title:{title}", title=title)


def folder_title(folder: str) -> str:
    return folder.rsplit("/", 1)[-1]


def _read_json(entry: Entry) -> tuple[dict[str, Any] | None, Accounted | None]:
    if entry.size > MAX_JSON_BYTES:
        reason = "JSON too large to be a sidecar"
        return None, Accounted(entry.location, FileOutcome.SKIPPED, reason)
    try:
        with entry.opener() as stream:
            data = json.loads(stream.read().decode("utf-8-sig"))
    except (OSError, EOFError, ValueError) as exc:
        return None, Accounted(entry.location, FileOutcome.UNREADABLE, f"damaged JSON: {exc}")
    if not isinstance(data, dict):
        return None, Accounted(entry.location, FileOutcome.UNMATCHED_JSON, "JSON is not an object")
    return data, None


def _merge_key(found: _Found) -> str:
    url = found.metadata.google_url
    if url:
        return f"url:{url}#{found.entry.name if found.variant_of else ''}"
    return f"file:{found.entry.name}:{found.entry.size}"


def _merge_copies(found: list[_Found]) -> Iterator[ScanEvent]:
    """One item per photo: the year-folder copy is the primary, album copies add albums."""
    groups: dict[str, list[_Found]] = defaultdict(list)
    for one in found:
        groups[_merge_key(one)].append(one)
    for key in sorted(groups, key=lambda k: groups[k][0].entry.location):
        copies = sorted(groups[key], key=lambda f: (f.album is not None, f.entry.location))
        primary = copies[0]
        albums = tuple(dict.fromkeys(c.album for c in copies if c.album is not None))
        metadata = primary.metadata
        if any(c.metadata.archived for c in copies):
            metadata = replace(metadata, archived=True)
        yield MediaItem(
            file=_media_file(primary),
            metadata=metadata,
            albums=albums,
            copies=tuple(c.entry.location for c in copies[1:]),
            sidecar=primary.sidecar,
            variant_of=primary.variant_of,
        )
        for copy in copies[1:]:
            yield Accounted(copy.entry.location, FileOutcome.ALBUM_COPY,
                            f"same item as {primary.entry.location}")


def _media_file(found: _Found) -> MediaFile:
    entry = found.entry
    return MediaFile(
        name=entry.name,
        location=entry.location,
        size=entry.size,
        media_type=found.kind.media_type,
        mime=found.kind.mime,
        opener=entry.opener,
    )
