"""Targets for command-line tests: a folder library, the fake Immich and the fake
PhotoPrism, each with a neutral read-back of what landed (items and albums by remote id).

`open_target(kind, tmp, monkeypatch)` is a context manager yielding a `CliTarget`; on exit
the fakes are stopped and checked for rejected requests and contract violations.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from importer.state import State
from tests.conftest import library_entries
from tests.fakes.immich import FakeImmich
from tests.fakes.photoprism import APP_PASSWORD, FakePhotoPrism

KINDS = ["folder", "immich", "photoprism"]
AlbumView = list[tuple[str, frozenset[str]]]
"""Every album on the target: (title, remote ids of its members), sorted."""


@dataclass
class CliTarget:
    spec: str
    state: Path
    items: Callable[[], set[str]]
    """Remote ids of the items the target holds."""
    albums: Callable[[], AlbumView]

    def remote_ids(self) -> dict[str, str]:
        """Identity -> remote id, as the state recorded them."""
        with State(self.state, readonly=True) as opened:
            found = {}
            for record in opened.items():
                on_target = record.on(self.spec if not self.spec.startswith("folder:")
                                      else f"folder:{Path(self.spec[7:]).absolute()}")
                if on_target is not None and on_target.done and on_target.remote_id:
                    found[record.identity] = on_target.remote_id
        return found


def _folder_albums(library: Path) -> AlbumView:
    found = []
    for folder in sorted((library / "albums").glob("*")):
        meta = json.loads((folder / ".album.json").read_text(encoding="utf-8"))
        members = frozenset(
            (folder / os.readlink(link)).resolve().relative_to(library.resolve()).as_posix()
            for link in folder.iterdir() if link.is_symlink())
        found.append((str(meta["title"]), members))
    return sorted(found, key=lambda a: (a[0], sorted(a[1])))


@contextmanager
def open_target(kind: str, tmp: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliTarget]:
    state = tmp / "state.sqlite"
    if kind == "folder":
        library = tmp / "library"
        yield CliTarget(f"folder:{library}", state,
                        lambda: {e["path"] for e in library_entries(library)},
                        lambda: _folder_albums(library))
        return
    if kind == "immich":
        immich = FakeImmich()
        immich.start()
        monkeypatch.setenv("IMMICH_API_KEY", immich.api_key)

        def immich_items() -> set[str]:
            with immich.lock:
                return {a.id for a in immich.assets.values()
                        if a.deleted_at is None and a.visibility != "hidden"}

        def immich_albums() -> AlbumView:
            with immich.lock:
                return sorted(((a.name, frozenset(a.asset_ids)) for a in immich.albums.values()),
                              key=lambda a: (a[0], sorted(a[1])))

        try:
            yield CliTarget(f"immich:{immich.url}", state, immich_items, immich_albums)
        finally:
            immich.stop()
        assert immich.rejected == [] and immich.violations == []
        return
    photoprism = FakePhotoPrism(index_delay=0.02)
    photoprism.start()
    monkeypatch.setenv("PHOTOPRISM_TOKEN", APP_PASSWORD)
    library = photoprism.library

    def photoprism_items() -> set[str]:
        with photoprism.lock:
            return set(library.photos)

    def photoprism_albums() -> AlbumView:
        with photoprism.lock:
            members: dict[str, set[str]] = {uid: set() for uid in library.albums}
            for (album, photo), hidden in library.hidden.items():
                if not hidden:
                    members[album].add(photo)
            return sorted(((library.albums[uid].title, frozenset(m))
                           for uid, m in members.items()
                           if library.albums[uid].deleted_at is None),
                          key=lambda a: (a[0], sorted(a[1])))

    try:
        yield CliTarget(f"photoprism:{photoprism.url}", state, photoprism_items,
                        photoprism_albums)
    finally:
        photoprism.stop()
    assert photoprism.rejected == [] and photoprism.violations == []
