"""The one money format (``core.money.usd``) and the one age format (``core.ages.age_text``):
tables of hand-written cases."""

from __future__ import annotations

import math

import pytest

from xlexec.core.ages import age_text
from xlexec.core.money import usd

MONEY = [
    (0, "$0.00"),
    (0.0, "$0.00"),
    (-0.0, "$0.00"),
    (-0.004, "$0.00"),  # rounds to zero: never -$0.00
    (-0.005, "-$0.01"),  # half-up: away from zero at exactly half
    (0.005, "$0.01"),
    (2.675, "$2.68"),  # the decimal text is rounded, not the binary float (2.67499999...)
    (-1234.565, "-$1,234.57"),
    (1234.5, "$1,234.50"),
    (999.995, "$1,000.00"),
    (1e6, "$1,000,000.00"),
    (-1e6, "-$1,000,000.00"),
    (12_345_678.9, "$12,345,678.90"),
    (None, "n/a"),
    (math.nan, "n/a"),
    (math.inf, "n/a"),
    ("abc", "n/a"),
]


@pytest.mark.parametrize(("x", "text"), MONEY)
def test_usd(x, text):
    assert usd(x) == text


def test_usd_signed_and_missing():
    assert [usd(x, sign=True) for x in (3.5, -3.5, 0.0, -0.004, 0.004)] == [
        "+$3.50",
        "-$3.50",
        "$0.00",
        "$0.00",
        "$0.00",
    ]
    assert usd(None, missing="") == ""


AGES = [
    (0, "0 s"),
    (45, "45 s"),
    (61, "61 s"),  # against a 60 s limit the seconds matter
    (119.4, "119 s"),
    (120, "2 min"),
    (540, "9 min"),
    (3599, "59 min"),
    (3600, "1 h 00 min"),
    (7500, "2 h 05 min"),
    (6 * 3600 + 28 * 60 + 59, "6 h 28 min"),
    (86_400, "1 d 0 h"),
    (6 * 86_400 + 17 * 3600 + 59 * 60, "6 d 17 h"),
    (572_018 * 60, "397 d 5 h"),  # 572,018 min = 397 d 5 h 38 min
    (-600, "10 min in the future"),
    (None, "unknown"),
    (math.nan, "unknown"),
]


@pytest.mark.parametrize(("s", "text"), AGES)
def test_age_text(s, text):
    assert age_text(s) == text
