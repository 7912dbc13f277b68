"""The state: JSON values readable by other tools, schema version, lock, per-item commits."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from importer.state import SCHEMA_VERSION, ItemRecord, State, StateError, StateLocked, TargetRecord


def _record(identity: str = "https://photos.google.com/photo/A") -> ItemRecord:
    on_target = TargetRecord(outcome="imported", at="2026-01-01T00:00:00+00:00", remote_id="r1",
                             written_sha1="b" * 40, albums=("title:Trip",), favorite=True,
                             synced={"favorite": True})
    return ItemRecord(identity, "IMG_1.jpg", "a" * 40, identity, {"folder:/x": on_target})


def test_values_are_json_text_not_pickles(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    with State(path) as state:
        state.put(_record())
    rows = sqlite3.connect(path).execute("SELECT key, value FROM items").fetchall()
    assert len(rows) == 1
    key, value = rows[0]
    assert key == "https://photos.google.com/photo/A"
    data = json.loads(value)  # plain JSON any tool can read
    assert data["source_sha1"] == "a" * 40
    assert data["targets"]["folder:/x"]["remote_id"] == "r1"
    assert data["targets"]["folder:/x"]["albums"] == ["title:Trip"]


def test_round_trip_and_checksum_lookup(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    with State(path) as state:
        state.put(_record())
    with State(path) as state:
        assert state.get("https://photos.google.com/photo/A") == _record()
        assert state.find_by_checksum("folder:/x", "a" * 40) == "https://photos.google.com/photo/A"
        assert state.find_by_checksum("folder:/x", "b" * 40) == "https://photos.google.com/photo/A"
        assert state.find_by_checksum("folder:/other", "a" * 40) is None
        assert state.remote_by_checksum("folder:/x", "b" * 40) == "r1"
        assert state.remote_by_checksum("folder:/other", "b" * 40) is None
        assert state.schema_version == SCHEMA_VERSION


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    with State(path):
        pass
    db = sqlite3.connect(path)
    db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'",
               (json.dumps(SCHEMA_VERSION + 1),))
    db.commit()
    db.close()
    with pytest.raises(StateError, match="newer than this program"):
        State(path)


def test_migrations_run_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import importer.state as module

    path = tmp_path / "state.sqlite"
    with State(path) as state:
        state.put(_record())
    seen: list[int] = []

    def upgrade(state: State) -> None:
        seen.append(state.schema_version)
        record = state.get("https://photos.google.com/photo/A")
        assert record is not None
        state.put(ItemRecord(record.identity, record.name.lower(), record.source_sha1,
                             record.google_url, record.targets))

    monkeypatch.setattr(module, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    monkeypatch.setitem(module.MIGRATIONS, SCHEMA_VERSION, upgrade)
    with State(path) as state:
        assert state.schema_version == SCHEMA_VERSION + 1
        record = state.get("https://photos.google.com/photo/A")
        assert record is not None and record.name == "img_1.jpg"
    assert seen == [SCHEMA_VERSION]


def test_lock_refuses_a_second_writer_and_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    with State(path):
        with pytest.raises(StateLocked, match=str(path)):
            State(path)
        readonly = State(path, readonly=True)  # status may read while a run holds it
        readonly.close()
    State(path).close()  # free again


def test_lock_released_when_holder_is_killed(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from pathlib import Path; from importer.state import State; "
         f"s = State(Path({str(path)!r})); print('ready', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        with pytest.raises(StateLocked):
            State(path)
    finally:
        holder.kill()
        holder.wait()
    State(path).close()


def test_each_put_is_durable_without_close(tmp_path: Path) -> None:
    """A record put and then the process killed is still there: per-item commits."""
    path = tmp_path / "state.sqlite"
    code = (
        "import os, signal; from pathlib import Path; from importer.state import *; "
        f"s = State(Path({str(path)!r})); "
        "s.put(ItemRecord('id-1', 'a.jpg')); "
        "os.kill(os.getpid(), signal.SIGKILL)"
    )
    done = subprocess.run([sys.executable, "-c", code], check=False)
    assert done.returncode == -9
    with State(path, readonly=True) as state:
        assert state.get("id-1") == ItemRecord("id-1", "a.jpg")


def test_readonly_missing_state_is_empty_and_not_created(tmp_path: Path) -> None:
    path = tmp_path / "none" / "state.sqlite"
    with State(path, readonly=True) as state:
        assert state.get("x") is None
        assert list(state.items()) == []
    assert not path.parent.exists()
