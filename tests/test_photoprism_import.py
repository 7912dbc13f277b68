"""Issue 6: a generated export through the command line into the fake PhotoPrism lands as
the truth says, once; a re-run imports nothing; faults and a SIGKILL lose or double nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import UTC
from pathlib import Path

import pytest

from importer.state import State
from tests.conftest import CliResult, cli_command
from tests.exportgen import GeneratedExport, make_items, write_folder, write_zip_parts
from tests.fakes.photoprism import APP_PASSWORD, PASSWORD, USERNAME, FakePhotoPrism
from tests.fakes.server import Faults, Request, Response


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakePhotoPrism]:
    server = FakePhotoPrism(index_delay=0.01)
    monkeypatch.setenv("PHOTOPRISM_TOKEN", APP_PASSWORD)
    with server:
        yield server
    assert server.rejected == [] and server.violations == []


def check_photoprism(fake: FakePhotoPrism, state_path: Path, export: GeneratedExport) -> None:
    """Every item exactly once, with the truth's date, place, caption, flags and albums."""
    with State(state_path, readonly=True) as state:
        records = {r.google_url: r.on(f"photoprism:{fake.url}") for r in state.items()}
    assert sorted(records) == sorted(export.by_url())
    uids = [r.remote_id for r in records.values() if r is not None and r.done]
    assert len(uids) == len(set(uids)) == len(export.items) == len(fake.library.photos)
    for truth in export.items:
        record = records[truth.url]
        assert record is not None and record.remote_id is not None
        photo = fake.library.photos[record.remote_id]
        assert photo.taken_at == truth.taken_at.astimezone(UTC), truth.url
        assert photo.taken_src in ("manual", "meta")  # meta: adopted, date read from EXIF
        where = (photo.lat, photo.lng) if photo.lat or photo.lng else None
        assert where == truth.location
        assert (photo.caption or None, photo.favorite) == (truth.description, truth.favorite)
        assert (photo.deleted_at is not None) is truth.archived
        assert fake.album_titles(photo.uid) == set(truth.albums)
    assert {a.title for a in fake.library.albums.values()} == set(export.albums)


def test_import_matches_truth_and_rerun_imports_nothing(
        fake: FakePhotoPrism, tmp_path: Path, cli: Callable[..., CliResult]) -> None:
    export = write_zip_parts(tmp_path / "parts", make_items(60, seed=7), parts=3, seed=7)
    state = tmp_path / "state.sqlite"
    target = f"photoprism:{fake.url}"
    first = cli("import", *export.sources, "--to", target, "--state", state, "--workers", "3")
    assert first.code == 0, first.err
    check_photoprism(fake, state, export)
    uploads, imports = fake.count("POST", "/api/v1/users/"), fake.imports
    assert imports == 3  # 60 items in batches of 20: one import each
    again = cli("import", *export.sources, "--to", target, "--state", state)
    assert again.code == 0 and "Nothing new to import" in again.out
    assert (fake.count("POST", "/api/v1/users/"), fake.imports) == (uploads, imports)
    verified = cli("verify", "--to", target, "--state", state)
    assert verified.code == 0 and "verified 60 item(s)" in verified.out
    check_photoprism(fake, state, export)


def test_a_file_photoprism_drops_fails_alone_with_its_reason(
        fake: FakePhotoPrism, tmp_path: Path, cli: Callable[..., CliResult]) -> None:
    items = make_items(12, seed=3)
    items[4].pad = 40_000
    export = write_folder(tmp_path / "export", items)
    fake.file_size_limit = 20_000
    report = tmp_path / "report.json"
    result = cli("import", *export.sources, "--to", f"photoprism:{fake.url}", "--state",
                 tmp_path / "state.sqlite", "--report", report)
    assert result.code == 1
    failed = [f for f in json.loads(report.read_text())["files"] if f["outcome"] == "failed"]
    assert [f["file"].endswith(items[4].name) for f in failed] == [True]
    assert "did not import" in failed[0]["reason"]
    assert len(fake.library.photos) == 11


def test_faults_lose_or_double_nothing(fake: FakePhotoPrism, tmp_path: Path,
                                       cli: Callable[..., CliResult]) -> None:
    export = write_folder(tmp_path / "export", make_items(40, seed=9, albums=2))
    fake.faults = Faults(rate=0.1, stall=0.2, seed=4,
                         only=lambda r: not r.route.endswith("/status"))  # start-up probes once
    state = tmp_path / "state.sqlite"
    args = ("import", *export.sources, "--to", f"photoprism:{fake.url}", "--state", state,
            "--workers", "4")
    first = cli(*args)
    assert first.code in (0, 1), first.err
    assert cli(*args).code == 0
    injected = fake.faults.injected
    assert sum(injected.values()) >= 10 and {"reset_after", "500"} <= set(injected)
    fake.faults = Faults()
    check_photoprism(fake, state, export)


def _photos(fake: FakePhotoPrism) -> int:
    with fake.lock:
        return len(fake.library.photos)


@pytest.mark.slow
def test_sigkill_midway_then_rerun_is_exact(fake: FakePhotoPrism, tmp_path: Path) -> None:
    export = write_zip_parts(tmp_path / "parts", make_items(200, seed=11, pad=60_000),
                             parts=2, seed=11)
    state = tmp_path / "state.sqlite"
    command = cli_command("import", *export.sources, "--to", f"photoprism:{fake.url}",
                          "--state", state, "--workers", "2")
    env = {**os.environ, "PHOTOPRISM_TOKEN": APP_PASSWORD}
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               env=env)
    deadline = time.monotonic() + 60
    while _photos(fake) < 50 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.002)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL, "the first run must be killed mid-way"
    assert 0 < _photos(fake) < len(export.items)

    rerun = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    assert rerun.returncode == 0, rerun.stderr
    check_photoprism(fake, state, export)


def test_password_session_expiring_mid_run_is_renewed(
        fake: FakePhotoPrism, tmp_path: Path, cli: Callable[..., CliResult],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PHOTOPRISM_TOKEN")
    monkeypatch.setenv("PHOTOPRISM_USERNAME", USERNAME)
    monkeypatch.setenv("PHOTOPRISM_PASSWORD", PASSWORD)
    route = ("PUT", "/api/v1/users/{uid}/upload/{token}")
    original = fake.handlers[route]

    expired: list[bool] = []

    def first_import_outlives_the_session(request: Request) -> Response:
        answer = original(request)
        with fake.lock:
            if answer.status == 200 and not expired:
                expired.append(True)
                fake.expire_sessions()
        return answer

    fake.handlers[route] = first_import_outlives_the_session
    export = write_folder(tmp_path / "export", make_items(50, seed=13))
    state = tmp_path / "state.sqlite"
    result = cli("import", *export.sources, "--to", f"photoprism:{fake.url}", "--state", state,
                 "--workers", "2")
    assert result.code == 0, result.err
    assert fake.logins == 2  # the first login, and one renewal when the session ran out
    check_photoprism(fake, state, export)
