"""Issue 11: the import's live progress file and the problem rows the page reads, from a
real import of a generated export, and their pure parts over many generated variants."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from importer.model import FileOutcome
from importer.progressfile import ProgressFile, imports_in, progress_path, read_json
from importer.web import problems
from importer.web.problems import Problem, reason_group
from tests.conftest import CliResult
from tests.exportgen import make_quirky_items, write_parts


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_progress_file_is_written_at_most_twice_a_second(tmp_path: Path) -> None:
    clock = Clock()
    path = tmp_path / "progress-x.json"
    with ProgressFile(path, "folder:/lib", lambda: 100, clock=clock) as progress:
        assert read_json(path)["state"] == "running"  # type: ignore[index]
        for n in range(10):
            clock.now += 0.125
            progress.advance(FileOutcome.IMPORTED, 1000)
            written = read_json(path)
            assert written is not None
            assert written["files_done"] == [0, 0, 0, 4, 4, 4, 4, 8, 8, 8][n]
        clock.now += 10
        progress.advance(FileOutcome.UNMATCHED_JSON, 0)  # counted, not a file done
        data = read_json(path)
        assert data is not None and data["files_done"] == 10
        assert data["counts"] == {"imported": 10, "unmatched json": 1}
        assert data["files_total"] == 100 and data["bytes_done"] == 10_000
        assert data["eta_seconds"] is not None and data["eta_seconds"] > 0
        assert data["pid"] == os.getpid()
    final = read_json(path)
    assert final is not None and final["state"] == "finished" and final["eta_seconds"] is None


def test_a_killed_import_shows_as_stopped(tmp_path: Path) -> None:
    dead = subprocess.run(["true"], check=True)
    assert dead.returncode == 0
    gone = subprocess.Popen(["true"])
    gone.wait()
    path = tmp_path / "progress-abc.json"
    path.write_text(json.dumps({"state": "running", "pid": gone.pid, "updated": "x"}))
    (tmp_path / "progress-bad.json").write_text("{half")
    found = imports_in(tmp_path)
    assert [d["state"] for d in found] == ["stopped"]


def test_an_import_writes_progress_and_problem_rows(tmp_path: Path,
                                                    cli: Callable[..., CliResult]) -> None:
    export = write_parts(tmp_path / "export", make_quirky_items(30, seed=5), "zip", 2,
                         extras=True)
    library = tmp_path / "library"
    report = tmp_path / "report.json"
    result = cli("import", *export.sources, "--to", f"folder:{library}", "--report", report)
    assert result.code == 0, result.err
    state = library / ".gphotos-importer" / "state.sqlite"
    written = read_json(progress_path(state, f"folder:{library.absolute()}"))
    assert written is not None and written["state"] == "finished"
    full = json.loads(report.read_text(encoding="utf-8"))
    assert written["files_done"] == written["files_total"] > 0  # as the terminal bar counts
    assert written["counts"] == {k: v for k, v in full["counts"].items()
                                 if k != "live-photo part"}  # a motion part is no step
    expected = sorted((f["file"], f["outcome"], f.get("reason", "")) for f in full["files"]
                      if f["outcome"] in ("failed", "unreadable", "unmatched json", "skipped"))
    loaded = problems.load(state)
    assert sorted((p.file, p.outcome, p.reason) for p in loaded.problems) == expected
    assert any(p.file.endswith("EMPTY_1.jpg") and p.reason == "zero-byte file"
               for p in loaded.problems)


names = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=12)
file_names = st.text("abcXYZ_-.é 0123456789", min_size=1, max_size=12)


@given(st.sampled_from(["damaged JSON ({})", "no media file in its folder matches it "
                        "(it describes '{}')", "{}.jpg: cannot read it while sending",
                        "PhotoPrism could not import {} (HTTP 415)"]), file_names, file_names)
def test_reasons_differing_only_in_details_share_a_group(template: str, one: str,
                                                         other: str) -> None:
    safe = [n.replace(" ", "_") + "1" for n in (one, other)]  # ids and names carry digits
    first, second = (template.format(n) for n in safe)
    assert reason_group(first) == reason_group(second)
    assert reason_group(first) and reason_group(first) != "no reason given"


@given(st.lists(st.tuples(st.sampled_from(["failed", "unreadable", "skipped"]), names, names),
                max_size=20))
def test_csv_holds_every_row_and_no_formula(rows: list[tuple[str, str, str]]) -> None:
    found = [Problem("run", "folder:/x", outcome, reason, "=" + file, "json")
             for outcome, reason, file in rows]
    parsed = list(csv.DictReader(io.StringIO(problems.as_csv(found))))
    assert len(parsed) == len(found)
    for row, problem in zip(parsed, found, strict=True):
        assert row["file"] == "'" + problem.file  # never a formula in a spreadsheet
        assert not any(value[:1] in ("=", "+", "-", "@") for value in row.values())
        for key, value in problem.row().items():
            assert row[key].removeprefix("'") == value.removeprefix("'") or row[key] == (
                "'" + value)
