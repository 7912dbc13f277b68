"""Turn an item into bytes ready to send: true type, checksums, metadata written in.

Read-only with respect to the export and the target, so it can run before the decision
(items without a Google URL need their checksum to be identified) and in dry runs.

One streaming pass reads each file: it hashes, sniffs the true type, keeps images (up to
256 MB) in memory to read their metadata, and picks a video's `moov` box out of the stream.
Then the file's own metadata and Google's are resolved (`metadata.resolve`), JPEGs get the
values they lack inserted into EXIF (losslessly, audited), and whatever the file still does
not carry goes into an XMP sidecar.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import PurePosixPath
from typing import IO

from importer.config import MetadataSettings
from importer.metadata import exif as exif_mod
from importer.metadata import isobmff, jpeg, xmp
from importer.metadata.convert import clean_text
from importer.metadata.facts import UNREAD, FileFacts
from importer.metadata.probe import is_movie, probe_image, probe_movie
from importer.metadata.resolve import Resolution, lacking, resolve
from importer.model import (
    MediaFile,
    MediaItem,
    MediaType,
    Metadata,
    PreparedAsset,
    PreparedFile,
)
from importer.sources import mediatypes

Key = tuple[str, int]
HASH_CHUNK = 1 << 20
MAX_IN_MEMORY = 256 * 1024 * 1024


class PrepareError(Exception):
    """The file cannot be read or is not media; the item fails, the run goes on."""


CONTENT = "sha1:"


def identity_for(item: MediaItem, source_sha1: str) -> str:
    """Google's URL when known; else content + name, stable across exports."""
    return item.google_identity or f"{CONTENT}{source_sha1}:{item.file.name}"


def content_sha1(identity: str) -> str | None:
    """The source SHA-1 of a content identity (an item that came without its sidecar)."""
    if not identity.startswith(CONTENT):
        return None
    return identity[len(CONTENT):].partition(":")[0] or None


def _bytes_opener(data: bytes) -> Callable[[], IO[bytes]]:
    def open_bytes() -> IO[bytes]:
        return io.BytesIO(data)

    return open_bytes


def true_filename(name: str, kind: mediatypes.Kind) -> str:
    """The name with an extension that tells the truth about the bytes."""
    named = mediatypes.by_name(name)
    if named is not None and named.mime == kind.mime:
        return name
    return PurePosixPath(name).stem + kind.extension


@dataclass(frozen=True)
class _Read:
    kind: mediatypes.Kind
    sha1: str
    data: bytes | None
    """The whole file, for images small enough to hold."""
    moov: bytes | None
    """A video's `moov` box payload."""


def _read(file: MediaFile) -> _Read:
    """One streaming pass: the true kind, the SHA-1, and what the metadata step needs."""
    digest = hashlib.sha1(usedforsecurity=False)
    with file.opener() as stream:
        first = stream.read(HASH_CHUNK)
        kind = _kind(file, first[: mediatypes.SNIFF_BYTES])
        keep = kind.media_type is MediaType.PHOTO and file.size <= MAX_IN_MEMORY
        boxes = isobmff.TopBoxCollector() if is_movie(kind) else None
        chunks = [first]
        chunk = first
        while chunk:
            digest.update(chunk)
            if boxes is not None:
                boxes.feed(chunk)
            chunk = stream.read(HASH_CHUNK)
            if keep and chunk:
                chunks.append(chunk)
    moov = boxes.boxes.get(b"moov") if boxes is not None else None
    return _Read(kind, digest.hexdigest(), b"".join(chunks) if keep else None, moov)


def _sha1(data: bytes) -> str:
    return hashlib.sha1(data, usedforsecurity=False).hexdigest()


def _kind(file: MediaFile, head: bytes) -> mediatypes.Kind:
    kind = mediatypes.resolve(file.name, head)
    if kind is None:
        raise PrepareError(f"{file.location}: not a photo or video we recognise")
    return kind


@dataclass(frozen=True)
class _Embedded:
    resolution: Resolution
    written: bytes | None
    """New bytes when EXIF was inserted; None when the original bytes are sent."""
    xmp: bytes | None
    notes: tuple[str, ...]
    added: frozenset[Key] = frozenset()


