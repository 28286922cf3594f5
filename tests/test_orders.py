import math

import pandas as pd
import pytest

from xlexec.core.orders import orders_from_trades, orders_sha256, round_to_tick
from xlexec.formats.trades import parse_trades_text

HDR = "symbol,side,shares,price,notional,weight_change,commission_est,slippage_est,total_cost_est"


@pytest.mark.parametrize(
    "price,side,expected",
    [
        (150.257, "buy", 150.25),
        (150.251, "sell", 150.26),
        (150.25, "buy", 150.25),
        (0.51237, "buy", 0.5123),
        (0.51231, "sell", 0.5124),
        (1.0, "sell", 1.0),
        (0.99999, "buy", 0.9999),
    ],
)
def test_tick_rounding_never_more_aggressive(price, side, expected):
    assert round_to_tick(price, side) == pytest.approx(expected, abs=1e-12)
    r = round_to_tick(price, side)
    assert (r <= price + 1e-12) if side == "buy" else (r >= price - 1e-12)


def test_hash_binds_exact_orders_and_ids_are_deterministic(guide_trades_text):
    t = parse_trades_text(guide_trades_text)
    o = orders_from_trades(t)
    assert list(o["qty"]) == [100, 50, 25]
    h = orders_sha256(o)
    # order of rows does not matter
    assert orders_sha256(o.iloc[::-1]) == h
    # a changed share count changes the hash
    t2 = parse_trades_text(guide_trades_text.replace("AAPL,buy,100,", "AAPL,buy,101,"))
    assert orders_sha256(orders_from_trades(t2)) != h
    # a changed signal price changes the hash: no approval covers the edited file
    t3 = parse_trades_text(guide_trades_text.replace("GOOGL,buy,25,142.80,", "GOOGL,buy,25,142.81,"))
    assert orders_sha256(orders_from_trades(t3)) != h
    # ids: date, symbol, side, batch hash (of the order lines, without the signal price)
    sent = "AAPL|buy|100|150.2500|limit\nGOOGL|buy|25|142.8000|limit\nMSFT|sell|50|380.5000|limit"
    batch = hashlib.sha256(sent.encode()).hexdigest()[:12]
    assert o["client_order_id"].iloc[0] == f"xlx-2025-10-30-AAPL-buy-{batch}"
    assert list(orders_from_trades(t)["client_order_id"]) == list(o["client_order_id"])
    assert o["client_order_id"].str.len().max() <= 128


def test_include_and_limit_and_market_columns():
    text = (
        HDR + ",include,limit_price,order_type\n"
        "AAPL,buy,10,150,1500,0.01,0,0,0,yes,149.999,\n"
        "MSFT,sell,5,380,1900,-0.01,0,0,0,no,,\n"
        "KO,buy,3,60,180,0.01,0,0,0,,,market\n"
    )
    t = parse_trades_text(text)
    o = orders_from_trades(t)
    assert list(o["symbol"]) == ["AAPL", "KO"]
    assert o["limit_price"].iloc[0] == 149.99
    assert math.isnan(o["limit_price"].iloc[1]) and o["order_type"].iloc[1] == "market"


# ---- vectorised rounding, hash lines and ids ----------------------------------------------

import hashlib  # noqa: E402

import numpy as np  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from xlexec.core.orders import canonical_lines, orders_from_trades_many, round_to_ticks  # noqa: E402

_prices = st.one_of(
    st.decimals(min_value=0, max_value=100_000, places=6, allow_nan=False).map(float),  # as typed in a CSV
    st.floats(min_value=1e-7, max_value=1e7, allow_nan=False),  # any float at all
    st.integers(0, 10_000_000).map(lambda c: float(np.nextafter(c / 100, np.inf))),  # a hair above a cent
    st.integers(0, 10_000_000).map(lambda c: float(np.nextafter(c / 100, -np.inf))),  # a hair below
)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(_prices, st.sampled_from(["buy", "sell"])), min_size=1, max_size=40))
def test_vector_tick_rounding_agrees_with_the_scalar_rule(pairs):
    prices = np.array([p for p, _ in pairs])
    sides = np.array([s for _, s in pairs], dtype=object)
    got = round_to_ticks(prices, sides)
    want = [round_to_tick(p, s) for p, s in pairs]
    assert got.tolist() == want  # bit for bit


def test_vector_tick_rounding_edges():
    p = np.array([150.257, 150.251, 150.25, 0.51237, 0.51231, 1.0, 0.99999, float("nan"), 2.675, 1e13])
    s = np.array(["buy", "sell", "sell", "buy", "sell", "sell", "buy", "buy", "sell", "buy"], dtype=object)
    r = round_to_ticks(p, s)
    assert r[:7].tolist() == [150.25, 150.26, 150.25, 0.5123, 0.5124, 1.0, 0.9999]
    assert np.isnan(r[7]) and r[8] == 2.68 and r[9] == 1e13


