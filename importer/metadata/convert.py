"""Pure conversions between our values and the forms EXIF, XMP and QuickTime store.

Each function here is a small, property-tested translation (dates of any century, any
hemisphere, any text); nothing reads or writes files. Rounding is done in integers so a
value written and read back is the value we meant, to well under a centimetre.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta, timezone
from fractions import Fraction

from importer.model import GeoPoint

Rational = tuple[int, int]

# Seconds of arc are stored with this denominator: 1e-6″ is 3e-11° (well below 1 mm).
ARC_SECOND_DENOMINATOR = 1_000_000
# XMP's "DDD,MM.mmmmmmmmK": minutes with 8 decimals, 1.7e-10° (also well below 1 mm).
_XMP_MINUTE_DIGITS = 8
ALTITUDE_DENOMINATOR = 1000  # millimetres
_MAX_OFFSET = timedelta(hours=14)


# -- dates -----------------------------------------------------------------------------------


def exif_datetime(moment: datetime) -> str:
    """"YYYY:MM:DD HH:MM:SS" of the wall time (strftime would not zero-pad years < 1000)."""
    return (f"{moment.year:04d}:{moment.month:02d}:{moment.day:02d} "
            f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}")


_EXIF_DATE = re.compile(r"^\s*(\d{4})[:\-](\d{2})[:\-](\d{2})[ T](\d{2}):(\d{2}):(\d{2})")


def parse_exif_datetime(text: str) -> datetime | None:
    """A naive wall time from EXIF's text, or None for placeholders ("0000:00:00 …")."""
    match = _EXIF_DATE.match(text)
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(g) for g in match.groups())
    try:
        return datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None


def has_whole_minute_offset(moment: datetime) -> bool:
    offset = moment.utcoffset()
    return offset is not None and offset.total_seconds() % 60 == 0 and abs(offset) <= _MAX_OFFSET


def format_offset(moment: datetime) -> str:
    """"+HH:MM" for an aware time whose offset is whole minutes within ±14 h."""
    if not has_whole_minute_offset(moment):
        raise ValueError(f"offset of {moment!r} cannot be written as ±HH:MM")
    offset = moment.utcoffset() or timedelta(0)
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def parse_offset(text: str) -> timezone | None:
    """"+02:00" -> a fixed offset; anything malformed or beyond ±14 h -> None."""
    text = text.strip()
    if len(text) != 6 or text[0] not in "+-" or text[3] != ":":
        return None
    if not (text[1:3].isdigit() and text[4:6].isdigit()):
        return None
    hours, minutes = int(text[1:3]), int(text[4:6])
    delta = timedelta(hours=hours, minutes=minutes)
    if minutes >= 60 or delta > _MAX_OFFSET:
        return None
    return timezone(-delta if text[0] == "-" else delta)


def xmp_datetime(moment: datetime) -> str:
    """ISO 8601 with its offset, as XMP dates are written: "2019-07-04T10:15:00+01:00"."""
    return (f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}T"
            f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}{format_offset(moment)}")


def with_fixed_offset(moment: datetime) -> datetime:
    """The same instant and wall time with a plain fixed offset instead of a zone object."""
    offset = moment.utcoffset()
    if offset is None:
        raise ValueError("naive datetime")
    return moment.replace(tzinfo=timezone(offset))


# -- positions -------------------------------------------------------------------------------


def _split_arc(value: float, units_per_degree: int) -> tuple[int, int]:
    """|value| as whole degrees and the remainder in integer units (rounded once)."""
    total = round(abs(value) * units_per_degree)
    return total // units_per_degree, total % units_per_degree


def dms_rationals(value: float) -> tuple[Rational, Rational, Rational]:
    """Degrees as EXIF's three rationals (d/1, m/1, s/1e6), sign left to the ref."""
    units = 3600 * ARC_SECOND_DENOMINATOR
    degrees, rest = _split_arc(value, units)
    minutes, seconds = divmod(rest, 60 * ARC_SECOND_DENOMINATOR)
    return (degrees, 1), (minutes, 1), (seconds, ARC_SECOND_DENOMINATOR)


def from_dms_rationals(parts: object, ref: str) -> float | None:
    """EXIF's rationals and ref letter -> signed degrees; None when malformed."""
    if not isinstance(parts, (tuple, list)) or not 1 <= len(parts) <= 3:
        return None
    total = Fraction(0)
    for scale, part in zip((1, 60, 3600), parts, strict=False):
        if not (isinstance(part, (tuple, list)) and len(part) == 2 and part[1]):
            return None
        total += Fraction(int(part[0]), int(part[1])) / scale
    value = float(total)
    return -value if ref.strip().upper() in ("S", "W") else value


def latitude_ref(value: float) -> str:
    return "S" if value < 0 else "N"


def longitude_ref(value: float) -> str:
    return "W" if value < 0 else "E"


def xmp_coordinate(value: float, is_latitude: bool) -> str:
    """XMP's "DDD,MM.mmmmmmmmK" (Adobe XMP spec part 2, GPSCoordinate)."""
    scale = 10**_XMP_MINUTE_DIGITS
    degrees, rest = _split_arc(value, 60 * scale)
    minutes, fraction = divmod(rest, scale)
    decimals = f"{fraction:0{_XMP_MINUTE_DIGITS}d}".rstrip("0") or "0"
    ref = latitude_ref(value) if is_latitude else longitude_ref(value)
    return f"{degrees},{minutes:02d}.{decimals}{ref}"


