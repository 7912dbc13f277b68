"""Carry out one planned action against a gallery (runs in worker threads).

Every function returns an `ItemResult` instead of raising for item-level problems, so one
bad file never stops the run: a `GalleryError`, and just as well an unexpected exception from
an adapter (a malformed server answer, a KeyError, an OSError...). Only errors that doom
every later item (credentials revoked, target gone, disk full; see `faults`) propagate.
"""

from __future__ import annotations

from dataclasses import dataclass

from adapters.base import (
    METADATA_FIELDS,
    BatchUploader,
    Changes,
    ChangesAtOnce,
    Gallery,
    GalleryError,
    Replaces,
    Rewritten,
    UploadResult,
    UploadStatus,
)
from importer.faults import describe, item_error
from importer.metadata.resolve import resolve_without_file
from importer.model import FileOutcome, Metadata, PreparedAsset
from importer.plan import Action
from importer.prepare import content_sha1


@dataclass(frozen=True)
class ItemResult:
    action: Action
    outcome: FileOutcome
    reason: str = ""
    remote_id: str | None = None
    prepared: PreparedAsset | None = None
    live_video_id: str | None = None
    target_sha1: str | None = None
    """SHA-1 of the bytes the target holds: ours, or the original it already had."""


def _has_value(metadata: Metadata, field: str) -> bool:
    return {
        "taken_at": metadata.taken_at is not None,
        "location": metadata.location is not None,
        "description": bool(metadata.description),
    }[field]


def apply(gallery: Gallery, remote_id: str, changes: Changes) -> Rewritten | None:
    """Set `changes` on the gallery: in one request where it can (a gallery, which keeps
    no values in the stored file), else setter by setter; a target that rewrote (or moved)
    the stored file says where it is now."""
    if not changes:
        return None
    if isinstance(gallery, ChangesAtOnce):
        gallery.apply_changes(remote_id, changes)
        return None
    if changes.favorite is not None:
        gallery.set_favorite(remote_id, changes.favorite)
    if changes.archived is not None:
        gallery.set_archived(remote_id, changes.archived)
    if changes.fields:
        return gallery.set_metadata(remote_id, changes.metadata, changes.fields)
    return None


def settle(gallery: Gallery, remote_id: str, metadata: Metadata,
           done: frozenset[str]) -> Rewritten | None:
    """Set favorite, archive and metadata that the upload (or the bytes) did not carry;
    a target that rewrote (or moved) the stored file says where it is now."""
    caps = gallery.capabilities
    supported = {"taken_at": caps.set_date, "location": caps.set_location,
                 "description": caps.descriptions}
    fields = frozenset(
        f for f in METADATA_FIELDS - done if supported[f] and _has_value(metadata, f)
    )
    favorite = metadata.favorite and caps.favorites and "favorite" not in done
    archived = metadata.archived and caps.archive and "archived" not in done
    return apply(gallery, remote_id, Changes(metadata, fields, True if favorite else None,
                                             True if archived else None))


def failed(action: Action, prepared: PreparedAsset | None, exc: Exception) -> ItemResult:
    """The item's failure for `exc`; an error that must stop the run is raised again."""
    return ItemResult(action, FileOutcome.FAILED, describe(item_error(exc)), prepared=prepared)


def send(gallery: Gallery, action: Action, prepared: PreparedAsset,
         existing: tuple[str, str] | None, owner: str | None = None) -> ItemResult:
    """Upload `prepared`, or adopt `existing` (remote id, matching SHA-1) already there.
    `owner`: the item our state records those bytes under. Another Google item (a photo
    uploaded twice to Google) keeps its values (one file cannot carry two dates) and this
    one is recorded beside it; the same photo stored earlier without its sidecar gets
    Google's values now, whatever its bytes already carry."""
    if existing is not None and owner is not None and content_sha1(owner) is None:
        return ItemResult(action, FileOutcome.ALREADY_THERE,
                          f"same bytes as {owner}, already on target (its values kept)",
                          existing[0], prepared, target_sha1=existing[1])
    if existing is not None:
        return _adopt(gallery, action, prepared, *existing, sidecar_arrived=owner is not None)
    try:
        result: UploadResult | GalleryError = gallery.upload(prepared)
    except Exception as exc:
        result = item_error(exc)
    return after_upload(gallery, action, prepared, result)


def send_batch(gallery: Gallery, jobs: list[tuple[Action, PreparedAsset]]) -> list[ItemResult]:
    """Upload many items in one call (targets that import in batches), then settle each."""
    assert isinstance(gallery, BatchUploader)
    try:
        outcomes = list(gallery.upload_many([asset for _, asset in jobs]))
    except Exception as exc:
        outcomes = [item_error(exc)] * len(jobs)
    if len(outcomes) != len(jobs):
        wrong = GalleryError(f"the target answered {len(outcomes)} outcome(s) for "
                             f"{len(jobs)} item(s)")
        outcomes = [wrong] * len(jobs)
    return [after_upload(gallery, action, asset, outcome)
            for (action, asset), outcome in zip(jobs, outcomes, strict=True)]


