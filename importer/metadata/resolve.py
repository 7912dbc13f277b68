"""Which value wins: the file's own or Google's, field by field, with every conflict named.

The file wins by default: a camera's EXIF is first-hand, and Google's JSON mostly repeats
it. Users who edited a date, place or caption in Google Photos can let Google win per field
(`metadata.prefer_google`). One exception: an EXIF date without an offset is a wall time in
an unknown zone; when it differs from Google's instant by a whole offset (15-minute steps,
±14 h, give or take `IMPLIED_TOLERANCE`) that offset is its own and the file's wall time
stays, but when no offset can explain the difference the wall time is simply wrong (a camera
clock never set, a date edited in Google) and Google's instant wins, as a listed conflict.
Pure functions of values (plus the offline time zone look-up).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, timezone

from importer.metadata import tz
from importer.metadata.convert import (
    clean_text,
    distance_m,
    has_whole_minute_offset,
    valid_position,
    with_fixed_offset,
)
from importer.metadata.facts import FileFacts
from importer.model import DateSource, GeoPoint, Metadata, MetadataConflict

DATE_TOLERANCE = timedelta(minutes=1)
"""Capture times closer than this are the same (Google rounds; cameras store seconds)."""
IMPLIED_TOLERANCE = timedelta(minutes=3)
"""A naive wall time this close to Google's instant plus a whole offset has that offset."""
MAX_OFFSET_QUARTERS = 56  # ±14 h in quarter hours: every offset in use
POSITION_TOLERANCE_M = 20.0
"""Positions closer than this are the same place (rounding of DMS rationals, JSON digits)."""
GOOGLE_INSTANTS = frozenset({DateSource.SIDECAR, DateSource.PICKER})
"""Capture times Google gives as instants (UTC): they tell a naive EXIF time its offset."""
_QUARTER_HOUR = 900


@dataclass(frozen=True)
class Resolution:
    """The winning values, the conflicts met on the way, and what came from the file.

    `offset_assumed` is True when the capture time is the file's naive wall time read as
    UTC for want of any evidence: good enough to sort by, not to be written into the file.
    """

    metadata: Metadata
    conflicts: tuple[MetadataConflict, ...] = ()
    from_file: frozenset[str] = frozenset()
    offset_assumed: bool = False


def implied_offset(wall: datetime, instant: datetime) -> datetime | None:
    """A naive wall time made aware when it differs from the known instant by a whole number
    of quarter hours within ±14 h (give or take `IMPLIED_TOLERANCE`): that is its offset."""
    delta = wall - instant.astimezone(UTC).replace(tzinfo=None)
    quarters = round(delta.total_seconds() / _QUARTER_HOUR)
    slack = abs(delta.total_seconds() - quarters * _QUARTER_HOUR)
    if abs(quarters) > MAX_OFFSET_QUARTERS or slack > IMPLIED_TOLERANCE.total_seconds():
        return None
    return wall.replace(tzinfo=timezone(timedelta(seconds=quarters * _QUARTER_HOUR)))


def present(instant: datetime, own: timezone | None, zone: str | None) -> datetime:
    """An instant as a wall time: in the file's own offset, else the place's zone, else UTC."""
    if own is not None:
        try:
            return instant.astimezone(own)
        except OverflowError:
            pass
    local = tz.instant_in_zone(instant, zone) if zone else None
    return local if local is not None else instant.astimezone(UTC)


def _google_time(google: Metadata, zone: str | None) -> tuple[datetime | None, bool]:
    """Google's capture time, and whether it already is a local wall time: a file-name date
    is one (labelled UTC by the source), so it is read again in the GPS zone when known."""
    moment = google.taken_at
    if moment is None:
        return None, False
    if google.taken_at_source is DateSource.FILENAME and zone:
        local = tz.wall_in_zone(moment.replace(tzinfo=None), zone)
        if local is not None:
            return local, True
    return moment, False


def _file_time(facts: FileFacts, zone: str | None) -> tuple[datetime | None, bool]:
    """The file's capture time made aware without Google's help, and whether its offset is
    a bare assumption."""
    moment = facts.taken_at
    if moment is None or moment.tzinfo is not None:
        return moment, False
    if facts.naive_is_utc:
        return present(moment.replace(tzinfo=UTC), facts.offset, zone), False
    if facts.offset is not None:
        return moment.replace(tzinfo=facts.offset), False
    local = tz.wall_in_zone(moment, zone) if zone else None
    if local is not None:
        return local, False
    return moment.replace(tzinfo=UTC), True


def _no_offset(facts: FileFacts, wall: datetime) -> bool:
    """An EXIF wall time stating no offset (QuickTime's naive times are UTC by the spec)."""
    return wall.tzinfo is None and not facts.naive_is_utc


def _describe_time(moment: datetime) -> str:
    return moment.isoformat()


def _describe_place(point: GeoPoint) -> str:
    return f"{point.latitude:.6f}, {point.longitude:.6f}"


def _winner(field: str, prefer: frozenset[str]) -> str:
    return "google" if field in prefer else "file"


def _valid(point: GeoPoint | None) -> GeoPoint | None:
    return point if point and valid_position(point.latitude, point.longitude) else None


