"""`auth google`: the console flow (a headless server over SSH) and the loopback flow, both
against the fake consent page and token endpoint; the token is saved owner-only, loaded,
refreshed, and a refused one says to run `auth google` again."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import threading
import webbrowser
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from importer.config import ConfigError, GoogleSettings, Settings
from importer.google_auth import (
    SCOPE,
    GoogleAuthError,
    TokenKeeper,
    authorize,
    load_credentials,
    read_client_config,
    token_path,
)
from tests.conftest import REPO, CliResult, cli_command
from tests.fakes.google_picker import FakeGooglePhotos


@pytest.fixture
def fake() -> Iterator[FakeGooglePhotos]:
    with FakeGooglePhotos() as server:
        assert isinstance(server, FakeGooglePhotos)
        yield server


def settings_for(tmp_path: Path) -> Settings:
    return Settings(google=GoogleSettings(token_file=str(tmp_path / "keys" / "token.json")))


def config_for(tmp_path: Path) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(f"google:\n  token_file: {tmp_path / 'keys' / 'token.json'}\n")
    return path


def consent(auth_url: str) -> str:
    """What the user's browser does: open the consent page, get sent to the redirect."""
    answer = httpx.get(auth_url, follow_redirects=False)
    assert answer.status_code == 302, answer.text
    return answer.headers["Location"]


def check_saved(path: Path, fake: FakeGooglePhotos) -> dict[str, Any]:
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    saved: dict[str, Any] = json.loads(path.read_text())
    assert saved["refresh_token"] in fake.oauth.refresh_tokens
    assert saved["scopes"] == [SCOPE] and saved["client_id"] == fake.oauth.client_id
    return saved


def run_console(fake: FakeGooglePhotos, tmp_path: Path, answer: Callable[[str], str]
                ) -> subprocess.CompletedProcess[str]:
    """`auth google --console` as a separate process: read the link it prints, play the
    user in a browser elsewhere, paste back what `answer` makes of the redirect."""
    command = cli_command("auth", "google", "--client-secrets",
                          fake.client_file(tmp_path / "client.json"), "--console",
                          "--config", config_for(tmp_path))
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1", "COLUMNS": "500"}
    with subprocess.Popen(command, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True) as process:
        assert process.stdout is not None and process.stdin is not None
        printed = []
        for line in process.stdout:
            printed.append(line)
            if line.startswith(f"{fake.url}/o/oauth2/auth?"):
                break
        else:
            pytest.fail("no authorization link printed: " + "".join(printed))
        link = line.strip()
        out, err = process.communicate(answer(consent(link)) + "\n", timeout=60)
    return subprocess.CompletedProcess(command, process.returncode, "".join(printed) + out, err)


def test_console_flow_saves_an_owner_only_token(tmp_path: Path, fake: FakeGooglePhotos) -> None:
    done = run_console(fake, tmp_path, answer=lambda redirect: redirect)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Authorized" in done.stdout
    check_saved(tmp_path / "keys" / "token.json", fake)
    assert fake.oauth.grants == {"authorization_code": 1}  # PKCE verifier and all


def test_console_flow_accepts_the_bare_code(tmp_path: Path, fake: FakeGooglePhotos) -> None:
    def only_code(redirect: str) -> str:
        return httpx.URL(redirect).params["code"]

    done = run_console(fake, tmp_path, answer=only_code)
    assert done.returncode == 0, done.stdout + done.stderr
    check_saved(tmp_path / "keys" / "token.json", fake)


@pytest.mark.parametrize(("case", "expected"), [
    ("deny", "did not authorize access (access_denied)"),
    ("other state", "belongs to another authorization attempt"),
    ("no code", "has no code="),
    ("reused code", "Google refused the authorization (invalid_grant"),
])
def test_console_flow_refusals_are_one_line(tmp_path: Path, fake: FakeGooglePhotos,
                                            case: str, expected: str) -> None:
    fake.oauth.consent = "deny" if case == "deny" else "allow"

    def answer(redirect: str) -> str:
        url = httpx.URL(redirect)
        if case == "other state":
            return str(url.copy_set_param("state", "forged"))
        if case == "no code":
            return str(url.copy_remove_param("code"))
        if case == "reused code":  # someone else exchanged it first
            fake.oauth.codes.clear()
        return redirect

    done = run_console(fake, tmp_path, answer)
    assert done.returncode == 2
    assert expected in done.stderr and done.stderr.strip().count("\n") == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "keys" / "token.json").exists()


class FakeBrowser:
    """Stands in for `webbrowser`: follows the consent page's redirect to the loopback
    server, from another thread, like a real browser would."""

    def __init__(self) -> None:
        self.opened: list[str] = []
        self.threads: list[threading.Thread] = []

    def open(self, url: str, new: int = 0, autoraise: bool = True) -> bool:
        self.opened.append(url)

        def visit() -> None:
            httpx.get(consent(url), timeout=10)

        thread = threading.Thread(target=visit, daemon=True)
        thread.start()
        self.threads.append(thread)
        return True