_XMP_COORDINATE = re.compile(r"^\s*(\d+),(\d+(?:\.\d+)?)(?:,(\d+(?:\.\d+)?))?([NSEW])\s*$")


def parse_xmp_coordinate(text: str) -> float | None:
    match = _XMP_COORDINATE.match(text)
    if match is None:
        return None
    degrees, minutes, seconds, ref = match.groups()
    value = (Fraction(degrees) + Fraction(minutes) / 60
             + (Fraction(seconds) / 3600 if seconds else 0))
    return float(-value if ref in "SW" else value)


def altitude_rational(altitude: float) -> tuple[Rational, int]:
    """Metres as (rational, ref): ref 0 above sea level, 1 below (EXIF GPSAltitudeRef)."""
    return (round(abs(altitude) * ALTITUDE_DENOMINATOR), ALTITUDE_DENOMINATOR), int(altitude < 0)


_NULL_ISLAND = 1e-7  # degrees: about a centimetre


def valid_position(latitude: float, longitude: float) -> bool:
    """In range and not (0, 0), which cameras and Takeout both write for "no fix"."""
    if not (math.isfinite(latitude) and math.isfinite(longitude)):
        return False
    if abs(latitude) > 90 or abs(longitude) > 180:
        return False
    return abs(latitude) >= _NULL_ISLAND or abs(longitude) >= _NULL_ISLAND


def distance_m(a: GeoPoint, b: GeoPoint) -> float:
    """Great-circle distance (haversine on a 6371 km sphere): enough to tell "same place"."""
    lat1, lat2 = math.radians(a.latitude), math.radians(b.latitude)
    dlat = lat2 - lat1
    dlon = math.radians(b.longitude - a.longitude)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    return 2 * 6_371_000 * math.asin(min(1.0, math.sqrt(h)))


_ISO6709 = re.compile(r"^([+-]\d+(?:\.\d*)?)([+-]\d+(?:\.\d*)?)([+-]\d+(?:\.\d*)?)?")


def _iso6709_part(text: str, degree_digits: int) -> float | None:
    """One ISO 6709 number: ±DD.dd, ±DDMM.mm or ±DDMMSS.ss (±DDD… for longitudes)."""
    sign = -1 if text[0] == "-" else 1
    whole, _, fraction = text[1:].partition(".")
    frac = Fraction(f"0.{fraction}") if fraction else Fraction(0)
    extra = len(whole) - degree_digits
    if extra == 0:
        value = int(whole) + frac
    elif extra == 2:
        value = int(whole[:degree_digits]) + (int(whole[degree_digits:]) + frac) / 60
    elif extra == 4:
        minutes = int(whole[degree_digits:degree_digits + 2])
        seconds = int(whole[degree_digits + 2:]) + frac
        value = int(whole[:degree_digits]) + Fraction(minutes, 60) + seconds / 3600
    else:
        return None
    return float(sign * value)


def parse_iso6709(text: str) -> GeoPoint | None:
    """QuickTime's location ("+40.7128-074.0060+010.000/") -> a point, or None."""
    match = _ISO6709.match(text.strip())
    if match is None:
        return None
    lat_text, lon_text, alt_text = match.groups()
    latitude, longitude = _iso6709_part(lat_text, 2), _iso6709_part(lon_text, 3)
    if latitude is None or longitude is None or not valid_position(latitude, longitude):
        return None
    altitude = float(alt_text) if alt_text and alt_text not in "+-" else None
    return GeoPoint(latitude, longitude, altitude)


# -- text ------------------------------------------------------------------------------------


def clean_text(text: str) -> str:
    """Text every metadata format can hold: no NUL (it ends EXIF strings), no other
    control characters but tab and newlines, no lone surrogates or XML non-characters."""
    kept = []
    for char in text:
        code = ord(char)
        control = (code < 0x20 and char not in "\t\n\r") or 0x7F <= code < 0xA0
        if not (control or 0xD800 <= code <= 0xDFFF or code in (0xFFFE, 0xFFFF)):
            kept.append(char)
    return "".join(kept).strip()


# Cameras fill ImageDescription with their own name; that is no caption, and treating it
# as one would hide the user's real caption from Google behind a conflict.
_PLACEHOLDER_DESCRIPTIONS = frozenset({
    "olympus digital camera", "sony dsc", "konica minolta digital camera",
    "minolta digital camera", "digital camera", "samsung camera pictures", "dcim",
    "default", "exif_jpeg_picture", "exif jpeg", "jpeg", "image", "photo", "picture",
    "untitled", "no title", "camera", "lead technologies inc. v1.01", "created with gimp",
    "<kenox s630  / samsung s630>", "hdrp", "picasa",
})


def is_placeholder_description(text: str) -> bool:
    stripped = text.strip().strip("\x00").strip()
    return not stripped.strip("?_ .-") or stripped.lower() in _PLACEHOLDER_DESCRIPTIONS
