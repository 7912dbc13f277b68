"""Issue 9: killing runs into a folder library, again and again, then one clean run, gives
exactly the library one uninterrupted run gives: for a first import, and for a later
export that changes dates (files move), captions and favorites (files rewritten) and
renames an album. And two runs into one library never write it at once, whatever state
file each uses."""

from __future__ import annotations

import hashlib
import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from importer.state import State
from tests.conftest import cli_command, library_entries, originals
from tests.exportgen import TruthItem, make_quirky_items, write_zip_parts


def _run(sources: list[Path], library: Path,
         *extra: str | Path) -> subprocess.CompletedProcess[str]:
    command = cli_command("import", *sources, "--to", f"folder:{library}", "--workers", "3",
                          *extra)
    return subprocess.run(command, capture_output=True, text=True, check=False, timeout=300)


def _kill_repeatedly(sources: list[Path], library: Path, kills: int, seed: int,
                     took: float) -> int:
    """Start the import and SIGKILL it part-way (an uninterrupted run took `took` seconds),
    `kills` times; returns how many runs were really killed (not finished first)."""
    rng = random.Random(seed)
    killed = 0
    scale = 1.0  # the machine's load changes: a run that finished first gets less time next
    command = cli_command("import", *sources, "--to", f"folder:{library}", "--workers", "3")
    for _ in range(kills):
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.3, 0.9) * took * scale)
        process.send_signal(signal.SIGKILL)
        was_killed = process.wait() == -signal.SIGKILL
        killed += was_killed
        scale = scale if was_killed else scale / 2
    return killed


def _timed(sources: list[Path], library: Path) -> float:
    started = time.monotonic()
    done = _run(sources, library)
    assert done.returncode == 0, done.stderr
    return time.monotonic() - started


def _file_sha1(path: Path) -> str | None:
    return hashlib.sha1(path.read_bytes()).hexdigest() if path.is_file() else None


def signature(library: Path) -> dict[str, Any]:
    """Everything a user sees of the library, independent of the order work happened in."""
    items = {}
    for entry in library_entries(library):
        key = f"{entry['google_url']}|{entry['original_name']}|{entry['original_sha1']}"
        path = library / entry["path"]
        video = entry.get("live_video")
        items[key] = {
            "folder": str(Path(entry["path"]).parent),
            **{k: entry.get(k) for k in ("taken_at", "latitude", "longitude", "description",
                                         "favorite", "archived", "sha1", "xmp")},
            "albums": sorted(entry["albums"]),
            "bytes": _file_sha1(path), "sidecar": _file_sha1(path.with_name(path.name + ".xmp")),
            "video": _file_sha1(library / video) if video else None,
        }
    albums = {}
    by_path = {e["path"]: f"{e['google_url']}|{e['original_name']}|{e['original_sha1']}"
               for e in library_entries(library)}
    for folder in (library / "albums").iterdir():
        meta = json.loads((folder / ".album.json").read_text())
        members = sorted(by_path[p.resolve().relative_to(library.resolve()).as_posix()]
                         for p in folder.iterdir() if p.is_symlink())
        albums[meta["title"]] = members
    return {"items": items, "albums": albums}


def assert_clean(library: Path) -> None:
    """No leftovers of killed runs, every file described once, the state agreeing."""
    entries = library_entries(library)
    described = [e["path"] for e in entries] + [e["live_video"] for e in entries
                                                 if e.get("live_video")]
    assert sorted(p.relative_to(library).as_posix() for p in originals(library)) == \
        sorted(described)
    assert not (library / ".incoming").exists()
    leftovers = [p for p in library.rglob("*") if p.name.endswith((".tmp", ".relink"))
                 or ".backup-new" in p.name]
    assert leftovers == []
    for sidecar in library.rglob("*.xmp"):
        owner = sidecar.relative_to(library).as_posix().removesuffix(".xmp")
        assert owner in described, f"{owner}: a sidecar without its file"
    with State(library / ".gphotos-importer" / "state.sqlite", readonly=True) as state:
        remote = sorted(r.on(f"folder:{library}").remote_id for r in state.items())
    assert remote == sorted({e["path"] for e in entries})
    for folder in (library / "albums").iterdir():
        for link in folder.iterdir():
            assert link.name == ".album.json" or link.resolve().is_file(), link
    verify = subprocess.run(cli_command("verify", "--to", f"folder:{library}"),
                            capture_output=True, text=True, check=False)
    assert verify.returncode == 0, verify.stdout + verify.stderr


