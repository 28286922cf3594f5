"""Today's P&L arithmetic (:func:`xlexec.core.pnl.pnl_today`): exact sums, one half-up rounding,
and the gain since purchase from the exact total cost. Expected figures by hand in Decimal."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pandas as pd

from xlexec.core.pnl import pnl_today

D = Decimal


def cents(x: Decimal) -> float:
    return float(x.quantize(D("0.01"), rounding=ROUND_HALF_UP))


def test_gain_since_purchase_is_from_the_total_cost_not_the_rounded_average():
    # 3 shares bought for 10.01 + 10.02 + 10.04 = 30.07 in all: the average 10.0233... is shown
    # as 10.02, and 3 x (10.10 - 10.02) = 0.24 would be 0.01 off
    pos = pd.DataFrame({"symbol": ["AAA"], "shares": [3.0], "avg_cost": [10.02], "total_cost": [30.07]})
    quotes = pd.DataFrame({"symbol": ["AAA"], "mid": [10.10]})
    out = pnl_today(pos, quotes, None, pd.DataFrame({"symbol": ["AAA"], "close": [10.0]}))
    (row,) = out["by_symbol"]
    assert row["unrealised_since_purchase"] == cents(D(3) * D("10.10") - D("30.07")) == 0.23
    # without a total cost column, shares x the average given
    out = pnl_today(pos.drop(columns="total_cost"), quotes, None, None)
    assert out["by_symbol"][0]["unrealised_since_purchase"] == cents(D(3) * (D("10.10") - D("10.02")))


def test_the_total_is_the_sum_of_unrounded_figures_rounded_half_up_once():
    # two symbols each with P&L 0.005: shown 0.01 each (half-up, not banker's 0.0), total 0.01
    pos = pd.DataFrame({"symbol": ["AAA", "BBB"], "shares": [1.0, 1.0], "avg_cost": [1.0, 1.0]})
    quotes = pd.DataFrame({"symbol": ["AAA", "BBB"], "mid": [10.005, 20.005]})
    closes = pd.DataFrame({"symbol": ["AAA", "BBB"], "close": [10.0, 20.0]})
    out = pnl_today(pos, quotes, None, closes)
    each = D("10.005") - D("10.0")
    assert [r["pnl"] for r in out["by_symbol"]] == [cents(each), cents(D("20.005") - D("20.0"))] == [0.01, 0.01]
    assert out["total_pnl"] == cents(each + (D("20.005") - D("20.0"))) == 0.01
