"""Scenario 5: submit 200 orders to the loopback fake Alpaca server (50 ms latency per request,
600 requests/min sliding-window limit). Target: within 10% of the rate-limit bound
(N / rate = 200 / 600 per min = 20 s), 0 duplicates, 0 surfaced 429s.

* xlexec: :func:`xlexec.execution.engine.submit_batch` with :meth:`AlpacaBroker.from_config`
  (``execution.rate_limit_per_min: 600``, the real alpaca-py client underneath): clock and
  account checks, pre-trade limits, intent journaled before each request, requests paced
  evenly under the limit and sent from ``max_concurrency`` threads, every reply journaled,
  ``execution_log.csv`` written. ``require_human_approval`` is off here (the approval check is
  a local file lookup, not part of what is measured).
* baseline: the guide's loop, ``for _, trade in trades_df.iterrows():
  api.submit_order(...)`` with alpaca-py's ``TradingClient`` (its defaults: no timeout, its own
  429 retries; no client order id, so a retry could duplicate), without the prints.

Each run gets a fresh server and a fresh ``live/`` folder; only the submission is timed.
Note that the sequential loop can beat the bound here: 200 requests fit in the server's
600-per-60-s window, so nothing forces it to slow down; it is not paced, so a batch larger
than the window (or an account shared with other clients) would hit 429s.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from ..harness import Timer, fake_alpaca_class

NAME = "submit"
TITLE = "submit {size:,} orders to the fake Alpaca (50 ms latency, 600/min)"
UNIT = "orders"
FULL_SIZE = 200
RATE_PER_MIN = 600
LATENCY = 0.05
TARGET = "<= 1.1 x N/rate (N/10 s); 0 duplicates; 0 surfaced 429s"
SIDES = ("xlexec", "baseline")
WARMUP = {}
MAX_REPEAT = {"xlexec": 2, "baseline": 2}
GEN_VERSION = 1
BASELINE = "guide's sequential submit_order loop (alpaca-py)"
KEY, SECRET = "PK_BENCH_FAKE_KEY_0000", "benchFakeSecret000000000000000000"


def prepare(root: Path, size: int) -> None:
    import pandas as pd

    from xlexec.core.trades import Trades, TradesHeader
    from xlexec.formats.trades import write_trades

    from ..data import make_book

    book = make_book(size, seed=31, anomalies=False)
    df = book.trades.copy()
    df.index = pd.RangeIndex(2, 2 + len(df), name="row")
    write_trades(Trades(df, TradesHeader(dict(book.header)), "trades.csv"), root / "trades.csv")


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
        "max_daily_trades": 1_000_000,
        "max_order_size_usd": 1e12,
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
    FakeAlpaca = fake_alpaca_class()
    return FakeAlpaca(latency=LATENCY, rate_limit_per_min=RATE_PER_MIN, max_lifetime=900, buying_power=1e12).start()


def run(state, side: str):
    state["n"] += 1
    n = state["size"]
    bound = n / RATE_PER_MIN * 60.0
    fake = _server()
    try:
        if side == "xlexec":
            from xlexec.execution.engine import submit_batch

            ctx, broker = broker_ctx(state["tmp"] / f"live-{state['n']}", fake.url)
            with Timer() as t:
                res = submit_batch(ctx, state["trades"], broker=broker, quotes=state["quotes"])
            ctx.close()
            surfaced = int(res.unknown + res.refused)
            sent_ok = res.sent + res.already_sent
        else:
            import pandas as pd
            from alpaca.trading.client import TradingClient
            from alpaca.trading.enums import OrderSide, TimeInForce
            from alpaca.trading.requests import LimitOrderRequest

            trades_df = pd.read_csv(state["root"] / "trades.csv", comment="#")
            api = TradingClient(KEY, SECRET, paper=True, url_override=fake.url)
            orders, failed = [], 0
            with Timer() as t:
                for _, trade in trades_df.iterrows():
                    try:
                        order = api.submit_order(
                            LimitOrderRequest(
                                symbol=trade["symbol"],
                                qty=trade["shares"],
                                side=OrderSide(trade["side"]),
                                time_in_force=TimeInForce.DAY,
                                limit_price=round(trade["price"], 2),
                            )
                        )
                        orders.append(order)
                    except Exception:  # noqa: BLE001 - the guide prints and goes on
                        failed += 1
            surfaced = failed
            sent_ok = len(orders)
        coids = [o["client_order_id"] for o in fake.orders.values()]
        at_broker = len(coids)
        by_sym = {}
        for o in fake.orders.values():
            by_sym[(o["symbol"], o["side"])] = by_sym.get((o["symbol"], o["side"]), 0) + 1
        dups = sum(c - 1 for c in by_sym.values() if c > 1)
        n429 = sum(1 for r in fake.requests() if r.get("status") == 429)
        posts = len(fake.requests("POST", "/v2/orders"))
    finally:
        fake.stop()
    return t.seconds, {
        "bound_seconds": bound,
        "vs_bound": round(t.seconds / bound, 4),
        "orders_at_broker": at_broker,
        "accepted": sent_ok,
        "duplicates": dups,
        "surfaced_errors": surfaced,
        "server_429s": n429,
        "order_posts": posts,
        "distinct_client_order_ids": len(set(coids)),
    }


def judge(row) -> bool:
    d = row["details"]
    return (
        row["seconds"] <= 1.1 * d["bound_seconds"]
        and d["duplicates"] == 0
        and d["surfaced_errors"] == 0
        and d["orders_at_broker"] == row["size"]
    )


def note(row) -> str:
    d = row["details"]
    return (
        f"bound N/rate {d['bound_seconds']:.1f} s: xlexec {d['vs_bound']:.2f}x, guide loop "
        f"{d['baseline_vs_bound']:.2f}x; duplicates {d['duplicates']}, surfaced errors "
        f"{d['surfaced_errors']}, 429s from the server {d['server_429s']}"
    )
