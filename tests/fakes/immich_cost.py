"""What a request costs a real Immich, for the benchmark's opt-in cost-model mode.

The default fake answers at once, which says nothing about how a client's request shape
and order play out against a real server (issue 14). In this mode every request is
charged what Immich spends on it, in three currencies:

- **event loop**: Immich's API is one Node.js process; routing, validation, JSON and the
  multipart stream (parsing, SHA-1, writing the file) run on its one JavaScript thread.
  Modelled as CPU burned while holding one lock, so this work is serialized as in Node.
- **database round trips**: every request checks its API key (one query), then does its
  own queries (look-ups, inserts, the job queue). A round trip takes a fixed time on one of
  `db_pool` connections (Immich's Postgres pool), part of it CPU that Postgres burns on any
  core, the rest waiting (commit, fsync).
- **I/O wait**: writing the upload to the library and its fsync: per upload and per MB.

CPU is burned for real (`burn`: hashing a buffer, which releases the interpreter lock), so
the fake process competes with the client for the machine's cores, as Immich does on the
same 2-core box. Burning counts the thread's own CPU time: on a loaded machine a burn takes
longer, exactly as a real server slows when the client eats its cores.

The figures are fitted to the issue's measurements on a real Immich v3.1.0 (see
bench/RESULTS.md, "calibration"); `COSTS` says per endpoint how many round trips and how
much event-loop work Immich does, read from its services (v2.4.1 source, contract notes).
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass, field
from typing import Any

MB = 1 << 20
_BLOCK = bytes(64 * 1024)


def burn(seconds: float) -> None:
    """Spend `seconds` of this thread's CPU time (not wall time) doing real work that runs
    outside the interpreter lock, so several burning threads use several cores."""
    if seconds <= 0:
        return
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        hashlib.sha1(_BLOCK)


@dataclass(frozen=True)
class EndpointCost:
    queries: int
    """Database round trips besides the API-key check every request makes."""
    loop_ms: float = 0.0
    """Event-loop CPU besides the per-request base."""
    per_item_ms: float = 0.0
    """Event-loop CPU per id or checksum in the body."""


COSTS: dict[tuple[str, str], EndpointCost] = {
    # insert asset + exif row, storage usage, queue the metadata job
    ("POST", "/assets"): EndpointCost(queries=4, loop_ms=4.0),
    ("POST", "/assets/bulk-upload-check"): EndpointCost(queries=1, per_item_ms=0.02),
    ("GET", "/assets/{id}"): EndpointCost(queries=2, loop_ms=1.0),
    # access check, update asset (+ exif, locked properties), queue the sidecar write
    ("PUT", "/assets/{id}"): EndpointCost(queries=4, loop_ms=2.0),
    ("PUT", "/assets"): EndpointCost(queries=4, loop_ms=2.0, per_item_ms=0.05),
    ("GET", "/albums"): EndpointCost(queries=2, loop_ms=1.0),
    ("GET", "/albums/{id}"): EndpointCost(queries=2, loop_ms=1.0),
    ("POST", "/albums"): EndpointCost(queries=3, loop_ms=1.5),
    ("PATCH", "/albums/{id}"): EndpointCost(queries=2, loop_ms=1.0),
    # access checks for album and assets, insert members, update the album's dates
    ("PUT", "/albums/{id}/assets"): EndpointCost(queries=4, loop_ms=1.0, per_item_ms=0.05),
}
DEFAULT_COST = EndpointCost(queries=1)


@dataclass
class Ledger:
    """What the server spent, for tests and the benchmark's report."""

    requests: int = 0
    queries: int = 0
    loop_cpu: float = 0.0
    db_cpu: float = 0.0
    waited: float = 0.0
    by_route: dict[str, int] = field(default_factory=dict)
    first_request: float | None = None
    uploads: list[tuple[float, float]] = field(default_factory=list)
    """(start, end) of every upload the server worked on (monotonic clock)."""


