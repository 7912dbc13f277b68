"""The folder target: a plain, self-describing photo library on disk.

Layout: originals in `YYYY/MM/` (capture time in its own offset), albums as `albums/<title>/`
holding relative symlinks, and `library.jsonl` describing every item. Files are written to a
temporary name and hard-linked into place, so a different file is never overwritten and a
crash never leaves half a photo under a real name. `library.jsonl` is appended to as work
happens (crash-safe) and compacted to one line per item when the target closes or reopens.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath

from adapters.base import (
    ALL_FIELDS,
    Capabilities,
    GalleryError,
    TargetUnavailable,
    UploadResult,
    UploadStatus,
    VerifyStatus,
)
from adapters.folder.albums import AlbumFolders
from adapters.folder.index import LibraryIndex, entry_for
from importer.model import Album, Metadata, PreparedAsset, PreparedFile

COPY_CHUNK = 1 << 20
MAX_NAME_BYTES = 255
_NAME_ROOM = len(" (9999)") + len(".xmp")


class FolderTarget:
    """`folder:DIR`; remote ids are paths relative to DIR."""

    def __init__(self, root: Path) -> None:
        self.root = root.absolute()
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            self._tmp = self.root / ".incoming"
            self._tmp.mkdir(exist_ok=True)
        except OSError as exc:
            raise TargetUnavailable(f"{root}: cannot create the library: {exc.strerror}") from None
        self._lock = threading.RLock()
        self.index = LibraryIndex(self.root / "library.jsonl")
        self.albums = AlbumFolders(self.root / "albums", self.root, self.index)

    @property
    def target(self) -> str:
        return f"folder:{self.root}"

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(
            album_descriptions=True, xmp_sidecars=True, live_photos=True, max_batch=10_000
        )

    # -- lookup ----------------------------------------------------------------------------

    def find_existing(self, checksums: Sequence[str]) -> Mapping[str, str]:
        with self._lock:
            found = {sha1: self.index.path_for(sha1) for sha1 in checksums}
        return {sha1: path for sha1, path in found.items() if path is not None}

    # -- upload ----------------------------------------------------------------------------

    def upload(self, asset: PreparedAsset) -> UploadResult:
        folder = _date_folder(asset.item.metadata)
        path, status = self._place(asset.primary, folder)
        video_path = None
        if asset.live_video is not None:
            stem = PurePosixPath(path).stem
            video_path, _ = self._place(asset.live_video, folder, stem=stem)
        with self._lock:
            entry = entry_for(path, asset, video_path, self.index.get(path))
            self.index.put(entry)
        return UploadResult(path, status, video_path, applied=ALL_FIELDS)

    def _place(
        self, file: PreparedFile, folder: str, stem: str | None = None
    ) -> tuple[str, UploadStatus]:
        """Write `file` under `folder`; reuse an identical file already there."""
        with self._lock:
            existing = self.index.path_for(file.sha1)
        if existing is not None and (self.root / existing).exists():
            return existing, UploadStatus.DUPLICATE
        tmp = self._spool(file)
        try:
            return self._link_unique(tmp, file, folder, stem)
        finally:
            tmp.unlink(missing_ok=True)

    def _spool(self, file: PreparedFile) -> Path:
        """Copy to a private temporary name first; only complete files get a real name."""
        tmp = self._tmp / f"{file.sha1}.{threading.get_ident()}"
        with tmp.open("wb") as out, file.opener() as src:
            shutil.copyfileobj(src, out, COPY_CHUNK)
        return tmp

    def _link_unique(
        self, tmp: Path, file: PreparedFile, folder: str, stem: str | None
    ) -> tuple[str, UploadStatus]:
        name = PurePosixPath(file.filename)
        base, suffix = fit_name(stem or name.stem, name.suffix)
        (self.root / folder).mkdir(parents=True, exist_ok=True)
        for n in range(10_000):
            candidate = f"{folder}/{base}{f' ({n})' if n else ''}{suffix}"
            dest = self.root / candidate
            with self._lock:
                try:
                    os.link(tmp, dest)
                except FileExistsError:
                    if _sha1_of(dest) == file.sha1:  # placed by a run killed before its XMP
                        if file.xmp is not None:
                            _write_atomic(dest.with_name(dest.name + ".xmp"), file.xmp,
                                          self._tmp)
                        return candidate, UploadStatus.DUPLICATE
                    continue
                except OSError as exc:
                    raise GalleryError(f"{dest}: cannot write: {exc.strerror}") from None
            if file.xmp is not None:
                _write_atomic(dest.with_name(dest.name + ".xmp"), file.xmp, self._tmp)
            return candidate, UploadStatus.CREATED
        raise GalleryError(f"{self.root / folder}: too many files named {name.name}")

    def replace(self, remote_id: str, asset: PreparedAsset) -> UploadResult:
        """The Takeout original takes the place of the Picker's copy at `remote_id`: under
        the same name when it has one, else beside it; the old file goes only once the new
        one is complete and checked, and album links and `library.jsonl` follow."""
        folder = _date_folder(asset.item.metadata)
        name = PurePosixPath(asset.primary.filename)
        if f"{folder}/{name.name}" == remote_id:
            tmp = self._spool(asset.primary)
            os.replace(tmp, self.root / remote_id)
            _replace_xmp(self.root / remote_id, asset.primary.xmp, self._tmp)
            path = remote_id
        else:
            path, _ = self._place(asset.primary, folder)
        if _sha1_of(self.root / path) != asset.primary.sha1:
            raise GalleryError(f"{self.root / path}: the new file does not check out")
        video_path = None
        if asset.live_video is not None:
            video_path, _ = self._place(asset.live_video, folder, PurePosixPath(path).stem)
        with self._lock:
            old = self.index.get(remote_id)
            self.index.move(remote_id, entry_for(path, asset, video_path, old))
            if path != remote_id:
                self.albums.relink(remote_id, path, old["albums"] if old else ())
        if path != remote_id:
            (self.root / remote_id).unlink(missing_ok=True)
            _replace_xmp(self.root / remote_id, None, self._tmp)
        return UploadResult(path, UploadStatus.CREATED, video_path, applied=ALL_FIELDS)

    # -- metadata --------------------------------------------------------------------------

    def set_metadata(self, remote_id: str, metadata: Metadata, fields: frozenset[str]) -> None:
        with self._lock:
            self.index.update(remote_id, metadata=(metadata, fields))

    def set_favorite(self, remote_id: str, favorite: bool) -> None:
        with self._lock:
            self.index.update(remote_id, favorite=favorite)

    def set_archived(self, remote_id: str, archived: bool) -> None:
        with self._lock:
            self.index.update(remote_id, archived=archived)

    # -- albums ----------------------------------------------------------------------------

    def ensure_album(self, album: Album, known_id: str | None) -> str:
        with self._lock:
            return self.albums.ensure(album, known_id)

    def add_to_album(self, album_id: str, remote_ids: Sequence[str]) -> None:
        with self._lock:
            self.albums.add(album_id, remote_ids)

    def album_members(self, album_id: str) -> set[str]:
        """Files the album folder's links lead to (a dangling link holds nothing)."""
        with self._lock:
            return self.albums.members(album_id)

    # -- verify ----------------------------------------------------------------------------

    def verify(self, expected: Mapping[str, str]) -> Mapping[str, VerifyStatus]:
        result: dict[str, VerifyStatus] = {}
        for remote_id, sha1 in expected.items():
            path = self.root / remote_id
            if not path.is_file():
                result[remote_id] = VerifyStatus.MISSING
            else:
                ok = _sha1_of(path) == sha1
                result[remote_id] = VerifyStatus.OK if ok else VerifyStatus.MISMATCH
        return result

    def stats(self) -> Mapping[str, int]:
        return {}

    def close(self) -> None:
        with self._lock:
            self.index.close()
        shutil.rmtree(self._tmp, ignore_errors=True)


