"""Issue 3: capture times from the sidecar, else from the file name, never the mtime."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from importer.model import DateSource, Metadata
from importer.sources.dates import filename_date, parse_epoch, with_fallback_date


@pytest.mark.parametrize(("value", "expected"), [
    ("1562231700", datetime(2019, 7, 4, 9, 15, tzinfo=UTC)),
    (" 1562231700 ", datetime(2019, 7, 4, 9, 15, tzinfo=UTC)),
    (1562231700, datetime(2019, 7, 4, 9, 15, tzinfo=UTC)),
    ("0", None), ("", None), (None, None), ("abc", None), (True, None),
    ("-9999999999999", None), ("99999999999999999", None),
])
def test_epoch_strings(value: object, expected: datetime | None) -> None:
    assert parse_epoch(value) == expected


@pytest.mark.parametrize(("name", "expected"), [
    ("PXL_20230809_203449253.jpg", datetime(2023, 8, 9, 20, 34, 49)),
    ("PXL_20230809_203449253.LONG_EXPOSURE-02.ORIGINAL.jpg", datetime(2023, 8, 9, 20, 34, 49)),
    ("IMG_20190101_120000.jpg", datetime(2019, 1, 1, 12, 0, 0)),
    ("VID_20200930_155021.mp4", datetime(2020, 9, 30, 15, 50, 21)),
    ("MVIMG_20200207_134534~2.jpg", datetime(2020, 2, 7, 13, 45, 34)),
    ("Screenshot_20210612-091500.png", datetime(2021, 6, 12, 9, 15, 0)),
    ("Screenshot_2024-08-31-00-53-48-647_com.snapchat.android.jpg",
     datetime(2024, 8, 31, 0, 53, 48)),
    ("Screenshot 2023-10-27 at 12.33.03.png", datetime(2023, 10, 27, 12, 33, 3)),
    ("2019-07-04 10.15.00.jpg", datetime(2019, 7, 4, 10, 15, 0)),
    ("00000IMG_00000_BURST20190101120000123_COVER.jpg", datetime(2019, 1, 1, 12, 0, 0)),
    ("IMG-20190101-WA0001.jpg", datetime(2019, 1, 1)),
    ("IMG_1234.jpg", None),
    ("DSC_0529.JPG", None),
    ("IMG_20191399_250000.jpg", None),  # no 13th month
    ("IMG_18500101_120000.jpg", None),  # before any phone
])
def test_filename_dates_are_utc_guesses(name: str, expected: datetime | None) -> None:
    found = filename_date(name)
    assert found == (expected.replace(tzinfo=UTC) if expected else None)
    if found is not None:
        assert found.utcoffset() is not None


def test_sidecar_date_wins_over_the_name() -> None:
    sidecar = Metadata(taken_at=datetime(2001, 1, 1, tzinfo=UTC),
                       taken_at_source=DateSource.SIDECAR)
    assert with_fallback_date(sidecar, "IMG_20190101_120000.jpg") is sidecar


def test_unknown_sidecar_date_falls_back_to_the_name_then_the_title() -> None:
    unknown = Metadata(title="IMG_20180505_050505.jpg")
    from_name = with_fallback_date(unknown, "PXL_20230809_203449253.jpg", unknown.title)
    assert from_name.taken_at == datetime(2023, 8, 9, 20, 34, 49, tzinfo=UTC)
    assert from_name.taken_at_source is DateSource.FILENAME
    from_title = with_fallback_date(unknown, "IMG_1234.jpg", unknown.title)
    assert from_title.taken_at == datetime(2018, 5, 5, 5, 5, 5, tzinfo=UTC)


def test_no_date_anywhere_stays_unknown() -> None:
    """Never the archive mtime: an unknown date is better than the export day."""
    result = with_fallback_date(Metadata(), "IMG_1234.jpg", None)
    assert result.taken_at is None and result.taken_at_source is DateSource.NONE
