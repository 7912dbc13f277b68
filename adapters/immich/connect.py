"""Start-up checks: is this Immich, new enough, and does the key allow what an import does?

Each failure is one line naming the cause, raised before the first item is touched, so a
wrong URL or a key without `album.create` stops the run at once instead of failing 10 000
items one by one.
"""

from __future__ import annotations

from dataclasses import dataclass

from adapters.base import AuthError, TargetUnavailable, TransientError
from adapters.http import HttpClient
from adapters.immich.dialect import MIN_VERSION_WHY, Dialect, Version, parse_version, too_old
from adapters.immich.wire import error_for, message_of

REQUIRED_PERMISSIONS = (
    "asset.upload",      # POST /assets, POST /assets/bulk-upload-check
    "asset.read",        # GET /assets/{id} (duplicates, verify)
    "asset.update",      # PUT /assets/{id}: favorite, archive, date, place, caption, live link
    "album.read",        # GET /albums
    "album.create",      # POST /albums
    "album.update",      # PATCH /albums/{id}: an album renamed in Google
    "albumAsset.create", # PUT /albums/{id}/assets
    "user.read",         # GET /users/me: which albums of that name are ours
)
KEY_HELP = "set IMMICH_API_KEY (or IMMICH_API_KEY_FILE) or immich.api_key in the config file"


@dataclass(frozen=True)
class Session:
    dialect: Dialect


def read_version(http: HttpClient, url: str) -> Version:
    answer = http.probe("/server/version")
    try:
        body = answer.json() if answer.status_code == 200 else None
    except ValueError:
        body = None
    version = parse_version(body)
    if version is None:
        raise TargetUnavailable(
            f"{url} does not look like an Immich server (GET /api/server/version answered "
            f"HTTP {answer.status_code}); give the address you open Immich at"
        )
    if too_old(version):
        raise TargetUnavailable(
            f"{url} runs Immich {version}, too old: gphotos-importer needs v2.4.0 or newer "
            f"({MIN_VERSION_WHY})"
        )
    return version


def check_key(http: HttpClient, url: str) -> None:
    """Name every permission the key lacks, at once (`GET /api-keys/me` lists them)."""
    answer = http.request("GET", "/api-keys/me")
    if answer.status_code == 401:
        raise AuthError(f"{url}: Immich rejected the API key ({message_of(answer)}); "
                        f"check it, or {KEY_HELP}")
    if answer.status_code != 200:
        raise error_for(answer, f"{url}: reading the API key's permissions")
    granted = set(answer.json().get("permissions") or ())
    if "all" in granted:
        return
    missing = [p for p in REQUIRED_PERMISSIONS if p not in granted]
    if missing:
        raise AuthError(
            f"{url}: the API key lacks the permission(s) {', '.join(missing)}; edit it in "
            "Immich (Account Settings › API Keys) or create one with: "
            + ", ".join(REQUIRED_PERMISSIONS)
        )


def connect(http: HttpClient, url: str, api_key: str | None) -> Session:
    """Version first (it needs no key, so a wrong URL is named as such), then the key:
    two requests, the whole cost of a run with nothing new besides reading the export."""
    version = read_version(http, url)
    if not api_key:
        raise AuthError(f"{url}: no Immich API key; {KEY_HELP}")
    try:
        check_key(http, url)
    except TransientError as exc:
        raise TargetUnavailable(f"{url}: Immich is not answering properly ({exc})") from None
    except (ValueError, KeyError, AttributeError):
        raise TargetUnavailable(f"{url}: Immich's answers are not what its API describes"
                                ) from None
    return Session(Dialect(version))
