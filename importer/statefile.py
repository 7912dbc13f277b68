"""The state's SQLite file itself: private creation, a health check, rotated backups, restore.

The state holds places, captions and people's names, so it and everything beside it (the
lock, the backups) is created readable by its owner only. A state damaged by a disk or a
copy gone wrong (a zeroed page, a cut-off file, garbage bytes) must give one line that names
it and says how to recover, never a traceback deep inside SQLite, so every open starts with
SQLite's own `quick_check`. Each run that wrote the state ends with an online backup
(SQLite's backup API sees a consistent snapshot, WAL included), checked before it replaces
the oldest of `BACKUPS` copies: a damaged state is never backed up over good ones.

Tables keep sqlitedict's layout (`key TEXT PRIMARY KEY, value BLOB`, JSON text values), so
any state file reads as before, but go through one plain connection of our own: an error
(a full disk on commit, a row that is not UTF-8) is raised where the call was made.
sqlitedict's worker thread dies on such errors and leaves its caller waiting forever.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

BACKUPS = 3
BUSY_TIMEOUT = 3.0
"""Seconds to wait for a lock another program holds on the file (never hang)."""
PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700
_SIDE_FILES = ("-wal", "-shm")
ITER_CHUNK = 1000


class StateError(Exception):
    """The state cannot be used; the message names the file."""


class StateLocked(StateError):
    pass


class StateFull(StateError):
    """No space left to write the state: the run stops (nothing recorded is lost)."""


class StateDamaged(StateError):
    """The file is not an intact SQLite database (or holds records we cannot read)."""


def private_dir(path: Path) -> None:
    """Create `path` (and its parents) if missing; the folder itself owner-only."""
    if not path.is_dir():
        path.mkdir(parents=True, exist_ok=True)
        os.chmod(path, PRIVATE_DIR)


def private_file(path: Path) -> None:
    """Create `path` empty and owner-only if missing; tighten it if it exists."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, PRIVATE_FILE)
    try:
        with contextlib.suppress(OSError):  # another owner's file: leave its mode
            os.fchmod(fd, PRIVATE_FILE)
    finally:
        os.close(fd)


def acquire_lock(path: Path) -> TextIO:
    """Hold `<state>.lock` (an advisory lock the kernel drops if the process dies), holding
    our pid for the message another run gives; StateLocked when someone else holds it."""
    lock_path = path.with_name(path.name + ".lock")
    try:
        private_dir(path.parent)
        private_file(lock_path)
        lock = open(lock_path, "r+")  # noqa: SIM115
    except OSError as exc:
        raise StateError(f"{path}: cannot create the state: {exc.strerror}") from exc
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = lock.read().strip() or "another process"
        lock.close()
        raise StateLocked(
            f"{path}: another run is using this state (pid {holder}); wait for it to finish"
        ) from None
    lock.truncate()
    lock.write(str(os.getpid()))
    lock.flush()
    return lock


def backup_path(path: Path, n: int = 1) -> Path:
    return path.with_name(f"{path.name}.backup-{n}")


def backups(path: Path) -> list[Path]:
    """Existing backups, newest first."""
    return [p for n in range(1, BACKUPS + 1) if (p := backup_path(path, n)).is_file()]


def recovery_hint(path: Path) -> str:
    """How to get going again, for the one line that reports a damaged state."""
    if backups(path):
        return ("restore the last backup with `gphotos-importer restore-state --state "
                f"{path}`, then run the import again")
    return (f"no backup exists; move {path.name} aside and run the import again (items "
            "already on the target are found again by checksum, not copied twice)")


def connect(path: Path, *, query_only: bool = False) -> sqlite3.Connection:
    """A connection that gives up on another program's lock after BUSY_TIMEOUT. Read-only
    users get a normal connection with writes refused: a `mode=ro` one would leave the
    WAL files behind in the user's folder."""
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT, check_same_thread=False)
    if query_only:
        conn.execute("PRAGMA query_only=1")
    return conn


def check_health(path: Path) -> None:
    """Raise StateDamaged (or StateError when it is locked) unless SQLite finds the file
    intact. A missing or empty file is healthy: it becomes a new state."""
    if path.is_dir():  # not damaged: the wrong path (moving it aside would not help)
        raise StateError(f"{path}: cannot open the state: Is a directory")
    if not path.exists() or path.stat().st_size == 0:
        return
    try:
        conn = connect(path, query_only=True)
        try:
            problems = [row[0] for row in conn.execute("PRAGMA quick_check(3)")]
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:  # OperationalError included
        raise sqlite_problem(path, exc) from None
    if problems != ["ok"]:
        first = str(problems[0]) if problems else "no answer"
        raise damaged(path, f"SQLite's check: {first}")


def sqlite_problem(path: Path, exc: sqlite3.DatabaseError) -> StateError:
    """What SQLite's refusal means for the user: another program holding the file, or
    damage (one line, naming the file)."""
    if isinstance(exc, sqlite3.OperationalError) and ("locked" in str(exc)
                                                       or "busy" in str(exc)):
        return StateError(f"{path}: another program holds the state locked; "
                          "try again when it is done")
    return damaged(path, str(exc))


def damaged(path: Path, why: str) -> StateDamaged:
    """One line: SQLite's checks list a problem per line, cut to the first."""
    lines = [line for line in why.splitlines() if line.strip() and "***" not in line]
    reason = (lines or ["unknown"])[0][:160]
    return StateDamaged(f"{path}: the state file is damaged ({reason}); {recovery_hint(path)}")


