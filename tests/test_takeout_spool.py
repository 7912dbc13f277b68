"""Issue 3: `.tgz` members wait in a spool that stays bounded and is always emptied; zip
and folder entries are never copied to disk."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from adapters.folder.target import FolderTarget
from importer import pipeline
from importer.config import Settings, TakeoutSettings
from importer.model import MediaFile, MediaItem, ScanEvent
from importer.pipeline import Pipeline
from importer.report import RunReport
from importer.sources.takeout import TakeoutSource
from importer.state import State
from tests.conftest import library_entries
from tests.exportgen import make_quirky_items, write_parts


class HeldBytes:
    """Wraps each item's release to watch how many spooled bytes are outstanding."""

    def __init__(self) -> None:
        self.outstanding = 0
        self.peak = 0
        self.largest = 0
        self.released: dict[str, int] = {}
        self._lock = threading.Lock()

    def wrap(self, events: Iterator[ScanEvent]) -> Iterator[ScanEvent]:
        for event in events:
            if isinstance(event, MediaItem) and event.held_bytes:
                with self._lock:
                    self.outstanding += event.held_bytes
                    self.peak = max(self.peak, self.outstanding)
                    self.largest = max(self.largest, event.held_bytes)
                event = replace(event, file=self._watched(event.file),
                                live_video=event.live_video and self._watched(event.live_video))
            yield event

    def _watched(self, file: MediaFile) -> MediaFile:
        release = file.release
        if release is None:
            return file

        def watched_release() -> None:
            with self._lock:
                self.released[file.location] = self.released.get(file.location, 0) + 1
                if self.released[file.location] == 1:
                    self.outstanding -= file.size
            release()

        return replace(file, release=watched_release)


def _run(sources: list[Path], library: Path, watch: HeldBytes,
         spool_dir: Path | None = None) -> TakeoutSource:
    settings = Settings(workers=2, takeout=TakeoutSettings(
        spool_dir=str(spool_dir) if spool_dir else None))
    source = TakeoutSource(sources, settings.takeout)
    gallery = FolderTarget(library)
    report = RunReport(gallery.target)
    try:
        with State(library / ".gphotos-importer" / "state.sqlite") as state:
            Pipeline(gallery, state, settings, report).run(watch.wrap(source.scan()))
        assert report.missing_files() is None
        report.export = source.stats.as_dict()
        assert report.missing_files() == 0
        assert not report.failed
    finally:
        gallery.close()
        report.close()
        source.close()
    return source


def test_spooled_bytes_stay_under_the_bound_and_every_item_is_released(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    items = make_quirky_items(80, seed=8)
    rng = random.Random(8)
    for item in items:  # some members stay in memory, the larger ones go to disk
        item.pad = rng.randrange(5_000, 600_000)
    export = write_parts(tmp_path / "parts", items, "tgz", parts=3, seed=8)
    monkeypatch.setattr(pipeline, "MAX_HELD_BYTES", 1_000_000)
    watch = HeldBytes()
    spool_parent = tmp_path / "spool"
    spool_parent.mkdir()
    _run(export.sources, tmp_path / "library", watch, spool_parent)
    assert watch.largest > 0
    assert watch.peak <= 1_000_000 + watch.largest
    assert watch.outstanding == 0
    assert set(watch.released.values()) == {1}, "each spooled file released exactly once"
    assert list(spool_parent.iterdir()) == []
    imported = len(library_entries(tmp_path / "library"))
    assert imported == sum(1 + bool(i.edited) for i in items if not i.trashed)


def test_zip_and_folder_entries_are_read_in_place(tmp_path: Path) -> None:
    items = make_quirky_items(40, seed=2)
    export = write_parts(tmp_path / "parts", items, "zip", parts=2, seed=2)
    source = TakeoutSource(export.sources, TakeoutSettings(spool_dir=str(tmp_path)))
    try:
        scanned = [e for e in source.scan() if isinstance(e, MediaItem)]
    finally:
        source.close()
    assert scanned and all(item.held_bytes == 0 for item in scanned)
    assert all(i.file.release is None for i in scanned)
    assert not list(tmp_path.glob("gphotos-importer-spool-*"))


def test_album_copies_in_tgz_are_not_spooled(tmp_path: Path) -> None:
    """An item with a copy in a zip part is read from there; its tgz copies never touch
    the disk."""
    items = make_quirky_items(60, seed=6)
    export = write_parts(tmp_path / "parts", items, "mixed", parts=4, seed=6)
    source = TakeoutSource(export.sources, TakeoutSettings())
    spooled, in_zip_with_tgz_copy = 0, 0
    try:
        for event in source.scan():
            if not isinstance(event, MediaItem):
                continue
            if event.file.release is not None:
                spooled += 1
                assert ".tgz:" in event.file.location
                assert not any(".zip:" in copy for copy in event.copies), event
            elif any(".tgz:" in copy for copy in event.copies):
                in_zip_with_tgz_copy += 1
            event.release()
    finally:
        source.close()
    assert spooled > 0 and in_zip_with_tgz_copy > 0
