"""Albums of the folder library: `albums/<title>/` with relative links to the originals.

Google album titles are not unique, so each album folder carries `.album.json` with the
album's key; a second album with the same title gets `<title> (2)`, never the first's folder.
An album renamed in Google is renamed here too (its folder, `.album.json`, and the titles in
`library.jsonl`), in an order a crash at any step repairs on the next run: the entries'
titles first, then `.album.json` (the key that finds the folder again), then the folder.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from adapters.base import GalleryError
from adapters.folder.files import MAX_NAMES, Files
from adapters.folder.index import PRIVATE_FILE, LibraryIndex
from importer.model import Album

_META = ".album.json"
_UNSAFE = str.maketrans({"/": "∕", "\\": "⧵", "\0": "", ":": "꞉"})
MAX_NAME_BYTES = 200
_LEFTOVER = re.compile(r"\..+\.relink")


def safe_title(title: str) -> str:
    """A folder name showing the title as closely as the file system allows."""
    name = title.translate(_UNSAFE).strip().lstrip(".") or "Untitled"
    while len(name.encode("utf-8")) > MAX_NAME_BYTES:
        name = name[:-1]
    return name


class AlbumFolders:
    def __init__(self, folder: Path, root: Path, index: LibraryIndex, files: Files) -> None:
        self.folder = folder
        self.root = root
        self.index = index
        self.files = files
        self._meta: dict[str, dict[str, Any]] = {}
        self._links: dict[str, dict[str, str]] = {}
        """Album folder -> {library path -> link name}, read from disk once per folder."""

    def _read_meta(self, name: str) -> dict[str, Any] | None:
        if name not in self._meta:
            try:
                data = json.loads((self.folder / name / _META).read_text(encoding="utf-8"))
            except (OSError, ValueError, RecursionError):
                return None
            self._meta[name] = data if isinstance(data, dict) else {}
        return self._meta[name]

    def _write_meta(self, name: str, album: Album) -> None:
        data = _meta_of(album)
        self.files.write_atomic(f"albums/{name}/{_META}", _meta_bytes(data))
        os.chmod(self.folder / name / _META, PRIVATE_FILE)
        self._meta[name] = data

    def _create(self, name: str, album: Album) -> None:
        """A new album folder, complete or not at all: made with its `.album.json` under a
        temporary name, then renamed into place. Albums are made while uploads go on, so a
        full disk or a kill can come in between; a folder left without its file would be
        taken for someone else's, and the album made again beside it as `name (2)`."""
        staged = self.files.temp_name("album")
        data = _meta_of(album)
        try:
            staged.mkdir()
            (staged / _META).write_bytes(_meta_bytes(data))
            os.chmod(staged / _META, PRIVATE_FILE)
            self.folder.mkdir(parents=True, exist_ok=True)
            os.rename(staged, self.folder / name)
        except OSError:
            shutil.rmtree(staged, ignore_errors=True)
            raise
        self._meta[name] = data

    def ensure(self, album: Album, known_id: str | None) -> str:
        if known_id and self._read_meta(known_id) is not None:
            return known_id
        base = safe_title(album.title)
        for n in range(1, MAX_NAMES):
            name = base if n == 1 else f"{base} ({n})"
            meta = self._read_meta(name)
            if meta is not None and meta.get("key") == album.key:
                if meta.get("description") != album.description:
                    self._write_meta(name, album)
                return name
            if (self.folder / name).exists():
                continue
            self._create(name, album)
            return name
        raise GalleryError(f"{self.folder}: too many albums titled {album.title!r}")

    def restore(self, album_id: str, album: Album) -> bool:
        """Make the album folder `album_id` again if it (or its `.album.json`) is gone;
        True when something was written."""
        if self._read_meta(album_id) is not None:
            return False
        try:
            (self.folder / album_id).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise GalleryError(f"{self.folder / album_id}: cannot create: {exc.strerror}") from None
        self._write_meta(album_id, album)
        return True

    def title_of(self, album_id: str) -> str:
        meta = self._read_meta(album_id)
        if meta is None:
            raise GalleryError(f"{self.folder / album_id}: album folder is missing")
        return str(meta.get("title") or album_id)

    def add(self, album_id: str, remote_ids: Sequence[str]) -> None:
        title = self.title_of(album_id)
        for remote_id in remote_ids:
            entry = self.index.get(remote_id)
            if entry is None:
                raise GalleryError(f"{remote_id}: not in this library")
            self.add_link(album_id, remote_id)
            if title not in entry["albums"]:
                self.index.update(remote_id, albums=[*entry["albums"], title])

    # -- links -----------------------------------------------------------------------------

    def links(self, album_id: str) -> dict[str, str]:
        """Library path -> link name of every link in the album folder."""
        if album_id not in self._links:
            found: dict[str, str] = {}
            album_dir = self.folder / album_id
            try:
                children = list(os.scandir(album_dir))
            except OSError:
                children = []
            for child in children:
                if _LEFTOVER.fullmatch(child.name) and child.is_symlink():
                    os.unlink(child.path)  # a killed run's relink, from before they went
                    continue               # through .incoming (we hold the library lock)
                if child.is_symlink():
                    text = os.readlink(child.path)
                    if os.path.isabs(text):  # not ours: made by hand
                        text = os.path.relpath(text, self.root / "albums" / album_id)
                    found[os.path.normpath(os.path.join("albums", album_id, text))] = \
                        child.name
            self._links[album_id] = found
        return self._links[album_id]

    def add_link(self, album_id: str, remote_id: str) -> None:
        known = self.links(album_id)
        if remote_id in known:
            return
        album_dir = self.folder / album_id
        target = os.path.relpath(self.root / remote_id, album_dir)
        name = PurePosixPath(remote_id)
        for n in range(1, MAX_NAMES):
            link = album_dir / (name.name if n == 1 else f"{name.stem} ({n}){name.suffix}")
            if link.is_symlink() or link.exists():
                continue
            try:
                os.symlink(target, link)
            except OSError as exc:
                raise GalleryError(f"{link}: cannot create the link: {exc.strerror}") from None
            known[remote_id] = link.name
            return
        raise GalleryError(f"{album_dir}: too many links named {name.name}")

    def relink(self, album_ids: Sequence[str], old: str, new: str) -> None:
        """Point the links to `old` at `new` (the file moved), each replaced in one step."""
        for album_id in album_ids:
            known = self.links(album_id)
            name = known.get(old)
            if name is None:
                continue
            album_dir = self.folder / album_id
            del known[old]
            if new in known:  # a crash after this album's link was moved once already
                (album_dir / name).unlink(missing_ok=True)
                continue
            # made in .incoming (cleared at every start), so a kill leaves nothing here;
            # the link's text is relative to the album folder, where the rename puts it
            tmp = self.files.temp_name("relink")
            os.symlink(os.path.relpath(self.root / new, album_dir), tmp)
            tmp.replace(album_dir / name)
            known[new] = name

    def members(self, album_id: str) -> set[str]:
        """Library files the album folder's links lead to, read afresh from the disk (reclaim
        asks the library itself, never a cache; a dangling link holds nothing)."""
        album_dir = self.folder / album_id
        if not album_dir.is_dir() or album_dir.is_symlink():
            return set()
        found = set()
        root = self.root.resolve()
        for link in album_dir.iterdir():
            if not link.is_symlink():
                continue
            target = (album_dir / os.readlink(link)).resolve()
            if target.is_file() and target.is_relative_to(root):
                found.add(target.relative_to(root).as_posix())
        return found

    def all_ids(self) -> list[str]:
        try:
            return sorted(p.name for p in self.folder.iterdir() if p.is_dir())
        except OSError:
            return []

    # -- renames ---------------------------------------------------------------------------

    def rename(self, album_id: str, album: Album) -> str:
        """Rename the album's folder after the album's new title; returns its new id."""
        old_title = self.title_of(album_id)
        for remote_id in list(self.links(album_id)):
            entry = self.index.get(remote_id)
            if entry is not None and album.title not in entry["albums"]:
                titles = [album.title if t == old_title else t for t in entry["albums"]]
                if album.title not in titles:
                    titles.append(album.title)
                self.index.update(remote_id, albums=titles)
        self._write_meta(album_id, album)
        base = safe_title(album.title)
        if album_id == base or album_id.startswith(f"{base} ("):
            return album_id
        for n in range(1, MAX_NAMES):
            name = base if n == 1 else f"{base} ({n})"
            if (self.folder / name).exists() or (self.folder / name).is_symlink():
                continue
            try:
                os.rename(self.folder / album_id, self.folder / name)
            except OSError as exc:
                raise GalleryError(f"{self.folder / album_id}: cannot rename: "
                                   f"{exc.strerror}") from None
            self._meta[name] = self._meta.pop(album_id)
            self._links[name] = self._links.pop(album_id, {})
            return name
        raise GalleryError(f"{self.folder}: too many albums titled {album.title!r}")


def _meta_of(album: Album) -> dict[str, Any]:
    return {"key": album.key, "title": album.title, "description": album.description}


def _meta_bytes(data: dict[str, Any]) -> bytes:
    return json.dumps(data, ensure_ascii=False, indent=1).encode("utf-8")
