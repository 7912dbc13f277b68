"""The import run: source -> plan -> act -> record, with bounded parallelism.

The main thread reads the source, plans, batches checksum look-ups and records results;
worker threads prepare bytes (hashing, metadata) and talk to the gallery. Only the main
thread writes the state, and it does so the moment each item finishes, so a killed run
loses at most the items in flight. In-flight work is bounded, so memory does not grow with
the size of the export.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, Protocol

from adapters.base import (
    METADATA_FIELDS,
    BatchUploader,
    Gallery,
    GalleryError,
)
from importer import act
from importer.albumsync import AlbumSync
from importer.config import MetadataSettings, Settings
from importer.model import (
    Accounted,
    DateSource,
    FileKind,
    FileOutcome,
    MediaItem,
    PreparedAsset,
    ScanEvent,
)
from importer.plan import Action, ActionKind, plan_item, synced_values
from importer.prepare import PrepareError, prepare
from importer.recording import linked_owner, record_failure, record_result
from importer.report import RunReport
from importer.state import State

CHECK_BATCH = 100
MAX_HELD_BYTES = 1 << 30
"""Bytes of spooled (.tgz) members admitted and not yet finished; past it the main thread
finishes work before it reads on. One item larger than this still goes, alone."""


class Progress(Protocol):
    def advance(self, outcome: FileOutcome, size: int) -> None: ...

    def expect(self, total: int | None) -> None: ...


class NoProgress:
    def advance(self, outcome: FileOutcome, size: int) -> None:
        pass

    def expect(self, total: int | None) -> None:
        pass


@dataclass(frozen=True)
class _Prepared:
    """A prepare job's answer: the asset, or why it could not be prepared."""

    item: MediaItem
    action: Action | None
    asset: PreparedAsset | None
    error: str = ""


