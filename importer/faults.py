"""Which errors stop a run, how each is named in one line, and the exit code it gives.

An error that dooms every later item (credentials revoked, target gone, disk full) stops
the run; anything else, expected or not, fails the one item it happened to. Only the kind of
error decides, never where it was raised, so workers, adapters and the main thread agree.
"""

from __future__ import annotations

import errno
import sqlite3
from dataclasses import dataclass

from adapters.base import AuthError, GalleryError, StorageFull, TargetUnavailable
from importer.google_errors import GoogleAuthError, PickerError
from importer.state import StateError, StateFull

EXIT_OK = 0
EXIT_FAILED = 1
"""Some items failed; the others were imported and recorded. Run again to retry."""
EXIT_USAGE = 2
"""Usage or configuration error, found before anything was touched."""
EXIT_TARGET = 3
"""A remote service stopped the run: the target unreachable, gone, or refusing the
credentials; or Google refusing the authorization or ending the picking session."""
EXIT_DISK_FULL = 4
"""No space left: on the target, for the state, or for temporary files."""
EXIT_STATE = 6
"""The state could not be read or written mid-run (damaged, or held by another program)."""
EXIT_INTERNAL = 5
"""An unexpected error outside any one item (a bug: please report it, with --debug)."""
EXIT_INTERRUPTED = 130
"""Ctrl-C (SIGINT), as shells report a command ended by it."""
EXIT_TERMINATED = 143
"""SIGTERM (`docker stop`, systemd), likewise."""

_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
MAX_REASON = 300


@dataclass(frozen=True)
class Stop:
    """Why a run stopped early: one line for people, and the exit code."""

    cause: str
    code: int


def one_line(text: str, limit: int = MAX_REASON) -> str:
    """Collapse to a single line of bounded length (messages can carry server answers)."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def disk_full(exc: BaseException) -> bool:
    """True for "no space left" however it surfaced: an OSError, SQLite's SQLITE_FULL, or
    either one as the cause of another error."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, StorageFull | StateFull):
            return True
        if isinstance(current, OSError) and current.errno in _FULL_ERRNOS:
            return True
        if (isinstance(current, sqlite3.OperationalError)
                and getattr(current, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL):
            return True
        current = current.__cause__ or current.__context__
    return False


def _space_message(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.errno in _FULL_ERRNOS:
        where = f" ({exc.filename})" if exc.filename else ""
        return f"no space left on the device{where}"
    return one_line(str(exc)) or "no space left on the device"


def fatal(exc: BaseException) -> Stop | None:
    """The stop this error calls for, or None when only its item fails."""
    if disk_full(exc):
        return Stop(f"disk full: {_space_message(exc)}", EXIT_DISK_FULL)
    if isinstance(exc, AuthError):
        return Stop(f"the target refused the credentials: {one_line(str(exc))}", EXIT_TARGET)
    if isinstance(exc, TargetUnavailable):
        return Stop(f"the target cannot be used: {one_line(str(exc))}", EXIT_TARGET)
    if isinstance(exc, GoogleAuthError | PickerError):  # the source: nothing more comes
        return Stop(one_line(str(exc)), EXIT_TARGET)
    if isinstance(exc, StateError):  # the message names the file and how to recover
        return Stop(one_line(str(exc)), EXIT_STATE)
    return None


def describe(exc: BaseException) -> str:
    """An item's failure reason: our own errors say it themselves; others name their type,
    since "KeyError: 'id'" alone means nothing to a user but everything in a bug report."""
    if isinstance(exc, GalleryError):
        return one_line(str(exc)) or type(exc).__name__
    detail = one_line(str(exc))
    return f"unexpected error ({type(exc).__name__}{': ' + detail if detail else ''})"


def item_error(exc: Exception) -> GalleryError:
    """`exc` as the error of one item. Raises it again when it must stop the run."""
    if fatal(exc) is not None:
        raise exc
    return exc if isinstance(exc, GalleryError) else GalleryError(describe(exc))


def internal(exc: BaseException) -> Stop:
    """A stop for an error no item owns (a bug), naming it for the report."""
    return Stop(f"internal error: {describe(exc)}", EXIT_INTERNAL)
