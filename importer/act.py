"""Carry out one planned action against a gallery (runs in worker threads).

Every function returns an `ItemResult` instead of raising for item-level problems, so one
bad file never stops the run; only errors that doom every later item (credentials revoked,
target gone) propagate.
"""

from __future__ import annotations

from dataclasses import dataclass

from adapters.base import (
    METADATA_FIELDS,
    AuthError,
    Gallery,
    GalleryError,
    TargetUnavailable,
    UploadStatus,
)
from importer.model import FileOutcome, Metadata, PreparedAsset
from importer.plan import Action

FATAL = (AuthError, TargetUnavailable)


@dataclass(frozen=True)
class ItemResult:
    action: Action
    outcome: FileOutcome
    reason: str = ""
    remote_id: str | None = None
    prepared: PreparedAsset | None = None
    live_video_id: str | None = None


def _has_value(metadata: Metadata, field: str) -> bool:
    return {
        "taken_at": metadata.taken_at is not None,
        "location": metadata.location is not None,
        "description": bool(metadata.description),
    }[field]


def settle(gallery: Gallery, remote_id: str, metadata: Metadata, done: frozenset[str]) -> None:
    """Set favorite, archive and metadata that the upload (or the bytes) did not carry."""
    caps = gallery.capabilities
    if metadata.favorite and caps.favorites and "favorite" not in done:
        gallery.set_favorite(remote_id, True)
    if metadata.archived and caps.archive and "archived" not in done:
        gallery.set_archived(remote_id, True)
    supported = {"taken_at": caps.set_date, "location": caps.set_location,
                 "description": caps.descriptions}
    fields = frozenset(
        f for f in METADATA_FIELDS - done if supported[f] and _has_value(metadata, f)
    )
    if fields:
        gallery.set_metadata(remote_id, metadata, fields)


def send(gallery: Gallery, action: Action, prepared: PreparedAsset,
         existing: tuple[str, str] | None) -> ItemResult:
    """Upload `prepared`, or adopt `existing` (remote id, matching SHA-1) already there."""
    metadata = prepared.item.metadata
    try:
        if existing is not None:
            remote_id, sha1 = existing
            carried = prepared.carried if sha1 == prepared.primary.sha1 else frozenset()
            settle(gallery, remote_id, metadata, carried)
            return ItemResult(action, FileOutcome.ALREADY_THERE, "same bytes already on target",
                              remote_id, prepared)
        result = gallery.upload(prepared)
        settle(gallery, result.remote_id, metadata, result.applied | prepared.carried)
    except FATAL:
        raise
    except GalleryError as exc:
        return ItemResult(action, FileOutcome.FAILED, str(exc), prepared=prepared)
    if result.status is UploadStatus.CREATED:
        return ItemResult(action, FileOutcome.IMPORTED, "", result.remote_id, prepared,
                          result.live_video_id)
    return ItemResult(action, FileOutcome.ALREADY_THERE, "target reported a duplicate",
                      result.remote_id, prepared, result.live_video_id)


def update(gallery: Gallery, action: Action, allowed: frozenset[str]) -> ItemResult:
    """Follow changes made in Google Photos since the last import (only `allowed` fields)."""
    assert action.previous is not None and action.previous.remote_id is not None
    remote_id = action.previous.remote_id
    metadata = action.item.metadata
    caps = gallery.capabilities
    try:
        if "favorite" in action.changed and caps.favorites:
            gallery.set_favorite(remote_id, metadata.favorite)
        if "archived" in action.changed and caps.archive:
            gallery.set_archived(remote_id, metadata.archived)
        fields = frozenset(action.changed & METADATA_FIELDS & allowed)
        if fields:
            gallery.set_metadata(remote_id, metadata, fields)
    except FATAL:
        raise
    except GalleryError as exc:
        return ItemResult(action, FileOutcome.FAILED, str(exc))
    return ItemResult(action, FileOutcome.UPDATED, action.reason, remote_id)
