"""Issue 9: a damaged state gives one line naming the file and how to recover; backups are
kept and restored; `status` never hangs; state files are private to their owner."""

from __future__ import annotations

import shutil
import sqlite3
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from importer import statefile
from importer.state import ItemRecord, State, StateDamaged, StateError, TargetRecord
from tests.conftest import SAMPLE, CliResult, cli_command, library_entries, originals

PAGE = 4096


def _fill(path: Path, n: int = 400) -> None:
    with State(path) as state:
        for i in range(n):
            target = TargetRecord("imported", "2024-01-01T00:00:00+00:00", remote_id=f"r/{i}",
                                  written_sha1=f"{i:040x}", albums=("k1",))
            state.put(ItemRecord(f"https://photos.google.com/photo/{i}", f"IMG_{i}.jpg" * 5,
                                 f"{i:040x}", targets={"folder:/lib": target}))
        state.put_album("folder:/lib", "k1", "Trip", "Trip")
        state.add_run({"started": "now", "counts": {"imported": n}})


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = tmp_path_factory.mktemp("template") / "state.sqlite"
    _fill(path)
    return path.read_bytes()


def _damage(data: bytes, kind: str, at: float, size: int) -> bytes:
    buffer = bytearray(data)
    where = int(at * len(buffer))
    if kind == "zero-page":
        page = where // PAGE * PAGE
        buffer[page:page + PAGE] = bytes(min(PAGE, len(buffer) - page))
    elif kind == "truncate":
        del buffer[where:]
    else:
        end = min(len(buffer), where + size)
        buffer[where:end] = bytes((i * 37 + 11) % 256 for i in range(end - where))
    return bytes(buffer)


def _read_everything(state: State) -> int:
    count = sum(1 for _ in state.items())
    state.get("https://photos.google.com/photo/7")
    state.album_info("folder:/lib", "k1")
    state.runs()
    return count


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=st.sampled_from(["zero-page", "truncate", "garbage"]),
       at=st.floats(0, 0.999), size=st.integers(1, 3 * PAGE), readonly=st.booleans())
def test_damage_is_one_line_naming_the_file_never_a_crash(
        tmp_path: Path, template: bytes, kind: str, at: float, size: int,
        readonly: bool) -> None:
    folder = tmp_path / f"s-{kind}-{at}-{size}-{readonly}"
    folder.mkdir()
    path = folder / "state.sqlite"
    path.write_bytes(_damage(template, kind, at, size))
    try:
        with State(path, readonly=readonly) as state:
            _read_everything(state)
    except StateError as exc:
        message = str(exc)
        assert "\n" not in message
        assert message.startswith(str(path))
        if isinstance(exc, StateDamaged):
            assert "damaged" in message and "run the import again" in message


def test_every_kind_of_damage_is_detected(tmp_path: Path, template: bytes) -> None:
    """The obvious cases are not merely survived: they are reported as damage."""
    cases = {"zero-page": _damage(template, "zero-page", 0.5, 0),
             "truncate": _damage(template, "truncate", 0.5, 0),
             "garbage": _damage(template, "garbage", 0.0, 200)}
    for name, data in cases.items():
        path = tmp_path / name / "state.sqlite"
        path.parent.mkdir()
        path.write_bytes(data)
        for readonly in (True, False):
            with pytest.raises(StateDamaged, match="damaged"), \
                    State(path, readonly=readonly) as state:
                _read_everything(state)


def _one_line(result: CliResult, *needles: str) -> str:
    lines = [line for line in result.err.splitlines() if line.strip()]
    assert len(lines) == 1, result.err
    for needle in needles:
        assert needle in lines[0]
    return lines[0]


def test_damaged_state_then_restore_then_import_is_exact(
        tmp_path: Path, cli: Callable[..., CliResult]) -> None:
    library = tmp_path / "library"
    assert cli("import", SAMPLE, "--to", f"folder:{library}").code == 0
    state_file = library / ".gphotos-importer" / "state.sqlite"
    assert statefile.backups(state_file) == [statefile.backup_path(state_file)]
    files_before = originals(library)
    state_file.write_bytes(_damage(state_file.read_bytes(), "zero-page", 0.01, 0))

    for command in (("status", "--to"), ("import", SAMPLE, "--to"), ("verify", "--to")):
        result = cli(*command, f"folder:{library}")
        assert result.code == 2
        _one_line(result, str(state_file), "damaged", "restore-state")

    restored = cli("restore-state", "--to", f"folder:{library}")
    assert restored.code == 0, restored.err
    assert "state.sqlite.backup-1" in restored.out
    assert len(list(state_file.parent.glob("state.sqlite.damaged-*"))) == 1
    again = cli("import", SAMPLE, "--to", f"folder:{library}")
    assert again.code == 0, again.err
    assert "Nothing new to import" in again.out
    assert originals(library) == files_before
    assert cli("verify", "--to", f"folder:{library}").code == 0


