"""Issue 9, end to end: a later export never degrades what an earlier one gave, and a date
changed in Google lands with the time zone the first import gave it (the place's), in the
folder library and in (fake) Immich."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.conftest import CliResult, library_entries
from tests.exportgen import TruthItem, write_folder
from tests.fakes.immich import FakeImmich
from tests.immich_server import Server
from tests.test_immich_import import remote_ids

LISBON = (38.7139, -9.1334)


def items() -> list[TruthItem]:
    summer = datetime(2019, 7, 4, 9, 15, tzinfo=UTC)
    return [TruthItem(name=f"IMG_{n:05d}.jpg", url=f"https://photos.google.com/photo/AF1Qip{n}",
                      taken_at=summer + timedelta(hours=n), location=LISBON,
                      description=f"caption {n}", favorite=n % 2 == 0)
            for n in range(8)]


def degraded(originals: list[TruthItem]) -> list[TruthItem]:
    """The same items re-exported with the date, place and caption lost from the sidecars
    (photoTakenTime 0, geoData 0/0, an empty description)."""
    later = copy.deepcopy(originals)
    for n, item in enumerate(later):
        item.taken_zero = n % 3 == 0
        item.location = None if n % 3 == 1 else item.location
        item.description = None if n % 3 == 2 else item.description
    return later


def redated(originals: list[TruthItem]) -> list[TruthItem]:
    later = copy.deepcopy(originals)
    for item in later:
        item.taken_at += timedelta(days=2, hours=3)
    return later



def outcomes(report: Path) -> dict[str, str]:
    data = json.loads(report.read_text(encoding="utf-8"))
    return {e["identity"]: e["outcome"] for e in data["files"] if e.get("identity")}


def folder_values(library: Path) -> dict[str, tuple[Any, ...]]:
    return {e["google_url"]: (e["taken_at"], e["latitude"], e["longitude"], e["description"],
                              e["favorite"]) for e in library_entries(library)}


def immich_values(fake: FakeImmich, state: Path) -> dict[str, tuple[Any, ...]]:
    server = Server(fake.url, fake.api_key)
    found = {}
    for url, asset_id in remote_ids(state, f"immich:{fake.url}").items():
        data = server.asset(asset_id)
        exif = data["exifInfo"]
        found[url] = (exif["dateTimeOriginal"], exif["timeZone"], exif["latitude"],
                      exif["longitude"], exif["description"], data["isFavorite"])
    server.client.close()
    return found


def test_a_degraded_reexport_keeps_the_good_values(tmp_path: Path,
                                                   cli: Callable[..., CliResult],
                                                   immich: FakeImmich) -> None:
    first, later = write_folder(tmp_path / "e1", items()), write_folder(
        tmp_path / "e2", degraded(items()))
    library, state = tmp_path / "library", tmp_path / "state.sqlite"
    targets = (("--to", f"folder:{library}"),
               ("--to", f"immich:{immich.url}", "--state", str(state)))
    for target in targets:
        assert cli("import", first.sources[0], *target).code == 0
    before = folder_values(library), immich_values(immich, state)
    for n, target in enumerate(targets):
        report = tmp_path / f"report{n}.json"
        result = cli("import", later.sources[0], *target, "--report", report)
        assert result.code == 0, result.out + result.err
        assert set(outcomes(report).values()) == {"already there"}  # nothing to update
    assert (folder_values(library), immich_values(immich, state)) == before


def test_a_date_changed_in_google_keeps_the_places_time_zone(
        tmp_path: Path, cli: Callable[..., CliResult], immich: FakeImmich) -> None:
    first, later = write_folder(tmp_path / "e1", items()), redated(items())
    second = write_folder(tmp_path / "e2", later)
    library, state = tmp_path / "library", tmp_path / "state.sqlite"
    targets = (("--to", f"folder:{library}"),
               ("--to", f"immich:{immich.url}", "--state", str(state)))
    for target in targets:
        assert cli("import", first.sources[0], *target).code == 0
    for n, target in enumerate(targets):
        report = tmp_path / f"report{n}.json"
        assert cli("import", second.sources[0], *target, "--report", report).code == 0
        assert set(outcomes(report).values()) == {"updated"}
    truth = {item.url: item.taken_at for item in later}
    for url, (taken, *_) in folder_values(library).items():
        shown = datetime.fromisoformat(taken)
        assert shown == truth[url] and shown.utcoffset() == timedelta(hours=1)  # Lisbon, July
    for url, (taken, zone, *_) in immich_values(immich, state).items():
        assert datetime.fromisoformat(taken.replace("Z", "+00:00")) == truth[url]
        assert zone == "UTC+1", url  # not "UTC": the zone is not lost on the update path
