"""Fills import: every layout parsed from a small realistic sample, detection, errors."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest

from xlexec.errors import InputError
from xlexec.execution.brokers.base import Fill
from xlexec.formats.fills import (
    FILL_COLUMNS,
    aggregate_fills,
    detect_format,
    fill_keys,
    fills_from_broker,
    parse_fills_text,
    read_fills,
    read_fills_block,
    write_fills_csv,
)

DATA = Path(__file__).parent / "data" / "fills"


def rows(df: pd.DataFrame) -> list[tuple]:
    return [
        (d, s, sd, float(q), float(p), round(float(c), 2))
        for d, s, sd, q, p, c in zip(df["date"], df["symbol"], df["side"], df["shares"], df["price"], df["commission"])
    ]


def test_broker_fills_csv_ours():
    df = read_fills(DATA / "broker_fills.csv")
    assert df.attrs["format"] == "xlexec"
    assert list(df.columns[:9]) == FILL_COLUMNS
    assert rows(df) == [
        ("2025-10-30", "AAPL", "buy", 60, 150.10, 0.30),
        ("2025-10-30", "AAPL", "buy", 40, 150.20, 0.20),
        ("2025-10-30", "MSFT", "sell", 25, 378.40, 1.00),
    ]
    assert list(df.index) == [3, 4, 5]  # source line numbers (comment row + header first)
    assert list(df["fill_id"]) == ["f-1", "f-2", "f-3"]
    assert df["client_order_id"].iloc[2] == "xlx-2025-10-30-MSFT-sell-abc"


def test_ibkr_flex_trade_confirmation():
    df = read_fills(DATA / "ibkr_trade_confirm.csv")
    assert df.attrs["format"] == "ibkr"
    # ORDER summary row, FX (CASH) row, and the busted NVDA execution + its cancel are left out
    assert rows(df) == [
        ("2025-10-30", "AAPL", "buy", 60, 150.10, 0.30),
        ("2025-10-30", "AAPL", "buy", 40, 150.20, 0.20),
        ("2025-10-30", "MSFT", "sell", 25, 378.40, 1.00),
        ("2025-10-30", "NVDA", "buy", 10, 200.05, 0.35),
    ]
    assert df.attrs["skipped_rows"] == 4
    assert list(df["order_id"]) == ["4001", "4001", "4002", "4003"]
    assert df["client_order_id"].iloc[0] == "xlx-2025-10-30-AAPL-buy-abc"  # OrderReference
    assert df["fill_id"].iloc[3] == "0000e0d5.6700a1b4.01.02"
    agg = aggregate_fills(df).set_index("symbol")
    assert agg.loc["AAPL", "shares"] == 100
    assert agg.loc["AAPL", "avg_price"] == pytest.approx(150.14, abs=1e-9)  # (60x150.10 + 40x150.20)/100
    assert agg.loc["AAPL", "commission"] == pytest.approx(0.50)


def test_schwab_export_with_title_line_and_total_row():
    df = read_fills(DATA / "schwab_transactions.csv")
    assert df.attrs["format"] == "schwab"
    # "10/31/2025 as of 10/30/2025" is a 10/30 trade; dividend, reinvestment, transfer, total skipped
    assert rows(df) == [
        ("2025-10-30", "NVDA", "buy", 10, 200.05, 0.00),
        ("2025-10-30", "AAPL", "buy", 100, 150.14, 0.50),
        ("2025-10-30", "MSFT", "sell", 25, 378.40, 1.00),
    ]
    assert df.attrs["skipped_rows"] == 4
    assert list(df.index) == [3, 4, 5]


def test_fidelity_export_with_blank_preamble_and_footer():
    df = read_fills(DATA / "fidelity_history.csv")
    assert df.attrs["format"] == "fidelity"
    # commission = Commission ($) + Fees ($); sells have a negative quantity in the file
    assert rows(df) == [
        ("2025-10-30", "AAPL", "buy", 100, 150.14, 0.02),
        ("2025-10-30", "MSFT", "sell", 25, 378.40, 1.00),
    ]
    assert list(df.index) == [5, 6]


def test_alpaca_activities_dicts_and_fill_objects():
    acts = json.loads((DATA / "alpaca_activities.json").read_text())
    df = fills_from_broker(acts, "2025-10-30")
    assert df.attrs["format"] == "alpaca" and df.attrs["skipped_rows"] == 1  # the DIV activity
    assert rows(df) == [
        ("2025-10-30", "AAPL", "buy", 60, 150.1, 0.0),
        ("2025-10-30", "AAPL", "buy", 40, 150.2, 0.0),
        ("2025-10-30", "MSFT", "sell", 25, 378.4, 0.0),
    ]
    assert df["order_id"].iloc[0] == "904837e3-3b76-47ec-b432-046db621571b"
    objs = [
        Fill(
            id="p-1",
            order_id="o1",
            symbol="TSLA",
            side="sell_short",
            qty=3.0,
            price=250.5,
            transaction_time="2025-10-31T00:30:00Z",
            client_order_id="c1",
            commission=0.12,
        )
    ]
    f2 = fills_from_broker(objs, "2025-10-30")
    # 00:30 UTC on 10-31 is 20:30 on 10-30 in New York; sell_short is a sell (oversell is judged later)
    assert rows(f2) == [("2025-10-30", "TSLA", "sell", 3, 250.5, 0.12)]
    assert f2["client_order_id"].iloc[0] == "c1" and f2["fill_id"].iloc[0] == "p-1"
    assert fills_from_broker([], "2025-10-30").empty


def test_more_than_500_broker_fills():
    objs = [
        Fill(
            id=f"x{i}",
            order_id=f"o{i % 7}",
            symbol="SPY",
            side="buy",
            qty=1.0,
            price=500.0 + (i % 3),
            transaction_time="2025-10-30T15:00:00Z",
        )
        for i in range(1234)
    ]
    df = fills_from_broker(objs, "2025-10-30")
    assert len(df) == 1234 and df["shares"].sum() == 1234


def test_pasted_block_any_layout_with_preamble_and_typed_cells():
    block = [
        ["Transactions  for account Individual ...123 as of 10/31/2025"],
        ["Date", "Action", "Symbol", "Description", "Quantity", "Price", "Fees & Comm", "Amount"],
        [dt.date(2025, 10, 30), "Buy", "aapl", "APPLE INC", 100, "$150.14", 0.5, "-$15,014.50"],
        ["10/30/2025", "Sell", "MSFT", "MICROSOFT", 25.0, 378.4, None, 9460.0],
        [None, None, None, None, None, None, None, None],
    ]
    df = read_fills_block(block, first_row=3)
    assert df.attrs["format"] == "schwab"
    assert rows(df) == [
        ("2025-10-30", "AAPL", "buy", 100, 150.14, 0.50),
        ("2025-10-30", "MSFT", "sell", 25, 378.40, 0.00),
    ]
    assert list(df.index) == [5, 6]  # sheet rows
    ours = [
        ["date", "symbol", "side", "shares", "price", "commission", "fill_time", "order_id", "client_order_id"],
        ["2025-10-30", "KO", "BUY", 10, 61.25, 0.01, "10:00:00", 77, ""],
    ]
    d2 = read_fills_block(ours)
    assert rows(d2) == [("2025-10-30", "KO", "buy", 10, 61.25, 0.01)] and d2["order_id"].iloc[0] == "77"


def test_detect_format_from_header():
    assert detect_format(["date", "symbol", "side", "shares", "price"]) == "xlexec"
    assert (
        detect_format(['"Date"', "Action", "Symbol", "Description", "Quantity", "Price", "Fees & Comm", "Amount"])
        == "schwab"
    )
    assert (
        detect_format(
            [
                "Run Date",
                "Action",
                "Symbol",
                "Security Description",
                "Security Type",
                "Quantity",
                "Price ($)",
                "Commission ($)",
                "Fees ($)",
                "Accrued Interest ($)",
                "Amount ($)",
                "Settlement Date",
            ]
        )
        == "fidelity"
    )
    assert detect_format(["Symbol", "Buy/Sell", "Quantity", "TradePrice", "IBCommission"]) == "ibkr"
    assert detect_format(["activity_type", "id", "symbol", "side", "qty", "price", "transaction_time"]) == "alpaca"


def test_unknown_layout_lists_formats_and_header():
    with pytest.raises(InputError) as e:
        parse_fills_text("Ticker,Dir,Amount\nAAPL,B,10\n", "weird.csv")
    msg = str(e.value)
    assert msg.startswith("weird.csv, row 1:")
    for fmt in ("xlexec", "alpaca", "ibkr", "schwab", "fidelity"):
        assert fmt in msg
    assert "header seen: ticker,dir,amount" in msg


def test_format_override(tmp_path):
    # an Alpaca-style table that also carries our columns: auto -> xlexec; --format alpaca wins
    p = tmp_path / "f.csv"
    p.write_text("id,symbol,side,qty,shares,price,transaction_time\na1,AAPL,buy,7,7,100.5,2025-10-30T14:00:00Z\n")
    assert read_fills(p).attrs["format"] == "xlexec"
    df = read_fills(p, format="alpaca")
    assert df.attrs["format"] == "alpaca" and df["fill_id"].iloc[0] == "a1" and df["date"].iloc[0] == "2025-10-30"
    with pytest.raises(InputError, match="not a schwab fills layout"):
        read_fills(p, format="schwab")
    with pytest.raises(InputError, match="--format 'tdameritrade' is not one of"):
        read_fills(p, format="tdameritrade")


def test_bad_rows_name_file_row_column(tmp_path):
    p = tmp_path / "bad.csv"
    p.write_text("date,symbol,side,shares,price\n2025-10-30,AAPL,buy,10,150\n2025-10-30,MSFT,hold,5,300\n")
    with pytest.raises(InputError) as e:
        read_fills(p)
    assert e.value.row == 3 and e.value.column == "side"
    p.write_text("Run Date,Action,Symbol,Quantity,Price ($),Commission ($)\n13/45/2025,YOU BOUGHT X,AAPL,1,2,\n")
    with pytest.raises(InputError) as e:
        read_fills(p)
    assert e.value.row == 2 and "not a date" in e.value.message


def test_ibkr_cancel_without_its_execution_is_refused(tmp_path):
    lines = (DATA / "ibkr_trade_confirm.csv").read_text().splitlines()
    text = "\n".join([lines[0], lines[6]]) + "\n"  # header + the cancel row only
    with pytest.raises(InputError) as e:
        parse_fills_text(text, "ib.csv")
    assert e.value.row == 2 and "811004" in e.value.message


def test_write_fills_roundtrip_and_keys(tmp_path):
    df = read_fills(DATA / "ibkr_trade_confirm.csv")
    out = write_fills_csv(tmp_path / "broker_fills.csv", df)
    back = read_fills(out)
    assert rows(back) == rows(df) and list(back["fill_id"]) == list(df["fill_id"])
    assert fill_keys(df, "2025-10-30")[0] == "id:0000e0d5.6700a1b2.01.01"
    s = read_fills(DATA / "schwab_transactions.csv")
    keys = fill_keys(s, "2025-10-30")
    assert keys == ["2025-10-30|sym:NVDA:buy|1", "2025-10-30|sym:AAPL:buy|1", "2025-10-30|sym:MSFT:sell|1"]
    assert fill_keys(read_fills(DATA / "schwab_transactions.csv"), "2025-10-30") == keys  # deterministic


def test_a_trades_file_is_not_taken_for_fills(tmp_path):
    p = tmp_path / "trades.csv"
    p.write_text(
        "# Date: 2025-10-30\nsymbol,side,shares,price,notional,weight_change,commission_est,slippage_est,"
        "total_cost_est\nAAPL,buy,100,150.00,15000.00,0.15,1.50,3.00,4.50\n"
    )
    with pytest.raises(InputError, match="unknown fills layout"):
        read_fills(p)


def test_fidelity_newer_all_accounts_layout():
    text = (
        "Run Date,Account,Account Number,Action,Symbol,Description,Type,Exchange Quantity,Exchange Currency,"
        "Currency,Price,Quantity,Exchange Rate,Commission,Fees,Accrued Interest,Amount,Settlement Date\n"
        '11/17/2025,"Brokerage","333333333","YOU BOUGHT WASTE MANAGEMENT INC (WM) (Margin)",WM,'
        '"WASTE MANAGEMENT INC",Margin,0,,USD,208.64,18,0,,,,-3755.44,11/18/2025\n'
        '11/24/2025,"Brokerage","333333333","YOU SOLD EXEC ON MULT EXCHG VALVOLINE INC COM (VVV) (Margin)",VVV,'
        '"VALVOLINE INC COM",Margin,0,,USD,30.44,-341,0,,0.12,,10379.92,11/25/2025\n'
        '12/03/2025,"Brokerage","333333333","DIVIDEND RECEIVED ZOETIS INC (ZTS) (Cash)",ZTS,"ZOETIS INC",Cash,0,,'
        "USD,,0.000,0,,,,588,\n\n\n\nDate downloaded 12/03/2025 3:00 pm\n"
    )
    df = parse_fills_text(text, "History.csv")
    assert df.attrs["format"] == "fidelity"
    assert rows(df) == [("2025-11-17", "WM", "buy", 18, 208.64, 0.0), ("2025-11-24", "VVV", "sell", 341, 30.44, 0.12)]


# ------------------------------------------------------------------ a pasted block's cells as text

_BLOCK = [
    ["date", "symbol", "side", "shares", "price", "commission", "fill_time"],
    ["2025-10-30", " AAPL ", "buy", 100.0, 190.25, 1.0, "2025-10-30T14:30:01Z"],
    [dt.date(2025, 10, 30), "MSFT", "SELL", 50, 410.5, float("nan"), dt.datetime(2025, 10, 30, 14, 31, 2)],
    ["2025-10-30", "BRK B", "buy", 2.0**60, 0.1, None, "2025-10-30T14:32:03Z"],
    ["2025-10-30", "IBM", "sell", -0.0, float("inf"), True, None],
]
# by hand, what a CSV file of the same cells would hold (whole floats as integers, NaN and None empty)
_BLOCK_TEXTS = [
    ["date", "symbol", "side", "shares", "price", "commission", "fill_time"],
    ["2025-10-30", " AAPL ", "buy", "100", "190.25", "1", "2025-10-30T14:30:01Z"],
    ["2025-10-30", "MSFT", "SELL", "50", "410.5", "", "2025-10-30T14:31:02"],
    ["2025-10-30", "BRK B", "buy", "1152921504606846976", "0.1", "", "2025-10-30T14:32:03Z"],
    ["2025-10-30", "IBM", "sell", "0", "inf", "True", ""],
]


def test_a_rectangular_block_and_a_ragged_one_give_the_same_texts():
    from xlexec.formats.fills import _as_rows, _block_texts

    assert _as_rows(_block_texts(_BLOCK)) == _BLOCK_TEXTS  # rectangular: column by column
    ragged = [r[:-1] if i == 4 else r for i, r in enumerate(_BLOCK)]  # one short row: cell by cell
    assert _as_rows(_block_texts(ragged)) == [r[:-1] if i == 4 else r for i, r in enumerate(_BLOCK_TEXTS)]


def test_a_big_rectangular_block_reads_as_its_ragged_twin():
    """3,000 rows of typed cells: the column path (rectangular) and the cell path (one row made
    shorter, then the same cells) give the same canonical fills, row numbers included."""
    import random

    rng = random.Random(5)
    block = [["date", "symbol", "side", "shares", "price", "commission", "fill_time", "note"]]
    for i in range(3000):
        price = rng.choice([round(rng.uniform(1, 900), 2), float(rng.randint(1, 500)), rng.uniform(1, 5)])
        block.append(
            [
                "2025-10-30",
                rng.choice(["AAPL", "MSFT", " IBM", "BRK.B"]),
                rng.choice(["buy", "sell"]),
                float(rng.randint(1, 2000)),
                price,
                rng.choice([0.0, 1.25, float("nan"), None]),
                f"2025-10-30T14:{i % 60:02d}:{rng.randint(0, 59):02d}Z",
                rng.choice(["", None, "x"]),
            ]
        )
    square = read_fills_block(block, first_row=4)
    ragged = [list(r) for r in block] + [[]]  # a trailing empty row: no longer rectangular
    assert len({len(r) for r in ragged}) > 1
    pd.testing.assert_frame_equal(square, read_fills_block(ragged, first_row=4), check_exact=True)
    assert len(square) == 3000 and square.index[0] == 5 and square.index[-1] == 3004
    assert square.loc[5, "price"] == block[1][4]  # the float read back as the same float


def test_a_fill_time_before_any_new_york_calendar_reads_without_a_new_york_time(tmp_path):
    """Year 1 UTC is year 0 in New York, which Python's datetime cannot hold: the fill reads, with
    no New York time (as a time without a zone); an 1850 time keeps New York's local mean time."""
    p = tmp_path / "broker_fills.csv"
    p.write_text(
        "date,symbol,side,shares,price,fill_time\n"
        "2025-10-30,AAPL,buy,10,190.5,0001-01-01T00:00:00Z\n"
        "2025-10-30,MSFT,sell,5,410,1850-06-01T12:00:00Z\n"
    )
    df = read_fills(p)
    assert df["fill_time_ny"].tolist() == ["", "1850-06-01T07:03:58-04:56:02"]  # 12:00 - 4:56:02
