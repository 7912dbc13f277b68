"""Shared by the web page's tests: a reclaim plan built from a real folder import (in the
interface issue 10's `reclaim` writes), and the page served in a thread on loopback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from importer.config import Settings, WebSettings
from importer.reclaim.planfile import plan_dir
from importer.web.server import WebHandle, start_in_thread
from tests.conftest import library_entries

KEEP_REASONS = ("favorite in the latest export", "newer than 30 days", "in a kept album")


def plan_from_library(library: Path, state_file: Path, *, keep_every: int = 4,
                      stamp: str = "20260101T120000Z") -> Path:
    """Every item of the folder library as a plan item; each `keep_every`-th is kept."""
    items: list[dict[str, Any]] = []
    for n, entry in enumerate(sorted(library_entries(library), key=lambda e: e["path"])):
        if not entry.get("google_url"):
            continue
        keep = n % keep_every == keep_every - 1
        items.append({
            "google_url": entry["google_url"], "file": entry["original_name"],
            "taken_at": entry["taken_at"], "gallery_ref": entry["path"],
            "decision": "keep" if keep else "trash",
            "reason": KEEP_REASONS[n % len(KEEP_REASONS)] if keep else "verified in gallery",
            "identity": entry["google_url"], "size": (library / entry["path"]).stat().st_size,
            "title": entry["original_name"],
        })
    plan = {"id": f"plan-{stamp}", "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "target": f"folder:{library.absolute()}", "state": "planned",
            "older_than_days": 30, "items": items}
    folder = plan_dir(state_file)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"plan-{stamp}.json"
    path.write_text(json.dumps(plan, ensure_ascii=False, indent=1), encoding="utf-8")
    return path


@contextmanager
def serving(state_file: Path, *, bind: str = "127.0.0.1", token: str | None = None,
            command: tuple[str, ...] | None = None) -> Iterator[WebHandle]:
    settings = Settings(state=str(state_file),
                        web=replace(WebSettings(), bind=bind, port=0, token=token))
    options = {"command": command} if command else {}
    handle = start_in_thread(settings, **options)
    try:
        yield handle
    finally:
        handle.stop()
