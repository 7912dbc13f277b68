"""The folder library checks itself against the state, and mends what is only partly there.

Run at the start of every import (`FolderTarget.repair`), with what the state says each
item is: a stat per file, dictionary look-ups, one listing per album folder, so it costs
little even for a large library. It writes again what can be derived without the export:
a lost or damaged `library.jsonl` entry (from the state, the file's own metadata and its
XMP sidecar), a missing sidecar (from the entry), a missing album link or album folder. A
file that is gone is reported, so the state marks it and the next import of an export that
holds it stores it again; a file that moved (a killed run rewrote it or gave it a new date
folder before the state learned) is reported with where it is now.

`check` is `verify`'s per-item test: the bytes, and that the entry and the sidecar agree.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from adapters.base import GalleryError, Repairs, Rewritten, StoredItem, VerifyStatus
from adapters.folder.files import DISK_FULL, sha1_of, xmp_of
from adapters.folder.index import metadata_of, values_of
from adapters.folder.rewrite import MAX_REWRITE
from importer.metadata import xmp
from importer.metadata.convert import clean_text
from importer.metadata.probe import probe_image
from importer.model import GeoPoint, MediaType, Metadata
from importer.sources import mediatypes

if TYPE_CHECKING:
    from adapters.folder.target import FolderTarget

_SAME_PLACE = 1e-6  # degrees, well under the 8 decimals of XMP's minutes


# -- verify ----------------------------------------------------------------------------------


def check(lib: FolderTarget, remote_id: str, sha1: str) -> VerifyStatus:
    path = lib.root / remote_id
    if not path.is_file():
        return VerifyStatus.MISSING
    if sha1_of(path) != sha1:
        return VerifyStatus.MISMATCH
    owner = lib.index.owner_of_video(remote_id)
    entry = lib.index.get(owner or remote_id)
    if entry is None or (owner is None and entry.get("sha1") != sha1):
        return VerifyStatus.INCOMPLETE
    flag = "live_video_xmp" if owner else "xmp"
    if entry.get(flag) and not sidecar_agrees(lib, remote_id, entry):
        return VerifyStatus.INCOMPLETE
    return VerifyStatus.OK


def sidecar_agrees(lib: FolderTarget, rel: str, entry: dict[str, Any]) -> bool:
    """The sidecar exists and carries the entry's values."""
    try:
        found = xmp.read_sidecar((lib.root / xmp_of(rel)).read_bytes())
    except OSError:
        return False
    if found is None:
        return False
    wanted = metadata_of(entry)
    return (_same_time(found.taken_at, wanted.taken_at)
            and _same_place(found.location, wanted.location)
            and (found.description or "") == clean_text(wanted.description or "")
            and found.favorite == wanted.favorite)


def _same_time(a: datetime | None, b: datetime | None) -> bool:
    if a is None or b is None:
        return a is b
    return a == b and a.utcoffset() == b.utcoffset()


def _same_place(a: GeoPoint | None, b: GeoPoint | None) -> bool:
    if a is None or b is None:
        return a is b
    return (abs(a.latitude - b.latitude) < _SAME_PLACE
            and abs(a.longitude - b.longitude) < _SAME_PLACE)


# -- repair ----------------------------------------------------------------------------------


def reconcile(lib: FolderTarget, items: Iterable[StoredItem]) -> Repairs:
    repairs = Repairs()
    stored = list(items)
    shared = Counter(item.remote_id for item in stored)
    for item in stored:
        try:
            _reconcile_one(lib, item, repairs, shared[item.remote_id] == 1)
        except OSError as exc:
            if exc.errno in DISK_FULL:
                raise
            repairs.mended.append(f"{item.remote_id}: not checked ({exc.strerror or exc})")
        except GalleryError as exc:
            repairs.mended.append(f"{item.remote_id}: not checked ({exc})")
    return repairs


