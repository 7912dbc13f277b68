"""Album membership, batched: many items per request, one album lookup per run.

Memberships are recorded in the state only after the gallery confirmed them, so a crash
between upload and album add is repaired by the next run's planner (it sees the album
missing from the record and plans an album add).

Renames: Takeout knows albums only by title, so an album renamed in Google arrives as an
album we have never seen, whose members all sit in a known album that this export no
longer mentions. `renamed_from` recognises that case, and on a gallery that can rename
albums (`RenamesAlbums`) the known album moves to the new key and is renamed there; other
galleries get a new album, as before. Unknown albums that might be renames wait for the
end of the run, when every member has been seen.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass, replace
from typing import Protocol, runtime_checkable

from adapters.base import Gallery
from importer.faults import describe, item_error
from importer.model import Album
from importer.recording import remember_albums
from importer.report import RunReport
from importer.state import State

FLUSH_AT = 500


@runtime_checkable
class RenamesAlbums(Protocol):
    """A gallery that can rename an album it holds (optional: others keep the old title)."""

    def rename_album(self, album_id: str, album: Album) -> str | None:
        """Rename to `album.title`; the album's new id when renaming changed it (the folder
        library's album id is its folder's name), else None."""
        ...


@dataclass(frozen=True)
class Member:
    """An item queued for an album: the known albums the state has it in, and the albums
    this export puts it in."""

    recorded: frozenset[str]
    current: frozenset[str]


def renamed_from(members: Sequence[Member], seen: Set[str],
                 sizes: Mapping[str, int | None], whole: bool = False) -> str | None:
    """The known album an unknown album continues, or None. It must be:
    - an album of the members that no item of this export is in any more (`seen`),
    - the album of more than half of the unknown album's members, and
    - more than half of its own recorded members (when counted) are among them, or all of
      them with `whole` (an incremental export: an album it does not mention may still
      exist, so "Best of Trip" made of some of Trip's photos must not take Trip over);
    - the only album with that many shared members."""
    shared = Counter(key for m in members for key in m.recorded - m.current if key not in seen)
    ranked = shared.most_common(2)
    if not ranked or (len(ranked) > 1 and ranked[1][1] == ranked[0][1]):
        return None
    best, count = ranked[0]
    size = sizes.get(best)
    if count * 2 <= len(members) or (size is not None and count * 2 <= size):
        return None
    if whole and (size is None or count < size):
        return None
    return best


class AlbumSync:
    def __init__(self, gallery: Gallery, state: State, report: RunReport,
                 whole_renames: bool = False) -> None:
        self.gallery = gallery
        self._whole_renames = whole_renames
        self.state = state
        self.report = report
        self._renamer = gallery if isinstance(gallery, RenamesAlbums) else None
        self._albums: dict[str, Album] = {}
        self._pending: dict[str, list[tuple[str, str]]] = {}
        self._current: dict[str, frozenset[str]] = {}
        self._seen: set[str] = set()
        self._held: set[str] = set()
        self._remote: dict[str, str] = {}
        self._was: dict[str, str] = {}
        """New album key -> the key it had before Google renamed it (this run)."""
        self._size = 0

    def queue(self, identity: str, remote_id: str, albums: Sequence[Album],
              current: Sequence[Album] | None = None) -> None:
        """`albums` to add the item to; `current`: all its albums in this export (for
        recognising renames; defaults to `albums`)."""
        if not self.gallery.capabilities.albums:
            return
        keys = frozenset(a.key for a in (albums if current is None else current))
        self._seen |= keys
        if albums:
            self._current[identity] = keys
            remember_albums(self.state, identity, albums if current is None else current)
        for album in albums:
            self._albums[album.key] = album
            self._pending.setdefault(album.key, []).append((identity, remote_id))
            self._size += album.key not in self._held
        if self._size >= FLUSH_AT:
            self._flush(final=False)

    def flush(self) -> None:
        """End of the run: everything, including albums held back as possible renames."""
        self._flush(final=True)

    def _flush(self, final: bool) -> None:
        pending, self._pending, self._size = self._pending, {}, 0
        for key, members in pending.items():
            if not final and (key in self._held or self._maybe_renamed(key, members)):
                self._held.add(key)
                self._pending[key] = members
                continue
            album = self._albums[key]
            try:
                album_id = self._album_id(album, members)
                self._add(album_id, [remote for _, remote in members])
            except Exception as exc:  # any error but a fatal one fails this album only
                self.report.album_failed(album.title, describe(item_error(exc)))
                continue
            self._record(key, [identity for identity, _ in members])
        waiting = {identity for members in self._pending.values() for identity, _ in members}
        self._current = {i: k for i, k in self._current.items() if i in waiting}

    # -- which remote album ----------------------------------------------------------------

    def _maybe_renamed(self, key: str, members: list[tuple[str, str]]) -> bool:
        if self._renamer is None or key in self._remote:
            return False
        if self.state.album_info(self.gallery.target, key) is not None:
            return False
        return any(m.recorded - m.current for m in self._members(members))

    def _members(self, members: list[tuple[str, str]]) -> list[Member]:
        target = self.gallery.target
        views = []
        for identity in dict.fromkeys(identity for identity, _ in members):
            record = self.state.get(identity)
            on_target = record.on(target) if record else None
            recorded = frozenset(k for k in (on_target.albums if on_target else ())
                                 if self.state.album_info(target, k) is not None)
            views.append(Member(recorded, self._current.get(identity, frozenset())))
        return views

    def _album_id(self, album: Album, members: list[tuple[str, str]]) -> str:
        if album.key not in self._remote:
            target = self.gallery.target
            info = self.state.album_info(target, album.key)
            can_rename = info is None and self._renamer is not None
            renamed = self._renamed(album, members) if can_rename else None
            if renamed is not None:
                remote = renamed
            else:
                remote = self.gallery.ensure_album(album, info.remote_id if info else None)
                if info is None or remote != info.remote_id:
                    self.state.put_album(target, album.key, album.title, remote,
                                         info.members if info else 0)
            self._remote[album.key] = remote
        return self._remote[album.key]

    def _renamed(self, album: Album, members: list[tuple[str, str]]) -> str | None:
        """Move a renamed album's mapping to its new key (and rename it on the gallery)."""
        views = self._members(members)
        target = self.gallery.target
        candidates = {k for m in views for k in m.recorded}
        sizes = {k: info.members for k in candidates
                 if (info := self.state.album_info(target, k)) is not None}
        source = renamed_from(views, self._seen, sizes, self._whole_renames)
        old = self.state.album_info(target, source) if source else None
        if source is None or old is None or self._renamer is None:
            return None
        remote = self.gallery.ensure_album(album, old.remote_id)
        if remote == old.remote_id:
            try:
                remote = self._renamer.rename_album(remote, album) or remote
            except Exception as exc:
                self.report.notes.append(f"album {old.title!r}: not renamed to "
                                         f"{album.title!r}: {describe(item_error(exc))}")
        self.state.put_album(target, album.key, album.title, remote, old.members)
        self.state.drop_album(target, source)
        self._was[album.key] = source
        self.report.notes.append(f"album {old.title!r} was renamed {album.title!r} in Google "
                                 "Photos; it stays the same album on the target")
        return remote

    # -- adding and recording --------------------------------------------------------------

    def _add(self, album_id: str, remote_ids: list[str]) -> None:
        unique = list(dict.fromkeys(remote_ids))
        step = max(1, self.gallery.capabilities.max_batch)
        for start in range(0, len(unique), step):
            self.gallery.add_to_album(album_id, unique[start:start + step])

    def _record(self, album_key: str, identities: list[str]) -> None:
        target = self.gallery.target
        was = self._was.get(album_key)
        added = 0
        for identity in dict.fromkeys(identities):
            record = self.state.get(identity)
            on_target = record.on(target) if record else None
            if record is None or on_target is None or album_key in on_target.albums:
                continue
            # A member under the album's old key stays one member, now under the new key.
            kept = tuple(k for k in on_target.albums if k != was)
            updated = replace(on_target, albums=(*kept, album_key))
            self.state.put(record.with_target(target, updated))
            added += len(kept) == len(on_target.albums)
        info = self.state.album_info(target, album_key)
        if added and info is not None and info.members is not None:
            self.state.put_album(target, album_key, info.title, info.remote_id,
                                 info.members + added)
