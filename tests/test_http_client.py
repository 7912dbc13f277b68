"""The shared adapter HTTP client: retries what is transient, gives up clearly, counts."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from adapters.base import TargetUnavailable, TransientError
from adapters.http import HttpClient, RetryPolicy, timeouts
from tests.fakes.openapi import Spec
from tests.fakes.server import FakeServer, Faults, Request, Response


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeServer]:
    server = FakeServer(Spec("immich-openapi.json"), prefix="/api")

    @server.route("GET", "/server/version")
    def version(request: Request) -> Response:
        return Response(200, {"major": 3, "minor": 1, "patch": 0, "prerelease": None})

    with server:
        yield server


def _client(fake: FakeServer, attempts: int = 6) -> HttpClient:
    return HttpClient(f"{fake.url}/api", timeout=timeouts(read=0.5),
                      policy=RetryPolicy(attempts=attempts, base_delay=0.001, max_delay=0.01))


@pytest.mark.parametrize("kind", ["500", "503", "429", "reset", "reset_after", "timeout"])
def test_transient_faults_are_retried(fake: FakeServer, kind: str) -> None:
    fake.faults = Faults(rate=0.5, kinds=(kind,), stall=0.8, seed=3)
    client = _client(fake, attempts=10)
    try:
        for _ in range(6):
            assert client.request("GET", "/server/version").json()["major"] == 3
    finally:
        fake.faults = Faults()
        client.close()
    stats = client.stats()
    assert stats["http_retries"] > 0
    assert stats["http_requests"] == 6 + stats["http_retries"]


def test_gives_up_with_one_line_error(fake: FakeServer) -> None:
    fake.faults = Faults(rate=1.0, kinds=("503",))
    client = _client(fake, attempts=3)
    try:
        with pytest.raises(TransientError, match=r"HTTP 503 .* gave up after 3 attempts"):
            client.request("GET", "/server/version")
    finally:
        fake.faults = Faults()
        client.close()
    assert client.stats() == {"http_requests": 3, "http_retries": 2}


def test_non_transient_status_is_returned_not_retried(fake: FakeServer) -> None:
    client = _client(fake)
    answer = client.request("GET", "/no/such/route")
    client.close()
    assert answer.status_code == 404
    assert client.stats()["http_retries"] == 0


def test_probe_of_a_dead_server_fails_fast() -> None:
    client = HttpClient("http://127.0.0.1:9", policy=RetryPolicy(attempts=5))
    with pytest.raises(TargetUnavailable, match="unreachable"):
        client.probe("/server/ping")
    client.close()


def test_retry_after_is_honoured() -> None:
    import random

    policy = RetryPolicy(base_delay=1.0, max_delay=8.0)
    rng = random.Random(0)
    assert policy.delay(0, "2", rng) == 2.0
    assert policy.delay(0, "600", rng) == 8.0
    assert all(0 <= policy.delay(5, None, rng) <= 8.0 for _ in range(100))


def test_a_server_no_attempt_can_reach_is_gone_not_busy() -> None:
    """Issue 9: refused on every attempt, the target is gone: the run stops (exit 3)
    instead of failing every later item after the same retries."""
    client = HttpClient("http://127.0.0.1:9", policy=RetryPolicy(attempts=3, base_delay=0.001))
    with pytest.raises(TargetUnavailable, match=r"cannot connect .* gave up after 3 attempts"):
        client.request("GET", "/server/version")
    client.close()
