"""Prepared uploads on their way to a sender: waiting for a checksum look-up, being looked
up, or waiting for an upload of the same bytes to finish.

Look-ups run one at a time in the background, so the main thread goes on reading,
preparing and recording while the target answers (issue 14: uploads start with the first
hashed item, and batches grow by themselves while the senders are busy). Our state is
asked first, on the main thread; only checksums it does not know go to the target.

When the answer is back, each item is routed (`route`): bytes the state or the target
holds are adopted; the others claim their checksums (`inflight.Claims`) and are uploaded,
or wait when an upload of the same bytes is in flight. The state is asked again at that
moment, since an upload recorded while the look-up ran is not in the target's answer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor

from adapters.base import BatchUploader, Gallery
from importer import act
from importer.inflight import Claims
from importer.jobs import Send
from importer.model import PreparedAsset
from importer.plan import Action
from importer.state import State

CHECK_BATCH = 100
"""Most items in one look-up."""

Job = tuple[Action, PreparedAsset]
Answer = tuple[Mapping[str, str], Exception | None]


def look_up(gallery: Gallery, checksums: Sequence[str]) -> Answer:
    """Runs in the look-up thread: the target's bulk look-up, or the error it ended in
    (the main thread judges it: a fatal one stops the run, any other only costs the
    look-up, since uploads still dedupe by checksum on the target)."""
    try:
        return dict(gallery.find_existing(checksums)), None
    except Exception as exc:
        return {}, exc


def upload_batch(gallery: Gallery) -> int:
    """Items per upload call: 1, or the batch of a gallery that imports in batches."""
    size = gallery.capabilities.upload_batch
    return size if size > 1 and isinstance(gallery, BatchUploader) else 1


class Lookups:
    def __init__(self, state: State, gallery: Gallery) -> None:
        self.state = state
        self.gallery = gallery
        self.queued: list[Job] = []
        self.running: dict[Future[Answer], list[Job]] = {}
        self.claims: Claims[Job] = Claims()
        self._pool = ThreadPoolExecutor(1, "lookup")

    def count(self) -> int:
        """Items here, in any of the three places."""
        running = sum(len(batch) for batch in self.running.values())
        return len(self.queued) + running + self.claims.waiting()

    def ready(self, preparing: bool, sending: int, senders: int, batch: int,
              last: bool) -> int:
        """How many queued items to look up now (0: keep collecting). One look-up at a
        time, and it goes: with a full batch; with all that is left once nothing more is
        being prepared and `last` (the source is read, or no sender has work: nothing else
        would move the run on); or when the uploads queued run low (fewer than two rounds
        of the `senders`), so the answer is back before they run dry, in whole upload
        batches of `batch` items. Batches grow by themselves while the senders are busy."""
        waiting = len(self.queued)
        if not waiting or self.running:
            return 0
        if waiting >= CHECK_BATCH or (last and not preparing):
            return min(waiting, CHECK_BATCH)
        if sending < 2 * senders:
            return waiting - waiting % batch
        return 0

    def take(self, size: int) -> list[Job]:
        """The first `size` queued items, to look up."""
        batch, self.queued = self.queued[:size], self.queued[size:]
        return batch

    def start(self, batch: list[Job]) -> bool:
        """Ask the target, in the background, for the checksums of `batch` that our state
        does not know. False when there is nothing to ask: route the batch at once."""
        target = self.gallery.target
        unknown = [sha1 for _, asset in batch for sha1 in asset.primary.checksums
                   if self.state.remote_by_checksum(target, sha1) is None]
        if not unknown or not self.gallery.capabilities.checksum_lookup:
            return False
        self.running[self._pool.submit(look_up, self.gallery, unknown)] = batch
        return True

    def finished(self, future: Future[Answer]) -> tuple[list[Job], Answer | None]:
        """A look-up that ended: its batch, and the answer (None: it was cancelled)."""
        batch = self.running.pop(future)
        return batch, None if future.cancelled() else future.result()

    def route(self, batch: list[Job], answer: Mapping[str, str]) -> list[Send]:
        """The send jobs for a looked-up batch: adopt what the state or the target holds,
        upload the rest (in whole batches to galleries that import in batches); items
        whose bytes are being sent wait for them, and are looked up again then."""
        sends: list[Send] = []
        uploads: list[tuple[Job, int]] = []
        for job in batch:
            action, asset = job
            if self.claims.wait_if_claimed(asset.primary.checksums, job):
                continue  # the target may show those bytes, but whose they are is known
                # only once that upload is recorded
            match = self._match(asset)
            if match is None:
                match = next(((answer[s], s) for s in asset.primary.checksums if s in answer),
                             None)
            if match is not None:
                owner = self._recorded_owner(action.identity, match[1])
                sends.append(Send(act.send, (self.gallery, action, asset, match, owner), [job]))
            else:
                uploads.append((job, self.claims.claim(asset.primary.checksums)))
        size = upload_batch(self.gallery)
        if size == 1:
            return sends + [Send(act.send, (self.gallery, *job, None), [job], [token])
                            for job, token in uploads]
        for start in range(0, len(uploads), size):
            jobs: list[Job] = [job for job, _ in uploads[start:start + size]]
            sends.append(Send(act.send_batch, (self.gallery, jobs), list(jobs),
                              [token for _, token in uploads[start:start + size]]))
        return sends

    def _match(self, asset: PreparedAsset) -> tuple[str, str] | None:
        """(remote id, SHA-1) of these bytes in our state, as it is now."""
        for sha1 in asset.primary.checksums:
            remote_id = self.state.remote_by_checksum(self.gallery.target, sha1)
            if remote_id is not None:
                return remote_id, sha1
        return None

    def _recorded_owner(self, identity: str, sha1: str) -> str | None:
        """Another item the state records on the target with these bytes (see act.send)."""
        owner = self.state.find_by_checksum(self.gallery.target, sha1)
        return None if owner == identity else owner

    def release(self, tokens: Sequence[int]) -> None:
        """Uploads ended (done or failed): what waited for them is looked up again first."""
        for token in tokens:
            self.queued[:0] = self.claims.release(token)

    def drop_waiting(self) -> list[Job]:
        """Items queued or waiting for a claim (the run stops: none of them will be sent).
        A running look-up keeps its batch until it ends."""
        waiting, self.queued = [*self.queued, *self.claims.drop_waiting()], []
        return waiting

    def cancel(self) -> list[Job]:
        """Forget running look-ups without waiting for them (their items are not done)."""
        for future in self.running:
            future.cancel()
        jobs = [job for batch in self.running.values() for job in batch]
        self.running = {}
        return jobs

    def close(self, abandon: bool = False) -> None:
        self._pool.shutdown(wait=not abandon, cancel_futures=True)
