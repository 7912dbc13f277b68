"""Temporary copies of `.tgz` members while their items are imported.

A tar member can only be read while the archive streams past it, but the pipeline reads an
item's bytes later, in worker threads, possibly twice (hash, then upload). So the member is
copied here first and dropped when the pipeline releases the item; the pipeline bounds the
bytes held at once. Small members stay in memory within a fixed budget (creating and
deleting a file costs more than the copy for a thumbnail-sized member); everything else
goes to a temporary folder, removed with whatever is left when the source closes.

A killed run cannot remove its folder, so the next run does (`remove_stale`): each folder
is named `gphotos-importer-spool-<pid>-…` and holds an `.owner` file its run keeps locked
(flock) for as long as it lives. The lock, not the pid, says whether a folder is in use:
the kernel drops it when its process dies, and a reused pid cannot fake it.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import itertools
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import IO

from importer.sources.mediatypes import SNIFF_BYTES

COPY_CHUNK = 1 << 20
SMALL_MEMBER = 256 * 1024
MEMORY_BUDGET = 32 * 1024 * 1024
PREFIX = "gphotos-importer-spool-"
OWNER = ".owner"
UNOWNED_AGE = 24 * 3600
"""A spool folder without an owner file (a run killed while creating it) is left alone
for this long unless its pid is gone."""


class SpoolError(Exception):
    """The spool cannot take a copy (disk full, folder not writable); names the folder."""


class Spooled:
    """One member's copy: in memory (`data`) or in a file (`path`)."""

    def __init__(self, spool: Spool, size: int, head: bytes, *, path: Path | None = None,
                 data: bytes | None = None) -> None:
        self._spool = spool
        self.size = size
        self.head = head
        self.path = path
        self._data = data
        self._released = False

    def open(self) -> IO[bytes]:
        if self._data is not None:
            return io.BytesIO(self._data)
        if self.path is None or self._released:
            raise OSError("the spooled copy was already released")
        return self.path.open("rb")

    def release(self) -> None:
        if self._released:
            return
        self._released = True
        if self._data is not None:
            self._spool.give_back(len(self._data))
            self._data = None
        elif self.path is not None:
            self.path.unlink(missing_ok=True)


class Spool:
    def __init__(self, parent: Path | None = None, memory_budget: int = MEMORY_BUDGET) -> None:
        self._parent = parent
        self._dir: Path | None = None
        self._names = itertools.count()
        self._lock = threading.Lock()
        self._memory_left = memory_budget
        self._owner: int | None = None
        self.removed = remove_stale(parent)
        """Folders of killed runs removed when this spool was made."""

    @property
    def folder(self) -> Path:
        with self._lock:
            if self._dir is None:
                try:
                    made = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-",
                                                 dir=self._parent))
                    self._owner = _hold(made / OWNER)
                except OSError as exc:
                    where = self._parent or tempfile.gettempdir()
                    raise SpoolError(f"cannot create a temporary folder in {where}: "
                                     f"{exc.strerror or exc}") from None
                self._dir = made
            return self._dir

    def give_back(self, size: int) -> None:
        with self._lock:
            self._memory_left += size

    def _take(self, size: int) -> bool:
        with self._lock:
            if size > SMALL_MEMBER or size > self._memory_left:
                return False
            self._memory_left -= size
            return True

    def store(self, stream: IO[bytes], size: int) -> Spooled:
        """Copy `stream` (`size` bytes announced). Read errors propagate (the archive is
        damaged); write errors become SpoolError (the spool is the problem, not the export).
        A short copy is returned as it is: the caller compares sizes."""
        if self._take(size):
            try:
                data = stream.read(size)
            except BaseException:
                self.give_back(size)
                raise
            self.give_back(size - len(data))
            return Spooled(self, len(data), data[:SNIFF_BYTES], data=data)
        path = self.folder / f"{next(self._names)}"
        try:
            out = path.open("wb")
        except OSError as exc:
            raise SpoolError(f"cannot write to {self.folder}: {exc.strerror or exc}") from None
        try:
            with out:
                head, written = _copy(stream, out, self.folder)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return Spooled(self, written, head, path=path)

    def close(self) -> None:
        with self._lock:
            if self._dir is not None:
                shutil.rmtree(self._dir, ignore_errors=True)
                self._dir = None
            if self._owner is not None:
                os.close(self._owner)
                self._owner = None


def _hold(path: Path) -> int:
    """Create and lock the owner file; the descriptor stays open while the spool lives."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    return fd


def _in_use(folder: Path) -> bool:
    """Whether a live run owns `folder` (its owner file is locked)."""
    try:
        fd = os.open(folder / OWNER, os.O_RDWR | os.O_CLOEXEC)
    except FileNotFoundError:
        return _unowned_in_use(folder)
    except OSError:  # another user's folder, or unreadable: when in doubt, keep
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def _unowned_in_use(folder: Path) -> bool:
    """No owner file yet: its run may be creating it this instant; only a folder whose
    pid is gone, or that is old, is left over."""
    pid = folder.name.removeprefix(PREFIX).split("-", 1)[0]
    if pid.isdigit():
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
    with contextlib.suppress(OSError):
        return time.time() - folder.stat().st_mtime < UNOWNED_AGE
    return True


def remove_stale(parent: Path | None) -> list[Path]:
    """Remove the spool folders that runs killed before they could clean up left in
    `parent` (default: the temporary folder); never one a live run uses."""
    where = parent or Path(tempfile.gettempdir())
    removed: list[Path] = []
    try:
        candidates = [p for p in where.iterdir() if p.name.startswith(PREFIX) and p.is_dir()]
    except OSError:
        return removed
    for folder in candidates:
        if not folder.is_symlink() and not _in_use(folder):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def _copy(stream: IO[bytes], out: IO[bytes], folder: Path) -> tuple[bytes, int]:
    head = b""
    written = 0
    while chunk := stream.read(COPY_CHUNK):
        if len(head) < SNIFF_BYTES:
            head += chunk[: SNIFF_BYTES - len(head)]
        try:
            out.write(chunk)
        except OSError as exc:
            raise SpoolError(f"cannot write to {folder}: {exc.strerror or exc}") from None
        written += len(chunk)
    return head, written
