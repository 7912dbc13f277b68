"""Benchmark: the importer's peak memory with big photos, into a fast and into a slow target.

    .venv/bin/python bench/bench_memory.py                        # 12 JPEGs of 250 MB
    .venv/bin/python bench/bench_memory.py --compare /work/main   # and the same for other code

Each photo is a JPEG without a camera date (so its EXIF gets the sidecar's date and place:
the rewrite is the costly case) followed by 250 MB of random bytes, as a motion photo
carries its video after the image. The export is a folder of Takeout files. Two runs:
into a folder library on the same disk (fast), and into the fake Immich in a process of its
own reading at most `--link-mbps` (slow: prepared photos pile up in front of it unless
something holds them back). Peak memory is the importer process's own VmHWM, printed by
the process itself at exit (bench/immich_peak.py says why not getrusage). Target: under
300 MB whatever the sizes.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.immich_report import machine  # noqa: E402
from bench.immich_runs import fake_immich  # noqa: E402
from bench.results import write_section  # noqa: E402
from tests.exportgen import PRODUCT, unique_jpeg  # noqa: E402

SECTION = "memory"
MB = 1 << 20
BLOCK = 16 * MB
TARGET_MB = 300


def write_export(root: Path, count: int, size: int) -> Path:
    """`count` big JPEGs with sidecars (date, place, caption) in a Takeout folder."""
    folder = root / PRODUCT / "Photos from 2021"
    folder.mkdir(parents=True)
    block = os.urandom(BLOCK)
    for n in range(count):
        name = f"PXL_2021070{n % 9 + 1}_1015{n:02d}.jpg"
        with (folder / name).open("wb") as out:
            out.write(unique_jpeg(f"big photo {n}"))
            for start in range(0, size, BLOCK):
                out.write(block[: min(BLOCK, size - start) - 1] + bytes([n % 256]))
        stamp = str(1625393700 + 3600 * n)
        sidecar = {"title": name, "description": f"big photo {n}", "url":
                   f"https://photos.google.com/photo/AF1QipBig{n:04d}",
                   "photoTakenTime": {"timestamp": stamp}, "creationTime": {"timestamp": stamp},
                   "geoData": {"latitude": 38.7139, "longitude": -9.1334, "altitude": 45.0}}
        (folder / f"{name}.supplemental-metadata.json").write_text(json.dumps(sidecar))
    return root


def peak_mb(code: Path, args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Peak RSS (MB) and wall time of one import run by the code under `code`."""
    runner = "; ".join([
        "import sys", f"sys.path.insert(0, {str(code)!r})", "from importer.cli import main",
        "code = main(sys.argv[1:])",
        "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM:')][0]",
        "print('peak-kib', hwm.split()[1], flush=True)", "sys.exit(code)"])
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", runner, *args], env=env,
                          capture_output=True, text=True, check=False)
    wall = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(f"import failed ({done.returncode}): {done.stderr[-2000:]}")
    last = done.stdout.strip().splitlines()[-1]
    return int(last.removeprefix("peak-kib ")) / 1024, wall


def measure(code: Path, root: Path, export: Path, link_mbps: float
            ) -> list[tuple[str, tuple[float, float]]]:
    env = {**os.environ}
    folder = peak_mb(code, ["import", str(export), "--to", f"folder:{root / 'lib'}",
                            "--state", str(root / "folder.sqlite")], env)
    shutil.rmtree(root / "lib")
    (root / "folder.sqlite").unlink()
    with fake_immich(cost=False, link_mbps=link_mbps) as fake:
        env["IMMICH_API_KEY"] = fake.key
        slow = peak_mb(code, ["import", str(export), "--to", f"immich:{fake.url}",
                              "--state", str(root / "immich.sqlite")], env)
    if fake.summary.get("problems"):
        raise SystemExit(f"the fake saw bad requests: {fake.summary['problems']}")
    (root / "immich.sqlite").unlink()
    return [("folder library (same disk)", folder),
            (f"fake Immich reading at most {link_mbps:g} Mbit/s", slow)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=12)
    parser.add_argument("--size-mb", type=int, default=250)
    parser.add_argument("--link-mbps", type=float, default=800.0)
    parser.add_argument("--compare", type=Path, help="another checkout to measure beside")
    parser.add_argument("--no-write", action="store_true", help="do not update RESULTS.md")
    args = parser.parse_args()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    at_start = f"{machine()}, load average {load} at the start"
    with tempfile.TemporaryDirectory(prefix="bench-memory-", dir=REPO / "bench") as scratch:
        root = Path(scratch)
        export = write_export(root / "export", args.count, args.size_mb * MB)
        rows = [(f"this code, {name}", figures)
                for name, figures in measure(REPO, root, export, args.link_mbps)]
        if args.compare:
            rows += [(f"`{args.compare}`, {name}", figures)
                     for name, figures in measure(args.compare, root, export, args.link_mbps)]
    lines = [
        "## Peak memory with big photos (issue 9)", "",
        f"Command: `.venv/bin/python bench/bench_memory.py --count {args.count} --size-mb "
        f"{args.size_mb} --link-mbps {args.link_mbps:g}"
        + (f" --compare {args.compare}" if args.compare else "") + "`", "",
        f"Machine: {at_start}.", "",
        f"Export: {args.count} JPEGs of {args.size_mb} MB each (no camera date: EXIF is "
        "written from the sidecar), 4 workers.", "",
        "| code, target | peak RSS (VmHWM) | wall time |", "|---|---:|---:|",
        *[f"| {name} | {mb:.0f} MB | {wall:.1f} s |" for name, (mb, wall) in rows], "",
        f"Target: peak RSS under {TARGET_MB} MB whatever the file sizes. A photo over 8 MB "
        "is never held: a JPEG's new header is spliced onto its original bytes while "
        "streaming (the bytes are read once more to hash them), and the prepared bytes held "
        "in memory are capped at 64 MB. Before, each rewritten photo was held in memory "
        "twice until sent.",
    ]
    print("\n".join(lines))
    if not args.no_write:
        write_section(SECTION, "\n".join(lines))


if __name__ == "__main__":
    main()