def test_hash_lines_and_ids_by_hand(guide_trades_text):
    o = orders_from_trades(parse_trades_text(guide_trades_text))
    lines = [
        "AAPL|buy|100|150.2500|limit|150.25",
        "GOOGL|buy|25|142.8000|limit|142.8",
        "MSFT|sell|50|380.5000|limit|380.5",
    ]
    assert canonical_lines(o) == lines
    h = hashlib.sha256("\n".join(lines).encode()).hexdigest()
    assert orders_sha256(o) == h
    # the ids' batch hash covers what is sent (the lines without the signal price)
    sent = ["AAPL|buy|100|150.2500|limit", "GOOGL|buy|25|142.8000|limit", "MSFT|sell|50|380.5000|limit"]
    b = hashlib.sha256("\n".join(sent).encode()).hexdigest()
    assert o["client_order_id"].tolist() == [
        f"xlx-2025-10-30-{s}-{b[:12]}" for s in ("AAPL-buy", "MSFT-sell", "GOOGL-buy")
    ]


def test_ids_and_lines_with_separators_sub_dollar_and_market():
    text = (
        HDR + ",order_type\n"
        "BRK/B,buy,10,0.51237,5.12,0.01,0,0,0,\n"
        "BF B,sell,3,0.51231,1.54,-0.01,0,0,0,\n"
        "KO,buy,2.5,60,150,0.01,0,0,0,market\n"
    )
    o = orders_from_trades(parse_trades_text(text), date="2025-11-03")
    lines = sorted(
        ["BRK.B|buy|10|0.5123|limit|0.51237", "BF.B|sell|3|0.5124|limit|0.51231", "KO|buy|2.5|MKT|market|60"]
    )
    assert canonical_lines(o) == lines
    sent = sorted(["BRK.B|buy|10|0.5123|limit", "BF.B|sell|3|0.5124|limit", "KO|buy|2.5|MKT|market"])
    h = hashlib.sha256("\n".join(sent).encode()).hexdigest()[:12]
    assert o["client_order_id"].tolist() == [
        f"xlx-2025-11-03-BRK.B-buy-{h}",
        f"xlx-2025-11-03-BF.B-sell-{h}",
        f"xlx-2025-11-03-KO-buy-{h}",
    ]
    assert o["notional"].tolist() == [5.12, 1.54, 150.0]  # qty x limit (x signal for market), to cents
    # the market order's signal price edited: the approval hash changes, what is sent does not
    o2 = orders_from_trades(parse_trades_text(text.replace("KO,buy,2.5,60,", "KO,buy,2.5,61,")), date="2025-11-03")
    assert orders_sha256(o2) != orders_sha256(o)
    assert o2["client_order_id"].tolist() == o["client_order_id"].tolist()


def test_canonical_lines_of_a_hand_built_frame():
    # text and gaps (e.g. orders typed into a sheet) take the value-by-value rule: same lines
    o = pd.DataFrame(
        {
            "symbol": ["AAPL", "KO"],
            "side": ["buy", "sell"],
            "qty": ["100", "2.5"],
            "order_type": ["limit", "limit"],
            "limit_price": [150.25, None],
        },
        dtype=object,
    )
    # no price column: the signal price prints as "-"
    assert canonical_lines(o) == ["AAPL|buy|100|150.2500|limit|-", "KO|sell|2.5|MKT|limit|-"]
    o["price"] = [150.25, None]
    assert canonical_lines(o) == ["AAPL|buy|100|150.2500|limit|150.25", "KO|sell|2.5|MKT|limit|-"]


def test_many_days_equal_one_day_each(guide_trades_text):
    t1 = parse_trades_text(guide_trades_text)
    t2 = parse_trades_text(guide_trades_text.replace("AAPL,buy,100,", "AAPL,buy,101,"))
    t3 = parse_trades_text(
        HDR + ",include,ml_score\nKO,buy,3,60,180,0.01,0,0,0,no,0.5\nPEP,sell,4,170,680,-0.01,0,0,0,,0.2\n"
    )
    days = [("2025-10-30", t1), ("2025-10-31", t2), (None, t3)]
    many = orders_from_trades_many(days, keep=["commission_est"])
    assert many["day"].tolist() == [0, 0, 0, 1, 1, 1, 2]
    for i, (d, t) in enumerate(days):
        one = orders_from_trades(t, date=d)
        part = many[many["day"] == i]
        assert part["client_order_id"].tolist() == one["client_order_id"].tolist()
        assert orders_sha256(part) == orders_sha256(one)
        pd.testing.assert_frame_equal(part[one.columns], one)
    assert many["client_order_id"].iloc[-1].startswith("xlx-nodate-PEP-sell-")


def test_one_include_rule_for_trades_csv_and_the_blotter():
    from xlexec.core.truth import included_values, is_included
    from xlexec.excel.blotter import apply_blotter
    from xlexec.formats.trades import parse_trades_text

    trades = parse_trades_text(
        "symbol,side,shares,price,notional,weight_change,commission_est,slippage_est,"
        "total_cost_est\nAAPL,buy,10,100,1000,0.01,0.1,0.2,0.3\n"
    )

    def blotter_says(v) -> bool:  # what the Blotter's Include cell v makes of the row
        out, _ = apply_blotter(trades, {("AAPL", "buy"): {"include": v}})
        return bool(included_values(out.df["include"]).iloc[0]) if "include" in out.df.columns else True

    for v in ("N", " no ", "FALSE", "0", "exclude", "Excluded", "off", 0, 0.0, False):
        assert not is_included(v) and not blotter_says(v), v
    for v in ("Y", "yes", "x", "1", "", None, float("nan"), 1, 2.5, True, "include"):
        assert is_included(v) and blotter_says(v), v
    s = pd.Series(["Y", "n", "", "off", "yes"], index=[2, 3, 4, 5, 6])
    assert included_values(s).tolist() == [True, False, True, False, True]
