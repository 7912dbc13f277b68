"""Watch mode as a user runs it: a subprocess watching a real inbox, read through its log.

`WatchProcess` starts `gphotos-importer watch … --log-format json` and reads its JSON log
lines as events; tests wait for events instead of sleeping blindly. `Delivery` puts parts
into the inbox the ways real tools do: copied at once, grown in place over seconds, or
written under a temporary name and renamed when done.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.conftest import REPO, cli_command

GENERATED_STAMP = "20240525T201456Z"
WAIT = 90.0
"""Generous: the suite shares two cores with other work."""

Event = dict[str, Any]


class WatchProcess:
    def __init__(self, inbox: Path, target: str, state: Path, log: Path, *extra: str,
                 env: dict[str, str] | None = None) -> None:
        self.log_path = log
        self.command = cli_command("watch", "--inbox", inbox, "--to", target, "--state", state,
                                   "--interval", "1s", "--settle", "2s", "--log-format", "json",
                                   *extra)
        self.env = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
        self._log = log.open("ab")
        self.process = subprocess.Popen(self.command, env=self.env, stdout=self._log,
                                        stderr=subprocess.STDOUT)

    def events(self, name: str | None = None) -> list[Event]:
        found = []
        for line in self.log_path.read_text(encoding="utf-8").splitlines():
            if not line.startswith("{"):
                raise AssertionError(f"not a JSON log line: {line!r}")
            event = json.loads(line)
            if name is None or event["event"] == name:
                found.append(event)
        return found

    def wait_for(self, name: str, test: Callable[[Event], bool] = lambda e: True,
                 count: int = 1, timeout: float = WAIT) -> list[Event]:
        deadline = time.monotonic() + timeout
        while True:
            matching = [e for e in self.events(name) if test(e)]
            if len(matching) >= count:
                return matching
            if self.process.poll() is not None:
                raise AssertionError(f"watch exited ({self.process.returncode}) before "
                                     f"{name}:\n{self.log_path.read_text()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"no {name} event in {timeout}s:\n"
                                     f"{self.log_path.read_text()}")
            time.sleep(0.1)

    def cycles(self) -> int:
        return len(self.events("cycle.done"))

    def wait_cycles(self, more: int) -> None:
        self.wait_for("cycle.done", count=self.cycles() + more)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = WAIT) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            code = self.process.wait(timeout)
        finally:
            self._log.close()
        return code

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._log.close()


@contextmanager
def watching(*args: Any, **kwargs: Any) -> Iterator[WatchProcess]:
    process = WatchProcess(*args, **kwargs)
    try:
        yield process
    finally:
        process.kill()


def renamed(part: Path, stamp: str, suffix: str = "") -> str:
    """The part's file name under another export stamp (and browser counter suffix)."""
    name = part.name.replace(GENERATED_STAMP, stamp)
    if suffix:
        dot = name.index(".")
        name = name[:dot] + suffix + name[dot:]
    return name


class Delivery:
    """Puts parts into the inbox the ways downloads and syncs do."""

    def __init__(self, inbox: Path) -> None:
        self.inbox = inbox

    def copy(self, part: Path, name: str, folder: str = "") -> Path:
        dest = self.inbox / folder / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{name}.incoming")  # hidden and stamped: a temporary file
        shutil.copyfile(part, tmp)
        tmp.replace(dest)
        return dest

    def grow(self, part: Path, name: str, seconds: float, steps: int = 8,
             on_step: Callable[[int], None] | None = None) -> Path:
        """Write the part in place in `steps` pieces spread over `seconds` (curl -o)."""
        dest = self.inbox / name
        data = part.read_bytes()
        size = -(-len(data) // steps)
        with dest.open("wb") as out:
            for step in range(steps):
                out.write(data[step * size:(step + 1) * size])
                out.flush()
                if on_step is not None:
                    on_step(step)
                time.sleep(seconds / steps)
        return dest

    def through_temp(self, part: Path, name: str, temp_name: str, seconds: float) -> Path:
        """Written under a temporary name (a browser's .crdownload), renamed when done."""
        temp = self.inbox / temp_name
        data = part.read_bytes()
        half = len(data) // 2
        temp.write_bytes(data[:half])
        time.sleep(seconds)
        with temp.open("ab") as out:
            out.write(data[half:])
        dest = self.inbox / name
        temp.replace(dest)
        return dest
