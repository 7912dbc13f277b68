"""When an export in the inbox is complete, and why one is not yet.

Google does not say how many parts an export has, so completeness is judged from what can
be seen, all of which must hold:
- no download of it is in progress (no temporary file of it, none unattributed beside it);
- part numbers run from 001 to the highest one without a gap;
- nothing of it (names, sizes, times, inodes) changed for the settle time;
- every part reads to its end (see `check`).
A last part that has not started downloading by the time the others have been quiet for
the settle time cannot be seen; if it lands later, the export's part set and so its content
identity change, and the whole set is imported again: items already there are skipped,
the rest (and sidecars that were in the late part) are added. Nothing is lost or doubled.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from importer.watch.check import PartCheck, check_part, export_identity
from importer.watch.inbox import ExportGroup, Seen
from importer.watch.status import span


@dataclass(frozen=True)
class Verdict:
    group: ExportGroup
    quiet_for: float
    identity: str | None = None
    waiting: str | None = None
    """Why the export is not ready (None: ready, `identity` is set)."""


class SettleClock:
    """Since when each export has looked exactly as it does now (kept in the status file)."""

    def __init__(self, section: dict[str, Any]) -> None:
        self.section = section

    def update(self, groups: Sequence[ExportGroup], now: float) -> list[ExportGroup]:
        """Record this look at the inbox; returns the exports seen for the first time."""
        new = []
        present = {g.key for g in groups}
        for key in [k for k in self.section if k not in present]:
            del self.section[key]
        for group in groups:
            sig = hashlib.sha256(repr(group.signature()).encode()).hexdigest()[:32]
            entry = self.section.get(group.key)
            if not isinstance(entry, dict):
                new.append(group)
            if not isinstance(entry, dict) or entry.get("sig") != sig:
                self.section[group.key] = {"sig": sig, "since": now}
        return new

    def quiet_for(self, group: ExportGroup, now: float) -> float:
        entry = self.section.get(group.key)
        since = entry.get("since") if isinstance(entry, dict) else None
        return now - since if isinstance(since, int | float) else 0.0


class CheckCache:
    """Read checks by file signature: a 50 GB tgz is read to its end once, not per cycle."""

    def __init__(self, section: dict[str, Any]) -> None:
        self.section = section

    def get(self, inbox: Path, seen: Seen) -> PartCheck:
        key = str(seen.path)
        cached = self.section.get(key)
        if isinstance(cached, dict) and cached.get("sig") == list(seen.signature):
            return PartCheck(cached.get("digest"), cached.get("problem"))
        result = check_part(inbox / seen.path)
        self.section[key] = {"sig": list(seen.signature), "digest": result.digest,
                             "problem": result.problem}
        return result

    def forget_except(self, files: Sequence[Seen]) -> None:
        keep = {str(s.path) for s in files}
        for key in [k for k in self.section if k not in keep]:
            del self.section[key]


def _names(files: Sequence[Seen]) -> str:
    return ", ".join(str(s.path) for s in files)


def _visible_reason(group: ExportGroup, unattributed: dict[str, list[Seen]],
                    quiet: float, settle: float) -> str | None:
    """What can be told without reading the parts."""
    if group.temps:
        return f"download in progress: {_names(group.temps)}"
    folder = next(iter(group.parts)).path.parent.as_posix()
    if unattributed.get(folder):
        return (f"unfinished download beside it (it may be one of its parts): "
                f"{_names(unattributed[folder])}")
    missing = group.missing()
    if missing:
        have = ", ".join(str(group.parts[s]) for s in group.sorted_parts())
        return f"missing part(s) {', '.join(missing)} (have {have})"
    if quiet < settle:
        return f"changed {span(quiet)} ago; waiting until it has been quiet for {span(settle)}"
    return None


def assess(group: ExportGroup, unattributed: dict[str, list[Seen]], quiet: float,
           settle: float, inbox: Path, checks: CheckCache) -> Verdict:
    reason = _visible_reason(group, unattributed, quiet, settle)
    if reason is not None:
        return Verdict(group, quiet, waiting=reason)
    digests = []
    for seen in group.sorted_parts():
        result = checks.get(inbox, seen)
        if result.digest is None:
            return Verdict(group, quiet, waiting=f"part {seen.path} does not read to its end: "
                                                 f"{result.problem}")
        digests.append(result.digest)
    return Verdict(group, quiet, identity=export_identity(digests))
