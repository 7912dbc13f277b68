"""Benchmark: a generated Takeout export into the fake PhotoPrism over loopback.

One command reproduces it and rewrites its own section of bench/RESULTS.md:

    .venv/bin/python bench/bench_photoprism.py [--items 1000] [--pad 100000] [--workers 4]

The fake runs in its own process (python -m tests.fakes.photoprism), the importer through
its command line in another, so neither steals the other's interpreter. Measured: the first
import (items/s, MB/s of file bytes sent, HTTP requests and imports used) and the re-run
that must find everything in the state and send nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.results import write_section  # noqa: E402
from tests.exportgen import make_items, write_zip_parts  # noqa: E402
from tests.fakes.photoprism import APP_PASSWORD  # noqa: E402

NAME = "photoprism"


def start_fake() -> tuple[subprocess.Popen[str], str]:
    fake = subprocess.Popen([sys.executable, "-m", "tests.fakes.photoprism"], cwd=REPO,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert fake.stdout is not None
    return fake, fake.stdout.readline().strip()


def run_import(sources: list[Path], url: str, state: Path, report: Path,
               workers: int) -> float:
    command = [sys.executable, "-m", "importer.cli", "import", *map(str, sources),
               "--to", f"photoprism:{url}", "--state", str(state), "--report", str(report),
               "--workers", str(workers)]
    env = {**os.environ, "PHOTOPRISM_TOKEN": APP_PASSWORD}
    started = time.perf_counter()
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True,
                          check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"import failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return elapsed


def machine() -> str:
    model = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        found = re.search(r"model name\s*:\s*(.+)", cpuinfo.read_text())
        model = found.group(1).strip() if found else model
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (f"{platform.system()} {platform.release()}, {os.cpu_count()} CPUs ({model}), "
            f"Python {platform.python_version()}, load average {load} at the start")


def measure(args: argparse.Namespace, work: Path) -> dict[str, float | int]:
    export = write_zip_parts(work / "parts", make_items(args.items, seed=5, pad=args.pad),
                             parts=4, seed=5)
    fake, url = start_fake()
    try:
        first = run_import(export.sources, url, work / "state.sqlite", work / "r1.json",
                           args.workers)
        again = run_import(export.sources, url, work / "state.sqlite", work / "r2.json",
                           args.workers)
    finally:
        if fake.stdin is not None:
            fake.stdin.close()
        fake.wait(timeout=30)
    report = json.loads((work / "r1.json").read_text())
    stats = report["target_stats"]
    rerun = json.loads((work / "r2.json").read_text())["target_stats"]
    return {"items": report["counts"].get("imported", 0), "bytes": report["bytes_sent"],
            "seconds": first, "rerun": again, "requests": stats.get("http_requests", 0),
            "batches": stats.get("photoprism_batches", 0),
            "rerun_requests": rerun.get("http_requests", 0)}


def section(args: argparse.Namespace, m: dict[str, float | int]) -> str:
    mb = m["bytes"] / 1e6
    command = (f".venv/bin/python bench/bench_photoprism.py --items {args.items} "
               f"--pad {args.pad} --workers {args.workers}")
    return "\n".join([
        "## PhotoPrism (fake server over loopback, separate process)",
        "",
        f"Command: `{command}`  ",
        f"Machine: {machine()}  ",
        "",
        "| measure | value |",
        "|---|---|",
        f"| items imported | {m['items']} ({mb:.1f} MB of files) |",
        f"| first import | {m['seconds']:.1f} s: {m['items'] / m['seconds']:.1f} items/s, "
        f"{mb / m['seconds']:.1f} MB/s |",
        f"| HTTP requests (first import) | {m['requests']} in {m['batches']} import batches |",
        f"| re-run (nothing new) | {m['rerun']:.2f} s, {m['rerun_requests']} HTTP requests |",
    ])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--pad", type=int, default=100_000, help="bytes added to each JPEG")
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-photoprism-") as tmp:
        figures = measure(args, Path(tmp))
    text = section(args, figures)
    write_section(NAME, text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
