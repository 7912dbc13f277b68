"""The import state: the source of truth for what went where.

Reruns consult this instead of listing the gallery, so it must survive crashes (each item
is committed when done, WAL journal) and stay readable by other tools (values are JSON
text, never pickles: opening a state file cannot run code). One run at a time holds it,
enforced with an advisory lock that the kernel drops if the process dies. The file's own
health, privacy and backups are `statefile`'s.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from importer import statefile
from importer.records import (
    AlbumRecord,
    ItemRecord,
    PhotoKey,
    TargetRecord,
    now_iso,
    photo_key,
)
from importer.statefile import StateDamaged, StateError, StateFull, StateLocked

__all__ = ["SCHEMA_VERSION", "AlbumRecord", "ItemRecord", "State", "StateDamaged",
           "StateError", "StateFull", "StateLocked", "TargetRecord", "now_iso", "photo_key"]

SCHEMA_VERSION = 1
_TABLES = ("meta", "items", "albums", "runs", "problems", "exports", "trashed",
           "reclaim_outcomes")
PROBLEM_RUNS_KEPT = 20
"""Runs whose problem rows (failed, unreadable, unmatched, skipped files) the state keeps."""
MAX_PROBLEM_ROWS = 20_000
"""Problem rows kept per run; the rest are only counted (the run report has them all)."""


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
        self._db_lock = threading.RLock()
        self._writable = False
        self._dirty = False
        if readonly and not path.exists():
            self._tables = {name: {} for name in _TABLES}
            return
        try:
            if not readonly:
                self._lock_file = statefile.acquire_lock(path)
                statefile.private_file(path)
            statefile.check_health(path)
            with self._reading():
                self._open_tables()
                self._check_schema()
        except OSError as exc:
            self.close()
            raise StateError(f"{path}: cannot open the state: {exc.strerror}") from None
        except BaseException:
            self.close()
            raise
        self._writable = not readonly

    # -- lifecycle -------------------------------------------------------------------------

    @contextlib.contextmanager
    def _reading(self) -> Iterator[None]:
        """SQLite errors and records of the wrong shape become one line naming the file."""
        try:
            yield
        except StateError:
            raise
        except sqlite3.OperationalError as exc:
            raise statefile.sqlite_problem(self.path, exc) from None
        except (sqlite3.DatabaseError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise statefile.damaged(self.path, f"{type(exc).__name__}: {exc}"[:200]) from None

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        """A write SQLite refuses (a full disk, a damaged page) is one line, never a hang."""
        try:
            yield
        except sqlite3.Error as exc:
            with contextlib.suppress(sqlite3.Error):
                if self._conn is not None:
                    self._conn.rollback()
            if getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL:
                raise StateFull(f"{self.path}: no space left on the device holding the "
                                "state; free space and run again") from None
            hint = statefile.recovery_hint(self.path)
            raise StateError(f"{self.path}: cannot write the state ({exc}); {hint}") from None

    def _put(self, table: str, key: str, value: Any | None) -> None:
        """Store (or with None, delete) one key and commit at once."""
        rows = self._tables[table]
        with self._writing():
            if value is None:
                rows.pop(key, None)
            else:
                rows[key] = value
            rows.commit()
        self._dirty = True

    def _open_tables(self) -> None:
        """One connection for every table: a read-only user's refuses writes."""
        self._conn = statefile.connect(self.path, query_only=self.readonly)
        if not self.readonly:
            self._conn.execute("PRAGMA journal_mode=WAL")
            # WAL + NORMAL: a commit survives the process being killed, cheaply.
            self._conn.execute("PRAGMA synchronous=NORMAL")
        self._tables = {name: statefile.Table(self._conn, self._db_lock, name)
                        for name in _TABLES}

    def _check_schema(self) -> None:
        meta = self._tables["meta"]
        version = meta.get("schema_version")
        if version is None:
            if not self.readonly:
                self._put("meta", "schema_version", SCHEMA_VERSION)
                self._put("meta", "created_at", now_iso())
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
            self._put("meta", "schema_version", version)

    @property
    def schema_version(self) -> int:
        return int(self._tables["meta"].get("schema_version", SCHEMA_VERSION))

    def close(self) -> None:
        """Release everything; a state this run changed gets its backup copy first."""
        if self._conn is not None:
            with contextlib.suppress(sqlite3.Error):
                self._conn.close()
            self._conn = None
        self._tables = {}
        try:
            if self._writable and self._dirty:
                self._writable = False
                statefile.backup(self.path)
        finally:
            if self._lock_file is not None:
                self._lock_file.close()
                self._lock_file = None

    def __enter__(self) -> State:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- items -----------------------------------------------------------------------------

    def get(self, identity: str) -> ItemRecord | None:
        with self._reading():
            data = self._tables["items"].get(identity)
            return None if data is None else ItemRecord.from_json(data)

    def done_on(self, identity: str, target: str) -> bool:
        """Whether the item is imported (done) on `target`."""
        record = self.get(identity)
        on_target = record.on(target) if record is not None else None
        return on_target is not None and on_target.done

    def put(self, record: ItemRecord) -> None:
        """Store and commit one item's record: a crash after this loses nothing of it."""
        self._put("items", record.identity, record.to_json())
        if self._by_checksum is not None:
            self._index(record)
        if self._by_photo is not None:
            self._index_photo(record)

    def delete(self, identity: str) -> None:
        """Forget an item (its record was merged into another identity's)."""
        self._put("items", identity, None)
        if self._by_checksum is not None:
            self._by_checksum = {k: v for k, v in self._by_checksum.items()
                                 if v[0] != identity}

    def items(self) -> Iterator[ItemRecord]:
        with self._reading():
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
            self._build_indexes()
        assert self._by_checksum is not None
        return self._by_checksum

    def _build_indexes(self) -> None:
        """Both look-up indexes in one pass over the records (a Takeout upload asks both)."""
        self._by_checksum, self._by_photo = {}, {}
        for record in self.items():
            self._index(record)
            self._index_photo(record)

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
            self._build_indexes()
        assert self._by_photo is not None
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
        self._put("albums", f"{target}\n{album_key}", value)

    def drop_album(self, target: str, album_key: str) -> None:
        """Forget a mapping (an album renamed in Google lives on under its new key)."""
        self._put("albums", f"{target}\n{album_key}", None)

    # -- exports seen by watch mode ---------------------------------------------------------

    def export_record(self, target: str, identity: str) -> dict[str, Any] | None:
        """What watch mode did with the export of this content identity on `target`."""
        value = self._tables["exports"].get(f"{target}\n{identity}")
        return value if isinstance(value, dict) else None

    def put_export(self, target: str, identity: str, record: dict[str, Any]) -> None:
        self._put("exports", f"{target}\n{identity}", record)

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
        self._put("runs", key, summary)
        if problems is not None:
            self._put("problems", key, {"rows": problems[:MAX_PROBLEM_ROWS],
                                          "more": max(0, len(problems) - MAX_PROBLEM_ROWS)})
            for old in sorted(self._tables["problems"].keys())[:-PROBLEM_RUNS_KEPT]:
                self._put("problems", old, None)
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
        self._put("trashed", google_url, {**info, "url": google_url})

    def all_trashed(self) -> list[dict[str, Any]]:
        return [value for _, value in self._tables["trashed"].items() if isinstance(value, dict)]

    def put_reclaim_outcome(self, google_url: str, info: dict[str, Any]) -> None:
        """The latest `reclaim --apply` outcome for an item (trashed, kept, failed)."""
        self._put("reclaim_outcomes", google_url, {**info, "url": google_url})

    def reclaim_outcome(self, google_url: str) -> dict[str, Any] | None:
        value = self._tables["reclaim_outcomes"].get(google_url)
        return value if isinstance(value, dict) else None
