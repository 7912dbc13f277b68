"""Issue 9: an unexpected exception in a worker fails only its item, with a reason; one in
the main thread's own work stops the run with its summary and report (exit 5); one anywhere
else in a command is one line (exit 5), with the traceback only when asked for."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.base import GalleryError
from importer import prepare as prepare_mod
from importer.cli import main
from importer.model import ScanEvent
from importer.sources.takeout import TakeoutSource
from tests.exportgen import GeneratedExport, make_items, write_folder
from tests.faulty_gallery import ITEM_ERRORS

REAL_RESOLVE = prepare_mod.resolve
UNEXPECTED = sorted(k for k, make in ITEM_ERRORS.items() if not isinstance(make(), GalleryError))


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> GeneratedExport:
    return write_folder(tmp_path_factory.mktemp("export") / "export",
                        make_items(10, seed=61, albums=2))


def run(export: GeneratedExport, library: Path, *extra: str) -> int:
    return main(["import", *map(str, export.sources), "--to", f"folder:{library}", *extra])


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(error=st.sampled_from(UNEXPECTED), victims=st.sets(st.integers(0, 9),
                                                                  min_size=1, max_size=4))
def test_an_error_while_preparing_fails_only_its_item(
        tmp_path_factory: pytest.TempPathFactory, export: GeneratedExport,
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        error: str, victims: set[int]) -> None:
    names = {f"IMG_{n:05d}.jpg" for n in victims}

    def resolve(facts: Any, google: Any, prefer: Any) -> Any:
        if google.title in names:
            raise ITEM_ERRORS[error]()
        return REAL_RESOLVE(facts, google, prefer)

    library, report = tmp_path_factory.mktemp("lib"), tmp_path_factory.mktemp("r") / "r.json"
    capsys.readouterr()
    with monkeypatch.context() as patched:
        patched.setattr(prepare_mod, "resolve", resolve)
        code = run(export, library, "--report", str(report))
    out, err = capsys.readouterr()
    assert code == 1 and err == "" and "Traceback" not in out
    data = json.loads(report.read_text(encoding="utf-8"))
    failed = {e["file"].rsplit("/", 1)[1]: e["reason"] for e in data["files"]
              if e["outcome"] == "failed"}
    assert set(failed) == names
    assert all(f"unexpected error ({type(ITEM_ERRORS[error]()).__name__}" in reason
               for reason in failed.values())
    assert data["counts"]["imported"] == 10 - len(names)
    assert run(export, library) == 0  # the next run retries them


def test_an_error_in_the_main_threads_work_stops_with_summary_and_report(
        tmp_path: Path, export: GeneratedExport, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The reader failing mid-way (a bug): every item read so far is in the report, done
    or interrupted, and the next run completes the export."""
    real_scan = TakeoutSource.scan

    def scan(self: TakeoutSource) -> Iterator[ScanEvent]:
        for n, event in enumerate(real_scan(self)):
            if n == 12:
                raise KeyError("surprise")
            yield event

    monkeypatch.setattr(TakeoutSource, "scan", scan)
    report = tmp_path / "report.json"
    code = run(export, tmp_path / "library", "--report", str(report))
    out, err = capsys.readouterr()
    assert code == 5 and "Traceback" not in out + err and "Import into" in out
    assert err.count("\n") == 1
    assert err.startswith("gphotos-importer: stopped: internal error: unexpected error "
                          "(KeyError: 'surprise')")
    data = json.loads(report.read_text(encoding="utf-8"))
    counts = data["counts"]
    assert data["exit_code"] == 5 and data["stopped"].startswith("internal error")
    assert counts.get("imported", 0) + counts.get("interrupted", 0) == 6  # items read
    assert counts["merged album copy"] == 6 and data["total_files"] == 12
    monkeypatch.undo()
    assert run(export, tmp_path / "library") == 0


@pytest.mark.parametrize("debug", ["", "--debug", "env"])
def test_an_error_outside_any_run_is_one_line_and_a_traceback_only_when_asked(
        tmp_path: Path, export: GeneratedExport, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch, debug: str) -> None:
    def broken(*args: Any) -> None:
        raise RuntimeError("the summary table fell over")

    monkeypatch.setattr("importer.run.print_summary", broken)
    if debug == "env":
        monkeypatch.setenv("GPHOTOS_IMPORTER_DEBUG", "1")
    flags = ["--debug"] if debug == "--debug" else []
    code = run(export, tmp_path / "library", *flags)
    _, err = capsys.readouterr()
    assert code == 5
    last = err.strip().splitlines()[-1]
    assert last.startswith("gphotos-importer: internal error: unexpected error (RuntimeError: "
                           "the summary table fell over); please report this bug")
    if debug:
        assert "Traceback (most recent call last)" in err and "def broken" not in err
        assert 'raise RuntimeError("the summary table fell over")' in err
    else:
        assert err.count("\n") == 1 and "--debug" in err


@pytest.mark.parametrize("target", ["immich:http://[::1", "photoprism:http://[::1",
                                    "immich:http://x:abc", "photoprism:https://x:99999999",
                                    "immich:ftp://x", "s3:bucket", "folder:"])
def test_a_malformed_target_address_is_a_usage_error(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch, target: str) -> None:
    monkeypatch.setenv("IMMICH_API_KEY", "abcd1234")
    monkeypatch.setenv("PHOTOPRISM_TOKEN", "abcd1234")
    code = main(["import", str(tmp_path), "--to", target, "--state", str(tmp_path / "s")])
    _, err = capsys.readouterr()
    assert code == 2 and err.count("\n") == 1 and err.startswith("gphotos-importer: error: ")


def test_a_report_that_cannot_be_written_is_one_line_and_exit_1(
        tmp_path: Path, export: GeneratedExport, capsys: pytest.CaptureFixture[str]) -> None:
    report = tmp_path / "no such folder" / "report.json"
    code = run(export, tmp_path / "library", "--report", str(report))
    out, err = capsys.readouterr()
    assert code == 1 and "Import into" in out and err.count("\n") == 1
    assert err.startswith(f"gphotos-importer: error: {report}: cannot write the report: ")
    assert run(export, tmp_path / "library") == 0  # the import itself was done and recorded
