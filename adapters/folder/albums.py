"""Albums of the folder library: `albums/<title>/` with relative links to the originals.

Google album titles are not unique, so each album folder carries `.album.json` with the
album's key; a second album with the same title gets `<title> (2)`, never the first's folder.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from adapters.base import GalleryError
from adapters.folder.index import LibraryIndex
from importer.model import Album

_META = ".album.json"
_UNSAFE = str.maketrans({"/": "∕", "\\": "⧵", "\0": "", ":": "꞉"})
MAX_NAME_BYTES = 200


def safe_title(title: str) -> str:
    """A folder name showing the title as closely as the file system allows."""
    name = title.translate(_UNSAFE).strip().lstrip(".") or "Untitled"
    while len(name.encode("utf-8")) > MAX_NAME_BYTES:
        name = name[:-1]
    return name


class AlbumFolders:
    def __init__(self, folder: Path, root: Path, index: LibraryIndex) -> None:
        self.folder = folder
        self.root = root
        self.index = index
        self._meta: dict[str, dict[str, Any]] = {}

    def _read_meta(self, name: str) -> dict[str, Any] | None:
        if name not in self._meta:
            try:
                data = json.loads((self.folder / name / _META).read_text(encoding="utf-8"))
            except (OSError, ValueError):
                return None
            self._meta[name] = data if isinstance(data, dict) else {}
        return self._meta[name]

    def _write_meta(self, name: str, album: Album) -> None:
        """Written aside, then moved into place: a full disk never leaves a truncated file
        (an album folder whose file cannot be read is taken for someone else's)."""
        data = {"key": album.key, "title": album.title, "description": album.description}
        path = self.folder / name / _META
        part = path.with_name(_META + ".part")
        try:
            part.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
            os.replace(part, path)
        except OSError:
            part.unlink(missing_ok=True)
            raise
        self._meta[name] = data

    def ensure(self, album: Album, known_id: str | None) -> str:
        if known_id and self._read_meta(known_id) is not None:
            return known_id
        base = safe_title(album.title)
        for n in range(1, 10_000):
            name = base if n == 1 else f"{base} ({n})"
            meta = self._read_meta(name)
            if meta is not None and meta.get("key") == album.key:
                if meta.get("description") != album.description:
                    self._write_meta(name, album)
                return name
            if (self.folder / name).exists():
                continue
            try:
                (self.folder / name).mkdir(parents=True)
            except OSError as exc:
                raise GalleryError(f"{self.folder / name}: cannot create: {exc.strerror}") from None
            try:
                self._write_meta(name, album)
            except OSError:  # a folder without its file is no album: leave none behind
                shutil.rmtree(self.folder / name, ignore_errors=True)
                raise
            return name
        raise GalleryError(f"{self.folder}: too many albums titled {album.title!r}")

    def add(self, album_id: str, remote_ids: Sequence[str]) -> None:
        meta = self._read_meta(album_id)
        if meta is None:
            raise GalleryError(f"{self.folder / album_id}: album folder is missing")
        title = str(meta.get("title") or album_id)
        for remote_id in remote_ids:
            entry = self.index.get(remote_id)
            if entry is None:
                raise GalleryError(f"{remote_id}: not in this library")
            self._link(album_id, remote_id)
            if title not in entry["albums"]:
                self.index.update(remote_id, albums=[*entry["albums"], title])

    def relink(self, old_id: str, new_id: str, titles: Sequence[str]) -> None:
        """Album links to `old_id` point at `new_id` instead (the item's file was replaced
        under a new name); only the albums named in `titles` can hold such links."""
        if not self.folder.is_dir():
            return
        for album_dir in sorted(self.folder.iterdir()):
            meta = self._read_meta(album_dir.name)
            if meta is None or meta.get("title") not in titles:
                continue
            target = os.path.relpath(self.root / old_id, album_dir)
            for link in album_dir.iterdir():
                if link.is_symlink() and os.readlink(link) == target:
                    link.unlink()
                    self._link(album_dir.name, new_id)

    def _link(self, album_id: str, remote_id: str) -> None:
        album_dir = self.folder / album_id
        target = os.path.relpath(self.root / remote_id, album_dir)
        name = PurePosixPath(remote_id)
        for n in range(1, 10_000):
            link = album_dir / (name.name if n == 1 else f"{name.stem} ({n}){name.suffix}")
            if link.is_symlink():
                if os.readlink(link) == target:
                    return
                continue
            if link.exists():
                continue
            os.symlink(target, link)
            return
        raise GalleryError(f"{album_dir}: too many links named {name.name}")

    def members(self, album_id: str) -> set[str]:
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
