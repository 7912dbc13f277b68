"""One batch of items into PhotoPrism: stage the files, import them once, find the photos.

PhotoPrism imports from a staging folder per session and upload token, answers the import
without photo UIDs, and silently drops files it does not accept. So a batch is: POST every
file under a fresh token (one unique stem per item, the XMP sidecar and motion part beside
it), one PUT to import, then each photo's UID from its file's SHA-1, polling with a bounded
back-off while indexing catches up. Whatever was sent but never became a photo is reported
as that item's failure; the other items of the batch go on. A file PhotoPrism stacked into
another item's photo (same capture time and place) is imported: that photo shows it.
"""

from __future__ import annotations

import io
import secrets
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from typing import IO, Any

import httpx

from adapters.base import (
    AuthError,
    GalleryError,
    ItemRejected,
    TargetUnavailable,
    TransientError,
    UploadResult,
    UploadStatus,
)
from adapters.photoprism.client import PhotoPrismClient, raise_for
from adapters.photoprism.forms import extension, upload_stem
from importer.model import PreparedAsset

POST_BYTES = 64 * 1024 * 1024
POST_FILES = 25
SESSION_RESTARTS = 3
QUIET = 1.0
IMPORT_TIMEOUT = httpx.Timeout(connect=10.0, read=1800.0, write=600.0, pool=60.0)
FATAL = (AuthError, TargetUnavailable)
Outcome = UploadResult | GalleryError


@dataclass(frozen=True)
class Part:
    name: str
    mime: str
    size: int
    opener: Callable[[], IO[bytes]]


@dataclass(frozen=True)
class Staged:
    """An item's files under the names PhotoPrism will see: one stem for all of them."""

    asset: PreparedAsset
    parts: tuple[Part, ...]

    @property
    def sha1(self) -> str:
        return self.asset.primary.sha1

    @property
    def upload_name(self) -> str:
        return self.parts[0].name

    @property
    def size(self) -> int:
        return sum(part.size for part in self.parts)


def stage(asset: PreparedAsset) -> Staged:
    primary = asset.primary
    stem = upload_stem(asset.item.file.name, primary.sha1)
    parts = [Part(stem + extension(primary.filename), primary.mime, primary.size,
                  primary.opener)]
    if primary.xmp is not None:
        xmp = primary.xmp
        parts.append(Part(stem + ".xmp", "application/rdf+xml", len(xmp),
                          lambda: io.BytesIO(xmp)))
    video = asset.live_video
    if video is not None:
        parts.append(Part(stem + extension(video.filename), video.mime, video.size,
                          video.opener))
    return Staged(asset, tuple(parts))


def post_groups(items: Sequence[Staged], max_bytes: int = POST_BYTES,
                max_files: int = POST_FILES) -> Iterator[list[Staged]]:
    """Consecutive items packed into one multipart POST each, bounded in bytes and count."""
    group: list[Staged] = []
    size = 0
    for item in items:
        if group and (size + item.size > max_bytes or len(group) >= max_files):
            yield group
            group, size = [], 0
        group.append(item)
        size += item.size
    if group:
        yield group


class _Streams:
    """Multipart `files=` for one POST, reopened for every attempt and closed after."""

    def __init__(self, items: Sequence[Staged]) -> None:
        self.parts = [part for item in items for part in item.parts]
        self._open = ExitStack()

    def __call__(self) -> Mapping[str, Any]:
        self._open.close()
        self._open = ExitStack()
        files = [("files", (p.name, self._open.enter_context(p.opener()), p.mime))
                 for p in self.parts]
        return {"files": files}

    def close(self) -> None:
        self._open.close()


