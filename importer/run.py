"""The `import` command: settings in, exit code out.

Everything that can be wrong with the invocation (config, sources, lock, target) is checked
before the first item is touched, in an order that leaves the state alone on failure.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from rich.console import Console

from adapters import open_target, split_target, target_key
from importer.config import ConfigError, Settings
from importer.model import Accounted, FileKind, FileOutcome, MediaItem, ScanEvent
from importer.pipeline import Pipeline
from importer.plan import Action, ActionKind, plan_item
from importer.prepare import PrepareError, prepare
from importer.recording import linked_owner
from importer.repair import repair_target
from importer.report import RunReport
from importer.sources.takeout import TakeoutSource
from importer.state import State
from importer.ui import RichProgress, print_summary

STATE_NAME = "state.sqlite"


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
    if not settings.sources:
        raise ConfigError("no SOURCE given: name Takeout parts (.zip, .tgz) or folders")
    if not settings.to:
        raise ConfigError("no target: give --to folder:DIR, immich:URL or photoprism:URL")
    target_key(settings.to)  # validates the syntax before anything is opened
    return settings.to


def run_import(settings: Settings, out: Console) -> int:
    spec = _require(settings)
    source = TakeoutSource([Path(s) for s in settings.sources], settings.takeout)
    try:
        if settings.dry_run:
            report = dry_run(source, settings, spec, out)
        else:
            report = _import(source, settings, spec, out)
    finally:
        source.close()
    try:
        print_summary(report, out, settings.report)
        if settings.report:
            report.write(Path(settings.report))
    finally:
        report.close()
    return 1 if report.failed else 0


def _import(source: TakeoutSource, settings: Settings, spec: str, out: Console) -> RunReport:
    with State(state_path(settings)) as state:
        gallery = open_target(spec, settings)
        report = RunReport(gallery.target)
        try:
            repair_target(state, gallery, report)
            with RichProgress(lambda: source.expected_files) as progress:
                Pipeline(gallery, state, settings, report, progress).run(source.scan())
            report.export = source.stats.as_dict()
        finally:
            report.target_stats = dict(gallery.stats())
            gallery.close()
            report.finish()
            state.add_run(report.summary())
    return report


def dry_run(source: TakeoutSource, settings: Settings, spec: str, out: Console) -> RunReport:
    """Print the plan. Opens the state read-only and never opens the target."""
    key = target_key(spec)
    report = RunReport(key, dry_run=True)
    with State(state_path(settings), readonly=True) as state:
        for action in _plans(source.scan(), state, key, settings, report):
            line = f"{action.kind:<14} {action.item.file.location}  ({action.reason})"
            if action.albums and action.kind is not ActionKind.SKIP:
                line += "  albums: " + ", ".join(a.title for a in action.albums)
            out.print(line, markup=False, highlight=False)
            _report_plan(report, action)
    report.export = source.stats.as_dict()
    report.finish()
    return report


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
                record = state.get(identity)
                yield plan_item(event, identity, record, key, settings.takeout,
                                linked_owner(state, key, identity, record))
        finally:
            event.release()  # a dry run reads a spooled .tgz member at most once


def _identity(item: MediaItem, report: RunReport, settings: Settings) -> str | None:
    if item.google_identity:
        return item.google_identity
    try:  # reads and hashes only; nothing is written
        return prepare(item, settings=settings.metadata).identity
    except PrepareError as exc:
        report.add(item.file.location, FileOutcome.FAILED, str(exc), kind=item.kind)
        if item.live_video is not None:
            report.add(item.live_video.location, FileOutcome.LIVE_PART,
                       f"motion part of {item.file.name} (failed)", kind=FileKind.LIVE_PART)
        return None
