"""Run the fake Immich in a process of its own, so the importer's threads and the server's
do not share one interpreter lock: one JSON line {"url", "key"} on stdout, then serve
until stdin closes (the benchmark closes it, or dies). Each line read from stdin is
answered with the summary so far (below), so the benchmark can count per phase.

`--link-mbps N` caps what the server reads from all connections together at N Mbit/s,
like a network link would (loopback alone is as fast as the CPUs). `--cost` charges every
request what a real Immich spends on it (tests/fakes/immich_cost.py), `--cost-scale`
multiplies those costs. On exit it prints one JSON line: assets, albums, requests by route,
the cost model's ledger and any request the fake refused or answer it got wrong.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.fakes import server as fake_server
from tests.fakes.immich import FakeImmich
from tests.fakes.immich_cost import CostModel


class Link:
    """A shared token bucket: bytes pass at `rate` per second, all connections together."""

    def __init__(self, bytes_per_second: float) -> None:
        self.rate = bytes_per_second
        self._lock = threading.Lock()
        self._free_at = time.monotonic()

    def carry(self, size: int) -> None:
        with self._lock:
            now = time.monotonic()
            done = max(now, self._free_at) + size / self.rate
            self._free_at = done
        time.sleep(max(0.0, done - now))


def throttle(link: Link) -> None:
    """Bench-only: every request body is read through the link (this process only)."""
    handler = fake_server._RequestHandler
    read_body = handler._body_chunks

    def limited(self: fake_server._RequestHandler) -> Iterator[bytes]:
        for chunk in read_body(self):
            link.carry(len(chunk))
            yield chunk

    handler._body_chunks = limited  # type: ignore[method-assign]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dialect", default="v3")
    parser.add_argument("--link-mbps", type=float, default=0.0)
    parser.add_argument("--cost", action="store_true")
    parser.add_argument("--cost-scale", type=float, default=1.0)
    args = parser.parse_args()
    if args.link_mbps:
        throttle(Link(args.link_mbps * 1e6 / 8))
    cost = CostModel(scale=args.cost_scale) if args.cost else None
    fake = FakeImmich(args.dialect, cost=cost)
    fake.start()
    print(json.dumps({"url": fake.url, "key": fake.api_key}), flush=True)
    try:
        for _ in sys.stdin:
            print(json.dumps(summary(fake, cost)), flush=True)
    finally:
        fake.stop()
        print(json.dumps(summary(fake, cost)), flush=True)


def summary(fake: FakeImmich, cost: CostModel | None) -> dict[str, object]:
    with fake.lock:
        problems = fake.rejected + fake.violations
        return {"assets": len(fake.assets), "albums": len(fake.albums),
                "requests": by_route(fake), "problems": problems[:5],
                "cost": cost.summary() if cost else None}


def by_route(fake: FakeImmich) -> dict[str, int]:
    """Requests answered, by method and route template (`PUT /albums/{id}/assets`)."""
    counts: dict[str, int] = {}
    for method, path, _ in list(fake.requests):
        found = fake.spec.find(method, path.removeprefix(fake.prefix))
        key = f"{method} {found[0].template if found else path}"
        counts[key] = counts.get(key, 0) + 1
    return counts


if __name__ == "__main__":
    main()