def backup(path: Path) -> Path | None:
    """Copy the state to `<state>.backup-1`, shifting older copies; None when the copy does
    not pass its check (then the older backups stay as they are)."""
    tmp = path.with_name(f"{path.name}.backup-new")
    try:
        _remove(tmp)
        private_file(tmp)
        source = connect(path, query_only=True)
        target = sqlite3.connect(tmp)
        try:
            source.backup(target)
            intact = target.execute("PRAGMA quick_check").fetchone() == ("ok",)
            target.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        finally:
            target.close()
            source.close()
    except (sqlite3.Error, OSError):  # a full disk: no new backup, the older ones stay
        intact = False
    if not intact:
        with contextlib.suppress(OSError):
            _remove(tmp)
        return None
    for n in range(BACKUPS - 1, 0, -1):
        older = backup_path(path, n)
        if older.exists():
            older.replace(backup_path(path, n + 1))
    tmp.replace(backup_path(path))
    return backup_path(path)


def restore(path: Path) -> tuple[Path, Path | None]:
    """Put the newest intact backup in place of the state. The state that was there (and
    its WAL files) is kept aside as `<state>.damaged-<time>`, never deleted. Returns the
    backup used and where the old state went. The caller holds the state's lock."""
    chosen = next((b for b in backups(path) if _intact(b)), None)
    if chosen is None:
        raise StateError(f"{path}: no intact backup to restore; {recovery_hint(path)}")
    aside = None
    if path.exists():
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        aside = path.with_name(f"{path.name}.damaged-{stamp}")
        path.replace(aside)
        for suffix in _SIDE_FILES:
            side = path.with_name(path.name + suffix)
            if side.exists():
                side.replace(aside.with_name(aside.name + suffix))
    tmp = path.with_name(f"{path.name}.restoring")
    private_file(tmp)
    shutil.copyfile(chosen, tmp)
    tmp.replace(path)
    return chosen, aside


def _intact(path: Path) -> bool:
    try:
        check_health(path)
    except StateError:
        return False
    return True


def _remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def storable(text: str) -> str:
    """An undecodable byte of a file name (a lone surrogate, which SQLite cannot store) as
    a backslash escape: in JSON text that is its escape, so it reads back the same."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def encode(value: Any) -> str:
    return storable(json.dumps(value, ensure_ascii=False, separators=(",", ":"),
                               sort_keys=True))


def decode(text: str | bytes) -> Any:
    return json.loads(text)


class Table:
    """One table of the state: a dict of JSON values, on a connection shared (under `lock`)
    by all tables. A missing table reads as empty; writing creates it."""

    def __init__(self, conn: sqlite3.Connection, lock: threading.RLock, name: str) -> None:
        self.conn, self.lock, self.name = conn, lock, name
        self._exists: bool | None = None

    def _sql(self, sql: str) -> str:
        return sql.replace("{table}", f'"{self.name}"')

    def _ready(self, create: bool) -> bool:
        if self._exists is None or (create and not self._exists):
            if create:
                self.conn.execute(self._sql(
                    "CREATE TABLE IF NOT EXISTS {table} (key TEXT PRIMARY KEY, value BLOB)"))
                self._exists = True
            else:
                found = self.conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' "
                                          "AND name=?", (self.name,)).fetchone()
                self._exists = found is not None
        return self._exists

    def get(self, key: str, default: Any = None) -> Any:
        with self.lock:
            if not self._ready(False):
                return default
            row = self.conn.execute(self._sql("SELECT value FROM {table} WHERE key = ?"),
                                    (storable(key),)).fetchone()
        return default if row is None else decode(row[0])

    def __getitem__(self, key: str) -> Any:
        missing = object()
        found = self.get(key, missing)
        if found is missing:
            raise KeyError(key)
        return found

    def __setitem__(self, key: str, value: Any) -> None:
        with self.lock:
            self._ready(True)
            self.conn.execute(self._sql("REPLACE INTO {table} (key, value) VALUES (?, ?)"),
                              (storable(key), encode(value)))

    def pop(self, key: str, default: Any = None) -> Any:
        with self.lock:
            found = self.get(key, default)
            if self._ready(False):
                self.conn.execute(self._sql("DELETE FROM {table} WHERE key = ?"),
                                  (storable(key),))
        return found

    def items(self) -> Iterator[tuple[str, Any]]:
        """In insertion order, read in chunks: rows written while iterating (a rewritten
        row moves to the end) are not met again."""
        with self.lock:
            if not self._ready(False):
                return
            last = self.conn.execute(self._sql("SELECT MAX(rowid) FROM {table}")).fetchone()[0]
        after = -1
        while last is not None:
            with self.lock:
                rows = self.conn.execute(self._sql(
                    "SELECT rowid, key, value FROM {table} WHERE rowid > ? AND rowid <= ? "
                    f"ORDER BY rowid LIMIT {ITER_CHUNK}"), (after, last)).fetchall()
            if not rows:
                return
            for rowid, key, value in rows:
                after = rowid
                yield key, decode(value)

    def keys(self) -> list[str]:
        """Every key, in insertion order."""
        with self.lock:
            if not self._ready(False):
                return []
            return [row[0] for row in self.conn.execute(
                self._sql("SELECT key FROM {table} ORDER BY rowid"))]

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __len__(self) -> int:
        with self.lock:
            if not self._ready(False):
                return 0
            return int(self.conn.execute(self._sql("SELECT COUNT(*) FROM {table}")
                                         ).fetchone()[0])

    def commit(self) -> None:
        with self.lock:
            self.conn.commit()
