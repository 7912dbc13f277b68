"""Immich albums: found by id or exact name, created once, filled in batches.

Album names are not unique in Immich and `POST /albums` always makes a new one, so an album
is created only after looking for one of ours with that exact name: a run that died
between creating an album and recording its id finds it again instead of making a twin.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from adapters.base import GalleryError, TransientError
from adapters.immich.api import Api
from adapters.immich.connect import Session
from importer.model import Album

MEMBERS_PAGE = 1000


def owner_of(album: dict[str, Any]) -> str | None:
    """v2 names the owner; v3 puts the owner first among the album's users."""
    if album.get("ownerId"):
        return str(album["ownerId"])
    users = album.get("albumUsers") or []
    return str(users[0]["user"]["id"]) if users else None


def pick_album(albums: Sequence[dict[str, Any]], title: str, user_id: str) -> str | None:
    """Our own album with exactly this name; the oldest if there are several."""
    ours = [a for a in albums if a.get("albumName") == title and owner_of(a) == user_id]
    if not ours:
        return None
    return str(min(ours, key=lambda a: (str(a.get("createdAt")), str(a["id"])))["id"])


class AlbumDirectory:
    def __init__(self, api: Api, session: Session) -> None:
        self.api = api
        self.session = session
        self.created = 0
        self._user_id: str | None = None
        self._listing: list[dict[str, Any]] | None = None  # v2: every album, once a run
        self._lock = threading.Lock()
        self._asking_user = threading.Lock()  # album jobs run side by side: ask once

    def ensure(self, album: Album, known_id: str | None) -> str:
        if known_id is not None and self._exists(known_id):
            return known_id
        return self.find(album.title) or self._create(album)

    def _exists(self, album_id: str) -> bool:
        """Still there? (Deleted in Immich: 400 "Not found or no album.read access".)"""
        answer = self.api.call("GET", f"/albums/{album_id}", f"reading album {album_id}",
                               params=self.session.dialect.album_detail_params(),
                               ok=(200, 400, 404))
        if answer.status_code == 200:
            return True
        with self._lock:  # forget it, or the name look-up would find it again
            if self._listing is not None:
                self._listing = [a for a in self._listing if a["id"] != album_id]
        return False

    def find(self, title: str, fresh: bool = False) -> str | None:
        doing = f"looking for album {title!r}"
        if self.session.dialect.album_name_filter:
            albums = self.api.json("GET", "/albums", doing, params={"name": title})
        else:
            with self._lock:
                if self._listing is None or fresh:
                    self._listing = list(self.api.json("GET", "/albums", doing))
                albums = list(self._listing)
        return pick_album(albums, title, self.user_id())

    def user_id(self) -> str:
        """Whose albums are ours; asked once, and only when an album is looked up."""
        with self._asking_user:
            if self._user_id is None:
                me = self.api.json("GET", "/users/me", "reading the API key's user")
                self._user_id = str(me["id"])
            return self._user_id

    def _create(self, album: Album) -> str:
        """`POST /albums` is the one call that is not safe to repeat: when its answer is
        lost, look for the album before trying again, or a retry would make a twin."""
        body: dict[str, Any] = {"albumName": album.title}
        if album.description:
            body["description"] = album.description
        attempts = self.api.http.policy.attempts
        for attempt in range(attempts):
            try:
                created = self.api.json("POST", "/albums", f"creating album {album.title!r}",
                                        json=body, ok=(201, 200), attempts=1)
                break
            except TransientError:
                if attempt + 1 == attempts:
                    raise
                self.api.pause(attempt)
                found = self.find(album.title, fresh=True)
                if found is not None:
                    return found
        with self._lock:
            self.created += 1
            if self._listing is not None:
                self._listing.append(created)
        return str(created["id"])

    def rename(self, album_id: str, album: Album) -> None:
        body: dict[str, Any] = {"albumName": album.title}
        if album.description:
            body["description"] = album.description
        self.api.json("PATCH", f"/albums/{album_id}", f"renaming album to {album.title!r}",
                      json=body)
        with self._lock:
            for known in self._listing or ():
                if known["id"] == album_id:
                    known["albumName"] = album.title

    def add(self, album_id: str, asset_ids: Sequence[str]) -> None:
        """Already-present assets count as added (Immich says `duplicate`)."""
        results = self.api.json("PUT", f"/albums/{album_id}/assets",
                                f"adding {len(asset_ids)} item(s) to album {album_id}",
                                json={"ids": list(asset_ids)})
        failed = [r for r in results if not r.get("success") and r.get("error") != "duplicate"]
        if failed:
            reasons = sorted({str(r.get("error") or "unknown") for r in failed})
            raise GalleryError(f"album {album_id}: {len(failed)} of {len(asset_ids)} item(s) "
                               f"not added ({', '.join(reasons)})")

    def members(self, album_id: str) -> set[str]:
        """Asset ids in the album, read through the metadata search (v3's album answer
        carries no assets). Trashed assets are not members; a missing album has none."""
        if not self._exists(album_id):
            return set()
        found: set[str] = set()
        page: str | None = "1"
        while page is not None:
            body = {"albumIds": [album_id], "page": int(page), "size": MEMBERS_PAGE}
            answer = self.api.json("POST", "/search/metadata",
                                   f"listing album {album_id}", json=body)
            assets = answer.get("assets") or {}
            found.update(str(a["id"]) for a in assets.get("items") or [])
            page = assets.get("nextPage")
        return found
