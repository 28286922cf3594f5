"""kill -9 of a real submitting process at several points, then a rerun; two concurrent submits.

Each test runs on both journals: ``live/journal.sqlite`` and a shared PostgreSQL journal (a
fresh database of the session's throwaway server, tests/pg_server.py), where the two concurrent
submits run from two live folders (two machines) and only the database's day lock stops one.

The fake Alpaca server runs in this test process; the submitter is a separate Python process
(``python -c``) driving the real alpaca-py client. ``XLEXEC_CRASH_AT=<point>:<n>`` (a test hook
in :mod:`xlexec.execution.engine`) makes it SIGKILL itself the n-th time it reaches ``<point>``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from fake_alpaca import FakeAlpaca  # noqa: E402
from xlexec.core.orders import orders_from_trades  # noqa: E402
from xlexec.formats.trades import read_trades  # noqa: E402
from xlexec.store import journal as J  # noqa: E402

pytestmark = pytest.mark.skipif(os.name == "nt", reason="SIGKILL / fcntl")

DAY = "2025-10-30"
T_DAY = dt.datetime(2025, 10, 30, 14, 0, tzinfo=dt.UTC)  # the fake broker's clock: 10:00 New York on DAY
KEY, SECRET = "PKCRASHKEY", "crashSECRET0000000000"
SYMBOLS = [
    ("AAPL", 150.25),
    ("MSFT", 380.50),
    ("GOOGL", 142.80),
    ("AMZN", 224.20),
    ("NVDA", 201.30),
    ("JPM", 309.70),
    ("XOM", 115.30),
    ("KO", 68.90),
]

SCRIPT = r"""
import json, os, sys, time
from pathlib import Path
from xlexec.execution.brokers.alpaca import AlpacaBroker
from xlexec.config import config_from_dict
from xlexec.steps.context import Context
from xlexec.errors import LockedError
from xlexec.execution import engine as S
from xlexec.formats.trades import read_trades
S.LOOKUP_BACKOFF = (0.05, 0.1)
a = json.loads(sys.argv[1])
ctx = Context(config_from_dict(a["config"]), user="crashtest")
b = AlpacaBroker(a["key"], a["secret"], base_url=a["url"], timeout=1.0)
tr = read_trades(a["trades"])
if a.get("wait_for_lock"):
    lock = Path(a["wait_for_lock"])
    t0 = time.time()
    while time.time() - t0 < 20 and not (lock.exists() and lock.read_text().startswith("pid")):
        time.sleep(0.01)
try:
    r = S.submit_batch(ctx, tr, broker=b, quotes=None, allow_closed=True)
except LockedError as e:
    print(json.dumps({"locked": str(e)}))
    sys.exit(e.exit_code)
print(json.dumps({k: v for k, v in r.to_json().items() if k != "orders"}))
sys.exit(r.exit_code)
"""


def write_trades(path: Path) -> Path:
    lines = [
        f"# Date: {DAY}",
        "# Kill Switch: ACTIVE",
        "# Safety Checks: PASSED",  # submit refuses a header without it
        "symbol,side,shares,price,notional,weight_change,commission_est,slippage_est,total_cost_est",
    ]
    for i, (s, p) in enumerate(SYMBOLS):
        side = "buy" if i % 3 else "sell"
        sh = 10 + i
        lines.append(f"{s},{side},{sh},{p:.2f},{sh * p:.2f},{0.01 * (1 if side == 'buy' else -1):.4f},0,0,0")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def run(args: dict, crash: str | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "XLEXEC_CRASH_AT"}
    if crash:
        env["XLEXEC_CRASH_AT"] = crash
    return subprocess.run(
        [sys.executable, "-c", SCRIPT, json.dumps(args)],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=str(Path(__file__).parent.parent),
    )


def spawn(args: dict) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "XLEXEC_CRASH_AT"}
    return subprocess.Popen(
        [sys.executable, "-c", SCRIPT, json.dumps(args)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=str(Path(__file__).parent.parent),
    )


@pytest.fixture(params=["sqlite", "postgresql"])
def journal(request) -> str:
    """The config's ``journal``: ``sqlite``, or the URL of a fresh shared PostgreSQL journal."""
    if request.param == "sqlite":
        return "sqlite"
    server = request.getfixturevalue("pg_server")
    return server.url(server.new_database())


