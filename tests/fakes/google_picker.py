"""A faithful fake of Google's side of `import --from picker`: the Photos Picker API, the
OAuth endpoints (`google_oauth`) and the host serving the picked bytes, on one loopback
server (paths keep the real hosts apart: `/v1/…` API, `/token` and `/o/oauth2/auth`
OAuth, `/lh/…` downloads).

Behaviour from Google's REST reference (developers.google.com/photos/picker):
- sessions.create: body a PickingSession; `pickingConfig.maxItemCount` an int64 (JSON
  string) of at most 2000; unknown fields and query parameters are INVALID_ARGUMENT.
  The answer has `pickerUri`, `pollingConfig` {pollInterval, timeoutIn} as durations
  ("5s"), `expireTime`, `mediaItemsSet` false.
- sessions.get: while the user picks, `mediaItemsSet` false with a pollingConfig; once the
  "user" (`pick`) has pressed Done, true and no pollingConfig; after `timeout_in` seconds
  without a pick, `timeoutIn` "0s". Deleted or unknown sessions are NOT_FOUND.
- mediaItems.list: FAILED_PRECONDITION until picking has finished; `pageSize` 0/absent
  50, above 100 coerced to 100, negative INVALID_ARGUMENT; opaque page tokens (a foreign
  one is INVALID_ARGUMENT). Every listing issues fresh base URLs, each valid 60 minutes
  on the fake's clock (`advance`).
- downloads: `baseUrl=d` gives a photo's bytes (EXIF kept, location gone: whatever the
  test put in `LibraryItem.download`), `=dv` a video's transcoded bytes; `=d` on a video
  gives a still frame (a JPEG), which a client using the wrong suffix would import.
  An expired base URL is 403, an unknown one 404.
- every request, downloads included, needs a valid bearer token for the Picker scope
  (401 UNAUTHENTICATED otherwise, 403 for a token without the scope).
- errors in Google's JSON shape {"error": {code, message, status}}; faults (429, 5xx,
  resets) come from the shared fake-server base.
"""

from __future__ import annotations

import base64
import itertools
import json
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.fakes.google_oauth import SCOPE, OAuthState
from tests.fakes.server import FakeServer, Request, Response

STATUS_CODES = {"INVALID_ARGUMENT": 400, "FAILED_PRECONDITION": 400, "UNAUTHENTICATED": 401,
                "PERMISSION_DENIED": 403, "NOT_FOUND": 404}
BASE_URL_LIFETIME = 3600.0
STANDARD_QUERY = {"alt", "prettyPrint", "fields", "$.xgafv", "quotaUser", "key"}
STILL_FRAME = bytes.fromhex("ffd8ffe000104a46494600010100000100010000ffd9")


@dataclass
class LibraryItem:
    """An item of the fake user's Google Photos library."""

    id: str
    filename: str
    created: datetime
    video: bool
    download: bytes
    """What `=d` (photo) or `=dv` (video) serves: not the original file."""
    mime: str = "image/jpeg"
    processing: str = "READY"

    def json(self, base_url: str) -> dict[str, Any]:
        meta: dict[str, Any] = {"width": 16, "height": 12, "cameraMake": "Fake",
                                "cameraModel": "Cam 1"}
        if self.video:
            meta["videoMetadata"] = {"fps": 30.0, "processingStatus": self.processing}
        else:
            meta["photoMetadata"] = {"focalLength": 4.2, "apertureFNumber": 1.8,
                                     "isoEquivalent": 100, "exposureTime": "0.008s"}
        return {"id": self.id, "createTime": self.created.isoformat().replace("+00:00", "Z"),
                "type": "VIDEO" if self.video else "PHOTO",
                "mediaFile": {"baseUrl": base_url, "mimeType": self.mime,
                              "filename": self.filename, "mediaFileMetadata": meta}}


@dataclass
class PickingSession:
    id: str
    max_items: int
    started: float
    polls: int = 0
    picked: list[str] | None = None
    deleted: bool = False
    page_tokens: dict[str, int] = field(default_factory=dict)


