"""Issue 9: re-runs repair the folder library. A lost or damaged library.jsonl is rebuilt
from the state and the files; a missing file is stored again from the export; a missing
sidecar, album link or album folder is written again. `verify` checks the sidecar, the
live photo's video and an edited copy's original, and says what is wrong."""

from __future__ import annotations

import json
import random
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from importer.state import State
from tests.conftest import CliResult, library_entries, originals
from tests.exportgen import TruthItem, make_items, make_quirky_items, write_zip_parts

STABLE = ("path", "taken_at", "latitude", "longitude", "description", "favorite", "archived",
          "google_url", "sha1", "original_sha1", "xmp", "live_video")


def _import(cli: Callable[..., CliResult], sources: list[Path], library: Path) -> CliResult:
    result = cli("import", *sources, "--to", f"folder:{library}")
    assert result.code == 0, result.err + result.out
    return result


def _entries(library: Path) -> dict[str, dict[str, Any]]:
    return {e["path"]: e for e in library_entries(library)}


def _stable(entries: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {path: {k: e.get(k) for k in (*STABLE, "albums")} | {"albums": sorted(e["albums"])}
            for path, e in entries.items()}


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[TruthItem]]:
    """A quirky export (live photos, edited copies, PNG/HEIC sidecars, albums) imported once;
    tests work on copies of the library."""
    from importer.cli import main

    base = tmp_path_factory.mktemp("repair")
    items = make_quirky_items(40, seed=17)
    export = write_zip_parts(base / "parts", items, parts=2, seed=17)
    library = base / "library"
    assert main(["import", *map(str, export.sources), "--to", f"folder:{library}"]) == 0
    return library, base / "parts", items


def _copy(imported: tuple[Path, Path, list[TruthItem]], tmp_path: Path) -> tuple[Path, list[Path]]:
    library, parts, _ = imported
    copy = tmp_path / "library"
    shutil.copytree(library, copy, symlinks=True)
    return copy, sorted(parts.iterdir())


def _retarget(library: Path, old: Path) -> None:
    """The copied state keys the target by the old path: rename it to the copy's."""
    state = library / ".gphotos-importer" / "state.sqlite"
    with State(state) as opened:
        for record in list(opened.items()):
            targets = {k.replace(str(old), str(library)): v for k, v in record.targets.items()}
            from dataclasses import replace
            opened.put(replace(record, targets=targets))
        for key, value in list(opened._tables["albums"].items()):
            opened._tables["albums"].pop(key)
            opened._tables["albums"][key.replace(str(old), str(library))] = value
        opened._tables["albums"].commit()


@pytest.fixture
def library(imported: tuple[Path, Path, list[TruthItem]], tmp_path: Path) -> tuple[Path,
                                                                                     list[Path]]:
    copy, parts = _copy(imported, tmp_path)
    _retarget(copy, imported[0])
    return copy, parts


def test_lost_index_is_rebuilt_from_state_and_files_without_the_export(
        library: tuple[Path, list[Path]], cli: Callable[..., CliResult], tmp_path: Path) -> None:
    lib, _ = library
    before = _stable(_entries(lib))
    (lib / "library.jsonl").unlink()
    other = write_zip_parts(tmp_path / "other", make_items(1, seed=99), parts=1)
    result = _import(cli, other.sources, lib)  # an export that holds none of them
    assert "repaired the library" in result.out
    after = _entries(lib)
    assert len(after) == len(before) + 1
    assert {p: e for p, e in _stable(after).items() if p in before} == before
    assert cli("verify", "--to", f"folder:{lib}").code == 0


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10_000), damage=st.sampled_from(["garbage", "cut", "types",
                                                            "drop lines"]))
