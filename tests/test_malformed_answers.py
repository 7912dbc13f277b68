"""Issue 9: a server answer that is not what the API describes (a field missing, not JSON at
all) fails the call at the adapter's boundary with a GalleryError: the item fails with a
reason saying so, a failed checksum look-up only means uploading anyway, and the run goes
on. The fake Immich answers wrongly on purpose here (its own checks would flag it)."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import CliResult
from tests.exportgen import make_items, write_folder
from tests.fakes.immich import FakeImmich
from tests.fakes.server import Request, Response


@pytest.fixture
def immich(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeImmich]:
    with FakeImmich("v3") as fake:
        assert isinstance(fake, FakeImmich)
        monkeypatch.setenv("IMMICH_API_KEY", fake.api_key)
        yield fake


def test_malformed_answers_fail_their_item_and_the_run_goes_on(
        tmp_path: Path, cli: Callable[..., CliResult], immich: FakeImmich) -> None:
    export = write_folder(tmp_path / "export", make_items(12, seed=71))
    upload = immich.handlers[("POST", "/assets")]
    calls = itertools.count(1)

    def every_third_without_id(request: Request) -> Response:
        if next(calls) % 3 == 0:
            return Response(201, {"status": "created"})  # no "id"
        return upload(request)

    immich.handlers[("POST", "/assets")] = every_third_without_id
    immich.handlers[("POST", "/assets/bulk-upload-check")] = (
        lambda request: Response(200, {"unexpected": True}))  # no "results"
    state, report = tmp_path / "state.sqlite", tmp_path / "report.json"
    target = ("--to", f"immich:{immich.url}", "--state", state)
    result = cli("import", *export.sources, *target, "--report", report)
    assert result.code == 1 and result.err == "" and "Traceback" not in result.out
    data = json.loads(report.read_text(encoding="utf-8"))
    failed = [e for e in data["files"] if e["outcome"] == "failed"]
    assert len(failed) == 4
    assert all("does not describe (KeyError: 'id')" in e["reason"] for e in failed)
    assert data["counts"]["imported"] == 8
    assert any(note.startswith("checksum look-up failed, uploading anyway: the server "
                               "answered something its API does not describe")
               for note in data["notes"])
