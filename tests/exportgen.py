"""Synthetic Google Takeout exports with known truth, for tests and benchmarks.

Each item is a real (tiny) JPEG (or a minimal MP4) made unique by its tag, with a sidecar
written the way Takeout writes it: both namings, the 51-character cap (`sidecar_name`),
`(n)` counters moved behind the suffix. `make_quirky_items` adds what real exports do:
edited copies with localized suffixes, live photos (iPhone and Pixel), items without a
sidecar dated by their name, `photoTakenTime` "0", NFD names, a `.heic` holding JPEG
bytes, Archive / Trash / Failed Videos folders, partner-shared items, damaged sidecars,
untitled albums and album JSON in both forms. The export can be a folder or split across
`.zip` and `.tgz` parts, a sidecar free to land in another part than its photo.
"""

from __future__ import annotations

import io
import json
import random
import tarfile
import unicodedata
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from PIL import Image

PRODUCT = "Takeout/Google Photos"
MAX_JSON_NAME = 51
_TEMPLATE: bytes | None = None
SPECIAL_FOLDERS = {"year": "", "archive": "Archive", "trash": "Trash",
                   "failed": "Failed Videos"}
EDITED_SUFFIXES = ("-edited", "-modifié", "-bearbeitet", "-編集済み", "-ha editado",
                   "-bewerkt", "-edytowane", "-modificato")


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


def unique_mp4(tag: str, brand: bytes = b"isom") -> bytes:
    """A minimal ISO-BMFF file (ftyp + mdat) whose bytes differ per tag."""
    ftyp = b"\x00\x00\x00\x18ftyp" + brand + b"\x00\x00\x02\x00" + brand + b"mp41"
    payload = tag.encode("utf-8")
    return ftyp + (len(payload) + 8).to_bytes(4, "big") + b"mdat" + payload


def sidecar_name(media_name: str, naming: str = "supplemental") -> str:
    """The JSON name Takeout writes for `media_name`: the counter moves behind the suffix
    and the whole name is cut to 51 characters (cutting the suffix or the media name)."""
    dot = media_name.rfind(".")
    stem, ext = (media_name[:dot], media_name[dot:]) if dot > 0 else (media_name, "")
    counter = ""
    if stem.endswith(")") and "(" in stem:
        head, _, number = stem[:-1].rpartition("(")
        if number.isdigit():
            stem, counter = head, f"({number})"
    base = {"supplemental": stem + ext + ".supplemental-metadata", "legacy": stem + ext,
            "bare": stem + ".supplemental-metadata"}[naming]
    return base[: MAX_JSON_NAME - len(".json") - len(counter)] + counter + ".json"


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
    # Quirks; the defaults make a plain item.
    naming: str = "supplemental"
    has_sidecar: bool = True
    damaged_sidecar: bool = False
    taken_zero: bool = False
    trashed: bool = False
    partner: bool = False
    folder: str = "year"
    edited: str | None = None
    live: str | None = None
    nfd: bool = False
    title: str | None = None
    video: bool = False

    def content(self) -> bytes:
        return unique_mp4(self.url) if self.video else unique_jpeg(self.url, self.pad)

    @property
    def sidecar_used(self) -> bool:
        return self.has_sidecar and not self.damaged_sidecar

    @property
    def google_url(self) -> str | None:
        return self.url if self.sidecar_used else None

    @property
    def expected_taken_at(self) -> datetime | None:
        if self.sidecar_used and not self.taken_zero:
            return self.taken_at
        from importer.sources.dates import filename_date

        return filename_date(self.name, self.title if self.sidecar_used else None)

    @property
    def expected_archived(self) -> bool:
        return self.folder == "archive" or (self.sidecar_used and self.archived)

    @property
    def edited_name(self) -> str | None:
        if self.edited is None:
            return None
        dot = self.name.rfind(".")
        return self.name[:dot] + self.edited + self.name[dot:]

    def live_name(self) -> str | None:
        if self.live is None:
            return None
        stem = self.name[: self.name.rfind(".")]
        return stem if self.live == "pixel" else stem + self.live

    def sidecar(self) -> dict[str, object]:
        stamp = str(int(self.taken_at.timestamp()))
        geo = {"latitude": 0.0, "longitude": 0.0, "altitude": 0.0}
        if self.location:
            geo = {"latitude": self.location[0], "longitude": self.location[1], "altitude": 0.0}
        data: dict[str, object] = {
            "title": self.title or self.name,
            "description": self.description or "",
            "imageViews": "1",
            "creationTime": {"timestamp": stamp},
            "photoTakenTime": {"timestamp": "0" if self.taken_zero else stamp},
            "geoData": geo,
            "geoDataExif": geo,
            "url": self.url,
        }
        if self.favorite:
            data["favorited"] = True
        if self.archived:
            data["archived"] = True
        if self.trashed:
            data["trashed"] = True
        origin = "fromPartnerSharing" if self.partner else "mobileUpload"
        data["googlePhotosOrigin"] = {origin: {}}
        return data

    def files(self, folder: str) -> Iterator[tuple[str, bytes]]:
        """The item's files in one folder: media (NFD when asked), sidecar, edited copy,
        motion half."""
        media = unicodedata.normalize("NFD", self.name) if self.nfd else self.name
        yield f"{folder}/{media}", self.content()
        if self.has_sidecar:
            body = b'{"title": "' if self.damaged_sidecar else json.dumps(
                self.sidecar(), ensure_ascii=False).encode()
            yield f"{folder}/{sidecar_name(self.name, self.naming)}", body
        if self.edited_name:
            yield f"{folder}/{self.edited_name}", unique_jpeg(self.url + "#edited", self.pad)
        live = self.live_name()
        if live is not None:
            brand = b"qt  " if live.endswith(".MOV") else b"isom"
            yield f"{folder}/{live}", unique_mp4(self.url + "#motion", brand)