def fit_name(base: str, suffix: str) -> tuple[str, str]:
    """Shorten `base` so that `base (n)suffix.xmp` stays within a file name's 255 bytes
    (a 255-byte name from the export, given a counter or a truer extension, would not)."""
    room = MAX_NAME_BYTES - _NAME_ROOM - len(suffix.encode("utf-8"))
    if len(base.encode("utf-8")) <= room:
        return base, suffix
    if room < 1:
        suffix, room = suffix[:16], MAX_NAME_BYTES - _NAME_ROOM - 16
    clipped = base.encode("utf-8")[:room].decode("utf-8", errors="ignore")
    return clipped.rstrip() or "_", suffix


def _date_folder(metadata: Metadata) -> str:
    if metadata.taken_at is None:
        return "undated"
    return metadata.taken_at.strftime("%Y/%m")


def _sha1_of(path: Path) -> str:
    digest = hashlib.sha1(usedforsecurity=False)
    with path.open("rb") as stream:
        while chunk := stream.read(COPY_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _replace_xmp(path: Path, xmp: bytes | None, scratch: Path) -> None:
    """The sidecar beside `path` says `xmp`, or is gone when there is none."""
    sidecar = path.with_name(path.name + ".xmp")
    if xmp is None:
        sidecar.unlink(missing_ok=True)
    else:
        _write_atomic(sidecar, xmp, scratch)


def _write_atomic(path: Path, data: bytes, scratch: Path) -> None:
    """Written in `scratch` (`.incoming`, emptied when the target closes) and moved into
    place: a run killed mid-write leaves nothing in the library's folders."""
    tmp = scratch / f"xmp.{threading.get_ident()}.tmp"
    tmp.write_bytes(data)
    tmp.replace(path)

