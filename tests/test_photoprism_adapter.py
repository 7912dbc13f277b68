"""The PhotoPrism adapter against its fake: names, dates, start-up errors, sessions, batches."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import httpx
import piexif
import pytest

from adapters.base import AuthError, ItemRejected, TargetUnavailable, UploadResult, UploadStatus
from adapters.http import RetryPolicy
from adapters.photoprism.client import Credentials
from adapters.photoprism.forms import photo_form, photo_zone, upload_stem
from adapters.photoprism.staging import post_groups, stage
from adapters.photoprism.target import PhotoPrismTarget
from importer.config import ConfigError, build_settings
from importer.model import Album, GeoPoint, Metadata, PreparedFile
from tests.conftest import SAMPLE, CliResult
from tests.exportgen import unique_jpeg
from tests.fakes.openapi import Spec
from tests.fakes.photoprism import APP_PASSWORD, PASSWORD, USERNAME, FakePhotoPrism
from tests.fakes.photoprism_library import stem, zone_offset
from tests.fakes.server import FakeServer, Faults, Request, Response
from tests.gallery_contract import asset

SHA = "0123456789abcdef0123456789abcdef01234567"


@pytest.mark.parametrize(("name", "expected"), [
    ("IMG_0001.jpg", "IMG_0001_0123456789ab"),
    ("IMG_0001(1).jpg", "IMG_0001_1_0123456789ab"),
    ("IMG_0001 copy 2.HEIC", "IMG_0001_copy_2_0123456789ab"),
    ("a.b.c.jpg", "a_b_c_0123456789ab"),
    ("Ünïcode photo.png", "Ünïcode_photo_0123456789ab"),
    ("....jpg", "item_0123456789ab"),
    ("clip_jpg.mp4", "clip_jpg_0123456789ab"),
])
def test_upload_stem_cannot_be_grouped_or_stripped(name: str, expected: str) -> None:
    result = upload_stem(name, SHA)
    assert result == expected
    for suffix in (".jpg", ".xmp", ".mp4", ".jpg.xmp"):
        assert stem(result + suffix) == result  # PhotoPrism's grouping keeps it whole


BERLIN_NOON = datetime(2020, 7, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))


@pytest.mark.parametrize(("taken", "zone_name", "zone", "wall"), [
    (BERLIN_NOON, "Europe/Berlin", "Europe/Berlin", "12:00"),
    (BERLIN_NOON, None, "UTC+2", "12:00"),
    (BERLIN_NOON, "Mars/Olympus", "UTC+2", "12:00"),
    (BERLIN_NOON.astimezone(UTC), None, "UTC", "10:00"),
    (datetime(2020, 7, 1, 12, 0, tzinfo=timezone(timedelta(hours=5, minutes=30))), None,
     "Asia/Kolkata", "12:00"),
    (datetime(2020, 7, 1, 12, 0, tzinfo=timezone(timedelta(hours=5, minutes=45))), None,
     "Asia/Kathmandu", "12:00"),
    (datetime(2020, 1, 9, 8, 0, tzinfo=timezone(-timedelta(hours=3, minutes=30))), None,
     "America/St_Johns", "08:00"),
    (datetime(2020, 1, 9, 8, 0, tzinfo=timezone(timedelta(hours=4, minutes=17))), None,
     "UTC", "03:43"),
])
def test_photo_zone_lands_on_the_same_instant(taken: datetime, zone_name: str | None,
                                              zone: str, wall: str) -> None:
    name, local = photo_zone(taken, zone_name)
    assert (name, local.strftime("%H:%M")) == (zone, wall)
    naive = local.replace(tzinfo=None)
    offset = zone_offset(name, naive) or timedelta(0)  # how PhotoPrism reads it back
    assert naive - offset == taken.astimezone(UTC).replace(tzinfo=None)


def test_photo_form_sets_and_clears_with_manual_sources() -> None:
    meta = Metadata(taken_at=BERLIN_NOON, location=GeoPoint(1.5, 2.5, 88.4), description="hi")
    form = photo_form(meta, {"taken_at", "location", "description"})
    assert form == {"TakenAt": "2020-07-01T10:00:00Z", "TakenAtLocal": "2020-07-01T12:00:00Z",
                    "TimeZone": "UTC+2", "TakenSrc": "manual", "Lat": 1.5, "Lng": 2.5,
                    "Altitude": 88, "PlaceSrc": "manual", "Caption": "hi",
                    "CaptionSrc": "manual"}
    cleared = photo_form(Metadata(), {"location", "description"})
    assert cleared == {"Lat": 0.0, "Lng": 0.0, "PlaceSrc": "manual", "Caption": "",
                       "CaptionSrc": "manual"}
    assert photo_form(meta, set()) == {}


def test_post_groups_bound_bytes_and_files() -> None:
    items = [stage(asset(f"IMG_{i}.jpg", f"g{i}")) for i in range(5)]
    size = items[0].size
    assert [len(g) for g in post_groups(items, max_bytes=size * 2)] == [2, 2, 1]
    assert [len(g) for g in post_groups(items, max_files=4)] == [4, 1]
    assert [len(g) for g in post_groups(items, max_bytes=1)] == [1] * 5


# -- against the fake ------------------------------------------------------------------------


@pytest.fixture
def fake() -> Iterator[FakePhotoPrism]:
    server = FakePhotoPrism()
    with server:
        yield server
    assert server.rejected == [] and server.violations == []


def open_target(fake: FakePhotoPrism, credentials: Credentials | None = None,
                **options: float) -> PhotoPrismTarget:
    return PhotoPrismTarget(fake.url, credentials or Credentials(token=APP_PASSWORD),
                            index_wait=options.get("index_wait", 2.0))


@pytest.mark.parametrize(("credentials", "message"), [
    (Credentials(token="wrong"), "PHOTOPRISM_TOKEN was refused"),
    (Credentials(username=USERNAME, password="wrong"), "refused user 'admin'"),
    (Credentials(), "no credentials"),
])
def test_bad_credentials_stop_at_start(fake: FakePhotoPrism, credentials: Credentials,
                                       message: str) -> None:
    with pytest.raises(AuthError, match=message):
        open_target(fake, credentials)


def test_disabled_features_stop_at_start(fake: FakePhotoPrism) -> None:
    fake.features["import"] = False
    with pytest.raises(AuthError, match="Import feature is off"):
        open_target(fake)


def test_unreachable_or_other_servers_stop_at_start() -> None:
    with pytest.raises(TargetUnavailable, match="unreachable"):
        PhotoPrismTarget("http://127.0.0.1:9", Credentials(token="x"))
    with FakeServer(Spec("immich-openapi.json"), prefix="/api") as immich, \
            pytest.raises(TargetUnavailable, match="not a PhotoPrism server"):
        PhotoPrismTarget(immich.url, Credentials(token="x"))


def test_cli_reports_bad_token_in_one_line(fake: FakePhotoPrism, cli: Callable[..., CliResult],
                                           monkeypatch: pytest.MonkeyPatch, tmp_path: Path
                                           ) -> None:
    monkeypatch.setenv("PHOTOPRISM_TOKEN", "not-the-app-password")
    result = cli("import", SAMPLE, "--to", f"photoprism:{fake.url}", "--state",
                 f"{tmp_path}/state.sqlite")
    assert result.code == 2
    assert result.err.strip().count("\n") == 0 and "PHOTOPRISM_TOKEN was refused" in result.err
    assert fake.library.photos == {}


def _file(name: str, data: bytes, mime: str = "image/jpeg") -> PreparedFile:
    digest = hashlib.sha1(data).hexdigest()
    return PreparedFile(name, len(data), mime, digest, digest, lambda: io.BytesIO(data))


def test_dropped_and_too_large_files_fail_alone(fake: FakePhotoPrism) -> None:
    target = open_target(fake, index_wait=0.3)
    good, lie = asset("good.jpg", "good"), asset("lie.jpg", "lie")
    lying = replace(lie, primary=replace(lie.primary, filename="lie.heic", mime="image/heic"))
    big = replace(asset("big.jpg", "big"), primary=_file("big.jpg", unique_jpeg("big", 8192)))
    fake.upload_limit = good.primary.size + lying.primary.size + 4096
    try:
        results = target.upload_many([lying, good, big])
    finally:
        target.close()
    assert isinstance(results[0], ItemRejected) and "did not import lie.jpg" in str(results[0])
    assert isinstance(results[1], UploadResult) and results[1].status is UploadStatus.CREATED
    assert isinstance(results[2], ItemRejected) and "413" in str(results[2])
    assert len(fake.library.photos) == 1 and fake.dropped == [stage(lying).upload_name]


def test_session_expiring_between_upload_and_import_restarts_the_batch(
        fake: FakePhotoPrism) -> None:
    target = open_target(fake, Credentials(username=USERNAME, password=PASSWORD))
    route = ("POST", "/api/v1/users/{uid}/upload/{token}")
    original = fake.handlers[route]
    calls = []

    def expire_after_first(request: Request) -> Response:
        answer = original(request)
        if not calls:
            fake.expire_sessions()
        calls.append(request.path)
        return answer

    fake.handlers[route] = expire_after_first
    items = [asset(f"IMG_{i}.jpg", f"renew-{i}", favorite=True) for i in range(3)]
    try:
        results = target.upload_many(items)
        stats = target.stats()
    finally:
        target.close()
    assert all(isinstance(r, UploadResult) for r in results)
    assert len(fake.library.photos) == 3 and all(p.favorite for p in fake.library.photos.values())
    assert stats["photoprism_batch_restarts"] == 1 and stats["photoprism_session_renewals"] == 1
    assert len(calls) == 2 and fake.logins == 2


def test_revoked_app_password_is_fatal(fake: FakePhotoPrism) -> None:
    target = open_target(fake)
    fake.sessions.clear()
    try:
        with pytest.raises(AuthError, match="401"):
            target.upload_many([asset("IMG_1.jpg", "revoked")])
    finally:
        target.close()


def test_waits_for_indexing_and_groups_live_photo_with_sidecar(fake: FakePhotoPrism) -> None:
    fake.library.index_delay = 0.5
    target = open_target(fake, index_wait=5.0)
    item = asset("PXL_1.jpg", "live")
    video_bytes = b"\x00\x00\x00\x18ftypmp42" + b"live" * 64
    video = _file("PXL_1.mp4", video_bytes, "video/mp4")
    xmp = b'<?xpacket begin=""?><x:xmpmeta xmlns:x="adobe:ns:meta/"/><?xpacket end="w"?>'
    item = replace(item, primary=replace(item.primary, xmp=xmp), live_video=video)
    try:
        (result,) = target.upload_many([item])
    finally:
        target.close()
    assert isinstance(result, UploadResult) and result.live_video_id == result.remote_id
    photo = fake.library.photos[result.remote_id]
    names = sorted(f.name for f in fake.library.files_of(photo.uid))
    base = upload_stem("PXL_1.jpg", item.primary.sha1)
    assert photo.kind == "live" and names == [f"{base}.jpg", f"{base}.mp4", f"{base}.xmp"]
    not_yet = [p for m, p, status in fake.requests if p.startswith("/api/v1/files/")
               and status == 404]
    assert not_yet and not_yet[0].endswith(item.primary.sha1)  # it polled while indexing lagged


def test_identical_items_in_one_batch_share_one_photo(fake: FakePhotoPrism) -> None:
    target = open_target(fake)
    one = asset("IMG_1.jpg", "twin")
    two = replace(asset("IMG_9.jpg", "twin"), identity="other")
    try:
        first, second = target.upload_many([one, two])
    finally:
        target.close()
    assert isinstance(first, UploadResult) and isinstance(second, UploadResult)
    assert first.remote_id == second.remote_id
    assert (first.status, second.status) == (UploadStatus.CREATED, UploadStatus.DUPLICATE)
    assert len(fake.library.files) == 1


def test_place_on_a_photo_with_a_camera_date_keeps_the_date(fake: FakePhotoPrism) -> None:
    """A photo already there (its date read from EXIF, not manual) gets a place: PhotoPrism
    would re-derive the time zone from GPS and move the date unless it is pinned."""
    data = unique_jpeg("camera")
    exif = {"Exif": {piexif.ExifIFD.DateTimeOriginal: b"2019:07:04 12:15:00",
                     piexif.ExifIFD.OffsetTimeOriginal: b"+02:00"}}
    out = io.BytesIO()
    piexif.insert(piexif.dump(exif), data, out)
    api = httpx.Client(base_url=f"{fake.url}/api/v1",
                       headers={"Authorization": f"Bearer {APP_PASSWORD}"})
    api.post(f"/users/{fake.user_uid}/upload/u", files={"files": ("cam.jpg", out.getvalue())})
    api.put(f"/users/{fake.user_uid}/upload/u", json={})
    target = open_target(fake)
    try:
        (uid,) = target.find_existing([hashlib.sha1(out.getvalue()).hexdigest()]).values()
        target.set_metadata(uid, Metadata(location=GeoPoint(35.0, 139.7)),
                            frozenset({"location"}))
    finally:
        target.close()
    photo = fake.library.photos[uid]
    assert photo.taken_at == datetime(2019, 7, 4, 10, 15, tzinfo=UTC)
    assert (photo.lat, photo.lng, photo.taken_src) == (35.0, 139.7, "manual")


def test_older_servers_without_get_session_are_understood(fake: FakePhotoPrism) -> None:
    fake.route("GET", "/api/v1/session")(lambda request: Response(404, {"code": 404,
                                                                       "error": "Not found"}))
    target = open_target(fake)
    try:
        assert target.client.user_uid == fake.user_uid
    finally:
        target.close()
    assert fake.count("GET", "/api/v1/session/") == 1


def test_album_description_and_a_deleted_known_album(fake: FakePhotoPrism) -> None:
    target = open_target(fake)
    try:
        uid = target.ensure_album(Album("k", "Road trip", "two weeks, one car"), None)
        fake.library.albums[uid].deleted_at = datetime.now(UTC)  # the user deleted it
        again = target.ensure_album(Album("k", "Road trip"), uid)
    finally:
        target.close()
    album = fake.library.albums[uid]
    assert again == uid and album.deleted_at is None  # restored by title, as PhotoPrism does
    assert album.description == "two weeks, one car"


def test_target_syntax_and_batch_setting_are_checked(cli: Callable[..., CliResult],
                                                     tmp_path: Path) -> None:
    bad_url = cli("import", SAMPLE, "--to", "photoprism:photos.local", "--state",
                  tmp_path / "s.sqlite")
    assert bad_url.code == 2 and "give the server's URL" in bad_url.err
    config = tmp_path / "config.yaml"
    config.write_text("photoprism:\n  batch: 0\n")
    with pytest.raises(ConfigError, match=r"photoprism\.batch"):
        build_settings(config, {}, {})


def test_verify_stops_cleanly_when_the_server_stops_answering(fake: FakePhotoPrism) -> None:
    target = PhotoPrismTarget(fake.url, Credentials(token=APP_PASSWORD),
                              policy=RetryPolicy(attempts=2, base_delay=0.001, max_delay=0.01))
    fake.faults = Faults(rate=1.0, kinds=("503",))
    try:
        with pytest.raises(TargetUnavailable, match="stopped answering during verify"):
            target.verify({"pabcdefghijklmno": "0" * 40})
    finally:
        fake.faults = Faults()
        target.close()


def test_a_busy_server_at_start_is_retried_then_named(fake: FakePhotoPrism) -> None:
    quick = RetryPolicy(attempts=3, base_delay=0.001, max_delay=0.01)
    fake.faults = Faults(rate=1.0, kinds=("503",), only=lambda r: r.route.endswith("/status"))
    with pytest.raises(TargetUnavailable, match=r"not ready .*503"):
        PhotoPrismTarget(fake.url, Credentials(token=APP_PASSWORD), policy=quick)
    once = iter([True])  # only the first probe meets a busy server
    fake.faults = Faults(rate=1.0, kinds=("503",),
                         only=lambda r: r.route.endswith("/status") and next(once, False))
    PhotoPrismTarget(fake.url, Credentials(token=APP_PASSWORD), policy=quick).close()
    assert fake.faults.injected == {"503": 1}
