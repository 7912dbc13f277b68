"""Issue 12 (folder library): an album renamed in Google between exports is renamed in the
folder library too (its folder, `.album.json`, the titles in library.jsonl), never
duplicated; a second rename, a rename onto a title another album holds, and an album
that only shares photos all behave."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from adapters.folder.albums import AlbumFolders
from adapters.folder.target import FolderTarget
from importer.model import Album
from importer.state import State
from tests.conftest import CliResult, library_entries
from tests.exportgen import TruthItem, items_in_albums, write_folder


def _items(n: int, albums: dict[str, range]) -> list[TruthItem]:
    return items_in_albums(n, albums, seed=13)


def _rename(items: list[TruthItem], old: str, new: str) -> None:
    for item in items:
        item.albums = [new if a == old else a for a in item.albums]


def _albums(library: Path) -> dict[str, tuple[str, set[str]]]:
    """Album folder -> (title in .album.json, library paths its links point to)."""
    found = {}
    for folder in sorted((library / "albums").iterdir()):
        meta = json.loads((folder / ".album.json").read_text())
        links = {p.resolve().relative_to(library.resolve()).as_posix()
                 for p in folder.iterdir() if p.is_symlink()}
        found[folder.name] = (meta["title"], links)
    return found


def _check(library: Path, items: list[TruthItem]) -> None:
    entries = {e["google_url"]: e for e in library_entries(library)}
    albums = _albums(library)
    titles = sorted(title for title, _ in albums.values())
    assert titles == sorted({a for item in items for a in item.albums}), "no album twice"
    for folder, (title, links) in albums.items():
        members = {entries[i.url]["path"] for i in items if title in i.albums}
        assert links == members, folder
    for item in items:
        assert sorted(entries[item.url]["albums"]) == sorted(item.albums)


def _run(cli: Callable[..., CliResult], export: Path, library: Path) -> CliResult:
    result = cli("import", export, "--to", f"folder:{library}")
    assert result.code == 0, result.out + result.err
    return result


@pytest.mark.parametrize("flush_at", [500, 2])
def test_album_renamed_in_google_is_renamed_in_the_library(
        tmp_path: Path, cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch,
        flush_at: int) -> None:
    monkeypatch.setattr("importer.albumsync.FLUSH_AT", flush_at)
    library = tmp_path / "library"
    items = _items(10, {"Trip": range(0, 6), "Family": range(5, 9)})
    _run(cli, write_folder(tmp_path / "e1", items).sources[0], library)
    _check(library, items)

    _rename(items, "Trip", "Lisbon / 2019")
    result = _run(cli, write_folder(tmp_path / "e2", items).sources[0], library)
    assert "'Trip' was renamed 'Lisbon / 2019'" in result.out
    assert sorted(_albums(library)) == ["Family", "Lisbon ∕ 2019"]
    _check(library, items)

    _rename(items, "Lisbon / 2019", "Lisbon 2019 ✓")  # renamed once more
    _run(cli, write_folder(tmp_path / "e3", items).sources[0], library)
    assert sorted(_albums(library)) == ["Family", "Lisbon 2019 ✓"]
    _check(library, items)
    state = library / ".gphotos-importer" / "state.sqlite"
    with State(state, readonly=True) as saved:
        ids = sorted(v["remote_id"] for _, v in saved._tables["albums"].items())
    assert ids == ["Family", "Lisbon 2019 ✓"]
    again = _run(cli, write_folder(tmp_path / "e3", items).sources[0], library)
    assert "Nothing new to import" in again.out


def test_a_rename_onto_a_taken_folder_name_gets_its_own_folder(tmp_path: Path) -> None:
    """Google titles are not unique: a renamed album whose new title another album holds
    gets `<title> (2)`, and both keep their own members."""
    target = FolderTarget(tmp_path / "lib")
    family = target.ensure_album(Album("k-family", "Family"), None)
    trip = target.ensure_album(Album("k-trip", "Trip"), None)
    renamed = target.rename_album(trip, Album("k-trip-2", "Family"))
    target.close()
    assert (family, renamed) == ("Family", "Family (2)")
    meta = json.loads((tmp_path / "lib/albums/Family (2)/.album.json").read_text())
    assert (meta["key"], meta["title"]) == ("k-trip-2", "Family")


def test_new_album_sharing_photos_is_not_a_rename(tmp_path: Path,
                                                  cli: Callable[..., CliResult]) -> None:
    library = tmp_path / "library"
    items = _items(10, {"Trip": range(0, 6)})
    _run(cli, write_folder(tmp_path / "e1", items).sources[0], library)
    for item in items[0:2]:
        item.albums.append("Best of")
    _run(cli, write_folder(tmp_path / "e2", items).sources[0], library)
    assert sorted(_albums(library)) == ["Best of", "Trip"]
    _check(library, items)


def test_rename_is_resumed_after_a_crash_at_any_step(tmp_path: Path) -> None:
    """Kill points inside a rename: after the entries' titles, after .album.json; the next
    rename call (the next run plans it again) finishes the job without a second folder."""
    target = FolderTarget(tmp_path / "lib")
    old, new = Album("k-old", "Trip"), Album("k-new", "Lisbon")
    album_id = target.ensure_album(old, None)
    folder = AlbumFolders(target.albums.folder, target.root, target.index, target.files)
    for step in ("titles", "meta"):
        if step == "meta":
            folder._write_meta(album_id, new)  # crash right after writing .album.json
        assert target.ensure_album(new, album_id) == album_id
        renamed = target.rename_album(album_id, new)
        assert renamed == "Lisbon"
        assert sorted(p.name for p in target.albums.folder.iterdir()) == ["Lisbon"]
        assert target.ensure_album(new, None) == "Lisbon"
        target.rename_album("Lisbon", old)  # back, for the next kill point
        album_id = "Trip"
    target.close()
