"""A faithful fake Immich (v3.1 by default, or v2.x) for the adapter's tests and benchmark.

Behaviour copied from the contract notes and Immich's server code: SHA-1 dedupe per user
(201 `created`, 200 `duplicate` with the existing id, also for a trashed asset; the
`x-immich-checksum` header answers before the file is looked at), album names that are
not unique, API keys with permissions and the real 401/403/400 messages, the multipart
field-order gotcha for sidecars, live-photo links hiding the motion part, `PUT` edits
locked against later metadata extraction, paginated metadata search. Every request and
every success answer is validated against the OpenAPI file of the dialect served.

`cost=CostModel()` (opt-in, for the benchmark) charges every request what a real Immich
spends on it (tests/fakes/immich_cost.py); without it the fake answers at once.
"""

from __future__ import annotations

import base64
import binascii
import threading
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from tests.fakes.immich_cost import CostModel
from tests.fakes.immich_model import (
    IMAGE_EXTENSIONS,
    SIDECAR_EXTENSIONS,
    VIDEO_EXTENSIONS,
    Album,
    ApiKey,
    Asset,
    User,
    extract,
    new_id,
    parse_instant,
)
from tests.fakes.openapi import Spec
from tests.fakes.server import FakeServer, Request, Response, UploadedFile

SPECS = {"v3": Spec("immich-openapi.json"), "v2": Spec("immich-openapi-v2.7.3.json")}
VERSIONS = {"v3": (3, 1, 0), "v2": (2, 7, 3)}
REASONS = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
           500: "Internal Server Error", 501: "Not Implemented"}


