"""Decide, then act: one action per item, from the item and what the state remembers.

`plan_item` and `same_photo_action` are pure: no I/O, so dry runs print exactly what a real
run would do, and every rule here is testable with plain values. `plan_for` and
`after_prepare` only read the state to feed them.

The same photo can come twice: picked through the Picker API (a download without the
location, a transcoded video) and later in a Takeout (the original, with its metadata).
It stays one item on the target: the Takeout completes the Picker's copy (`COMPLETE`),
and a Picker item the target already holds from Takeout is not downloaded at all.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from typing import Any

from importer.config import TakeoutSettings
from importer.model import Album, DateSource, FileOutcome, MediaItem, Metadata, PreparedAsset
from importer.prepare import content_sha1
from importer.state import ItemRecord, State, TargetRecord

PICKER = "picker"


class ActionKind(enum.StrEnum):
    UPLOAD = "upload"
    UPDATE = "update"
    ADD_TO_ALBUMS = "add to albums"
    COMPLETE = "complete"
    """A Takeout item whose photo the target holds from the Picker: its original and
    metadata complete that copy (the folder library swaps the file; galleries get the
    metadata and albums, never a second asset)."""
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
    same_as: str | None = None
    """COMPLETE: identity of the Picker record whose copy this item completes."""


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
    changed = changed_fields(previous, item.metadata)
    if item.picker_id is not None:  # the Picker knows no flags, place or caption to follow
        changed = frozenset()
    if changed:
        reason = "changed in Google Photos: " + ", ".join(sorted(changed))
        return Action(ActionKind.UPDATE, item, identity, reason, missing, changed, previous)
    if missing:
        reason = "new album(s): " + ", ".join(a.title for a in missing)
        return Action(ActionKind.ADD_TO_ALBUMS, item, identity, reason, missing,
                      previous=previous)
    return Action(ActionKind.SKIP, item, identity, f"imported {previous.at}",
                  previous=previous, skip_outcome=FileOutcome.ALREADY_THERE)


def _counting_recorded(item: MediaItem, previous: TargetRecord) -> MediaItem:
    """A Picker item says nothing about its other albums: count the recorded ones as
    current, so adding it to one more album never looks like an album renamed in Google."""
    known = {a.key for a in item.albums}
    kept = tuple(Album(key, key) for key in previous.albums if key not in known)
    return replace(item, albums=(*item.albums, *kept)) if kept else item


def same_photo_action(action: Action, other: ItemRecord, target: str, how: str) -> Action:
    """`action` (an upload) for an item whose photo `target` already holds, imported from
    the other source (`other`, matched by `how`)."""
    on_target = other.on(target)
    assert on_target is not None and on_target.done
    item = action.item
    if item.picker_id is None:
        return Action(ActionKind.COMPLETE, item, action.identity,
                      f"same photo as the Picker import of {other.name} ({how})",
                      albums=item.albums, previous=on_target, same_as=other.identity)
    missing = tuple(a for a in item.albums if a.key not in on_target.albums)
    why = f"already imported from Takeout as {other.name} ({how}); not downloaded"
    if missing:
        return Action(ActionKind.ADD_TO_ALBUMS, _counting_recorded(item, on_target),
                      other.identity, why + "; new album(s): "
                      + ", ".join(a.title for a in missing), missing, previous=on_target)
    return Action(ActionKind.SKIP, item, other.identity, why, previous=on_target,
                  skip_outcome=FileOutcome.ALREADY_THERE)


def _names(item: MediaItem) -> tuple[str | None, ...]:
    return item.file.name, item.metadata.title


def linked_owner(state: State, target: str, identity: str,
                 record: ItemRecord | None) -> str | None:
    """For a content identity not yet on `target`: the Google identity its bytes are
    recorded under there, if any."""
    sha1 = content_sha1(identity)
    on_target = record.on(target) if record else None
    if sha1 is None or (on_target is not None and on_target.done):
        return None
    owner = state.find_by_checksum(target, sha1)
    return owner if owner is not None and content_sha1(owner) is None else None


def plan_for(item: MediaItem, identity: str, state: State, target: str,
             settings: TakeoutSettings) -> Action:
    """The plan with what the state knows: the item's record and, for a Picker item not yet
    on the target, a Takeout record of the same photo (same capture second and name)."""
    record = state.get(identity)
    if item.picker_id is not None and record is not None and record.on(target) is not None:
        item = _counting_recorded(item, record.targets[target])
    owner = linked_owner(state, target, identity, record)
    action = plan_item(item, identity, record, target, settings, owner)
    taken = item.metadata.taken_at
    if action.kind is not ActionKind.UPLOAD or item.picker_id is None or taken is None:
        return action
    other = state.same_photo(target, taken, _names(item), origin=None)
    if other is None:
        return action
    return same_photo_action(action, other, target, "same capture time and name")


def after_prepare(action: Action, asset: PreparedAsset | None, state: State, target: str
                  ) -> Action:
    """A Takeout item about to be uploaded whose photo the target holds from the Picker:
    found by the original's bytes, else by capture second and name (all a dry run, which
    reads no bytes, can check)."""
    item = action.item
    if action.kind is not ActionKind.UPLOAD or item.picker_id is not None:
        return action
    for sha1 in asset.primary.checksums if asset is not None else ():
        identity = state.find_by_checksum(target, sha1)
        other = state.get(identity) if identity is not None else None
        if other is not None and other.origin == PICKER:
            return same_photo_action(action, other, target, "same bytes")
    taken = item.metadata.taken_at
    other = state.same_photo(target, taken, _names(item), PICKER) if taken else None
    if other is None:
        return action
    return same_photo_action(action, other, target, "same capture time and name")
