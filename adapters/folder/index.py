"""`library.jsonl`: one JSON object per item, the folder library's own description.

Appended to as the run goes (so a killed run loses nothing it reported done), then
compacted to exactly one line per item (the last one written wins) on close or reopen.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO, Any

from importer.model import Metadata, PreparedAsset


def entry_for(
    path: str, asset: PreparedAsset, video_path: str | None, previous: dict[str, Any] | None
) -> dict[str, Any]:
    meta = asset.item.metadata
    entry: dict[str, Any] = {
        "path": path,
        "taken_at": meta.taken_at.isoformat() if meta.taken_at else None,
        "taken_at_source": str(meta.taken_at_source),
        "latitude": meta.location.latitude if meta.location else None,
        "longitude": meta.location.longitude if meta.location else None,
        "description": meta.description,
        "favorite": meta.favorite,
        "archived": meta.archived,
        "albums": list(previous["albums"]) if previous else [],
        "google_url": meta.google_url,
        "sha1": asset.primary.sha1,
        "original_sha1": asset.primary.source_sha1,
        "original_name": asset.item.file.name,
        "people": list(meta.people),
    }
    if video_path is not None:
        entry["live_video"] = video_path
    if asset.item.picker_id is not None:  # a Picker download: no location, video transcoded
        entry["origin"] = "picker"
    return entry


def _metadata_changes(metadata: Metadata, fields: frozenset[str]) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if "taken_at" in fields:
        changes["taken_at"] = metadata.taken_at.isoformat() if metadata.taken_at else None
    if "location" in fields:
        loc = metadata.location
        changes["latitude"] = loc.latitude if loc else None
        changes["longitude"] = loc.longitude if loc else None
    if "description" in fields:
        changes["description"] = metadata.description
    return changes


class LibraryIndex:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._entries: dict[str, dict[str, Any]] = {}
        self._by_sha1: dict[str, str] = {}
        lines = 0
        if path.exists():
            with path.open(encoding="utf-8") as stream:
                for row in _read_rows(stream):
                    lines += 1
                    self._remember(row)
        if lines != len(self._entries):
            self._rewrite()
        self._journal: IO[str] = path.open("a", encoding="utf-8")

    def _remember(self, entry: dict[str, Any]) -> None:
        if isinstance(entry.get("moved_to"), str):  # a file replaced under another name
            self._forget(entry["path"])
            return
        self._entries[entry["path"]] = entry
        for key in ("sha1", "original_sha1"):
            if entry.get(key):
                self._by_sha1[entry[key]] = entry["path"]

    def get(self, path: str) -> dict[str, Any] | None:
        return self._entries.get(path)

    def path_for(self, sha1: str) -> str | None:
        return self._by_sha1.get(sha1)

    def entries(self) -> list[dict[str, Any]]:
        return list(self._entries.values())

    def put(self, entry: dict[str, Any]) -> None:
        self._remember(entry)
        self._journal.write(json.dumps(entry, ensure_ascii=False) + "\n")
        self._journal.flush()

    def update(self, path: str, *, metadata: tuple[Metadata, frozenset[str]] | None = None,
               **changes: Any) -> None:
        entry = self._entries.get(path)
        if entry is None:
            raise KeyError(path)
        if metadata is not None:
            changes.update(_metadata_changes(*metadata))
        self.put({**entry, **changes})

    def _forget(self, path: str) -> None:
        self._entries.pop(path, None)
        for sha1 in [s for s, p in self._by_sha1.items() if p == path]:
            del self._by_sha1[sha1]

    def move(self, old_path: str, entry: dict[str, Any]) -> None:
        """`entry` replaces the item at `old_path` (a Picker copy swapped for its original):
        the journal says where it went, so a reopened index forgets the old path."""
        if entry["path"] != old_path:
            self._forget(old_path)
            self._journal.write(json.dumps({"path": old_path, "moved_to": entry["path"]},
                                           ensure_ascii=False) + "\n")
        self.put(entry)

    def _rewrite(self) -> None:
        tmp = self.path.with_name(self.path.name + ".tmp")
        with tmp.open("w", encoding="utf-8") as out:
            for entry in self._entries.values():
                out.write(json.dumps(entry, ensure_ascii=False) + "\n")
        tmp.replace(self.path)

    def close(self) -> None:
        self._journal.close()
        self._rewrite()


def _read_rows(stream: IO[str]) -> list[dict[str, Any]]:
    """Rows of a possibly crash-torn JSONL file; a torn last line is dropped."""
    rows = []
    for line in stream:
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if isinstance(row, dict) and isinstance(row.get("path"), str):
            rows.append(row)
    return rows
