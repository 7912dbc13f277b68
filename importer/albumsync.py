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
from collections.abc import Callable, Mapping, Sequence, Set
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from typing import Protocol, runtime_checkable

from adapters.base import Gallery
from importer import faults
from importer.faults import describe, item_error
from importer.model import Album
from importer.report import RunReport
from importer.state import AlbumRecord, State

FLUSH_AT = 500
"""Members waiting (all albums together) that send the waiting albums out mid-run."""
MAX_RUNNING = 2
"""Album jobs at once while uploads run (at the end of the run: as many as workers)."""


@dataclass(frozen=True)
class _Job:
    key: str
    album: Album
    members: list[tuple[str, str]]
    info: AlbumRecord | None


@dataclass(frozen=True)
class _Outcome:
    remote_id: str | None
    error: Exception | None
    """Why the album job failed; a fatal one is raised again on the main thread."""


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
    """Album jobs (find or create the album, add members) run in the background while
    uploads go on; the state is written only here on the main thread, in `poll` and
    `flush`. An album's first members go as soon as they are uploaded, so albums are made
    early; later ones in batches (`FLUSH_AT`) and the rest at the end of the run. On a
    gallery that renames albums, a new album of a library that has albums on it waits
    for a batch, so the rename rule sees enough members (see the module docstring).
    Any error of a job fails that album only, except a fatal one (`faults.fatal`), which
    is raised on the main thread once the job is recorded, to stop the run."""

    def __init__(self, gallery: Gallery, state: State, report: RunReport,
                 workers: int = 2, whole_renames: bool = False) -> None:
        self.gallery = gallery
        self._whole_renames = whole_renames
        self.state = state
        self.report = report
        self._renamer = gallery if isinstance(gallery, RenamesAlbums) else None
        self._may_rename = self._renamer is not None and state.has_albums(gallery.target)
        self._albums: dict[str, Album] = {}
        self._pending: dict[str, list[tuple[str, str]]] = {}
        self._current: dict[str, frozenset[str]] = {}
        self._seen: set[str] = set()
        self._held: set[str] = set()
        self._remote: dict[str, str] = {}
        self._started: set[str] = set()
        self._running: dict[Future[_Outcome], _Job] = {}
        self._was: dict[str, str] = {}
        """New album key -> the key it had before Google renamed it (this run)."""
        self._size = 0
        self._pool = ThreadPoolExecutor(max(MAX_RUNNING, workers), "albums")

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
        for album in albums:
            self._albums[album.key] = album
            self._pending.setdefault(album.key, []).append((identity, remote_id))
            self._size += album.key not in self._held
        self._start_due(final=False, keys=None if self._size >= FLUSH_AT else
                        [a.key for a in albums])

    def poll(self) -> None:
        """Record finished album jobs and start those now due (never waits)."""
        finished = [f for f in self._running if f.done()]
        for future in finished:
            self._finished(future)
        if finished:
            self._start_due(final=False)

    def flush(self, stopping: Callable[[], bool] = lambda: False) -> None:
        """End of the run: everything, including albums held back as possible renames.
        Once `stopping()` says so (Ctrl-C), no more jobs start; those running finish."""
        while self._running or (self._pending and not stopping()):
            if not stopping():
                self._start_due(final=True)
            done, _ = wait(list(self._running), return_when=FIRST_COMPLETED)
            for future in done:
                self._finished(future)

    def settle(self) -> None:
        """The run stopped: wait for the jobs running and record what they did; start
        none (what waits is repaired by the next run, whose planner sees the albums missing
        from the record). A fatal error of one is raised once all are recorded."""
        first: Exception | None = None
        while self._running:
            done, _ = wait(list(self._running), return_when=FIRST_COMPLETED)
            for future in done:
                try:
                    self._finished(future)
                except Exception as exc:
                    first = first or exc
        if first is not None:
            raise first

    def close(self, abandon: bool = False) -> None:
        """Release the threads; with `abandon`, without waiting for running jobs (their
        members stay unrecorded, so the next run adds them again)."""
        self._pool.shutdown(wait=not abandon, cancel_futures=True)

    # -- jobs ------------------------------------------------------------------------------

    def _due(self, key: str, final: bool) -> bool:
        """May album `key`'s waiting members go now?"""
        if final:
            return True
        if key in self._held:
            return False
        known = key in self._remote or not self._may_rename or \
            self.state.album_info(self.gallery.target, key) is not None
        if key not in self._started and known:
            return True  # made (or found) early, while uploads go on
        if self._size < FLUSH_AT:
            return False
        if self._maybe_renamed(key, self._pending[key]):
            self._held.add(key)
            self._size -= len(self._pending[key])
            return False
        return True

    def _start_due(self, final: bool, keys: Sequence[str] | None = None) -> None:
        """Start jobs for the albums (all, or `keys`) whose members may go now."""
        busy = {job.key for job in self._running.values()}
        for key in list(self._pending) if keys is None else dict.fromkeys(keys):
            if not final and len(self._running) >= MAX_RUNNING:
                return
            if key in busy or not self._due(key, final):
                continue
            members = self._pending.pop(key)
            if key not in self._held:
                self._size -= len(members)
            self._held.discard(key)
            self._started.add(key)
            self._start(key, members)
            busy.add(key)

    def _start(self, key: str, members: list[tuple[str, str]]) -> None:
        album = self._albums[key]
        known = self._remote.get(key)
        info = None
        if known is None:
            info = self.state.album_info(self.gallery.target, key)
            if info is None and self._may_rename:
                try:
                    known = self._renamed(album, members)
                except Exception as exc:  # any error but a fatal one fails this album only
                    self.report.album_failed(album.title, describe(item_error(exc)))
                    return
                if known is not None:
                    self._remote[key] = known
        job = _Job(key, album, members, info)
        remote_ids = list(dict.fromkeys(remote for _, remote in members))
        self._running[self._pool.submit(self._work, album, remote_ids, known, info)] = job

    def _work(self, album: Album, remote_ids: list[str], known: str | None,
              info: AlbumRecord | None) -> _Outcome:
        """In a worker: the album's remote id and the members added, or the error that
        stopped it (any error: the main thread judges it, see `_finished`)."""
        remote = known
        try:
            if remote is None:
                remote = self.gallery.ensure_album(album, info.remote_id if info else None)
            step = max(1, self.gallery.capabilities.max_batch)
            for start in range(0, len(remote_ids), step):
                self.gallery.add_to_album(remote, remote_ids[start:start + step])
        except Exception as exc:
            return _Outcome(remote, exc)
        return _Outcome(remote, None)

    def _finished(self, future: Future[_Outcome]) -> None:
        """Record a finished job. A fatal error (credentials refused, target gone, disk
        full) is raised again, to stop the run; any other fails this album only."""
        job = self._running.pop(future)
        if future.cancelled():  # the run was abandoned
            return
        outcome = future.result()
        target = self.gallery.target
        if outcome.remote_id is not None and job.key not in self._remote:
            info = job.info
            if info is None or outcome.remote_id != info.remote_id:
                self.state.put_album(target, job.key, job.album.title, outcome.remote_id,
                                     info.members if info else 0)
            self._remote[job.key] = outcome.remote_id
        waiting = {i for members in self._pending.values() for i, _ in members}
        waiting |= {i for running in self._running.values() for i, _ in running.members}
        self._current = {i: k for i, k in self._current.items() if i in waiting}
        if outcome.error is None:
            self._record(job.key, [identity for identity, _ in job.members])
        elif faults.fatal(outcome.error) is not None:
            raise outcome.error
        else:
            self.report.album_failed(job.album.title, describe(outcome.error))

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
