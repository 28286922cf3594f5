"""One set of open order statuses, shared by reconciliation and the brokers; replaced is closed."""

from __future__ import annotations

import pandas as pd

from xlexec.core import statuses
from xlexec.core.reconcile import reconcile
from xlexec.execution.brokers import base
from xlexec.formats.trades import parse_trades_text

TRADES = (
    "# Date: 2025-10-30\n"
    "symbol,side,shares,price,notional,weight_change,commission_est,slippage_est,total_cost_est\n"
    "AAPL,buy,100,200.00,20000.00,0.2,1.00,2.00,3.00\n"
)


def test_replaced_is_closed_and_the_sets_are_one():
    assert not statuses.is_open("replaced") and "replaced" in statuses.FINAL_STATUSES
    assert statuses.is_open("partially_filled") and statuses.is_open(" NEW ")
    assert not statuses.is_open("filled") and not statuses.is_open(None)
    assert not statuses.OPEN_STATUSES & statuses.FINAL_STATUSES
    assert base.OPEN_STATUSES is statuses.OPEN_STATUSES
    assert (
        base.Order(
            id="1",
            client_order_id="c",
            symbol="AAPL",
            side="buy",
            qty=1,
            order_type="limit",
            limit_price=1.0,
            status="replaced",
        ).is_open
        is False
    )


def _reason(status: str) -> str:
    t = parse_trades_text(TRADES)
    from xlexec.core.orders import orders_from_trades

    coid = orders_from_trades(t)["client_order_id"].iloc[0]
    fills = pd.DataFrame(
        columns=["date", "symbol", "side", "shares", "price", "commission", "fill_time", "order_id", "client_order_id"]
    )
    r = reconcile(
        t,
        fills,
        pd.DataFrame(columns=["symbol", "shares", "avg_cost"]),
        day="2025-10-30",
        order_states={coid: {"id": "b1", "status": status}},
    )
    return r.not_executed[0]["reason"]


def test_reconcile_does_not_call_a_replaced_order_open():
    assert _reason("new") == "Unfilled (order still open)"
    assert "still open" not in _reason("replaced") and "replaced" in _reason("replaced")
