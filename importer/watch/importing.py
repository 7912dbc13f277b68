"""Import one complete export from the inbox, check it on the target, and put it away.

The import is the `import` command's pipeline with a stop flag: on SIGTERM the items in
flight finish and are recorded, and the export is not marked done, so the next start picks
it up where it stopped (what is recorded is skipped). Each export's run report is written
to `reports/` beside the state.
"""

from __future__ import annotations

import io
import shutil
import threading
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from rich.console import Console

from adapters.base import Gallery
from importer.admin import verify_items
from importer.config import Settings
from importer.interrupt import FlagStop
from importer.model import DateSource, FileKind, FileOutcome
from importer.pipeline import Pipeline
from importer.progressfile import ProgressFile, TeeProgress, progress_path
from importer.report import RunReport, record_run, take_target_stats
from importer.sources.takeout import TakeoutSource
from importer.state import State
from importer.watch.log import EventLog

IN_GALLERY = frozenset({FileOutcome.IMPORTED, FileOutcome.ALREADY_THERE, FileOutcome.UPDATED})
PROBLEMS_LOGGED = 20


class ExportReport(RunReport):
    """A run report that also remembers which items the export holds (for verify and
    for deleting the export only once every one of them is verified on the target)."""

    def __init__(self, target: str) -> None:
        super().__init__(target)
        self.identities: set[str] = set()

    def add(self, file: str, outcome: FileOutcome, reason: str = "",
            identity: str | None = None, *, kind: FileKind | None = None,
            dated: DateSource | None = None) -> None:
        super().add(file, outcome, reason, identity, kind=kind, dated=dated)
        if identity is not None and outcome in IN_GALLERY:
            self.identities.add(identity)


class CountingProgress:
    """Counts finished files for the status file (no bar: watch writes logs)."""

    def __init__(self) -> None:
        self.files = 0

    def advance(self, outcome: FileOutcome, size: int) -> None:
        self.files += 1


class ImportStopped(Exception):
    """The import stopped before its end for a cause of its own (target gone, credentials
    refused, disk full): the cycle fails with that one line, and the export stays undone."""


@dataclass
class Imported:
    report: ExportReport
    stopped: bool
    report_file: Path | None = None
    counts: dict[str, int] = field(default_factory=dict)


def import_parts(paths: Sequence[Path], settings: Settings, state: State, gallery: Gallery,
                 stop: threading.Event, progress: CountingProgress) -> Imported:
    """Raises ImportStopped when the run stopped for a cause other than `stop`; what
    finished before is recorded either way."""
    source = TakeoutSource(list(paths), settings.takeout)
    report = ExportReport(gallery.target)
    live = ProgressFile(progress_path(state.path, gallery.target), gallery.target,
                        lambda: source.expected_files)
    try:
        with live:
            Pipeline(gallery, state, settings, report, TeeProgress(progress, live),
                     FlagStop(stop), incremental=True).run(source.scan())
        report.export = source.stats.as_dict()
    finally:
        source.close()
        take_target_stats(report, gallery.stats)
        report.finish()
        record_run(state, report)
    if report.stopped is not None and not stop.is_set():
        report.close()
        raise ImportStopped(report.stopped.cause)
    counts = {str(k): v for k, v in sorted(report.counts.items())}
    return Imported(report, stop.is_set(), counts=counts)


def log_problems(report: RunReport, log: EventLog, export: str) -> None:
    failed = [p for p in report.problems if p.outcome is FileOutcome.FAILED]
    for entry in failed[:PROBLEMS_LOGGED]:
        log.warning("item.failed", f"{export}: {entry.file}: {entry.reason}",
                    export=export, file=entry.file)
    if len(failed) > PROBLEMS_LOGGED:
        log.warning("item.failed", f"{export}: … and {len(failed) - PROBLEMS_LOGGED} more "
                                   "failed item(s); see the run report", export=export)
    for album in report.album_problems:
        log.warning("album.failed", f"{export}: album {album.album!r}: {album.reason}",
                    export=export, album=album.album)
    for note in report.notes:
        log.info("import.note", f"{export}: {note}", export=export)


def verify_export(state: State, gallery: Gallery, identities: Collection[str],
                  log: EventLog, export: str) -> bool:
    """Check this export's items on the target now; True when every one is there."""
    missing = [i for i in identities if not state.done_on(i, gallery.target)]
    buffer = io.StringIO()
    bad = verify_items(state, gallery.target, gallery.verify,
                       Console(file=buffer, width=200, highlight=False), only=identities)
    for line in buffer.getvalue().splitlines():
        if line.strip():
            log.info("verify", f"{export}: {line.strip()}", export=export)
    if missing:
        log.warning("verify", f"{export}: {len(missing)} item(s) of it are not imported",
                    export=export)
    return bad == 0 and not missing


def move_to_done(inbox: Path, files: Sequence[PurePosixPath]) -> list[str]:
    """Move the export's parts to `inbox/done/`, keeping sub-folders; a name already taken
    there gets a counter. Returns where each went (relative to the inbox)."""
    moved = []
    for relative in files:
        target = inbox / "done" / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        counter = 1
        while target.exists():
            target = target.with_name(f"{relative.stem} ({counter}){relative.suffix}")
            counter += 1
        shutil.move(str(inbox / relative), str(target))
        moved.append(target.relative_to(inbox).as_posix())
    return moved


def write_report(report: RunReport, folder: Path, export: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    stamp = report.started.replace(":", "").replace("+0000", "Z")
    path = folder / f"{stamp} {export.replace('/', '_')}.json"
    report.write(path)
    return path
