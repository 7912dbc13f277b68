"""The adaptive upload limit (issue 14) against simulated servers: it finds the
concurrency a server can take without queueing, backs off when the server slows down,
never leaves its bounds, and does not mistake big files for a slow server."""

from __future__ import annotations

import random
import threading
import time

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.concurrency import GROW_BELOW, SHRINK_ABOVE, AdaptiveLimit, size_class

MB = 1 << 20


def simulate(limit: AdaptiveLimit, capacity: float, answers: int, seed: int,
             sizes: tuple[int, ...] = (MB // 2,), first: bool = True) -> None:
    """A server that answers in `base(size)` while at most `capacity` requests are in it,
    and shares itself beyond that (each answer takes `in flight / capacity` longer). The
    first upload of a run goes alone (it waits for the first look-up): its answer shows
    the unloaded time."""
    rng = random.Random(seed)
    if first:
        limit.record(sizes[0], (0.1 + sizes[0] / MB * 0.01) * rng.uniform(1.0, 1.1), True)
    for _ in range(answers):
        size = rng.choice(sizes)
        base = 0.1 + size / MB * 0.01
        crowd = max(1.0, limit.limit / capacity)
        limit.record(size, base * crowd * rng.uniform(1.0, 1.1), limit.limit == 1)


@settings(max_examples=60, deadline=None)
@given(capacity=st.integers(1, 12), initial=st.integers(1, 8), seed=st.integers(0, 99),
       big_files=st.booleans())
def test_settles_just_above_what_the_server_takes(capacity: int, initial: int, seed: int,
                                                  big_files: bool) -> None:
    limit = AdaptiveLimit(initial, lowest=1, highest=16)
    sizes = (MB // 2, 3 * MB, 40 * MB) if big_files else (MB // 2,)
    simulate(limit, capacity, 3000, seed, sizes)
    low = min(16, capacity + 1)
    high = min(16, capacity + int(SHRINK_ABOVE) + 1)
    assert low <= limit.limit <= high, (limit.limit, limit.changes)
    assert all(1 <= n <= 16 for n in limit.changes)


def test_backs_off_when_the_server_slows_down() -> None:
    limit = AdaptiveLimit(4, lowest=1, highest=16)
    simulate(limit, capacity=10, answers=2000, seed=1)
    grown = limit.limit
    simulate(limit, capacity=2, answers=3000, seed=2, first=False)  # busy elsewhere
    assert grown >= 10 and limit.limit <= 2 + SHRINK_ABOVE + 1
    assert GROW_BELOW < SHRINK_ABOVE


def test_bounds_hold() -> None:
    fixed = AdaptiveLimit(4, lowest=4, highest=4)
    simulate(fixed, capacity=100, answers=500, seed=3)
    simulate(fixed, capacity=0.5, answers=500, seed=4)
    assert fixed.limit == 4 and fixed.changes == []


def test_size_classes() -> None:
    assert [size_class(s) for s in (0, 1, MB, MB + 1, 2 * MB, 2 * MB + 1, 40 * MB)] == \
        [0, 0, 0, 1, 1, 2, 6]


def test_slots_never_exceed_the_limit() -> None:
    limit = AdaptiveLimit(3, lowest=3, highest=3)
    inside, most = 0, 0
    lock = threading.Lock()

    def request() -> None:
        nonlocal inside, most
        with limit.slot(1000):
            with lock:
                inside += 1
                most = max(most, inside)
            time.sleep(0.01)
            with lock:
                inside -= 1

    threads = [threading.Thread(target=request) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most == 3


def test_classes_never_seen_alone_do_not_count() -> None:
    """Videos always uploaded beside photos never show their unloaded time: their answer
    times must not make a crowded server look idle."""
    limit = AdaptiveLimit(4, lowest=1, highest=16)
    limit.record(MB // 2, 0.1, True)
    for _ in range(400):  # only crowded videos: no decision at all
        limit.record(40 * MB, 2.0, False)
    assert limit.limit == 4 and limit.changes == []
