"""Export parts read in place: an extracted folder or `.zip` archives.

A Takeout export is several parts whose contents belong together, so the reader lists all
parts first and only then pairs files. Nothing is unpacked to disk: each entry carries an
opener that streams its bytes straight from the part.
"""

from __future__ import annotations

import os
import threading
import unicodedata
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Protocol

from importer.model import Opener

ZIP_SUFFIXES = (".zip",)
TAR_SUFFIXES = (".tgz", ".tar.gz", ".tar")


class SourceError(Exception):
    """A source cannot be read at all; the message names it."""


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


@dataclass(frozen=True)
class Entry:
    """One file inside a part. `path` is NFC, '/'-separated, relative to the part root."""

    part: str
    path: str
    size: int
    opener: Opener = field(compare=False, repr=False)

    @property
    def name(self) -> str:
        return PurePosixPath(self.path).name

    @property
    def folder(self) -> str:
        return str(PurePosixPath(self.path).parent)

    @property
    def location(self) -> str:
        return f"{self.part}:{self.path}"


@dataclass(frozen=True)
class Problem:
    """Something in a part that cannot be read; reported, never fatal for the others."""

    location: str
    reason: str


class Part(Protocol):
    name: str

    def entries(self) -> Iterator[Entry | Problem]: ...

    def close(self) -> None: ...


class FolderPart:
    """An extracted export (or any folder tree of media)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.name = str(root)

    def entries(self) -> Iterator[Entry | Problem]:
        for dirpath, dirnames, filenames in os.walk(self.root, onerror=None):
            dirnames.sort()
            for filename in sorted(filenames):
                full = Path(dirpath) / filename
                rel = full.relative_to(self.root).as_posix()
                try:
                    if full.is_symlink() or not full.is_file():
                        continue
                    size = full.stat().st_size
                except OSError as exc:
                    yield Problem(f"{self.name}:{rel}", f"cannot read: {exc.strerror}")
                    continue
                yield Entry(self.name, nfc(rel), size, _file_opener(full))

    def close(self) -> None:
        pass


def _file_opener(path: Path) -> Opener:
    def open_file() -> IO[bytes]:
        return path.open("rb")

    return open_file


def unsafe_member(name: str) -> bool:
    """True for member names that would escape a folder if anyone extracted them."""
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        return True
    return ".." in PurePosixPath(name.replace("\\", "/")).parts


class ZipPart:
    """A `.zip` part, listed from its central directory and read member by member."""

    def __init__(self, path: Path) -> None:
        self.name = str(path)
        try:
            self._zip = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise SourceError(f"{path}: not a readable zip archive ({exc})") from None
        # ZipFile shares one file handle between open members; guard opening members.
        self._lock = threading.Lock()

    def entries(self) -> Iterator[Entry | Problem]:
        for info in self._zip.infolist():
            if info.is_dir():
                continue
            if unsafe_member(info.filename):
                yield Problem(f"{self.name}:{info.filename}", "unsafe path in archive, ignored")
                continue
            yield Entry(self.name, nfc(info.filename), info.file_size, self._opener(info))

    def _opener(self, info: zipfile.ZipInfo) -> Opener:
        def open_member() -> IO[bytes]:
            with self._lock:
                return self._zip.open(info)

        return open_member

    def close(self) -> None:
        self._zip.close()


def _is_archive(path: Path) -> bool:
    lower = path.name.lower()
    return lower.endswith(ZIP_SUFFIXES + TAR_SUFFIXES)


def open_part(path: Path) -> Part:
    lower = path.name.lower()
    if lower.endswith(ZIP_SUFFIXES):
        return ZipPart(path)
    if lower.endswith(TAR_SUFFIXES):
        raise SourceError(f"{path}: tar/tgz parts are not supported yet; extract it first")
    raise SourceError(f"{path}: not a Takeout part (.zip, .tgz) or folder")


def expand_sources(sources: Sequence[Path]) -> list[Path]:
    """Turn the user's SOURCE arguments into part paths and extracted folders.

    A folder that holds archive parts at its top level stands for those parts; any other
    folder is an extracted export.
    """
    result: list[Path] = []
    for source in sources:
        if not source.exists():
            raise SourceError(f"{source}: no such file or folder")
        if source.is_dir():
            archives = sorted(p for p in source.iterdir() if p.is_file() and _is_archive(p))
            result.extend(archives or [source])
        elif _is_archive(source):
            result.append(source)
        else:
            raise SourceError(f"{source}: not a Takeout part (.zip, .tgz) or folder")
    return result


def open_parts(sources: Sequence[Path]) -> tuple[list[Part], list[Problem]]:
    """Open every part up front. A part that cannot be opened is a reported problem and
    the other parts still import; only when nothing at all is readable is it fatal."""
    parts: list[Part] = []
    problems: list[Problem] = []
    paths = expand_sources(sources)
    for path in paths:
        try:
            parts.append(FolderPart(path) if path.is_dir() else open_part(path))
        except SourceError as exc:
            problems.append(Problem(str(path), str(exc).removeprefix(f"{path}: ")))
    if not parts:
        raise SourceError("; ".join(f"{p.location}: {p.reason}" for p in problems))
    return parts, problems
