"""Benchmark: our importer against the raw baseline and the @immich/cli wire pattern, on a
fake Immich that costs what a real one costs (issue 14).

    .venv/bin/python bench/bench_immich.py            # prints the table, writes RESULTS.md

What runs, each client as its own process against a fresh fake Immich v3 (its own process,
empty account), alternating client order round by round:
- **cost model** (tests/fakes/immich_cost.py, calibrated to a real Immich v3.1.0 on 2
  shared cores): raw baseline, our old wire shape (calibration check), the @immich/cli
  pattern (bench/immich_clients.py) and our importer, on a mixed Takeout export (JPEGs
  whose sidecar dates go into EXIF, videos, albums, favorites, archived items);
- **1 Gbit/s link** (the fake without cost model, reading at most 1 Gbit/s): raw baseline
  and our importer, as in issue 5;
- **re-run**: a 5,000-item export imported once (cost model), then again with nothing new;
- **peak memory** of the importer with one 2 GB video (and during every run above).
The machine's load average is recorded with every run.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.immich_export import (  # noqa: E402
    MixedExport,
    write_big_video_export,
    write_mixed_export,
)
from bench.immich_report import report  # noqa: E402
from bench.immich_runs import (  # noqa: E402
    Run,
    as_installed,
    fake_immich,
    importer_command,
    reference_command,
    run_client,
)
from bench.results import write_section  # noqa: E402

SECTION = "immich"
CLIENTS = ("raw", "wire", "cli", "ours", "fixed")
IMPORTERS = ("ours", "fixed", "before")


def write_checksums(export: MixedExport, manifest: Path) -> None:
    """SHA-1 of every member, for the `wire` client's header (precomputed, untimed)."""
    sums: dict[str, str] = {}
    for part in export.parts:
        with zipfile.ZipFile(part) as archive:
            for media in export.media:
                if media.part == part:
                    sums[media.member] = hashlib.sha1(archive.read(media.member)).hexdigest()
    manifest.with_suffix(".sha1.json").write_text(json.dumps(sums))


def one_run(client: str, export: MixedExport, manifest: Path, work: Path, args: argparse.Namespace,
            cost: bool, link: float = 0.0) -> list[Run]:
    """One client on a fresh fake; for our importer also the re-run that follows."""
    with fake_immich(cost, link, args.cost_scale) as fake:
        if client not in IMPORTERS:
            return [run_client(client, reference_command(client, manifest, fake, args.workers),
                               fake)]
        state = work / f"state-{len(list(work.glob('state-*')))}.sqlite"
        repo = args.before if client == "before" else REPO
        command = importer_command(export.parts, fake, state, args.workers, repo)
        if client == "fixed":  # uploads at once fixed at --workers, like the other clients
            config = work / "fixed.yaml"
            config.write_text("immich:\n  adaptive: false\n")
            command += ["--config", str(config)]
        env = {"IMMICH_API_KEY": fake.key}
        first = run_client(client, command, fake, env)
        again = run_client(f"{client} re-run", command, fake, env)
        return [first, again]


def alternate(clients: tuple[str, ...], export: MixedExport, manifest: Path, work: Path,
              args: argparse.Namespace, cost: bool, link: float = 0.0) -> dict[str, list[Run]]:
    """`args.rounds` rounds; each round starts with the next client, so none always runs
    first (or last) while the machine's load drifts."""
    runs: dict[str, list[Run]] = {}
    for round_ in range(args.rounds):
        order = clients[round_ % len(clients):] + clients[:round_ % len(clients)]
        for client in order:
            for run in one_run(client, export, manifest, work, args, cost, link):
                runs.setdefault(run.client, []).append(run)
                print(f"  round {round_ + 1} {run.client:<12} {run.wall:7.2f} s  "
                      f"load {run.load:.2f} {run.shape}", file=sys.stderr, flush=True)
    return runs


def rerun_phase(work: Path, args: argparse.Namespace) -> list[Run]:
    """A big export (default 5,000 items) imported once, then again with nothing new."""
    export = write_mixed_export(work / "big-export", args.rerun_items, 0, args.rerun_photo_mb,
                                parts=args.parts, seed=2)
    with fake_immich(True, 0.0, args.cost_scale) as fake:
        command = importer_command(export.parts, fake, work / "big.sqlite", args.workers)
        env = {"IMMICH_API_KEY": fake.key}
        first = run_client(f"ours, {args.rerun_items} items", command, fake, env)
        again = run_client("re-run", command, fake, env)
    shutil.rmtree(work / "big-export")
    return [first, again]


def peak_phase(work: Path, args: argparse.Namespace) -> Run:
    big = write_big_video_export(work / "video", args.big_video_mb)
    try:
        with fake_immich(False) as fake:
            command = importer_command(big.parts, fake, work / "video.sqlite", args.workers)
            return run_client("ours, one big video", command, fake,
                              {"IMMICH_API_KEY": fake.key})
    finally:
        shutil.rmtree(work / "video")


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=int, default=240)
    parser.add_argument("--videos", type=int, default=4)
    parser.add_argument("--photo-mb", type=float, default=0.45)
    parser.add_argument("--video-mb", type=float, default=31.0)
    parser.add_argument("--parts", type=int, default=2)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per mode")
    parser.add_argument("--cost-scale", type=float, default=1.0,
                        help="multiply the cost model's costs (1: as calibrated)")
    parser.add_argument("--link-mbps", type=float, default=1000.0,
                        help="also race raw baseline and importer behind a link this fast, "
                             "no cost model (0: skip)")
    parser.add_argument("--rerun-items", type=int, default=5000,
                        help="items of the re-run export (0: skip that phase)")
    parser.add_argument("--rerun-photo-mb", type=float, default=0.05)
    parser.add_argument("--big-video-mb", type=int, default=2048,
                        help="size of the video for the memory measurement (0: skip)")
    parser.add_argument("--clients", default=",".join(CLIENTS),
                        help="which clients race in the cost-model mode")
    parser.add_argument("--before", type=Path, metavar="CHECKOUT",
                        help="also race the importer of another checkout (client `before`): "
                             "measures a change against the code without it")
    parser.add_argument("--no-write", action="store_true", help="print, do not write RESULTS.md")
    args = parser.parse_args()
    if args.before is not None and "before" not in args.clients:
        args.clients += ",before"
    return args


def main() -> None:
    args = arguments()
    as_installed()
    work = Path(tempfile.mkdtemp(prefix="bench-immich-"))
    try:
        export = write_mixed_export(work / "export", args.photos, args.videos, args.photo_mb,
                                    args.video_mb, args.parts)
        manifest = work / "export.json"
        export.save(manifest)
        write_checksums(export, manifest)
        clients = tuple(c for c in args.clients.split(",") if c)
        print("cost model:", file=sys.stderr)
        costed = alternate(clients, export, manifest, work, args, cost=True)
        linked = None
        if args.link_mbps:
            print(f"{args.link_mbps:g} Mbit/s link:", file=sys.stderr)
            linked = alternate(("raw", "ours"), export, manifest, work, args, cost=False,
                               link=args.link_mbps)
        shutil.rmtree(work / "export")
        rerun = rerun_phase(work, args) if args.rerun_items else None
        peak = peak_phase(work, args) if args.big_video_mb else None
        text = report(args, export, costed, linked, rerun, peak)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(text)
    if not args.no_write:
        write_section(SECTION, text)


if __name__ == "__main__":
    main()