class _Resolver:
    def __init__(self, facts: FileFacts, google: Metadata, prefer: frozenset[str]) -> None:
        self.facts, self.google, self.prefer = facts, google, prefer
        self.conflicts: list[MetadataConflict] = []
        self.from_file: set[str] = set()

    def _conflict(self, field: str, mine: str, theirs: str) -> bool:
        """Record the conflict; True when Google's value wins it."""
        winner = _winner(field, self.prefer)
        self.conflicts.append(MetadataConflict(field, mine, theirs, winner))
        return winner == "google"

    def location(self) -> GeoPoint | None:
        """Google's value is the place the user set if there is one (`edited_location`);
        where the file has no position, Takeout's rule (the camera's first) fills it in
        unless the user prefers Google's edits."""
        mine = self.facts.location
        camera, edited = _valid(self.google.location), _valid(self.google.edited_location)
        theirs = edited or camera
        if mine is None:
            return edited if edited and "location" in self.prefer else camera
        if (theirs is not None and distance_m(mine, theirs) > POSITION_TOLERANCE_M
                and self._conflict("location", _describe_place(mine), _describe_place(theirs))):
            return theirs
        self.from_file.add("location")
        return mine

    def description(self) -> str | None:
        mine, theirs = self.facts.description, self.google.description
        if mine is None:
            return theirs
        if (theirs is not None and mine.strip() != theirs.strip()
                and self._conflict("description", mine, theirs)):
            return theirs
        self.from_file.add("description")
        return mine

    def taken_at(self, zone: str | None) -> tuple[datetime | None, DateSource, bool]:
        """The capture time, where it came from, and whether its offset is assumed."""
        theirs, local = _google_time(self.google, zone)
        sidecar = theirs if self.google.taken_at_source in GOOGLE_INSTANTS else None
        wall = self.facts.taken_at
        if sidecar is not None and wall is not None and _no_offset(self.facts, wall):
            return self._wall_against(wall, sidecar, zone)
        mine, assumed = _file_time(self.facts, zone)
        own = self.facts.offset
        if own is None and mine is not None and not assumed:
            own = mine.tzinfo if isinstance(mine.tzinfo, timezone) else None
        if mine is None:
            if theirs is None:
                return None, DateSource.NONE, False
            shown = theirs if local else present(theirs, own, zone)
            return shown, self.google.taken_at_source, False
        if (sidecar is not None and abs(mine - sidecar) > DATE_TOLERANCE
                and self._conflict("taken_at", _describe_time(mine), _describe_time(sidecar))):
            return present(sidecar, own, zone), self.google.taken_at_source, False
        self.from_file.add("taken_at")
        return mine, DateSource.EXIF, assumed


    def _wall_against(self, wall: datetime, instant: datetime,
                      zone: str | None) -> tuple[datetime, DateSource, bool]:
        """A wall time without an offset against Google's instant: kept with the offset
        that explains the difference, else Google's instant wins (see the module)."""
        implied = implied_offset(wall, instant)
        if implied is not None:
            self.from_file.add("taken_at")
            return implied, DateSource.EXIF, False
        self.conflicts.append(MetadataConflict(
            "taken_at", f"{wall.isoformat()} (no offset)", _describe_time(instant), "google"))
        return present(instant, self.facts.offset, zone), self.google.taken_at_source, False


def _zone_matching(zone: str | None, moment: datetime | None) -> str | None:
    """The zone name only when it states the same offset as the time itself."""
    if zone is None or moment is None:
        return None
    local = tz.instant_in_zone(moment, zone)
    return zone if local is not None and local.utcoffset() == moment.utcoffset() else None


def resolve(facts: FileFacts, google: Metadata, prefer: frozenset[str]) -> Resolution:
    """Merge the file's own metadata with Google's; `prefer` names the fields
    ("taken_at", "location", "description") where Google's value wins a conflict."""
    resolver = _Resolver(facts, google, prefer)
    location = resolver.location()
    zone = tz.zone_at(location) if location is not None else None
    taken_at, source, assumed = resolver.taken_at(zone)
    if taken_at is not None:
        if not has_whole_minute_offset(taken_at):
            taken_at = taken_at.astimezone(UTC)
        taken_at = with_fixed_offset(taken_at)
    metadata = replace(
        google,
        taken_at=taken_at,
        taken_at_source=source,
        location=location,
        description=resolver.description(),
        time_zone=_zone_matching(zone, taken_at),
    )
    return Resolution(metadata, tuple(resolver.conflicts), frozenset(resolver.from_file),
                      assumed)


def resolve_without_file(google: Metadata) -> Metadata:
    """Google's values alone, presented as a first import would present them when the
    file says nothing: the capture time in the place's time zone, else UTC."""
    return resolve(FileFacts(readable=False), google, frozenset()).metadata


def lacking(facts: FileFacts, resolution: Resolution) -> frozenset[str]:
    """Resolved fields the file's own metadata does not state as resolved: these need a
    carrier (EXIF we add, else the XMP sidecar). A file we cannot read lacks everything."""
    meta = resolution.metadata
    missing: set[str] = set()
    mine = facts.taken_at if facts.readable and not facts.damaged else None
    if meta.taken_at is not None:
        if mine is None:
            missing.add("taken_at")
        elif mine.tzinfo is None:
            if not (resolution.offset_assumed and mine == meta.taken_at.replace(tzinfo=None)):
                missing.add("taken_at")
        elif mine != meta.taken_at or mine.utcoffset() != meta.taken_at.utcoffset():
            missing.add("taken_at")
    if meta.location is not None and (facts.location is None
                                      or distance_m(facts.location, meta.location) > 0.5):
        missing.add("location")
    caption = clean_text(meta.description or "")
    if caption and (facts.shown_description or facts.description) != caption:
        missing.add("description")
    return frozenset(missing)
