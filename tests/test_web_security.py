"""Issue 11: who may use the page. Loopback only by default (client address and Host
checked); any other bind needs the token; a POST without the CSRF token is refused; no
secret appears in a page, a log or an error."""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import stat
import subprocess
import warnings
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from importer.config import Settings, WebSettings
from importer.state import State
from importer.web.app import create_app
from importer.web.security import COOKIE, Access, resolve_token
from tests.conftest import cli_command
from tests.web_helpers import serving

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

TOKEN = "tok-" + "s3cr3t" * 4
API_KEY = "immich-key-do-not-show-0123456789"


@pytest.fixture
def state_file(tmp_path: Path) -> Path:
    path = tmp_path / "state" / "state.sqlite"
    with State(path) as state:
        state.add_run({"target": "folder:/lib", "started": "2026-01-01T00:00:00+00:00",
                       "finished": "2026-01-01T00:01:00+00:00", "counts": {"failed": 1},
                       "bytes_sent": 10}, problems=[{"file": "a.zip:IMG_1.jpg",
                                                     "outcome": "failed", "reason": "boom"}])
    plans = path.parent / "reclaim"
    plans.mkdir()
    (plans / "plan-20260101T000000Z.json").write_text(json.dumps({
        "id": "p1", "created": "2026-01-01", "target": "immich:http://127.0.0.1:9/",
        "state": "planned", "older_than_days": 30,
        "items": [{"google_url": "https://photos.google.com/photo/a", "file": "IMG_1.jpg",
                   "taken_at": "2020-01-02T03:04:05+00:00", "decision": "trash",
                   "reason": "verified", "identity": "a", "size": 5, "title": "IMG_1.jpg",
                   "gallery_ref": "6f1c1a52-0b3e-4a43-9d39-3c1b1c7e2f10"}]}), encoding="utf-8")
    return path


def client(state_file: Path, token: str | None, host: str,
           base: str = "http://127.0.0.1") -> TestClient:
    settings = Settings(state=str(state_file))
    settings = replace(settings, immich=replace(settings.immich, api_key=API_KEY))
    app = create_app(state_file, settings, Access(token, "csrf-123"))
    return TestClient(app, base_url=base, client=(host, 50000), follow_redirects=False)


def plan_file(state_file: Path) -> Path:
    return state_file.parent / "reclaim" / "plan-20260101T000000Z.json"


def approve_body() -> dict[str, object]:
    return {"plan": "p1", "scope": "all", "key": "", "approved": True}


def test_loopback_mode_refuses_other_clients_and_foreign_host_names(state_file: Path) -> None:
    assert client(state_file, None, "127.0.0.1").get("/").status_code == 200
    assert client(state_file, None, "::1").get("/problems").status_code == 200
    for outsider in ("192.0.2.7", "10.1.2.3", "testclient"):
        answer = client(state_file, None, outsider).get("/")
        assert answer.status_code == 403 and "this computer" in answer.text
    rebinding = client(state_file, None, "127.0.0.1", base="http://evil.example:8765")
    assert rebinding.get("/").status_code == 403


def test_token_mode_refuses_requests_without_the_token(state_file: Path) -> None:
    for host in ("192.0.2.7", "127.0.0.1"):
        web = client(state_file, TOKEN, host, base="http://photos.lan:8765")
        assert web.get("/").status_code == 401
        assert web.get("/reclaim", params={"token": "wrong"}).status_code == 401
        assert web.get("/thumbs/p1/0").status_code == 401
        bearer = web.get("/", headers={"Authorization": f"Bearer {TOKEN}"})
        assert bearer.status_code == 200 and TOKEN not in bearer.text
        first = web.get("/reclaim", params={"token": TOKEN, "x": "1"})
        assert first.status_code == 303 and first.headers["location"] == "/reclaim?x=1"
        cookie = first.cookies[COOKIE]
        assert cookie != TOKEN and TOKEN not in first.headers["set-cookie"]
        assert "httponly" in first.headers["set-cookie"].lower()
        web.cookies.set(COOKIE, cookie)
        page = web.get("/reclaim")
        assert page.status_code == 200 and TOKEN not in page.text


def test_a_post_without_the_csrf_token_is_refused(state_file: Path) -> None:
    web = client(state_file, None, "127.0.0.1")
    before = plan_file(state_file).read_bytes()
    for headers in ({}, {"X-CSRF-Token": "guess"},
                    {"X-CSRF-Token": "csrf-123", "Origin": "http://evil.example"}):
        answer = web.post("/reclaim/approve", json=approve_body(), headers=headers)
        assert answer.status_code == 403
        assert web.post("/reclaim/apply", json={"plan": "p1"}, headers=headers
                        ).status_code == 403
    assert plan_file(state_file).read_bytes() == before
    answer = web.post("/reclaim/approve", json=approve_body(),
                      headers={"X-CSRF-Token": "csrf-123", "Origin": "http://127.0.0.1"})
    assert answer.status_code == 200 and answer.json()["changed"] == [0]
    assert json.loads(plan_file(state_file).read_text())["items"][0]["approved"] is True
    assert web.get("/reclaim/approve").status_code == 405  # state changes only by POST