def test_items_imported_after_the_backup_are_not_copied_twice(
        tmp_path: Path, cli: Callable[..., CliResult]) -> None:
    """Restoring an older backup forgets the last run; the next run finds its files by
    checksum in the library and stores nothing twice."""
    library = tmp_path / "library"
    first = tmp_path / "first"
    shutil.copytree(SAMPLE, first)
    year = first / "Takeout/Google Photos/Photos from 2019"
    (year / "IMG_20190704_101500.jpg").unlink()
    (year / "IMG_20190704_101500.jpg.json").unlink()
    assert cli("import", first, "--to", f"folder:{library}").code == 0
    state_file = library / ".gphotos-importer" / "state.sqlite"
    assert cli("import", SAMPLE, "--to", f"folder:{library}").code == 0
    count = len(originals(library))
    state_file.write_bytes(b"garbage" * 100)
    statefile.backup_path(state_file).unlink()  # only the older backup is left
    assert cli("restore-state", "--to", f"folder:{library}").code == 0
    assert cli("import", SAMPLE, "--to", f"folder:{library}").code == 0
    assert len(originals(library)) == count
    paths = [e["path"] for e in library_entries(library)]
    assert len(paths) == len(set(paths)) == count


def test_no_backup_says_how_to_start_again(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    path.write_bytes(b"SQLite format 3\x00" + b"\xff" * 5000)
    with pytest.raises(StateDamaged, match=r"no backup exists; move state\.sqlite aside"):
        State(path)


def test_backups_rotate_and_a_damaged_state_is_never_backed_up(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    for n in range(5):
        with State(path) as state:
            state.put(ItemRecord(f"id-{n}", "a.jpg"))
    kept = statefile.backups(path)
    assert [p.name for p in kept] == [f"state.sqlite.backup-{n}" for n in (1, 2, 3)]
    with State(statefile.backup_path(path, 1), readonly=True) as newest:
        assert {r.identity for r in newest.items()} == {f"id-{n}" for n in range(5)}
    with State(statefile.backup_path(path, 3), readonly=True) as oldest:
        assert {r.identity for r in oldest.items()} == {f"id-{n}" for n in range(3)}
    before = {p.name: p.read_bytes() for p in kept}
    state = State(path)
    state.put(ItemRecord("id-x", "b.jpg"))
    path.write_bytes(_damage(path.read_bytes(), "garbage", 0.0, 300))
    state.close()
    assert {p.name: p.read_bytes() for p in statefile.backups(path)} == before


def test_a_read_only_open_of_a_clean_state_leaves_no_files_behind(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    _fill(path, 3)
    before = sorted(p.name for p in tmp_path.iterdir())
    done = subprocess.run(cli_command("status", "--state", path), capture_output=True,
                          text=True, check=False, timeout=60)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == before


_HOLD_EXCLUSIVE = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("PRAGMA locking_mode=EXCLUSIVE")
conn.execute("BEGIN EXCLUSIVE")
conn.execute("INSERT INTO runs VALUES ('x', '{}')")
print("locked", flush=True)
time.sleep(60)
"""

_HOLD_OPEN_RUN = """
import sys, time
from pathlib import Path
from importer.state import ItemRecord, State
state = State(Path(sys.argv[1]))
for i in range(50):
    state.put(ItemRecord(f"live-{i}", "a.jpg"))
print("writing", flush=True)
time.sleep(60)
"""


def _holder(code: str, path: Path) -> subprocess.Popen[str]:
    process = subprocess.Popen([sys.executable, "-c", code, str(path)],
                               stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    process.stdout.readline()
    return process


@pytest.mark.parametrize("holder", ["exclusive lock", "live run"])
def test_status_never_hangs(tmp_path: Path, holder: str) -> None:
    path = tmp_path / "state.sqlite"
    _fill(path, 20)
    process = _holder(_HOLD_EXCLUSIVE if holder == "exclusive lock" else _HOLD_OPEN_RUN, path)
    try:
        started = time.monotonic()
        done = subprocess.run(cli_command("status", "--state", path), capture_output=True,
                              text=True, check=False, timeout=60)
        took = time.monotonic() - started
    finally:
        process.kill()
        process.wait()
    assert took < 30
    if holder == "exclusive lock":
        assert done.returncode == 2
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and "holds the state locked" in lines[0], done.stderr
    else:
        assert done.returncode == 0, done.stderr
        assert "70 items" in done.stdout  # the live run's committed items are shown


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_state_report_index_lock_and_backups_are_private(
        tmp_path: Path, cli: Callable[..., CliResult]) -> None:
    library = tmp_path / "library"
    report = tmp_path / "report.json"
    outside = tmp_path / "elsewhere" / "deeper" / "state.sqlite"
    assert cli("import", SAMPLE, "--to", f"folder:{library}", "--report", report).code == 0
    assert cli("import", SAMPLE, "--to", f"folder:{tmp_path / 'lib2'}",
               "--state", outside).code == 0
    own = library / ".gphotos-importer"
    private = [own / "state.sqlite", own / "state.sqlite.lock", own / "state.sqlite.backup-1",
               library / "library.jsonl", report, outside, outside.with_name("state.sqlite.lock"),
               outside.with_name("state.sqlite.backup-1")]
    private += list(library.glob("albums/*/.album.json"))
    for path in private:
        assert _mode(path) == 0o600, path
    for folder in (own, outside.parent):
        assert _mode(folder) == 0o700, folder
    photo = originals(library)[0]
    assert _mode(photo) & 0o044, "photos keep the user's usual permissions"


def test_wal_files_of_a_live_state_are_private(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    with State(path) as state:
        state.put(ItemRecord("a", "a.jpg"))
        sides = [p for p in tmp_path.iterdir() if p.name.endswith(("-wal", "-shm"))]
        assert sides
        for side in sides:
            assert _mode(side) == 0o600, side


def test_a_backup_that_cannot_be_written_leaves_the_older_ones(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A full disk at the end of a run: no new backup, no error, the older copies stay."""
    path = tmp_path / "state.sqlite"
    with State(path) as state:
        state.put(ItemRecord("a", "a.jpg"))
    before = statefile.backup_path(path).read_bytes()

    def full(*_: object) -> None:
        raise OSError(28, "No space left on device")

    state = State(path)  # the open itself creates files: the disk fills up during the run
    state.put(ItemRecord("b", "b.jpg"))
    monkeypatch.setattr(statefile, "private_file", full)
    state.close()
    assert statefile.backup_path(path).read_bytes() == before
    assert not path.with_name("state.sqlite.backup-new").exists()


def test_a_full_disk_under_the_state_is_one_line_not_a_hang(tmp_path: Path) -> None:
    """SQLite's own size cap stands in for a full disk: the write that does not fit is
    refused in one line naming the file (sqlitedict's worker thread used to die here and
    leave the run waiting forever)."""
    path = tmp_path / "state.sqlite"
    state = State(path)
    state.put(ItemRecord("first", "a.jpg"))
    assert state._conn is not None
    pages = state._conn.execute("PRAGMA page_count").fetchone()[0]
    state._conn.execute(f"PRAGMA max_page_count={pages + 1}")
    started = time.monotonic()
    with pytest.raises(StateError) as raised:
        for n in range(200):
            state.put(ItemRecord(f"id-{n}", "x" * 5000))
    assert time.monotonic() - started < 30
    message = str(raised.value)
    assert message.startswith(str(path)) and "full" in message and "\n" not in message
    state.close()
    with State(path, readonly=True) as again:  # what was committed is still there
        assert again.get("first") == ItemRecord("first", "a.jpg")


def test_a_row_that_is_not_text_is_damage_not_a_hang(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    _fill(path, 30)
    conn = sqlite3.connect(path)
    conn.execute("UPDATE items SET value = CAST(X'7B22FF' AS TEXT) WHERE rowid = 7")
    conn.commit()
    conn.close()
    for readonly in (False, True):
        with pytest.raises(StateDamaged, match="damaged"), \
                State(path, readonly=readonly) as state:
            _read_everything(state)


@pytest.mark.parametrize("command", [
    ("status",), ("verify", "--to", "folder:{lib}"),
    ("import", str(SAMPLE), "--to", "folder:{lib}"),
])
def test_a_folder_given_as_the_state_is_named_not_called_damaged(
        tmp_path: Path, cli: Callable[..., CliResult], command: tuple[str, ...]) -> None:
    """A folder where the state file belongs is the wrong path, not damage: one line that
    says so (moving it aside, the advice for damage, would not help), and nothing written."""
    folder = tmp_path / "state-folder"
    folder.mkdir()
    args = [part.format(lib=tmp_path / "lib") for part in command]
    result = cli(*args, "--state", folder)
    assert result.code == 2, result.out
    assert result.err.strip() == f"gphotos-importer: error: {folder}: cannot open the state: " \
                                 "Is a directory"
    assert list(folder.iterdir()) == [] and not (tmp_path / "lib").exists()
