"""Issues 3 to 6 together: an export with every Takeout quirk, split across zip and tgz
parts, imported through the command line into the fake Immich and the fake PhotoPrism,
lands item by item as the truth says (live photos linked, edited copies beside their
originals, trash left out), and a re-run adds nothing."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from importer.metadata.tz import wall_in_zone, zone_at
from importer.model import GeoPoint
from importer.state import State
from tests.conftest import CliResult
from tests.exportgen import TruthItem, make_quirky_items, unique_mp4, write_parts
from tests.fakes.immich import FakeImmich
from tests.fakes.photoprism import APP_PASSWORD, FakePhotoPrism
from tests.gallery_contract import Observed, observe_immich, observe_photoprism
from tests.test_takeout_import import Key, expected_entries, nfc

Observer = Callable[[str], Observed | None]


@pytest.fixture(params=["immich", "photoprism"])
def gallery(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
            ) -> Iterator[tuple[str, Observer, Any]]:
    if request.param == "immich":
        immich = FakeImmich()
        immich.start()
        monkeypatch.setenv("IMMICH_API_KEY", immich.api_key)
        yield f"immich:{immich.url}", lambda rid: observe_immich(immich, rid), immich
        fake: Any = immich
    else:
        photoprism = FakePhotoPrism(index_delay=0.02)
        photoprism.start()
        monkeypatch.setenv("PHOTOPRISM_TOKEN", APP_PASSWORD)
        yield (f"photoprism:{photoprism.url}",
               lambda rid: observe_photoprism(photoprism, rid), photoprism)
        fake = photoprism
    fake.stop()
    assert fake.rejected == [], fake.rejected
    assert fake.violations == [], fake.violations


def _motion_sha1(item: TruthItem) -> str:
    live = item.live_name() or ""
    brand = b"qt  " if live.endswith(".MOV") else b"isom"
    return hashlib.sha1(unique_mp4(item.url + "#motion", brand)).hexdigest()


def _expected_instant(truth: dict[str, Any]) -> datetime | None:
    """A name-dated item with a position is read as wall time in that place's zone."""
    taken: datetime | None = truth["taken_at"]
    if taken is None or not (truth["from_name"] and truth["location"]):
        return taken
    zone = zone_at(GeoPoint(*truth["location"]))
    local = wall_in_zone(taken.replace(tzinfo=None), zone) if zone else None
    return local or taken


def _remote_ids(state: Path, target: str) -> dict[Key, str]:
    with State(state, readonly=True) as opened:
        found = {}
        for record in opened.items():
            on_target = record.on(target)
            if on_target is not None and on_target.done:
                assert on_target.remote_id is not None
                found[(record.google_url, nfc(record.name))] = on_target.remote_id
    return found


def _check(observed: Observed | None, truth: dict[str, Any], key: Key,
           motion: str | None) -> None:
    assert observed is not None, key
    if truth["taken_at"] is not None:  # undated items get the gallery's default date
        assert observed.taken_at == _expected_instant(truth), key
    if truth["location"] is None:
        assert observed.location is None, key
    else:
        assert observed.location == pytest.approx(truth["location"], abs=1e-6), key
    assert observed.description == truth["description"], key
    assert observed.favorite is truth["favorite"], key
    assert observed.archived is truth["archived"], key
    assert sorted(observed.albums) == truth["albums"], key
    if motion is not None:
        assert motion in observed.checksums, f"{key}: motion part not linked"


def _check_sharing(remote: dict[Key, str], stacks: bool) -> None:
    """No two items share a remote asset, except where PhotoPrism stacks an edited copy
    with its original (same capture time and place): one photo shows both files."""
    by_remote: dict[str, list[Key]] = {}
    for key, remote_id in remote.items():
        by_remote.setdefault(remote_id, []).append(key)
    shared = [keys for keys in by_remote.values() if len(keys) > 1]
    if not stacks:
        assert not shared, f"items share one remote asset: {shared}"
    for keys in shared:
        assert len({url for url, _ in keys}) == 1, f"unrelated items stacked: {keys}"


def test_quirky_export_lands_in_the_gallery(tmp_path: Path, cli: Callable[..., CliResult],
                                            gallery: tuple[str, Observer, Any]) -> None:
    target, observe, _ = gallery
    items = make_quirky_items(48, seed=17)
    export = write_parts(tmp_path / "parts", items, fmt="mixed", parts=3, seed=17)
    state = tmp_path / "state.sqlite"
    args = ("import", *export.sources, "--to", target, "--state", state, "--workers", "3")
    first = cli(*args)
    assert first.code == 0, first.out + first.err

    expected = dict(expected_entries(items))
    remote = _remote_ids(state, target)
    assert sorted(remote, key=str) == sorted(expected, key=str)
    _check_sharing(remote, stacks=target.startswith("photoprism:"))
    motions = {(i.google_url, nfc(i.name)): _motion_sha1(i) for i in items if i.live}
    for key, truth in expected.items():
        _check(observe(remote[key]), truth, key, motions.get(key))

    again = cli(*args)
    assert again.code == 0 and "Nothing new to import" in again.out, again.out
    assert _remote_ids(state, target) == remote
