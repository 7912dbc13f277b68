"""An independent, minimal reader of EXIF's TIFF structure, to audit piexif's rewrites.

piexif re-serialises the whole EXIF block: it drops tags it does not know, re-types values
to its own table, rewrites strings and thumbnails, and moves every value (maker notes hold
offsets into the block, so moving them breaks them). Rather than trust it, we read every
entry of the old and the new block here, byte order normalised, and insist that each old
entry survived exactly. This reader shares no code with piexif.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4}
_ELEMENT = {3: "H", 4: "L", 5: "LL", 8: "h", 9: "l", 10: "ll", 11: "f", 12: "d", 13: "L"}
_CHILD_IFDS = {("0th", 0x8769): "Exif", ("0th", 0x8825): "GPS", ("Exif", 0xA005): "Interop"}
THUMBNAIL_OFFSET, THUMBNAIL_LENGTH = 0x0201, 0x0202
MAKER_NOTE = 0x927C
POINTER_TAGS = frozenset({*(tag for _, tag in _CHILD_IFDS), THUMBNAIL_OFFSET})
"""Tags whose value is a position in the block: they change legitimately on a rewrite."""
_MAX_ENTRIES = 1000


class TiffError(Exception):
    """The block is not a TIFF structure we can walk (truncated, looping, out of bounds)."""


@dataclass(frozen=True)
class Entry:
    type: int
    count: int
    value: bytes
    """The value as big-endian bytes, whatever the block's own byte order."""
    position: int
    """Where the value sits in the block (inline values: inside the entry itself)."""


@dataclass(frozen=True)
class TiffBlock:
    entries: dict[tuple[str, int], Entry]
    thumbnail: bytes | None
    more_ifds: bool
    """Image file directories beyond the thumbnail's, which piexif would drop."""


class _Walker:
    def __init__(self, data: bytes) -> None:
        if data[:2] not in (b"II", b"MM") or len(data) < 8:
            raise TiffError("no TIFF header")
        self.data = data
        self.order = "<" if data[:2] == b"II" else ">"
        if self._unpack("H", 2) != 42:
            raise TiffError("bad TIFF magic number")
        self.entries: dict[tuple[str, int], Entry] = {}
        self.seen: set[int] = set()

    def _unpack(self, fmt: str, at: int) -> int:
        size = struct.calcsize(self.order + fmt)
        if at < 0 or at + size > len(self.data):
            raise TiffError(f"offset {at} beyond the block")
        value: int = struct.unpack(self.order + fmt, self.data[at:at + size])[0]
        return value

    def _value(self, kind: int, count: int, field_at: int) -> Entry:
        if kind not in TYPE_SIZES:  # unknown type: keep the raw field, it cannot be moved
            return Entry(kind, count, self.data[field_at:field_at + 4], field_at)
        size = TYPE_SIZES[kind] * count
        at = field_at if size <= 4 else self._unpack("L", field_at)
        if at + size > len(self.data):
            raise TiffError(f"value of {size} bytes at {at} beyond the block")
        raw = self.data[at:at + size]
        element = _ELEMENT.get(kind)
        if element is not None and count:
            values = struct.unpack(self.order + element * count, raw)
            raw = struct.pack(">" + element * count, *values)
        return Entry(kind, count, raw, at)

    def ifd(self, name: str, at: int) -> int:
        """Read one directory into `entries`; return the offset of the next one (0: none)."""
        if at in self.seen:
            raise TiffError("directories loop")
        self.seen.add(at)
        count = self._unpack("H", at)
        if count > _MAX_ENTRIES:
            raise TiffError(f"{count} entries in one directory")
        for n in range(count):
            base = at + 2 + 12 * n
            tag, kind, number = (self._unpack("H", base), self._unpack("H", base + 2),
                                 self._unpack("L", base + 4))
            self.entries[(name, tag)] = self._value(kind, number, base + 8)
            child = _CHILD_IFDS.get((name, tag))
            if child is not None:
                self.ifd(child, self._unpack("L", base + 8))
        return self._unpack("L", at + 2 + 12 * count)

    def thumbnail(self) -> bytes | None:
        start = self.entries.get(("1st", THUMBNAIL_OFFSET))
        length = self.entries.get(("1st", THUMBNAIL_LENGTH))
        if start is None or length is None:
            return None
        begin = int.from_bytes(start.value[:4].rjust(4, b"\0"), "big")
        size = int.from_bytes(length.value[:4].rjust(4, b"\0"), "big")
        return self.data[begin:begin + size]


def read_tiff(data: bytes) -> TiffBlock:
    """Every entry of IFD0, Exif, GPS, Interop and IFD1, plus the thumbnail bytes."""
    walker = _Walker(data)
    try:
        following = walker.ifd("0th", walker._unpack("L", 4))
        more = False
        if following:
            more = walker.ifd("1st", following) != 0
    except (struct.error, RecursionError) as exc:
        raise TiffError(str(exc)) from None
    return TiffBlock(walker.entries, walker.thumbnail(), more)
