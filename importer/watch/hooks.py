"""Seams to parts built elsewhere: the reclaim plan after an import, and the web page.

Watch calls `write_reclaim_plan` after an import when `watch.after_import` lists `plan`,
and `start_web` once at start with `--web`. Both say so in the log and do nothing in a
build without reclaim or the web page; wiring them is replacing these two functions.
A plan is only ever written here: applying one is reclaim's own decision, which it makes
only when the config sets `reclaim.auto_apply: true`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection

from adapters.base import Gallery
from importer.config import Settings
from importer.state import State
from importer.watch.log import EventLog


def write_reclaim_plan(settings: Settings, state: State, gallery: Gallery,
                       identities: Collection[str], log: EventLog, export: str) -> bool:
    """Write a reclaim plan for the export's items; True when one was written."""
    log.info("plan.skipped", f"{export}: no reclaim plan written: the reclaim step is not "
                             "available in this version", export=export)
    return False


def start_web(settings: Settings, address: str, log: EventLog) -> Callable[[], None] | None:
    """Start the web page in a thread; returns how to stop it (None: not started)."""
    log.warning("web.unavailable", f"--web {address}: the web page is not available in this "
                                   "version; watching without it")
    return None
