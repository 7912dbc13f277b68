"""The fake Immich's cost-model mode (for the benchmark): it must charge what the real
server does where the issue measured a difference (the checksum header's extra database
round trip), burn real CPU that competes for cores, serialize event-loop work, and never
change what the fake answers."""

from __future__ import annotations

import hashlib
import io
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.exportgen import unique_jpeg
from tests.fakes.immich import FakeImmich
from tests.fakes.immich_cost import COSTS, CostModel, burn

DATES = {"fileCreatedAt": "2020-01-01T10:00:00Z", "fileModifiedAt": "2020-01-01T10:00:00Z"}


def free_model(**overrides: float) -> CostModel:
    """Counts everything, costs (almost) nothing: fast tests of the accounting."""
    values = {"loop_per_request": 0.0, "loop_per_mb": 0.0, "db_round_trip": 0.0,
              "db_cpu": 0.0, "io_per_upload": 0.0, "io_per_mb": 0.0, **overrides}
    return CostModel(**values)  # type: ignore[arg-type]


@pytest.fixture
def costed() -> Iterator[FakeImmich]:
    with FakeImmich("v3", cost=free_model()) as server:
        assert isinstance(server, FakeImmich)
        yield server


def upload(fake: FakeImmich, data: bytes, header: bool) -> httpx.Response:
    headers = {"x-api-key": fake.api_key}
    if header:
        headers["x-immich-checksum"] = hashlib.sha1(data).hexdigest()
    files = {"assetData": ("IMG_1.jpg", io.BytesIO(data), "image/jpeg")}
    return httpx.post(f"{fake.url}/api/assets", data=DATES, files=files, headers=headers)


def test_checksum_header_costs_one_more_database_round_trip(costed: FakeImmich) -> None:
    assert costed.cost is not None
    ledger = costed.cost.ledger
    upload(costed, unique_jpeg("plain"), header=False)
    plain = ledger.queries
    upload(costed, unique_jpeg("with header"), header=True)
    with_header = ledger.queries - plain
    stored = COSTS[("POST", "/assets")].queries
    assert plain == 1 + stored  # the API key, then storing the asset
    assert with_header == plain + 1
    assert ledger.by_route == {"POST /assets": 2}


def test_every_endpoint_pays_for_the_api_key_and_its_own_work(costed: FakeImmich) -> None:
    assert costed.cost is not None
    with httpx.Client(base_url=f"{costed.url}/api",
                      headers={"x-api-key": costed.api_key}) as http:
        http.post("/assets/bulk-upload-check",
                  json={"assets": [{"id": "a", "checksum": "0" * 40}]})
        created = http.post("/albums", json={"albumName": "x"}).json()["id"]
        http.get("/server/version")  # no key, no key look-up
    expected = (1 + COSTS[("POST", "/assets/bulk-upload-check")].queries
                + 1 + COSTS[("POST", "/albums")].queries + 1)
    assert costed.cost.ledger.queries == expected and created


def test_upload_pays_per_megabyte_on_the_event_loop() -> None:
    model = free_model(loop_per_mb=0.01)
    data = unique_jpeg("big", pad=2 << 20)
    with FakeImmich("v3", cost=model) as fake:
        assert isinstance(fake, FakeImmich)
        upload(fake, data, header=False)
    fixed = COSTS[("POST", "/assets")].loop_ms / 1000
    assert model.ledger.loop_cpu == pytest.approx(fixed + 0.01 * len(data) / (1 << 20))


def test_burn_spends_cpu_time_not_just_wall_time() -> None:
    before = time.thread_time()
    burn(0.05)
    assert time.thread_time() - before >= 0.05


def test_event_loop_work_is_serialized_like_nodes_one_thread() -> None:
    """Two requests' JavaScript never runs at once: together they take at least the sum."""
    model = free_model()
    threads = [threading.Thread(target=model.on_loop, args=(0.05,)) for _ in range(2)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert time.perf_counter() - started >= 0.1
    assert model.ledger.loop_cpu == pytest.approx(0.1)


def test_database_pool_bounds_round_trips_in_flight() -> None:
    model = free_model(db_round_trip=0.04, db_pool=1)
    threads = [threading.Thread(target=model.query) for _ in range(3)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert time.perf_counter() - started >= 0.12 and model.ledger.queries == 3


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, 3), st.booleans()), min_size=1, max_size=6))
def test_costs_never_change_the_answers(uploads: list[tuple[int, bool]]) -> None:
    """Same uploads (with and without the header, repeated bytes) -> same statuses with and
    without the cost model; a repeat is a duplicate of the first even without the header."""
    answers = []
    for model in (None, free_model()):
        with FakeImmich("v3", cost=model) as fake:
            assert isinstance(fake, FakeImmich)
            got = [upload(fake, unique_jpeg(f"bytes {n}"), header).json()["status"]
                   for n, header in uploads]
            assert fake.rejected == [] and fake.violations == []
        answers.append(got)
    seen: set[int] = set()
    expected = []
    for n, _ in uploads:
        expected.append("duplicate" if n in seen else "created")
        seen.add(n)
    assert answers == [expected, expected]
