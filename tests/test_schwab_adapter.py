"""The Schwab adapter against a loopback fake of the Trader API, through the real schwab-py client."""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from fake_schwab import ACCOUNT_HASH, ACCOUNT_NUMBER, FakeSchwab  # noqa: E402
from xlexec.errors import ConfigError
from xlexec.execution.brokers.base import BrokerUnavailable, OrderRejected, OrderRequest
from xlexec.execution.brokers.schwab import SchwabBroker
from xlexec.execution.brokers.schwab_match import AmbiguousOrderMatch


def _token(path, *, expired: bool = False) -> None:
    now = int(time.time())
    tok = {
        "access_token": "access-0",
        "refresh_token": "refresh-1",
        "token_type": "Bearer",
        "expires_in": 1800,
        "scope": "api",
        "expires_at": now - 10 if expired else now + 1800,
    }
    path.write_text(json.dumps({"creation_timestamp": now, "token": tok}))


@pytest.fixture
def fake():
    with FakeSchwab() as f:
        yield f


def _broker(fake, tmp_path, **kw) -> SchwabBroker:
    tp = tmp_path / "token.json"
    if not tp.exists():
        _token(tp, expired=kw.pop("expired", False))
    return SchwabBroker(
        "KEY", "SECRET", str(tp), account_number=ACCOUNT_NUMBER, base_url=fake.url, sleep=lambda s: None, **kw
    )


def _limit(qty=10, price=101.25, side="buy", coid="c1", symbol="AAPL"):
    return OrderRequest(symbol=symbol, side=side, qty=qty, limit_price=price, client_order_id=coid)


def test_submit_sends_the_order_json_and_reads_the_id_from_location(fake, tmp_path):
    b = _broker(fake, tmp_path)
    o = b.submit_order(_limit())
    [post] = fake.requests("POST", "/orders")
    body = post["body"]
    assert post["path"] == f"/trader/v1/accounts/{ACCOUNT_HASH}/orders"
    assert body["orderType"] == "LIMIT" and body["session"] == "NORMAL" and body["duration"] == "DAY"
    assert body["price"] == "101.25"
    assert body["orderLegCollection"][0]["instruction"] == "BUY"
    assert body["orderLegCollection"][0]["quantity"] == 10
    assert o.id == "1001" and o.client_order_id == "c1" and o.status == "new"
    assert (o.symbol, o.side, o.qty, o.limit_price) == ("AAPL", "buy", 10.0, 101.25)


def test_market_sell(fake, tmp_path):
    b = _broker(fake, tmp_path)
    o = b.submit_order(OrderRequest(symbol="MSFT", side="sell", qty=3, order_type="market", client_order_id="m"))
    body = fake.requests("POST", "/orders")[0]["body"]
    assert body["orderType"] == "MARKET" and "price" not in body
    assert body["orderLegCollection"][0]["instruction"] == "SELL"
    assert (o.order_type, o.side, o.limit_price) == ("market", "sell", None)


def test_429_with_retry_after_is_retried_once_and_one_order_exists(fake, tmp_path):
    waits = []
    tp = tmp_path / "token.json"
    _token(tp)
    b = SchwabBroker("KEY", "SECRET", str(tp), account_number=ACCOUNT_NUMBER, base_url=fake.url, sleep=waits.append)
    fake.inject("429", path=f"/trader/v1/accounts/{ACCOUNT_HASH}/orders", retry_after=2)
    b.submit_order(_limit())
    assert waits == [2.0]
    assert len(fake.orders) == 1
    assert len(fake.requests("POST", "/orders")) == 2


def test_5xx_is_an_unknown_outcome_and_lookup_by_fields_finds_nothing(fake, tmp_path):
    b = _broker(fake, tmp_path)
    fake.inject("503", path=f"/trader/v1/accounts/{ACCOUNT_HASH}/orders")
    with pytest.raises(BrokerUnavailable, match="HTTP 503"):
        b.submit_order(_limit())
    assert fake.orders == {}
    assert b.get_order_by_client_id("c1") is None  # not created: safe to send again


def test_lost_201_is_found_by_its_fields(fake, tmp_path):
    b = _broker(fake, tmp_path)
    fake.inject("lost", path=f"/trader/v1/accounts/{ACCOUNT_HASH}/orders")
    with pytest.raises(BrokerUnavailable):
        b.submit_order(_limit())
    assert len(fake.orders) == 1  # created, the reply lost
    [oid] = fake.orders
    o = b.get_order_by_client_id("c1")
    assert o is not None and o.id == str(oid) and o.client_order_id == "c1"


def test_lost_201_with_a_twin_order_is_ambiguous_never_resolved_by_guess(fake, tmp_path):
    b = _broker(fake, tmp_path)
    fake.seed_order("AAPL", "BUY", 10, 101.25)  # the same order entered by hand in the same minutes
    fake.inject("lost", path=f"/trader/v1/accounts/{ACCOUNT_HASH}/orders")
    with pytest.raises(BrokerUnavailable):
        b.submit_order(_limit())
    with pytest.raises(AmbiguousOrderMatch, match="2 Schwab orders fit") as e:
        b.get_order_by_client_id("c1")
    assert sorted(e.value.order_ids) == sorted(str(i) for i in fake.orders)


def test_an_order_of_another_price_or_before_the_intent_is_not_a_match(fake, tmp_path):
    b = _broker(fake, tmp_path)
    fake.seed_order("AAPL", "BUY", 10, 101.30)
    fake.seed_order("AAPL", "BUY", 10, 101.25, entered=dt.datetime.now(dt.UTC) - dt.timedelta(hours=2))
    fake.seed_order("AAPL", "SELL", 10, 101.25)
    fake.seed_order("AAPL", "BUY", 11, 101.25)
    fake.inject("503", path=f"/trader/v1/accounts/{ACCOUNT_HASH}/orders")
    with pytest.raises(BrokerUnavailable):
        b.submit_order(_limit())
    assert b.get_order_by_client_id("c1") is None


