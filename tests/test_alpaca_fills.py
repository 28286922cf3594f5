"""Alpaca fills as the Trading API publishes them, through the real alpaca-py client against the
loopback fake (tests/fake_alpaca.py), which serves ``GET /v2/account/activities/FILL`` in the
documented shape (docs.alpaca.markets/us/docs/account-activities, "Sample TradeActivity"): no
``account_id``, no ``order_status`` in the first record. Also notional orders, zero prices and
the missing-key message. Expected values are worked out by hand.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import requests
import yaml

sys.path.insert(0, str(Path(__file__).parent))

from fake_alpaca import FakeAlpaca  # noqa: E402
from xlexec.errors import ConfigError  # noqa: E402
from xlexec.execution.brokers.alpaca import AlpacaBroker  # noqa: E402
from xlexec.execution.brokers.base import BrokerUnavailable  # noqa: E402
from xlexec.formats.fills import fills_from_broker  # noqa: E402

KEY, SECRET = "PK_FAKE_KEY_0123456789", "fakeSECRETabcdefghijklmnop0123456789"
ROOT = Path(__file__).resolve().parents[1]
DAY = "2025-10-30"
# the documented Trading API FILL record's fields (the docs' sample, in its order)
DOCUMENTED = [
    "activity_type",
    "cum_qty",
    "id",
    "leaves_qty",
    "price",
    "qty",
    "side",
    "symbol",
    "transaction_time",
    "order_id",
    "type",
]


@pytest.fixture
def fake():
    with FakeAlpaca(max_lifetime=60) as f:
        yield f


@pytest.fixture
def broker(fake):
    b = AlpacaBroker(KEY, SECRET, base_url=fake.url, timeout=2)
    yield b
    b.close()


def _at(hh: int, mm: int):
    import datetime as dt

    return dt.datetime(2025, 10, 30, hh, mm, tzinfo=dt.UTC)


def _served(fake) -> list[dict]:
    r = requests.get(f"{fake.url}/v2/account/activities/FILL", params={"date": DAY, "direction": "asc"}, timeout=5)
    return r.json()


def test_the_fake_serves_the_documented_fill_shape(broker, fake):
    fake.seed_order("c1", "AAPL", "buy", 10, 100.50)
    fake.fill("c1", 6, 100.20, _at(13, 31))
    fake.fill("c1", 4, 100.30, _at(13, 32))
    recs = _served(fake)
    assert list(recs[0]) == DOCUMENTED  # no account_id, no order_status
    assert list(recs[1]) == [*DOCUMENTED, "order_status"] and recs[1]["order_status"] == "filled"
    fills = broker.fills(DAY)
    assert [(f.symbol, f.side, f.qty, f.price, f.order_id) for f in fills] == [
        ("AAPL", "buy", 6.0, 100.2, recs[0]["order_id"]),
        ("AAPL", "buy", 4.0, 100.3, recs[0]["order_id"]),
    ]
    assert fills[0].id == recs[0]["id"] and fills[0].transaction_time == "2025-10-30T13:31:00Z"
    df = fills_from_broker(fills, DAY)
    assert list(df["shares"]) == [6.0, 4.0] and list(df["fill_time_ny"]) == [
        "2025-10-30T09:31:00-04:00",
        "2025-10-30T09:32:00-04:00",
    ]


def test_pages_follow_the_page_token_and_a_stuck_page_is_refused(broker, fake):
    fake.add_fill_activities(230, DAY)  # 100 + 100 + 30
    fills = broker.fills(DAY)
    assert len({f.id for f in fills}) == 230
    gets = fake.requests("GET", "/v2/account/activities/FILL")
    assert len(gets) == 3
    served = fake._activities  # a server that ignores page_token: page 1 again and again

    def ignoring_token(q):
        return served({k: v for k, v in q.items() if k != "page_token"})

    fake._activities = ignoring_token
    with pytest.raises(BrokerUnavailable, match="paging stuck"):
        broker.fills(DAY)


def test_a_fill_without_a_documented_field_is_a_malformed_reply(broker, fake):
    fake.seed_order("c1", "AAPL", "buy", 10, 100.50)
    fake.fill("c1", 10, 100.20, _at(14, 0))
    del fake.activities[0]["price"]
    with pytest.raises(BrokerUnavailable, match=r"record 1: malformed reply from the broker \(FILL without price\)"):
        broker.fills(DAY)


def _order_json(fake, **over) -> str:
    o = fake.seed_order("n1", "AAPL", "buy", 1, None)
    o.update(over)
    return o["id"]


def test_a_notional_order_keeps_its_notional_and_zero_prices_are_no_price(broker, fake):
    # Alpaca's order object for a notional (dollar) order: qty null, notional set
    # (docs.alpaca.markets/us/docs/orders-at-alpaca, fractional / notional orders)
    oid = _order_json(fake, qty=None, notional="500", filled_avg_price="0", status="accepted")
    o = broker.get_order(oid)
    assert o.notional == 500.0 and o.qty == 0.0 and o.filled_avg_price is None
    assert o.is_open and o.remaining == 0.0  # nothing to chase by share count
    fake.orders[oid].update(filled_qty="0.8", filled_avg_price="250.0", status="partially_filled")
    o2 = broker.get_order(oid)
    assert (o2.qty, o2.filled_qty, o2.filled_avg_price, o2.notional) == (0.8, 0.8, 250.0, 500.0)
    fake.orders[oid].update(qty="3", notional=None, filled_qty="0", filled_avg_price=None, status="new")
    o3 = broker.get_order(oid)
    assert (o3.qty, o3.notional, o3.filled_avg_price) == (3.0, None, None)


def test_missing_keys_name_the_variable_config_yaml_uses():
    secret_ref = yaml.safe_load((ROOT / "config.yaml").read_text())["execution"]["alpaca"]["api_secret"]
    with pytest.raises(ConfigError) as e:
        AlpacaBroker("", "")
    assert secret_ref in str(e.value) and "${ALPACA_API_SECRET}" not in str(e.value)
