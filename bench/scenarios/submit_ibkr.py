"""Scenario: submit 200 orders to the loopback fake TWS (``tests/fake_tws.py``, driven by the
real ib_async; 50 ms latency per message), against the pacing bound.

* TWS accepts at most 50 messages a second from an API client; the adapter sends every request
  through its pacer (50 in any 1 s window, refilled at ``execution.rate_limit_per_min``: set here
  to 3,000/min, TWS's own 50/s, as an IBKR desk would; the config's default 200/min is a
  token-bucket limit below TWS's) over one connection, one request at a time (ib_async's event
  loop on the adapter's one thread; the engine's sending threads queue for it), and waits for
  each order's permId and status before the next.
* bound: ``max(R x latency / 1, R / 50 per s)`` with ``R`` the messages the fake TWS received
  (the handshake, the start-up requests ib_async sends on connecting, one placeOrder per order,
  the clock and account checks): each message handled after ``latency`` on the one connection
  (concurrency 1), or TWS's 50 messages/s, whichever is longer.
* xlexec: :func:`xlexec.execution.engine.submit_batch` with :meth:`IbkrBroker.from_config`
  (a paper ``DU...`` account): clock and account checks, pre-trade limits, intent journaled
  before each order, every reply journaled, ``execution_log.csv`` written.

Target: xlexec <= 1.3 x the bound; 0 duplicates (orders at the fake counted per ``orderRef``);
every order at the broker. No baseline side: the bound is the physical limit. The fake TWS's
clock is on :data:`bench.data.DAY` (a session, 10:00 New York, moving with the real clock) and
the trades file is of that day, so the scenario runs on any day: submit takes today's session
from the broker's clock.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

from ..harness import Timer, fake_class

NAME = "submit_ibkr"
TITLE = "submit {size:,} orders to the fake TWS (50 ms latency per message, 50/s paced, one connection)"
UNIT = "orders"
FULL_SIZE = 200
LATENCY = 0.05  # seconds per message at the fake TWS
MESSAGES_PER_SECOND = 50  # TWS's API limit (IBKR's TWS API documentation)
CONNECTIONS = 1  # the adapter's one connection, one request at a time
RATE_PER_MIN = MESSAGES_PER_SECOND * 60
ACCOUNT = "DU1234567"
LIMIT = 1.3
BOUND = "max(R x latency / 1 connection, R / (50 per s)), R = messages the fake TWS received"
TARGET = "<= 1.3x the pacing bound; 0 duplicates; every order at the broker"
SIDES = ("xlexec",)
WARMUP: dict = {}
MAX_REPEAT = {"xlexec": 1}
GEN_VERSION = 1
BASELINE = ""


def _fake_class():
    return fake_class("fake_tws", "FakeTWS")


def _fake_clock():
    """10:00 New York on :data:`bench.data.DAY`, moving with the real clock."""
    from zoneinfo import ZoneInfo

    from ..data import DAY

    t0 = dt.datetime.combine(dt.date.fromisoformat(DAY), dt.time(10, 0), ZoneInfo("America/New_York"))
    start = dt.datetime.now(dt.UTC)
    return lambda: t0 + (dt.datetime.now(dt.UTC) - start)


def prepare(root: Path, size: int) -> None:
    from ..data import make_book, write_trades_file

    write_trades_file(make_book(size, seed=41, anomalies=False), root / "trades.csv")


def setup(root: Path, size: int, side: str):
    import pandas as pd

    from xlexec.formats.trades import read_trades

    trades = read_trades(root / "trades.csv")
    quotes = pd.DataFrame({"symbol": trades.df["symbol"].to_numpy(), "mid": trades.df["price"].to_numpy()})
    return {"size": size, "trades": trades, "quotes": quotes, "n": 0}


def _ctx_broker(live: Path, port: int):
    from xlexec.config import config_from_dict
    from xlexec.execution.brokers.ibkr import IbkrBroker
    from xlexec.steps.context import Context

    ex = {
        "broker": "ibkr",
        "require_human_approval": False,
        "rate_limit_per_min": RATE_PER_MIN,
        "max_daily_trades": 1_000_000,
        "max_order_size_usd": 1e12,
        "price_collar_pct": None,
        "ibkr": {"port": port, "client_id": 7, "account_id": ACCOUNT},
    }
    cfg = config_from_dict({"live_dir": str(live), "execution": ex})
    return Context(cfg, user="bench"), IbkrBroker.from_config(cfg)


def bound_seconds_for(messages: int) -> float:
    """The pacing bound of ``messages`` messages: ``LATENCY`` s each on ``CONNECTIONS``
    connection(s), or TWS's ``MESSAGES_PER_SECOND``, whichever is longer."""
    return max(messages * LATENCY / CONNECTIONS, messages / MESSAGES_PER_SECOND)


def run(state, side: str):
    import shutil

    from xlexec.execution.engine import submit_batch

    state["n"] += 1
    tmp = Path(tempfile.mkdtemp(prefix="xlexec-bench-ibkr-"))
    fake = _fake_class()(accounts=(ACCOUNT,), cash=1e12, now=_fake_clock(), latency=LATENCY).start()
    try:
        ctx, broker = _ctx_broker(tmp / "live", fake.port)
        try:
            with Timer() as t:
                res = submit_batch(ctx, state["trades"], broker=broker, quotes=state["quotes"], allow_closed=True)
        finally:
            broker.close()
            ctx.close()
        orders = fake.orders
        messages, placed = fake.messages, fake.place_count
    finally:
        fake.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    per_ref: dict[str, int] = {}
    for o in orders:
        per_ref[o["order_ref"]] = per_ref.get(o["order_ref"], 0) + 1
    bound = bound_seconds_for(messages)
    return t.seconds, {
        "end_to_end_seconds": round(t.seconds, 4),
        "bound_seconds": round(bound, 4),
        "messages": messages,
        "place_orders": placed,
        "orders_at_broker": len(orders),
        "order_refs": len(per_ref),
        "duplicates": sum(c - 1 for c in per_ref.values() if c > 1),
        "sent": res.sent,
        "surfaced_errors": int(res.unknown + res.refused),
    }


def judge(row) -> bool:
    d = row["details"]
    return (
        row["seconds"] <= LIMIT * d["bound_seconds"]
        and d["duplicates"] == 0
        and d["surfaced_errors"] == 0
        and d["orders_at_broker"] == d["order_refs"] == row["size"]
    )


def note(row) -> str:
    d = row["details"]
    return (
        f"fake TWS, {LATENCY * 1000:.0f} ms per message, one connection (ib_async, one request at a time); "
        f"pacing bound {d['bound_seconds']:.2f} s = max(R x {LATENCY:g} s, R / {MESSAGES_PER_SECOND} per s) "
        f"for the R = {d['messages']} messages the fake received ({d['place_orders']} placeOrder): "
        f"xlexec {row['seconds'] / d['bound_seconds']:.2f}x (target <= {LIMIT:g}x); "
        f"orders at the broker {d['orders_at_broker']} ({d['order_refs']} orderRefs), "
        f"duplicates {d['duplicates']}, surfaced errors {d['surfaced_errors']}"
    )
