"""The Immich adapter (`immich:URL`)."""

from __future__ import annotations

from urllib.parse import urlsplit

from importer.config import ConfigError


def canonical_url(spec: str) -> str:
    """The server's base address, however it was written: `http://host:2283`, with or
    without a trailing `/` or `/api` (so one server is one key in the state)."""
    url = spec.strip().rstrip("/")
    url = url.removesuffix("/api").rstrip("/")
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # e.g. an unclosed IPv6 bracket
        raise ConfigError(f"--to immich:{spec}: not a valid address ({exc})") from None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"--to immich:{spec}: give Immich's address with http:// or "
                          "https://, e.g. immich:http://photos.local:2283")
    return url
