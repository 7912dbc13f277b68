"""Benchmark: scan and match a 100,000-item Takeout export (small media), zip and tgz.

    .venv/bin/python bench/bench_scan.py [--items 100000] [--data DIR]

Builds the export once (cached under --data, default $TMPDIR/gphotos-bench-scan), then
scans it in a fresh child process per format, so wall time and peak RSS are the reader's
alone: listing every part, reading every JSON, pairing, merging album copies and, for
tgz, the second pass that spools each item's files (released at once, as the pipeline
would). Writes its section of bench/RESULTS.md. Targets (issue 3): zip under 30 s and
under 250 MB peak on a 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.results import write_section  # noqa: E402

NAME = "bench_scan"


def build(data: Path, items: int, fmt: str) -> list[Path]:
    folder = data / f"{fmt}-{items}"
    if not (folder / ".complete").exists():
        command = [sys.executable, __file__, "--build", str(folder), str(items), fmt]
        subprocess.run(command, check=True)
    return sorted(p for p in folder.iterdir() if p.suffix in (".zip", ".tgz"))


def build_child(folder: Path, items: int, fmt: str) -> None:
    from tests.exportgen import make_quirky_items, write_parts

    export = write_parts(folder, make_quirky_items(items, seed=1), fmt, parts=3, seed=1)
    (folder / ".complete").write_text(json.dumps({"files": len(export.files)}))


def child(parts: list[Path]) -> None:
    """Runs in its own process: scan everything, print figures as JSON."""
    from importer.config import TakeoutSettings
    from importer.model import MediaItem
    from importer.sources.takeout import TakeoutSource

    started = time.perf_counter()
    source = TakeoutSource(parts, TakeoutSettings())
    events = items = 0
    try:
        for event in source.scan():
            events += 1
            if isinstance(event, MediaItem):
                items += 1
                event.release()
    finally:
        source.close()
    elapsed = time.perf_counter() - started
    print(json.dumps({"seconds": round(elapsed, 1), "peak_mb": round(peak_rss_mb()),
                      "items": items, "events": events, **source.stats.as_dict()}))


def peak_rss_mb() -> float:
    """This process's own peak: VmHWM belongs to the address space, so unlike ru_maxrss
    (kept across exec on Linux) it does not inherit the parent's peak."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(parts: list[Path]) -> dict[str, float]:
    command = [sys.executable, __file__, "--child", *map(str, parts)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (f"{cpu}, {os.cpu_count()} cores, {memory:.0f} GiB RAM, "
            f"Python {platform.python_version()}, {platform.system()} {platform.release()}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--data", type=Path,
                        default=Path(tempfile.gettempdir()) / "gphotos-bench-scan")
    parser.add_argument("--child", nargs="+", type=Path)
    parser.add_argument("--build", nargs=3)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    if args.build:
        build_child(Path(args.build[0]), int(args.build[1]), args.build[2])
        return
    rows = []
    load = os.getloadavg()[0]
    for fmt in ("zip", "tgz"):
        parts = build(args.data, args.items, fmt)
        size = sum(p.stat().st_size for p in parts) / 2**20
        figures = measure(parts)
        rows.append(f"| {fmt} | {len(parts)} | {size:.0f} MB | {figures['files']:,} | "
                    f"{figures['items']:,} | {figures['seconds']} s | {figures['peak_mb']} MB |")
        print(rows[-1], flush=True)
    command = "python bench/bench_scan.py" + (
        f" --items {args.items}" if args.items != 100_000 else "")
    write_section(NAME, f"""## Takeout scan and match ({NAME})

Scanning and matching a {args.items:,}-item synthetic export (tests/exportgen.py
`make_quirky_items`: every naming quirk, edited copies, live photos, 5 albums) split into
3 parts; the whole reader per run (list, read every JSON, pair, merge album copies; for tgz
also the second pass spooling each item, released at once). Target for zip: < 30 s and
< 250 MB peak RSS on a 2-core machine.

| format | parts | size | files | items | wall time | peak RSS |
|---|---|---|---|---|---|---|
{chr(10).join(rows)}

Measured {time.strftime('%Y-%m-%d')} on {machine()}, load average {load:.2f} at the start.
Reproduce: `.venv/bin/{command}` (builds the export once under $TMPDIR).
""")


if __name__ == "__main__":
    main()