@dataclass(frozen=True)
class AlbumSpec:
    title: str
    """What the user sees, and what an import must show (untitled: the folder name)."""
    folder: str
    json_title: str
    wrapped: bool = False
    json_name: str = "metadata.json"


QUIRKY_ALBUMS = (
    AlbumSpec("Trip to Lisbon", "Trip to Lisbon", "Trip to Lisbon"),
    AlbumSpec("Família 🎉", "Família", "Família 🎉", wrapped=True, json_name="métadonnées.json"),
    AlbumSpec("Paris / London", "Paris _ London", "Paris / London", json_name="metadati.json"),
    AlbumSpec("Untitled(1)", "Untitled(1)", "", json_name="Metadaten.json"),
    AlbumSpec("Sans titre(2)", "Sans titre(2)", "", wrapped=True),
)
_SPECS = {spec.title: spec for spec in QUIRKY_ALBUMS}


def album_spec(title: str, index: int) -> AlbumSpec:
    return _SPECS.get(title) or AlbumSpec(title, title, title, wrapped=bool(index % 2))


@dataclass
class GeneratedExport:
    sources: list[Path]
    items: list[TruthItem]
    albums: dict[str, list[str]]
    files: list[str] = field(default_factory=list)
    """Every path of the export (as written, NFD where asked)."""
    extras: dict[str, str] = field(default_factory=dict)
    """Path -> outcome the report must give for the files that are not items."""

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


def items_in_albums(n: int, albums: dict[str, range], seed: int = 0) -> list[TruthItem]:
    """`n` items in exactly the albums given (title -> indexes of its members)."""
    items = make_items(n, seed=seed, albums=0)
    for title, members in albums.items():
        for i in members:
            items[i].albums.append(title)
    return items


def files_of(items: list[TruthItem]) -> Iterator[tuple[str, bytes]]:
    """Every file of the export as (path inside the export, bytes)."""
    album_members: dict[str, list[TruthItem]] = {}
    for item in items:
        special = SPECIAL_FOLDERS[item.folder]
        folder = f"{PRODUCT}/{special or f'Photos from {item.taken_at.year}'}"
        yield from item.files(folder)
        for title in item.albums:
            album_members.setdefault(title, []).append(item)
    for index, (title, members) in enumerate(sorted(album_members.items())):
        spec = album_spec(title, index)
        folder = f"{PRODUCT}/{spec.folder}"
        meta: dict[str, object] = {"title": spec.json_title, "description": f"about {title}",
                                   "access": "protected",
                                   "date": {"timestamp": str(1565000000 + 3600 * index)}}
        if spec.wrapped:
            meta = {"albumData": meta}
        yield f"{folder}/{spec.json_name}", json.dumps(meta, ensure_ascii=False).encode()
        for item in members:
            yield from item.files(folder)


