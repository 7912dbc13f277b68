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

    def drop_folder(self, folder: str, parts: dict[str, Path]) -> list[Path]:
        """Parts (name -> file) appearing at once in a new sub-folder (moved in whole)."""
        staging = self.inbox / f".{folder}.staging"
        staging.mkdir(parents=True)
        for name, part in parts.items():
            shutil.copyfile(part, staging / name)
        staging.replace(self.inbox / folder)
        return [self.inbox / folder / name for name in parts]

    def begin(self, part: Path, name: str, temp_name: str | None = None,
              steps: int = 8) -> Growing:
        """Start writing the part in place (curl -o) or under `temp_name` (a browser's
        .crdownload, renamed when done): its first piece is written now."""
        growing = Growing(part.read_bytes(), self.inbox / (temp_name or name),
                          self.inbox / name, steps)
        growing.step()
        return growing


class Growing:
    """A part being downloaded: written piece by piece, renamed into place at the end."""

    def __init__(self, data: bytes, path: Path, final: Path, steps: int) -> None:
        self.data, self.path, self.final = data, path, final
        self.piece = -(-len(data) // steps)
        self.written = 0
        path.write_bytes(b"")

    @property
    def done(self) -> bool:
        return self.written >= len(self.data)

    def step(self) -> None:
        with self.path.open("ab") as out:
            out.write(self.data[self.written:self.written + self.piece])
        self.written += self.piece
        if self.done and self.path != self.final:
            self.path.replace(self.final)
