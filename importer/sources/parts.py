"""Export parts read in place: extracted folders, `.zip` and `.tgz`/`.tar` archives.

A Takeout export is several parts whose contents belong together, so the reader lists all
parts first and only then pairs files. Nothing is unpacked to disk: a folder file or a zip
member is streamed straight from the part whenever it is opened. A tar part has no index,
so it is read twice: the listing pass hands out the small files the reader asks for (JSON,
the first bytes of nameless media), and a second pass copies the media it still needs to
a temporary spool (see `tarpart`).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol

from importer.sources.names import display_name

ZIP_SUFFIXES = (".zip",)
TAR_SUFFIXES = (".tgz", ".tar.gz", ".tar")

Wanted = Callable[[str, int], int]
"""(file name, size) -> how many leading bytes the reader wants while listing (0: none)."""

Listed = tuple["Entry", bytes | None]


MAX_INFLATE_RATIO = 100
"""Photos and videos barely compress (JPEG, HEIC, MP4 are compressed already; a RAW or BMP
may halve): a member said to inflate more than this many times is a zip bomb."""
INFLATE_FLOOR = 64 * 1024 * 1024
"""Below this many bytes any ratio is harmless (a JSON file of spaces)."""


def inflation_problem(size: int, compressed: int) -> str | None:
    """Why a member that declares `size` bytes from `compressed` is refused, or None."""
    if size <= INFLATE_FLOOR or size <= MAX_INFLATE_RATIO * max(compressed, 1):
        return None
    return (f"refused: declares {size:,} bytes from {compressed:,} compressed, more than "
            f"{MAX_INFLATE_RATIO} times (a zip bomb?)")


class SourceError(Exception):
    """A source cannot be read at all; the message names it."""


class Entry:
    """One file inside a part. `folder` and `name` are NFC, '/'-separated, relative to the
    part root; `ref` is the part's own handle on it (a path, an offset, an ordinal).

    Slotted and small on purpose: a 100k-item export lists a few hundred thousand of them.
    """

    __slots__ = ("folder", "name", "part", "ref", "size")

    def __init__(self, part: Part, folder: str, name: str, size: int, ref: Any) -> None:
        self.part = part
        self.folder = folder
        self.name = name
        self.size = size
        self.ref = ref

    @property
    def path(self) -> str:
        return f"{self.folder}/{self.name}" if self.folder else self.name

    @property
    def location(self) -> str:
        return f"{self.part.name}:{self.path}"

    @property
    def random_access(self) -> bool:
        return self.part.random_access

    def open(self) -> IO[bytes]:
        return self.part.open(self)

    def __repr__(self) -> str:
        return f"Entry({self.location!r}, {self.size})"


@dataclass(frozen=True)
class Problem:
    """Something in a part that cannot be read; reported, never fatal for the others."""

    location: str
    reason: str


class Part(Protocol):
    name: str
    random_access: bool
    """True when any entry can be opened at any time (zip, folder); a tar part's entries can
    only be read during `entries()` (the wanted bytes) or through its spool."""

    def entries(self, wanted: Wanted) -> Iterator[Listed | Problem]:
        """Every file of the part, with the leading bytes `wanted` asks for."""
        ...

    def open(self, entry: Entry) -> IO[bytes]: ...

    def close(self) -> None: ...


def split_path(path: str) -> tuple[str, str]:
    folder, _, name = path.rpartition("/")
    return folder, name


def intern_folder(folder: str) -> str:
    """Folder strings repeat for every file of a folder; keep one copy of each."""
    return sys.intern(folder)


def read_head(stream: IO[bytes], limit: int) -> bytes:
    chunks: list[bytes] = []
    left = limit
    while left > 0:
        chunk = stream.read(left)
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


class FolderPart:
    """An extracted export (or any folder tree of media)."""

    random_access = True

    def __init__(self, root: Path) -> None:
        self.root = root
        self.name = display_name(str(root))

    def entries(self, wanted: Wanted) -> Iterator[Listed | Problem]:
        for dirpath, dirnames, filenames in os.walk(self.root):
            dirnames.sort()
            rel_dir = Path(dirpath).relative_to(self.root).as_posix()
            raw_folder = "" if rel_dir == "." else rel_dir
            folder = intern_folder(display_name(raw_folder))
            for filename in sorted(filenames):
                yield self._listed(raw_folder, folder, filename, wanted)

    def _listed(self, raw_folder: str, folder: str, filename: str,
                wanted: Wanted) -> Listed | Problem:
        """`raw_folder`/`filename` as the file system spells them (surrogate-escaped bytes
        that are not UTF-8), kept as the entry's `ref` when the shown name differs."""
        raw = f"{raw_folder}/{filename}" if raw_folder else filename
        full = self.root / raw
        name = display_name(filename)
        location = f"{self.name}:{folder + '/' if folder else ''}{name}"
        try:
            if full.is_symlink() or not full.is_file():
                return Problem(location, "not a regular file (a link or a device), ignored")
            size = full.stat().st_size
            shown = f"{folder}/{name}" if folder else name
            entry = Entry(self, folder, name, size, None if raw == shown else raw)
            want = wanted(name, size)
            if not want:
                return entry, None
            with full.open("rb") as stream:
                return entry, read_head(stream, want)
        except OSError as exc:
            return Problem(location, f"cannot read: {exc.strerror or exc}")

    def open(self, entry: Entry) -> IO[bytes]:
        return (self.root / (entry.ref or entry.path)).open("rb")

    def close(self) -> None:
        pass


