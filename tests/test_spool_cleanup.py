"""Issue 9: spool folders a killed run left behind are removed when the next run starts;
a folder another live run is using is never touched."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from importer.sources.spool import PREFIX, Spool
from tests.conftest import REPO

_HOLD_A_SPOOL = (
    "import io, sys, time\n"
    "from pathlib import Path\n"
    "from importer.sources.spool import Spool\n"
    "spool = Spool(Path(sys.argv[1]), memory_budget=0)\n"
    "spool.store(io.BytesIO(bytes(300_000)), 300_000)\n"
    "print(spool.folder, flush=True)\n"
    "time.sleep(120)\n"
)


def _holder(parent: Path) -> tuple[subprocess.Popen[str], Path]:
    child = subprocess.Popen([sys.executable, "-c", _HOLD_A_SPOOL, str(parent)], cwd=REPO,
                             stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    folder = Path(child.stdout.readline().strip())
    assert folder.is_dir() and any(folder.iterdir())
    return child, folder


def _dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def test_folders_of_killed_runs_go_and_live_ones_stay(tmp_path: Path) -> None:
    live, live_folder = _holder(tmp_path)
    killed, killed_folder = _holder(tmp_path)
    os.kill(killed.pid, signal.SIGKILL)
    killed.wait()
    unowned_dead = tmp_path / f"{PREFIX}{_dead_pid()}-abc"  # killed before it locked
    unowned_dead.mkdir()
    unowned_young = tmp_path / f"{PREFIX}{os.getpid()}-xyz"  # being created right now
    unowned_young.mkdir()
    other = tmp_path / "someone-elses-folder"
    other.mkdir()
    try:
        spool = Spool(tmp_path)
        assert sorted(spool.removed) == sorted([killed_folder, unowned_dead])
        assert not killed_folder.exists() and not unowned_dead.exists()
        assert live_folder.is_dir() and any(live_folder.iterdir()), "a live run's spool went"
        assert unowned_young.is_dir() and other.is_dir()
        spool.store(io.BytesIO(bytes(300_000)), 300_000)  # our own folder, locked
        assert Spool(tmp_path).removed == []
        spool.close()
    finally:
        live.kill()
        live.wait()
    time.sleep(0.05)
    assert Spool(tmp_path).removed == [live_folder]


def test_the_next_import_removes_what_a_killed_import_left(tmp_path: Path) -> None:
    """A run killed while members sat in its spool; the next run (a dry run here, which
    reads the same way) starts by removing them, and leaves the spool empty."""
    spool = tmp_path / "spool"
    spool.mkdir()
    killed, leftover = _holder(spool)
    os.kill(killed.pid, signal.SIGKILL)
    killed.wait()
    export = tmp_path / "export" / "Takeout" / "Google Photos" / "Photos from 2020"
    export.mkdir(parents=True)
    (export / "a.txt").write_text("nothing")
    config = tmp_path / "config.yaml"
    config.write_text(f"takeout:\n  spool_dir: {spool}\n")
    done = subprocess.run(
        [sys.executable, "-m", "importer.cli", "import", str(tmp_path / "export"), "--to",
         f"folder:{tmp_path / 'library'}", "--config", str(config)],
        cwd=REPO, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert not leftover.exists() and list(spool.iterdir()) == []
