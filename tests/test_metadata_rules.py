"""Issue 9: metadata is never degraded by a later export, a date changed in Google is
applied as the first import would apply it, and an EXIF date without an offset is judged
against Google's instant (kept with the offset that explains the difference, else Google's
instant wins and the conflict is listed)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from importer.metadata.facts import FileFacts
from importer.metadata.resolve import IMPLIED_TOLERANCE, resolve
from importer.model import DateSource, GeoPoint, Metadata
from importer.plan import changed_fields, synced_after, synced_values
from importer.state import TargetRecord

LISBON = GeoPoint(38.7139, -9.1334)
GOOD = Metadata(taken_at=datetime(2019, 7, 4, 9, 15, tzinfo=UTC),
                taken_at_source=DateSource.SIDECAR, location=LISBON,
                description="Tram 28", favorite=True)

instants = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2035, 1, 1),
                        timezones=st.just(UTC))
places = st.none() | st.builds(GeoPoint, st.floats(-80, 80), st.floats(-179, 179))
captions = st.none() | st.text(min_size=1, max_size=20).filter(str.strip)
sources = st.sampled_from([DateSource.SIDECAR, DateSource.FILENAME, DateSource.NONE])


def record(metadata: Metadata) -> TargetRecord:
    return TargetRecord("imported", "2024-01-01T00:00:00+00:00", "r1",
                        synced=synced_values(metadata))


@settings(deadline=None)
@given(taken=st.none() | instants, source=sources, place=places, caption=captions,
       favorite=st.booleans(), archived=st.booleans())
def test_a_value_a_later_export_lacks_is_never_a_change(
        taken: datetime | None, source: DateSource, place: GeoPoint | None,
        caption: str | None, favorite: bool, archived: bool) -> None:
    later = Metadata(taken_at=taken, taken_at_source=source if taken else DateSource.NONE,
                     location=place, description=caption, favorite=favorite,
                     archived=archived)
    previous = record(GOOD)
    changed = changed_fields(previous, later)
    kept = synced_after(previous, later)
    now = synced_values(later)
    for field in ("location", "description"):
        assert (field in changed) == (now[field] is not None
                                      and now[field] != previous.synced[field])
        assert kept[field] == (previous.synced[field] if now[field] is None else now[field])
    google_date = taken is not None and source is DateSource.SIDECAR
    assert ("taken_at" in changed) == (google_date and now["taken_at"]
                                       != previous.synced["taken_at"])
    assert kept["taken_at"] == (now["taken_at"] if google_date else previous.synced["taken_at"])
    for flag in ("favorite", "archived"):  # flags always come with the sidecar
        assert (flag in changed) == (now[flag] != previous.synced[flag])


def test_a_first_value_is_taken_whatever_its_source() -> None:
    """Nothing recorded yet: a file-name date or any value is better than none."""
    undated = record(Metadata())
    later = Metadata(taken_at=datetime(2020, 1, 1, tzinfo=UTC),
                     taken_at_source=DateSource.FILENAME, description="x")
    assert changed_fields(undated, later) == frozenset({"taken_at", "description"})


# -- an EXIF date without an offset against Google's instant -----------------------------------

def google_at(instant: datetime, prefer_place: GeoPoint | None = None) -> Metadata:
    return Metadata(taken_at=instant, taken_at_source=DateSource.SIDECAR,
                    location=prefer_place)


@settings(deadline=None)
@given(instant=instants, quarters=st.integers(-56, 56),
       slack=st.integers(-int(IMPLIED_TOLERANCE.total_seconds()),
                         int(IMPLIED_TOLERANCE.total_seconds())),
       prefer=st.sampled_from([frozenset(), frozenset({"taken_at"})]))
def test_a_wall_time_a_whole_offset_explains_keeps_that_offset(
        instant: datetime, quarters: int, slack: int, prefer: frozenset[str]) -> None:
    offset = timedelta(minutes=15 * quarters)
    wall = (instant + offset + timedelta(seconds=slack)).replace(tzinfo=None)
    result = resolve(FileFacts(taken_at=wall), google_at(instant), prefer)
    taken = result.metadata.taken_at
    assert taken is not None and taken.replace(tzinfo=None) == wall
    assert taken.utcoffset() == offset
    assert result.metadata.taken_at_source is DateSource.EXIF
    assert "taken_at" in result.from_file
    assert [c for c in result.conflicts if c.field == "taken_at"] == []


def _unexplained(delta: timedelta) -> bool:
    seconds = delta.total_seconds()
    quarters = round(seconds / 900)
    return abs(quarters) > 56 or abs(seconds - quarters * 900) > IMPLIED_TOLERANCE.total_seconds()


@settings(deadline=None)
@given(instant=instants, delta=st.timedeltas(min_value=timedelta(days=-400),
                                           max_value=timedelta(days=400)).filter(_unexplained),
       place=st.sampled_from([None, LISBON]),
       prefer=st.sampled_from([frozenset(), frozenset({"taken_at"})]))
def test_a_wall_time_no_offset_explains_loses_to_googles_instant(
        instant: datetime, delta: timedelta, place: GeoPoint | None,
        prefer: frozenset[str]) -> None:
    wall = (instant + delta).replace(tzinfo=None, microsecond=0)
    result = resolve(FileFacts(taken_at=wall), google_at(instant, place), prefer)
    taken = result.metadata.taken_at
    assert taken == instant  # the same instant, shown in the place's zone if known
    assert result.metadata.taken_at_source is DateSource.SIDECAR
    assert "taken_at" not in result.from_file
    [conflict] = [c for c in result.conflicts if c.field == "taken_at"]
    assert conflict.winner == "google" and "no offset" in conflict.file_value
    if place is not None:  # shown in Lisbon's own offset at that instant
        assert result.metadata.time_zone == "Europe/Lisbon"


@settings(deadline=None)
@given(instant=instants, delta=st.timedeltas(min_value=timedelta(minutes=2),
                                           max_value=timedelta(days=3)))
def test_a_date_with_its_own_offset_still_wins_by_default(instant: datetime,
                                                          delta: timedelta) -> None:
    """The rule is for wall times without an offset; a stated offset makes the file's date
    an instant of its own, and the file wins unless Google is preferred."""
    own = (instant + delta).astimezone(timezone(timedelta(hours=2)))
    result = resolve(FileFacts(taken_at=own), google_at(instant), frozenset())
    assert result.metadata.taken_at == own
    assert [c.winner for c in result.conflicts if c.field == "taken_at"] == ["file"]
