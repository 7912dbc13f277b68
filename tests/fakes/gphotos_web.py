"""An imitation of photos.google.com's item page, served on loopback for reclaim's tests.

It behaves like the real page as far as reclaim can see it: a script-rendered item view
(toolbar with Info and trash buttons, an info panel that opens on demand with the file
name and capture date as aria-labels), a confirmation dialog, a "Moved to trash" toast,
an in-trash view (Restore / Delete forever), "Can't access photo" for an unknown item,
and Google's sign-in page when the browser has no session, in English, German or French
(its own texts, written apart from the tool's data files so a typo there shows up here).

Per item it can also misbehave: load slowly, fail to load, redirect to or show another
item, show no name or date, never open the dialog, ignore the confirm click, or trash
without a toast. `trash_log` records what was really trashed; tests assert on it.
"""

from __future__ import annotations

import html
import json
import secrets
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

ASSETS = Path(__file__).with_name("gphotos_web")
COOKIE = "SID"
COOKIE_AGE = 2 * 365 * 86400  # Google keeps its sign-in cookies for about two years
NNBSP = "\u202f"

TEXTS: dict[str, dict[str, Any]] = {
    "en": {
        "actions": "Photo actions", "back": "Back", "info": "Info", "favorite": "Favorite",
        "trash": "Move to trash", "photo": "Photo", "photos": "Photos",
        "file_name": "Filename: ", "date_taken": "Date taken: ",
        "dialog_title": "Move to trash?", "cancel": "Cancel", "confirm": "Move to trash",
        "dialog_text": "Remove from your Google Account, synced devices and places where "
                       "it's shared? Items are kept in trash for 60 days.",
        "toast": "Moved to trash", "undo": "Undo", "restore": "Restore",
        "delete_forever": "Delete forever", "in_trash_note": "This item is in your trash",
        "cant_access": "Can't access photo",
        "cant_access_note": "The photo may have been deleted, or you may not have access.",
        "sign_in": "Sign in", "sign_in_sub": "to continue to Google Photos",
        "email": "Email or phone", "password": "Password", "next": "Next",
        "months": ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
                   "Nov", "Dec"],
        "days": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
    },
    "de": {
        "actions": "Fotoaktionen", "back": "Zurück", "info": "Info", "favorite": "Favorit",
        "trash": "In den Papierkorb verschieben", "photo": "Foto", "photos": "Fotos",
        "file_name": "Dateiname: ", "date_taken": "Datum der Aufnahme: ",
        "dialog_title": "In den Papierkorb verschieben?", "cancel": "Abbrechen",
        "confirm": "In den Papierkorb verschieben",
        "dialog_text": "Aus deinem Google-Konto, von synchronisierten Geräten und von Orten, "
                       "an denen es geteilt wird, entfernen?",
        "toast": "In den Papierkorb verschoben", "undo": "Rückgängig machen",
        "restore": "Wiederherstellen", "delete_forever": "Endgültig löschen",
        "in_trash_note": "Dieses Element ist im Papierkorb",
        "cant_access": "Zugriff auf Foto nicht möglich",
        "cant_access_note": "Das Foto wurde möglicherweise gelöscht.",
        "sign_in": "Anmelden", "sign_in_sub": "Weiter zu Google Fotos",
        "email": "E-Mail oder Telefonnummer", "password": "Passwort", "next": "Weiter",
        "months": ["Jan.", "Feb.", "März", "Apr.", "Mai", "Juni", "Juli", "Aug.", "Sept.",
                   "Okt.", "Nov.", "Dez."],
        "days": ["Mo.", "Di.", "Mi.", "Do.", "Fr.", "Sa.", "So."],
    },
    "fr": {
        "actions": "Actions sur la photo", "back": "Retour", "info": "Infos",
        "favorite": "Favori", "trash": "Placer dans la corbeille", "photo": "Photo",
        "photos": "Photos", "file_name": f"Nom du fichier{NNBSP}: ",
        "date_taken": f"Date de prise de vue{NNBSP}: ",
        "dialog_title": f"Placer dans la corbeille{NNBSP}?", "cancel": "Annuler",
        "confirm": "Placer dans la corbeille",
        "dialog_text": "Supprimer de votre compte Google, des appareils synchronisés et des "
                       "emplacements où cet élément est partagé ?",
        "toast": "Élément placé dans la corbeille", "undo": "Annuler",
        "restore": "Restaurer", "delete_forever": "Supprimer définitivement",
        "in_trash_note": "Cet élément se trouve dans la corbeille",
        "cant_access": "Impossible d'accéder à la photo",
        "cant_access_note": "La photo a peut-être été supprimée.",
        "sign_in": "Connexion", "sign_in_sub": "Accéder à Google Photos",
        "email": "Adresse e-mail ou téléphone", "password": "Mot de passe", "next": "Suivant",
        "months": ["janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.",
                   "oct.", "nov.", "déc."],
        "days": ["lun.", "mar.", "mer.", "jeu.", "ven.", "sam.", "dim."],
    },
}


