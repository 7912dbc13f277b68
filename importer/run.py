"""The `import` command: settings in, exit code out.

Everything that can be wrong with the invocation (config, sources, lock, target) is checked
before the first item is touched, in an order that leaves the state alone on failure. Once
items flow, every way the run can end (done, some items failed, stopped by a fatal error,
Ctrl-C, a bug) still closes the target, records the run, prints the summary, writes the
report, and names the cause in one line; the exit code says which (`faults`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, Union, runtime_checkable

from rich.console import Console

from adapters import open_target, split_target, target_key
from adapters.base import Gallery
from importer import faults
from importer.config import ConfigError, Settings
from importer.interrupt import StopRequest
from importer.jobs import prepare_job
from importer.model import Accounted, FileKind, FileOutcome, MediaItem, ScanEvent
from importer.pipeline import Pipeline
from importer.plan import Action, ActionKind, after_prepare, plan_for
from importer.progressfile import ProgressFile, TeeProgress, progress_path
from importer.repair import repair_target
from importer.report import RunReport, record_run, take_target_stats
from importer.safetext import shown
from importer.sources.takeout import TakeoutSource
from importer.state import State
from importer.ui import RichProgress, print_stop, print_summary

if TYPE_CHECKING:
    from importer.sources.picker import PickerSource

STATE_NAME = "state.sqlite"
Source = Union[TakeoutSource, "PickerSource"]


@runtime_checkable
class ConsultsState(Protocol):
    """A source that asks the planner before fetching (the Picker: no download of what
    the plan would not upload)."""

    def consult(self, state: State, target: str) -> None: ...


def default_state_path(target_spec: str | None, env: dict[str, str] | None = None) -> Path:
    """A folder library keeps its state inside itself (like osxphotos' export database);
    gallery targets share one per-user state under $XDG_STATE_HOME."""
    environment = dict(os.environ) if env is None else env
    if target_spec:
        scheme, rest = split_target(target_spec)
        if scheme == "folder":
            return Path(rest).expanduser().absolute() / ".gphotos-importer" / STATE_NAME
    base = environment.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "gphotos-importer" / STATE_NAME


def state_path(settings: Settings) -> Path:
    if settings.state:
        return Path(settings.state).expanduser()
    return default_state_path(settings.to)


def _require(settings: Settings) -> str:
    if settings.source == "takeout" and not settings.sources:
        raise ConfigError("no SOURCE given: name Takeout parts (.zip, .tgz) or folders")
    if settings.source == "takeout" and settings.album:
        raise ConfigError("--album is for --from picker (a Takeout brings its own albums)")
    if not settings.to:
        raise ConfigError("no target: give --to folder:DIR, immich:URL or photoprism:URL")
    target_key(settings.to)  # validates the syntax before anything is opened
    return settings.to


def run_import(settings: Settings, out: Console, err: Console | None = None) -> int:
    spec = _require(settings)
    source: Source
    if settings.source == "picker":
        from importer.sources.picker import open_picker  # loads Google's client libraries

        source = open_picker(settings, out)
    else:
        source = TakeoutSource([Path(s) for s in settings.sources], settings.takeout)
    try:
        with StopRequest() as stop:
            if settings.dry_run:
                report = dry_run(source, settings, spec, out, stop)
            else:
                report = _import(source, settings, spec, stop)
    finally:
        source.close()
    try:
        print_summary(report, out, settings.report)
        if settings.report:
            _write_report(report, Path(settings.report), err or out)
        print_stop(report, err or out)
    finally:
        report.close()
    return report.exit_code


def _write_report(report: RunReport, path: Path, err: Console) -> None:
    """A report that cannot be written fails this run (exit 1, or 4 for a full disk), with
    one line saying so; it is never a crash."""
    try:
        report.write(path)
    except OSError as exc:
        stop = faults.fatal(exc)
        if stop is not None:
            report.stop(stop)
            return
        reason = f"{path}: cannot write the report: {exc.strerror or exc}"
        report.run_failed(reason)
        err.print(shown(f"gphotos-importer: error: {reason}"), markup=False, highlight=False)


def _import(source: Source, settings: Settings, spec: str, stop: StopRequest) -> RunReport:
    with State(state_path(settings)) as state:
        gallery = open_target(spec, settings)
        report = RunReport(gallery.target)
        if isinstance(source, ConsultsState):
            source.consult(state, gallery.target)
        try:
            repair_target(state, gallery, report)
            live = ProgressFile(progress_path(state.path, gallery.target), gallery.target,
                                lambda: source.expected_files)
            with RichProgress(lambda: source.expected_files) as progress, live:
                Pipeline(gallery, state, settings, report, TeeProgress(progress, live),
                         stop).run(source.scan())
            report.export = source.stats.as_dict()
        finally:
            _close_target(gallery, report)
            report.finish()
            record_run(state, report)
    return report


def _close_target(gallery: Gallery, report: RunReport) -> None:
    take_target_stats(report, gallery.stats)
    try:
        gallery.close()
    except Exception as exc:  # e.g. the folder library's index cannot be written out
        stop = faults.fatal(exc)
        if stop is not None:
            report.stop(stop)
        else:
            report.run_failed(f"closing the target failed: {faults.describe(exc)}")


def dry_run(source: Source, settings: Settings, spec: str, out: Console,
            stop: StopRequest | None = None) -> RunReport:
    """Print the plan. Opens the state read-only and never opens the target."""
    key = target_key(spec)
    report = RunReport(key, dry_run=True)
    stop = stop or StopRequest()
    with State(state_path(settings), readonly=True) as state:
        if isinstance(source, ConsultsState):
            source.consult(state, key)
        try:
            with stop.immediate():  # nothing is changed by a dry run: stop at once
                _print_plans(source, state, key, settings, report, out)
        except KeyboardInterrupt:
            report.stop(stop.stop())
    report.export = source.stats.as_dict()
    report.finish()
    return report


def _print_plans(source: Source, state: State, key: str, settings: Settings,
                 report: RunReport, out: Console) -> None:
    for action in _plans(source.scan(), state, key, settings, report):
        line = f"{action.kind:<14} {action.item.file.location}  ({action.reason})"
        if action.albums and action.kind is not ActionKind.SKIP:
            line += "  albums: " + ", ".join(a.title for a in action.albums)
        out.print(shown(line), markup=False, highlight=False)
        _report_plan(report, action)


def _report_plan(report: RunReport, action: Action) -> None:
    item = action.item
    outcome = action.skip_outcome if action.kind is ActionKind.SKIP else FileOutcome.PLANNED
    report.add(item.file.location, outcome, f"{action.kind}: {action.reason}",
               action.identity, kind=item.kind, dated=item.metadata.taken_at_source)
    if item.live_video is not None:
        report.add(item.live_video.location, FileOutcome.LIVE_PART,
                   f"motion part of {item.file.name} ({outcome})", action.identity,
                   kind=FileKind.LIVE_PART)


def _plans(events: Iterator[ScanEvent], state: State, key: str, settings: Settings,
           report: RunReport) -> Iterator[Action]:
    for event in events:
        if isinstance(event, Accounted):
            report.add(event.location, event.outcome, event.reason, kind=event.kind)
            continue
        try:
            identity = _identity(event, report, settings)
            if identity is not None:
                action = plan_for(event, identity, state, key, settings.takeout)
                yield after_prepare(action, None, state, key)
        finally:
            event.release()  # a dry run reads a spooled .tgz member at most once


def _identity(item: MediaItem, report: RunReport, settings: Settings) -> str | None:
    if item.google_identity:
        return item.google_identity
    job = prepare_job(item, None, settings.metadata)  # reads and hashes; writes nothing
    if job.asset is not None:
        return job.asset.identity
    report.add(item.file.location, job.outcome, job.error, kind=item.kind)
    if item.live_video is not None:
        report.add(item.live_video.location, FileOutcome.LIVE_PART,
                   f"motion part of {item.file.name} ({job.outcome})", kind=FileKind.LIVE_PART)
    return None
