"""The gallery protocol: what the pipeline may ask of any target.

Modelled on rclone's `fs.Features`: what a target can do is data (`Capabilities`), so the
pipeline asks instead of guessing, and each adapter keeps its wire types, status codes and
retries to itself, surfacing only the errors below.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar, cast, runtime_checkable

from importer.model import Album, Metadata, PreparedAsset


@dataclass(frozen=True)
class Capabilities:
    albums: bool = True
    album_descriptions: bool = False
    favorites: bool = True
    archive: bool = True
    descriptions: bool = True
    set_date: bool = True
    set_location: bool = True
    xmp_sidecars: bool = False
    live_photos: bool = False
    checksum_lookup: bool = True
    verify: bool = True
    max_batch: int = 500
    uploads_at_once: int = 0
    """Upload calls the gallery takes at once (0: one per worker). Above the workers, the
    gallery paces them itself (Immich adapts to its answer times)."""
    upload_batch: int = 1
    """Items one upload call may carry. Above 1 the gallery is a `BatchUploader`: its import
    step is costly per call (PhotoPrism indexes before answering), so the pipeline hands it
    many items at once instead of one per worker."""


class UploadStatus(enum.StrEnum):
    CREATED = "created"
    DUPLICATE = "duplicate"


@dataclass(frozen=True)
class UploadResult:
    """`applied` names what the upload itself already set on the target ("favorite",
    "archived" and metadata fields); the pipeline sets the rest through the setters."""

    remote_id: str
    status: UploadStatus
    live_video_id: str | None = None
    applied: frozenset[str] = frozenset()
    note: str = ""
    """Anything the user should know about how the target took it (for the report)."""


@dataclass(frozen=True)
class Rewritten:
    """A target that keeps an item's values in the stored file itself (the folder library)
    rewrote that file: where it is now (a new date moves it to another date folder) and the
    SHA-1 of its new bytes, for the state to record."""

    remote_id: str
    sha1: str
    live_video_id: str | None = None
    """Where the live photo's video is now, when it moved too."""


class VerifyStatus(enum.StrEnum):
    OK = "ok"
    MISSING = "missing"
    MISMATCH = "mismatch"
    INCOMPLETE = "incomplete"
    """The file is right but something that belongs to it is not (the folder library: its
    XMP sidecar or its library.jsonl entry is missing or says other values)."""


class GalleryError(Exception):
    """Base of every error an adapter lets out. The message is one line for the user."""


class TargetUnavailable(GalleryError):
    """The target cannot be used at all (unreachable, wrong kind of server, too old)."""


class StorageFull(TargetUnavailable):
    """The target has no space left (a full disk, a server answering 507): every later
    item would fail the same way, so the run stops."""


class AuthError(GalleryError):
    """Credentials missing, wrong, or lacking a named permission."""


class TransientError(GalleryError):
    """Gave up after retries on something that may work later (5xx, 429, timeouts)."""


class ItemRejected(GalleryError):
    """The target refused this one item (unsupported format, too large); others go on."""


@runtime_checkable
class Gallery(Protocol):
    """A place photos go. Every method is safe to call again after a failure."""

    @property
    def target(self) -> str:
        """Canonical target string, the key under which state records this target."""
        ...

    @property
    def capabilities(self) -> Capabilities: ...

    def find_existing(self, checksums: Sequence[str]) -> Mapping[str, str]:
        """Map each SHA-1 (hex) the target already holds to its remote id."""
        ...

    def upload(self, asset: PreparedAsset) -> UploadResult: ...

    def set_metadata(self, remote_id: str, metadata: Metadata,
                     fields: frozenset[str]) -> Rewritten | None:
        """Write `fields` ("taken_at", "location", "description") of `metadata`. Galleries
        return None; a target that rewrote (or moved) the stored file says so."""
        ...

    def set_favorite(self, remote_id: str, favorite: bool) -> None: ...

    def set_archived(self, remote_id: str, archived: bool) -> None: ...

    def ensure_album(self, album: Album, known_id: str | None) -> str:
        """Return the remote id of `album`, creating it only if it does not exist yet."""
        ...

    def add_to_album(self, album_id: str, remote_ids: Sequence[str]) -> None: ...

    def verify(self, expected: Mapping[str, str]) -> Mapping[str, VerifyStatus]:
        """Check remote id -> expected SHA-1 pairs in bulk."""
        ...

    def stats(self) -> Mapping[str, int]:
        """Counters for the run report (e.g. HTTP requests sent, retries)."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class BatchUploader(Protocol):
    """Optional: a gallery that imports many items per call (`capabilities.upload_batch`)."""

    def upload_many(self, assets: Sequence[PreparedAsset]) -> list[UploadResult | GalleryError]:
        """One outcome per asset, in order: a failed item is an error in its slot and never
        fails the others; only errors that doom every later item (AuthError,
        TargetUnavailable) are raised."""
        ...


class ThumbnailMissing(GalleryError):
    """The gallery has no item (or no preview) under that id."""


@runtime_checkable
class Thumbnails(Protocol):
    """Optional: small preview images of items already in the gallery, for the review page,
    which proxies them so the browser never holds a key. Open one with
    `adapters.open_thumbnails`; it needs only read access."""

    def thumbnail(self, remote_id: str) -> tuple[bytes, str]:
        """(image bytes, MIME type) of the item's preview; ThumbnailMissing if unknown."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class Replaces(Protocol):
    """Optional: a target that swaps the bytes of an item it holds for better ones (the
    folder library puts a Takeout original in place of the Picker's download of the same
    photo). Galleries without it keep their copy and only get the metadata."""

    def replace(self, remote_id: str, asset: PreparedAsset) -> UploadResult:
        """Put `asset` where `remote_id` is; the old bytes go only once the new ones are
        complete. Returns the item's (possibly new) remote id."""
        ...


