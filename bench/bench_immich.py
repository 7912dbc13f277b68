"""Benchmark: importing a generated export into the fake Immich over loopback, beside a raw
baseline that streams the same bytes with the same concurrency and does nothing else.

    .venv/bin/python bench/bench_immich.py            # writes its section of bench/RESULTS.md

Measured: items/s and MB/s of a first import (reading the zip parts, hashing, metadata,
uploads, album adds, date/place/caption updates), the same for the baseline (multipart
POSTs of each media member straight from the zips), the re-run with nothing new, and the
importer's peak memory (its own process, os.wait4) while importing one huge video. Each
phase gets a fresh fake Immich in a separate process, so the server's work does not share
the importer's interpreter lock, and the baseline's uploads cannot dedupe the import's.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402

from adapters.immich.multipart import FilePart, MultipartBody, TextPart  # noqa: E402
from bench.immich_export import (  # noqa: E402
    Media,
    MixedExport,
    write_big_video_export,
    write_mixed_export,
)
from bench.results import write_section  # noqa: E402
from importer.cli import main as cli_main  # noqa: E402

SECTION = "immich"
MB = 1 << 20


@dataclass
class Phase:
    wall: float
    client_cpu: float
    server_cpu: float


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass
class FakeProcess:
    process: subprocess.Popen[str]
    url: str
    key: str

    def cpu(self) -> float:
        """CPU seconds the fake's process has used so far (Linux /proc accounting)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def timed(self, run: Callable[[], float]) -> Phase:
        """Run a phase; wall time, this process's CPU and the server's CPU during it."""
        server_before, client_before = self.cpu(), cpu_seconds()
        wall = run()
        return Phase(wall, cpu_seconds() - client_before, self.cpu() - server_before)

    @classmethod
    @contextlib.contextmanager
    def running(cls, link_mbps: float = 0.0) -> Iterator[FakeProcess]:
        command = [sys.executable, str(REPO / "bench/immich_fake_process.py"),
                   "--link-mbps", str(link_mbps)]
        process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                   text=True)
        assert process.stdout is not None and process.stdin is not None
        info = json.loads(process.stdout.readline())
        fake = cls(process, info["url"], info["key"])
        try:
            yield fake
        finally:
            process.stdin.close()
            summary = json.loads(process.stdout.readline() or "{}")
            process.wait(timeout=120)
            if summary.get("problems"):
                raise SystemExit(f"the fake saw bad requests: {summary['problems']}")


# -- the raw baseline ---------------------------------------------------------------------

class ZipOpeners:
    """One open ZipFile per part per thread (as the importer reads parts in place)."""

    def __init__(self) -> None:
        self._local = threading.local()

    def opener(self, media: Media) -> Any:
        def open_member() -> IO[bytes]:
            archives: dict[Path, zipfile.ZipFile] = self._local.__dict__.setdefault("zips", {})
            if media.part not in archives:
                archives[media.part] = zipfile.ZipFile(media.part)
            return archives[media.part].open(media.member)

        return open_member


def raw_baseline(export: MixedExport, url: str, key: str, workers: int) -> float:
    """Multipart POST of every media member, nothing else: no hashing, no metadata."""
    zips = ZipOpeners()
    limits = httpx.Limits(max_connections=workers, max_keepalive_connections=workers)
    client = httpx.Client(base_url=f"{url}/api", headers={"x-api-key": key}, limits=limits,
                          timeout=600)
    stamp = "2020-01-01T00:00:00Z"

    def send(media: Media) -> None:
        body = MultipartBody([
            FilePart("assetData", media.name, media.mime, media.size, zips.opener(media)),
            TextPart("fileCreatedAt", stamp), TextPart("fileModifiedAt", stamp),
            TextPart("filename", media.name)])
        answer = client.post("/assets", content=iter(body), headers=body.headers())
        assert answer.status_code == 201, answer.text

    start = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(send, export.media))
    elapsed = time.perf_counter() - start
    client.close()
    return elapsed


# -- the importer -------------------------------------------------------------------------

