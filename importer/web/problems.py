"""Problem files of the latest runs (failed, unreadable, unmatched, skipped), grouped by
reason, filtered, and as CSV. Rows come from the state's `problems` table, one list per run.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from importer.state import State

RUNS_SHOWN = 5
_PARENS = re.compile(r"\s*\([^()]*\)")
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
_NUMBERED = re.compile(r"[^\s:,;]*\d[^\s:,;]*")
_FILE_PREFIX = re.compile(r"^[^\s:]+\.[A-Za-z0-9]{1,5}: ")
CSV_FIELDS = ("run", "target", "outcome", "group", "reason", "file", "kind")


def reason_group(reason: str) -> str:
    """What problems have in common: the reason without the details that differ per file
    (parenthesised details, quoted names, words with digits such as ids and file names, a
    leading `NAME.ext: `)."""
    text = _FILE_PREFIX.sub("", reason.strip())
    while True:
        shorter = _PARENS.sub("", text)
        if shorter == text:
            break
        text = shorter
    text = _NUMBERED.sub("…", _QUOTED.sub("…", text)).strip(" :;,")
    return text or "no reason given"


@dataclass(frozen=True)
class Problem:
    run: str
    target: str
    outcome: str
    reason: str
    file: str
    kind: str

    @property
    def group(self) -> str:
        return reason_group(self.reason)

    def row(self) -> dict[str, str]:
        return {"run": self.run, "target": self.target, "outcome": self.outcome,
                "group": self.group, "reason": self.reason, "file": self.file,
                "kind": self.kind}


@dataclass
class Runs:
    problems: list[Problem]
    runs: list[dict[str, Any]]
    """Each run shown: key, started, target, rows kept, rows left out (`more`)."""


def load(state_file: Path, runs: int = RUNS_SHOWN) -> Runs:
    if not state_file.exists():
        return Runs([], [])
    with State(state_file, readonly=True) as state:
        recent = state.recent_problems(runs)
    problems: list[Problem] = []
    shown = []
    for key, summary, stored in recent:
        started = str(summary.get("started") or key)
        target = str(summary.get("target") or "")
        rows = stored.get("rows")
        rows = rows if isinstance(rows, list) else []
        shown.append({"key": key, "started": started, "target": target, "rows": len(rows),
                      "more": int(stored.get("more") or 0)})
        for row in rows:
            if isinstance(row, dict):
                problems.append(Problem(started, target, str(row.get("outcome", "")),
                                        str(row.get("reason", "")), str(row.get("file", "")),
                                        str(row.get("kind", ""))))
    return Runs(problems, shown)


def matching(problems: Iterable[Problem], *, outcome: str = "", run: str = "",
             text: str = "", group: str = "") -> list[Problem]:
    """Filters as the page's form sends them; empty means any. `text` looks in the file
    name and the reason, case-insensitively."""
    needle = text.casefold().strip()
    return [p for p in problems
            if (not outcome or p.outcome == outcome) and (not run or p.run == run)
            and (not group or p.group == group)
            and (not needle or needle in p.file.casefold() or needle in p.reason.casefold())]


def grouped(problems: Iterable[Problem]) -> list[tuple[str, str, list[Problem]]]:
    """(outcome, reason group, problems), biggest group first."""
    groups: dict[tuple[str, str], list[Problem]] = {}
    for problem in problems:
        groups.setdefault((problem.outcome, problem.group), []).append(problem)
    ordered = sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    return [(outcome, group, members) for (outcome, group), members in ordered]


def _cell(value: str) -> str:
    """A cell a spreadsheet will not run as a formula (CSV injection)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def as_csv(problems: Iterable[Problem]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, lineterminator="\r\n")
    writer.writeheader()
    for problem in problems:
        writer.writerow({k: _cell(v) for k, v in problem.row().items()})
    return out.getvalue()
