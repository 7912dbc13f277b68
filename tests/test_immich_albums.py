"""Albums across runs: never a twin of an album, and an album renamed in Google Photos
stays the same Immich album (renamed), while a new album sharing photos stays new."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from importer.albumsync import Member, renamed_from
from importer.state import State
from tests.conftest import CliResult
from tests.exportgen import TruthItem, items_in_albums, write_folder
from tests.fakes.immich import FakeImmich
from tests.fakes.photoprism import APP_PASSWORD, FakePhotoPrism
from tests.test_immich_import import check_immich


def m(recorded: str = "", current: str = "") -> Member:
    return Member(frozenset(recorded.split()), frozenset(current.split()))


@pytest.mark.parametrize(("members", "seen", "sizes", "expected"), [
    # all of Trip's members moved to the new album, Trip is gone from the export
    ([m("Trip", "New")] * 4, {"New"}, {"Trip": 4}, "Trip"),
    # size unknown (state from before member counts): judged on the members alone
    ([m("Trip", "New")] * 3, {"New"}, {"Trip": None}, "Trip"),
    # a few photos of a big album: a new album, not a rename
    ([m("Trip", "New")] * 3, {"New"}, {"Trip": 40}, None),
    # the members still are in Trip in this export: "Best of Trip"
    ([m("Trip", "Trip Best")] * 4, {"Trip", "Best"}, {"Trip": 4}, None),
    # Trip still exists in this export through other items
    ([m("Trip", "New")] * 4, {"New", "Trip"}, {"Trip": 4}, None),
    # mostly new photos with one from Trip
    ([m("Trip", "New"), m("", "New"), m("", "New")], {"New"}, {"Trip": 1}, None),
    # half and half between two vanished albums: ambiguous
    ([m("A", "New"), m("A", "New"), m("B", "New"), m("B", "New")], {"New"},
     {"A": 2, "B": 2}, None),
    # two vanished albums merged, one clearly the larger share
    ([m("A", "New")] * 3 + [m("B", "New")], {"New"}, {"A": 3, "B": 1}, "A"),
    # nothing recorded: a brand-new album
    ([m("", "New")] * 5, {"New"}, {}, None),
])
def test_rename_rule(members: list[Member], seen: set[str], sizes: dict[str, int | None],
                     expected: str | None) -> None:
    assert renamed_from(members, seen, sizes) == expected


@pytest.fixture
def fake(immich: FakeImmich) -> FakeImmich:
    """conftest's strict fake Immich v3."""
    return immich


def _items(n: int, albums: dict[str, range]) -> list[TruthItem]:
    return items_in_albums(n, albums, seed=9)


def _run(cli: Callable[..., CliResult], fake: FakeImmich, export: Path,
         state: Path) -> CliResult:
    result = cli("import", export, "--to", f"immich:{fake.url}", "--state", state)
    assert result.code == 0, result.out + result.err
    return result


@pytest.mark.parametrize("flush_at", [500, 2])
def test_album_renamed_in_google_is_the_same_immich_album(
        tmp_path: Path, fake: FakeImmich, cli: Callable[..., CliResult],
        monkeypatch: pytest.MonkeyPatch, flush_at: int) -> None:
    """With small batches, the renamed album waits for the end of the run to be judged."""
    monkeypatch.setattr("importer.albumsync.FLUSH_AT", flush_at)
    state = tmp_path / "state.sqlite"
    items = _items(10, {"Trip": range(0, 6), "Family": range(5, 9)})
    _run(cli, fake, write_folder(tmp_path / "e1", items).sources[0], state)
    (trip,) = fake.album_named("Trip")

    for item in items[:6]:
        item.albums = ["Lisbon 2019" if a == "Trip" else a for a in item.albums]
    second = write_folder(tmp_path / "e2", items)
    result = _run(cli, fake, second.sources[0], state)
    assert "'Trip' was renamed 'Lisbon 2019'" in result.out
    assert fake.album_named("Lisbon 2019") == [trip] and fake.album_named("Trip") == []
    assert len(fake.albums) == 2
    check_immich(fake, second, state)
    target = f"immich:{fake.url}"
    with State(state, readonly=True) as saved:
        assert saved.album_id(target, "title:Lisbon 2019") == trip.id
        assert saved.album_id(target, "title:Trip") is None

    again = _run(cli, fake, second.sources[0], state)
    assert "Nothing new to import" in again.out and len(fake.albums) == 2


