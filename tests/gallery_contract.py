"""Harnesses for the shared gallery behaviour suite (tests/test_gallery_contract.py).

The suite runs every test once per entry of `HARNESSES`. A harness factory takes a temporary
directory and is a context manager yielding a `Harness`: an opened `gallery` (behind a
faithful fake where the target is a server) and a way to read back, in neutral terms, what
landed on the target (`observe`). On exit it closes the gallery and, for fakes, asserts that
no request was rejected and no response broke the contract.

Adding a target is one entry in `HARNESSES`, e.g. for Immich a factory defined beside its
fake: `"immich": immich_harness`.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from adapters.base import BatchUploader, Gallery, GalleryError, UploadResult
from adapters.folder.target import FolderTarget
from adapters.immich.target import ImmichTarget
from adapters.photoprism.client import Credentials
from adapters.photoprism.target import PhotoPrismTarget
from importer import act
from importer.metadata import xmp
from importer.metadata.probe import probe_image
from importer.model import (
    Album,
    GeoPoint,
    MediaFile,
    MediaItem,
    MediaType,
    Metadata,
    PreparedAsset,
    PreparedFile,
)
from importer.sources import mediatypes
from tests.exportgen import unique_jpeg
from tests.fakes.immich import FakeImmich
from tests.fakes.photoprism import APP_PASSWORD, FakePhotoPrism


@dataclass(frozen=True)
class Observed:
    """One item as the target shows it."""

    taken_at: datetime | None
    location: tuple[float, float] | None
    description: str | None
    favorite: bool
    archived: bool
    albums: frozenset[str]
    checksums: frozenset[str] = field(default_factory=frozenset)


class Harness(Protocol):
    gallery: Gallery
    missing_id: str  # a well-formed remote id the target does not hold
    exact_duplicate_status: bool  # re-uploaded bytes are reported DUPLICATE, not CREATED

    def observe(self, remote_id: str) -> Observed | None: ...

    def count(self) -> int:
        """How many items the target holds."""
        ...


HarnessFactory = Callable[[Path], AbstractContextManager[Harness]]


# -- folder ----------------------------------------------------------------------------------


@dataclass
class FolderHarness:
    gallery: FolderTarget
    missing_id: str = "2001/01/missing.jpg"
    exact_duplicate_status: bool = True

    def observe(self, remote_id: str) -> Observed | None:
        """What the file itself carries (its XMP sidecar over its EXIF, as galleries read
        it), checked against what library.jsonl says: the two must never disagree."""
        entry = self.gallery.index.get(remote_id)
        path = self.gallery.root / remote_id
        if entry is None or not path.is_file():
            return None
        lat, lng = entry.get("latitude"), entry.get("longitude")
        said = Observed(
            taken_at=datetime.fromisoformat(entry["taken_at"]) if entry["taken_at"] else None,
            location=(lat, lng) if lat is not None and lng is not None else None,
            description=entry.get("description") or None,
            favorite=bool(entry.get("favorite")), archived=bool(entry.get("archived")),
            albums=frozenset(entry.get("albums") or ()))
        carried = file_values(path)
        assert carried[:3] == (said.taken_at, said.location, said.description), (carried, said)
        if carried[3] is not None:
            assert carried[3] == said.favorite
        # Found under the bytes it holds and the bytes it came from (values written in later).
        own = hashlib.sha1(path.read_bytes()).hexdigest()
        return replace(said, checksums=frozenset({own, entry.get("original_sha1") or own}))

    def count(self) -> int:
        return len(self.gallery.index.entries())


def file_values(path: Path) -> tuple[datetime | None, tuple[float, float] | None, str | None,
                                     bool | None]:
    """(capture time, place, caption, favorite or None) as the file and its sidecar say."""
    sidecar = path.with_name(path.name + ".xmp")
    if sidecar.is_file():
        found = xmp.read_sidecar(sidecar.read_bytes())
        assert found is not None
        where = found.location
        return (found.taken_at, (where.latitude, where.longitude) if where else None,
                found.description, found.favorite)
    kind = mediatypes.by_name(path.name)
    assert kind is not None
    facts, _ = probe_image(kind, path.read_bytes())
    point = facts.location
    return (facts.taken_at, (round(point.latitude, 7), round(point.longitude, 7)) if point
            else None, facts.description, None)


@contextmanager
def folder_harness(tmp: Path) -> Iterator[Harness]:
    target = FolderTarget(tmp / "library")
    try:
        yield FolderHarness(target)
    finally:
        target.close()


# -- photoprism ------------------------------------------------------------------------------


def observe_photoprism(fake: FakePhotoPrism, remote_id: str) -> Observed | None:
    library = fake.library
    with fake.lock:
        photo = library.photos.get(remote_id)
        if photo is None:
            return None
        files = frozenset(f.hash for f in library.files_of(remote_id) if not f.sidecar)
    return Observed(
        taken_at=photo.taken_at,
        location=(photo.lat, photo.lng) if photo.lat or photo.lng else None,
        description=photo.caption or None, favorite=photo.favorite,
        archived=photo.deleted_at is not None,
        albums=frozenset(fake.album_titles(remote_id)), checksums=files)


@dataclass
class PhotoPrismHarness:
    gallery: PhotoPrismTarget
    fake: FakePhotoPrism
    missing_id: str = "pzzzzzzzzzzzzzz1"
    exact_duplicate_status: bool = False  # PhotoPrism's import answer does not say

    def observe(self, remote_id: str) -> Observed | None:
        return observe_photoprism(self.fake, remote_id)

    def count(self) -> int:
        return len(self.fake.library.photos)


@contextmanager
def photoprism_harness(tmp: Path) -> Iterator[Harness]:
    fake = FakePhotoPrism(index_delay=0.02)
    url = fake.start()
    target = PhotoPrismTarget(url, Credentials(token=APP_PASSWORD), index_wait=2.0)
    try:
        yield PhotoPrismHarness(target, fake)
    finally:
        target.close()
        fake.stop()
    assert fake.rejected == [] and fake.violations == []


# -- immich ----------------------------------------------------------------------------------


def observe_immich(fake: FakeImmich, remote_id: str) -> Observed | None:
    """The asset as Immich shows it; a live photo's checksums include its motion part."""
    with fake.lock:
        found = fake.assets.get(remote_id)
        if found is None or found.deleted_at is not None:
            return None
        exif = dict(found.exif)
        albums = frozenset(a.name for a in fake.albums.values() if remote_id in a.asset_ids)
        motion = fake.assets.get(found.live_photo_video_id or "")
    lat, lng = exif.get("latitude"), exif.get("longitude")
    checksums = {found.checksum} | ({motion.checksum} if motion else set())
    return Observed(
        taken_at=exif.get("dateTimeOriginal"),
        location=(lat, lng) if lat is not None and lng is not None else None,
        description=exif.get("description") or None, favorite=found.is_favorite,
        archived=found.visibility == "archive", albums=albums,
        checksums=frozenset(checksums))


