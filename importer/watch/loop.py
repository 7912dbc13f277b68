"""The long-running loop: cycles every interval, signals, the status file, one watcher.

SIGTERM and Ctrl-C set a stop flag: the import pipeline checks it before each new item, so
the items in flight finish and are recorded, the state is committed and watch exits 0. A
second signal stops at once (exit 130; what was recorded stays recorded). One watch at a
time per state: a second one is refused with the pid of the first.
"""

from __future__ import annotations

import fcntl
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from types import FrameType
from typing import TextIO

from adapters import target_key
from importer.config import ConfigError, Settings
from importer.run import state_path
from importer.state import StateLocked
from importer.watch import hooks
from importer.watch.cycle import CycleResult, Watcher
from importer.watch.log import EventLog
from importer.watch.status import StatusFile, span, status_path, touch

HEARTBEAT_MAX = 30.0


def run_watch(settings: Settings, *, once: bool = False, web: str | None = None,
              config_file: Path | None = None) -> int:
    watch = settings.watch
    if not watch.inbox:
        raise ConfigError("watch needs an inbox: give --inbox DIR (or watch.inbox)")
    spec = settings.to
    if not spec:
        raise ConfigError("no target: give --to folder:DIR, immich:URL or photoprism:URL")
    target_key(spec)
    inbox = Path(watch.inbox).expanduser().absolute()
    if not inbox.is_dir():
        raise ConfigError(f"--inbox {inbox}: no such folder")
    if watch.processed == "delete" and "verify" not in watch.after_import:
        settings = replace(settings, watch=replace(watch, after_import=[
            *watch.after_import, "verify"]))
    path = state_path(settings).absolute()
    log = EventLog(watch.log_format)
    with _one_watcher(path):
        stop = threading.Event()
        status = StatusFile(status_path(path))
        watcher = Watcher(settings, spec, inbox, path, log, status, stop)
        with _signals(stop, log), _heartbeat(status.path, watch.interval):
            stop_web = (hooks.start_web(settings, web, log, config_file)
                        if web is not None else None)
            try:
                ok = _loop(watcher, once)
            finally:
                if stop_web is not None:
                    stop_web()
    log.info("watch.stopped", "watch stopped" + ("" if ok else " after a failed cycle"))
    return 0 if ok or not once else 1


def _loop(watcher: Watcher, once: bool) -> bool:
    status, watch = watcher.status, watcher.settings.watch
    last = status.data.get("last_cycle")
    number = int(last.get("number", 0)) if isinstance(last, dict) else 0
    status.data.update(pid=os.getpid(), interval=watch.interval, settle=watch.settle,
                       started=time.time(), inbox=str(watcher.inbox), target=watcher.spec)
    status.data.pop("cycle", None)
    status.save()
    watcher.log.info("watch.started", f"watching {watcher.inbox} for {watcher.spec} every "
                     f"{span(watch.interval)} (settle {span(watch.settle)}); state "
                     f"{watcher.state_path}")
    ok = True
    while not watcher.stop.is_set():
        number += 1
        ok = _cycle(watcher, number)
        if once or watcher.stop.wait(watch.interval):
            break
    return ok


def _cycle(watcher: Watcher, number: int) -> bool:
    status = watcher.status
    started = time.time()
    status.data["cycle"] = {"number": number, "started": started}
    status.save()
    try:
        result = watcher.run_cycle()
    except Exception as exc:  # never a traceback; the next cycle tries again
        result = CycleResult([f"unexpected error: {type(exc).__name__}: {exc}"])
    finished = time.time()
    problem = "; ".join(result.problems)
    status.data["last_cycle"] = {"number": number, "started": started, "finished": finished,
                                 "ok": result.ok, "problem": problem[:1000] or None,
                                 "summary": result.summary()}
    status.data.pop("cycle", None)
    status.save()
    line = (f"cycle {number} {'ok' if result.ok else 'failed'} in {finished - started:.1f}s: "
            f"{result.summary()}")
    if problem:
        line += f"; problems: {problem}"
    if not watcher.stop.is_set():
        line += f"; next in {span(watcher.settings.watch.interval)}"
    emit = watcher.log.info if result.ok else watcher.log.error
    emit("cycle.done", line, cycle=number, ok=result.ok, seconds=round(finished - started, 3),
         exports=dict(result.exports), items=dict(result.items))
    return result.ok


@contextmanager
def _one_watcher(state: Path) -> Iterator[TextIO]:
    state.parent.mkdir(parents=True, exist_ok=True)
    lock = open(state.with_name(state.name + ".watch.lock"), "a+")  # noqa: SIM115
    try:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            holder = lock.read().strip() or "another process"
            raise StateLocked(f"{state}: another watch is using this state (pid {holder})"
                              ) from None
        lock.seek(0)
        lock.truncate()
        lock.write(str(os.getpid()))
        lock.flush()
        yield lock
    finally:
        lock.close()


@contextmanager
def _signals(stop: threading.Event, log: EventLog) -> Iterator[None]:
    def handle(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        log.info("watch.stopping", f"{signal.Signals(signum).name}: finishing the item in "
                                   "flight, then stopping")

    previous: dict[signal.Signals, Callable[..., object] | int | None] = {}
    for sig in (signal.Signals.SIGTERM, signal.Signals.SIGINT):
        previous[sig] = signal.signal(sig, handle)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)


@contextmanager
def _heartbeat(path: Path, interval: float) -> Iterator[None]:
    """Touch the status file while the process lives, so `health` can tell a long import
    from a dead watcher."""
    done = threading.Event()
    period = max(1.0, min(HEARTBEAT_MAX, interval / 4))

    def beat() -> None:
        while not done.wait(period):
            touch(path)

    thread = threading.Thread(target=beat, name="heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()
