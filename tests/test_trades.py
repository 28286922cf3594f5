import pytest

from xlexec.core.trades import parse_header_number
from xlexec.errors import InputError
from xlexec.formats.trades import parse_trades_text, read_trades, write_trades

HDR = "symbol,side,shares,price,notional,weight_change,commission_est,slippage_est,total_cost_est\n"


def test_reads_guide_format_with_header(guide_trades_path):
    t = read_trades(guide_trades_path)
    assert list(t.df["symbol"]) == ["AAPL", "MSFT", "GOOGL"]
    assert list(t.df["side"]) == ["buy", "sell", "buy"]
    assert t.df["shares"].tolist() == [100, 50, 25]
    assert t.df.loc[t.df.symbol == "MSFT", "notional"].item() == 19025.00
    h = t.header
    assert h.date == "2025-10-30"
    assert h.portfolio_value == 100000.0
    assert h.turnover == pytest.approx(0.185)
    assert h.ic == pytest.approx(0.034)
    assert h.kill_switch == "ACTIVE" and h.safety_checks == "PASSED"
    assert h.regime == "Normal" and h.risk_multiplier == 1.0
    # index = the source line number (8 comment rows + header -> first data row is line 10)
    assert list(t.df.index) == [10, 11, 12]


@pytest.mark.parametrize(
    "value,expected",
    [("$100,000.00", 100000.0), ("18.5%", 0.185), ("$295.35 (0.30% of notional)", 295.35), ("n/a", None)],
)
def test_header_numbers(value, expected):
    assert parse_header_number(value) == (pytest.approx(expected) if expected is not None else None)


def test_side_is_case_insensitive():
    t = parse_trades_text(HDR + "aapl,BUY,1,1,1,0.1,0,0,0\nMSFT,Sell,1,1,1,-0.1,0,0,0\n")
    assert list(t.df["side"]) == ["buy", "sell"] and list(t.df["symbol"]) == ["AAPL", "MSFT"]


def test_round_trip_same_format(guide_trades_path, tmp_path):
    t = read_trades(guide_trades_path)
    out = write_trades(t, tmp_path / "out.csv")
    assert out.read_text() == guide_trades_path.read_text()
    t2 = read_trades(out)
    assert t2.df.equals(t.df) and t2.header.raw == t.header.raw


@pytest.mark.parametrize(
    "body,row,column,words",
    [
        (HDR.replace(",total_cost_est", "") + "AAPL,buy,1,1,1,0.1,0,0\n", 1, "total_cost_est", "missing column"),
        (HDR + "AAPL,buy,abc,1,1,0.1,0,0,0\n", 2, "shares", "not a finite number"),
        (HDR + "AAPL,buy,1,1,1,0.1,0,0,0\nMSFT,buy,-5,1,1,0.1,0,0,0\n", 3, "shares", "positive"),
        (HDR + "AAPL,buy,0,1,1,0.1,0,0,0\n", 2, "shares", "positive"),
        (HDR + "AAPL,hold,1,1,1,0.1,0,0,0\n", 2, "side", "buy or sell"),
        (HDR + "AAPL,buy,1,1,1,0.1,0,0,0\nAAPL,BUY,2,1,2,0.1,0,0,0\n", 3, "symbol", "duplicate"),
        (HDR + "AAPL,buy,1,nan,1,0.1,0,0,0\n", 2, "price", "finite"),
        (HDR + "AAPL,buy,1,inf,1,0.1,0,0,0\n", 2, "price", "finite"),
        ("# Date: 2025-10-30\n" + HDR + '=HYPERLINK("x"),buy,1,1,1,0.1,0,0,0\n', 3, "symbol", "not a ticker"),
    ],
)
def test_bad_input_names_file_row_column(body, row, column, words):
    with pytest.raises(InputError) as ei:
        parse_trades_text(body, "bad.csv")
    e = ei.value
    assert (e.file, e.row, e.column) == ("bad.csv", row, column)
    assert words in str(e) and str(e).startswith("bad.csv, row ")
    assert "\n" not in str(e)


def test_empty_file_and_header_only(tmp_path):
    p = tmp_path / "trades.csv"
    p.write_text("")
    with pytest.raises(InputError, match="empty trades file"):
        read_trades(p)
    p.write_text("# Date: 2025-10-30\n" + HDR)
    with pytest.raises(InputError, match="no data rows") as ei:
        read_trades(p)
    assert ei.value.file == str(p)


def test_wrong_encoding_names_row(tmp_path):
    p = tmp_path / "trades.csv"
    p.write_bytes((HDR + "AAPL,buy,1,1,1,0.1,0,0,0\n").encode() + "NESTL\xc9,buy,1,1,1,0.1,0,0,0\n".encode("latin-1"))
    with pytest.raises(InputError, match="not UTF-8") as ei:
        read_trades(p)
    assert ei.value.row == 3


def test_bom_is_tolerated(tmp_path):
    p = tmp_path / "trades.csv"
    p.write_bytes(b"\xef\xbb\xbf" + (HDR + "AAPL,buy,1,1,1,0.1,0,0,0\n").encode())
    assert read_trades(p).df["symbol"].tolist() == ["AAPL"]


def test_lenient_mode_keeps_nonpositive_shares():
    t = parse_trades_text(HDR + "AAPL,buy,-5,1,-5,0.1,0,0,0\n", strict=False)
    assert t.df["shares"].tolist() == [-5]


def test_atomic_writes_sweep_stale_temps_and_keep_permissions(tmp_path):
    import os
    import time

    from xlexec.formats.csvio import STALE_TEMP_SECONDS, atomic_write_text

    target = tmp_path / "x.csv"
    stale = tmp_path / ".x.csv.abc123.tmp"  # left behind by a killed writer
    fresh = tmp_path / ".x.csv.def456.tmp"  # a write still in progress elsewhere
    other = tmp_path / ".y.csv.abc123.tmp"  # another file's temp
    for p in (stale, fresh, other):
        p.write_text("partial")
    old = time.time() - STALE_TEMP_SECONDS - 5
    os.utime(stale, (old, old))
    os.utime(other, (old, old))
    atomic_write_text(target, "a,b\n")
    assert target.read_text() == "a,b\n"
    assert not stale.exists() and fresh.exists() and other.exists()
    mask = os.umask(0)
    os.umask(mask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~mask