@dataclass
class ImmichHarness:
    gallery: ImmichTarget
    fake: FakeImmich
    missing_id: str = "6f1c0c6e-8a3a-4d3a-9a1e-1c0c6e8a3a4d"
    exact_duplicate_status: bool = True

    def observe(self, remote_id: str) -> Observed | None:
        return observe_immich(self.fake, remote_id)

    def count(self) -> int:
        with self.fake.lock:
            return sum(1 for a in self.fake.assets.values() if a.deleted_at is None)


@contextmanager
def immich_harness(tmp: Path) -> Iterator[Harness]:
    fake = FakeImmich()
    url = fake.start()
    target = ImmichTarget(url, fake.api_key, workers=2, timeout=30.0)
    try:
        yield ImmichHarness(target, fake)
    finally:
        target.close()
        fake.stop()
    assert fake.rejected == [] and fake.violations == []


HARNESSES: dict[str, HarnessFactory] = {
    "folder": folder_harness,
    "photoprism": photoprism_harness,
    "immich": immich_harness,
}


# -- building and sending items ---------------------------------------------------------------

WHEN = datetime(2019, 7, 4, 10, 15, 0, tzinfo=UTC)


def asset(name: str, tag: str, **meta: object) -> PreparedAsset:
    """A hand-built prepared item: a real JPEG unique to `tag`, carrying no metadata."""
    data = unique_jpeg(tag)
    sha1 = hashlib.sha1(data).hexdigest()
    metadata = Metadata(**({"taken_at": WHEN, "google_url": f"https://g/{tag}"} | meta))  # type: ignore[arg-type]
    file = MediaFile(name, f"test:{name}", len(data), MediaType.PHOTO, "image/jpeg",
                     lambda: io.BytesIO(data))
    prepared = PreparedFile(name, len(data), "image/jpeg", sha1, sha1, lambda: io.BytesIO(data))
    return PreparedAsset(MediaItem(file, metadata), f"https://g/{tag}", prepared)


@dataclass(frozen=True)
class Sent(UploadResult):
    recorded_sha1: str = ""
    """The SHA-1 the state would record: the bytes sent, or the file as a target that
    keeps values in its files (the folder library) rewrote it while settling."""


def send(gallery: Gallery, item: PreparedAsset) -> Sent:
    """Upload as the pipeline does (in a batch where the target takes batches), then settle."""
    if gallery.capabilities.upload_batch > 1 and isinstance(gallery, BatchUploader):
        (result,) = gallery.upload_many([item])
        if isinstance(result, GalleryError):
            raise result
    else:
        result = gallery.upload(item)
    rewritten = act.settle(gallery, result.remote_id, item.item.metadata,
                           result.applied | item.carried)
    return Sent(rewritten.remote_id if rewritten else result.remote_id, result.status,
                result.live_video_id, result.applied, note=result.note,
                recorded_sha1=rewritten.sha1 if rewritten else item.primary.sha1)


def expected(metadata: Metadata, albums: tuple[Album, ...] = ()) -> Observed:
    where: GeoPoint | None = metadata.location
    return Observed(metadata.taken_at, (where.latitude, where.longitude) if where else None,
                    metadata.description or None, metadata.favorite, metadata.archived,
                    frozenset(a.title for a in albums))


def without_checksums(observed: Observed | None) -> Observed | None:
    if observed is None:
        return None
    return Observed(observed.taken_at, observed.location, observed.description,
                    observed.favorite, observed.archived, observed.albums)
