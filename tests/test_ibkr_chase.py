"""The limit chase on IBKR: ``IbkrBroker.replace_order`` is cancel-then-replace against the
loopback fake TWS (tests/fake_tws.py) driven by the real ib_async. Expected values by hand: the
old order reads ``replaced`` (also for a new adapter after a restart), the new one carries the
move's id as ``orderRef`` for the shares left unfilled, an order filled before the cancel lands
is not replaced (422 "order is filled", as Alpaca answers), and nothing is placed twice."""

from __future__ import annotations

import datetime as dt
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from fake_tws import FakeTWS  # noqa: E402
from session_now import session_now  # noqa: E402
from xlexec.execution.brokers.base import BrokerUnavailable, OrderRejected, OrderRequest  # noqa: E402
from xlexec.execution.brokers.ibkr import IbkrBroker, chase_number, replaced_refs  # noqa: E402

ROOT = "xlx-2025-10-30-a234567-AAPL-buy-0123456789ab"


class FillsAsTheCancelArrives(FakeTWS):
    """The exchange fills the order in the moment the cancel reaches TWS: TWS sends the fill,
    then answers the cancel with 10148 "cannot be cancelled, state: Filled"."""

    def _cancel_order(self, conn, f):
        with self._lock:
            order = self._find_working(conn.client_id or 0, int(f[2]))
        if order is not None:
            self.fill(order.order_ref)
        super()._cancel_order(conn, f)


@pytest.fixture
def tws():
    with FakeTWS(prices={"AAPL": 150.0}, fill_modes={"AAPL": "none"}) as f:
        yield f


def _connect(f, client_id=5) -> IbkrBroker:
    return IbkrBroker(f.host, f.port, client_id, account_id="DU1234567", timeout=3.0)


def _buy(qty, price, coid) -> OrderRequest:
    return OrderRequest("AAPL", "buy", qty, "limit", price, "day", coid)


def _until(b, order_id, pred, seconds=5.0):
    deadline = time.monotonic() + seconds
    o = b.get_order(order_id)
    while not pred(o) and time.monotonic() < deadline:
        time.sleep(0.02)
        o = b.get_order(order_id)
    return o


def test_chase_ids_name_their_root_and_later_moves_mark_the_earlier_ones():
    assert chase_number(ROOT) == 0 and chase_number(ROOT + "-c2") == 2
    assert replaced_refs([ROOT, ROOT + "-c1", "other"]) == {ROOT}
    # a refused move leaves a gap (c2 never placed): c3 still replaces c1
    assert replaced_refs([ROOT, ROOT + "-c1", ROOT + "-c3"]) == {ROOT, ROOT + "-c1"}
    assert replaced_refs([ROOT + "-s1", ROOT + "-s1-c1", ROOT + "-s2"]) == {ROOT + "-s1"}
    assert replaced_refs(["", ROOT]) == set()


def test_replace_a_working_order(tws):
    b = _connect(tws)
    try:
        o = b.submit_order(_buy(10, 150.00, ROOT))
        new = b.replace_order(o.id, limit_price=150.05, client_order_id=ROOT + "-c1")
        assert tws.place_count == 2
        old_w, new_w = tws.orders
        assert (old_w["order_ref"], old_w["status"]) == (ROOT, "Cancelled")
        assert (new_w["order_ref"], new_w["status"], new_w["qty"], new_w["lmt_price"]) == (
            ROOT + "-c1",
            "Submitted",
            10,
            150.05,
        )
        assert (new_w["symbol"], new_w["action"], new_w["tif"], new_w["account"]) == ("AAPL", "BUY", "DAY", "DU1234567")
        assert (new.id, new.client_order_id, new.status, new.qty, new.limit_price) == (
            str(new_w["perm_id"]),
            ROOT + "-c1",
            "new",
            10,
            150.05,
        )
        assert b.get_order(o.id).status == "replaced"
        by = {x.client_order_id: x for x in b.list_orders("all")}
        assert (by[ROOT].status, by[ROOT + "-c1"].status) == ("replaced", "new")
        assert [x.client_order_id for x in b.list_orders("open")] == [ROOT + "-c1"]
        assert b.get_order_by_client_id(ROOT).status == "replaced"
        # the second move replaces the first replacement
        c2 = b.replace_order(new.id, limit_price=150.10, client_order_id=ROOT + "-c2")
        assert (c2.qty, c2.limit_price, tws.place_count) == (10, 150.10, 3)
        assert b.get_order(new.id).status == "replaced"
    finally:
        b.close()
    # a new adapter (the next run, after a restart) knows nothing: TWS's orders tell
    again = _connect(tws)
    try:
        assert again.get_order(o.id).status == "replaced"
        assert again.get_order(new.id).status == "replaced"
        by = {x.client_order_id: x.status for x in again.list_orders("all")}
        assert by == {ROOT: "replaced", ROOT + "-c1": "replaced", ROOT + "-c2": "new"}
    finally:
        again.close()


