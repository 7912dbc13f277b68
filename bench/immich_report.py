"""The Immich benchmark's section of bench/RESULTS.md: tables, targets, calibration."""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import statistics
import sys
from pathlib import Path

import httpx

from bench.immich_export import MixedExport
from bench.immich_runs import Run

MB = 1 << 20
NAMES = {
    "raw": "raw baseline: POST per file, fields first, no header, no hashing",
    "wire": "the same POST, file part first + `x-immich-checksum` (our wire shape before)",
    "cli": "@immich/cli pattern: hash all, bulk check, upload, albums",
    "ours": "gphotos-importer, default settings (uploads at once adapt: 1 to 2x workers)",
    "ours re-run": "gphotos-importer re-run, nothing new",
    "fixed": "gphotos-importer, uploads at once fixed at `--workers` "
             "(`immich.adaptive: false`)",
    "fixed re-run": "the same, re-run",
    "before": "gphotos-importer, the `--before` checkout",
    "before re-run": "the `--before` checkout's re-run",
}
REAL = {"raw": "7.3–10.2 s (100%)", "wire": "10.7–10.9 s (70–95%)",
        "cli": "11.8–18.0 s (55–80%)", "ours": "12.8–21 s (50–80%, before issue 14)"}


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
    return (f"{cpu}, {os.cpu_count()} cores{memory}; {platform.system()} "
            f"{platform.release()}; Python {platform.python_version()}; httpx {httpx.__version__}")


def median(runs: list[Run], attr: str = "wall") -> float:
    return float(statistics.median(getattr(r, attr) for r in runs))


def per_item(run: Run, items: int) -> str:
    uploads = run.requests.get("POST /assets", 0)
    other = run.total_requests - uploads
    return f"{run.total_requests / items:.2f} ({uploads} uploads + {other} other)"


def race_table(runs: dict[str, list[Run]], items: int, real: bool) -> list[str]:
    raw = median(runs["raw"]) if "raw" in runs else None
    head = ("| client | median s | range s | share of raw | client CPU s | server CPU s "
            "| requests per item | peak RSS | load |")
    rule = "|---|---:|---:|---:|---:|---:|---|---:|---:|"
    if real:
        head += " real Immich v3.1.0 (issue 14) |"
        rule += "---|"
    lines = [head, rule]
    for client, group in runs.items():
        wall = median(group)
        share = f"{raw / wall:.0%}" if raw and not client.endswith("re-run") else ""
        peaks = [r.peak_rss for r in group if r.peak_rss]
        row = (f"| {NAMES.get(client, client)} | {wall:.2f} | "
               f"{min(r.wall for r in group):.2f}–{max(r.wall for r in group):.2f} | {share} | "
               f"{median(group, 'client_cpu'):.2f} | {median(group, 'server_cpu'):.2f} | "
               f"{per_item(group[0], items)} | "
               f"{f'{max(peaks) / MB:.0f} MB' if peaks else ''} | "
               f"{min(r.load for r in group):.1f}–{max(r.load for r in group):.1f} |")
        if real:
            row += f" {REAL.get(client, '')} |"
        lines.append(row)
    return lines


def targets(runs: dict[str, list[Run]], rerun: list[Run] | None, peak: Run | None,
            workers: int) -> list[str]:
    lines = []
    if "ours" in runs and "raw" in runs:
        share = median(runs["raw"]) / median(runs["ours"])
        lines.append(f"- import ≥ 95% of the raw baseline: {share:.0%} "
                     f"({'met' if share >= 0.95 else 'NOT met'}; default settings)")
    if "fixed" in runs and "raw" in runs:
        share = median(runs["raw"]) / median(runs["fixed"])
        lines.append(f"  - with uploads at once fixed at the baseline's {workers}: "
                     f"{share:.0%}")
    if "ours" in runs and "cli" in runs:
        faster = median(runs["ours"]) < median(runs["cli"])
        lines.append(f"- faster than the @immich/cli pattern: {median(runs['ours']):.2f} s vs "
                     f"{median(runs['cli']):.2f} s ({'met' if faster else 'NOT met'})")
    peaks = [r.peak_rss for group in runs.values() for r in group if r.peak_rss]
    if peak is not None and peak.peak_rss:
        peaks.append(peak.peak_rss)
    if peaks:
        top = max(peaks) / MB
        lines.append(f"- peak RSS < 150 MB: {top:.0f} MB ({'met' if top < 150 else 'NOT met'})")
    if rerun:
        share = rerun[1].wall / rerun[0].wall
        lines.append(f"- re-run < 2% of the first run ({rerun[0].client}): {rerun[1].wall:.2f} s"
                     f" of {rerun[0].wall:.1f} s = {share:.1%} "
                     f"({'met' if share < 0.02 else 'NOT met'})")
    return lines


