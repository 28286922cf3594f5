"""Positions core: fills with average cost, splits, valuation, system vs broker comparison."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from xlexec.core.corporate_actions import apply_splits, split_notes
from xlexec.core.positions import apply_fills, compare_positions, value_positions


def pos(*rows):
    return pd.DataFrame(list(rows), columns=["symbol", "shares", "avg_cost"])


def fills(*rows):
    df = pd.DataFrame(list(rows), columns=["symbol", "side", "shares", "price", "commission"])
    df["date"] = "2025-10-30"
    return df


def as_dict(df):
    return {s: (float(q), round(float(c), 6)) for s, q, c in zip(df["symbol"], df["shares"], df["avg_cost"])}


def test_buys_raise_cost_sells_keep_it_and_flat_is_removed():
    start = pos(("AAPL", 150, 145.50), ("MSFT", 75, 365.20), ("KO", 100, 60.0))
    f = fills(
        ("AAPL", "buy", 60, 150.10, 0.3),
        ("AAPL", "buy", 40, 150.20, 0.2),
        ("MSFT", "sell", 50, 370.00, 1.0),
        ("KO", "sell", 100, 61.0, 0.1),
        ("NVDA", "buy", 10, 200.05, 0.0),
    )
    after, breaks = apply_fills(start, f)
    # AAPL: (150 x 145.50 + 60 x 150.10 + 40 x 150.20) / 250 = 36839 / 250 = 147.356 (commission is cash)
    assert as_dict(after) == {"AAPL": (250.0, 147.356), "MSFT": (25.0, 365.2), "NVDA": (10.0, 200.05)}
    assert breaks == []  # KO sold whole: removed, not a break


def test_oversell_is_a_break_and_the_short_stays_visible():
    after, breaks = apply_fills(
        pos(("KO", 100, 60.0)), fills(("KO", "sell", 150, 61.0, 0.0), ("XOM", "sell", 5, 110.0, 0.0))
    )
    # held 100 KO, sold 150: 50 short at the sale's 61.00; XOM never held: 5 short at 110.00
    assert as_dict(after) == {"KO": (-50.0, 61.0), "XOM": (-5.0, 110.0)}
    assert [(b["symbol"], b["kind"], b["planned"], b["executed"]) for b in breaks] == [
        ("KO", "oversell", 100.0, 150.0),
        ("XOM", "oversell", 0.0, 5.0),
    ]
    assert "short -50 kept" in breaks[0]["detail"]


def test_selling_more_of_a_short_start_blends_the_short_basis():
    # short 10 @ 100, sells 30 more @ 110: short 40 @ (10 x 100 + 30 x 110) / 40 = 107.50
    after, breaks = apply_fills(pos(("XOM", -10, 100.0)), fills(("XOM", "sell", 30, 110.0, 0.0)))
    assert as_dict(after) == {"XOM": (-40.0, 107.5)}
    assert [(b["symbol"], b["planned"], b["executed"]) for b in breaks] == [("XOM", 0.0, 30.0)]


def test_buy_then_sell_same_day_counts_the_buy_as_held():
    after, breaks = apply_fills(pos(("KO", 10, 50.0)), fills(("KO", "buy", 10, 70.0, 0), ("KO", "sell", 15, 72.0, 0)))
    assert breaks == [] and as_dict(after) == {"KO": (5.0, 60.0)}  # (10x50 + 10x70)/20 = 60


def test_split_multiplies_shares_divides_cost():
    ev = pd.DataFrame(
        {
            "symbol": ["AAPL", "MSFT", "KO"],
            "date": ["2025-10-30", "2025-10-29", "2025-10-30"],
            "event": ["split", "split", "earnings"],
            "ratio": [5.0, 2.0, float("nan")],
        }
    )
    start = pos(("AAPL", 100, 500.0), ("MSFT", 10, 400.0))
    p = apply_splits(start, ev, "2025-10-30")  # only the day's splits: MSFT's (the 29th) is not today's
    assert as_dict(p) == {"AAPL": (500.0, 100.0), "MSFT": (10.0, 400.0)}
    assert [n["symbol"] for n in split_notes(start, ev, "2025-10-30")] == ["AAPL"]
    assert as_dict(apply_splits(start, ev, "2025-10-29")) == {"AAPL": (100.0, 500.0), "MSFT": (20.0, 200.0)}


def test_value_positions_guide_columns():
    v = value_positions(
        pos(("AAPL", 250, 148.20), ("MSFT", 25, 378.40)),
        pd.DataFrame({"symbol": ["AAPL"], "close": [150.25]}),
        day="2025-10-30",
        cash=1000.0,
    )
    assert list(v.columns) == ["symbol", "shares", "avg_cost", "current_value", "weight", "last_updated", "total_cost"]
    # AAPL 250 x 150.25 = 37562.50; MSFT has no mark -> no price (never its avg cost 378.40); the
    # known total 37562.50 + 1000 cash = 38562.50
    assert v["current_value"].iloc[0] == 37562.50 and np.isnan(v["current_value"].iloc[1])
    # the weight is stored unrounded (shown rounded): 37562.50 / 38562.50 = 0.97406807...
    assert v["weight"].iloc[0] == float(Decimal("37562.50") / Decimal("38562.50")) and np.isnan(v["weight"].iloc[1])
    assert set(v["last_updated"]) == {"2025-10-30"}


def test_compare_positions_likely_causes():
    system = pos(
        ("AAPL", 100, 150.0),
        ("MSFT", 50, 300.0),
        ("KO", 200, 60.0),
        ("VTI", 10, 250.0),
        ("IBM", 5, 200.0),
        ("T", 1, 20.0),
    )
    broker = pos(
        ("AAPL", 500, 30.0),
        ("MSFT", 60, 300.0),
        ("KO", 200, 60.0),
        ("VTI", 10.3712, 250.0),
        ("IBM", 25, 200.0),
        ("XOM", 7, 110.0),
    )
    ev = pd.DataFrame({"symbol": ["AAPL"], "date": ["2025-10-30"], "event": ["split"], "ratio": [5.0]})
    pending = pd.DataFrame({"symbol": ["MSFT"], "shares": [10.0]})
    c = compare_positions(system, broker, events=ev, pending=pending).set_index("symbol")
    assert c.loc["AAPL", "likely_cause"] == "split"
    assert c.loc["MSFT", "likely_cause"] == "unreconciled day"
    assert c.loc["VTI", "likely_cause"] == "fractional DRIP shares"
    assert c.loc["VTI", "difference"] == pytest.approx(0.3712)
    assert c.loc["IBM", "likely_cause"] == "unrecorded manual trade"
    assert c.loc["XOM", "likely_cause"] == "unrecorded manual trade" and c.loc["XOM", "system_shares"] == 0
    assert c.loc["T", "broker_shares"] == 0 and not c.loc["T", "matches"]
    assert c.loc["KO", "matches"] and c.loc["KO", "likely_cause"] == ""
    assert int((~c["matches"]).sum()) == 6


# ---- the cost basis read from a positions file (whole units where exact, Decimal otherwise) ----


def _positions_file(tmp_path, body: str):
    from xlexec.formats.inputs import read_positions

    p = tmp_path / "current_positions.csv"
    p.write_text(body)
    return read_positions(p)


def test_cost_basis_from_avg_cost_is_the_exact_product_not_the_float_one(tmp_path):
    # float products that round wrongly: 3 x 0.1 = 0.30000000000000004, 12345 x 145.13 = 1791629.8499999999
    assert 3 * 0.1 != 0.3 and 12345 * 145.13 != 1791629.85 and -7 * 0.7 != -4.9
    got = _positions_file(tmp_path, "symbol,shares,avg_cost\nAAA,3,0.1\nBBB,12345,145.13\nCCC,-7,0.7\n")
    assert got["total_cost"].tolist() == [0.3, 1791629.85, -4.9]
    assert got["avg_cost"].tolist() == [0.1, 145.13, 0.7]


def test_cost_basis_with_fractional_shares_and_many_places(tmp_path):
    # 2.5 shares at $19.99: 49.975 (the float product is 49.974999999999994)
    got = _positions_file(tmp_path, "symbol,shares,avg_cost\nAAA,2.5,19.99\nBBB,2.5,\nCCC,0,12.5\n")
    assert 2.5 * 19.99 != 49.975
    assert got["total_cost"].tolist() == [49.975, 0.0, 0.0]
    assert got["avg_cost"].tolist() == [19.99, 0.0, 12.5]  # a missing avg_cost is 0; a flat row keeps its own


def test_cost_basis_beyond_whole_units_falls_back_to_decimal(tmp_path):
    # 16 significant digits each: the integer product exceeds 2**53, so the Decimal path decides
    got = _positions_file(tmp_path, "symbol,shares,avg_cost\nAAA,1234567.891234567,9876.543210987655\nBBB,3,0.1\n")
    big = Decimal("1234567.891234567") * Decimal("9876.543210987655")  # 28 digits: Decimal rounds as basis does
    assert float(big) != 1234567.891234567 * 9876.543210987655
    assert got["total_cost"].tolist() == [float(big), 0.3]
    assert got["avg_cost"].tolist() == [float(big / Decimal("1234567.891234567")), 0.1]


def test_cost_basis_given_as_total_cost_is_kept_and_avg_is_the_exact_quotient(tmp_path):
    got = _positions_file(tmp_path, "symbol,shares,avg_cost,total_cost\nAAA,3,0.1,0.3\nBBB,7,,10\nCCC,4,2.5,\n")
    assert got["total_cost"].tolist() == [0.3, 10.0, 10.0]
    assert got["avg_cost"].tolist() == [0.1, float(Decimal(10) / Decimal(7)), 2.5]


@pytest.mark.parametrize("places, whole_units", [(2, True), (6, False)])
def test_cost_basis_of_many_random_rows_equals_the_decimal_product(tmp_path, places, whole_units):
    from xlexec.core.positions import _derived_whole_units

    rng = np.random.default_rng(5)
    n = 3000
    shares = [round(float(x), int(k)) for x, k in zip(rng.uniform(-5e5, 5e5, n), rng.integers(0, places + 1, n))]
    shares[:50] = [0.0] * 50
    costs = [round(float(x), int(k)) for x, k in zip(rng.uniform(0, 5e3, n), rng.integers(0, 5, n))]
    body = "symbol,shares,avg_cost\n" + "".join(f"S{i},{q!r},{c!r}\n" for i, (q, c) in enumerate(zip(shares, costs)))
    got = _positions_file(tmp_path, body)
    # both paths: in whole units (shares to 2 places x costs to 4) and the Decimal one (6 x 4: beyond 2**53)
    assert (_derived_whole_units(np.array(shares), np.array(costs)) is not None) == whole_units
    want_total, want_avg = [], []
    for q, c in zip(shares, costs):
        d = Decimal(repr(q)) * Decimal(repr(c))
        want_total.append(0.0 if q == 0 else float(d))
        want_avg.append(c if q == 0 else float(d / Decimal(repr(q))))
    assert sum(float(q) * float(c) != t for q, c, t in zip(shares, costs, want_total)) > 100  # floats would differ
    assert got["total_cost"].tolist() == want_total
    assert got["avg_cost"].tolist() == want_avg


def test_the_cost_basis_of_each_row_by_hand():
    """clean_positions: a total cost given is kept and the avg cost is its exact quotient by the
    shares (as Decimals of the floats' text, to a float); a flat row costs 0 and keeps the
    avg_cost it was given; a row without a total costs avg_cost x shares."""
    from xlexec.core.positions import clean_positions

    p = pd.DataFrame(
        {
            "symbol": ["AAA", "BBB", "CCC", "DDD", "EEE"],
            "shares": [3.0, 0.0, 10.0, -4.0, 7.0],
            "avg_cost": [99.0, 12.5, 20.15, 0.0, 1.1],
            "total_cost": [100.0, 55.0, np.nan, -410.2, 2.2],
        }
    )
    c = clean_positions(p).set_index("symbol")
    assert c["total_cost"].tolist() == [100.0, 0.0, 201.5, -410.2, 2.2]
    assert c.loc["AAA", "avg_cost"] == 33.333333333333336  # float(Decimal(100) / Decimal(3))
    assert c.loc["BBB", "avg_cost"] == 12.5  # flat: the avg_cost as given
    assert c.loc["CCC", "avg_cost"] == 20.15
    assert c.loc["DDD", "avg_cost"] == 102.55  # a short: -410.2 / -4
    assert c.loc["EEE", "avg_cost"] == 0.3142857142857143  # 2.2 / 7 (the float quotient: 0.31428571428571433)
