"""The import run: source -> plan -> act -> record, with bounded parallelism.

The main thread reads the source, plans, batches checksum look-ups and records results;
worker threads prepare bytes (hashing, metadata) and talk to the gallery. Only the main
thread writes the state, and it does so the moment each item finishes, so a killed run
loses at most the items in flight. In-flight work is bounded in items and in bytes (spooled
members on disk, prepared bytes in memory), so memory does not grow with the size of the
export or of its files.

Errors: whatever goes wrong with one item (any exception, expected or not) fails that item
and the run goes on. An error that dooms every later item (`faults.fatal`), a Ctrl-C or
SIGTERM (`interrupt`), or a bug in the main thread's own work stops the run: nothing new
starts, what is in flight finishes and is recorded, the rest is reported as interrupted,
and the cause goes into the report (`RunReport.stopped`) for the command line to name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from functools import partial
from typing import Any

from adapters.base import METADATA_FIELDS, BatchUploader, Gallery
from importer import act, faults
from importer.albumsync import AlbumSync
from importer.config import Settings
from importer.inflight import Claims, known_remote_ids
from importer.interrupt import StopRequest
from importer.jobs import NoProgress, Prepared, Progress, Send, prepare_job
from importer.model import (
    Accounted,
    DateSource,
    FileKind,
    FileOutcome,
    MediaItem,
    PreparedAsset,
    ScanEvent,
)
from importer.plan import Action, ActionKind, after_prepare, plan_for, synced_after
from importer.recording import record_failure, record_result
from importer.report import RunReport
from importer.state import State

CHECK_BATCH = 100
MAX_HELD_BYTES = 1 << 30
"""Bytes of spooled (.tgz) members admitted and not yet finished; past it the main thread
finishes work before it reads on. One item larger than this still goes, alone."""
MEMORY_BUDGET = 64 << 20
"""Prepared bytes held in memory (EXIF-rewritten photos waiting to be sent); past it the
main thread finishes work before it reads on."""

Job = tuple[Action, PreparedAsset]
Ended = tuple[MediaItem, PreparedAsset | None]


class Pipeline:
    """`stop`: the Ctrl-C/SIGTERM request this run obeys (watch mode passes its own flag).
    `incremental`: the export may hold only what changed (watch mode), so an album is taken
    for renamed only when it holds every recorded member of the old one."""

    def __init__(self, gallery: Gallery, state: State, settings: Settings, report: RunReport,
                 progress: Progress | None = None, stop: StopRequest | None = None,
                 incremental: bool = False) -> None:
        self.gallery = gallery
        self.state = state
        self.settings = settings
        self.report = report
        self.progress = progress or NoProgress()
        self.albums = AlbumSync(gallery, state, report, whole_renames=incremental)
        self._interrupt = stop or StopRequest()
        self._source_stop: faults.Stop | None = None
        self._preparers = ThreadPoolExecutor(min(settings.workers, 4), "prepare")
        self._senders = ThreadPoolExecutor(settings.workers, "send")
        self._preparing: dict[Future[Prepared], MediaItem] = {}
        self._sending: dict[Future[Any], Send] = {}
        self._to_check: list[Job] = []
        self._claims: Claims[Job] = Claims()
        self._limit = settings.workers * 2 + CHECK_BATCH
        self._held = 0
        self._held_memory = 0
        self._prefer_google = settings.metadata.google_wins

    # -- driving ---------------------------------------------------------------------------

    def run(self, events: Iterable[ScanEvent]) -> RunReport:
        abandon = False
        try:
            self._run(events)
        except KeyboardInterrupt:  # a second Ctrl-C: leave what is in flight behind
            abandon = True
            self.report.stop(self._interrupt.stop())
            self._abandon()
        finally:
            self._preparers.shutdown(wait=not abandon, cancel_futures=True)
            self._senders.shutdown(wait=not abandon, cancel_futures=True)
        return self.report

    def _run(self, events: Iterable[ScanEvent]) -> None:
        try:
            for event in self._events(events):
                self._guarded(partial(self._take, event),
                              [(event, None)] if isinstance(event, MediaItem) else [])
                while self._busy() and self._over_limits() and not self._stopping():
                    self._step()
            while self._busy():
                self._stopping()  # a Ctrl-C while only the last items are left
                self._step()
            if self.report.stopped is None:
                self._guarded(self.albums.flush, [])
            if self._source_stop is not None:
                self.report.stop(self._source_stop)
        except KeyboardInterrupt:
            raise
        except Exception as exc:  # the main thread's own work failed: stop, keep what is done
            self._halt(faults.fatal(exc) or faults.internal(exc))
            while self._busy():
                self._step()

    def _events(self, events: Iterable[ScanEvent]) -> Iterator[ScanEvent]:
        """The export's events until the run stops. Waiting for the next one may take long
        (listing archives, spooling a big member) and leaves nothing half-done, so a Ctrl-C
        there stops the reading at once."""
        iterator = iter(events)
        while not self._stopping():
            try:
                with self._interrupt.immediate():
                    event = next(iterator, None)
            except KeyboardInterrupt:
                self._halt(self._interrupt.stop())
                return
            except Exception as exc:  # the source failed (Google's grant revoked, a spool
                # disk full): what it gave is still sent and recorded, then the run stops
                self._source_stop = faults.fatal(exc) or faults.internal(exc)
                return
            if event is None:
                return
            yield event

    def _stopping(self) -> bool:
        if self.report.stopped is None and self._interrupt.requested:
            self._halt(self._interrupt.stop())
        return self.report.stopped is not None

    def _busy(self) -> int:
        """Items in flight (a batch upload counts each of its items), bounding memory."""
        return (len(self._preparing) + sum(len(s.jobs) for s in self._sending.values())
                + len(self._to_check) + self._claims.waiting())

    def _over_limits(self) -> bool:
        return (self._busy() >= self._limit or self._held > MAX_HELD_BYTES
                or self._held_memory > MEMORY_BUDGET)

    def _take(self, event: ScanEvent) -> None:
        if isinstance(event, Accounted):
            self.report.add(event.location, event.outcome, event.reason, kind=event.kind)
            self.progress.advance(event.outcome, 0)
        else:
            self._held += event.held_bytes
            identity = event.google_identity
            if identity is None:  # identified by content: hash first, then decide
                self._prepare(event, None)
            else:
                self._dispatch(self._plan(event, identity), None)

    def _plan(self, item: MediaItem, identity: str) -> Action:
        return plan_for(item, identity, self.state, self.gallery.target, self.settings.takeout)

    def _dispatch(self, action: Action, prepared: PreparedAsset | None) -> None:
        if action.kind is ActionKind.SKIP:
            self._finish_file(action.item, action.skip_outcome, action.reason, action.identity,
                              prepared=prepared)
        elif action.kind is ActionKind.UPLOAD:
            if prepared is None:
                self._prepare(action.item, action)
            else:
                self._to_check.append((action, prepared))
        elif action.kind is ActionKind.COMPLETE:
            self._submit_send(act.complete, [(action, prepared)], self.gallery, action,
                              prepared)
        elif action.kind is ActionKind.UPDATE:
            if prepared is None and action.changed & METADATA_FIELDS:
                self._prepare(action.item, action)  # resolved against the file, as at first
            else:
                self._submit_send(act.update, [(action, prepared)], self.gallery, action,
                                  self._allowed_updates(action), prepared)
        else:
            assert action.previous is not None and action.previous.remote_id is not None
            self.albums.queue(action.identity, action.previous.remote_id, action.albums,
                              action.item.albums)
            self._finish_file(action.item, FileOutcome.UPDATED, action.reason, action.identity,
                              prepared=prepared)

    def _allowed_updates(self, action: Action) -> frozenset[str]:
        """Values the file itself provided stay unless the user prefers Google's."""
        assert action.previous is not None
        protected = frozenset(action.previous.from_file) - self._prefer_google
        return METADATA_FIELDS - protected

    # -- jobs ------------------------------------------------------------------------------

    def _prepare(self, item: MediaItem, action: Action | None) -> None:
        future = self._preparers.submit(prepare_job, item, action, self.settings.metadata)
        self._preparing[future] = item

    def _submit_send(self, fn: Callable[..., Any], jobs: list[tuple[Action, Any]],
                     *args: Any, tokens: list[int] | None = None) -> None:
        self._sending[self._senders.submit(fn, *args)] = Send(jobs, tokens or [])

    def _ready_to_check(self) -> int:
        """How many prepared items to look up now (0: keep collecting). A full batch, or all
        that is left; or, while senders sit idle, whole upload batches so far (batches grow
        by themselves once the senders are busy)."""
        waiting = len(self._to_check)
        if waiting >= CHECK_BATCH or (waiting and not self._preparing):
            return min(waiting, CHECK_BATCH)
        if sum(len(s.jobs) for s in self._sending.values()) < self.settings.workers:
            return waiting - waiting % self._upload_batch()
        return 0

    def _step(self) -> None:
        ready = 0 if self.report.stopped else self._ready_to_check()
        if ready:
            self._check_batch(ready)
            return
        pending: set[Future[Any]] = {*self._preparing, *self._sending}
        if not pending:  # stopped: what waits will not be sent
            self._drop_waiting()
            return
        done, _ = wait(pending, return_when=FIRST_COMPLETED)
        for future in done:
            if future in self._preparing:
                self._collect_prepared(future)
            else:
                self._collect_sent(future)

    def _collect_prepared(self, future: Future[Prepared]) -> None:
        item = self._preparing.pop(future)
        if future.cancelled():
            self._interrupted(item, None)
            return
        try:
            job = future.result()
        except Exception as exc:  # fatal (no space for a temporary copy) or a bug
            self._halt(faults.fatal(exc) or faults.internal(exc))
            self._interrupted(item, None)
            return
        if job.asset is not None:
            self._held_memory += job.asset.held_bytes
        if self.report.stopped is not None:
            self._interrupted(item, job.asset)
            return
        self._guarded(partial(self._prepared, job), [(item, job.asset)])

    def _collect_sent(self, future: Future[Any]) -> None:
        send = self._sending.pop(future)
        for token in send.tokens:
            self._to_check[:0] = self._claims.release(token)
        if future.cancelled():
            for action, asset in send.jobs:
                self._interrupted(action.item, asset, action.identity)
            return
        try:
            result = future.result()
            results = result if isinstance(result, list) else [result]
        except Exception as exc:  # act functions catch item errors; this one is fatal
            stop = faults.fatal(exc)
            if stop is not None:
                self._halt(stop)
                for action, asset in send.jobs:
                    self._interrupted(action.item, asset, action.identity)
                return
            results = [act.ItemResult(action, FileOutcome.FAILED, faults.describe(exc),
                                      prepared=asset) for action, asset in send.jobs]
        for one in results:
            self._guarded(partial(self._sent, one), [(one.action.item, one.prepared)])

    def _prepared(self, job: Prepared) -> None:
        action = job.action
        if job.asset is None and action is not None and action.kind is ActionKind.UPDATE:
            # the file cannot be read now: follow Google's change, zoned by its place alone
            self._submit_send(act.update, [(action, None)], self.gallery, action,
                              self._allowed_updates(action), None)
        elif job.asset is None:
            self._finish_file(job.item, job.outcome, job.error, None)
            if action is not None and job.outcome is FileOutcome.FAILED:
                record_failure(self.state, self.gallery.target, action, job.error)
        else:
            action = action or self._plan(job.item, job.asset.identity)
            self._dispatch(after_prepare(action, job.asset, self.state, self.gallery.target),
                           job.asset)

    def _check_batch(self, size: int) -> None:
        """Our state first, then one bulk look-up on the target for the rest."""
        batch, self._to_check = self._to_check[:size], self._to_check[size:]
        known = self._look_up(batch)
        if known is None:  # the look-up stopped the run
            for action, asset in batch:
                self._interrupted(action.item, asset, action.identity)
            return
        uploads: list[tuple[Job, int]] = []
        batch_size = self._upload_batch()
        for action, asset in batch:
            if self._claims.wait_if_claimed(asset.primary.checksums, (action, asset)):
                continue  # the same bytes are being sent: look again once they are recorded
            match = next(((known[s], s) for s in asset.primary.checksums if s in known), None)
            if match is not None:
                self._submit_send(act.send, [(action, asset)], self.gallery, action, asset,
                                  match, self._recorded_owner(action.identity, match[1]))
                continue
            token = self._claims.claim(asset.primary.checksums, (action, asset))
            if token is None:
                continue  # the same bytes are being sent: look again once they are there
            if batch_size > 1:
                uploads.append(((action, asset), token))
            else:
                self._submit_send(act.send, [(action, asset)], self.gallery, action, asset,
                                  None, tokens=[token])
        for start in range(0, len(uploads), batch_size):
            chunk = uploads[start:start + batch_size]
            jobs: list[Job] = [job for job, _ in chunk]
            self._submit_send(act.send_batch, list(jobs), self.gallery, jobs,
                              tokens=[token for _, token in chunk])

    def _look_up(self, batch: list[Job]) -> dict[str, str] | None:
        """Remote ids of the batch's checksums the state or the target knows; None when
        the target's answer stops the run."""
        known, error = known_remote_ids(self.state, self.gallery, [a for _, a in batch])
        stop = faults.fatal(error) if error is not None else None
        if stop is not None:
            self._halt(stop)
            return None
        if error is not None:  # uploads still dedupe by checksum on the target
            self.report.notes.append("checksum look-up failed, uploading anyway: "
                                     + faults.describe(error))
        return known

    def _recorded_owner(self, identity: str, sha1: str) -> str | None:
        """Another item the state records on the target with these bytes (see act.send)."""
        owner = self.state.find_by_checksum(self.gallery.target, sha1)
        return None if owner == identity else owner

    def _upload_batch(self) -> int:
        size = self.gallery.capabilities.upload_batch
        return size if size > 1 and isinstance(self.gallery, BatchUploader) else 1

    def _sent(self, result: act.ItemResult) -> None:
        action = result.action
        if result.outcome is FileOutcome.FAILED:
            record_failure(self.state, self.gallery.target, action, result.reason)
        else:
            synced = synced_after(action.previous, action.item.metadata)
            record_result(self.state, self.gallery.target, result, synced)
            if result.remote_id is not None and action.albums:
                self.albums.queue(action.identity, result.remote_id, action.albums,
                                  action.item.albums)
        prepared = result.prepared
        if prepared is not None:
            self.report.metadata(action.item.file.location, prepared.conflicts,
                                 prepared.metadata_notes)
        sent = result.outcome in (FileOutcome.IMPORTED, FileOutcome.ALREADY_THERE)
        size = prepared.primary.size if prepared is not None and sent else 0
        if result.outcome is FileOutcome.IMPORTED:
            self.report.bytes_sent += size
        dated = prepared.item.metadata.taken_at_source if prepared else None
        self._finish_file(action.item, result.outcome, result.reason, action.identity, size,
                          dated, prepared)

    def _finish_file(self, item: MediaItem, outcome: FileOutcome, reason: str,
                     identity: str | None, size: int = 0, dated: DateSource | None = None,
                     prepared: PreparedAsset | None = None) -> None:
        """The one place an item ends (sent, skipped, failed, interrupted): report,
        release, count."""
        self._held -= item.held_bytes
        if prepared is not None:
            self._held_memory -= prepared.held_bytes
        item.release()
        self.report.add(item.file.location, outcome, reason, identity, kind=item.kind,
                        dated=dated or item.metadata.taken_at_source)
        if item.live_video is not None:
            self.report.add(item.live_video.location, FileOutcome.LIVE_PART,
                            f"motion part of {item.file.name} ({outcome})", identity,
                            kind=FileKind.LIVE_PART)
        self.progress.advance(outcome, size)

    # -- stopping --------------------------------------------------------------------------

    def _guarded(self, work: Callable[[], None], ends: list[Ended]) -> None:
        """Main-thread work on items: if it fails, the run stops (the state or the report
        may be what failed) and the items are reported as not done."""
        try:
            work()
        except KeyboardInterrupt:
            raise
        except Exception as exc:
            self._halt(faults.fatal(exc) or faults.internal(exc))
            for item, asset in ends:
                self._interrupted(item, asset)

    def _halt(self, stop: faults.Stop) -> None:
        """Start nothing new: queued jobs are cancelled, running ones finish and are
        recorded, items waiting for a look-up or an upload slot are reported as not done."""
        self.report.stop(stop)
        for future in [*self._preparing, *self._sending]:
            future.cancel()
        self._drop_waiting()

    def _drop_waiting(self) -> None:
        waiting, self._to_check = [*self._to_check, *self._claims.drop_waiting()], []
        for action, asset in waiting:
            self._interrupted(action.item, asset, action.identity)

    def _abandon(self) -> None:
        """Report everything in flight as not done, without waiting for it."""
        for future, item in list(self._preparing.items()):
            future.cancel()
            self._interrupted(item, None)
        for future, send in list(self._sending.items()):
            future.cancel()
            for action, asset in send.jobs:
                self._interrupted(action.item, asset, action.identity)
        self._preparing, self._sending = {}, {}
        self._drop_waiting()

    def _interrupted(self, item: MediaItem, prepared: PreparedAsset | None,
                     identity: str | None = None) -> None:
        cause = self.report.stopped.cause if self.report.stopped else "the run stopped"
        try:
            self._finish_file(item, FileOutcome.INTERRUPTED, f"not done: {cause}", identity,
                              prepared=prepared)
        except Exception:  # the report itself may be what failed (no space left)
            item.release()
