"""Running the page: `serve` in the foreground, or `start_in_thread` beside `watch`.

uvicorn's access log is off: a first visit carries the token in its query string, and the
page's logs must never hold a secret.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from rich.console import Console

from importer.config import ConfigError, Settings, merge_section
from importer.run import state_path
from importer.web.app import create_app
from importer.web.security import access_for, is_loopback

STARTUP_TIMEOUT = 15.0


def _config(settings: Settings, config_file: Path | None) -> tuple[uvicorn.Config, str]:
    state_file = state_path(settings).absolute()
    access, origin = access_for(settings, state_file.parent)
    app = create_app(state_file, settings, access, config_file=config_file)
    config = uvicorn.Config(app, host=settings.web.bind, port=settings.web.port,
                            access_log=False, log_level="warning", lifespan="on")
    return config, origin


def _url(bind: str, port: int) -> str:
    host = "127.0.0.1" if bind in ("0.0.0.0", "::", "") else bind  # what to open, locally
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{port}/"


@dataclass
class WebHandle:
    """A page served from a background thread; `stop()` ends it."""

    server: uvicorn.Server
    thread: threading.Thread
    url: str
    origin: str

    def stop(self, timeout: float = 10.0) -> None:
        self.server.should_exit = True
        self.thread.join(timeout)


def start_in_thread(settings: Settings, *, config_file: Path | None = None) -> WebHandle:
    """Serve the page in a daemon thread (for `watch --web`); returns once it listens.
    `settings.web.port` 0 picks a free port (see `handle.url`)."""
    config, origin = _config(settings, config_file)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="gphotos-importer-web", daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise ConfigError(f"web page: cannot listen on {settings.web.bind}:"
                              f"{settings.web.port} (in use, or not an address here)")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    return WebHandle(server, thread, _url(settings.web.bind, port), origin)


def serve(settings: Settings, out: Console, *, bind: str | None = None,
          port: int | None = None, config_file: Path | None = None) -> int:
    """The `serve` command: runs until Ctrl-C."""
    settings = merge_section(settings, "web", {"bind": bind or None, "port": port})
    web = settings.web
    handle = start_in_thread(settings, config_file=config_file)
    token_note = "" if is_loopback(web.bind) and "no token" in handle.origin else (
        f" (access: {handle.origin}; first visit: add ?token=TOKEN)")
    out.print(f"Serving the gphotos-importer page at {handle.url} for {state_path(settings)}"
              f"{token_note}. Ctrl-C stops it.", markup=False, highlight=False)
    try:
        while handle.thread.is_alive():
            handle.thread.join(0.5)
    except KeyboardInterrupt:
        handle.stop()
    return 0
