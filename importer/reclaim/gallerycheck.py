"""Ask the gallery itself, in bulk, whether it holds what a Google item would leave behind.

Trusting the state is not enough (someone may have deleted or replaced a file in the
gallery since), so every part is checked with `Gallery.verify` (Immich by checksum in
bulk, PhotoPrism by file hash, the folder target by hashing the file) and every album is
listed through `AlbumMembers`. A check that fails keeps the items it concerns.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from adapters.base import (
    AlbumMembers,
    AuthError,
    Gallery,
    GalleryError,
    TargetUnavailable,
    VerifyStatus,
)
from importer.reclaim.candidates import Candidate
from importer.reclaim.rules import GalleryFacts

VERIFY_BATCH = 500
FATAL = (AuthError, TargetUnavailable)


def check(gallery: Gallery, found: Iterable[Candidate]) -> GalleryFacts:
    candidates = list(found)
    parts = list(dict.fromkeys((p.remote_id, p.sha1) for c in candidates for p in c.parts))
    album_ids = list(dict.fromkeys(n.album_id for c in candidates for n in c.albums
                                   if n.album_id is not None))
    statuses = verify_parts(gallery, parts)
    if not album_ids:
        return GalleryFacts(statuses, {})
    if not isinstance(gallery, AlbumMembers):
        return GalleryFacts(statuses, None)
    return GalleryFacts(statuses, list_members(gallery, album_ids))


def verify_parts(gallery: Gallery, parts: Sequence[tuple[str, str]]
                 ) -> dict[tuple[str, str], VerifyStatus | str]:
    """`verify` takes remote id -> checksum, so parts sharing a remote id (PhotoPrism keeps
    a live photo's video in the photo itself) go in separate calls."""
    statuses: dict[tuple[str, str], VerifyStatus | str] = {}
    for batch in batches(parts):
        expected = dict(batch)
        try:
            answer = gallery.verify(expected)
        except FATAL:
            raise
        except GalleryError as exc:
            statuses.update((pair, str(exc)) for pair in batch)
            continue
        for remote_id, sha1 in batch:
            statuses[(remote_id, sha1)] = answer.get(remote_id, VerifyStatus.MISSING)
    return statuses


def batches(parts: Sequence[tuple[str, str]], size: int = VERIFY_BATCH
            ) -> Iterator[list[tuple[str, str]]]:
    """At most `size` pairs each, no remote id twice in one."""
    pending = list(parts)
    while pending:
        batch: list[tuple[str, str]] = []
        seen: set[str] = set()
        later: list[tuple[str, str]] = []
        for pair in pending:
            if pair[0] in seen or len(batch) >= size:
                later.append(pair)
            else:
                seen.add(pair[0])
                batch.append(pair)
        yield batch
        pending = later


def list_members(gallery: AlbumMembers, album_ids: Sequence[str]
                 ) -> dict[str, frozenset[str] | str]:
    members: dict[str, frozenset[str] | str] = {}
    for album_id in album_ids:
        try:
            members[album_id] = frozenset(gallery.album_members(album_id))
        except FATAL:
            raise
        except GalleryError as exc:
            members[album_id] = str(exc)
    return members
