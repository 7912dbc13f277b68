"""`reclaim --apply` killed or interrupted in the worst moment: after Google trashed an
item and before the tool heard of it. SIGKILL, then a rerun: nothing is trashed twice and
every trash is recorded. Ctrl-C: the item in flight is finished and recorded, then the run
stops (exit 130)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO, cli_command
from tests.reclaim_env import Cli, Scene, build_scene, item

N = 6


@pytest.fixture
def scene(tmp_path: Path, cli: Cli) -> Iterator[Scene]:
    items = {f"p{i}": item(f"p{i}", i) for i in range(1, N + 1)}
    built = build_scene(tmp_path, cli, items, f"folder:{tmp_path / 'library'}")
    yield built
    built.web.stop()


def _start(scene: Scene, plan: Path) -> subprocess.Popen[str]:
    args = cli_command("reclaim", "--to", scene.target, "--apply", plan, "--config",
                       scene.config, "--state", scene.state)
    return subprocess.Popen(args, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)


def _reap(process: subprocess.Popen[str]) -> tuple[str, str]:
    try:
        out, err = process.communicate(timeout=120)
    finally:  # the killed tool's browser and driver are in its process group
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
    return out, err


def test_sigkill_after_google_trashed_then_rerun(scene: Scene) -> None:
    plan, _ = scene.plan()
    holder: dict[str, subprocess.Popen[str]] = {}
    killed = threading.Event()

    def kill_on_third(count: int) -> None:  # Google has trashed it; the tool has not heard
        if count == 3 and not killed.is_set():
            holder["p"].send_signal(signal.SIGKILL)
            killed.set()

    scene.web.on_trash = kill_on_third
    holder["p"] = _start(scene, plan)
    _reap(holder["p"])
    assert killed.is_set() and holder["p"].returncode == -signal.SIGKILL
    assert len(scene.web.trashed_ids()) == 3
    recorded = scene.recorded_roles()
    assert recorded == set(scene.trashed_roles()[:2])  # the third was not recorded yet
    scene.web.on_trash = None
    again = scene.apply(plan)
    assert again.code == 0, again.out + again.err
    assert "2 item(s) of this plan were trashed before" in again.out  # resumed
    trashed = scene.web.trashed_ids()
    assert len(trashed) == len(set(trashed)) == N  # nothing twice
    assert scene.recorded_roles() == set(scene.items)  # every trash recorded
    third = scene.items[scene.trashed_roles()[2]].url
    assert "found in Google's trash" in next(x for x in again.out.splitlines() if third in x)


def test_ctrl_c_finishes_the_item_in_flight(scene: Scene) -> None:
    plan, _ = scene.plan()
    holder: dict[str, subprocess.Popen[str]] = {}

    def interrupt_on_second(count: int) -> None:
        if count == 2:
            holder["p"].send_signal(signal.SIGINT)

    scene.web.on_trash = interrupt_on_second
    holder["p"] = _start(scene, plan)
    out, err = _reap(holder["p"])
    assert holder["p"].returncode == 130, out + err
    assert "Traceback" not in out + err
    assert len(scene.web.trashed_ids()) == 2
    assert scene.recorded_roles() == set(scene.trashed_roles())  # the one in flight too
    progress = json.loads(plan.with_name(plan.name + ".progress.json").read_text())
    assert progress["state"] == "stopped" and progress["trashed"] == 2
    assert "stopping after the item in flight" in err
