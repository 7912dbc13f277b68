"""The Picker source against the fake Google: sessions, polling, pages, downloads streamed
to the spool, expired base URLs, 429/5xx, revoked tokens, and what it does not download."""

from __future__ import annotations

import hashlib
import io
import time
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.http import RetryPolicy
from importer.config import GoogleSettings, Settings, TakeoutSettings
from importer.google_auth import GoogleAuthError, TokenKeeper, load_credentials
from importer.model import Accounted, DateSource, FileKind, FileOutcome, MediaItem, ScanEvent
from importer.sources.picker import PickerSource, qr_text, show_link
from importer.sources.picker_api import PickerApi, PickerError
from tests.exportgen import unique_jpeg, unique_mp4
from tests.fakes.google_picker import FakeGooglePhotos, LibraryItem
from tests.fakes.server import Faults

START = datetime(2021, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def fake() -> Iterator[FakeGooglePhotos]:
    with FakeGooglePhotos() as server:
        assert isinstance(server, FakeGooglePhotos)
        yield server


def source_for(fake: FakeGooglePhotos, tmp_path: Path, *, album: str | None = None,
               sleep: Any = None, attempts: int = 6, max_items: int = 2000
               ) -> tuple[PickerSource, list[str]]:
    token, _ = fake.token_file(tmp_path / "token.json")
    google = GoogleSettings(token_file=str(token), picker_root_url=f"{fake.url}/",
                            max_items=max_items)
    keeper = TokenKeeper(load_credentials(google))
    api = PickerApi(google.picker_root_url, keeper, policy=RetryPolicy(attempts=attempts),
                    sleep=sleep or (lambda seconds: None))
    shown: list[str] = []
    chosen = Settings(google=google, album=album,
                      takeout=TakeoutSettings(spool_dir=str(tmp_path)))
    return PickerSource(api, chosen, shown.append), shown


def library(fake: FakeGooglePhotos, photos: int, videos: int = 0) -> list[LibraryItem]:
    items = [fake.add(f"IMG_{n:04d}.jpg", START + timedelta(minutes=n),
                      unique_jpeg(f"picked {n}")) for n in range(photos)]
    items += [fake.add(f"VID_{n:04d}.mp4", START + timedelta(hours=n),
                       unique_mp4(f"transcoded {n}"), video=True) for n in range(videos)]
    return items


def read_all(events: Iterator[ScanEvent]) -> list[tuple[MediaItem, bytes]]:
    """Drain the source as the pipeline does: read each item's bytes, then release it."""
    got = []
    for event in events:
        assert isinstance(event, MediaItem), event
        with event.file.opener() as stream:
            got.append((event, stream.read()))
        event.release()
    return got


def test_pages_of_picked_items_all_arrive_once(fake: FakeGooglePhotos, tmp_path: Path) -> None:
    items = library(fake, 230, videos=3)
    fake.pick(*items, after_polls=3)
    source, shown = source_for(fake, tmp_path, album="Holiday")
    got = read_all(source.scan())
    assert shown == [f"https://photos.google.com/picker/{next(iter(fake.sessions))}"]
    assert [item.picker_id for item, _ in got] == [i.id for i in items]
    for (item, data), truth in zip(got, items, strict=True):
        assert data == truth.download and item.file.size == len(data)
        assert item.file.name == truth.filename and item.kind is FileKind.PICKED
        assert item.metadata.taken_at == truth.created
        assert item.metadata.taken_at_source is DateSource.PICKER
        assert item.google_identity == f"picker:{truth.id}"
        assert [a.title for a in item.albums] == ["Holiday"]
    assert sorted(suffix for _, suffix in fake.downloads) == ["d"] * 230 + ["dv"] * 3
    pages = [path for method, path, _ in fake.requests if path.startswith("/v1/mediaItems")]
    assert len(pages) == 3  # 100 + 100 + 33
    session = fake.sessions[next(iter(fake.sessions))]
    assert session.polls == 3 and session.max_items == 2000
    assert fake.live_sessions() == []  # deleted at the end
    assert source.expected_files == source.stats.picked == 233
    assert not list(tmp_path.glob("gphotos-importer-spool-*/*"))  # all released
    source.close()


def test_faults_are_retried(fake: FakeGooglePhotos, tmp_path: Path) -> None:
    items = library(fake, 40, videos=2)
    fake.pick(*items)
    fake.faults = Faults(rate=0.3, kinds=("429", "500", "503", "reset"), seed=3,
                         only=lambda r: r.route != "/token")
    source, _ = source_for(fake, tmp_path, attempts=12)
    got = read_all(source.scan())
    injected = dict(fake.faults.injected)
    assert sum(injected.values()) >= 10 and len(injected) >= 3, injected
    assert [data for _, data in got] == [i.download for i in items]
    assert source.api.retries > 0
    source.close()


def test_expired_base_urls_are_listed_again(fake: FakeGooglePhotos, tmp_path: Path) -> None:
    """An hour into the downloads every base URL (and the access token) has expired: the
    source lists the session again and goes on."""
    items = library(fake, 12)
    fake.pick(*items)
    serve = fake._download
    served = []

    def an_hour_passes_after_five(path: str) -> Any:
        answer = serve(path)
        served.append(answer.status)
        if len(served) == 5:
            fake.advance(3700)
        return answer

    fake._download = an_hour_passes_after_five  # type: ignore[method-assign]
    source, _ = source_for(fake, tmp_path)
    got = read_all(source.scan())
    assert [data for _, data in got] == [i.download for i in items]
    assert served.count(403) == 1  # one refusal, then fresh URLs for the rest
    pages = [path for _, path, _ in fake.requests if path.startswith("/v1/mediaItems")]
    assert len(pages) == 2
    assert fake.oauth.grants.get("refresh_token", 0) >= 1  # the access token was renewed


def test_session_times_out_with_one_line(fake: FakeGooglePhotos, tmp_path: Path) -> None:
    library(fake, 2)
    fake.choice = None
    fake.timeout_in = 0.3
    source, _ = source_for(fake, tmp_path, sleep=time.sleep)
    started = time.monotonic()
    with pytest.raises(PickerError, match="timed out before you pressed Done"):
        list(source.scan())
    assert time.monotonic() - started < 5
    polls = fake.sessions[next(iter(fake.sessions))].polls
    assert 3 <= polls <= 200  # paced by pollInterval, not a busy loop
    source.close()
    assert fake.live_sessions() == []


def test_video_still_processing_fails_alone(fake: FakeGooglePhotos, tmp_path: Path) -> None:
    ready = library(fake, 1)
    busy = fake.add("new.mp4", START, b"not yet", video=True, processing="PROCESSING")
    fake.pick(*ready, busy)
    source, _ = source_for(fake, tmp_path)
    events = list(source.scan())
    assert isinstance(events[0], MediaItem)
    assert isinstance(events[1], Accounted) and events[1].outcome is FileOutcome.FAILED
    assert "processing" in events[1].reason
    assert [item_id for item_id, _ in fake.downloads] == [ready[0].id]
    for event in events:
        if isinstance(event, MediaItem):
            event.release()


def test_refresh_token_revoked_mid_run(fake: FakeGooglePhotos, tmp_path: Path) -> None:
    items = library(fake, 6)
    fake.pick(*items)
    source, _ = source_for(fake, tmp_path)
    events = source.scan()
    first = next(events)
    assert isinstance(first, MediaItem)
    fake.oauth.revoke()
    with pytest.raises(GoogleAuthError, match="auth google"):
        next(events)
    first.release()
    source.close()


def test_items_the_plan_skips_are_not_downloaded(fake: FakeGooglePhotos,
                                                 tmp_path: Path) -> None:
    items = library(fake, 5)
    fake.pick(*items)
    source, _ = source_for(fake, tmp_path)
    source._wanted = lambda item: item.file.name.endswith(("1.jpg", "3.jpg"))
    events = list(source.scan())
    assert len(events) == 5
    assert {item_id for item_id, _ in fake.downloads} == {items[1].id, items[3].id}
    skipped = events[0]
    assert isinstance(skipped, MediaItem)
    with pytest.raises(OSError, match="not downloaded"):
        skipped.file.opener()
    for event in events:
        assert isinstance(event, MediaItem)
        event.release()


def test_a_large_video_is_streamed_not_held(fake: FakeGooglePhotos, tmp_path: Path) -> None:
    big = unique_mp4("x") + bytes(48 * 1024 * 1024)
    video = fake.add("long.mp4", START, big, video=True)
    fake.pick(video)
    digest = hashlib.sha1(big).hexdigest()
    source, _ = source_for(fake, tmp_path)
    tracemalloc.start()
    try:
        event = next(source.scan())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert isinstance(event, MediaItem) and event.file.size == len(big)
    assert peak < 12 * 1024 * 1024, f"peak {peak / 2**20:.1f} MiB while downloading 48 MiB"
    with event.file.opener() as stream:
        assert hashlib.sha1(stream.read()).hexdigest() == digest
    event.release()
    source.close()


def decode_terminal_qr(text: str) -> list[str]:
    """Read back the QR codes drawn in `text` with an independent decoder (zxing-cpp),
    as a phone's camera would see them on a dark terminal (printed blocks are light)."""
    import zxingcpp
    from PIL import Image

    lines = [line for line in text.splitlines() if line and set(line) <= set("█▀▄ ")]
    light = {"█": (True, True), "▀": (True, False), "▄": (False, True), " ": (False, False)}
    rows: list[list[bool]] = []
    for line in lines:
        rows += [[light[c][0] for c in line], [light[c][1] for c in line]]
    scale, pad = 6, 4
    image = Image.new("L", ((len(rows[0]) + 2 * pad) * scale, (len(rows) + 2 * pad) * scale),
                      255)
    for y, row in enumerate(rows):
        for x, lit in enumerate(row):
            if not lit:
                image.paste(0, ((x + pad) * scale, (y + pad) * scale,
                                (x + pad + 1) * scale, (y + pad + 1) * scale))
    return [found.text for found in zxingcpp.read_barcodes(image)]


@settings(max_examples=12, deadline=None)
@given(session=st.text("abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=8, max_size=120))
def test_the_qr_code_scans_back_to_the_link(session: str) -> None:
    uri = f"https://photos.google.com/picker/{session}"
    assert decode_terminal_qr(qr_text(uri)) == [uri]


def test_the_link_is_shown_with_its_qr_code(fake: FakeGooglePhotos, tmp_path: Path) -> None:
    from rich.console import Console

    items = library(fake, 1)
    fake.pick(*items)
    token, _ = fake.token_file(tmp_path / "token.json")
    google = GoogleSettings(token_file=str(token), picker_root_url=f"{fake.url}/")
    api = PickerApi(google.picker_root_url, TokenKeeper(load_credentials(google)))
    out = Console(file=io.StringIO(), width=300)
    source = PickerSource(api, Settings(google=google), show_link(out))
    read_all(source.scan())
    source.close()
    printed = out.file.getvalue()  # type: ignore[attr-defined]
    uri = f"https://photos.google.com/picker/{next(iter(fake.sessions))}"
    assert uri in printed.splitlines()
    assert decode_terminal_qr(printed) == [uri]


@given(moment=st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2100, 1, 1),
                           timezones=st.just(UTC)),
       digits=st.sampled_from([0, 3, 6, 9]), seconds=st.decimals(0, 10**6, places=9))
def test_google_timestamps_and_durations_parse(moment: datetime, digits: int,
                                               seconds: Any) -> None:
    """RFC 3339 as Google writes it (Z-normalized, 0/3/6/9 fractional digits) and
    google-duration strings ("1.5s")."""
    from importer.sources.picker_api import _instant, _seconds

    fraction = f"{moment.microsecond:06d}000"[:digits]
    text = moment.strftime("%Y-%m-%dT%H:%M:%S") + (f".{fraction}" if digits else "") + "Z"
    parsed = _instant(text)
    assert parsed is not None and parsed.utcoffset() == timedelta(0)
    cut = {0: timedelta(seconds=1), 3: timedelta(milliseconds=1)}.get(digits)
    assert parsed == moment if cut is None else moment - cut < parsed <= moment
    assert _seconds(f"{seconds}s") == pytest.approx(float(seconds))
    assert _seconds(str(seconds)) is None


def test_max_items_is_checked_and_sent(fake: FakeGooglePhotos, tmp_path: Path) -> None:
    from importer.config import ConfigError, build_settings

    fake.pick(*library(fake, 5))
    source, _ = source_for(fake, tmp_path, max_items=3)
    assert len(read_all(source.scan())) == 3  # the picker lets the user choose 3 at most
    source.close()

    config = tmp_path / "c.yaml"
    config.write_text("google:\n  max_items: 2001\n")
    with pytest.raises(ConfigError, match=r"google\.max_items"):
        build_settings(config, {}, env={})
    config.write_text("google:\n  max_items: 3\n")
    assert build_settings(config, {}, env={}).google.max_items == 3
