"""The fake PhotoPrism: it must refuse what PhotoPrism refuses and behave as PhotoPrism does,
or the adapter's tests prove nothing."""

from __future__ import annotations

import hashlib
import io
import time
from collections.abc import Iterator
from typing import Any

import httpx
import piexif
import pytest

from tests.exportgen import unique_jpeg
from tests.fakes.photoprism import (
    APP_PASSWORD,
    PASSWORD,
    USERNAME,
    FakePhotoPrism,
)

MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64
XMP = b'<?xpacket begin=""?><x:xmpmeta xmlns:x="adobe:ns:meta/"/><?xpacket end="w"?>'


@pytest.fixture
def fake() -> Iterator[FakePhotoPrism]:
    server = FakePhotoPrism(index_delay=0.0)
    with server:
        yield server


def client(fake: FakePhotoPrism, token: str = APP_PASSWORD) -> httpx.Client:
    return httpx.Client(base_url=f"{fake.url}/api/v1",
                        headers={"Authorization": f"Bearer {token}"})


def upload(api: httpx.Client, fake: FakePhotoPrism, token: str,
           *files: tuple[str, bytes]) -> httpx.Response:
    parts = [("files", (name, io.BytesIO(data), "application/octet-stream"))
             for name, data in files]
    return api.post(f"/users/{fake.user_uid}/upload/{token}", files=parts)


def imported(api: httpx.Client, fake: FakePhotoPrism, token: str,
             *files: tuple[str, bytes]) -> httpx.Response:
    assert upload(api, fake, token, *files).status_code == 200
    return api.put(f"/users/{fake.user_uid}/upload/{token}", json={"albums": []})


