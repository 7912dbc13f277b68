"""Shared by the web page's tests: the page served in a thread on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from importer.config import Settings, WebSettings
from importer.web.server import WebHandle, start_in_thread


@contextmanager
def serving(state_file: Path, *, bind: str = "127.0.0.1", token: str | None = None
            ) -> Iterator[WebHandle]:
    settings = Settings(state=str(state_file),
                        web=replace(WebSettings(), bind=bind, port=0, token=token))
    handle = start_in_thread(settings)
    try:
        yield handle
    finally:
        handle.stop()
