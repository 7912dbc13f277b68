"""ISO base media files (HEIC/AVIF images, MP4/MOV videos): just enough to read their own
capture time, place and EXIF. We never write into these files: their metadata goes into an
XMP sidecar, so their bytes (and checksums) stay exactly as the camera made them.

Videos can be many gigabytes and are read once, as a stream, for their checksum; the
`TopBoxCollector` picks the (small) `moov` box out of that same stream wherever it sits.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from datetime import datetime, timedelta

from importer.metadata.convert import parse_iso6709
from importer.metadata.facts import FileFacts

_QUICKTIME_EPOCH = datetime(1904, 1, 1)
MOOV_LIMIT = 64 * 1024 * 1024


class BoxError(Exception):
    """The box structure is broken (sizes that run past their parent)."""


def iter_boxes(data: bytes, start: int = 0, end: int | None = None
               ) -> Iterator[tuple[bytes, int, int]]:
    """(type, payload start, box end) of each box between `start` and `end`."""
    end = len(data) if end is None else end
    at = start
    while at + 8 <= end:
        size, kind = struct.unpack(">I4s", data[at:at + 8])
        header = 8
        if size == 1:
            if at + 16 > end:
                raise BoxError("truncated large box header")
            size, header = struct.unpack(">Q", data[at + 8:at + 16])[0], 16
        elif size == 0:
            size = end - at
        if size < header or at + size > end:
            raise BoxError(f"box {kind!r} at {at} has a bad size")
        yield kind, at + header, at + size
        at += size


def find_box(data: bytes, kind: bytes, start: int = 0, end: int | None = None
             ) -> tuple[int, int] | None:
    return next(((s, e) for k, s, e in iter_boxes(data, start, end) if k == kind), None)


def _uint(data: bytes, at: int, size: int) -> int:
    if size == 0:
        return 0
    if at + size > len(data):
        raise BoxError("field beyond its box")
    return int.from_bytes(data[at:at + size], "big")


# -- HEIC / AVIF: the "Exif" item --------------------------------------------------------------


def _exif_item_id(data: bytes, start: int, end: int) -> int | None:
    version = data[start]
    at = start + 4 + (2 if version == 0 else 4)
    for kind, payload, _ in iter_boxes(data, at, end):
        if kind != b"infe" or data[payload] < 2:
            continue
        id_size = 2 if data[payload] == 2 else 4
        item_id = _uint(data, payload + 4, id_size)
        if data[payload + 4 + id_size + 2:payload + 4 + id_size + 6] == b"Exif":
            return item_id
    return None


def _item_extents(data: bytes, start: int, wanted: int) -> tuple[int, list[tuple[int, int]]]:
    """Construction method and (offset, length) extents of item `wanted` from `iloc`."""
    version = data[start]
    sizes = data[start + 4], data[start + 5]
    offset_size, length_size = sizes[0] >> 4, sizes[0] & 15
    base_size, index_size = sizes[1] >> 4, (sizes[1] & 15 if version else 0)
    id_size = 4 if version == 2 else 2
    count = _uint(data, start + 6, id_size)
    at = start + 6 + id_size
    for _ in range(count):
        item_id = _uint(data, at, id_size)
        at += id_size
        method = _uint(data, at, 2) & 15 if version else 0
        at += (2 if version else 0) + 2
        base = _uint(data, at, base_size)
        at += base_size
        extents = []
        extent_count = _uint(data, at, 2)
        at += 2
        for _ in range(extent_count):
            at += index_size
            offset = _uint(data, at, offset_size)
            length = _uint(data, at + offset_size, length_size)
            extents.append((base + offset, length))
            at += offset_size + length_size
        if item_id == wanted:
            return method, extents
    raise BoxError(f"item {wanted} has no location")


def heif_exif(data: bytes) -> bytes | None:
    """The TIFF-structured EXIF block of a HEIF image, or None when it has none."""
    meta = find_box(data, b"meta")
    if meta is None:
        return None
    start, end = meta[0] + 4, meta[1]  # `meta` is a full box: skip version and flags
    iinf, iloc = find_box(data, b"iinf", start, end), find_box(data, b"iloc", start, end)
    if iinf is None or iloc is None:
        return None
    item = _exif_item_id(data, *iinf)
    if item is None:
        return None
    method, extents = _item_extents(data, iloc[0], item)
    base = 0
    if method == 1:
        idat = find_box(data, b"idat", start, end)
        if idat is None:
            raise BoxError("Exif item stored in a missing idat box")
        base = idat[0]
    payload = b"".join(data[base + off:base + off + length] for off, length in extents)
    skip = 4 + _uint(payload, 0, 4)  # exif_tiff_header_offset
    if skip > len(payload):
        raise BoxError("Exif item shorter than its header offset")
    return payload[skip:]


# -- MP4 / MOV: the movie header, QuickTime user data and Apple's metadata keys ---------------


def _mvhd_time(data: bytes, start: int) -> datetime | None:
    """`mvhd` creation time: seconds since 1904 (UTC by the spec), 0 when unknown."""
    seconds = _uint(data, start + 4, 8) if data[start] == 1 else _uint(data, start + 4, 4)
    if seconds == 0:
        return None
    try:
        return _QUICKTIME_EPOCH + timedelta(seconds=seconds)
    except OverflowError:
        return None


def _udta_location(data: bytes, start: int, end: int) -> str | None:
    box = find_box(data, b"\xa9xyz", start, end)
    if box is None:
        return None
    length = _uint(data, box[0], 2)
    return data[box[0] + 4:box[0] + 4 + length].decode("utf-8", "replace")


def _apple_keys(data: bytes, start: int, end: int) -> dict[str, str]:
    """`meta` with `keys` + `ilst` (QuickTime metadata): key name -> text value."""
    if data[start + 4:start + 8] != b"hdlr":  # ISO `meta` is a full box, QuickTime's is not
        start += 4
    keys_box, ilst = find_box(data, b"keys", start, end), find_box(data, b"ilst", start, end)
    if keys_box is None or ilst is None:
        return {}
    names, at = [], keys_box[0] + 8
    for _ in range(_uint(data, keys_box[0] + 4, 4)):
        size = _uint(data, at, 4)
        if size < 8:
            raise BoxError("bad metadata key size")
        names.append(data[at + 8:at + size].decode("utf-8", "replace"))
        at += size
    values: dict[str, str] = {}
    for kind, payload, box_end in iter_boxes(data, *ilst):
        index = int.from_bytes(kind, "big")
        found = find_box(data, b"data", payload, box_end)
        if found is None or not 1 <= index <= len(names) or _uint(data, found[0], 4) != 1:
            continue  # type 1 is UTF-8 text
        values[names[index - 1]] = data[found[0] + 8:found[1]].decode("utf-8", "replace")
    return values


def _apple_date(text: str | None) -> datetime | None:
    """"2019-07-04T10:15:00+0100" (Apple's creationdate) -> aware datetime."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def movie_facts(moov: bytes) -> FileFacts:
    """Facts from the payload of a `moov` box."""
    header = find_box(moov, b"mvhd")
    udta = find_box(moov, b"udta")
    meta = find_box(moov, b"meta")
    keys = _apple_keys(moov, *meta) if meta else {}
    location_text = (keys.get("com.apple.quicktime.location.ISO6709")
                     or (_udta_location(moov, *udta) if udta else None))
    taken = _apple_date(keys.get("com.apple.quicktime.creationdate"))
    utc = taken is None
    if taken is None and header is not None:
        taken = _mvhd_time(moov, header[0])
    return FileFacts(
        taken_at=taken,
        naive_is_utc=utc,
        location=parse_iso6709(location_text) if location_text else None,
    )


class TopBoxCollector:
    """Keeps the payload of the top-level boxes named `wanted` while a file streams past
    (fed in chunks of any size), so a video is still read only once."""

    def __init__(self, wanted: frozenset[bytes] = frozenset({b"moov"}),
                 limit: int = MOOV_LIMIT) -> None:
        self.wanted, self.limit = wanted, limit
        self.boxes: dict[bytes, bytes] = {}
        self.broken = False
        self._header = bytearray()
        self._left = 0  # bytes of the current box still to pass
        self._kind = b""
        self._capture: bytearray | None = None

    def feed(self, chunk: bytes) -> None:
        view, at = memoryview(chunk), 0
        while at < len(view) and not self.broken:
            if self._left:
                take = min(self._left, len(view) - at)
                if self._capture is not None:
                    self._capture += view[at:at + take]
                self._left -= take
                at += take
                if not self._left:
                    self._finish()
                continue
            at = self._read_header(view, at)

    def _read_header(self, view: memoryview, at: int) -> int:
        need = 16 if len(self._header) >= 8 and self._header[:4] == b"\0\0\0\1" else 8
        take = min(need - len(self._header), len(view) - at)
        self._header += view[at:at + take]
        at += take
        if len(self._header) == 8 and self._header[:4] == b"\0\0\0\1":
            return at  # a 64-bit size follows
        if len(self._header) < need:
            return at
        self._start_box()
        return at

    def _start_box(self) -> None:
        size = int.from_bytes(self._header[:4], "big")
        self._kind = bytes(self._header[4:8])
        header = len(self._header)
        if size == 1:
            size = int.from_bytes(self._header[8:16], "big")
        self._header = bytearray()
        if size == 0:  # runs to the end of the file: nothing after it to find
            self._left, self._capture = 1 << 62, None
            return
        if size < header:
            self.broken = True
            return
        self._left = size - header
        wanted = self._kind in self.wanted and self._kind not in self.boxes
        self._capture = bytearray() if wanted and self._left <= self.limit else None
        if not self._left:
            self._finish()

    def _finish(self) -> None:
        if self._capture is not None:
            self.boxes[self._kind] = bytes(self._capture)
            self._capture = None
