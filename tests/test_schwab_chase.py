"""The limit chase on Schwab: ``SchwabBroker.replace_order`` (``PUT .../orders/{id}``, a full new
spec) against the loopback fake Trader API (tests/fake_schwab.py) driven by the real schwab-py.
Expected values by hand: the old order reads ``replaced``, the new one is a DAY limit at the new
price for the shares still unfilled, a filled order is not replaced (422 "order is filled", as
Alpaca answers), and after a lost 201 the replacement is found by its fields and never sent twice."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from fake_schwab import ACCOUNT_HASH, ACCOUNT_NUMBER, FakeSchwab  # noqa: E402
from session_now import session_now  # noqa: E402
from test_schwab_adapter import _broker, _limit, _token  # noqa: E402
from xlexec.execution.brokers.base import BrokerUnavailable, OrderRejected  # noqa: E402

ROOT = "xlx-2025-10-30-a234567-AAPL-buy-0123456789ab"


@pytest.fixture
def fake():
    with FakeSchwab() as f:
        yield f


class FillsAsTheReplaceArrives(FakeSchwab):
    """The order fills in full in the moment the PUT reaches Schwab: the replace is refused (400)."""

    def _replace(self, old, body):
        self.fill(old["orderId"], old["remainingQuantity"], 150.00)
        return super()._replace(old, body)


def _puts(fake):
    return fake.requests("PUT", "/orders/")


def test_replace_a_working_order(fake, tmp_path):
    b = _broker(fake, tmp_path)
    o = b.submit_order(_limit(10, 150.00, coid=ROOT))
    new = b.replace_order(o.id, limit_price=150.05, client_order_id=ROOT + "-c1")
    [put] = _puts(fake)
    assert put["path"] == f"/trader/v1/accounts/{ACCOUNT_HASH}/orders/1001"
    body = put["body"]
    assert (body["orderType"], body["session"], body["duration"], body["orderStrategyType"]) == (
        "LIMIT",
        "NORMAL",
        "DAY",
        "SINGLE",
    )
    assert body["price"] == "150.05"
    assert body["orderLegCollection"][0]["instruction"] == "BUY"
    assert body["orderLegCollection"][0]["quantity"] == 10
    assert body["orderLegCollection"][0]["instrument"] == {"symbol": "AAPL", "assetType": "EQUITY"}
    assert (new.id, new.client_order_id, new.status, new.qty, new.limit_price) == (
        "1002",
        ROOT + "-c1",
        "new",
        10.0,
        150.05,
    )
    assert fake.orders[1001]["status"] == "REPLACED"
    old = b.get_order(o.id)
    assert (old.status, old.client_order_id, old.limit_price) == ("replaced", ROOT, 150.00)
    # the replacement again: found (the 201 named it), nothing sent
    assert b.replace_order(o.id, limit_price=150.05, client_order_id=ROOT + "-c1").id == "1002"
    assert len(_puts(fake)) == 1


def test_a_partly_filled_order_replaces_only_the_remainder(fake, tmp_path):
    b = _broker(fake, tmp_path)
    o = b.submit_order(_limit(10, 150.00, coid=ROOT))
    fake.fill(1001, 4, 150.00)
    new = b.replace_order(o.id, limit_price=150.05, client_order_id=ROOT + "-c1")
    assert _puts(fake)[0]["body"]["orderLegCollection"][0]["quantity"] == 6
    assert (new.qty, new.limit_price, new.status, new.filled_qty) == (6.0, 150.05, "new", 0.0)
    old = b.get_order(o.id)
    assert (old.status, old.filled_qty) == ("replaced", 4.0)


def test_a_filled_order_is_not_replaced(fake, tmp_path):
    b = _broker(fake, tmp_path)
    o = b.submit_order(_limit(10, 150.00, coid=ROOT))
    fake.fill(1001, 10, 150.00)
    with pytest.raises(OrderRejected) as e:
        b.replace_order(o.id, limit_price=150.05, client_order_id=ROOT + "-c1")
    assert e.value.status_code == 422 and "order is filled: it cannot be replaced" in str(e.value)
    assert _puts(fake) == [] and len(fake.orders) == 1


def test_an_order_filled_as_the_replace_arrives_is_refused_as_filled(tmp_path):
    with FillsAsTheReplaceArrives() as fake:
        b = _broker(fake, tmp_path)
        o = b.submit_order(_limit(10, 150.00, coid=ROOT))
        with pytest.raises(OrderRejected) as e:
            b.replace_order(o.id, limit_price=150.05, client_order_id=ROOT + "-c1")
        assert e.value.status_code == 422 and "order is filled: it cannot be replaced" in str(e.value)
        assert len(_puts(fake)) == 1 and len(fake.orders) == 1
        assert fake.orders[1001]["status"] == "FILLED"


def test_the_fake_refuses_a_replace_of_a_canceled_order_with_schwabs_error(fake, tmp_path):
    b = _broker(fake, tmp_path)
    o = b.submit_order(_limit(10, 150.00, coid=ROOT))
    fake.orders[1001]["status"] = "CANCELED"
    with pytest.raises(OrderRejected) as e:
        b.replace_order(o.id, limit_price=150.05, client_order_id=ROOT + "-c1")
    assert e.value.status_code == 422 and "order is canceled" in str(e.value)
    assert _puts(fake) == []


def test_a_lost_201_is_unknown_then_found_by_its_fields_and_not_replaced_twice(fake, tmp_path):
    b = _broker(fake, tmp_path)
    o = b.submit_order(_limit(10, 150.00, coid=ROOT))
    fake.fill(1001, 3, 150.00)
    fake.inject("lost", method="PUT", path=f"/trader/v1/accounts/{ACCOUNT_HASH}/orders/1001")
    with pytest.raises(BrokerUnavailable):
        b.replace_order(o.id, limit_price=150.05, client_order_id=ROOT + "-c1")
    assert len(_puts(fake)) == 1 and fake.orders[1001]["status"] == "REPLACED"  # done, the reply lost
    found = b.get_order_by_client_id(ROOT + "-c1")
    assert found is not None
    # ids: 1001 the order, 1002 taken by the fill's transaction, 1003 the replacement
    assert (found.id, found.client_order_id, found.qty, found.limit_price) == ("1003", ROOT + "-c1", 7.0, 150.05)
    again = b.replace_order(o.id, limit_price=150.05, client_order_id=ROOT + "-c1")
    assert again.id == "1003" and len(_puts(fake)) == 1 and len(fake.orders) == 2


def test_a_lost_201_is_found_by_a_new_adapter_from_the_journaled_intent(fake, tmp_path):
    b = _broker(fake, tmp_path)
    o = b.submit_order(_limit(10, 150.00, coid=ROOT))
    fake.inject("lost", method="PUT", path=f"/trader/v1/accounts/{ACCOUNT_HASH}/orders/1001")
    with pytest.raises(BrokerUnavailable):
        b.replace_order(o.id, limit_price=150.05, client_order_id=ROOT + "-c1")
    b2 = _broker(fake, tmp_path)  # a later run: only the journal's intents
    intent = b._intents[ROOT + "-c1"]
    b2.remember_intent(ROOT, {**_intent(10, 150.00), "submitted_at": intent.entered_at.isoformat()}, order_id="1001")
    b2.remember_intent(ROOT + "-c1", {**_intent(10, 150.05), "submitted_at": intent.entered_at.isoformat()})
    again = b2.replace_order("1001", limit_price=150.05, client_order_id=ROOT + "-c1")
    assert (again.id, again.client_order_id) == ("1002", ROOT + "-c1")
    assert len(_puts(fake)) == 1 and len(fake.orders) == 2


def _intent(qty, price) -> dict:
    return {"symbol": "AAPL", "side": "buy", "qty": qty, "limit_price": price, "order_type": "limit"}


def test_a_5xx_on_the_replace_is_unknown_and_nothing_was_replaced(fake, tmp_path):
    b = _broker(fake, tmp_path)
    o = b.submit_order(_limit(10, 150.00, coid=ROOT))
    fake.inject("503", method="PUT", path=f"/trader/v1/accounts/{ACCOUNT_HASH}/orders/1001")
    with pytest.raises(BrokerUnavailable):
        b.replace_order(o.id, limit_price=150.05, client_order_id=ROOT + "-c1")
    assert b.get_order_by_client_id(ROOT + "-c1") is None  # not created: safe to send again
    assert fake.orders[1001]["status"] == "WORKING"
    new = b.replace_order(o.id, limit_price=150.05, client_order_id=ROOT + "-c1")
    assert (new.id, new.qty, new.limit_price) == ("1002", 10.0, 150.05) and len(_puts(fake)) == 2


# --------------------------------------------------------------------------- the chase itself


_now = session_now  # the fake's clock (tests/session_now.py)


@pytest.mark.parametrize("lose_first_reply", [False, True])
def test_the_chase_moves_a_schwab_limit_twice_then_stops(tmp_path, lose_first_reply):
    """Through the engine: one AAPL buy of 10 at 150.00 submitted, then ``enforce_timeouts``
    (what ``xlexec status --enforce-timeouts`` runs) at later minutes, a new adapter each run;
    also with the first move's 201 lost."""
    from xlexec.config import config_from_dict
    from xlexec.execution import engine as S
    from xlexec.execution import status as ST
    from xlexec.execution.brokers.schwab import SchwabBroker
    from xlexec.formats.trades import parse_trades_text
    from xlexec.steps.context import Context

    with FakeSchwab(clock=_now) as fake:
        tp = tmp_path / "token.json"
        _token(tp)
        day = _now().astimezone(ZoneInfo("America/New_York")).date().isoformat()
        trades = (
            f"# Date: {day}\n# Kill Switch: ACTIVE\n# Safety Checks: PASSED\n"
            "symbol,side,shares,price,notional,weight_change,commission_est,slippage_est,total_cost_est\n"
            "AAPL,buy,10,150.00,1500.00,0.015,0.15,0.30,0.45\n"
        )
        ex = {
            "require_human_approval": False,
            "broker": "schwab",
            "order_timeout_minutes": 120,
            "price_collar_pct": None,
            "request_timeout_seconds": 3,
            "schwab": {"account_number": ACCOUNT_NUMBER, "paper": False, "base_url": fake.url},
            "chase": {"enabled": True, "step": 0.05, "minutes": 15, "max_moves": 2},
        }
        cfg = config_from_dict({"live_dir": str(tmp_path / "live"), "execution": ex})
        t0 = dt.datetime.now(dt.UTC)
        ctx = Context(cfg, user="tester", fixed_now=t0)

        def broker() -> SchwabBroker:
            return SchwabBroker("KEY", "SECRET", str(tp), account_number=ACCOUNT_NUMBER, base_url=fake.url, now=_now)

        def run(minutes):
            b = broker()
            try:
                return ST.enforce_timeouts(ctx, day, b, t0 + dt.timedelta(minutes=minutes))
            finally:
                b.close()

        b = broker()
        try:
            r = S.submit_batch(ctx, parse_trades_text(trades), broker=b, quotes=None, allow_closed=True, live=True)
        finally:
            b.close()
        assert r.exit_code == 0 and len(fake.orders) == 1
        b = broker()
        try:
            [root] = list(ST.refresh_status(ctx, day, b)["client_order_id"])
        finally:
            b.close()
        assert run(10).empty  # too early
        if lose_first_reply:  # the first move's 201 lost: found by its fields, not sent again
            fake.inject("lost", method="PUT", path=f"/trader/v1/accounts/{ACCOUNT_HASH}/orders/1001")
        a1 = run(16)
        assert list(a1["action"]) == ["chase"] and "limit 150 -> 150.05 for 10 remaining" in a1["note"].iloc[0]
        assert len(_puts(fake)) == 1 and fake.orders[1001]["status"] == "REPLACED"
        assert [f["times"] for f in fake.faults] == ([0] if lose_first_reply else [])
        assert run(20).empty and len(_puts(fake)) == 1  # the replacement is younger than 15 minutes
        a2 = run(32)
        assert list(a2["action"]) == ["chase"] and "limit 150.05 -> 150.1 for 10 remaining" in a2["note"].iloc[0]
        assert run(60).empty  # max_moves 2
        assert [(i, o["status"], o["quantity"], o["price"]) for i, o in fake.orders.items()] == [
            (1001, "REPLACED", 10, 150.0),
            (1002, "REPLACED", 10, 150.05),
            (1003, "WORKING", 10, 150.1),
        ]
        assert len(_puts(fake)) == 2
        b = broker()
        try:
            st = ST.refresh_status(ctx, day, b).set_index("client_order_id")
        finally:
            b.close()
        assert list(st.loc[[root, root + "-c1", root + "-c2"], "status"]) == ["replaced", "replaced", "new"]
        assert st.loc[root + "-c2", "remaining"] == 10
