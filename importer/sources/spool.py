"""Temporary copies of `.tgz` members while their items are imported.

A tar member can only be read while the archive streams past it, but the pipeline reads an
item's bytes later, in worker threads, possibly twice (hash, then upload). So the member is
copied here first and dropped when the pipeline releases the item; the pipeline bounds the
bytes held at once. Small members stay in memory within a fixed budget (creating and
deleting a file costs more than the copy for a thumbnail-sized member); everything else
goes to a temporary folder, removed with whatever is left when the source closes.
"""

from __future__ import annotations

import io
import itertools
import shutil
import tempfile
import threading
from pathlib import Path
from typing import IO

from importer.sources.mediatypes import SNIFF_BYTES

COPY_CHUNK = 1 << 20
SMALL_MEMBER = 256 * 1024
MEMORY_BUDGET = 32 * 1024 * 1024


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

    @property
    def folder(self) -> Path:
        with self._lock:
            if self._dir is None:
                try:
                    made = tempfile.mkdtemp(prefix="gphotos-importer-spool-", dir=self._parent)
                except OSError as exc:
                    where = self._parent or tempfile.gettempdir()
                    raise SpoolError(f"cannot create a temporary folder in {where}: "
                                     f"{exc.strerror or exc}") from None
                self._dir = Path(made)
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
