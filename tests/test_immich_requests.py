"""How many requests an import costs Immich (issue 14): an upload per file, a small
constant per batch, and no per-item round trip the upload could carry; what must be set
afterwards goes in one request per item, or in bulk."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import CliResult
from tests.exportgen import make_items, write_folder
from tests.fakes.immich import FakeImmich
from tests.test_immich_import import check_immich

ROUTES = [("PUT", r"/api/assets/[^/]+$", "PUT /assets/{id}"),
          ("PUT", r"/api/assets$", "PUT /assets"),
          ("GET", r"/api/assets/[^/]+$", "GET /assets/{id}"),
          ("POST", r"/api/assets$", "POST /assets"),
          ("POST", r"/api/assets/bulk-upload-check$", "bulk check"),
          ("PUT", r"/api/albums/[^/]+/assets$", "album add"),
          ("POST", r"/api/albums$", "album create"),
          ("GET", r"/api/albums", "album find")]


@pytest.fixture
def fake(immich_each: FakeImmich) -> FakeImmich:
    """Each test runs against both dialects (conftest's strict fake)."""
    return immich_each


def counted(fake: FakeImmich, since: int = 0) -> Counter[str]:
    counts: Counter[str] = Counter()
    for method, path, _ in fake.requests[since:]:
        name = next((n for m, pattern, n in ROUTES if m == method and re.match(pattern, path)),
                    f"{method} {path}")
        counts[name] += 1
    return counts


def test_first_import_is_an_upload_per_item_and_a_constant_per_batch(
        tmp_path: Path, fake: FakeImmich, cli: Callable[..., CliResult]) -> None:
    from tests.fakes.server import Faults

    items = make_items(60, seed=21, albums=3)
    export = write_folder(tmp_path / "export", items)
    state = tmp_path / "state.sqlite"
    fake.faults = Faults(delay=0.01)  # the server, not this busy test machine, sets the pace
    result = cli("import", export.sources[0], "--to", f"immich:{fake.url}", "--state", state,
                 "--workers", "3")
    assert result.code == 0, result.out
    counts = counted(fake)  # before the checks' own reads
    check_immich(fake, export, state)
    assert counts["POST /assets"] == len(items), counts
    # favorite, archive, date, place and caption all travelled with the upload
    assert (counts["PUT /assets/{id}"], counts["PUT /assets"], counts["GET /assets/{id}"]) == (
        0, 0, 0), counts
    albums = len(export.albums)
    assert counts["album create"] == albums and counts["album add"] <= 2 * albums
    assert counts["GET /api/users/me"] == 1  # asked once, however many album jobs at once
    assert counts["bulk check"] <= len(items) / 4  # in batches


def phone_upload(fake: FakeImmich, name: str, data: bytes) -> None:
    form = {"fileCreatedAt": "2020-01-01T00:00:00Z", "fileModifiedAt": "2020-01-01T00:00:00Z"}
    if fake.v2:
        form |= {"deviceAssetId": name, "deviceId": "phone"}
    answer = httpx.post(f"{fake.url}/api/assets", headers={"x-api-key": fake.api_key},
                        data=form, files={"assetData": (name, data, "image/jpeg")})
    assert answer.status_code == 201, answer.text


@settings(max_examples=6, deadline=None, suppress_health_check=[
    HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(seed=st.integers(0, 1000), adopted=st.integers(1, 6),
       dialect=st.sampled_from(["v3", "v2"]))
def test_an_adopted_copy_costs_one_update(tmp_path_factory: pytest.TempPathFactory,
                                          monkeypatch: pytest.MonkeyPatch,
                                          cli: Callable[..., CliResult], seed: int,
                                          adopted: int, dialect: str) -> None:
    """Bytes the phone app uploaded before get Google's flags, date, place and caption in
    one request each, whatever they need."""
    tmp = tmp_path_factory.mktemp("adopt")
    items = make_items(8, seed=seed, albums=0)
    with FakeImmich(dialect) as fake:
        assert isinstance(fake, FakeImmich)
        monkeypatch.setenv("IMMICH_API_KEY", fake.api_key)
        for item in items[:adopted]:
            phone_upload(fake, item.name, item.content())
        export = write_folder(tmp / "export", items)
        before = len(fake.requests)
        state = tmp / "state.sqlite"
        result = cli("import", export.sources[0], "--to", f"immich:{fake.url}", "--state", state)
        assert result.code == 0, result.out
        counts = counted(fake, before)
        check_immich(fake, export, state)
        assert fake.rejected == [] and fake.violations == []
    assert counts["POST /assets"] == len(items) - adopted
    assert counts["PUT /assets/{id}"] <= adopted and counts["GET /assets/{id}"] == 0


@settings(max_examples=5, deadline=None, suppress_health_check=[
    HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(toggles=st.lists(st.sampled_from(["favorite", "archived", "both", "caption", None]),
                        min_size=12, max_size=12),
       dialect=st.sampled_from(["v3", "v2"]), failing=st.booleans())
def test_flags_changed_in_google_go_in_bulk(tmp_path_factory: pytest.TempPathFactory,
                                            monkeypatch: pytest.MonkeyPatch,
                                            cli: Callable[..., CliResult],
                                            toggles: list[str | None], dialect: str,
                                            failing: bool) -> None:
    """Favorites and archive toggled in Google between two exports: one `PUT /assets` per
    value for all of them; a changed caption is per item. When the bulk request fails, its
    items fail (and are not recorded as updated), and the next run sets them."""
    from tests.fakes.server import Faults

    tmp = tmp_path_factory.mktemp("flags")
    items = make_items(12, seed=31, albums=1)
    state = tmp / "state.sqlite"
    with FakeImmich(dialect) as fake:
        assert isinstance(fake, FakeImmich)
        monkeypatch.setenv("IMMICH_API_KEY", fake.api_key)
        target = ("--to", f"immich:{fake.url}", "--state", state)
        assert cli("import", write_folder(tmp / "e1", items).sources[0], *target).code == 0
        for item, toggle in zip(items, toggles, strict=True):
            if toggle in ("favorite", "both"):
                item.favorite = not item.favorite
            if toggle in ("archived", "both"):
                item.archived = not item.archived
            if toggle == "caption":
                item.description = f"edited {item.name}"
        second = write_folder(tmp / "e2", items)
        if failing:
            # 429 with Retry-After: 0 fails as hard as an exhausted 503, without the backoff
            fake.faults = Faults(rate=1.0, kinds=("429",),
                                 only=lambda r: (r.method, r.route) == ("PUT", "/assets"))
        before = len(fake.requests)
        result = cli("import", second.sources[0], *target)
        counts = counted(fake, before)
        flagged = sum(t in ("favorite", "archived", "both") for t in toggles)
        if failing and flagged:
            assert result.code == 1 and "failed" in result.out
            fake.faults = Faults()
            assert cli("import", second.sources[0], *target).code == 0
        else:
            assert result.code == 0, result.out
        check_immich(fake, second, state)
        assert fake.rejected == [] and fake.violations == []
    assert counts["POST /assets"] == 0
    assert counts["PUT /assets/{id}"] == toggles.count("caption")
    if not failing:
        assert counts["PUT /assets"] <= 4 and (counts["PUT /assets"] > 0) == bool(flagged)


@pytest.mark.parametrize("adaptive", [True, False])
def test_uploads_at_once_grow_while_the_server_keeps_pace(
        tmp_path: Path, fake: FakeImmich, cli: Callable[..., CliResult],
        adaptive: bool) -> None:
    """A server whose answers do not slow down with more uploads at once (a fixed
    latency) gets more of them, up to twice `--workers`; `immich.adaptive: false` keeps
    `--workers`."""
    from tests.fakes.server import Faults
    from tests.test_immich_import import target_stats

    export = write_folder(tmp_path / "export", make_items(120, seed=5, albums=0))
    config = tmp_path / "config.yaml"
    config.write_text(f"immich:\n  adaptive: {str(adaptive).lower()}\n", encoding="utf-8")
    fake.faults = Faults(delay=0.03)
    result = cli("import", export.sources[0], "--to", f"immich:{fake.url}", "--state",
                 tmp_path / "state.sqlite", "--workers", "2", "--config", config)
    assert result.code == 0, result.out
    stats = target_stats(result.out)
    if adaptive:
        assert 2 < stats["uploads at once max"] <= 4
    else:
        assert stats["uploads at once max"] == stats["uploads at once"] == 2


def test_look_ups_batch_themselves_while_the_uploads_keep_the_server_busy(
        tmp_path: Path, cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch) -> None:
    """Items are hashed much faster than a server takes them: the in-flight limit is
    reached at once and the uploads set the pace. Look-ups must then wait until the
    uploads queued run low and take all that was hashed meanwhile, not go for the one or
    two items that made room (issue 14: 67 look-ups for 244 items when they did)."""
    from tests.fakes.server import Faults

    items = make_items(200, seed=8, albums=0)
    export = write_folder(tmp_path / "export", items)
    with FakeImmich("v3") as fake:
        assert isinstance(fake, FakeImmich)
        monkeypatch.setenv("IMMICH_API_KEY", fake.api_key)
        fake.faults = Faults(delay=0.02)
        result = cli("import", export.sources[0], "--to", f"immich:{fake.url}", "--state",
                     tmp_path / "state.sqlite", "--workers", "4")
        assert result.code == 0, result.out
        counts = counted(fake)
        assert fake.rejected == [] and fake.violations == []
    assert counts["POST /assets"] == len(items)
    assert counts["bulk check"] <= len(items) / 16, counts  # 8-9; 19 when they did
