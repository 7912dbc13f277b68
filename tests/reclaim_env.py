"""Shared set-up for the reclaim tests.

A `Scene` is what a user has before reclaiming: a generated export really imported (by
the command line) into a gallery (folder library, fake Immich or fake PhotoPrism), the
photos.google.com imitation holding the same items, and a config pointing reclaim at the
imitation with a signed-in browser profile. `GallerySide` changes the gallery behind the
tool's back, the way a person (or a disk) would: a file deleted or replaced, a live
photo's video gone, an item taken out of an album.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import yaml

from importer.state import State
from tests.conftest import CliResult
from tests.exportgen import TruthItem, write_folder
from tests.fakes.gphotos_web import GooglePhotosWeb
from tests.fakes.immich import FakeImmich
from tests.fakes.photoprism import FakePhotoPrism

OLD = datetime(2019, 6, 1, 12, 0, tzinfo=UTC)
Cli = Callable[..., CliResult]


def item(role: str, n: int, **changes: Any) -> TruthItem:
    """A plain, old, non-favorite photo whose URL id names its role."""
    base: dict[str, Any] = {"name": f"IMG_{n:04d}.jpg",
                            "url": f"https://photos.google.com/photo/AF1Qip-{role}-{n}",
                            "taken_at": OLD + timedelta(days=n)}
    return TruthItem(**{**base, **changes})


def web_id(truth: TruthItem) -> str:
    return truth.url.rsplit("/", 1)[1]


@dataclass
class Scene:
    tmp: Path
    cli: Cli
    items: dict[str, TruthItem]
    target: str
    state: Path
    web: GooglePhotosWeb
    config: Path
    settings: dict[str, Any] = field(default_factory=dict)

    def run(self, *args: str | Path) -> CliResult:
        return self.cli(*args, "--config", self.config, "--state", self.state)

    def write_config(self, **reclaim: Any) -> None:
        self.settings["reclaim"].update(reclaim)
        self.config.write_text(yaml.safe_dump(self.settings), encoding="utf-8")

    def plan(self, *extra: str) -> tuple[Path, dict[str, Any]]:
        path = self.tmp / f"plan-{len(list(self.tmp.glob('plan-*')))}.json"
        done = self.run("reclaim", "--to", self.target, "--plan", path, *extra)
        assert done.code == 0, done.err
        return path, json.loads(path.read_text(encoding="utf-8"))

    def apply(self, plan: Path, *extra: str) -> CliResult:
        return self.run("reclaim", "--to", self.target, "--apply", plan, *extra)

    def roles(self, plan: dict[str, Any]) -> dict[str, dict[str, Any]]:
        by_url = {t.url: role for role, t in self.items.items()}
        return {by_url[i["google_url"]]: i for i in plan["items"] if i["google_url"] in by_url}

    def trashed_roles(self) -> list[str]:
        by_id = {web_id(t): role for role, t in self.items.items()}
        return [by_id[i] for i in self.web.trashed_ids()]

    def recorded_roles(self) -> set[str]:
        by_url = {t.url: role for role, t in self.items.items()}
        with State(self.state, readonly=True) as state:
            return {by_url[r["url"]] for r in state.all_trashed()}

    def outcome(self, role: str) -> dict[str, Any] | None:
        """The state's record of the last apply outcome for the role's item."""
        with State(self.state, readonly=True) as state:
            return state.reclaim_outcome(self.items[role].url)

    def record(self, role: str) -> Any:
        with State(self.state, readonly=True) as state:
            found = state.get(self.items[role].url)
            assert found is not None, role
            return found.on(self.target_key())

    def album_remote(self, role: str, title: str) -> str:
        """The gallery id of the album `title` that the role's item was recorded in."""
        key = self.target_key()
        with State(self.state, readonly=True) as state:
            record = state.get(self.items[role].url)
            assert record is not None, role
            on_target = record.on(key)
            assert on_target is not None, role
            for album_key in on_target.albums:
                info = state.album_info(key, album_key)
                if info is not None and info.title == title:
                    return info.remote_id
        raise AssertionError(f"{role} is in no album {title!r}")

    def target_key(self) -> str:
        from adapters import target_key

        return target_key(self.target)


def build_scene(tmp: Path, cli: Cli, items: dict[str, TruthItem], target: str,
                language: str = "en", *, sign_in: bool = True, **reclaim: Any) -> Scene:
    export = write_folder(tmp / "export", list(items.values()))
    state = tmp / "state.sqlite"
    done = cli("import", *export.sources, "--to", target, "--state", state)
    assert done.code == 0, done.out + done.err
    return stage_google(tmp, cli, items, target, language, sign_in=sign_in, **reclaim)


