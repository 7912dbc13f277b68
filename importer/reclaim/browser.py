"""Chromium for reclaim: which executable, the persistent profile, starting and stopping.

One profile holds the Google sign-in, so it lives with the state (owner-only). Playwright's
own Chromium build is used when installed; otherwise Debian's `chromium` (Playwright's
download is not available everywhere, e.g. on this project's CI). Only one browser may use
a profile at a time: a profile still held by a browser that is shutting down (a killed
run) is waited for, briefly.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import BrowserContext, Playwright, sync_playwright
from playwright.sync_api import Error as PlaywrightError

from importer.config import Settings
from importer.progressfile import pid_alive
from importer.reclaim import ReclaimError, first_line
from importer.run import state_path

DEBIAN_CHROMIUM = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
ARGS = ["--no-sandbox", "--disable-background-networking"]
PROFILE_WAIT = 15.0
LOCALES = {"en": "en-US", "de": "de-DE", "fr": "fr-FR"}


def profile_dir(settings: Settings) -> Path:
    """`reclaim.profile_dir`, else `google-profile` in the directory of the state in use
    (the same rule for `login` and `reclaim`: give both the same --to or --state)."""
    if settings.reclaim.profile_dir:
        return Path(settings.reclaim.profile_dir).expanduser()
    return state_path(settings).parent / "google-profile"


def executable(settings: Settings, playwright: Playwright) -> str | None:
    """None means Playwright's own build (present); else a path to a Chromium."""
    if settings.reclaim.browser:
        path = Path(settings.reclaim.browser).expanduser()
        if not path.is_file():
            raise ReclaimError(f"reclaim.browser: {path} does not exist")
        return str(path)
    try:
        own = playwright.chromium.executable_path
    except PlaywrightError:
        own = ""
    if own and Path(own).is_file():
        return None
    for candidate in (*DEBIAN_CHROMIUM, shutil.which("chromium") or ""):
        if candidate and Path(candidate).is_file():
            return candidate
    raise ReclaimError("no Chromium found: install Debian's chromium (apt-get install "
                       "chromium), run `playwright install chromium`, or set reclaim.browser")


def prepare_profile(path: Path) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
        os.chmod(path, 0o700)
    except OSError as exc:
        raise ReclaimError(f"{path}: cannot create the browser profile: {exc.strerror}"
                           ) from None
    _wait_for_profile(path)


def _holder(path: Path) -> int | None:
    """The live process holding the profile (Chromium's SingletonLock: "host-pid")."""
    try:
        target = os.readlink(path / "SingletonLock")
    except OSError:
        return None
    host, _, pid = target.rpartition("-")
    if host != socket.gethostname() or not pid.isdigit():
        return None
    return int(pid) if pid_alive(int(pid)) else None


def _wait_for_profile(path: Path) -> None:
    deadline = time.monotonic() + PROFILE_WAIT
    while (pid := _holder(path)) is not None:
        if time.monotonic() > deadline:
            raise ReclaimError(f"{path}: the browser profile is in use by another browser "
                               f"(pid {pid}); close it and run again")
        time.sleep(0.2)


@contextmanager
def browser(settings: Settings, *, headless: bool = True) -> Iterator[BrowserContext]:
    """A persistent Chromium context on the reclaim profile, closed on the way out."""
    profile = profile_dir(settings)
    prepare_profile(profile)
    try:
        manager = sync_playwright().start()
    except PlaywrightError as exc:
        raise ReclaimError(f"cannot start Playwright: {first_line(exc)}") from None
    try:
        context = _launch(manager, settings, profile, headless)
        try:
            yield context
        finally:
            _quietly(context.close)
    finally:
        _quietly(manager.stop)


def _launch(manager: Playwright, settings: Settings, profile: Path,
            headless: bool) -> BrowserContext:
    path = executable(settings, manager)
    try:
        context = manager.chromium.launch_persistent_context(
            str(profile), executable_path=path, headless=headless, args=ARGS,
            handle_sigint=False, handle_sigterm=False,
            locale=LOCALES.get(settings.reclaim.ui_language, "en-US"))
    except PlaywrightError as exc:
        raise ReclaimError(f"cannot start the browser ({path or 'Playwright Chromium'}): "
                           f"{first_line(exc)}") from None
    timeout_ms = settings.reclaim.timeout_seconds * 1000
    context.set_default_timeout(timeout_ms)
    context.set_default_navigation_timeout(timeout_ms)
    return context


def _quietly(action: Callable[[], object]) -> None:
    """Closing after the browser itself crashed must not hide why the run ended."""
    with contextlib.suppress(Exception):
        action()
