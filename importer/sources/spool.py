"""Temporary copies of `.tgz` members while their items are imported.

A tar member can only be read while the archive streams past it, but the pipeline reads an
item's bytes later, in worker threads, possibly twice (hash, then upload). So the member is
copied here first and deleted when the pipeline releases the item; the pipeline bounds the
bytes held at once. Everything left over goes when the source closes.
"""

from __future__ import annotations

import itertools
import shutil
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from importer.sources.mediatypes import SNIFF_BYTES

COPY_CHUNK = 1 << 20


class SpoolError(Exception):
    """The spool cannot take a copy (disk full, folder not writable); names the folder."""


@dataclass
class Spooled:
    path: Path
    size: int
    head: bytes
    _released: bool = field(default=False, repr=False)

    def open(self) -> IO[bytes]:
        return self.path.open("rb")

    def release(self) -> None:
        if not self._released:
            self._released = True
            self.path.unlink(missing_ok=True)


class Spool:
    def __init__(self, parent: Path | None = None) -> None:
        self._parent = parent
        self._dir: Path | None = None
        self._names = itertools.count()
        self._lock = threading.Lock()

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

    def store(self, stream: IO[bytes]) -> Spooled:
        """Copy `stream` to a new spool file. Read errors propagate (the archive is damaged);
        write errors become SpoolError (the spool is the problem, not the export)."""
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
        return Spooled(path, written, head)

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
