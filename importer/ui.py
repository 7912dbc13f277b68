"""What people see: a progress bar while working, a summary table at the end.

rich draws both; when stdout or stderr is not a terminal (cron, CI, container logs) the
live bar is left out and only the summary is printed, so logs stay readable. Every name,
title, caption and message from outside goes through `safetext.shown` first: escaped,
secrets masked.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

from importer.model import FileOutcome
from importer.report import RunReport
from importer.safetext import shown

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

MAX_PROBLEMS_SHOWN = 20


def console(stderr: bool = False) -> Console:
    return Console(stderr=stderr, highlight=False, soft_wrap=True)


class RichProgress:
    """Counts files as they are accounted for; the total appears once the export is listed."""

    def __init__(self, expected: Callable[[], int | None], out: Console | None = None) -> None:
        self._expected = expected
        self._console = out or console(stderr=True)
        self._progress: Progress | None = None
        # Only for a person at a terminal: with stdout redirected (a container's log, cron,
        # `| tee`) a live bar would end up as control codes in someone's log; and then
        # rich.progress is not even loaded.
        if self._console.is_terminal and sys.stdout.isatty():
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                MofNCompleteColumn,
                Progress,
                SpinnerColumn,
                TextColumn,
                TimeElapsedColumn,
            )

            self._progress = Progress(
                SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                MofNCompleteColumn(), DownloadColumn(), TimeElapsedColumn(),
                console=self._console, transient=True,
            )
        self._task: TaskID | None = None
        self._bytes = 0

    def __enter__(self) -> RichProgress:
        if self._progress is not None:
            self._progress.start()
            self._task = self._progress.add_task("importing", total=None)
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._progress is not None:
            self._progress.stop()

    def advance(self, outcome: FileOutcome, size: int) -> None:
        if (self._progress is None or self._task is None
                or outcome is FileOutcome.UNMATCHED_JSON):
            return
        total = self._expected()
        self._progress.update(self._task, advance=1, total=total,
                              description=f"importing ({outcome})")


def summary_table(report: RunReport) -> Table:
    title = ("Dry run: nothing was changed" if report.dry_run
             else shown(f"Import into {report.target}"))
    table = Table(title=title, show_footer=True)
    table.add_column("outcome", footer="total")
    table.add_column("files", justify="right", footer=str(report.total))
    for outcome, count in sorted(report.counts.items(), key=lambda kv: -kv[1]):
        table.add_row(str(outcome), str(count))
    return table


def _say(out: Console, text: str) -> None:
    out.print(shown(text), markup=False, highlight=False)


def print_summary(report: RunReport, out: Console, report_path: str | None) -> None:
    out.print(summary_table(report))
    new = report.counts[FileOutcome.IMPORTED] + report.counts[FileOutcome.UPDATED]
    if report.no_media:
        out.print("No photos or videos in this export: nothing to import "
                  "(is this a Google Photos Takeout?).")
    elif not report.dry_run and new == 0 and not report.failed and report.stopped is None:
        out.print("Nothing new to import: everything is already in the target.")
    problems = [p for p in report.problems if p.outcome is FileOutcome.FAILED]
    problems += [p for p in report.problems if p.outcome is not FileOutcome.FAILED]
    for entry in problems[:MAX_PROBLEMS_SHOWN]:
        _say(out, f"  {entry.outcome}: {entry.file}: {entry.reason}")
    if len(problems) > MAX_PROBLEMS_SHOWN:
        more = len(problems) - MAX_PROBLEMS_SHOWN
        where = f" (all in {report_path})" if report_path else " (use --report FILE for all)"
        _say(out, f"  … and {more} more{where}")
    _print_totals(report, out)
    for album in report.album_problems:
        _say(out, f"  album {album.album!r}: {album.reason}")
    for problem in report.run_problems:
        _say(out, f"  failed: {problem}")
    if report.target_stats:
        _say(out, "  target: " + ", ".join(f"{k.replace('_', ' ')} {v}"
                                           for k, v in sorted(report.target_stats.items())))
    for note in report.notes:
        _say(out, f"  note: {note}")


def print_stop(report: RunReport, err: Console) -> None:
    """The one line naming why the run ended early (nothing when it did not)."""
    if report.stopped is None:
        return
    done = sum(report.counts[o] for o in
               (FileOutcome.IMPORTED, FileOutcome.ALREADY_THERE, FileOutcome.UPDATED))
    _say(err, f"gphotos-importer: stopped: {report.stopped.cause}; {done} item(s) done "
              "are recorded, run the same command again to go on")


def _counts(counter: dict[str, int] | Counter[Any]) -> str:
    return ", ".join(f"{key} {count}" for key, count in sorted(
        counter.items(), key=lambda kv: (-kv[1], str(kv[0]))))


def _print_totals(report: RunReport, out: Console) -> None:
    """What the files were and where dates came from; whether every file is accounted."""
    if report.kinds:
        _say(out, f"  files by kind: {_counts(report.kinds)}")
    if report.dated:
        _say(out, f"  capture times from: {_counts(report.dated)}")
    export = report.export
    if not export:
        return
    _say(out, f"  export: {export['files']} files in {export['parts']} part(s): "
              f"{export['media']} photos/videos, {export['json_used']} sidecar/album JSON "
              f"used; {report.total} in this report")
    missing = report.missing_files()
    if missing and report.stopped is not None:
        _say(out, f"  the run stopped early: {missing} file(s) of the export were not "
                  "reached")
    elif missing:
        _say(out, f"  warning: {missing} file(s) of the export are not in the report "
                  "(please report this bug)")


def is_interactive() -> bool:
    return sys.stderr.isatty()
