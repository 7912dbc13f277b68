"""Issue 4: which value wins (file or Google), conflicts, and time zones from GPS."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from importer.metadata import tz
from importer.metadata.facts import UNREAD, FileFacts
from importer.metadata.resolve import implied_offset, lacking, resolve
from importer.model import DateSource, GeoPoint, Metadata

LISBON = GeoPoint(38.7139, -9.1334, 45.0)
DELHI = GeoPoint(28.6139, 77.2090)
SYDNEY = GeoPoint(-33.8568, 151.2153)
NONE: frozenset[str] = frozenset()


def google(taken: datetime | None = None, **fields: object) -> Metadata:
    source = DateSource.SIDECAR if taken else DateSource.NONE
    return Metadata(taken_at=taken, taken_at_source=source, **fields)  # type: ignore[arg-type]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


@pytest.mark.parametrize(("point", "zone"), [
    (LISBON, "Europe/Lisbon"), (DELHI, "Asia/Kolkata"), (SYDNEY, "Australia/Sydney"),
    (GeoPoint(40.7128, -74.006), "America/New_York"),
    (GeoPoint(-54.8019, -68.3030), "America/Argentina/Ushuaia"),
    (GeoPoint(0.0001, -30.0), "Etc/GMT+2"),  # mid-Atlantic: the nautical zone
])
def test_zone_at_position(point: GeoPoint, zone: str) -> None:
    assert tz.zone_at(point) == zone


@given(st.floats(-90, 90, allow_nan=False), st.floats(-180, 180, allow_nan=False))
def test_every_position_gets_a_zone(lat: float, lon: float) -> None:
    assert tz.zone_at(GeoPoint(lat, lon)) is not None


def test_summer_time_and_history() -> None:
    summer = tz.instant_in_zone(at("2019-07-04T09:15:00+00:00"), "Europe/Lisbon")
    winter = tz.instant_in_zone(at("2019-01-04T09:15:00+00:00"), "Europe/Lisbon")
    assert summer is not None and summer.isoformat() == "2019-07-04T10:15:00+01:00"
    assert winter is not None and winter.isoformat() == "2019-01-04T09:15:00+00:00"
    # Local mean time (-0:36:45 in Lisbon before 1912) has seconds: not an EXIF offset.
    assert tz.instant_in_zone(at("1890-01-01T12:00:00+00:00"), "Europe/Lisbon") is None
    wall = tz.wall_in_zone(datetime(2023, 3, 12, 2, 30), "America/New_York")  # DST gap
    assert wall is not None and wall.utcoffset() is not None


def test_google_instant_is_shown_in_the_local_offset_of_its_place() -> None:
    result = resolve(FileFacts(), google(at("2019-07-04T09:15:00+00:00"), location=DELHI), NONE)
    assert result.metadata.taken_at is not None
    assert result.metadata.taken_at.isoformat() == "2019-07-04T14:45:00+05:30"
    assert result.metadata.time_zone == "Asia/Kolkata"
    assert result.conflicts == () and result.from_file == frozenset()


def test_without_position_utc_is_written_with_its_offset() -> None:
    result = resolve(FileFacts(), google(at("2019-07-04T09:15:00+00:00")), NONE)
    assert result.metadata.taken_at == at("2019-07-04T09:15:00+00:00")
    assert result.metadata.taken_at.utcoffset() == timedelta(0)
    assert result.metadata.time_zone is None


def test_the_files_own_offset_beats_the_gps_zone() -> None:
    """A camera still set to Berlin time in Lisbon: its own offset is what it says."""
    facts = FileFacts(offset=timezone(timedelta(hours=2)))
    result = resolve(facts, google(at("2019-07-04T09:15:00+00:00"), location=LISBON), NONE)
    assert result.metadata.taken_at is not None
    assert result.metadata.taken_at.isoformat() == "2019-07-04T11:15:00+02:00"
    assert result.metadata.time_zone is None  # Lisbon's zone would say +01:00


def test_filename_dates_are_local_wall_times_in_the_gps_zone() -> None:
    meta = Metadata(taken_at=at("2019-07-04T10:15:00+00:00"),
                    taken_at_source=DateSource.FILENAME, location=LISBON)
    result = resolve(FileFacts(), meta, NONE)
    assert result.metadata.taken_at is not None
    assert result.metadata.taken_at.isoformat() == "2019-07-04T10:15:00+01:00"
    assert result.metadata.taken_at_source is DateSource.FILENAME


@pytest.mark.parametrize(("wall", "instant", "offset"), [
    ("2021-05-01T18:30:00", "2021-05-01T16:30:00+00:00", "+02:00"),
    ("2021-05-01T11:00:00", "2021-05-01T16:30:00+00:00", "-05:30"),
    ("2021-05-01T16:30:40", "2021-05-01T16:30:00+00:00", "+00:00"),
    ("2021-05-02T06:15:00", "2021-05-01T16:30:00+00:00", "+13:45"),
])
def test_naive_camera_time_gets_the_offset_googles_instant_implies(
        wall: str, instant: str, offset: str) -> None:
    implied = implied_offset(datetime.fromisoformat(wall), at(instant))
    assert implied is not None and implied.isoformat().endswith(offset)


@pytest.mark.parametrize(("wall", "instant"), [
    ("2021-05-01T18:37:00", "2021-05-01T16:30:00+00:00"),  # 7 minutes off a quarter hour
    ("2021-05-03T18:30:00", "2021-05-01T16:30:00+00:00"),  # two days: no offset is that big
])
def test_no_offset_implied_from_unrelated_times(wall: str, instant: str) -> None:
    assert implied_offset(datetime.fromisoformat(wall), at(instant)) is None


def test_date_conflict_file_wins_by_default_and_google_when_preferred() -> None:
    facts = FileFacts(taken_at=at("2020-01-02T03:04:05-05:00"))
    meta = google(at("2020-01-05T12:00:00+00:00"), location=LISBON)
    default = resolve(facts, meta, NONE)
    assert default.metadata.taken_at == facts.taken_at
    assert default.metadata.taken_at_source is DateSource.EXIF
    assert "taken_at" in default.from_file
    [conflict] = default.conflicts
    assert (conflict.field, conflict.winner) == ("taken_at", "file")
    assert conflict.file_value == "2020-01-02T03:04:05-05:00"
    assert conflict.google_value == "2020-01-05T12:00:00+00:00"
    preferred = resolve(facts, meta, frozenset({"taken_at"}))
    assert preferred.metadata.taken_at == meta.taken_at
    assert preferred.metadata.taken_at is not None
    assert preferred.metadata.taken_at.utcoffset() == timedelta(hours=-5)  # the file's offset
    assert preferred.conflicts[0].winner == "google"
    assert "taken_at" not in preferred.from_file


def test_a_minute_apart_is_no_conflict() -> None:
    facts = FileFacts(taken_at=at("2020-01-02T03:04:05+00:00"))
    result = resolve(facts, google(at("2020-01-02T03:05:05+00:00")), NONE)
    assert result.conflicts == ()
    result = resolve(facts, google(at("2020-01-02T03:05:06+00:00")), NONE)
    assert [c.field for c in result.conflicts] == ["taken_at"]


def test_position_conflicts_beyond_twenty_metres() -> None:
    near = GeoPoint(LISBON.latitude + 0.0001, LISBON.longitude)  # ~11 m north
    far = GeoPoint(LISBON.latitude + 0.01, LISBON.longitude)  # ~1.1 km north
    assert resolve(FileFacts(location=LISBON), google(location=near), NONE).conflicts == ()
    result = resolve(FileFacts(location=LISBON), google(location=far), NONE)
    assert result.metadata.location == LISBON
    assert result.conflicts[0].field == "location"
    won = resolve(FileFacts(location=LISBON), google(location=far), frozenset({"location"}))
    assert won.metadata.location == far and "location" not in won.from_file


def test_a_position_edited_in_google_photos_wins_only_when_preferred() -> None:
    edited = GeoPoint(LISBON.latitude + 0.05, LISBON.longitude)  # moved ~5.5 km
    metadata = google(location=LISBON, edited_location=edited)
    kept = resolve(FileFacts(location=LISBON), metadata, NONE)
    assert kept.metadata.location == LISBON
    assert [c.field for c in kept.conflicts] == ["location"]
    won = resolve(FileFacts(location=LISBON), metadata, frozenset({"location"}))
    assert won.metadata.location == edited and "location" not in won.from_file
    no_gps = resolve(FileFacts(), metadata, NONE)  # Takeout's rule: the camera's first
    assert no_gps.metadata.location == LISBON
    assert resolve(FileFacts(), metadata, frozenset({"location"})).metadata.location == edited


def test_description_conflict_and_preference() -> None:
    facts = FileFacts(description="From the camera")
    result = resolve(facts, google(description="Typed in Google Photos"), NONE)
    assert result.metadata.description == "From the camera"
    assert result.conflicts[0].google_value == "Typed in Google Photos"
    won = resolve(facts, google(description="Typed in Google Photos"),
                  frozenset({"description"}))
    assert won.metadata.description == "Typed in Google Photos"


def test_file_values_fill_what_google_lacks() -> None:
    facts = FileFacts(taken_at=at("2020-01-02T03:04:05+01:00"), location=LISBON,
                      description="caption")
    result = resolve(facts, Metadata(), NONE)
    assert result.metadata.taken_at == facts.taken_at
    assert result.metadata.location == LISBON and result.metadata.description == "caption"
    assert result.from_file == frozenset({"taken_at", "location", "description"})
    assert lacking(facts, result) == frozenset()


def test_naive_time_without_evidence_is_assumed_utc_but_not_claimed() -> None:
    facts = FileFacts(taken_at=datetime(2018, 3, 4, 15, 30))
    result = resolve(facts, Metadata(), NONE)
    assert result.offset_assumed
    assert result.metadata.taken_at == at("2018-03-04T15:30:00+00:00")
    assert lacking(facts, result) == frozenset()  # nothing better to say than the file


def test_quicktime_time_is_utc_and_shown_locally() -> None:
    facts = FileFacts(taken_at=datetime(2016, 5, 6, 7, 8, 9), naive_is_utc=True)
    result = resolve(facts, google(location=SYDNEY), NONE)
    assert result.metadata.taken_at is not None
    assert result.metadata.taken_at.isoformat() == "2016-05-06T17:08:09+10:00"
    assert not result.offset_assumed
    assert lacking(facts, result) == frozenset({"taken_at", "location"})  # offset, place


def test_unreadable_files_lack_everything_that_is_known() -> None:
    meta = google(at("2019-07-04T09:15:00+00:00"), location=LISBON, description="x")
    assert lacking(UNREAD, resolve(UNREAD, meta, NONE)) == frozenset(
        {"taken_at", "location", "description"})