def _adopt(gallery: Gallery, action: Action, prepared: PreparedAsset, remote_id: str,
           sha1: str, sidecar_arrived: bool = False) -> ItemResult:
    """The target already holds these bytes: give that copy what Google knew."""
    # Only our own written bytes carry our values, and an XMP sidecar never reached it.
    ours = sha1 == prepared.primary.sha1 and prepared.primary.xmp is None
    try:
        rewritten = settle(gallery, remote_id, prepared.item.metadata,
                           prepared.carried if ours and not sidecar_arrived else frozenset())
    except Exception as exc:
        return failed(action, prepared, exc)
    video = None
    if rewritten is not None:
        remote_id, sha1, video = rewritten.remote_id, rewritten.sha1, rewritten.live_video_id
    return ItemResult(action, FileOutcome.ALREADY_THERE, "same bytes already on target",
                      remote_id, prepared, video, target_sha1=sha1)


def after_upload(gallery: Gallery, action: Action, prepared: PreparedAsset,
                 outcome: UploadResult | GalleryError) -> ItemResult:
    """Settle what the upload did not apply, and say what became of the item."""
    if isinstance(outcome, GalleryError):
        return ItemResult(action, FileOutcome.FAILED, describe(outcome), prepared=prepared)
    try:
        rewritten = settle(gallery, outcome.remote_id, prepared.item.metadata,
                           outcome.applied | prepared.carried)
    except Exception as exc:
        return failed(action, prepared, exc)
    remote_id = rewritten.remote_id if rewritten else outcome.remote_id
    sha1 = rewritten.sha1 if rewritten else None
    video = (rewritten.live_video_id if rewritten else None) or outcome.live_video_id
    if outcome.status is UploadStatus.CREATED:
        return ItemResult(action, FileOutcome.IMPORTED, outcome.note, remote_id, prepared,
                          video, sha1)
    return ItemResult(action, FileOutcome.ALREADY_THERE,
                      outcome.note or "target reported a duplicate", remote_id, prepared,
                      video, sha1)


def update(gallery: Gallery, action: Action, allowed: frozenset[str],
           prepared: PreparedAsset | None = None) -> ItemResult:
    """Follow changes made in Google Photos since the last import (only `allowed` fields),
    with the values resolved as at the first import: against the file when it was read
    (`prepared`: its own offset, else the place's time zone), else by the place alone."""
    assert action.previous is not None and action.previous.remote_id is not None
    remote_id = action.previous.remote_id
    metadata = prepared.item.metadata if prepared is not None else resolve_without_file(
        action.item.metadata)
    caps = gallery.capabilities
    favorite = metadata.favorite if "favorite" in action.changed and caps.favorites else None
    archived = metadata.archived if "archived" in action.changed and caps.archive else None
    fields = frozenset(f for f in action.changed & METADATA_FIELDS & allowed
                       if _has_value(metadata, f))
    try:
        rewritten = apply(gallery, remote_id, Changes(metadata, fields, favorite, archived))
    except Exception as exc:
        return failed(action, prepared, exc)
    if rewritten is not None:
        return ItemResult(action, FileOutcome.UPDATED, action.reason, rewritten.remote_id,
                          prepared, rewritten.live_video_id, rewritten.sha1)
    return ItemResult(action, FileOutcome.UPDATED, action.reason, remote_id, prepared)


def complete(gallery: Gallery, action: Action, prepared: PreparedAsset) -> ItemResult:
    """A Takeout item whose photo the target holds from the Picker (see plan.COMPLETE): a
    target that can swaps in the original; any other gets Google's metadata set on the
    copy it has. The albums follow as for any item."""
    previous = action.previous
    assert previous is not None and previous.remote_id is not None
    metadata = prepared.item.metadata
    try:
        if isinstance(gallery, Replaces):
            placed = gallery.replace(previous.remote_id, prepared)
            rewritten = settle(gallery, placed.remote_id, metadata,
                               placed.applied | prepared.carried)
            remote_id = rewritten.remote_id if rewritten else placed.remote_id
            return ItemResult(action, FileOutcome.UPDATED, f"{action.reason}: the Takeout "
                              "original replaced the Picker copy", remote_id, prepared,
                              placed.live_video_id, rewritten.sha1 if rewritten else None)
        settle(gallery, previous.remote_id, metadata, frozenset())
    except Exception as exc:
        return failed(action, prepared, exc)
    return ItemResult(action, FileOutcome.UPDATED, f"duplicate: {action.reason}; Takeout "
                      "metadata added to it, no second asset", previous.remote_id, prepared,
                      previous.live_video_id, target_sha1=previous.written_sha1)
