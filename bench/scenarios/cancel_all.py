"""Scenario 6: cancel-all with 200 open orders against the same fake Alpaca server (50 ms latency,
600/min). Target: one cancel request, < 1 s end to end.

* xlexec: :func:`xlexec.execution.killswitch.cancel_all` (the Kill Switch button / ``xlexec cancel-all``):
  writes ``live/KILL_SWITCH``, sends ONE ``DELETE /v2/orders``, lists open orders to verify
  none is left, builds the incident report (account, positions and the day's P&L, open orders,
  what was cancelled), journals it. Requests paced at 600/min as in submission.
* baseline: the guide-style loop: list the open orders, then ``cancel_order_by_id`` for each
  (alpaca-py ``TradingClient``), 201 requests.

Each run gets a fresh server with 200 open orders placed directly (not timed).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from ..harness import Timer
from .submit import KEY, SECRET, _server, broker_ctx

NAME = "cancel_all"
TITLE = "cancel-all with {size:,} open orders (fake Alpaca, 50 ms latency, 600/min)"
UNIT = "open orders"
FULL_SIZE = 200
TARGET = "1 cancel request; < 1 s end to end"
SIDES = ("xlexec", "baseline")
WARMUP = {}
MAX_REPEAT = {"baseline": 2}
GEN_VERSION = 1
BASELINE = "guide-style loop: cancel_order_by_id per open order"


def prepare(root: Path, size: int) -> None:
    from ..harness import tickers

    (root / "symbols.txt").write_text("\n".join(tickers(size, seed=41)) + "\n")


def setup(root: Path, size: int, side: str):
    syms = (root / "symbols.txt").read_text().split()
    return {"symbols": syms, "tmp": Path(tempfile.mkdtemp(prefix="xlexec-bench-cancel-")), "n": 0}


def teardown(state, side: str) -> None:
    import shutil

    shutil.rmtree(state["tmp"], ignore_errors=True)


def run(state, side: str):
    state["n"] += 1
    fake = _server()
    try:
        for i, s in enumerate(state["symbols"]):
            fake.seed_order(f"xlx-bench-{s}-buy", s, "buy", 100.0, limit_price=10.0 + i / 100)
        if side == "xlexec":
            from xlexec.execution.killswitch import cancel_all

            ctx, broker = broker_ctx(state["tmp"] / f"live-{state['n']}", fake.url)
            with Timer() as t:
                out = cancel_all(ctx, broker, reason="benchmark")
            ctx.close()
            cancelled, ok = len(out["cancelled"]), bool(out["ok"])
        else:
            from alpaca.trading.client import TradingClient
            from alpaca.trading.enums import QueryOrderStatus
            from alpaca.trading.requests import GetOrdersRequest

            api = TradingClient(KEY, SECRET, paper=True, url_override=fake.url)
            cancelled = 0
            with Timer() as t:
                for o in api.get_orders(GetOrdersRequest(status=QueryOrderStatus.OPEN, limit=500)):
                    api.cancel_order_by_id(o.id)
                    cancelled += 1
            ok = True
        still_open = sum(1 for o in fake.orders.values() if o["status"] not in ("canceled",))
        reqs = fake.requests()
        delete_all = sum(1 for r in reqs if r["method"] == "DELETE" and r["path"] == "/v2/orders")
        delete_one = sum(1 for r in reqs if r["method"] == "DELETE" and r["path"].startswith("/v2/orders/"))
    finally:
        fake.stop()
    return t.seconds, {
        "cancelled": cancelled,
        "still_open": still_open,
        "ok": ok,
        "cancel_all_requests": delete_all,
        "cancel_one_requests": delete_one,
        "requests": len(reqs),
    }


def judge(row) -> bool:
    d = row["details"]
    return (
        row["seconds"] < 1.0
        and d["cancel_all_requests"] == 1
        and d["cancel_one_requests"] == 0
        and d["still_open"] == 0
    )


def note(row) -> str:
    d = row["details"]
    return (
        f"{d['cancel_all_requests']} cancel-all request, {d['cancel_one_requests']} single cancels, "
        f"{d['requests']} requests in all, {d['still_open']} left open; guide loop "
        f"{d['baseline_requests']} requests"
    )
