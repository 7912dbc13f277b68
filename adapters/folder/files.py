"""Files of the folder library: the library lock, unique names, atomic writes, checksums.

Every write goes to a private name in `.incoming/` first and gets its real name in one
step (a hard link for a new name, a rename for a replacement), so a crash never leaves half
a file under a real name, and a leftover temporary file is only ever in `.incoming/`, which
the next run empties.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import functools
import hashlib
import os
import shutil
import threading
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import IO, ParamSpec, TypeVar

from adapters.base import GalleryError, StorageFull, TargetUnavailable

P = ParamSpec("P")
R = TypeVar("R")
COPY_CHUNK = 1 << 20
DISK_FULL = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS})
OWN_DIR = ".gphotos-importer"
LOCK_NAME = "library.lock"
MAX_NAMES = 10_000
MAX_NAME_BYTES = 255
_NAME_ROOM = len(" (9999)") + len(".xmp")


def hold_lock(root: Path) -> IO[str]:
    """The library's own lock: one run writes a folder library at a time, whatever state
    file each uses. The kernel drops it if the process dies."""
    own = root / OWN_DIR
    try:
        if not own.is_dir():
            own.mkdir(parents=True, exist_ok=True)
            os.chmod(own, 0o700)
        fd = os.open(own / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise TargetUnavailable(f"{root}: cannot create the library: {exc.strerror}") from None
    lock = open(fd, "r+")  # noqa: SIM115
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = lock.read().strip() or "another process"
        lock.close()
        raise TargetUnavailable(f"{root}: another run is writing this folder library "
                                f"(pid {holder}); wait for it to finish") from None
    lock.truncate()
    lock.write(str(os.getpid()))
    lock.flush()
    return lock


def disk_errors(method: Callable[P, R]) -> Callable[P, R]:
    """The adapter's boundary: a file system error is one line naming the file, never a
    traceback. A full (or read-only) disk stops the run; anything else fails the item."""

    @functools.wraps(method)
    def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(*args, **kwargs)
        except OSError as exc:
            where = exc.filename or "the folder library"
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise StorageFull(f"{where}: {exc.strerror}: no space left for the library; "
                                  "free space and run again") from None
            if exc.errno in DISK_FULL:
                raise TargetUnavailable(f"{where}: {exc.strerror}; make it writable and run "
                                        "again") from None
            raise GalleryError(f"{where}: {exc.strerror or exc}") from None

    return guarded


def sha1_of(path: Path) -> str:
    digest = hashlib.sha1(usedforsecurity=False)
    with path.open("rb") as stream:
        while chunk := stream.read(COPY_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class Files:
    """Writes under `root`, with temporary files in `root/.incoming`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.tmp = root / ".incoming"
        shutil.rmtree(self.tmp, ignore_errors=True)  # a killed run's leftovers (we hold the lock)
        self.tmp.mkdir(exist_ok=True)
        self._serial = 0
        self._serial_lock = threading.Lock()

    def temp_name(self, hint: str) -> Path:
        with self._serial_lock:
            self._serial += 1
            return self.tmp / f"{hint}.{threading.get_ident()}.{self._serial}"

    def spool(self, opener: Callable[[], IO[bytes]], hint: str) -> Path:
        """Copy to a private temporary name first; only complete files get a real name."""
        tmp = self.temp_name(hint)
        with tmp.open("wb") as out, opener() as src:
            shutil.copyfileobj(src, out, COPY_CHUNK)
        return tmp

    def write_atomic(self, rel: str, data: bytes) -> None:
        """Replace (or create) `rel` with `data` in one step."""
        tmp = self.temp_name("write")
        try:
            tmp.write_bytes(data)
            tmp.replace(self.root / rel)
        except OSError:
            tmp.unlink(missing_ok=True)
            raise

    def link_unique(self, source: Path, sha1: str, folder: str, stem: str,
                    suffix: str) -> tuple[str, bool]:
        """Give `source` a free name in `folder` (`name (1).ext` when taken by other bytes);
        a name already holding the same bytes is reused. Returns (path, created)."""
        stem, suffix = fit_name(stem, suffix)
        (self.root / folder).mkdir(parents=True, exist_ok=True)
        for n in range(MAX_NAMES):
            candidate = f"{folder}/{stem}{f' ({n})' if n else ''}{suffix}"
            dest = self.root / candidate
            try:
                os.link(source, dest)
            except FileExistsError:
                if dest.is_file() and not dest.is_symlink() and sha1_of(dest) == sha1:
                    return candidate, False
                continue
            return candidate, True
        raise GalleryError(f"{self.root / folder}: too many files named {stem}{suffix}")

    def remove(self, rel: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            (self.root / rel).unlink()

    def read(self, rel: str) -> bytes:
        return (self.root / rel).read_bytes()

    def close(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)


def fit_name(base: str, suffix: str) -> tuple[str, str]:
    """Shorten `base` so that `base (n)suffix.xmp` stays within a file name's 255 bytes
    (a 255-byte name from the export, given a counter or a truer extension, would not)."""
    room = MAX_NAME_BYTES - _NAME_ROOM - len(suffix.encode("utf-8"))
    if len(base.encode("utf-8")) <= room:
        return base, suffix
    if room < 1:
        suffix, room = suffix[:16], MAX_NAME_BYTES - _NAME_ROOM - 16
    clipped = base.encode("utf-8")[:room].decode("utf-8", errors="ignore")
    return clipped.rstrip() or "_", suffix


def split_name(rel: str) -> tuple[str, str, str]:
    """(folder, stem, suffix) of a library path."""
    path = PurePosixPath(rel)
    return str(path.parent), path.stem, path.suffix


def xmp_of(rel: str) -> str:
    return rel + ".xmp"
