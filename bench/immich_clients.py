"""The reference clients the Immich benchmark races our importer against, each run as its
own process like a real command (start-up included):

    python bench/immich_clients.py raw|wire|cli MANIFEST URL KEY WORKERS

- `raw`: the raw baseline of issue 14. One multipart POST per media member, fields first,
  no checksum header, no hashing, nothing else (no albums, no favorites).
- `wire`: the same POST in the shape our importer sent before issue 14 (file part first,
  `x-immich-checksum` header; checksums precomputed, as in the issue's measurement). It
  checks the cost model's calibration against the issue's second row.
- `cli`: the wire pattern of @immich/cli 2.x/3.x `upload --album` (cli/src/commands/
  asset.ts), reimplemented: hash every file (WORKERS at a time), then
  `bulk-upload-check` in batches of 5000, then upload the accepted files (fields first,
  no header), then list all albums, create the missing ones and add the assets in chunks
  of 1000. Like the real CLI it sets no favorites, archive or dates.

Every client reads the members from the zip parts in place, as the importer does. Prints
one JSON line: {"uploaded": n, "requests": n}.
"""

from __future__ import annotations

import hashlib
import json
import sys
import threading
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO, Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx

from adapters.immich.multipart import FilePart, MultipartBody, Part, TextPart
from bench.immich_export import Media, MixedExport

STAMP = "2020-01-01T00:00:00.000Z"
CHECK_BATCH = 5000
ALBUM_CHUNK = 1000


class ZipOpeners:
    """One open ZipFile per part per thread (as the importer reads parts in place)."""

    def __init__(self) -> None:
        self._local = threading.local()

    def opener(self, media: Media) -> Callable[[], IO[bytes]]:
        def open_member() -> IO[bytes]:
            archives: dict[Path, zipfile.ZipFile] = self._local.__dict__.setdefault("zips", {})
            if media.part not in archives:
                archives[media.part] = zipfile.ZipFile(media.part)
            return archives[media.part].open(media.member)

        return open_member


class Client:
    def __init__(self, url: str, key: str, workers: int) -> None:
        limits = httpx.Limits(max_connections=workers + 1, max_keepalive_connections=workers + 1)
        self.http = httpx.Client(base_url=f"{url}/api", headers={"x-api-key": key},
                                 limits=limits, timeout=600,
                                 transport=httpx.HTTPTransport(verify=False, limits=limits))
        self.workers = workers
        self.zips = ZipOpeners()
        self.requests = 0
        self._lock = threading.Lock()

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        with self._lock:
            self.requests += 1
        answer = self.http.request(method, path, **kwargs)
        if answer.status_code >= 300:
            raise SystemExit(f"{method} {path}: HTTP {answer.status_code} {answer.text[:200]}")
        return answer

    def post_asset(self, media: Media, parts: list[Part],
                   headers: dict[str, str] | None = None) -> str:
        body = MultipartBody(parts)
        answer = self.call("POST", "/assets", content=iter(body),
                           headers={**body.headers(), **(headers or {})})
        return str(answer.json()["id"])

    def file_part(self, media: Media) -> FilePart:
        return FilePart("assetData", media.name, media.mime, media.size,
                        self.zips.opener(media))

    def each(self, work: Callable[[Media], Any], media: list[Media]) -> list[Any]:
        with ThreadPoolExecutor(self.workers) as pool:
            return list(pool.map(work, media))


def raw(client: Client, export: MixedExport, _: dict[str, str]) -> int:
    def send(media: Media) -> str:
        fields = [TextPart("fileCreatedAt", STAMP), TextPart("fileModifiedAt", STAMP),
                  TextPart("filename", media.name)]
        return client.post_asset(media, [*fields, client.file_part(media)])

    return len(client.each(send, export.media))


def wire(client: Client, export: MixedExport, sha1: dict[str, str]) -> int:
    def send(media: Media) -> str:
        fields = [TextPart("fileCreatedAt", STAMP), TextPart("fileModifiedAt", STAMP),
                  TextPart("filename", media.name)]
        return client.post_asset(media, [client.file_part(media), *fields],
                                 {"x-immich-checksum": sha1[media.member]})

    return len(client.each(send, export.media))


def cli(client: Client, export: MixedExport, _: dict[str, str]) -> int:
    def hash_one(media: Media) -> str:
        digest = hashlib.sha1(usedforsecurity=False)
        with client.zips.opener(media)() as stream:
            while chunk := stream.read(1 << 20):
                digest.update(chunk)
        return digest.hexdigest()

    checksums = client.each(hash_one, export.media)
    new: list[Media] = []
    ids: dict[str, str] = {}
    for start in range(0, len(export.media), CHECK_BATCH):
        batch = list(zip(export.media[start:start + CHECK_BATCH],
                         checksums[start:start + CHECK_BATCH], strict=True))
        body = {"assets": [{"id": m.member, "checksum": c} for m, c in batch]}
        results = client.call("POST", "/assets/bulk-upload-check", json=body).json()["results"]
        by_member = {m.member: m for m, _ in batch}
        for result in results:
            if result["action"] == "accept":
                new.append(by_member[result["id"]])
            else:
                ids[result["id"]] = result["assetId"]

    def send(media: Media) -> str:
        fields = [TextPart("deviceAssetId", f"{media.name}-{media.size}"),
                  TextPart("deviceId", "CLI"), TextPart("fileCreatedAt", STAMP),
                  TextPart("fileModifiedAt", STAMP), TextPart("isFavorite", "false")]
        return client.post_asset(media, [*fields, client.file_part(media)])

    ids.update(zip((m.member for m in new), client.each(send, new), strict=True))
    add_to_albums(client, export.media, ids)
    return len(new)


def add_to_albums(client: Client, media: list[Media], ids: dict[str, str]) -> None:
    members: dict[str, list[str]] = {}
    for item in media:
        for title in item.albums:
            members.setdefault(title, []).append(ids[item.member])
    existing = {a["albumName"]: a["id"] for a in client.call("GET", "/albums").json()}
    for title, assets in members.items():
        album_id = existing.get(title)
        if album_id is None:
            album_id = client.call("POST", "/albums", json={"albumName": title}).json()["id"]
        for start in range(0, len(assets), ALBUM_CHUNK):
            client.call("PUT", f"/albums/{album_id}/assets",
                        json={"ids": assets[start:start + ALBUM_CHUNK]})


CLIENTS = {"raw": raw, "wire": wire, "cli": cli}


def main() -> None:
    kind, manifest, url, key, workers = sys.argv[1:6]
    export = MixedExport.load(Path(manifest))
    sha1 = json.loads(Path(manifest).with_suffix(".sha1.json").read_text()) \
        if kind == "wire" else {}
    client = Client(url, key, int(workers))
    try:
        uploaded = CLIENTS[kind](client, export, sha1)
    finally:
        client.http.close()
    print(json.dumps({"uploaded": uploaded, "requests": client.requests}), flush=True)


if __name__ == "__main__":
    main()
