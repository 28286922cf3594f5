"""The IBKR adapter (xlexec/execution/brokers/ibkr.py): its pure parts with hand-written expected
values (status words, IBKR's symbol spelling, the order and fills read from ib_async's own
objects, the NYSE clock, pacing), the live guard (DU... paper, U... live), the config wiring, and
what happens without ib_async installed."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from ib_async import CommissionReport, Execution, LimitOrder, Stock, Trade
from ib_async import Fill as IbFill
from ib_async.order import OrderStatus, TradeLogEntry

from xlexec.config import config_from_dict
from xlexec.errors import ConfigError, RefusedError
from xlexec.execution.brokers import get_broker
from xlexec.execution.brokers.base import Account, BrokerUnavailable, OrderRejected, OrderRequest
from xlexec.execution.brokers.ibkr import (
    IbkrBroker,
    fills_of_day,
    ibkr_symbol,
    market_clock,
    order_from_trade,
    order_status,
    our_symbol,
    pacer,
)
from xlexec.execution.mode import check_account

UTC = dt.UTC


# --------------------------------------------------------------------------- status words


@pytest.mark.parametrize(
    "ib,filled,want",
    [
        ("PendingSubmit", 0, "pending_new"),
        ("ApiPending", 0, "pending_new"),
        ("PreSubmitted", 0, "accepted"),
        ("PreSubmitted", 10, "partially_filled"),
        ("Submitted", 0, "new"),
        ("Submitted", 5, "partially_filled"),
        ("Filled", 100, "filled"),
        ("Cancelled", 0, "canceled"),
        ("Cancelled", 30, "canceled"),  # a partly filled order canceled: canceled, its fills kept
        ("ApiCancelled", 0, "canceled"),
        ("Inactive", 0, "rejected"),
        ("PendingCancel", 0, "pending_cancel"),
    ],
)
def test_ibkr_statuses_in_our_vocabulary(ib, filled, want):
    assert order_status(ib, filled) == want


def test_open_and_final_statuses_are_the_ones_the_engine_knows():
    from xlexec.core.statuses import FINAL_STATUSES, OPEN_STATUSES

    for ib in ("PendingSubmit", "PreSubmitted", "Submitted", "PendingCancel"):
        assert order_status(ib) in OPEN_STATUSES, ib
    for ib in ("Filled", "Cancelled", "ApiCancelled", "Inactive"):
        assert order_status(ib) in FINAL_STATUSES, ib


# --------------------------------------------------------------------------- symbols and orders


@pytest.mark.parametrize(
    "ours,theirs",
    [("AAPL", "AAPL"), ("BRK.B", "BRK B"), ("BRK/B", "BRK B"), ("brk-b", "BRK B"), ("BF.A", "BF A")],
)
def test_class_shares_are_spelled_with_a_space_the_way_the_basket_file_does(ours, theirs):
    from xlexec.formats.upload import broker_symbol

    assert ibkr_symbol(ours) == theirs
    assert broker_symbol(ours, "space") == theirs  # one rule: the BasketTrader file's


def test_ibkr_symbols_read_back_as_our_canonical_ones():
    assert our_symbol("BRK B") == "BRK.B"
    assert our_symbol("AAPL") == "AAPL"


def _broker(**kw) -> IbkrBroker:
    kw.setdefault("account_id", "DU1234567")
    return IbkrBroker("127.0.0.1", 1, 7, **kw)  # never connects in these tests (port 1)


def test_a_limit_order_is_a_smart_routed_day_order_carrying_our_id_and_the_account():
    contract, order = _broker()._spec(OrderRequest("BRK.B", "buy", 10, "limit", 412.3456, "day", "B1-0001"))
    assert (contract.secType, contract.symbol, contract.exchange, contract.currency) == ("STK", "BRK B", "SMART", "USD")
    assert (order.action, order.totalQuantity, order.orderType, order.lmtPrice) == ("BUY", 10, "LMT", 412.35)
    assert (order.tif, order.orderRef, order.account) == ("DAY", "B1-0001", "DU1234567")


def test_a_market_sell_and_a_sub_dollar_limit():
    _, mkt = _broker()._spec(OrderRequest("MSFT", "sell", 3, "market", None, "day", "S-1"))
    assert (mkt.action, mkt.orderType, mkt.totalQuantity, mkt.tif, mkt.orderRef) == ("SELL", "MKT", 3, "DAY", "S-1")
    _, lmt = _broker()._spec(OrderRequest("XYZ", "buy", 100, "limit", 0.56789, "day", "X-1"))
    assert lmt.lmtPrice == 0.5679


@pytest.mark.parametrize(
    "req",
    [
        OrderRequest("AAPL", "buy", 10, "limit", None, "day", "a"),
        OrderRequest("AAPL", "buy", 10, "limit", 150.0, "gtc", "a"),
        OrderRequest("AAPL", "short", 10, "limit", 150.0, "day", "a"),
        OrderRequest("AAPL", "buy", 10, "stop", 150.0, "day", "a"),
        OrderRequest("AAPL", "buy", 0, "limit", 150.0, "day", "a"),
    ],
)
def test_what_the_adapter_cannot_send_is_refused_before_any_connection(req):
    with pytest.raises(OrderRejected):
        _broker().submit_order(req)


def _trade(status="Submitted", filled=0.0, avg=0.0, perm=9001, ref="B1-0001", sym="BRK B", log=()):
    o = LimitOrder("SELL", 25, 101.5, orderRef=ref, account="DU1234567", permId=perm, orderId=3, clientId=7)
    st = OrderStatus(orderId=3, status=status, filled=filled, remaining=25 - filled, avgFillPrice=avg, permId=perm)
    return Trade(Stock(sym, "SMART", "USD"), o, st, [], list(log))


def _fill(
    exec_id, t, side="BOT", shares=10, price=100.0, perm=9001, ref="B1-0001", sym="AAPL", fee=None, acct="DU1234567"
):
    e = Execution(
        execId=exec_id, time=t, acctNumber=acct, side=side, shares=shares, price=price, permId=perm, orderRef=ref
    )
    cr = CommissionReport(execId=exec_id, commission=fee) if fee is not None else CommissionReport()
    return IbFill(Stock(sym, "SMART", "USD"), e, cr, t)


def test_an_order_is_identified_by_its_perm_id_and_carries_our_client_order_id():
    t0 = dt.datetime(2024, 3, 1, 15, 0, 1, tzinfo=UTC)
    log = [TradeLogEntry(t0, "PendingSubmit"), TradeLogEntry(t0 + dt.timedelta(seconds=2), "Submitted")]
    o = order_from_trade(_trade("Submitted", filled=10, avg=101.6, log=log))
    assert (o.id, o.client_order_id, o.symbol, o.side) == ("9001", "B1-0001", "BRK.B", "sell")
    assert (o.qty, o.order_type, o.limit_price, o.status) == (25, "limit", 101.5, "partially_filled")
    assert (o.filled_qty, o.filled_avg_price, o.remaining) == (10, 101.6, 15)
    assert o.submitted_at == "2024-03-01T15:00:01+00:00" and o.updated_at == "2024-03-01T15:00:03+00:00"


def test_a_completed_order_without_status_numbers_takes_its_fills_from_the_executions():
    # reqCompletedOrders gives a status word only (no filled / avg price): the executions of the
    # same permId give them; another permId's execution is not counted
    t = dt.datetime(2024, 3, 1, 15, 0, tzinfo=UTC)
    ex = [
        _fill("e1", t, "SLD", 10, 101.0),
        _fill("e2", t, "SLD", 15, 102.0),
        _fill("e3", t, "SLD", 99, 50.0, perm=7),
    ]
    o = order_from_trade(_trade("Filled", perm=9001), ex)
    assert (o.status, o.filled_qty) == ("filled", 25)
    assert o.filled_avg_price == pytest.approx((10 * 101.0 + 15 * 102.0) / 25)  # 101.6


# --------------------------------------------------------------------------- fills


def test_fills_join_commissions_by_exec_id_and_keep_the_new_york_day():
    day = "2024-03-01"
    fills = [
        _fill("e1", dt.datetime(2024, 3, 1, 14, 31, tzinfo=UTC), "BOT", 10, 100.0, fee=1.25),
        _fill("e2", dt.datetime(2024, 3, 1, 20, 59, tzinfo=UTC), "SLD", 5, 101.0, sym="BRK B", ref="S-9", fee=0.35),
        # 03:00 UTC on March 2 is 22:00 on March 1 in New York: that day's
        _fill("e3", dt.datetime(2024, 3, 2, 3, 0, tzinfo=UTC), "BOT", 1, 99.0, fee=1.0),
        # 04:00 UTC on March 1 is 23:00 on February 29 in New York: not that day's
        _fill("e4", dt.datetime(2024, 3, 1, 4, 0, tzinfo=UTC), "BOT", 2, 98.0, fee=1.0),
        _fill("e5", dt.datetime(2024, 3, 1, 15, 0, tzinfo=UTC), "BOT", 7, 97.0, fee=1.0, acct="DU7"),
        _fill("e1", dt.datetime(2024, 3, 1, 14, 31, tzinfo=UTC), "BOT", 10, 100.0),  # again, no report yet
    ]
    got = fills_of_day(fills, day, "DU1234567")
    assert [(f.id, f.side, f.qty, f.price, f.commission) for f in got] == [
        ("e1", "buy", 10, 100.0, 1.25),
        ("e2", "sell", 5, 101.0, 0.35),
        ("e3", "buy", 1, 99.0, 1.0),
    ]
    assert got[1].symbol == "BRK.B" and got[1].client_order_id == "S-9" and got[1].order_id == "9001"
    assert got[0].transaction_time == "2024-03-01T14:31:00+00:00"


# --------------------------------------------------------------------------- clock


def test_the_clock_is_the_broker_time_on_the_nyse_calendar():
    c = market_clock(dt.datetime(2024, 3, 1, 15, 0, tzinfo=UTC))  # Friday 10:00 New York
    assert (c.is_open, c.next_close) == (True, "2024-03-01T21:00:00+00:00")
    assert c.next_open == "2024-03-04T14:30:00+00:00"  # Monday
    c = market_clock(dt.datetime(2024, 3, 2, 15, 0, tzinfo=UTC))  # Saturday
    assert (c.is_open, c.next_open, c.timestamp) == (False, "2024-03-04T14:30:00+00:00", "2024-03-02T15:00:00+00:00")
    c = market_clock(dt.datetime(2024, 11, 29, 18, 30, tzinfo=UTC))  # the day after Thanksgiving: closes 13:00
    assert c.is_open is False and c.next_open == "2024-12-02T14:30:00+00:00"
    c = market_clock(dt.datetime(2024, 3, 1, 14, 0, tzinfo=UTC))  # 09:00 New York: before the open
    assert (c.is_open, c.next_open) == (False, "2024-03-01T14:30:00+00:00")


# --------------------------------------------------------------------------- pacing


def test_requests_are_paced_to_fifty_per_second():
    cfg = config_from_dict({"execution": {"rate_limit_per_min": 100_000}})
    now = [0.0]
    waits: list[float] = []

    def sleep(s):
        waits.append(s)
        now[0] += s

    p = pacer(cfg.execution, clock=lambda: now[0], sleep=sleep)
    for _ in range(50):
        p.acquire()
    assert now[0] == pytest.approx(0.0, abs=1e-9)  # 50 at once
    p.acquire()
    assert now[0] == pytest.approx(1.0)  # the 51st waits for the first to leave the 1 s window
    assert (p.window_max, p.window_seconds) == (50, 1.0)


def test_the_configured_rate_is_kept_when_lower():
    cfg = config_from_dict({"execution": {"rate_limit_per_min": 120, "rate_limit_burst": 1}})
    p = pacer(cfg.execution)
    assert (p.rate_per_min, p.burst, p.window_max) == (120, 1, 50)


# --------------------------------------------------------------------------- the live guard


@pytest.mark.parametrize(
    "paper,number,refused",
    [
        (True, "DU1234567", None),
        (True, "U1234567", "not a paper account (DU...)"),
        (False, "U1234567", None),
        (False, "DU1234567", "paper account DU1234567"),
        (True, "", "no account number"),
    ],
)
def test_the_account_decides_paper_or_live(paper, number, refused):
    b = _broker(paper=paper, account_id=number or None)
    acct = Account(cash=1.0, buying_power=1.0, portfolio_value=1.0, account_number=number)
    if refused is None:
        assert check_account(b, acct, expected=number, key="execution.ibkr.account_id") == number
    else:
        with pytest.raises(RefusedError) as e:
            check_account(b, acct, expected=number, key="execution.ibkr.account_id")
        assert refused in str(e.value) and "nothing sent" in str(e.value)


def test_alpaca_keeps_its_pa_prefix():
    from xlexec.execution.brokers.alpaca import AlpacaBroker

    a = AlpacaBroker.__new__(AlpacaBroker)
    a.paper = True
    with pytest.raises(RefusedError, match=r"not a paper account \(PA\.\.\.\)"):
        check_account(a, Account(1, 1, 1, account_number="DU1234567"))
    assert check_account(a, Account(1, 1, 1, account_number="PA123")) == "PA123"


def test_require_account_checks_the_configured_ibkr_account(tmp_path):
    from xlexec.execution.engine import require_account
    from xlexec.steps.context import Context

    cfg = config_from_dict(
        {"live_dir": str(tmp_path), "execution": {"broker": "ibkr", "ibkr": {"account_id": "DU1111111"}}}
    )
    ctx = Context(cfg, user="t")
    b = _broker(account_id="DU1111111")
    assert require_account(ctx, b, Account(1, 1, 1, account_number="DU1111111"), "[t]") == "DU1111111"
    with pytest.raises(RefusedError, match="not the configured execution.ibkr.account_id DU1111111"):
        require_account(ctx, b, Account(1, 1, 1, account_number="DU2222222"), "[t]")
    with pytest.raises(RefusedError, match="not a paper account"):
        require_account(ctx, b, Account(1, 1, 1, account_number="U1111111"), "[t]")


# --------------------------------------------------------------------------- config and wiring


def test_the_ibkr_config_defaults_and_ports():
    cfg = config_from_dict({"execution": {"broker": "ibkr", "ibkr": {"account_id": "DU1234567"}}})
    b = get_broker(cfg)
    assert isinstance(b, IbkrBroker) and b.name == "ibkr" and b.thread_safe is True
    assert (b.paper, b.host, b.client_id, b.account_id, b.connect_timeout, b.timeout) == (
        True,
        "127.0.0.1:7497",
        1,
        "DU1234567",
        10.0,
        10.0,
    )
    live = get_broker(config_from_dict({"execution": {"broker": "ibkr", "ibkr": {"paper": False}}}))
    assert (live.paper, live.host) == (False, "127.0.0.1:7496")
    gw = get_broker(
        config_from_dict({"execution": {"broker": "ibkr", "ibkr": {"host": "10.0.0.5", "port": 4002, "client_id": 9}}})
    )
    assert (gw.host, gw.client_id) == ("10.0.0.5:4002", 9)


def test_unknown_ibkr_keys_are_refused():
    with pytest.raises(ConfigError, match="execution.ibkr"):
        config_from_dict({"execution": {"ibkr": {"account": "DU1"}}})


def test_mode_and_account_text_for_ibkr():
    from xlexec.excel.modes import account_text, is_live, mode_text
    from xlexec.store.policy import mode_of

    cfg = config_from_dict({"execution": {"broker": "ibkr", "ibkr": {"account_id": "DU1234567"}}})
    assert mode_of(cfg) == ("PAPER", "127.0.0.1")
    assert (is_live(cfg), account_text(cfg)) == (False, "account DU1234567")
    assert mode_text(cfg) == "PAPER TRADING · ibkr · account DU1234567"
    live = config_from_dict({"execution": {"broker": "ibkr", "ibkr": {"paper": False, "account_id": "U7"}}})
    assert mode_of(live) == ("LIVE", "127.0.0.1")
    assert mode_text(live) == "LIVE TRADING · REAL MONEY · ibkr · account U7"


def test_an_unreachable_tws_is_broker_unavailable_naming_it():
    b = IbkrBroker("127.0.0.1", 1, 7, account_id="DU1234567", connect_timeout=2)
    with pytest.raises(BrokerUnavailable, match=r"127\.0\.0\.1:1 \(client id 7\)"):
        b.clock()
    b.close()


def test_without_ib_async_xlexec_imports_and_ibkr_is_one_config_error_line(tmp_path):
    code = (
        "import sys; sys.modules['ib_async'] = None\n"
        "import xlexec, xlexec.execution.engine, xlexec.execution.brokers.ibkr\n"
        "from xlexec.config import config_from_dict\n"
        "from xlexec.execution.brokers import get_broker\n"
        "from xlexec.errors import ConfigError\n"
        "try:\n"
        "    get_broker(config_from_dict({'execution': {'broker': 'ibkr'}}))\n"
        "except ConfigError as e:\n"
        "    print('CONFIGERROR', e)\n"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "CONFIGERROR execution.broker: ibkr needs ib_async: pip install xlexec[ibkr]"


def test_broker_ibkr_in_a_config_file_loads(tmp_path):
    from xlexec.config import load_config

    p = tmp_path / "config.yaml"
    p.write_text(
        "execution:\n  broker: ibkr\n  ibkr:\n    host: 127.0.0.1\n    port: 4002\n    client_id: 3\n"
        "    account_id: DU1234567\n    paper: true\n    connect_timeout_seconds: 5\n"
    )
    k = load_config(p, cwd=tmp_path).execution.ibkr
    assert (k.host, k.port, k.client_id, k.account_id, k.paper, k.connect_timeout_seconds) == (
        "127.0.0.1",
        4002,
        3,
        "DU1234567",
        True,
        5.0,
    )


# --------------------------------------------------------------------------- against the fake TWS
# tests/fake_tws.py speaks TWS's socket protocol on loopback; the real ib_async client talks to it.

sys.path.insert(0, str(Path(__file__).parent))

from fake_tws import FakeTWS  # noqa: E402

NY = ZoneInfo("America/New_York")


def _today() -> str:
    return dt.datetime.now(UTC).astimezone(NY).date().isoformat()


@pytest.fixture
def tws():
    with FakeTWS(prices={"AAPL": 150.0, "BRK B": 400.0, "MSFT": 300.0}, fill_modes={"MSFT": "none"}) as f:
        yield f


def _connect(f, **kw) -> IbkrBroker:
    kw.setdefault("account_id", "DU1234567")
    kw.setdefault("timeout", 3.0)
    return IbkrBroker(f.host, f.port, kw.pop("client_id", 5), **kw)


def _req(symbol, side, qty, price, coid, kind="limit"):
    return OrderRequest(symbol, side, qty, kind, price, "day", coid)


def _until(b: IbkrBroker, order_id: str, status: str, seconds: float = 5.0):
    """The order once it reaches ``status`` (the fake answers Submitted first, then the fill)."""
    deadline = time.monotonic() + seconds
    o = b.get_order(order_id)
    while o.status != status and time.monotonic() < deadline:
        time.sleep(0.02)
        o = b.get_order(order_id)
    return o


def test_submit_fill_and_the_days_fills_with_commissions(tws):
    b = _connect(tws)
    try:
        o = b.submit_order(_req("AAPL", "buy", 400, 150.0, "B1-0001"))
        m = b.submit_order(_req("BRK.B", "sell", 10, None, "B1-0002", kind="market"))
        [wa, wb] = tws.orders
        assert (wa["symbol"], wa["action"], wa["qty"], wa["order_type"], wa["lmt_price"]) == (
            "AAPL",
            "BUY",
            400,
            "LMT",
            150,
        )
        assert (wa["tif"], wa["order_ref"], wa["account"]) == ("DAY", "B1-0001", "DU1234567")
        assert (wb["symbol"], wb["action"], wb["order_type"], wb["order_ref"]) == ("BRK B", "SELL", "MKT", "B1-0002")
        assert o.id == str(wa["perm_id"]) and m.id == str(wb["perm_id"])  # the permId, not the orderId
        assert o.id != str(wa["order_id"])
        assert o.status in ("new", "filled")  # the first status TWS sent with the permId
        o = _until(b, o.id, "filled")
        assert (o.client_order_id, o.symbol, o.status, o.filled_qty, o.filled_avg_price) == (
            "B1-0001",
            "AAPL",
            "filled",
            400,
            150.0,
        )
        g = _until(b, m.id, "filled")
        assert (g.symbol, g.side, g.status, g.filled_qty, g.filled_avg_price) == ("BRK.B", "sell", "filled", 10, 400.0)
        fills = b.fills(_today())
        # commission: max(1.00, 0.005 $/share) as the fake charges: 400 shares 2.00, 10 shares 1.00
        assert sorted((f.client_order_id, f.symbol, f.side, f.qty, f.price, f.commission) for f in fills) == [
            ("B1-0001", "AAPL", "buy", 400, 150.0, 2.0),
            ("B1-0002", "BRK.B", "sell", 10, 400.0, 1.0),
        ]
        assert {f.id for f in fills} == {e["exec_id"] for e in tws.executions}
        assert {f.order_id for f in fills} == {o.id, m.id}
        day = dt.date.fromisoformat(_today())
        assert b.fills((day - dt.timedelta(days=1)).isoformat()) == []
    finally:
        b.close()


def test_a_reply_lost_after_the_send_is_found_by_order_ref_and_never_sent_again(tws):
    tws.drop_after_place = 1
    b = _connect(tws)
    try:
        with pytest.raises(BrokerUnavailable, match="outcome unknown"):
            b.submit_order(_req("AAPL", "buy", 10, 150.0, "B2-0001"))
        tws.drop_after_place = 0
        assert tws.place_count == 1
        found = b.get_order_by_client_id("B2-0001")  # reconnects first
        assert found is not None and found.id == str(tws.orders[0]["perm_id"])
        assert (found.client_order_id, found.status, found.filled_qty) == ("B2-0001", "filled", 10)
        assert b.get_order_by_client_id("B2-0002") is None
    finally:
        b.close()
    rerun = _connect(tws, client_id=6)  # the next run: another process, another connection
    try:
        again = rerun.get_order_by_client_id("B2-0001")
        assert again is not None and again.id == found.id and again.status == "filled"
    finally:
        rerun.close()
    assert tws.place_count == 1  # nothing sent again


def test_a_tws_restart_keeps_the_perm_id_while_order_ids_start_again(tws):
    b = _connect(tws)
    try:
        w = b.submit_order(_req("MSFT", "buy", 5, 300.0, "B3-0001"))
        assert w.status == "new"
        tws.restart()
        found = b.get_order_by_client_id("B3-0001")
        assert found is not None and (found.id, found.status, found.filled_qty) == (w.id, "new", 0)
        assert b.get_order(w.id).client_order_id == "B3-0001"
        n = b.submit_order(_req("MSFT", "sell", 1, 301.0, "B3-0002"))
        ids = [o["perm_id"] for o in tws.orders]
        assert n.id != w.id and [w.id, n.id] == [str(i) for i in ids]
        assert b.stats["connects"] == 2
    finally:
        b.close()


@pytest.mark.parametrize(
    "code,text",
    [
        (201, "Order rejected - reason: insufficient buying power"),
        (203, "The security is not available"),
        # a code not known as a refusal: the Inactive status TWS sends after it decides
        (10999, "An error this adapter has no entry for"),
    ],
)
def test_an_error_for_the_order_is_a_rejection(tws, code, text):
    tws.reject["AAPL"] = (code, text)
    b = _connect(tws)
    try:
        with pytest.raises(OrderRejected) as e:
            b.submit_order(_req("AAPL", "buy", 10, 150.0, "B4-0001"))
        assert e.value.status_code == code and text in str(e.value)
        assert tws.executions == []
        got = b.get_order_by_client_id("B4-0001")
        assert got is None or got.status == "rejected"
    finally:
        b.close()


def test_no_status_in_time_is_an_unknown_outcome_then_found(tws):
    tws.status_delay = 2.0
    b = _connect(tws, timeout=0.5)
    try:
        t0 = time.monotonic()
        with pytest.raises(BrokerUnavailable, match=r"within 0\.5 s"):
            b.submit_order(_req("AAPL", "buy", 10, 150.0, "B5-0001"))
        assert time.monotonic() - t0 < 1.5  # bounded by request_timeout_seconds
        tws.status_delay = 0.0
        deadline = time.monotonic() + 5
        found = None
        while found is None and time.monotonic() < deadline:
            try:  # TWS still busy with the slow reply: asked again, as the engine does
                found = b.get_order_by_client_id("B5-0001")
            except BrokerUnavailable:
                continue
        assert found is not None and found.client_order_id == "B5-0001"
        assert tws.place_count == 1
    finally:
        b.close()


def test_cancel_all_is_a_global_cancel_verified_by_listing(tws):
    b = _connect(tws)
    try:
        w1 = b.submit_order(_req("MSFT", "buy", 5, 300.0, "B6-0001"))
        w2 = b.submit_order(_req("MSFT", "sell", 2, 310.0, "B6-0002"))
        f = _until(b, b.submit_order(_req("AAPL", "buy", 1, 150.0, "B6-0003")).id, "filled")
        assert {o.id for o in b.list_orders("open")} == {w1.id, w2.id}
        assert sorted(b.cancel_all()) == sorted([w1.id, w2.id])
        assert {o["perm_id"]: o["status"] for o in tws.orders} == {
            int(w1.id): "Cancelled",
            int(w2.id): "Cancelled",
            int(f.id): "Filled",
        }
        assert b.list_orders("open") == []
        assert b.cancel_all() == []
    finally:
        b.close()


def test_cancel_one_order(tws):
    b = _connect(tws)
    try:
        w = b.submit_order(_req("MSFT", "buy", 5, 300.0, "B7-0001"))
        b.cancel_order(w.id)
        deadline = time.monotonic() + 3
        while b.get_order(w.id).status != "canceled" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert b.get_order(w.id).status == "canceled"
        with pytest.raises(OrderRejected):
            b.cancel_order(w.id)
    finally:
        b.close()


def test_account_positions_and_clock_from_tws():
    with FakeTWS(prices={"AAPL": 150.0}, positions={"AAPL": (100, 140.0)}, cash=50_000.0) as f:
        b = _connect(f)
        try:
            a = b.account()
            assert (a.account_number, a.cash, a.buying_power, a.currency) == ("DU1234567", 50_000.0, 50_000.0, "USD")
            assert a.portfolio_value == pytest.approx(50_000.0 + 100 * 150.0)
            [p] = b.positions()
            assert (p.symbol, p.qty, p.avg_entry_price) == ("AAPL", 100, 140.0)
            c = b.clock()
            t = dt.datetime.fromisoformat(c.timestamp)
            assert abs((t - dt.datetime.now(UTC)).total_seconds()) < 5
        finally:
            b.close()


def test_an_account_not_of_the_login_is_refused_before_anything_is_sent():
    with FakeTWS(accounts=("DU1234567",)) as f:
        b = _connect(f, account_id="DU7654321")
        with pytest.raises(ConfigError, match="DU7654321 is not an account of the login.*DU1234567"):
            b.submit_order(_req("AAPL", "buy", 1, 150.0, "B8-0001"))
        assert f.place_count == 0
    with FakeTWS(accounts=("DU1111111", "DU2222222")) as f:
        b = IbkrBroker(f.host, f.port, 5, account_id=None)
        with pytest.raises(ConfigError, match="manages 2 accounts"):
            b.account()
        assert f.place_count == 0


def test_paper_mode_on_a_live_login_is_refused_by_the_guard(tmp_path):
    from xlexec.execution.engine import require_account
    from xlexec.steps.context import Context

    with FakeTWS(accounts=("U1234567",)) as f:
        cfg = config_from_dict({"live_dir": str(tmp_path), "execution": {"broker": "ibkr"}})
        b = IbkrBroker(f.host, f.port, 5, paper=True)  # account_id unset: the login's one account
        try:
            with pytest.raises(RefusedError, match="U1234567, which is not a paper account"):
                require_account(Context(cfg, user="t"), b, b.account(), "[t]")
        finally:
            b.close()
        assert f.place_count == 0


def test_calls_from_several_threads_share_the_one_connection(tws):
    # the engine calls adapters from its worker threads: the connection made on one thread
    # serves calls made on others (each runs on the adapter's own thread)
    from concurrent.futures import ThreadPoolExecutor

    b = _connect(tws)
    try:
        assert b.clock().timestamp
        with ThreadPoolExecutor(max_workers=2) as pool:
            got = list(pool.map(lambda i: b.submit_order(_req("AAPL", "buy", i, 150.0, f"B9-{i}")), (1, 2, 3)))
        assert sorted(_until(b, o.id, "filled").filled_qty for o in got) == [1, 2, 3]
        assert b.stats["connects"] == 1 and tws.place_count == 3
    finally:
        b.close()


def test_a_fill_while_disconnected_is_found_after_the_reconnect(tws):
    b = _connect(tws)
    try:
        w = b.submit_order(_req("MSFT", "buy", 400, 300.0, "B10-0001"))
        assert w.status == "new"
        tws.restart()  # the connection is gone; the exchange fills the order meanwhile
        ex = tws.fill("B10-0001", shares=150, price=299.5)
        assert ex["shares"] == 150
        got = b.get_order_by_client_id("B10-0001")
        assert got is not None and (got.id, got.status, got.filled_qty, got.filled_avg_price) == (
            w.id,
            "partially_filled",
            150,
            299.5,
        )
        [f] = b.fills(_today())
        # commission: max(1.00, 0.005 $/share x 150) = 1.00
        assert (f.id, f.order_id, f.client_order_id, f.qty, f.price, f.commission) == (
            ex["exec_id"],
            w.id,
            "B10-0001",
            150,
            299.5,
            1.0,
        )
    finally:
        b.close()
