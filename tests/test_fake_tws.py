"""tests/fake_tws.py driven by the real ib_async client (``IB`` in sync mode), message by message.

Every expected value is written out by hand from the fake's documented behaviour; a layout the
decoder cannot read shows up as an ``ib_async.Decoder`` error record, which fails the test."""

from __future__ import annotations

import contextlib
import datetime as dt
import faulthandler
import logging
import time

import pytest
from ib_async import IB, ExecutionFilter, LimitOrder, MarketOrder, Stock

from tests.fake_tws import SERVER_VERSION, FakeTWS

NOW = dt.datetime(2026, 3, 2, 15, 30, 5, tzinfo=dt.UTC)  # 10:30:05 in New York
TEST_TIMEOUT = 60  # seconds per test; a hang dumps the stacks and ends the process


@pytest.fixture(autouse=True)
def _watchdog():
    faulthandler.dump_traceback_later(TEST_TIMEOUT, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()


class _Records(logging.Handler):
    def __init__(self):
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record):
        self.records.append(record)


@pytest.fixture
def ib():
    """A real ib_async client; disconnected after the test, and no message it failed to decode."""
    handler = _Records()
    decoder_log = logging.getLogger("ib_async.Decoder")
    decoder_log.addHandler(handler)
    client = IB()
    try:
        yield client
    finally:
        client.disconnect()
        decoder_log.removeHandler(handler)
    assert [r.getMessage() for r in handler.records] == []


@pytest.fixture
def fake():
    with FakeTWS(now=lambda: NOW).start() as f:
        yield f


def connect(ib: IB, fake: FakeTWS, client_id: int = 7) -> None:
    ib.connect("127.0.0.1", fake.port, clientId=client_id, timeout=5)


def wait_for(ib: IB, pred, timeout: float = 5.0, what: str = "condition") -> None:
    """Run the client's event loop until ``pred()``. A socket that drops while the loop runs makes
    ib_async's blocking calls (``ib.sleep`` too) raise ``ConnectionError("Socket disconnect")``."""
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        with contextlib.suppress(ConnectionError):
            ib.sleep(0.02)


def aapl() -> Stock:
    return Stock("AAPL", "SMART", "USD")


def limit(action: str, qty: float, price: float, ref: str = "") -> LimitOrder:
    o = LimitOrder(action, qty, price)
    o.orderRef = ref
    return o


# ---------------------------------------------------------------- connect


def test_connect_single_account(ib, fake):
    t0 = time.monotonic()
    connect(ib, fake)
    # every start-up request answered: a missing answer would hold connect for the whole timeout
    assert time.monotonic() - t0 < 2.0
    assert ib.isConnected()
    assert ib.client.serverVersion() == SERVER_VERSION == 178
    assert ib.managedAccounts() == ["DU1234567"]
    assert ib.positions() == []
    assert ib.openTrades() == []


def test_connect_several_accounts_comma_joined(ib):
    with FakeTWS(accounts=("DU111", "DU222")) as fake:
        try:
            connect(ib, fake, client_id=3)
            assert ib.managedAccounts() == ["DU111", "DU222"]
            # the per-account updates (reqAccountUpdatesMulti) carry each account's cash
            values = {(v.account, v.tag): v.value for v in ib.accountValues()}
            assert values[("DU111", "TotalCashValue")] == "1000000.00"
            assert values[("DU222", "TotalCashValue")] == "1000000.00"
        finally:
            ib.disconnect()


# ---------------------------------------------------------------- fills


