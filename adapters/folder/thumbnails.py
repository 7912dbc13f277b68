"""Previews for the folder library: the file itself when a browser can show it, else a
placeholder naming the file's type (videos, HEIC, RAW), so the page never guesses."""

from __future__ import annotations

from html import escape
from pathlib import Path, PurePosixPath

from adapters.base import ThumbnailMissing
from importer.sources import mediatypes

MAX_BYTES = 32 << 20
"""Larger images are not sent whole to the page; it shows a placeholder instead."""
_BROWSER_KINDS = frozenset({mediatypes.JPEG, mediatypes.PNG, mediatypes.GIF, mediatypes.WEBP})


def browser_image(head: bytes) -> str | None:
    """MIME type of an image every browser shows, judged by content (never SVG, which can
    carry scripts)."""
    kind = mediatypes.sniff(head)
    return kind.mime if kind in _BROWSER_KINDS else None


def placeholder_svg(label: str) -> bytes:
    """A grey tile with a short label (a file type, "missing"): no script, no link."""
    text = escape(label[:12])
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="160" height="160" '
        'viewBox="0 0 160 160"><rect width="160" height="160" fill="#d9dde3"/>'
        '<text x="80" y="88" font-family="sans-serif" font-size="22" fill="#4a5160" '
        f'text-anchor="middle">{text}</text></svg>'
    ).encode()


class FolderThumbnails:
    """Remote ids are paths relative to the library root; nothing outside it is served."""

    def __init__(self, root: Path) -> None:
        self.root = root.expanduser().resolve()

    def thumbnail(self, remote_id: str) -> tuple[bytes, str]:
        path = self._inside(remote_id)
        with path.open("rb") as stream:
            head = stream.read(16)
        mime = browser_image(head)
        if mime is None or path.stat().st_size > MAX_BYTES:
            label = path.suffix.lstrip(".").upper() or "FILE"
            return placeholder_svg(label), "image/svg+xml"
        return path.read_bytes(), mime

    def _inside(self, remote_id: str) -> Path:
        relative = PurePosixPath(remote_id)
        if not remote_id or relative.is_absolute() or ".." in relative.parts:
            raise ThumbnailMissing(f"{remote_id!r} is not a path inside the library")
        path = (self.root / relative).resolve()
        if not path.is_relative_to(self.root) or not path.is_file():
            raise ThumbnailMissing(f"{remote_id} is not in the library {self.root}")
        return path

    def close(self) -> None:
        pass
