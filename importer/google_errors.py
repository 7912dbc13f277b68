"""Errors from Google's side (authorization, Picker sessions), in a module of their own so
the command line can map them to exit 2 without loading Google's client libraries."""

from __future__ import annotations

AGAIN = "run `gphotos-importer auth google --client-secrets FILE` again"


class GoogleAuthError(Exception):
    """No usable authorization for Google; the message is one line saying what to do."""


class PickerError(Exception):
    """The Picker cannot be used now (session gone, timed out, service refusing); the run
    stops with this one line."""
