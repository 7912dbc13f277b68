"""How sizes read to people: the command line, the watch log and the page say the same."""

from __future__ import annotations

UNITS = ("B", "KB", "MB", "GB", "TB")
"""Decimal units, as Google's storage meter and disk makers count them."""


def readable_bytes(size: object) -> str:
    """`512 B`, `3.4 MB`, `1.5 TB`. Anything that is not a number (a missing field in a
    state written by an older version) reads as `0 B` rather than failing a page."""
    value = float(size) if isinstance(size, int | float) and not isinstance(size, bool) else 0.0
    for unit in UNITS:
        shown = f"{value:.0f}" if unit == "B" else f"{value:.1f}"
        if abs(float(shown)) < 1000 or unit == UNITS[-1]:  # 999,960 B: 1.0 MB, not 1000.0 KB
            return f"{shown} {unit}"
        value /= 1000
    raise AssertionError("unreachable: the last unit always answers")
