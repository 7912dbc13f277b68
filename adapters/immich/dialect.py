"""What differs between the Immich versions we talk to, decided once from the server version.

Immich v3.0.0 removed `deviceAssetId`/`deviceId` from uploads (required up to v2.7) and added
an exact-name filter to `GET /albums`; v2 lists every album instead (with their assets unless
told not to). It also turned the upload's `duration` from a string into milliseconds: we
never send it (the server measures videos itself), so that difference cannot bite.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

DEVICE_ID = "gphotos-importer"

MIN_VERSION = (2, 4, 0)
MIN_VERSION_WHY = (
    "from v2.4.0 on, dates, places and captions set through the API are kept; older "
    "servers overwrite them with what they read from the file a moment after the upload"
)


@dataclass(frozen=True, order=True)
class Version:
    major: int
    minor: int
    patch: int

    def __str__(self) -> str:
        return f"v{self.major}.{self.minor}.{self.patch}"


def parse_version(body: Any) -> Version | None:
    """`GET /server/version`'s answer, or None when it is not Immich's shape."""
    if not isinstance(body, dict):
        return None
    parts = [body.get(k) for k in ("major", "minor", "patch")]
    if not all(isinstance(p, int) and not isinstance(p, bool) and p >= 0 for p in parts):
        return None
    major, minor, patch = (int(p) for p in parts)  # type: ignore[arg-type]
    return Version(major, minor, patch)


def too_old(version: Version) -> bool:
    return (version.major, version.minor, version.patch) < MIN_VERSION


@dataclass(frozen=True)
class Dialect:
    version: Version

    @property
    def needs_device_fields(self) -> bool:
        """v2 rejects an upload without `deviceAssetId`/`deviceId`; v3 drops them."""
        return self.version.major < 3

    @property
    def album_name_filter(self) -> bool:
        """v3 finds albums by exact name; v2 can only list them all."""
        return self.version.major >= 3

    def device_fields(self, device_asset_id: str) -> list[tuple[str, str]]:
        if not self.needs_device_fields:
            return []
        return [("deviceAssetId", device_asset_id), ("deviceId", DEVICE_ID)]

    def album_detail_params(self) -> dict[str, str]:
        """v2's album answer embeds every asset unless asked not to; v3 never does."""
        return {"withoutAssets": "true"} if self.needs_device_fields else {}
