"""The fake Immich's endpoints (the ones the importer and its tests use)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tests.fakes.immich_model import Album, Asset, new_id, parse_instant
from tests.fakes.previews import render
from tests.fakes.server import Request, Response

if TYPE_CHECKING:
    from tests.fakes.immich import FakeImmich

SEARCH_PAGE = 250


def register(fake: FakeImmich) -> None:
    _server(fake)
    _uploads(fake)
    _assets(fake)
    _bulk_update(fake)
    _albums(fake)
    _album_changes(fake)
    _search(fake)


def _server(fake: FakeImmich) -> None:
    @fake.route("GET", "/server/version")
    def version(request: Request) -> Response:
        major, minor, patch = fake.version
        body: dict[str, Any] = {"major": major, "minor": minor, "patch": patch}
        if not fake.v2:
            body["prerelease"] = None
        return Response(200, body)

    @fake.route("GET", "/server/ping")
    def ping(request: Request) -> Response:
        return Response(200, {"res": "pong"})

    @fake.route("GET", "/users/me")
    def me(request: Request) -> Response:
        return Response(200, fake._user(request).admin_dto())

    @fake.route("GET", "/api-keys/me")
    def my_key(request: Request) -> Response:
        return Response(200, request.auth.dto())


def _uploads(fake: FakeImmich) -> None:
    from tests.fakes.immich import to_hex

    @fake.route("POST", "/assets/bulk-upload-check")
    def bulk_check(request: Request) -> Response:
        user = fake._user(request)
        results = []
        with fake.lock:
            for item in request.json["assets"]:
                asset = fake.find_checksum(user.id, to_hex(item["checksum"]))
                if asset is None:
                    results.append({"id": item["id"], "action": "accept"})
                else:
                    results.append({"id": item["id"], "action": "reject",
                                    "reason": "duplicate", "assetId": asset.id,
                                    "isTrashed": asset.deleted_at is not None})
        return Response(200, {"results": results})

    @fake.route("POST", "/assets")
    def upload(request: Request) -> Response:
        user = fake._user(request)
        with fake.lock:
            header = request.headers.get("x-immich-checksum")
            fake.checksum_headers.append(header)
            fake.form_orders.append(list(request.form_order))
            early = fake.find_checksum(user.id, to_hex(header)) if header else None
            if early is not None:  # answered before the body is even looked at
                fake.discard(request)
                return Response(200, {"id": early.id, "status": "duplicate"})
            problem = fake.file_type_problem(request)
            if problem:
                fake.discard(request)
                fake.rejected.append(f"POST {request.path}: {problem}")
                return fake._error(400, problem)
            (file,) = request.files("assetData")
            existing = fake.find_checksum(user.id, file.sha1)
            if existing is not None:  # the checksum constraint, answered as a success
                fake.discard(request)
                return Response(200, {"id": existing.id, "status": "duplicate"})
            return fake.store(request, user)


def _assets(fake: FakeImmich) -> None:
    @fake.route("GET", "/assets/{id}")
    def get_asset(request: Request) -> Response:
        with fake.lock:
            asset = fake._asset(request, request.params["id"], "asset.read")
            if isinstance(asset, Response):
                return asset
            return Response(200, asset.dto(fake.v2))

    @fake.route("GET", "/assets/{id}/original")
    def original(request: Request) -> Response:
        with fake.lock:
            asset = fake._asset(request, request.params["id"], "asset.download")
            if isinstance(asset, Response):
                return asset
            return Response(200, raw=asset.path.read_bytes())

    @fake.route("GET", "/assets/{id}/thumbnail")
    def thumbnail(request: Request) -> Response:
        """`thumbnail` (the default) is WebP 250 px, `preview` JPEG 1440 px, as Immich's
        default image settings make them."""
        with fake.lock:
            asset = fake._asset(request, request.params["id"], "asset.view")
            if isinstance(asset, Response):
                return asset
            path = asset.path
        size = (request.query.get("size") or ["thumbnail"])[0]
        if size not in ("thumbnail", "preview"):
            return fake._error(400, "size must be thumbnail or preview here")
        fmt, side, mime = (("WEBP", 250, "image/webp") if size == "thumbnail"
                           else ("JPEG", 1440, "image/jpeg"))
        return Response(200, raw=render(path, side, fmt), headers={"Content-Type": mime})

    @fake.route("PUT", "/assets/{id}")
    def update_asset(request: Request) -> Response:
        user = fake._user(request)
        with fake.lock:
            asset = fake._asset(request, request.params["id"], "asset.update")
            if isinstance(asset, Response):
                return asset
            problem = _apply_update(fake, user.id, asset, request.json or {})
            if problem:
                return fake._error(400, problem)
            return Response(200, asset.dto(fake.v2))

    @fake.route("DELETE", "/assets")
    def delete_assets(request: Request) -> Response:
        user = fake._user(request)
        with fake.lock:
            for asset_id in request.json["ids"]:
                asset = fake.assets.get(asset_id)
                if asset is None or asset.owner_id != user.id:
                    return fake._error(400, "Not found or no asset.delete access")
                if request.json.get("force"):
                    del fake.assets[asset_id]
                    fake._by_checksum.pop((user.id, asset.checksum), None)
                else:
                    asset.deleted_at = fake.now()
        return Response(204)


def _bulk_update(fake: FakeImmich) -> None:
    @fake.route("PUT", "/assets")
    def update_assets(request: Request) -> Response:
        """Immich checks access to every id first: one foreign or unknown id refuses all."""
        user = fake._user(request)
        body = dict(request.json or {})
        ids = body.pop("ids")
        with fake.lock:
            assets = [fake.assets.get(i) for i in ids]
            if any(a is None or a.owner_id != user.id for a in assets):
                return fake._error(400, "Not found or no asset.update access")
            for asset in assets:
                assert asset is not None
                problem = _apply_update(fake, user.id, asset, body)
                if problem:
                    return fake._error(400, problem)
        return Response(204)


def _apply_update(fake: FakeImmich, user_id: str, asset: Asset, body: dict[str, Any]) -> str:
    """`PUT /assets/{id}`: flags at once; date, place and caption locked against extraction."""
    if "livePhotoVideoId" in body:
        video_id = body["livePhotoVideoId"]
        if video_id is not None:
            problem = fake.link_problem(fake.users[user_id], video_id)
            if problem:
                return problem
            fake.hide_motion(video_id)
        asset.live_photo_video_id = video_id
    if "isFavorite" in body:
        asset.is_favorite = body["isFavorite"]
    if "visibility" in body:
        asset.visibility = body["visibility"]
    if "dateTimeOriginal" in body:
        try:
            moment, zone = parse_instant(body["dateTimeOriginal"])
        except ValueError:
            return "dateTimeOriginal must be a valid ISO 8601 date"
        asset.exif["dateTimeOriginal"] = asset.file_created_at = moment
        asset.time_zone = zone
        asset.locked.add("dateTimeOriginal")
    for name in ("latitude", "longitude", "description"):
        if name in body:
            asset.exif[name] = body[name]
            asset.locked.add(name)
    asset.updated_at = fake.now()
    return ""


def _albums(fake: FakeImmich) -> None:
    def visible(request: Request) -> list[Album]:
        user = fake._user(request)
        return [a for a in fake.albums.values() if a.owner.id == user.id]

    @fake.route("GET", "/albums")
    def list_albums(request: Request) -> Response:
        name = request.query.get("name", [None])[-1]
        asset_id = request.query.get("assetId", [None])[-1]
        with fake.lock:
            albums = [a for a in visible(request)
                      if (name is None or fake.v2 or a.name == name)
                      and (asset_id is None or asset_id in a.asset_ids)]
            return Response(200, [a.dto(fake.v2) for a in albums])

    @fake.route("POST", "/albums")
    def create_album(request: Request) -> Response:
        body = request.json
        with fake.lock:
            album = Album(new_id(), fake._user(request), body["albumName"],
                          body.get("description", ""))
            for asset_id in body.get("assetIds", []):
                if fake.assets.get(asset_id) and asset_id not in album.asset_ids:
                    album.asset_ids.append(asset_id)
            fake.albums[album.id] = album
            return Response(201, album.dto(fake.v2))

    @fake.route("GET", "/albums/{id}")
    def get_album(request: Request) -> Response:
        with fake.lock:
            album = fake._album(request, request.params["id"], "album.read")
            if isinstance(album, Response):
                return album
            assets = None
            if fake.v2 and request.query.get("withoutAssets", ["false"])[-1] != "true":
                assets = [fake.assets[i].dto(True) for i in album.asset_ids]
            return Response(200, album.dto(fake.v2, assets))


def _album_changes(fake: FakeImmich) -> None:
    @fake.route("PATCH", "/albums/{id}")
    def update_album(request: Request) -> Response:
        with fake.lock:
            album = fake._album(request, request.params["id"], "album.update")
            if isinstance(album, Response):
                return album
            album.name = request.json.get("albumName", album.name)
            album.description = request.json.get("description", album.description)
            album.updated_at = fake.now()
            return Response(200, album.dto(fake.v2))

    @fake.route("DELETE", "/albums/{id}")
    def delete_album(request: Request) -> Response:
        with fake.lock:
            album = fake._album(request, request.params["id"], "album.delete")
            if isinstance(album, Response):
                return album
            del fake.albums[album.id]
            return Response(204)

    @fake.route("PUT", "/albums/{id}/assets")
    def add_assets(request: Request) -> Response:
        user = fake._user(request)
        with fake.lock:
            album = fake._album(request, request.params["id"], "albumAsset.create")
            if isinstance(album, Response):
                return album
            results = []
            for asset_id in request.json["ids"]:
                asset = fake.assets.get(asset_id)
                if asset_id in album.asset_ids:
                    results.append({"id": asset_id, "success": False, "error": "duplicate"})
                elif asset is None or asset.owner_id != user.id:
                    results.append({"id": asset_id, "success": False, "error": "no_permission"})
                else:
                    album.asset_ids.append(asset_id)
                    results.append({"id": asset_id, "success": True})
            return Response(200, results)


def _search(fake: FakeImmich) -> None:
    from tests.fakes.immich import to_hex

    def matches(asset: Asset, query: dict[str, Any]) -> bool:
        visibility = query.get("visibility")
        return bool(
            (query.get("withDeleted") or asset.deleted_at is None)
            and (asset.visibility == visibility if visibility
                 else asset.visibility in ("timeline", "archive"))
            and query.get("id", asset.id) == asset.id
            and ("checksum" not in query or to_hex(query["checksum"]) == asset.checksum)
            and query.get("originalFileName", asset.original_file_name)
            == asset.original_file_name
            and query.get("isFavorite", asset.is_favorite) == asset.is_favorite
            and query.get("type", asset.type) == asset.type
            and all(asset.id in fake.albums[a].asset_ids for a in query.get("albumIds", []))
        )

    @fake.route("POST", "/search/metadata")
    def search(request: Request) -> Response:
        query = request.json or {}
        user = fake._user(request)
        page, size = int(query.get("page", 1)), int(query.get("size", SEARCH_PAGE))
        with fake.lock:
            for album_id in query.get("albumIds", []):  # Immich checks album.read first
                album = fake._album(request, album_id, "album.read")
                if isinstance(album, Response):
                    return album
            found = sorted((a for a in fake.assets.values()
                            if a.owner_id == user.id and matches(a, query)),
                           key=lambda a: (a.file_created_at, a.id), reverse=True)
            items = [a.dto(fake.v2, with_exif=bool(query.get("withExif")))
                     for a in found[(page - 1) * size:page * size]]
        more = page * size < len(found)
        return Response(200, {
            "albums": {"count": 0, "facets": [], "items": [], "total": 0},
            "assets": {"count": len(items), "facets": [], "items": items,
                       "nextPage": str(page + 1) if more else None, "total": len(found)},
        })