def to_hex(checksum: str) -> str | None:
    if len(checksum) == 40:
        try:
            return bytes.fromhex(checksum).hex()
        except ValueError:
            return None
    try:
        raw = base64.b64decode(checksum, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw.hex() if len(raw) == 20 else None


class FakeImmich(FakeServer):
    def __init__(self, dialect: str = "v3", version: tuple[int, int, int] | None = None,
                 exif_delay: float = 0.0, cost: CostModel | None = None) -> None:
        super().__init__(SPECS[dialect], prefix="/api")
        self.cost = cost
        self.v2 = dialect == "v2"
        self.version = version or VERSIONS[dialect]
        self.exif_delay = exif_delay
        self.users: dict[str, User] = {}
        self.keys: dict[str, ApiKey] = {}
        self.assets: dict[str, Asset] = {}
        self.albums: dict[str, Album] = {}
        self._by_checksum: dict[tuple[str, str], str] = {}
        self.checksum_headers: list[str | None] = []
        """`x-immich-checksum` of each upload as it arrived (None: not sent)."""
        self.form_orders: list[list[str]] = []
        """The order of each upload's form parts, as they arrived."""
        self.originals = self.storage / "originals"
        self.originals.mkdir()
        self.user, self.api_key = self.add_user("importer@example.com")
        self._routes()

    # -- users and keys --------------------------------------------------------------------

    def add_user(self, email: str, permissions: tuple[str, ...] = ("all",)) -> tuple[User, str]:
        user = User(new_id(), email, email.split("@")[0])
        self.users[user.id] = user
        return user, self.add_key(user, permissions)

    def add_key(self, user: User, permissions: tuple[str, ...]) -> str:
        key = ApiKey(new_id(), f"key-{new_id()}", user.id, list(permissions))
        self.keys[key.secret] = key
        return key.secret

    # -- hooks of the base -----------------------------------------------------------------

    def error_body(self, status: int, message: str | list[str]) -> Any:
        return {"message": message, "error": REASONS.get(status, "Error"),
                "statusCode": status, "correlationId": new_id()[:8]}

    def authenticate(self, request: Request) -> Response | None:
        secret = request.headers.get("x-api-key")
        if not secret:
            return self._error(401, "Authentication required")
        key = self.keys.get(secret)
        if key is None:
            return self._error(401, "Invalid API key")
        assert request.op is not None
        permission = request.op.raw.get("x-immich-permission")
        if not key.allows(permission):
            return self._error(403, f"Missing required permission: {permission}")
        request.auth = key
        return None

    def validate(self, request: Request, content_type: str | None) -> Response | None:
        """Immich's guards run before its validation: 401/403 win over a 400."""
        found = self.spec.find(request.method, request.route)
        if found is not None and found[0].security:
            request.op, request.params = found
            refused = self.authenticate(request)
            if refused is not None:
                return refused
        return super().validate(request, content_type)

    def dispatch(self, request: Request) -> Response:
        if self.cost is None:
            return self._dispatch(request)
        self._charge(request)
        response = self._dispatch(request)
        self.cost.served(request.method, request.op.template if request.op else request.route,
                         request.received, time.monotonic())
        return response

    def _dispatch(self, request: Request) -> Response:
        try:
            return super().dispatch(request)
        except Exception:
            with self.lock:
                self.violations.append(f"fake crashed on {request.method} {request.path}: "
                                       + traceback.format_exc())
            return self._error(500, "Internal server error")

    def _charge(self, request: Request) -> None:
        """The cost model's bill for this request (before the handler answers)."""
        assert self.cost is not None
        found = self.spec.find(request.method, request.route)
        if found is None:
            return
        op = found[0]
        if op.security:
            self.cost.authenticate()
        self.cost.before_body(request.method, op.template, request.headers)
        body = request.json if isinstance(request.json, dict) else {}
        items = len(body.get("ids") or body.get("assets") or ())
        size = sum(f.size for value in (request.form or {}).values()
                   for f in (value if isinstance(value, list) else [value])
                   if isinstance(f, UploadedFile))
        self.cost.charge(request.method, op.template, size, items)

    def check_response(self, request: Request, response: Response) -> None:
        """The spec describes success bodies only; errors carry NestJS's shape."""
        if response.status < 400:
            super().check_response(request, response)

    # -- helpers ---------------------------------------------------------------------------

    def _error(self, status: int, message: str) -> Response:
        return Response(status, self.error_body(status, message))

    def _user(self, request: Request) -> User:
        """Whom the guard authenticated, like Immich's `@Auth()`: a key deleted while the
        request runs does not make its handler crash."""
        key = request.auth if request.auth is not None else self.keys[
            request.headers["x-api-key"]]
        return self.users[key.user_id]

    def _asset(self, request: Request, asset_id: str, permission: str) -> Asset | Response:
        asset = self.assets.get(asset_id)
        if asset is None or asset.owner_id != self._user(request).id:
            return self._error(400, f"Not found or no {permission} access")
        return asset

    def _album(self, request: Request, album_id: str, permission: str) -> Album | Response:
        album = self.albums.get(album_id)
        if album is None or album.owner.id != self._user(request).id:
            return self._error(400, f"Not found or no {permission} access")
        return album

    def find_checksum(self, user_id: str, sha1_hex: str | None) -> Asset | None:
        asset_id = self._by_checksum.get((user_id, sha1_hex or ""))
        return self.assets.get(asset_id) if asset_id else None

    def _routes(self) -> None:
        from tests.fakes import immich_routes

        immich_routes.register(self)

    # -- what tests read -------------------------------------------------------------------

    def owned(self, user: User | None = None) -> list[Asset]:
        owner = (user or self.user).id
        with self.lock:
            return [a for a in self.assets.values() if a.owner_id == owner]

    def album_named(self, name: str) -> list[Album]:
        with self.lock:
            return [a for a in self.albums.values() if a.name == name]

    # -- uploads ---------------------------------------------------------------------------

    def store(self, request: Request, user: User) -> Response:
        """Create the asset from a validated upload whose checksum is new."""
        (file,) = request.files("assetData")
        sidecars = request.files("sidecarData")
        name = request.text("filename") or file.filename
        suffix = PurePosixPath(name).suffix.lower()
        live = request.text("livePhotoVideoId")
        if live is not None:
            problem = self.link_problem(user, live)
            if problem:
                return self._error(400, problem)
        created, _ = parse_instant(request.text("fileCreatedAt") or "")
        modified, _ = parse_instant(request.text("fileModifiedAt") or "")
        asset = Asset(
            id=new_id(), owner_id=user.id, checksum=file.sha1,
            type="VIDEO" if suffix in VIDEO_EXTENSIONS else "IMAGE",
            original_file_name=name, path=self.originals / f"{new_id()}{suffix}",
            size=file.size, file_created_at=created, file_modified_at=modified,
            is_favorite=request.text("isFavorite") == "true",
            visibility=request.text("visibility") or "timeline",
            live_photo_video_id=live, device_asset_id=request.text("deviceAssetId") or "",
            device_id=request.text("deviceId") or "")
        file.path.replace(asset.path)
        if sidecars:
            asset.sidecar = asset.path.with_name(asset.path.name + ".xmp")
            sidecars[0].path.replace(asset.sidecar)
        self.assets[asset.id] = asset
        self._by_checksum[(user.id, asset.checksum)] = asset.id
        if live is not None:
            self.hide_motion(live)
        self._schedule_extraction(asset)
        return Response(201, {"id": asset.id, "status": "created"})

    def _schedule_extraction(self, asset: Asset) -> None:
        def run() -> None:
            with self.lock:
                extract(asset)

        if self.exif_delay <= 0:
            extract(asset)
        else:
            timer = threading.Timer(self.exif_delay, run)
            timer.daemon = True
            timer.start()

    def link_problem(self, user: User, video_id: str) -> str | None:
        """Immich's checks before linking a live photo's motion part."""
        video = self.assets.get(video_id)
        if video is None:
            return "Live photo video not found"
        if video.type != "VIDEO":
            return "Live photo video must be a video"
        if video.owner_id != user.id:
            return "Live photo video does not belong to the user"
        return None

    def hide_motion(self, video_id: str) -> None:
        video = self.assets[video_id]
        if video.visibility == "timeline":
            video.visibility = "hidden"

    def file_type_problem(self, request: Request) -> str | None:
        """Multer judges each file part as it arrives, by the `filename` field if that came
        first, else by the part's own name (the sidecar gotcha of the contract notes)."""
        seen_filename: str | None = None
        for name in request.form_order:
            if name == "filename":
                seen_filename = request.text("filename")
                continue
            allowed = {"assetData": IMAGE_EXTENSIONS | VIDEO_EXTENSIONS,
                       "sidecarData": SIDECAR_EXTENSIONS}.get(name)
            if allowed is None:
                continue
            part = next(iter(request.files(name)), None)
            if part is None:
                continue
            judged = seen_filename or part.filename
            if PurePosixPath(judged).suffix.lower() not in allowed:
                return f"Unsupported file type {judged}"
        return None

    def discard(self, request: Request) -> None:
        for value in (request.form or {}).values():
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, UploadedFile):
                    Path(item.path).unlink(missing_ok=True)

    @staticmethod
    def now() -> datetime:
        return datetime.now(UTC)
