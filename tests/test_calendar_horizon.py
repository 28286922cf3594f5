"""The NYSE calendar's range depends on the dates asked for, never on the clock."""

from __future__ import annotations

import pytest

from xlexec.core import calendar as cal


def test_known_sessions_and_holidays():
    assert cal.is_session("2025-10-30")  # a Thursday
    assert not cal.is_session("2025-12-25")  # Christmas
    assert cal.is_half_day("2025-11-28")  # the day after Thanksgiving
    assert cal.next_session("2025-10-31") == "2025-11-03"


def test_a_date_past_the_first_horizon_extends_it():
    # 4 July 2061 is a Monday and a holiday; 5 July 2061 is a Tuesday session
    assert int(cal.HORIZON_YEAR) < 2061
    assert not cal.is_session("2061-07-04")
    assert cal.is_session("2061-07-05")
    assert cal.next_session("2061-07-01") == "2061-07-05"  # Fri 1 Jul -> Tue 5 Jul


def test_beyond_the_maximum_year_is_a_clear_error():
    with pytest.raises(ValueError, match="outside the NYSE calendar's range"):
        cal.is_session(f"{cal.MAX_YEAR + 1}-01-03")
    with pytest.raises(ValueError, match="outside the NYSE calendar's range"):
        cal.is_session("1989-12-29")
