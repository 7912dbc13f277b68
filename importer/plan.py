"""Decide, then act: one action per item, from the item and what the state remembers.

Pure: no I/O, so dry runs print exactly what a real run would do, and every rule here is
testable with plain values.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from importer.config import TakeoutSettings
from importer.model import Album, DateSource, FileOutcome, MediaItem, Metadata
from importer.state import ItemRecord, TargetRecord


class ActionKind(enum.StrEnum):
    UPLOAD = "upload"
    UPDATE = "update"
    ADD_TO_ALBUMS = "add to albums"
    SKIP = "skip"


@dataclass(frozen=True)
class Action:
    kind: ActionKind
    item: MediaItem
    identity: str
    reason: str
    albums: tuple[Album, ...] = ()
    changed: frozenset[str] = frozenset()
    previous: TargetRecord | None = None
    skip_outcome: FileOutcome = FileOutcome.SKIPPED


def synced_values(metadata: Metadata) -> dict[str, Any]:
    """What a target shows of an item, as JSON values; a later export differing here means
    the user changed it in Google Photos and the target should follow."""
    loc = metadata.edited_location or metadata.location
    return {
        "taken_at": metadata.taken_at.isoformat() if metadata.taken_at else None,
        "location": [loc.latitude, loc.longitude] if loc else None,
        "description": metadata.description,
        "favorite": metadata.favorite,
        "archived": metadata.archived,
    }


def _known(metadata: Metadata, previous: dict[str, Any]) -> dict[str, Any]:
    """This export's values where it knows them (None: it does not). A capture time Google
    did not give (read from the file name, after a damaged sidecar) never replaces one it
    gave before."""
    now = synced_values(metadata)
    if metadata.taken_at_source is not DateSource.SIDECAR and previous.get("taken_at"):
        now["taken_at"] = None
    return now


def synced_after(previous: TargetRecord | None, metadata: Metadata) -> dict[str, Any]:
    """What to remember as synced: this export's values, except that a value it lacks
    keeps the good one an earlier export gave."""
    if previous is None:
        return synced_values(metadata)
    now = _known(metadata, previous.synced)
    return {key: previous.synced.get(key) if value is None else value
            for key, value in now.items()}


def changed_fields(previous: TargetRecord, metadata: Metadata) -> frozenset[str]:
    """Values Google changed since the last import. A value this export lacks is not a
    change: a re-export with a damaged or missing date, place or caption never takes away
    what an earlier one gave (a caption or place removed in Google cannot be told from a
    lost one, and when in doubt we keep)."""
    now = _known(metadata, previous.synced)
    return frozenset(k for k, v in now.items() if v is not None and previous.synced.get(k) != v)


def _excluded(item: MediaItem, settings: TakeoutSettings) -> str | None:
    meta = item.metadata
    if meta.trashed and not settings.include_trashed:
        return "in Google Photos' trash (set takeout.include_trashed to import it)"
    if meta.partner_shared and settings.skip_partner_shared:
        return "shared by a partner (takeout.skip_partner_shared is on)"
    return None


def plan_item(
    item: MediaItem,
    identity: str,
    record: ItemRecord | None,
    target: str,
    settings: TakeoutSettings,
) -> Action:
    excluded = _excluded(item, settings)
    if excluded is not None:
        return Action(ActionKind.SKIP, item, identity, excluded)
    previous = record.on(target) if record else None
    if previous is None or not previous.done:
        why = "new" if previous is None else f"retry after: {previous.error or 'failure'}"
        return Action(ActionKind.UPLOAD, item, identity, why, albums=item.albums)
    missing = tuple(a for a in item.albums if a.key not in previous.albums)
    changed = changed_fields(previous, item.metadata)
    if changed:
        reason = "changed in Google Photos: " + ", ".join(sorted(changed))
        return Action(ActionKind.UPDATE, item, identity, reason, missing, changed, previous)
    if missing:
        reason = "new album(s): " + ", ".join(a.title for a in missing)
        return Action(ActionKind.ADD_TO_ALBUMS, item, identity, reason, missing,
                      previous=previous)
    return Action(ActionKind.SKIP, item, identity, f"imported {previous.at}",
                  previous=previous, skip_outcome=FileOutcome.ALREADY_THERE)
