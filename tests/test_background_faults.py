"""Issue 14 moved work off the main thread: checksum look-ups, album jobs, favorites and
archive changed in Google (one bulk request per value), and the one request that gives an
adopted copy Google's values. A fault in any of them, as in tests/test_fault_injection.py
but on Immich, where all of these paths exist: a fatal error stops the run with its exit
code and one line; any other fails only its items or its album (exit 1, or 0 for a
look-up, which only costs the look-up). Never a traceback, every item the report calls
done is recorded, and a clean run afterwards leaves the exact library.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from adapters import open_target
from importer.cli import main
from importer.state import State
from tests.exportgen import GeneratedExport, TruthItem, make_items, write_folder
from tests.fakes.immich import FakeImmich
from tests.faulty_gallery import ALBUM_METHODS, FATAL_ERRORS, ITEM_ERRORS, Fault, FaultyGallery
from tests.test_immich_import import check_immich

BULK_METHODS = ("set_flags_many", "apply_changes")
METHODS = ("find_existing", "upload", "ensure_album", "add_to_album", *BULK_METHODS)
DONE = {"imported", "already there", "updated"}


class FaultyImmich(FaultyGallery):
    """The Immich adapter with faults, its optional protocols included."""

    def set_flags_many(self, remote_ids: Any, *, favorite: bool | None = None,
                       archived: bool | None = None) -> None:
        self._call("set_flags_many", remote_ids, favorite=favorite, archived=archived)

    def apply_changes(self, remote_id: str, changes: Any) -> None:
        self._call("apply_changes", remote_id, changes)

    def rename_album(self, album_id: str, album: Any) -> str | None:
        return self.inner.rename_album(album_id, album)  # type: ignore[no-any-return]


faults = st.builds(Fault, method=st.sampled_from(METHODS), call=st.integers(1, 3),
                   error=st.sampled_from([*ITEM_ERRORS, *FATAL_ERRORS]), after=st.booleans())


def expected_codes(fired: list[Fault]) -> set[int]:
    fatal = {f.fatal_code for f in fired if f.fatal_code is not None}
    if fatal:
        return fatal  # whichever stopped the run first
    failing = {"upload", *ALBUM_METHODS, *BULK_METHODS}
    return {1} if any(f.method in failing for f in fired) else {0}


def changed(items: list[TruthItem]) -> list[TruthItem]:
    """The same items after a few weeks in Google: flags toggled, a caption edited."""
    again = [TruthItem(**item.__dict__) for item in items]
    for n, item in enumerate(again):
        if n % 2 == 0:
            item.favorite = not item.favorite
        if n % 3 == 0:
            item.archived = not item.archived
        if n % 5 == 0:
            item.description = f"edited {item.name}"
    return again


def imported(fake: FakeImmich, export: GeneratedExport, state: Path) -> None:
    code = main(["import", *map(str, export.sources), "--to", f"immich:{fake.url}",
                 "--state", str(state)])
    assert code == 0


def check_report(path: Path, code: int, state_path: Path, target: str) -> None:
    report = json.loads(path.read_text(encoding="utf-8"))
    assert report["exit_code"] == code
    assert (report["stopped"] is not None) == (code >= 3)
    with State(state_path, readonly=True) as state:
        for entry in report["files"]:
            if entry["outcome"] in DONE and entry.get("identity"):
                record = state.get(entry["identity"])
                on_target = record.on(target) if record else None
                assert on_target is not None and on_target.done, entry


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(chosen=st.lists(faults, min_size=1, max_size=3), workers=st.integers(1, 4))
def test_a_fault_in_background_work_fails_its_part_or_stops_the_run_cleanly(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        chosen: list[Fault], workers: int) -> None:
    items = make_items(18, seed=14, albums=2)
    with tempfile.TemporaryDirectory() as scratch, FakeImmich("v3") as fake:
        assert isinstance(fake, FakeImmich)
        tmp = Path(scratch)
        monkeypatch.setenv("IMMICH_API_KEY", fake.api_key)
        # Immich already holds two photos from another tool (adopted: one request each),
        # and ten came with an earlier export (their flags and a caption changed since).
        imported(fake, write_folder(tmp / "other", items[10:12]), tmp / "other.sqlite")
        state, report = tmp / "state.sqlite", tmp / "report.json"
        imported(fake, write_folder(tmp / "first", items[:10]), state)
        export = write_folder(tmp / "second", [*changed(items[:10]), *items[10:]])
        capsys.readouterr()

        doubles: list[FaultyImmich] = []

        def faulty(spec: str, settings: Any) -> FaultyImmich:
            doubles.append(FaultyImmich(open_target(spec, settings), chosen))
            return doubles[-1]

        with monkeypatch.context() as patched:
            patched.setattr("importer.run.open_target", faulty)
            code = main(["import", *map(str, export.sources), "--to", f"immich:{fake.url}",
                         "--state", str(state), "--workers", str(workers),
                         "--report", str(report)])
        out, err = capsys.readouterr()
        fired = doubles[0].fired
        event(f"exit code {code}")
        for fault in fired:
            event(f"fired: {fault.method}")
        assert code in expected_codes(fired), (fired, out, err)
        assert "Traceback" not in out + err and "Import into" in out
        lines = [line for line in err.splitlines() if line.strip()]
        if code >= 3:
            assert len(lines) == 1 and lines[0].startswith("gphotos-importer: stopped: ")
        else:
            assert lines == []
        check_report(report, code, state, f"immich:{fake.url}")

        assert main(["import", *map(str, export.sources), "--to", f"immich:{fake.url}",
                     "--state", str(state)]) == 0
        check_immich(fake, export, state)
        assert fake.rejected == [] and fake.violations == []
