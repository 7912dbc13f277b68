"""Google OAuth for the Picker API: the `auth google` command, the saved token, refresh.

`auth google` runs google-auth-oauthlib's installed-app flow: the consent page redirects
to a loopback port this command listens on. A headless server reached over SSH cannot
receive that redirect, so `--console` prints the link and reads back the address the
browser was sent to (or only its code). Either way the token (with its refresh token and
the OAuth client it belongs to) is written owner-only; imports load it and refresh the
access token by themselves. A refresh token Google no longer accepts (revoked, expired,
password changed) stops the import with one line saying to run `auth google` again.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from google.auth.exceptions import RefreshError, TransportError
from google.auth.transport.requests import Request
from google.oauth2.credentials import Credentials
from google_auth_oauthlib.flow import InstalledAppFlow, WSGITimeoutError
from oauthlib.oauth2.rfc6749.errors import OAuth2Error
from rich.console import Console

from importer.atomicfile import replace_text
from importer.config import ConfigError, GoogleSettings, Settings
from importer.google_errors import AGAIN, GoogleAuthError

__all__ = ["AGAIN", "SCOPE", "GoogleAuthError", "TokenKeeper", "load_credentials"]

SCOPE = "https://www.googleapis.com/auth/photospicker.mediaitems.readonly"
TOKEN_NAME = "google-token.json"
CONSOLE_PORT = 8085
LOOPBACK_TIMEOUT = 600
_LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1"}


def token_path(google: GoogleSettings, env: Mapping[str, str] | None = None) -> Path:
    """`google.token_file`, else beside the per-user state (which a container keeps on
    its data volume), never inside a folder library that may be shared or synced."""
    if google.token_file:
        return Path(google.token_file).expanduser()
    environment = os.environ if env is None else env
    base = environment.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "gphotos-importer" / TOKEN_NAME


def _allow_loopback_http(uri: str) -> None:
    """oauthlib refuses plain http; a token endpoint on this machine (a test double, a
    local proxy) never crosses a network, so it is allowed, and nothing else is."""
    parts = urlsplit(uri)
    if parts.scheme == "https":
        return
    if parts.scheme == "http" and parts.hostname in _LOOPBACK_HOSTS:
        os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")
        return
    raise ConfigError(f"{uri}: Google's endpoints must be https:// (or http on loopback)")


def read_client_config(path: Path, google: GoogleSettings) -> dict[str, Any]:
    """The OAuth client file downloaded from Google Cloud (a "Desktop app" client)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the OAuth client file: {exc.strerror}") from None
    except ValueError:
        raise ConfigError(f"{path}: not JSON; download the OAuth client's JSON file from "
                          "Google Cloud (APIs & Services › Credentials)") from None
    if not isinstance(data, dict) or not isinstance(data.get("installed"), dict):
        kind = "a web application client" if isinstance(data, dict) and "web" in data \
            else "not an OAuth client file"
        raise ConfigError(f"{path}: {kind}; create an OAuth client of type \"Desktop app\"")
    client = dict(data["installed"])
    missing = [k for k in ("client_id", "client_secret") if not client.get(k)]
    if missing:
        raise ConfigError(f"{path}: the OAuth client lacks {', '.join(missing)}")
    client.setdefault("auth_uri", "https://accounts.google.com/o/oauth2/auth")
    client.setdefault("token_uri", "https://oauth2.googleapis.com/token")
    client["auth_uri"] = google.auth_uri or client["auth_uri"]
    client["token_uri"] = google.token_uri or client["token_uri"]
    _allow_loopback_http(client["token_uri"])
    return {"installed": client}


def save_token(path: Path, credentials: Credentials) -> None:
    """Write the token owner-only (0600, folder 0700), atomically: a reader never sees
    half a file and no other user ever can read it, even for a moment."""
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        replace_text(path, credentials.to_json())  # type: ignore[no-untyped-call]
    except OSError as exc:
        raise ConfigError(f"{path}: cannot save the Google token: {exc.strerror}") from None


def load_credentials(google: GoogleSettings) -> Credentials:
    """The saved authorization (not yet refreshed: that happens on first use)."""
    path = token_path(google)
    try:
        if path.stat().st_mode & 0o077:
            path.chmod(0o600)  # a copy that lost its permissions is made private again
        info = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise GoogleAuthError(f"no Google authorization at {path}: run "
                              "`gphotos-importer auth google --client-secrets FILE` first"
                              ) from None
    except (OSError, ValueError) as exc:
        raise GoogleAuthError(f"{path}: cannot read the Google token ({exc}); {AGAIN}") from None
    if not isinstance(info, dict) or not all(
            isinstance(info.get(k), str) for k in ("refresh_token", "client_id", "client_secret")):
        raise GoogleAuthError(f"{path}: not a complete Google token; {AGAIN}")
    scopes = info.get("scopes") or []
    if SCOPE not in scopes:
        raise GoogleAuthError(f"{path}: the saved authorization does not cover the Photos "
                              f"Picker; {AGAIN}")
    token_uri = google.token_uri or info.get("token_uri") or "https://oauth2.googleapis.com/token"
    _allow_loopback_http(token_uri)
    expiry = info.get("expiry")
    return Credentials(  # type: ignore[no-untyped-call]
        token=info.get("token"), refresh_token=info["refresh_token"], token_uri=token_uri,
        client_id=info["client_id"], client_secret=info["client_secret"], scopes=[SCOPE],
        expiry=datetime.fromisoformat(expiry.rstrip("Z")) if isinstance(expiry, str) else None,
    )


