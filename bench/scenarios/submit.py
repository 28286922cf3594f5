"""Scenario 5: submit 200 orders to the loopback fake Alpaca server (50 ms latency per request,
600 requests/min sliding-window limit), against the latency bound.

* bound: ``N × latency / concurrency`` = 200 × 0.05 s / 4 = 2.5 s: the batch fits in the
  server's window (600 per 60 s), so nothing but the round trips limits it; 4 requests in flight
  at once (``execution.max_concurrency: 4``). Computed, not measured (``bound_seconds``).
* xlexec: :func:`xlexec.execution.engine.submit_batch` with :meth:`AlpacaBroker.from_config`
  (``execution.rate_limit_per_min: 600``, ``rate_limit_burst`` unset: the whole window; the real
  alpaca-py client underneath): clock and account checks, pre-trade limits, intent journaled
  before each request, every reply journaled, ``execution_log.csv`` written.
  ``require_human_approval`` is off here (the approval check is a local file lookup, not part of
  what is measured).
* baseline: what a competent user writes instead: a 4-thread ``ThreadPoolExecutor`` over
  alpaca-py's ``TradingClient.submit_order`` with a deterministic client order id per order (so a
  retry cannot duplicate), alpaca-py's defaults otherwise (its own 429 retries, no timeout).

Target: xlexec ≤ 1.3 × the bound and no slower than the threaded loop; 0 duplicates, 0 surfaced
429s, every order at the broker. Each run gets a fresh server and a fresh ``live/`` folder; only
the submission is timed (the requests before the orders, clock/account/open orders, included).

Where the time goes, from the server's log (the fake runs in this process: one monotonic clock):
``first_order_request_seconds``, from the start of the timed call to the first order request
reaching the server (for xlexec its clock, account and open-orders requests, sent together, one
round trip, and the checks on their replies), and ``after_last_reply_seconds``, from the last
order's reply (its arrival + the latency) to the end of the call (xlexec: ``execution_log.csv``,
the result and its journal row). With the same concurrency a submit that must know the session
and the account before it sends takes one round trip more than the loop: N / concurrency + 1
round trips against N / concurrency.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from ..harness import Timer, fake_alpaca_class

NAME = "submit"
TITLE = "submit {size:,} orders to the fake Alpaca (50 ms latency, 600/min, 4 in flight)"
UNIT = "orders"
FULL_SIZE = 200
RATE_PER_MIN = 600
LATENCY = 0.05
CONCURRENCY = 4
LIMIT = 1.3
BOUND = "N x latency / concurrency (computed)"
TARGET = "<= 1.3x the bound (N x latency / concurrency); <= the threaded loop; 0 duplicates; 0 surfaced 429s"
SIDES = ("xlexec", "baseline")
WARMUP = {}
MAX_REPEAT = {"xlexec": 3, "baseline": 3}
GEN_VERSION = 1
BASELINE = "threaded alpaca-py loop (4 threads, client order ids)"
KEY, SECRET = "PK_BENCH_FAKE_KEY_0000", "benchFakeSecret000000000000000000"


def prepare(root: Path, size: int) -> None:
    from ..data import make_book, write_trades_file

    write_trades_file(make_book(size, seed=31, anomalies=False), root / "trades.csv")


def broker_ctx(live: Path, url: str, **execution):
    """A context and an :class:`AlpacaBroker` (from config) pointed at the fake server."""
    from xlexec.config import config_from_dict
    from xlexec.execution.brokers.alpaca import AlpacaBroker
    from xlexec.steps.context import Context

    os.environ["XLEXEC_BENCH_ALPACA_KEY"] = KEY
    os.environ["XLEXEC_BENCH_ALPACA_SECRET"] = SECRET
    ex = {
        "broker": "alpaca",
        "require_human_approval": False,
        "rate_limit_per_min": RATE_PER_MIN,
        "max_concurrency": CONCURRENCY,
        "max_daily_trades": 1_000_000,
        "max_order_size_usd": 1e12,
        "price_collar_pct": None,  # the quotes here carry no time; the collar is not what is measured
        "alpaca": {
            "api_key": "${XLEXEC_BENCH_ALPACA_KEY}",
            "api_secret": "${XLEXEC_BENCH_ALPACA_SECRET}",
            "paper": True,
            "base_url": url,
        },
        **execution,
    }
    cfg = config_from_dict({"live_dir": str(live), "execution": ex})
    return Context(cfg, user="bench"), AlpacaBroker.from_config(cfg)


def setup(root: Path, size: int, side: str):
    import pandas as pd

    from xlexec.formats.trades import read_trades

    trades = read_trades(root / "trades.csv")
    quotes = pd.DataFrame({"symbol": trades.df["symbol"].to_numpy(), "mid": trades.df["price"].to_numpy()})
    return {
        "root": root,
        "size": size,
        "trades": trades,
        "quotes": quotes,
        "tmp": Path(tempfile.mkdtemp(prefix="xlexec-bench-submit-")),
        "n": 0,
    }


def teardown(state, side: str) -> None:
    import shutil

    shutil.rmtree(state["tmp"], ignore_errors=True)


def _server():
    import datetime as dt

    FakeAlpaca = fake_alpaca_class()
    day_open = dt.datetime(2025, 10, 30, 14, 0, tzinfo=dt.UTC)  # the broker's clock: the file's day, 10:00 NY
    return FakeAlpaca(
        now=day_open, latency=LATENCY, rate_limit_per_min=RATE_PER_MIN, max_lifetime=900, buying_power=1e12
    ).start()


def _threaded_loop(trades_csv: Path, url: str):
    """The baseline: 4 threads over alpaca-py's ``submit_order``, one client order id per order."""
    from concurrent.futures import ThreadPoolExecutor

    import pandas as pd
    from alpaca.trading.client import TradingClient
    from alpaca.trading.enums import OrderSide, TimeInForce
    from alpaca.trading.requests import LimitOrderRequest

    trades_df = pd.read_csv(trades_csv, comment="#")
    api = TradingClient(KEY, SECRET, paper=True, url_override=url)

    def send(trade):
        try:
            return api.submit_order(
                LimitOrderRequest(
                    symbol=trade["symbol"],
                    qty=trade["shares"],
                    side=OrderSide(trade["side"]),
                    time_in_force=TimeInForce.DAY,
                    limit_price=round(trade["price"], 2),
                    client_order_id=f"bench-{trade['symbol']}-{trade['side']}",
                )
            )
        except Exception:  # noqa: BLE001 - counted as a surfaced error
            return None

    start = time.monotonic()
    with Timer() as t, ThreadPoolExecutor(max_workers=CONCURRENCY) as pool:
        orders = list(pool.map(send, [r for _, r in trades_df.iterrows()]))
    end = time.monotonic()
    return t.seconds, sum(o is not None for o in orders), sum(o is None for o in orders), (start, end)


