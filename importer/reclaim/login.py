"""`login google`: put a Google sign-in into the reclaim browser profile, once.

On a desktop a visible browser opens and the user signs in as usual (passwords, 2FA and
passkeys stay between the user and Google). On a headless server the user exports a
cookies.txt from their own signed-in browser and imports it here; only Google's cookies
(and those of the configured base URL) are taken from the file.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from playwright.sync_api import BrowserContext, Page
from playwright.sync_api import Error as PlaywrightError
from rich.console import Console

from importer.config import Settings
from importer.reclaim import ReclaimError
from importer.reclaim.browser import browser, profile_dir
from importer.reclaim.texts import UiTexts, load_texts

LOGIN_WAIT = 15 * 60.0
GOOGLE = "google.com"


def signed_in(page: Page, texts: UiTexts, base_url: str) -> bool:
    """The page is on the base URL's site, not on a sign-in or about page."""
    url = page.url
    if not url.startswith(base_url.rstrip("/")):
        return False
    return not any(marker in url for marker in texts.sign_in_urls)


def check_session(context: BrowserContext, texts: UiTexts, base_url: str) -> bool:
    page = context.new_page()
    try:
        page.goto(base_url.rstrip("/") + "/", wait_until="domcontentloaded")
        return signed_in(page, texts, base_url)
    except PlaywrightError:
        return False
    finally:
        page.close()


def login_visible(settings: Settings, out: Console, *, headless: bool = False,
                  wait: float = LOGIN_WAIT) -> int:
    """Open the sign-in page and wait until the user is through (tests pass headless)."""
    texts = load_texts(settings.reclaim.ui_language, settings.reclaim.ui_texts_file)
    base = settings.reclaim.base_url
    if not headless and not _has_display():
        raise ReclaimError("no display for a browser window here; on a headless server, "
                           "use `gphotos-importer login google --cookies FILE` (README)")
    out.print(f"Sign in to Google Photos in the browser window ({profile_dir(settings)}); "
              "it closes by itself when you are in.", markup=False, highlight=False)
    with browser(settings, headless=headless) as context:
        page = context.new_page()
        try:
            page.goto(base.rstrip("/") + "/", wait_until="domcontentloaded")
            deadline = time.monotonic() + wait
            while not signed_in(page, texts, base):
                if time.monotonic() > deadline:
                    raise ReclaimError(f"not signed in after {wait / 60:g} minutes; run "
                                       "`gphotos-importer login google` again")
                page.wait_for_timeout(500)
        except PlaywrightError:
            raise ReclaimError("the browser was closed before the sign-in finished") from None
    out.print("Signed in. `gphotos-importer reclaim --apply` will use this sign-in.",
              markup=False)
    return 0


def _has_display() -> bool:
    if not sys.platform.startswith("linux"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def login_cookies(settings: Settings, cookies_file: Path, out: Console) -> int:
    texts = load_texts(settings.reclaim.ui_language, settings.reclaim.ui_texts_file)
    base = settings.reclaim.base_url
    cookies = read_cookies(cookies_file, wanted_hosts(base))
    with browser(settings) as context:
        context.add_cookies(cookies)  # type: ignore[arg-type]
        ok = check_session(context, texts, base)
    if not ok:
        raise ReclaimError(f"{cookies_file}: imported {len(cookies)} cookie(s), but Google "
                           "still asks to sign in; export them again from a browser that "
                           "is signed in to photos.google.com")
    out.print(f"Signed in with {len(cookies)} cookie(s) from {cookies_file}.", markup=False,
              highlight=False)
    return 0


def wanted_hosts(base_url: str) -> tuple[str, ...]:
    host = urlsplit(base_url).hostname or ""
    return tuple(dict.fromkeys((GOOGLE, host)))


def _wanted(domain: str, hosts: tuple[str, ...]) -> bool:
    bare = domain.lstrip(".").lower()
    return any(bare == h or bare.endswith("." + h) for h in hosts if h)


def read_cookies(path: Path, hosts: tuple[str, ...], now: float | None = None
                 ) -> list[dict[str, Any]]:
    """Cookies of `hosts` from a Netscape cookies.txt (what browser extensions export)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or "not UTF-8 text"
        raise ReclaimError(f"{path}: cannot read the cookies file: {reason}") from None
    moment = time.time() if now is None else now
    cookies = []
    for number, line in enumerate(lines, 1):
        cookie = _cookie(line, f"{path}:{number}")
        if cookie is None or not _wanted(cookie["domain"], hosts):
            continue
        if cookie["expires"] != -1 and cookie["expires"] < moment:
            continue
        cookies.append(cookie)
    if not cookies:
        raise ReclaimError(f"{path}: no current cookies for {' or '.join(h for h in hosts)}; "
                           "export cookies.txt while signed in to photos.google.com")
    return cookies


def _cookie(line: str, where: str) -> dict[str, Any] | None:
    http_only = line.startswith("#HttpOnly_")
    if http_only:
        line = line.removeprefix("#HttpOnly_")
    if not line.strip() or line.startswith("#"):
        return None
    fields = line.rstrip("\r\n").split("\t")
    if len(fields) != 7:
        raise ReclaimError(f"{where}: not a cookies.txt line (7 tab-separated fields)")
    domain, subdomains, path, secure, expires, name, value = fields
    try:
        stamp = int(float(expires))
    except ValueError:
        raise ReclaimError(f"{where}: expiry {expires!r} is not a number") from None
    if subdomains.upper() == "TRUE" and not domain.startswith("."):
        domain = "." + domain
    return {"name": name, "value": value, "domain": domain, "path": path or "/",
            "expires": stamp if stamp > 0 else -1, "httpOnly": http_only,
            "secure": secure.upper() == "TRUE", "sameSite": "Lax"}
