"""Is an export whole, and what is it: read-to-the-end checks and content identity.

A part counts as whole when the archive reader gets through it to its end: a zip's
central directory is there and parses to its last record, a tgz decompresses to the
gzip end marker and ends with tar's end blocks. While reading, each part is summarised as
a digest of its format, size, every member's path and size, and its first and last 64 KiB
(a zip's end holds the central directory with every member's CRC, a gzip's end the CRC
of all its data). The export's identity is the digest of its parts' digests, sorted, so
the same export downloaded again under other names is the same export.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from importer.sources.parts import Problem, SourceError, open_part

SAMPLE = 1 << 16


@dataclass(frozen=True)
class PartCheck:
    digest: str | None
    problem: str | None = None

    @property
    def whole(self) -> bool:
        return self.problem is None


def _samples(path: Path, size: int) -> bytes:
    with path.open("rb") as fp:
        head = fp.read(SAMPLE)
        fp.seek(max(0, size - SAMPLE))
        return head + fp.read(SAMPLE)


def check_part(path: Path) -> PartCheck:
    """Read the part's listing to its end; its digest if whole, else what is wrong."""
    try:
        size = path.stat().st_size
        part = open_part(path)
    except OSError as exc:
        return PartCheck(None, f"cannot read: {exc.strerror or exc}")
    except SourceError as exc:
        return PartCheck(None, str(exc).removeprefix(f"{path}: "))
    digest = hashlib.sha256(f"{type(part).__name__}\n{size}\n".encode())
    try:
        for listed in part.entries(lambda name, length: 0):
            if isinstance(listed, Problem):
                if listed.location == part.name:
                    return PartCheck(None, listed.reason)
                continue  # a damaged member of a whole part: the import reports it
            entry = listed[0]
            digest.update(f"{entry.path}\0{entry.size}\n".encode())
        digest.update(_samples(path, size))
    except OSError as exc:
        return PartCheck(None, f"cannot read: {exc.strerror or exc}")
    finally:
        part.close()
    return PartCheck(digest.hexdigest())


def export_identity(part_digests: Iterable[str]) -> str:
    """The content identity of an export: independent of part names and order."""
    joined = "\n".join(sorted(part_digests))
    return "sha256:" + hashlib.sha256(joined.encode()).hexdigest()
