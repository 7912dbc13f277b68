"""Issue 9: a part cut short (a broken download) fails the run; once the user replaces it
with a good download, a re-run completes every item from it, with its albums and metadata,
and the library is what a clean import of the whole export makes."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from importer.config import TakeoutSettings
from importer.model import MediaItem
from importer.sources.takeout import TakeoutSource
from tests.conftest import cli_command, library_entries
from tests.exportgen import PRODUCT, make_quirky_items, sidecar_name, unique_jpeg, write_parts
from tests.test_kill_loop_tgz import _library_view, _stored_files


def _album_members(library: Path) -> dict[str, set[str]]:
    """Album title -> original names of its members."""
    by_path = {e["path"]: e["original_name"] for e in library_entries(library)}
    albums: dict[str, set[str]] = {}
    for folder in sorted((library / "albums").glob("*")):
        links = [p for p in folder.iterdir() if p.is_symlink()]
        albums[folder.name] = {by_path[p.resolve().relative_to(library.resolve()).as_posix()]
                               for p in links}
    return albums


def _run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cli_command(*args), capture_output=True, text=True, check=False,
                          timeout=600)


@pytest.mark.parametrize(("fmt", "keep"), [("tgz", 0.5), ("zip", 0.97), ("tgz", 0.97)])
def test_a_replaced_part_completes_the_library(tmp_path: Path, fmt: str, keep: float) -> None:
    items = make_quirky_items(40, seed=41)
    export = write_parts(tmp_path / "parts", items, fmt, parts=3, seed=41)
    clean, library = tmp_path / "clean", tmp_path / "library"
    assert _run("import", *export.sources, "--to", f"folder:{clean}").returncode == 0

    broken = export.sources[1]
    good = tmp_path / "good-download"
    shutil.copy(broken, good)
    data = broken.read_bytes()
    broken.write_bytes(data[: int(len(data) * keep)])
    first = _run("import", *export.sources, "--to", f"folder:{library}")
    assert first.returncode == 1, first.stdout + first.stderr  # some files are missing
    assert str(broken) in first.stdout

    shutil.copy(good, broken)
    second = _run("import", *export.sources, "--to", f"folder:{library}")
    assert second.returncode == 0, second.stdout + second.stderr
    repaired, expected = _library_view(library), _library_view(clean)
    for key, truth in expected.items():  # every item exactly as a clean import made it:
        assert repaired.get(key) == truth, key  # values, bytes, XMP, albums, live video
    # A motion part whose still was in the cut part came in alone in run 1; the re-run
    # pairs it with its still, and the lone copy's entry stays (never deleted). Its file is
    # the still's motion file itself, not a second copy (see the stored-files check).
    motions = {truth["video"] for truth in expected.values()}
    lone = {key: entry for key, entry in repaired.items() if key not in expected}
    assert all(url is None and entry["sha1"] in motions for (url, _), entry in lone.items()), \
        lone
    stored = _stored_files(library)  # (their bytes may lack what run 1 did not know)
    assert sum(stored.values()) == len(_stored_files(clean)) and set(stored.values()) == {1}
    assert _album_members(library) == _album_members(clean)


def test_copies_whose_sidecar_went_missing_still_merge_into_their_item(tmp_path: Path) -> None:
    """One copy has its sidecar, the other lost it (a cut part): still one item, whichever
    folder holds which. Two year folders are never merged by name alone."""
    root = tmp_path / "export" / PRODUCT
    year, album, other_year = root / "Photos from 2019", root / "Trip", root / "Photos from 2020"
    for folder in (year, album, other_year):
        folder.mkdir(parents=True)
    (album / "metadata.json").write_text('{"title": "Trip"}')
    for name, with_sidecar in (("IMG_A.jpg", year), ("IMG_B.jpg", album)):
        for folder in (year, album):
            (folder / name).write_bytes(unique_jpeg(name))
        (with_sidecar / sidecar_name(name)).write_text(json.dumps(
            {"title": name, "photoTakenTime": {"timestamp": "1562235300"},
             "url": f"https://photos.google.com/photo/{name}"}))
    for folder in (year, other_year):  # same name and bytes, no sidecar: two items
        (folder / "IMG_C.jpg").write_bytes(unique_jpeg("C"))
    source = TakeoutSource([tmp_path / "export"], TakeoutSettings())
    try:
        items = [e for e in source.scan() if isinstance(e, MediaItem)]
    finally:
        source.close()
    by_name: dict[str, list[MediaItem]] = {}
    for item in items:
        by_name.setdefault(item.file.name, []).append(item)
    for name in ("IMG_A.jpg", "IMG_B.jpg"):
        (item,) = by_name[name]
        assert item.metadata.google_url == f"https://photos.google.com/photo/{name}"
        assert [a.title for a in item.albums] == ["Trip"] and len(item.copies) == 1
        assert item.metadata.taken_at_source == "sidecar"
    assert len(by_name["IMG_C.jpg"]) == 2
