"""What the pages show, read from the state and the files beside it, in plain dicts for the
templates; plus the gallery previews, opened once per target and kept."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from adapters import open_thumbnails
from adapters.base import GalleryError, ThumbnailMissing, Thumbnails
from adapters.folder.thumbnails import placeholder_svg
from importer.admin import status_of
from importer.config import ConfigError, Settings
from importer.progressfile import imports_in
from importer.state import State, StateError

RUNS_SHOWN = 20
RETRY_OPEN = 60.0
log = logging.getLogger("gphotos_importer.web")


def overview(state_file: Path) -> dict[str, Any]:
    """Per target: counts by outcome, verified, bytes imported, albums; the runs."""
    if not state_file.exists():
        return {"state": str(state_file), "item_total": 0, "targets": [], "runs": [],
                "missing": True}
    with State(state_file, readonly=True) as state:  # opened (and checked) once
        data = status_of(state)
        albums = state.album_counts()
        runs = state.runs()
    sent: dict[str, int] = {}
    for run in runs:
        if not run.get("dry_run") and isinstance(run.get("bytes_sent"), int):
            sent[str(run.get("target"))] = sent.get(str(run.get("target")), 0) + run["bytes_sent"]
    names = sorted(set(data["counts"]) | set(albums))
    targets = [{"target": name, "counts": data["counts"].get(name, {}),
                "item_count": sum(n for k, n in data["counts"].get(name, {}).items()
                             if k != "verified"),
                "bytes": sent.get(name, 0), "albums": albums.get(name, 0)} for name in names]
    return {"state": str(state_file), "item_total": data["items"], "targets": targets,
            "runs": list(reversed(runs[-RUNS_SHOWN:])), "missing": False}


def imports(state_file: Path) -> list[dict[str, Any]]:
    return imports_in(state_file.parent)


def readable_seconds(seconds: object) -> str:
    if not isinstance(seconds, int | float):
        return "–"
    total = int(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m {secs:02d}s"


@dataclass
class Previews:
    """Gallery previews by target, opened on first use. A gallery that cannot be opened is
    tried again after RETRY_OPEN seconds; each distinct error is logged once (our errors
    never carry keys or tokens)."""

    settings: Settings
    clock: Callable[[], float] = time.monotonic
    _open: dict[str, Thumbnails] = field(default_factory=dict)
    _failed: dict[str, tuple[str, float]] = field(default_factory=dict)
    _logged: set[tuple[str, str]] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, target: str, remote_id: str) -> tuple[bytes, str]:
        source = self._source(target)
        if source is None:
            return placeholder_svg("no preview"), "image/svg+xml"
        try:
            return source.thumbnail(remote_id)
        except ThumbnailMissing:
            return placeholder_svg("missing"), "image/svg+xml"
        except GalleryError as exc:
            self._note(target, str(exc))
            return placeholder_svg("no preview"), "image/svg+xml"

    def _source(self, target: str) -> Thumbnails | None:
        with self._lock:
            if target in self._open:
                return self._open[target]
            failed = self._failed.get(target)
            if failed is not None and self.clock() - failed[1] < RETRY_OPEN:
                return None
        try:
            source = open_thumbnails(target, self.settings)
        except (GalleryError, ConfigError, StateError, OSError) as exc:
            with self._lock:
                self._failed[target] = (str(exc), self.clock())
            self._note(target, str(exc))
            return None
        with self._lock:
            self._failed.pop(target, None)
            if target in self._open:  # another request opened it meanwhile
                source.close()
            return self._open.setdefault(target, source)

    def _note(self, target: str, message: str) -> None:
        with self._lock:
            if (target, message) in self._logged:
                return
            self._logged.add((target, message))
        log.warning("previews from %s: %s", target, message)

    def problem(self, target: str) -> str | None:
        """Why previews from `target` are not shown (for the page), if they are not."""
        with self._lock:
            failed = self._failed.get(target)
        return failed[0] if failed else None

    def close(self) -> None:
        with self._lock:
            for source in self._open.values():
                source.close()
            self._open.clear()
