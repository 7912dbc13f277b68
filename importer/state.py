"""The import state: the source of truth for what went where.

Reruns consult this instead of listing the gallery, so it must survive crashes (each item
is committed when done, WAL journal) and stay readable by other tools (values are JSON
text, never pickles: opening a state file cannot run code). One run at a time holds it,
enforced with an advisory lock that the kernel drops if the process dies.
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from sqlitedict import SqliteDict

SCHEMA_VERSION = 1
_TABLES = ("meta", "items", "albums", "runs")


class StateError(Exception):
    """The state cannot be used; the message names the file."""


class StateLocked(StateError):
    pass


def _encode(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def _decode(text: str | bytes) -> Any:
    return json.loads(text)


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class TargetRecord:
    """What one item became on one target."""

    outcome: str
    at: str
    remote_id: str | None = None
    written_sha1: str | None = None
    albums: tuple[str, ...] = ()
    favorite: bool = False
    archived: bool = False
    synced: dict[str, Any] = field(default_factory=dict)
    live_video_id: str | None = None
    from_file: tuple[str, ...] = ()
    verified_at: str | None = None
    error: str | None = None

    @property
    def done(self) -> bool:
        return self.remote_id is not None and self.outcome != "failed"

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TargetRecord:
        data = dict(data)
        data["albums"] = tuple(data.get("albums", ()))
        data["from_file"] = tuple(data.get("from_file", ()))
        return cls(**data)


@dataclass(frozen=True)
class ItemRecord:
    identity: str
    name: str
    source_sha1: str | None = None
    google_url: str | None = None
    targets: dict[str, TargetRecord] = field(default_factory=dict)

    def on(self, target: str) -> TargetRecord | None:
        return self.targets.get(target)

    def with_target(self, target: str, record: TargetRecord) -> ItemRecord:
        return replace(self, targets={**self.targets, target: record})

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ItemRecord:
        targets = {k: TargetRecord.from_json(v) for k, v in data.get("targets", {}).items()}
        return cls(
            identity=data["identity"],
            name=data["name"],
            source_sha1=data.get("source_sha1"),
            google_url=data.get("google_url"),
            targets=targets,
        )


@dataclass(frozen=True)
class AlbumRecord:
    """Where one Google album went on one target."""

    remote_id: str
    title: str
    members: int | None = None


Migration = Callable[["State"], None]
# MIGRATIONS[n] upgrades a state at schema version n to n + 1, in place.
MIGRATIONS: dict[int, Migration] = {}


class State:
    """Owns the state file; everything else goes through these methods."""

    def __init__(self, path: Path, *, readonly: bool = False) -> None:
        self.path = path
        self.readonly = readonly
        self._lock_file: TextIO | None = None
        self._tables: dict[str, Any] = {}
        self._by_checksum: dict[tuple[str, str], tuple[str, str]] | None = None
        self._reader: sqlite3.Connection | None = None
        self._reader_lock = threading.Lock()
        if readonly and not path.exists():
            self._tables = {name: {} for name in _TABLES}
            return
        if not readonly:
            self._acquire_lock()
        try:
            self._open_tables()
            self._check_schema()
        except BaseException:
            self.close()
            raise

    # -- lifecycle -------------------------------------------------------------------------

    def _acquire_lock(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            lock = open(self.path.with_name(self.path.name + ".lock"), "a+")  # noqa: SIM115
        except OSError as exc:
            raise StateError(f"{self.path}: cannot create the state: {exc.strerror}") from exc
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            holder = lock.read().strip() or "another process"
            lock.close()
            raise StateLocked(
                f"{self.path}: another run is using this state (pid {holder}); "
                "wait for it to finish"
            ) from None
        lock.seek(0)
        lock.truncate()
        lock.write(str(os.getpid()))
        lock.flush()
        self._lock_file = lock

    def _open_tables(self) -> None:
        flag = "r" if self.readonly else "c"
        for name in _TABLES:
            try:
                table = SqliteDict(
                    str(self.path), tablename=name, flag=flag, journal_mode="WAL",
                    encode=_encode, decode=_decode, outer_stack=False,
                )
            except RuntimeError:
                table = {}  # read-only open of a state that never had this table
            except Exception as exc:
                raise StateError(f"{self.path}: not a readable state file ({exc})") from exc
            if not self.readonly:
                # WAL + NORMAL: a commit survives the process being killed, cheaply.
                table.conn.execute("PRAGMA synchronous=NORMAL")
            self._tables[name] = table
        if not self.readonly:
            self._reader = sqlite3.connect(self.path, check_same_thread=False)

    def _check_schema(self) -> None:
        meta = self._tables["meta"]
        try:
            version = meta.get("schema_version")
        except Exception as exc:
            raise StateError(f"{self.path}: not a readable state file ({exc})") from exc
        if version is None:
            if not self.readonly:
                meta["schema_version"] = SCHEMA_VERSION
                meta["created_at"] = now_iso()
                meta.commit()
            return
        if not isinstance(version, int) or version > SCHEMA_VERSION:
            raise StateError(
                f"{self.path}: state schema version {version} is newer than this program "
                f"understands ({SCHEMA_VERSION}); upgrade gphotos-importer"
            )
        while version < SCHEMA_VERSION:
            if self.readonly:
                raise StateError(f"{self.path}: state needs a migration; run an import first")
            MIGRATIONS[version](self)
            version += 1
            meta["schema_version"] = version
            meta.commit()

    @property
    def schema_version(self) -> int:
        return int(self._tables["meta"].get("schema_version", SCHEMA_VERSION))

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        for table in self._tables.values():
            if isinstance(table, SqliteDict):
                table.close()
        self._tables = {}
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None

    def __enter__(self) -> State:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- items -----------------------------------------------------------------------------

    def get(self, identity: str) -> ItemRecord | None:
        """Planning asks once per item: a direct indexed read (WAL shows it every commit
        made through sqlitedict) instead of a round trip through sqlitedict's thread."""
        if self._reader is None:
            data = self._tables["items"].get(identity)
        else:
            with self._reader_lock:
                row = self._reader.execute(
                    'SELECT value FROM "items" WHERE key = ?', (identity,)).fetchone()
            data = None if row is None else _decode(row[0])
        return None if data is None else ItemRecord.from_json(data)

    def put(self, record: ItemRecord) -> None:
        """Store and commit one item's record: a crash after this loses nothing of it."""
        items = self._tables["items"]
        items[record.identity] = record.to_json()
        items.commit()
        if self._by_checksum is not None:
            self._index(record)

    def items(self) -> Iterator[ItemRecord]:
        for _, data in self._tables["items"].items():
            yield ItemRecord.from_json(data)

    def find_by_checksum(self, target: str, sha1: str) -> str | None:
        """Identity of an item already on `target` whose source or written bytes hash to sha1."""
        found = self._checksum_index().get((target, sha1))
        return None if found is None else found[0]

    def remote_by_checksum(self, target: str, sha1: str) -> str | None:
        """Remote id on `target` of bytes hashing to sha1 that an earlier run put there."""
        found = self._checksum_index().get((target, sha1))
        return None if found is None else found[1]

    def _checksum_index(self) -> dict[tuple[str, str], tuple[str, str]]:
        if self._by_checksum is None:
            self._by_checksum = {}
            for record in self.items():
                self._index(record)
        return self._by_checksum

    def _index(self, record: ItemRecord) -> None:
        assert self._by_checksum is not None
        for target, rec in record.targets.items():
            if not rec.done or rec.remote_id is None:
                continue
            for sha1 in (record.source_sha1, rec.written_sha1):
                if sha1:
                    self._by_checksum[(target, sha1)] = (record.identity, rec.remote_id)

    # -- albums ----------------------------------------------------------------------------

    def album_id(self, target: str, album_key: str) -> str | None:
        info = self.album_info(target, album_key)
        return None if info is None else info.remote_id

    def album_info(self, target: str, album_key: str) -> AlbumRecord | None:
        data = self._tables["albums"].get(f"{target}\n{album_key}")
        if data is None:
            return None
        members = data.get("members")
        return AlbumRecord(str(data["remote_id"]), str(data.get("title", "")),
                           members if isinstance(members, int) else None)

    def has_albums(self, target: str) -> bool:
        """Whether any album is recorded for `target` (none yet: no album can be a rename)."""
        prefix = f"{target}\n"
        return any(key.startswith(prefix) for key in self._tables["albums"])

    def put_album(self, target: str, album_key: str, title: str, remote_id: str,
                  members: int | None = None) -> None:
        """`members` counts items recorded in the album (states before it had none)."""
        value: dict[str, Any] = {"remote_id": remote_id, "title": title}
        if members is not None:
            value["members"] = members
        albums = self._tables["albums"]
        albums[f"{target}\n{album_key}"] = value
        albums.commit()

    def drop_album(self, target: str, album_key: str) -> None:
        """Forget a mapping (an album renamed in Google lives on under its new key)."""
        albums = self._tables["albums"]
        albums.pop(f"{target}\n{album_key}", None)
        albums.commit()

    # -- runs ------------------------------------------------------------------------------

    def add_run(self, summary: dict[str, Any]) -> None:
        runs = self._tables["runs"]
        runs[f"{len(runs):08d}"] = summary
        runs.commit()

    def runs(self) -> list[dict[str, Any]]:
        return [value for _, value in sorted(self._tables["runs"].items())]
