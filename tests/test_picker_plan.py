"""The same photo from the Picker and from Takeout stays one item: the planner's rules and
the state look-ups feeding them."""

from __future__ import annotations

import io
import unicodedata
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from importer.config import TakeoutSettings
from importer.model import (
    Album,
    DateSource,
    FileOutcome,
    MediaFile,
    MediaItem,
    MediaType,
    Metadata,
    PreparedAsset,
    PreparedFile,
)
from importer.plan import ActionKind, after_prepare, plan_for, plan_item
from importer.state import ItemRecord, State, TargetRecord

TARGET = "immich:http://gallery"
WHEN = datetime(2022, 8, 9, 20, 34, 49, tzinfo=UTC)


def item(name: str, taken: datetime | None = WHEN, *, picker: str | None = None,
         url: str | None = None, albums: tuple[Album, ...] = (), title: str | None = None
         ) -> MediaItem:
    file = MediaFile(name, f"x:{name}", 10, MediaType.PHOTO, "image/jpeg",
                     lambda: io.BytesIO(b"x"))
    source = DateSource.PICKER if picker else DateSource.SIDECAR
    meta = Metadata(taken_at=taken, taken_at_source=source if taken else DateSource.NONE,
                    google_url=url, title=title, favorite=bool(url))
    return MediaItem(file, meta, albums, picker_id=picker)


def done(remote: str = "asset-1", albums: tuple[str, ...] = (), **synced: object
         ) -> TargetRecord:
    return TargetRecord("imported", "2024-01-01T00:00:00+00:00", remote, "w" * 40,
                        albums=albums, synced=dict(synced))


def record(identity: str, name: str, *, origin: str | None, taken: datetime = WHEN,
           sha1: str = "s" * 40, albums: tuple[str, ...] = ()) -> ItemRecord:
    return ItemRecord(identity, name, sha1, None, {TARGET: done(albums=albums)},
                      origin=origin, taken_at=taken.isoformat())


@pytest.fixture
def state(tmp_path: Path) -> State:
    return State(tmp_path / "state.sqlite")


def asset_of(it: MediaItem, source_sha1: str) -> PreparedAsset:
    primary = PreparedFile(it.file.name, 10, "image/jpeg", "9" * 40, source_sha1,
                           lambda: io.BytesIO(b"x"))
    return PreparedAsset(it, "id", primary)


def test_takeout_item_completes_the_picker_copy(state: State) -> None:
    state.put(record("picker:A1", "IMG_1.jpg", origin="picker", albums=("title:Picked",)))
    takeout = item("IMG_1.jpg", url="https://photos.google.com/photo/X",
                   albums=(Album("title:Trip", "Trip"),))
    upload = plan_for(takeout, "https://photos.google.com/photo/X", state, TARGET,
                      TakeoutSettings())
    assert upload.kind is ActionKind.UPLOAD  # decided once the bytes are hashed
    action = after_prepare(upload, asset_of(takeout, "o" * 40), state, TARGET)
    assert action.kind is ActionKind.COMPLETE and action.same_as == "picker:A1"
    assert action.previous is not None and action.previous.remote_id == "asset-1"
    assert action.albums == takeout.albums and "capture time and name" in action.reason
    state.close()


def test_same_bytes_are_the_same_photo_whatever_the_name(state: State) -> None:
    state.put(record("picker:A1", "renamed.jpg", origin="picker", sha1="b" * 40,
                     taken=WHEN - timedelta(days=3)))
    state.put(record("https://x/other", "other.jpg", origin=None, sha1="c" * 40))
    takeout = item("IMG_1.jpg", url="https://x/1")
    upload = plan_for(takeout, "https://x/1", state, TARGET, TakeoutSettings())
    by_bytes = after_prepare(upload, asset_of(takeout, "b" * 40), state, TARGET)
    assert by_bytes.kind is ActionKind.COMPLETE and "same bytes" in by_bytes.reason
    # Bytes another Takeout item holds: the usual checksum adoption, not a completion.
    other = after_prepare(upload, asset_of(takeout, "c" * 40), state, TARGET)
    assert other is upload
    state.close()


def test_picker_item_already_there_from_takeout_is_not_downloaded(state: State) -> None:
    state.put(record("https://x/1", "IMG_1.jpg", origin=None, albums=("title:Trip",)))
    picked = item("img_1.JPG", WHEN + timedelta(microseconds=400_000), picker="P1")
    action = plan_for(picked, "picker:P1", state, TARGET, TakeoutSettings())
    assert action.kind is ActionKind.SKIP and action.skip_outcome is FileOutcome.ALREADY_THERE
    assert action.identity == "https://x/1" and "already imported from Takeout" in action.reason
    with_album = replace(picked, albums=(Album("title:Best", "Best"),))
    add = plan_for(with_album, "picker:P1", state, TARGET, TakeoutSettings())
    assert add.kind is ActionKind.ADD_TO_ALBUMS and add.identity == "https://x/1"
    assert [a.key for a in add.albums] == ["title:Best"]
    # The Takeout album counts as current: adding one more is not a rename.
    assert {a.key for a in add.item.albums} == {"title:Best", "title:Trip"}
    state.close()