def test_two_identical_rows_each_claim_their_own_order(fake, tmp_path):
    b = _broker(fake, tmp_path)
    first = b.submit_order(_limit(coid="a"))
    fake.inject("lost", path=f"/trader/v1/accounts/{ACCOUNT_HASH}/orders")
    with pytest.raises(BrokerUnavailable):
        b.submit_order(_limit(coid="b"))
    o = b.get_order_by_client_id("b")
    assert o is not None and o.id != first.id


def test_expired_access_token_is_refreshed_before_the_request(fake, tmp_path):
    b = _broker(fake, tmp_path, expired=True)
    b.submit_order(_limit())
    assert fake.refreshes == 1
    saved = json.loads((tmp_path / "token.json").read_text())
    assert saved["token"]["access_token"] == "access-1"  # written back for the next run


def test_401_refreshes_once_and_resends(fake, tmp_path):
    b = _broker(fake, tmp_path)
    fake.inject("expire_token", path=f"/trader/v1/accounts/{ACCOUNT_HASH}/orders")
    b.submit_order(_limit())
    assert fake.refreshes == 1 and b.stats["refreshes_401"] == 1
    assert len(fake.orders) == 1


def test_rejection_is_definitive(fake, tmp_path):
    b = _broker(fake, tmp_path)
    with pytest.raises(OrderRejected, match="not supported"):
        b.submit_order(OrderRequest(symbol="AAPL", side="buy", qty=1, order_type="stop", client_order_id="s"))
    assert fake.requests("POST", "/orders") == []


def test_fills_positions_account_cancel_all(fake, tmp_path):
    b = _broker(fake, tmp_path)
    o1 = b.submit_order(_limit(coid="a"))
    o2 = b.submit_order(_limit(coid="b", symbol="MSFT", qty=5, price=400.0))
    fake.fill(int(o1.id), 4, 101.20, fee=0.5)
    fake.fill(int(o1.id), 6, 101.25)
    fills = b.fills(dt.datetime.now(dt.timezone(dt.timedelta(hours=-5))).date().isoformat())
    assert [(f.order_id, f.qty, f.price, f.side) for f in fills] == [
        (o1.id, 4.0, 101.20, "buy"),
        (o1.id, 6.0, 101.25, "buy"),
    ]
    assert fills[0].commission == 0.5
    [p] = b.positions()
    assert (p.symbol, p.qty) == ("AAPL", 10.0)
    a = b.account()
    assert a.account_number == ACCOUNT_NUMBER
    assert a.cash == pytest.approx(100_000 - 4 * 101.20 - 0.5 - 6 * 101.25)
    assert b.get_order(o1.id).status == "filled"
    assert b.cancel_all() == [o2.id]
    assert fake.orders[int(o2.id)]["status"] == "CANCELED"
    assert b.list_orders("open") == []


def test_td_explains_the_move_to_schwab():
    from xlexec.config import Config
    from xlexec.execution.brokers import get_broker

    cfg = Config.model_validate({"execution": {"broker": "td"}})
    with pytest.raises(ConfigError, match="execution.broker: schwab"):
        get_broker(cfg)


def test_schwab_with_paper_true_refuses():
    from xlexec.config import Config
    from xlexec.execution.brokers import get_broker

    cfg = Config.model_validate({"execution": {"broker": "schwab"}})
    with pytest.raises(ConfigError, match="no paper trading"):
        get_broker(cfg)


def test_base_url_other_than_schwab_or_loopback_refused(tmp_path):
    with pytest.raises(ConfigError, match="only a loopback"):
        SchwabBroker("K", "S", str(tmp_path / "t.json"), base_url="https://evil.example.com")


def test_a_later_run_finds_the_lost_order_from_the_journaled_intent(fake, tmp_path):
    sent_at = dt.datetime.now(dt.UTC).isoformat()
    first = _broker(fake, tmp_path)
    fake.inject("lost", path=f"/trader/v1/accounts/{ACCOUNT_HASH}/orders")
    with pytest.raises(BrokerUnavailable):
        first.submit_order(_limit(coid="c9"))
    [oid] = fake.orders
    later = _broker(fake, tmp_path)  # a new process: nothing in memory
    with pytest.raises(Exception, match="no intent of it is known"):
        later.get_order_by_client_id("c9")
    intent = {"symbol": "AAPL", "side": "buy", "qty": 10.0, "order_type": "limit", "limit_price": 101.25}
    later.remember_intent("c9", {**intent, "submitted_at": sent_at})
    o = later.get_order_by_client_id("c9")
    assert o is not None and o.id == str(oid)


def test_an_order_journaled_for_one_row_is_never_matched_to_its_twin(fake, tmp_path):
    sent_at = dt.datetime.now(dt.UTC).isoformat()
    b = _broker(fake, tmp_path)
    a = b.submit_order(_limit(coid="a"))
    later = _broker(fake, tmp_path)
    intent = {"symbol": "AAPL", "side": "buy", "qty": 10, "order_type": "limit", "limit_price": 101.25}
    later.remember_intent("a", {**intent, "submitted_at": sent_at}, order_id=a.id)
    later.remember_intent("b", {**intent, "submitted_at": sent_at})  # its send never reached Schwab
    assert later.get_order_by_client_id("b") is None
    assert later.get_order_by_client_id("a").id == a.id
