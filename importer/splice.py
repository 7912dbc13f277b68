"""A file with its first bytes replaced, streamed and never held: a big JPEG with its EXIF
rewritten is its new header segments followed by the original's bytes from the end of its
old header on, read again from the source whenever the file is read.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from typing import IO, cast

from importer.model import Opener

CHUNK = 1 << 20


class SplicedStream(io.RawIOBase):
    """`head`, then the bytes of `opener()` from offset `skip` on (`size` bytes in all).

    Seekable (httpx measures a file by seeking to its end): a move backwards reopens the
    source and reads forward, since archive members cannot seek backwards cheaply."""

    def __init__(self, head: bytes, opener: Opener, skip: int, size: int) -> None:
        super().__init__()
        self._head = head
        self._opener = opener
        self._skip = skip
        self._size = size
        self._pos = 0
        self._source: IO[bytes] | None = None
        self._source_pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def read(self, size: int | None = -1) -> bytes:
        """Up to `size` bytes (all that is left for -1); short only at the end. Pieces are
        handed on as read, not copied through a buffer: a 1 MB read costs 1 MB."""
        end = self._size if size is None or size < 0 else min(self._size, self._pos + size)
        pieces = []
        while self._pos < end:
            want = end - self._pos
            if self._pos < len(self._head):
                data = self._head[self._pos:self._pos + want]
            else:
                data = self._read_source(want)
            pieces.append(data)
            self._pos += len(data)
        return b"".join(pieces)

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        memoryview(buffer).cast("B")[:len(data)] = data
        return len(data)

    def _read_source(self, size: int) -> bytes:
        wanted = self._skip + self._pos - len(self._head)
        if self._source is None or self._source_pos > wanted:
            self._close_source()
            self._source = self._opener()
            self._source_pos = 0
        while self._source_pos < wanted:  # forward only: reads and drops
            dropped = self._source.read(min(CHUNK, wanted - self._source_pos))
            if not dropped:
                raise OSError("the source file is shorter than when it was first read")
            self._source_pos += len(dropped)
        data = self._source.read(size)
        self._source_pos += len(data)
        if not data:
            raise OSError("the source file is shorter than when it was first read")
        return data

    def _close_source(self) -> None:
        if self._source is not None:
            self._source.close()
            self._source = None

    def close(self) -> None:
        self._close_source()
        super().close()


def spliced_opener(head: bytes, opener: Opener, skip: int, size: int) -> Callable[[], IO[bytes]]:
    def open_spliced() -> IO[bytes]:
        return cast(IO[bytes], SplicedStream(head, opener, skip, size))

    return open_spliced


def sha1_of(opener: Callable[[], IO[bytes]]) -> tuple[str, int]:
    """SHA-1 and length of everything `opener()` yields."""
    digest = hashlib.sha1(usedforsecurity=False)
    size = 0
    with opener() as stream:
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size
