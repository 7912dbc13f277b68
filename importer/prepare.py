"""Turn an item into bytes ready to send: true type, checksums, metadata written in.

Read-only with respect to the export and the target, so it can run before the decision
(items without a Google URL need their checksum to be identified) and in dry runs.

One streaming pass reads each file: it hashes, sniffs the true type, and keeps what the
metadata step needs: a photo up to `HOLD_LIMIT` whole, in memory; of a bigger JPEG only its
header segments (the EXIF rewrite is then streamed: new header + the original's remaining
bytes, never held); a bigger photo of another format goes to an unnamed temporary file that
is mapped for reading its metadata and dropped at once; a video's `moov` box is picked out
of the stream. Then the file's own metadata and Google's are resolved (`metadata.resolve`),
JPEGs get the values they lack inserted into EXIF (losslessly, audited), and whatever the
file still does not carry goes into an XMP sidecar. So what an item holds in memory is
bounded by `HOLD_LIMIT` whatever its size, and `PreparedFile.held` says how much it keeps
until it is sent.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import mmap
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import PurePosixPath
from typing import IO, cast

from importer.config import MetadataSettings
from importer.faults import disk_full
from importer.metadata import exif as exif_mod
from importer.metadata import isobmff, jpeg, xmp
from importer.metadata.convert import clean_text
from importer.metadata.facts import UNREAD, FileFacts
from importer.metadata.probe import is_movie, parses, probe_image, probe_movie
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
from importer.splice import sha1_of, spliced_opener

Key = tuple[str, int]
HASH_CHUNK = 1 << 20
HOLD_LIMIT = 8 * 1024 * 1024
"""Photos up to this size are read into memory once (hashing, metadata and the EXIF
rewrite from one read); bigger ones are never held whole."""


class PrepareError(Exception):
    """The file cannot be read or is not media; the item fails, the run goes on."""


class NotMedia(PrepareError):
    """The bytes are no photo or video, whatever the name says (a zip named .mp4, an HTML
    page named .jpg): reported as such and never sent anywhere as media."""


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
    size: int
    data: bytes | None
    """What the metadata step reads: the whole photo (or a map of its temporary copy), or
    only the header segments of a big JPEG (`head_only`)."""
    moov: bytes | None
    """A video's `moov` box payload."""
    head_only: bool = False


