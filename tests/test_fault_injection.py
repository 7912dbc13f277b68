"""Issue 9: a gallery that raises anything at any point never ends a run in a traceback.

Hypothesis picks which calls fail (upload, the setters, album calls, the checksum look-up,
stats, close), with what (our own errors, KeyError, ValueError, OSError, RecursionError...,
or a fatal one: credentials refused, target gone, no space left), before or after the call
did its work, with 1 to 4 workers. Every run must end with its summary, a report that says
how it ended, the exit code of what happened, no traceback, and every item the report
calls done recorded in the state. A clean run afterwards must leave the exact library.
"""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from adapters.folder.target import FolderTarget
from importer.cli import main
from importer.state import State
from tests.conftest import library_entries
from tests.exportgen import GeneratedExport, make_items, write_folder
from tests.faulty_gallery import (
    ALBUM_METHODS,
    FATAL_ERRORS,
    ITEM_ERRORS,
    ITEM_METHODS,
    METHODS,
    Fault,
    FaultyGallery,
)
from tests.test_pipeline_generated import check_library

DONE = {"imported", "already there", "updated"}

faults = st.builds(
    Fault,
    method=st.sampled_from(METHODS),
    call=st.integers(1, 3),
    error=st.sampled_from([*ITEM_ERRORS, *FATAL_ERRORS]),
    after=st.booleans(),
)


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> GeneratedExport:
    items = make_items(14, seed=9, albums=2)
    return write_folder(tmp_path_factory.mktemp("export") / "export", items)


def expected_codes(fired: list[Fault]) -> set[int]:
    fatal = {f.fatal_code for f in fired if f.fatal_code is not None}
    if fatal:
        return fatal  # whichever stopped the run first
    failing = ITEM_METHODS | ALBUM_METHODS | {"close"}
    return {1} if any(f.method in failing for f in fired) else {0}


def check_report(path: Path, code: int, library: Path) -> dict[str, Any]:
    report = json.loads(path.read_text(encoding="utf-8"))
    assert report["exit_code"] == code
    assert (report["stopped"] is not None) == (code >= 3)
    target = f"folder:{library.absolute()}"
    with State(library / ".gphotos-importer" / "state.sqlite", readonly=True) as state:
        for entry in report["files"]:
            if entry["outcome"] in DONE and entry.get("identity"):
                record = state.get(entry["identity"])
                on_target = record.on(target) if record else None
                assert on_target is not None and on_target.done, entry
                assert (library / str(on_target.remote_id)).is_file(), entry
    return report


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(chosen=st.lists(faults, min_size=1, max_size=4), workers=st.integers(1, 4))
def test_any_fault_anywhere_ends_in_a_summary_a_report_and_the_right_code(
        export: GeneratedExport, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch, chosen: list[Fault], workers: int) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        library, report_path = Path(scratch) / "library", Path(scratch) / "report.json"
        double = FaultyGallery(FolderTarget(library), chosen)
        monkeypatch.setattr("importer.run.open_target", lambda spec, settings: double)
        capsys.readouterr()
        code = main(["import", *map(str, export.sources), "--to", f"folder:{library}",
                     "--workers", str(workers), "--report", str(report_path)])
        out, err = capsys.readouterr()
        event(f"exit code {code}")
        assert code in expected_codes(double.fired), (double.fired, out, err)
        assert "Traceback" not in err and "Traceback" not in out
        assert "Import into" in out  # the summary, whatever happened
        lines = [line for line in err.splitlines() if line.strip()]
        if code >= 3:
            assert len(lines) == 1 and lines[0].startswith("gphotos-importer: stopped: ")
        else:
            assert lines == []
        check_report(report_path, code, library)

        monkeypatch.undo()
        assert main(["import", *map(str, export.sources), "--to", f"folder:{library}"]) == 0
        check_library(library, export)
        assert max(Counter(e["google_url"] for e in library_entries(library)).values()) == 1
