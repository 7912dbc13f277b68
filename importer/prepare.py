"""Turn an item into bytes ready to send: true type, checksums, metadata written in.

Read-only with respect to the export and the target, so it can run before the decision
(items without a Google URL need their checksum to be identified) and in dry runs.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import PurePosixPath
from typing import IO

from importer.metadata.jpeg import (
    ExifError,
    exif_capture_time,
    insert_exif,
    load_exif,
    with_capture_time,
)
from importer.model import (
    DateSource,
    MediaFile,
    MediaItem,
    Metadata,
    PreparedAsset,
    PreparedFile,
)
from importer.sources import mediatypes

HASH_CHUNK = 1 << 20
MAX_IN_MEMORY = 256 * 1024 * 1024


class PrepareError(Exception):
    """The file cannot be read or is not media; the item fails, the run goes on."""


def identity_for(item: MediaItem, source_sha1: str) -> str:
    """Google's URL when known; else content + name, stable across exports."""
    return item.google_identity or f"sha1:{source_sha1}:{item.file.name}"


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


def _read(file: MediaFile) -> tuple[mediatypes.Kind, str, bytes | None]:
    """One streaming pass: the true kind, the SHA-1, and the bytes when we may edit them."""
    digest = hashlib.sha1(usedforsecurity=False)
    with file.opener() as stream:
        first = stream.read(HASH_CHUNK)
        kind = _kind(file, first[: mediatypes.SNIFF_BYTES])
        keep = kind is mediatypes.JPEG and file.size <= MAX_IN_MEMORY
        chunks = [first]
        digest.update(first)
        while chunk := stream.read(HASH_CHUNK):
            digest.update(chunk)
            if keep:
                chunks.append(chunk)
    return kind, digest.hexdigest(), b"".join(chunks) if keep else None


def _sha1(data: bytes) -> str:
    return hashlib.sha1(data, usedforsecurity=False).hexdigest()


def _kind(file: MediaFile, head: bytes) -> mediatypes.Kind:
    kind = mediatypes.resolve(file.name, head)
    if kind is None:
        raise PrepareError(f"{file.location}: not a photo or video we recognise")
    return kind


def _implied_offset(wall: datetime, instant: datetime | None) -> datetime:
    """A camera's naive wall time made aware: the sidecar's UTC instant reveals the offset
    when the two differ by a whole quarter hour within ±14 h; otherwise assume UTC."""
    if instant is not None:
        delta = wall - instant.astimezone(UTC).replace(tzinfo=None)
        quarters = round(delta.total_seconds() / 900)
        if abs(quarters) <= 56 and abs(delta.total_seconds() - quarters * 900) <= 60:
            return wall.replace(tzinfo=timezone(timedelta(minutes=15 * quarters)))
    return wall.replace(tzinfo=UTC)


def _embed_jpeg(data: bytes, metadata: Metadata) -> tuple[bytes, Metadata, frozenset[str]]:
    """The camera's own date wins; a missing one is filled from Google's."""
    try:
        exif = load_exif(data)
        own = exif_capture_time(exif)
        if own is not None:
            aware = own if own.tzinfo else _implied_offset(own, metadata.taken_at)
            resolved = replace(metadata, taken_at=aware, taken_at_source=DateSource.EXIF)
            return data, resolved, frozenset({"taken_at"})
        if metadata.taken_at is None:
            return data, metadata, frozenset()
        written = insert_exif(data, with_capture_time(exif, metadata.taken_at))
        return written, metadata, frozenset({"taken_at"})
    except ExifError:
        return data, metadata, frozenset()  # damaged EXIF: keep the original bytes


def prepare_file(
    file: MediaFile, metadata: Metadata
) -> tuple[PreparedFile, Metadata, frozenset[str]]:
    """Prepared bytes, the metadata as resolved against the file, and what the bytes carry."""
    try:
        kind, source_sha1, data = _read(file)
    except PrepareError:
        raise
    except Exception as exc:  # OSError, EOFError, zlib.error, BadZipFile from a damaged member
        raise PrepareError(f"{file.location}: cannot read ({type(exc).__name__}: {exc})") from None
    written, carried = data, frozenset[str]()
    if data is not None:
        written, metadata, carried = _embed_jpeg(data, metadata)
    changed = written is not None and written is not data
    prepared = PreparedFile(
        filename=true_filename(file.name, kind),
        size=len(written) if written is not None and changed else file.size,
        mime=kind.mime,
        sha1=_sha1(written) if changed and written is not None else source_sha1,
        source_sha1=source_sha1,
        opener=_bytes_opener(written) if changed and written is not None else file.opener,
    )
    return prepared, metadata, carried


def prepare(item: MediaItem, identity: str | None = None) -> PreparedAsset:
    primary, metadata, carried = prepare_file(item.file, item.metadata)
    live = prepare_file(item.live_video, metadata)[0] if item.live_video else None
    resolved = replace(item, metadata=metadata)
    return PreparedAsset(
        item=resolved,
        identity=identity or identity_for(resolved, primary.source_sha1),
        primary=primary,
        live_video=live,
        carried=carried,
    )
