"""The Google Photos Picker API and the download of picked bytes.

API calls go through google-api-python-client, built from the discovery document we ship
(`photospicker_v1.json`: the library bundles none for this API) with the root URL from
`google.picker_root_url`. Its own retry loop is left off: ours backs off with full jitter
and honours `Retry-After` on 429 and 5xx, the same policy as the gallery adapters.
Downloads (`baseUrl=d` for photos, `=dv` for videos; both need the bearer token) are
streamed with httpx straight into the spool, never held in memory whole.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from importlib import resources
from typing import IO, Any

import httplib2
import httpx
from google.auth.exceptions import RefreshError
from google_auth_httplib2 import AuthorizedHttp
from googleapiclient.discovery import build_from_document
from googleapiclient.errors import HttpError

from adapters.http import RetryPolicy, timeouts
from importer.google_auth import TokenKeeper, refused
from importer.google_errors import AGAIN, GoogleAuthError, PickerError
from importer.sources.spool import SMALL_MEMBER, Spool, Spooled

__all__ = ["PickerApi", "PickerError"]

DISCOVERY = "photospicker_v1.json"
PAGE_SIZE = 100
CHUNK = 1 << 20
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
EXPIRED_STATUSES = frozenset({403, 404, 410})
"""What a download answers once its base URL has expired (they last 60 minutes)."""


class NotReady(PickerError):
    """mediaItems.list before the user finished picking: FAILED_PRECONDITION."""


class BaseUrlExpired(Exception):
    """A download was refused the way an expired base URL is: list again for a new one."""


class DownloadFailed(Exception):
    """One item's bytes could not be fetched; that item fails, the others go on."""


def _seconds(duration: Any) -> float | None:
    """A google-duration ("5s", "1.5s") in seconds."""
    if not isinstance(duration, str) or not duration.endswith("s"):
        return None
    try:
        return float(duration[:-1])
    except ValueError:
        return None


def _instant(text: Any) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


@dataclass(frozen=True)
class Session:
    id: str
    picker_uri: str
    items_set: bool
    poll_interval: float | None
    timeout_in: float | None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Session:
        polling = data.get("pollingConfig") or {}
        return cls(str(data["id"]), str(data.get("pickerUri", "")),
                   bool(data.get("mediaItemsSet")), _seconds(polling.get("pollInterval")),
                   _seconds(polling.get("timeoutIn")))


@dataclass(frozen=True)
class Picked:
    """One picked item as mediaItems.list gives it."""

    id: str
    create_time: datetime | None
    video: bool
    base_url: str
    mime: str
    filename: str
    processing: str | None = None
    """A video's processing status (READY once Google has finished with it)."""

    @property
    def download_url(self) -> str:
        return self.base_url + ("=dv" if self.video else "=d")

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Picked:
        media = data.get("mediaFile") or {}
        video_meta = (media.get("mediaFileMetadata") or {}).get("videoMetadata") or {}
        item_id = str(data["id"])
        return cls(item_id, _instant(data.get("createTime")), data.get("type") == "VIDEO",
                   str(media.get("baseUrl", "")), str(media.get("mimeType", "")),
                   str(media.get("filename") or item_id), video_meta.get("processingStatus"))


class _ChunkReader:
    """A `read(n)` view of an iterator of chunks, for Spool.store."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._buffer = b""

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self._buffer) < size:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            self._buffer += chunk
        cut = len(self._buffer) if size < 0 else size
        data, self._buffer = self._buffer[:cut], self._buffer[cut:]
        return data


def _error_status(exc: HttpError) -> tuple[str, str]:
    """Google's canonical status ("FAILED_PRECONDITION") and message of an error answer."""
    try:
        error = json.loads(exc.content).get("error", {})
        return str(error.get("status", "")), str(error.get("message", ""))
    except (ValueError, AttributeError):
        return "", ""


def _list_page(service: Any, *, session_id: str, token: str | None) -> Any:
    return service.mediaItems().list(sessionId=session_id, pageSize=PAGE_SIZE, pageToken=token)