def test_damaged_index_is_rebuilt(imported: tuple[Path, Path, list[TruthItem]],
                                  tmp_path_factory: pytest.TempPathFactory, seed: int,
                                  damage: str) -> None:
    from importer.cli import main

    lib, parts = _copy(imported, tmp_path_factory.mktemp("damaged"))
    _retarget(lib, imported[0])
    before = _stable(_entries(lib))
    index = lib / "library.jsonl"
    lines = index.read_bytes().splitlines(keepends=True)
    rng = random.Random(seed)
    if damage == "garbage":
        data = bytearray(index.read_bytes())
        for _ in range(rng.randint(1, 20)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        index.write_bytes(bytes(data))
    elif damage == "cut":
        index.write_bytes(index.read_bytes()[: rng.randrange(len(index.read_bytes()))])
    elif damage == "types":
        rows = [json.loads(x) for x in lines]
        for row in rng.sample(rows, k=min(len(rows), 5)):
            row[rng.choice(["albums", "favorite", "taken_at", "latitude", "path"])] = \
                rng.choice([7, "x", [1], {"a": 1}, None, True])
        index.write_text("".join(json.dumps(r) + "\n" for r in rows))
    else:
        index.write_bytes(b"".join(x for x in lines if rng.random() < 0.5))
    assert main(["import", *map(str, parts), "--to", f"folder:{lib}"]) == 0
    assert _stable(_entries(lib)) == {p: e for p, e in before.items()}
    assert main(["verify", "--to", f"folder:{lib}"]) == 0


def test_missing_file_is_stored_again_from_the_export(library: tuple[Path, list[Path]],
                                                      cli: Callable[..., CliResult]) -> None:
    lib, parts = library
    entries = _entries(lib)
    with_albums = next(e for e in entries.values() if e["albums"] and e.get("xmp") is False)
    live = next(e for e in entries.values() if e.get("live_video"))
    (lib / with_albums["path"]).unlink()
    (lib / live["live_video"]).unlink()
    verify = cli("verify", "--to", f"folder:{lib}")
    assert verify.code == 1
    assert f"missing: {with_albums['original_name']}" in verify.out
    assert "missing: live-photo video of" in verify.out
    result = _import(cli, parts, lib)
    assert "stored again from the export" in result.out
    again = _entries(lib)
    assert again[with_albums["path"]]["sha1"] == with_albums["sha1"]
    assert (lib / live["live_video"]).is_file()
    for title in with_albums["albums"]:
        links = [p.resolve() for p in (lib / "albums").glob("*/*") if p.is_symlink()]
        assert (lib / with_albums["path"]).resolve() in links, title
    assert cli("verify", "--to", f"folder:{lib}").code == 0
    assert "Nothing new to import" in _import(cli, parts, lib).out


def test_missing_file_not_in_the_export_is_reported_not_forgotten(
        library: tuple[Path, list[Path]], cli: Callable[..., CliResult], tmp_path: Path) -> None:
    lib, _ = library
    entry = next(iter(_entries(lib).values()))
    (lib / entry["path"]).unlink()
    other = write_zip_parts(tmp_path / "other", make_items(1, seed=98), parts=1)
    result = _import(cli, other.sources, lib)
    assert f"{entry['path']}: missing from the library" in result.out
    status = cli("status", "--to", f"folder:{lib}", "--json")
    counts = json.loads(status.out)["counts"][f"folder:{lib}"]
    assert counts["failed"] == 1


def test_missing_sidecar_link_and_album_folder_are_written_again(
        library: tuple[Path, list[Path]], cli: Callable[..., CliResult], tmp_path: Path) -> None:
    lib, _ = library
    entries = _entries(lib)
    with_xmp = next(e for e in entries.values() if e.get("xmp"))
    sidecar = lib / (with_xmp["path"] + ".xmp")
    good = sidecar.read_bytes()
    sidecar.write_bytes(good.replace(b"<xmp:Rating>5</xmp:Rating>", b"").replace(
        b"exif:DateTimeOriginal>2", b"exif:DateTimeOriginal>1"))
    verify = cli("verify", "--to", f"folder:{lib}")
    assert verify.code == 1 and "incomplete: " in verify.out and "next import repairs" in \
        verify.out
    sidecar.unlink()
    album_dirs = sorted(p for p in (lib / "albums").iterdir() if p.is_dir())
    gone_album = album_dirs[0]
    album_snapshot = sorted(p.name for p in gone_album.iterdir())
    shutil.rmtree(gone_album)
    link = next(p for p in album_dirs[1].iterdir() if p.is_symlink())
    link.unlink()
    other = write_zip_parts(tmp_path / "other", make_items(1, seed=97), parts=1)
    _import(cli, other.sources, lib)
    assert sidecar.read_bytes() == good
    assert sorted(p.name for p in gone_album.iterdir()) == album_snapshot
    assert link.is_symlink() and link.resolve().is_file()
    assert cli("verify", "--to", f"folder:{lib}").code == 0


def test_verify_names_an_edited_copy_without_its_original(
        library: tuple[Path, list[Path]], cli: Callable[..., CliResult]) -> None:
    lib, _ = library
    state = lib / ".gphotos-importer" / "state.sqlite"
    with State(state) as opened:
        edited = next(r for r in opened.items() if "#variant:" in r.identity)
        original = edited.identity.partition("#variant:")[0]
        opened.delete(original)
    verify = cli("verify", "--to", f"folder:{lib}")
    assert verify.code == 1
    assert f"original missing: {edited.name} is an edited copy" in verify.out


def test_quirky_library_matches_after_repairs(imported: tuple[Path, Path, list[TruthItem]],
                                              cli: Callable[..., CliResult]) -> None:
    """The module's library itself is exact (the other tests worked on copies)."""
    library, _, _ = imported
    entries = library_entries(library)
    described = {e["path"] for e in entries} | {e["live_video"] for e in entries
                                                 if e.get("live_video")}
    assert {p.relative_to(library).as_posix() for p in originals(library)} == described
    assert cli("verify", "--to", f"folder:{library}").code == 0


def test_a_favorite_the_state_never_recorded_is_undone_in_every_sidecar(
        library: tuple[Path, list[Path]], cli: Callable[..., CliResult]) -> None:
    """Killed after the library took a favorite (its entry and the XMP sidecar of a live
    photo's video) but before the state recorded it: the next run puts back what the state
    knows, in the entry and in every sidecar, so verify finds them agreeing."""
    from adapters.folder.files import xmp_of
    from adapters.folder.index import CHECK, metadata_of, sealed
    from importer.metadata import xmp

    lib, parts = library
    entry = next(e for e in _entries(lib).values() if e.get("live_video_xmp"))
    sidecars = [rel for rel, flag in ((entry["path"], "xmp"),
                                      (entry["live_video"], "live_video_xmp")) if entry[flag]]
    recorded = bool(entry["favorite"])
    flipped = {k: v for k, v in entry.items() if k != CHECK} | {"favorite": not recorded}
    packet = xmp.sidecar(metadata_of(flipped))
    assert packet is not None
    for rel in sidecars:
        (lib / xmp_of(rel)).write_bytes(packet)
    with (lib / "library.jsonl").open("a", encoding="utf-8") as index:
        index.write(sealed(flipped) + "\n")
    assert _entries(lib)[entry["path"]]["favorite"] is not recorded
    result = _import(cli, parts, lib)
    assert "library.jsonl entry corrected (favorite)" in result.out
    assert _entries(lib)[entry["path"]]["favorite"] is recorded
    for rel in sidecars:
        sidecar = lib / xmp_of(rel)
        found = xmp.read_sidecar(sidecar.read_bytes()) if sidecar.is_file() else None
        assert bool(found and found.favorite) is recorded, rel
    assert cli("verify", "--to", f"folder:{lib}").code == 0
