"""Time zone finders are made one at a time: making one parses with `ast`, and CPython
3.11 fails when two threads parse at once ("AST constructor recursion depth mismatch",
seen in the full suite under load, from the pipeline's prepare workers)."""

from __future__ import annotations

import threading
import time

import pytest

from importer.metadata import tz
from importer.model import GeoPoint


def test_finders_are_never_made_in_two_threads_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    inside, peak = 0, 0
    lock = threading.Lock()

    class SlowFinder:
        def __init__(self) -> None:
            nonlocal inside, peak
            with lock:
                inside += 1
                peak = max(peak, inside)
            time.sleep(0.02)
            with lock:
                inside -= 1

        def timezone_at(self, lat: float, lng: float) -> str:
            return "Europe/Lisbon"

    monkeypatch.setattr(tz, "TimezoneFinder", SlowFinder)
    found: list[str | None] = []
    threads = [threading.Thread(target=lambda: found.append(tz.zone_at(GeoPoint(38.7, -9.1))))
               for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert found == ["Europe/Lisbon"] * 6
    assert peak == 1
