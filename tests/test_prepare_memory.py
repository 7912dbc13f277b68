"""Issue 9: memory is bounded in bytes. A photo over `HOLD_LIMIT` is never held whole: a
big JPEG's EXIF rewrite is streamed (its new header spliced onto the original's remaining
bytes), a big photo of another format is probed from a mapped temporary copy; the pipeline
budgets the prepared bytes it holds. Both paths must give exactly the same bytes and facts
as the in-memory one, and a run of big photos into a slow target must stay small."""

from __future__ import annotations

import io
import os
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.folder.target import FolderTarget
from importer import pipeline as pipeline_mod
from importer import prepare as prepare_mod
from importer.config import Settings
from importer.model import DateSource, GeoPoint, MediaFile, MediaItem, MediaType, Metadata
from importer.pipeline import Pipeline
from importer.prepare import prepare_file
from importer.report import RunReport
from importer.splice import SplicedStream
from importer.state import State
from tests.exportgen import unique_jpeg
from tests.media.readback import MEDIA

JPEGS = ["plain.jpg", "complete.jpg", "naive.jpg", "canon.jpg", "nikon.jpg", "thumbnail.jpg",
         "unknown_tag.jpg", "damaged.jpg"]
LISBON = GeoPoint(38.7139, -9.1334, 45.0)


def media_file(name: str, data: bytes) -> MediaFile:
    return MediaFile(name, f"test:{name}", len(data), MediaType.PHOTO, "image/jpeg",
                     lambda: io.BytesIO(data))


def google(taken: bool, place: bool, caption: str | None) -> Metadata:
    return Metadata(
        taken_at=datetime(2019, 7, 4, 9, 15, tzinfo=UTC) if taken else None,
        taken_at_source=DateSource.SIDECAR if taken else DateSource.NONE,
        location=LISBON if place else None, description=caption)


def prepared_bytes(name: str, data: bytes, meta: Metadata) -> tuple[Any, bytes]:
    prepared, resolution, notes = prepare_file(media_file(name, data), meta)
    with prepared.opener() as stream:
        content = stream.read()
    return (prepared.sha1, prepared.source_sha1, prepared.size, prepared.xmp,
            resolution.metadata, notes), content


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(JPEGS), trailing=st.binary(max_size=3000),
       taken=st.booleans(), place=st.booleans(),
       caption=st.none() | st.text(max_size=40), limit=st.integers(1, 5000))
def test_a_streamed_jpeg_rewrite_equals_the_in_memory_one(
        monkeypatch: pytest.MonkeyPatch, name: str, trailing: bytes, taken: bool,
        place: bool, caption: str | None, limit: int) -> None:
    """Trailing bytes after the image stand for what phones append (a motion photo's
    video); `limit` forces the streamed path at any point of the file."""
    data = (MEDIA / name).read_bytes() + trailing
    meta = google(taken, place, caption)
    in_memory, content = prepared_bytes(name, data, meta)
    monkeypatch.setattr(prepare_mod, "HOLD_LIMIT", limit)
    streamed, streamed_content = prepared_bytes(name, data, meta)
    assert streamed == in_memory
    assert streamed_content == content
    if limit < len(data):  # streamed: only the new header is held
        prepared, _, _ = prepare_file(media_file(name, data), meta)
        assert prepared.held < 256 * 1024


@pytest.mark.parametrize("name", ["exif.png", "iphone.heic", "plain.png", "plain.heic"])
def test_big_photos_of_other_formats_are_probed_from_a_temporary_copy(
        monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    data = (MEDIA / name).read_bytes()
    meta = google(True, True, "caption")
    whole = prepared_bytes(name, data, meta)
    monkeypatch.setattr(prepare_mod, "HOLD_LIMIT", 100)
    assert prepared_bytes(name, data, meta) == whole  # the same facts, read from the map


@settings(max_examples=200, deadline=None)
@given(head=st.binary(max_size=50), source=st.binary(max_size=300),
       skip=st.integers(0, 60), operations=st.lists(
           st.one_of(st.tuples(st.just("read"), st.integers(-1, 120)),
                     st.tuples(st.just("seek"), st.integers(0, 400))), max_size=12))
def test_spliced_stream_reads_and_seeks_like_the_bytes_it_stands_for(
        head: bytes, source: bytes, skip: int, operations: list[tuple[str, int]]) -> None:
    skip = min(skip, len(source))
    model = io.BytesIO(head + source[skip:])
    stream = SplicedStream(head, lambda: io.BytesIO(source), skip,
                           len(head) + len(source) - skip)
    for kind, value in operations:
        if kind == "read":
            assert stream.read(value) == model.read(value)
        else:
            assert stream.seek(value) == model.seek(value)
        assert stream.tell() == model.tell()
    assert stream.seek(0, io.SEEK_END) == model.seek(0, io.SEEK_END)


def test_a_shorter_source_on_the_second_read_is_an_error_not_silent_garbage() -> None:
    stream = SplicedStream(b"HEAD", lambda: io.BytesIO(b"0123"), 2, 12)
    assert stream.read(6) == b"HEAD23"
    with pytest.raises(OSError, match="shorter"):
        stream.read()


class SlowGallery(FolderTarget):
    """A folder library that takes its time with each upload, so prepared items pile up
    in front of it if nothing holds them back."""

    def upload(self, asset: Any) -> Any:
        time.sleep(0.05)
        return super().upload(asset)


def big_jpeg(n: int, size: int) -> bytes:
    """A JPEG without a camera date (so EXIF gets written) and `size` bytes appended after
    the image, as a motion photo carries its video."""
    return unique_jpeg(f"big {n}") + os.urandom(size)


def opener(path: Path) -> Callable[[], IO[bytes]]:
    return lambda: path.open("rb")


def test_a_run_of_big_photos_into_a_slow_target_stays_within_the_budget(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Scaled down (limits / 32): 16 photos of 6 MB against a 256 kB hold limit and a 2 MB
    budget. Holding them as the earlier code did takes about 200 MB."""
    monkeypatch.setattr(prepare_mod, "HOLD_LIMIT", 256 * 1024)
    monkeypatch.setattr(pipeline_mod, "MEMORY_BUDGET", 2 * 1024 * 1024)
    files = []
    for n in range(16):
        path = tmp_path / "export" / f"IMG_{n:03d}.jpg"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(big_jpeg(n, 6 * 1024 * 1024))
        files.append(path)
    items = [MediaItem(MediaFile(p.name, str(p), p.stat().st_size, MediaType.PHOTO,
                                 "image/jpeg", opener(p)),
                       replace(google(True, True, "caption"),
                               google_url=f"https://photos.google.com/photo/big{n}"))
             for n, p in enumerate(files)]
    gallery = SlowGallery(tmp_path / "library")
    report = RunReport(gallery.target)
    tracemalloc.start()
    try:
        with State(tmp_path / "state.sqlite") as state:
            Pipeline(gallery, state, Settings(workers=4), report).run(items)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        gallery.close()
    assert report.counts["imported"] == 16, report.problems
    # what stays is the budget, the hold limit per preparer and 1 MB read buffers per thread
    assert peak < 32 * 1024 * 1024, f"peak {peak / 2**20:.1f} MB"