def test_limit_order_fills_with_commission_and_order_ref(ib, fake):
    connect(ib, fake)
    trade = ib.placeOrder(aapl(), limit("BUY", 400, 150.25, ref="xl-0001"))
    wait_for(ib, lambda: trade.orderStatus.status == "Filled" and trade.fills, what="fill")
    assert trade.orderStatus.filled == 400
    assert trade.orderStatus.remaining == 0
    assert trade.orderStatus.avgFillPrice == 150.25
    (fill,) = trade.fills
    ex = fill.execution
    assert (ex.side, ex.shares, ex.price, ex.orderRef, ex.acctNumber) == ("BOT", 400, 150.25, "xl-0001", "DU1234567")
    assert ex.clientId == 7 and ex.orderId == trade.order.orderId
    assert ex.permId == trade.orderStatus.permId > 0
    assert ex.execId.startswith("0000e0d5.") and ex.execId.endswith(".01.01")
    # TWS writes "20260302 10:30:05 US/Eastern"; ib_async reads the zone
    assert ex.time == NOW
    # the commission report joined to the fill by its execId: max(1.0, 0.005 * 400) = 2.0
    assert fill.commissionReport.execId == ex.execId
    assert fill.commissionReport.commission == 2.0
    assert fill.commissionReport.currency == "USD"

    (o,) = fake.orders
    assert o == {
        "order_id": trade.order.orderId,
        "perm_id": ex.permId,
        "client_id": 7,
        "order_ref": "xl-0001",
        "symbol": "AAPL",
        "action": "BUY",
        "qty": 400.0,
        "order_type": "LMT",
        "lmt_price": 150.25,
        "tif": "DAY",
        "account": "DU1234567",
        "status": "Filled",
        "filled": 400.0,
        "avg_price": 150.25,
    }
    (e,) = fake.executions
    assert (e["exec_id"], e["side"], e["shares"], e["price"], e["commission"]) == (ex.execId, "BOT", 400, 150.25, 2.0)
    assert e["time"] == NOW and e["order_ref"] == "xl-0001"

    # orderRef round-trips on completedOrder (which carries no orderId: found by permId / orderRef)
    (done,) = ib.reqCompletedOrders(apiOnly=False)
    assert (done.order.orderRef, done.order.permId, done.orderStatus.status) == ("xl-0001", ex.permId, "Filled")
    assert done.order.filledQuantity == 400
    assert done.contract.symbol == "AAPL"


def test_market_order_fills_at_the_price_and_minimum_commission(ib):
    with FakeTWS(prices={"MSFT": 411.5}, now=lambda: NOW) as fake:
        try:
            connect(ib, fake)
            trade = ib.placeOrder(Stock("MSFT", "SMART", "USD"), MarketOrder("SELL", 20))
            wait_for(ib, lambda: trade.isDone() and trade.fills, what="fill")
            (fill,) = trade.fills
            assert (fill.execution.side, fill.execution.price, fill.execution.shares) == ("SLD", 411.5, 20)
            assert fill.commissionReport.commission == 1.0  # 0.005 * 20 = 0.10, the minimum is 1.00
        finally:
            ib.disconnect()


def test_partial_fill_stays_working(ib):
    with FakeTWS(fill_modes={"SPY": 0.25}, now=lambda: NOW) as fake:
        try:
            connect(ib, fake)
            trade = ib.placeOrder(Stock("SPY", "SMART", "USD"), limit("BUY", 10, 500.0, ref="p-1"))
            wait_for(ib, lambda: trade.fills and trade.orderStatus.filled == 2, what="partial fill")
            ib.sleep(0.1)
            assert trade.orderStatus.status == "Submitted"
            assert (trade.orderStatus.filled, trade.orderStatus.remaining) == (2, 8)
            assert [f.execution.shares for f in trade.fills] == [2]
            assert trade.fills[0].commissionReport.commission == 1.0
            assert trade in ib.openTrades()
            assert fake.orders[0]["status"] == "Submitted" and fake.orders[0]["filled"] == 2
            # still working at the exchange: reqAllOpenOrders reports it with its orderRef
            (open_trade,) = ib.reqAllOpenOrders()
            assert (open_trade.order.orderRef, open_trade.orderStatus.filled) == ("p-1", 2)
        finally:
            ib.disconnect()


# ---------------------------------------------------------------- cancels


def test_working_order_then_cancel_order(ib):
    with FakeTWS(fill_modes={"IBM": "none"}) as fake:
        errors: list[tuple[int, int, str]] = []
        try:
            connect(ib, fake)
            ib.errorEvent += lambda req_id, code, msg, contract: errors.append((req_id, code, msg))
            trade = ib.placeOrder(Stock("IBM", "SMART", "USD"), limit("BUY", 5, 10.0, ref="w-1"))
            wait_for(ib, lambda: trade.orderStatus.status == "Submitted", what="Submitted")
            ib.sleep(0.1)
            assert trade.fills == [] and trade.isActive()
            assert fake.orders[0]["status"] == "Submitted"
            ib.cancelOrder(trade.order)
            wait_for(ib, lambda: trade.orderStatus.status == "Cancelled", what="Cancelled")
            wait_for(ib, lambda: errors, what="error 202")
            assert errors == [(trade.order.orderId, 202, "Order Canceled - reason:")]
            assert trade.orderStatus.remaining == 5  # the unexecuted quantity
            assert fake.orders[0]["status"] == "Cancelled"
            assert fake.executions == []
            # a second cancel of the same order: TWS says it cannot be cancelled any more
            ib.client.cancelOrder(trade.order.orderId)
            wait_for(ib, lambda: len(errors) == 2, what="error 10148")
            assert errors[1][:2] == (trade.order.orderId, 10148)
            (done,) = ib.reqCompletedOrders(apiOnly=False)
            assert (done.order.orderRef, done.orderStatus.status) == ("w-1", "Cancelled")
        finally:
            ib.disconnect()


