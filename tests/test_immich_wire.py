"""The Immich adapter's pure rules, table-tested: dates, checksums, versions, URLs, update
bodies, album choice and the streamed multipart body."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from python_multipart import MultipartParser
from python_multipart.multipart import parse_options_header

from adapters.base import AuthError, ItemRejected, TargetUnavailable
from adapters.immich import canonical_url
from adapters.immich.albums import pick_album
from adapters.immich.dialect import Dialect, Version, parse_version, too_old
from adapters.immich.multipart import FilePart, MultipartBody, SourceChanged, TextPart
from adapters.immich.wire import asset_update, checksum_hex, error_for, iso_instant
from importer.config import ConfigError
from importer.model import GeoPoint, Metadata


@pytest.mark.parametrize(("moment", "expected"), [
    (datetime(2019, 7, 4, 10, 15, tzinfo=UTC), "2019-07-04T10:15:00Z"),
    (datetime(2019, 7, 4, 10, 15, tzinfo=timezone(timedelta(hours=5, minutes=30))),
     "2019-07-04T10:15:00+05:30"),
    (datetime(2019, 7, 4, 10, 15, 1, 500, tzinfo=timezone(timedelta(hours=-3))),
     "2019-07-04T10:15:01.000500-03:00"),
    # a local mean time offset with seconds: sent as the same instant in UTC
    (datetime(1890, 1, 1, 12, 0, tzinfo=timezone(timedelta(minutes=-36, seconds=-45))),
     "1890-01-01T12:36:45Z"),
])
def test_iso_instant(moment: datetime, expected: str) -> None:
    assert iso_instant(moment) == expected
    assert datetime.fromisoformat(expected.replace("Z", "+00:00")) == moment


@pytest.mark.parametrize(("value", "expected"), [
    ("a9993e364706816aba3e25717850c26c9cd0d89d", "a9993e364706816aba3e25717850c26c9cd0d89d"),
    ("A9993E364706816ABA3E25717850C26C9CD0D89D", "a9993e364706816aba3e25717850c26c9cd0d89d"),
    ("qZk+NkcGgWq6PiVxeFDCbJzQ2J0=", "a9993e364706816aba3e25717850c26c9cd0d89d"),
    ("not a checksum", None), ("qZk+Nkc=", None), ("g" * 40, None),
])
def test_checksum_hex(value: str, expected: str | None) -> None:
    assert checksum_hex(value) == expected


@pytest.mark.parametrize(("body", "version", "old"), [
    ({"major": 3, "minor": 1, "patch": 0, "prerelease": None}, Version(3, 1, 0), False),
    ({"major": 2, "minor": 4, "patch": 0}, Version(2, 4, 0), False),
    ({"major": 2, "minor": 3, "patch": 9}, Version(2, 3, 9), True),
    ({"major": 1, "minor": 140, "patch": 1}, Version(1, 140, 1), True),
    ({"major": "3", "minor": 1, "patch": 0}, None, None),
    ({"major": True, "minor": 1, "patch": 0}, None, None),
    ({"res": "pong"}, None, None), ("<html>", None, None), (None, None, None),
])
def test_versions(body: Any, version: Version | None, old: bool | None) -> None:
    assert parse_version(body) == version
    if version is not None:
        assert too_old(version) is old


def test_dialects() -> None:
    v2, v3 = Dialect(Version(2, 7, 3)), Dialect(Version(3, 1, 0))
    assert v2.device_fields("abc") == [("deviceAssetId", "abc"), ("deviceId", "gphotos-importer")]
    assert v3.device_fields("abc") == []
    assert (v2.album_name_filter, v3.album_name_filter) == (False, True)
    assert v2.album_detail_params() == {"withoutAssets": "true"} and v3.album_detail_params() == {}


@pytest.mark.parametrize(("spec", "expected"), [
    ("http://nas:2283", "http://nas:2283"), ("http://nas:2283/", "http://nas:2283"),
    ("https://photos.example.org/api", "https://photos.example.org"),
    ("https://example.org/immich/api/", "https://example.org/immich"),
    (" http://nas:2283 ", "http://nas:2283"),
])
def test_canonical_url(spec: str, expected: str) -> None:
    assert canonical_url(spec) == expected


@pytest.mark.parametrize("spec", ["nas:2283", "ftp://nas", "http://", ""])
def test_canonical_url_refuses(spec: str) -> None:
    with pytest.raises(ConfigError, match="http:// or https://"):
        canonical_url(spec)


def test_asset_update_bodies() -> None:
    meta = Metadata(taken_at=datetime(2020, 2, 29, 23, 59, tzinfo=timezone(timedelta(hours=1))),
                    location=GeoPoint(-33.8688, 151.2093, 12.0), description="Sydney")
    assert asset_update(meta, frozenset({"taken_at", "location", "description"})) == {
        "dateTimeOriginal": "2020-02-29T23:59:00+01:00", "latitude": -33.8688,
        "longitude": 151.2093, "description": "Sydney"}
    assert asset_update(meta, frozenset({"location"})) == {"latitude": -33.8688,
                                                           "longitude": 151.2093}
    cleared = Metadata()
    assert asset_update(cleared, frozenset({"taken_at", "location", "description"})) == {
        "description": ""}  # a caption removed in Google; a date or place cannot be removed


def _answer(status: int, body: Any) -> httpx.Response:
    return httpx.Response(status, json=body, request=httpx.Request("GET", "http://x/api/y"))


@pytest.mark.parametrize(("status", "message", "kind", "text"), [
    (401, "Invalid API key", AuthError, "rejected the API key (Invalid API key)"),
    (403, "Missing required permission: asset.upload", AuthError,
     "Missing required permission: asset.upload"),
    (400, ["fileCreatedAt must be a date"], ItemRejected, "fileCreatedAt must be a date"),
    (413, "Payload Too Large", ItemRejected, "HTTP 413"),
    (404, "Cannot POST /api/assets", TargetUnavailable, "no such endpoint"),
])
def test_errors(status: int, message: Any, kind: type[Exception], text: str) -> None:
    error = error_for(_answer(status, {"message": message, "statusCode": status}), "doing x")
    assert isinstance(error, kind) and text in str(error) and "\n" not in str(error)


def test_pick_album_prefers_ours_and_the_oldest() -> None:
    def album(ident: str, name: str, owner: str, created: str, v2: bool) -> dict[str, Any]:
        if v2:
            return {"id": ident, "albumName": name, "ownerId": owner, "createdAt": created}
        return {"id": ident, "albumName": name, "createdAt": created,
                "albumUsers": [{"user": {"id": owner}, "role": "owner"}]}

    for v2 in (True, False):
        albums = [album("shared", "Trip", "someone", "2020-01-01", v2),
                  album("newer", "Trip", "me", "2024-01-01", v2),
                  album("older", "Trip", "me", "2023-01-01", v2),
                  album("other", "Trip 2", "me", "2019-01-01", v2)]
        assert pick_album(albums, "Trip", "me") == "older"
        assert pick_album(albums, "trip", "me") is None


def _parse(body: MultipartBody) -> list[tuple[str, str | None, bytes]]:
    raw = b"".join(body)
    assert len(raw) == body.length
    _, options = parse_options_header(body.content_type)
    parts: list[tuple[str, str | None, bytes]] = []
    current: dict[str, Any] = {}

    def on_header_value(data: bytes, start: int, end: int) -> None:
        current.setdefault("headers", b"")
        current["headers"] += data[start:end] + b"\n"

    def on_part_data(data: bytes, start: int, end: int) -> None:
        current["data"] = current.get("data", b"") + data[start:end]

    def on_part_end() -> None:
        _, opts = parse_options_header(current["headers"].split(b"\n")[0])
        name = opts[b"name"].decode()
        filename = opts.get(b"filename")
        parts.append((name, filename.decode() if filename else None, current.get("data", b"")))
        current.clear()

    parser = MultipartParser(options[b"boundary"], {
        "on_header_value": on_header_value, "on_part_data": on_part_data,
        "on_part_end": on_part_end})
    parser.write(raw)
    parser.finalize()
    return parts


def test_multipart_keeps_order_names_and_exact_length() -> None:
    photo = bytes(range(256)) * 10_000
    parts = [FilePart("assetData", 'Café "quoted".jpg', "image/jpeg", len(photo),
                      lambda: io.BytesIO(photo)),
             FilePart("sidecarData", "Café.jpg.xmp", "application/rdf+xml", 3,
                      lambda: io.BytesIO(b"<x/")),
             TextPart("filename", "Café \"quoted\".jpg"), TextPart("isFavorite", "true")]
    body = MultipartBody(parts)
    assert body.headers()["Content-Length"] == str(body.length)
    assert _parse(body) == [("assetData", "Café %22quoted%22.jpg", photo),
                            ("sidecarData", "Café.jpg.xmp", b"<x/"),
                            ("filename", None, 'Café "quoted".jpg'.encode()),
                            ("isFavorite", None, b"true")]
    assert _parse(body) == _parse(body)  # iterable again for a retry


@pytest.mark.parametrize("actual", [999, 1001])
def test_multipart_refuses_a_file_that_changed_size(actual: int) -> None:
    part = FilePart("assetData", "a.jpg", "image/jpeg", 1000,
                    lambda: io.BytesIO(b"x" * actual))
    with pytest.raises(SourceChanged, match=r"a\.jpg: expected 1000 bytes"):
        b"".join(MultipartBody([part]))