def setup(tmp_path, fake, journal: str, concurrency: int = 2, live: str = "live") -> tuple[dict, list[str]]:
    trades = write_trades(tmp_path / live / DAY / "trades.csv")
    cfg = {
        "live_dir": str(tmp_path / live),
        "journal": journal,
        "execution": {
            "broker": "alpaca",
            "require_human_approval": False,
            "price_collar_pct": None,
            "max_order_size_usd": 100000,
            "max_concurrency": concurrency,
            "rate_limit_per_min": 60000,
        },
    }
    plan_ids = orders_from_trades(read_trades(trades), date=DAY)["client_order_id"]
    # as sent: the fake's account (PA0000001) tagged after the date
    planned = sorted(c.replace(f"xlx-{DAY}-", f"xlx-{DAY}-a000001-") for c in plan_ids)
    return {"config": cfg, "key": KEY, "secret": SECRET, "url": fake.url, "trades": str(trades)}, planned


def assert_exactly_once(fake, planned):
    coids = sorted(o["client_order_id"] for o in fake.orders.values())
    assert coids == planned  # every approved order at the broker, none twice, nothing else


CRASHES = [
    ["before_intent:1"],
    ["before_intent:5"],
    ["after_intent_before_send:1"],
    ["after_intent_before_send:4"],
    ["after_send_before_response:1"],
    ["after_send_before_response:6"],
    ["after_send_before_response:2", "after_intent_before_send:2", "before_intent:3"],
]


@pytest.mark.parametrize("points", CRASHES, ids=["+".join(c) for c in CRASHES])
def test_kill_9_then_rerun_sends_each_order_exactly_once(tmp_path, points, journal):
    with FakeAlpaca(now=T_DAY, latency=0.01, max_lifetime=120) as fake:
        args, planned = setup(tmp_path, fake, journal)
        for point in points:
            p = run(args, crash=point)
            assert p.returncode == -signal.SIGKILL, (p.returncode, p.stdout, p.stderr[-2000:])
            coids = [o["client_order_id"] for o in fake.orders.values()]
            assert len(coids) == len(set(coids))  # never a duplicate, even mid-way
        p = run(args)
        assert p.returncode == 0, (p.stdout, p.stderr[-2000:])
        out = json.loads(p.stdout.strip().splitlines()[-1])
        assert out["unknown"] == 0 and out["refused"] == 0 and out["sent"] + out["already_sent"] == len(planned)
        assert_exactly_once(fake, planned)
        # the journal agrees: one intent per order, the latest snapshot of each at the broker
        J.use_journal(tmp_path / "live", journal)
        jr = J.Journal.for_live_dir(tmp_path / "live")
        try:
            assert sorted(p["client_order_id"] for p in jr.payloads(J.INTENT, DAY)) == planned
            assert sorted(jr.latest_orders(DAY)) == planned
            assert jr.verify().ok
        finally:
            jr.close()
            J.use_journal(tmp_path / "live", None)
        log = (tmp_path / "live" / DAY / "execution_log.csv").read_text().splitlines()
        assert len(log) == 1 + len(planned)
        # a further rerun sends nothing
        p = run(args)
        assert p.returncode == 0 and json.loads(p.stdout.strip().splitlines()[-1])["already_sent"] == len(planned)
        assert len(fake.requests("POST", "/v2/orders")) <= len(planned) + len(points)


def test_two_concurrent_submits_one_gets_locked_error(tmp_path, journal):
    with FakeAlpaca(now=T_DAY, latency=0.25, max_lifetime=120) as fake:
        args, planned = setup(tmp_path, fake, journal, concurrency=1)
        lock = tmp_path / "live" / DAY / ".xlexec.lock"
        if journal != "sqlite":  # the second operator on another machine: its own live folder
            args2, _ = setup(tmp_path, fake, journal, concurrency=1, live="live2")
        else:
            args2 = args
        second = spawn({**args2, "wait_for_lock": str(lock)})
        time.sleep(0.2)
        first = spawn(args)
        out1, err1 = first.communicate(timeout=60)
        out2, err2 = second.communicate(timeout=60)
        codes = sorted([first.returncode, second.returncode])
        assert codes == [0, 3], (out1, err1[-1500:], out2, err2[-1500:])
        locked = json.loads(out2.strip().splitlines()[-1])["locked"]
        assert f"locked by pid {first.pid}" in locked
        if journal != "sqlite":
            assert "the shared journal's day lock" in locked
        assert_exactly_once(fake, planned)