def google_error(status: str, message: str) -> Response:
    code = STATUS_CODES[status]
    headers = {"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'} \
        if code == 401 else {}
    return Response(code, {"error": {"code": code, "message": message, "status": status}},
                    headers)


class FakeGooglePhotos(FakeServer):
    def __init__(self, *, poll_interval: str = "0.01s", timeout_in: float = 30.0) -> None:
        super().__init__(spec=None)  # type: ignore[arg-type]  # routes by hand, below
        self.oauth = OAuthState()
        self.poll_interval = poll_interval
        self.timeout_in = timeout_in
        self.library: dict[str, LibraryItem] = {}
        self.sessions: dict[str, PickingSession] = {}
        self.base_urls: dict[str, tuple[str, float]] = {}
        self.choice: list[str] | None = None
        """What the "user" picks in each new session (None: never presses Done)."""
        self.done_after_polls = 1
        self.downloads: list[tuple[str, str]] = []
        self.refused: list[tuple[str, str]] = []
        self._ids = itertools.count(1)

    # -- what tests set up -----------------------------------------------------------------

    def add(self, filename: str, created: datetime, download: bytes, *, video: bool = False,
            mime: str | None = None, processing: str = "READY") -> LibraryItem:
        item_id = "AF1Qip" + base64.urlsafe_b64encode(secrets.token_bytes(24)).decode()
        item = LibraryItem(item_id, filename, created, video, download,
                           mime or ("video/mp4" if video else "image/jpeg"), processing)
        self.library[item_id] = item
        return item

    def pick(self, *items: LibraryItem, after_polls: int = 1) -> None:
        self.choice = [item.id for item in items]
        self.done_after_polls = after_polls

    def advance(self, seconds: float) -> None:
        """Move the fake's clock: base URLs and access tokens age."""
        self.oauth.offset += seconds

    def client_file(self, path: Path) -> Path:
        """The OAuth client JSON a user downloads from Google Cloud, for this fake."""
        path.write_text(json.dumps({"installed": {
            "client_id": self.oauth.client_id, "client_secret": self.oauth.client_secret,
            "project_id": "fake-project", "auth_uri": f"{self.url}/o/oauth2/auth",
            "token_uri": f"{self.url}/token", "redirect_uris": ["http://localhost"]}}))
        return path

    def token_file(self, path: Path, lifetime: float = 3000.0) -> tuple[Path, str]:
        """A saved authorization as `auth google` writes it (and its refresh token);
        `lifetime` <= 0 saves an access token that has already expired."""
        refresh, access = self.oauth.issue()
        expiry = datetime.now(UTC).replace(tzinfo=None) + timedelta(seconds=lifetime)
        path.write_text(json.dumps({
            "token": access, "refresh_token": refresh, "token_uri": f"{self.url}/token",
            "client_id": self.oauth.client_id, "client_secret": self.oauth.client_secret,
            "scopes": [SCOPE], "expiry": expiry.isoformat() + "Z"}))
        path.chmod(0o600)
        return path, refresh

    def config(self, folder: Path, extra: str = "") -> Path:
        """A config file pointing gphotos-importer at this fake, with a saved token."""
        token, _ = self.token_file(folder / "google-token.json")
        path = folder / "google.yaml"
        path.write_text(f"google:\n  picker_root_url: {self.url}/\n  token_file: {token}\n"
                        + extra, encoding="utf-8")
        return path

    def live_sessions(self) -> list[PickingSession]:
        return [s for s in self.sessions.values() if not s.deleted]

    # -- dispatch (no OpenAPI description: Google publishes discovery documents, and the
    # client's own must not be what checks the client) ------------------------------------

    def validate(self, request: Request, content_type: str | None) -> Response | None:
        return None

    def dispatch(self, request: Request) -> Response:
        route, method = request.route, request.method
        if route == "/token" and method == "POST":
            return self.oauth.token_endpoint(request)
        if route == "/o/oauth2/auth" and method == "GET":
            return self.oauth.consent_page(request)
        refused = self._authenticate(request)
        if refused is not None:
            return refused
        if route.startswith("/lh/") and method == "GET":
            return self._download(route.removeprefix("/lh/"))
        unknown = set(request.query) - STANDARD_QUERY - {"sessionId", "pageSize",
                                                         "pageToken", "requestId"}
        if unknown:
            return google_error("INVALID_ARGUMENT", f"Unknown parameter(s): {sorted(unknown)}")
        if route == "/v1/sessions" and method == "POST":
            return self._create(request)
        if route.startswith("/v1/sessions/") and method in ("GET", "DELETE"):
            return self._session(method, route.removeprefix("/v1/sessions/"))
        if route == "/v1/mediaItems" and method == "GET":
            return self._list(request)
        return google_error("NOT_FOUND", f"{method} {route} is not a Picker API method")

    def _authenticate(self, request: Request) -> Response | None:
        problem = self.oauth.bearer_problem(request)
        if problem is None:
            return None
        with self.lock:
            self.refused.append((request.route, problem))
        if problem == "scope":
            return google_error("PERMISSION_DENIED",
                                "Request had insufficient authentication scopes.")
        return google_error("UNAUTHENTICATED", "Request had invalid authentication "
                            "credentials. Expected OAuth 2 access token.")

    # -- sessions --------------------------------------------------------------------------

    def _create(self, request: Request) -> Response:
        body = request.json if request.json is not None else {}
        if not isinstance(body, dict) or set(body) - {"id", "pickerUri", "pollingConfig",
                                                      "expireTime", "pickingConfig",
                                                      "mediaItemsSet"}:
            return google_error("INVALID_ARGUMENT", "Invalid JSON payload received.")
        config = body.get("pickingConfig") or {}
        raw = config.get("maxItemCount", "2000")
        try:
            max_items = int(raw)
        except (TypeError, ValueError):
            return google_error("INVALID_ARGUMENT", f"Invalid value at "
                                f"'session.picking_config.max_item_count' ({raw!r})")
        if not 0 < max_items <= 2000:
            return google_error("INVALID_ARGUMENT", "maxItemCount must be between 1 and 2000")
        with self.lock:
            session = PickingSession(f"{next(self._ids):04d}-{secrets.token_hex(8)}",
                                     max_items, self.oauth.now())
            self.sessions[session.id] = session
        return Response(200, self._session_json(session))

    def _session(self, method: str, session_id: str) -> Response:
        with self.lock:
            session = self.sessions.get(session_id)
            if session is None or session.deleted:
                return google_error("NOT_FOUND", "Requested entity was not found.")
            if method == "DELETE":
                session.deleted = True
                return Response(200, {})
            session.polls += 1
            if session.picked is None and self.choice is not None \
                    and session.polls >= self.done_after_polls and not self._timed_out(session):
                session.picked = self.choice[: session.max_items]
            return Response(200, self._session_json(session))

    def _timed_out(self, session: PickingSession) -> bool:
        return self.oauth.now() - session.started >= self.timeout_in

    def _session_json(self, session: PickingSession) -> dict[str, Any]:
        expire = datetime.now(UTC) + timedelta(seconds=self.oauth.offset + 3600)
        data: dict[str, Any] = {
            "id": session.id, "pickerUri": f"https://photos.google.com/picker/{session.id}",
            "expireTime": expire.isoformat().replace("+00:00", "Z"),
            "pickingConfig": {"maxItemCount": str(session.max_items)},
            "mediaItemsSet": session.picked is not None,
        }
        if session.picked is None:
            left = max(0.0, self.timeout_in - (self.oauth.now() - session.started))
            data["pollingConfig"] = {"pollInterval": self.poll_interval,
                                     "timeoutIn": f"{left:.3f}s" if left else "0s"}
        return data

    # -- media items -----------------------------------------------------------------------

    def _list(self, request: Request) -> Response:
        query = {k: v[-1] for k, v in request.query.items()}
        with self.lock:
            session = self.sessions.get(query.get("sessionId", ""))
            if "sessionId" not in query:
                return google_error("INVALID_ARGUMENT", "sessionId is required")
            if session is None or session.deleted:
                return google_error("NOT_FOUND", "Requested entity was not found.")
            if session.picked is None:
                return google_error("FAILED_PRECONDITION",
                                    "The user has not finished picking media items.")
            try:
                size = int(query.get("pageSize", "0"))
            except ValueError:
                return google_error("INVALID_ARGUMENT", "pageSize must be an integer")
            if size < 0:
                return google_error("INVALID_ARGUMENT", "pageSize must not be negative")
            size = min(size or 50, 100)
            token = query.get("pageToken")
            start = session.page_tokens.get(token, -1) if token else 0
            if start < 0:
                return google_error("INVALID_ARGUMENT", "Invalid page token.")
            ids = session.picked[start:start + size]
            page: dict[str, Any] = {"mediaItems": [self.library[i].json(self._base_url(i))
                                                   for i in ids]}
            if start + size < len(session.picked):
                following = secrets.token_urlsafe(12)
                session.page_tokens[following] = start + size
                page["nextPageToken"] = following
        return Response(200, page)

    def _base_url(self, item_id: str) -> str:
        token = secrets.token_urlsafe(18)
        self.base_urls[token] = (item_id, self.oauth.now())
        return f"{self.url}/lh/{token}"

    def _download(self, path: str) -> Response:
        token, _, suffix = path.partition("=")
        with self.lock:
            found = self.base_urls.get(token)
            if found is None:
                return Response(404, raw=b"Not Found")
            item_id, issued = found
            if self.oauth.now() - issued >= BASE_URL_LIFETIME:
                return Response(403, raw=b"Forbidden: this URL has expired")
            item = self.library[item_id]
            self.downloads.append((item_id, suffix))
        if suffix == "d":
            return Response(200, raw=STILL_FRAME if item.video else item.download)
        if suffix == "dv" and item.video:
            return Response(200, raw=item.download)
        return Response(400, raw=b"Bad Request: unsupported parameters")


__all__ = ["SCOPE", "FakeGooglePhotos", "LibraryItem"]
