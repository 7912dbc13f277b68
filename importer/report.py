"""The run report: per-file outcomes, collected instead of raised.

A 500k-file export must not hold half a million entries in memory, so entries stream to a
spool file and only counts and the problems (skipped, failed, unreadable, unmatched) stay
in memory for the summary. `write` assembles the JSON report from the spool.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from importer import faults
from importer.faults import EXIT_FAILED, EXIT_OK, Stop
from importer.model import DateSource, FileKind, FileOutcome, MetadataConflict
from importer.safetext import redact
from importer.state import now_iso

if TYPE_CHECKING:
    from importer.state import State

PROBLEMS = frozenset({
    FileOutcome.SKIPPED, FileOutcome.FAILED, FileOutcome.UNREADABLE, FileOutcome.UNMATCHED_JSON,
    FileOutcome.INTERRUPTED,
})


@dataclass(frozen=True)
class FileEntry:
    """One file of the export: what became of it (`outcome`), what it was (`kind`) and,
    for an item's main file, where its capture time came from (`dated`)."""

    file: str
    outcome: FileOutcome
    reason: str = ""
    identity: str | None = None
    kind: FileKind | None = None
    dated: DateSource | None = None


@dataclass(frozen=True)
class AlbumProblem:
    album: str
    reason: str


@dataclass(frozen=True)
class ConflictEntry:
    """The file's own metadata and Google's disagreed; `winner`'s value was used."""

    file: str
    field: str
    file_value: str
    google_value: str
    winner: str


@dataclass(frozen=True)
class MetadataNote:
    """A file whose own metadata was damaged or could not be rewritten safely."""

    file: str
    note: str


