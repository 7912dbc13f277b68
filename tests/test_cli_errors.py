"""Issue 2: usage errors are one line, exit 2, leave the state alone; dry-run changes nothing."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from importer.state import State
from tests.conftest import SAMPLE, CliResult, cli_command


def _snapshot(folder: Path) -> dict[str, str]:
    """Every file under `folder` with a hash of its bytes (links by their target)."""
    if not folder.exists():
        return {}
    result = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if path.is_symlink():
            result[rel] = "-> " + str(path.readlink())
        elif path.is_file():
            result[rel] = hashlib.sha1(path.read_bytes()).hexdigest()
    return result


@pytest.fixture
def imported(tmp_path: Path, cli: Callable[..., CliResult]) -> Path:
    library = tmp_path / "library"
    assert cli("import", SAMPLE, "--to", f"folder:{library}").code == 0
    return library


def _one_line_error(result: CliResult, *needles: str) -> None:
    assert result.code == 2
    lines = [line for line in result.err.splitlines() if line.strip()]
    assert len(lines) == 1, result.err
    assert lines[0].startswith("gphotos-importer: error: ")
    for needle in needles:
        assert needle in lines[0]


@pytest.mark.parametrize(
    ("config", "needles"),
    [
        ("workers: many\n", ("config.yaml", "`workers`")),
        ("takeout:\n  include_trashd: true\n", ("config.yaml", "takeout.include_trashd")),
        ("immich:\n  api_key: ${NOT_SET_ANYWHERE}\n", ("immich.api_key", "NOT_SET_ANYWHERE")),
        ("to: [\n", ("config.yaml", "not valid YAML")),
        ("- a list\n", ("config.yaml", "mapping")),
    ],
)
def test_bad_config_is_one_line_exit_2_state_untouched(
    imported: Path, tmp_path: Path, cli: Callable[..., CliResult], config: str,
    needles: tuple[str, ...],
) -> None:
    before = _snapshot(imported)
    path = tmp_path / "config.yaml"
    path.write_text(config)
    result = cli("import", SAMPLE, "--to", f"folder:{imported}", "--config", path)
    _one_line_error(result, *needles)
    assert _snapshot(imported) == before


def test_missing_source(imported: Path, tmp_path: Path, cli: Callable[..., CliResult]) -> None:
    before = _snapshot(imported)
    missing = tmp_path / "takeout-001.zip"
    result = cli("import", missing, "--to", f"folder:{imported}")
    _one_line_error(result, str(missing), "no such file")
    assert _snapshot(imported) == before


def test_unreadable_archive(imported: Path, tmp_path: Path,
                            cli: Callable[..., CliResult]) -> None:
    before = _snapshot(imported)
    broken = tmp_path / "takeout-20240101T000000Z-001.zip"
    broken.write_bytes(b"PK\x03\x04 this is not really a zip archive" * 10)
    result = cli("import", broken, "--to", f"folder:{imported}")
    _one_line_error(result, str(broken), "zip")
    assert _snapshot(imported) == before


def test_unknown_target_scheme(tmp_path: Path, cli: Callable[..., CliResult]) -> None:
    _one_line_error(cli("import", SAMPLE, "--to", "s3:bucket"), "s3:bucket", "folder:DIR")


def test_second_run_refused_while_lock_held(imported: Path,
                                            cli: Callable[..., CliResult]) -> None:
    state_file = imported / ".gphotos-importer" / "state.sqlite"
    before = _snapshot(imported)
    with State(state_file):  # another run holding the state
        result = cli("import", SAMPLE, "--to", f"folder:{imported}")
    _one_line_error(result, str(state_file), "another run")
    assert _snapshot(imported) == before
    assert cli("import", SAMPLE, "--to", f"folder:{imported}").code == 0  # lock released


def test_dry_run_changes_nothing_on_fresh_target(tmp_path: Path,
                                                 cli: Callable[..., CliResult]) -> None:
    library = tmp_path / "library"
    result = cli("import", SAMPLE, "--to", f"folder:{library}", "--dry-run")
    assert result.code == 0
    assert not library.exists(), "dry run must not create the target or its state"
    assert result.out.count("upload") == 4
    assert "Dry run" in result.out


def test_dry_run_after_import_plans_nothing_and_changes_nothing(imported: Path) -> None:
    # A separate process, as a user runs it: SQLite's per-process locks would make an
    # in-process reader leave its WAL files behind.
    before = _snapshot(imported)
    command = cli_command("import", SAMPLE, "--to", f"folder:{imported}", "--dry-run")
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "upload " not in done.stdout
    assert done.stdout.count("skip") == 4
    assert _snapshot(imported) == before


def test_dry_run_plans_only_the_new_items(imported: Path, tmp_path: Path) -> None:
    bigger = tmp_path / "export"
    shutil.copytree(SAMPLE, bigger)
    extra = bigger / "Takeout/Google Photos/Photos from 2019"
    shutil.copy(extra / "IMG_20190704_101500.jpg", extra / "IMG_20190705_101500.jpg")
    (extra / "IMG_20190705_101500.jpg.json").write_text(
        (extra / "IMG_20190704_101500.jpg.json").read_text().replace("AF1QipTram28", "AF1QipNew")
    )
    before = _snapshot(imported)
    command = cli_command("import", bigger, "--to", f"folder:{imported}", "--dry-run")
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    planned = [line for line in done.stdout.splitlines() if line.startswith("upload")]
    assert len(planned) == 1 and "IMG_20190705_101500.jpg" in planned[0]
    assert _snapshot(imported) == before
