"""The Immich adapter against Immich's behaviour: the fake in both dialects, and a real
server when IMMICH_URL and IMMICH_API_KEY are set (results read back through the API)."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from adapters.base import METADATA_FIELDS, ItemRejected, UploadStatus, VerifyStatus
from adapters.http import RetryPolicy
from adapters.immich.target import ImmichTarget
from importer.model import Album, GeoPoint, Metadata
from tests.immich_server import (
    Server,
    asset_of,
    fake_video,
    photo,
    prepared,
    server_fixture,  # noqa: F401 (the `server` fixture)
    unique_tag,
)

FAST = RetryPolicy(attempts=4, base_delay=0.01, max_delay=0.05)
LISBON = timezone(timedelta(hours=1))
META = Metadata(taken_at=datetime(2019, 7, 4, 10, 15, tzinfo=LISBON),
                location=GeoPoint(38.7223, -9.1393), description="Alfama ✓",
                favorite=True, archived=True)


@pytest.fixture
def target(server: Server) -> Iterator[ImmichTarget]:
    gallery = ImmichTarget(server.url, server.key, workers=2, timeout=30, policy=FAST)
    yield gallery
    gallery.close()


def _created(server: Server, *ids: str | None) -> None:
    server.created_assets.extend(i for i in ids if i)


def _instant(text: str | None) -> datetime:
    assert text is not None
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _has_date(data: dict[str, Any]) -> bool:
    return bool((data.get("exifInfo") or {}).get("dateTimeOriginal"))


def test_new_photo_lands_with_flags_date_place_and_caption(server: Server,
                                                           target: ImmichTarget) -> None:
    asset = photo(unique_tag(), "Lisbon café.jpg", META)
    result = target.upload(asset)
    _created(server, result.remote_id)
    assert result.status is UploadStatus.CREATED
    assert result.applied == {"favorite", "archived"}
    target.set_metadata(result.remote_id, META, METADATA_FIELDS)

    data = server.asset(result.remote_id, ready=lambda d: bool(
        (d.get("exifInfo") or {}).get("description")))
    assert data["originalFileName"] == "Lisbon café.jpg"
    assert base64.b64decode(data["checksum"]).hex() == asset.primary.sha1
    assert data["isFavorite"] is True and data["visibility"] == "archive"
    exif = data["exifInfo"]
    assert _instant(exif["dateTimeOriginal"]) == META.taken_at
    assert exif["latitude"] == pytest.approx(38.7223, abs=1e-4)
    assert exif["longitude"] == pytest.approx(-9.1393, abs=1e-4)
    assert exif["description"] == "Alfama ✓"
    assert target.find_existing([asset.primary.sha1]) == {asset.primary.sha1: result.remote_id}
    assert target.verify({result.remote_id: asset.primary.sha1}) == {
        result.remote_id: VerifyStatus.OK}


def test_duplicate_answer_still_gets_flags_and_metadata(server: Server,
                                                        target: ImmichTarget) -> None:
    tag = unique_tag()
    first = target.upload(photo(tag, "IMG_1.jpg"))
    _created(server, first.remote_id)
    plain = server.asset(first.remote_id)
    assert plain["isFavorite"] is False and plain["visibility"] == "timeline"

    again = target.upload(photo(tag, "IMG_1.jpg", META))
    assert again.status is UploadStatus.DUPLICATE and again.remote_id == first.remote_id
    assert again.applied == {"favorite", "archived"} | METADATA_FIELDS
    data = server.asset(first.remote_id)
    assert data["isFavorite"] is True and data["visibility"] == "archive"
    assert data["exifInfo"]["description"] == "Alfama ✓"
    assert _instant(data["exifInfo"]["dateTimeOriginal"]) == META.taken_at


def test_live_photo_motion_part_first_then_linked_still(server: Server,
                                                        target: ImmichTarget) -> None:
    tag = unique_tag()
    video = prepared(fake_video(tag), "PXL_1.mp4", "video/mp4")
    still = prepared(photo(tag).primary.opener().read(), "PXL_1.jpg", "image/jpeg")
    result = target.upload(asset_of(still, META, live=video))
    _created(server, result.remote_id, result.live_video_id)
    assert result.status is UploadStatus.CREATED and result.live_video_id is not None
    assert server.asset(result.remote_id)["livePhotoVideoId"] == result.live_video_id
    motion = server.asset(result.live_video_id)
    assert motion["type"] == "VIDEO" and motion["visibility"] == "hidden"

    again = target.upload(asset_of(still, META, live=video))
    assert (again.remote_id, again.live_video_id) == (result.remote_id, result.live_video_id)
    assert server.asset(result.remote_id)["livePhotoVideoId"] == result.live_video_id


def test_still_uploaded_alone_before_gets_linked_later(server: Server,
                                                       target: ImmichTarget) -> None:
    tag = unique_tag()
    still = photo(tag, "PXL_2.jpg").primary
    alone = target.upload(asset_of(still))
    video = prepared(fake_video(tag), "PXL_2.mp4", "video/mp4")
    linked = target.upload(asset_of(still, live=video))
    _created(server, alone.remote_id, linked.live_video_id)
    assert linked.status is UploadStatus.DUPLICATE and linked.remote_id == alone.remote_id
    assert server.asset(alone.remote_id)["livePhotoVideoId"] == linked.live_video_id


XMP = """<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:exif="http://ns.adobe.com/exif/1.0/"
  xmlns:dc="http://purl.org/dc/elements/1.1/"
  exif:DateTimeOriginal="2016-03-05T18:20:00+05:30"
  exif:GPSLatitude="12,58.5000N" exif:GPSLongitude="77,35.4000E">
 <dc:description><rdf:Alt><rdf:li xml:lang="x-default">from the sidecar</rdf:li></rdf:Alt>
 </dc:description>
