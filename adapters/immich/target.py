"""`immich:URL`: the gallery protocol over Immich's REST API (v2.4 and later, v3).

Immich dedupes by SHA-1 per user, so the writes here are safe to repeat: an upload whose
answer was lost comes back as `duplicate` with the same id, album adds of present assets
are no-ops, and updates set absolute values. That is what lets the shared client retry
them, and a killed run simply run again. The one exception, creating an album, looks for
the album before trying again (albums.py).
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx

from adapters.base import (
    METADATA_FIELDS,
    Capabilities,
    Changes,
    GalleryError,
    ItemRejected,
    UploadResult,
    UploadStatus,
    VerifyStatus,
    checked_answers,
)
from adapters.concurrency import AdaptiveLimit
from adapters.http import HttpClient, RetryPolicy, timeouts
from adapters.immich import canonical_url
from adapters.immich.albums import AlbumDirectory
from adapters.immich.api import Api
from adapters.immich.connect import connect
from adapters.immich.multipart import FilePart, MultipartBody, Part, TextPart
from adapters.immich.wire import (
    ARCHIVE,
    TIMELINE,
    asset_update,
    checksum_hex,
    has_value,
    iso_instant,
)
from importer.model import Album, Metadata, PreparedAsset, PreparedFile

SET_BY_UPLOAD = frozenset({"favorite", "archived"})
MAX_UPLOADS = 16
CHECK_BATCH = 500
T = TypeVar("T")


def _batches(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _plain_transport(url: str, pool: int) -> httpx.HTTPTransport | None:
    """Plain http needs no TLS context; building one loads the CA bundle (~20 ms, a fifth
    of a re-run with nothing new)."""
    if not url.startswith("http://"):
        return None
    limits = httpx.Limits(max_connections=pool, max_keepalive_connections=pool)
    return httpx.HTTPTransport(verify=False, limits=limits)


def _in_trash(filename: str, asset_id: str) -> str:
    return (f"{filename}: Immich has this file in its trash (asset {asset_id}); restore it "
            "in Immich to keep it, or empty the trash to import it again")


class ImmichTarget:
    def __init__(self, url: str, api_key: str | None, *, workers: int = 4,
                 timeout: float = 120.0, policy: RetryPolicy | None = None,
                 adaptive: bool = False) -> None:
        self.url = canonical_url(url)
        self.slots = (AdaptiveLimit(workers, 1, min(2 * workers, MAX_UPLOADS)) if adaptive
                      else AdaptiveLimit(workers, workers, workers))
        pool = self.slots.highest + 3  # uploads, a look-up, album jobs
        self.http = HttpClient(f"{self.url}/api", headers={"x-api-key": api_key or ""},
                               timeout=timeouts(read=timeout, write=timeout),
                               policy=policy or RetryPolicy(), pool_size=pool,
                               transport=_plain_transport(self.url, pool))
        try:
            self.session = connect(self.http, self.url, api_key)
        except BaseException:
            self.http.close()
            raise
        self.api = Api(self.http)
        self.albums = AlbumDirectory(self.api, self.session)
        self._lock = threading.Lock()
        self._trashed: dict[str, str] = {}
        self._accepted: set[str] = set()  # SHA-1s the bulk check just said are new
        self._counts = {"uploaded": 0, "upload_duplicates": 0}

    @property
    def target(self) -> str:
        return f"immich:{self.url}"

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(album_descriptions=True, xmp_sidecars=True, live_photos=True,
                            max_batch=500, uploads_at_once=self.slots.highest)

    # -- lookup ----------------------------------------------------------------------------

    @checked_answers
    def find_existing(self, checksums: Sequence[str]) -> Mapping[str, str]:
        """Assets in Immich's trash are left out (and remembered): uploading the same bytes
        would only return the trashed asset, which Immich deletes for good later."""
        found: dict[str, str] = {}
        for batch in _batches(list(dict.fromkeys(checksums)), CHECK_BATCH):
            for result in self._bulk_check([(sha1, sha1) for sha1 in batch], "looking up"):
                if result.get("action") == "accept":
                    with self._lock:
                        self._accepted.add(result["id"])
                if result.get("action") != "reject" or not result.get("assetId"):
                    continue
                if result.get("isTrashed"):
                    with self._lock:
                        self._trashed[result["id"]] = result["assetId"]
                else:
                    found[result["id"]] = str(result["assetId"])
        return found

    def _bulk_check(self, pairs: Sequence[tuple[str, str]], doing: str) -> list[Any]:
        body = {"assets": [{"id": key, "checksum": sha1} for key, sha1 in pairs]}
        answer = self.api.json("POST", "/assets/bulk-upload-check",
                               f"{doing} {len(pairs)} checksum(s)", json=body)
        return list(answer["results"])

    # -- upload ----------------------------------------------------------------------------

    @checked_answers
    def upload(self, asset: PreparedAsset) -> UploadResult:
        with self._lock:
            trashed = self._trashed.get(asset.primary.sha1)
        if trashed is not None:
            raise ItemRejected(_in_trash(asset.primary.filename, trashed))
        video_id = None
        if asset.live_video is not None:  # the motion part first: the still links to it
            video_id, _ = self._send(asset.live_video, asset, None, main=False)
        remote_id, created = self._send(asset.primary, asset, video_id, main=True)
        if created:
            return UploadResult(remote_id, UploadStatus.CREATED, video_id, SET_BY_UPLOAD)
        applied = self._adopt(remote_id, asset, video_id)
        return UploadResult(remote_id, UploadStatus.DUPLICATE, video_id, applied)

    def _send(self, file: PreparedFile, asset: PreparedAsset, live_video_id: str | None,
              main: bool) -> tuple[str, bool]:
        """POST one file; (asset id, whether Immich created it rather than found it).

        `x-immich-checksum` makes Immich look the checksum up before it reads the body: one
        more database round trip on every upload (issue 14). It is sent only when the bulk
        check has not just answered "accept" for these bytes, and on every retry (the lost
        answer may have come after Immich stored the asset: the header then answers at once
        instead of taking the whole body again). Without it a duplicate is still found, at
        the insert, and answered the same way (200 `duplicate` with the existing id)."""
        body = MultipartBody(self._parts(file, asset, live_video_id, main))
        with self._lock:
            decided = file.sha1 in self._accepted
            self._accepted.discard(file.sha1)
        attempts = 0

        def attempt() -> dict[str, Any]:
            nonlocal attempts
            attempts += 1
            headers = body.headers()
            if attempts > 1 or not decided:
                headers["x-immich-checksum"] = file.sha1
            return {"content": iter(body), "headers": headers}

        try:
            with self.slots.slot(file.size + len(file.xmp or b"")):
                answer = self.api.call("POST", "/assets", f"uploading {file.filename}",
                                       body=attempt, ok=(200, 201))
        except GalleryError:
            raise
        except Exception as exc:  # reading the source failed mid-stream (damaged member…)
            raise ItemRejected(f"{file.filename}: cannot read it while sending "
                               f"({type(exc).__name__}: {exc})") from None
        result = answer.json()
        created = answer.status_code == 201 and result.get("status") == "created"
        with self._lock:
            self._counts["uploaded" if created else "upload_duplicates"] += 1
        return str(result["id"]), created

    def _parts(self, file: PreparedFile, asset: PreparedAsset, live_video_id: str | None,
               main: bool) -> list[Part]:
        """Fields first, then the file, the shape of the raw client issue 14 measured as
        fastest and of @immich/cli. One exception: with a sidecar, `filename` goes after the
        files, since Immich v2.3–2.4 judged a sidecar by a `filename` field that came before
        it and refused it."""
        metadata = asset.item.metadata
        files: list[Part] = [FilePart("assetData", file.filename, file.mime, file.size,
                                      file.opener)]
        if file.xmp is not None:
            xmp = file.xmp
            files.append(FilePart("sidecarData", f"{file.filename}.xmp", "application/rdf+xml",
                                  len(xmp), lambda: io.BytesIO(xmp)))
        when = iso_instant(metadata.taken_at or datetime.now(UTC))
        fields = [("fileCreatedAt", when), ("fileModifiedAt", when)]
        if main and metadata.favorite:
            fields.append(("isFavorite", "true"))
        if main and metadata.archived:
            fields.append(("visibility", ARCHIVE))
        if live_video_id is not None:
            fields.append(("livePhotoVideoId", live_video_id))
        fields += self.session.dialect.device_fields(file.sha1)
        texts: list[Part] = [TextPart(name, value) for name, value in fields]
        name = TextPart("filename", file.filename)
        if file.xmp is None:
            return [*texts, name, *files]
        return [*texts, *files, name]

    def _adopt(self, remote_id: str, asset: PreparedAsset, video_id: str | None) -> frozenset[str]:
        """A `duplicate` answer ignores everything the upload carried (flags, sidecar, live
        link): set it on the existing asset in one update, unless it sits in the trash."""
        info = self.api.json("GET", f"/assets/{remote_id}", f"reading asset {remote_id}")
        if info.get("isTrashed"):
            with self._lock:
                self._trashed[asset.primary.sha1] = remote_id
            raise ItemRejected(_in_trash(asset.primary.filename, remote_id))
        metadata = asset.item.metadata
        update: dict[str, Any] = {}
        if metadata.favorite and not info.get("isFavorite"):
            update["isFavorite"] = True
        if metadata.archived and info.get("visibility") != ARCHIVE:
            update["visibility"] = ARCHIVE
        if video_id is not None and info.get("livePhotoVideoId") != video_id:
            update["livePhotoVideoId"] = video_id
        carried = asset.carried if asset.primary.xmp is None else frozenset()
        fields = frozenset(f for f in METADATA_FIELDS - carried if has_value(metadata, f))
        update.update(asset_update(metadata, fields))
        if update:
            self._update(remote_id, update)
        return SET_BY_UPLOAD | fields

    # -- metadata --------------------------------------------------------------------------

    def _update(self, remote_id: str, body: dict[str, Any]) -> None:
        self.api.call("PUT", f"/assets/{remote_id}",
                      f"updating asset {remote_id} ({', '.join(sorted(body))})", json=body)

    @checked_answers
    def set_metadata(self, remote_id: str, metadata: Metadata, fields: frozenset[str]) -> None:
        body = asset_update(metadata, fields)
        if body:
            self._update(remote_id, body)

    @checked_answers
    def apply_changes(self, remote_id: str, changes: Changes) -> None:
        """Flags and metadata in one `PUT /assets/{id}`."""
        body = asset_update(changes.metadata, changes.fields)
        if changes.favorite is not None:
            body["isFavorite"] = changes.favorite
        if changes.archived is not None:
            body["visibility"] = ARCHIVE if changes.archived else TIMELINE
        if body:
            self._update(remote_id, body)

    @checked_answers
    def set_flags_many(self, remote_ids: Sequence[str], *, favorite: bool | None = None,
                       archived: bool | None = None) -> None:
        """`PUT /assets` with many ids: favorites and archive changed in Google, in bulk."""
        body: dict[str, Any] = {}
        if favorite is not None:
            body["isFavorite"] = favorite
        if archived is not None:
            body["visibility"] = ARCHIVE if archived else TIMELINE
        for batch in _batches(list(remote_ids), CHECK_BATCH):
            self.api.call("PUT", "/assets", f"updating {len(batch)} asset(s) "
                          f"({', '.join(sorted(body))})", json={"ids": list(batch), **body},
                          ok=(200, 204))

    @checked_answers
    def set_favorite(self, remote_id: str, favorite: bool) -> None:
        self._update(remote_id, {"isFavorite": favorite})

    @checked_answers
    def set_archived(self, remote_id: str, archived: bool) -> None:
        self._update(remote_id, {"visibility": ARCHIVE if archived else TIMELINE})

    # -- albums ----------------------------------------------------------------------------

    @checked_answers
    def ensure_album(self, album: Album, known_id: str | None) -> str:
        return self.albums.ensure(album, known_id)

    @checked_answers
    def rename_album(self, album_id: str, album: Album) -> None:
        self.albums.rename(album_id, album)

    @checked_answers
    def add_to_album(self, album_id: str, remote_ids: Sequence[str]) -> None:
        self.albums.add(album_id, remote_ids)

    @checked_answers
    def album_members(self, album_id: str) -> set[str]:
        return self.albums.members(album_id)

    # -- verify ----------------------------------------------------------------------------

    @checked_answers
    def verify(self, expected: Mapping[str, str]) -> Mapping[str, VerifyStatus]:
        """One bulk check per 500 items; only the doubtful ones are read one by one."""
        result: dict[str, VerifyStatus] = {}
        doubtful: list[str] = []
        for batch in _batches(list(expected.items()), CHECK_BATCH):
            for answer in self._bulk_check(batch, "verifying"):
                remote_id = answer["id"]
                if answer.get("assetId") == remote_id and not answer.get("isTrashed"):
                    result[remote_id] = VerifyStatus.OK
                else:
                    doubtful.append(remote_id)
        for remote_id in doubtful:
            result[remote_id] = self._verify_one(remote_id, expected[remote_id])
        return result

    def _verify_one(self, remote_id: str, sha1: str) -> VerifyStatus:
        """Trashed counts as missing: Immich deletes it for good after a while."""
        answer = self.api.call("GET", f"/assets/{remote_id}", f"reading asset {remote_id}",
                               ok=(200, 400, 404))
        if answer.status_code != 200 or answer.json().get("isTrashed"):
            return VerifyStatus.MISSING
        same = checksum_hex(str(answer.json().get("checksum", ""))) == sha1.lower()
        return VerifyStatus.OK if same else VerifyStatus.MISMATCH

    # -- bookkeeping -----------------------------------------------------------------------

    def stats(self) -> Mapping[str, int]:
        with self._lock:
            counts = dict(self._counts)
        return {**self.http.stats(), **counts, "albums_created": self.albums.created,
                "uploads_at_once": self.slots.limit,
                "uploads_at_once_max": max([self.slots.limit, *self.slots.changes])}

    def close(self) -> None:
        self.http.close()