def import_once(export: MixedExport, url: str, key: str, state: Path,
                workers: int) -> tuple[float, str]:
    os.environ["IMMICH_API_KEY"] = key
    args = ["import", *map(str, export.parts), "--to", f"immich:{url}", "--state", str(state),
            "--workers", str(workers)]
    out = io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stdout(out):
        code = cli_main(args)
    elapsed = time.perf_counter() - start
    if code != 0:
        raise SystemExit(f"import failed ({code}):\n{out.getvalue()}")
    return elapsed, out.getvalue()


def peak_memory_importing(export: MixedExport, url: str, key: str, state: Path) -> int:
    """Peak resident memory (bytes) of an importer process (see bench/immich_peak.py)."""
    env = {**os.environ, "IMMICH_API_KEY": key}
    command = [sys.executable, str(REPO / "bench/immich_peak.py"), "import",
               *map(str, export.parts), "--to", f"immich:{url}", "--state", str(state)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"big-video import failed ({done.returncode}): {done.stderr}")
    last = done.stdout.strip().splitlines()[-1]
    return int(last.removeprefix("peak-kib ")) * 1024


# -- reporting ----------------------------------------------------------------------------

def machine() -> str:
    cpu = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = ""
    with contextlib.suppress(OSError, IndexError):
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kb / 1024 / 1024:.0f} GB RAM"
    load = ", load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    return (f"{cpu}, {os.cpu_count()} cores{memory}; {platform.system()} "
            f"{platform.release()}; Python {platform.python_version()}; "
            f"httpx {httpx.__version__}{load} at start")


Measured = tuple[Phase, Phase, Phase, str]


def table(export: MixedExport, measured: Measured) -> list[str]:
    items, size = len(export.media), export.total_bytes / MB
    baseline, first, rerun, _ = measured

    def row(name: str, phase: Phase, versus: str) -> str:
        return (f"| {name} | {phase.wall:.2f} | {items / phase.wall:.1f} | "
                f"{size / phase.wall:.1f} | {versus} | {phase.client_cpu:.2f} | "
                f"{phase.server_cpu:.2f} |")

    return [
        "| run | seconds | items/s | MB/s | vs. baseline | client CPU s | server CPU s |",
        "|---|---:|---:|---:|---:|---:|---:|",
        row("raw baseline (multipart POSTs only)", baseline, "100%"),
        row("import (hashing, metadata, albums)", first, f"{baseline.wall / first.wall:.0%}"),
        f"| re-run, nothing new | {rerun.wall:.3f} | | | {rerun.wall / first.wall:.1%} of the "
        f"import | {rerun.client_cpu:.2f} | {rerun.server_cpu:.2f} |",
    ]


def report(args: argparse.Namespace, export: MixedExport, loopback: Measured,
           linked: Measured | None, peak: int | None) -> str:
    items, size = len(export.media), export.total_bytes / MB
    requests = next((x.strip() for x in loopback[3].splitlines() if "http requests" in x), "")
    lines = [
        "## Immich adapter (issue 5)", "",
        "Command: `" + " ".join([".venv/bin/python bench/bench_immich.py", *sys.argv[1:]]) + "`",
        "", f"Machine: {machine()}.", "",
        f"Export: {args.photos} photos of ~{args.photo_mb:g} MB and {args.videos} videos of "
        f"{args.video_mb:g} MB ({items} items, {size:.0f} MB) in {args.parts} stored zip "
        f"parts, ~20% of photos in albums; {args.workers} workers; a fresh fake Immich v3 in "
        "its own process for each run.", "",
        f"Loopback, as fast as the two processes go (best of {args.repeat} rounds):", "",
        *table(export, loopback), "",
    ]
    if linked is not None:
        lines += [f"The server reading at most {args.link_mbps:g} Mbit/s (all connections "
                  "together), like a network link:", "", *table(export, linked), ""]
    lines.append(f"Re-run: {requests}." if requests else "")
    if peak is not None:
        lines.append(f"Peak memory (RSS, whole importer process) importing one "
                     f"{args.big_video_mb} MB video: {peak / MB:.0f} MB.")
    lines += ["", "Targets: import ≥ 90% of the baseline; re-run < 2% of the import; peak "
              "memory < 150 MB with a 2 GB video (the load average above says how quiet the "
              "machine was).", "", NOTE]
    return "\n".join(lines)


