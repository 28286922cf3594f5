"""AlpacaBroker (real alpaca-py client) against the loopback fake Alpaca server; the pacer."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from fake_alpaca import FakeAlpaca  # noqa: E402
from xlexec.config import config_from_dict  # noqa: E402
from xlexec.errors import ConfigError  # noqa: E402
from xlexec.execution.brokers.alpaca import LIVE_URL, AlpacaBroker  # noqa: E402
from xlexec.execution.brokers.base import (
    BrokerUnavailable,
    DuplicateClientOrderId,
    OrderRejected,  # noqa: E402
    OrderRequest,
)
from xlexec.execution.ratelimit import RateLimiter  # noqa: E402

KEY, SECRET = "PK_FAKE_KEY_0123456789", "fakeSECRETabcdefghijklmnop0123456789"


@pytest.fixture
def fake():
    with FakeAlpaca(max_lifetime=60) as f:
        yield f


class Sleeps(list):
    def __call__(self, s):
        self.append(s)


@pytest.fixture
def sleeps():
    return Sleeps()


@pytest.fixture
def broker(fake, sleeps):
    b = AlpacaBroker(KEY, SECRET, base_url=fake.url, timeout=0.3, sleep=sleeps)
    yield b
    b.close()


def req(coid="c1", symbol="AAPL", side="buy", qty=100, limit=150.25):
    return OrderRequest(
        symbol=symbol,
        side=side,
        qty=qty,
        order_type="limit" if limit else "market",
        limit_price=limit,
        client_order_id=coid,
    )


def test_submit_then_lookup_by_client_id(broker, fake):
    o = broker.submit_order(req())
    assert (o.symbol, o.side, o.qty, o.order_type, o.limit_price, o.status) == (
        "AAPL",
        "buy",
        100.0,
        "limit",
        150.25,
        "new",
    )
    assert o.client_order_id == "c1" and o.id
    again = broker.get_order_by_client_id("c1")
    assert again.id == o.id
    assert broker.get_order_by_client_id("nope") is None  # 404 -> None
    assert broker.get_order(o.id).client_order_id == "c1"
    sent = fake.requests("POST", "/v2/orders")[0]
    assert sent["status"] == 200


def test_market_order_has_no_limit(broker):
    o = broker.submit_order(req(limit=None))
    assert o.order_type == "market" and o.limit_price is None


def test_limit_order_without_a_limit_price_is_refused_before_sending(broker, fake):
    bad = OrderRequest(symbol="AAPL", side="buy", qty=100, order_type="limit", limit_price=None, client_order_id="c9")
    with pytest.raises(OrderRejected) as e:
        broker.submit_order(bad)
    assert "without a limit price" in str(e.value)
    assert fake.requests("POST", "/v2/orders") == [] and fake.order_count() == 0


def test_duplicate_client_order_id_is_its_own_error(broker, fake):
    broker.submit_order(req())
    with pytest.raises(DuplicateClientOrderId):
        broker.submit_order(req())
    fake.inject("dup422")
    with pytest.raises(DuplicateClientOrderId):
        broker.submit_order(req("c2"))
    assert fake.order_count() == 1


def test_other_4xx_is_a_rejection_with_the_broker_reason(broker, fake):
    fake.inject("reject", status=403, message="insufficient buying power")
    with pytest.raises(OrderRejected) as e:
        broker.submit_order(req())
    assert "insufficient buying power" in str(e.value) and e.value.status_code == 403
    assert fake.order_count() == 0


@pytest.mark.parametrize(
    "kind,created", [("500", False), ("503", False), ("reset", False), ("lost", True), ("malformed", True)]
)
def test_unknown_outcomes_are_broker_unavailable(broker, fake, kind, created):
    fake.inject(kind)
    with pytest.raises(BrokerUnavailable):
        broker.submit_order(req())
    assert fake.order_count("c1") == (1 if created else 0)
    # the order can always be looked up afterwards
    assert (broker.get_order_by_client_id("c1") is not None) == created


def test_hang_is_cut_by_the_timeout(broker, fake):
    fake.inject("hang", seconds=5)
    with pytest.raises(BrokerUnavailable, match="timeout"):
        broker.submit_order(req())
    assert broker.clock().is_open  # the adapter still works


def test_429_honours_retry_after(broker, fake, sleeps):
    fake.inject("429", retry_after=0.25, times=2)
    o = broker.submit_order(req())
    assert o.status == "new"
    assert sleeps == [0.25, 0.25]
    assert broker.stats["retries_429"] == 2
    assert fake.order_count() == 1


def test_429_honours_x_ratelimit_reset(broker, fake, sleeps):
    fake.inject("429", retry_after=None, reset_in=2)
    broker.submit_order(req())
    assert len(sleeps) == 1 and 0.9 <= sleeps[0] <= 2.0


def test_429_without_headers_backs_off(broker, fake, sleeps):
    fake.inject("429", retry_after=None, times=2)
    broker.submit_order(req())
    assert sleeps == [0.5, 1.0]


def test_429_retries_are_bounded(fake, sleeps):
    b = AlpacaBroker(KEY, SECRET, base_url=fake.url, timeout=0.3, sleep=sleeps, max_429_retries=2)
    fake.inject("429", retry_after=0.1, times=10)
    with pytest.raises(BrokerUnavailable, match="429"):
        b.submit_order(req())
    assert len(sleeps) == 2 and fake.order_count() == 0


def test_429_holds_off_the_shared_limiter(fake):
    t = [0.0]
    slept = []
    lim = RateLimiter(6000, clock=lambda: t[0], sleep=lambda s: slept.append(s))
    b = AlpacaBroker(KEY, SECRET, base_url=fake.url, timeout=0.3, limiter=lim)
    fake.inject("429", retry_after=3)
    b.submit_order(req())
    assert slept == [3.0]  # the retry waited through the limiter (every thread waits)


def test_fills_are_paginated_beyond_500(broker, fake):
    fake.add_fill_activities(620, "2025-10-30")
    fake.add_fill_activities(3, "2025-10-29", symbol="QQQ")
    fills = broker.fills("2025-10-30")
    assert len(fills) == 620 and len({f.id for f in fills}) == 620
    assert {f.symbol for f in fills} == {"SPY"}
    assert fills[0].price == 10.0 and fills[-1].price == pytest.approx(16.19)
    assert len(fake.requests("GET", "/v2/account/activities/FILL")) == 7  # 6 full pages of 100 + 1


def test_list_orders_is_paginated_beyond_500(broker, fake):
    for i in range(620):
        fake.seed_order(f"s{i}", "AAPL", "buy", 1, 100.0)
    orders = broker.list_orders("all")
    assert len(orders) == 620 and len({o.client_order_id for o in orders}) == 620
    assert len(broker.list_orders("open")) == 620


def test_cancel_all_is_one_request(broker, fake):
    for i in range(3):
        broker.submit_order(req(f"c{i}", limit=100.0 + i))
    fake.fill_modes["MSFT"] = "fill"
    broker.submit_order(req("m", symbol="MSFT", side="buy", qty=5, limit=300.0))
    ids = broker.cancel_all()
    assert len(ids) == 3
    assert len(fake.requests("DELETE", "/v2/orders")) == 1
    assert broker.list_orders("open") == []
    assert {o.status for o in broker.list_orders("all")} == {"canceled", "filled"}


def test_cancel_one_and_not_cancelable(broker):
    o = broker.submit_order(req())
    broker.cancel_order(o.id)
    assert broker.get_order(o.id).status == "canceled"
    with pytest.raises(OrderRejected):
        broker.cancel_order(o.id)


def test_positions_account_clock(fake):
    with FakeAlpaca(
        positions={"AAPL": (10, 150.0)}, prices={"AAPL": 151.5}, buying_power=25_000.0, is_open=False, max_lifetime=30
    ) as f:
        b = AlpacaBroker(KEY, SECRET, base_url=f.url, timeout=0.5)
        (p,) = b.positions()
        assert (p.symbol, p.qty, p.avg_entry_price, p.current_price, p.market_value) == (
            "AAPL",
            10.0,
            150.0,
            151.5,
            1515.0,
        )
        a = b.account()
        assert a.buying_power == 25_000.0 and a.status == "ACTIVE" and not a.trading_blocked
        assert b.clock().is_open is False


def test_partial_fill_is_reported(broker, fake):
    fake.fill_modes["AAPL"] = 0.4
    o = broker.submit_order(req())
    assert (o.status, o.filled_qty, o.filled_avg_price, o.remaining) == ("partially_filled", 40.0, 150.25, 60.0)
    fake.fill("c1", 60, 150.20)
    o = broker.get_order_by_client_id("c1")
    assert o.status == "filled" and o.filled_qty == 100 and o.filled_avg_price == pytest.approx(150.22)


def test_secrets_never_in_messages(fake):
    b = AlpacaBroker(KEY, SECRET, base_url=fake.url, timeout=0.3)
    msgs = [repr(b)]
    for kind in ("500", "reset", "lost", "malformed", "dup422"):
        fake.inject(kind)
        try:
            b.submit_order(req(f"x{kind}"))
        except Exception as e:  # noqa: BLE001
            msgs.append(str(e))
    fake.inject("reject", message=f"echo {KEY} {SECRET}")
    with pytest.raises(OrderRejected) as e:
        b.submit_order(req("y"))
    msgs.append(str(e.value))
    text = "\n".join(msgs)
    assert KEY not in text and SECRET not in text
    assert "***" in msgs[-1]


def test_from_config(monkeypatch):
    monkeypatch.setenv("T_KEY", KEY)
    monkeypatch.setenv("T_SECRET", SECRET)
    base = {
        "execution": {
            "broker": "alpaca",
            "rate_limit_per_min": 120,
            "request_timeout_seconds": 4,
            "alpaca": {"api_key": "${T_KEY}", "api_secret": "${T_SECRET}", "base_url": "http://127.0.0.1:9"},
        }
    }
    b = AlpacaBroker.from_config(config_from_dict(base))
    assert b.paper and b.host == "127.0.0.1:9" and b.timeout == 4 and b.limiter.rate_per_min == 120
    live = {"execution": {"alpaca": {"api_key": "${T_KEY}", "api_secret": "${T_SECRET}", "paper": False}}}
    assert AlpacaBroker.from_config(config_from_dict(live)).base_url == LIVE_URL
    bad = {"execution": {"alpaca": {"api_key": "${T_KEY}", "api_secret": "${T_SECRET}", "base_url": LIVE_URL}}}
    with pytest.raises(ConfigError, match="LIVE"):
        AlpacaBroker.from_config(config_from_dict(bad))
    with pytest.raises(ConfigError, match="api_key"):
        AlpacaBroker.from_config(config_from_dict({"execution": {"alpaca": {"api_key": "${UNSET_XLX_VAR}"}}}))


# -- pacer ---------------------------------------------------------------------------------


def test_rate_limiter_spaces_requests_evenly():
    t = [100.0]
    lim = RateLimiter(600, clock=lambda: t[0])
    waits = [lim.reserve() for _ in range(4)]
    assert waits == pytest.approx([0.0, 0.1, 0.2, 0.3])
    t[0] += 10.0  # idle: the bucket refills to one token, no more
    assert lim.reserve() == 0.0
    assert lim.reserve() == pytest.approx(0.1)


def test_rate_limiter_burst_and_hold_off():
    t = [0.0]
    lim = RateLimiter(60, burst=3, clock=lambda: t[0])
    assert [lim.reserve() for _ in range(4)] == pytest.approx([0.0, 0.0, 0.0, 1.0])
    t[0] = 50.0
    lim.hold_off(5.0)
    assert lim.reserve() == pytest.approx(5.0)


def test_rate_limiter_is_thread_safe():
    import threading

    t = [0.0]
    lim = RateLimiter(6000, clock=lambda: t[0])
    waits = []
    lock = threading.Lock()

    def go():
        for _ in range(50):
            w = lim.reserve()
            with lock:
                waits.append(w)

    th = [threading.Thread(target=go) for _ in range(4)]
    [x.start() for x in th]
    [x.join() for x in th]
    assert sorted(round(w, 6) for w in waits) == [round(i * 0.01, 6) for i in range(200)]


def test_fake_server_rate_limit_answers_429(fake):
    with FakeAlpaca(rate_limit_per_min=2, rate_limit_retry_after=True, max_lifetime=30) as f:
        s = Sleeps()
        b = AlpacaBroker(KEY, SECRET, base_url=f.url, timeout=0.5, sleep=s, max_429_retries=0)
        b.clock()
        b.clock()
        with pytest.raises(BrokerUnavailable, match="429"):
            b.clock()
        (r,) = [x for x in f.log if x.get("status") == 429]
        assert r["path"] == "/v2/clock"


def test_timestamps_parse_as_iso(broker):
    o = broker.submit_order(req())
    assert dt.datetime.fromisoformat(o.submitted_at).tzinfo is not None
