"""Issue 9: two Google albums with the same title stay two albums in every target, keyed
by their album JSON and folder, not by title; a state that keyed albums by title (before
this change) keeps its album and gets no duplicate."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from importer.model import Album
from importer.sources.layout import distinct_albums
from importer.sources.takeout_json import AlbumInfo
from tests.cli_targets import KINDS, open_target
from tests.conftest import CliResult
from tests.exportgen import PRODUCT, TruthItem, make_items

YEAR = f"{PRODUCT}/Photos from 2019"


def _write(root: Path, items: list[TruthItem], albums: dict[str, tuple[str, int, list[int]]]
           ) -> Path:
    """An export folder: every item in its year folder, and album folders
    {folder: (JSON title, JSON date, item indexes)}."""
    folders = [(YEAR, list(range(len(items)))),
               *((f"{PRODUCT}/{f}", members) for f, (_, _, members) in albums.items())]
    for folder, indexes in folders:
        (root / folder).mkdir(parents=True, exist_ok=True)
        for index in indexes:
            for path, data in items[index].files(str(root / folder)):
                Path(path).write_bytes(data)
    for folder, (title, date, _) in albums.items():
        (root / PRODUCT / folder / "metadata.json").write_text(json.dumps(
            {"title": title, "description": f"{folder}", "date": {"timestamp": str(date)}}))
    return root


def _urls(target_ids: dict[str, str], items: list[TruthItem], indexes: list[int]) -> frozenset[str]:
    return frozenset(target_ids[items[i].url] for i in indexes)


@pytest.mark.parametrize("kind", KINDS)
def test_albums_with_equal_titles_stay_apart_in_every_target(
        tmp_path: Path, cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch,
        kind: str) -> None:
    items = make_items(6, seed=21, albums=0)
    for item in items:
        item.taken_at = item.taken_at.replace(year=2019)
    export = _write(tmp_path / "export", items, {
        "Trip": ("Trip", 1_500_000_000, [0, 1]),
        "Trip(1)": ("Trip", 1_600_000_000, [2, 3]),  # a later album, same title
        "Other": ("Other", 1_550_000_000, [4]),
    })
    with open_target(kind, tmp_path, monkeypatch) as target:
        args = ("import", export, "--to", target.spec, "--state", target.state)
        first = cli(*args)
        assert first.code == 0, first.out + first.err
        ids = target.remote_ids()
        expected = sorted([("Other", _urls(ids, items, [4])),
                           ("Trip", _urls(ids, items, [0, 1])),
                           ("Trip (2)", _urls(ids, items, [2, 3]))],
                          key=lambda a: (a[0], sorted(a[1])))
        assert target.albums() == expected
        again = cli(*args)
        assert again.code == 0 and "Nothing new to import" in again.out, again.out
        assert target.albums() == expected


@pytest.mark.parametrize("kind", KINDS)
def test_a_state_keyed_by_title_keeps_its_album_and_gets_no_twin(
        tmp_path: Path, cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch,
        kind: str) -> None:
    """Before: one folder 'Trip' (all that older code saw of two same-titled albums: one
    key 'title:Trip'). After: two folders. The old album stays the one 'Trip'; the later
    album becomes 'Trip (2)' with its own members."""
    items = make_items(4, seed=22, albums=0)
    for item in items:
        item.taken_at = item.taken_at.replace(year=2019)
    before = _write(tmp_path / "before", items, {"Trip": ("Trip", 1_500_000_000, [0, 1, 2, 3])})
    after = _write(tmp_path / "after", items, {"Trip": ("Trip", 1_500_000_000, [0, 1]),
                                               "Trip(1)": ("Trip", 1_600_000_000, [2, 3])})
    with open_target(kind, tmp_path, monkeypatch) as target:
        assert cli("import", before, "--to", target.spec, "--state", target.state).code == 0
        ids = target.remote_ids()
        result = cli("import", after, "--to", target.spec, "--state", target.state)
        assert result.code == 0, result.out + result.err
        albums = target.albums()
        assert [title for title, _ in albums] == ["Trip", "Trip (2)"], albums
        assert albums[0][1] == _urls(ids, items, [0, 1, 2, 3])  # kept as it was
        assert albums[1][1] == _urls(ids, items, [2, 3])


def test_twins_are_keyed_by_date_then_folder_whatever_order_the_folders_come_in() -> None:
    def found(folder: str, date: str | None) -> tuple[Album, AlbumInfo]:
        return Album("title:Trip", "Trip"), AlbumInfo("Trip", None, date)

    for order in (["Trip", "Trip(1)", "Trip(2)"], ["Trip(2)", "Trip(1)", "Trip"]):
        dates = {"Trip": "300", "Trip(1)": "100", "Trip(2)": None}
        albums = distinct_albums({f: found(f, dates[f]) for f in order})
        assert albums["Trip(1)"] == Album("title:Trip", "Trip")  # the oldest keeps the key
        assert albums["Trip"] == Album("title:Trip#300", "Trip (2)")
        assert albums["Trip(2)"] == Album("title:Trip#folder:Trip(2)", "Trip (3)")
    single = distinct_albums({"Solo": (Album("title:Solo", "Solo"), None)})
    assert single == {"Solo": Album("title:Solo", "Solo")}

