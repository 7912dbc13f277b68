"""What the state remembers of each finished item (called from the main thread only).

One file, one record: an item imported without its sidecar is known by its content
(`sha1:<source sha1>:<name>`); when its sidecar arrives in a later export it is the same
Google item under its URL. Its bytes are found by checksum and the stored copy gets Google's
values (moved to its date folder in the folder library); recording then merges the content
record into the Google one. The other way round, a copy without a sidecar of an item
already recorded under its URL is skipped by the planner (`plan.linked_owner`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from importer.act import ItemResult
from importer.model import Album, FileOutcome, MediaItem
from importer.plan import Action, ActionKind
from importer.prepare import content_sha1
from importer.safetext import redact
from importer.state import ItemRecord, State, TargetRecord, now_iso


def _content_record(state: State, target: str, result: ItemResult) -> ItemRecord | None:
    """The content identity's record whose bytes a Google item was just found by."""
    prepared = result.prepared
    if (prepared is None or result.outcome is not FileOutcome.ALREADY_THERE
            or content_sha1(result.action.identity) is not None):
        return None
    other = state.find_by_checksum(target, prepared.primary.source_sha1)
    if other is None or other == result.action.identity or content_sha1(other) is None:
        return None
    old = state.get(other)
    return old if old is not None and old.on(target) is not None else None


def _retire(state: State, target: str, old: ItemRecord) -> None:
    """The content record merged into the Google one: forget it on `target`."""
    rest = {t: r for t, r in old.targets.items() if t != target}
    if rest:
        state.put(replace(old, targets=rest))
    else:
        state.delete(old.identity)


def _base(state: State, action: Action, source_sha1: str | None) -> ItemRecord:
    record = state.get(action.identity)
    item = action.item
    if record is None:
        meta = item.metadata
        record = ItemRecord(
            action.identity, item.file.name, source_sha1, meta.google_url,
            origin="picker" if item.picker_id else None,
            taken_at=meta.taken_at.isoformat() if meta.taken_at else None,
            same_as=action.same_as)
    if source_sha1 and record.source_sha1 != source_sha1:
        record = replace(record, source_sha1=source_sha1)
    if action.same_as and record.same_as != action.same_as:
        record = replace(record, same_as=action.same_as)
    return _with_google_facts(record, item)


def _with_google_facts(record: ItemRecord, item: MediaItem) -> ItemRecord:
    """What reclaim needs from the latest export: the name Google shows, the bytes it
    stores, and the albums it puts the item in."""
    size = item.file.size + (item.live_video.size if item.live_video else 0)
    albums = tuple(sorted(a.key for a in item.albums))
    title = item.metadata.title or record.title
    if (record.title, record.size, record.google_albums) == (title, size, albums):
        return record
    return replace(record, title=title, size=size, google_albums=albums)


def remember_albums(state: State, identity: str, albums: Sequence[Album]) -> None:
    """Album keys an item is in, for one already imported whose albums changed."""
    record = state.get(identity)
    keys = tuple(sorted(a.key for a in albums))
    if record is not None and record.google_albums != keys:
        state.put(replace(record, google_albums=keys))


def _complete_other(state: State, target: str, identity: str, on_target: TargetRecord,
                    other_identity: str) -> None:
    """The Picker record of a photo a Takeout item completed: it now names the same copy
    on the target (new path and bytes, for `verify`) and the Takeout record."""
    other = state.get(other_identity)
    previous = other.on(target) if other is not None else None
    if other is None or previous is None:
        return
    moved = replace(previous, remote_id=on_target.remote_id,
                    written_sha1=on_target.written_sha1,
                    live_video_id=on_target.live_video_id or previous.live_video_id)
    state.put(replace(other, same_as=identity).with_target(target, moved))


def record_result(state: State, target: str, result: ItemResult, synced: dict[str, Any]) -> None:
    action, prepared = result.action, result.prepared
    record = _base(state, action, prepared.primary.source_sha1 if prepared else None)
    meta = action.item.metadata
    previous = record.on(target)
    if action.kind is ActionKind.UPDATE:  # an item imported by an earlier run
        assert previous is not None
        on_target = replace(previous, at=now_iso(), favorite=meta.favorite,
                            archived=meta.archived, synced=synced,
                            remote_id=result.remote_id or previous.remote_id,
                            written_sha1=result.target_sha1 or previous.written_sha1,
                            live_video_id=result.live_video_id or previous.live_video_id)
    else:
        assert prepared is not None
        on_target = TargetRecord(
            outcome=str(result.outcome),
            at=now_iso(),
            remote_id=result.remote_id,
            written_sha1=result.target_sha1 or prepared.primary.sha1,
            favorite=meta.favorite,
            archived=meta.archived,
            synced=synced,
            live_video_id=result.live_video_id,
            live_video_sha1=prepared.live_video.sha1 if prepared.live_video else None,
            from_file=tuple(sorted(prepared.from_file)),
        )
    merged = _content_record(state, target, result)
    if merged is not None:  # it takes over the albums the earlier copy was recorded in
        old_albums = merged.targets[target].albums
        on_target = replace(on_target, albums=tuple(dict.fromkeys((*old_albums,
                                                                   *on_target.albums))))
    state.put(record.with_target(target, on_target))
    if action.same_as is not None and prepared is not None:
        _complete_other(state, target, action.identity, on_target, action.same_as)
    if merged is not None:
        _retire(state, target, merged)


def record_failure(state: State, target: str, action: Action, error: str) -> None:
    """A failed attempt is remembered (for `status`) but never hides an earlier success."""
    record = _base(state, action, None)
    previous = record.on(target)
    if previous is not None and previous.done:
        return
    failed = TargetRecord(outcome=str(FileOutcome.FAILED), at=now_iso(), error=redact(error))
    state.put(record.with_target(target, failed))