class BatchImport:
    def __init__(self, client: PhotoPrismClient, lookups: ThreadPoolExecutor, *,
                 index_wait: float = 10.0, sleep: Callable[[float], None] = time.sleep,
                 post_bytes: int = POST_BYTES) -> None:
        self.client = client
        self.lookups = lookups
        self.index_wait = index_wait
        self.sleep = sleep
        self.post_bytes = post_bytes
        self.restarts = 0

    def run(self, assets: Sequence[PreparedAsset]) -> list[Outcome]:
        items = [stage(asset) for asset in assets]
        unique: dict[str, Staged] = {}
        for item in items:  # identical bytes are sent once; the copies share the photo
            unique.setdefault(item.sha1, item)
        refused, import_error = self._stage_and_import(list(unique.values()))
        wanted = [sha1 for sha1 in unique if sha1 not in refused]
        found, errors = self.find(wanted, wait=import_error is None)
        videos = [v.sha1 for item in unique.values() if (v := item.asset.live_video)]
        found_videos = self.find(videos, wait=False)[0] if videos else {}
        return self._outcomes(items, found, found_videos, {**errors, **refused}, import_error)

    # -- staging and import ----------------------------------------------------------------

    def _stage_and_import(self, items: list[Staged]
                          ) -> tuple[dict[str, GalleryError], GalleryError | None]:
        """Upload and import under one session; start over if it had to be renewed."""
        for _ in range(SESSION_RESTARTS):
            generation = self.client.generation
            token = "gpi" + secrets.token_hex(8)
            refused = self._upload(items, token)
            import_error = self._import(token, bool(len(refused) < len(items)))
            if self.client.generation == generation:
                return refused, import_error
            self.restarts += 1
        error = TransientError("PhotoPrism's session kept expiring during the upload")
        return {item.sha1: error for item in items}, error

    def _upload(self, items: list[Staged], token: str) -> dict[str, GalleryError]:
        refused: dict[str, GalleryError] = {}
        for group in post_groups(items, self.post_bytes):
            refused.update(self._post(group, token))
        return refused

    def _post(self, group: list[Staged], token: str) -> dict[str, GalleryError]:
        streams = _Streams(group)
        try:
            answer = self.client.call("POST", self._path(token), files=streams)
            raise_for(answer, "upload files")
        except FATAL:
            raise
        except ItemRejected as exc:
            if len(group) > 1:  # find the one file the server refuses, keep the others
                refused: dict[str, GalleryError] = {}
                for item in group:
                    refused.update(self._post([item], token))
                return refused
            return {group[0].sha1: ItemRejected(f"{group[0].asset.item.file.name}: {exc}")}
        except GalleryError as exc:
            return {item.sha1: exc for item in group}
        finally:
            streams.close()
        return {}

    def _import(self, token: str, anything_staged: bool) -> GalleryError | None:
        if not anything_staged:
            return None
        try:
            answer = self.client.call("PUT", self._path(token), json={"albums": []},
                                      timeout=IMPORT_TIMEOUT)
            if answer.status_code == 404:  # nothing staged: all dropped, or imported already
                return None
            raise_for(answer, "import the uploaded files")
        except FATAL:
            raise
        except GalleryError as exc:
            return exc
        return None

    def _path(self, token: str) -> str:
        return f"/users/{self.client.user_uid}/upload/{token}"

    # -- finding the photos ----------------------------------------------------------------

    def find(self, checksums: Sequence[str], wait: bool = True
             ) -> tuple[dict[str, dict[str, Any]], dict[str, GalleryError]]:
        """File records by SHA-1 (and look-ups that failed); with `wait`, poll the missing
        ones with a doubling pause, as indexing may lag the import: until `index_wait`, or
        sooner once files appeared and then none did for `QUIET` (the rest were dropped)."""
        pending = list(dict.fromkeys(checksums))
        found: dict[str, dict[str, Any]] = {}
        errors: dict[str, GalleryError] = {}
        start = time.monotonic()
        deadline = start + (self.index_wait if wait else 0.0)
        delay, progress_at = 0.05, start
        while pending:
            before = len(found)
            for sha1, answer in zip(pending, self.lookups.map(self._lookup, pending),
                                    strict=True):
                if isinstance(answer, GalleryError):
                    errors[sha1] = answer
                elif answer is not None:
                    found[sha1] = answer
            pending = [s for s in pending if s not in found and s not in errors]
            now = time.monotonic()
            if len(found) > before:
                progress_at = now
            quiet = bool(found) and now - progress_at >= QUIET
            if not pending or quiet or now + delay > deadline:
                break
            self.sleep(delay)
            delay = min(delay * 2, 2.0)
        return found, errors

    def _lookup(self, sha1: str) -> dict[str, Any] | GalleryError | None:
        try:
            return self.file_by_hash(sha1)
        except FATAL:
            raise
        except GalleryError as exc:
            return exc

    def file_by_hash(self, sha1: str) -> dict[str, Any] | None:
        answer = self.client.call("GET", f"/files/{sha1}")
        if answer.status_code == 404:
            return None
        raise_for(answer, "look up a file by its checksum")
        body = answer.json()
        return body if isinstance(body, dict) and body.get("PhotoUID") else None

    def _outcomes(self, items: list[Staged], found: Mapping[str, dict[str, Any]],
                  videos: Mapping[str, dict[str, Any]], refused: Mapping[str, GalleryError],
                  import_error: GalleryError | None) -> list[Outcome]:
        outcomes: list[Outcome] = []
        first_for_photo: dict[str, Staged] = {}
        for item in items:
            record = found.get(item.sha1)
            if record is None:
                outcomes.append(refused.get(item.sha1) or _dropped(item, import_error))
                continue
            uid = str(record["PhotoUID"])
            owner = first_for_photo.setdefault(uid, item)
            note = "" if owner.sha1 == item.sha1 else _stacked(item, owner, uid)
            duplicate = owner is not item and owner.sha1 == item.sha1  # sent once, shared
            status = UploadStatus.DUPLICATE if duplicate else UploadStatus.CREATED
            video = item.asset.live_video
            video_uid = videos.get(video.sha1, {}).get("PhotoUID") if video else None
            outcomes.append(UploadResult(uid, status, str(video_uid) if video_uid else None,
                                         note=note))
        return outcomes


def _stacked(item: Staged, owner: Staged, uid: str) -> str:
    """PhotoPrism stacks a file into the photo of another with the same capture time and
    place (from the files' metadata: an edited copy and its original); the photo then
    shows both, so the item is imported, with this said in the report."""
    return (f"PhotoPrism stacked it with {owner.asset.item.file.name} into one photo "
            f"({uid}): same capture time and place")


def _dropped(item: Staged, import_error: GalleryError | None) -> GalleryError:
    if import_error is not None:
        return TransientError(f"{item.upload_name}: the import failed: {import_error}")
    return ItemRejected(f"PhotoPrism did not import {item.asset.item.file.name} (sent as "
                        f"{item.upload_name}): it drops files whose type, extension or size "
                        "it does not accept")
