"""A multipart/form-data body streamed from the source, with an exact Content-Length.

Why not httpx's own `files=`: it sends data fields before files (Immich v2.3–v2.4 then
rejects an XMP sidecar when the `filename` field came first, see the contract notes), and
it seeks to the end of each stream to learn its length, which for a member of a Takeout
zip means reading it twice. Here parts go in the order given, sizes come from what
`prepare` measured, and a file is read in 256 kB pieces as the socket takes them (larger
pieces cost more CPU: the HTTP stack copies what a partial `send` left over).
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from importer.model import Opener

CHUNK = 1 << 18
_BOUNDARIES = random.Random()


class SourceChanged(Exception):
    """The file did not have the size `prepare` measured: it changed under us."""


@dataclass(frozen=True)
class FilePart:
    name: str
    filename: str
    content_type: str
    size: int
    opener: Opener


@dataclass(frozen=True)
class TextPart:
    name: str
    value: str


Part = FilePart | TextPart


def _quote(value: str) -> str:
    """HTML's form encoding of a header parameter: the name stays readable UTF-8."""
    return value.replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


class MultipartBody:
    """One request's body; iterate it once per attempt (build a new one for a retry)."""

    def __init__(self, parts: Sequence[Part], boundary: str | None = None) -> None:
        self.parts = list(parts)
        self.boundary = boundary or f"gphotos-importer-{_BOUNDARIES.getrandbits(96):024x}"
        self._heads = [self._head(p) for p in self.parts]
        self._tail = f"--{self.boundary}--\r\n".encode()

    def _head(self, part: Part) -> bytes:
        disposition = f'form-data; name="{_quote(part.name)}"'
        lines = [f"--{self.boundary}"]
        if isinstance(part, FilePart):
            disposition += f'; filename="{_quote(part.filename)}"'
            lines += [f"Content-Disposition: {disposition}", f"Content-Type: {part.content_type}"]
        else:
            lines.append(f"Content-Disposition: {disposition}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    @property
    def length(self) -> int:
        total = len(self._tail)
        for head, part in zip(self._heads, self.parts, strict=True):
            body = part.size if isinstance(part, FilePart) else len(part.value.encode("utf-8"))
            total += len(head) + body + 2
        return total

    def headers(self) -> dict[str, str]:
        return {"Content-Type": self.content_type, "Content-Length": str(self.length)}

    def __iter__(self) -> Iterator[bytes]:
        for head, part in zip(self._heads, self.parts, strict=True):
            yield head
            if isinstance(part, FilePart):
                yield from _file_chunks(part)
            else:
                yield part.value.encode("utf-8")
            yield b"\r\n"
        yield self._tail


def _file_chunks(part: FilePart) -> Iterator[bytes]:
    sent = 0
    with part.opener() as stream:
        while chunk := stream.read(min(CHUNK, part.size - sent + 1)):
            sent += len(chunk)
            if sent > part.size:
                break
            yield chunk
    if sent != part.size:
        raise SourceChanged(f"{part.filename}: expected {part.size} bytes, read "
                            f"{'more' if sent > part.size else sent}")
