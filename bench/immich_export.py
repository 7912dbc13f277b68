"""Takeout-shaped exports for the Immich benchmark: ~1 MB photos and 30+ MB videos, each
with its sidecar, some in albums, spread over stored (uncompressed) zip parts like real
Takeout parts; and a single huge video for the memory measurement. Files are written in
chunks, so a multi-GB member never sits in memory here either."""

from __future__ import annotations

import json
import random
import zipfile
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.exportgen import PRODUCT, TruthItem, unique_jpeg

CHUNK = 1 << 20


@dataclass(frozen=True)
class Media:
    """One media member of the export, for the reference clients to send."""

    part: Path
    member: str
    name: str
    size: int
    mime: str
    albums: tuple[str, ...] = ()


@dataclass
class MixedExport:
    parts: list[Path]
    media: list[Media]

    @property
    def total_bytes(self) -> int:
        return sum(m.size for m in self.media)

    def save(self, path: Path) -> None:
        """A manifest the reference clients (another process) read the export from."""
        media = [{**asdict(m), "part": str(m.part), "albums": list(m.albums)}
                 for m in self.media]
        path.write_text(json.dumps({"parts": [str(p) for p in self.parts], "media": media}))

    @classmethod
    def load(cls, path: Path) -> MixedExport:
        data = json.loads(path.read_text())
        media = [Media(**{**m, "part": Path(m["part"]), "albums": tuple(m["albums"])})
                 for m in data["media"]]
        return cls([Path(p) for p in data["parts"]], media)


def _write_video(archive: zipfile.ZipFile, member: str, tag: str, size: int,
                 filler: bytes) -> None:
    """MP4-shaped bytes (an `ftyp` box, a unique tag, then filler), streamed in."""
    head = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + tag.encode()
    with archive.open(member, "w", force_zip64=size > 2**31 - 2**20) as out:
        out.write(head)
        left = size - len(head)
        while left > 0:
            piece = filler[:min(left, len(filler))]
            out.write(piece)
            left -= len(piece)


def _truth(i: int, name: str, rng: random.Random, titles: list[str]) -> TruthItem:
    start = datetime(2015, 1, 1, tzinfo=UTC)
    return TruthItem(
        name=name, url=f"https://photos.google.com/photo/BENCH{rng.random():.12f}x{i:06d}",
        taken_at=start + timedelta(seconds=rng.randrange(0, 8 * 365 * 86400)),
        location=(round(rng.uniform(-60, 60), 6), round(rng.uniform(-170, 170), 6))
        if rng.random() < 0.5 else None,
        description=f"caption {i}" if rng.random() < 0.3 else None,
        favorite=rng.random() < 0.2, archived=rng.random() < 0.1,
        albums=[t for t in titles if rng.random() < 0.2])


def write_mixed_export(dest: Path, photos: int, videos: int, photo_mb: float = 1.0,
                       video_mb: float = 35.0, parts: int = 2, seed: int = 0) -> MixedExport:
    rng = random.Random(seed)
    dest.mkdir(parents=True, exist_ok=True)
    paths = [dest / f"takeout-bench-{i + 1:03d}.zip" for i in range(parts)]
    archives = [zipfile.ZipFile(p, "w", zipfile.ZIP_STORED, allowZip64=True) for p in paths]
    filler = rng.randbytes(CHUNK)
    titles = ["Holidays", "Family", "Best of"]
    media: list[Media] = []
    try:
        for i in range(photos + videos):
            video = i >= photos
            name = f"VID_{i:05d}.mp4" if video else f"IMG_{i:05d}.jpg"
            item = _truth(i, name, rng, titles)
            index = i % parts
            folder = f"{PRODUCT}/Photos from {item.taken_at.year}"
            member = f"{folder}/{name}"
            if video:
                size = int(video_mb * (1 << 20))
                _write_video(archives[index], member, item.url, size, filler)
            else:
                data = unique_jpeg(item.url, pad=int(photo_mb * (1 << 20)))
                archives[index].writestr(member, data)
                size = len(data)
            media.append(Media(paths[index], member, name, size,
                               "video/mp4" if video else "image/jpeg",
                               () if video else tuple(item.albums)))
            sidecar = json.dumps(item.sidecar()).encode()
            archives[index].writestr(f"{member}.supplemental-metadata.json", sidecar)
            for title in [] if video else item.albums:  # album folders hold copies
                copy = f"{PRODUCT}/{title}/{name}"
                archives[index].writestr(copy, data)
                archives[index].writestr(f"{copy}.supplemental-metadata.json", sidecar)
        for title in titles:
            meta = {"title": title, "description": f"about {title}"}
            archives[0].writestr(f"{PRODUCT}/{title}/metadata.json", json.dumps(meta))
    finally:
        for archive in archives:
            archive.close()
    return MixedExport(paths, media)


def write_big_video_export(dest: Path, size_mb: int) -> MixedExport:
    return write_mixed_export(dest, photos=0, videos=1, video_mb=size_mb, parts=1, seed=1)
