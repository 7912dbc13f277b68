"""Reading one stored or deflated zip member, refusing one that is not what it declares.

`zipfile` stops a member at its declared size and checks the CRC of what it read, so a
member whose data inflates far beyond its declared size (a zip bomb crafted with the CRC
of its first bytes) passes as a good short file. This reader inflates at most one byte
past the declared size and refuses the member when that byte exists; it also refuses a
member that ends early or fails its CRC. Memory is bounded by the caller's read size.
Other compression methods (bzip2, LZMA: never used by Takeout) go through `zipfile`.
"""

from __future__ import annotations

import io
import zlib
from typing import IO

STORED, DEFLATED = 0, 8
_INPUT_CHUNK = 256 * 1024
_READ_ALL_CHUNK = 1 << 20


class MemberError(OSError):
    """The member's data contradicts its header (inflates beyond it, ends early, bad CRC)."""


class MemberReader(io.RawIOBase):
    """The decompressed bytes of one member; `fp` is positioned at its data."""

    def __init__(self, fp: IO[bytes], method: int, compressed: int, size: int, crc: int,
                 *, close_fileobj: bool) -> None:
        super().__init__()
        self._fp = fp
        self._inflater = zlib.decompressobj(-15) if method == DEFLATED else None
        self._left_in = compressed
        self._left_out = size
        self._size = size
        self._expected_crc = crc
        self._crc = 0
        self._close_fileobj = close_fileobj
        self._checked = False

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            chunks = []
            while chunk := self.read(_READ_ALL_CHUNK):
                chunks.append(chunk)
            return b"".join(chunks)
        if self._left_out == 0 or size == 0:
            self._check_end()
            return b""
        data = self._produce(min(size, self._left_out))
        if not data:
            raise MemberError(f"the member ends after {self._size - self._left_out} of its "
                              f"{self._size} bytes (damaged or cut short)")
        self._left_out -= len(data)
        self._crc = zlib.crc32(data, self._crc)
        if self._left_out == 0:  # checked with the last bytes, as zipfile does
            self._check_end()
        return data

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)

    def _input(self) -> bytes:
        chunk = self._fp.read(min(_INPUT_CHUNK, self._left_in)) if self._left_in > 0 else b""
        self._left_in -= len(chunk)
        return chunk

    def _produce(self, wanted: int) -> bytes:
        if self._inflater is None:
            chunk = self._fp.read(min(wanted, self._left_in))
            self._left_in -= len(chunk)
            return chunk
        while True:
            pending = self._inflater.unconsumed_tail or self._input()
            data = self._inflater.decompress(pending, wanted)
            if data or self._inflater.eof or not pending:
                return data

    def _check_end(self) -> None:
        """At the declared end: nothing may inflate beyond it, and the CRC must match."""
        if self._checked:
            return
        self._checked = True
        if self._crc != self._expected_crc:
            raise MemberError("damaged in the archive (CRC mismatch)")
        if self._inflater is not None and not self._inflater.eof and self._produce(1):
            raise MemberError(f"inflates beyond its declared size of {self._size} bytes "
                              "(a zip bomb?): refused")

    def close(self) -> None:
        if not self.closed and self._close_fileobj:
            self._fp.close()
        super().close()