def sha1(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


def test_rejects_requests_photoprism_would_reject(fake: FakePhotoPrism) -> None:
    api = client(fake)
    no_files = api.post(f"/users/{fake.user_uid}/upload/t1", files={"other": ("a", b"x")},
                        data={"note": "x"})
    assert no_files.status_code == 400
    no_body = api.put(f"/users/{fake.user_uid}/upload/t1")
    assert no_body.status_code == 400
    assert api.get("/photos").status_code == 400  # count is required
    assert api.post("/albums", json={"Title": 5}).status_code == 400
    assert api.put("/photos/pabc", json={"Lat": "north"}).status_code == 400
    assert len(fake.rejected) == 5
    assert any("files" in r for r in fake.rejected) and any("count" in r for r in fake.rejected)
    assert httpx.get(f"{fake.url}/api/v1/files/{'0' * 40}").status_code == 401
    assert api.get("/no/such/thing").status_code == 404
    assert fake.violations == []


def test_staging_belongs_to_session_and_token(fake: FakePhotoPrism) -> None:
    app = client(fake)
    login = httpx.post(f"{fake.url}/api/v1/session",
                       json={"username": USERNAME, "password": PASSWORD}).json()
    other = client(fake, login["access_token"])
    data = unique_jpeg("staged")
    assert upload(app, fake, "tok", ("a_1.jpg", data)).status_code == 200
    answer = other.put(f"/users/{fake.user_uid}/upload/tok", json={"albums": []})
    assert answer.status_code == 404  # another session's staging folder
    assert app.put(f"/users/{fake.user_uid}/upload/other", json={}).status_code == 404
    done = app.put(f"/users/{fake.user_uid}/upload/tok", json={})
    assert done.status_code == 200 and set(done.json()) == {"code", "message"}  # no UIDs
    assert app.get(f"/files/{sha1(data)}").json()["PhotoUID"].startswith("p")
    assert fake.rejected == [] and fake.violations == []


def test_import_dedupes_by_sha1_and_same_name_overwrites(fake: FakePhotoPrism) -> None:
    api = client(fake)
    one, two = unique_jpeg("one"), unique_jpeg("two")
    assert imported(api, fake, "t1", ("x_1.jpg", one)).status_code == 200
    assert imported(api, fake, "t2", ("y_1.jpg", one)).status_code == 200
    assert len(fake.library.photos) == 1
    assert upload(api, fake, "t3", ("same.jpg", two)).status_code == 200
    replaced = unique_jpeg("three")
    assert imported(api, fake, "t3", ("same.jpg", replaced)).status_code == 200
    assert api.get(f"/files/{sha1(two)}").status_code == 404
    assert api.get(f"/files/{sha1(replaced)}").status_code == 200


def test_silent_drops_lying_extension_unknown_type_and_size(fake: FakePhotoPrism) -> None:
    api = client(fake)
    fake.file_size_limit = 5000
    big = unique_jpeg("big", pad=6000)
    answer = imported(api, fake, "t", ("lie.heic", unique_jpeg("lie")), ("x.txt", b"hello"),
                      ("big.jpg", big), ("ok.jpg", unique_jpeg("ok")))
    assert answer.status_code == 200
    assert sorted(fake.dropped) == ["big.jpg", "lie.heic", "x.txt"]
    assert len(fake.library.photos) == 1
    fake.upload_limit = 100
    assert upload(api, fake, "t2", ("ok2.jpg", unique_jpeg("ok2"))).status_code == 413


def test_files_sharing_a_stem_become_one_photo(fake: FakePhotoPrism) -> None:
    api = client(fake)
    still, other = unique_jpeg("still"), unique_jpeg("copy")
    answer = imported(api, fake, "t", ("IMG_1.jpg", still), ("IMG_1.mp4", MP4),
                      ("IMG_1.xmp", XMP), ("IMG_1 (2).jpg", other), ("IMG_2.jpg", unique_jpeg("2")))
    assert answer.status_code == 200
    photo = api.get(f"/files/{sha1(still)}").json()["PhotoUID"]
    assert api.get(f"/files/{sha1(other)}").json()["PhotoUID"] == photo
    assert api.get(f"/files/{sha1(MP4)}").json()["PhotoUID"] == photo
    body = api.get(f"/photos/{photo}").json()
    assert body["Type"] == "live" and len(body["files"]) == 4
    assert any(f["Sidecar"] for f in body["files"])
    assert len(fake.library.photos) == 2


def test_indexing_delay_hides_new_files(fake: FakePhotoPrism) -> None:
    fake.library.index_delay = 1.0
    api = client(fake)
    data = unique_jpeg("slow")
    assert imported(api, fake, "t", ("slow.jpg", data)).status_code == 200
    assert api.get(f"/files/{sha1(data)}").status_code == 404
    time.sleep(1.05)
    assert api.get(f"/files/{sha1(data)}").status_code == 200


def test_albums_by_title_and_archive_hiding(fake: FakePhotoPrism) -> None:
    api = client(fake)
    first = api.post("/albums", json={"Title": "Summer", "Description": "ignored"})
    again = api.post("/albums", json={"Title": "Summer"})
    assert (first.status_code, again.status_code) == (201, 200)
    album = first.json()["UID"]
    assert again.json()["UID"] == album and first.json()["Description"] == ""
    data = unique_jpeg("member")
    imported(api, fake, "t", ("m.jpg", data))
    photo = api.get(f"/files/{sha1(data)}").json()["PhotoUID"]
    assert api.post(f"/albums/{album}/photos", json={"photos": [photo]}).status_code == 200

    def albums() -> list[Any]:
        return api.get(f"/photos/{photo}").json()["Albums"]

    assert [a["UID"] for a in albums()] == [album]
    assert api.post("/batch/photos/archive", json={"photos": [photo]}).status_code == 200
    assert albums() == []
    assert api.post("/batch/photos/restore", json={"photos": [photo]}).status_code == 200
    assert albums() == []  # restoring does not clear the hidden flag
    api.post(f"/albums/{album}/photos", json={"photos": [photo]})
    assert [a["UID"] for a in albums()] == [album]
    assert fake.rejected == [] and fake.violations == []


def test_sessions_expire_but_app_passwords_do_not(fake: FakePhotoPrism) -> None:
    login = httpx.post(f"{fake.url}/api/v1/session",
                       json={"username": USERNAME, "password": PASSWORD})
    assert login.status_code == 200
    session = client(fake, login.json()["access_token"])
    assert session.get("/session").json()["user"]["UID"] == fake.user_uid
    fake.expire_sessions()
    assert session.get("/session").status_code == 401
    assert client(fake).get("/session").status_code == 200
    bad = httpx.post(f"{fake.url}/api/v1/session", json={"username": USERNAME, "password": "x"})
    assert bad.status_code == 401
    fake.features["upload"] = False
    assert upload(client(fake), fake, "t", ("a.jpg", unique_jpeg("a"))).status_code == 403


def _photo(api: httpx.Client, fake: FakePhotoPrism, tag: str, exif_date: bytes | None = None
           ) -> str:
    data = unique_jpeg(tag)
    if exif_date:
        exif = {"Exif": {piexif.ExifIFD.DateTimeOriginal: exif_date,
                         piexif.ExifIFD.OffsetTimeOriginal: b"+02:00"}}
        out = io.BytesIO()
        piexif.insert(piexif.dump(exif), data, out)
        data = out.getvalue()
    imported(api, fake, tag, (f"{tag}.jpg", data))
    return str(api.get(f"/files/{sha1(data)}").json()["PhotoUID"])


def test_dates_follow_photoprism_rules(fake: FakePhotoPrism) -> None:
    api = client(fake)
    uid = _photo(api, fake, "zone")
    berlin = api.put(f"/photos/{uid}", json={
        "TakenAt": "2001-01-01T00:00:00Z", "TakenAtLocal": "2020-07-01T12:00:00Z",
        "TimeZone": "Europe/Berlin", "TakenSrc": "manual"}).json()
    assert berlin["TakenAt"] == "2020-07-01T10:00:00Z"  # recomputed from the local time
    unknown = api.put(f"/photos/{uid}", json={"TimeZone": "Mars/Olympus"}).json()
    assert unknown["TakenAt"] == "2020-07-01T12:00:00Z"  # unknown zone: wall time as UTC
    utc = api.put(f"/photos/{uid}", json={"TimeZone": "UTC",
                                          "TakenAt": "2020-07-01T09:00:00Z"}).json()
    assert utc["TakenAtLocal"] == "2020-07-01T09:00:00Z"


def test_exif_date_is_read_and_gps_can_shift_it(fake: FakePhotoPrism) -> None:
    api = client(fake)
    uid = _photo(api, fake, "exif", exif_date=b"2019:07:04 12:15:00")
    body = api.get(f"/photos/{uid}").json()
    assert (body["TakenAt"], body["TakenSrc"], body["TimeZone"]) == (
        "2019-07-04T10:15:00Z", "meta", "UTC+2")
    moved = api.put(f"/photos/{uid}", json={"Lat": 35.0, "Lng": 139.7,
                                            "PlaceSrc": "manual"}).json()
    assert moved["TakenAt"] != "2019-07-04T10:15:00Z"  # PhotoPrism's GPS time-zone trap
    assert fake.rejected == [] and fake.violations == []
