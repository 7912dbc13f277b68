"""Benchmark: reading big album JSON (thousands of 2025 `enrichments`), zip and tgz.

    .venv/bin/python bench/bench_album_json.py

Writes one album folder per size (1 to 15 MB of JSON; the reader takes up to 16 MiB)
into a zip and a tgz part and times the reader's whole scan of each. Linear means the time
per MB stays flat; issue 9 measured 3 minutes for 4 MB before the traversal stopped being
quadratic. Writes its section of bench/RESULTS.md.
"""

from __future__ import annotations

import io
import json
import os
import platform
import sys
import tarfile
import tempfile
import time
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.results import write_section  # noqa: E402
from importer.config import TakeoutSettings  # noqa: E402
from importer.model import MediaItem  # noqa: E402
from importer.sources.takeout import TakeoutSource  # noqa: E402
from tests.exportgen import PRODUCT, unique_jpeg  # noqa: E402

ENRICHMENT_BYTES = 105  # one location enrichment as written below, roughly


def album_json(megabytes: int) -> bytes:
    count = megabytes * 1024 * 1024 // ENRICHMENT_BYTES
    places = [{"locationEnrichment": {"location": [
        {"latitudeE7": i, "longitudeE7": -i, "extra": {"zoom": [i, i]}}]}} for i in range(count)]
    places.append({"narrativeEnrichment": {"text": "The end"}})
    return json.dumps({"title": "Big", "date": {"timestamp": "1"},
                       "enrichments": places}).encode()


def write_part(path: Path, body: bytes) -> None:
    files = {f"{PRODUCT}/Big/metadata.json": body, f"{PRODUCT}/Big/IMG_1.jpg": unique_jpeg("1")}
    if path.suffix == ".zip":
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in files.items():
                archive.writestr(name, data)
        return
    with tarfile.open(path, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def scan_seconds(path: Path) -> float:
    start = time.perf_counter()
    source = TakeoutSource([path], TakeoutSettings())
    try:
        for event in source.scan():
            if isinstance(event, MediaItem):
                assert event.albums and event.albums[0].description == "The end"
                event.release()
    finally:
        source.close()
    return time.perf_counter() - start


def main() -> None:
    load = os.getloadavg()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for megabytes in (1, 4, 12):
            body = album_json(megabytes)
            enrichments = body.count(b"locationEnrichment")
            times = {}
            for suffix in (".zip", ".tgz"):
                path = Path(tmp) / f"part-{megabytes}{suffix}"
                write_part(path, body)
                times[suffix] = min(scan_seconds(path) for _ in range(3))
            rows.append(f"| {len(body) / 1e6:.1f} MB | {enrichments:,} | "
                        f"{times['.zip']:.2f} s | {times['.tgz']:.2f} s | "
                        f"{times['.zip'] / (len(body) / 1e6) * 1000:.0f} ms |")
            print(rows[-1], flush=True)
    text = "\n".join([
        "## Big album JSON (issue 9)", "",
        "Command: `.venv/bin/python bench/bench_album_json.py`  ",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} "
        "at the start", "",
        "| album JSON | enrichments | scan, zip part | scan, tgz part | zip per MB |",
        "|---|---:|---:|---:|---:|", *rows, "",
        "Before issue 9 the enrichment walk was quadratic: 4 MB took about 3 minutes.",
    ])
    write_section("album_json", text)


if __name__ == "__main__":
    main()
