"""Decide, then act: one action per item, from the item and what the state remembers.

Pure: no I/O, so dry runs print exactly what a real run would do, and every rule here is
testable with plain values.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from importer.config import TakeoutSettings
from importer.model import Album, FileOutcome, MediaItem, Metadata
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
    owner: str | None = None,
) -> Action:
    """`owner`: for an item that came without its sidecar (a content identity), the
    identity an earlier run recorded the same bytes under on `target`."""
    excluded = _excluded(item, settings)
    if excluded is not None:
        return Action(ActionKind.SKIP, item, identity, excluded)
    previous = record.on(target) if record else None
    if previous is None and owner is not None and owner != identity:
        # Imported with its sidecar already: this copy without one has nothing to add,
        # and its values (from the file alone) must not replace Google's.
        return Action(ActionKind.SKIP, item, identity,
                      f"already imported with its sidecar as {owner}",
                      skip_outcome=FileOutcome.ALREADY_THERE)
    if previous is None or not previous.done:
        why = "new" if previous is None else f"retry after: {previous.error or 'failure'}"
        return Action(ActionKind.UPLOAD, item, identity, why, albums=item.albums)
    missing = tuple(a for a in item.albums if a.key not in previous.albums)
    now = synced_values(item.metadata)
    changed = frozenset(k for k, v in now.items() if previous.synced.get(k) != v)
    if changed:
        reason = "changed in Google Photos: " + ", ".join(sorted(changed))
        return Action(ActionKind.UPDATE, item, identity, reason, missing, changed, previous)
    if missing:
        reason = "new album(s): " + ", ".join(a.title for a in missing)
        return Action(ActionKind.ADD_TO_ALBUMS, item, identity, reason, missing,
                      previous=previous)
    return Action(ActionKind.SKIP, item, identity, f"imported {previous.at}",
                  previous=previous, skip_outcome=FileOutcome.ALREADY_THERE)
