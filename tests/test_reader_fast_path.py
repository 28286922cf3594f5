"""The readers' fast path (C parser, cells stripped only when the text may need it, plain number
columns converted at once) gives the same frames and the same errors as the careful path (every
cell stripped, every number through the cell-by-cell rules), on hostile inputs.

Expected values are written out by hand; the careful path is the reference for the frames.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from xlexec.core.rows import _parse_numeric_cells, parse_numeric
from xlexec.errors import InputError
from xlexec.formats.csvio import may_need_strip, read_table, split_comment_body, split_comment_header
from xlexec.formats.fills import _NY, _iso_in_ny, _ny_times, _utc_in_ny_plain, read_fills
from xlexec.formats.inputs import read_closes, read_quotes
from xlexec.formats.trades import read_trades

#: (body text, the cells by hand: {column: [values]}, the data rows' line numbers)
TABLES = [
    ("symbol,close\nAAPL,1.5\nMSFT,2\n", {"symbol": ["AAPL", "MSFT"], "close": ["1.5", "2"]}, [2, 3]),
    ("symbol,close\r\nAAPL,1.5\r\nMSFT,2\r\n", {"symbol": ["AAPL", "MSFT"], "close": ["1.5", "2"]}, [2, 3]),
    ('symbol,close,note\nAAPL,"1,234.50","a, b"\n', {"symbol": ["AAPL"], "close": ["1,234.50"], "note": ["a, b"]}, [2]),
    ("symbol,close\n AAPL , 12 \n", {"symbol": ["AAPL"], "close": ["12"]}, [2]),
    ("symbol,close\n\tAAPL\t,12\n", {"symbol": ["AAPL"], "close": ["12"]}, [2]),
    ("symbol,close\n\xa0AAPL,12\u3000\n", {"symbol": ["AAPL"], "close": ["12"]}, [2]),
    ('symbol,close\n" AAPL","12 "\n', {"symbol": ["AAPL"], "close": ["12"]}, [2]),
    ("symbol,close\nAAPL,1\n\nMSFT,2\n,\n", {"symbol": ["AAPL", "MSFT"], "close": ["1", "2"]}, [2, 4]),
    ("symbol,close\n,1\nMSFT,\n", {"symbol": ["", "MSFT"], "close": ["1", ""]}, [2, 3]),
    ("symbol,close\nAAPL,nan\nMSFT,1e3\n", {"symbol": ["AAPL", "MSFT"], "close": ["nan", "1e3"]}, [2, 3]),
    ("symbol,close,name\nAAPL,-0,Apple Inc\n", {"symbol": ["AAPL"], "close": ["-0"], "name": ["Apple Inc"]}, [2]),
    ("Symbol , CLOSE\nAAPL,1e400\n", {"symbol": ["AAPL"], "close": ["1e400"]}, [2]),
]


@pytest.mark.parametrize(("text", "cells", "rows"), TABLES)
def test_fast_and_careful_tables_are_the_same_frame(text, cells, rows):
    _, body, first = split_comment_body(text)
    fast = read_table(body, "f.csv", first, ["symbol"])
    careful = read_table(body, "f.csv", first, ["symbol"], careful=True)
    pd.testing.assert_frame_equal(fast, careful)
    assert list(fast.index) == rows
    assert {c: list(fast[c]) for c in fast.columns} == cells


@pytest.mark.parametrize(
    "text",
    [
        "# Date: 2025-10-30\n\n#x\nsymbol,close\nA,1\n\nB,2\n\n",
        "symbol,close\r\nA,1\rB,2\r\n",
        ",,\n# c\nsymbol\nA",
        "# only comments\n\n",
        "",
        'symbol,note\nA,"two\nlines"\n',
    ],
)
def test_the_body_is_the_header_split_joined(text):
    comments, lines, first = split_comment_header(text)
    assert split_comment_body(text) == (comments, "\n".join(lines), first)


def test_may_need_strip_says_no_only_when_no_cell_has_a_space_at_an_edge():
    assert not may_need_strip("a,b\n1,2\nx y,z\n")
    for text in ("a,b\n1 ,2", "a,b\n1, 2", "a,b\n1,2 \n3,4", "a,b\n 1,2", " a,b", 'a,b\n"1 ",2', "a\tb", "a,\xa0b"):
        assert may_need_strip(text), repr(text)


def _col(values):
    rows = pd.RangeIndex(2, 2 + len(values), name="row")
    return pd.DataFrame({"close": pd.Series(values, index=rows, dtype=str)}, index=rows)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["1.5", "2", "1e3", "-0", "1e300", "0.1"], [1.5, 2.0, 1000.0, 0.0, 1e300, 0.1]),
        (["123456789.123456"], [123456789.123456]),
        (["12345678901234567890"], [12345678901234567890.0]),
    ],
)
def test_plain_numbers_are_the_same_either_way(values, expected):
    df = _col(values)
    fast = parse_numeric(df, "close", "f.csv")
    careful = _parse_numeric_cells(df["close"], df, "f.csv", "close", allow_empty=False)
    pd.testing.assert_series_equal(fast, careful)
    assert fast.tolist() == expected


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (["1", "nan"], "f.csv, row 3, column 'close': close is not a finite number: 'nan'"),
        (["1e400"], "f.csv, row 2, column 'close': close is not a finite number: '1e400'"),
        (["1", ""], "f.csv, row 3, column 'close': close is empty"),
        (["1,5"], "decimal comma is refused"),
        (["abc"], "f.csv, row 2, column 'close': close is not a finite number: 'abc'"),
    ],
)
def test_bad_numbers_name_file_row_and_column(values, message):
    with pytest.raises(InputError) as e:
        parse_numeric(_col(values), "close", "f.csv")
    assert message in str(e.value)


def test_money_with_a_dollar_and_thousands_is_read_through_the_careful_path():
    assert parse_numeric(_col(["$1,234.50", "7"]), "close", "f.csv").tolist() == [1234.5, 7.0]


def test_files_with_a_bom_crlf_blanks_and_spaces_read_as_typed_by_hand(tmp_path):
    p = tmp_path / "closes.csv"
    p.write_bytes(b'\xef\xbb\xbfSymbol,Close\r\n aapl ,"$1,234.50"\r\n\r\nbrk b,1e3\r\nMSFT, 12 \r\n')
    c = read_closes(p)
    assert list(c.index) == [2, 4, 5]
    assert c["symbol"].tolist() == ["AAPL", "BRK.B", "MSFT"]
    assert c["close"].tolist() == [1234.5, 1000.0, 12.0]
    p.write_bytes(b"symbol,close\nAAPL,1\nMSFT,1e400\n")
    with pytest.raises(InputError) as e:
        read_closes(p)
    assert str(e.value) == f"{p}, row 3, column 'close': close is not a finite number: '1e400'"


def test_quotes_negative_zero_and_thousands(tmp_path):
    p = tmp_path / "quotes.csv"
    p.write_text(
        'symbol,bid,ask,last,timestamp\nAAPL,-0,"1,000.25",1000,2025-10-30T14:00:00Z\n', encoding="utf-8", newline=""
    )
    q = read_quotes(p)
    assert q["bid"].tolist() == [0.0] and q["ask"].tolist() == [1000.25] and q["last"].tolist() == [1000.0]


TRADES = (
    "# Date: 2025-10-30\n# Portfolio Value: $1,000,000.00\n"
    "symbol,side,shares,price,notional,weight_change,commission_est,slippage_est,total_cost_est\n"
)


def test_trades_errors_are_the_same_whether_or_not_the_file_has_spaces(tmp_path):
    row = "AAPL,buy,10,abc,100,0.001,0.01,0.01,0.02\n"
    for body in (row, row.replace(",", " , ")):
        p = tmp_path / "trades.csv"
        p.write_text(TRADES + body, encoding="utf-8")
        with pytest.raises(InputError) as e:
            read_trades(p)
        assert str(e.value) == f"{p}, row 4, column 'price': price is not a finite number: 'abc'"


def test_fills_read_fast_keep_every_figure_and_time(tmp_path):
    p = tmp_path / "broker_fills.csv"
    p.write_text(
        "date,symbol,side,shares,price,commission,fill_time,order_id,client_order_id\n"
        "2025-10-30,AAPL,buy,100,189.123456,0.35,2025-10-30T13:30:00Z,o1,c1\n"
        "2025-03-09,MSFT,sell,5,1.1,,2025-03-09T06:59:59.5Z,o2,\n"
        "2025-11-02,MSFT,sell,5,1.1,0,2025-11-02T06:30:00+00:00,o3,\n"
        "2025-11-02,IBM,buy,1,2,0,2025-11-02 06:30:00,o4,\n",
        encoding="utf-8",
    )
    f = read_fills(p)
    assert f["price"].tolist() == [189.123456, 1.1, 1.1, 2.0]
    assert f["commission"].tolist() == [0.35, 0.0, 0.0, 0.0]
    assert f["fill_time_ny"].tolist() == [
        "2025-10-30T09:30:00-04:00",
        "2025-03-09T01:59:59.500000-05:00",
        "2025-11-02T01:30:00-05:00",
        "",  # no zone: never guessed
    ]
    assert f["date"].tolist() == ["2025-10-30", "2025-03-09", "2025-11-02", "2025-11-02"]
    assert all(f[c].dtype == object for c in ("date", "symbol", "side", "fill_time", "fill_time_ny"))


def test_new_york_iso_times_match_isoformat_across_both_clock_changes_and_fractions():
    t = pd.to_datetime(
        pd.Index(
            [
                "2025-03-09T06:59:59Z",
                "2025-03-09T07:00:00Z",
                "2025-11-02T05:59:59Z",
                "2025-11-02T06:00:00Z",
                "2025-06-01T12:00:00.000001Z",
                "1850-01-01T12:00:00Z",
            ]
        ),
        utc=True,
        format="ISO8601",
    )
    assert list(_iso_in_ny(t)) == [
        "2025-03-09T01:59:59-05:00",
        "2025-03-09T03:00:00-04:00",
        "2025-11-02T01:59:59-04:00",
        "2025-11-02T01:00:00-05:00",
        "2025-06-01T08:00:00.000001-04:00",
        "1850-01-01T07:03:58-04:56:02",
    ]
    assert list(_iso_in_ny(t)) == [x.isoformat() for x in t.tz_convert(_NY)]
    assert np.asarray(_iso_in_ny(t)).dtype == object


def test_plain_utc_times_are_converted_without_parsing_the_same_as_parsed():
    """A column of plain UTC seconds (``...T..:..:..Z``) goes through integer arithmetic; its text
    is the one the parsing path writes, across both 2025 DST changes, a leap day and a new year."""
    cells = [
        "2025-03-09T06:59:59Z",
        "2025-03-09T07:00:00Z",
        "2025-11-02T05:59:59Z",
        "2025-11-02T06:00:00Z",
        "2024-02-29T23:30:00Z",
        "2026-01-01T04:59:59Z",
        "1900-01-01T00:00:00Z",
    ]
    expected = [
        "2025-03-09T01:59:59-05:00",
        "2025-03-09T03:00:00-04:00",
        "2025-11-02T01:59:59-04:00",
        "2025-11-02T01:00:00-05:00",
        "2024-02-29T18:30:00-05:00",
        "2025-12-31T23:59:59-05:00",
        "1899-12-31T19:00:00-05:00",
    ]
    got = _utc_in_ny_plain(np.asarray(cells, dtype=object))
    assert got is not None and list(got) == expected and got.dtype == object
    assert all(type(x) is str for x in got)
    assert list(_ny_times(pd.Series(cells))) == expected


@pytest.mark.parametrize(
    "cell",
    [
        "2025-06-01T12:00:00.5Z",  # a fraction of a second
        "2025-06-01T12:00:00+00:00",  # an offset
        "2025-06-01T12:00:00",  # no zone
        "2025-06-01T12:00:00z",
        "2025-02-29T12:00:00Z",  # no such day
        "2025-06-01T24:00:00Z",
        "2025-06-30T23:59:60Z",
        "1850-06-01T12:00:00Z",  # local mean time in New York
        "2200-01-01T00:00:00Z",
        "",
    ],
)
def test_a_time_that_is_not_plain_utc_sends_the_column_to_the_parser(cell):
    cells = np.asarray(["2025-06-02T13:30:00Z", cell], dtype=object)
    assert _utc_in_ny_plain(cells) is None
    assert _ny_times(pd.Series(cells))[0] == "2025-06-02T09:30:00-04:00"


# ------------------------------------------------------------------ number columns typed by the C parser

FILLS_HEADER = "date,symbol,side,shares,price,commission,fill_time,order_id,client_order_id\n"


def _fills_rows(n: int) -> list[str]:
    return [
        f"2025-10-30,AAPL,buy,{i % 7 + 1},{100 + i % 50}.25,0.35,2025-10-30T14:{i % 60:02d}:00Z,o{i}," for i in range(n)
    ]


def test_plain_number_columns_come_typed_and_other_cells_as_text():
    text = "symbol,close,note\nAAPL,1.5,x\nMSFT,2,y\n"
    df = read_table(text, "f.csv", 1, ["symbol"], numbers=["close"])
    assert df["close"].dtype == np.float64 and df["close"].tolist() == [1.5, 2.0]
    assert df["note"].tolist() == ["x", "y"] and df["note"].dtype != np.float64
    assert list(df.index) == [2, 3]
    for odd in ("$1.5", '"1,500"', "", "nan", "inf", "-0.0", "abc", "9007199254740993"):
        df = read_table(f"symbol,close\nAAPL,{odd}\nMSFT,2\n", "f.csv", 1, ["symbol"], numbers=["close"])
        assert df["close"].tolist() == [odd.strip('"'), "2"], odd  # the cells, as text, for the careful rules
    # whole numbers: -0 is 0 and 007 is 7, as pd.to_numeric reads a column of them
    df = read_table("symbol,close\nAAPL,-0\nMSFT,007\nX,+3\n", "f.csv", 1, ["symbol"], numbers=["close"])
    assert df["close"].dtype == np.float64 and df["close"].tolist() == [0.0, 7.0, 3.0]
    assert not np.signbit(df["close"].to_numpy()).any()
    # a text column of digits stays text (never 7 for 007)
    df = read_table("symbol,close,note\nAAPL,1,007\nMSFT,2,10\n", "f.csv", 1, ["symbol"], numbers=["close"])
    assert df["note"].tolist() == ["007", "10"] and df["close"].tolist() == [1.0, 2.0]


def test_a_bad_number_deep_in_a_big_fills_file_names_file_row_and_column(tmp_path):
    rows = _fills_rows(5000)
    rows[3000] = "2025-10-30,AAPL,buy,1,10x3.25,0.35,2025-10-30T14:00:00Z,o3000,"
    p = tmp_path / "broker_fills.csv"
    p.write_text(FILLS_HEADER + "\n".join(rows) + "\n", encoding="utf-8")
    with pytest.raises(InputError) as e:
        read_fills(p)
    assert str(e.value) == f"{p}, row 3002, column 'price': price is not a finite number: '10x3.25'"


def test_a_big_fills_file_reads_every_figure_typed_or_not(tmp_path):
    p = tmp_path / "broker_fills.csv"
    rows = _fills_rows(3000)
    p.write_text(FILLS_HEADER + "\n".join(rows) + "\n", encoding="utf-8")
    f = read_fills(p)
    assert f["shares"].tolist()[:8] == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 1.0]
    assert f["price"].iloc[2999] == 149.25 and f["commission"].iloc[0] == 0.35
    assert f["fill_time_ny"].iloc[0] == "2025-10-30T10:00:00-04:00"
    assert list(f.index[:2]) == [2, 3]
    rows[2500] = (
        "2025-10-30,AAPL,buy,1,100.25,,2025-10-30T14:00:00Z,o2500,"  # an empty commission: 0, read the careful way
    )
    p.write_text(FILLS_HEADER + "\n".join(rows) + "\n", encoding="utf-8")
    g = read_fills(p)
    assert g["commission"].iloc[2500] == 0.0 and g["commission"].iloc[2499] == 0.35
    pd.testing.assert_series_equal(g["price"], f["price"])


def test_a_non_positive_count_deep_in_a_big_fills_file_names_its_row(tmp_path):
    rows = _fills_rows(4000)
    rows[1234] = "2025-10-30,AAPL,buy,-5,100.25,0.35,2025-10-30T14:00:00Z,o1234,"
    p = tmp_path / "broker_fills.csv"
    p.write_text(FILLS_HEADER + "\n".join(rows) + "\n", encoding="utf-8")
    with pytest.raises(InputError) as e:
        read_fills(p)
    assert str(e.value) == f"{p}, row 1236, column 'shares': shares must be positive"


def test_trades_errors_quote_the_cell_as_written_not_the_float(tmp_path):
    good = "AAPL,buy,10,100,1000,0.001,0.01,0.01,0.02\n"
    p = tmp_path / "trades.csv"
    p.write_text(TRADES + good + "MSFT,sell,-5,100,500,-0.001,0.01,0.01,0.02\n", encoding="utf-8")
    with pytest.raises(InputError) as e:
        read_trades(p)
    assert str(e.value) == f"{p}, row 5, column 'shares': shares must be positive, got -5"
    many = "".join(f"S{i:04d},buy,10,100,1000,0.001,0.01,0.01,0.02\n".replace("S", "X") for i in range(2000))
    p.write_text(TRADES + many + "ZZZ,buy,10,1e400,1000,0.001,0.01,0.01,0.02\n", encoding="utf-8")
    with pytest.raises(InputError) as e:
        read_trades(p)
    assert str(e.value) == f"{p}, row 2004, column 'price': price is not a finite number: '1e400'"


def test_typed_trades_and_closes_keep_every_figure(tmp_path):
    p = tmp_path / "trades.csv"
    p.write_text(TRADES + "AAPL,buy,10,189.12,1891.2,0.0019,0.19,0.38,0.57\n", encoding="utf-8")
    t = read_trades(p).df
    assert t.loc[4, ["shares", "price", "notional", "weight_change"]].tolist() == [10.0, 189.12, 1891.2, 0.0019]
    assert t["shares"].dtype == np.float64
    c = tmp_path / "closes.csv"
    c.write_text("symbol,close\nAAPL,1\nMSFT,-0\n", encoding="utf-8")
    closes = read_closes(c)["close"]
    assert closes.tolist() == [1.0, 0.0] and not np.signbit(closes.to_numpy()).any()


@pytest.mark.parametrize(
    ("body", "adv"),
    [
        ("AAA,Tech,1000\nBBB,Tech,2000\n", [1000.0, 2000.0]),  # plain numbers: typed by the C parser
        ("AAA,Tech,1.5e6\nBBB,Tech,007\n", [1_500_000.0, 7.0]),
        ("AAA,Tech,\nBBB,Tech,2000\n", [float("nan"), 2000.0]),  # an empty cell: unknown ADV
        ("AAA,Tech,-0\nBBB,Tech,2000\n", [0.0, 2000.0]),
        ("AAA,Tech,$1500\nBBB , Tech , 1e6 \n", [1500.0, 1_000_000.0]),
    ],
)
def test_reference_adv_shares_typed_or_by_the_cells(tmp_path, body, adv):
    from xlexec.formats.inputs import read_reference

    p = tmp_path / "reference.csv"
    p.write_text("symbol,sector,adv_shares\n" + body)
    got = read_reference(p, missing_ok=False)
    assert got["symbol"].tolist() == ["AAA", "BBB"] and got["sector"].tolist() == ["Tech", "Tech"]
    assert np.array_equal(got["adv_shares"].to_numpy(), np.array(adv), equal_nan=True)
    assert got.index.tolist() == [2, 3]


@pytest.mark.parametrize(
    ("body", "row", "column", "message"),
    [
        ("AAA,Tech,1000\nBBB,Tech,abc\n", 3, "adv_shares", "adv_shares is not a finite number: 'abc'"),
        ("AAA,Tech,1000\nBBB,Tech,inf\n", 3, "adv_shares", "adv_shares is not a finite number: 'inf'"),
        ('AAA,Tech,"1,500"\n', 2, "adv_shares", "adv_shares '1,500': a share count takes no comma"),
        ("AAA,Tech,1\nAAA,Tech,2\n", 3, "symbol", "duplicate AAA"),
        ("AAA,Tech,1\nMicrosoft Corp,Tech,2\n", 3, "symbol", "symbol 'Microsoft Corp' is not a ticker"),
    ],
)
def test_bad_reference_files_name_file_row_and_column(tmp_path, body, row, column, message):
    from xlexec.formats.inputs import read_reference

    p = tmp_path / "reference.csv"
    p.write_text("symbol,sector,adv_shares\n" + body)
    with pytest.raises(InputError) as e:
        read_reference(p, missing_ok=False)
    assert str(e.value).startswith(f"{p}, row {row}, column '{column}': {message}")


@pytest.mark.parametrize(
    ("insert", "expected"),
    [
        ("", False),  # inner spaces only (Health Care): no cell needs stripping
        ("BBB ,Energy\n", True),
        ("BBB, Energy\n", True),
        ("BBB,Energy \n", True),
        (" BBB,Energy\n", True),
        ('"BBB ",Energy\n', True),
        ('BBB," Energy"\n', True),
        ("BBB,Energy\tX\n", True),
    ],
)
def test_may_need_strip_on_a_big_text_says_what_it_says_on_a_small_one(insert, expected):
    rows = "AAA,Health Care\n" * 5000  # > 64 KiB: the numpy scan of the bytes
    big = "symbol,sector\n" + rows[: len(rows) // 2] + insert + rows[len(rows) // 2 :]
    small = "symbol,sector\nAAA,Health Care\n" + insert
    assert len(big) > 1 << 16
    assert may_need_strip(big) is expected
    assert may_need_strip(small) is expected


def test_typed_quotes_keep_every_figure_and_their_errors(tmp_path):
    p = tmp_path / "quotes.csv"
    p.write_text(
        "symbol,bid,ask,last,timestamp,bid_size,ask_size\n"
        "AAA,10.01,10.03,10.02,2025-10-30T13:31:00+00:00,100,2E2\n"
        "BBB,0,0,7.5,2025-10-30T13:31:00Z,1e3,0\n"
    )
    q = read_quotes(p)  # plain numbers only: the C parser types them
    assert q["bid"].tolist() == [10.01, 0.0] and q["ask"].tolist() == [10.03, 0.0]
    assert q["mid"].tolist() == [(10.01 + 10.03) / 2, 7.5]  # no bid and ask: the last
    assert q["bid_size"].tolist() == [100.0, 1000.0] and q["ask_size"].tolist() == [200.0, 0.0]
    p.write_text(
        "symbol,bid,ask,last,timestamp\nAAA,10.01,10.03,10.02,2025-10-30T13:31:00Z\nBBB,-5,1,1,2025-10-30T13:31:00Z\n"
    )
    with pytest.raises(InputError) as e:
        read_quotes(p)
    assert str(e.value) == f"{p}, row 3, column 'bid': bid must not be negative"


@pytest.mark.parametrize("distinct_from", [1, 20_000])  # each distinct cell once / every cell as it is
def test_fill_times_repeated_across_rows_each_get_their_own_new_york_time(tmp_path, monkeypatch, distinct_from):
    """Each distinct time cell is converted once and given back to every row that has it: rows
    in any order, repeated, blank, without a zone or not a time keep their own answers (checked
    against ``Timestamp.isoformat`` per cell)."""
    import xlexec.formats.fills as fills_module

    monkeypatch.setattr(fills_module, "_DISTINCT_TIMES_FROM", distinct_from)
    cells = [
        "2025-10-30T13:30:00Z",
        "2025-10-30T13:30:01Z",
        "2025-03-09T06:59:59.5Z",
        "2025-11-02T06:30:00+00:00",
        "2025-11-02 06:30:00",
        "",
        "2025-10-30T09:30:00-04:00",
    ]
    order = [0, 1, 0, 2, 5, 3, 0, 4, 1, 6, 5, 0]
    body = "".join(f"2025-10-30,AAPL,buy,1,10,0,{cells[i]},o{n},\n" for n, i in enumerate(order))
    p = tmp_path / "broker_fills.csv"
    p.write_text("date,symbol,side,shares,price,commission,fill_time,order_id,client_order_id\n" + body)

    def expected(cell: str) -> str:
        if not cell or "T" not in cell:
            return ""
        return pd.Timestamp(cell).tz_convert("America/New_York").isoformat()

    got = read_fills(p)["fill_time_ny"].tolist()
    assert got == [expected(cells[i]) for i in order]
    assert got[0] == got[2] == got[6] == "2025-10-30T09:30:00-04:00" and got[4] == got[10] == ""


# ------------------------------------------------------------------ trades in the model's plain form, built at once

TRADE_ROWS = [
    "AAPL,buy,10,189.12,1891.2,0.0019,0.19,0.38,0.57",
    "BRK.B,sell,3,412.5,1237.5,-0.0012,0.12,0.25,0.37",
    "MSFT,buy,1,1.5,1.5,0.00001,0,0,0",
]


@pytest.mark.parametrize(
    ("extra_header", "rows", "strict"),
    [
        ("", TRADE_ROWS, True),  # the plain form: one frame from the arrays
        (",limit_price,ml_score,note", [r + f",{e},x y" for r, e in zip(TRADE_ROWS, ["190,0.5", ",", "1.55,2"])], True),
        ("", [*TRADE_ROWS, "AAPL,sell,4,189.12,756.48,-0.0008,0.08,0.15,0.23"], True),  # both sides of one symbol
        ("", [*TRADE_ROWS[:2], "MSFT,buy,0,1.5,0,0,0,0,0"], False),  # zero shares kept when not strict
        ("", [*TRADE_ROWS[:2], "msft,Buy,1,1.5,1.5,0,0,0,0"], True),  # the rules: lower-case ticker, capital side
        ("", [*TRADE_ROWS[:2], "BRK B,buy,1,1.5,1.5,0,0,0,0"], True),  # a spelling of BRK.B: the rules
        ("", [*TRADE_ROWS[:2], "NVDA,buy,1,$1.50,1.5,0,0,0,0"], True),  # a $ amount: the rules
        (",order_type", [r + ",mkt" for r in TRADE_ROWS], True),  # order types: the rules
    ],
)
def test_plain_trades_are_the_frame_the_rules_give(tmp_path, extra_header, rows, strict):
    """A file in the model's plain form is built from the columns' arrays at once; the frame is
    the one the cell-by-cell rules make of the careful read (every cell as text), column for
    column, dtypes included."""
    from xlexec.core.trades import parse_trades_frame

    text = TRADES.replace("total_cost_est\n", f"total_cost_est{extra_header}\n") + "\n".join(rows) + "\n"
    p = tmp_path / "trades.csv"
    p.write_text(text, encoding="utf-8")
    got = read_trades(p, strict=strict).df
    _, body, first = split_comment_body(text)
    careful = read_table(body, str(p), first, ["symbol"], careful=True)
    assert (careful.dtypes != np.float64).all()  # text cells: the rules' path, the reference
    pd.testing.assert_frame_equal(got, parse_trades_frame(careful, str(p), strict=strict))
    assert list(got.index) == list(range(4, 4 + len(rows)))


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("AAPL,buy,10,189.12,1891.2,0.0019,0.19,0.38,0.57", "duplicate AAPL buy: rows 4 and 7 (first at row 4)"),
        ("ZZZ,buy,-5,10,-50,0,0,0,0", "shares must be positive, got -5"),
        ("ZZZ,buy,5,0,0,0,0,0,0", "price must be positive, got 0"),
        ("ZZZ,hold,5,1,5,0,0,0,0", "side must be buy or sell, got 'hold'"),
    ],
)
def test_a_plain_file_with_a_broken_rule_names_its_row(tmp_path, row, message):
    p = tmp_path / "trades.csv"
    p.write_text(TRADES + "\n".join([*TRADE_ROWS, row]) + "\n", encoding="utf-8")
    with pytest.raises(InputError) as e:
        read_trades(p)
    assert message in str(e.value) and "row 7" in str(e.value)


BARS_HEADER = "symbol,timestamp,open,high,low,close,volume,vwap\n"


def test_bars_typed_or_by_the_cells_are_the_same_figures(tmp_path):
    from xlexec.formats.bars import read_bars

    rows = [f"AAPL,2025-10-30T13:{m:02d}:00Z,150.{m:02d},150.9,149.1,150.5,{1000 + m},150.25" for m in range(40)]
    p = tmp_path / "bars.csv"
    p.write_text(BARS_HEADER + "\n".join(rows) + "\n")
    typed = read_bars(p)
    assert typed["open"].tolist()[:3] == [150.0, 150.01, 150.02] and typed["volume"].iloc[39] == 1039.0
    assert typed.index.tolist()[:2] == [2, 3]
    # a "$" and an empty vwap: every number column read from its text, cell by cell
    rows[5] = "AAPL,2025-10-30T13:05:00Z,$150.05,150.9,149.1,150.5,1005,"
    p.write_text(BARS_HEADER + "\n".join(rows) + "\n")
    texts = read_bars(p)
    assert texts["open"].iloc[5] == 150.05 and np.isnan(texts["vwap"].iloc[5])
    same = [i for i in range(40) if i != 5]
    pd.testing.assert_frame_equal(texts.iloc[same], typed.iloc[same])


@pytest.mark.parametrize(
    ("row", "column", "message"),
    [
        ("AAPL,2025-10-30T13:01:00Z,150,150.9,149.1,150.5,-7,150.25", "volume", "volume must not be negative"),
        ("AAPL,2025-10-30T13:01:00Z,150,149,149.1,150.5,7,150.25", "high", "high is below low"),
        ("AAPL,2025-10-30T13:01:00Z,150,151,149,1.5e400,7,150", "close", "close is not a finite number: '1.5e400'"),
        ("AAPL,2025-10-30T13:00:00Z,150,151,149,150,7,150", "timestamp", "AAPL has two bars at 2025-10-30T13:00:00Z"),
    ],
)
def test_bad_bars_name_file_row_and_column(tmp_path, row, column, message):
    from xlexec.formats.bars import read_bars

    p = tmp_path / "bars.csv"
    p.write_text(BARS_HEADER + "AAPL,2025-10-30T13:00:00Z,150,150.9,149.1,150.5,1000,150.25\n" + row + "\n")
    with pytest.raises(InputError) as e:
        read_bars(p)
    assert str(e.value) == f"{p}, row 3, column '{column}': {message}"
