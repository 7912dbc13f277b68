"""PhotoPrism previews: `GET /api/v1/t/{file hash}/{preview token}/tile_224`, read-only.

The preview token is not the session's access token: the client config (`GET /config`, or
the session's `config`) names it, and PhotoPrism answers a wrong one with 403 and an SVG.
A photo UID is turned into its primary file's hash first; a hash is used as it is.
"""

from __future__ import annotations

import re
from typing import Any

import httpx

from adapters.base import GalleryError, TargetUnavailable, ThumbnailMissing
from adapters.http import RetryPolicy
from adapters.photoprism.client import Credentials, PhotoPrismClient

SHA1 = re.compile(r"[0-9a-f]{40}")
PHOTO_UID = re.compile(r"[0-9a-z]{16}")
SIZE = "tile_224"


class PhotoPrismThumbnails:
    def __init__(self, url: str, credentials: Credentials, *,
                 policy: RetryPolicy | None = None,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.client = PhotoPrismClient(url, credentials, policy=policy or RetryPolicy(
            attempts=3), transport=transport)
        try:
            self.client.connect()
            self._token = self._preview_token()
        except BaseException:
            self.client.close()
            raise
        self._hashes: dict[str, str] = {}

    def _preview_token(self) -> str:
        for path in ("/config", "/session"):
            answer = self.client.call("GET", path)
            body = _json(answer)
            config = body.get("config", body) if path == "/session" else body
            token = config.get("previewToken") if isinstance(config, dict) else None
            if answer.status_code == 200 and isinstance(token, str) and token:
                return token
        raise TargetUnavailable(f"{self.client.url}: PhotoPrism named no preview token")

    def thumbnail(self, remote_id: str) -> tuple[bytes, str]:
        file_hash = remote_id if SHA1.fullmatch(remote_id) else self._hash_of(remote_id)
        answer = self._get(file_hash)
        if answer.status_code == 403:  # the token changed (new session): ask once more
            self._token = self._preview_token()
            answer = self._get(file_hash)
        mime = answer.headers.get("content-type", "").split(";")[0].strip()
        if answer.status_code == 200 and mime.startswith("image/"):
            return answer.content, mime
        raise GalleryError(f"PhotoPrism at {self.client.url} answered HTTP "
                           f"{answer.status_code} for the preview of {remote_id}")

    def _get(self, file_hash: str) -> httpx.Response:
        return self.client.http.request("GET", f"/t/{file_hash}/{self._token}/{SIZE}")

    def _hash_of(self, uid: str) -> str:
        if not PHOTO_UID.fullmatch(uid):
            raise ThumbnailMissing(f"{uid!r} is not a PhotoPrism photo UID or file hash")
        if uid not in self._hashes:
            answer = self.client.call("GET", f"/photos/{uid}")
            if answer.status_code == 404:
                raise ThumbnailMissing(f"PhotoPrism has no photo {uid}")
            if answer.status_code != 200:
                raise GalleryError(f"PhotoPrism answered HTTP {answer.status_code} for "
                                   f"photo {uid}")
            self._hashes[uid] = _primary_hash(_json(answer), uid)
        return self._hashes[uid]

    def close(self) -> None:
        self.client.close()


def _json(answer: httpx.Response) -> dict[str, Any]:
    try:
        body = answer.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _primary_hash(photo: dict[str, Any], uid: str) -> str:
    files = photo.get("Files") or photo.get("files") or []
    media = [f for f in files if isinstance(f, dict) and not f.get("Sidecar")
             and isinstance(f.get("Hash"), str)]
    media.sort(key=lambda f: not f.get("Primary"))
    if not media:
        raise ThumbnailMissing(f"PhotoPrism photo {uid} has no media file")
    return str(media[0]["Hash"])
