"""Output for containers and journald: no live progress bar unless a person is watching
(stdout and stderr both terminals), and watch's text log is one plain line per event."""

from __future__ import annotations

import os
import pty
import re
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO, SAMPLE, cli_command
from tests.exportgen import make_items, write_parts

BAR = "\u2501"  # the bar's line character


def stderr_through_pty(args: list[str], stdout_tty: bool) -> tuple[int, str]:
    """Run with stderr (and stdout, if asked) on a pseudo-terminal; what stderr showed."""
    master, slave = pty.openpty()
    env = {**os.environ, "PYTHONPATH": str(REPO), "TERM": "xterm", "COLUMNS": "100"}
    process = subprocess.Popen(args, env=env, stderr=slave,
                               stdout=slave if stdout_tty else subprocess.DEVNULL)
    os.close(slave)
    shown = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the other side closed
            break
        if not chunk:
            break
        shown += chunk
    os.close(master)
    return process.wait(), shown.decode("utf-8", "replace")


@pytest.mark.parametrize("stdout_tty", [True, False])
def test_progress_bar_only_for_a_terminal(tmp_path: Path, stdout_tty: bool) -> None:
    args = cli_command("import", SAMPLE, "--to", f"folder:{tmp_path / 'lib'}")
    code, shown = stderr_through_pty(args, stdout_tty)
    assert code == 0, shown
    assert (BAR in shown) is stdout_tty


def test_text_log_is_one_plain_line_per_event(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    write_parts(inbox, make_items(5, seed=71), "zip", parts=1)
    (inbox / "Unconfirmed 1.crdownload").write_bytes(b"x")  # logged as holding it up
    done = subprocess.run(
        cli_command("watch", "--once", "--settle", "0s", "--inbox", inbox,
                    "--to", f"folder:{tmp_path / 'lib'}"),
        capture_output=True, text=True, check=False,
        env={**os.environ, "PYTHONPATH": str(REPO), "TERM": "xterm"})
    assert done.returncode == 0 and done.stderr == ""
    lines = done.stdout.splitlines()
    line = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ (INFO |WARN |ERROR) [a-z.]+ \S.*$")
    assert lines and all(line.match(x) for x in lines), lines
    assert "\x1b" not in done.stdout
    events = [x.split()[2] for x in lines]
    assert events.count("export.incomplete") == 1 and events.count("cycle.done") == 1
