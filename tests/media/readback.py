"""Read files (and their XMP sidecars) back with ExifTool, the independent reader Immich and
PhotoPrism both rely on, and work out what a gallery would show: a sidecar's values
override the file's own (Immich's rule), the file's EXIF/QuickTime values fill the rest."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

MEDIA = Path(__file__).parent


def read(*paths: Path, binary: bool = False) -> dict[Path, dict[str, Any]]:
    """ExifTool's numeric values (-n), grouped by family-1 group, for each path."""
    tool = shutil.which("exiftool")
    if tool is None:
        pytest.fail("exiftool is required: apt-get install libimage-exiftool-perl")
    args = [tool, "-j", "-n", "-G1", "-a", *(["-b"] if binary else [])]
    done = subprocess.run([*args, *map(str, paths)], capture_output=True, text=True,
                          check=False)
    assert done.returncode in (0, 1), done.stderr
    return {Path(row["SourceFile"]): row for row in json.loads(done.stdout)}


def sidecar_of(path: Path) -> Path:
    return path.with_name(path.name + ".xmp")


def read_with_sidecars(*files: Path) -> dict[Path, dict[str, Any]]:
    paths = [*files, *(sidecar_of(f) for f in files if sidecar_of(f).exists())]
    return read(*paths)


def parse_date(text: str) -> datetime:
    """ExifTool's "YYYY:MM:DD HH:MM:SS±HH:MM" -> aware datetime."""
    return datetime.fromisoformat(text[:10].replace(":", "-") + "T" + text[11:])


@dataclass(frozen=True)
class Shown:
    taken_at: datetime | None
    latitude: float | None
    longitude: float | None
    altitude: float | None
    description: str | None
    from_sidecar: frozenset[str]


def _file_date(tags: dict[str, Any]) -> datetime | None:
    original = tags.get("ExifIFD:DateTimeOriginal")
    offset = tags.get("ExifIFD:OffsetTimeOriginal")
    if original and offset:
        return parse_date(f"{original}{offset}")
    created = tags.get("Keys:CreationDate")
    return parse_date(created) if created else None


def shown(file: Path, tags: dict[Path, dict[str, Any]]) -> Shown:
    own = tags[file]
    side = tags.get(sidecar_of(file), {})
    used: set[str] = set()

    def pick(side_key: str, own_value: Any, field: str) -> Any:
        if side_key in side:
            used.add(field)
            return side[side_key]
        return own_value

    date_text = pick("XMP-exif:DateTimeOriginal", None, "taken_at")
    caption = pick("XMP-dc:Description", own.get("IFD0:ImageDescription"), "description")
    return Shown(
        taken_at=parse_date(date_text) if date_text else _file_date(own),
        latitude=pick("XMP-exif:GPSLatitude", own.get("Composite:GPSLatitude"), "location"),
        longitude=pick("XMP-exif:GPSLongitude", own.get("Composite:GPSLongitude"), "location"),
        altitude=side.get("Composite:GPSAltitude", own.get("Composite:GPSAltitude")),
        description=str(caption) if caption is not None else None,
        from_sidecar=frozenset(used),
    )