def test_same_source_never_merges_by_time_and_name(state: State) -> None:
    """Two Picker items (or two Takeout items) with one name and second are two photos."""
    state.put(record("picker:P1", "IMG_1.jpg", origin="picker"))
    state.put(record("https://x/1", "IMG_1.jpg", origin=None))
    assert plan_for(item("IMG_1.jpg", picker="P2"), "picker:P2", state, TARGET,
                    TakeoutSettings()).kind is ActionKind.SKIP  # the Takeout one matches
    takeout = item("IMG_1.jpg", url="https://x/2")
    state.put(replace(record("picker:P1", "IMG_1.jpg", origin="picker"), targets={}))
    action = after_prepare(plan_for(takeout, "https://x/2", state, TARGET, TakeoutSettings()),
                           asset_of(takeout, "z" * 40), state, TARGET)
    assert action.kind is ActionKind.UPLOAD  # only a Picker record *on the target* counts
    state.close()


def test_picker_values_never_update_the_target() -> None:
    """The Picker knows no favorite, place or caption: a Picker item already imported
    (perhaps completed by Takeout since) is never 'changed in Google Photos'."""
    previous = done(favorite=True, location=[1.0, 2.0], description="from Takeout",
                    taken_at=WHEN.isoformat(), archived=False)
    rec = ItemRecord("picker:P1", "IMG_1.jpg", targets={TARGET: previous}, origin="picker")
    action = plan_item(item("IMG_1.jpg", picker="P1"), "picker:P1", rec, TARGET,
                       TakeoutSettings())
    assert action.kind is ActionKind.SKIP


def test_a_new_album_on_a_repick_keeps_the_old_one_current(state: State) -> None:
    state.put(record("picker:P1", "IMG_1.jpg", origin="picker", albums=("title:First",)))
    again = item("IMG_1.jpg", picker="P1", albums=(Album("title:Second", "Second"),))
    action = plan_for(again, "picker:P1", state, TARGET, TakeoutSettings())
    assert action.kind is ActionKind.ADD_TO_ALBUMS
    assert [a.key for a in action.albums] == ["title:Second"]
    assert {a.key for a in action.item.albums} == {"title:First", "title:Second"}
    state.close()


names = st.text(st.characters(codec="utf-8", categories=("L", "N")), min_size=1,
                max_size=12).map(lambda s: s + ".jpg")


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=names, other=names, shift=st.integers(-3, 3), micro=st.integers(0, 999_999),
       upper=st.booleans(), nfd=st.booleans())
def test_time_and_name_match_exactly_when_they_should(
        tmp_path_factory: pytest.TempPathFactory, name: str, other: str, shift: int,
        micro: int, upper: bool, nfd: bool) -> None:
    """Same capture second (any fraction) and same name up to case and Unicode form: a
    match; any other second or name: none."""
    assume(unicodedata.normalize("NFC", name).casefold()
           != unicodedata.normalize("NFC", other).casefold())
    folder = tmp_path_factory.mktemp("state")
    with State(folder / "s.sqlite") as opened:
        opened.put(record("https://x/1", name, origin=None))
        shown = name.upper() if upper else name
        shown = unicodedata.normalize("NFD", shown) if nfd else shown
        moment = WHEN + timedelta(seconds=shift, microseconds=micro)
        found = opened.same_photo(TARGET, moment, [shown], origin=None)
        same = unicodedata.normalize("NFC", shown).casefold() == \
            unicodedata.normalize("NFC", name).casefold()
        assert (found is not None) == (shift == 0 and same)
        assert opened.same_photo(TARGET, WHEN, [other], origin=None) is None
        assert opened.same_photo(TARGET, WHEN, [name], origin="picker") is None


def test_records_keep_old_readers_working(tmp_path: Path) -> None:
    plain = ItemRecord("https://x/1", "a.jpg", "s" * 40)
    assert set(plain.to_json()) == {"identity", "name", "source_sha1", "google_url", "targets"}
    marked = replace(plain, origin="picker", taken_at=WHEN.isoformat(), same_as="u")
    data = marked.to_json()
    assert data["origin"] == "picker" and "title" not in data
    assert ItemRecord.from_json(data) == marked
    with State(tmp_path / "s.sqlite") as opened:
        opened.put(marked)
        assert opened.get("https://x/1") == marked
