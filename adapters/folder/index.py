"""`library.jsonl`: one JSON object per item, the folder library's own description.

Appended to as the run goes (so a killed run loses nothing it reported done), then
compacted to exactly one line per item (the last one written wins) on close or reopen.
An item that moved leaves a `{"path": old, "removed": true}` line behind. Each line
carries `_check`, a CRC-32 of the rest, so a line damaged on disk is noticed even where the
damage still parses as JSON. A line that is torn, fails its check or is not of the expected
shape is dropped on reading; the repair pass at the start of a run writes the entry again
from the state and the file. (Lines without `_check`, from older versions, are trusted until
the file holds any line with one.) Owner-only: it names places, captions and people.
"""

from __future__ import annotations

import contextlib
import json
import os
import zlib
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from importer.model import GeoPoint, Metadata, PreparedAsset

PRIVATE_FILE = 0o600
CHECK = "_check"
_REQUIRED = ("taken_at", "favorite", "archived", "albums", "sha1")
_TYPES: dict[str, tuple[type, ...]] = {
    "path": (str,), "taken_at": (str, type(None)), "latitude": (float, int, type(None)),
    "longitude": (float, int, type(None)), "altitude": (float, int, type(None)),
    "description": (str, type(None)), "favorite": (bool,), "archived": (bool,),
    "albums": (list,), "sha1": (str, type(None)), "original_sha1": (str, type(None)),
    "xmp": (bool,), "exif_added": (list,), "live_video": (str, type(None)),
}


def entry_for(
    path: str, asset: PreparedAsset, video_path: str | None, previous: dict[str, Any] | None
) -> dict[str, Any]:
    meta = asset.item.metadata
    entry: dict[str, Any] = {
        "path": path,
        **values_of(meta),
        "taken_at_source": str(meta.taken_at_source),
        "favorite": meta.favorite,
        "archived": meta.archived,
        "albums": list(previous["albums"]) if previous else [],
        "google_url": meta.google_url,
        "sha1": asset.primary.sha1,
        "original_sha1": asset.primary.source_sha1,
        "original_name": asset.item.file.name,
        "people": list(meta.people),
        "xmp": asset.primary.xmp is not None,
        "exif_added": sorted([ifd, tag] for ifd, tag in asset.primary.exif_added),
    }
    if video_path is not None and asset.live_video is not None:
        entry["live_video"] = video_path
        entry["live_video_sha1"] = asset.live_video.sha1
        entry["live_video_xmp"] = asset.live_video.xmp is not None
    if asset.item.picker_id is not None:  # a Picker download: no location, video transcoded
        entry["origin"] = "picker"
    return entry


def values_of(metadata: Metadata) -> dict[str, Any]:
    """The entry's metadata values (capture time, place, caption) as JSON values."""
    loc = metadata.location
    return {
        "taken_at": metadata.taken_at.isoformat() if metadata.taken_at else None,
        "latitude": loc.latitude if loc else None,
        "longitude": loc.longitude if loc else None,
        "altitude": loc.altitude if loc else None,
        "description": metadata.description,
    }


def metadata_of(entry: dict[str, Any]) -> Metadata:
    """What an entry says, as the model's values (for writing the file's XMP sidecar)."""
    taken = entry.get("taken_at")
    lat, lon = entry.get("latitude"), entry.get("longitude")
    return Metadata(
        taken_at=datetime.fromisoformat(taken) if taken else None,
        location=GeoPoint(lat, lon, entry.get("altitude")) if lat is not None
        and lon is not None else None,
        description=entry.get("description"),
        favorite=bool(entry.get("favorite")),
        google_url=entry.get("google_url"),
    )


def _crc(row: dict[str, Any]) -> str:
    body = {k: v for k, v in row.items() if k != CHECK}
    text = json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return f"{zlib.crc32(text.encode('utf-8')):08x}"


def sealed(row: dict[str, Any]) -> str:
    """The JSON line for `row`, with its check."""
    return json.dumps({**row, CHECK: _crc(row)}, ensure_ascii=False)


