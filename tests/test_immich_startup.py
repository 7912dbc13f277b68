"""Start-up checks: each way an Immich target can be unusable gets its own one-line error,
before anything is imported, and the command exits with 2."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from adapters.base import AuthError, TargetUnavailable
from adapters.immich.target import ImmichTarget
from tests.conftest import SAMPLE, CliResult
from tests.fakes.immich import FakeImmich


@pytest.fixture
def fake() -> Iterator[FakeImmich]:
    with FakeImmich("v3") as server:
        assert isinstance(server, FakeImmich)
        yield server


@pytest.fixture
def not_immich() -> Iterator[str]:
    """Some other web app: answers every path with a page."""

    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b"<html><body>Welcome to my NAS</body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_unreachable() -> None:
    with pytest.raises(TargetUnavailable, match="unreachable"):
        ImmichTarget("http://127.0.0.1:9", "key")


def test_not_immich(not_immich: str) -> None:
    with pytest.raises(TargetUnavailable, match="does not look like an Immich server"):
        ImmichTarget(not_immich, "key")


def test_too_old() -> None:
    old = FakeImmich("v2", version=(2, 3, 1))
    with old, pytest.raises(TargetUnavailable, match=r"v2\.3\.1, too old.*v2\.4\.0"):
        ImmichTarget(old.url, old.api_key)


def test_key_missing_or_rejected(fake: FakeImmich) -> None:
    with pytest.raises(AuthError, match="no Immich API key; set IMMICH_API_KEY"):
        ImmichTarget(fake.url, None)
    with pytest.raises(AuthError, match=r"rejected the API key \(Invalid API key\)"):
        ImmichTarget(fake.url, "not-a-key")


def test_missing_permissions_are_named(fake: FakeImmich) -> None:
    key = fake.add_key(fake.user, ("asset.upload", "asset.read", "album.read", "user.read",
                                   "albumAsset.create", "album.update"))
    with pytest.raises(AuthError, match=r"lacks the permission\(s\) asset\.update, "
                                        r"album\.create;"):
        ImmichTarget(fake.url, key)
    enough = fake.add_key(fake.user, ("asset.upload", "asset.read", "asset.update", "album.read",
                                      "album.create", "album.update", "albumAsset.create",
                                      "user.read"))
    ImmichTarget(fake.url, enough).close()


@pytest.mark.parametrize("dialect", ["v3", "v2"])
def test_dialect_follows_the_server_version(dialect: str) -> None:
    with FakeImmich(dialect) as server:
        assert isinstance(server, FakeImmich)
        target = ImmichTarget(server.url + "/api/", server.api_key)
        assert target.target == f"immich:{server.url}"
        assert target.session.dialect.needs_device_fields is (dialect == "v2")
        assert server.count() == 2  # version, key; the user only when albums need it
        assert target.albums.user_id() == server.user.id
        target.close()


def test_cli_exits_2_with_one_line(tmp_path: Path, fake: FakeImmich,
                                   cli: Callable[..., CliResult],
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMMICH_API_KEY", "revoked")
    state = tmp_path / "state.sqlite"
    result = cli("import", SAMPLE, "--to", f"immich:{fake.url}", "--state", state)
    assert result.code == 2
    assert result.err.strip().count("\n") == 0
    assert "rejected the API key" in result.err
    assert fake.count("POST") == 0
    bad_url = cli("import", SAMPLE, "--to", "immich:photos.local:2283", "--state", state)
    assert bad_url.code == 2 and "http:// or https://" in bad_url.err


def test_timeout_setting_is_validated(tmp_path: Path) -> None:
    from importer.config import ConfigError, load_file

    good = tmp_path / "good.yaml"
    good.write_text("immich:\n  timeout: 5\n", encoding="utf-8")
    assert load_file(good, {}).immich.timeout == 5.0
    for bad in ("'5'", "0", "-1"):
        path = tmp_path / "bad.yaml"
        path.write_text(f"immich:\n  timeout: {bad}\n", encoding="utf-8")
        with pytest.raises(ConfigError, match=r"immich\.timeout"):
            load_file(path, {})