def bound_seconds(size: int) -> float:
    """The latency bound: ``size`` round trips of ``LATENCY`` s, ``CONCURRENCY`` at a time."""
    return size * LATENCY / CONCURRENCY


def run(state, side: str):
    state["n"] += 1
    bound = bound_seconds(state["size"])
    fake = _server()
    try:
        if side == "xlexec":
            from xlexec.execution.engine import submit_batch

            ctx, broker = broker_ctx(state["tmp"] / f"live-{state['n']}", fake.url)
            start = time.monotonic()
            with Timer() as t:
                res = submit_batch(ctx, state["trades"], broker=broker, quotes=state["quotes"])
            span = (start, time.monotonic())
            ctx.close()
            seconds, surfaced, sent_ok = t.seconds, int(res.unknown + res.refused), res.sent + res.already_sent
        else:
            seconds, sent_ok, surfaced, span = _threaded_loop(state["root"] / "trades.csv", fake.url)
        sent_at = sorted(r["received"] for r in fake.requests("POST", "/v2/orders"))
        coids = [o["client_order_id"] for o in fake.orders.values()]
        by_sym: dict = {}
        for o in fake.orders.values():
            by_sym[(o["symbol"], o["side"])] = by_sym.get((o["symbol"], o["side"]), 0) + 1
        dups = sum(c - 1 for c in by_sym.values() if c > 1)
        n429 = sum(1 for r in fake.requests() if r.get("status") == 429)
        posts = len(fake.requests("POST", "/v2/orders"))
        requests = len(fake.requests())
    finally:
        fake.stop()
    return seconds, {
        "bound_seconds": bound,
        "vs_bound": round(seconds / bound, 4),
        "orders_at_broker": len(coids),
        "accepted": sent_ok,
        "duplicates": dups,
        "surfaced_errors": surfaced,
        "server_429s": n429,
        "order_posts": posts,
        "requests": requests,
        "distinct_client_order_ids": len(set(coids)),
        "first_order_request_seconds": round(sent_at[0] - span[0], 4) if sent_at else None,
        "after_last_reply_seconds": round(span[1] - (sent_at[-1] + LATENCY), 4) if sent_at else None,
    }


def judge(row) -> bool:
    d = row["details"]
    return (
        row["seconds"] <= LIMIT * d["bound_seconds"]
        and row["baseline_seconds"] is not None
        and row["seconds"] <= row["baseline_seconds"]
        and d["duplicates"] == 0
        and d["surfaced_errors"] == 0
        and d["server_429s"] == 0
        and d["orders_at_broker"] == row["size"]
    )


def note(row) -> str:
    d = row["details"]
    return (
        f"bound N x latency / concurrency {d['bound_seconds']:.2f} s: xlexec {d['vs_bound']:.2f}x, threaded "
        f"alpaca-py loop {d['baseline_vs_bound']:.2f}x (target <= {LIMIT:g}x and <= the loop); "
        f"{d['requests']} requests; duplicates {d['duplicates']}, surfaced errors {d['surfaced_errors']}, "
        f"429s from the server {d['server_429s']} (loop: {d['baseline_server_429s']}); first order request "
        f"after {_s(d.get('first_order_request_seconds'))} (loop {_s(d.get('baseline_first_order_request_seconds'))}), "
        f"end {_s(d.get('after_last_reply_seconds'))} after the last reply "
        f"(loop {_s(d.get('baseline_after_last_reply_seconds'))})"
    )


def _s(seconds: float | None) -> str:
    return "n/a" if seconds is None else f"{seconds:.3f} s"
