"""Album jobs in the background (issue 14): albums are made while uploads go on, each
album's members are added in few requests, and however the jobs interleave with the
items being queued, every member ends up in its album exactly once, recorded in the
state only after the gallery confirmed it."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.http import RetryPolicy
from adapters.immich.target import ImmichTarget
from importer.albumsync import AlbumSync
from importer.model import Album
from importer.report import RunReport
from importer.state import ItemRecord, State, TargetRecord, now_iso
from tests.conftest import CliResult
from tests.exportgen import make_items, write_folder
from tests.fakes.immich import FakeImmich
from tests.fakes.server import Faults
from tests.immich_server import photo

FAST = RetryPolicy(attempts=2, base_delay=0.001, max_delay=0.01)
RUNS = itertools.count()


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeImmich]:
    with FakeImmich("v3") as server:
        assert isinstance(server, FakeImmich)
        yield server


def uploaded(gallery: ImmichTarget, state: State, tag: str) -> tuple[str, str]:
    """An item on the gallery and in the state, as the pipeline leaves it."""
    remote_id = gallery.upload(photo(tag)).remote_id
    identity = f"id:{tag}"
    record = TargetRecord(outcome="imported", at=now_iso(), remote_id=remote_id)
    state.put(ItemRecord(identity, f"{tag}.jpg").with_target(gallery.target, record))
    return identity, remote_id


memberships = st.lists(st.sets(st.integers(0, 3)), min_size=1, max_size=10)


@settings(max_examples=25, deadline=None, suppress_health_check=[
    HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(items=memberships, flush_at=st.sampled_from([1, 3, 500]),
       polls=st.lists(st.booleans(), min_size=10, max_size=10),
       failing=st.booleans())
def test_every_member_lands_once_and_is_recorded_after_the_gallery_said_so(
        fake: FakeImmich, tmp_path_factory: pytest.TempPathFactory,
        monkeypatch: pytest.MonkeyPatch, items: list[set[int]], flush_at: int,
        polls: list[bool], failing: bool) -> None:
    monkeypatch.setattr("importer.albumsync.FLUSH_AT", flush_at)
    run = next(RUNS)
    albums = [Album(f"title:run{run} album{i}", f"run{run} album{i}") for i in range(4)]
    fake.faults = Faults(rate=0.3 if failing else 0.0, kinds=("503",), seed=run,
                         only=lambda r: r.route.startswith("/albums"))
    gallery = ImmichTarget(fake.url, fake.api_key, workers=2, policy=FAST)
    state = State(tmp_path_factory.mktemp("state") / "state.sqlite")
    report = RunReport(gallery.target)
    sync = AlbumSync(gallery, state, report, workers=2)
    expected: dict[str, set[str]] = {a.title: set() for a in albums}
    for n, member_of in enumerate(items):
        identity, remote_id = uploaded(gallery, state, f"run{run}-{n}")
        mine = [albums[i] for i in sorted(member_of)]
        sync.queue(identity, remote_id, mine)
        for album in mine:
            expected[album.title].add(remote_id)
        if polls[n % len(polls)]:
            sync.poll()
    sync.flush()
    fake.faults = Faults()
    failed = {p.album for p in report.album_problems}
    for album in albums:
        on_gallery = [a for a in fake.album_named(album.title)]
        assert len(on_gallery) <= 1  # never a twin
        members = on_gallery[0].asset_ids if on_gallery else []
        assert len(members) == len(set(members))
        if album.title not in failed:
            assert set(members) == expected[album.title]
        for record in state.items():
            on_target = record.on(gallery.target)
            assert on_target is not None
            if album.key in on_target.albums:  # recorded: the gallery has it
                assert on_target.remote_id in members
            elif on_target.remote_id in expected[album.title]:
                assert album.title in failed
    state.close()
    gallery.close()


def test_albums_are_made_while_uploads_go_on(tmp_path: Path, cli: Callable[..., CliResult],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    items = make_items(40, seed=4, albums=0)
    for n, item in enumerate(items):
        item.albums = ["Early"] if n % 4 == 0 else []
    export = write_folder(tmp_path / "export", items)
    with FakeImmich("v3") as fake:
        assert isinstance(fake, FakeImmich)
        monkeypatch.setenv("IMMICH_API_KEY", fake.api_key)
        result = cli("import", export.sources[0], "--to", f"immich:{fake.url}",
                     "--state", tmp_path / "state.sqlite", "--workers", "2")
        assert result.code == 0, result.out + result.err
        order = [(method, path) for method, path, _ in fake.requests]
        (album,) = fake.album_named("Early")
    uploads = [i for i, (method, path) in enumerate(order) if (method, path) == ("POST",
                                                                                  "/api/assets")]
    created = order.index(("POST", "/api/albums"))
    adds = [i for i, (method, path) in enumerate(order)
            if method == "PUT" and path.endswith("/assets") and "/albums/" in path]
    assert created < uploads[-1]  # made early, not after the last upload
    assert len(album.asset_ids) == 10 and len(adds) <= 2  # the first members, the rest