class PickerApi:
    def __init__(self, root_url: str, keeper: TokenKeeper, *,
                 policy: RetryPolicy | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.keeper = keeper
        self.policy = policy or RetryPolicy()
        self.sleep = sleep
        document = resources.files("importer.sources").joinpath(DISCOVERY).read_text("utf-8")
        http = AuthorizedHttp(keeper.credentials, http=httplib2.Http(timeout=60))
        self._service = build_from_document(document, http=http,
                                            client_options={"api_endpoint": root_url})
        self._downloads = httpx.Client(timeout=timeouts(read=120.0), follow_redirects=True)
        self._lock = threading.Lock()
        self._rng = random.Random()
        self.requests = self.retries = self.downloads = 0

    # -- API calls -------------------------------------------------------------------------

    def _execute(self, call: Callable[[Any], Any], what: str) -> Any:
        """Run one API call (`call(service)` builds it), retrying 429, 5xx and network
        failures; other answers become our errors."""
        last = ""
        for attempt in range(self.policy.attempts):
            retry_after = None
            try:
                with self._lock:
                    self.requests += 1
                    self.retries += attempt > 0
                    return call(self._service).execute(num_retries=0)
            except HttpError as exc:
                if exc.resp.status not in RETRY_STATUSES:
                    raise self._refusal(exc, what) from None
                last = f"HTTP {exc.resp.status}"
                retry_after = exc.resp.get("retry-after")
            except RefreshError as exc:
                raise refused(exc) from None
            except (OSError, httplib2.HttpLib2Error) as exc:
                last = f"{type(exc).__name__}: {exc}"
            if attempt + 1 < self.policy.attempts:
                self.sleep(self.policy.delay(attempt, retry_after, self._rng))
        raise PickerError(f"Google Photos Picker: {what} failed ({last}); gave up after "
                          f"{self.policy.attempts} attempts")

    @staticmethod
    def _refusal(exc: HttpError, what: str) -> Exception:
        status, message = _error_status(exc)
        if status == "FAILED_PRECONDITION":  # listing: the user has not finished picking
            return NotReady(f"Google Photos Picker: {what} failed: {message}")
        if exc.resp.status == 401:
            return GoogleAuthError(f"Google refused the access token ({message}); {AGAIN}")
        if exc.resp.status == 403:
            return GoogleAuthError(f"Google Photos Picker refused access ({message}): is the "
                                   f"Photos Picker API enabled in your Cloud project? {AGAIN}")
        return PickerError(f"Google Photos Picker: {what} failed: HTTP {exc.resp.status} "
                           f"{status} {message}".rstrip())

    def create_session(self, max_items: int) -> Session:
        body = {"pickingConfig": {"maxItemCount": str(max_items)}}
        data = self._execute(lambda s: s.sessions().create(body=body), "creating a session")
        return Session.from_json(data)

    def get_session(self, session_id: str) -> Session:
        data = self._execute(lambda s: s.sessions().get(sessionId=session_id),
                             "checking the session")
        return Session.from_json(data)

    def delete_session(self, session_id: str) -> None:
        self._execute(lambda s: s.sessions().delete(sessionId=session_id),
                      "deleting the session")

    def list_items(self, session_id: str) -> list[Picked]:
        """Every picked item, page by page (NotReady while the user is still picking)."""
        items: list[Picked] = []
        token: str | None = None
        while True:
            page = self._execute(partial(_list_page, session_id=session_id, token=token),
                                 "listing the picked items")
            items += [Picked.from_json(one) for one in page.get("mediaItems", [])]
            token = page.get("nextPageToken")
            if not token:
                return items

    def wait_until_picked(self, session: Session, clock: Callable[[], float] = time.monotonic
                          ) -> Session:
        """Poll sessions.get as its pollingConfig says until the user is done, or stop
        when it says the session timed out."""
        deadline = clock() + (session.timeout_in if session.timeout_in is not None else 1800)
        while not session.items_set:
            if session.timeout_in == 0 or clock() >= deadline:
                raise PickerError("the Google Photos picking session timed out before you "
                                  "pressed Done; run the import again and finish picking")
            self.sleep(session.poll_interval if session.poll_interval is not None else 5.0)
            session = self.get_session(session.id)
            if session.timeout_in is not None:
                deadline = clock() + session.timeout_in
        return session

    # -- downloads -------------------------------------------------------------------------

    def download(self, picked: Picked, spool: Spool) -> Spooled:
        """The item's bytes, streamed into `spool` with the bearer token. Raises
        BaseUrlExpired (list again), DownloadFailed (this item), GoogleAuthError."""
        last, token, refreshed = "", self.keeper.bearer(), False
        for attempt in range(self.policy.attempts):
            retry_after = None
            try:
                got = self._fetch(picked, token, spool)
            except httpx.TransportError as exc:
                got, last = None, f"{type(exc).__name__} while downloading"
            if isinstance(got, Spooled):
                return got
            if isinstance(got, httpx.Response):
                status = got.status_code
                if status == 401 and not refreshed:
                    token, refreshed = self.keeper.refreshed(token), True
                    continue
                if status == 401:
                    raise GoogleAuthError(f"Google refused the access token for downloads; "
                                          f"{AGAIN}")
                if status in EXPIRED_STATUSES:
                    raise BaseUrlExpired(f"HTTP {status}")
                if status not in RETRY_STATUSES:
                    raise DownloadFailed(f"download refused: HTTP {status}")
                last, retry_after = f"HTTP {status}", got.headers.get("Retry-After")
            elif isinstance(got, str):
                last = got
            if attempt + 1 < self.policy.attempts:
                self.sleep(self.policy.delay(attempt, retry_after, self._rng))
        raise DownloadFailed(f"download failed ({last}); gave up after "
                             f"{self.policy.attempts} attempts")

    def _fetch(self, picked: Picked, token: str, spool: Spool
               ) -> Spooled | httpx.Response | str:
        """One attempt: the spooled bytes, the refusing answer, or why the copy is short."""
        with self._lock:
            self.downloads += 1
        headers = {"Authorization": f"Bearer {token}"}
        with self._downloads.stream("GET", picked.download_url, headers=headers) as answer:
            if answer.status_code != 200:
                return answer
            length = answer.headers.get("Content-Length")
            expected = int(length) if length and length.isdigit() else None
            reader: IO[bytes] = _ChunkReader(answer.iter_bytes(CHUNK))  # type: ignore[assignment]
            spooled = spool.store(reader, expected if expected is not None else SMALL_MEMBER + 1)
        if expected is not None and spooled.size != expected:
            spooled.release()
            return f"short download: {spooled.size} of {expected} bytes"
        return spooled

    def stats(self) -> dict[str, int]:
        return {"google_requests": self.requests, "google_retries": self.retries,
                "downloads": self.downloads, "token_refreshes": self.keeper.refreshes}

    def close(self) -> None:
        self._downloads.close()