def _reconcile_one(lib: FolderTarget, item: StoredItem, repairs: Repairs, sole: bool) -> None:
    """`sole`: the only item the state has at this path (identical bytes of two Google
    items are stored once; their flags may differ, so neither corrects the entry)."""
    rel = item.remote_id
    if not os.path.isfile(os.path.join(lib.root, rel)):  # os.path: a stat per item, no more
        _lost(lib, item, repairs)
        return
    if _finish_move(lib, item, repairs):
        return
    entry = lib.index.get(rel)
    if entry is None:
        entry = _rebuilt(lib, item)
        lib.index.put(entry)
        repairs.mended.append(f"{rel}: library.jsonl entry written again")
    elif item.sha1 and entry.get("sha1") != item.sha1:
        actual = sha1_of(lib.root / rel)  # rewritten by a run killed before the state learned
        if actual != item.sha1:
            repairs.moved[rel] = Rewritten(rel, actual)
        if entry.get("sha1") != actual:
            entry = lib.index.update(rel, sha1=actual)
    if item.live_video_id and not os.path.isfile(os.path.join(lib.root, item.live_video_id)):
        lib.index.remove(rel)
        repairs.missing.append(rel)
        return
    if sole:
        entry = _as_recorded(lib, item, entry, repairs)
    _sidecars(lib, entry, repairs)
    _album_links(lib, item, entry, repairs)


def _as_recorded(lib: FolderTarget, item: StoredItem, entry: dict[str, Any],
                 repairs: Repairs) -> dict[str, Any]:
    """What the state knows for sure (who the item is, its flags) wins over an entry that
    says otherwise (a line damaged on disk in a way that still parses)."""
    known: dict[str, Any] = {"google_url": item.google_url, "favorite": item.favorite,
                             "archived": item.archived, "original_sha1": item.source_sha1}
    fixes: dict[str, Any] = {k: v for k, v in known.items() if v is not None and entry.get(k) != v}
    if not fixes:
        return entry
    repairs.mended.append(f"{item.remote_id}: library.jsonl entry corrected "
                          f"({', '.join(sorted(fixes))})")
    fixed = {**entry, **fixes}
    if "favorite" in fixes:  # every sidecar's rating follows, as set_favorite does it
        lib.write_sidecars(fixed)
    lib.index.put(fixed)
    return fixed


def _finish_move(lib: FolderTarget, item: StoredItem, repairs: Repairs) -> bool:
    """A move to a new date folder links the file under its new name before it drops the
    old one: a run killed in between leaves one file under two names (one inode). The new
    name is the item's; the old one goes, and the state learns."""
    rel = item.remote_id
    for sha1 in (item.source_sha1, item.sha1):
        found = lib.index.path_for(sha1) if sha1 else None
        if found is None or found == rel or not (lib.root / found).is_file():
            continue
        if not os.path.samefile(lib.root / found, lib.root / rel):
            continue
        entry = lib.index.get(found) or {"path": found}
        old = lib.index.get(rel) or {}
        lib.retire({"path": rel, "live_video": old.get("live_video") or item.live_video_id},
                   entry)
        repairs.moved[rel] = Rewritten(found, sha1_of(lib.root / found), entry.get("live_video"))
        repairs.mended.append(f"{rel}: move to {found} finished")
        return True
    return False


def _lost(lib: FolderTarget, item: StoredItem, repairs: Repairs) -> None:
    """The file is not where the state says: moved by a run killed before the state
    learned (found by its checksums), or gone."""
    for sha1 in (item.source_sha1, item.sha1):
        found = lib.index.path_for(sha1) if sha1 else None
        if found is not None and found != item.remote_id and (lib.root / found).is_file():
            entry = lib.index.get(found) or {}
            repairs.moved[item.remote_id] = Rewritten(found, sha1_of(lib.root / found),
                                                      entry.get("live_video"))
            return
    lib.index.remove(item.remote_id)
    repairs.missing.append(item.remote_id)