def test_loopback_flow_through_the_command_line(
        tmp_path: Path, fake: FakeGooglePhotos, monkeypatch: pytest.MonkeyPatch,
        cli: Callable[..., CliResult]) -> None:
    browser = FakeBrowser()
    monkeypatch.setattr(webbrowser, "get", lambda using=None: browser)
    result = cli("auth", "google", "--client-secrets", fake.client_file(tmp_path / "c.json"),
                 "--config", config_for(tmp_path))
    assert result.code == 0, result.out + result.err
    assert len(browser.opened) == 1
    link = httpx.URL(browser.opened[0])
    assert link.params["redirect_uri"].startswith("http://localhost:")
    assert link.params["access_type"] == "offline" and link.params["scope"] == SCOPE
    check_saved(tmp_path / "keys" / "token.json", fake)


def test_saved_token_loads_and_refreshes(tmp_path: Path, fake: FakeGooglePhotos) -> None:
    path, refresh = fake.token_file(tmp_path / "token.json", lifetime=-10)
    path.chmod(0o644)  # a copy that lost its permissions
    google = GoogleSettings(token_file=str(path), token_uri=f"{fake.url}/token")
    keeper = TokenKeeper(load_credentials(google))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    token = keeper.bearer()  # expired: refreshed with the refresh token
    assert fake.oauth.grants == {"refresh_token": 1} and keeper.refreshes == 1
    assert fake.oauth.access_tokens[token].refresh_token == refresh
    assert keeper.bearer() == token and keeper.refreshes == 1  # still valid: no refresh
    fake.oauth.expire_access_tokens()
    fresh = keeper.refreshed(token)  # refused by a server: refreshed once
    assert fresh != token and keeper.refreshed(token) == fresh and keeper.refreshes == 2


def test_revoked_refresh_token_says_run_auth_again(tmp_path: Path,
                                                   fake: FakeGooglePhotos) -> None:
    path, refresh = fake.token_file(tmp_path / "token.json", lifetime=-10)
    fake.oauth.revoke(refresh)
    keeper = TokenKeeper(load_credentials(GoogleSettings(token_file=str(path))))
    with pytest.raises(GoogleAuthError) as caught:
        keeper.bearer()
    message = str(caught.value)
    assert "invalid_grant" in message and "auth google" in message and "\n" not in message


@pytest.mark.parametrize(("content", "expected"), [
    (None, "no Google authorization at"),
    ("{not json", "cannot read the Google token"),
    (json.dumps({"token": "x"}), "not a complete Google token"),
    (json.dumps({"refresh_token": "r", "client_id": "c", "client_secret": "s",
                 "scopes": ["https://www.googleapis.com/auth/photoslibrary"]}),
     "does not cover the Photos Picker"),
])
def test_unusable_token_files(tmp_path: Path, content: str | None, expected: str) -> None:
    path = tmp_path / "token.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(GoogleAuthError, match=expected) as caught:
        load_credentials(GoogleSettings(token_file=str(path)))
    assert "auth google" in str(caught.value)


@pytest.mark.parametrize(("data", "expected"), [
    ({"web": {"client_id": "a", "client_secret": "b"}}, "web application client"),
    ({"installed": {"client_id": "a"}}, "lacks client_secret"),
    ([1, 2], "not an OAuth client file"),
    ("not json", "not JSON"),
])
def test_client_files_that_will_not_do(tmp_path: Path, data: Any, expected: str) -> None:
    path = tmp_path / "client.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    with pytest.raises(ConfigError, match=expected):
        read_client_config(path, GoogleSettings())


def test_plain_http_endpoints_only_on_loopback(tmp_path: Path) -> None:
    path = tmp_path / "client.json"
    path.write_text(json.dumps({"installed": {"client_id": "a", "client_secret": "b"}}))
    with pytest.raises(ConfigError, match="must be https"):
        read_client_config(path, GoogleSettings(token_uri="http://example.com/token"))
    config = read_client_config(path, GoogleSettings(token_uri="http://127.0.0.1:9/token"))
    assert config["installed"]["token_uri"] == "http://127.0.0.1:9/token"
    assert config["installed"]["auth_uri"] == "https://accounts.google.com/o/oauth2/auth"


def test_token_lives_beside_the_state_unless_set(tmp_path: Path) -> None:
    env = {"XDG_STATE_HOME": str(tmp_path / "st")}
    assert token_path(GoogleSettings(), env) == tmp_path / "st" / "gphotos-importer" / \
        "google-token.json"
    assert token_path(GoogleSettings(token_file="~/t.json"), env) == Path.home() / "t.json"


def test_no_refresh_token_is_an_error(tmp_path: Path, fake: FakeGooglePhotos) -> None:
    """Without offline access Google sends no refresh token: imports could not go on."""
    original = fake.oauth.consent_page

    def online_only(request: Any) -> Any:
        request.query["access_type"] = ["online"]
        return original(request)

    fake.oauth.consent_page = online_only  # type: ignore[method-assign]
    client = fake.client_file(tmp_path / "client.json")
    answers: list[str] = []

    def read_line() -> str:
        return answers[0]

    class Out:
        def print(self, text: str = "", **_: Any) -> None:
            if text.startswith(f"{fake.url}/o/oauth2/auth?"):
                answers.append(consent(text))

    with pytest.raises(GoogleAuthError, match="no refresh token"):
        authorize(client, settings_for(tmp_path), Out(), console=True,  # type: ignore[arg-type]
                  port=None, open_browser=False, read_line=read_line)