def _changed(items: list[TruthItem]) -> list[TruthItem]:
    """A later export: new dates (other month), captions, favorites, an album renamed."""
    from copy import deepcopy
    from datetime import timedelta

    later = deepcopy(items)
    for i, item in enumerate(later):
        if i % 2 == 0:
            item.taken_at -= timedelta(days=40)
        if i % 4 == 1:
            item.description = f"new caption {i}"
        if i % 5 == 2:
            item.favorite = not item.favorite
        item.albums = ["Renamed trip" if a == "Trip to Lisbon" else a for a in item.albums]
    return later


@pytest.mark.slow
def test_kills_during_first_import_and_during_changes_converge(tmp_path: Path) -> None:
    items = make_quirky_items(60, seed=23)
    for item in items:
        item.pad = 60_000  # slow enough to be killed part-way
    first = write_zip_parts(tmp_path / "first", items, parts=3, seed=23)
    second = write_zip_parts(tmp_path / "second", _changed(items), parts=3, seed=24)

    reference = tmp_path / "reference"
    took = [_timed(first.sources, reference), _timed(second.sources, reference)]
    assert_clean(reference)

    library = tmp_path / "library"
    assert _kill_repeatedly(first.sources, library, 6, 1, took[0]) >= 2
    done = _run(first.sources, library)
    assert done.returncode == 0, done.stderr
    assert_clean(library)
    assert _kill_repeatedly(second.sources, library, 6, 2, took[1]) >= 2
    done = _run(second.sources, library)
    assert done.returncode == 0, done.stderr
    assert_clean(library)
    assert signature(library) == signature(reference)


@pytest.mark.slow
def test_two_runs_into_one_library_with_different_states(tmp_path: Path) -> None:
    """Started together: they take turns (the second refused in one line while the first
    writes, or run after it), and neither breaks the other; a refused one runs later."""
    items = make_quirky_items(40, seed=29)
    for item in items:
        item.pad = 400_000
    export = write_zip_parts(tmp_path / "parts", items, parts=2, seed=29)
    library = tmp_path / "library"
    states = [tmp_path / "a" / "state.sqlite", tmp_path / "b" / "state.sqlite"]
    runs = [subprocess.Popen(cli_command("import", *export.sources, "--to", f"folder:{library}",
                                         "--workers", "2", "--state", state),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for state in states]
    answers = [run.communicate(timeout=300) for run in runs]
    codes = [run.returncode for run in runs]
    assert sorted(codes) in ([0, 0], [0, 2]), answers
    for code, (_, err), state in zip(codes, answers, states, strict=True):
        if code == 2:
            lines = err.strip().splitlines()
            assert len(lines) == 1 and "another run is writing this folder library" in lines[0]
            assert _items_in(state) == 0
            again = _run(export.sources, library, "--state", state)
            assert again.returncode == 0, again.stderr
            assert "imported" not in _outcomes(again.stdout)
    assert_clean_for(library, states)


def test_a_library_held_by_another_run_is_refused_in_one_line(tmp_path: Path) -> None:
    library = tmp_path / "library"
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from pathlib import Path; "
         "from adapters.folder.target import FolderTarget; "
         f"t = FolderTarget(Path({str(library)!r})); print('ready', flush=True); "
         "time.sleep(60)"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        export = write_zip_parts(tmp_path / "parts", make_quirky_items(5, seed=3), parts=1)
        refused = _run(export.sources, library, "--state", tmp_path / "elsewhere.sqlite")
    finally:
        holder.kill()
        holder.wait()
    assert refused.returncode == 2
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1, refused.stderr
    assert str(library) in lines[0] and f"pid {holder.pid}" in lines[0]
    assert library_entries(library) == []
    assert _run(export.sources, library, "--state", tmp_path / "elsewhere.sqlite"
                ).returncode == 0  # the kernel dropped the dead holder's lock


def _items_in(state: Path) -> int:
    with State(state, readonly=True) as opened:
        return sum(1 for _ in opened.items())


def _outcomes(out: str) -> str:
    return "\n".join(line for line in out.splitlines() if line.startswith("│"))


def assert_clean_for(library: Path, states: list[Path]) -> None:
    entries = library_entries(library)
    paths = sorted({e["path"] for e in entries})
    for state in states:
        with State(state, readonly=True) as opened:
            remote = sorted({r.on(f"folder:{library}").remote_id for r in opened.items()})
        assert remote == paths
    for state in states:
        verify = subprocess.run(cli_command("verify", "--to", f"folder:{library}",
                                            "--state", state),
                                capture_output=True, text=True, check=False)
        assert verify.returncode == 0, verify.stdout


def test_one_state_two_targets_second_is_refused(tmp_path: Path) -> None:
    """The state's own lock: wherever it lives, whatever the target."""
    state = tmp_path / "shared" / "state.sqlite"
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import time; from pathlib import Path; from importer.state import State; "
         f"s = State(Path({str(state)!r})); print('ready', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        export = write_zip_parts(tmp_path / "parts", make_quirky_items(5, seed=3), parts=1)
        refused = [_run(export.sources, tmp_path / name, "--state", state)
                   for name in ("one", "two")]
    finally:
        holder.kill()
        holder.wait()
    for result, name in zip(refused, ("one", "two"), strict=True):
        assert result.returncode == 2
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "another run is using this state" in lines[0]
        assert str(state) in lines[0] and f"pid {holder.pid}" in lines[0]
        assert not (tmp_path / name).exists()


_KILL_AT = """
import os, sys
from pathlib import Path
import adapters.folder.albums, adapters.folder.files, adapters.folder.index, importer.state
owner = {"place": (adapters.folder.files.Files, "link_unique"),
         "sidecar": (adapters.folder.files.Files, "write_atomic"),
         "index": (adapters.folder.index.LibraryIndex, "put"),
         "state": (importer.state.State, "put"),
         "link": (adapters.folder.albums.AlbumFolders, "add_link"),
         "remove": (adapters.folder.index.LibraryIndex, "remove"),
         "relink": (os, "symlink")}[sys.argv[1]]
original, calls, limit = getattr(*owner), [0], int(sys.argv[2])
def counted(args):  # of the symlinks, only the new link of a moved file's album entry
    return sys.argv[1] != "relink" or "relink" in str(args[1])
def dying(*args, **kwargs):
    result = original(*args, **kwargs)
    if not counted(args):
        return result
    calls[0] += 1
    if calls[0] >= limit:
        os._exit(9)  # as SIGKILL: no cleanup, no flush beyond what was written
    return result
setattr(owner[0], owner[1], dying)
from importer.cli import main
main(sys.argv[3:])
"""


@pytest.fixture(scope="module")
def two_exports(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Any], Path]:
    """A first export and a later one that changes it, and the library they give."""
    base = tmp_path_factory.mktemp("kill-points")
    items = make_quirky_items(20, seed=41)
    exports = [write_zip_parts(base / "first", items, parts=2, seed=41),
               write_zip_parts(base / "second", _changed(items), parts=2, seed=42)]
    reference = base / "reference"
    for export in exports:
        assert _run(export.sources, reference).returncode == 0
    return exports, reference


