"""The import run: source -> plan -> act -> record, with bounded parallelism.

The main thread reads the source, plans and records results; worker threads prepare bytes
(hashing, metadata) and talk to the gallery. Only the main thread writes the state, and it
does so the moment each item finishes, so a killed run loses at most the items in flight.
In-flight work is bounded in items and in bytes (spooled members on disk, prepared bytes
in memory), so memory does not grow with the size of the export or of its files.

Speed (issue 14): while reading the source, the main thread handles whatever work has
finished, so uploads start with the first hashed item; checksum look-ups (`lookups`) and
album jobs (`albumsync`) run in the background; flag changes go in bulk (`flagsync`).

Errors: whatever goes wrong with one item (any exception) fails that item, in an album job
that album, and the run goes on. An error that dooms every later item (`faults.fatal`),
wherever it happens, a Ctrl-C or SIGTERM (`interrupt`), or a bug in the main thread's own
work stops the run: nothing new starts, what is in flight finishes and is recorded, the
rest is reported as interrupted, and the cause goes into the report (`RunReport.stopped`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from functools import partial
from typing import Any

from adapters.base import METADATA_FIELDS, FlagsInBulk, Gallery
from importer import act, faults
from importer.albumsync import AlbumSync
from importer.config import Settings
from importer.flagsync import FlagBatch, FlagQueue, flag_changes, send_flags
from importer.interrupt import StopRequest
from importer.jobs import NoProgress, Prepared, Progress, Send, prepare_job
from importer.ledger import Ledger
from importer.lookups import Answer, Job, Lookups, upload_batch
from importer.model import FileOutcome, MediaItem, PreparedAsset, ScanEvent
from importer.plan import Action, ActionKind, after_prepare, plan_for, synced_after
from importer.recording import record_failure, record_result, remember_albums
from importer.report import RunReport
from importer.state import State

COLLECT = 16
"""Items in flight: every sender busy with a queue behind it (4 items per sender, or a
batch per sender for galleries that import in batches) plus this many being collected for
the next look-up. More would only hold more prepared bytes (issue 14: 32 instead of 108
items for 4 workers took peak memory from 140 to 101 MB, no slower)."""
MAX_HELD_BYTES = 1 << 30
"""Bytes of spooled (.tgz) members admitted and not yet finished; past it the main thread
finishes work before it reads on. One item larger than this still goes, alone."""
MEMORY_BUDGET = 64 << 20
"""Prepared bytes held in memory (EXIF-rewritten photos waiting to be sent); past it the
main thread finishes work before it reads on."""

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
        self.ledger = Ledger(report, progress or NoProgress())
        self.albums = AlbumSync(gallery, state, report, settings.workers,
                                whole_renames=incremental)
        self.flags = FlagQueue() if isinstance(gallery, FlagsInBulk) else None
        self._interrupt = stop or StopRequest()
        self._source_stop: faults.Stop | None = None
        self._uploads = max(settings.workers, gallery.capabilities.uploads_at_once)
        self._preparers = ThreadPoolExecutor(min(settings.workers, 4), "prepare")
        self._senders = ThreadPoolExecutor(self._uploads, "send")
        self._lookups = Lookups(state, gallery)
        self._preparing: dict[Future[Prepared], MediaItem] = {}
        self._sending: dict[Future[Any], Send] = {}
        self._limit = self._uploads * max(4, upload_batch(self.gallery)) + COLLECT
        self._draining = False  # the source is read to its end
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
            self._lookups.close(abandon)
            self.albums.close(abandon)
        return self.report

    def _run(self, events: Iterable[ScanEvent]) -> None:
        try:
            for event in self._events(events):
                self._guarded(partial(self._take, event),
                              [(event, None)] if isinstance(event, MediaItem) else [])
                self._step(block=False)  # start look-ups and uploads as soon as possible
                while self._busy() and self._over_limits() and not self._stopping():
                    self._step()
            self._draining = True
            self._send_flags(self.flags.take() if self.flags else None)  # what waits
            while self._busy():
                self._stopping()  # a Ctrl-C while only the last items are left
                self._step()
            if self.report.stopped is None:
                self._guarded(partial(self.albums.flush, self._stopping), [])
            self._guarded(self.albums.settle, [])
            if self._source_stop is not None:
                self.report.stop(self._source_stop)
        except KeyboardInterrupt:
            raise
        except Exception as exc:  # the main thread's own work failed: stop, keep what is done
            self._halt(faults.fatal(exc) or faults.internal(exc))
            while self._busy():
                self._step()
            self._guarded(self.albums.settle, [])

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
        """Items in flight (a batch upload counts each of its items), bounding memory.
        Flag changes waiting for their batch hold no bytes and do not count."""
        return (len(self._preparing) + sum(len(s.jobs) for s in self._sending.values())
                + self._lookups.count())

    def _over_limits(self) -> bool:
        return (self._busy() >= self._limit or self.ledger.held > MAX_HELD_BYTES
                or self.ledger.held_memory > MEMORY_BUDGET)

    def _take(self, event: ScanEvent) -> None:
        if not isinstance(event, MediaItem):
            self.ledger.account(event)
            return
        self.ledger.admit(event)
        identity = event.google_identity
        if identity is None:  # identified by content: hash first, then decide
            self._prepare(event, None)
        else:
            self._dispatch(self._plan(event, identity), None)

    def _plan(self, item: MediaItem, identity: str) -> Action:
        return plan_for(item, identity, self.state, self.gallery.target, self.settings.takeout)

    def _dispatch(self, action: Action, prepared: PreparedAsset | None) -> None:
        if action.kind is ActionKind.SKIP:
            self.ledger.finish(action.item, action.skip_outcome, action.reason,
                               action.identity, prepared=prepared)
        elif action.kind is ActionKind.UPLOAD:
            if prepared is None:
                self._prepare(action.item, action)
            else:
                self._lookups.queued.append((action, prepared))
        elif action.kind is ActionKind.COMPLETE:
            self._submit_send(act.complete, [(action, prepared)], self.gallery, action,
                              prepared)
        elif action.kind is ActionKind.UPDATE:
            self._update(action, prepared)
        else:
            assert action.previous is not None and action.previous.remote_id is not None
            if self.gallery.capabilities.albums:  # no record is written on this path
                remember_albums(self.state, action.identity, action.item.albums)
            self.albums.queue(action.identity, action.previous.remote_id, action.albums,
                              action.item.albums)
            self.ledger.finish(action.item, FileOutcome.UPDATED, action.reason,
                               action.identity, prepared=prepared)

    def _update(self, action: Action, prepared: PreparedAsset | None) -> None:
        if prepared is None and action.changed & METADATA_FIELDS:
            self._prepare(action.item, action)  # resolved against the file, as at first
            return
        caps = self.gallery.capabilities
        flags = flag_changes(action, caps.favorites, caps.archive)
        # Changes of flags alone wait for a bulk request; not for items holding bytes
        # (released only when the item is finished), nor once nothing more is coming.
        if (self.flags is not None and flags is not None and prepared is None
                and not action.item.held_bytes and not self._draining):
            self._send_flags(self.flags.add(action, flags))
        else:
            self._submit_send(act.update, [(action, prepared)], self.gallery, action,
                              self._allowed_updates(action), prepared)

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
                     *args: Any) -> None:
        self._submit(Send(fn, args, jobs))

    def _submit(self, send: Send) -> None:
        self._sending[self._senders.submit(send.fn, *send.args)] = send

    def _send_flags(self, batch: FlagBatch | None) -> None:
        if batch is not None:
            self._submit_send(send_flags, [(a, None) for a in batch.actions], self.gallery,
                              batch)

    def _step(self, block: bool = True) -> None:
        """Start a look-up if one is due, else handle finished jobs: at least one (waiting
        for it), or with `block=False` only those already done (while reading the source,
        so the first uploads start before the in-flight limit is reached)."""
        if self.report.stopped is None:
            self._guarded(self.albums.poll, [])
        ready = 0 if self.report.stopped else self._lookups.ready(
            bool(self._preparing), sum(len(s.jobs) for s in self._sending.values()),
            self._uploads, upload_batch(self.gallery), self._draining or not self._sending)
        if ready:
            self._check_batch(ready)
            return
        pending: set[Future[Any]] = {*self._preparing, *self._sending, *self._lookups.running}
        if not pending:
            if self.report.stopped is not None:  # what waits will not be sent
                self._drop_waiting()
            return
        done, _ = wait(pending, timeout=None if block else 0, return_when=FIRST_COMPLETED)
        for future in done:
            if future in self._preparing:
                self._collect_prepared(future)
            elif future in self._sending:
                self._collect_sent(future)
            else:
                self._looked_up(future)

    def _collect_prepared(self, future: Future[Prepared]) -> None:
        item = self._preparing.pop(future)
        if future.cancelled():
            self.ledger.interrupted(item, None)
            return
        try:
            job = future.result()
        except Exception as exc:  # fatal (no space for a temporary copy) or a bug
            self._halt(faults.fatal(exc) or faults.internal(exc))
            self.ledger.interrupted(item, None)
            return
        if job.asset is not None:
            self.ledger.hold(job.asset)
        if self.report.stopped is not None:
            self.ledger.interrupted(item, job.asset)
            return
        self._guarded(partial(self._prepared, job), [(item, job.asset)])

    def _collect_sent(self, future: Future[Any]) -> None:
        send = self._sending.pop(future)
        self._lookups.release(send.tokens)
        if future.cancelled():
            self.ledger.interrupted_jobs(send.jobs)
            return
        try:
            result = future.result()
            results = result if isinstance(result, list) else [result]
        except Exception as exc:  # act functions catch item errors; this one is fatal
            stop = faults.fatal(exc)
            if stop is not None:
                self._halt(stop)
                self.ledger.interrupted_jobs(send.jobs)
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
            self.ledger.finish(job.item, job.outcome, job.error, None)
            if action is not None and job.outcome is FileOutcome.FAILED:
                record_failure(self.state, self.gallery.target, action, job.error)
        else:
            action = action or self._plan(job.item, job.asset.identity)
            self._dispatch(after_prepare(action, job.asset, self.state, self.gallery.target),
                           job.asset)

    # -- look-ups --------------------------------------------------------------------------

    def _check_batch(self, size: int) -> None:
        batch = self._lookups.take(size)
        self._guarded(partial(self._look_up, batch), _ends(batch))

    def _look_up(self, batch: list[Job]) -> None:
        """Our state first, then the target in the background for the rest."""
        if not self._lookups.start(batch):  # the state knew enough: no request
            self._route(batch, {})

    def _looked_up(self, future: Future[Answer]) -> None:
        batch, answer = self._lookups.finished(future)
        if answer is None or self.report.stopped is not None:
            self.ledger.interrupted_jobs(batch)
            return
        known, error = answer
        stop = faults.fatal(error) if error is not None else None
        if stop is not None:
            self._halt(stop)
            self.ledger.interrupted_jobs(batch)
            return
        if error is not None:  # uploads still dedupe by checksum on the target
            self.report.notes.append("checksum look-up failed, uploading anyway: "
                                     + faults.describe(error))
        self._guarded(partial(self._route, batch, known), _ends(batch))

    def _route(self, batch: list[Job], known: Mapping[str, str]) -> None:
        for send in self._lookups.route(batch, known):
            self._submit(send)

    # -- results ---------------------------------------------------------------------------

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
        self.ledger.sent(result)

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
                self.ledger.interrupted(item, asset)

    def _halt(self, stop: faults.Stop) -> None:
        """Start nothing new: queued jobs are cancelled, running ones finish and are
        recorded, items waiting for a look-up, an upload slot or a flag batch are reported
        as not done."""
        self.report.stop(stop)
        for future in [*self._preparing, *self._sending, *self._lookups.running]:
            future.cancel()
        self._drop_waiting()

    def _drop_waiting(self) -> None:
        self.ledger.interrupted_jobs(self._lookups.drop_waiting())
        if self.flags is not None:
            self.ledger.interrupted_jobs([(action, None) for action in self.flags.drop()])

    def _abandon(self) -> None:
        """Report everything in flight as not done, without waiting for it."""
        for future, item in list(self._preparing.items()):
            future.cancel()
            self.ledger.interrupted(item, None)
        for future, send in list(self._sending.items()):
            future.cancel()
            self.ledger.interrupted_jobs(send.jobs)
        self.ledger.interrupted_jobs(self._lookups.cancel())
        self._preparing, self._sending = {}, {}
        self._drop_waiting()


def _ends(batch: list[Job]) -> list[Ended]:
    return [(action.item, asset) for action, asset in batch]
