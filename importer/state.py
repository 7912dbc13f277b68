"""The import state: the source of truth for what went where.

Reruns consult this instead of listing the gallery, so it must survive crashes (each item
is committed when done, WAL journal) and stay readable by other tools (values are JSON
text, never pickles: opening a state file cannot run code). One run at a time holds it,
enforced with an advisory lock that the kernel drops if the process dies.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import sqlite3
import threading
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from sqlitedict import SqliteDict

SCHEMA_VERSION = 1
# sqlitedict logs its thread's errors, stack frames and all, through `logging`; without a
# handler Python prints them on stderr. Our own errors say what went wrong in one line.
logging.getLogger("sqlitedict").addHandler(logging.NullHandler())
logging.getLogger("sqlitedict").propagate = False
_TABLES = ("meta", "items", "albums", "runs", "problems", "exports", "trashed",
           "reclaim_outcomes")
PROBLEM_RUNS_KEPT = 20
"""Runs whose problem rows (failed, unreadable, unmatched, skipped files) the state keeps."""
MAX_PROBLEM_ROWS = 20_000
"""Problem rows kept per run; the rest are only counted (the run report has them all)."""


class StateError(Exception):
    """The state cannot be used; the message names the file."""


class StateLocked(StateError):
    pass


class StateFull(StateError):
    """No space left to write the state: the run stops (nothing recorded is lost)."""


def _storable(text: str) -> str:
    """An undecodable byte of a file name (a lone surrogate, which SQLite cannot store) as
    a backslash escape: in JSON text that is its escape, so it reads back the same."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _encode(value: Any) -> str:
    return _storable(json.dumps(value, ensure_ascii=False, separators=(",", ":"),
                                sort_keys=True))


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
    live_video_sha1: str | None = None
    from_file: tuple[str, ...] = ()
    verified_at: str | None = None
    error: str | None = None

    @property
    def done(self) -> bool:
        return self.remote_id is not None and self.outcome != "failed"

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TargetRecord:
        """Keys this version does not know (written by a newer one) are left out."""
        data = {k: v for k, v in data.items() if k in _TARGET_FIELDS}
        data["albums"] = tuple(data.get("albums", ()))
        data["from_file"] = tuple(data.get("from_file", ()))
        return cls(**data)


_TARGET_FIELDS = frozenset(f.name for f in fields(TargetRecord))
_OPTIONAL = ("origin", "taken_at", "title", "same_as", "size")
"""Item fields added after schema 1: written only when set, absent means None."""


@dataclass(frozen=True)
class ItemRecord:
    identity: str
    name: str
    source_sha1: str | None = None
    google_url: str | None = None
    targets: dict[str, TargetRecord] = field(default_factory=dict)
    origin: str | None = None
    """"picker" for an item read through the Picker API; None for Takeout."""
    taken_at: str | None = None
    """Google's capture instant (ISO 8601), to recognise the same photo from the other
    source; records without it fall back to the target's synced value."""
    title: str | None = None
    """The sidecar's `title`: the file name Google shows (Takeout cuts long names in the
    archive; reclaim checks the page against this one)."""
    same_as: str | None = None
    """Identity of the record of the same photo from the other source (Picker/Takeout)."""
    size: int | None = None
    """Bytes of the item's source files (with a live photo's video): what trashing frees."""
    google_albums: tuple[str, ...] = ()
    """Keys of the albums the latest export put it in (reclaim wants each in the gallery)."""

    def on(self, target: str) -> TargetRecord | None:
        return self.targets.get(target)

    def with_target(self, target: str, record: TargetRecord) -> ItemRecord:
        return replace(self, targets={**self.targets, target: record})

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for name in _OPTIONAL:
            if data[name] is None:
                del data[name]
        if not data["google_albums"]:
            del data["google_albums"]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ItemRecord:
        targets = {k: TargetRecord.from_json(v) for k, v in data.get("targets", {}).items()}
        optional = {name: data.get(name) for name in _OPTIONAL}
        return cls(
            identity=data["identity"],
            name=data["name"],
            source_sha1=data.get("source_sha1"),
            google_url=data.get("google_url"),
            targets=targets,
            google_albums=tuple(data.get("google_albums", ())),
            **optional,
        )

    def moment(self, target: str) -> str | None:
        """The capture instant known for this item (recorded, else as synced to target)."""
        on_target = self.on(target)
        synced = on_target.synced.get("taken_at") if on_target is not None else None
        return self.taken_at or (synced if isinstance(synced, str) else None)


