"""The shape of our uploads (issue 14): `x-immich-checksum` costs Immich a database round
trip before it reads the body, so it goes only where it buys something (no bulk-check
answer for these bytes, or a retry), and duplicates are still found without it."""

from __future__ import annotations

import io
from collections.abc import Iterator

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.base import UploadStatus
from adapters.http import RetryPolicy
from adapters.immich.target import ImmichTarget
from tests.exportgen import unique_jpeg
from tests.fakes.immich import FakeImmich
from tests.fakes.server import Faults, Request
from tests.immich_server import photo

FAST = RetryPolicy(attempts=4, base_delay=0.01, max_delay=0.05)


@pytest.fixture(params=["v3", "v2"])
def fake(request: pytest.FixtureRequest) -> Iterator[FakeImmich]:
    with FakeImmich(request.param) as server:
        assert isinstance(server, FakeImmich)
        yield server
        assert server.rejected == [] and server.violations == []


def target(fake: FakeImmich) -> ImmichTarget:
    return ImmichTarget(fake.url, fake.api_key, workers=2, timeout=30, policy=FAST)


def test_no_header_after_the_bulk_check_said_new(fake: FakeImmich) -> None:
    gallery = target(fake)
    checked, unchecked = photo("checked"), photo("never looked up")
    assert gallery.find_existing([checked.primary.sha1]) == {}
    first = gallery.upload(checked)
    second = gallery.upload(unchecked)
    gallery.close()
    assert first.status is second.status is UploadStatus.CREATED
    assert fake.checksum_headers == [None, unchecked.primary.sha1]


def test_a_retry_carries_the_header_and_finds_what_the_lost_answer_created(
        fake: FakeImmich) -> None:
    """The first attempt is stored but its answer lost: the retry (with the header) is
    answered before its body is read, with the asset the first attempt made."""
    uploads = iter(range(1000))

    def first_upload(request: Request) -> bool:
        return request.method == "POST" and request.route == "/assets" and next(uploads) == 0

    fake.faults = Faults(rate=1.0, kinds=("reset_after",), only=first_upload)
    gallery = target(fake)
    asset = photo("answer lost")
    assert gallery.find_existing([asset.primary.sha1]) == {}
    result = gallery.upload(asset)
    gallery.close()
    assert fake.checksum_headers == [None, asset.primary.sha1]
    assert [a.id for a in fake.owned()] == [result.remote_id]


def phone_upload(fake: FakeImmich, data: bytes) -> str:
    """Another client (the phone app) uploads the same bytes."""
    form = {"fileCreatedAt": "2020-01-01T00:00:00Z", "fileModifiedAt": "2020-01-01T00:00:00Z",
            "deviceAssetId": "phone-1", "deviceId": "phone"}
    files = {"assetData": ("IMG_phone.jpg", io.BytesIO(data), "image/jpeg")}
    answer = httpx.post(f"{fake.url}/api/assets", data=form, files=files,
                        headers={"x-api-key": fake.api_key})
    assert answer.status_code == 201
    return str(answer.json()["id"])


@settings(max_examples=8, deadline=None, suppress_health_check=[
    HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(raced=st.lists(st.booleans(), min_size=1, max_size=5))
def test_bytes_that_arrive_after_the_check_are_still_a_duplicate(
        fake: FakeImmich, raced: list[bool]) -> None:
    """The race the header used to guard: the bulk check said "new", then the phone app
    uploaded the same bytes. Our upload (no header) comes back as a duplicate of the
    phone's asset, never a second copy."""
    run = len(fake.checksum_headers)
    assets = [photo(f"{run}-{i}") for i in range(len(raced))]
    gallery = target(fake)
    assert gallery.find_existing([a.primary.sha1 for a in assets]) == {}
    phone = {i: phone_upload(fake, unique_jpeg(f"{run}-{i}")) for i, r in enumerate(raced) if r}
    results = [gallery.upload(a) for a in assets]
    gallery.close()
    for i, result in enumerate(results):
        if i in phone:
            assert result.status is UploadStatus.DUPLICATE and result.remote_id == phone[i]
        else:
            assert result.status is UploadStatus.CREATED
    sent = fake.checksum_headers[run:]
    assert sent == [None] * (len(phone) + len(assets))  # the phone's uploads, then ours
    assert len({a.checksum for a in fake.owned()}) == len(fake.owned())


def test_fields_first_but_filename_after_a_sidecar(fake: FakeImmich) -> None:
    gallery = target(fake)
    plain = photo("plain fields first")
    with_xmp = photo("with sidecar", xmp=b'<x:xmpmeta xmlns:x="adobe:ns:meta/"/>')
    for asset in (plain, with_xmp):
        assert gallery.upload(asset).status is UploadStatus.CREATED
    gallery.close()
    device = ["deviceAssetId", "deviceId"] if fake.v2 else []
    dates = ["fileCreatedAt", "fileModifiedAt"]
    assert fake.form_orders == [
        [*dates, *device, "filename", "assetData"],
        [*dates, *device, "assetData", "sidecarData", "filename"],
    ]
