"""PhotoPrism's REST API behind our error types: start-up checks, auth, session renewal.

Auth is an app password sent as a Bearer token, or a username/password session. Sessions
expire; the client logs in again the moment the server says 401 and retries once, so a long
run goes on. A new session also gets a new staging folder on the server (uploads are staged
per session and token), so callers that stage files watch `generation` and start over when
it changes under them.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from adapters.base import (
    AuthError,
    GalleryError,
    ItemRejected,
    StorageFull,
    TargetUnavailable,
    TransientError,
)
from adapters.http import RETRY_STATUSES, HttpClient, RetryPolicy, timeouts

API = "/api/v1"
NO_CREDENTIALS = ("photoprism: no credentials: set PHOTOPRISM_TOKEN (an app password) or "
                  "PHOTOPRISM_USERNAME and PHOTOPRISM_PASSWORD")
NEEDED_FEATURES = {"upload": "upload files", "import": "import uploads"}


@dataclass(frozen=True)
class Credentials:
    token: str | None = None
    username: str | None = None
    password: str | None = None

    @property
    def usable(self) -> bool:
        return bool(self.token) or bool(self.username and self.password)


def server_message(response: httpx.Response) -> str:
    """PhotoPrism's own words from an error body (i18n.Response), if it sent any."""
    try:
        body = response.json()
    except ValueError:
        return ""
    if isinstance(body, dict):
        return str(body.get("error") or body.get("message") or "")
    return ""


def raise_for(response: httpx.Response, what: str) -> None:
    """Map a refusal to our errors; a 2xx passes. `what` names the action for the user."""
    code = response.status_code
    if code < 300:
        return
    said = server_message(response)
    detail = f" ({said})" if said else ""
    if code == 401:
        raise AuthError(f"PhotoPrism refused the credentials while trying to {what} (401)")
    if code == 403:
        raise AuthError(f"PhotoPrism denied permission to {what} (403){detail}: "
                        "check the user's role and the server's feature settings")
    if code == 507:
        raise StorageFull(f"PhotoPrism has no storage left to {what} (507)")
    if code in (400, 404, 409, 413, 415, 422):
        raise ItemRejected(f"PhotoPrism could not {what} (HTTP {code}){detail}")
    raise GalleryError(f"PhotoPrism could not {what} (HTTP {code}){detail}")


