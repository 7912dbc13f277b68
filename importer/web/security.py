"""Who may use the page: loopback only by default, a token for any other bind address, a
CSRF token on every state-changing request, and secrets kept out of pages and logs.

Loopback mode also checks the Host header, so a web site that rebinds its DNS name to
127.0.0.1 cannot drive the page from the user's own browser. With a token, the first visit
is `/?token=…`; the server answers with an HttpOnly cookie and a redirect that drops the
token from the address bar and history.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp

from importer.config import ConfigError, Settings, WebSettings

COOKIE = "gpi_session"
CSRF_HEADER = "x-csrf-token"
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})
TOKEN_FILE = "web-token"
SAFE_METHODS = frozenset({"GET", "HEAD"})
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
                               "frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


def is_loopback(host: str) -> bool:
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Access:
    """The page's secrets: `token` (None: loopback only) and this server's CSRF token."""

    token: str | None
    csrf: str

    @property
    def cookie_value(self) -> str:
        """What the browser keeps: derived from the token, so the cookie is not the token."""
        assert self.token is not None
        return hmac.new(self.token.encode(), b"gpi-web-session", hashlib.sha256).hexdigest()


def resolve_token(web: WebSettings, state_dir: Path, env: dict[str, str] | None = None
                  ) -> tuple[str | None, str]:
    """(token or None, a line saying where it comes from). A token is needed for any bind
    address but loopback, and used whenever one is configured. A generated one is saved
    (mode 0600) beside the state and printed only when it is made."""
    environment = dict(os.environ) if env is None else env
    configured = web.token or _from_file(web.token_file, "web.token_file")
    configured = configured or environment.get("GPI_WEB_TOKEN") or _from_file(
        environment.get("GPI_WEB_TOKEN_FILE"), "GPI_WEB_TOKEN_FILE")
    if configured:
        return configured, "the configured token"
    if is_loopback(web.bind):
        return None, "loopback only, no token"
    saved = state_dir / TOKEN_FILE
    existing = _from_file(str(saved), str(saved)) if saved.exists() else None
    if existing:
        return existing, f"the token saved in {saved}"
    token = secrets.token_urlsafe(24)
    state_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(saved, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(token + "\n")
    return token, f"a new token (shown once, saved in {saved}): {token}"


def _from_file(name: str | None, setting: str) -> str | None:
    if not name:
        return None
    try:
        value = Path(name).expanduser().read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(f"{setting}={name}: cannot read the token: {exc.strerror}") from None
    if not value:
        raise ConfigError(f"{setting}={name}: the token file is empty")
    return value


def access_for(settings: Settings, state_dir: Path) -> tuple[Access, str]:
    token, origin = resolve_token(settings.web, state_dir)
    return Access(token, secrets.token_urlsafe(32)), origin


class Guard(BaseHTTPMiddleware):
    """Every request passes here before any page or action sees it."""

    def __init__(self, app: ASGIApp, access: Access) -> None:
        super().__init__(app)
        self.access = access

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        refused = self._refusal(request)
        if refused is None and self.access.token is not None:
            given = request.query_params.get("token")
            if given is not None:  # first visit: trade the token for a cookie
                return self._login(request, given)
        if refused is not None:
            response: Response = refused
        else:
            response = await call_next(request)
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    def _refusal(self, request: Request) -> Response | None:
        if self.access.token is None:
            client = request.client.host if request.client else ""
            if not is_loopback(client):
                return PlainTextResponse("This page answers only on this computer.", 403)
            if not is_loopback(request.url.hostname or ""):
                return PlainTextResponse("Unknown host name; open the page at 127.0.0.1.",
                                         403)
        elif not self._authenticated(request) and "token" not in request.query_params:
            return PlainTextResponse("A token is needed: open the address the server "
                                     "printed, or send it as a Bearer token.", 401)
        if request.method not in SAFE_METHODS and not self._csrf_ok(request):
            return PlainTextResponse("Refused: the request lacks this page's CSRF token.", 403)
        return None

    def _authenticated(self, request: Request) -> bool:
        assert self.access.token is not None
        cookie = request.cookies.get(COOKIE, "")
        if cookie and hmac.compare_digest(cookie, self.access.cookie_value):
            return True
        bearer = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        return bool(bearer) and hmac.compare_digest(bearer.encode(), self.access.token.encode())

    def _csrf_ok(self, request: Request) -> bool:
        given = request.headers.get(CSRF_HEADER, "")
        if not given or not hmac.compare_digest(given.encode(), self.access.csrf.encode()):
            return False
        origin = request.headers.get("origin")
        return origin is None or origin == f"{request.url.scheme}://{request.url.netloc}"

    def _login(self, request: Request, given: str) -> Response:
        assert self.access.token is not None
        if not hmac.compare_digest(given.encode(), self.access.token.encode()):
            return PlainTextResponse("Wrong token.", 401)
        rest = [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
        target = request.url.path + (f"?{urlencode(rest)}" if rest else "")
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(COOKIE, self.access.cookie_value, httponly=True, samesite="strict",
                            secure=request.url.scheme == "https", path="/")
        return response