</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>"""


def test_xmp_sidecar_carries_metadata_without_api_edits(server: Server,
                                                        target: ImmichTarget) -> None:
    asset = photo(unique_tag(), "IMG_2016.jpg", xmp=XMP.encode(), carried=METADATA_FIELDS)
    result = target.upload(asset)
    _created(server, result.remote_id)
    data = server.asset(result.remote_id, ready=lambda d: bool(
        (d.get("exifInfo") or {}).get("description")))
    exif = data["exifInfo"]
    india = timezone(timedelta(hours=5, minutes=30))
    assert _instant(exif["dateTimeOriginal"]) == datetime(2016, 3, 5, 18, 20, tzinfo=india)
    assert exif["latitude"] == pytest.approx(12.975, abs=1e-3)
    assert exif["longitude"] == pytest.approx(77.59, abs=1e-3)
    assert exif["description"] == "from the sidecar"


def test_albums_found_by_name_created_once_filled_and_renamed(server: Server,
                                                              target: ImmichTarget) -> None:
    title = f"Trip {unique_tag()[:8]} – Ünïcode"
    album = Album(f"title:{title}", title, "three days by the sea")
    album_id = target.ensure_album(album, None)
    server.created_albums.append(album_id)
    assert target.ensure_album(album, None) == album_id  # found by name, not a twin
    assert target.ensure_album(album, album_id) == album_id
    assert [a["id"] for a in server.albums_named(title)] == [album_id]
    assert server.albums_named(title)[0]["description"] == "three days by the sea"

    result = target.upload(photo(unique_tag()))
    _created(server, result.remote_id)
    target.add_to_album(album_id, [result.remote_id])
    target.add_to_album(album_id, [result.remote_id])  # already there: fine
    assert server.album_ids_of(result.remote_id) == {album_id}

    renamed = Album(f"title:{title} (2019)", f"{title} (2019)", "three days by the sea")
    target.rename_album(album_id, renamed)
    assert [a["id"] for a in server.albums_named(renamed.title)] == [album_id]
    assert server.albums_named(title) == []


def test_album_deleted_in_immich_is_made_again(server: Server, target: ImmichTarget) -> None:
    title = f"Gone {unique_tag()[:8]}"
    album = Album(f"title:{title}", title)
    first = target.ensure_album(album, None)
    assert server.client.delete(f"/albums/{first}").status_code in (200, 204)
    second = target.ensure_album(album, first)
    server.created_albums.append(second)
    assert second != first and [a["id"] for a in server.albums_named(title)] == [second]


def test_verify_tells_ok_missing_changed_and_trashed(server: Server,
                                                     target: ImmichTarget) -> None:
    one, two = photo(unique_tag()), photo(unique_tag())
    a, b = target.upload(one).remote_id, target.upload(two).remote_id
    _created(server, a, b)
    nowhere = str(uuid.uuid4())
    assert target.verify({a: one.primary.sha1, b: one.primary.sha1,
                          nowhere: two.primary.sha1}) == {
        a: VerifyStatus.OK, b: VerifyStatus.MISMATCH, nowhere: VerifyStatus.MISSING}
    server.trash(a)
    assert target.verify({a: one.primary.sha1}) == {a: VerifyStatus.MISSING}


def test_asset_in_immichs_trash_is_not_adopted(server: Server, target: ImmichTarget) -> None:
    asset = photo(unique_tag(), "IMG_trash.jpg")
    remote = target.upload(asset).remote_id
    _created(server, remote)
    server.trash(remote)
    assert target.find_existing([asset.primary.sha1]) == {}
    with pytest.raises(ItemRejected, match=r"IMG_trash\.jpg.*trash"):
        target.upload(asset)
    fresh = ImmichTarget(server.url, server.key, policy=FAST)  # no look-up beforehand
    try:
        with pytest.raises(ItemRejected, match="trash"):
            fresh.upload(asset)
    finally:
        fresh.close()


def test_refused_file_is_that_items_failure(server: Server, target: ImmichTarget) -> None:
    notes = prepared(b"plain text, not a photo", "notes.txt", "text/plain")
    with pytest.raises(ItemRejected, match=r"uploading notes\.txt.*HTTP 400"):
        target.upload(asset_of(notes))
    if server.fake is not None:
        assert server.fake.rejected == ["POST /api/assets: Unsupported file type notes.txt"]
        server.fake.rejected.clear()
    result = target.upload(photo(unique_tag()))  # the next item goes on
    _created(server, result.remote_id)
    assert result.status is UploadStatus.CREATED
