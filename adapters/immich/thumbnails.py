"""Immich previews: `GET /assets/{id}/thumbnail` (permission `asset.view`), read-only.

Kept apart from the import adapter: the review page needs neither the import's permissions
nor its start-up checks, only the server's version (so a wrong URL is named as such).
"""

from __future__ import annotations

import re

import httpx

from adapters.base import AuthError, GalleryError, ThumbnailMissing
from adapters.http import HttpClient, RetryPolicy, timeouts
from adapters.immich import canonical_url
from adapters.immich.connect import KEY_HELP, read_version
from adapters.immich.wire import message_of

ASSET_ID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                      r"[0-9a-fA-F]{12}")


class ImmichThumbnails:
    def __init__(self, url: str, api_key: str | None, *, size: str = "thumbnail",
                 policy: RetryPolicy | None = None,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.url = canonical_url(url)
        self.size = size
        self.http = HttpClient(f"{self.url}/api", headers={"x-api-key": api_key or ""},
                               timeout=timeouts(read=30.0, write=30.0),
                               policy=policy or RetryPolicy(attempts=3), pool_size=8,
                               transport=transport)
        try:
            read_version(self.http, self.url)
            if not api_key:
                raise AuthError(f"{self.url}: no Immich API key; {KEY_HELP}")
        except BaseException:
            self.http.close()
            raise

    def thumbnail(self, remote_id: str) -> tuple[bytes, str]:
        if not ASSET_ID.fullmatch(remote_id):
            raise ThumbnailMissing(f"{remote_id!r} is not an Immich asset id")
        answer = self.http.request("GET", f"/assets/{remote_id}/thumbnail",
                                   params={"size": self.size})
        status = answer.status_code
        if status == 200:
            mime = answer.headers.get("content-type", "").split(";")[0].strip()
            return answer.content, mime or "application/octet-stream"
        if status in (400, 404):
            raise ThumbnailMissing(f"Immich at {self.url} has no asset {remote_id} "
                                   f"({message_of(answer)})")
        if status == 401:
            raise AuthError(f"Immich at {self.url} rejected the API key; {KEY_HELP}")
        if status == 403:
            raise AuthError(f"Immich at {self.url}: {message_of(answer)}; the review page "
                            "needs the API key permission asset.view")
        raise GalleryError(f"Immich at {self.url} answered HTTP {status} for the preview "
                           f"of {remote_id}")

    def close(self) -> None:
        self.http.close()
