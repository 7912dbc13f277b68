"""What the state remembers of each finished item (called from the main thread only)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from importer.act import ItemResult
from importer.model import Album, FileOutcome, MediaItem
from importer.plan import Action, ActionKind
from importer.safetext import redact
from importer.state import ItemRecord, State, TargetRecord, now_iso


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
                            archived=meta.archived, synced=synced)
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
    state.put(record.with_target(target, on_target))
    if action.same_as is not None and prepared is not None:
        _complete_other(state, target, action.identity, on_target, action.same_as)


def record_failure(state: State, target: str, action: Action, error: str) -> None:
    """A failed attempt is remembered (for `status`) but never hides an earlier success."""
    record = _base(state, action, None)
    previous = record.on(target)
    if previous is not None and previous.done:
        return
    failed = TargetRecord(outcome=str(FileOutcome.FAILED), at=now_iso(), error=redact(error))
    state.put(record.with_target(target, failed))
