"""Favorite and archive changes made in Google, sent in bulk: one request per value for
many items (Immich's `PUT /assets` takes a list of ids), instead of one per item.

Only actions whose every change is such a flag come here (a new date, place or caption is
per item anyway). They are collected until a batch is full, or the source is read to its
end, then one background job per batch sends them; each item is recorded only when the
job that carried it has come back, like every other item (the pipeline records them).
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from adapters.base import FlagsInBulk, GalleryError
from importer.act import FATAL, ItemResult
from importer.model import FileOutcome
from importer.plan import Action

BATCH = 500


def flag_changes(action: Action, favorites: bool, archive: bool) -> dict[str, bool] | None:
    """The flags `action` changes (name -> new value), when that is all it changes."""
    wanted = {"favorite": favorites, "archived": archive}
    if not action.changed or not action.changed <= wanted.keys():
        return None
    metadata = action.item.metadata
    values = {"favorite": metadata.favorite, "archived": metadata.archived}
    return {name: values[name] for name in action.changed if wanted[name]}


@dataclass
class _Batch:
    actions: list[Action] = field(default_factory=list)
    changes: list[dict[str, bool]] = field(default_factory=list)


class FlagSync:
    def __init__(self, gallery: FlagsInBulk) -> None:
        self.gallery = gallery
        self._pending = _Batch()
        self._running: dict[Future[list[ItemResult]], _Batch] = {}
        self._pool = ThreadPoolExecutor(1, "flags")

    @property
    def busy(self) -> int:
        """Items waiting or being sent."""
        running = sum(len(batch.actions) for batch in self._running.values())
        return len(self._pending.actions) + running

    @property
    def futures(self) -> list[Future[list[ItemResult]]]:
        return list(self._running)

    def queue(self, action: Action, changes: dict[str, bool]) -> None:
        self._pending.actions.append(action)
        self._pending.changes.append(changes)
        if len(self._pending.actions) >= BATCH:
            self.start()

    def start(self) -> None:
        """Send what is waiting (the pipeline calls this once the source is read)."""
        if self._pending.actions:
            batch, self._pending = self._pending, _Batch()
            self._running[self._pool.submit(_send, self.gallery, batch)] = batch

    def finished(self) -> list[ItemResult]:
        """Results of the jobs that came back (never waits)."""
        results: list[ItemResult] = []
        for future in [f for f in self._running if f.done()]:
            del self._running[future]
            results += future.result()
        return results

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def _send(gallery: FlagsInBulk, batch: _Batch) -> list[ItemResult]:
    """One request per (flag, value); an item fails with the requests that carried it."""
    groups: dict[tuple[str, bool], list[int]] = {}
    for index, changes in enumerate(batch.changes):
        for name, value in changes.items():
            groups.setdefault((name, value), []).append(index)
    failed: dict[int, str] = {}
    for (name, value), members in groups.items():
        ids = _remote_ids(batch.actions, members)
        try:
            gallery.set_flags_many(ids, **{name: value})
        except FATAL:
            raise
        except GalleryError as exc:
            failed.update({i: str(exc) for i in members})
    return [ItemResult(action, FileOutcome.FAILED, failed[i]) if i in failed else
            ItemResult(action, FileOutcome.UPDATED, action.reason,
                       action.previous.remote_id if action.previous else None)
            for i, action in enumerate(batch.actions)]


def _remote_ids(actions: Sequence[Action], members: list[int]) -> list[str]:
    ids = []
    for i in members:
        previous = actions[i].previous
        assert previous is not None and previous.remote_id is not None
        ids.append(previous.remote_id)
    return ids