def make_quirky_items(n: int, seed: int = 0) -> list[TruthItem]:
    """`n`+ items cycling through every quirk, with random captions, places, favorites and
    albums (titled, emoji, '/', untitled, both JSON forms)."""
    rng = random.Random(seed)
    items: list[TruthItem] = []
    for i in range(n):
        quirk = QUIRKS[i % len(QUIRKS)]
        taken = datetime(2014, 1, 1, tzinfo=UTC) + timedelta(
            seconds=rng.randrange(0, 9 * 365 * 86400))
        if taken.month == 12:  # keep a counter twin (an hour later) in the same year folder
            taken -= timedelta(days=31)
        item = TruthItem(name=f"IMG_{i:05d}.jpg",
                         url=f"https://photos.google.com/photo/AF1QipQ{seed:03d}x{i:06d}",
                         taken_at=taken)
        _apply_quirk(item, quirk, i, rng)
        if rng.random() < 0.5:
            item.location = (round(rng.uniform(-80, 80), 6), round(rng.uniform(-179, 179), 6))
        item.description = f"caption {i} ✓" if rng.random() < 0.3 else None
        item.favorite = item.favorite or rng.random() < 0.2
        if item.folder in ("year", "archive") and not item.video:
            item.albums = [a.title for a in QUIRKY_ALBUMS if rng.random() < 0.2]
        items.append(item)
        if quirk == "counter":  # its namesake: IMG(1).jpg <-> IMG.jpg.supplemental-metadata(1)
            twin = TruthItem(name=item.name.replace(".jpg", "(1).jpg"), url=item.url + "-1",
                             taken_at=item.taken_at + timedelta(hours=1), favorite=True)
            items.append(twin)
    return items


QUIRKS = ("plain", "legacy", "bare", "long", "long-counter", "counter", "edited", "live",
          "pixel", "no-sidecar", "screenshot", "zero-time", "nfd", "heic-jpeg", "archive",
          "trash", "partner", "failed-video", "damaged-json", "slash-title")


def _apply_quirk(item: TruthItem, quirk: str, i: int, rng: random.Random) -> None:
    def dated(pattern: str) -> str:
        return item.taken_at.strftime(pattern)

    match quirk:
        case "legacy" | "bare":
            item.naming = quirk
        case "long":  # the JSON name is cut inside the suffix or the media name
            item.name = f"Screenshot_{i:05d}_" + "Facebook" * rng.randrange(2, 6) + ".jpg"
        case "long-counter":  # 13039_…_n(1).jpg <-> 13039_…_n.j(1).json
            item.name = f"13039_{i:07d}_{'1000005946584190':0<25}_n(1).jpg"
        case "edited":
            item.edited = EDITED_SUFFIXES[i % len(EDITED_SUFFIXES)]
        case "live":
            item.name, item.live = f"IMG_{i:05d}.JPG", (".MOV", ".MP4")[i % 2]
        case "pixel":
            item.name, item.live = dated(f"PXL_%Y%m%d_%H%M%S{i % 1000:03d}.MP.jpg"), "pixel"
        case "no-sidecar":
            item.name, item.has_sidecar = dated(f"IMG_%Y%m%d_%H%M%S_{i}.jpg"), False
        case "screenshot":
            item.name = dated(f"Screenshot_%Y-%m-%d-%H-%M-%S-{i % 1000:03d}_com.app.jpg")
            item.has_sidecar = False
        case "zero-time":
            item.name = dated(f"PXL_%Y%m%d_%H%M%S{i % 1000:03d}.jpg")
            item.taken_zero = True
        case "nfd":
            item.name, item.nfd = f"Café Crème {i:05d}.jpg", True
        case "heic-jpeg":
            item.name = f"IMG_{i:05d}.HEIC"
        case "archive":
            item.folder, item.archived = "archive", True
        case "trash":
            item.folder, item.trashed = "trash", True
        case "partner":
            item.partner = True
        case "failed-video":
            item.name, item.video, item.folder = f"VID_{i:05d}.mp4", True, "failed"
        case "damaged-json":
            item.damaged_sidecar = True
        case "slash-title":
            item.title = f"Paris/London {i}.jpg"