class _Keeper:
    """What one read of a photo keeps for its metadata (see the module's docstring)."""

    def __init__(self, kind: mediatypes.Kind, spill: Callable[[], IO[bytes]]) -> None:
        self.jpeg = kind is mediatypes.JPEG
        self.wanted = kind.media_type is MediaType.PHOTO and (self.jpeg or parses(kind))
        self._spill_factory = spill
        self.chunks: list[bytes] = []
        self.size = 0
        self.head: bytes | None = None
        self.spill: IO[bytes] | None = None
        self.view: mmap.mmap | None = None

    def feed(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if not self.wanted or self.head is not None:
            return
        if self.spill is not None:
            self.spill.write(chunk)
            return
        self.chunks.append(chunk)
        if self.size > HOLD_LIMIT:
            self._overflow()

    def _overflow(self) -> None:
        held, self.chunks = b"".join(self.chunks), []
        if self.jpeg:
            self.head = _jpeg_head(held)
            self.wanted = self.head is not None
            return
        self.spill = self._spill_factory()
        self.spill.write(held)

    def data(self) -> tuple[bytes | None, bool]:
        """The bytes to probe, and whether they are a JPEG's head only."""
        if self.head is not None:
            return self.head, True
        if self.spill is not None:
            self.spill.flush()
            self.view = mmap.mmap(self.spill.fileno(), 0, access=mmap.ACCESS_READ)
            return cast(bytes, self.view), False  # probing only slices and unpacks a map
        return (b"".join(self.chunks), False) if self.wanted else (None, False)


def _jpeg_head(prefix: bytes) -> bytes | None:
    """The header segments of a JPEG (through the start-of-scan marker), if they end
    within `prefix`."""
    try:
        _, sos = jpeg.header_segments(prefix)
    except exif_mod.ExifError:
        return None
    return prefix[:sos + 4]


@contextlib.contextmanager
def _reading(file: MediaFile) -> Iterator[_Read]:
    """One streaming pass: the true kind, the SHA-1, and what the metadata step needs.
    A temporary copy (big non-JPEG photos) lives only inside the `with` block."""
    with contextlib.ExitStack() as cleanup:
        def spill() -> IO[bytes]:
            return cleanup.enter_context(tempfile.TemporaryFile())

        digest = hashlib.sha1(usedforsecurity=False)
        with file.opener() as stream:
            chunk = stream.read(HASH_CHUNK)
            kind = _kind(file, chunk[: mediatypes.SNIFF_BYTES])
            keeper = _Keeper(kind, spill)
            boxes = isobmff.TopBoxCollector() if is_movie(kind) else None
            while chunk:
                digest.update(chunk)
                keeper.feed(chunk)
                if boxes is not None:
                    boxes.feed(chunk)
                chunk = stream.read(HASH_CHUNK)
        moov = boxes.boxes.get(b"moov") if boxes is not None else None
        data, head_only = keeper.data()
        if keeper.view is not None:
            cleanup.callback(keeper.view.close)
        yield _Read(kind, digest.hexdigest(), keeper.size, data, moov, head_only)


def _sha1(data: bytes) -> str:
    return hashlib.sha1(data, usedforsecurity=False).hexdigest()


def _kind(file: MediaFile, head: bytes) -> mediatypes.Kind:
    kind = mediatypes.resolve(file.name, head)
    if kind is None:
        raise NotMedia(f"{file.location}: not a photo or video: the bytes are "
                       f"{mediatypes.describe(head)}, whatever its name says")
    return kind


@dataclass(frozen=True)
class _Embedded:
    resolution: Resolution
    written: bytes | None
    """New bytes when EXIF was inserted (for a head-only read: the new head); None when
    the original bytes are sent."""
    xmp: bytes | None
    notes: tuple[str, ...]
    added: frozenset[Key] = frozenset()


def _probe(read: _Read) -> tuple[FileFacts, exif_mod.Exif | None]:
    if read.data is not None:
        return probe_image(read.kind, read.data)
    if is_movie(read.kind):
        return probe_movie(read.kind, read.moov), None
    if read.kind is mediatypes.JPEG:
        return FileFacts(damaged=f"JPEG header segments longer than {HOLD_LIMIT} bytes"), None
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
    embedded: _Embedded | None = None
    failure: Exception | None = None
    try:
        with _reading(file) as read:
            try:
                embedded = _embed(read, metadata, prefer)
            except Exception as exc:  # our metadata code failed, not the reading
                failure = exc
    except PrepareError:
        raise
    except Exception as exc:  # OSError, EOFError, zlib.error, BadZipFile from a damaged member
        if disk_full(exc):  # no space for a temporary copy: every later item would fail too
            raise
        raise PrepareError(f"{file.location}: cannot read ({type(exc).__name__}: {exc})") from None
    if failure is not None or embedded is None:
        raise failure or PrepareError(f"{file.location}: no metadata step")
    return _prepared_file(file, read, embedded), embedded.resolution, embedded.notes


def _prepared_file(file: MediaFile, read: _Read, embedded: _Embedded) -> PreparedFile:
    """The bytes to send: the original, the rewritten JPEG held in memory, or a big JPEG's
    new head spliced onto the original's remaining bytes (hashed by reading them again)."""
    written, name, mime = embedded.written, true_filename(file.name, read.kind), read.kind.mime
    if written is None:
        return PreparedFile(name, read.size, mime, read.sha1, read.sha1, file.opener,
                            embedded.xmp)
    if not read.head_only:
        return PreparedFile(name, len(written), mime, _sha1(written), read.sha1,
                            _bytes_opener(written), embedded.xmp, held=len(written),
                            exif_added=embedded.added)
    assert read.data is not None
    skip = len(read.data)
    opener = spliced_opener(written, file.opener, skip, len(written) + read.size - skip)
    try:
        sha1, size = sha1_of(opener)
    except Exception as exc:
        raise PrepareError(f"{file.location}: cannot read it again ({type(exc).__name__}: "
                           f"{exc})") from None
    return PreparedFile(name, size, mime, sha1, read.sha1, opener, embedded.xmp,
                        held=len(written), exif_added=embedded.added)


def prepare(item: MediaItem, identity: str | None = None, *,
            settings: MetadataSettings | None = None) -> PreparedAsset:
    """`settings.prefer_google` lets Google's values win conflicts with the file's own."""
    prefer = settings.google_wins if settings is not None else frozenset()
    primary, resolution, notes = prepare_file(item.file, item.metadata, prefer)
    live = None
    if item.live_video is not None:
        try:
            live, _, live_notes = prepare_file(item.live_video, resolution.metadata)
        except NotMedia as exc:  # the still is the user's photo all the same
            live_notes = (f"{exc}; left out, the still is imported alone",)
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
