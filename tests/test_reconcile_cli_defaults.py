"""``xlexec reconcile`` as its ``--help`` says: without ``--date`` / ``--trades`` it reconciles
today's session from ``live/<today>/trades.csv``; a missing fills file names ``--from-broker``;
``--from-broker`` also compares the positions with the broker's (the paper broker and the
loopback fake Alpaca's ``GET /v2/positions``).

Every run is ``python -m xlexec`` in a subprocess started in a folder that is not the project,
with ``--config``; the broker's state is set up in the broker itself (the paper broker's own
database, the fake's positions). Expected figures are worked out by hand.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd

from tests import cli_fork
from tests.reliability import _support as U
from xlexec.execution.brokers.base import OrderRequest
from xlexec.execution.brokers.paper import PaperBroker

ROOT = str(Path(__file__).resolve().parents[1])
NY = ZoneInfo("America/New_York")
DAY = "2025-10-30"  # a Thursday
HEADER = "symbol,side,shares,price,notional,weight_change,commission_est,slippage_est,total_cost_est\n"
OPENING = "symbol,shares,avg_cost\nAAPL,100,90.00\n"


def xlexec(cwd: Path, *args: str, now: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "XLEXEC_NOW"}
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    if now:
        env["XLEXEC_NOW"] = now
    return cli_fork.run(
        [sys.executable, "-m", "xlexec", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def trades(day: str) -> str:
    head = f"# Date: {day}\n# Portfolio Value: $100,000.00\n" + HEADER
    return head + "AAPL,buy,10,100.50,1005.00,0.01,0.10,0.20,0.30\n"


def paper_desk(tmp_path: Path) -> tuple[Path, Path, Path]:
    root, elsewhere = tmp_path / "desk", tmp_path / "elsewhere"
    (root / "live" / DAY).mkdir(parents=True)
    elsewhere.mkdir()
    cfg = root / "config.yaml"
    cfg.write_text("live_dir: live\nexecution:\n  broker: paper\n")
    (root / "live" / "current_positions.csv").write_text(OPENING)
    (root / "live" / DAY / "trades.csv").write_text(trades(DAY))
    return cfg, root / "live", elsewhere


def paper_buy(live: Path) -> None:
    """At the paper broker itself: buy 10 AAPL at a 100.50 limit with the ask at 100.00 ->
    filled at 100.02 (2 bps slippage), commission 1 bp of 1,000.20 = 0.10."""
    q = pd.DataFrame({"symbol": ["AAPL"], "bid": [99.90], "ask": [100.00], "last": [99.95], "mid": [99.95]})
    seed = pd.DataFrame({"symbol": ["AAPL"], "shares": [100.0], "avg_cost": [90.0]})
    at = dt.datetime(2025, 10, 30, 10, 0, tzinfo=NY)
    b = PaperBroker(
        live / "paper_broker.sqlite",
        quotes=q,
        day=DAY,
        commission_bps=1,
        slippage_bps=2,
        seed_positions=seed,
        now_fn=lambda: at,
    )
    try:
        o = b.submit_order(OrderRequest("AAPL", "buy", 10, "limit", 100.50, client_order_id="manual-1"))
        assert o.status == "filled" and o.filled_avg_price == 100.02
    finally:
        b.close()


# ------------------------------------------------------------------ defaults


def test_no_date_no_trades_reconciles_todays_session(tmp_path):
    cfg, live, elsewhere = paper_desk(tmp_path)
    (live / DAY / "broker_fills.csv").write_text(
        "date,symbol,side,shares,price,commission,fill_time,order_id,client_order_id,fill_id\n"
        f"{DAY},AAPL,buy,10,100.20,0.10,10:00:00,o-1,,f1\n"
    )
    # 17:00 New York on the day: today is 2025-10-30, its trades.csv and broker_fills.csv are used
    r = xlexec(elsewhere, "reconcile", "--config", str(cfg), "--cash", "5000", now="2025-10-30T21:00:00+00:00")
    assert r.returncode == 0, r.stderr
    assert "Reconciliation Report - 2025-10-30" in r.stdout and "Fully Executed: 1 (100.0% of planned)" in r.stdout
    # cash 5,000 - 10 x 100.20 - 0.10 = 3,997.90; no broker cash given: not checked against one
    assert "Cash Balance: not checked (no broker cash) $3,997.90 (before $5,000.00)" in r.stdout
    assert (live / DAY / "positions_after_recon.csv").exists()
    # the next day (no trades file there yet): one line naming the file and the way out
    r2 = xlexec(elsewhere, "reconcile", "--config", str(cfg), now="2025-10-31T21:00:00+00:00")
    assert r2.returncode == 2
    assert r2.stderr.strip().splitlines()[-1] == (
        f"xlexec reconcile: error: {live / '2025-10-31' / 'trades.csv'}: trades file not found; pass --trades "
        "FILE, or --date YYYY-MM-DD for another day's live/DATE/trades.csv"
    )
    h = xlexec(elsewhere, "reconcile", "--help")
    assert "default: the --trades file's header date, else today in New York" in " ".join(h.stdout.split())


def test_missing_fills_file_names_from_broker(tmp_path):
    cfg, live, elsewhere = paper_desk(tmp_path)
    r = xlexec(elsewhere, "reconcile", "--config", str(cfg), "--date", DAY, now="2025-10-30T21:00:00+00:00")
    assert r.returncode == 2
    assert r.stderr.strip().splitlines()[-1] == (
        f"xlexec reconcile: error: {live / DAY / 'broker_fills.csv'}: fills file not found; pass --fills FILE, "
        "or --from-broker to pull the day's fills from the configured broker"
    )
    assert not (live / DAY / "reconciliation.json").exists()


# ------------------------------------------------------------------ --from-broker: positions too


def test_from_broker_compares_the_paper_brokers_positions(tmp_path):
    cfg, live, elsewhere = paper_desk(tmp_path)
    paper_buy(live)
    argv = ["reconcile", "--config", str(cfg), "--from-broker", "--json"]
    r = xlexec(elsewhere, *argv, now="2025-10-30T21:00:00+00:00")
    assert r.returncode == 0, r.stderr
    j = json.loads(r.stdout)
    # 100 + 10 = 110 AAPL on both sides
    assert j["positions_match"] is True and j["breaks"] == []
    # the broker's books change (a fill the day's download did not see): 108 at the broker
    with sqlite3.connect(live / "paper_broker.sqlite") as db:
        db.execute("UPDATE positions SET qty = 108 WHERE symbol = 'AAPL'")
    r2 = xlexec(elsewhere, *argv, now="2025-10-30T21:05:00+00:00")
    assert r2.returncode == 1, r2.stderr
    j2 = json.loads(r2.stdout)
    assert j2["positions_match"] is False
    assert [(b["symbol"], b["kind"], b["planned"], b["executed"]) for b in j2["breaks"]] == [
        ("AAPL", "position_mismatch", 110, 108)
    ]
    text = xlexec(elsewhere, "reconcile", "--config", str(cfg), "--from-broker", now="2025-10-30T21:06:00+00:00")
    assert "Position Matches: \u274c" in text.stdout
    # a past day: the broker's positions are today's, not that day's: not compared
    r3 = xlexec(elsewhere, *argv, "--date", DAY, now="2025-10-31T21:00:00+00:00")
    assert r3.returncode == 0, r3.stderr
    assert json.loads(r3.stdout)["positions_match"] is None


def test_from_broker_compares_the_fake_alpacas_positions(tmp_path):
    today = dt.datetime.now(NY).date().isoformat()
    root, elsewhere = tmp_path / "desk", tmp_path / "elsewhere"
    live = root / "live"
    (live / today).mkdir(parents=True)
    elsewhere.mkdir()
    (live / "current_positions.csv").write_text(OPENING)
    (live / today / "trades.csv").write_text(trades(today))
    with U.FakeAlpaca(positions={"AAPL": (100, 90.0)}, max_lifetime=120) as fake:
        cfg = U.alpaca_config(root, fake.url, require_human_approval=False)
        fake.seed_order("manual-1", "AAPL", "buy", 10, 100.50)
        fake.fill("manual-1", 10, 100.25)
        # the statement's cash: 5,000 - 10 x 100.25 = 3,997.50 (the fake's account cash is another desk's)
        argv = [
            "reconcile",
            "--config",
            str(cfg),
            "--from-broker",
            "--cash",
            "5000",
            "--broker-cash",
            "3997.50",
            "--json",
        ]
        r = U.xlexec(argv, cwd=elsewhere)
        assert r.returncode == 0, r.stderr
        j = json.loads(r.stdout)
        assert j["positions_match"] is True and j["breaks"] == []
        assert fake.requests("GET", "/v2/positions"), "the broker's positions were not asked for"
        fake.positions["AAPL"]["qty"] = 111.0  # the broker now says 111
        r2 = U.xlexec(argv, cwd=elsewhere)
    assert r2.returncode == 1, r2.stderr
    assert [(b["symbol"], b["kind"], b["planned"], b["executed"]) for b in json.loads(r2.stdout)["breaks"]] == [
        ("AAPL", "position_mismatch", 110, 111)
    ]
