"""`.zip` parts, listed straight from the central directory.

`zipfile.ZipFile` keeps a ZipInfo object (~800 bytes) per member for as long as the archive
is open: 270 MB for a 350k-member export before anything is paired. This reader walks the
central directory in chunks and keeps one integer per member (the offset of its central
record); opening a member re-reads that record and hands the data to a decompressing,
CRC-checking reader that also refuses a member inflating beyond its declared size
(`zipmember`), and a member declaring far more than its compressed bytes can honestly
hold is refused while listing. Every open gets its own file handle, so worker threads
never share a file position.
"""

from __future__ import annotations

import struct
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, cast

from importer.sources.names import decode_member_name, display_name
from importer.sources.parts import (
    Entry,
    Listed,
    Problem,
    SourceError,
    Wanted,
    inflation_problem,
    member_entry,
    read_head,
)
from importer.sources.zipmember import DEFLATED, STORED, MemberReader

_EOCD = struct.Struct("<4s4H2LH")
_EOCD64_LOCATOR = struct.Struct("<4sLQL")
_EOCD64 = struct.Struct("<4sQ2H2L4Q")
_CENTRAL = struct.Struct("<4s4B4HL2L5H2L")
_LOCAL = struct.Struct("<4s2B4HL2L2H")
_MAX_COMMENT = 65535
_CHUNK = 1 << 20
_FLAG_ENCRYPTED = 0x1
_FLAG_UTF8 = 0x800
_FULL32 = 0xFFFFFFFF
_MAX_RECORD = _CENTRAL.size + 3 * 65535


class DamagedZip(Exception):
    pass


@dataclass(frozen=True)
class _Directory:
    start: int
    size: int
    concat: int  # bytes prepended to the archive (self-extractors, concatenations)


@dataclass(frozen=True)
class _Member:
    raw_name: str
    flags: int
    method: int
    crc: int
    compressed: int
    size: int
    header: int
    record_size: int


def _find_directory(fp: IO[bytes]) -> _Directory:
    end = fp.seek(0, 2)
    tail_start = max(0, end - (_EOCD.size + _MAX_COMMENT + _EOCD64_LOCATOR.size))
    fp.seek(tail_start)
    tail = fp.read()
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < _EOCD.size:
        raise DamagedZip("truncated or not a zip archive: no central directory at its end "
                         "(download this part again)")
    _, _, _, _, count, size, offset, _ = _EOCD.unpack_from(tail, at)
    eocd = tail_start + at
    located = eocd
    if at >= _EOCD64_LOCATOR.size:
        sig, _, _, _ = _EOCD64_LOCATOR.unpack_from(tail, at - _EOCD64_LOCATOR.size)
        if sig == b"PK\x06\x07":
            located = eocd - _EOCD64_LOCATOR.size - _EOCD64.size
            fp.seek(located)
            record = fp.read(_EOCD64.size)
            if len(record) < _EOCD64.size or record[:4] != b"PK\x06\x06":
                raise DamagedZip("damaged zip64 end record")
            fields = _EOCD64.unpack(record)
            count, size, offset = fields[7], fields[8], fields[9]
    concat = located - size - offset
    if concat < 0 or offset + concat + size > end:
        raise DamagedZip("damaged central directory (sizes point outside the file)")
    del count
    return _Directory(offset + concat, size, concat)


def _zip64_values(extra: bytes, member: list[int]) -> None:
    """Replace 0xFFFFFFFF sizes/offset in [size, compressed, header] from the zip64 extra."""
    pos = 0
    while pos + 4 <= len(extra):
        tag, length = struct.unpack_from("<HH", extra, pos)
        if tag == 1:
            data, read = extra[pos + 4:pos + 4 + length], 0
            for index in range(3):
                if member[index] == _FULL32 and read + 8 <= len(data):
                    member[index] = struct.unpack_from("<Q", data, read)[0]
                    read += 8
            return
        pos += 4 + length


def _parse_central(buf: bytes | memoryview, at: int) -> _Member:
    if len(buf) - at < _CENTRAL.size:
        raise DamagedZip("central directory ends inside a record")
    fields = _CENTRAL.unpack_from(buf, at)
    if fields[0] != b"PK\x01\x02":
        raise DamagedZip("damaged central directory record")
    flags, method, crc = fields[5], fields[6], fields[9]
    name_len, extra_len, comment_len = fields[12], fields[13], fields[14]
    end = at + _CENTRAL.size + name_len + extra_len + comment_len
    if len(buf) < end:
        raise DamagedZip("central directory ends inside a record")
    raw = bytes(buf[at + _CENTRAL.size:at + _CENTRAL.size + name_len])
    name = decode_member_name(raw, bool(flags & _FLAG_UTF8))
    values = [fields[11], fields[10], fields[18]]
    if _FULL32 in values:
        start = at + _CENTRAL.size + name_len
        _zip64_values(bytes(buf[start:start + extra_len]), values)
    return _Member(name, flags, method, crc, values[1], values[0], values[2], end - at)