def test_modify_a_working_order(ib):
    with FakeTWS(fill_modes={"IBM": "none"}) as fake:
        connect(ib, fake)
        trade = ib.placeOrder(Stock("IBM", "SMART", "USD"), limit("BUY", 5, 10.0, ref="m-1"))
        wait_for(ib, lambda: trade.orderStatus.status == "Submitted", what="Submitted")
        trade.order.lmtPrice = 11.5
        trade.order.totalQuantity = 7
        ib.placeOrder(trade.contract, trade.order)  # same orderId: a modification
        wait_for(ib, lambda: trade.orderStatus.remaining == 7, what="the modification acknowledged")
        assert [e.message for e in trade.log][-2:] == ["Modify", ""]  # ib_async's entry, then TWS's status
        assert (trade.orderStatus.status, trade.order.lmtPrice) == ("Submitted", 11.5)
        (o,) = fake.orders  # still one order, same permId
        assert (o["qty"], o["lmt_price"], o["status"], o["perm_id"]) == (7, 11.5, "Submitted", trade.order.permId)
        assert fake.place_count == 2


def test_order_id_of_a_done_order_is_a_duplicate(ib, fake):
    errors: list[tuple[int, int]] = []
    connect(ib, fake)
    ib.errorEvent += lambda req_id, code, msg, contract: errors.append((req_id, code))
    trade = ib.placeOrder(aapl(), limit("BUY", 1, 150.0))
    wait_for(ib, trade.isDone, what="fill")
    ib.client.placeOrder(trade.order.orderId, aapl(), limit("BUY", 1, 150.0))
    wait_for(ib, lambda: errors, what="error 103")
    assert errors == [(trade.order.orderId, 103)]
    assert len(fake.orders) == 1 and fake.place_count == 2


def test_a_working_order_fills_later_also_while_disconnected(ib):
    with FakeTWS(fill_modes={"IBM": "none"}, now=lambda: NOW) as fake:
        connect(ib, fake)
        trade = ib.placeOrder(Stock("IBM", "SMART", "USD"), limit("BUY", 10, 20.0, ref="late-1"))
        wait_for(ib, lambda: trade.orderStatus.status == "Submitted", what="Submitted")
        ex = fake.fill("late-1", shares=4, price=19.5)
        wait_for(ib, lambda: trade.fills, what="live fill")
        assert (trade.fills[0].execution.execId, trade.fills[0].execution.price) == (ex["exec_id"], 19.5)
        assert trade.fills[0].commissionReport.commission == 1.0
        assert (trade.orderStatus.status, trade.orderStatus.filled, trade.orderStatus.remaining) == ("Submitted", 4, 6)

        ib.disconnect()
        wait_for(ib, lambda: fake.connections == 0, what="the fake sees the disconnect")
        fake.fill("late-1")  # the remaining 6 at the limit, nobody connected
        connect(ib, fake)
        assert ib.openTrades() == []
        fills = sorted((f.execution.shares, f.execution.price) for f in ib.fills())
        assert fills == [(4, 19.5), (6, 20.0)]
        (done,) = ib.reqCompletedOrders(apiOnly=False)
        assert (done.order.orderRef, done.orderStatus.status, done.order.filledQuantity) == ("late-1", "Filled", 10)
        assert fake.orders[0]["avg_price"] == pytest.approx((4 * 19.5 + 6 * 20.0) / 10)


def test_global_cancel_cancels_every_working_order(ib):
    with FakeTWS(fill_modes={"IBM": "none", "SPY": 0.5}) as fake:
        try:
            connect(ib, fake)
            t1 = ib.placeOrder(Stock("IBM", "SMART", "USD"), limit("BUY", 5, 10.0))
            t2 = ib.placeOrder(Stock("SPY", "SMART", "USD"), limit("SELL", 4, 600.0))
            t3 = ib.placeOrder(aapl(), limit("BUY", 1, 150.0))
            wait_for(ib, lambda: t3.isDone() and t2.fills, what="acks")
            ib.reqGlobalCancel()
            wait_for(ib, lambda: t1.orderStatus.status == t2.orderStatus.status == "Cancelled", what="cancels")
            assert t3.orderStatus.status == "Filled"
            assert [o["status"] for o in fake.orders] == ["Cancelled", "Cancelled", "Filled"]
            assert fake.orders[1]["filled"] == 2  # the partial fill before the cancel stays
            assert ib.reqAllOpenOrders() == []
        finally:
            ib.disconnect()


