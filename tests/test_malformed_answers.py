"""Issue 9: a server answer that is not what the API describes (a field missing, not JSON at
all) fails the call at the adapter's boundary with a GalleryError: the item fails with a
reason saying so, a failed checksum look-up only means uploading anyway, and the run goes
on. The fake Immich answers wrongly on purpose here (its own checks would flag it). A
server that goes away altogether stops the run (exit 3)."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from importer.model import Album
from tests.conftest import REPO, CliResult, cli_command
from tests.exportgen import make_items, write_folder
from tests.fakes.immich import FakeImmich
from tests.fakes.server import Faults, Request, Response
from tests.test_immich_import import remote_ids


@pytest.fixture
def immich(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeImmich]:
    """Not conftest's strict one: these tests make the server answer off its contract."""
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


def test_a_target_gone_mid_run_stops_it_with_exit_3(tmp_path: Path,
                                                    immich: FakeImmich) -> None:
    """The server goes away after five uploads: every connection is refused from then on.
    The run stops once the retries are spent (seconds), instead of failing item after item;
    what finished is recorded and in the report. (In a process of its own: the fake's
    threads complain on this process's stderr as it shuts down.)"""
    export = write_folder(tmp_path / "export", make_items(30, seed=72))
    upload = immich.handlers[("POST", "/assets")]
    calls = itertools.count(1)

    def vanish() -> None:  # no new connections, and the open ones are cut
        immich.faults = Faults(rate=1.0, kinds=("reset",))
        immich.stop()

    def vanish_after_five(request: Request) -> Response:
        answer = upload(request)
        if next(calls) == 5:
            threading.Timer(0.05, vanish).start()
        return answer

    immich.handlers[("POST", "/assets")] = vanish_after_five
    state, report = tmp_path / "state.sqlite", tmp_path / "report.json"
    env = {**os.environ, "IMMICH_API_KEY": immich.api_key, "PYTHONPATH": str(REPO)}
    command = cli_command("import", *export.sources, "--to", f"immich:{immich.url}",
                          "--state", state, "--workers", "2", "--report", report)
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False,
                            timeout=90)
    assert result.returncode == 3, result.stdout + result.stderr
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("gphotos-importer: stopped: the target cannot be used: "
                                    "cannot connect to ")
    data = json.loads(report.read_text(encoding="utf-8"))
    assert data["exit_code"] == 3 and data["counts"].get("imported", 0) >= 4
    assert data["counts"].get("failed", 0) == 0
    recorded = remote_ids(state, f"immich:{immich.url}")
    assert len(recorded) == data["counts"]["imported"]


@pytest.mark.parametrize("adapter", ["immich", "photoprism"])
def test_every_method_that_asks_the_server_checks_its_answers(adapter: str) -> None:
    """Each public method of a server adapter (all but closing and counting) turns an
    answer off the API into a GalleryError; one left out would crash its caller (reclaim's
    album check calls album_members and expects GalleryError)."""
    import inspect

    from adapters.immich.target import ImmichTarget
    from adapters.photoprism.target import PhotoPrismTarget

    cls = {"immich": ImmichTarget, "photoprism": PhotoPrismTarget}[adapter]
    public = {name: fn for name, fn in inspect.getmembers(cls, inspect.isfunction)
              if not name.startswith("_") and name not in ("close", "stats")}
    assert "album_members" in public and "upload" in public
    assert [n for n, fn in public.items() if not hasattr(fn, "__wrapped__")] == []


def test_album_members_off_the_api_is_a_gallery_error(immich: FakeImmich) -> None:
    from adapters.base import GalleryError
    from adapters.immich.target import ImmichTarget

    gallery = ImmichTarget(immich.url, immich.api_key, workers=2)
    try:
        album = gallery.ensure_album(Album("k", "Trip"), None)
        immich.handlers[("POST", "/search/metadata")] = (
            lambda request: Response(200, {"assets": {"items": [{"no id": 1}]}}))
        with pytest.raises(GalleryError, match="does not describe"):
            gallery.album_members(album)
    finally:
        gallery.close()
