"""Issue 4: the conversions between our values and EXIF/XMP/QuickTime forms, as properties.

Dates of any century (before 1970, after 2038), every hemisphere, coordinates at ±90/±180,
long and non-ASCII text: each conversion round-trips through an independent decoding.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta, timezone

import piexif
import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from importer.metadata import tiff
from importer.metadata.convert import (
    ARC_SECOND_DENOMINATOR,
    altitude_rational,
    clean_text,
    dms_rationals,
    exif_datetime,
    format_offset,
    from_dms_rationals,
    is_placeholder_description,
    latitude_ref,
    longitude_ref,
    parse_exif_datetime,
    parse_iso6709,
    parse_offset,
    parse_xmp_coordinate,
    xmp_coordinate,
    xmp_datetime,
)
from importer.metadata.xmp import sidecar
from importer.model import GeoPoint, Metadata

UINT32 = 2**32
offsets = st.integers(-14 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
moments = st.datetimes(min_value=datetime(1800, 1, 2), max_value=datetime(2999, 12, 30),
                       timezones=offsets).map(lambda d: d.replace(microsecond=0))
latitudes = st.floats(-90, 90, allow_nan=False) | st.sampled_from(
    [90.0, -90.0, 0.0, 89.99999999, -89.99999999, 1e-9, -1e-9])
longitudes = st.floats(-180, 180, allow_nan=False) | st.sampled_from(
    [180.0, -180.0, 0.0, 179.99999999, -179.99999999, 1e-9, -1e-9])
texts = st.text(min_size=1, max_size=3000) | st.text(
    alphabet=st.characters(min_codepoint=0x2E80, max_codepoint=0x1F9FF), min_size=1)


@given(moments)
@example(datetime(1969, 12, 31, 23, 59, 59, tzinfo=UTC))
@example(datetime(2038, 1, 19, 3, 14, 8, tzinfo=UTC))
@example(datetime(1850, 6, 1, 0, 0, 0, tzinfo=timezone(timedelta(hours=-9, minutes=-30))))
def test_exif_date_and_offset_round_trip(moment: datetime) -> None:
    wall = parse_exif_datetime(exif_datetime(moment))
    offset = parse_offset(format_offset(moment))
    assert wall is not None and offset is not None
    assert wall.replace(tzinfo=offset) == moment
    assert wall == moment.replace(tzinfo=None)


@given(moments)
def test_xmp_date_is_iso_8601_with_its_offset(moment: datetime) -> None:
    text = xmp_datetime(moment)
    parsed = datetime.fromisoformat(text)
    assert parsed == moment and parsed.utcoffset() == moment.utcoffset()
    assert text[-6] in "+-" and text[-3] == ":"


def test_years_before_1000_are_zero_padded() -> None:
    moment = datetime(999, 3, 4, 5, 6, 7, tzinfo=UTC)
    assert exif_datetime(moment) == "0999:03:04 05:06:07"
    assert xmp_datetime(moment) == "0999-03-04T05:06:07+00:00"


@pytest.mark.parametrize("text", ["0000:00:00 00:00:00", "    :  :     :  :  ", "", "garbage",
                                  "2019:13:01 10:00:00", "2019:02:30 10:00:00"])
def test_placeholder_and_impossible_exif_dates_are_no_dates(text: str) -> None:
    assert parse_exif_datetime(text) is None


@pytest.mark.parametrize("text", ["+14:01", "+15:00", "0100", "+1:00", "+01:60", "+ab:00"])
def test_malformed_offsets_are_rejected(text: str) -> None:
    assert parse_offset(text) is None


def test_offsets_that_exif_cannot_state_are_refused() -> None:
    lmt = datetime(1880, 1, 1, tzinfo=timezone(timedelta(minutes=-36, seconds=-45)))
    with pytest.raises(ValueError):
        format_offset(lmt)


@given(latitudes, longitudes)
def test_exif_rationals_round_trip_in_every_hemisphere(lat: float, lon: float) -> None:
    for value, ref in ((lat, latitude_ref(lat)), (lon, longitude_ref(lon))):
        parts = dms_rationals(value)
        assert all(0 <= n < UINT32 and 0 < d < UINT32 for n, d in parts)
        assert parts[1][0] < 60 and parts[2][0] < 60 * ARC_SECOND_DENOMINATOR
        back = from_dms_rationals(parts, ref)
        assert back is not None and abs(back - value) < 1e-9
    assert latitude_ref(lat) == ("S" if lat < 0 else "N")
    assert longitude_ref(lon) == ("W" if lon < 0 else "E")


@given(latitudes, longitudes)
def test_exif_rationals_survive_piexif_and_our_tiff_reader(lat: float, lon: float) -> None:
    gps = {piexif.GPSIFD.GPSLatitudeRef: latitude_ref(lat).encode(),
           piexif.GPSIFD.GPSLatitude: dms_rationals(lat),
           piexif.GPSIFD.GPSLongitudeRef: longitude_ref(lon).encode(),
           piexif.GPSIFD.GPSLongitude: dms_rationals(lon)}
    block = piexif.dump({"GPS": gps})[6:]
    entries = tiff.read_tiff(block).entries
    assert entries[("GPS", piexif.GPSIFD.GPSLatitude)].count == 3
    loaded = piexif.load(block)["GPS"]
    back = from_dms_rationals(loaded[piexif.GPSIFD.GPSLongitude],
                              loaded[piexif.GPSIFD.GPSLongitudeRef].decode())
    assert back is not None and abs(back - lon) < 1e-9


@given(latitudes, longitudes)
@example(90.0, 180.0)
@example(-90.0, -180.0)
def test_xmp_coordinates_round_trip(lat: float, lon: float) -> None:
    lat_text, lon_text = xmp_coordinate(lat, True), xmp_coordinate(lon, False)
    assert lat_text[-1] in "NS" and lon_text[-1] in "EW"
    lat_back, lon_back = parse_xmp_coordinate(lat_text), parse_xmp_coordinate(lon_text)
    assert lat_back is not None and abs(lat_back - lat) < 1e-9
    assert lon_back is not None and abs(lon_back - lon) < 1e-9


def test_xmp_coordinate_form() -> None:
    assert xmp_coordinate(38.7139, True) == "38,42.834N"
    assert xmp_coordinate(-9.1334, False) == "9,08.004W"
    assert xmp_coordinate(-90.0, True) == "90,00.0S"
    assert xmp_coordinate(180.0, False) == "180,00.0E"


@given(st.floats(-11_000, 9_000, allow_nan=False))
def test_altitude_rational_round_trip(altitude: float) -> None:
    (numerator, denominator), ref = altitude_rational(altitude)
    assert 0 <= numerator < UINT32
    back = numerator / denominator * (-1 if ref else 1)
    assert abs(back - altitude) <= 0.0005


@pytest.mark.parametrize(("text", "expected"), [
    ("+40.7128-074.0060+010.000/", (40.7128, -74.006, 10.0)),
    ("-33.8598+151.2096/", (-33.8598, 151.2096, None)),
    ("+4042.768-07400.360/", (40 + 42.768 / 60, -(74 + 0.36 / 60), None)),
    ("+404246.08-0740021.6/", (40 + 42 / 60 + 46.08 / 3600, -(74 + 21.6 / 3600), None)),
    ("+90.0000+180.0000/", (90.0, 180.0, None)),
])
def test_iso6709_locations(text: str, expected: tuple[float, float, float | None]) -> None:
    point = parse_iso6709(text)
    assert point is not None
    assert abs(point.latitude - expected[0]) < 1e-9
    assert abs(point.longitude - expected[1]) < 1e-9
    assert point.altitude == expected[2]


@pytest.mark.parametrize("text", ["", "nowhere", "+00.0000+000.0000/", "+91.0+000.1/",
                                  "+12.0+181.0/"])
def test_iso6709_rejects_unknown_positions(text: str) -> None:
    assert parse_iso6709(text) is None


@given(texts)
def test_clean_text_is_storable_everywhere(text: str) -> None:
    cleaned = clean_text(text)
    assert "\x00" not in cleaned
    assert not any(0xD800 <= ord(c) <= 0xDFFF for c in cleaned)
    cleaned.encode("utf-8")  # no lone surrogates left
    assert clean_text(cleaned) == cleaned


@given(texts)
@example("Tram <28> & \"Alfama\" – 路面電車 🚋\r\nline two\ttab")
def test_xmp_caption_parses_back_exactly(text: str) -> None:
    assume(clean_text(text))
    packet = sidecar(Metadata(description=text))
    assert packet is not None
    root = ET.fromstring(packet.decode("utf-8").split("?>", 1)[1].rsplit("<?xpacket", 1)[0])
    items = root.findall(".//{http://www.w3.org/1999/02/22-rdf-syntax-ns#}li")
    assert [i.text for i in items] == [clean_text(text)]


@given(texts)
def test_exif_caption_round_trips_as_utf8(text: str) -> None:
    assume(clean_text(text))
    encoded = clean_text(text).encode("utf-8")
    assume(len(encoded) < 60_000)
    block = piexif.dump({"0th": {piexif.ImageIFD.ImageDescription: encoded}})[6:]
    raw = piexif.load(block)["0th"][piexif.ImageIFD.ImageDescription]
    assert raw.decode("utf-8") == clean_text(text)


def test_camera_names_are_no_captions() -> None:
    assert is_placeholder_description("OLYMPUS DIGITAL CAMERA         ")
    assert is_placeholder_description("   ")
    assert is_placeholder_description("SONY DSC")
    assert not is_placeholder_description("Grandma's 90th")


def test_xmp_has_nothing_to_say_without_values() -> None:
    assert sidecar(Metadata()) is None
    assert sidecar(Metadata(location=GeoPoint(1.5, 2.5))) is not None