class Pipeline:
    def __init__(self, gallery: Gallery, state: State, settings: Settings, report: RunReport,
                 progress: Progress | None = None) -> None:
        self.gallery = gallery
        self.state = state
        self.settings = settings
        self.report = report
        self.progress = progress or NoProgress()
        self.albums = AlbumSync(gallery, state, report)
        self._preparers = ThreadPoolExecutor(min(settings.workers, 4), "prepare")
        self._senders = ThreadPoolExecutor(settings.workers, "send")
        self._preparing: set[Future[_Prepared]] = set()
        self._sending: dict[Future[Any], int] = {}  # future -> items it carries
        self._to_check: list[tuple[Action, PreparedAsset]] = []
        self._limit = settings.workers * 2 + CHECK_BATCH
        self._held = 0
        self._prefer_google = settings.metadata.google_wins

    # -- driving ---------------------------------------------------------------------------

    def run(self, events: Iterable[ScanEvent]) -> RunReport:
        try:
            for event in events:
                if isinstance(event, Accounted):
                    self._account(event)
                    continue
                self._admit(event)
                while self._busy() and (self._busy() >= self._limit
                                        or self._held > MAX_HELD_BYTES):
                    self._step()
            while self._busy():
                self._step()
            self.albums.flush()
        finally:
            self._preparers.shutdown(wait=True, cancel_futures=True)
            self._senders.shutdown(wait=True, cancel_futures=True)
        return self.report

    def _busy(self) -> int:
        """Items in flight (a batch upload counts each of its items), bounding memory."""
        return len(self._preparing) + sum(self._sending.values()) + len(self._to_check)

    def _account(self, event: Accounted) -> None:
        self.report.add(event.location, event.outcome, event.reason, kind=event.kind)
        self.progress.advance(event.outcome, 0)

    def _admit(self, item: MediaItem) -> None:
        self._held += item.held_bytes
        identity = item.google_identity
        if identity is None:  # identified by content: hash first, then decide
            self._prepare(item, None)
        else:
            self._dispatch(self._plan(item, identity), None)

    def _plan(self, item: MediaItem, identity: str) -> Action:
        record = self.state.get(identity)
        owner = linked_owner(self.state, self.gallery.target, identity, record)
        return plan_item(item, identity, record, self.gallery.target, self.settings.takeout,
                         owner)

    def _dispatch(self, action: Action, prepared: PreparedAsset | None) -> None:
        if action.kind is ActionKind.SKIP:
            self._finish_file(action.item, action.skip_outcome, action.reason, action.identity)
        elif action.kind is ActionKind.UPLOAD:
            if prepared is None:
                self._prepare(action.item, action)
            else:
                self._to_check.append((action, prepared))
        elif action.kind is ActionKind.UPDATE:
            allowed = self._allowed_updates(action)
            self._submit_send(act.update, self.gallery, action, allowed)
        else:
            assert action.previous is not None and action.previous.remote_id is not None
            self.albums.queue(action.identity, action.previous.remote_id, action.albums,
                              action.item.albums)
            self._finish_file(action.item, FileOutcome.UPDATED, action.reason, action.identity)

    def _allowed_updates(self, action: Action) -> frozenset[str]:
        """Values the file itself provided stay unless the user prefers Google's."""
        assert action.previous is not None
        protected = frozenset(action.previous.from_file) - self._prefer_google
        return METADATA_FIELDS - protected

    # -- jobs ------------------------------------------------------------------------------

    def _prepare(self, item: MediaItem, action: Action | None) -> None:
        future = self._preparers.submit(_prepare_job, item, action, self.settings.metadata)
        self._preparing.add(future)

    def _submit_send(self, fn: Callable[..., Any], *args: Any, weight: int = 1) -> None:
        self._sending[self._senders.submit(fn, *args)] = weight

    def _ready_to_check(self) -> int:
        """How many prepared items to look up now (0: keep collecting). A full batch, or all
        that is left; or, while senders sit idle, whole upload batches so far (batches grow
        by themselves once the senders are busy)."""
        waiting = len(self._to_check)
        if waiting >= CHECK_BATCH or (waiting and not self._preparing):
            return min(waiting, CHECK_BATCH)
        if sum(self._sending.values()) < self.settings.workers:
            return waiting - waiting % self._upload_batch()
        return 0

    def _step(self) -> None:
        ready = self._ready_to_check()
        if ready:
            self._check_batch(ready)
            return
        pending: set[Future[Any]] = {*self._preparing, *self._sending}
        done, _ = wait(pending, return_when=FIRST_COMPLETED)
        for future in done:
            if future in self._preparing:
                self._preparing.discard(future)
                self._prepared(future.result())
            else:
                del self._sending[future]
                result = future.result()
                for one in result if isinstance(result, list) else [result]:
                    self._sent(one)

    def _prepared(self, job: _Prepared) -> None:
        if job.asset is None:
            self._finish_file(job.item, FileOutcome.FAILED, job.error, None)
            if job.action is not None:
                record_failure(self.state, self.gallery.target, job.action, job.error)
            return
        self._dispatch(job.action or self._plan(job.item, job.asset.identity), job.asset)

    def _check_batch(self, size: int) -> None:
        """Our state first, then one bulk look-up on the target for the rest."""
        batch, self._to_check = self._to_check[:size], self._to_check[size:]
        target = self.gallery.target
        known: dict[str, str] = {}
        unknown: list[str] = []
        for _, asset in batch:
            for sha1 in asset.primary.checksums:
                remote_id = self.state.remote_by_checksum(target, sha1)
                if remote_id is not None:
                    known[sha1] = remote_id
                else:
                    unknown.append(sha1)
        if unknown and self.gallery.capabilities.checksum_lookup:
            try:
                known.update(self.gallery.find_existing(unknown))
            except GalleryError as exc:  # uploads still dedupe by checksum on the target
                self.report.notes.append(f"checksum look-up failed, uploading anyway: {exc}")
        uploads: list[tuple[Action, PreparedAsset]] = []
        batch_size = self._upload_batch()
        for action, asset in batch:
            match = next(((known[s], s) for s in asset.primary.checksums if s in known), None)
            if match is None and batch_size > 1:
                uploads.append((action, asset))
            else:
                self._submit_send(act.send, self.gallery, action, asset, match)
        for start in range(0, len(uploads), batch_size):
            chunk = uploads[start:start + batch_size]
            self._submit_send(act.send_batch, self.gallery, chunk, weight=len(chunk))

    def _upload_batch(self) -> int:
        size = self.gallery.capabilities.upload_batch
        return size if size > 1 and isinstance(self.gallery, BatchUploader) else 1

    def _sent(self, result: act.ItemResult) -> None:
        action = result.action
        if result.outcome is FileOutcome.FAILED:
            record_failure(self.state, self.gallery.target, action, result.reason)
        else:
            synced = synced_values(action.item.metadata)
            record_result(self.state, self.gallery.target, result, synced)
            if result.remote_id is not None and action.albums:
                self.albums.queue(action.identity, result.remote_id, action.albums,
                                  action.item.albums)
        if result.prepared is not None:
            self.report.metadata(action.item.file.location, result.prepared.conflicts,
                                 result.prepared.metadata_notes)
        size = result.prepared.primary.size if result.prepared else 0
        if result.outcome is FileOutcome.IMPORTED:
            self.report.bytes_sent += size
        dated = result.prepared.item.metadata.taken_at_source if result.prepared else None
        self._finish_file(action.item, result.outcome, result.reason, action.identity, size,
                          dated)

    def _finish_file(self, item: MediaItem, outcome: FileOutcome, reason: str,
                     identity: str | None, size: int = 0,
                     dated: DateSource | None = None) -> None:
        """The one place an item ends (sent, skipped or failed): report, release, count."""
        self.report.add(item.file.location, outcome, reason, identity, kind=item.kind,
                        dated=dated or item.metadata.taken_at_source)
        if item.live_video is not None:
            self.report.add(item.live_video.location, FileOutcome.LIVE_PART,
                            f"motion part of {item.file.name} ({outcome})", identity,
                            kind=FileKind.LIVE_PART)
        self._held -= item.held_bytes
        item.release()
        self.progress.advance(outcome, size)


def _prepare_job(item: MediaItem, action: Action | None,
                 settings: MetadataSettings) -> _Prepared:
    try:
        identity = action.identity if action else None
        return _Prepared(item, action, prepare(item, identity, settings=settings))
    except PrepareError as exc:
        return _Prepared(item, action, None, str(exc))