def valid(row: Any, strict: bool = True) -> bool:
    """A row as we write it (a damaged or hand-edited line is dropped, not a crash);
    `strict`: its check must be there and match."""
    if not isinstance(row, dict) or not isinstance(row.get("path"), str) or not row["path"]:
        return False
    if (CHECK in row or strict) and row.get(CHECK) != _crc(row):
        return False
    if row.get("removed") is True:
        return True
    if any(key not in row for key in _REQUIRED):
        return False
    if not all(isinstance(row.get(k), types) for k, types in _TYPES.items() if k in row):
        return False
    taken = row.get("taken_at")
    try:
        if taken is not None and datetime.fromisoformat(taken).utcoffset() is None:
            return False
    except ValueError:
        return False
    return all(isinstance(title, str) for title in row.get("albums", []))


def open_private(path: Path, flags: int) -> int:
    fd = os.open(path, flags | os.O_CREAT, PRIVATE_FILE)
    with contextlib.suppress(OSError):  # another owner's file: leave its mode
        os.fchmod(fd, PRIVATE_FILE)
    return fd


class LibraryIndex:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._entries: dict[str, dict[str, Any]] = {}
        self._by_sha1: dict[str, str] = {}
        self._videos: dict[str, str] = {}
        self.dropped = 0
        lines = 0
        if path.exists():
            with path.open(encoding="utf-8", errors="replace") as stream:
                rows = _read_rows(stream)
            strict = any(isinstance(row, dict) and CHECK in row for row in rows)
            for row in rows:
                lines += 1
                if not valid(row, strict):
                    self.dropped += 1
                elif row.get("removed") is True:
                    self._forget(row["path"])
                else:
                    self._remember({k: v for k, v in row.items() if k != CHECK})
        if lines != len(self._entries) or not path.exists():
            self._rewrite()
        fd = open_private(path, os.O_WRONLY | os.O_APPEND)
        self._journal: IO[str] = open(fd, "a", encoding="utf-8")  # noqa: SIM115

    def _remember(self, entry: dict[str, Any]) -> None:
        self._forget(entry["path"])
        self._entries[entry["path"]] = entry
        for key in ("sha1", "original_sha1"):
            if entry.get(key):
                self._by_sha1[entry[key]] = entry["path"]
        if entry.get("live_video"):
            self._videos[entry["live_video"]] = entry["path"]

    def _forget(self, path: str) -> None:
        old = self._entries.pop(path, None)
        if old is None:
            return
        for key in ("sha1", "original_sha1"):
            if old.get(key) and self._by_sha1.get(old[key]) == path:
                del self._by_sha1[old[key]]
        if old.get("live_video") and self._videos.get(old["live_video"]) == path:
            del self._videos[old["live_video"]]

    def get(self, path: str) -> dict[str, Any] | None:
        return self._entries.get(path)

    def path_for(self, sha1: str) -> str | None:
        return self._by_sha1.get(sha1)

    def owner_of_video(self, path: str) -> str | None:
        """The item whose live-photo video is at `path`."""
        return self._videos.get(path)

    def entries(self) -> list[dict[str, Any]]:
        return list(self._entries.values())

    def put(self, entry: dict[str, Any]) -> None:
        self._remember(entry)
        self._append(entry)

    def remove(self, path: str) -> None:
        """The item at `path` moved or is gone: the line that says so survives a crash."""
        if path in self._entries:
            self._forget(path)
            self._append({"path": path, "removed": True})

    def _append(self, row: dict[str, Any]) -> None:
        self._journal.write(sealed(row) + "\n")
        self._journal.flush()

    def update(self, path: str, **changes: Any) -> dict[str, Any]:
        entry = self._entries.get(path)
        if entry is None:
            raise KeyError(path)
        updated = {**entry, **changes}
        self.put(updated)
        return updated

    def _rewrite(self) -> None:
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.unlink(missing_ok=True)
        with open(open_private(tmp, os.O_WRONLY | os.O_TRUNC), "w", encoding="utf-8") as out:
            for entry in self._entries.values():
                out.write(sealed(entry) + "\n")
        tmp.replace(self.path)

    def close(self) -> None:
        self._journal.close()
        self._rewrite()


def _read_rows(stream: Iterable[str]) -> list[Any]:
    """Rows of a possibly crash-torn JSONL file; a torn or unreadable line is dropped."""
    rows = []
    for line in stream:
        try:
            rows.append(json.loads(line))
        except (ValueError, RecursionError):
            continue
    return rows