# ---------------------------------------------------------------- faults


def test_reject_gives_the_error_and_no_fill(ib):
    reason = "Order rejected - reason:The account has insufficient funds"
    with FakeTWS() as fake:
        fake.reject["TSLA"] = (201, reason)
        errors: list[tuple[int, int, str]] = []
        try:
            connect(ib, fake)
            ib.errorEvent += lambda req_id, code, msg, contract: errors.append((req_id, code, msg))
            trade = ib.placeOrder(Stock("TSLA", "SMART", "USD"), limit("BUY", 100, 250.0, ref="r-1"))
            wait_for(ib, lambda: trade.orderStatus.status == "Inactive", what="Inactive")
            assert errors == [(trade.order.orderId, 201, reason)]
            assert [e.errorCode for e in trade.log if e.errorCode] == [201]
            assert trade.isDone() and trade.fills == []
            assert fake.executions == []
            assert fake.orders[0]["status"] == "Inactive" and fake.orders[0]["filled"] == 0
            assert ib.positions() == []
        finally:
            ib.disconnect()


def test_status_delay_holds_the_replies(ib):
    with FakeTWS() as fake:
        fake.status_delay = 0.4
        try:
            connect(ib, fake)
            t0 = time.monotonic()
            trade = ib.placeOrder(aapl(), limit("BUY", 1, 150.0))
            ib.sleep(0.2)
            assert trade.orderStatus.status == "PendingSubmit"
            wait_for(ib, lambda: trade.orderStatus.status == "Filled", what="Filled")
            assert time.monotonic() - t0 >= 0.4
        finally:
            ib.disconnect()


def test_drop_after_place_then_reconnect_finds_the_order_by_order_ref(ib):
    with FakeTWS(fill_modes={"IBM": "none"}, now=lambda: NOW) as fake:
        try:
            connect(ib, fake)
            fake.drop_after_place = 1
            working = ib.placeOrder(Stock("IBM", "SMART", "USD"), limit("BUY", 5, 10.0, ref="d-1"))
            wait_for(ib, lambda: not ib.isConnected(), what="disconnect")
            assert working.orderStatus.status == "PendingSubmit"  # no reply ever came
            assert fake.place_count == 1
            assert fake.orders[0]["status"] == "Submitted"  # it is working at the exchange

            connect(ib, fake)
            found = [t for t in ib.reqAllOpenOrders() if t.order.orderRef == "d-1"]
            assert len(found) == 1
            assert found[0].order.permId == fake.orders[0]["perm_id"]
            assert found[0].orderStatus.status == "Submitted"

            fake.drop_after_place = 2  # the next placeOrder is the 2nd
            filled = ib.placeOrder(aapl(), limit("SELL", 30, 151.0, ref="d-2"))
            wait_for(ib, lambda: not ib.isConnected(), what="second disconnect")
            assert filled.orderStatus.status == "PendingSubmit"
            assert fake.place_count == 2
            assert fake.orders[1]["status"] == "Filled"

            connect(ib, fake)
            done = [t for t in ib.reqCompletedOrders(apiOnly=False) if t.order.orderRef == "d-2"]
            assert [(t.orderStatus.status, t.order.filledQuantity) for t in done] == [("Filled", 30)]
            fills = [f for f in ib.reqExecutions(ExecutionFilter(clientId=7)) if f.execution.orderRef == "d-2"]
            assert [(f.execution.side, f.execution.shares, f.execution.price) for f in fills] == [("SLD", 30, 151.0)]
            assert fills[0].execution.permId == fake.orders[1]["perm_id"]
            # connect's own reqExecutions saw the fill first: ib.fills() holds it with its commission
            # report joined; what a later reqExecutions returns are fresh Fill objects without it
            (known,) = [f for f in ib.fills() if f.execution.orderRef == "d-2"]
            assert (known.execution.execId, known.commissionReport.commission) == (fills[0].execution.execId, 1.0)
        finally:
            ib.disconnect()


