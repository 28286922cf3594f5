import math

import pandas as pd
import pytest

from xlexec.orders import orders_from_trades, orders_sha256, round_to_tick
from xlexec.trades import parse_trades_text

HDR = "symbol,side,shares,price,notional,weight_change,commission_est,slippage_est,total_cost_est"


@pytest.mark.parametrize("price,side,expected", [
    (150.257, "buy", 150.25), (150.251, "sell", 150.26), (150.25, "buy", 150.25),
    (0.51237, "buy", 0.5123), (0.51231, "sell", 0.5124), (1.0, "sell", 1.0), (0.99999, "buy", 0.9999),
])
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
    # ids: date, symbol, side, batch hash; same input -> same ids
    assert o["client_order_id"].iloc[0] == f"xlx-2025-10-30-AAPL-buy-{h[:12]}"
    assert list(orders_from_trades(t)["client_order_id"]) == list(o["client_order_id"])
    assert o["client_order_id"].str.len().max() <= 128


def test_include_and_limit_and_market_columns():
    text = (HDR + ",include,limit_price,order_type\n"
            "AAPL,buy,10,150,1500,0.01,0,0,0,yes,149.999,\n"
            "MSFT,sell,5,380,1900,-0.01,0,0,0,no,,\n"
            "KO,buy,3,60,180,0.01,0,0,0,,,market\n")
    t = parse_trades_text(text)
    o = orders_from_trades(t)
    assert list(o["symbol"]) == ["AAPL", "KO"]
    assert o["limit_price"].iloc[0] == 149.99
    assert math.isnan(o["limit_price"].iloc[1]) and o["order_type"].iloc[1] == "market"
