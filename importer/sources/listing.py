"""Pass one over every part: each file filed under its folder, each JSON read on the spot.

All parts are listed before anything is paired (a sidecar in part 7 belongs to a photo in
part 2). JSON is parsed the moment it is listed and reduced to compact values (Metadata,
AlbumInfo): a `.tgz` member can only be read while the archive streams past it, and a
100k-item export must not hold 100k parsed dicts.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from importer.model import Accounted, FileKind, FileOutcome, Metadata
from importer.sources import mediatypes, takeout_json
from importer.sources.layout import relative_to_product
from importer.sources.parts import Entry, Listed, Part, Problem
from importer.sources.takeout_json import (
    AlbumInfo,
    album_from_json,
    classify,
    metadata_from_sidecar,
)

MAX_JSON_BYTES = 16 * 1024 * 1024
"""Sidecars are a few kB; album JSON with thousands of enrichments can be several MB."""


@dataclass
class ExportStats:
    """Counts over the whole export; `files` = report entries + `json_used` - part problems."""

    parts: int = 0
    files: int = 0
    media: int = 0
    json_used: int = 0
    part_problems: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass(slots=True)
class Sidecar:
    """An asset JSON, kept as its place and the Metadata it said (no Entry, no dict)."""

    part: Part
    folder: str
    name: str
    metadata: Metadata

    @property
    def location(self) -> str:
        return f"{self.part.name}:{self.folder + '/' if self.folder else ''}{self.name}"


@dataclass(slots=True)
class FolderFiles:
    media: list[Entry] = field(default_factory=list)
    sidecars: dict[str, Sidecar] = field(default_factory=dict)
    album: AlbumInfo | None = None
    sniffed: dict[str, mediatypes.Kind] = field(default_factory=dict)
    """Media whose extension says nothing (Pixel's `PXL_….MP`), by the kind their bytes show."""


def _is_json(name: str) -> bool:
    return name.lower().endswith(".json")


def wanted(name: str, size: int) -> int:
    """Bytes to read while listing: whole JSON files, the head of unknown files."""
    if _is_json(name):
        return size if 0 < size <= MAX_JSON_BYTES else 0
    if mediatypes.is_media_name(name):
        return 0
    return mediatypes.SNIFF_BYTES


class Listing:
    def __init__(self) -> None:
        self.folders: dict[str, FolderFiles] = {}
        self.stats = ExportStats()
        self._by_url: dict[str, Metadata] = {}
        self._keys: dict[str, str] = {}

    def _shared(self, metadata: Metadata) -> Metadata:
        """Album copies repeat their item's sidecar: keep one Metadata per Google URL."""
        url = metadata.google_url
        if url is None:
            return metadata
        known = self._by_url.get(url)
        if known == metadata:
            return known
        self._by_url.setdefault(url, metadata)
        return metadata

    def _folder(self, folder: str) -> FolderFiles:
        """Files are filed by their folder below the product folder, so parts extracted
        side by side ('takeout-001/Takeout/Google Photos/…', 'takeout-002/…') or given at
        different depths still meet in one folder."""
        key = self._keys.get(folder)
        if key is None:
            key = self._keys[folder] = "/".join(relative_to_product(folder))
        files = self.folders.get(key)
        if files is None:
            files = self.folders[key] = FolderFiles()
        return files

    def add(self, listed: Listed | Problem) -> Iterator[Accounted]:
        self.stats.files += 1
        if isinstance(listed, Problem):
            yield Accounted(listed.location, FileOutcome.UNREADABLE, listed.reason)
            return
        entry, content = listed
        if _is_json(entry.name):
            yield from self._json(entry, content)
        elif mediatypes.is_media_name(entry.name):
            self.stats.media += 1
            self._folder(entry.folder).media.append(entry)
        else:
            yield from self._unknown(entry, content or b"")

    def part_problem(self, problem: Problem) -> Accounted:
        """A problem with a whole part (unopenable, cut short): not a file of the export."""
        self.stats.part_problems += 1
        return Accounted(problem.location, FileOutcome.UNREADABLE, problem.reason)

    def _unknown(self, entry: Entry, head: bytes) -> Iterator[Accounted]:
        kind = mediatypes.sniff(head)
        if kind is None:
            yield Accounted(entry.location, FileOutcome.SKIPPED, "not a photo or video")
            return
        self.stats.media += 1
        files = self._folder(entry.folder)
        files.media.append(entry)
        files.sniffed[entry.name] = kind

    def _json(self, entry: Entry, content: bytes | None) -> Iterator[Accounted]:
        if content is None:
            reason = "empty JSON file" if entry.size == 0 else "JSON too large to be a sidecar"
            yield Accounted(entry.location, FileOutcome.UNREADABLE, reason, FileKind.JSON)
            return
        try:
            data = takeout_json.loads(content.decode("utf-8-sig"))
        except ValueError as exc:  # also UnicodeDecodeError
            yield Accounted(entry.location, FileOutcome.UNREADABLE, f"damaged JSON ({exc})",
                            FileKind.JSON)
            return
        if not isinstance(data, dict):
            yield Accounted(entry.location, FileOutcome.UNMATCHED_JSON,
                            "not a Takeout JSON (no object inside)", FileKind.JSON)
            return
        kind = classify(data)
        files = self._folder(entry.folder)
        if kind == "asset":
            if entry.name in files.sidecars:
                yield Accounted(entry.location, FileOutcome.UNMATCHED_JSON,
                                "the same sidecar again (listed in two parts)", FileKind.JSON)
                return
            metadata = self._shared(metadata_from_sidecar(data))
            files.sidecars[entry.name] = Sidecar(entry.part, entry.folder, entry.name, metadata)
        elif kind == "album":
            self.stats.json_used += 1
            if files.album is None:
                files.album = album_from_json(data)
        else:
            reason = "print order, not a photo" if kind == "print-order" else \
                "neither a photo's sidecar nor an album"
            yield Accounted(entry.location, FileOutcome.UNMATCHED_JSON, reason, FileKind.JSON)
