"""What the state remembers of each finished item (called from the main thread only)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from importer.act import ItemResult
from importer.model import FileOutcome
from importer.plan import Action
from importer.state import ItemRecord, State, TargetRecord, now_iso


def _base(state: State, action: Action, source_sha1: str | None) -> ItemRecord:
    record = state.get(action.identity)
    item = action.item
    if record is None:
        return ItemRecord(action.identity, item.file.name, source_sha1, item.metadata.google_url)
    if source_sha1 and record.source_sha1 != source_sha1:
        record = replace(record, source_sha1=source_sha1)
    return record


def record_result(state: State, target: str, result: ItemResult, synced: dict[str, Any]) -> None:
    action, prepared = result.action, result.prepared
    record = _base(state, action, prepared.primary.source_sha1 if prepared else None)
    meta = action.item.metadata
    previous = record.on(target)
    if prepared is None:  # an update of an item imported by an earlier run
        assert previous is not None
        on_target = replace(previous, at=now_iso(), favorite=meta.favorite,
                            archived=meta.archived, synced=synced,
                            remote_id=result.remote_id or previous.remote_id,
                            written_sha1=result.target_sha1 or previous.written_sha1)
    else:
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


def record_failure(state: State, target: str, action: Action, error: str) -> None:
    """A failed attempt is remembered (for `status`) but never hides an earlier success."""
    record = _base(state, action, None)
    previous = record.on(target)
    if previous is not None and previous.done:
        return
    failed = TargetRecord(outcome=str(FileOutcome.FAILED), at=now_iso(), error=error)
    state.put(record.with_target(target, failed))