class RunReport:
    def __init__(self, target: str, *, dry_run: bool = False) -> None:
        self.target = target
        self.dry_run = dry_run
        self.started = now_iso()
        self.finished: str | None = None
        self.counts: Counter[FileOutcome] = Counter()
        self.kinds: Counter[FileKind] = Counter()
        self.dated: Counter[DateSource] = Counter()
        self.export: dict[str, int] = {}
        """The source's own totals (files, media, JSON used, …), to check the report adds up."""
        self.problems: list[FileEntry] = []
        self.album_problems: list[AlbumProblem] = []
        self.conflicts: list[ConflictEntry] = []
        self.metadata_notes: list[MetadataNote] = []
        self.notes: list[str] = []
        self.run_problems: list[str] = []
        """Failures outside any one item (closing the target, recording the run)."""
        self.stopped: Stop | None = None
        """Why the run ended early, if it did (the first cause wins)."""
        self.bytes_sent = 0
        self.target_stats: dict[str, int] = {}
        self._lock = threading.Lock()
        # backslashreplace: an undecodable byte of a name (a lone surrogate) becomes its
        # JSON escape instead of an error
        self._spool: IO[str] = tempfile.TemporaryFile(  # noqa: SIM115
            "w+", encoding="utf-8", errors="backslashreplace")

    def add(self, file: str, outcome: FileOutcome, reason: str = "",
            identity: str | None = None, *, kind: FileKind | None = None,
            dated: DateSource | None = None) -> None:
        # errors that name their file (to be clear where they go alone) are not named twice
        reason = reason.removeprefix(f"{file}: ")
        entry = FileEntry(file, outcome, redact(reason), identity, kind, dated)
        with self._lock:
            self.counts[outcome] += 1
            if kind is not None:
                self.kinds[kind] += 1
            if dated is not None:
                self.dated[dated] += 1
            if outcome in PROBLEMS:
                self.problems.append(entry)
            self._spool.write(json.dumps(_entry_json(entry), ensure_ascii=False) + "\n")

    def metadata(self, file: str, conflicts: Iterable[MetadataConflict],
                 notes: Iterable[str]) -> None:
        """Conflicts between the file and Google, and problems with the file's metadata."""
        with self._lock:
            self.conflicts.extend(
                ConflictEntry(file, c.field, c.file_value, c.google_value, c.winner)
                for c in conflicts
            )
            self.metadata_notes.extend(MetadataNote(file, note) for note in notes)

    def album_failed(self, album: str, reason: str) -> None:
        with self._lock:
            self.album_problems.append(AlbumProblem(album, reason))

    def problem_rows(self) -> list[dict[str, Any]]:
        """The problem files as the JSON report writes them, for the state (web page)."""
        with self._lock:
            return [_entry_json(entry) for entry in self.problems]

    def run_failed(self, reason: str) -> None:
        with self._lock:
            self.run_problems.append(reason)

    def stop(self, stop: Stop) -> None:
        """The run ends early; only the first cause counts (later ones follow from it)."""
        with self._lock:
            if self.stopped is None:
                self.stopped = stop

    def finish(self) -> None:
        self.finished = now_iso()

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def missing_files(self) -> int | None:
        """Files of the export the report lacks (0: the totals add up; None: unknown).

        Every file is one report line except the sidecars and album JSON that were used;
        a part that cannot be read at all is one line of its own.
        """
        if not self.export:
            return None
        export = self.export
        return export["files"] - export["json_used"] + export["part_problems"] - self.total

    @property
    def failed(self) -> bool:
        """Some files failed: an item, an album, or a whole part that could not be read
        (its files are missing from this run, so the exit code must say so), or the run's
        own work (its report could not be written, the target not closed)."""
        return bool(self.counts[FileOutcome.FAILED] or self.album_problems
                    or self.export.get("part_problems") or self.run_problems)

    @property
    def no_media(self) -> bool:
        """The export was read and holds no photo or video at all."""
        return bool(self.export) and self.export.get("media") == 0

    def summary(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "dry_run": self.dry_run,
            "started": self.started,
            "finished": self.finished,
            "counts": {str(k): v for k, v in sorted(self.counts.items())},
            "kinds": {str(k): v for k, v in sorted(self.kinds.items())},
            "dated": {str(k): v for k, v in sorted(self.dated.items())},
            "total_files": self.total,
            "export": dict(self.export),
            "bytes_sent": self.bytes_sent,
            "metadata_conflicts": len(self.conflicts),
            "metadata_notes": len(self.metadata_notes),
            "target_stats": dict(self.target_stats),
            "stopped": self.stopped.cause if self.stopped else None,
            "exit_code": self.exit_code,
        }

    @property
    def exit_code(self) -> int:
        """What the command line exits with (README, "Exit codes")."""
        if self.stopped is not None:
            return self.stopped.code
        return EXIT_FAILED if self.failed else EXIT_OK

    def write(self, path: Path) -> None:
        """Write the JSON report atomically: a reader never sees half a report. Owner-only:
        it names places, captions and people."""
        tmp = path.with_name(path.name + ".tmp")
        tmp.unlink(missing_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with open(fd, "w", encoding="utf-8", errors="backslashreplace") as out:
            head = json.dumps(self.summary(), ensure_ascii=False, indent=1)[:-2]
            out.write(head + ',\n "album_problems": ')
            out.write(json.dumps([asdict(p) for p in self.album_problems], ensure_ascii=False))
            notes = [redact(note) for note in self.notes]
            out.write(',\n "notes": ' + json.dumps(notes, ensure_ascii=False))
            out.write(',\n "run_problems": ')
            out.write(json.dumps(self.run_problems, ensure_ascii=False))
            out.write(',\n "conflicts": ')
            out.write(json.dumps([asdict(c) for c in self.conflicts], ensure_ascii=False))
            out.write(',\n "metadata_notes": ')
            out.write(json.dumps([asdict(n) for n in self.metadata_notes], ensure_ascii=False))
            out.write(',\n "files": [')
            self._spool.seek(0)
            for n, line in enumerate(self._spool):
                out.write(("\n  " if n == 0 else ",\n  ") + line.rstrip("\n"))
            out.write("\n ]\n}\n")
            self._spool.seek(0, os.SEEK_END)
        tmp.replace(path)

    def close(self) -> None:
        self._spool.close()


def _entry_json(entry: FileEntry) -> dict[str, Any]:
    data: dict[str, Any] = {"file": entry.file, "outcome": str(entry.outcome)}
    if entry.reason:
        data["reason"] = entry.reason
    if entry.identity:
        data["identity"] = entry.identity
    if entry.kind is not None:
        data["kind"] = str(entry.kind)
    if entry.dated is not None:
        data["dated"] = str(entry.dated)
    return data


def take_target_stats(report: RunReport, stats: Callable[[], Mapping[str, int]]) -> None:
    """Statistics are a nicety: a target that cannot give them (its server went away at
    the end) adds a note, and the run is still finished and recorded."""
    try:
        report.target_stats = dict(stats())
    except Exception as exc:
        stop = faults.fatal(exc)
        if stop is not None:
            report.stop(stop)
        report.notes.append(f"target statistics unavailable: {faults.describe(exc)}")


def record_run(state: State, report: RunReport) -> None:
    """A run whose record cannot be written (disk full, state damaged) stops with the
    state's own reason and exit code instead of a traceback; its items are recorded."""
    try:
        state.add_run(report.summary(), problems=report.problem_rows())
    except Exception as exc:
        report.stop(faults.fatal(exc) or faults.internal(exc))
