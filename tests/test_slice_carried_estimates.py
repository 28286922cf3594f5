"""A slice child carried to a later day carries its pro-rata share of the parent's estimates.

Hand-computed (Decimal, from the inputs below), each step run as ``python -m xlexec ...`` from a
tmp folder that is not the project:

* day 1 (2025-10-30): BIG buy 1,000 @ 20.00, estimated commission $2.00 and slippage $4.00;
  ADV 6,000 x 5% = 300 shares a day -> children 300, 300, 300, 100. ``convert --slice`` journals
  the schedule.
* day 2 (2025-10-31): trades.csv holds only AAPL buy 10 @ 150.00 (commission 1.50, slippage
  0.30); ``convert`` carries BIG's child 2 (300 shares). Fills: AAPL 10 @ 150.10 (commission
  1.00), BIG 150 @ 20.02 (commission 0.30) -- half the child.

The child must carry 300 / 1,000 of the parent's estimates ($0.60 and $1.20) on day 2, as a
same-day child does, not $0 because its parent is in an earlier day's trades.csv.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from tests import cli_fork

ROOT = Path(__file__).resolve().parents[1]
DAY1, DAY2 = "2025-10-30", "2025-10-31"
HEAD = "symbol,side,shares,price,notional,weight_change,commission_est,slippage_est,total_cost_est\n"
D = Decimal


def cents(x: Decimal) -> float:
    return float(x.quantize(D("0.01"), rounding=ROUND_HALF_UP))


def xlexec(where: Path, *args: str, now: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "XLEXEC_NOW": now, "XLWINGS_LICENSE_KEY": "noncommercial"}
    return cli_fork.run(
        [sys.executable, "-m", "xlexec", *args], cwd=where, env=env, capture_output=True, text=True, timeout=120
    )


def _trades(live: Path, day: str, rows: str) -> Path:
    p = live / day / "trades.csv"
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(f"# Date: {day}\n# Kill Switch: ACTIVE\n# Safety Checks: PASSED\n" + HEAD + rows)
    return p


def test_carried_child_carries_pro_rata_estimates(tmp_path):
    live = tmp_path / "live"
    live.mkdir()
    cfg = tmp_path / "config.yaml"
    cfg.write_text(f"live_dir: {live}\nexecution:\n  require_human_approval: false\n")
    (live / "reference.csv").write_text("symbol,sector,adv_shares\nBIG,Tech,6000\nAAPL,Tech,50000000\n")
    t1 = _trades(live, DAY1, "BIG,buy,1000,20.00,20000.00,0.2,2.00,4.00,6.00\n")
    now1 = f"{DAY1}T13:00:00Z"
    r = xlexec(tmp_path, "convert", str(t1), "--broker", "ibkr", "--slice", "--config", str(cfg), now=now1)
    assert r.returncode == 0, r.stderr
    assert "cap 300/day, 4 days" in r.stdout

    t2 = _trades(live, DAY2, "AAPL,buy,10,150.00,1500.00,0.015,1.50,0.30,1.80\n")
    now2 = f"{DAY2}T13:00:00Z"
    r = xlexec(tmp_path, "convert", str(t2), "--broker", "ibkr", "--config", str(cfg), now=now2)
    assert r.returncode == 0, r.stderr
    assert "day 2 300 (today)" in r.stdout
    (live / DAY2 / "broker_fills.csv").write_text(
        "date,symbol,side,shares,price,commission,fill_time,order_id,client_order_id,fill_id\n"
        f"{DAY2},AAPL,buy,10,150.10,1.00,09:31:00,o-1,,f1\n"
        f"{DAY2},BIG,buy,150,20.02,0.30,09:33:00,o-2,,f2\n"
    )
    r = xlexec(tmp_path, "reconcile", "--trades", str(t2), "--cash", "10000", "--json", "--config", str(cfg), now=now2)
    assert r.returncode == 0, r.stderr
    j = json.loads(r.stdout)

    child = D(300) / D(1000)
    c_est = {"AAPL": D("1.50"), "BIG": D("2.00") * child}  # BIG: 0.60
    s_est = {"AAPL": D("0.30"), "BIG": D("4.00") * child}  # BIG: 1.20
    filled = {"AAPL": D(10) / D(10), "BIG": D(150) / D(300)}
    text = (live / DAY2 / "reconciliation_trades.csv").read_text().splitlines()
    head = text[0].split(",")
    rows = {x.split(",")[0]: x.split(",") for x in text[1:]}
    assert rows["BIG"][head.index("planned")] == "300"
    assert float(rows["BIG"][head.index("commission_est")]) == cents(c_est["BIG"]) == 0.60
    assert float(rows["BIG"][head.index("slippage_est")]) == cents(s_est["BIG"]) == 1.20

    assert j["commission_estimated"] == cents(sum(c_est.values()))  # 2.10
    assert j["slippage_estimated"] == cents(sum(s_est.values()))  # 1.50
    est_f = sum(c_est[s] * filled[s] for s in c_est)  # 1.50 + 0.30
    slip_f = sum(s_est[s] * filled[s] for s in s_est)  # 0.30 + 0.60
    ev = j["estimate_vs_actual"]
    assert ev["filled_shares"]["commission_estimated"] == cents(est_f) == 1.80
    assert ev["filled_shares"]["slippage_estimated_usd"] == cents(slip_f) == 0.90
    comm_actual = D("1.00") + D("0.30")
    assert ev["filled_shares"]["commission_variance"] == cents(comm_actual - est_f)


def test_carried_child_sent_through_the_api_carries_pro_rata_estimates(tmp_path):
    """The same through ``submit --slice`` on the paper broker (the orders reconciled are the
    ones sent, from the journal): day 2's child 2 of BIG (300 of 1,000) fills at its 20.00
    limit and carries 300 / 1,000 x $2.00 = $0.60 commission and x $4.00 = $1.20 slippage."""
    live = tmp_path / "live"
    live.mkdir()
    cfg = tmp_path / "config.yaml"
    cfg.write_text(f"live_dir: {live}\nexecution:\n  broker: paper\n  require_human_approval: false\n")
    (live / "reference.csv").write_text("symbol,sector,adv_shares\nBIG,Tech,6000\nAAPL,Tech,50000000\n")
    for day, rows in ((DAY1, "BIG,buy,1000,20.00,20000.00,0.2,2.00,4.00,6.00\n"), (DAY2, "")):
        t = _trades(live, day, rows or "AAPL,buy,10,150.00,1500.00,0.015,1.50,0.30,1.80\n")
        (t.parent / "quotes.csv").write_text(
            f"symbol,bid,ask,last,timestamp\nBIG,19.98,20.00,19.99,{day}T14:00:00Z\n"
            f"AAPL,150.20,150.30,150.25,{day}T14:00:00Z\n"
        )
        now = f"{day}T14:00:00Z"
        r = xlexec(tmp_path, "submit", str(t), "--slice", "--config", str(cfg), now=now)
        assert r.returncode == 0, r.stdout + r.stderr
        r = xlexec(tmp_path, "import-fills", "--date", day, "--config", str(cfg), now=f"{day}T20:10:00Z")
        assert r.returncode == 0, r.stdout + r.stderr
    fills = (live / DAY2 / "broker_fills.csv").read_text()
    assert ",BIG,buy,300," in fills and "AAPL" not in fills  # AAPL's 150.00 limit rests below the ask
    r = xlexec(
        tmp_path,
        "reconcile",
        "--trades",
        str(live / DAY2 / "trades.csv"),
        "--cash",
        "100000",
        "--json",
        "--config",
        str(cfg),
        now=f"{DAY2}T20:10:00Z",
    )
    assert r.returncode in (0, 1), r.stderr
    j = json.loads(r.stdout)
    text = (live / DAY2 / "reconciliation_trades.csv").read_text().splitlines()
    head = text[0].split(",")
    rows = {x.split(",")[0]: x.split(",") for x in text[1:]}
    child = D(300) / D(1000)
    assert rows["BIG"][head.index("planned")] == "300" and rows["BIG"][head.index("executed")] == "300"
    assert float(rows["BIG"][head.index("commission_est")]) == cents(D("2.00") * child) == 0.60
    assert float(rows["BIG"][head.index("slippage_est")]) == cents(D("4.00") * child) == 1.20
    # the plan: AAPL (nothing filled) whole + BIG's child pro rata; on the filled shares: BIG's child only
    assert j["commission_estimated"] == cents(D("1.50") + D("2.00") * child)
    assert j["estimate_vs_actual"]["filled_shares"]["commission_estimated"] == cents(D("2.00") * child)
    assert j["estimate_vs_actual"]["filled_shares"]["slippage_estimated_usd"] == cents(D("4.00") * child)
