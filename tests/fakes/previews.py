"""Preview images the fake galleries render from their stored originals (Pillow), the way
the real servers' thumbnail jobs do; a video (no decoder here) gets a grey frame."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, UnidentifiedImageError


def render(original: Path, side: int, fmt: str) -> bytes:
    """The original scaled to fit `side` pixels, encoded as `fmt` (JPEG, WEBP)."""
    try:
        with Image.open(original) as image:
            image.load()
            frame = image.convert("RGB")
    except (UnidentifiedImageError, OSError):
        frame = Image.new("RGB", (side, side * 9 // 16), (60, 60, 60))
    frame.thumbnail((side, side))
    out = io.BytesIO()
    frame.save(out, fmt)
    return out.getvalue()
