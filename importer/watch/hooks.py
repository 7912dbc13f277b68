"""Seams to parts built elsewhere: the reclaim plan after an import, and the web page.

Watch calls `write_reclaim_plan` after an import when `watch.after_import` lists `plan`,
and `start_web` once at start with `--web` (the page of `serve`, in a thread).
A plan is only ever written here: applying one is reclaim's own decision, which it makes
only when the config sets `reclaim.auto_apply: true`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import replace
from pathlib import Path

from adapters.base import Gallery
from importer.config import ConfigError, Settings
from importer.state import State
from importer.watch.log import EventLog


def write_reclaim_plan(settings: Settings, state: State, gallery: Gallery,
                       identities: Collection[str], log: EventLog, export: str) -> bool:
    """Write a reclaim plan for the export's items; True when one was written."""
    log.info("plan.skipped", f"{export}: no reclaim plan written: the reclaim step is not "
                             "available in this version", export=export)
    return False


def start_web(settings: Settings, address: str, log: EventLog,
              config_file: Path | None = None) -> Callable[[], None] | None:
    """Start the web page in a thread beside the watch loop; returns how to stop it.
    `address` is `HOST:PORT`, `HOST` (port from `web.port`) or `:PORT`; a bind other than
    loopback needs the page's token, as `serve` does."""
    from importer.web import start_in_thread

    host, _, port = address.rpartition(":") if ":" in address else (address, "", "")
    if not port.isdigit():
        host, port = address, ""
    web = replace(settings.web, bind=host.strip("[]") or settings.web.bind,
                  port=int(port) if port else settings.web.port)
    try:
        handle = start_in_thread(replace(settings, web=web), config_file=config_file)
    except ConfigError as exc:
        log.warning("web.unavailable", f"--web {address}: {exc}; watching without it")
        return None
    log.info("web.started", f"web page at {handle.url}", url=handle.url)
    return handle.stop
