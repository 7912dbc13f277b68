"""One watch cycle: look at the inbox, import what is complete and new, put it away.

The state and the target are opened for the cycle only (so `verify` or `status` can run
between cycles) and every cycle opens the target even with nothing to import: a revoked
key or a gallery that is down shows up in `health` at once, not two months later when the
next export arrives.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from adapters import open_target
from adapters.base import AuthError, Gallery, GalleryError, TargetUnavailable
from importer.config import Settings
from importer.reclaim import ReclaimError
from importer.sources.parts import SourceError
from importer.state import State, StateError
from importer.watch import reclaiming
from importer.watch.importing import (
    CountingProgress,
    Imported,
    ImportStopped,
    import_parts,
    log_problems,
    move_to_done,
    verify_export,
    write_report,
)
from importer.watch.inbox import ExportGroup, group, list_inbox
from importer.watch.log import EventLog
from importer.watch.ready import CheckCache, SettleClock, Verdict, assess
from importer.watch.status import StatusFile, iso, span

DAY = 86400.0
VERIFY_RETRY = DAY
"""An export whose verify failed is verified again at most this often (delete mode)."""


@dataclass
class CycleResult:
    problems: list[str] = field(default_factory=list)
    exports: Counter[str] = field(default_factory=Counter)
    items: Counter[str] = field(default_factory=Counter)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        exports = ", ".join(f"{n} {k}" for k, n in sorted(self.exports.items())) or "none"
        items = ", ".join(f"{k} {n}" for k, n in sorted(self.items.items())) or "none"
        return f"exports: {exports}; items: {items}"


@dataclass
class Watcher:
    """What every cycle needs; `run_cycle` is one look at the inbox."""

    settings: Settings
    spec: str
    inbox: Path
    state_path: Path
    log: EventLog
    status: StatusFile
    stop: threading.Event
    progress: CountingProgress = field(default_factory=CountingProgress)

    @property
    def reports(self) -> Path:
        return self.state_path.parent / "reports"

    def once_logged(self, key: str, message: str) -> bool:
        """True the first time `message` is given for `key` (kept across restarts)."""
        reported = self.status.section("reported")
        if reported.get(key) == message:
            return False
        reported[key] = message
        return True

    def run_cycle(self) -> CycleResult:
        result = CycleResult()
        if not self.inbox.is_dir():
            result.problems.append(f"inbox {self.inbox} is not a readable folder")
            return result
        ready = self._look(result, time.time())
        due = self.status.section("reclaim").get("plan_due")
        try:
            with State(self.state_path) as state:
                gallery = open_target(self.spec, self.settings)
                try:
                    self._handle_all(ready, state, gallery, result)
                    self._plan_if_due(due, state, gallery, result)
                finally:
                    gallery.close()
        except (StateError, TargetUnavailable, AuthError, ImportStopped) as exc:
            result.problems.append(str(exc))
            return result
        if self._auto_apply() and not self.stop.is_set():
            problem = reclaiming.apply_due(self.settings, self.spec, self.status.section(
                "reclaim"), self.state_path, self.log, self.stop)
            if problem is not None:
                result.problems.append(problem)
        return result

    def _auto_apply(self) -> bool:
        """Only plans watch writes are applied by it, and only when the config says so."""
        return self.settings.reclaim.auto_apply and "plan" in self.settings.watch.after_import

    def _look(self, result: CycleResult, now: float) -> list[Verdict]:
        files = list_inbox(self.inbox)
        groups, unattributed = group(files)
        clock = SettleClock(self.status.section("groups"))
        for new in clock.update(groups, now):
            self.log.info("export.seen", f"{new.name}: {len(new.parts)} part(s) in the inbox",
                          export=new.name)
        checks = CheckCache(self.status.section("checks"))
        checks.forget_except(files)
        reported = self.status.section("reported")
        for key in [k for k in reported if k not in {g.key for g in groups}]:
            del reported[key]
        settle = self.settings.watch.settle
        verdicts = []
        for export in groups:
            if self.stop.is_set():
                break
            quiet = clock.quiet_for(export, now)
            verdict = assess(export, unattributed, quiet, settle, self.inbox, checks)
            verdicts.append(verdict)
            if verdict.waiting is not None:
                result.exports["waiting"] += 1
                if quiet >= settle and self.once_logged(export.key, verdict.waiting):
                    self.log.warning("export.incomplete", f"{export.name}: not imported yet: "
                                     f"{verdict.waiting}", export=export.name)
        return [v for v in verdicts if v.identity is not None]

    def _handle_all(self, ready: list[Verdict], state: State, gallery: Gallery,
                    result: CycleResult) -> None:
        for verdict in ready:
            if self.stop.is_set():
                return
            try:
                self._handle(verdict, state, gallery, result)
            except (SourceError, OSError) as exc:
                result.problems.append(f"{verdict.group.name}: {exc}")
                self.log.error("export.error", f"{verdict.group.name}: {exc}",
                               export=verdict.group.name)

    def _handle(self, verdict: Verdict, state: State, gallery: Gallery,
                result: CycleResult) -> None:
        assert verdict.identity is not None
        export = verdict.group
        record = state.export_record(gallery.target, verdict.identity)
        if record is not None and record.get("done"):
            self._already_done(verdict, record, state, gallery, result)
            return
        self.log.info("export.complete", f"{export.name}: complete ({len(export.parts)} "
                      f"part(s), quiet for {span(verdict.quiet_for)}); importing",
                      export=export.name, identity=verdict.identity)
        self.status.section("cycle")["export"] = export.name
        imported = self._import(export, state, gallery)
        if imported.stopped:
            self.log.info("export.stopped", f"{export.name}: stopped after "
                          f"{imported.report.total} file(s); the rest follows on the next start",
                          export=export.name)
            return
        result.exports["imported"] += 1
        result.items.update(imported.counts)
        record = self._record(verdict, imported, state, gallery.target)
        if not record["done"]:
            failed = imported.counts.get("failed", 0)
            result.problems.append(f"{export.name}: {failed} item(s) failed, "
                                   f"{len(imported.report.album_problems)} album problem(s); "
                                   "retrying next cycle")
            return
        self._after_import(verdict, record, state, gallery, result)

    def _import(self, export: ExportGroup, state: State, gallery: Gallery) -> Imported:
        paths = [self.inbox / s.path for s in export.sorted_parts()]
        imported = import_parts(paths, self.settings, state, gallery, self.stop, self.progress)
        try:
            log_problems(imported.report, self.log, export.name)
            if not imported.stopped:
                imported.report_file = write_report(imported.report, self.reports,
                                                    export.name)
                counts = ", ".join(f"{k} {n}" for k, n in imported.counts.items()) or "nothing"
                self.log.info("export.imported", f"{export.name}: {counts}",
                              export=export.name, counts=imported.counts,
                              report=str(imported.report_file))
        finally:
            imported.report.close()
        return imported

    def _record(self, verdict: Verdict, imported: Imported, state: State,
                target: str) -> dict[str, Any]:
        assert verdict.identity is not None
        report = imported.report
        record: dict[str, Any] = {
            "name": verdict.group.name,
            "files": [str(s.path) for s in verdict.group.sorted_parts()],
            "done": not report.failed,
            "imported_at": time.time(),
            "counts": imported.counts,
            "identities": sorted(report.identities),
            "report": str(imported.report_file) if imported.report_file else None,
        }
        state.put_export(target, verdict.identity, record)
        return record

    def _after_import(self, verdict: Verdict, record: dict[str, Any], state: State,
                      gallery: Gallery, result: CycleResult) -> None:
        assert verdict.identity is not None
        watch = self.settings.watch
        name = verdict.group.name
        if "verify" in watch.after_import or watch.processed == "delete":
            self._verify(verdict.identity, record, state, gallery, result)
        if "plan" in watch.after_import:
            self._plan(name, state, gallery, result)
        self._put_away(verdict.group, verdict.identity, record, state, gallery)

    def _plan(self, export: str, state: State, gallery: Gallery, result: CycleResult) -> None:
        section = self.status.section("reclaim")
        try:
            path = reclaiming.write_reclaim_plan(self.settings, state, gallery, self.log,
                                                 export)
        except (ReclaimError, GalleryError) as exc:
            result.problems.append(f"{export}: no reclaim plan written: {exc}")
            self.log.error("plan.failed", f"{export}: no reclaim plan written: {exc}",
                           export=export)
            section["plan_due"] = export  # the export is done; its plan is tried again
            self.status.save()
            return
        section["plan"] = str(path)
        section.pop("plan_due", None)
        self.status.save()  # a plan written and not yet applied is applied after a restart

    def _plan_if_due(self, due: str | None, state: State, gallery: Gallery,
                     result: CycleResult) -> None:
        """A plan that failed after its export was imported (the gallery away, no space)
        is written by the next cycle, even when no new export comes; `due` is what was
        due when this cycle began (a plan tried in this cycle is not tried twice)."""
        still = self.status.section("reclaim").get("plan_due")
        if (due and still == due and "plan" in self.settings.watch.after_import
                and not self.stop.is_set()):
            self._plan(due, state, gallery, result)

    def _verify(self, identity: str, record: dict[str, Any], state: State, gallery: Gallery,
                result: CycleResult) -> bool:
        name = str(record.get("name"))
        record["verify_tried"] = time.time()
        good = verify_export(state, gallery, record.get("identities") or [], self.log, name)
        if good:
            record["verified_at"] = time.time()
        else:
            result.problems.append(f"{name}: verify found items missing or different")
        state.put_export(gallery.target, identity, record)
        return good

    def _already_done(self, verdict: Verdict, record: dict[str, Any], state: State,
                      gallery: Gallery, result: CycleResult) -> None:
        """A copy of an export imported before (or the same files, already done)."""
        assert verdict.identity is not None
        export = verdict.group
        result.exports["already imported"] += 1
        when = iso(float(record.get("imported_at") or 0))
        if record.get("name") != export.name and self.once_logged(export.key, "done"):
            self.log.info("export.skipped", f"{export.name}: same content already imported "
                          f"as {record.get('name')} ({when}); skipped", export=export.name)
        watch = self.settings.watch
        if watch.processed == "delete" and record.get("verified_at") is None:
            if time.time() - float(record.get("verify_tried") or 0) < VERIFY_RETRY:
                return
            self._verify(verdict.identity, record, state, gallery, result)
        self._put_away(export, verdict.identity, record, state, gallery)

    def _put_away(self, export: ExportGroup, identity: str, record: dict[str, Any],
                  state: State, gallery: Gallery) -> None:
        """`processed: move` moves the parts to done/ now; `delete` deletes them once a
        verify passed `delete_after_days` ago and a new verify passes right now."""
        watch = self.settings.watch
        files = [s.path for s in export.sorted_parts()]
        if watch.processed == "move":
            moved = move_to_done(self.inbox, files)
            self.log.info("export.moved", f"{export.name}: moved to {', '.join(moved)}",
                          export=export.name)
        elif watch.processed == "delete":
            self._delete_when_due(export, identity, record, state, gallery, files)

    def _delete_when_due(self, export: ExportGroup, identity: str, record: dict[str, Any],
                         state: State, gallery: Gallery, files: list[PurePosixPath]) -> None:
        verified = record.get("verified_at")
        if not isinstance(verified, int | float):
            return
        now = time.time()
        due = verified + self.settings.watch.delete_after_days * DAY
        if now < due or now - float(record.get("delete_tried") or 0) < VERIFY_RETRY:
            return
        record["delete_tried"] = now
        state.put_export(gallery.target, identity, record)
        if not verify_export(state, gallery, record.get("identities") or [], self.log,
                             export.name):
            self.log.warning("export.kept", f"{export.name}: not deleted: its items do not "
                             "all verify now; trying again in a day", export=export.name)
            return
        for relative in files:
            (self.inbox / relative).unlink(missing_ok=True)
        record["deleted_at"] = time.time()
        state.put_export(gallery.target, identity, record)
        self.log.info("export.deleted", f"{export.name}: deleted from the inbox (verified on "
                      f"{gallery.target} {iso(verified)} and again now)", export=export.name)