def report(args: argparse.Namespace, export: MixedExport, costed: dict[str, list[Run]],
           linked: dict[str, list[Run]] | None, rerun: list[Run] | None,
           peak: Run | None) -> str:
    items, size = len(export.media), export.total_bytes / MB
    lines = [
        "## Immich: importer vs. raw baseline vs. @immich/cli pattern (issues 5, 14)", "",
        "Command: `" + " ".join([".venv/bin/python bench/bench_immich.py", *sys.argv[1:]]) + "`",
        "", f"Machine: {machine()}. The load column is the 1-minute load average at the "
        "start of each run (2 cores: above 2 means other work competed).", "",
        f"Export: {args.photos} JPEGs of ~{args.photo_mb:g} MB (no EXIF date: the sidecar's "
        f"goes in) and {args.videos} MP4s of {args.video_mb:g} MB ({items} items, {size:.0f} "
        f"MB) in {args.parts} stored zip parts, each with its sidecar; ~20% favorites, ~10% "
        f"archived, ~20% of photos in 3 albums. {args.workers} workers/connections. Each run: "
        "a fresh fake Immich v3 (own process, empty account), the client as a process of its "
        f"own, start-up included, bytecode cached as after `pip install`; {args.rounds} "
        "rounds, client order rotating.", "",
        f"Fake Immich with the cost model (scale {args.cost_scale:g}; calibration below):", "",
        *race_table(costed, items, real=True), "",
    ]
    if linked is not None:
        lines += [f"Fake Immich without cost model, reading at most {args.link_mbps:g} Mbit/s "
                  "(all connections together), like a network link:", "",
                  *race_table(linked, items, real=False), "",
                  "(A server that answers at once and a run of ~3 s: what shows here is "
                  "start-up, about 0.5 s more than the raw client's: imports, connecting, "
                  "listing the export, the first look-up.)", ""]
    if rerun:
        lines += [f"Re-run: {rerun[0].client} ({args.rerun_photo_mb:g} MB photos, cost model) "
                  f"imported in {rerun[0].wall:.1f} s ({per_item(rerun[0], args.rerun_items)} "
                  f"requests per item), then run again with nothing new: {rerun[1].wall:.2f} s, "
                  f"{rerun[1].total_requests} requests (load {rerun[1].load:.1f}).", ""]
    if peak is not None and peak.peak_rss:
        lines += [f"Peak memory importing one {args.big_video_mb} MB video: "
                  f"{peak.peak_rss / MB:.0f} MB.", ""]
    if "ours" in costed:
        routes = costed["ours"][0].requests
        lines += ["Our import's requests (first round): " + ", ".join(
            f"{route} {count}" for route, count in sorted(routes.items(), key=lambda kv: -kv[1])
        ) + ".", ""]
    lines += ["Targets (issue 14):", *targets(costed, rerun, peak, args.workers), "", CALIBRATION]
    return "\n".join(lines)


CALIBRATION = """\
Calibration of the cost model (tests/fakes/immich_cost.py). Issue 14 measured a real Immich
v3.1.0 on 2 shared cores, background queues paused, 240 JPEGs of ~0.45 MB + 4 MP4s of 31 MB
at concurrency 4 (last column above). Immich's upload path, read from its services, makes
one database round trip for the API key, one more for `x-immich-checksum` (before it reads
the body), and about four to store the asset (insert asset and EXIF row, storage usage,
queue the metadata job); its JavaScript runs on one thread. The model charges:
event-loop CPU 1.5 ms per request + 4 ms per upload + 4 ms per MB (serialized, burned for
real in the fake's process, competing with the client for the 2 cores); a database round
trip of 20 ms (2 ms of it CPU, 10 connections); and 4 ms + 4 ms/MB of disk wait per upload.
The round-trip time is fitted so that the raw baseline lands inside the real 7.3–10.2 s
and the old wire shape (one more round trip per upload) near the real 10.7–10.9 s; the
`wire` row checks that fit on every run. Answers of other endpoints follow from their round
trips (`COSTS`): a bulk check ~50 ms, an album add ~120 ms, an asset update ~120 ms.
The fake's own Python work (multipart parsing, SHA-1, writing the file) comes on top, as
Immich's does. Not modelled: the order of form fields (Immich's cost for fields after the
file is unknown, so the model charges nothing for it).
How the model scales past 4 uploads at once is its own assumption (the issue measured 4
only): round trips overlap up to the 10 database connections, the event loop and the 2
cores do not. The raw baseline took 20.1 s at 2, 10.7–11.4 s at 4, 7.5–8.5 s at 8 and
7.7 s at 12 uploads at once (load about 5), so the adaptive default settles near 6–7 here;
on a server that queues sooner it stays lower (tests/test_concurrency.py). At a fixed 4,
our import trails the raw baseline by 0.4–0.8 s (measured while issue 14 was built and
again after it was fitted into issue 9's pipeline): ~0.1 s more start-up (imports), ~0.2 s
to the first upload (connecting, listing the export, loading the time-zone data for the
first GPS position, the first look-up) and slightly fewer uploads in flight (3.7 instead
of 3.8 on average: our client has more threads wanting the interpreter lock)."""
