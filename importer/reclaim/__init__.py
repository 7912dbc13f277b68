"""Reclaim Google storage: plan which Google copies are safe to trash, then trash them in
photos.google.com with a real browser, one verified item at a time (README "Reclaim")."""

from __future__ import annotations


class ReclaimError(Exception):
    """Reclaim cannot go on (bad plan file, no browser, wrong target); one line for the user."""


def first_line(exc: BaseException, default: str | None = None) -> str:
    """An error's first line with text (browser errors carry whole call logs)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else default or type(exc).__name__


def browser_failure(exc: BaseException) -> str | None:
    """The one line for an error from the browser driver, else None (judged by module:
    importing playwright to compare types costs 0.2 s of start-up)."""
    if not type(exc).__module__.startswith("playwright"):
        return None
    return f"the browser failed: {first_line(exc, 'browser error')}"