class ZipPart:
    random_access = True

    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = display_name(str(path))
        try:
            with path.open("rb") as fp:
                self._directory = _find_directory(fp)
        except OSError as exc:
            raise SourceError(f"{self.name}: cannot read: {exc.strerror or exc}") from None
        except DamagedZip as exc:
            raise SourceError(f"{self.name}: {exc}") from None

    def _records(self, fp: IO[bytes]) -> Iterator[tuple[int, _Member]]:
        """(offset, member) for every central record, reading the directory in chunks."""
        position = self._directory.start
        end = position + self._directory.size
        fp.seek(position)
        unread = self._directory.size
        buf, at = b"", 0
        while position < end:
            if len(buf) - at < _MAX_RECORD and unread > 0:
                more = fp.read(min(_CHUNK, unread))
                if not more:
                    raise DamagedZip("central directory is cut short")
                unread -= len(more)
                buf, at = buf[at:] + more, 0
            member = _parse_central(buf, at)
            yield position, member
            at += member.record_size
            position += member.record_size

    def entries(self, wanted: Wanted) -> Iterator[Listed | Problem]:
        with self.path.open("rb") as fp, self.path.open("rb") as reader:
            try:
                for offset, member in self._records(fp):
                    listed = self._listed(reader, offset, member, wanted)
                    if listed is not None:
                        yield listed
            except DamagedZip as exc:
                yield Problem(self.name, f"{exc}; the files listed before it were read")

    def _listed(self, reader: IO[bytes], offset: int, member: _Member,
                wanted: Wanted) -> Listed | Problem | None:
        if member.raw_name.endswith(("/", "\\")) and member.size == 0:
            return None  # a folder entry (one holding data is read as a file)
        entry = member_entry(self, member.raw_name, member.size, offset)
        if isinstance(entry, Problem):
            return entry
        bomb = inflation_problem(member.size, member.compressed)
        if bomb is not None:
            return Problem(entry.location, bomb)
        want = wanted(entry.name, member.size)
        if not want:
            return entry, None
        try:
            with self._open_member(reader, member, close=False) as stream:
                return entry, read_head(stream, want)
        except Exception as exc:  # zlib.error, BadZipFile, EOFError, OSError, NotImplementedError
            return Problem(entry.location, f"damaged in the archive ({type(exc).__name__}: "
                                           f"{exc})")

    def _open_member(self, fp: IO[bytes], member: _Member, close: bool) -> IO[bytes]:
        if member.flags & _FLAG_ENCRYPTED:
            raise DamagedZip("encrypted member")
        fp.seek(member.header + self._directory.concat)
        local = fp.read(_LOCAL.size)
        if len(local) < _LOCAL.size or local[:4] != b"PK\x03\x04":
            raise DamagedZip("bad local file header")
        fields = _LOCAL.unpack(local)
        fp.seek(member.header + self._directory.concat + _LOCAL.size + fields[10] + fields[11])
        if member.method in (STORED, DEFLATED):
            return cast(IO[bytes], MemberReader(fp, member.method, member.compressed,
                                                member.size, member.crc, close_fileobj=close))
        info = zipfile.ZipInfo(member.raw_name)
        info.compress_type = member.method
        info.compress_size = member.compressed
        info.file_size = member.size
        info.CRC = member.crc
        info.flag_bits = member.flags
        if close:
            stream = zipfile.ZipExtFile(fp, "r", info, None, close_fileobj=True)
        else:
            stream = zipfile.ZipExtFile(fp, "r", info, None)
        return cast(IO[bytes], stream)

    def open(self, entry: Entry) -> IO[bytes]:
        fp = self.path.open("rb")
        try:
            fp.seek(entry.ref)
            head = fp.read(_CENTRAL.size)
            if len(head) == _CENTRAL.size:
                lengths = struct.unpack_from("<3H", head, 28)
                head += fp.read(sum(lengths))
            member = _parse_central(head, 0)
            return self._open_member(fp, member, close=True)
        except DamagedZip as exc:
            fp.close()
            raise OSError(f"{entry.location}: {exc}") from None
        except BaseException:
            fp.close()
            raise

    def close(self) -> None:
        pass