NOTE = (
    "Reading the figures: over loopback, with importer and fake server on the same cores, "
    "both sides are CPU-bound, so compare the CPU columns. The import's extra client CPU is "
    "work the baseline skips: SHA-1 of every byte before the upload (twice for JPEGs that "
    "get their date written into EXIF), reading each zip member twice (with its CRC check), "
    "rewriting JPEGs (date, GPS and caption into EXIF), and the state and report. "
    "Behind a link, that work overlaps with the transfer. Over loopback it cannot: the two "
    "processes saturate both cores, the fake server alone needing about as much CPU as in "
    "the baseline, so the client's extra CPU shows up one for one in the wall time. The "
    "SHA-1 before the upload is required (bulk-upload-check and `x-immich-checksum`); "
    "hashing 820 MB costs about 0.45 CPU-seconds, which by itself caps loopback near 86% "
    "of this baseline on 2 cores even if nothing else cost anything. The re-run's time is "
    "almost all reading the export (zip listings, sidecars); the adapter sends two "
    "requests."
)


def measure_round(args: argparse.Namespace, export: MixedExport, state: Path,
                  link: float) -> tuple[Phase, Phase, Phase, str]:
    with FakeProcess.running(link) as fake:
        base = fake.timed(lambda: raw_baseline(export, fake.url, fake.key, args.workers))
    with FakeProcess.running(link) as fake:
        first = fake.timed(lambda: import_once(export, fake.url, fake.key, state,
                                               args.workers)[0])
        outputs: list[str] = []

        def again() -> float:
            wall, out = import_once(export, fake.url, fake.key, state, args.workers)
            outputs.append(out)
            return wall

        rerun = fake.timed(again)
    return base, first, rerun, outputs[0]


def measure(args: argparse.Namespace, work: Path, export: MixedExport, link: float = 0.0,
            repeat: int = 1) -> tuple[Phase, Phase, Phase, str]:
    """Best of `repeat` rounds for each phase (the least disturbed by other load)."""
    best: list[Phase] = []
    rerun_out = ""
    for round_ in range(repeat):
        state = work / f"state-{link:g}-{round_}.sqlite"
        *phases, out = measure_round(args, export, state, link)
        if not best:
            best, rerun_out = list(phases), out
            continue
        for i, phase in enumerate(phases):
            if phase.wall < best[i].wall:
                best[i] = phase
                rerun_out = out if i == 2 else rerun_out
    return best[0], best[1], best[2], rerun_out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=int, default=400)
    parser.add_argument("--videos", type=int, default=12)
    parser.add_argument("--photo-mb", type=float, default=1.0)
    parser.add_argument("--video-mb", type=float, default=35.0)
    parser.add_argument("--parts", type=int, default=2)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=3, help="rounds; the best of each counts")
    parser.add_argument("--link-mbps", type=float, default=1000.0,
                        help="also measure with the server reading at most this many Mbit/s "
                             "(0: skip)")
    parser.add_argument("--big-video-mb", type=int, default=2048,
                        help="size of the video for the memory measurement (0: skip)")
    parser.add_argument("--no-write", action="store_true", help="print, do not write RESULTS.md")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-immich-"))
    try:
        export = write_mixed_export(work / "export", args.photos, args.videos, args.photo_mb,
                                    args.video_mb, args.parts)
        loopback = measure(args, work, export, repeat=args.repeat)
        linked = measure(args, work, export, link=args.link_mbps) if args.link_mbps else None
        peak = None
        if args.big_video_mb:
            shutil.rmtree(work / "export")
            big = write_big_video_export(work / "big", args.big_video_mb)
            with FakeProcess.running() as fake:
                peak = peak_memory_importing(big, fake.url, fake.key, work / "big.sqlite")
        text = report(args, export, loopback, linked, peak)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(text)
    if not args.no_write:
        write_section(SECTION, text)


if __name__ == "__main__":
    main()
