"""A faithful fake PhotoPrism (develop 2026-06-30 API) for the adapter's tests.

Every request and response is validated against `tests/contracts/photoprism-swagger.json`
by the `FakeServer` base (bad requests get PhotoPrism's 400 and land in `rejected`). The
semantics follow PhotoPrism's code (see `photoprism_library.py` and contracts/NOTES.md):
sessions from a login expire, app passwords do not; uploads are staged per session and
token (a new session cannot import what an old one staged); the import answers without
photo UIDs; a file is findable by its SHA-1 only after indexing; album titles are
idempotent; archiving hides album entries.

Switches: `index_delay`, `session_ttl`, `file_size_limit` (silent drop), `upload_limit`
(413 for the whole request), `features` (upload/import on or off), `strip_sequence`, and the
base class's HTTP `faults`. Run alone with `python -m tests.fakes.photoprism` (prints its URL).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import secrets
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.fakes.openapi import Spec
from tests.fakes.photoprism_library import (
    AlbumRec,
    Library,
    PhotoRec,
    declared_kind,
    new_uid,
    sniff,
)
from tests.fakes.previews import render
from tests.fakes.server import FakeServer, Request, Response, UploadedFile

SPEC = Spec("photoprism-swagger.json")
API = "/api/v1"
APP_PASSWORD = "app-pw-0123456789abcdef"
USERNAME, PASSWORD = "admin", "photoprism-secret"
VERSION = "260630-4b33d3bd1"
_SVG = b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"><path d="%s"/></svg>'
PHOTO_SVG = _SVG % b"M3 3h18v18H3z"
BROKEN_SVG = _SVG % b"M3 3l18 18"


@dataclass
class SessionRec:
    id: str
    token: str
    ref_id: str
    app: bool
    expires_at: float | None = None

    def expired(self) -> bool:
        return self.expires_at is not None and time.monotonic() >= self.expires_at


def _error(status: int, message: str) -> Response:
    return Response(status, {"code": status, "error": message})


class FakePhotoPrism(FakeServer):
    def __init__(self, *, app_passwords: tuple[str, ...] = (APP_PASSWORD,),
                 index_delay: float = 0.0, session_ttl: float | None = None,
                 seed: int = 1) -> None:
        super().__init__(SPEC)
        self.rng = random.Random(seed)
        self.user_uid = new_uid("u", self.rng)
        self.library = Library(self.storage / "originals", rng=self.rng,
                               index_delay=index_delay)
        self.library.originals.mkdir()
        self.staging = self.storage / "upload"
        self.session_ttl = session_ttl
        self.features = {"upload": True, "import": True}
        self.file_size_limit: int | None = None
        self.upload_limit: int | None = None
        self.sessions: dict[str, SessionRec] = {}
        self.preview_token = secrets.token_hex(4)  # one per user, as PhotoPrism's are
        self.download_token = secrets.token_hex(4)
        self.dropped: list[str] = []
        self.imports = 0
        self.logins = 0
        for token in app_passwords:
            self._add_session(token, app=True)
        self._register()

    def start(self) -> str:
        """As the base, with TCP_NODELAY, and quiet about clients dropping their connection
        (a killed importer is normal here, not worth a traceback on stderr)."""
        url = super().start()
        assert self._httpd is not None
        # Headers and body leave in two writes; without TCP_NODELAY every answer waits
        # for the client's delayed ACK (~40 ms), which no real server makes you pay.
        self._httpd.RequestHandlerClass.disable_nagle_algorithm = True  # type: ignore[attr-defined]
        report = self._httpd.handle_error

        def quiet(request: Any, client_address: Any) -> None:
            if not isinstance(sys.exc_info()[1], ConnectionError):
                report(request, client_address)

        self._httpd.handle_error = quiet  # type: ignore[method-assign]
        return url

    # -- switches and inspection for tests -------------------------------------------------

    def expire_sessions(self) -> None:
        """Every login session times out now (app passwords stay valid)."""
        with self.lock:
            for session in self.sessions.values():
                if not session.app:
                    session.expires_at = 0.0

    def photo_by_hash(self, sha1: str) -> PhotoRec | None:
        with self.lock:
            record = self.library.by_hash(sha1, visible_only=False)
            return self.library.photos[record.photo_uid] if record else None

    def album_titles(self, photo_uid: str) -> set[str]:
        with self.lock:
            return {album.title for album in self.library.albums_of(photo_uid)}

    def error_body(self, status: int, message: str | list[str]) -> Any:
        text = message if isinstance(message, str) else "; ".join(message)
        return {"code": status, "error": text}

    # -- auth ------------------------------------------------------------------------------

    def _add_session(self, token: str, app: bool) -> SessionRec:
        ttl = None if app or self.session_ttl is None else time.monotonic() + self.session_ttl
        session = SessionRec(hashlib.sha256(token.encode()).hexdigest(), token,
                             "s" + secrets.token_hex(6), app, ttl)
        self.sessions[session.id] = session
        return session

    def session_of(self, request: Request) -> SessionRec | None:
        header = request.headers.get("authorization", "")
        token = header.removeprefix("Bearer ").strip() or request.headers.get("x-auth-token")
        if not token:
            return None
        with self.lock:
            session = self.sessions.get(hashlib.sha256(token.encode()).hexdigest())
        return None if session is None or session.expired() else session

    def authenticate(self, request: Request) -> Response | None:
        if (request.method, request.route) in (("GET", f"{API}/status"),
                                               ("POST", f"{API}/session")):
            return None
        if request.method == "GET" and request.route.startswith(f"{API}/t/"):
            return None  # <img> tags send no bearer: the preview token in the URL is the key
        return None if self.session_of(request) else _error(401, "Unauthorized")

    def _me(self, request: Request) -> SessionRec:
        session = self.session_of(request)
        assert session is not None  # authenticate() let the request through
        return session

    def _session_body(self, session: SessionRec, with_token: bool) -> dict[str, Any]:
        left = -1 if session.expires_at is None else int(session.expires_at - time.monotonic())
        body: dict[str, Any] = {
            "status": "ok", "session_id": session.id, "expires_in": left, "provider":
            "application" if session.app else "local", "scope": "*",
            "user": {"UID": self.user_uid, "Name": USERNAME, "Role": "admin",
                     "SuperAdmin": True, "CanLogin": True},
            "data": {}, "config": self._client_config(),
        }
        if with_token:
            body.update(id=session.token, access_token=session.token, token_type="Bearer")
        return body

    def _client_config(self) -> dict[str, Any]:
        return {"version": VERSION, "readonly": False, "previewToken": self.preview_token,
                "downloadToken": self.download_token,
                "settings": {"features": dict(self.features)}}

    # -- routes ----------------------------------------------------------------------------

    def _register(self) -> None:
        routes = {
            ("GET", "/status"): lambda r: Response(200, {"status": "operational"}),
            ("POST", "/session"): self._login,
            ("GET", "/session"): lambda r: Response(200, self._session_body(self._me(r), False)),
            ("GET", "/session/{id}"): self._get_session,
            ("DELETE", "/session"): self._logout,
            ("GET", "/config"): lambda r: Response(200, self._client_config()),
            ("GET", "/t/{thumb}/{token}/{size}"): self._thumb,
            ("POST", "/users/{uid}/upload/{token}"): self._upload,
            ("PUT", "/users/{uid}/upload/{token}"): self._import,
            ("GET", "/files/{hash}"): self._file,
            ("GET", "/photos"): self._search,
            ("GET", "/photos/{uid}"): self._photo,
            ("PUT", "/photos/{uid}"): self._update_photo,
            ("POST", "/photos/{uid}/like"): lambda r: self._like(r, True),
            ("DELETE", "/photos/{uid}/like"): lambda r: self._like(r, False),
            ("POST", "/albums"): self._create_album,
            ("GET", "/albums/{uid}"): self._album,
            ("PUT", "/albums/{uid}"): self._update_album,
            ("POST", "/albums/{uid}/photos"): self._add_photos,
            ("POST", "/batch/photos/archive"): lambda r: self._batch(r, archive=True),
            ("POST", "/batch/photos/restore"): lambda r: self._batch(r, archive=False),
        }
        for (method, path), handler in routes.items():
            self.route(method, API + path)(handler)

    def _login(self, request: Request) -> Response:
        body = request.json or {}
        if (body.get("username"), body.get("password")) != (USERNAME, PASSWORD):
            return _error(401, "Invalid credentials")
        with self.lock:
            self.logins += 1
            session = self._add_session("sess-" + secrets.token_hex(16), app=False)
        return Response(200, self._session_body(session, True))

    def _get_session(self, request: Request) -> Response:
        session = self._me(request)
        if request.params["id"] != session.id:
            return _error(403, "Permission denied")
        return Response(200, self._session_body(session, False))

    def _logout(self, request: Request) -> Response:
        session = self._me(request)
        with self.lock:
            self.sessions.pop(session.id, None)
        return Response(200, {"status": "deleted", "session_id": session.id})

    # -- upload and import -----------------------------------------------------------------

    def _batch_dir(self, request: Request) -> Path | Response:
        session = self._me(request)
        if request.params["uid"] != self.user_uid:
            return _error(403, "Permission denied")
        return self.staging / self.user_uid / (session.ref_id + request.params["token"])

    def _upload(self, request: Request) -> Response:
        files = request.files("files")
        folder = self._batch_dir(request)
        if isinstance(folder, Response) or not self.features["upload"]:
            _discard(files)
            return folder if isinstance(folder, Response) else _error(403, "Read-only mode")
        if self.upload_limit is not None and sum(f.size for f in files) > self.upload_limit:
            _discard(files)
            return _error(413, "File too large")
        folder.mkdir(parents=True, exist_ok=True)
        kept = 0
        for file in files:
            name = Path(file.filename).name
            if self._accepts(file, name):
                os.replace(file.path, folder / name)  # the same name overwrites, as PhotoPrism
                kept += 1
            else:
                file.path.unlink(missing_ok=True)
                with self.lock:
                    self.dropped.append(name)
        return Response(200, {"code": 200, "message": f"{kept} files uploaded in 0 s"})

    def _accepts(self, file: UploadedFile, name: str) -> bool:
        """`UploadCheckFile`: known type, extension telling the truth, size within limits."""
        declared = declared_kind(name)
        if declared is None:
            return False
        if self.file_size_limit is not None and file.size > self.file_size_limit:
            return False
        with file.path.open("rb") as stream:
            actual = sniff(stream.read(64))
        return actual == declared

    def _import(self, request: Request) -> Response:
        folder = self._batch_dir(request)
        if isinstance(folder, Response):
            return folder
        if not self.features["import"]:
            return _error(403, "Feature disabled")
        if not folder.is_dir():
            return _error(404, "Upload failed")
        with self.lock:
            created = self.library.import_folder(folder, self.user_uid)
            self.imports += 1
            for wanted in (request.json or {}).get("albums") or []:
                album = self.library.albums.get(wanted) or self._album_titled(wanted)
                self.library.add_to_album(album.uid, created)
        return Response(200, {"code": 200, "message": "Upload has been processed"})

    # -- files and photos ------------------------------------------------------------------

    def _thumb(self, request: Request) -> Response:
        """`GetThumb`: a wrong token is 403 with a broken-image SVG; an unknown hash is 200
        with a generic photo SVG (PhotoPrism's answers); else a JPEG of the size asked."""
        params = request.params
        if params["token"] != self.preview_token:
            return Response(403, raw=BROKEN_SVG, headers={"Content-Type": "image/svg+xml"})
        with self.lock:
            record = self.library.by_hash(params["thumb"].split("-")[0])
            path = record.path if record is not None else None
        if path is None:
            return Response(200, raw=PHOTO_SVG, headers={"Content-Type": "image/svg+xml"})
        side = int(params["size"].rpartition("_")[2])
        return Response(200, raw=render(path, side, "JPEG"),
                        headers={"Content-Type": "image/jpeg"})

    def _file(self, request: Request) -> Response:
        with self.lock:
            record = self.library.by_hash(request.params["hash"])
            if record is None:
                return _error(404, "File not found")
            return Response(200, record.json())

    def _found(self, request: Request) -> PhotoRec | Response:
        photo = self.library.photos.get(request.params["uid"])
        return photo if photo is not None else _error(404, "Photo not found")

    def _photo(self, request: Request) -> Response:
        with self.lock:
            photo = self._found(request)
            if isinstance(photo, Response):
                return photo
            return Response(200, self.library.photo_json(photo))

    def _update_photo(self, request: Request) -> Response:
        with self.lock:
            photo = self._found(request)
            if isinstance(photo, Response):
                return photo
            try:
                self.library.save_form(photo, dict(request.json or {}))
            except (ValueError, TypeError) as exc:
                return _error(400, f"Invalid request: {exc}")
            return Response(200, self.library.photo_json(photo))

    def _like(self, request: Request, favorite: bool) -> Response:
        with self.lock:
            photo = self._found(request)
            if isinstance(photo, Response):
                return photo
            photo.favorite = favorite
            return Response(200, {"photo": self.library.photo_json(photo)})

    def _search(self, request: Request) -> Response:
        count = int(request.query["count"][-1])
        offset = int((request.query.get("offset") or ["0"])[-1])
        query = (request.query.get("q") or [""])[-1]
        album = (request.query.get("s") or [""])[-1]
        archived = "archived:true" in query
        with self.lock:
            photos = [p for p in self.library.photos.values()
                      if (p.deleted_at is not None) == archived
                      and (not album or self.library.hidden.get((album, p.uid)) is False)]
            rows = [{"UID": p.uid, "Type": p.kind, "TakenAt": self.library.photo_json(p)[
                "TakenAt"], "Title": p.title, "Caption": p.caption, "Favorite": p.favorite,
                "Hash": next((f.hash for f in self.library.files_of(p.uid) if f.primary), "")}
                for p in photos[offset:offset + count]]
        return Response(200, rows, {"X-Count": str(len(rows)), "X-Limit": str(count)})

    def _batch(self, request: Request, archive: bool) -> Response:
        uids = list((request.json or {}).get("photos") or [])
        if not uids:
            return _error(400, "No items selected")
        with self.lock:
            if archive:
                self.library.archive(uids)
            else:
                self.library.restore(uids)
        message = "Selection archived" if archive else "Selection restored"
        return Response(200, {"code": 200, "message": message})

    # -- albums ----------------------------------------------------------------------------

    def _album_titled(self, title: str) -> AlbumRec:
        album = self.library.album_by_title(title)
        if album is None:
            album = AlbumRec(new_uid("a", self.rng), title, self.user_uid)
            self.library.albums[album.uid] = album
        return album

    def _create_album(self, request: Request) -> Response:
        body = request.json or {}
        title = str(body.get("Title") or "").strip()
        if not title:
            return _error(400, "Title must not be empty")
        with self.lock:
            existing = self.library.album_by_title(title)
            if existing is not None:
                existing.deleted_at = None  # a soft-deleted album is restored
                return Response(200, existing.json())
            album = self._album_titled(title)
            album.favorite = bool(body.get("Favorite"))
            return Response(201, album.json())

    def _album(self, request: Request) -> Response:
        with self.lock:
            album = self.library.albums.get(request.params["uid"])
            return Response(200, album.json()) if album else _error(404, "Album not found")

    def _update_album(self, request: Request) -> Response:
        body = request.json or {}
        with self.lock:
            album = self.library.albums.get(request.params["uid"])
            if album is None:
                return _error(404, "Album not found")
            album.title = str(body.get("Title", album.title))
            album.description = str(body.get("Description", album.description))
            album.favorite = bool(body.get("Favorite", album.favorite))
            return Response(200, album.json())

    def _add_photos(self, request: Request) -> Response:
        uids = list((request.json or {}).get("photos") or [])
        with self.lock:
            album = self.library.albums.get(request.params["uid"])
            if album is None:
                return _error(404, "Album not found")
            if not uids:
                return _error(400, "No items selected")
            added = self.library.add_to_album(album.uid, uids)
            entries = [{"PhotoUID": uid, "AlbumUID": album.uid, "Hidden": False}
                       for uid in added]
            return Response(200, {"code": 200, "message": "Changes successfully saved",
                                  "album": album.json(), "photos": added, "added": entries})


def _discard(files: list[UploadedFile]) -> None:
    for file in files:
        file.path.unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    """Serve until stdin closes, for benchmarks that need the server in another process."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index-delay", type=float, default=0.0)
    args = parser.parse_args(argv)
    fake = FakePhotoPrism(index_delay=args.index_delay)
    print(fake.start(), flush=True)
    try:
        sys.stdin.read()
    finally:
        fake.stop()
    return 0

if __name__ == "__main__":
    sys.exit(main())
