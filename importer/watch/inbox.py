"""What lies in the inbox: Takeout exports (parts grouped by name stamp) and unfinished downloads.

Google names the parts of one export `takeout-20260601T101010Z-001.zip`, `-002.zip`, …
(`.tgz` too); some flows add a number before the part (`takeout-…Z-1-001.zip`). Everything
sharing a stamp is read as one export: reading two halves together is harmless, reading
them apart would lose sidecars that sit in the other half. A browser's second download of
the same file gets a counter (`-001 (1).zip`); such copies form an export of their own,
which content identity then recognises as already imported. Any other archive is an
export of one part, named by its file.

A file is an unfinished download when a browser, sync or copy tool writes it under a
temporary name: a known suffix (`.crdownload`, `.part`, `.partial`, `.tmp`, …), Syncthing's
`~syncthing~`/`.syncthing.` names, or a hidden file carrying a Takeout stamp (rsync,
Nextcloud). One whose name has the stamp holds up that export only; one without (Chrome's
`Unconfirmed 123.crdownload`) holds up every export in its folder, since it may be the
last part.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from importer.sources.parts import TAR_SUFFIXES, ZIP_SUFFIXES

_PART = re.compile(
    r"^takeout-(?P<stamp>\d{8}T\d{6}Z)(?:-(?P<flow>\d{1,3}))?-(?P<number>\d{3,})"
    r"(?P<copy>\s?\(\d+\))?(?P<ext>\.zip|\.tgz|\.tar\.gz|\.tar)$",
    re.IGNORECASE,
)
_STAMP = re.compile(r"takeout-(\d{8}T\d{6}Z)", re.IGNORECASE)
TEMP_SUFFIXES = (".crdownload", ".part", ".partial", ".download", ".tmp", ".temp", ".!sync",
                 ".aria2", ".filepart", ".opdownload", ".!qb", ".!ut")
TEMP_PREFIXES = ("~syncthing~", ".syncthing.")
SKIPPED_FOLDERS = ("done",)
"""Top-level folders of the inbox that are never read (processed exports go to `done/`)."""


@dataclass(frozen=True)
class Seen:
    """One file in the inbox, as listed: `path` is relative to the inbox."""

    path: PurePosixPath
    size: int
    mtime_ns: int
    inode: int = 0

    @property
    def signature(self) -> tuple[str, int, int, int]:
        """Changes whenever the file grows, is rewritten or replaced."""
        return (str(self.path), self.size, self.mtime_ns, self.inode)


@dataclass(frozen=True)
class PartNumber:
    flow: int
    number: int

    def __str__(self) -> str:
        return f"{self.number:03d}" if self.flow == 0 else f"{self.flow}-{self.number:03d}"


@dataclass
class ExportGroup:
    """The files of one export as they lie in the inbox now."""

    key: str
    """Unique in the inbox: folder, stamp (or archive name) and copy counter."""
    parts: dict[Seen, PartNumber] = field(default_factory=dict)
    temps: list[Seen] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.key

    def missing(self) -> list[str]:
        """Part numbers absent below the highest one seen, per flow (`003`, `1-003`)."""
        by_flow: dict[int, set[int]] = {}
        for number in self.parts.values():
            by_flow.setdefault(number.flow, set()).add(number.number)
        gaps = []
        for flow, numbers in sorted(by_flow.items()):
            gaps += [str(PartNumber(flow, n)) for n in range(1, max(numbers) + 1)
                     if n not in numbers]
        return gaps

    def sorted_parts(self) -> list[Seen]:
        return sorted(self.parts, key=lambda s: (self.parts[s].flow, self.parts[s].number,
                                                 str(s.path)))

    def signature(self) -> tuple[tuple[str, int, int, int], ...]:
        return tuple(sorted(s.signature for s in (*self.parts, *self.temps)))


def is_archive(name: str) -> bool:
    return name.lower().endswith(ZIP_SUFFIXES + TAR_SUFFIXES)


def is_temp(name: str) -> bool:
    lower = name.lower()
    if lower.startswith(TEMP_PREFIXES) or lower.endswith(TEMP_SUFFIXES):
        return True
    return lower.startswith(".") and _STAMP.search(name) is not None


def _hidden(name: str) -> bool:
    return name.startswith((".", "@", "#"))  # .stfolder, Synology @eaDir, #recycle


def list_inbox(inbox: Path) -> list[Seen]:
    """Every file of the inbox that may be a part or a download in progress (recursive,
    skipping `done/` and hidden or system folders)."""
    found: list[Seen] = []
    for folder, dirs, files in os.walk(inbox):
        here = Path(folder)
        top = here == inbox
        dirs[:] = sorted(d for d in dirs
                         if not _hidden(d) and not (top and d in SKIPPED_FOLDERS))
        for name in sorted(files):
            if not (is_archive(name) or is_temp(name)):
                continue
            try:
                info = (here / name).stat()
            except OSError:
                continue  # gone between listing and stat: seen next cycle
            relative = PurePosixPath((here / name).relative_to(inbox).as_posix())
            found.append(Seen(relative, info.st_size, info.st_mtime_ns, info.st_ino))
    return found


def _part_key(seen: Seen) -> tuple[str, PartNumber] | None:
    name = seen.path.name
    if is_temp(name):
        return None
    match = _PART.match(name)
    folder = seen.path.parent.as_posix()
    prefix = "" if folder == "." else folder + "/"
    if match is None:
        return prefix + name, PartNumber(0, 1)
    copy = match["copy"].strip() if match["copy"] else ""
    key = f"{prefix}takeout-{match['stamp'].upper()}" + (f" {copy}" if copy else "")
    return key, PartNumber(int(match["flow"] or 0), int(match["number"]))


def group(files: Iterable[Seen]) -> tuple[list[ExportGroup], dict[str, list[Seen]]]:
    """Exports by key, and the unfinished downloads no export can be told from (by folder)."""
    groups: dict[str, ExportGroup] = {}
    temps: list[Seen] = []
    for seen in files:
        keyed = _part_key(seen)
        if keyed is None:
            temps.append(seen)
            continue
        key, number = keyed
        groups.setdefault(key, ExportGroup(key)).parts[seen] = number
    unattributed: dict[str, list[Seen]] = {}
    for temp in temps:
        owners = list(_owners(temp, groups.values()))
        for owner in owners:
            owner.temps.append(temp)
        if not owners and _STAMP.search(temp.path.name) is None:
            unattributed.setdefault(temp.path.parent.as_posix(), []).append(temp)
    return sorted(groups.values(), key=lambda g: g.key), unattributed


def _owners(temp: Seen, groups: Iterable[ExportGroup]) -> Iterator[ExportGroup]:
    stamp = _STAMP.search(temp.path.name)
    if stamp is None:
        return
    folder = temp.path.parent.as_posix()
    prefix = "" if folder == "." else folder + "/"
    wanted = f"{prefix}takeout-{stamp.group(1).upper()}"
    for candidate in groups:
        if candidate.key == wanted or candidate.key.startswith(wanted + " "):
            yield candidate
