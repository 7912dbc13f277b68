"""Watch mode: import the scheduled Takeout exports that land in an inbox, for years.

`loop` runs cycles and handles signals, `cycle` is one look at the inbox, `inbox` groups
files into exports, `ready` and `check` decide when one is complete and what it is,
`importing` imports and puts it away, `status` is the heartbeat file `health` reads, `log`
the one-line-per-event log, `hooks` the seams to reclaim and the web page.
"""

from __future__ import annotations

import time

from rich.console import Console

from importer.config import ConfigError, Settings
from importer.progressfile import read_json
from importer.run import state_path
from importer.watch.loop import run_watch
from importer.watch.status import heartbeat, judge, status_path

__all__ = ["health", "run_watch"]


def health(settings: Settings, out: Console) -> int:
    """Exit 0 when the watcher's last cycle went well within twice its interval, else 1
    with the reason (never 2: Docker reserves it in health checks)."""
    try:
        path = state_path(settings)
    except ConfigError as exc:
        out.print(f"unhealthy: {exc}", markup=False)
        return 1
    status = status_path(path.absolute())
    verdict = judge(read_json(status), time.time(), heartbeat(status))
    out.print(f"{'healthy' if verdict.healthy else 'unhealthy'}: {verdict.message}",
              markup=False, highlight=False)
    return 0 if verdict.healthy else 1
