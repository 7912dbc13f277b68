"""Issue 3: a quirky export split across zip and tgz parts imports into a folder library
exactly as the truth says, for every item, and the report accounts for every file."""

from __future__ import annotations

import json
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CliResult, library_entries
from tests.exportgen import (
    GeneratedExport,
    TruthItem,
    make_quirky_items,
    sidecar_name,
    write_folder,
    write_parts,
)

Key = tuple[str | None, str]


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def expected_entries(items: list[TruthItem], *, with_trash: bool = False
                     ) -> Iterator[tuple[Key, dict[str, Any]]]:
    """What the library must hold: one entry per imported file (originals and edited
    copies), keyed by Google URL and original name."""
    for item in items:
        if item.trashed and not with_trash:
            continue
        used = item.sidecar_used
        fields = {
            "taken_at": item.expected_taken_at,
            "from_name": not used or item.taken_zero,
            "location": item.location if used else None,
            "description": item.description if used else None,
            "favorite": item.favorite if used else False,
            "archived": item.expected_archived,
            "albums": sorted(item.albums),
        }
        yield (item.google_url, nfc(item.name)), {**fields, "live": item.live is not None}
        if item.edited_name:
            yield (item.google_url, item.edited_name), {**fields, "live": False}


def check_library(library: Path, items: list[TruthItem], *, with_trash: bool = False) -> None:
    entries = library_entries(library)
    found = {(e["google_url"], e["original_name"]): e for e in entries}
    assert len(found) == len(entries), "an item was imported twice"
    expected = dict(expected_entries(items, with_trash=with_trash))
    assert sorted(found, key=str) == sorted(expected, key=str)
    for key, truth in expected.items():
        entry = found[key]
        taken = datetime.fromisoformat(entry["taken_at"]) if entry["taken_at"] else None
        if truth["from_name"] and truth["location"] and taken is not None:
            # A wall time from the name is read in the GPS position's zone (issue 4).
            assert taken.replace(tzinfo=None) == truth["taken_at"].replace(tzinfo=None), key
        else:
            assert taken == truth["taken_at"], key
        location = (entry["latitude"], entry["longitude"])
        assert location == (truth["location"] or (None, None)), key
        assert entry["description"] == truth["description"], key
        assert entry["favorite"] is truth["favorite"], key
        assert entry["archived"] is truth["archived"], key
        assert sorted(entry["albums"]) == truth["albums"], key
        assert (library / entry["path"]).is_file()
        assert ("live_video" in entry) is truth["live"], key
        if truth["live"]:
            assert (library / entry["live_video"]).is_file()
        if key[1].endswith(".HEIC"):  # JPEG bytes in a .heic: named for what it is
            assert entry["path"].endswith(".jpg")


def check_report(report: dict[str, Any], export: GeneratedExport) -> None:
    files = report["files"]
    where = [f["file"].split(":", 1)[1] for f in files]
    assert len(where) == len(set(where)), "a file is in the report twice"
    assert report["total_files"] == len(files) == sum(report["counts"].values())
    stats = report["export"]
    assert stats["files"] == len(export.files)
    assert stats["files"] - stats["json_used"] + stats["part_problems"] == len(files)
    reported = set(where)
    for path in export.files:
        is_json = path.lower().endswith(".json")
        assert is_json or nfc(path) in reported, f"{path} is not in the report"
    by_path = {w: f for w, f in zip(where, files, strict=True)}
    for path, outcome in export.extras.items():
        if outcome:
            assert by_path[path]["outcome"] == outcome, path
        else:
            assert path not in by_path
    for item in export.items:
        if item.trashed:
            entry = by_path[nfc(f"Takeout/Google Photos/Trash/{item.name}")]
            assert entry["outcome"] == "skipped" and "trash" in entry["reason"]
        if item.damaged_sidecar:
            damaged = [w for w in where if w.endswith(sidecar_name(item.name, item.naming))]
            assert damaged and all(by_path[w]["outcome"] == "unreadable" for w in damaged)
    kinds = Counter(f.get("kind") for f in files)
    assert kinds["live-photo part"] == sum(1 for i in export.items
                                          if i.live and not i.trashed)
    assert kinds["edited variant"] == sum(1 for i in export.items if i.edited)
    assert kinds["no sidecar"] == sum(1 for i in export.items if not i.sidecar_used)


@pytest.mark.parametrize("fmt", ["zip", "tgz", "mixed", "folder"])
def test_quirky_export_imports_exactly(tmp_path: Path, cli: Callable[..., CliResult],
                                       fmt: str) -> None:
    items = make_quirky_items(60, seed=3)
    if fmt == "folder":
        export = write_folder(tmp_path / "export", items, extras=True)
    else:
        export = write_parts(tmp_path / "parts", items, fmt, parts=3, seed=3, extras=True)
    library, report_path = tmp_path / "library", tmp_path / "report.json"
    result = cli("import", *export.sources, "--to", f"folder:{library}",
                 "--report", report_path, "--workers", "2")
    assert result.code == 0, result.out + result.err
    check_library(library, items)
    report = json.loads(report_path.read_text(encoding="utf-8"))
    check_report(report, export)
    assert "export: " in result.out and "capture times from:" in result.out
    assert "not in the report" not in result.out
    assert not list(Path(library).glob(".incoming/*"))

    again = cli("import", *export.sources, "--to", f"folder:{library}")
    assert again.code == 0 and "Nothing new to import" in again.out
    check_library(library, items)


def test_settings_bring_trash_in_and_leave_untitled_albums_out(
        tmp_path: Path, cli: Callable[..., CliResult]) -> None:
    items = make_quirky_items(40, seed=5)
    export = write_parts(tmp_path / "parts", items, "tgz", parts=2, seed=5)
    config = tmp_path / "config.yaml"
    config.write_text("takeout:\n  include_trashed: true\n  untitled_albums: skip\n")
    library = tmp_path / "library"
    result = cli("import", *export.sources, "--to", f"folder:{library}", "--config", config)
    assert result.code == 0, result.out
    for item in items:
        item.albums = [a for a in item.albums if a not in ("Untitled(1)", "Sans titre(2)")]
    check_library(library, items, with_trash=True)
    trashed = [e for e in library_entries(library) if "00015" in e["original_name"]]
    assert len(trashed) == 1


def test_dry_run_over_tgz_parts_accounts_for_everything_and_writes_nothing(
        tmp_path: Path, cli: Callable[..., CliResult]) -> None:
    items = make_quirky_items(40, seed=11)
    export = write_parts(tmp_path / "parts", items, "tgz", parts=2, seed=11, extras=True)
    spool = tmp_path / "spool"
    spool.mkdir()
    config = tmp_path / "config.yaml"
    config.write_text(f"takeout:\n  spool_dir: {spool}\n")
    library, report_path = tmp_path / "library", tmp_path / "report.json"
    result = cli("import", *export.sources, "--to", f"folder:{library}", "--dry-run",
                 "--report", report_path, "--config", config)
    assert result.code == 0, result.out
    assert not library.exists()
    assert list(spool.iterdir()) == []
    report = json.loads(report_path.read_text(encoding="utf-8"))
    check_report(report, export)
    planned = Counter(f["outcome"] for f in report["files"])
    assert planned["planned"] == sum(1 + bool(i.edited) for i in items if not i.trashed)
