"""The web page beside watch: `start_web` once at start with `--web` (the page of `serve`,
in a thread). (The reclaim step after an import is importer/watch/reclaiming.py.)"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from importer.config import ConfigError, Settings, merge_section
from importer.watch.log import EventLog


def start_web(settings: Settings, address: str, log: EventLog,
              config_file: Path | None = None) -> Callable[[], None] | None:
    """Start the web page in a thread beside the watch loop; returns how to stop it.
    `address` is `HOST:PORT`, `HOST` (port from `web.port`) or `:PORT`; a bind other than
    loopback needs the page's token, as `serve` does."""
    from importer.web import start_in_thread

    host, _, port = address.rpartition(":") if ":" in address else (address, "", "")
    if not port.isdigit():
        host, port = address, ""
    try:
        chosen = merge_section(settings, "web", {"bind": host.strip("[]") or None,
                                                 "port": int(port) if port else None})
        handle = start_in_thread(chosen, config_file=config_file)
    except ConfigError as exc:
        log.warning("web.unavailable", f"--web {address}: {exc}; watching without it")
        return None
    log.info("web.started", f"web page at {handle.url}", url=handle.url)
    return handle.stop
