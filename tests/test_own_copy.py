"""A reader that keeps what it parsed (a press reads the same text two or three times) hands
each caller a frame the caller may change in any way: the next read gives what the file says,
however the last caller changed its frame. Under pandas' Copy-on-Write the copy is shallow (pandas
copies a column on its first write); without it, deep. Both are run here."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from xlexec.formats import csvio
from xlexec.formats.fills import read_fills
from xlexec.formats.inputs import read_quotes
from xlexec.formats.trades import read_trades

FILLS = (
    "date,symbol,side,shares,price,commission,fill_time,order_id,client_order_id\n"
    "2025-10-30,ORCL,buy,7,201.5,0.35,2025-10-30T14:01:02Z,o1,c1\n"
    "2025-10-30,BAC,sell,40,45.25,0.2,2025-10-30T14:05:00Z,o2,c2\n"
)
TRADES = (
    "# Date: 2025-10-30\n"
    "symbol,side,shares,price,notional,weight_change,commission_est,slippage_est,total_cost_est\n"
    "AAPL,buy,100,150.25,15025.00,0.0500,1.50,3.01,4.51\n"
    "MSFT,sell,50,380.50,19025.00,-0.0300,1.90,3.81,5.71\n"
)
QUOTES = (
    "symbol,bid,ask,last,timestamp\n"
    "AAPL,150.20,150.30,150.25,2025-10-30T14:00:00Z\n"
    "MSFT,380.40,380.60,380.50,2025-10-30T14:00:00Z\n"
)


def _fills(tmp_path):
    p = tmp_path / "broker_fills.csv"
    p.write_text(FILLS)
    return read_fills(p)


def _trades(tmp_path):
    p = tmp_path / "trades.csv"
    p.write_text(TRADES)
    return read_trades(p).df


def _quotes(tmp_path):
    p = tmp_path / "quotes.csv"
    p.write_text(QUOTES)
    return read_quotes(p)


def _change_everything(df: pd.DataFrame) -> None:
    """What callers do to a frame they were given, in place."""
    num = next(c for c in df.columns if pd.api.types.is_float_dtype(df[c]))
    txt = "symbol"
    df.loc[df.index[0], num] = 999.0
    df.iloc[1, df.columns.get_loc(txt)] = "ZZZZ"
    df[txt] = df[txt].str.lower()
    df["added"] = 1
    others = [c for c in df.columns if pd.api.types.is_float_dtype(df[c]) and c != num]
    if others:
        df[others[0]] *= -2
    df.columns = ["renamed" if c == num else c for c in df.columns]
    df.index = pd.RangeIndex(100, 100 + len(df))
    df.attrs.setdefault("skipped", []).append({"row": 99, "reason": "a caller's own"})
    df.attrs["format"] = "changed"


@pytest.mark.parametrize("cow", [True, False], ids=["copy-on-write", "deep copy"])
@pytest.mark.parametrize("read", [_fills, _trades, _quotes], ids=["fills", "trades", "quotes"])
def test_a_caller_changing_its_frame_never_changes_the_next_read(read, cow, tmp_path, monkeypatch):
    monkeypatch.setattr(csvio, "_copy_on_write", lambda: cow)
    first = read(tmp_path)
    want = first.copy(deep=True)
    want_attrs = {k: (list(v) if isinstance(v, list) else v) for k, v in first.attrs.items()}
    assert len(want) == 2 and "symbol" in want.columns
    _change_everything(first)
    assert list(first.columns)[-1] == "added" and first["renamed"].iloc[0] == 999.0  # the changes took
    second = read(tmp_path)
    pd.testing.assert_frame_equal(second, want, check_exact=True)
    assert second.attrs == want_attrs
    assert list(second["symbol"]) == (["ORCL", "BAC"] if "fill_time" in second.columns else ["AAPL", "MSFT"])


@pytest.mark.parametrize("cow", [True, False], ids=["copy-on-write", "deep copy"])
def test_two_callers_frames_are_apart(cow, tmp_path, monkeypatch):
    monkeypatch.setattr(csvio, "_copy_on_write", lambda: cow)
    a, b = _fills(tmp_path), _fills(tmp_path)
    a.loc[a.index[0], "price"] = 1.0
    a["side"] = "sell"
    assert list(b["price"]) == [201.5, 45.25] and list(b["side"]) == ["buy", "sell"]
    assert a.attrs["skipped"] is not b.attrs["skipped"]


def test_the_shallow_copy_shares_no_writable_array_with_the_kept_frame(tmp_path):
    """Under Copy-on-Write (always, from pandas 3), an array the caller takes out of its frame
    cannot be written through to what the reader keeps."""
    if not csvio._copy_on_write():
        pytest.skip("this pandas runs without Copy-on-Write")
    f = _fills(tmp_path)
    v = f["price"].to_numpy()
    if v.flags.writeable:  # pandas gave a copy: nothing shared
        v[0] = -1.0
    else:
        with pytest.raises(ValueError):
            v[0] = -1.0
    assert list(_fills(tmp_path)["price"]) == [201.5, 45.25]
    assert np.array_equal(f["shares"].to_numpy(), [7.0, 40.0])
