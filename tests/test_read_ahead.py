"""The reads before the first order (xlexec.execution.read_ahead): on a thread-safe adapter the
clock, the account and the day's orders travel together (one round trip, not three), the clock
is read once, and each read's fault still stops the batch at its own guard with its own
message, nothing sent. The real alpaca-py client against the loopback fake."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from conftest import GUIDE_TRADES  # noqa: E402
from fake_alpaca import FakeAlpaca  # noqa: E402
from test_submit import make_ctx  # noqa: E402
from xlexec.errors import BrokerError  # noqa: E402
from xlexec.execution import engine as S  # noqa: E402
from xlexec.execution.brokers.alpaca import AlpacaBroker  # noqa: E402
from xlexec.execution.read_ahead import ReadAhead  # noqa: E402
from xlexec.formats.trades import parse_trades_text  # noqa: E402
from xlexec.steps.context import Context  # noqa: E402

KEY, SECRET = "PKREADAHEADKEY01", "readAheadSECRET0000000000000000"
T_DAY = dt.datetime(2025, 10, 30, 14, 0, tzinfo=dt.UTC)  # 10:00 New York on the file's day
LATENCY = 0.25


def ctx_of(tmp_path) -> Context:
    return make_ctx(tmp_path, max_concurrency=3, price_collar_pct=None)


def broker_of(fake) -> AlpacaBroker:
    return AlpacaBroker(KEY, SECRET, base_url=fake.url, timeout=5.0)


def reads_before_the_orders(fake) -> list[dict]:
    log = fake.requests()
    first_post = next((i for i, r in enumerate(log) if r["method"] == "POST"), len(log))
    return log[:first_post]


def test_the_three_reads_travel_together_and_the_clock_is_read_once(tmp_path):
    with FakeAlpaca(now=T_DAY, latency=LATENCY, max_lifetime=60) as fake:
        r = S.submit_batch(
            ctx_of(tmp_path), parse_trades_text(GUIDE_TRADES, "trades.csv"), broker=broker_of(fake), quotes=None
        )
        assert (r.sent, r.exit_code) == (3, 0)
        before = reads_before_the_orders(fake)
        assert sorted(x["path"] for x in before) == ["/v2/account", "/v2/clock", "/v2/orders"]
        arrived = [x["received"] for x in before]
        # together: all three arrive within a fraction of one round trip (in sequence they
        # would be a full LATENCY apart each)
        assert max(arrived) - min(arrived) < LATENCY / 2, arrived
        posts = [x["received"] for x in fake.requests("POST", "/v2/orders")]
        assert min(posts) >= max(arrived) + LATENCY * 0.9  # no order before every read was answered


@pytest.mark.parametrize(
    ("path", "says"),
    [
        ("/v2/clock", "broker unreachable before sending anything"),
        ("/v2/account", "broker unreachable before sending anything"),
        ("/v2/orders", "broker unreachable (listing the day's orders)"),
    ],
)
def test_a_read_that_fails_stops_the_batch_at_its_own_guard_nothing_sent(tmp_path, path, says):
    with FakeAlpaca(now=T_DAY, max_lifetime=60) as fake:
        fake.inject("500", method="GET", path=path, times=50)
        ctx = ctx_of(tmp_path)
        with pytest.raises(BrokerError, match=f"^\\[PAPER[^]]*\\] {says.replace('(', '.').replace(')', '.')}"):
            S.submit_batch(ctx, parse_trades_text(GUIDE_TRADES, "trades.csv"), broker=broker_of(fake), quotes=None)
        assert fake.requests("POST") == [] and fake.orders == {}


class _Recording:
    """A broker that is not thread-safe and records what it is asked, in order (a stand-in for
    the paper simulator's or schwab-py's single client)."""

    thread_safe = False
    name = "recording"

    def __init__(self):
        self.asked: list[str] = []

    def clock(self):
        self.asked.append("clock")
        return "the clock"

    def account(self):
        self.asked.append("account")
        raise ConnectionError("account down")

    def list_orders(self, status, after=None):
        self.asked.append(f"orders {status}")
        return []


def test_an_adapter_that_is_not_thread_safe_is_asked_in_sequence_each_read_once():
    b = _Recording()
    with ReadAhead(b, "2025-10-30") as reads:
        assert b.asked == []  # nothing asked on entry
        assert reads.clock() == "the clock" and reads.clock() == "the clock"
        assert b.asked == ["clock"]
        for _ in range(2):  # the fault is kept and raised to each asker, the read not repeated
            with pytest.raises(ConnectionError, match="account down"):
                reads.account()
        assert reads.day_orders(b, "2025-10-30") == []
        assert b.asked == ["clock", "account", "orders all"]
        assert reads.name == "recording"  # the rest is the broker's own


def test_a_thread_safe_adapter_is_asked_all_three_on_entry():
    b = _Recording()
    b.thread_safe = True
    with ReadAhead(b, "2025-10-30") as reads:
        pass  # the guards refused before reading: the reads asked on entry end with the block
    assert sorted(b.asked) == ["account", "clock", "orders all"]
    with pytest.raises(ConnectionError):
        reads.account()
