"""Google's OAuth 2.0 side, faked: the consent page (played by the test's "user") and the
token endpoint, as RFC 6749 + PKCE (RFC 7636) and Google's answers describe them.

- `GET /o/oauth2/auth`: checks client, loopback redirect, scope, response type and the
  S256 code challenge, then redirects (302) to the redirect URI with `code` and `state`, or
  with `error=access_denied` when the user says no. A refresh token is granted only for
  `access_type=offline`.
- `POST /token` (form-encoded): `authorization_code` (one use, same redirect URI, code
  verifier matching the challenge, client secret) and `refresh_token` grants. Errors are
  Google's: 401 `invalid_client`, 400 `invalid_grant` ("Token has been expired or
  revoked." for a revoked refresh token), `redirect_uri_mismatch`, `unsupported_grant_type`.

Access tokens expire on the fake's clock; `revoke` kills a refresh token and its access
tokens, as revoking the app in the Google Account does.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import unquote_plus, urlencode, urlsplit

from tests.fakes.server import Request, Response

SCOPE = "https://www.googleapis.com/auth/photospicker.mediaitems.readonly"
LOOPBACK = {"localhost", "127.0.0.1", "[::1]", "::1"}


@dataclass
class Grant:
    """What a user allowed: a code (until exchanged), then a refresh token."""

    client_id: str
    scope: str
    redirect_uri: str = ""
    challenge: str = ""
    offline: bool = True
    revoked: bool = False


@dataclass
class AccessToken:
    refresh_token: str | None
    scope: str
    expires: float


@dataclass
class OAuthState:
    client_id: str = "1234-test.apps.googleusercontent.com"
    client_secret: str = field(default_factory=lambda: "GOCSPX-" + secrets.token_urlsafe(12))
    token_lifetime: float = 3599.0
    consent: str = "allow"
    """What the user answers on the consent page: "allow" or "deny"."""
    offset: float = 0.0
    codes: dict[str, Grant] = field(default_factory=dict)
    refresh_tokens: dict[str, Grant] = field(default_factory=dict)
    access_tokens: dict[str, AccessToken] = field(default_factory=dict)
    consents: int = 0
    grants: dict[str, int] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)

    def now(self) -> float:
        return time.time() + self.offset

    # -- consent page ----------------------------------------------------------------------

    def consent_page(self, request: Request) -> Response:
        query = {k: v[-1] for k, v in request.query.items()}
        if query.get("client_id") != self.client_id:
            return Response(401, {"error": "invalid_client",
                                  "error_description": "The OAuth client was not found."})
        redirect = query.get("redirect_uri", "")
        parts = urlsplit(redirect)
        if parts.scheme != "http" or parts.hostname not in LOOPBACK:
            return Response(400, {"error": "redirect_uri_mismatch",
                                  "error_description": "desktop clients redirect to loopback"})
        if query.get("response_type") != "code" or query.get("scope") != SCOPE:
            return Response(400, {"error": "invalid_request", "error_description":
                                  "response_type must be code and scope the Picker's"})
        if query.get("code_challenge_method") != "S256" or not query.get("code_challenge"):
            return Response(400, {"error": "invalid_request",
                                  "error_description": "PKCE S256 challenge required"})
        state = query.get("state", "")
        with self.lock:
            self.consents += 1
            if self.consent != "allow":
                return _redirect(redirect, {"error": "access_denied", "state": state})
            code = "4/0A" + secrets.token_urlsafe(24)
            self.codes[code] = Grant(self.client_id, SCOPE, redirect, query["code_challenge"],
                                     offline=query.get("access_type") == "offline")
        return _redirect(redirect, {"state": state, "code": code, "scope": SCOPE})

    # -- token endpoint --------------------------------------------------------------------

    def token_endpoint(self, request: Request) -> Response:
        form = {k: v for k, v in (request.form or {}).items() if isinstance(v, str)}
        client = _basic_auth(request.headers.get("authorization", ""))
        if client is None:  # RFC 6749 2.3.1: in the body when not in a Basic header
            client = form.get("client_id", ""), form.get("client_secret", "")
        if client != (self.client_id, self.client_secret):
            return _oauth_error(401, "invalid_client", "Unauthorized")
        grant_type = form.get("grant_type")
        with self.lock:
            self.grants[grant_type or ""] = self.grants.get(grant_type or "", 0) + 1
            if grant_type == "authorization_code":
                return self._exchange(form)
            if grant_type == "refresh_token":
                return self._refresh(form)
        return _oauth_error(400, "unsupported_grant_type", f"Invalid grant_type: {grant_type}")

    def _exchange(self, form: dict[str, str]) -> Response:
        grant = self.codes.pop(form.get("code", ""), None)
        if grant is None:
            return _oauth_error(400, "invalid_grant", "Bad Request")
        if form.get("redirect_uri") != grant.redirect_uri:
            return _oauth_error(400, "redirect_uri_mismatch", "Bad Request")
        verifier = form.get("code_verifier", "")
        digest = hashlib.sha256(verifier.encode()).digest()
        if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != grant.challenge:
            return _oauth_error(400, "invalid_grant", "Invalid code verifier.")
        refresh = None
        if grant.offline:
            refresh = "1//0g" + secrets.token_urlsafe(32)
            self.refresh_tokens[refresh] = grant
        body = self._access(refresh, grant.scope)
        if refresh is not None:
            body["refresh_token"] = refresh
        return Response(200, body)

    def _refresh(self, form: dict[str, str]) -> Response:
        grant = self.refresh_tokens.get(form.get("refresh_token", ""))
        if grant is None or grant.revoked:
            return _oauth_error(400, "invalid_grant", "Token has been expired or revoked.")
        return Response(200, self._access(form["refresh_token"], grant.scope))

    def _access(self, refresh: str | None, scope: str) -> dict[str, object]:
        token = "ya29." + secrets.token_urlsafe(32)
        self.access_tokens[token] = AccessToken(refresh, scope, self.now() + self.token_lifetime)
        return {"access_token": token, "expires_in": int(self.token_lifetime),
                "scope": scope, "token_type": "Bearer"}

    # -- what tests do to it ---------------------------------------------------------------

    def issue(self) -> tuple[str, str]:
        """A refresh token and an access token, as a finished consent would give."""
        with self.lock:
            refresh = "1//0g" + secrets.token_urlsafe(32)
            self.refresh_tokens[refresh] = Grant(self.client_id, SCOPE)
            access = str(self._access(refresh, SCOPE)["access_token"])
        return refresh, access

    def revoke(self, refresh: str | None = None) -> None:
        """The user removes the app's access (every grant, or one refresh token)."""
        with self.lock:
            for token, grant in self.refresh_tokens.items():
                if refresh is None or token == refresh:
                    grant.revoked = True
            for access in self.access_tokens.values():
                if refresh is None or access.refresh_token == refresh:
                    access.expires = 0.0

    def expire_access_tokens(self) -> None:
        with self.lock:
            for access in self.access_tokens.values():
                access.expires = 0.0

    def bearer_problem(self, request: Request) -> str | None:
        """Why the request's bearer token is refused (None: accepted)."""
        header = request.headers.get("authorization", "")
        if not header.startswith("Bearer "):
            return "missing"
        with self.lock:
            access = self.access_tokens.get(header.removeprefix("Bearer "))
            if access is None or access.expires <= self.now():
                return "invalid"
            refresh = access.refresh_token
            if refresh is not None and self.refresh_tokens[refresh].revoked:
                return "invalid"
            return None if SCOPE in access.scope.split() else "scope"


def _basic_auth(header: str) -> tuple[str, str] | None:
    if not header.startswith("Basic "):
        return None
    try:
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
    except ValueError:
        return None
    return unquote_plus(user), unquote_plus(password)


def _redirect(uri: str, params: dict[str, str]) -> Response:
    separator = "&" if "?" in uri else "?"
    return Response(302, None, {"Location": uri + separator + urlencode(params)})


def _oauth_error(status: int, error: str, description: str) -> Response:
    return Response(status, {"error": error, "error_description": description})
