"""Issue 2: generated exports land in a folder library exactly as the truth says, and a run
killed part-way finishes on the next run with every item exactly once."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest

from importer.state import State
from tests.conftest import CliResult, cli_command, library_entries, originals
from tests.exportgen import GeneratedExport, make_items, write_folder, write_zip_parts


def check_library(library: Path, export: GeneratedExport) -> None:
    entries = library_entries(library)
    by_url = export.by_url()
    assert sorted(e["google_url"] for e in entries) == sorted(by_url)
    assert len(originals(library)) == len(by_url)
    for entry in entries:
        truth = by_url[entry["google_url"]]
        assert datetime.fromisoformat(entry["taken_at"]) == truth.taken_at
        if truth.location is None:
            assert entry["latitude"] is None and entry["longitude"] is None
        else:
            assert (entry["latitude"], entry["longitude"]) == truth.location
        assert entry["description"] == truth.description
        assert entry["favorite"] is truth.favorite
        assert entry["archived"] is truth.archived
        assert sorted(entry["albums"]) == sorted(truth.albums)
        assert (library / entry["path"]).is_file()
    for title, urls in export.albums.items():
        links = list((library / "albums" / title).iterdir())
        assert len([p for p in links if p.is_symlink()]) == len(urls)


@pytest.mark.parametrize("layout", ["folder", "zip"])
def test_generated_export_matches_truth(tmp_path: Path, cli: Callable[..., CliResult],
                                        layout: str) -> None:
    items = make_items(60, seed=7)
    if layout == "folder":
        export = write_folder(tmp_path / "export", items)
    else:
        export = write_zip_parts(tmp_path / "parts", items, parts=3, seed=7)
    library = tmp_path / "library"
    result = cli("import", *export.sources, "--to", f"folder:{library}", "--workers", "3")
    assert result.code == 0, result.err
    check_library(library, export)
    again = cli("import", *export.sources, "--to", f"folder:{library}")
    assert "Nothing new to import" in again.out
    check_library(library, export)


def test_folder_of_parts_is_read_as_one_export(tmp_path: Path,
                                               cli: Callable[..., CliResult]) -> None:
    export = write_zip_parts(tmp_path / "parts", make_items(30, seed=3), parts=4, seed=3)
    library = tmp_path / "library"
    assert cli("import", tmp_path / "parts", "--to", f"folder:{library}").code == 0
    check_library(library, export)


def test_changes_in_google_follow_on_rerun(tmp_path: Path, cli: Callable[..., CliResult]) -> None:
    items = make_items(10, seed=5, albums=2)
    library = tmp_path / "library"
    assert cli("import", write_folder(tmp_path / "e1", items).sources[0],
               "--to", f"folder:{library}").code == 0
    items[0].favorite = not items[0].favorite
    items[1].description = "edited in Google Photos"
    items[2].albums = [*items[2].albums, "A brand new album"]
    second = write_folder(tmp_path / "e2", items)
    result = cli("import", second.sources[0], "--to", f"folder:{library}")
    assert result.code == 0
    check_library(library, second)
    assert len(originals(library)) == 10


def _count_lines(path: Path) -> int:
    try:
        return len(path.read_bytes().splitlines())
    except FileNotFoundError:
        return 0


@pytest.mark.slow
def test_sigkill_midway_then_rerun_is_exact(tmp_path: Path) -> None:
    items = make_items(300, seed=11, pad=150_000)  # ~150 kB each: slow enough to interrupt
    export = write_zip_parts(tmp_path / "parts", items, parts=2, seed=11)
    library = tmp_path / "library"
    command = cli_command("import", *export.sources, "--to", f"folder:{library}",
                          "--workers", "2")
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while _count_lines(library / "library.jsonl") < 40 and time.monotonic() < deadline:
        if process.poll() is not None:
            break
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL, "the first run must be killed mid-way"
    done_before = len({json.loads(x)["path"] for x in
                       (library / "library.jsonl").read_text().splitlines()
                       if x.endswith("}")})
    assert 0 < done_before < len(items)

    rerun = subprocess.run(command, capture_output=True, text=True, check=False)
    assert rerun.returncode == 0, rerun.stderr
    check_library(library, export)
    counts = Counter(e["google_url"] for e in library_entries(library))
    assert set(counts.values()) == {1}
    with State(library / ".gphotos-importer" / "state.sqlite", readonly=True) as state:
        records = list(state.items())
    target = f"folder:{library}"
    assert sorted(r.identity for r in records) == sorted(export.by_url())
    on_disk = {e["path"] for e in library_entries(library)}
    for record in records:
        on_target = record.on(target)
        assert on_target is not None and on_target.done
        assert on_target.remote_id in on_disk
    assert not (library / ".incoming").exists()
