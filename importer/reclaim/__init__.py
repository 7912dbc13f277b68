"""Reclaim Google storage: plan which Google copies are safe to trash, then trash them in
photos.google.com with a real browser, one verified item at a time (README "Reclaim")."""

from __future__ import annotations


class ReclaimError(Exception):
    """Reclaim cannot go on (bad plan file, no browser, wrong target); one line for the user."""