def test_a_partly_filled_order_replaces_only_the_remainder():
    with FakeTWS(prices={"AAPL": 150.0}, fill_modes={"AAPL": 0.3}) as tws:
        b = _connect(tws)
        try:
            o = b.submit_order(_buy(10, 150.00, ROOT))
            o = _until(b, o.id, lambda x: x.filled_qty == 3)  # floor(10 x 0.3) = 3 at once
            assert (o.status, o.filled_qty) == ("partially_filled", 3)
            new = b.replace_order(o.id, limit_price=150.05, client_order_id=ROOT + "-c1")
            # the new order is for 10 - 3 = 7; the fake fills floor(7 x 0.3) = 2 of it at once
            assert tws.orders[1]["qty"] == 7 and tws.orders[1]["lmt_price"] == 150.05
            assert new.qty == 7
            new = _until(b, new.id, lambda x: x.filled_qty == 2)
            assert (new.status, new.filled_qty, new.filled_avg_price) == ("partially_filled", 2, 150.05)
            old = b.get_order(o.id)
            assert (old.status, old.filled_qty, old.filled_avg_price) == ("replaced", 3, 150.0)
        finally:
            b.close()


def test_an_order_filled_before_the_cancel_lands_is_not_replaced():
    with FillsAsTheCancelArrives(prices={"AAPL": 150.0}, fill_modes={"AAPL": "none"}) as tws:
        b = _connect(tws)
        try:
            o = b.submit_order(_buy(10, 150.00, ROOT))
            with pytest.raises(OrderRejected, match="order is filled") as e:
                b.replace_order(o.id, limit_price=150.05, client_order_id=ROOT + "-c1")
            assert e.value.status_code == 422
            assert tws.place_count == 1  # nothing replaced
            old = b.get_order(o.id)
            assert (old.status, old.filled_qty, old.filled_avg_price) == ("filled", 10, 150.0)
            assert b.get_order_by_client_id(ROOT + "-c1") is None
        finally:
            b.close()


def test_a_filled_order_is_not_replaced(tws):
    b = _connect(tws)
    try:
        o = b.submit_order(_buy(10, 150.00, ROOT))
        tws.fill(ROOT)
        _until(b, o.id, lambda x: x.status == "filled")
        with pytest.raises(OrderRejected, match="order is filled") as e:
            b.replace_order(o.id, limit_price=150.05, client_order_id=ROOT + "-c1")
        assert e.value.status_code == 422 and tws.place_count == 1
    finally:
        b.close()


def test_a_replacement_is_never_placed_twice(tws):
    b = _connect(tws)
    try:
        o = b.submit_order(_buy(10, 150.00, ROOT))
        first = b.replace_order(o.id, limit_price=150.05, client_order_id=ROOT + "-c1")
        again = b.replace_order(o.id, limit_price=150.05, client_order_id=ROOT + "-c1")
        assert again.id == first.id and again.client_order_id == ROOT + "-c1"
        assert tws.place_count == 2
        assert [x["status"] for x in tws.orders] == ["Cancelled", "Submitted"]
    finally:
        b.close()