_MALFORMED = (LookupError, TypeError, ValueError, AttributeError)
F = TypeVar("F", bound=Callable[..., Any])


def checked_answers(method: F) -> F:
    """For an adapter's public methods: an answer that is not what the server's API
    describes (a field missing, a wrong type, not JSON at all) fails the call with a
    `GalleryError` like any other refusal, instead of escaping as a KeyError."""

    @functools.wraps(method)
    def checked(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except GalleryError:
            raise
        except _MALFORMED as exc:
            raise GalleryError(f"the server answered something its API does not describe "
                               f"({type(exc).__name__}: {exc})") from exc

    return cast(F, checked)


@dataclass(frozen=True)
class Changes:
    """What to set on one item: `fields` of `metadata`, and each flag that is not None."""

    metadata: Metadata
    fields: frozenset[str] = frozenset()
    favorite: bool | None = None
    archived: bool | None = None

    def __bool__(self) -> bool:
        return bool(self.fields) or self.favorite is not None or self.archived is not None


@runtime_checkable
class ChangesAtOnce(Protocol):
    """Optional: a gallery that sets an item's flags and metadata with one request, where
    the setters would take one each (Immich: one `PUT /assets/{id}` instead of three)."""

    def apply_changes(self, remote_id: str, changes: Changes) -> None: ...


@runtime_checkable
class FlagsInBulk(Protocol):
    """Optional: a gallery that sets a flag on many items with one request."""

    def set_flags_many(self, remote_ids: Sequence[str], *, favorite: bool | None = None,
                       archived: bool | None = None) -> None:
        """Set the flags that are not None on every item of `remote_ids`."""
        ...


METADATA_FIELDS = frozenset({"taken_at", "location", "description"})
ALL_FIELDS = METADATA_FIELDS | {"favorite", "archived"}


@runtime_checkable
class AlbumMembers(Protocol):
    """Optional: who is in an album, asked of the gallery itself. Reclaim trashes a Google
    copy only when every album of it holds the item in the gallery, so this must read the
    gallery, never our state."""

    def album_members(self, album_id: str) -> set[str]:
        """Remote ids in the album now (an album that is gone has none)."""
        ...


@dataclass(frozen=True)
class StoredItem:
    """What the state says one item is on a target (for a target that repairs itself)."""

    remote_id: str
    name: str
    sha1: str | None = None
    source_sha1: str | None = None
    google_url: str | None = None
    favorite: bool = False
    archived: bool = False
    albums: tuple[tuple[Album, str], ...] = ()
    """Each album the item is recorded in, with the album's remote id."""
    values: Mapping[str, object] = field(default_factory=dict)
    """Google's values as last synced ("taken_at", "location", "description")."""
    live_video_id: str | None = None
    live_video_sha1: str | None = None


@dataclass
class Repairs:
    """What a target found and mended, and what only the state can fix."""

    moved: dict[str, Rewritten] = field(default_factory=dict)
    """Remote id the state knows -> where the item is now and its bytes' SHA-1."""
    missing: list[str] = field(default_factory=list)
    """Remote ids whose files are gone: import them again from the export."""
    mended: list[str] = field(default_factory=list)
    """One line per thing written again (an index entry, a sidecar, an album link)."""


@runtime_checkable
class RepairsItself(Protocol):
    """Optional: a target that can check cheaply, at every run's start, that it holds what
    the state says and mend what is only partly there (the folder library)."""

    def repair(self, items: Iterable[StoredItem]) -> Repairs: ...