def test_restart_resets_next_valid_id_and_keeps_the_day(ib):
    with FakeTWS(fill_modes={"IBM": "none"}, now=lambda: NOW) as fake:
        next_ids: list[int] = []
        ib.wrapper.nextValidId = next_ids.append  # the decoder calls the wrapper's method by name
        try:
            connect(ib, fake)
            t1 = ib.placeOrder(aapl(), limit("BUY", 10, 150.0, ref="day-1"))
            t2 = ib.placeOrder(Stock("IBM", "SMART", "USD"), limit("BUY", 5, 10.0, ref="day-2"))
            wait_for(ib, lambda: t1.isDone() and t2.orderStatus.status == "Submitted", what="acks")
            # after connect's own requests (ids 1 and 2) the orders got 3 and 4
            assert (t1.order.orderId, t2.order.orderId) == (3, 4)
            ib.disconnect()
            connect(ib, fake)  # without a restart TWS remembers the ids used
            perm_ids = [o["perm_id"] for o in fake.orders]

            fake.restart()
            wait_for(ib, lambda: not ib.isConnected(), what="disconnect on restart")
            connect(ib, fake)
            assert next_ids == [1, 5, 1]
            assert [o["perm_id"] for o in fake.orders] == perm_ids

            (open_trade,) = ib.reqAllOpenOrders()
            assert (open_trade.order.orderRef, open_trade.order.orderId, open_trade.order.permId) == (
                "day-2",
                4,
                perm_ids[1],
            )
            done = ib.reqCompletedOrders(apiOnly=False)
            assert [(t.order.orderRef, t.order.permId) for t in done] == [("day-1", perm_ids[0])]
            fills = ib.reqExecutions()
            assert [(f.execution.orderRef, f.execution.shares) for f in fills] == [("day-1", 10)]

            # a new order after the restart gets a new, unique permId
            t3 = ib.placeOrder(aapl(), limit("BUY", 1, 150.0, ref="day-3"))
            wait_for(ib, lambda: t3.isDone(), what="fill after restart")
            assert t3.orderStatus.permId not in perm_ids
            assert len({o["perm_id"] for o in fake.orders}) == 3
        finally:
            ib.disconnect()


# ---------------------------------------------------------------- account, positions, time


def test_positions_and_account_values(ib):
    with FakeTWS(cash=50_000.0, positions={"MSFT": (10, 300.0)}, prices={"MSFT": 310.0}, now=lambda: NOW) as fake:
        try:
            connect(ib, fake)
            (pos,) = ib.positions()
            assert (pos.account, pos.contract.symbol, pos.position, pos.avgCost) == ("DU1234567", "MSFT", 10, 300.0)
            assert pos.contract.conId == 272093
            values = {v.tag: (v.value, v.currency, v.account) for v in ib.accountValues() if not v.modelCode}
            assert values["TotalCashValue"] == ("50000.00", "USD", "DU1234567")
            assert values["AvailableFunds"] == ("50000.00", "USD", "DU1234567")
            assert values["BuyingPower"] == ("50000.00", "USD", "DU1234567")
            assert values["NetLiquidation"] == ("53100.00", "USD", "DU1234567")  # 50,000 + 10 * 310
            (item,) = ib.portfolio()
            assert (item.position, item.marketPrice, item.marketValue, item.averageCost) == (10, 310.0, 3100.0, 300.0)
            assert item.unrealizedPNL == 100.0

            trade = ib.placeOrder(Stock("MSFT", "SMART", "USD"), limit("BUY", 10, 305.0))
            wait_for(ib, lambda: trade.isDone(), what="fill")
            # the subscriptions push the new position and cash: 20 @ (3000 + 3050) / 20 = 302.5
            wait_for(ib, lambda: ib.positions()[0].position == 20, what="position update")
            assert ib.positions()[0].avgCost == 302.5
            values = {v.tag: v.value for v in ib.accountValues() if not v.modelCode}
            assert values["TotalCashValue"] == "46949.00"  # 50,000 - 3,050 - 1.00 commission
            assert values["NetLiquidation"] == "53149.00"  # 46,949 + 20 * 310
            assert ib.reqPositions()[0].position == 20
            assert fake.position("MSFT") == (20, 302.5)
            assert fake.account_cash() == 46_949.0
        finally:
            ib.disconnect()


def test_current_time_and_unknown_message_ids(ib, fake):
    connect(ib, fake)
    assert ib.reqCurrentTime() == NOW
    ib.client.send(200, 1, "x")  # an id the fake does not know: logged and ignored
    assert ib.reqCurrentTime() == NOW
    assert fake.unknown == [200]
    assert ib.isConnected()


def test_qualify_contract(ib, fake):
    connect(ib, fake)
    (c,) = ib.qualifyContracts(aapl())
    assert (c.conId, c.symbol, c.primaryExchange, c.currency) == (265598, "AAPL", "NASDAQ", "USD")