def shown_date(moment: datetime, language: str) -> str:
    """The capture date as the page writes it, in the item's own offset."""
    t = TEXTS[language]
    day, month = t["days"][moment.weekday()], t["months"][moment.month - 1]
    if language == "en":
        clock = moment.strftime("%I:%M %p").lstrip("0")
        return f"{day}, {month} {moment.day}, {moment.year}, {clock}"
    if language == "de":
        return f"{day}, {moment.day}. {month} {moment.year}, {moment:%H:%M}"
    return f"{day} {moment.day} {month} {moment.year}, {moment:%H:%M}"


@dataclass
class WebItem:
    id: str
    title: str | None
    taken: datetime | None = None
    shows: str | None = None
    """Render this other item's name and date at this item's URL."""
    redirect_to: str | None = None
    no_info: bool = False
    load_failures: int = 0
    delay: float = 0.0
    no_dialog: bool = False
    dead_confirm: bool = False
    no_toast: bool = False
    trashed: bool = False


class GooglePhotosWeb:
    def __init__(self, language: str = "en", *, latency: float = 0.0,
                 trash_latency: float = 0.0, auto_sign_in: bool = False) -> None:
        self.language = language
        self.latency = latency
        self.trash_latency = trash_latency
        self.auto_sign_in = auto_sign_in
        self.items: dict[str, WebItem] = {}
        self.trash_log: list[str] = []
        self.requests: list[tuple[str, str]] = []
        self.sessions: set[str] = set()
        self.sign_out_after: int | None = None
        self.on_trash: Callable[[int], None] | None = None
        """Called with the number of trashes so far, after one is recorded and before the
        page hears of it (a test kills or interrupts the tool in that window)."""
        self.lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self.url = ""

    # -- set-up for tests ------------------------------------------------------------------

    def add(self, item_id: str, title: str | None, taken: datetime | None = None,
            **behaviour: Any) -> WebItem:
        item = WebItem(item_id, title, taken, **behaviour)
        with self.lock:
            self.items[item_id] = item
        return item

    def new_session(self) -> str:
        token = secrets.token_urlsafe(16)
        with self.lock:
            self.sessions.add(token)
        return token

    def sign_out(self) -> None:
        with self.lock:
            self.sessions.clear()

    def write_cookies_txt(self, path: Path, token: str | None = None) -> Path:
        """A cookies.txt as a browser extension exports it, with a live session."""
        host = urlsplit(self.url).hostname
        expires = int(time.time()) + COOKIE_AGE
        lines = ["# Netscape HTTP Cookie File",
                 f"{host}\tFALSE\t/\tFALSE\t{expires}\t{COOKIE}\t{token or self.new_session()}",
                 ".example.org\tTRUE\t/\tTRUE\t0\tOTHER\tnot-for-google"]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path

    def trashed_ids(self) -> list[str]:
        with self.lock:
            return list(self.trash_log)

    def page_loads(self) -> int:
        with self.lock:
            return len(self.requests)

    # -- serving ---------------------------------------------------------------------------

    def start(self) -> str:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                fake.handle(self, "GET")

            def do_POST(self) -> None:
                fake.handle(self, "POST")

            def log_message(self, *args: Any) -> None:
                pass

        self._httpd = _QuietServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        return self.url

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def handle(self, request: BaseHTTPRequestHandler, method: str) -> None:
        split = urlsplit(request.path)
        path = split.path
        with self.lock:
            self.requests.append((method, path))
        body = b""
        if method == "POST":
            body = request.rfile.read(int(request.headers.get("content-length") or 0))
        if path.startswith("/static/"):
            return self._static(request, path.removeprefix("/static/"))
        if path == "/ServiceLogin":
            return self._sign_in(request, method, split.query, body)
        signed_in = self._session(request) is not None
        if method == "POST" and path == "/_/rpc/trash":
            return self._trash(request, body, signed_in)
        if not signed_in:
            target = quote(self.url + request.path, safe="")
            return _send(request, 302, b"", {"Location": f"/ServiceLogin?continue={target}"})
        parts = [p for p in path.split("/") if p]
        if len(parts) >= 2 and parts[-2] == "photo":
            return self._item(request, parts[-1])
        page = f"<!doctype html><title>Google Photos</title><h1>{self._t('photos')}</h1>"
        return _send(request, 200, page.encode(), {"Content-Type": "text/html"})

    # -- pages -----------------------------------------------------------------------------

    def _t(self, key: str) -> Any:
        return TEXTS[self.language][key]

    def _session(self, request: BaseHTTPRequestHandler) -> str | None:
        for part in (request.headers.get("cookie") or "").split(";"):
            name, _, value = part.strip().partition("=")
            if name == COOKIE:
                with self.lock:
                    return value if value in self.sessions else None
        return None

    def _item(self, request: BaseHTTPRequestHandler, item_id: str) -> None:
        time.sleep(self.latency)
        with self.lock:
            item = self.items.get(item_id)
            if item is not None and item.load_failures > 0:
                item.load_failures -= 1
                failing = True
            else:
                failing = False
        if failing:
            return _send(request, 500, b"<h1>Server Error</h1>", {"Content-Type": "text/html"})
        if item is not None and item.redirect_to and not item.trashed:
            return _send(request, 302, b"", {"Location": f"/photo/{item.redirect_to}"})
        page = self._page(item_id, item)
        text = (ASSETS / "item.html").read_text(encoding="utf-8")
        text = text.replace("{lang}", self.language).replace("{title}", self._t("photos"))
        text = text.replace("{page}", json.dumps(page, ensure_ascii=False).replace("</", "<\\/"))
        return _send(request, 200, text.encode(), {"Content-Type": "text/html; charset=utf-8"})

    def _page(self, item_id: str, item: WebItem | None) -> dict[str, Any]:
        view = "gone" if item is None else "trash" if item.trashed else "item"
        page: dict[str, Any] = {"id": item_id, "view": view, "t": TEXTS[self.language],
                                "delay_ms": int((item.delay if item else 0) * 1000)}
        if item is None:
            return page
        with self.lock:
            source = self.items.get(item.shows or "", item)
        if not item.no_info:
            page["name"] = source.title
            page["date"] = shown_date(source.taken, self.language) if source.taken else None
        page.update(no_dialog=item.no_dialog, dead_confirm=item.dead_confirm,
                    no_toast=item.no_toast)
        return page

    def _trash(self, request: BaseHTTPRequestHandler, body: bytes, signed_in: bool) -> None:
        if not signed_in:
            return _send(request, 401, b"{}", {"Content-Type": "application/json"})
        time.sleep(self.trash_latency)
        item_id = str(json.loads(body or b"{}").get("id"))
        with self.lock:
            item = self.items.get(item_id)
            if item is None or item.trashed:
                status = 404
            else:
                item.trashed = True
                self.trash_log.append(item_id)
                status = 200
                if self.sign_out_after is not None and len(self.trash_log) >= \
                        self.sign_out_after:
                    self.sessions.clear()
            count = len(self.trash_log)
        if status == 200 and self.on_trash is not None:
            self.on_trash(count)
        return _send(request, status, b"{}", {"Content-Type": "application/json"})

    def _sign_in(self, request: BaseHTTPRequestHandler, method: str, query: str,
                 body: bytes) -> None:
        if method == "POST":
            form = parse_qs(body.decode())
            target = (form.get("continue") or ["/"])[0]
            token = self.new_session()
            return _send(request, 302, b"", {"Location": target,
                                             "Set-Cookie": f"{COOKIE}={token}; Path=/; "
                                             f"Max-Age={COOKIE_AGE}"})
        target = (parse_qs(query).get("continue") or [self.url + "/"])[0]
        page = (ASSETS / "signin.html").read_text(encoding="utf-8")
        values = {"lang": self.language, "heading": self._t("sign_in"),
                  "subtitle": self._t("sign_in_sub"), "email": self._t("email"),
                  "password": self._t("password"), "next": self._t("next"),
                  "continue": html.escape(target), "auto": "true" if self.auto_sign_in
                  else "false"}
        for key, value in values.items():
            page = page.replace("{" + key + "}", value)
        return _send(request, 200, page.encode(), {"Content-Type": "text/html; charset=utf-8"})

    def _static(self, request: BaseHTTPRequestHandler, name: str) -> None:
        types = {".js": "text/javascript", ".css": "text/css"}
        path = ASSETS / name
        if "/" in name or not path.is_file() or path.suffix not in types:
            return _send(request, 404, b"", {})
        return _send(request, 200, path.read_bytes(), {"Content-Type": types[path.suffix]})


class _QuietServer(ThreadingHTTPServer):
    """A browser closing its connections (a killed run) is normal here, not an error."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def _send(request: BaseHTTPRequestHandler, status: int, body: bytes,
          headers: dict[str, str]) -> None:
    request.send_response(status)
    for name, value in {**headers, "Content-Length": str(len(body))}.items():
        request.send_header(name, value)
    request.end_headers()
    request.wfile.write(body)