@dataclass(frozen=True)
class AlbumRecord:
    """Where one Google album went on one target."""

    remote_id: str
    title: str
    members: int | None = None


PhotoKey = tuple[str, int, str]


def photo_key(target: str, moment: str, name: str) -> PhotoKey:
    """Target, capture second (UTC) and file name compared without case or Unicode form:
    the Picker and Takeout name the same photo alike, and give its time to the second."""
    second = int(datetime.fromisoformat(moment.replace("Z", "+00:00")).timestamp() // 1)
    return target, second, unicodedata.normalize("NFC", name).casefold()


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
        self._by_photo: dict[PhotoKey, set[str]] | None = None
        self._conn: sqlite3.Connection | None = None
        self._conn_lock = threading.Lock()
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
        if not self.readonly:
            self._open_writer()
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
            self._tables[name] = table

    def _open_writer(self) -> None:
        """Every write goes through this one connection, in the calling thread: sqlitedict
        commits in a thread of its own, which dies on SQLITE_FULL and leaves its caller
        waiting for an answer forever. Here a full disk is an exception (`StateFull`)."""
        try:
            self._conn = sqlite3.connect(self.path, check_same_thread=False)
            # WAL + NORMAL: a commit survives the process being killed, cheaply.
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            for name in _TABLES:
                self._conn.execute(
                    f'CREATE TABLE IF NOT EXISTS "{name}" (key TEXT PRIMARY KEY, value BLOB)')
            self._conn.commit()
        except sqlite3.Error as exc:
            raise self._write_error(exc) from None

    def _write_error(self, exc: sqlite3.Error) -> StateError:
        if getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL:
            return StateFull(f"{self.path}: no space left on the device holding the state")
        return StateError(f"{self.path}: cannot write the state ({exc})")

    def _write(self, table: str, key: str, value: Any | None) -> None:
        """Store (or with None, delete) one key and commit."""
        assert self._conn is not None, "the state was opened read-only"
        with self._conn_lock:
            try:
                if value is None:
                    self._conn.execute(f'DELETE FROM "{table}" WHERE key = ?',
                                       (_storable(key),))
                else:
                    self._conn.execute(
                        f'REPLACE INTO "{table}" (key, value) VALUES (?, ?)',
                        (_storable(key), _encode(value)))
                self._conn.commit()
            except sqlite3.Error as exc:
                with contextlib.suppress(sqlite3.Error):
                    self._conn.rollback()
                raise self._write_error(exc) from None

    def _check_schema(self) -> None:
        meta = self._tables["meta"]
        try:
            version = meta.get("schema_version")
        except Exception as exc:
            raise StateError(f"{self.path}: not a readable state file ({exc})") from exc
        if version is None:
            if not self.readonly:
                self._write("meta", "schema_version", SCHEMA_VERSION)
                self._write("meta", "created_at", now_iso())
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
            self._write("meta", "schema_version", version)

    @property
    def schema_version(self) -> int:
        return int(self._tables["meta"].get("schema_version", SCHEMA_VERSION))

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
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
        """Planning asks once per item: a direct indexed read on the connection that writes
        instead of a round trip through sqlitedict's thread."""
        if self._conn is None:
            data = self._tables["items"].get(_storable(identity))
        else:
            with self._conn_lock:
                row = self._conn.execute(
                    'SELECT value FROM "items" WHERE key = ?', (_storable(identity),)).fetchone()
            data = None if row is None else _decode(row[0])
        return None if data is None else ItemRecord.from_json(data)

    def put(self, record: ItemRecord) -> None:
        """Store and commit one item's record: a crash after this loses nothing of it."""
        self._write("items", record.identity, record.to_json())
        if self._by_checksum is not None:
            self._index(record)
        if self._by_photo is not None:
            self._index_photo(record)

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

    def same_photo(self, target: str, taken_at: datetime, names: Iterable[str | None],
                   origin: str | None) -> ItemRecord | None:
        """A record from `origin` ("picker", or None for Takeout) already on `target` with
        the same capture second and file name: the same photo read from the other source."""
        if self._by_photo is None:
            self._by_photo = {}
            for each in self.items():
                self._index_photo(each)
        moment = taken_at.isoformat()
        for key in {photo_key(target, moment, name) for name in names if name}:
            for identity in sorted(self._by_photo.get(key, ())):
                found = self.get(identity)
                on_target = found.on(target) if found is not None else None
                if found is not None and on_target is not None and on_target.done \
                        and found.origin == origin:
                    return found
        return None

    def _index_photo(self, record: ItemRecord) -> None:
        assert self._by_photo is not None
        for target, on_target in record.targets.items():
            moment = record.moment(target)
            if not on_target.done or moment is None:
                continue
            for name in {record.name, record.title}:
                if name:
                    self._by_photo.setdefault(photo_key(target, moment, name), set()).add(
                        record.identity)

    # -- albums ----------------------------------------------------------------------------

    def album_id(self, target: str, album_key: str) -> str | None:
        info = self.album_info(target, album_key)
        return None if info is None else info.remote_id

    def album_info(self, target: str, album_key: str) -> AlbumRecord | None:
        data = self._tables["albums"].get(_storable(f"{target}\n{album_key}"))
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
        self._write("albums", f"{target}\n{album_key}", value)

    def drop_album(self, target: str, album_key: str) -> None:
        """Forget a mapping (an album renamed in Google lives on under its new key)."""
        self._write("albums", f"{target}\n{album_key}", None)

    # -- exports seen by watch mode ---------------------------------------------------------

    def export_record(self, target: str, identity: str) -> dict[str, Any] | None:
        """What watch mode did with the export of this content identity on `target`."""
        value = self._tables["exports"].get(f"{target}\n{identity}")
        return value if isinstance(value, dict) else None

    def put_export(self, target: str, identity: str, record: dict[str, Any]) -> None:
        self._write("exports", f"{target}\n{identity}", record)

    def export_records(self, target: str) -> Iterator[tuple[str, dict[str, Any]]]:
        """(identity, record) of every export recorded for `target`."""
        prefix = f"{target}\n"
        for key, value in self._tables["exports"].items():
            if key.startswith(prefix) and isinstance(value, dict):
                yield key[len(prefix):], value

    # -- runs ------------------------------------------------------------------------------

    def add_run(self, summary: dict[str, Any],
                problems: list[dict[str, Any]] | None = None) -> str:
        """Record a finished run; its problem rows (for the web page) go beside it under the
        same key, and those of runs older than the last PROBLEM_RUNS_KEPT are dropped."""
        key = f"{len(self._tables['runs']):08d}"
        self._write("runs", key, summary)
        if problems is not None:
            self._write("problems", key, {"rows": problems[:MAX_PROBLEM_ROWS],
                                          "more": max(0, len(problems) - MAX_PROBLEM_ROWS)})
            for old in sorted(self._tables["problems"].keys())[:-PROBLEM_RUNS_KEPT]:
                self._write("problems", old, None)
        return key

    def runs(self) -> list[dict[str, Any]]:
        return [value for _, value in sorted(self._tables["runs"].items())]

    def recent_problems(self, runs: int) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
        """(run key, run summary, {"rows", "more"}) of the last `runs` runs that recorded
        problem rows, newest first."""
        table = self._tables["problems"]
        summaries = self._tables["runs"]
        found = []
        for key in sorted(table.keys(), reverse=True)[:runs]:
            found.append((key, summaries.get(key) or {}, table[key]))
        return found

    def album_counts(self) -> dict[str, int]:
        """Albums recorded per target."""
        counts: dict[str, int] = {}
        for key in self._tables["albums"]:
            target = str(key).partition("\n")[0]
            counts[target] = counts.get(target, 0) + 1
        return counts

    # -- Google items this tool trashed (reclaim) -----------------------------------------

    def trashed(self, google_url: str) -> dict[str, Any] | None:
        value = self._tables["trashed"].get(google_url)
        return value if isinstance(value, dict) else None

    def put_trashed(self, google_url: str, info: dict[str, Any]) -> None:
        """Committed at once: a trash done in Google must never be forgotten."""
        self._write("trashed", google_url, {**info, "url": google_url})

    def all_trashed(self) -> list[dict[str, Any]]:
        return [value for _, value in self._tables["trashed"].items() if isinstance(value, dict)]

    def put_reclaim_outcome(self, google_url: str, info: dict[str, Any]) -> None:
        """The latest `reclaim --apply` outcome for an item (trashed, kept, failed)."""
        self._write("reclaim_outcomes", google_url, {**info, "url": google_url})

    def reclaim_outcome(self, google_url: str) -> dict[str, Any] | None:
        value = self._tables["reclaim_outcomes"].get(google_url)
        return value if isinstance(value, dict) else None
