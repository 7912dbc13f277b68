"""Run the fake Immich in a process of its own, so the importer's threads and the server's
do not share one interpreter lock: one JSON line {"url", "key"} on stdout, then serve
until stdin closes (the benchmark closes it, or dies).

`--link-mbps N` caps what the server reads from all connections together at N Mbit/s,
like a network link would (loopback alone is as fast as the CPUs).
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
    args = parser.parse_args()
    if args.link_mbps:
        throttle(Link(args.link_mbps * 1e6 / 8))
    fake = FakeImmich(args.dialect)
    fake.start()
    print(json.dumps({"url": fake.url, "key": fake.api_key}), flush=True)
    try:
        sys.stdin.read()
    finally:
        fake.stop()
        problems = fake.rejected + fake.violations
        print(json.dumps({"assets": len(fake.assets), "albums": len(fake.albums),
                          "problems": problems[:5]}), flush=True)


if __name__ == "__main__":
    main()
