"""Cost of the metadata step in prepare(): `python bench/metadata.py` (writes its section
of bench/RESULTS.md). Compares each case with hashing the same bytes alone, the floor
prepare() cannot go below.

Cases: a 12-megapixel-class JPEG without EXIF (date, GPS, caption inserted and audited),
the same JPEG whose EXIF already holds everything (read only), a 1 GiB MP4 streamed with
its moov box at the end (collected while hashing), and GPS time zone look-ups.
"""

from __future__ import annotations

import hashlib
import io
import os
import platform
import random
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from PIL import Image  # noqa: E402

from bench import results  # noqa: E402
from importer.metadata import tz  # noqa: E402
from importer.model import DateSource, GeoPoint, MediaFile, MediaType, Metadata  # noqa: E402
from importer.prepare import prepare_file  # noqa: E402

NAME = "metadata"
META = Metadata(taken_at=datetime(2019, 7, 4, 9, 15, tzinfo=UTC),
                taken_at_source=DateSource.SIDECAR, location=GeoPoint(38.7139, -9.1334, 45.0),
                description="Tram 28 in Alfama")


def big_jpeg() -> bytes:
    rng = random.Random(1)
    image = Image.frombytes("RGB", (4000, 3000), rng.randbytes(4000 * 3000 * 3))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    return out.getvalue()


class ZeroMovie(io.RawIOBase):
    """ftyp + a 1 GiB mdat of zeros + a small moov, generated on the fly (no disk)."""

    def __init__(self, size: int, moov: bytes) -> None:
        head = b"\0\0\0\x14ftypisom\0\0\x02\0isom" + (size + 8).to_bytes(4, "big") + b"mdat"
        self.parts = [head, size, moov]
        self.total = len(head) + size + len(moov)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while self.parts:
            part = self.parts[0]
            if isinstance(part, int):
                n = min(part, len(buffer))
                buffer[:n] = bytes(n)
                self.parts[0] = part - n
            else:
                n = min(len(part), len(buffer))
                buffer[:n] = part[:n]
                self.parts[0] = part[n:]
            if not self.parts[0]:
                self.parts.pop(0)
            if n:
                return n
        return 0


def timed(fn: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def file_of(name: str, opener: Callable[[], io.IOBase], size: int) -> MediaFile:
    return MediaFile(name, name, size, MediaType.PHOTO, "x", opener)  # type: ignore[arg-type]


def main() -> None:
    jpeg = big_jpeg()
    plain = file_of("big.jpg", lambda: io.BytesIO(jpeg), len(jpeg))
    prepared, _, _ = prepare_file(plain, META)
    with prepared.opener() as stream:
        complete_bytes = stream.read()
    complete = file_of("done.jpg", lambda: io.BytesIO(complete_bytes), len(complete_bytes))
    moov = (ROOT / "tests/media/iphone.mov").read_bytes()[20:]
    moov = moov[:int.from_bytes(moov[:4], "big")]
    movie_size = 1 << 30
    movie = file_of("big.mp4", lambda: io.BufferedReader(ZeroMovie(movie_size, moov), 1 << 20),
                    movie_size)
    hash_jpeg = timed(lambda: hashlib.sha1(jpeg).hexdigest(), 5)
    rows = [
        ("JPEG %.1f MB, no EXIF: insert + audit" % (len(jpeg) / 1e6),
         timed(lambda: prepare_file(plain, META), 5), hash_jpeg),
        ("same JPEG, EXIF complete: read only", timed(lambda: prepare_file(complete, META), 5),
         hash_jpeg),
        ("MP4 1 GiB streamed, moov at the end", timed(lambda: prepare_file(movie, META), 1),
         timed(lambda: _hash_stream(ZeroMovie(movie_size, moov)), 1)),
    ]
    rng = random.Random(2)
    points = [GeoPoint(rng.uniform(-60, 70), rng.uniform(-180, 180)) for _ in range(20_000)]
    tz.zone_at(points[0])
    lookups = timed(lambda: [tz.zone_at(p) for p in points], 1)
    write_section(rows, len(points) / lookups)


def _hash_stream(stream: io.RawIOBase) -> str:
    digest = hashlib.sha1(usedforsecurity=False)
    reader = io.BufferedReader(stream, 1 << 20)
    while chunk := reader.read(1 << 20):
        digest.update(chunk)
    return digest.hexdigest()


def write_section(rows: list[tuple[str, float, float]], lookups_per_s: float) -> None:
    lines = [
        f"## {NAME}", "",
        "`python bench/metadata.py` — " + f"{platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"{datetime.now(UTC):%Y-%m-%d}, load average {os.getloadavg()[0]:.2f}", "",
        "| case | prepare_file | hashing alone | overhead |", "|---|---|---|---|",
        *(f"| {name} | {t * 1000:.1f} ms | {h * 1000:.1f} ms | {t / h:.2f}x |"
          for name, t, h in rows),
        "", f"GPS time zone look-ups: {lookups_per_s:,.0f}/s (one thread, random land+sea).",
    ]
    section = "\n".join(lines)
    results.write_section(NAME, section)
    print(section)


if __name__ == "__main__":
    main()
