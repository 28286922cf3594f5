import datetime as _dt

import pandas as pd
import pytest

from xlexec.execution.brokers.base import DuplicateClientOrderId, OrderRejected, OrderRequest
from xlexec.execution.brokers.paper import PaperBroker


def quotes(**over):
    q = pd.DataFrame(
        {
            "symbol": ["AAPL", "MSFT", "KO"],
            "bid": [100.00, 200.00, 50.00],
            "ask": [100.10, 200.20, 50.02],
            "last": [100.05, 200.1, 50.01],
            "ask_size": [1000.0, 1000.0, 30.0],
            "bid_size": [1000.0, 1000.0, 1000.0],
        }
    )
    q["mid"] = (q.bid + q.ask) / 2
    return q


def MORNING() -> _dt.datetime:
    return _dt.datetime(2025, 10, 30, 14, 0, tzinfo=_dt.UTC)  # 10:00 New York


def broker(tmp_path, **kw):
    seed = pd.DataFrame({"symbol": ["MSFT"], "shares": [10.0], "avg_cost": [190.0]})
    return PaperBroker(
        tmp_path / "pb.sqlite",
        quotes=quotes(),
        day="2025-10-30",
        commission_bps=1,
        slippage_bps=2,
        starting_cash=10_000,
        seed_positions=seed,
        now_fn=MORNING,
        **kw,
    )


def test_limit_buy_fills_with_slippage_capped_at_limit(tmp_path):
    b = broker(tmp_path)
    o = b.submit_order(OrderRequest("AAPL", "buy", 10, "limit", 100.50, client_order_id="c1"))
    # ask 100.10 * 1.0002 = 100.12002 -> rounded up to the tick 100.13, below the 100.50 limit
    assert o.status == "filled" and o.filled_qty == 10 and o.filled_avg_price == pytest.approx(100.13)
    o2 = b.submit_order(OrderRequest("AAPL", "buy", 1, "limit", 100.12, client_order_id="c2"))
    assert o2.filled_avg_price == pytest.approx(100.12)  # capped at the limit
    f = b.fills("2025-10-30")
    assert [x.commission for x in f] == [round(1001.3 * 1e-4, 2), round(100.12 * 1e-4, 2)]
    acct = b.account()
    assert acct.cash == pytest.approx(10_000 - 1001.3 - 0.10 - 100.12 - 0.01)


def test_limit_away_from_market_rests_and_can_be_cancelled(tmp_path):
    b = broker(tmp_path)
    o = b.submit_order(OrderRequest("AAPL", "buy", 10, "limit", 99.0, client_order_id="c1"))
    assert o.status == "new" and o.filled_qty == 0
    assert [x.id for x in b.list_orders("open")] == [o.id]
    assert b.cancel_all() == [o.id]
    assert b.get_order(o.id).status == "canceled" and b.list_orders("open") == []


def test_partial_fill_from_displayed_size(tmp_path):
    b = broker(tmp_path)
    o = b.submit_order(OrderRequest("KO", "buy", 100, "limit", 51.0, client_order_id="c1"))
    assert o.status == "partially_filled" and o.filled_qty == 30 and o.remaining == 70


def test_sell_and_oversell(tmp_path):
    b = broker(tmp_path)
    with pytest.raises(OrderRejected, match="insufficient qty"):
        b.submit_order(OrderRequest("MSFT", "sell", 11, "limit", 199.0, client_order_id="c0"))
    o = b.submit_order(OrderRequest("MSFT", "sell", 10, "limit", 199.0, client_order_id="c1"))
    # bid 200 * 0.9998 = 199.96
    assert o.status == "filled" and o.filled_avg_price == pytest.approx(199.96)
    assert b.positions() == []


def test_duplicate_client_order_id_and_persistence(tmp_path):
    b = broker(tmp_path)
    o = b.submit_order(OrderRequest("AAPL", "buy", 1, "limit", 101, client_order_id="same"))
    with pytest.raises(DuplicateClientOrderId):
        b.submit_order(OrderRequest("AAPL", "buy", 1, "limit", 101, client_order_id="same"))
    b.close()
    again = PaperBroker(tmp_path / "pb.sqlite", quotes=quotes(), day="2025-10-30", now_fn=MORNING)
    assert again.get_order_by_client_id("same").id == o.id
    assert again.get_order_by_client_id("nope") is None
    assert {p.symbol for p in again.positions()} == {"AAPL", "MSFT"}