def extra_files() -> Iterator[tuple[str, bytes, str]]:
    """Files that are no items, with the outcome the report must give them."""
    year = f"{PRODUCT}/Photos from 2020"
    yield f"{PRODUCT}/archive_browser.html", b"<html></html>", "skipped"
    yield f"{PRODUCT}/print-subscriptions.json", b'{"externalOrderId": "1"}', "unmatched json"
    orphan = json.dumps({"title": "gone.jpg", "photoTakenTime": {"timestamp": "1"}})
    yield f"{year}/ORPHAN_1.jpg.supplemental-metadata.json", orphan.encode(), "unmatched json"
    yield f"{year}/EMPTY_1.jpg", b"", "unreadable"
    yield f"{year}/{sidecar_name('EMPTY_1.jpg')}", orphan.encode(), ""


def _all_files(items: list[TruthItem], extras: bool) -> tuple[list[tuple[str, bytes]],
                                                             dict[str, str]]:
    files = list(files_of(items))
    expected: dict[str, str] = {}
    if extras:
        for path, data, outcome in extra_files():
            files.append((path, data))
            expected[path] = outcome
    return files, expected


def write_folder(dest: Path, items: list[TruthItem], *, extras: bool = False) -> GeneratedExport:
    files, expected = _all_files(items, extras)
    for path, data in files:
        target = dest / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return GeneratedExport([dest], items, _albums(items), [p for p, _ in files], expected)


def write_zip_parts(dest: Path, items: list[TruthItem], parts: int = 3,
                    seed: int = 0) -> GeneratedExport:
    """Files spread over `parts` zips at random: a sidecar often lands apart from its photo."""
    return write_parts(dest, items, "zip", parts, seed)


def write_parts(dest: Path, items: list[TruthItem], fmt: str = "zip", parts: int = 3,
                seed: int = 0, *, extras: bool = False) -> GeneratedExport:
    """`fmt`: "zip", "tgz", or "mixed" (zip and tgz parts alternating)."""
    rng = random.Random(seed)
    dest.mkdir(parents=True, exist_ok=True)
    files, expected = _all_files(items, extras)
    kinds = [fmt if fmt != "mixed" else ("zip", "tgz")[i % 2] for i in range(parts)]
    paths = [dest / f"takeout-20240525T201456Z-{i + 1:03d}.{kind}"
             for i, kind in enumerate(kinds)]
    writers = [_PartWriter(path, kind) for path, kind in zip(paths, kinds, strict=True)]
    try:
        for path, data in files:
            writers[rng.randrange(parts)].add(path, data)
    finally:
        for writer in writers:
            writer.close()
    return GeneratedExport(paths, items, _albums(items), [p for p, _ in files], expected)


class _PartWriter:
    def __init__(self, path: Path, kind: str) -> None:
        self.zip = zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) if kind == "zip" else None
        self.tar = tarfile.open(path, "w:gz") if kind == "tgz" else None  # noqa: SIM115

    def add(self, path: str, data: bytes) -> None:
        if self.zip is not None:
            self.zip.writestr(path, data)
        elif self.tar is not None:
            info = tarfile.TarInfo(path)
            info.size = len(data)
            info.mtime = 1716668096  # the export time: never a capture time
            self.tar.addfile(info, io.BytesIO(data))

    def close(self) -> None:
        if self.zip is not None:
            self.zip.close()
        if self.tar is not None:
            self.tar.close()


def _albums(items: list[TruthItem]) -> dict[str, list[str]]:
    albums: dict[str, list[str]] = {}
    for item in items:
        for title in item.albums:
            albums.setdefault(title, []).append(item.url)
    return albums