def test_a_lost_reply_to_the_replacement_is_unknown_then_found_not_resent(tws):
    b = _connect(tws)
    try:
        o = b.submit_order(_buy(10, 150.00, ROOT))
        tws.drop_after_place = 2  # the replacement reaches TWS, the connection drops before the reply
        with pytest.raises(BrokerUnavailable, match="outcome unknown"):
            b.replace_order(o.id, limit_price=150.05, client_order_id=ROOT + "-c1")
        tws.drop_after_place = 0
        assert tws.place_count == 2
        # the chase's rerun asks again with the same id: found, nothing sent
        got = b.replace_order(o.id, limit_price=150.05, client_order_id=ROOT + "-c1")
        assert (got.client_order_id, got.qty, got.limit_price, got.status) == (ROOT + "-c1", 10, 150.05, "new")
        assert tws.place_count == 2
        assert b.get_order(o.id).status == "replaced"
    finally:
        b.close()


def test_a_refused_replacement_leaves_the_old_order_canceled_not_replaced(tws):
    b = _connect(tws)
    try:
        o = b.submit_order(_buy(10, 150.00, ROOT))
        tws.reject["AAPL"] = (201, "Order rejected - reason: no trading permissions")
        with pytest.raises(OrderRejected, match="201"):
            b.replace_order(o.id, limit_price=150.05, client_order_id=ROOT + "-c1")
        assert b.get_order(o.id).status == "canceled"
    finally:
        b.close()


# --------------------------------------------------------------------------- the chase itself


_tws_now = session_now  # the fake's clock (tests/session_now.py)


def _desk(tmp_path, tws, max_moves=2):
    """A config for the fake TWS with the chase on, the day (the fake's session), one AAPL buy
    of 10 at 150.00 submitted through the engine, and ``run(minutes)``: ``enforce_timeouts``
    (what ``xlexec status --enforce-timeouts`` runs) that many minutes after the submit, with a
    new adapter each time (separate runs)."""
    from xlexec.config import config_from_dict
    from xlexec.execution import engine as S
    from xlexec.execution import status as ST
    from xlexec.formats.trades import parse_trades_text
    from xlexec.steps.context import Context

    day = _tws_now().astimezone(ZoneInfo("America/New_York")).date().isoformat()
    trades = (
        f"# Date: {day}\n# Kill Switch: ACTIVE\n# Safety Checks: PASSED\n"
        "symbol,side,shares,price,notional,weight_change,commission_est,slippage_est,total_cost_est\n"
        "AAPL,buy,10,150.00,1500.00,0.015,0.15,0.30,0.45\n"
    )
    ex = {
        "require_human_approval": False,
        "broker": "ibkr",
        "order_timeout_minutes": 120,
        "price_collar_pct": None,
        "request_timeout_seconds": 3,
        "ibkr": {"port": tws.port, "client_id": 5, "account_id": "DU1234567"},
        "chase": {"enabled": True, "step": 0.05, "minutes": 15, "max_moves": max_moves},
    }
    cfg = config_from_dict({"live_dir": str(tmp_path / "live"), "execution": ex})
    t0 = dt.datetime.now(dt.UTC)
    ctx = Context(cfg, user="tester", fixed_now=t0)

    def run(minutes):
        b = IbkrBroker.from_config(cfg)
        try:
            return ST.enforce_timeouts(ctx, day, b, t0 + dt.timedelta(minutes=minutes))
        finally:
            b.close()

    b = IbkrBroker.from_config(cfg)
    try:
        r = S.submit_batch(ctx, parse_trades_text(trades), broker=b, quotes=None, allow_closed=True)
    finally:
        b.close()
    assert r.exit_code == 0 and tws.place_count == 1
    return cfg, ctx, day, run


