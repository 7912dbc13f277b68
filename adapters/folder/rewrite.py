"""New values for a file already in the folder library: into its EXIF, else its XMP sidecar.

The same rule as the first import: fill what is missing, never touch what the camera wrote.
Tags we inserted earlier (recorded in the entry as `exif_added`) are ours, so a change in
Google may replace exactly those; everything else in the file stays byte for byte, audited
by the same checks as the first insertion (`jpeg.rewrite_exif`). What the EXIF cannot carry
(the camera's own value stays, a format we do not write into, EXIF we cannot rewrite
safely) goes to the XMP sidecar, which galleries read over the file's own values.
"""

from __future__ import annotations

from dataclasses import dataclass

import piexif

from importer.metadata import exif as exif_mod
from importer.metadata import jpeg
from importer.metadata.facts import UNREAD, FileFacts
from importer.metadata.probe import probe_image
from importer.metadata.resolve import Resolution, lacking
from importer.model import MediaType, Metadata
from importer.sources import mediatypes

Key = tuple[str, int]
MAX_REWRITE = 256 * 1024 * 1024
"""Larger JPEGs are not rewritten in memory; their new values go to the sidecar."""
_E = piexif.ExifIFD
_DATE_TAGS = frozenset({_E.DateTimeOriginal, _E.OffsetTimeOriginal, _E.DateTimeDigitized,
                        _E.OffsetTimeDigitized})


def field_of(key: Key) -> str | None:
    """Which metadata field an EXIF tag we write belongs to."""
    ifd, tag = key
    if ifd == "Exif" and tag in _DATE_TAGS:
        return "taken_at"
    if ifd == "GPS":
        return "location"
    if ifd == "0th" and tag == piexif.ImageIFD.ImageDescription:
        return "description"
    return None


@dataclass(frozen=True)
class Embedded:
    data: bytes | None
    """The file's new bytes; None when they stay as they are."""
    exif_added: frozenset[Key]
    """Our tags in the (new) bytes."""
    needs_sidecar: bool
    """Some value is not stated by the file itself."""
    stated: FileFacts = UNREAD
    """What the file's own metadata says after the change."""


def _without(exif: exif_mod.Exif, keys: frozenset[Key]) -> exif_mod.Exif:
    result = dict(exif)
    for ifd in {ifd for ifd, _ in keys}:
        result[ifd] = {t: v for t, v in (exif.get(ifd) or {}).items() if (ifd, t) not in keys}
    return result


def embed(data: bytes | None, ours: frozenset[Key], metadata: Metadata,
          fields: frozenset[str]) -> Embedded:
    """`metadata` (all of the item's values) written into a JPEG's EXIF as far as it may
    be; `fields` are the ones that changed (only our tags of those are replaced). `data`
    is None for a file that is not a JPEG we rewrite."""
    if data is None or len(data) > MAX_REWRITE:
        return Embedded(None, ours, True)
    try:
        block = jpeg.exif_block(data)
        exif = exif_mod.load(block) if block else {}
    except exif_mod.ExifError:
        return Embedded(None, ours, True, probe_image(mediatypes.JPEG, data)[0])
    replaced = frozenset(k for k in ours if field_of(k) in fields)
    stripped = _without(exif, replaced)
    resolution = Resolution(metadata)
    filled, added = exif_mod.fill_missing(stripped, exif_mod.facts_from_exif(stripped),
                                          resolution)
    new: bytes | None = None
    if replaced or added:
        try:
            new = jpeg.rewrite_exif(data, filled, added, replaced)
        except exif_mod.ExifError:
            return Embedded(None, ours, True, exif_mod.facts_from_exif(exif))
    kept = (ours - replaced) | added
    stated = exif_mod.facts_from_exif(filled if new is not None else exif)
    return Embedded(None if new == data else new, kept, bool(lacking(stated, resolution)),
                    stated)


def own_facts(kind: mediatypes.Kind | None, data: bytes | None) -> FileFacts:
    """What a file we do not write into says itself (UNREAD for what we cannot parse)."""
    if kind is None or data is None or kind.media_type is not MediaType.PHOTO:
        return UNREAD
    return probe_image(kind, data)[0]