@pytest.mark.parametrize("point", ["place", "sidecar", "index", "state", "link", "remove",
                                   "relink"])
def test_a_kill_right_after_any_step_is_repaired(tmp_path: Path, point: str,
                                                 two_exports: tuple[list[Any], Path]) -> None:
    """Killed just after placing a file, writing its sidecar, its index line, its state
    record, an album link, or (during a later export's move) dropping its old index line
    or making the new album link of a moved file: the next run completes the library
    exactly, with nothing of the killed run left anywhere."""
    exports, reference = two_exports
    library = tmp_path / "library"
    rng = random.Random(point)
    deaths = 0
    for export in exports:
        for _ in range(2):
            args = ["import", *map(str, export.sources), "--to", f"folder:{library}",
                    "--workers", "2"]
            at = 1 if point == "relink" else rng.randint(1, 10)  # moved files are few
            died = subprocess.run([sys.executable, "-c", _KILL_AT, point, str(at), *args],
                                  capture_output=True, text=True, check=False, timeout=300)
            assert died.returncode in (0, 9), died.stderr
            deaths += died.returncode == 9
        done = _run(export.sources, library)
        assert done.returncode == 0, done.stderr
        assert_clean(library)
    assert deaths > 0
    assert signature(library) == signature(reference)


def test_a_relink_left_in_an_album_folder_is_swept(tmp_path: Path,
                                                   two_exports: tuple[list[Any], Path]) -> None:
    """A link a killed run of an earlier version left in an album folder (`.NAME.relink`)
    is neither kept nor taken for a member: the next run removes it."""
    exports, _ = two_exports
    library = tmp_path / "library"
    assert _run(exports[0].sources, library).returncode == 0
    before = signature(library)
    album = next(p for p in (library / "albums").iterdir()
                 if any(c.is_symlink() for c in p.iterdir()))
    link = next(c for c in album.iterdir() if c.is_symlink())
    (album / f".{link.name}.relink").symlink_to(link.readlink())
    assert _run(exports[1].sources, library).returncode == 0
    assert_clean(library)
    assert _run(exports[0].sources, tmp_path / "fresh").returncode == 0
    assert _run(exports[1].sources, tmp_path / "fresh").returncode == 0
    assert signature(library) == signature(tmp_path / "fresh") != before
