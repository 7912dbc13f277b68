"""The fake Immich must refuse what the real one refuses and answer as it answers; a fake
that accepts anything would let the adapter's tests prove nothing."""

from __future__ import annotations

import base64
import hashlib
import io
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.exportgen import unique_jpeg
from tests.fakes.immich import FakeImmich

DATES = {"fileCreatedAt": "2020-01-01T10:00:00+02:00", "fileModifiedAt": "2020-01-01T10:00:00Z"}
V2_DEVICE = {"deviceAssetId": "a-1", "deviceId": "test"}


@pytest.fixture(params=["v3", "v2"])
def fake(request: pytest.FixtureRequest) -> Iterator[FakeImmich]:
    with FakeImmich(request.param) as server:
        assert isinstance(server, FakeImmich)
        yield server


def client(fake: FakeImmich, key: str | None = None) -> httpx.Client:
    return httpx.Client(base_url=f"{fake.url}/api",
                        headers={"x-api-key": fake.api_key if key is None else key})


def post_asset(fake: FakeImmich, data: bytes, name: str = "IMG_1.jpg",
               fields: dict[str, str] | None = None, **extra: Any) -> httpx.Response:
    form = {**DATES, **(V2_DEVICE if fake.v2 else {}), **(fields or {})}
    files = {"assetData": (name, io.BytesIO(data), "image/jpeg")}
    with client(fake) as http:
        return http.post("/assets", data=form, files=files, **extra)


def test_created_then_duplicate_with_the_same_id(fake: FakeImmich) -> None:
    data = unique_jpeg("dup")
    first = post_asset(fake, data)
    second = post_asset(fake, data, "other name.jpg")
    assert (first.status_code, first.json()["status"]) == (201, "created")
    assert (second.status_code, second.json()) == (200, {"id": first.json()["id"],
                                                          "status": "duplicate"})
    assert len(fake.owned()) == 1 and fake.rejected == [] and fake.violations == []


def test_checksum_header_answers_before_the_file_is_read(fake: FakeImmich) -> None:
    known = post_asset(fake, unique_jpeg("known")).json()["id"]
    sha1 = hashlib.sha1(unique_jpeg("known")).hexdigest()
    answer = post_asset(fake, unique_jpeg("different bytes"),
                        headers={"x-immich-checksum": sha1})
    assert answer.status_code == 200 and answer.json()["id"] == known
    assert len(fake.owned()) == 1


def test_v2_requires_device_fields_v3_drops_them(fake: FakeImmich) -> None:
    files = {"assetData": ("IMG_1.jpg", io.BytesIO(unique_jpeg("d")), "image/jpeg")}
    with client(fake) as http:
        answer = http.post("/assets", data=DATES, files=files)
    if fake.v2:
        assert answer.status_code == 400 and "deviceAssetId" in fake.rejected[0]
    else:
        assert answer.status_code == 201 and fake.rejected == []


def test_v3_refuses_dates_without_offset_and_string_durations(fake: FakeImmich) -> None:
    naive = post_asset(fake, unique_jpeg("n"), fields={"fileCreatedAt": "2020-01-01T10:00:00"})
    duration = post_asset(fake, unique_jpeg("s"), fields={"duration": "0:00:01.000000"})
    if fake.v2:  # v2 parsed both leniently
        assert (naive.status_code, duration.status_code) == (201, 201)
    else:
        assert (naive.status_code, duration.status_code) == (400, 400)
        assert "fileCreatedAt" in fake.rejected[0] and "duration" in fake.rejected[1]
        assert isinstance(naive.json()["message"], list)


def test_sidecar_is_refused_when_filename_field_comes_first(fake: FakeImmich) -> None:
    boundary = "b0undary"

    def body(order: list[str]) -> bytes:
        parts = {
            "filename": b'Content-Disposition: form-data; name="filename"\r\n\r\nIMG_9.jpg',
            "assetData": b'Content-Disposition: form-data; name="assetData"; filename="IMG_9.jpg"'
                         b"\r\nContent-Type: image/jpeg\r\n\r\n" + unique_jpeg(str(order)),
            "sidecarData": b'Content-Disposition: form-data; name="sidecarData"; '
                           b'filename="IMG_9.jpg.xmp"\r\nContent-Type: application/rdf+xml'
                           b"\r\n\r\n<x:xmpmeta xmlns:x='adobe:ns:meta/'/>",
        }
        fields = {**DATES, **(V2_DEVICE if fake.v2 else {})}
        chunks = [parts[name] for name in order]
        chunks += [f'Content-Disposition: form-data; name="{k}"\r\n\r\n{v}'.encode()
                   for k, v in fields.items()]
        return b"".join(b"--" + boundary.encode() + b"\r\n" + c + b"\r\n" for c in chunks) \
            + b"--" + boundary.encode() + b"--\r\n"

    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    with client(fake) as http:
        early = http.post("/assets", content=body(["filename", "assetData", "sidecarData"]),
                          headers=headers)
        late = http.post("/assets", content=body(["assetData", "sidecarData", "filename"]),
                         headers=headers)
    assert early.status_code == 400 and early.json()["message"] == "Unsupported file type IMG_9.jpg"
    assert late.status_code == 201
    assert fake.assets[late.json()["id"]].sidecar is not None


