"""Market orders valued at the live quote and quote ages (xlexec.core.quotes), and the limits
that use them (xlexec.execution.guards: stale_quote, no_market_quote, the $ limits), with
figures computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from xlexec.core.quotes import age_reference, market_value, quote_age_problems, side_quotes
from xlexec.execution import guards as G

NOW = pd.Timestamp("2025-10-30T14:05:00Z")  # Thursday 10:05 New York, in the session


def test_market_value_by_hand():
    v = market_value(
        [50, 30, 10, 10, 7],
        ["buy", "sell", "buy", "sell", "buy"],
        [1599.00, 99.99, 10.0, float("nan"), 12.0],
        [1600.00, 100.01, 0.0, 20.0, 12.345],
    )
    # 50 x ask 1,600.00 = 80,000.00; 30 x bid 99.99 = 2,999.70; ask 0 -> NaN; bid NaN -> NaN;
    # 7 x 12.345 = 86.415 -> 86.42 (to the cent)
    assert v[:2].tolist() == [80_000.00, 2_999.70]
    assert math.isnan(v[2]) and math.isnan(v[3])
    assert v[4] == 86.42


def test_side_quotes_never_fall_back_to_last_or_mid():
    q = pd.DataFrame(
        {"symbol": ["A", "B", "C"], "bid": [99.0, 0.0, None], "ask": [101.0, 51.0, None], "last": [100, 50, 7]}
    )
    s = side_quotes(q)
    assert s.loc["A"].tolist() == [99.0, 101.0]
    assert math.isnan(s.loc["B", "bid"]) and s.loc["B", "ask"] == 51.0
    assert s.loc["C"].isna().all()
    assert side_quotes(None).empty


def test_age_reference_in_and_out_of_the_session():
    assert age_reference(NOW) == (NOW, True)
    # 09:29 New York on a session day: before the open -> the previous session's close (Wed 16:00)
    assert age_reference(pd.Timestamp("2025-10-30T13:29:00Z")) == (pd.Timestamp("2025-10-29T20:00:00Z"), False)
    # 17:30 New York -> today's close
    assert age_reference(pd.Timestamp("2025-10-30T21:30:00Z")) == (pd.Timestamp("2025-10-30T20:00:00Z"), False)
    # Saturday -> Friday's close; the day after Thanksgiving closes at 13:00 New York (18:00 UTC)
    assert age_reference(pd.Timestamp("2025-11-01T15:00:00Z")) == (pd.Timestamp("2025-10-31T20:00:00Z"), False)
    assert age_reference(pd.Timestamp("2025-11-29T15:00:00Z")) == (pd.Timestamp("2025-11-28T18:00:00Z"), False)


def test_quote_age_problems_by_hand():
    q = pd.DataFrame(
        {
            "symbol": ["OK", "OLD", "NOTS", "AHEAD"],
            "bid": [1.0] * 4,
            "ask": [1.0] * 4,
            "timestamp": ["2025-10-30T14:04:00Z", "2025-10-30T14:03:59Z", None, "2025-10-30T14:06:01Z"],
        }
    )
    p = quote_age_problems(q, NOW, 60)
    assert p["OK"] == ""  # exactly 60 s: at the limit, usable
    assert p["OLD"] == "quote is 61 s old (max_quote_age_seconds 60)"
    assert p["NOTS"] == "quote has no timestamp"
    assert p["AHEAD"] == "quote is stamped 61 s after now (max_quote_age_seconds 60)"
    # no clock: nothing usable
    assert set(quote_age_problems(q, None, 60)) == {"no clock to age the quote against"}
    # Saturday: Friday's 15:59:30 quote is 30 s before Friday's close: usable; Thursday's is not
    sat = pd.Timestamp("2025-11-01T15:00:00Z")
    q2 = pd.DataFrame({"symbol": ["F", "T"], "timestamp": ["2025-10-31T19:59:30Z", "2025-10-30T19:59:30Z"]})
    p2 = quote_age_problems(q2, sat, 60)
    assert p2["F"] == ""
    assert (
        p2["T"]
        == "quote is 1 d 0 h old at the last close 2025-10-31 20:00 UTC (market closed) (max_quote_age_seconds 60)"
    )


LIMITS = {
    "max_order_size_usd": 10_000.0,
    "max_daily_trades": 50,
    "price_collar_pct": None,
    "buying_power": None,
    "buying_power_buffer": 0.05,
}


def market_orders(*rows) -> pd.DataFrame:
    """``(symbol, side, qty, signal $)`` market orders (notional as orders_from_trades: qty x signal)."""
    df = pd.DataFrame(rows, columns=["symbol", "side", "qty", "price"])
    df["order_type"] = "market"
    df["limit_price"] = np.nan
    df["notional"] = (df["qty"] * df["price"]).round(2)
    df["weight_change"] = 0.01
    df["client_order_id"] = [f"c-{s}-{sd}" for s, sd in zip(df["symbol"], df["side"])]
    return df


def quotes(*rows) -> pd.DataFrame:
    """``(symbol, bid, ask, seconds old at NOW)``."""
    df = pd.DataFrame(rows, columns=["symbol", "bid", "ask", "age"])
    df["timestamp"] = [NOW - pd.Timedelta(seconds=a) for a in df["age"]]
    return df.drop(columns="age")


def test_market_orders_are_held_to_the_size_limit_at_the_ask_and_bid():
    o = market_orders(("A", "buy", 50, 150.0), ("B", "sell", 40, 260.0), ("C", "buy", 60, 170.0))
    q = quotes(("A", 1599.0, 1600.0, 5), ("B", 249.99, 250.10, 5), ("C", 166.0, 166.67, 5))
    out = G.pretrade_checks(o, **LIMITS, quotes=q, now=NOW)
    # A: 50 x 1,600.00 = 80,000.00 (not 50 x 150 = 7,500); B: 40 x 249.99 = 9,999.60 (not
    # 40 x 260 = 10,400); C: 60 x 166.67 = 10,000.20 (not 60 x 170 = 10,200, also refused)
    assert out["notional"].tolist() == [80_000.00, 9_999.60, 10_000.20]
    assert out["refusal"].tolist() == ["max_order_size", "", "max_order_size"]
    assert out.loc[0, "note"] == "$80,000.00 (50 x ask $1,600.00) exceeds max_order_size_usd $10,000.00"
    assert out.loc[2, "note"] == "$10,000.20 (60 x ask $166.67) exceeds max_order_size_usd $10,000.00"


def test_buying_power_counts_market_buys_at_the_ask_and_sells_at_the_bid():
    # budget = 5,000 x 0.95 + sells 10 x 99.00 = 4,750 + 990 = 5,740; buys 20 x 290.00 = 5,800 > 5,740
    o = market_orders(("A", "buy", 20, 200.0), ("B", "sell", 10, 120.0))
    q = quotes(("A", 289.0, 290.0, 1), ("B", 99.0, 99.5, 1))
    out = G.pretrade_checks(o, **{**LIMITS, "buying_power": 5_000.0}, quotes=q, now=NOW)
    assert out["refusal"].tolist() == ["buying_power", ""]
    assert out.loc[0, "note"] == (
        "buys total $5,800.00 > buying power $5,740.00 after the 5% buffer (use --fit-buying-power)"
    )
    # at the ask of 287.00: 5,740.00 <= 5,740.00 fits
    q2 = quotes(("A", 286.0, 287.0, 1), ("B", 99.0, 99.5, 1))
    out2 = G.pretrade_checks(o, **{**LIMITS, "buying_power": 5_000.0}, quotes=q2, now=NOW)
    assert out2["refusal"].tolist() == ["", ""]


def test_market_orders_without_a_usable_quote_fail_closed():
    o = market_orders(("A", "buy", 1, 10.0), ("B", "sell", 1, 10.0), ("C", "buy", 1, 10.0), ("D", "buy", 1, 10.0))
    q = quotes(("A", 9.9, np.nan, 1), ("B", 0.0, 10.1, 1), ("D", 9.9, 10.0, 3_600))
    out = G.pretrade_checks(o, **LIMITS, quotes=q, now=NOW)
    assert list(zip(out["refusal"], out["note"])) == [
        ("no_market_quote", "no ask quote for A to value the market buy order at"),
        ("no_market_quote", "no bid quote for B to value the market sell order at"),
        ("no_market_quote", "no ask quote for C to value the market buy order at"),
        (
            "stale_quote",
            "D: quote is 1 h 00 min old (max_quote_age_seconds 60); a live quote is needed to value the market order",
        ),
    ]
    # without a clock no quote can be aged: refused
    assert set(G.pretrade_checks(o.iloc[3:], **LIMITS, quotes=q, now=None)["refusal"]) == {"stale_quote"}


def test_limit_orders_need_a_fresh_quote_only_with_the_collar_on():
    o = market_orders(("A", "buy", 10, 100.0))
    o["order_type"], o["limit_price"], o["notional"] = "limit", 100.0, 1_000.0
    q = quotes(("A", 99.9, 100.1, 600))
    assert G.pretrade_checks(o, **LIMITS, quotes=q, now=NOW)["refusal"].tolist() == [""]
    out = G.pretrade_checks(o, **{**LIMITS, "price_collar_pct": 0.05}, quotes=q, now=NOW)
    assert list(zip(out["refusal"], out["note"])) == [
        (
            "stale_quote",
            "A: quote is 10 min old (max_quote_age_seconds 60); a live quote is needed to check the price collar",
        )
    ]
    # the limit order's $ is qty x limit, whatever the quote
    assert out["notional"].tolist() == [1_000.0]
    # a longer max age lets it through
    ok = G.pretrade_checks(o, **{**LIMITS, "price_collar_pct": 0.05}, quotes=q, now=NOW, max_quote_age_seconds=600)
    assert ok["refusal"].tolist() == [""]
