"""`.tgz` / `.tar.gz` / `.tar` parts: no index, so two streaming passes.

Pass one lists every member and hands the reader the bytes it wants while the member is
under the read head (the JSON files, the first bytes of nameless media). Pass two streams
the archive again and copies the media members the reader still needs into a spool of
temporary files, which the pipeline releases once each item is finished.

Python's `tarfile` in stream mode treats a cut-off archive as a normal end: members after
the cut simply do not appear and the last one is short. Takeout downloads do get cut, so
this module checks for itself: the decompressor must reach its end-of-stream marker, every
member must be as long as its header says, and the archive must end with its end blocks.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import tarfile
import zlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO, cast

from importer.sources.names import display_name
from importer.sources.parts import (
    INFLATE_FLOOR,
    MAX_INFLATE_RATIO,
    Entry,
    Listed,
    Problem,
    SourceError,
    Wanted,
    clean_member_path,
    inflation_problem,
    member_entry,
    read_head,
    split_path,
)
from importer.sources.spool import Spool, Spooled, SpoolError

STREAM_ERRORS = (tarfile.TarError, EOFError, OSError, zlib.error, lzma.LZMAError, ValueError)
_END_BLOCKS = 2 * tarfile.BLOCKSIZE
_DRAIN = 1 << 16


class Truncated(Exception):
    pass


class Inflated(Exception):
    """The stream inflates far more than media can (a zip bomb); reading stops there."""


def _decompressed(raw: IO[bytes]) -> IO[bytes]:
    """The decompressing stream for the part's format, chosen by its magic bytes."""
    magic = raw.read(6)
    raw.seek(0)
    if magic.startswith(b"\x1f\x8b"):
        return cast(IO[bytes], gzip.GzipFile(fileobj=raw, mode="rb"))
    if magic.startswith(b"BZh"):
        return bz2.BZ2File(raw, "rb")
    if magic.startswith(b"\xfd7zXZ\x00"):
        return lzma.LZMAFile(raw, "rb")
    return raw


class _Guarded:
    """The decompressed stream, stopped with Inflated once it has given more than
    MAX_INFLATE_RATIO times the compressed bytes read so far (past INFLATE_FLOOR): CPU,
    memory and spool stay bounded by the part's own size."""

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
        self._stream = _decompressed(raw)
        self._given = 0

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        self._given += len(data)
        if self._given > INFLATE_FLOOR and self._given > MAX_INFLATE_RATIO * self._raw.tell():
            raise Inflated(f"inflates more than {MAX_INFLATE_RATIO} times its size "
                           "(a zip bomb?)")
        return data

    def tell(self) -> int:
        return self._given

    def close(self) -> None:
        self._stream.close()


class _Reader:
    """One streaming pass over the archive; `members()` raises Truncated at a cut."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.stream = _Guarded(raw)
        # Names that are not UTF-8 arrive surrogate-escaped, whatever the locale says.
        self.tar = tarfile.open(fileobj=cast(IO[bytes], self.stream),  # noqa: SIM115 (closed)
                                mode="r|",
                                encoding="utf-8", errors="surrogateescape")

    def members(self) -> Iterator[tarfile.TarInfo]:
        while True:
            member = self.tar.next()
            if member is None:
                self._check_end()
                return
            yield member

    def _check_end(self) -> None:
        """A complete archive ends with two zero blocks after the last member's data."""
        while self.stream.read(_DRAIN):
            pass
        total = self.stream.tell()
        if total < self.tar.offset + _END_BLOCKS:
            raise Truncated("the archive ends without its end marker")

    def close(self) -> None:
        self.tar.close()
        self.stream.close()


def _describe(exc: BaseException) -> str:
    if isinstance(exc, Inflated):
        return f"refused: it {exc}"
    cut = isinstance(exc, tarfile.ReadError) and any(
        words in str(exc) for words in ("unexpected end", "truncated"))
    if cut or isinstance(exc, EOFError | Truncated):
        return "truncated (the download was cut short?)"
    return f"damaged ({type(exc).__name__}: {exc})"


