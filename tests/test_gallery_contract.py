"""The gallery protocol's behaviour, the same for every target (see tests/gallery_contract.py).

Each test runs once per harness: what the pipeline relies on must hold for the folder
library and for every gallery adapter behind its faithful fake.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from adapters.base import ALL_FIELDS, BatchUploader, UploadResult, UploadStatus, VerifyStatus
from importer.config import Settings
from importer.model import Album, FileOutcome, GeoPoint
from importer.pipeline import Pipeline
from importer.report import RunReport
from importer.sources.takeout import TakeoutSource
from importer.state import State
from tests.exportgen import make_items, write_folder
from tests.gallery_contract import (
    HARNESSES,
    Harness,
    asset,
    expected,
    send,
    without_checksums,
)

IST = timezone(timedelta(hours=5, minutes=30))


@pytest.fixture(params=sorted(HARNESSES))
def harness(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    with HARNESSES[request.param](tmp_path) as opened:
        yield opened


def test_upload_lands_and_is_found_by_checksum(harness: Harness) -> None:
    item = asset("IMG_0001.jpg", "one")
    result = send(harness.gallery, item)
    found = harness.gallery.find_existing([item.primary.sha1, "0" * 40])
    assert found == {item.primary.sha1: result.remote_id}
    observed = harness.observe(result.remote_id)
    assert observed is not None and item.primary.sha1 in observed.checksums
    assert result.status is UploadStatus.CREATED and result.applied <= ALL_FIELDS


def test_identical_bytes_become_one_item(harness: Harness) -> None:
    first = send(harness.gallery, asset("IMG_0001.jpg", "same"))
    again = send(harness.gallery, replace(asset("copy.jpg", "same"), identity="other"))
    assert again.remote_id == first.remote_id
    assert harness.count() == 1
    if harness.exact_duplicate_status:
        assert again.status is UploadStatus.DUPLICATE


def test_same_name_different_bytes_never_overwrites(harness: Harness) -> None:
    one, two = asset("IMG_0001.jpg", "one"), asset("IMG_0001.jpg", "two")
    first, second = send(harness.gallery, one), send(harness.gallery, two)
    assert first.remote_id != second.remote_id and harness.count() == 2
    for result, item in ((first, one), (second, two)):
        observed = harness.observe(result.remote_id)
        assert observed is not None and item.primary.sha1 in observed.checksums
        assert (one if item is two else two).primary.sha1 not in observed.checksums


def test_metadata_favorite_and_archive_land(harness: Harness) -> None:
    item = asset("IMG_0002.jpg", "meta", taken_at=datetime(2021, 3, 9, 18, 45, tzinfo=IST),
                 location=GeoPoint(38.7223, -9.1393), description="Lisbon ✓",
                 favorite=True, archived=True)
    result = send(harness.gallery, item)
    assert without_checksums(harness.observe(result.remote_id)) == expected(item.item.metadata)


def test_setters_change_and_clear_values(harness: Harness) -> None:
    item = asset("IMG_0003.jpg", "edit", location=GeoPoint(1.5, 2.5), description="old")
    uid = send(harness.gallery, item).remote_id
    later = datetime(2018, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=-7)))
    changed = replace(item.item.metadata, taken_at=later, location=GeoPoint(-33.9, 151.2),
                      description=None)
    rewritten = harness.gallery.set_metadata(uid, changed, frozenset({"taken_at", "location",
                                                                      "description"}))
    uid = rewritten.remote_id if rewritten else uid  # the folder library moves the file
    harness.gallery.set_favorite(uid, True)
    harness.gallery.set_archived(uid, True)
    assert without_checksums(harness.observe(uid)) == expected(
        replace(changed, favorite=True, archived=True))
    harness.gallery.set_favorite(uid, False)
    harness.gallery.set_archived(uid, False)
    assert without_checksums(harness.observe(uid)) == expected(changed)


def test_albums_are_idempotent(harness: Harness) -> None:
    gallery = harness.gallery
    trip = Album("key-trip", "Trip to Lisbon", "a week by the sea")
    album = gallery.ensure_album(trip, None)
    assert gallery.ensure_album(trip, album) == album
    assert gallery.ensure_album(trip, None) == album
    other = gallery.ensure_album(Album("key-family", "Family"), None)
    assert other != album
    uid = send(gallery, asset("IMG_0004.jpg", "album")).remote_id
    gallery.add_to_album(album, [uid])
    gallery.add_to_album(album, [uid])
    observed = harness.observe(uid)
    assert observed is not None and observed.albums == {"Trip to Lisbon"}


@pytest.mark.parametrize("order", ["archive, then albums", "albums, then archive"])
def test_archived_item_keeps_its_albums(harness: Harness, order: str) -> None:
    """Google keeps archived photos in their albums; so must every target, in either order
    (PhotoPrism hides an album entry when the photo is archived after being added)."""
    gallery = harness.gallery
    album = gallery.ensure_album(Album("key-a", "Archived but kept"), None)
    uid = send(gallery, asset("IMG_0005.jpg", "kept")).remote_id
    steps = [lambda: gallery.set_archived(uid, True), lambda: gallery.add_to_album(album, [uid])]
    for step in steps if order.startswith("archive") else reversed(steps):
        step()
    observed = harness.observe(uid)
    assert observed is not None and observed.archived
    assert observed.albums == {"Archived but kept"}


def test_verify_tells_ok_mismatch_and_missing(harness: Harness) -> None:
    item = asset("IMG_0006.jpg", "verify")
    sent = send(harness.gallery, item)
    uid = sent.remote_id
    statuses = harness.gallery.verify({uid: sent.recorded_sha1})
    assert statuses == {uid: VerifyStatus.OK}
    assert harness.gallery.verify({uid: "f" * 40}) == {uid: VerifyStatus.MISMATCH}
    missing = harness.missing_id
    assert harness.gallery.verify({missing: item.primary.sha1}) == {missing: VerifyStatus.MISSING}


def test_batch_upload_answers_each_item_in_order(harness: Harness) -> None:
    gallery = harness.gallery
    if gallery.capabilities.upload_batch <= 1:
        assert gallery.capabilities.upload_batch == 1  # one item per upload() call
        return
    assert isinstance(gallery, BatchUploader)
    items = [asset(f"IMG_{i}.jpg", f"batch-{i}") for i in range(3)]
    results = gallery.upload_many(items)
    assert [type(r) for r in results] == [UploadResult] * 3
    for result, item in zip(results, items, strict=True):
        assert isinstance(result, UploadResult)
        observed = harness.observe(result.remote_id)
        assert observed is not None and item.primary.sha1 in observed.checksums


def test_pipeline_import_matches_truth_and_rerun_adds_nothing(harness: Harness,
                                                               tmp_path: Path) -> None:
    export = write_folder(tmp_path / "export", make_items(24, seed=21, albums=2))
    settings = Settings(workers=3)
    reports = [_import(harness, export.sources[0], tmp_path / "state.sqlite", settings)
               for _ in range(2)]
    assert reports[0].counts[FileOutcome.IMPORTED] == 24
    assert reports[1].counts[FileOutcome.IMPORTED] == 0
    assert harness.count() == 24
    target = harness.gallery.target
    with State(tmp_path / "state.sqlite", readonly=True) as state:
        records = {r.google_url: r.on(target) for r in state.items()}
    for truth in export.items:
        record = records[truth.url]
        assert record is not None and record.remote_id is not None
        observed = harness.observe(record.remote_id)
        assert observed is not None
        assert observed.taken_at == truth.taken_at.astimezone(UTC)
        assert observed.location == (None if truth.location is None
                                     else pytest.approx(truth.location, abs=1e-6))
        assert (observed.description, observed.favorite, observed.archived) == (
            truth.description, truth.favorite, truth.archived)
        assert observed.albums == set(truth.albums)


def _import(harness: Harness, source: Path, state_path: Path, settings: Settings) -> RunReport:
    takeout = TakeoutSource([source], settings.takeout)
    try:
        with State(state_path) as state:
            report = RunReport(harness.gallery.target)
            return Pipeline(harness.gallery, state, settings, report).run(takeout.scan())
    finally:
        takeout.close()