class PhotoPrismClient:
    """One authenticated connection pool; safe to share between worker threads."""

    def __init__(self, url: str, credentials: Credentials, *, pool_size: int = 8,
                 policy: RetryPolicy | None = None,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.url = url.rstrip("/").removesuffix(API)
        self.credentials = credentials
        self.http = HttpClient(f"{self.url}{API}", timeout=timeouts(read=120.0),
                               policy=policy or RetryPolicy(), pool_size=pool_size,
                               transport=transport)
        self._lock = threading.Lock()
        self._token = ""
        self.user_uid = ""
        self.generation = 0
        self.renewals = 0

    # -- start-up --------------------------------------------------------------------------

    def connect(self) -> None:
        """Fail fast, with one line naming the problem, before any item is touched."""
        self._check_server()
        if not self.credentials.usable:
            raise AuthError(NO_CREDENTIALS)
        session = self._open_session()
        self._check_features(session)

    def _check_server(self) -> None:
        answer = self.http.probe("/status")
        if answer.status_code in RETRY_STATUSES:  # up, but busy or starting: worth retrying
            try:
                answer = self.http.request("GET", "/status")
            except TransientError as exc:
                raise TargetUnavailable(f"{self.url}: not ready ({exc})") from None
        try:
            body = answer.json()
        except ValueError:
            body = None
        if answer.status_code != 200 or not isinstance(body, dict) or "status" not in body:
            raise TargetUnavailable(f"{self.url}: not a PhotoPrism server (GET {API}/status "
                                    f"answered HTTP {answer.status_code})")

    def _open_session(self) -> dict[str, Any]:
        if self.credentials.token:
            self._token = self.credentials.token
            session = self._current_session()
        else:
            session = self._login()
        user = session.get("user")
        uid = user.get("UID") if isinstance(user, dict) else None
        if not uid:
            raise TargetUnavailable(f"{self.url}: the session names no user; is this PhotoPrism?")
        self.user_uid = str(uid)
        return session

    def _current_session(self) -> dict[str, Any]:
        answer = self._send("GET", "/session")
        if answer.status_code in (404, 405):  # releases before the develop API of 2026
            session_id = hashlib.sha256(self._token.encode()).hexdigest()
            answer = self._send("GET", f"/session/{session_id}")
        if answer.status_code in (401, 403):
            raise AuthError(f"PHOTOPRISM_TOKEN was refused by {self.url} "
                            f"(HTTP {answer.status_code}): use an app password made under "
                            "Settings › Account › Apps and Devices")
        raise_for(answer, "read the session")
        return _json_object(answer, "GET /session")

    def _login(self) -> dict[str, Any]:
        name, secret = self.credentials.username, self.credentials.password
        answer = self.http.request("POST", "/session",
                                   body=lambda: {"json": {"username": name, "password": secret}})
        if answer.status_code in (400, 401, 403):
            raise AuthError(f"PhotoPrism at {self.url} refused user {name!r} with that password "
                            f"(HTTP {answer.status_code})")
        raise_for(answer, "log in")
        session = _json_object(answer, "POST /session")
        token = session.get("access_token") or session.get("id")
        if not token:
            raise TargetUnavailable(f"{self.url}: the login answer carries no access token")
        self._token = str(token)
        return session

    def _check_features(self, session: Mapping[str, Any]) -> None:
        config = session.get("config")
        settings = config.get("settings") if isinstance(config, dict) else None
        features = settings.get("features") if isinstance(settings, dict) else None
        if not isinstance(features, dict):
            return  # an older server without the list; the first upload will tell
        for feature, action in NEEDED_FEATURES.items():
            if features.get(feature) is False:
                raise AuthError(f"PhotoPrism at {self.url} does not let this user {action}: "
                                f"the {feature.capitalize()} feature is off or the role "
                                "lacks it")

    # -- requests --------------------------------------------------------------------------

    def call(self, method: str, path: str, *, json: Any = None,
             files: Callable[[], Mapping[str, Any]] | None = None,
             timeout: httpx.Timeout | None = None) -> httpx.Response:
        """Send with the current session, logging in again once if it expired."""
        seen = self.generation
        answer = self._send(method, path, json=json, files=files, timeout=timeout)
        if answer.status_code == 401 and self.credentials.token is None:
            self.renew(seen)
            answer = self._send(method, path, json=json, files=files, timeout=timeout)
        return answer

    def _send(self, method: str, path: str, *, json: Any = None,
              files: Callable[[], Mapping[str, Any]] | None = None,
              timeout: httpx.Timeout | None = None) -> httpx.Response:
        body = files if files is not None else (
            (lambda: {"json": json}) if json is not None else None)
        headers = {"Authorization": f"Bearer {self._token}"}
        return self.http.request(method, path, body=body, headers=headers, timeout=timeout)

    def renew(self, seen_generation: int) -> None:
        """Log in again unless another thread already did since `seen_generation`."""
        with self._lock:
            if self.generation != seen_generation:
                return
            self._login()
            self.generation += 1
            self.renewals += 1

    def close(self) -> None:
        if self.credentials.token is None and self._token:
            with contextlib.suppress(GalleryError):
                self._send("DELETE", "/session")
        self.http.close()


def _json_object(answer: httpx.Response, what: str) -> dict[str, Any]:
    try:
        body = answer.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise TargetUnavailable(f"{what} did not answer with a JSON object; is this PhotoPrism?")
    return body
