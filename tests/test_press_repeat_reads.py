"""What a press reads twice is parsed once, and reads the same: the day's fills (read for the
step and again to draw the book) and the bars' timestamps (ISO 8601 at the C parser's speed,
any other form as before)."""

from __future__ import annotations

import pandas as pd
import pytest

from xlexec.errors import InputError
from xlexec.formats.bars import read_bars
from xlexec.formats.fills import read_fills

FILLS = (
    "date,symbol,side,shares,price,commission,fill_time,order_id\n"
    "2025-10-30,ORCL,sell,7,259.11,0.18,2025-10-30T13:40:00+00:00,o-1\n"
    "2025-10-30,BAC,buy,40,50.40,0.20,2025-10-30T13:41:00+00:00,o-2\n"
)


def test_the_same_fills_read_twice_are_equal_and_independent(tmp_path):
    path = tmp_path / "broker_fills.csv"
    path.write_text(FILLS)
    first = read_fills(path)
    assert list(first["symbol"]) == ["ORCL", "BAC"] and list(first["shares"]) == [7, 40]
    assert first.attrs["format"] == "xlexec" and list(first.attrs["skipped"]) == []
    first.loc[first.index[0], "shares"] = 999  # a caller changing its frame ...
    first.attrs["skipped"].append({"row": 99, "reason": "x"})
    second = read_fills(path)  # ... never changes what the next read returns
    assert list(second["shares"]) == [7, 40]
    assert list(second.attrs["skipped"]) == []
    assert second is not first


def test_changed_fills_text_is_read_again(tmp_path):
    path = tmp_path / "broker_fills.csv"
    path.write_text(FILLS)
    assert len(read_fills(path)) == 2
    path.write_text(FILLS.replace(",40,", ",41,"))
    assert list(read_fills(path)["shares"]) == [7, 41]
    path.write_text(FILLS.replace(",40,", ",-4x,"))
    with pytest.raises(InputError) as e:
        read_fills(path)
    assert e.value.row == 3 and "shares" in str(e.value)


BARS = "symbol,timestamp,open,high,low,close,volume,vwap\n"


def _bar(sym: str, ts: str) -> str:
    return f"{sym},{ts},10,11,9,10.5,100,10.4\n"


def test_iso_bar_times_are_utc(tmp_path):
    path = tmp_path / "bars.csv"
    path.write_text(BARS + _bar("AAPL", "2025-10-30T13:30:00Z") + _bar("AAPL", "2025-10-30 09:31:00-04:00"))
    ts = list(read_bars(path)["timestamp"])
    assert ts == [pd.Timestamp("2025-10-30 13:30", tz="UTC"), pd.Timestamp("2025-10-30 13:31", tz="UTC")]


def test_a_non_iso_bar_time_is_still_read(tmp_path):
    """One US-style time among ISO ones: the whole column is read by the per-value parser."""
    path = tmp_path / "bars.csv"
    path.write_text(BARS + _bar("AAPL", "2025-10-30T13:30:00Z") + _bar("AAPL", "10/30/2025 13:31"))
    ts = list(read_bars(path)["timestamp"])
    assert ts == [pd.Timestamp("2025-10-30 13:30", tz="UTC"), pd.Timestamp("2025-10-30 13:31", tz="UTC")]


def test_a_bar_time_that_is_no_time_names_its_row(tmp_path):
    path = tmp_path / "bars.csv"
    path.write_text(BARS + _bar("AAPL", "2025-10-30T13:30:00Z") + _bar("AAPL", "2025-10-30T25:00:00Z"))
    with pytest.raises(InputError) as e:
        read_bars(path)
    assert e.value.row == 3 and "is not a date-time" in str(e.value)
