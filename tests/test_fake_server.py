"""The fake-server base: it must reject what the real API rejects, stream uploads, and
inject the faults the adapters are tested against."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator

import httpx
import pytest

from tests.fakes.openapi import Spec
from tests.fakes.server import FakeServer, Faults, Request, Response

SPEC = Spec("immich-openapi.json")


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    server = FakeServer(SPEC, prefix="/api")
    seen: dict[str, object] = {}

    @server.route("POST", "/assets")
    def upload(request: Request) -> Response:
        (file,) = request.files("assetData")
        seen["file"] = file
        return Response(201, {"id": "6f1c0c6e-8a3a-4d3a-9a1e-1c0c6e8a3a4d", "status": "created"})

    @server.route("GET", "/server/version")
    def version(request: Request) -> Response:
        return Response(200, {"major": 3, "minor": 1, "patch": 0, "prerelease": None})

    @server.route("GET", "/server/ping")
    def bad_ping(request: Request) -> Response:
        return Response(200, {"res": 42})  # wrong type: the fake's own bug, caught

    server.seen = seen  # type: ignore[attr-defined]
    with server:
        yield server


def test_streams_multipart_to_disk_and_validates(fake: FakeServer) -> None:
    data = b"\xff\xd8\xff" + bytes(range(256)) * 4000
    files = {"assetData": ("IMG_1.jpg", io.BytesIO(data), "image/jpeg")}
    form = {"fileCreatedAt": "2020-01-01T00:00:00+02:00", "fileModifiedAt": "2020-01-01T00:00:00Z"}
    answer = httpx.post(f"{fake.url}/api/assets", data=form, files=files)
    assert answer.status_code == 201
    stored = fake.seen["file"]  # type: ignore[attr-defined]
    assert stored.filename == "IMG_1.jpg"
    assert stored.sha1 == hashlib.sha1(data).hexdigest()
    assert stored.path.read_bytes() == data
    assert fake.rejected == [] and fake.violations == []


def test_rejects_what_the_real_server_rejects(fake: FakeServer) -> None:
    files = {"assetData": ("IMG_1.jpg", io.BytesIO(b"x"), "image/jpeg")}
    naive = {"fileCreatedAt": "2020-01-01T00:00:00", "fileModifiedAt": "2020-01-01T00:00:00Z"}
    answer = httpx.post(f"{fake.url}/api/assets", data=naive, files=files)
    assert answer.status_code == 400
    assert "fileCreatedAt" in fake.rejected[0]
    missing = httpx.post(f"{fake.url}/api/assets", data={"fileCreatedAt": naive["fileModifiedAt"]},
                         files=files)
    assert missing.status_code == 400 and "fileModifiedAt" in fake.rejected[1]
    assert httpx.get(f"{fake.url}/api/no/such/route").status_code == 404


def test_response_bodies_are_checked_too(fake: FakeServer) -> None:
    httpx.get(f"{fake.url}/api/server/ping")
    assert any("/server/ping" in v and "42" in v for v in fake.violations)


def test_chunked_request_bodies(fake: FakeServer) -> None:
    def body() -> Iterator[bytes]:
        yield b"--b\r\nContent-Disposition: form-data; name=\"fileCreatedAt\"\r\n\r\n"
        yield b"2020-01-01T00:00:00Z\r\n--b\r\nContent-Disposition: form-data; "
        yield b"name=\"fileModifiedAt\"\r\n\r\n2020-01-01T00:00:00Z\r\n"
        yield b"--b\r\nContent-Disposition: form-data; name=\"assetData\"; filename=\"a.jpg\""
        yield b"\r\nContent-Type: image/jpeg\r\n\r\nJPEGDATA\r\n--b--\r\n"

    answer = httpx.post(f"{fake.url}/api/assets", content=body(),
                        headers={"Content-Type": "multipart/form-data; boundary=b"})
    assert answer.status_code == 201
    assert fake.seen["file"].path.read_bytes() == b"JPEGDATA"  # type: ignore[attr-defined]


@pytest.mark.parametrize("kind", ["500", "503", "429", "reset", "reset_after", "timeout"])
def test_fault_injection(fake: FakeServer, kind: str) -> None:
    fake.faults = Faults(rate=1.0, kinds=(kind,), stall=1.0)
    url = f"{fake.url}/api/server/version"
    if kind in ("500", "503", "429"):
        assert httpx.get(url).status_code == int(kind)
    elif kind == "timeout":
        with pytest.raises(httpx.ReadTimeout):
            httpx.get(url, timeout=0.3)
    else:
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            httpx.get(url)
    assert fake.faults.injected == {kind: 1}
    fake.faults = Faults()
    assert httpx.get(url).status_code == 200