def test_new_album_sharing_photos_is_not_a_rename(
        tmp_path: Path, fake: FakeImmich, cli: Callable[..., CliResult]) -> None:
    state = tmp_path / "state.sqlite"
    items = _items(8, {"Trip": range(0, 6)})
    _run(cli, fake, write_folder(tmp_path / "e1", items).sources[0], state)
    for item in items[:4]:
        item.albums.append("Best of Trip")
    second = write_folder(tmp_path / "e2", items)
    result = _run(cli, fake, second.sources[0], state)
    assert "renamed" not in result.out
    assert len(fake.album_named("Trip")) == 1 and len(fake.album_named("Best of Trip")) == 1
    check_immich(fake, second, state)


def test_an_album_already_in_immich_is_used_not_twinned(
        tmp_path: Path, fake: FakeImmich, cli: Callable[..., CliResult]) -> None:
    """As after a run killed between creating the album and recording it."""
    import httpx

    created = httpx.post(f"{fake.url}/api/albums", json={"albumName": "Trip"},
                         headers={"x-api-key": fake.api_key}).json()["id"]
    items = _items(5, {"Trip": range(0, 5)})
    export = write_folder(tmp_path / "e1", items)
    result = _run(cli, fake, export.sources[0], tmp_path / "state.sqlite")
    assert "albums created 0" in result.out
    assert [a.id for a in fake.album_named("Trip")] == [created]
    assert len(fake.albums[created].asset_ids) == 5


def test_album_create_whose_answer_is_lost_makes_no_twin(
        tmp_path: Path, fake: FakeImmich, cli: Callable[..., CliResult]) -> None:
    from tests.fakes.server import Faults

    fake.faults = Faults(rate=1.0, kinds=("reset_after",),
                         only=lambda r: r.method == "POST" and r.route == "/albums")
    items = _items(4, {"Trip": range(0, 4)})
    export = write_folder(tmp_path / "e1", items)
    result = _run(cli, fake, export.sources[0], tmp_path / "state.sqlite")
    assert fake.faults.injected == {"reset_after": 1}
    assert len(fake.album_named("Trip")) == 1, result.out
    check_immich(fake, export, tmp_path / "state.sqlite")


def test_state_album_records_stay_compatible(tmp_path: Path) -> None:
    with State(tmp_path / "state.sqlite") as state:
        state.put_album("immich:x", "title:Old", "Old", "id-1")  # as states before counts
        assert state.album_id("immich:x", "title:Old") == "id-1"
        assert state.album_info("immich:x", "title:Old").members is None  # type: ignore[union-attr]
        state.put_album("immich:x", "title:New", "New", "id-2", members=7)
        assert state.album_info("immich:x", "title:New").members == 7  # type: ignore[union-attr]
        state.drop_album("immich:x", "title:Old")
        state.drop_album("immich:x", "title:Gone")
        assert state.album_id("immich:x", "title:Old") is None


def test_gallery_without_renames_gets_a_new_album(tmp_path: Path, cli: Callable[..., CliResult],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """PhotoPrism cannot rename through our adapter: the new title gets its own album, as
    before. (The folder library renames: tests/test_folder_albums.py.)"""
    with FakePhotoPrism(index_delay=0.0) as server:
        monkeypatch.setenv("PHOTOPRISM_TOKEN", APP_PASSWORD)
        target = ("--to", f"photoprism:{server.url}", "--state", tmp_path / "state.sqlite")
        items = _items(4, {"Trip": range(0, 4)})
        assert cli("import", write_folder(tmp_path / "e1", items).sources[0], *target).code == 0
        for item in items:
            item.albums = ["Lisbon"]
        result = cli("import", write_folder(tmp_path / "e2", items).sources[0], *target)
        assert result.code == 0 and "renamed" not in result.out
        titles = sorted(a.title for a in server.library.albums.values())
        assert titles == ["Lisbon", "Trip"]
        assert server.rejected == [] and server.violations == []
