"""`photoprism:URL`: the gallery protocol over PhotoPrism's REST API.

Remote ids are photo UIDs. Uploads go in batches (see `staging.py`); each new photo then
gets its date, place and caption with one `PUT /photos/{uid}` (`*Src: manual`, so
re-indexing keeps them), favorites with `like`, and archiving in one request per batch.
Archiving flags a photo's existing album entries hidden and restoring never clears that,
while adding a photo to an album does: so albums are filled after archiving, and archiving
a photo that already is in albums adds it back to them.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any
from urllib.parse import urlencode

import httpx

from adapters.base import (
    METADATA_FIELDS,
    Capabilities,
    GalleryError,
    ItemRejected,
    TargetUnavailable,
    TransientError,
    UploadResult,
    UploadStatus,
    VerifyStatus,
    checked_answers,
)
from adapters.http import RetryPolicy
from adapters.photoprism.client import Credentials, PhotoPrismClient, raise_for
from adapters.photoprism.forms import form_fields, photo_form
from adapters.photoprism.staging import FATAL, BatchImport, Outcome
from importer.model import Album, Metadata, PreparedAsset

DEFAULT_BATCH = 20
LOOKUP_THREADS = 8
MEMBERS_PAGE = 1000


class PhotoPrismTarget:
    def __init__(self, url: str, credentials: Credentials, *, batch: int = DEFAULT_BATCH,
                 index_wait: float = 10.0, policy: RetryPolicy | None = None,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.url = url.rstrip("/")
        self.client = PhotoPrismClient(self.url, credentials, policy=policy,
                                       transport=transport, pool_size=LOOKUP_THREADS + 8)
        self._lookups = ThreadPoolExecutor(LOOKUP_THREADS, "photoprism-lookup")
        try:
            self.client.connect()
        except BaseException:
            self.close()
            raise
        self.batch = max(1, batch)
        self.importer = BatchImport(self.client, self._lookups, index_wait=index_wait)
        self._lock = threading.Lock()
        self._counts = {"photoprism_batches": 0, "photoprism_not_imported": 0}

    @property
    def target(self) -> str:
        return f"photoprism:{self.url}"

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(album_descriptions=True, xmp_sidecars=True, live_photos=True,
                            max_batch=500, upload_batch=self.batch)

    # -- lookup ----------------------------------------------------------------------------

    @checked_answers
    def find_existing(self, checksums: Sequence[str]) -> Mapping[str, str]:
        unique = list(dict.fromkeys(checksums))
        records = self._lookups.map(self.importer.file_by_hash, unique)
        return {sha1: str(record["PhotoUID"])
                for sha1, record in zip(unique, records, strict=True) if record}

    # -- upload ----------------------------------------------------------------------------

    @checked_answers
    def upload(self, asset: PreparedAsset) -> UploadResult:
        (outcome,) = self.upload_many([asset])
        if isinstance(outcome, GalleryError):
            raise outcome
        return outcome

    @checked_answers
    def upload_many(self, assets: Sequence[PreparedAsset]) -> list[Outcome]:
        outcomes = self.importer.run(assets)
        with self._lock:
            self._counts["photoprism_batches"] += 1
            self._counts["photoprism_not_imported"] += sum(
                isinstance(o, GalleryError) for o in outcomes)
        settled = [self._describe(asset, outcome)
                   for asset, outcome in zip(assets, outcomes, strict=True)]
        return self._archive_new(assets, settled)

    def _describe(self, asset: PreparedAsset, outcome: Outcome) -> Outcome:
        """Date, place, caption and favorite of a photo just imported; what fails here is
        left out of `applied`, so the pipeline sets it again through the setters."""
        if isinstance(outcome, GalleryError):
            return outcome
        metadata = asset.item.metadata
        applied: set[str] = set()
        fields = form_fields(metadata)
        if self._try(lambda: self.set_metadata(outcome.remote_id, metadata, fields)):
            applied |= METADATA_FIELDS  # the others have no value to set
        if not metadata.favorite or self._try(lambda: self.set_favorite(outcome.remote_id,
                                                                         True)):
            applied.add("favorite")
        return replace(outcome, applied=frozenset(applied))

    def _archive_new(self, assets: Sequence[PreparedAsset],
                     outcomes: list[Outcome]) -> list[Outcome]:
        """Archive the batch's new photos in one request (they are in no album yet)."""
        new = [i for i, (asset, outcome) in enumerate(zip(assets, outcomes, strict=True))
               if isinstance(outcome, UploadResult) and asset.item.metadata.archived
               and outcome.status is UploadStatus.CREATED]
        uids = list(dict.fromkeys(_uid(outcomes[i]) for i in new))
        if not uids or not self._try(lambda: self._post_selection("archive", uids)):
            return outcomes
        for i in new:
            done = outcomes[i]
            assert isinstance(done, UploadResult)
            outcomes[i] = replace(done, applied=done.applied | {"archived"})
        return outcomes

    @staticmethod
    def _try(action: Any) -> bool:
        try:
            action()
        except FATAL:
            raise
        except GalleryError:
            return False
        return True

    # -- metadata --------------------------------------------------------------------------

    @checked_answers
    def set_metadata(self, remote_id: str, metadata: Metadata, fields: frozenset[str]) -> None:
        form = photo_form(metadata, fields)
        if "Lat" in form and "TakenSrc" not in form:
            form.update(self._pinned_date(remote_id))
        if form:
            answer = self.client.call("PUT", f"/photos/{remote_id}", json=form)
            raise_for(answer, f"update photo {remote_id}")

    def _pinned_date(self, remote_id: str) -> dict[str, Any]:
        """A new place on a photo whose date is not "manual" makes PhotoPrism take the time
        zone from GPS and recompute TakenAt from the local time; sending the date it has as
        manual keeps the instant (in UTC when its zone is the unresolvable "Local")."""
        photo = self._photo(remote_id)
        taken = photo.get("TakenAt")
        if photo.get("TakenSrc") == "manual" or not taken:
            return {}
        zone = str(photo.get("TimeZone") or "")
        if zone in ("", "Local"):
            return {"TakenAt": taken, "TakenAtLocal": taken, "TimeZone": "UTC",
                    "TakenSrc": "manual"}
        return {"TakenAt": taken, "TakenAtLocal": photo.get("TakenAtLocal") or taken,
                "TimeZone": zone, "TakenSrc": "manual"}

    @checked_answers
    def set_favorite(self, remote_id: str, favorite: bool) -> None:
        answer = self.client.call("POST" if favorite else "DELETE",
                                  f"/photos/{remote_id}/like")
        raise_for(answer, f"{'like' if favorite else 'unlike'} photo {remote_id}")

    @checked_answers
    def set_archived(self, remote_id: str, archived: bool) -> None:
        if not archived:
            self._post_selection("restore", [remote_id])
            return
        albums = [a["UID"] for a in self._photo(remote_id).get("Albums") or [] if a.get("UID")]
        self._post_selection("archive", [remote_id])
        for album_uid in albums:  # archiving hid these entries; adding again shows them
            self.add_to_album(str(album_uid), [remote_id])

    def _post_selection(self, action: str, uids: list[str]) -> None:
        answer = self.client.call("POST", f"/batch/photos/{action}", json={"photos": uids})
        raise_for(answer, f"{action} {len(uids)} photo(s)")

    def _photo(self, remote_id: str) -> dict[str, Any]:
        answer = self.client.call("GET", f"/photos/{remote_id}")
        if answer.status_code == 404:
            raise ItemRejected(f"photo {remote_id} is no longer on PhotoPrism")
        raise_for(answer, f"read photo {remote_id}")
        body = answer.json()
        return body if isinstance(body, dict) else {}

    # -- albums ----------------------------------------------------------------------------

    @checked_answers
    def ensure_album(self, album: Album, known_id: str | None) -> str:
        """The known album if it still exists; else found or created by title (PhotoPrism
        answers 200 with an existing album of that title, 201 with a new one)."""
        if known_id and self._album_exists(known_id):
            return known_id
        answer = self.client.call("POST", "/albums", json={"Title": album.title})
        raise_for(answer, f"create album {album.title!r}")
        body = answer.json()
        uid = str(body["UID"])
        if album.description and not body.get("Description"):
            update = self.client.call("PUT", f"/albums/{uid}",
                                      json={"Description": album.description})
            raise_for(update, f"describe album {album.title!r}")
        return uid

    def _album_exists(self, uid: str) -> bool:
        answer = self.client.call("GET", f"/albums/{uid}")
        if answer.status_code == 404:
            return False
        raise_for(answer, f"read album {uid}")
        body = answer.json()
        return isinstance(body, dict) and not body.get("DeletedAt")

    @checked_answers
    def add_to_album(self, album_id: str, remote_ids: Sequence[str]) -> None:
        answer = self.client.call("POST", f"/albums/{album_id}/photos",
                                  json={"photos": list(remote_ids)})
        raise_for(answer, f"add {len(remote_ids)} photo(s) to album {album_id}")

    @checked_answers
    def album_members(self, album_id: str) -> set[str]:
        """Photo UIDs in the album: the album's search, once for photos in the library and
        once for archived ones (PhotoPrism leaves those out unless asked)."""
        if not self._album_exists(album_id):
            return set()
        found: set[str] = set()
        for query in ("", "archived:true"):
            offset = 0
            while True:
                params = {"count": str(MEMBERS_PAGE), "offset": str(offset), "s": album_id,
                          "merged": "false", "q": query}
                answer = self.client.call("GET", f"/photos?{urlencode(params)}")
                raise_for(answer, f"list album {album_id}")
                rows = answer.json()
                rows = rows if isinstance(rows, list) else []
                found.update(str(r["UID"]) for r in rows if isinstance(r, dict) and r.get("UID"))
                if len(rows) < MEMBERS_PAGE:
                    break
                offset += len(rows)
        return found

    # -- verify ----------------------------------------------------------------------------

    @checked_answers
    def verify(self, expected: Mapping[str, str]) -> Mapping[str, VerifyStatus]:
        """A photo is OK when its file with the expected SHA-1 is still its own."""
        pairs = list(expected.items())
        try:
            statuses = list(self._lookups.map(lambda pair: self._verify_one(*pair), pairs))
        except TransientError as exc:  # no answer worth trusting: stop, mark nothing
            raise TargetUnavailable(f"{self.url}: stopped answering during verify: {exc}"
                                    ) from None
        return {remote_id: status for (remote_id, _), status in zip(pairs, statuses,
                                                                     strict=True)}

    def _verify_one(self, remote_id: str, sha1: str) -> VerifyStatus:
        record = self.importer.file_by_hash(sha1)
        if record is not None and record.get("PhotoUID") == remote_id:
            return VerifyStatus.OK
        answer = self.client.call("GET", f"/photos/{remote_id}")
        if answer.status_code == 404:
            return VerifyStatus.MISSING
        raise_for(answer, f"read photo {remote_id}")
        return VerifyStatus.MISMATCH

    def stats(self) -> Mapping[str, int]:
        with self._lock:
            counts = dict(self._counts)
        counts["photoprism_session_renewals"] = self.client.renewals
        counts["photoprism_batch_restarts"] = self.importer.restarts
        return {**self.client.http.stats(), **counts}

    def close(self) -> None:
        """The connections first: look-ups still running (a run abandoned by a second
        Ctrl-C) then end at once instead of being waited for."""
        self.client.close()
        self._lookups.shutdown(wait=True)


def _uid(outcome: Outcome) -> str:
    assert isinstance(outcome, UploadResult)
    return outcome.remote_id
