"""Splits on the trade date: every position figure uses post-split shares, the cost basis stays.

The day (hand-made): positions XYZ 400 @ $20.15 (cost basis 400 x 20.15 = $8,060.00) and
KO 100 @ $60.00 at the close before 2025-10-30; XYZ splits 2-for-1 on 2025-10-30 (ratio 2), so
the day's quotes are post-split: XYZ 10.49 / 10.51 (mid 10.50), KO 59.99 / 60.01 (mid 60.00).
A 1-for-10 reverse split (ratio 0.1) of ABC 25 @ $3.0725 (cost basis $76.8125) gives 2.5 shares.
Every expectation below is worked out in the test from these inputs with Decimal.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

import pandas as pd
import pytest

from xlexec.config import config_from_dict, validation_thresholds
from xlexec.core.checks import validate
from xlexec.core.corporate_actions import apply_splits, cents
from xlexec.core.reconcile import reconcile
from xlexec.errors import InputError
from xlexec.formats.inputs import read_events
from xlexec.formats.trades import parse_trades_text

DAY = "2025-10-30"
NOW = dt.datetime(2025, 10, 30, 14, 0, tzinfo=dt.UTC)
CENT = Decimal("0.01")
HEAD = "symbol,side,shares,price,notional,weight_change,commission_est,slippage_est,total_cost_est"


def half_up(x: Decimal) -> float:
    return float(x.quantize(CENT, rounding=ROUND_HALF_UP))


def positions(*rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["symbol", "shares", "avg_cost"]).astype({"shares": float, "avg_cost": float})


def split_events(*rows) -> pd.DataFrame:
    return pd.DataFrame([(s, DAY, "split", float(r)) for s, r in rows], columns=["symbol", "date", "event", "ratio"])


POS = positions(("XYZ", 400, 20.15), ("KO", 100, 60.00))
EVENTS = split_events(("XYZ", 2))
QUOTES = pd.DataFrame(
    {
        "symbol": ["XYZ", "KO", "ABC"],
        "bid": [10.49, 59.99, 30.70],
        "ask": [10.51, 60.01, 30.76],
        "last": [10.50, 60.00, 30.73],
        "timestamp": pd.to_datetime(["2025-10-30T13:55:00Z"] * 3, utc=True),
    }
)
QUOTES["mid"] = (QUOTES["bid"] + QUOTES["ask"]) / 2


def trades(line: str, header: str = "") -> str:
    return f"# Date: {DAY}\n{header}# Kill Switch: ACTIVE\n# Safety Checks: PASSED\n{HEAD}\n{line}\n"


def run(text: str, pos=POS, events=EVENTS, cash=1000.0, **validation):
    cfg = config_from_dict({"validation": {"max_position_pct": 0.99, "max_trade_pct": 0.99, **validation}})
    return validate(
        parse_trades_text(text, "<test>", strict=False),
        positions=pos,
        quotes=QUOTES,
        events=events,
        reference=None,
        thresholds=validation_thresholds(cfg),
        now=NOW,
        kill_switch_file=False,
        cash=cash,
    )


def rows(r, check: str) -> pd.DataFrame:
    return r.checks[r.checks["check"] == check]


# ------------------------------------------------------------------ the one rule


def test_a_2_for_1_split_doubles_the_shares_and_keeps_the_total_cost():
    after = apply_splits(POS, EVENTS, DAY).set_index("symbol")
    shares = Decimal(400) * Decimal(2)
    basis = Decimal(400) * Decimal("20.15")  # 8,060.00
    assert after.at["XYZ", "shares"] == float(shares) == 800.0
    assert Decimal(repr(float(after.at["XYZ", "avg_cost"]))) == basis / shares == Decimal("10.075")
    assert cents(after.at["XYZ", "avg_cost"]) == half_up(basis / shares) == 10.08  # not 10.07
    assert (after.at["KO", "shares"], after.at["KO", "avg_cost"]) == (100.0, 60.0)  # no split: untouched
    # another day's split is not this day's
    assert apply_splits(POS, EVENTS, "2025-10-31").equals(POS)


def test_a_1_for_10_reverse_split_keeps_the_fraction():
    pos = positions(("ABC", 25, 3.0725))
    after = apply_splits(pos, split_events(("ABC", 0.1)), DAY).set_index("symbol")
    shares = Decimal(25) * Decimal("0.1")  # 2.5: the half share is kept, not dropped
    basis = Decimal(25) * Decimal("3.0725")  # 76.8125
    assert after.at["ABC", "shares"] == float(shares) == 2.5
    assert cents(after.at["ABC", "avg_cost"]) == half_up(basis / shares) == 30.73  # 30.725 half-up


def test_a_split_without_a_ratio_is_refused(tmp_path):
    p = tmp_path / "events.csv"
    p.write_text("symbol,date,event,ratio\nKO,2025-10-30,earnings,\nXYZ,2025-10-30,split,\n")
    with pytest.raises(InputError) as e:
        read_events(p, missing_ok=False)
    assert "row 3" in str(e.value) and "'ratio'" in str(e.value) and "split needs its ratio" in str(e.value)


# ------------------------------------------------------------------ validation


def test_validation_weighs_post_split_shares_at_post_split_prices():
    r = run(trades("XYZ,buy,100,10.50,1050.00,0.07,0.10,0.21,0.31"))
    mid_xyz, mid_ko = Decimal("10.50"), Decimal("60.00")
    pv = Decimal(800) * mid_xyz + Decimal(100) * mid_ko + Decimal(1000)  # 8,400 + 6,000 + cash 1,000
    assert pv == Decimal("15400.00")
    pvrow = rows(r, "portfolio_value").iloc[0]
    assert pvrow["status"] == "pass" and pvrow["value"] == pytest.approx(float(pv), abs=1e-9)
    weight = (Decimal(800) + Decimal(100)) * mid_xyz / pv  # 9,450 / 15,400 = 61.36%
    pos = rows(r, "position_pct").iloc[0]
    assert pos["status"] == "pass" and pos["value"] == pytest.approx(float(weight), abs=1e-12)
    assert "61.36%" in pos["message"]
    turnover = Decimal("1050.00") / pv
    assert rows(r, "turnover").iloc[0]["value"] == pytest.approx(float(turnover), abs=1e-12)


@pytest.mark.parametrize(
    ("sold", "status"),
    [(600, "pass"), (1000, "fail")],  # 1.5x and 2.5x the 400 pre-split shares; 800 held after the split
)
def test_oversell_counts_the_post_split_shares(sold, status):
    price = Decimal("10.49")
    line = f"XYZ,sell,{sold},10.49,{Decimal(sold) * price:.2f},-0.40,0.60,1.26,1.86"
    o = rows(run(trades(line)), "oversell")
    assert list(o["status"]) == [status], o
    if status == "fail":
        left = Decimal(400) * Decimal(2) - Decimal(sold)  # -200: a short
        assert o.iloc[0]["value"] == float(left) == -200.0
        assert "selling 1,000 of 800 held" in o.iloc[0]["message"]


def test_oversell_after_a_reverse_split():
    pos, ev = positions(("ABC", 25, 3.0725)), split_events(("ABC", 0.1))
    two = rows(run(trades("ABC,sell,2,30.70,61.40,-0.01,0.01,0.01,0.02"), pos=pos, events=ev), "oversell")
    three = rows(run(trades("ABC,sell,3,30.70,92.10,-0.01,0.01,0.01,0.02"), pos=pos, events=ev), "oversell")
    assert list(two["status"]) == ["pass"]  # 2 of 2.5 held
    assert list(three["status"]) == ["fail"] and three.iloc[0]["value"] == float(Decimal("2.5") - 3)


# ------------------------------------------------------------------ reconcile


def test_reconcile_starts_from_post_split_shares_and_shows_the_basis_to_the_cent():
    t = parse_trades_text(trades("XYZ,sell,600,10.49,6294.00,-0.40,0.60,1.26,1.86", "# Portfolio Value: $15,400.00\n"))
    f = pd.DataFrame(
        [[DAY, "XYZ", "sell", 600, 10.49, 0.60, "09:35:00", "o-1", "", "f1"]],
        columns=[
            "date",
            "symbol",
            "side",
            "shares",
            "price",
            "commission",
            "fill_time",
            "order_id",
            "client_order_id",
            "fill_id",
        ],
    )
    r = reconcile(t, f, POS, day=DAY, events=EVENTS, cash_before=1000.0)
    j = r.to_json()
    assert j["breaks"] == []  # 600 of 800 held: no oversell
    left = Decimal(400) * 2 - 600  # 200 shares; a sale keeps the per-share basis
    per_share = Decimal(400) * Decimal("20.15") / (Decimal(400) * 2)  # 10.075
    xyz = next(p for p in j["positions"] if p["symbol"] == "XYZ")
    assert (
        xyz
        == {
            "symbol": "XYZ",
            "shares": int(left),
            "avg_cost": half_up(per_share),
            "total_cost": half_up(left * per_share),
        }
        == {
            "symbol": "XYZ",
            "shares": 200,
            "avg_cost": 10.08,
            "total_cost": 2015.0,  # 200 of the 800 shares: 8,060.00 x 200 / 800
        }
    )
    # the carried figure keeps the full quotient, so 200 shares still cost 200 x 10.075 = 2,015.00
    carried = r.positions_after.set_index("symbol").at["XYZ", "avg_cost"]
    assert Decimal(repr(float(carried))) * left == left * per_share == Decimal("2015.000")
    assert j["splits_applied"][0]["avg_cost"] == 10.08 and j["splits_applied"][0]["cost_basis"] == 8060.0
    assert "XYZ x2: 400 -> 800 shares, cost basis $8,060.00 = $10.08/share" in r.report_text()


def test_reconcile_names_the_fraction_a_reverse_split_leaves():
    t = parse_trades_text(trades("KO,buy,1,60.00,60.00,0.01,0.01,0.01,0.02", "# Portfolio Value: $15,400.00\n"))
    f = pd.DataFrame(
        columns=[
            "date",
            "symbol",
            "side",
            "shares",
            "price",
            "commission",
            "fill_time",
            "order_id",
            "client_order_id",
            "fill_id",
        ]
    )
    r = reconcile(t, f, positions(("ABC", 25, 3.0725)), day=DAY, events=split_events(("ABC", 0.1)))
    s = r.to_json()["splits_applied"][0]
    assert (s["shares_before"], s["shares_after"], s["avg_cost"]) == (25.0, 2.5, 30.73)
    assert "0.5 of a share kept as a fraction" in s["note"]
    assert r.positions_after.set_index("symbol").at["ABC", "shares"] == 2.5