class TarPart:
    random_access = False

    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = display_name(str(path))
        try:
            self.size = path.stat().st_size
            with self._reader() as reader:
                reader.tar.next()
        except STREAM_ERRORS as exc:
            raise SourceError(
                f"{self.name}: not a readable tar archive ({_describe(exc)})") from None

    @contextmanager
    def _reader(self) -> Iterator[_Reader]:
        with self.path.open("rb") as raw:
            reader = _Reader(raw)
            try:
                yield reader
            finally:
                reader.close()

    # -- pass one --------------------------------------------------------------------------

    def entries(self, wanted: Wanted) -> Iterator[Listed | Problem]:
        """Each member is handed out only once the next header proved it complete."""
        pending: Listed | Problem | None = None
        count = 0
        try:
            with self._reader() as reader:
                for ordinal, member in enumerate(reader.members()):
                    if pending is not None:
                        count += isinstance(pending, tuple)
                        yield pending
                    pending = self._listed(reader.tar, member, ordinal, wanted)
        except (*STREAM_ERRORS, Truncated, Inflated) as exc:
            if isinstance(pending, tuple):
                pending = Problem(pending[0].location, f"cut off: the archive is {_describe(exc)}")
            if pending is not None:
                yield pending
            yield Problem(self.name, f"{_describe(exc)} after {count} files; the files before "
                                     "it were read, the rest is missing")
            return
        if pending is not None:
            yield pending

    def _listed(self, tar: tarfile.TarFile, member: tarfile.TarInfo, ordinal: int,
                wanted: Wanted) -> Listed | Problem | None:
        if member.isdir():
            return None
        entry = member_entry(self, member.name, member.size, ordinal)
        if isinstance(entry, Problem):
            return entry
        if not member.isfile():
            return Problem(entry.location, "not a regular file (a link or a device), ignored")
        bomb = inflation_problem(member.size, self.size)
        if bomb is not None:
            return Problem(entry.location, bomb.replace("compressed", "in the whole part"))
        want = min(wanted(entry.name, member.size), member.size)
        if not want:
            return entry, None
        stream = tar.extractfile(member)
        assert stream is not None
        try:
            head = read_head(stream, want)
        except STREAM_ERRORS as exc:
            return Problem(entry.location, f"cut off: the archive is {_describe(exc)}")
        if len(head) < want:
            return Problem(entry.location, "cut off: the archive is truncated")
        return entry, head

    def open(self, entry: Entry) -> IO[bytes]:
        raise OSError(f"{entry.location}: a tar member is read through the spool only")

    # -- pass two --------------------------------------------------------------------------

    def fetch(self, wanted: Mapping[int, Entry], spool: Spool
              ) -> Iterator[tuple[Entry, Spooled | str]]:
        """Copy the `wanted` members (by ordinal) to the spool, in archive order; each
        comes back with its spooled copy or the reason it could not be read."""
        remaining = dict(wanted)
        current: Entry | None = None
        try:
            with self._reader() as reader:
                for ordinal, member in enumerate(reader.members()):
                    current = remaining.pop(ordinal, None)
                    if current is None:
                        continue
                    yield current, self._spooled(reader.tar, member, current, spool)
                    current = None
                    if not remaining:
                        return
        except (*STREAM_ERRORS, Truncated, Inflated) as exc:
            reason = f"cannot be read: the archive is {_describe(exc)}"
            if current is not None:
                yield current, reason
            for entry in remaining.values():
                yield entry, reason
            return
        for entry in remaining.values():
            yield entry, "not found again in the archive (it changed while being read?)"

    def _spooled(self, tar: tarfile.TarFile, member: tarfile.TarInfo, entry: Entry,
                 spool: Spool) -> Spooled | str:
        folder, name = split_path(clean_member_path(member.name))
        if (folder, name) != (entry.folder, entry.name) or member.size != entry.size:
            return "the archive changed while being read"
        stream = tar.extractfile(member)
        assert stream is not None
        try:
            spooled = spool.store(stream, member.size)
        except SpoolError as exc:
            return str(exc)
        if spooled.size != member.size:
            spooled.release()
            raise Truncated(f"{entry.location} is cut short")
        return spooled

    def close(self) -> None:
        pass
