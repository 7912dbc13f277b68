"""The folder target: a plain, self-describing photo library on disk.

Layout: originals in `YYYY/MM/` (capture time in its own offset), albums as `albums/<title>/`
holding relative symlinks, and `library.jsonl` describing every item. Files are written to a
temporary name and hard-linked into place, so a different file is never overwritten and a
crash never leaves half a photo under a real name. `library.jsonl` is appended to as work
happens (crash-safe) and compacted to one line per item when the target closes or reopens.

The files carry the values `library.jsonl` states: a change made in Google rewrites our own
EXIF tags or the XMP sidecar (`rewrite`), and a new capture date moves the file (with its
sidecar, live-photo video and album links) to its new date folder. One run writes a library
at a time (`library.lock`), whatever state file it uses.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC
from pathlib import Path, PurePosixPath
from typing import Any

from adapters.base import (
    ALL_FIELDS,
    METADATA_FIELDS,
    Capabilities,
    GalleryError,
    Repairs,
    Rewritten,
    StoredItem,
    UploadResult,
    UploadStatus,
    VerifyStatus,
)
from adapters.folder import repair
from adapters.folder.albums import AlbumFolders
from adapters.folder.files import (
    Files,
    disk_errors,
    hold_lock,
    sha1_of,
    split_name,
    xmp_of,
)
from adapters.folder.index import LibraryIndex, entry_for, metadata_of, values_of
from adapters.folder.rewrite import MAX_REWRITE, Embedded, embed, own_facts
from importer.metadata import xmp
from importer.metadata.facts import FileFacts
from importer.model import Album, MediaType, Metadata, PreparedAsset, PreparedFile
from importer.sources import mediatypes

_FLAGS = ALL_FIELDS - METADATA_FIELDS
_DATE_FOLDER = re.compile(r"^(\d{4}/\d{2}|undated)$")
_COUNTER = re.compile(r" \(\d+\)$")


class FolderTarget:
    """`folder:DIR`; remote ids are paths relative to DIR."""

    def __init__(self, root: Path) -> None:
        self.root = root.absolute()
        self._library_lock = hold_lock(self.root)
        try:
            self.files = Files(self.root)
            self.index = LibraryIndex(self.root / "library.jsonl")
        except OSError as exc:
            self._library_lock.close()
            raise GalleryError(f"{self.root}: cannot open the library: {exc.strerror}") from None
        self._lock = threading.RLock()
        self.albums = AlbumFolders(self.root / "albums", self.root, self.index, self.files)

    @property
    def target(self) -> str:
        return f"folder:{self.root}"

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(
            album_descriptions=True, xmp_sidecars=True, live_photos=True, max_batch=10_000
        )

    # -- lookup ----------------------------------------------------------------------------

    @disk_errors
    def find_existing(self, checksums: Sequence[str]) -> Mapping[str, str]:
        with self._lock:
            found = {sha1: self.index.path_for(sha1) for sha1 in checksums}
        return {sha1: path for sha1, path in found.items() if path is not None}

    # -- upload ----------------------------------------------------------------------------

    @disk_errors
    def upload(self, asset: PreparedAsset) -> UploadResult:
        folder = date_folder(asset.item.metadata)
        path, status = self._place(asset.primary, folder)
        video_path = None
        if asset.live_video is not None:
            stem = PurePosixPath(path).stem
            video_path, _ = self._place(asset.live_video, folder, stem=stem)
        with self._lock:
            entry = entry_for(path, asset, video_path, self.index.get(path))
            self.index.put(entry)
        # The bytes (or their sidecar) carry what `carried` says; the rest is set after.
        return UploadResult(path, status, video_path, applied=asset.carried | _FLAGS)

    def _place(
        self, file: PreparedFile, folder: str, stem: str | None = None
    ) -> tuple[str, UploadStatus]:
        """Write `file` (and its sidecar) under `folder`; reuse an identical file there."""
        with self._lock:
            existing = self.index.path_for(file.sha1)
        if existing is not None and (self.root / existing).is_file():
            path, status = existing, UploadStatus.DUPLICATE
        else:
            tmp = self.files.spool(file.opener, file.sha1)
            try:
                name = PurePosixPath(file.filename)
                with self._lock:
                    path, created = self.files.link_unique(tmp, file.sha1, folder,
                                                           stem or name.stem, name.suffix)
            finally:
                tmp.unlink(missing_ok=True)
            status = UploadStatus.CREATED if created else UploadStatus.DUPLICATE
        if file.xmp is not None:
            self._write_if_different(xmp_of(path), file.xmp)
        return path, status

    def _write_if_different(self, rel: str, data: bytes) -> None:
        try:
            if self.files.read(rel) == data:
                return
        except OSError:
            pass
        self.files.write_atomic(rel, data)

    # -- metadata --------------------------------------------------------------------------

    def _entry(self, remote_id: str) -> dict[str, Any]:
        entry = self.index.get(remote_id)
        if entry is None or not (self.root / remote_id).is_file():
            raise GalleryError(f"{remote_id}: not in this library (the next run repairs it)")
        return entry

    @disk_errors
    def set_metadata(self, remote_id: str, metadata: Metadata,
                     fields: frozenset[str]) -> Rewritten | None:
        with self._lock:
            entry = self._entry(remote_id)
            values, embedded = self._embedded(entry, metadata, fields)
            if embedded.data is not None:
                self.files.write_atomic(remote_id, embedded.data)
            sha1 = sha1_of(self.root / remote_id)  # the state learns the bytes as they are
            values.update(sha1=sha1, exif_added=sorted([i, t] for i, t in embedded.exif_added),
                          xmp=bool(entry.get("xmp")) or embedded.needs_sidecar)
            moved = "taken_at" in fields and self._moved(values)
            self.write_sidecars(values)
            if moved:
                self._finish_move(entry, values)
            else:
                self.index.put(values)
        return Rewritten(values["path"], sha1, values.get("live_video"))

    def _embedded(self, entry: dict[str, Any], metadata: Metadata,
                  fields: frozenset[str]) -> tuple[dict[str, Any], Embedded]:
        """The entry's new values, and the file's new bytes. A value cleared in Google that
        the file itself states (the camera's) stays: the file wins."""
        values = {**entry, **_changes(metadata, fields), **_identity(metadata)}
        rel = entry["path"]
        kind = mediatypes.by_name(rel)
        photo = kind is not None and kind.media_type is MediaType.PHOTO
        path = self.root / rel
        data = path.read_bytes() if photo and path.stat().st_size <= MAX_REWRITE else None
        jpeg_data = data if kind is mediatypes.JPEG else None
        embedded = embed(jpeg_data, _keys(entry), metadata_of(values), fields)
        kept = _kept(embedded.stated if jpeg_data is not None else own_facts(kind, data),
                     values, fields)
        if kept:
            values.update(kept)
            embedded = embed(jpeg_data, _keys(entry), metadata_of(values), fields)
        return values, embedded

    def _moved(self, values: dict[str, Any]) -> bool:
        """Give the file a name in its new date folder (`values` follow it); the old name
        goes once everything points at the new one (`_finish_move`). False: it stays."""
        old = values["path"]
        folder, stem, suffix = split_name(old)
        new_folder = date_folder(metadata_of(values))
        if not _DATE_FOLDER.match(folder) or folder == new_folder:
            return False
        base = _COUNTER.sub("", stem)
        new, _ = self.files.link_unique(self.root / old, values["sha1"], new_folder, base,
                                        suffix)
        video = values.get("live_video")
        if video and (self.root / video).is_file():
            _, _, video_suffix = split_name(video)
            moved, _ = self.files.link_unique(self.root / video, sha1_of(self.root / video),
                                              new_folder, PurePosixPath(new).stem,
                                              video_suffix)
            values["live_video"] = moved
        values["path"] = new
        return True

    def _finish_move(self, old: dict[str, Any], values: dict[str, Any]) -> None:
        self.index.put(values)
        self.retire(old, values)

    def retire(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        """The one way an entry gives way to another that holds the same photo (a move to
        a new date folder, a Takeout original replacing a Picker copy, a move a kill cut
        short): album links point at the new name first, then the old entry goes, then
        its files and sidecars, except any name the new entry still uses. The caller
        holds the lock; a kill at any step leaves the new entry complete."""
        self.albums.relink(self.albums.all_ids(), old["path"], new["path"])
        self.index.remove(old["path"])
        for rel in (old["path"], old.get("live_video")):
            if rel and rel not in (new["path"], new.get("live_video")):
                self.files.remove(rel)
                self.files.remove(xmp_of(rel))

    def write_sidecars(self, values: dict[str, Any]) -> None:
        """The XMP sidecars an entry has, written from its values (removed when there is
        nothing left to say). Public for repair, which mends entries the same way."""
        packet = xmp.sidecar(metadata_of(values))
        for rel, flag in ((values["path"], "xmp"), (values.get("live_video"), "live_video_xmp")):
            if not rel or not values.get(flag):
                continue
            if packet is None:
                self.files.remove(xmp_of(rel))
                values[flag] = False
            else:
                self._write_if_different(xmp_of(rel), packet)

    @disk_errors
    def set_favorite(self, remote_id: str, favorite: bool) -> None:
        with self._lock:
            values = {**self._entry(remote_id), "favorite": favorite}
            self.write_sidecars(values)  # the sidecar's rating follows
            self.index.put(values)

    @disk_errors
    def set_archived(self, remote_id: str, archived: bool) -> None:
        with self._lock:
            self._entry(remote_id)
            self.index.update(remote_id, archived=archived)

    # -- albums ----------------------------------------------------------------------------

    @disk_errors
    def ensure_album(self, album: Album, known_id: str | None) -> str:
        with self._lock:
            return self.albums.ensure(album, known_id)

    @disk_errors
    def rename_album(self, album_id: str, album: Album) -> str | None:
        with self._lock:
            return self.albums.rename(album_id, album)

    @disk_errors
    def add_to_album(self, album_id: str, remote_ids: Sequence[str]) -> None:
        with self._lock:
            self.albums.add(album_id, remote_ids)

    @disk_errors
    def album_members(self, album_id: str) -> set[str]:
        """Files the album folder's links lead to (a dangling link holds nothing)."""
        with self._lock:
            return self.albums.members(album_id)

    # -- replacing a Picker copy -----------------------------------------------------------

    @disk_errors
    def replace(self, remote_id: str, asset: PreparedAsset) -> UploadResult:
        """The Takeout original takes the place of the Picker's copy at `remote_id`: under
        the same name when it has one, else beside it; the old file goes only once the new
        one is complete and checked, and album links and `library.jsonl` follow."""
        folder = date_folder(asset.item.metadata)
        name = PurePosixPath(asset.primary.filename)
        if f"{folder}/{name.name}" == remote_id:
            tmp = self.files.spool(asset.primary.opener, asset.primary.sha1)
            tmp.replace(self.root / remote_id)
            if asset.primary.xmp is not None:
                self.files.write_atomic(xmp_of(remote_id), asset.primary.xmp)
            else:
                self.files.remove(xmp_of(remote_id))
            path = remote_id
        else:
            path, _ = self._place(asset.primary, folder)
        if sha1_of(self.root / path) != asset.primary.sha1:
            raise GalleryError(f"{self.root / path}: the new file does not check out")
        video_path = None
        if asset.live_video is not None:
            video_path, _ = self._place(asset.live_video, folder, PurePosixPath(path).stem)
        with self._lock:
            old = self.index.get(remote_id)
            values = entry_for(path, asset, video_path, old)
            self.index.put(values)
            if path != remote_id:
                self.retire(old or {"path": remote_id}, values)
        return UploadResult(path, UploadStatus.CREATED, video_path,
                            applied=asset.carried | _FLAGS)

    # -- verify and repair -----------------------------------------------------------------

    @disk_errors
    def verify(self, expected: Mapping[str, str]) -> Mapping[str, VerifyStatus]:
        with self._lock:
            return {remote_id: repair.check(self, remote_id, sha1)
                    for remote_id, sha1 in expected.items()}

    @disk_errors
    def repair(self, items: Iterable[StoredItem]) -> Repairs:
        """Make the library agree with what the state says it holds (see `repair`)."""
        with self._lock:
            return repair.reconcile(self, items)

    def stats(self) -> Mapping[str, int]:
        return {}

    def close(self) -> None:
        with self._lock:
            self.index.close()
        self.files.close()
        self._library_lock.close()


def date_folder(metadata: Metadata) -> str:
    if metadata.taken_at is None:
        return "undated"
    return metadata.taken_at.strftime("%Y/%m")


def _kept(stated: FileFacts, values: dict[str, Any], fields: frozenset[str]) -> dict[str, Any]:
    """A value cleared in Google that the file itself states (the camera's) stays: the file
    wins, and the entry says what the file says. A wall time without offset is read as UTC,
    as on the first import."""
    taken = stated.taken_at
    if taken is not None and taken.utcoffset() is None:
        taken = taken.replace(tzinfo=UTC)
    own = values_of(Metadata(taken_at=taken, location=stated.location,
                             description=stated.description))
    kept: dict[str, Any] = {}
    for name, keys in _KEYS.items():
        if name in fields and values[keys[0]] is None and own[keys[0]] is not None:
            kept.update({key: own[key] for key in keys})
    return kept


def _keys(entry: dict[str, Any]) -> frozenset[tuple[str, int]]:
    pairs = entry.get("exif_added") or []
    return frozenset((str(p[0]), int(p[1])) for p in pairs
                     if isinstance(p, list) and len(p) == 2 and isinstance(p[1], int))


def _identity(metadata: Metadata) -> dict[str, Any]:
    """Who the item is, when this change knows it (its sidecar arrived after the file)."""
    known: dict[str, Any] = {}
    if metadata.google_url:
        known["google_url"] = metadata.google_url
    if metadata.people:
        known["people"] = list(metadata.people)
    return known


_KEYS = {"taken_at": ("taken_at",), "location": ("latitude", "longitude", "altitude"),
         "description": ("description",)}


def _changes(metadata: Metadata, fields: frozenset[str]) -> dict[str, Any]:
    values = values_of(metadata)
    return {key: values[key] for name in fields for key in _KEYS.get(name, ())}