def stage_google(tmp: Path, cli: Cli, items: dict[str, TruthItem], target: str,
                 language: str = "en", *, sign_in: bool = True, **reclaim: Any) -> Scene:
    """The Google side of a scene, before (or without) an import: the imitation holding
    the items, the config pointing reclaim at it, the browser profile signed in."""
    state = tmp / "state.sqlite"
    web = GooglePhotosWeb(language)
    url = web.start()
    for truth in items.values():
        web.add(web_id(truth), truth.title or truth.name, truth.taken_at)
    settings: dict[str, Any] = {"reclaim": {
        "base_url": url, "profile_dir": str(tmp / "profile"), "pause_seconds": 0.0,
        "pause_jitter_seconds": 0.0, "timeout_seconds": 2.0, "retries": 1,
        "ui_language": language, **reclaim}}
    config = tmp / "config.yaml"
    scene = Scene(tmp, cli, items, target, state, web, config, settings)
    scene.write_config()
    if sign_in:
        cookies = web.write_cookies_txt(tmp / "cookies.txt")
        done = scene.run("login", "google", "--cookies", cookies)
        assert done.code == 0, done.err
    return scene


class GallerySide:
    """Changes made in the gallery itself, behind the tool's back."""

    def __init__(self, kind: str, fake: Any, library: Path | None) -> None:
        self.kind, self.fake, self.library = kind, fake, library

    def lose(self, remote_id: str) -> None:
        if self.kind == "folder":
            assert self.library is not None
            (self.library / remote_id).unlink()
        elif self.kind == "immich":
            self._immich_delete([remote_id], force=False)  # to Immich's trash
        else:
            self._photoprism_forget(remote_id)

    def change(self, remote_id: str) -> None:
        """The gallery now holds other bytes under this id."""
        other = hashlib.sha1(remote_id.encode()).hexdigest()
        if self.kind == "folder":
            assert self.library is not None
            (self.library / remote_id).write_bytes(b"other bytes " + remote_id.encode())
        elif self.kind == "immich":
            fake: FakeImmich = self.fake
            with fake.lock:
                asset = fake.assets[remote_id]
                fake._by_checksum.pop((asset.owner_id, asset.checksum), None)
                asset.checksum = other
                fake._by_checksum[(asset.owner_id, other)] = asset.id
        else:
            pp: FakePhotoPrism = self.fake
            with pp.lock:
                primary = next(f for f in pp.library.files_of(remote_id) if f.primary)
                pp.library.hashes.pop(primary.hash, None)
                primary.hash = other
                pp.library.hashes[other] = primary

    def lose_file(self, remote_id: str, sha1: str) -> None:
        """One file of an item: a live photo's video."""
        if self.kind == "folder":
            assert self.library is not None
            (self.library / remote_id).unlink()
        elif self.kind == "immich":
            self._immich_delete([remote_id], force=True)
        else:
            pp: FakePhotoPrism = self.fake
            with pp.lock:
                record = pp.library.hashes.pop(sha1)
                pp.library.files.pop(record.uid, None)

    def leave_album(self, album_id: str, remote_id: str) -> None:
        if self.kind == "folder":
            assert self.library is not None
            folder = self.library / "albums" / album_id
            for link in folder.iterdir():
                if link.is_symlink() and link.resolve() == (self.library / remote_id).resolve():
                    link.unlink()
        elif self.kind == "immich":
            with self.fake.lock:
                self.fake.albums[album_id].asset_ids.remove(remote_id)
        else:
            with self.fake.lock:
                self.fake.library.hidden[(album_id, remote_id)] = True

    def _immich_delete(self, ids: list[str], force: bool) -> None:
        fake: FakeImmich = self.fake
        answer = httpx.request("DELETE", f"{fake.url}/api/assets",
                               headers={"x-api-key": fake.api_key},
                               json={"ids": ids, "force": force})
        assert answer.status_code == 204, answer.text

    def _photoprism_forget(self, uid: str) -> None:
        pp: FakePhotoPrism = self.fake
        with pp.lock:
            for record in pp.library.files_of(uid):
                pp.library.files.pop(record.uid, None)
                pp.library.hashes.pop(record.hash, None)
            pp.library.photos.pop(uid, None)