def test_the_chase_does_not_replace_an_order_that_fills_as_the_cancel_arrives(tmp_path):
    from xlexec.execution import status as ST

    with FillsAsTheCancelArrives(prices={"AAPL": 150.0}, fill_modes={"AAPL": "none"}, now=_tws_now) as tws:
        cfg, ctx, day, run = _desk(tmp_path, tws)
        a = run(16)
        assert list(a["action"]) == ["chase_refused"] and "order is filled" in a["note"].iloc[0], a
        assert tws.place_count == 1 and [x["status"] for x in tws.orders] == ["Filled"]
        assert run(40).empty  # filled: nothing left to chase
        b = IbkrBroker.from_config(cfg)
        try:
            st = ST.refresh_status(ctx, day, b).set_index("client_order_id")
        finally:
            b.close()
        root = tws.orders[0]["order_ref"]
        assert (st.loc[root, "status"], st.loc[root, "filled_qty"]) == ("filled", 10)
        assert tws.place_count == 1


def test_the_chase_moves_an_ibkr_limit_twice_then_stops(tmp_path):
    """Two moves, then max_moves. TWS reports no sent time for an order an earlier connection
    placed, so the periods count from the journal."""
    from xlexec.execution import status as ST

    with FakeTWS(prices={"AAPL": 150.0}, fill_modes={"AAPL": "none"}, now=_tws_now) as tws:
        cfg, ctx, day, run = _desk(tmp_path, tws)
        root = tws.orders[0]["order_ref"]
        assert run(10).empty  # too early
        a1 = run(16)
        assert list(a1["action"]) == ["chase"] and "limit 150 -> 150.05 for 10 remaining" in a1["note"].iloc[0]
        assert run(20).empty and tws.place_count == 2  # the replacement is younger than 15 minutes
        a2 = run(32)
        assert list(a2["action"]) == ["chase"] and "limit 150.05 -> 150.1 for 10 remaining" in a2["note"].iloc[0]
        assert run(60).empty  # max_moves 2
        assert [(o["order_ref"], o["status"], o["qty"], o["lmt_price"]) for o in tws.orders] == [
            (root, "Cancelled", 10, 150.0),
            (root + "-c1", "Cancelled", 10, 150.05),
            (root + "-c2", "Submitted", 10, 150.1),
        ]
        b = IbkrBroker.from_config(cfg)
        try:
            st = ST.refresh_status(ctx, day, b).set_index("client_order_id")
        finally:
            b.close()
        assert list(st.loc[[root, root + "-c1", root + "-c2"], "status"]) == ["replaced", "replaced", "new"]
        assert st.loc[root + "-c2", "remaining"] == 10


def test_a_gate_closing_between_the_cancel_and_the_place_leaves_the_old_canceled(tws):
    """The kill switch engaged while the cancel is on the wire (the same state as a crash
    between the two): the old order is canceled, nothing placed, and it reads ``canceled`` (no
    replacement exists), also for the next run's adapter."""
    from xlexec.errors import GateClosed

    b = _connect(tws)
    passed: list[str] = []

    def gate(what: str) -> None:
        passed.append(what)
        if len(passed) > 1:
            raise GateClosed(f"kill switch engaged: {what} not sent")

    try:
        o = b.submit_order(_buy(10, 150.00, ROOT))
        b.gate = gate
        with pytest.raises(GateClosed):
            b.replace_order(o.id, limit_price=150.05, client_order_id=ROOT + "-c1")
        assert passed == [f"replace {o.id}", f"submit {ROOT}-c1"]
        assert tws.place_count == 1 and [x["status"] for x in tws.orders] == ["Cancelled"]
        assert b.get_order(o.id).status == "canceled"
    finally:
        b.close()
    again = _connect(tws)
    try:
        assert again.get_order(o.id).status == "canceled"
        assert again.get_order_by_client_id(ROOT + "-c1") is None
    finally:
        again.close()
