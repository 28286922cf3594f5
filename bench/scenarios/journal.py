"""Scenario: the journal on both backends, side by side in one run: PostgreSQL (the shared
journal, ``journal: postgresql://...``) as the measured side, SQLite (``live/journal.sqlite``,
the default) as the baseline.

Each side, in its own subprocess: ``size`` single appends (one transaction each: dedupe, chain
link, commit), ``size`` appends in batches of 100 (``append_many``, one transaction a batch),
and a 200-order :func:`~xlexec.execution.engine.submit_batch` to the loopback fake Alpaca
server (no latency, no rate limit: what is left is xlexec's own cost, the journal included).
``seconds`` is the three together; the details give appends per second and the submit's time.
The PostgreSQL server is the tests' throwaway one (``tests/pg_server.py``: local Unix socket,
``fsync=off``), started before and stopped after the timed runs; a production server with
``fsync`` on and a network hop pays a commit round trip more per transaction.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from ..harness import Timer, fake_alpaca_class, fake_class

NAME = "journal"
TITLE = "journal: {size:,} appends single and batched + a 200-order submit, PostgreSQL vs SQLite"
UNIT = "appends"
FULL_SIZE = 2_000
BATCH = 100
N_ORDERS = 200
TARGET = "reported side by side (no target): appends/s single and batched, 200-order submit seconds"
SIDES = ("xlexec", "baseline")
WARMUP = {}
MAX_REPEAT = {"xlexec": 3, "baseline": 3}
GEN_VERSION = 1
BASELINE = "the SQLite journal (live/journal.sqlite)"


def prepare(root: Path, size: int) -> None:
    from ..data import make_book, write_trades_file

    write_trades_file(make_book(N_ORDERS, seed=37, anomalies=False), root / "trades.csv")


def setup(root: Path, size: int, side: str):

    import pandas as pd

    from xlexec.formats.trades import read_trades

    state = {"root": root, "size": size, "n": 0, "tmp": Path(tempfile.mkdtemp(prefix="xlexec-bench-journal-"))}
    if side == "xlexec":
        # tests/pg_server.py by path: a package named ``tests`` installed by some dependency
        # would shadow ``tests.pg_server``
        PgServer, find_bindir = fake_class("pg_server", "PgServer"), fake_class("pg_server", "find_bindir")

        bindir = find_bindir()
        if bindir is None:
            raise RuntimeError("no PostgreSQL server binary (initdb, pg_ctl, postgres)")
        state["server"] = PgServer(bindir).start()
    trades = read_trades(root / "trades.csv")
    state["trades"] = trades
    state["quotes"] = pd.DataFrame({"symbol": trades.df["symbol"].to_numpy(), "mid": trades.df["price"].to_numpy()})
    return state


def teardown(state, side: str) -> None:
    import shutil

    if "server" in state:
        state["server"].stop()
    shutil.rmtree(state["tmp"], ignore_errors=True)


def _journal_spec(state, side: str, live: Path) -> str:
    if side == "xlexec":
        server = state["server"]
        return server.url(server.new_database())
    return "sqlite"


def run(state, side: str):
    from xlexec.store.journal import FILL, INTENT, use_journal

    state["n"] += 1
    n, live = state["size"], state["tmp"] / f"live-{state['n']}"
    spec = _journal_spec(state, side, live)
    use_journal(live, spec)
    from xlexec.store.journal import open_journal

    payload = {"symbol": "AAPL", "side": "buy", "qty": 100, "limit_price": 150.25, "note": "x" * 200}
    with open_journal(live) as j:
        with Timer() as t1:
            for i in range(n):
                j.append(INTENT, f"coid-{i}", dict(payload, i=i), day="2025-10-30", actor="bench")
        with Timer() as t2:
            for b in range(0, n, BATCH):
                j.append_many(
                    FILL, [(f"fill-{i}", dict(payload, i=i)) for i in range(b, min(n, b + BATCH))], day="2025-10-30"
                )
        ok = j.verify().ok
    sub = _submit(state, spec)
    use_journal(live, None)
    return t1.seconds + t2.seconds + sub["seconds"], {
        "backend": "postgresql" if side == "xlexec" else "sqlite",
        "single_appends_per_s": round(n / t1.seconds, 1),
        "batched_appends_per_s": round(n / t2.seconds, 1),
        "submit_200_seconds": round(sub["seconds"], 4),
        "submit_sent": sub["sent"],
        "submit_first_refusal": sub["why"],
        "chain_ok": ok,
    }


def _submit(state, spec: str) -> dict:
    import os

    from xlexec.config import config_from_dict
    from xlexec.execution.brokers.alpaca import AlpacaBroker
    from xlexec.execution.engine import submit_batch
    from xlexec.steps.context import Context

    live = state["tmp"] / f"submit-{state['n']}"
    spec = _journal_spec(state, "xlexec", live) if spec != "sqlite" else spec  # a fresh journal
    key, secret = "PK_BENCH_FAKE_KEY_0000", "benchFakeSecret000000000000000000"
    os.environ["XLEXEC_BENCH_ALPACA_KEY"], os.environ["XLEXEC_BENCH_ALPACA_SECRET"] = key, secret
    import datetime as dt

    day_open = dt.datetime(2025, 10, 30, 14, 0, tzinfo=dt.UTC)  # the fake broker's clock: the file's day, 10:00 NY
    fake = fake_alpaca_class()(
        now=day_open, latency=0.0, rate_limit_per_min=10**9, max_lifetime=900, buying_power=1e12
    ).start()
    try:
        ex = {
            "broker": "alpaca",
            "require_human_approval": False,
            "rate_limit_per_min": 10**6,
            "max_daily_trades": 1_000_000,
            "max_order_size_usd": 1e12,
            "price_collar_pct": None,  # the quotes here carry no time; the collar is not what is measured
            "alpaca": {
                "api_key": "${XLEXEC_BENCH_ALPACA_KEY}",
                "api_secret": "${XLEXEC_BENCH_ALPACA_SECRET}",
                "paper": True,
                "base_url": fake.url,
            },
        }
        cfg = config_from_dict({"live_dir": str(live), "journal": spec, "execution": ex})
        ctx = Context(cfg, user="bench")
        broker = AlpacaBroker.from_config(cfg)
        with Timer() as t:
            res = submit_batch(ctx, state["trades"], broker=broker, quotes=state["quotes"], allow_closed=True)
        ctx.close()
    finally:
        fake.stop()
    why = (res.to_json().get("not_at_broker") or [""])[0]
    return {"seconds": t.seconds, "sent": res.sent + res.already_sent, "why": why}


def judge(row) -> bool:
    d = row["details"]
    return bool(d.get("chain_ok")) and d.get("submit_sent") == N_ORDERS


def note(row) -> str:
    d = row["details"]
    b = {k.removeprefix("baseline_"): v for k, v in d.items() if k.startswith("baseline_")}
    return (
        f"PostgreSQL: {d['single_appends_per_s']:,.0f} appends/s single, {d['batched_appends_per_s']:,.0f}/s "
        f"batched, 200-order submit {d['submit_200_seconds']:.2f} s; SQLite: "
        f"{b.get('single_appends_per_s', 0):,.0f}/s single, {b.get('batched_appends_per_s', 0):,.0f}/s batched, "
        f"submit {b.get('submit_200_seconds', 0):.2f} s"
    )
