"""The events file read as xlexec reads it: each cell's rules give the same frame and name the
same first bad row and column whatever the file's size (expected values written by hand)."""

from __future__ import annotations

import pandas as pd
import pytest

from xlexec.errors import InputError
from xlexec.formats.inputs import read_events

GOOD = """symbol,date,event,ratio
AAPL,2025-10-30,Earnings,
 brk/b ,2025-10-31T00:00:00, Split ,2
,2025-11-07,Jobs-Report,
*,2025-11-12, CPI ,
MSFT,2025-10-30,earnings,
XYZ,2025-11-03,split,0.1
"""


def test_events_as_written_by_hand(tmp_path):
    p = tmp_path / "events.csv"
    p.write_text(GOOD)
    got = read_events(p, missing_ok=False)
    assert got["symbol"].tolist() == ["AAPL", "BRK.B", "*", "*", "MSFT", "XYZ"]
    assert got["date"].tolist() == ["2025-10-30", "2025-10-31", "2025-11-07", "2025-11-12", "2025-10-30", "2025-11-03"]
    assert got["event"].tolist() == ["earnings", "split", "nfp", "cpi", "earnings", "split"]
    r = got["ratio"].tolist()
    assert r[1] == 2.0 and r[5] == 0.1 and all(x != x for x in (r[0], r[2], r[3], r[4]))
    assert got["ratio"].dtype == float and pd.api.types.is_string_dtype(got["event"])


@pytest.mark.parametrize(
    "line, column, words",
    [
        ("MSFT,2025-10-3x,earnings,", "date", "'2025-10-3x' is not YYYY-MM-DD"),
        ("MSFT,2025-10-30,earnigns,", "event", "'earnigns' is not one of"),
        ("MSFT,2025-10-30,split,", "ratio", "a split needs its ratio"),
        ('MSFT,2025-10-30,split,"1,5"', "ratio", "decimal comma"),
        ("MSFT,2025-10-30,split,-2", "ratio", "must be positive"),
        ("MSFT,2025-10-30,cpi,", "symbol", "market-wide event"),
        (",2025-10-30,earnings,", "symbol", "needs a ticker"),
    ],
)
def test_a_bad_row_is_named_among_many_good_ones(tmp_path, line, column, words):
    good = "".join(f"S{chr(65 + i // 26)}{chr(65 + i % 26)},2025-10-30,earnings,\n" for i in range(300))
    p = tmp_path / "events.csv"
    p.write_text("symbol,date,event,ratio\n" + good + line + "\n" + good)
    with pytest.raises(InputError) as e:
        read_events(p, missing_ok=False)
    assert e.value.row == 302 and e.value.column == column, str(e.value)
    assert words in str(e.value)