def test_deterministic(tmp_path):
    a, b = broker(tmp_path / "a"), broker(tmp_path / "b")
    for x in (a, b):
        x.submit_order(OrderRequest("AAPL", "buy", 3, "limit", 101, client_order_id="c"))
    assert [f.to_dict() for f in a.fills("2025-10-30")] == [f.to_dict() for f in b.fills("2025-10-30")]


def test_clock_uses_nyse_calendar(tmp_path):
    assert broker(tmp_path).clock().is_open is True  # Thursday 2025-10-30
    hol = PaperBroker(tmp_path / "h.sqlite", day="2025-12-25")
    assert hol.clock().is_open is False


def test_day_orders_expire_at_the_close(tmp_path):
    import datetime as dt

    now = [dt.datetime(2025, 10, 30, 14, 0, tzinfo=dt.UTC)]  # 10:00 New York
    b = PaperBroker(tmp_path / "pb.sqlite", quotes=quotes(), day="2025-10-30", now_fn=lambda: now[0])
    o = b.submit_order(OrderRequest("AAPL", "buy", 10, "limit", 99.0, client_order_id="c1"))
    assert b.get_order(o.id).status == "new"
    now[0] = dt.datetime(2025, 10, 30, 20, 1, tzinfo=dt.UTC)  # 16:01 New York
    assert b.get_order(o.id).status == "expired" and b.list_orders("open") == []


def test_positions_carry_the_exact_cost_over_buys_sells_and_a_split(tmp_path):
    """The simulated position's average cost after buys at 10.01, 10.02, 10.04, a sale, a 3:1
    split and a buy is total cost / shares computed exactly (here, in Decimal, by hand): a float
    running average drifts from it (3.3483333333333336 instead of 3.348333333333333)."""
    from decimal import Decimal as D

    def at(ask: float, bid: float) -> PaperBroker:
        q = pd.DataFrame({"symbol": ["XYZ"], "bid": [bid], "ask": [ask], "last": [ask], "mid": [(ask + bid) / 2]})
        return PaperBroker(
            tmp_path / "pb.sqlite",
            quotes=q,
            day="2025-10-30",
            commission_bps=0,
            slippage_bps=0,
            starting_cash=1_000,
            now_fn=MORNING,
        )

    steps = [("buy", 1, 10.01), ("buy", 1, 10.02), ("buy", 1, 10.04), ("sell", 2, 10.50)]
    shares, total, cash = D(0), D(0), D(1000)  # the hand computation
    for i, (side, qty, px) in enumerate(steps):
        b = at(px, px) if side == "buy" else at(px + 0.01, px)
        o = b.submit_order(OrderRequest("XYZ", side, qty, "market", client_order_id=f"c{i}"))
        assert o.status == "filled" and o.filled_avg_price == pytest.approx(px)
        if side == "buy":
            shares, total, cash = shares + qty, total + qty * D(repr(px)), cash - qty * D(repr(px))
        else:
            shares, total, cash = shares - qty, total * (shares - qty) / shares, cash + qty * D(repr(px))
        (p,) = b.positions()
        assert p.qty == float(shares) and p.avg_entry_price == float(total / shares), (i, p.avg_entry_price)
        b.close()
    b = at(3.37, 3.36)
    b.apply_splits_once(
        pd.DataFrame({"symbol": ["XYZ"], "date": ["2025-10-30"], "event": ["split"], "ratio": [3.0]}), "2025-10-30"
    )
    shares *= 3  # the total cost is unchanged by a split
    (p,) = b.positions()
    assert p.qty == float(shares) == 3.0 and p.avg_entry_price == float(total / shares)
    b.submit_order(OrderRequest("XYZ", "buy", 1, "market", client_order_id="c9"))
    shares, total, cash = shares + 1, total + D("3.37"), cash - D("3.37")
    (p,) = b.positions()
    assert p.qty == 4.0 and p.avg_entry_price == float(total / shares) == 3.348333333333333
    assert b.account().cash == float(cash.quantize(D("0.01")))  # 1000 - 30.07 + 10.50 x 2 - 3.37