def unsafe_member(name: str) -> bool:
    """True for member names that would escape a folder if anyone extracted them."""
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        return True
    return ".." in name and ".." in name.replace("\\", "/").split("/")


def clean_member_path(name: str) -> str:
    """'./Takeout//Google Photos/x.jpg' -> 'Takeout/Google Photos/x.jpg', shown as
    `display_name` shows names (NFC, escapes for bytes that are not UTF-8 and controls)."""
    parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".")]
    return display_name("/".join(parts))


def member_entry(part: Part, raw_name: str, size: int, ref: Any) -> Entry | Problem:
    """An archive member as an Entry, or the problem with its name: every archive format
    refuses and names members the same way."""
    if unsafe_member(raw_name):
        return Problem(f"{part.name}:{display_name(raw_name)}",
                       "unsafe path in archive (absolute or '..'), ignored")
    folder, name = split_path(clean_member_path(raw_name))
    if not name:
        return Problem(f"{part.name}:{display_name(raw_name)}",
                       "a member without a file name, ignored")
    return Entry(part, intern_folder(folder), name, size, ref)


def _is_archive(path: Path) -> bool:
    lower = path.name.lower()
    return lower.endswith(ZIP_SUFFIXES + TAR_SUFFIXES)


def open_part(path: Path) -> Part:
    from importer.sources.tarpart import TarPart
    from importer.sources.zippart import ZipPart

    lower = path.name.lower()
    if lower.endswith(ZIP_SUFFIXES):
        return ZipPart(path)
    if lower.endswith(TAR_SUFFIXES):
        return TarPart(path)
    raise SourceError(f"{display_name(str(path))}: not a Takeout part (.zip, .tgz) or folder")


def expand_sources(sources: Sequence[Path]) -> list[Path]:
    """Turn the user's SOURCE arguments into part paths and extracted folders.

    A folder that holds archive parts at its top level stands for those parts; any other
    folder is an extracted export.
    """
    result: list[Path] = []
    for source in sources:
        if not source.exists():
            raise SourceError(f"{display_name(str(source))}: no such file or folder")
        if source.is_dir():
            archives = sorted(p for p in source.iterdir() if p.is_file() and _is_archive(p))
            result.extend(archives or [source])
        elif _is_archive(source):
            result.append(source)
        else:
            raise SourceError(f"{display_name(str(source))}: not a Takeout part (.zip, .tgz) "
                              "or folder")
    return list(dict.fromkeys(result))


def open_parts(sources: Sequence[Path]) -> tuple[list[Part], list[Problem]]:
    """Open every part up front. A part that cannot be opened is a reported problem and
    the other parts still import; only when nothing at all is readable is it fatal."""
    parts: list[Part] = []
    problems: list[Problem] = []
    for path in expand_sources(sources):
        try:
            parts.append(FolderPart(path) if path.is_dir() else open_part(path))
        except SourceError as exc:
            shown = display_name(str(path))
            problems.append(Problem(shown, str(exc).removeprefix(f"{shown}: ")))
    if not parts:
        raise SourceError("; ".join(f"{p.location}: {p.reason}" for p in problems))
    return parts, problems
