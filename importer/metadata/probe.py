"""What a file says about itself, for each format we can read.

JPEG, HEIC/AVIF, PNG (eXIf), WebP (EXIF chunk) and TIFF-based RAW files carry EXIF; MP4 and
MOV carry a movie header and QuickTime/Apple metadata. Formats we do not parse (GIF, BMP,
other video containers, CR3…) give `UNREAD`. A file whose metadata should be readable but
is not gets `damaged` with the reason, never an exception: its bytes are still imported.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

from importer.metadata import exif as exif_mod
from importer.metadata import isobmff, jpeg
from importer.metadata.facts import UNREAD, FileFacts
from importer.sources import mediatypes

Exif = exif_mod.Exif
_MOVIES = frozenset({mediatypes.MP4, mediatypes.MOV, mediatypes.M4V, mediatypes.GPP})
_TIFF_MAGIC = (b"II*\x00", b"MM\x00*")


def _png_exif(data: bytes) -> bytes | None:
    at = 8
    while at + 12 <= len(data):
        length, kind = struct.unpack(">I4s", data[at:at + 8])
        if kind == b"eXIf":
            return data[at + 8:at + 8 + length]
        if kind in (b"IDAT", b"IEND"):
            return None  # eXIf must come before the image data
        at += 12 + length
    return None


def _webp_exif(data: bytes) -> bytes | None:
    at = 12
    while at + 8 <= len(data):
        kind, length = data[at:at + 4], struct.unpack("<I", data[at + 4:at + 8])[0]
        if kind == b"EXIF":
            block = data[at + 8:at + 8 + length]
            return block[6:] if block.startswith(jpeg.EXIF_HEADER) else block
        at += 8 + length + (length & 1)
    return None


def _tiff_exif(data: bytes) -> bytes | None:
    return data if data[:4] in _TIFF_MAGIC else None


_EXIF_FINDERS: dict[mediatypes.Kind, Callable[[bytes], bytes | None]] = {
    mediatypes.JPEG: jpeg.exif_block,
    mediatypes.HEIC: isobmff.heif_exif,
    mediatypes.AVIF: isobmff.heif_exif,
    mediatypes.PNG: _png_exif,
    mediatypes.WEBP: _webp_exif,
    mediatypes.TIFF: _tiff_exif,
    **{kind: _tiff_exif for kind in mediatypes.RAW_KINDS.values()},
}


def parses(kind: mediatypes.Kind) -> bool:
    """Whether we read this image format's own metadata at all."""
    return kind in _EXIF_FINDERS


def probe_image(kind: mediatypes.Kind, data: bytes) -> tuple[FileFacts, Exif | None]:
    """The facts of an image in memory, and its EXIF as piexif's dict (empty when the file
    has none; None when it has EXIF we cannot read or when the format is not parsed)."""
    finder = _EXIF_FINDERS.get(kind)
    if finder is None:
        return UNREAD, None
    try:
        block = finder(data)
        if block is None:
            return FileFacts(), {}
        exif = exif_mod.load(block)
    except exif_mod.ExifError as exc:
        return FileFacts(damaged=str(exc)), None
    except (isobmff.BoxError, struct.error, IndexError, ValueError, OverflowError) as exc:
        return FileFacts(damaged=f"unreadable metadata structure ({exc})"), None
    try:
        return exif_mod.facts_from_exif(exif), exif
    except (TypeError, ValueError, ArithmeticError) as exc:  # a value of a type no camera
        return FileFacts(damaged=f"EXIF values of unexpected types ({exc})"), None


def probe_movie(kind: mediatypes.Kind, moov: bytes | None) -> FileFacts:
    """The facts of a video from its `moov` box (collected while the file was hashed)."""
    if kind not in _MOVIES:
        return UNREAD
    if moov is None:
        return FileFacts(damaged="no readable movie header (moov box)")
    try:
        return isobmff.movie_facts(moov)
    except (isobmff.BoxError, struct.error, IndexError, ValueError) as exc:
        return FileFacts(damaged=f"unreadable movie metadata ({exc})")


def is_movie(kind: mediatypes.Kind) -> bool:
    return kind in _MOVIES
