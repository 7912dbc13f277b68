"""The steps that close a run, shared by `import` and watch: a target whose statistics
fail at the end, or a state that cannot take the run's record, never costs a traceback or
an item already recorded; each run of either command goes through the same two steps."""

from __future__ import annotations

import errno
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from adapters.base import TargetUnavailable
from adapters.folder.target import FolderTarget
from importer.faults import EXIT_DISK_FULL, EXIT_OK, EXIT_STATE, EXIT_TARGET
from importer.state import State
from importer.statefile import StateDamaged, StateFull
from tests.conftest import CliResult, originals
from tests.exportgen import make_items, write_parts
from tests.test_watch_folder import STAMP, land, named, once

N = 8

# What a target's statistics may raise at the end of a run, and the exit it calls for.
STATS_FAULTS: list[tuple[BaseException, int]] = [
    (RuntimeError("boom"), EXIT_OK),
    (KeyError("http_requests"), EXIT_OK),
    (TargetUnavailable("connection refused"), EXIT_TARGET),
    (OSError(errno.ENOSPC, "No space left on device"), EXIT_DISK_FULL),
]
# What writing the run's record may raise, and the exit it calls for.
RECORD_FAULTS: list[tuple[BaseException, int]] = [
    (StateFull("state.sqlite: no space left to write the state"), EXIT_DISK_FULL),
    (StateDamaged("state.sqlite: the state is damaged"), EXIT_STATE),
    (ValueError("bad summary"), 5),
]


def case_id(value: object) -> str:
    return type(value).__name__ if isinstance(value, BaseException) else f"exit{value}"


def failing(exc: BaseException) -> Callable[..., Any]:
    def fail(*_args: object, **_kwargs: object) -> Mapping[str, int]:
        raise exc
    return fail


def recorded(library: Path) -> tuple[int, list[dict[str, Any]]]:
    """How many items and which runs the library's state holds."""
    with State(library / ".gphotos-importer" / "state.sqlite", readonly=True) as opened:
        return sum(1 for _ in opened.items()), opened.runs()


def import_export(tmp_path: Path, cli: Callable[..., CliResult]) -> tuple[CliResult, Path]:
    export = write_parts(tmp_path / "export", make_items(N, seed=3), "zip", parts=2, seed=3)
    library = tmp_path / "library"
    result = cli("import", *export.sources, "--to", f"folder:{library}")
    return result, library


def watch_export(tmp_path: Path, cli: Callable[..., CliResult]) -> tuple[CliResult, Path]:
    """One export of N items delivered to an inbox, and one watch cycle over it."""
    inbox, library = tmp_path / "inbox", tmp_path / "library"
    inbox.mkdir(exist_ok=True)
    land(tmp_path, inbox, n=N, stamp=STAMP)
    result = cli("watch", "--once", "--inbox", inbox, "--to", f"folder:{library}",
                 "--settle", "0s", "--log-format", "json")
    return result, library


@pytest.mark.parametrize(("exc", "code"), STATS_FAULTS, ids=case_id)
def test_import_whose_target_statistics_fail_is_finished_and_recorded(
        tmp_path: Path, cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch,
        exc: BaseException, code: int) -> None:
    monkeypatch.setattr(FolderTarget, "stats", failing(exc))
    result, library = import_export(tmp_path, cli)
    assert result.code == code, result.err
    assert "Traceback" not in result.err + result.out
    assert len(originals(library)) == N
    items, runs = recorded(library)
    assert items == N and len(runs) == 1 and runs[0]["target_stats"] == {}
    assert runs[0]["exit_code"] == code


@pytest.mark.parametrize(("exc", "code"), RECORD_FAULTS, ids=case_id)
def test_import_whose_run_record_cannot_be_written_keeps_its_items(
        tmp_path: Path, cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch,
        exc: BaseException, code: int) -> None:
    monkeypatch.setattr(State, "add_run", failing(exc))
    result, library = import_export(tmp_path, cli)
    assert result.code == code
    assert "Traceback" not in result.err + result.out
    assert str(exc).strip("'") in result.err or type(exc).__name__ in result.err
    monkeypatch.undo()
    items, runs = recorded(library)
    assert items == N and runs == [] and len(originals(library)) == N


@pytest.mark.parametrize(("exc", "code"), STATS_FAULTS, ids=case_id)
def test_watch_import_whose_target_statistics_fail_is_recorded(
        tmp_path: Path, cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch,
        exc: BaseException, code: int) -> None:
    """Watch shares the closing steps: before, a failing `stats()` skipped the run's
    record and escaped the cycle."""
    monkeypatch.setattr(FolderTarget, "stats", failing(exc))
    result, library = watch_export(tmp_path, cli)
    assert "Traceback" not in result.err + result.out
    items, runs = recorded(library)
    assert items == N and len(runs) == 1 and runs[0]["exit_code"] == code
    assert (result.code == 0) == (code == EXIT_OK)


@pytest.mark.parametrize(("exc", "code"), RECORD_FAULTS, ids=case_id)
def test_watch_cycle_whose_run_record_fails_keeps_the_export_for_next_time(
        tmp_path: Path, cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch,
        exc: BaseException, code: int) -> None:
    monkeypatch.setattr(State, "add_run", failing(exc))
    result, library = watch_export(tmp_path, cli)
    assert result.code != 0 and "Traceback" not in result.err + result.out
    monkeypatch.undo()
    items, runs = recorded(library)
    assert items == N and runs == []  # the items are recorded; the export is not done
    _, found = once(cli, tmp_path / "inbox", library)
    assert named(found, "export.imported") and len(originals(library)) == N
    assert len(recorded(library)[1]) == 1