def test_no_secret_in_pages_logs_or_errors(state_file: Path,
                                           caplog: pytest.LogCaptureFixture) -> None:
    """The plan's gallery is unreachable: the preview fails, the page says why, and neither
    the API key nor the token shows anywhere."""
    caplog.set_level(logging.DEBUG)
    web = client(state_file, TOKEN, "192.0.2.7")
    auth = {"Authorization": f"Bearer {TOKEN}"}
    bodies = [web.get(path, headers=auth) for path in
              ("/", "/problems", "/problems.csv", "/thumbs/p1/0", "/reclaim",
               "/fragments/apply", "/fragments/imports", "/api/progress", "/nowhere")]
    bodies.append(web.post("/reclaim/apply", json={"plan": "p1"},
                           headers={**auth, "X-CSRF-Token": "csrf-123"}))
    assert bodies[3].headers["content-type"].startswith("image/svg+xml")
    assert "sandbox" in bodies[3].headers["content-security-policy"]
    reclaim = bodies[4].text
    assert "Previews are not available" in reclaim and "127.0.0.1:9" in reclaim
    for answer in bodies:
        assert API_KEY not in answer.text and TOKEN not in answer.text
        assert answer.headers["x-content-type-options"] == "nosniff"
    assert API_KEY not in caplog.text and TOKEN not in caplog.text
    assert "previews from immich" in caplog.text


def test_a_token_is_generated_once_and_kept_private(tmp_path: Path) -> None:
    web = replace(WebSettings(), bind="0.0.0.0")
    token, origin = resolve_token(web, tmp_path, env={})
    assert token and token in origin  # printed once, when it is made
    saved = tmp_path / "web-token"
    assert saved.read_text().strip() == token and stat.S_IMODE(saved.stat().st_mode) == 0o600
    again, origin = resolve_token(web, tmp_path, env={})
    assert again == token and token not in origin
    assert resolve_token(web, tmp_path, env={"GPI_WEB_TOKEN": "mine"})[0] == "mine"
    assert resolve_token(WebSettings(), tmp_path, env={})[0] is None  # loopback


def test_a_real_server_bound_to_all_addresses_wants_the_token(state_file: Path) -> None:
    with serving(state_file, bind="0.0.0.0", token=TOKEN) as handle:
        port = handle.url.rsplit(":", 1)[1].strip("/")
        for host in _local_addresses():
            url = f"http://{host}:{port}/"
            assert httpx.get(url).status_code == 401
            good = httpx.get(url, headers={"Authorization": f"Bearer {TOKEN}"})
            assert good.status_code == 200


def _local_addresses() -> list[str]:
    """127.0.0.1 and, where the machine has one, an address that is not loopback."""
    found = ["127.0.0.1"]
    done = subprocess.run(["hostname", "-I"], capture_output=True, text=True, check=False)
    found += [a for a in done.stdout.split() if re.fullmatch(r"[\d.]+", a)][:1]
    return found


@pytest.fixture
def served_cli(state_file: Path) -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen(cli_command("serve", "--state", state_file, "--port", "0"),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    yield process
    if process.poll() is None:
        process.kill()
        process.wait()


def test_serve_command_prints_its_address_and_stops_on_ctrl_c(
        served_cli: subprocess.Popen[str]) -> None:
    assert served_cli.stdout is not None
    line = served_cli.stdout.readline()
    url = re.search(r"http://127\.0\.0\.1:\d+/", line)
    assert url, line
    assert httpx.get(url.group(0)).status_code == 200
    served_cli.send_signal(signal.SIGINT)
    assert served_cli.wait(timeout=20) == 0
    assert "Traceback" not in (served_cli.stderr.read() if served_cli.stderr else "")


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(port=st.one_of(st.integers(max_value=-1), st.integers(min_value=65536)),
       bind=st.sampled_from([None, "127.0.0.1", "0.0.0.0"]))
def test_a_port_out_of_range_is_one_line_naming_it(
        state_file: Path, capsys: pytest.CaptureFixture[str], port: int,
        bind: str | None) -> None:
    """`serve --port` (and `web.port`) outside 0..65535: one line, exit 2, no token made."""
    from importer.cli import main

    capsys.readouterr()
    extra = ["--bind", bind] if bind else []
    assert main(["serve", "--state", str(state_file), f"--port={port}", *extra]) == 2
    err = capsys.readouterr().err
    assert "`web.port`" in err and err.count("\n") == 1 and "internal error" not in err, err
    assert not (state_file.parent / "web-token").exists()