def refused(exc: Exception) -> GoogleAuthError:
    """A refresh Google answered with an error (`invalid_grant`: revoked or expired)."""
    reason = str(exc.args[0] if exc.args else exc).splitlines()[0]
    return GoogleAuthError(f"Google no longer accepts the saved authorization ({reason}); "
                           f"{AGAIN}")


class TokenKeeper:
    """Bearer tokens for requests made outside google-api-python-client (downloads),
    refreshed when due; shared between threads."""

    def __init__(self, credentials: Credentials) -> None:
        self.credentials = credentials
        self._lock = threading.Lock()
        self.refreshes = 0

    def bearer(self) -> str:
        with self._lock:
            if not self.credentials.valid:
                self._refresh()
            return str(self.credentials.token)

    def check(self) -> None:
        """Refresh now: proves Google still accepts the saved authorization before a run
        opens anything (an access token saved earlier may outlive a revoked grant)."""
        with self._lock:
            self._refresh()

    def refreshed(self, stale: str) -> str:
        """A fresh token after `stale` was refused (unless another thread already did)."""
        with self._lock:
            if self.credentials.token == stale:
                self._refresh()
            return str(self.credentials.token)

    def _refresh(self) -> None:
        try:
            self.credentials.refresh(Request())  # type: ignore[no-untyped-call]
        except RefreshError as exc:
            raise refused(exc) from None
        except TransportError as exc:
            raise GoogleAuthError(f"cannot reach Google's token endpoint: {exc}") from None
        self.refreshes += 1


def _code_from(answer: str, state: str) -> str:
    """The authorization code in what the user pasted: the whole redirect address (its
    state must be ours) or only the code."""
    if "://" not in answer and "=" not in answer:
        if not answer:
            raise GoogleAuthError("nothing was pasted; run `gphotos-importer auth google` again")
        return answer
    query = parse_qs(urlsplit(answer).query if "://" in answer else answer)
    if "error" in query:
        raise GoogleAuthError(f"Google did not authorize access ({query['error'][0]}); "
                              "run `gphotos-importer auth google` again and allow access")
    if query.get("state", [state])[0] != state:
        raise GoogleAuthError("the pasted address belongs to another authorization attempt; "
                              "use the link printed by this run")
    codes = query.get("code")
    if not codes:
        raise GoogleAuthError("the pasted address has no code=; copy the whole address the "
                              "browser shows after you allow access")
    return codes[0]


def _console_flow(flow: InstalledAppFlow, port: int, out: Console,
                  read_line: Callable[[], str]) -> Credentials:
    flow.redirect_uri = f"http://localhost:{port}/"
    url, state = flow.authorization_url(prompt="consent")
    out.print("Open this link in a browser on any computer and allow access:", markup=False)
    out.print(url, markup=False, highlight=False, soft_wrap=True)
    out.print(f"The browser then goes to http://localhost:{port}/… and shows an error page "
              "there (nothing listens on that computer). Copy that whole address from the "
              "address bar (or only the value after code=) and paste it here:", markup=False)
    code = _code_from(read_line().strip(), state)
    flow.fetch_token(code=code)
    credentials: Credentials = flow.credentials
    return credentials


def authorize(client_file: Path, settings: Settings, out: Console, *, console: bool,
              port: int | None, open_browser: bool,
              read_line: Callable[[], str]) -> Path:
    """Run the consent flow and save the token; returns where it was saved."""
    path = token_path(settings.google)
    flow = InstalledAppFlow.from_client_config(
        read_client_config(client_file, settings.google), scopes=[SCOPE])
    try:
        if console:
            credentials = _console_flow(flow, port or CONSOLE_PORT, out, read_line)
        else:
            credentials = flow.run_local_server(
                host="localhost", port=port or 0, open_browser=open_browser,
                authorization_prompt_message="Open this link in a browser and allow access "
                                             "(it opens by itself where it can):\n{url}",
                success_message="gphotos-importer is authorized; you can close this tab.",
                timeout_seconds=LOOPBACK_TIMEOUT, prompt="consent")
    except OAuth2Error as exc:
        raise GoogleAuthError(f"Google refused the authorization ({exc.error}: "
                              f"{exc.description or 'no details'}); try again") from None
    except WSGITimeoutError:
        raise GoogleAuthError(f"no answer from the browser within {LOOPBACK_TIMEOUT} s; "
                              "try again, or use --console") from None
    except requests.RequestException as exc:
        raise GoogleAuthError(f"cannot reach Google's token endpoint: {exc}") from None
    except OSError as exc:
        raise GoogleAuthError(f"cannot listen on localhost port {port}: {exc.strerror}; "
                              "choose another --port or use --console") from None
    if not credentials.refresh_token:
        raise GoogleAuthError("Google sent no refresh token; remove gphotos-importer from "
                              "your Google Account's third-party access and try again")
    save_token(path, credentials)
    return path


def run_auth(settings: Settings, client_file: Path, out: Console, *, console: bool,
             port: int | None, open_browser: bool) -> int:
    """`gphotos-importer auth google`."""
    path = authorize(client_file, settings, out, console=console, port=port,
                     open_browser=open_browser, read_line=sys.stdin.readline)
    out.print(f"Authorized. The token is saved (readable only by you) in {path}.",
              markup=False)
    out.print("Next: gphotos-importer import --from picker --to TARGET", markup=False)
    return 0
