"""Issue 9: an import of `.tgz` parts killed again and again (SIGKILL at random points:
while listing, spooling, placing files, recording), then run once more, converges to the
exact library a clean import of the same export makes: every item once, with its albums,
metadata, live video and files, nothing left over (no stray copies, no spool, no
`.incoming`)."""

from __future__ import annotations

import hashlib
import random
import signal
import subprocess
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from adapters.folder.target import FolderTarget
from tests.conftest import cli_command, library_entries
from tests.exportgen import make_quirky_items, write_parts
from tests.gallery_contract import asset

KILLS = 10


def _library_view(library: Path) -> dict[tuple[str | None, str], dict[str, Any]]:
    """Each item by (Google URL, original name) with what it carries; paths only through
    their content (a name collision may be numbered differently, the bytes may not)."""
    entries = library_entries(library)
    view = {}
    for entry in entries:
        file = library / entry["path"]
        assert hashlib.sha1(file.read_bytes()).hexdigest() == entry["sha1"], entry["path"]
        key = (entry["google_url"], entry["original_name"])
        assert key not in view, f"{key} is in the library twice"
        video = entry.get("live_video")
        view[key] = {
            **{k: entry[k] for k in ("taken_at", "latitude", "longitude", "description",
                                     "favorite", "archived", "sha1", "original_sha1")},
            "albums": sorted(entry["albums"]),
            "video": hashlib.sha1((library / video).read_bytes()).hexdigest() if video else None,
            "xmp": _read(file.with_name(file.name + ".xmp")),
        }
    return view


def _read(path: Path) -> bytes | None:
    return path.read_bytes() if path.exists() else None


def _album_view(library: Path) -> dict[str, Counter[str]]:
    """Album title -> sha1 of each linked file (a link twice would count twice)."""
    albums: dict[str, Counter[str]] = {}
    for folder in sorted((library / "albums").glob("*")):
        links = [p for p in folder.iterdir() if p.is_symlink()]
        albums[folder.name] = Counter(hashlib.sha1(p.read_bytes()).hexdigest() for p in links)
    return albums


def _stored_files(library: Path) -> Counter[str]:
    """Every media file in the library's date folders, by content: a stray copy left by a
    killed run shows as a count of 2 (or a sha1 no entry names)."""
    return Counter(hashlib.sha1(p.read_bytes()).hexdigest() for p in library.rglob("*")
                   if p.is_file() and not p.is_symlink() and p.suffix != ".xmp"
                   and p.relative_to(library).parts[0] not in ("albums", ".gphotos-importer")
                   and p.name != "library.jsonl")


def _lines(path: Path) -> int:
    try:
        return path.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def _wait_for_lines(path: Path, count: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while _lines(path) < count and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.001)


def _run(command: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, check=False, timeout=600)


@pytest.mark.slow
def test_killed_again_and_again_then_run_once_more_is_exact(tmp_path: Path) -> None:
    items = make_quirky_items(60, seed=31)
    for item in items:
        item.pad = 400_000  # enough bytes that a kill lands mid-work
    export = write_parts(tmp_path / "parts", items, "tgz", parts=3, seed=31, extras=True)
    spool = tmp_path / "spool"
    spool.mkdir()
    config = tmp_path / "config.yaml"
    config.write_text(f"takeout:\n  spool_dir: {spool}\n")

    clean, killed = tmp_path / "clean", tmp_path / "killed"
    started = time.monotonic()
    reference = _run(cli_command("import", *export.sources, "--to", f"folder:{clean}",
                                 "--config", config, "--workers", "2"))
    duration = time.monotonic() - started
    assert reference.returncode == 0, reference.stdout + reference.stderr

    rng = random.Random(9)
    command = cli_command("import", *export.sources, "--to", f"folder:{killed}",
                          "--config", config, "--workers", "2")
    mid_import = 0
    for kill in range(KILLS):
        before = _lines(killed / "library.jsonl")
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        if kill % 3 == 2:  # anywhere: listing, spooling, album flush, closing
            time.sleep(rng.uniform(0.05, duration))
        else:  # just after this run placed its first item (the import itself is brief)
            _wait_for_lines(killed / "library.jsonl", before + 1, process)
            time.sleep(rng.uniform(0, 0.02))
        process.send_signal(signal.SIGKILL)
        if process.wait() != 0:
            mid_import += before < _lines(killed / "library.jsonl")
    assert mid_import >= 2, "too few runs were killed in the middle of importing"

    final = _run(command)
    assert final.returncode == 0, final.stdout + final.stderr
    assert _library_view(killed) == _library_view(clean)
    assert _album_view(killed) == _album_view(clean)
    stored = _stored_files(killed)
    assert stored == _stored_files(clean) and set(stored.values()) == {1}
    assert not (killed / ".incoming").exists()
    assert list(spool.iterdir()) == [], "a killed run's spool was not cleaned up"
    again = _run(command)
    assert again.returncode == 0 and "Nothing new to import" in again.stdout, again.stdout
    verify = _run(cli_command("verify", "--to", f"folder:{killed}"))
    assert verify.returncode == 0, verify.stdout + verify.stderr


class _Killed(BaseException):
    """Stands in for SIGKILL at one exact point (nothing after it runs)."""


def test_a_kill_while_an_xmp_is_written_leaves_nothing_in_the_library(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The kill loop once found a half-written `.NAME.xmp.<thread>.tmp` beside a photo;
    the temporary file now lives in `.incoming`, which the next run empties."""
    item = asset("IMG_1.jpg", "one")
    item = replace(item, primary=replace(item.primary, xmp=b"<x:xmpmeta/>"))
    library = tmp_path / "library"
    target = FolderTarget(library)

    def killed(self: Path, where: Path) -> Path:
        raise _Killed

    monkeypatch.setattr(Path, "replace", killed)
    with pytest.raises(_Killed):
        target.upload(item)
    monkeypatch.undo()
    dated = [p.name for p in library.rglob("*") if p.is_file()
             and p.relative_to(library).parts[0] not in (".incoming", ".gphotos-importer")
             and p.name != "library.jsonl"]
    assert dated == ["IMG_1.jpg"], dated
    target._library_lock.close()  # the kernel drops a killed process's lock
    FolderTarget(library).close()  # the next run
    assert not (library / ".incoming").exists()


def test_a_kill_between_placing_a_file_and_its_xmp_is_repaired_by_the_next_run(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Found by the kill loop: the file was in place (not yet in library.jsonl or the
    state), its XMP not; the next run found the identical file and left it without one."""
    item = asset("VID_1.jpg", "video")
    item = replace(item, primary=replace(item.primary, xmp=b"<x:xmpmeta>values</x:xmpmeta>"))
    library = tmp_path / "library"
    target = FolderTarget(library)

    def killed(self: object, rel: str, data: bytes) -> None:
        raise _Killed

    monkeypatch.setattr("adapters.folder.files.Files.write_atomic", killed)
    with pytest.raises(_Killed):
        target.upload(item)
    monkeypatch.undo()
    target._library_lock.close()  # the kernel drops a killed process's lock
    again = FolderTarget(library)  # the next run: same item, same bytes
    result = again.upload(item)
    xmp = library / (result.remote_id + ".xmp")
    assert xmp.read_bytes() == b"<x:xmpmeta>values</x:xmpmeta>"
    again.close()
