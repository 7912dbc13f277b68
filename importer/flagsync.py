"""Favorite and archive changes made in Google, sent in bulk: one request per value for
many items (Immich's `PUT /assets` takes a list of ids), instead of one per item.

Only actions whose every change is such a flag come here (a new date, place or caption is
per item anyway). They wait in a `FlagQueue` until a batch is full or the source is read
to its end; the pipeline then hands the batch to a sender like any upload (`send_flags`),
and records each item only when the request that carried it has come back.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from adapters.base import FlagsInBulk
from importer.act import ItemResult
from importer.faults import describe, item_error
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
class FlagBatch:
    """Items whose flags go together, and the flags each one changes."""

    actions: list[Action] = field(default_factory=list)
    changes: list[dict[str, bool]] = field(default_factory=list)


class FlagQueue:
    """Flag-only updates waiting to be sent (they hold no bytes, so they may wait)."""

    def __init__(self, size: int = BATCH) -> None:
        self._size = size
        self._waiting = FlagBatch()

    def __len__(self) -> int:
        return len(self._waiting.actions)

    def add(self, action: Action, changes: dict[str, bool]) -> FlagBatch | None:
        """Queue one item; a batch once it is full."""
        self._waiting.actions.append(action)
        self._waiting.changes.append(changes)
        return self.take() if len(self) >= self._size else None

    def take(self) -> FlagBatch | None:
        """Whatever waits, as one batch (None: nothing)."""
        if not self._waiting.actions:
            return None
        batch, self._waiting = self._waiting, FlagBatch()
        return batch

    def drop(self) -> list[Action]:
        """Everything waiting (the run stops: none of it will be sent)."""
        batch = self.take()
        return batch.actions if batch else []


def send_flags(gallery: FlagsInBulk, batch: FlagBatch) -> list[ItemResult]:
    """Runs in a sender: one request per (flag, value). Any error but a fatal one fails the
    items of the request that carried it; a fatal one is raised (see `faults`)."""
    groups: dict[tuple[str, bool], list[int]] = {}
    for index, changes in enumerate(batch.changes):
        for name, value in changes.items():
            groups.setdefault((name, value), []).append(index)
    failed: dict[int, str] = {}
    for (name, value), members in groups.items():
        try:
            gallery.set_flags_many([_remote_id(batch.actions[i]) for i in members],
                                   **{name: value})
        except Exception as exc:
            reason = describe(item_error(exc))
            failed.update({i: reason for i in members})
    return [ItemResult(action, FileOutcome.FAILED, failed[i]) if i in failed else
            ItemResult(action, FileOutcome.UPDATED, action.reason, _remote_id(action))
            for i, action in enumerate(batch.actions)]


def _remote_id(action: Action) -> str:
    assert action.previous is not None and action.previous.remote_id is not None
    return action.previous.remote_id