@dataclass
class CostModel:
    """Seconds per unit; see the module docstring for what each stands for."""

    loop_per_request: float = 0.0015
    loop_per_mb: float = 0.004
    db_round_trip: float = 0.020
    db_cpu: float = 0.002
    db_pool: int = 10
    io_per_upload: float = 0.004
    io_per_mb: float = 0.004
    scale: float = 1.0
    """Multiplies every cost (1.0: as calibrated)."""
    ledger: Ledger = field(default_factory=Ledger)

    def __post_init__(self) -> None:
        self._loop = threading.Lock()
        self._db = threading.BoundedSemaphore(self.db_pool)
        self._lock = threading.Lock()

    # -- the three currencies --------------------------------------------------------------

    def on_loop(self, seconds: float) -> None:
        """CPU on the one JavaScript thread: serialized with every other request's."""
        seconds *= self.scale
        with self._loop:
            burn(seconds)
        with self._lock:
            self.ledger.loop_cpu += seconds

    def query(self, count: int = 1) -> None:
        """`count` database round trips, one after the other (each awaits the last)."""
        for _ in range(count):
            with self._db:
                burn(self.db_cpu * self.scale)
                time.sleep(max(0.0, self.db_round_trip - self.db_cpu) * self.scale)
        with self._lock:
            self.ledger.queries += count
            self.ledger.db_cpu += count * self.db_cpu * self.scale

    def wait(self, seconds: float) -> None:
        seconds *= self.scale
        time.sleep(seconds)
        with self._lock:
            self.ledger.waited += seconds

    # -- per request -----------------------------------------------------------------------

    def authenticate(self) -> None:
        """Every authenticated request: its base event-loop work and the API-key look-up."""
        self.on_loop(self.loop_per_request)
        self.query()

    def before_body(self, method: str, route: str, headers: dict[str, str]) -> None:
        """The upload interceptor looks `x-immich-checksum` up before it reads the body."""
        if (method, route) == ("POST", "/assets") and headers.get("x-immich-checksum"):
            self.query()

    def charge(self, method: str, route: str, body_bytes: int, items: int) -> None:
        """The endpoint's own work, after authentication (and after the body arrived)."""
        cost = COSTS.get((method, route), DEFAULT_COST)
        with self._lock:
            self.ledger.requests += 1
            key = f"{method} {route}"
            self.ledger.by_route[key] = self.ledger.by_route.get(key, 0) + 1
        loop = cost.loop_ms / 1000 + cost.per_item_ms / 1000 * items
        if (method, route) == ("POST", "/assets"):
            loop += self.loop_per_mb * body_bytes / MB
            self.wait(self.io_per_upload + self.io_per_mb * body_bytes / MB)
        if loop:
            self.on_loop(loop)
        self.query(cost.queries)

    def served(self, method: str, route: str, start: float, end: float) -> None:
        """A request's time in the server, for the shape of the run (`summary`)."""
        with self._lock:
            if self.ledger.first_request is None:
                self.ledger.first_request = start
            if (method, route) == ("POST", "/assets"):
                self.ledger.uploads.append((start, end))

    def summary(self) -> dict[str, Any]:
        """Totals, and how busy the client kept the upload path: uploads in flight on
        average between the first upload's start and the last one's end, and how long
        after the client's first request the first upload began."""
        with self._lock:
            ledger = self.ledger
            uploads = list(ledger.uploads)
            first = ledger.first_request
            totals = {"requests": ledger.requests, "queries": ledger.queries,
                      "loop_cpu": round(ledger.loop_cpu, 3), "db_cpu": round(ledger.db_cpu, 3),
                      "waited": round(ledger.waited, 3), "by_route": dict(ledger.by_route)}
        if uploads and first is not None:
            begin, end = min(s for s, _ in uploads), max(e for _, e in uploads)
            busy = sum(e - s for s, e in uploads)
            totals["uploads_in_flight"] = round(busy / max(end - begin, 1e-9), 2)
            totals["first_upload_after"] = round(begin - first, 3)
            totals["upload_span"] = round(end - begin, 3)
            totals["first_request_at"] = first
            totals["timeline"] = [(round(s - first, 3), round(e - first, 3)) for s, e in uploads]
        return totals
