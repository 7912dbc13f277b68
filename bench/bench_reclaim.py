"""Benchmark: `reclaim --apply` against the photos.google.com imitation, items per second
beside the pause setting.

One command reproduces it and rewrites its own section of bench/RESULTS.md:

    .venv/bin/python bench/bench_reclaim.py [--items 20] [--pauses 0,1,2]

A folder library with the items is imported, planned, and applied once per pause setting
(jitter 0, a fresh signed-in profile each time) by the command line in its own process,
driving Debian's Chromium. The imitation models Google's costs: every item page answers
after `--page-latency` seconds and the trash call after `--trash-latency` (real pages are
heavier still; the pause between items dominates at the settings people use). One more
run with no modelled latency and no pause shows the tool's own cost per item: two page
loads (open, then check the trash), the info panel, the dialog, the state record.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.bench_photoprism import machine  # noqa: E402
from bench.results import write_section  # noqa: E402
from tests.exportgen import TruthItem, write_folder  # noqa: E402
from tests.fakes.gphotos_web import GooglePhotosWeb  # noqa: E402

NAME = "reclaim"


def cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "importer.cli", *map(str, args)]
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)


def library(root: Path, n: int) -> tuple[str, Path, list[TruthItem]]:
    start = datetime(2018, 3, 1, tzinfo=UTC)
    items = [TruthItem(name=f"IMG_{i:05d}.jpg", url=f"https://photos.google.com/photo/B{i:05d}",
                       taken_at=start + timedelta(hours=i)) for i in range(n)]
    export = write_folder(root / "export", items)
    target, state = f"folder:{root / 'library'}", root / "state.sqlite"
    done = cli("import", *export.sources, "--to", target, "--state", state)
    if done.returncode != 0:
        raise SystemExit(f"import failed: {done.stderr}")
    return target, state, items


def one_run(root: Path, target: str, state: Path, items: list[TruthItem], pause: float,
            page_latency: float, trash_latency: float, tag: str) -> dict[str, float]:
    web = GooglePhotosWeb(latency=page_latency, trash_latency=trash_latency)
    url = web.start()
    try:
        for truth in items:
            web.add(truth.url.rsplit("/", 1)[1], truth.name, truth.taken_at)
        config = root / f"config-{tag}.yaml"
        config.write_text(json.dumps({"reclaim": {
            "base_url": url, "profile_dir": str(root / f"profile-{tag}"),
            "pause_seconds": pause, "pause_jitter_seconds": 0.0, "daily_cap": 100_000}}))
        common = ("--config", config, "--state", state)
        login = cli("login", "google", "--cookies", web.write_cookies_txt(root / "c.txt"),
                    *common)
        plan = root / f"plan-{tag}.json"
        planned = cli("reclaim", "--to", target, "--plan", plan, *common)
        if login.returncode or planned.returncode:
            raise SystemExit(f"set-up failed: {login.stderr}{planned.stderr}")
        started = time.perf_counter()
        applied = cli("reclaim", "--to", target, "--apply", plan, *common)
        elapsed = time.perf_counter() - started
        if applied.returncode != 0 or len(web.trashed_ids()) != len(items):
            raise SystemExit(f"apply failed: {applied.stdout}{applied.stderr}")
    finally:
        web.stop()
    _forget_trashes(state)
    return {"pause": pause, "elapsed": elapsed, "rate": len(items) / elapsed}


def _forget_trashes(state: Path) -> None:
    """The next run trashes the same items again (a fresh imitation, a fresh record)."""
    import sqlite3

    with sqlite3.connect(state) as db:
        db.execute('DELETE FROM "trashed"')
        db.execute('DELETE FROM "reclaim_outcomes"')


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=20)
    parser.add_argument("--pauses", default="0,1,2")
    parser.add_argument("--page-latency", type=float, default=0.4)
    parser.add_argument("--trash-latency", type=float, default=0.3)
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-reclaim-") as tmp:
        root = Path(tmp)
        target, state, items = library(root, args.items)
        bare = one_run(root, target, state, items, 0.0, 0.0, 0.0, "bare")
        for n, pause in enumerate(float(p) for p in args.pauses.split(",")):
            rows.append(one_run(root, target, state, items, pause, args.page_latency,
                                args.trash_latency, f"p{n}"))
    write_section(NAME, _report(args, rows, bare))
    print((REPO / "bench" / "RESULTS.md").read_text(encoding="utf-8").split(
        f"<!-- begin:{NAME} -->")[1].split(f"<!-- end:{NAME} -->")[0])
    return 0


def _report(args: argparse.Namespace, rows: list[dict[str, float]],
            bare: dict[str, float]) -> str:
    lines = [
        "## reclaim --apply (photos.google.com imitation, Debian Chromium, headless)", "",
        f"Command: `.venv/bin/python bench/bench_reclaim.py --items {args.items} "
        f"--pauses {args.pauses}`  ",
        f"Machine: {machine()}  ",
        f"Modelled Google: item page {args.page_latency:g} s, trash call "
        f"{args.trash_latency:g} s; jitter 0; {args.items} items per run, browser start "
        "included", "",
        "| pause_seconds | apply time | items/s | s per item |", "|---|---|---|---|",
    ]
    for row in rows:
        lines.append(f"| {row['pause']:g} | {row['elapsed']:.1f} s | {row['rate']:.2f} | "
                     f"{row['elapsed'] / args.items:.2f} |")
    slowest = rows[-1]
    per_item = slowest["elapsed"] / args.items
    lines += ["", f"Tool alone (no modelled latency, pause 0): {bare['rate']:.2f} items/s "
              f"({bare['elapsed'] / args.items:.2f} s per item). At pause "
              f"{slowest['pause']:g} s the default daily cap of 500 items takes about "
              f"{500 * per_item / 60:.0f} minutes; the pause, not the tool, sets the pace."]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
