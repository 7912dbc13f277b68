"""The import state: the source of truth for what went where.

Reruns consult this instead of listing the gallery, so it must survive crashes (each item
is committed when done, WAL journal) and stay readable by other tools (values are JSON
text, never pickles: opening a state file cannot run code). One run at a time holds it,
enforced with an advisory lock that the kernel drops if the process dies. The file's own
health, privacy and backups are `statefile`'s.
"""

from __future__ import annotations

import contextlib
import dataclasses
import sqlite3
import threading
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from importer import statefile
from importer.statefile import StateDamaged, StateError, StateLocked

__all__ = ["SCHEMA_VERSION", "AlbumRecord", "ItemRecord", "State", "StateDamaged",
           "StateError", "StateLocked", "TargetRecord"]

SCHEMA_VERSION = 1
_TABLES = ("meta", "items", "albums", "runs")


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
    """SHA-1 of the live photo's motion part as stored (verify checks it)."""
    from_file: tuple[str, ...] = ()
    verified_at: str | None = None
    error: str | None = None

    @property
    def done(self) -> bool:
        return self.remote_id is not None and self.outcome != "failed"

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TargetRecord:
        """Keys this version does not know (written by a newer one) are ignored."""
        data = {k: v for k, v in data.items() if k in _TARGET_FIELDS}
        data["albums"] = tuple(data.get("albums", ()))
        data["from_file"] = tuple(data.get("from_file", ()))
        return cls(**data)


_TARGET_FIELDS = frozenset(f.name for f in dataclasses.fields(TargetRecord))


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
            if "locked" in str(exc) or "busy" in str(exc):
                raise StateError(f"{self.path}: another program holds the state locked; "
                                 "try again when it is done") from None
            raise statefile.damaged(self.path, str(exc)) from None
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
            hint = ("free space and run again" if "full" in str(exc)
                    else statefile.recovery_hint(self.path))
            raise StateError(f"{self.path}: cannot write the state ({exc}); {hint}") from None

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

    def put(self, record: ItemRecord) -> None:
        """Store and commit one item's record: a crash after this loses nothing of it."""
        items = self._tables["items"]
        with self._writing():
            items[record.identity] = record.to_json()
            items.commit()
        self._dirty = True
        if self._by_checksum is not None:
            self._index(record)

    def delete(self, identity: str) -> None:
        """Forget an item (its record was merged into another identity's)."""
        items = self._tables["items"]
        with self._writing():
            items.pop(identity, None)
            items.commit()
        self._dirty = True
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

    def put_album(self, target: str, album_key: str, title: str, remote_id: str,
                  members: int | None = None) -> None:
        """`members` counts items recorded in the album (states before it had none)."""
        value: dict[str, Any] = {"remote_id": remote_id, "title": title}
        if members is not None:
            value["members"] = members
        albums = self._tables["albums"]
        with self._writing():
            albums[f"{target}\n{album_key}"] = value
            albums.commit()
        self._dirty = True

    def drop_album(self, target: str, album_key: str) -> None:
        """Forget a mapping (an album renamed in Google lives on under its new key)."""
        albums = self._tables["albums"]
        with self._writing():
            albums.pop(f"{target}\n{album_key}", None)
            albums.commit()
        self._dirty = True

    # -- runs ------------------------------------------------------------------------------

    def add_run(self, summary: dict[str, Any]) -> None:
        runs = self._tables["runs"]
        with self._writing():
            runs[f"{len(runs):08d}"] = summary
            runs.commit()
        self._dirty = True

    def runs(self) -> list[dict[str, Any]]:
        return [value for _, value in sorted(self._tables["runs"].items())]
