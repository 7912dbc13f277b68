"""Issue 9: Ctrl-C and SIGTERM. The first stops the run once the items in flight are done
(recorded, summary and report written, one line, exit 130 or 143); a second abandons them
at once. A slow target (every request of the fake Immich delayed) keeps items in flight;
the command runs in a process of its own, as a user's would."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.folder.target import FolderTarget
from importer.config import Settings
from importer.interrupt import StopRequest
from importer.model import (
    Accounted,
    FileOutcome,
    MediaFile,
    MediaItem,
    MediaType,
    Metadata,
    ScanEvent,
)
from importer.pipeline import Pipeline
from importer.report import RunReport
from importer.state import State
from tests.conftest import REPO, cli_command
from tests.exportgen import GeneratedExport, make_items, unique_jpeg, write_folder
from tests.fakes.immich import FakeImmich
from tests.fakes.server import Faults
from tests.test_immich_import import check_immich, remote_ids


@pytest.fixture
def slow_immich() -> Iterator[FakeImmich]:
    with FakeImmich("v3") as fake:
        assert isinstance(fake, FakeImmich)
        yield fake
        assert fake.rejected == [] and fake.violations == []


def start(fake: FakeImmich, export: GeneratedExport, state: Path, report: Path,
          delay: float) -> subprocess.Popen[str]:
    fake.faults = Faults(delay=delay)
    env = {**os.environ, "IMMICH_API_KEY": fake.api_key, "PYTHONPATH": str(REPO)}
    command = cli_command("import", *export.sources, "--to", f"immich:{fake.url}",
                          "--state", state, "--workers", "2", "--report", report)
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def wait_for_assets(fake: FakeImmich, process: subprocess.Popen[str], count: int) -> None:
    deadline = time.monotonic() + 60
    while len(fake.owned()) < count and time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        time.sleep(0.01)


def rerun_is_exact(fake: FakeImmich, export: GeneratedExport, state: Path) -> None:
    fake.faults = Faults()
    env = {**os.environ, "IMMICH_API_KEY": fake.api_key, "PYTHONPATH": str(REPO)}
    command = cli_command("import", *export.sources, "--to", f"immich:{fake.url}",
                          "--state", state)
    again = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    assert again.returncode == 0, again.stdout + again.stderr
    check_immich(fake, export, state)


@pytest.mark.parametrize(("signum", "code", "cause"), [
    (signal.SIGINT, 130, "interrupted (Ctrl-C)"),
    (signal.SIGTERM, 143, "stopped by SIGTERM"),
])
def test_first_signal_finishes_in_flight_items_records_them_and_reports(
        tmp_path: Path, slow_immich: FakeImmich, signum: int, code: int, cause: str) -> None:
    export = write_folder(tmp_path / "export", make_items(40, seed=21, albums=2))
    state, report = tmp_path / "state.sqlite", tmp_path / "report.json"
    process = start(slow_immich, export, state, report, delay=0.05)
    wait_for_assets(slow_immich, process, 5)
    sent_at = time.monotonic()
    process.send_signal(signum)
    out, err = process.communicate(timeout=30)
    assert time.monotonic() - sent_at < 10, "finishing the items in flight takes seconds"
    assert process.returncode == code, out + err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"gphotos-importer: stopped: {cause}")
    assert "Traceback" not in out + err and "Import into" in out

    recorded = remote_ids(state, f"immich:{slow_immich.url}")
    assert 0 < len(recorded) < 40
    # what the server holds is exactly what the state recorded: nothing in flight was lost
    assert set(recorded.values()) == {a.id for a in slow_immich.owned()}
    data = json.loads(report.read_text(encoding="utf-8"))
    assert data["stopped"] == cause and data["exit_code"] == code
    done = {e["identity"] for e in data["files"] if e["outcome"] in ("imported", "updated")}
    assert done == set(recorded)
    rerun_is_exact(slow_immich, export, state)


def test_second_ctrl_c_abandons_the_items_in_flight(tmp_path: Path,
                                                    slow_immich: FakeImmich) -> None:
    export = write_folder(tmp_path / "export", make_items(12, seed=22))
    state, report = tmp_path / "state.sqlite", tmp_path / "report.json"
    process = start(slow_immich, export, state, report, delay=0.4)
    wait_for_assets(slow_immich, process, 2)
    process.send_signal(signal.SIGINT)
    time.sleep(0.2)
    sent_at = time.monotonic()
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)
    assert time.monotonic() - sent_at < 8, "abandoning does not wait for the slow target"
    assert process.returncode == 130, out + err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "interrupted (Ctrl-C)" in lines[0], err
    assert "Traceback" not in out + err
    assert json.loads(report.read_text(encoding="utf-8"))["exit_code"] == 130
    rerun_is_exact(slow_immich, export, state)


def test_ctrl_c_while_the_export_is_being_read_stops_at_once(tmp_path: Path) -> None:
    """Listing a big export can take minutes, with nothing of ours half-done: a first
    Ctrl-C there stops the reading at once. The item read before it was only waiting for
    its checksum look-up: it is reported as interrupted and nothing of it is recorded."""
    photo = tmp_path / "IMG_1.jpg"
    photo.write_bytes(unique_jpeg("listing"))
    item = MediaItem(MediaFile(photo.name, str(photo), photo.stat().st_size, MediaType.PHOTO,
                               "image/jpeg", lambda: photo.open("rb")),
                     Metadata(google_url="https://photos.google.com/photo/listing1"))

    def slow_listing() -> Iterator[ScanEvent]:
        yield item
        time.sleep(30)  # still listing parts
        yield Accounted("never", FileOutcome.UNREADABLE, "never reached")

    gallery = FolderTarget(tmp_path / "library")
    report = RunReport(gallery.target)
    with State(tmp_path / "state.sqlite") as state, StopRequest() as stop:
        threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT)).start()
        started = time.monotonic()
        Pipeline(gallery, state, Settings(workers=2), report, stop=stop).run(slow_listing())
        took = time.monotonic() - started
    gallery.close()
    assert took < 5
    assert report.stopped is not None and report.stopped.code == 130
    assert dict(report.counts) == {FileOutcome.INTERRUPTED: 1}
    with State(tmp_path / "state.sqlite", readonly=True) as state:
        assert list(state.items()) == []
