"""Issue 9: PhotoPrism stacks an original and its edited copy (same capture time and place,
read from the files) into one photo. That is how PhotoPrism shows the pair: both items are
imported, the run exits 0, the report says what happened, and verify finds both."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from importer.state import State
from tests.conftest import CliResult
from tests.exportgen import make_items, write_folder
from tests.fakes.photoprism import FakePhotoPrism


def test_an_edited_copy_stacked_with_its_original_counts_as_imported(
        tmp_path: Path, photoprism: FakePhotoPrism, cli: Callable[..., CliResult]) -> None:
    items = make_items(10, seed=51)
    for item in items[:4]:
        item.edited = "-edited"
        item.location = (38.7139, -9.1334)  # time and place both in the files' EXIF
    export = write_folder(tmp_path / "export", items)
    state, report = tmp_path / "state.sqlite", tmp_path / "report.json"
    target = ("--to", f"photoprism:{photoprism.url}", "--state", state)
    result = cli("import", *export.sources, *target, "--report", report)
    assert result.code == 0, result.out + result.err

    entries = json.loads(report.read_text(encoding="utf-8"))["files"]
    stacked = [e for e in entries
               if e["outcome"] == "imported" and "stacked" in e.get("reason", "")]
    assert len(stacked) == 4  # one of each pair says it shares the other's photo
    assert {e["kind"] for e in stacked} <= {"original", "edited variant"}
    with State(state, readonly=True) as opened:
        remote = {r.identity: r.on(f"photoprism:{photoprism.url}") for r in opened.items()}
    assert all(r is not None and r.done for r in remote.values()) and len(remote) == 14
    for item in items[:4]:
        original, edited = remote[item.url], remote[f"{item.url}#variant:{item.edited_name}"]
        assert original is not None and edited is not None
        assert original.remote_id == edited.remote_id  # one photo shows both files
    assert len(photoprism.library.photos) == 10

    verified = cli("verify", *target)
    assert verified.code == 0 and "verified 14 item(s)" in verified.out
    again = cli("import", *export.sources, *target)
    assert again.code == 0 and "Nothing new to import" in again.out
