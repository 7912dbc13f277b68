"""Synthetic Google Takeout exports with known truth, for tests and benchmarks.

Each item is a real (tiny) JPEG made unique by a comment segment, with a sidecar written
the way Takeout writes it. The export can be a folder or split across `.zip` parts, with a
sidecar free to land in a different part than its photo, as in real exports.
"""

from __future__ import annotations

import io
import json
import random
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from PIL import Image

PRODUCT = "Takeout/Google Photos"
_TEMPLATE: bytes | None = None


def template_jpeg() -> bytes:
    global _TEMPLATE
    if _TEMPLATE is None:
        out = io.BytesIO()
        Image.new("RGB", (16, 12), (90, 120, 200)).save(out, "JPEG", quality=70)
        _TEMPLATE = out.getvalue()
    return _TEMPLATE


def unique_jpeg(tag: str, pad: int = 0) -> bytes:
    """A valid JPEG whose bytes differ per tag: SOI, COM segment(s), then the template."""
    body = template_jpeg()
    payload = tag.encode("utf-8") + b"\x00" * pad
    segments = b""
    while payload or not segments:
        chunk, payload = payload[:65000], payload[65000:]
        segments += b"\xff\xfe" + (len(chunk) + 2).to_bytes(2, "big") + chunk
    return body[:2] + segments + body[2:]


@dataclass
class TruthItem:
    name: str
    url: str
    taken_at: datetime
    location: tuple[float, float] | None = None
    description: str | None = None
    favorite: bool = False
    archived: bool = False
    albums: list[str] = field(default_factory=list)
    pad: int = 0

    def content(self) -> bytes:
        return unique_jpeg(self.url, self.pad)

    def sidecar(self) -> dict[str, object]:
        stamp = str(int(self.taken_at.timestamp()))
        geo = {"latitude": 0.0, "longitude": 0.0, "altitude": 0.0}
        if self.location:
            geo = {"latitude": self.location[0], "longitude": self.location[1], "altitude": 0.0}
        data: dict[str, object] = {
            "title": self.name,
            "description": self.description or "",
            "imageViews": "1",
            "creationTime": {"timestamp": stamp},
            "photoTakenTime": {"timestamp": stamp},
            "geoData": geo,
            "geoDataExif": geo,
            "url": self.url,
        }
        if self.favorite:
            data["favorited"] = True
        if self.archived:
            data["archived"] = True
        return data


@dataclass
class GeneratedExport:
    sources: list[Path]
    items: list[TruthItem]
    albums: dict[str, list[str]]

    def by_url(self) -> dict[str, TruthItem]:
        return {item.url: item for item in self.items}


def make_items(n: int, seed: int = 0, albums: int = 3, pad: int = 0) -> list[TruthItem]:
    rng = random.Random(seed)
    start = datetime(2012, 1, 1, tzinfo=UTC)
    titles = [f"Album {i} – Ünïcode" for i in range(albums)]
    items = []
    for i in range(n):
        taken = start + timedelta(seconds=rng.randrange(0, 12 * 365 * 86400))
        location = None
        if rng.random() < 0.5:
            location = (round(rng.uniform(-80, 80), 6), round(rng.uniform(-179, 179), 6))
        item = TruthItem(
            name=f"IMG_{i:05d}.jpg",
            url=f"https://photos.google.com/photo/AF1Qip{seed:03d}x{i:06d}",
            taken_at=taken,
            location=location,
            description=f"caption {i} ✓" if rng.random() < 0.3 else None,
            favorite=rng.random() < 0.2,
            archived=rng.random() < 0.1,
            albums=[t for t in titles if rng.random() < 0.25],
            pad=pad,
        )
        items.append(item)
    return items


def files_of(items: list[TruthItem]) -> Iterator[tuple[str, bytes]]:
    """Every file of the export as (path inside the export, bytes)."""
    album_members: dict[str, list[TruthItem]] = {}
    for item in items:
        folder = f"{PRODUCT}/Photos from {item.taken_at.year}"
        yield from _item_files(folder, item)
        for title in item.albums:
            album_members.setdefault(title, []).append(item)
    for index, (title, members) in enumerate(sorted(album_members.items())):
        folder = f"{PRODUCT}/{title}"
        meta = {"title": title, "description": f"about {title}", "access": "protected"}
        if index % 2:
            meta = {"albumData": meta}
        yield f"{folder}/metadata.json", json.dumps(meta).encode()
        for item in members:
            yield from _item_files(folder, item)


def _item_files(folder: str, item: TruthItem) -> Iterator[tuple[str, bytes]]:
    yield f"{folder}/{item.name}", item.content()
    name = f"{item.name}.supplemental-metadata.json"
    if len(name) > 51:
        name = name[:46] + ".json"
    yield f"{folder}/{name}", json.dumps(item.sidecar(), ensure_ascii=False).encode()


def write_folder(dest: Path, items: list[TruthItem]) -> GeneratedExport:
    for path, data in files_of(items):
        target = dest / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return GeneratedExport([dest], items, _albums(items))


def write_zip_parts(dest: Path, items: list[TruthItem], parts: int = 3,
                    seed: int = 0) -> GeneratedExport:
    """Files spread over `parts` zips at random: a sidecar often lands apart from its photo."""
    rng = random.Random(seed)
    dest.mkdir(parents=True, exist_ok=True)
    paths = [dest / f"takeout-20240525T201456Z-{i + 1:03d}.zip" for i in range(parts)]
    zips = [zipfile.ZipFile(p, "w", zipfile.ZIP_STORED) for p in paths]
    try:
        for path, data in files_of(items):
            zips[rng.randrange(parts)].writestr(path, data)
    finally:
        for z in zips:
            z.close()
    return GeneratedExport(paths, items, _albums(items))


def _albums(items: list[TruthItem]) -> dict[str, list[str]]:
    albums: dict[str, list[str]] = {}
    for item in items:
        for title in item.albums:
            albums.setdefault(title, []).append(item.url)
    return albums
