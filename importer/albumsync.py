"""Album membership, batched: many items per request, one album lookup per run.

Memberships are recorded in the state only after the gallery confirmed them, so a crash
between upload and album add is repaired by the next run's planner (it sees the album
missing from the record and plans an album add).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from adapters.base import Gallery, GalleryError
from importer.model import Album
from importer.report import RunReport
from importer.state import State

FLUSH_AT = 500


class AlbumSync:
    def __init__(self, gallery: Gallery, state: State, report: RunReport) -> None:
        self.gallery = gallery
        self.state = state
        self.report = report
        self._albums: dict[str, Album] = {}
        self._pending: dict[str, list[tuple[str, str]]] = {}
        self._remote: dict[str, str] = {}
        self._size = 0

    def queue(self, identity: str, remote_id: str, albums: Sequence[Album]) -> None:
        if not self.gallery.capabilities.albums:
            return
        for album in albums:
            self._albums[album.key] = album
            self._pending.setdefault(album.key, []).append((identity, remote_id))
            self._size += 1
        if self._size >= FLUSH_AT:
            self.flush()

    def flush(self) -> None:
        pending, self._pending, self._size = self._pending, {}, 0
        for key, members in pending.items():
            album = self._albums[key]
            try:
                album_id = self._album_id(album)
                self._add(album_id, [remote for _, remote in members])
            except GalleryError as exc:
                self.report.album_failed(album.title, str(exc))
                continue
            self._record(key, [identity for identity, _ in members])

    def _album_id(self, album: Album) -> str:
        target = self.gallery.target
        if album.key not in self._remote:
            known = self.state.album_id(target, album.key)
            remote = self.gallery.ensure_album(album, known)
            if remote != known:
                self.state.put_album(target, album.key, album.title, remote)
            self._remote[album.key] = remote
        return self._remote[album.key]

    def _add(self, album_id: str, remote_ids: list[str]) -> None:
        unique = list(dict.fromkeys(remote_ids))
        step = max(1, self.gallery.capabilities.max_batch)
        for start in range(0, len(unique), step):
            self.gallery.add_to_album(album_id, unique[start:start + step])

    def _record(self, album_key: str, identities: list[str]) -> None:
        target = self.gallery.target
        for identity in dict.fromkeys(identities):
            record = self.state.get(identity)
            on_target = record.on(target) if record else None
            if record is None or on_target is None or album_key in on_target.albums:
                continue
            updated = replace(on_target, albums=(*on_target.albums, album_key))
            self.state.put(record.with_target(target, updated))
