"""Gallery adapters, chosen by the target's scheme (`folder:`, `immich:`, `photoprism:`)."""

from __future__ import annotations

from pathlib import Path

from adapters.base import Gallery, TargetUnavailable, Thumbnails
from importer.config import ConfigError, Settings

SCHEMES = ("folder", "immich", "photoprism")


def split_target(spec: str) -> tuple[str, str]:
    scheme, sep, rest = spec.partition(":")
    if not sep or scheme not in SCHEMES or not rest:
        raise ConfigError(
            f"--to {spec!r}: unknown target; use folder:DIR, immich:URL or photoprism:URL"
        )
    return scheme, rest


def target_key(spec: str) -> str:
    """The canonical name under which the state records a target (no I/O)."""
    scheme, rest = split_target(spec)
    if scheme == "folder":
        return f"folder:{Path(rest).expanduser().absolute()}"
    if scheme == "immich":
        from adapters.immich import canonical_url

        return f"immich:{canonical_url(rest)}"
    return f"{scheme}:{rest.rstrip('/')}"


def open_target(spec: str, settings: Settings) -> Gallery:
    scheme, rest = split_target(spec)
    if scheme == "folder":
        from adapters.folder.target import FolderTarget

        return FolderTarget(Path(rest).expanduser())
    if scheme == "immich":
        from adapters.immich.target import ImmichTarget

        return ImmichTarget(rest, settings.immich.api_key,
                            workers=settings.workers, timeout=settings.immich.timeout,
                            adaptive=settings.immich.adaptive)
    if scheme == "photoprism":
        from adapters.photoprism.client import Credentials
        from adapters.photoprism.target import PhotoPrismTarget

        pp = settings.photoprism
        if not rest.startswith(("http://", "https://")):
            raise ConfigError(f"--to {spec}: give the server's URL, e.g. "
                              "photoprism:https://photos.example.com")
        return PhotoPrismTarget(rest, Credentials(pp.token, pp.username, pp.password),
                                batch=pp.batch)
    raise TargetUnavailable(f"--to {spec}: the {scheme} adapter is not available in this version")


def open_thumbnails(spec: str, settings: Settings) -> Thumbnails:
    """Read-only previews of a target's items (the review page proxies them)."""
    scheme, rest = split_target(spec)
    if scheme == "folder":
        from adapters.folder.thumbnails import FolderThumbnails

        return FolderThumbnails(Path(rest))
    if scheme == "immich":
        from adapters.immich.thumbnails import ImmichThumbnails

        return ImmichThumbnails(rest, settings.immich.api_key)
    from adapters.photoprism.client import Credentials
    from adapters.photoprism.thumbnails import PhotoPrismThumbnails

    pp = settings.photoprism
    return PhotoPrismThumbnails(rest, Credentials(pp.token, pp.username, pp.password))
