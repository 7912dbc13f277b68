"""What the state remembers of each finished item (called from the main thread only).

One file, one record: an item imported without its sidecar is known by its content
(`sha1:<source sha1>:<name>`); when its sidecar arrives in a later export it is the same
Google item under its URL. Its bytes are found by checksum and the stored copy gets Google's
values (moved to its date folder in the folder library); recording then merges the content
record into the Google one. The other way round, a copy without a sidecar of an item
already recorded under its URL is skipped by the planner (`linked_owner`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from importer.act import ItemResult
from importer.model import FileOutcome
from importer.plan import Action
from importer.prepare import content_sha1
from importer.state import ItemRecord, State, TargetRecord, now_iso


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
                            written_sha1=result.target_sha1 or previous.written_sha1,
                            live_video_id=result.live_video_id or previous.live_video_id)
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
    merged = _content_record(state, target, result)
    if merged is not None:  # it takes over the albums the earlier copy was recorded in
        old_albums = merged.targets[target].albums
        on_target = replace(on_target, albums=tuple(dict.fromkeys((*old_albums,
                                                                   *on_target.albums))))
    state.put(record.with_target(target, on_target))
    if merged is not None:
        _retire(state, target, merged)


def record_failure(state: State, target: str, action: Action, error: str) -> None:
    """A failed attempt is remembered (for `status`) but never hides an earlier success."""
    record = _base(state, action, None)
    previous = record.on(target)
    if previous is not None and previous.done:
        return
    failed = TargetRecord(outcome=str(FileOutcome.FAILED), at=now_iso(), error=error)
    state.put(record.with_target(target, failed))
