"""Where every item of a run ends (sent, skipped, failed, interrupted): its line in the
report, its step of the progress, and the bytes it held, released. It also counts those
bytes while the item is in flight, so the pipeline can bound them."""

from __future__ import annotations

from collections.abc import Iterable

from importer.act import ItemResult
from importer.jobs import Progress
from importer.model import (
    Accounted,
    DateSource,
    FileKind,
    FileOutcome,
    MediaItem,
    PreparedAsset,
)
from importer.plan import Action
from importer.report import RunReport


class Ledger:
    def __init__(self, report: RunReport, progress: Progress) -> None:
        self.report = report
        self.progress = progress
        self.held = 0
        """Bytes of spooled (.tgz) members admitted and not yet finished."""
        self.held_memory = 0
        """Prepared bytes held in memory (EXIF-rewritten photos waiting to be sent)."""

    def account(self, event: Accounted) -> None:
        """A file of the export that is no item (a sidecar, a JSON, a damaged member)."""
        self.report.add(event.location, event.outcome, event.reason, kind=event.kind)
        self.progress.advance(event.outcome, 0)

    def admit(self, item: MediaItem) -> None:
        self.held += item.held_bytes

    def hold(self, asset: PreparedAsset) -> None:
        self.held_memory += asset.held_bytes

    def finish(self, item: MediaItem, outcome: FileOutcome, reason: str,
               identity: str | None, size: int = 0, dated: DateSource | None = None,
               prepared: PreparedAsset | None = None) -> None:
        """The one place an item ends: report, release, count."""
        self.held -= item.held_bytes
        if prepared is not None:
            self.held_memory -= prepared.held_bytes
        item.release()
        self.report.add(item.file.location, outcome, reason, identity, kind=item.kind,
                        dated=dated or item.metadata.taken_at_source)
        if item.live_video is not None:
            self.report.add(item.live_video.location, FileOutcome.LIVE_PART,
                            f"motion part of {item.file.name} ({outcome})", identity,
                            kind=FileKind.LIVE_PART)
        self.progress.advance(outcome, size)

    def sent(self, result: ItemResult) -> None:
        """An item a sender is done with (recorded in the state by then)."""
        action, prepared = result.action, result.prepared
        if prepared is not None:
            self.report.metadata(action.item.file.location, prepared.conflicts,
                                 prepared.metadata_notes)
        sent = result.outcome in (FileOutcome.IMPORTED, FileOutcome.ALREADY_THERE)
        size = prepared.primary.size if prepared is not None and sent else 0
        if result.outcome is FileOutcome.IMPORTED:
            self.report.bytes_sent += size
        dated = prepared.item.metadata.taken_at_source if prepared else None
        self.finish(action.item, result.outcome, result.reason, action.identity, size, dated,
                    prepared)

    def interrupted(self, item: MediaItem, prepared: PreparedAsset | None,
                    identity: str | None = None) -> None:
        """An item the run stopped before it was done (the next run does it)."""
        cause = self.report.stopped.cause if self.report.stopped else "the run stopped"
        try:
            self.finish(item, FileOutcome.INTERRUPTED, f"not done: {cause}", identity,
                        prepared=prepared)
        except Exception:  # the report itself may be what failed (no space left)
            item.release()

    def interrupted_jobs(self, jobs: Iterable[tuple[Action, PreparedAsset | None]]) -> None:
        for action, asset in jobs:
            self.interrupted(action.item, asset, action.identity)
