"""Scenario: submit 200 orders to the loopback fake Schwab Trader API (50 ms latency per
request), against the pacing bound.

* Schwab allows 120 requests/min; the adapter paces every request (orders, their read-back, the
  checks before them) through a token bucket of ``execution.rate_limit_burst`` tokens (here the
  config's default: unset, so the whole minute's 120) refilled at 2/s, one request at a time
  (one schwab-py client: ``thread_safe = False``).
* bound: ``max(R x latency, (R - burst) / (120/60))`` with ``R`` the requests the fake server saw
  (each order is a POST plus the GET of its ``Location``; a few checks before): the round trips
  one at a time, or the bucket's refill once its burst is spent, whichever is longer.
* xlexec: :func:`xlexec.execution.engine.submit_batch` with :meth:`SchwabBroker.from_config`
  (the real schwab-py client, an OAuth token file): clock and account checks, pre-trade limits,
  intent journaled before each request, every reply journaled, ``execution_log.csv`` written.

Target: xlexec <= 1.3 x the bound; 0 duplicates; every order at the broker. No baseline side:
the bound is the physical limit. The trades file is dated today (New York): submit refuses a
file not of today's session, and Schwab's clock is the real one (run it on a weekday).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
import time
from pathlib import Path

from ..harness import Timer, fake_class

NAME = "submit_schwab"
TITLE = "submit {size:,} orders to the fake Schwab (50 ms latency, 120/min paced, 1 in flight)"
UNIT = "orders"
FULL_SIZE = 200
RATE_PER_MIN = 120
LATENCY = 0.05
LIMIT = 1.3
BOUND = "max(R x latency, (R - burst) / (120/60 per s)), R = requests the server saw"
TARGET = "<= 1.3x the pacing bound; 0 duplicates; every order at the broker"
SIDES = ("xlexec",)
WARMUP: dict = {}
MAX_REPEAT = {"xlexec": 1}
GEN_VERSION = 1
BASELINE = ""


def _fake_class():
    return fake_class("fake_schwab", "FakeSchwab")


def _today() -> str:
    from zoneinfo import ZoneInfo

    return dt.datetime.now(ZoneInfo("America/New_York")).date().isoformat()


def prepare(root: Path, size: int) -> None:
    from ..data import make_book, write_trades_file

    write_trades_file(make_book(size, seed=37, anomalies=False), root / "trades.csv")


def setup(root: Path, size: int, side: str):
    import pandas as pd

    from xlexec.formats.trades import read_trades

    tmp = Path(tempfile.mkdtemp(prefix="xlexec-bench-schwab-"))
    text = (root / "trades.csv").read_text(encoding="utf-8").splitlines()
    dated = [f"# Date: {_today()}" if ln.startswith("# Date:") else ln for ln in text]
    (tmp / "trades.csv").write_text("\n".join(dated) + "\n", encoding="utf-8")
    trades = read_trades(tmp / "trades.csv")
    quotes = pd.DataFrame({"symbol": trades.df["symbol"].to_numpy(), "mid": trades.df["price"].to_numpy()})
    return {"size": size, "trades": trades, "quotes": quotes, "tmp": tmp, "n": 0}


def teardown(state, side: str) -> None:
    import shutil

    shutil.rmtree(state["tmp"], ignore_errors=True)


def _ctx_broker(tmp: Path, url: str):
    from xlexec.config import config_from_dict
    from xlexec.execution.brokers.schwab import SchwabBroker
    from xlexec.steps.context import Context

    ACCOUNT_NUMBER = fake_class("fake_schwab", "ACCOUNT_NUMBER")
    now = int(time.time())
    tok = {"access_token": "access-0", "refresh_token": "refresh-1", "token_type": "Bearer",
           "expires_in": 1800, "scope": "api", "expires_at": now + 1800}  # fmt: skip
    (tmp / "token.json").write_text(json.dumps({"creation_timestamp": now, "token": tok}))
    os.environ["XLEXEC_BENCH_SCHWAB_KEY"], os.environ["XLEXEC_BENCH_SCHWAB_SECRET"] = "KEY", "SECRET"
    ex = {
        "broker": "schwab",
        "require_human_approval": False,
        "rate_limit_per_min": RATE_PER_MIN,
        "max_daily_trades": 1_000_000,
        "max_order_size_usd": 1e12,
        "price_collar_pct": None,
        "schwab": {
            "app_key": "${XLEXEC_BENCH_SCHWAB_KEY}",
            "app_secret": "${XLEXEC_BENCH_SCHWAB_SECRET}",
            "token_path": str(tmp / "token.json"),
            "account_number": ACCOUNT_NUMBER,
            "paper": False,
            "base_url": url,
        },
    }
    cfg = config_from_dict({"live_dir": str(tmp / "live"), "execution": ex})
    return Context(cfg, user="bench"), SchwabBroker.from_config(cfg), cfg.execution


def bound_seconds_for(requests: int, burst: int) -> float:
    """The pacing bound of ``requests`` requests, one at a time, ``LATENCY`` s each, through a
    bucket of ``burst`` tokens refilled at ``RATE_PER_MIN``/60 per second."""
    return max(requests * LATENCY, max(0, requests - burst) / (RATE_PER_MIN / 60.0))


def run(state, side: str):
    from xlexec.execution.engine import submit_batch

    state["n"] += 1
    fake = _fake_class()(cash=1e12, latency=LATENCY).start()
    try:
        ctx, broker, ex = _ctx_broker(state["tmp"], fake.url)
        burst = RATE_PER_MIN if ex.rate_limit_burst is None else min(int(ex.rate_limit_burst), RATE_PER_MIN)
        try:
            with Timer() as t:
                res = submit_batch(
                    ctx, state["trades"], broker=broker, quotes=state["quotes"], live=True, allow_closed=True
                )
        finally:
            broker.close()
            ctx.close()
        legs: dict = {}
        for o in fake.orders.values():
            leg = o["orderLegCollection"][0]
            k = (leg["instrument"]["symbol"], leg["instruction"])
            legs[k] = legs.get(k, 0) + 1
        requests = len(fake.requests())
        posts = len(fake.requests("POST", "/orders"))
    finally:
        fake.stop()
    bound = bound_seconds_for(requests, burst)
    return t.seconds, {
        "end_to_end_seconds": round(t.seconds, 4),
        "bound_seconds": round(bound, 4),
        "burst": burst,
        "requests": requests,
        "order_posts": posts,
        "orders_at_broker": len(fake.orders),
        "duplicates": sum(c - 1 for c in legs.values() if c > 1),
        "sent": res.sent,
        "surfaced_errors": int(res.unknown + res.refused),
    }


def judge(row) -> bool:
    d = row["details"]
    return (
        row["seconds"] <= LIMIT * d["bound_seconds"]
        and d["duplicates"] == 0
        and d["surfaced_errors"] == 0
        and d["orders_at_broker"] == row["size"]
    )


def note(row) -> str:
    d = row["details"]
    return (
        f"pacing bound {d['bound_seconds']:.1f} s for {d['requests']} requests (burst {d['burst']}, 2/s after, "
        f"50 ms each): xlexec {row['seconds'] / d['bound_seconds']:.2f}x (target <= {LIMIT:g}x); "
        f"duplicates {d['duplicates']}, surfaced errors {d['surfaced_errors']}"
    )