def test_unsupported_file_type_is_refused(fake: FakeImmich) -> None:
    answer = post_asset(fake, b"just text", "notes.txt")
    assert answer.status_code == 400 and "Unsupported file type notes.txt" in fake.rejected[0]


def test_keys_and_permissions(fake: FakeImmich) -> None:
    limited = fake.add_key(fake.user, ("asset.read", "album.read"))
    with client(fake, key="") as anonymous, client(fake, key="nope") as wrong, \
            client(fake, key=limited) as narrow:
        assert anonymous.get("/users/me").json()["message"] == "Authentication required"
        assert wrong.get("/users/me").status_code == 401
        assert wrong.get("/users/me").json()["message"] == "Invalid API key"
        refused = narrow.post("/albums", json={"albumName": "x"})
        assert refused.status_code == 403
        assert refused.json()["message"] == "Missing required permission: album.create"
        assert narrow.get("/albums").status_code == 200
        assert narrow.get("/api-keys/me").json()["permissions"] == ["asset.read", "album.read"]
        assert anonymous.get("/server/version").status_code == 200  # needs no key


def test_album_names_are_not_unique(fake: FakeImmich) -> None:
    with client(fake) as http:
        one = http.post("/albums", json={"albumName": "Trip"}).json()["id"]
        two = http.post("/albums", json={"albumName": "Trip"}).json()["id"]
        http.post("/albums", json={"albumName": "Trip 2"})
        assert one != two and len(fake.album_named("Trip")) == 2
        if not fake.v2:
            assert {a["id"] for a in http.get("/albums", params={"name": "Trip"}).json()} == {
                one, two}
        assert http.get("/albums/not-a-uuid").status_code == 400
    assert any("not-a-uuid" in r for r in fake.rejected)


def test_bulk_check_takes_hex_and_base64_and_flags_trash(fake: FakeImmich) -> None:
    data = unique_jpeg("b64")
    asset_id = post_asset(fake, data).json()["id"]
    digest = hashlib.sha1(data)
    checks = [{"id": "hex", "checksum": digest.hexdigest()},
              {"id": "b64", "checksum": base64.b64encode(digest.digest()).decode()},
              {"id": "new", "checksum": "0" * 40}]
    with client(fake) as http:
        results = http.post("/assets/bulk-upload-check", json={"assets": checks}).json()
        http.request("DELETE", "/assets", json={"ids": [asset_id]})
        trashed = http.post("/assets/bulk-upload-check", json={"assets": checks[:1]}).json()
    assert [(r["id"], r["action"], r.get("assetId")) for r in results["results"]] == [
        ("hex", "reject", asset_id), ("b64", "reject", asset_id), ("new", "accept", None)]
    assert trashed["results"][0]["isTrashed"] is True
    assert post_asset(fake, data).json() == {"id": asset_id, "status": "duplicate"}


def test_search_is_paginated(fake: FakeImmich) -> None:
    for n in range(5):
        post_asset(fake, unique_jpeg(f"page {n}"), f"IMG_{n}.jpg")
    seen, page, pages = [], "1", 0
    with client(fake) as http:
        while page is not None:
            answer = http.post("/search/metadata", json={"page": int(page), "size": 2}).json()
            seen += [a["id"] for a in answer["assets"]["items"]]
            page, pages = answer["assets"]["nextPage"], pages + 1
    assert pages == 3 and len(set(seen)) == 5 and fake.violations == []


def test_api_edits_survive_late_metadata_extraction() -> None:
    with FakeImmich("v3", exif_delay=0.3) as fake:
        assert isinstance(fake, FakeImmich)
        asset_id = post_asset(fake, unique_jpeg("late")).json()["id"]
        with client(fake) as http:
            http.put(f"/assets/{asset_id}", json={"dateTimeOriginal": "2001-02-03T04:05:06+01:00",
                                                   "description": "set by API"})
            time.sleep(0.6)
            exif = http.get(f"/assets/{asset_id}").json()["exifInfo"]
    assert exif["dateTimeOriginal"] == "2001-02-03T03:05:06.000Z"
    assert exif["timeZone"] == "UTC+1" and exif["description"] == "set by API"


def test_live_photo_link_rules(fake: FakeImmich) -> None:
    photo_id = post_asset(fake, unique_jpeg("still")).json()["id"]
    linked = post_asset(fake, unique_jpeg("other"), fields={"livePhotoVideoId": photo_id})
    assert linked.status_code == 400
    assert linked.json()["message"] == "Live photo video must be a video"


def test_broken_answers_are_caught_as_violations(fake: FakeImmich,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    asset_id = post_asset(fake, unique_jpeg("v")).json()["id"]
    from tests.fakes import immich_model

    original = immich_model.Asset.dto
    monkeypatch.setattr(immich_model.Asset, "dto",
                        lambda self, v2, with_exif=True: {
                            k: v for k, v in original(self, v2, with_exif).items()
                            if k != "checksum"})
    with client(fake) as http:
        http.get(f"/assets/{asset_id}")
    assert any("checksum" in v for v in fake.violations)
