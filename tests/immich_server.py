"""Immich servers for behaviour tests: the fake (v3 and v2 dialects) and, when
IMMICH_URL and IMMICH_API_KEY are set, a real server (see README, "Testing against a real
Immich"). Tests read results back through Immich's public API only, so the same
assertions hold for both; on a real server everything a test created is deleted after it.
"""

from __future__ import annotations

import hashlib
import io
import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from importer.model import (
    MediaFile,
    MediaItem,
    MediaType,
    Metadata,
    PreparedAsset,
    PreparedFile,
)
from tests.exportgen import unique_jpeg
from tests.fakes.immich import FakeImmich

REAL_URL, REAL_KEY = os.environ.get("IMMICH_URL"), os.environ.get("IMMICH_API_KEY")
SERVERS = [
    "fake-v3",
    "fake-v2",
    pytest.param("real", marks=pytest.mark.skipif(
        not (REAL_URL and REAL_KEY), reason="set IMMICH_URL and IMMICH_API_KEY to run "
        "these tests against a real Immich server")),
]


@dataclass
class Server:
    """One Immich to test against, with a small client reading results back."""

    url: str
    key: str
    fake: FakeImmich | None = None
    created_assets: list[str] = field(default_factory=list)
    created_albums: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.client = httpx.Client(base_url=f"{self.url}/api", headers={"x-api-key": self.key},
                                   timeout=60)

    @property
    def v2(self) -> bool:
        return int(self.get("/server/version")["major"]) < 3

    def get(self, path: str, **params: str) -> Any:
        answer = self.client.get(path, params=params)
        answer.raise_for_status()
        return answer.json()

    def send(self, method: str, path: str, body: Any) -> httpx.Response:
        return self.client.request(method, path, json=body)

    def asset(self, asset_id: str, ready: Callable[[dict[str, Any]], bool] | None = None,
              wait: float = 60.0) -> dict[str, Any]:
        """The asset; with `ready`, polled until metadata extraction (a background job on
        a real server) has produced what the test looks for."""
        deadline = time.monotonic() + wait
        while True:
            data: dict[str, Any] = self.get(f"/assets/{asset_id}")
            if ready is None or ready(data) or time.monotonic() > deadline:
                return data
            time.sleep(0.5)

    def album_ids_of(self, asset_id: str) -> set[str]:
        return {a["id"] for a in self.get("/albums", assetId=asset_id)}

    def albums_named(self, name: str) -> list[dict[str, Any]]:
        return [a for a in self.get("/albums") if a["albumName"] == name]

    def checksum_lookup(self, checksums: list[str]) -> dict[str, str]:
        body = {"assets": [{"id": c, "checksum": c} for c in checksums]}
        answer = self.send("POST", "/assets/bulk-upload-check", body)
        answer.raise_for_status()
        return {r["id"]: r["assetId"] for r in answer.json()["results"]
                if r["action"] == "reject"}

    def trash(self, asset_id: str, force: bool = False) -> None:
        self.send("DELETE", "/assets", {"ids": [asset_id], "force": force}).raise_for_status()

    def cleanup(self) -> None:
        if self.created_assets:
            self.send("DELETE", "/assets", {"ids": self.created_assets, "force": True})
        for album_id in self.created_albums:
            self.client.delete(f"/albums/{album_id}")
        self.client.close()


def unique_tag() -> str:
    """Content made unique per test run, so a real server has never seen it."""
    return uuid.uuid4().hex


@pytest.fixture(params=SERVERS, name="server")
def server_fixture(request: pytest.FixtureRequest) -> Iterator[Server]:
    """Import `server_fixture` into a test module to get the `server` fixture."""
    if request.param == "real":
        assert REAL_URL and REAL_KEY
        real = Server(REAL_URL.rstrip("/").removesuffix("/api"), REAL_KEY)
        yield real
        real.cleanup()
        return
    fake = FakeImmich(request.param.removeprefix("fake-"))
    with fake:
        served = Server(fake.url, fake.api_key, fake)
        yield served
        served.client.close()
        assert fake.rejected == [], fake.rejected
        assert fake.violations == [], fake.violations


# -- hand-built prepared assets ---------------------------------------------------------

def prepared(data: bytes, name: str, mime: str, xmp: bytes | None = None) -> PreparedFile:
    sha1 = hashlib.sha1(data).hexdigest()
    return PreparedFile(name, len(data), mime, sha1, sha1, lambda: io.BytesIO(data), xmp)


def fake_video(tag: str, size: int = 4096) -> bytes:
    """MP4-shaped bytes (an `ftyp` box, then filler): Immich types files by extension."""
    body = tag.encode() + bytes(size)
    return b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + body


def asset_of(primary: PreparedFile, metadata: Metadata | None = None,
             live: PreparedFile | None = None,
             carried: frozenset[str] = frozenset()) -> PreparedAsset:
    media = MediaFile(primary.filename, f"test:{primary.filename}", primary.size,
                      MediaType.PHOTO, primary.mime, primary.opener)
    item = MediaItem(media, metadata or Metadata())
    return PreparedAsset(item, f"sha1:{primary.sha1}", primary, live, carried)


def photo(tag: str, name: str = "IMG_0001.jpg", metadata: Metadata | None = None,
          xmp: bytes | None = None, carried: frozenset[str] = frozenset()) -> PreparedAsset:
    return asset_of(prepared(unique_jpeg(tag), name, "image/jpeg", xmp), metadata,
                    carried=carried)