def _sidecars(lib: FolderTarget, entry: dict[str, Any], repairs: Repairs) -> None:
    for rel, flag in ((entry["path"], "xmp"), (entry.get("live_video"), "live_video_xmp")):
        if rel and entry.get(flag) and not os.path.isfile(os.path.join(lib.root, xmp_of(rel))):
            packet = xmp.sidecar(metadata_of(entry))
            if packet is not None:
                lib.files.write_atomic(xmp_of(rel), packet)
                repairs.mended.append(f"{xmp_of(rel)}: XMP sidecar written again")


def _album_links(lib: FolderTarget, item: StoredItem, entry: dict[str, Any],
                 repairs: Repairs) -> None:
    titles = list(entry["albums"])
    for album, album_id in item.albums:
        if lib.albums.restore(album_id, album):
            repairs.mended.append(f"albums/{album_id}: album folder written again")
        if entry["path"] not in lib.albums.links(album_id):
            lib.albums.add_link(album_id, entry["path"])
            repairs.mended.append(f"albums/{album_id}: link to {entry['path']} made again")
        title = lib.albums.title_of(album_id)
        if title not in titles:
            titles.append(title)
    if titles != entry["albums"]:
        lib.index.update(entry["path"], albums=titles)


def _rebuilt(lib: FolderTarget, item: StoredItem) -> dict[str, Any]:
    """An entry from the state and the file: values from the XMP sidecar (which carries
    everything the import resolved), else the file's own metadata, else Google's values as
    the state last synced them. Which EXIF tags were ours is not known any more: a later
    change goes to the sidecar instead of replacing them."""
    rel = item.remote_id
    sidecar = _read_sidecar(lib, rel)
    own = _own_values(lib, rel)
    synced = _synced(item)
    meta = Metadata(
        taken_at=_first(sidecar.taken_at, own.taken_at, synced.taken_at),
        location=_first(sidecar.location, own.location, synced.location),
        description=_first(sidecar.description, own.description, synced.description),
    )
    entry: dict[str, Any] = {
        "path": rel, **values_of(meta), "taken_at_source": "rebuilt",
        "favorite": item.favorite, "archived": item.archived,
        "albums": [album.title for album, _ in item.albums], "google_url": item.google_url,
        "sha1": sha1_of(lib.root / rel), "original_sha1": item.source_sha1,
        "original_name": item.name, "people": [],
        "xmp": (lib.root / xmp_of(rel)).is_file(), "exif_added": [],
    }
    if item.live_video_id:
        entry["live_video"] = item.live_video_id
        entry["live_video_sha1"] = item.live_video_sha1
        entry["live_video_xmp"] = (lib.root / xmp_of(item.live_video_id)).is_file()
    return entry


def _first(*values: Any) -> Any:
    return next((v for v in values if v is not None), None)


def _read_sidecar(lib: FolderTarget, rel: str) -> Metadata:
    try:
        found = xmp.read_sidecar((lib.root / xmp_of(rel)).read_bytes())
    except OSError:
        found = None
    return found or Metadata()


def _own_values(lib: FolderTarget, rel: str) -> Metadata:
    kind = mediatypes.by_name(rel)
    path = lib.root / rel
    if kind is None or kind.media_type is not MediaType.PHOTO or path.stat().st_size > MAX_REWRITE:
        return Metadata()
    facts, _ = probe_image(kind, path.read_bytes())
    taken = facts.taken_at if facts.taken_at and facts.taken_at.utcoffset() is not None \
        else None
    return Metadata(taken_at=taken, location=facts.location, description=facts.description)


def _synced(item: StoredItem) -> Metadata:
    values = item.values
    taken = values.get("taken_at")
    where = values.get("location")
    caption = values.get("description")
    try:
        moment = datetime.fromisoformat(taken) if isinstance(taken, str) else None
    except ValueError:
        moment = None
    point = None
    if isinstance(where, (list, tuple)) and len(where) == 2 \
            and all(isinstance(v, (int, float)) for v in where):
        point = GeoPoint(float(where[0]), float(where[1]))
    return Metadata(taken_at=moment if moment and moment.utcoffset() is not None else None,
                    location=point, description=caption if isinstance(caption, str) else None)
