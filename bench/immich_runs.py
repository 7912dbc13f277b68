"""Processes of the Immich benchmark: a fake Immich per run (bench/immich_fake_process.py)
and one client per run (bench/immich_clients.py, or our importer's command line through
bench/immich_peak.py), each measured from the outside: wall time from spawn to exit, CPU
seconds of the client (its rusage) and of the server (/proc), peak memory, requests."""

from __future__ import annotations

import compileall
import contextlib
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent


@dataclass
class Run:
    """One client's run against one fresh fake."""

    client: str
    wall: float
    client_cpu: float
    server_cpu: float
    load: float
    requests: dict[str, int] = field(default_factory=dict)
    peak_rss: int | None = None
    output: str = ""
    shape: dict[str, float] = field(default_factory=dict)
    """From the cost model: uploads in flight on average, first upload after (s)."""

    @property
    def total_requests(self) -> int:
        return sum(self.requests.values())


@dataclass
class Fake:
    process: subprocess.Popen[str]
    url: str
    key: str
    summary: dict[str, Any] = field(default_factory=dict)

    def cpu(self) -> float:
        """CPU seconds the fake's process has used so far (Linux /proc accounting)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def snapshot(self) -> dict[str, Any]:
        """The fake's summary so far (requests by route, cost ledger)."""
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write("\n")
        self.process.stdin.flush()
        return dict(json.loads(self.process.stdout.readline()))


@contextlib.contextmanager
def fake_immich(cost: bool, link_mbps: float = 0.0, scale: float = 1.0) -> Iterator[Fake]:
    """A fresh fake Immich v3 in its own process; its summary is filled in on exit."""
    command = [sys.executable, str(REPO / "bench/immich_fake_process.py"),
               "--link-mbps", str(link_mbps), "--cost-scale", str(scale)]
    if cost:
        command.append("--cost")
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               text=True)
    assert process.stdout is not None and process.stdin is not None
    info = json.loads(process.stdout.readline())
    fake = Fake(process, info["url"], info["key"])
    try:
        yield fake
    finally:
        process.stdin.close()
        fake.summary = json.loads(process.stdout.readline() or "{}")
        process.wait(timeout=120)
        if fake.summary.get("problems"):
            raise SystemExit(f"the fake saw bad requests: {fake.summary['problems']}")


def as_installed() -> None:
    """Clients start as after `pip install`, with their bytecode cached: some machines
    (this one) set PYTHONDONTWRITEBYTECODE, which makes every start compile our ~70
    modules again (~0.1 s, most of a re-run's difference from a user's machine)."""
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    for package in ("importer", "adapters", "bench"):
        compileall.compile_dir(REPO / package, quiet=1)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_client(name: str, command: list[str], fake: Fake,
               env: dict[str, str] | None = None) -> Run:
    """Run one client process to its end against `fake` and measure it from outside."""
    load = os.getloadavg()[0]
    before = fake.snapshot()["requests"]
    server_before, client_before = fake.cpu(), _children_cpu()
    started, spawned = time.perf_counter(), time.monotonic()
    done = subprocess.run(command, cwd=REPO, env={**os.environ, **(env or {})},
                          capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    run = Run(name, wall, _children_cpu() - client_before, fake.cpu() - server_before, load,
              output=done.stdout)
    snapshot = fake.snapshot()
    after = snapshot["requests"]
    run.requests = {k: v - before.get(k, 0) for k, v in after.items() if v - before.get(k, 0)}
    cost = snapshot.get("cost") or {}
    run.shape = {k: cost[k] for k in ("uploads_in_flight", "first_upload_after", "upload_span")
                 if k in cost}
    if "first_request_at" in cost:  # the same monotonic clock in both processes (Linux)
        run.shape["first_request_after_start"] = round(cost["first_request_at"] - spawned, 3)
    if done.returncode != 0:
        raise SystemExit(f"{name} failed ({done.returncode}):\n{done.stdout[-2000:]}\n"
                         f"{done.stderr[-2000:]}")
    last = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
    if last.startswith("peak-kib "):
        run.peak_rss = int(last.removeprefix("peak-kib ")) * 1024
    return run


def reference_command(kind: str, manifest: Path, fake: Fake, workers: int) -> list[str]:
    return [sys.executable, str(REPO / "bench/immich_clients.py"), kind, str(manifest),
            fake.url, fake.key, str(workers)]


def importer_command(parts: list[Path], fake: Fake, state: Path, workers: int,
                     repo: Path = REPO) -> list[str]:
    """Our command line, as a user runs it, reporting its own peak memory at the end;
    `repo`: another checkout's importer (to measure a change against the code before it)."""
    return [sys.executable, str(repo / "bench/immich_peak.py"), "import", *map(str, parts),
            "--to", f"immich:{fake.url}", "--state", str(state), "--workers", str(workers)]