def _probe(read: _Read) -> tuple[FileFacts, exif_mod.Exif | None]:
    if read.data is not None:
        return probe_image(read.kind, read.data)
    if is_movie(read.kind):
        return probe_movie(read.kind, read.moov), None
    return UNREAD, None


def _insert_exif(data: bytes, exif: exif_mod.Exif, facts: FileFacts,
                 resolution: Resolution) -> tuple[bytes | None, FileFacts, frozenset[Key]]:
    """JPEG bytes with the missing values in EXIF (None: nothing missing), the facts the
    new bytes state, and the tags added. Raises ExifError when that cannot be done without
    harm."""
    filled, added = exif_mod.fill_missing(exif, facts, resolution)
    if not added:
        return None, facts, frozenset()
    written = jpeg.rewrite_exif(data, filled, added)
    return written, exif_mod.facts_from_exif(filled), added


def _embed(read: _Read, metadata: Metadata, prefer: frozenset[str]) -> _Embedded:
    facts, exif = _probe(read)
    resolution = resolve(facts, metadata, prefer)
    problems = [facts.damaged] if facts.damaged else []
    written, stated, added = None, facts, frozenset[Key]()
    if read.kind is mediatypes.JPEG and read.data is not None and exif is not None:
        try:
            written, stated, added = _insert_exif(read.data, exif, facts, resolution)
        except exif_mod.ExifError as exc:
            problems.append(str(exc))
    sidecar = xmp.sidecar(resolution.metadata) if lacking(stated, resolution) else None
    where = "values written to the XMP sidecar" if sidecar else "no values to write"
    notes = tuple(f"{problem}; original bytes kept, {where}" for problem in problems)
    return _Embedded(resolution, written, sidecar, notes, added)


def _carried(metadata: Metadata) -> frozenset[str]:
    """Every resolved value travels in the bytes or the sidecar."""
    present = {
        "taken_at": metadata.taken_at is not None,
        "location": metadata.location is not None,
        "description": bool(clean_text(metadata.description or "")),
    }
    return frozenset(name for name, known in present.items() if known)


def prepare_file(file: MediaFile, metadata: Metadata, prefer: frozenset[str] = frozenset()
                 ) -> tuple[PreparedFile, Resolution, tuple[str, ...]]:
    """Prepared bytes (+ sidecar), the metadata as resolved against the file, and notes."""
    try:
        read = _read(file)
    except PrepareError:
        raise
    except Exception as exc:  # OSError, EOFError, zlib.error, BadZipFile from a damaged member
        raise PrepareError(f"{file.location}: cannot read ({type(exc).__name__}: {exc})") from None
    embedded = _embed(read, metadata, prefer)
    written = embedded.written
    prepared = PreparedFile(
        filename=true_filename(file.name, read.kind),
        size=len(written) if written is not None else file.size,
        mime=read.kind.mime,
        sha1=_sha1(written) if written is not None else read.sha1,
        source_sha1=read.sha1,
        opener=_bytes_opener(written) if written is not None else file.opener,
        xmp=embedded.xmp,
        exif_added=embedded.added,
    )
    return prepared, embedded.resolution, embedded.notes


def prepare(item: MediaItem, identity: str | None = None, *,
            settings: MetadataSettings | None = None) -> PreparedAsset:
    """`settings.prefer_google` lets Google's values win conflicts with the file's own."""
    prefer = settings.google_wins if settings is not None else frozenset()
    primary, resolution, notes = prepare_file(item.file, item.metadata, prefer)
    live = None
    if item.live_video is not None:
        live, _, live_notes = prepare_file(item.live_video, resolution.metadata)
        notes += tuple(f"motion part {item.live_video.name}: {n}" for n in live_notes)
    resolved = replace(item, metadata=resolution.metadata)
    return PreparedAsset(
        item=resolved,
        identity=identity or identity_for(resolved, primary.source_sha1),
        primary=primary,
        live_video=live,
        carried=_carried(resolution.metadata),
        from_file=resolution.from_file,
        conflicts=resolution.conflicts,
        metadata_notes=notes,
    )
