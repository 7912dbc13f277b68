"""Issue 9: items imported without their sidecar (a broken part: no date, `undated/`, known
by their content) get their place and their metadata when a later export brings the
sidecar; never stored twice, in every target. The broken export imported again changes
nothing and degrades nothing."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from importer.state import State
from tests.conftest import CliResult, library_entries, originals
from tests.exportgen import TruthItem, make_items, write_zip_parts
from tests.fakes.immich import FakeImmich
from tests.fakes.photoprism import APP_PASSWORD, FakePhotoPrism
from tests.gallery_contract import Observed, observe_immich, observe_photoprism
from tests.test_pipeline_generated import check_library


@pytest.fixture(params=["folder", "immich", "photoprism"])
def target(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch,
           tmp_path: Path) -> Iterator[tuple[str, Callable[[str], Observed | None] | None,
                                             Callable[[], int]]]:
    """(target spec, observer of a remote id, count of items the target holds)."""
    if request.param == "folder":
        library = tmp_path / "library"
        yield f"folder:{library}", None, lambda: len(originals(library))
        return
    fake: Any
    if request.param == "immich":
        fake = FakeImmich()
        fake.start()
        monkeypatch.setenv("IMMICH_API_KEY", fake.api_key)
        yield (f"immich:{fake.url}", lambda rid: observe_immich(fake, rid),
               lambda: sum(1 for a in fake.assets.values() if a.deleted_at is None))
    else:
        fake = FakePhotoPrism(index_delay=0.01)
        fake.start()
        monkeypatch.setenv("PHOTOPRISM_TOKEN", APP_PASSWORD)
        yield (f"photoprism:{fake.url}", lambda rid: observe_photoprism(fake, rid),
               lambda: len(fake.library.photos))
    fake.stop()
    assert fake.rejected == [] and fake.violations == []


def _without_sidecars(items: list[TruthItem], every: int) -> list[TruthItem]:
    broken = copy.deepcopy(items)
    for item in broken[::every]:
        item.has_sidecar = False
    return broken


def _records(state: Path, spec_target: str) -> dict[str, Any]:
    with State(state, readonly=True) as opened:
        return {r.identity: r.on(spec_target) for r in opened.items()}


def test_sidecar_arrives_later(tmp_path: Path, cli: Callable[..., CliResult],
                               target: tuple[str, Any, Callable[[], int]]) -> None:
    spec, observe, count = target
    items = make_items(12, seed=31, albums=2)
    broken = write_zip_parts(tmp_path / "broken", _without_sidecars(items, 3), parts=2, seed=1)
    whole = write_zip_parts(tmp_path / "whole", items, parts=2, seed=2)
    state = tmp_path / "state.sqlite"
    first = cli("import", *broken.sources, "--to", spec, "--state", state)
    assert first.code == 0, first.err
    key = next(iter(_records(state, _key(spec, state)).values()))
    assert key is not None
    target_key = _key(spec, state)
    assert sum(i.startswith("sha1:") for i in _records(state, target_key)) == 4
    if spec.startswith("folder:"):
        library = Path(spec.removeprefix("folder:"))
        assert len(list((library / "undated").iterdir())) == 4

    second = cli("import", *whole.sources, "--to", spec, "--state", state)
    assert second.code == 0, second.err
    assert count() == 12, "every item exactly once"
    records = _records(state, target_key)
    assert sorted(records) == sorted(i.url for i in items)
    _check_target(spec, observe, records, whole.by_url(), tmp_path)

    third = cli("import", *broken.sources, "--to", spec, "--state", state)  # the old one again
    assert third.code == 0, third.err
    assert count() == 12
    assert sorted(_records(state, target_key)) == sorted(i.url for i in items)
    _check_target(spec, observe, _records(state, target_key), whole.by_url(), tmp_path)
    if spec.startswith("folder:"):
        assert cli("verify", "--to", spec, "--state", state).code == 0


def _key(spec: str, state: Path) -> str:
    with State(state, readonly=True) as opened:
        keys = {t for r in opened.items() for t in r.targets}
    (found,) = keys
    return found


def _check_target(spec: str, observe: Callable[[str], Observed | None] | None,
                  records: dict[str, Any], truth: dict[str, TruthItem], tmp_path: Path) -> None:
    if observe is None:
        library = Path(spec.removeprefix("folder:"))
        export = write_zip_parts(tmp_path / "again", list(truth.values()), parts=1)
        check_library(library, export)
        assert not (library / "undated").exists() or not any((library / "undated").iterdir())
        paths = {e["path"] for e in library_entries(library)}
        assert {r.remote_id for r in records.values()} == paths
        return
    for url, on_target in records.items():
        observed = observe(on_target.remote_id)
        item = truth[url]
        assert observed is not None, url
        assert observed.taken_at == item.taken_at, url
        assert observed.description == item.description, url
        assert observed.favorite is item.favorite, url
        assert observed.albums >= set(item.albums), url
