"""Sizes read the same on the command line, in the watch log and on the page: the right
decimal unit, about the right number, never "1500.0 GB" and never an error."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from importer.units import UNITS, readable_bytes

SHOWN = re.compile(r"^(\d+(?:\.\d)?) (B|KB|MB|GB|TB)$")


@given(st.integers(min_value=0, max_value=10**18)
       | st.sampled_from([999, 1000, 999_949, 999_950, 999_960, 999_999_999, 10**15 - 1]))
def test_a_size_reads_back_within_rounding(size: int) -> None:
    shown = SHOWN.match(readable_bytes(size))
    assert shown is not None, readable_bytes(size)
    number, unit = float(shown[1]), shown[2]
    scale = 1000 ** UNITS.index(unit)
    assert abs(number * scale - size) <= 0.05 * scale + 0.5  # one decimal, rounded
    if unit != "TB":
        assert number < 1000  # "1500.0 GB" reads as "1.5 TB"
    if unit != "B":
        assert size >= 999.5 * 1000 ** (UNITS.index(unit) - 1)  # the largest unit that fits


@given(st.integers(min_value=0, max_value=10**15), st.integers(min_value=0, max_value=10**15))
def test_a_larger_size_never_reads_smaller(a: int, b: int) -> None:
    small, large = sorted((a, b))

    def value(size: int) -> float:
        shown = SHOWN.match(readable_bytes(size))
        assert shown is not None
        return float(shown[1]) * 1000 ** UNITS.index(shown[2])

    assert value(small) <= value(large)


@given(st.one_of(st.none(), st.text(), st.booleans(), st.lists(st.integers())))
def test_what_is_not_a_number_reads_as_nothing(value: object) -> None:
    assert readable_bytes(value) == "0 B"
