"""Money to the cent: the cash, the positions' values and the portfolio value are computed and
stored exactly (sums of unrounded values) and rounded half-up only where shown.

Every run is ``python -m xlexec`` in a subprocess started in a folder that is not the project,
with ``--config`` and absolute paths. Expected figures are worked out here, in Decimal, from
the inputs written below; prices like 10.005 x 3 shares make rounding-then-summing differ from
summing-then-rounding by a cent.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from tests import cli_fork
from xlexec.store.month import reconciled_value

ROOT = str(Path(__file__).resolve().parents[1])
HEADER = "symbol,side,shares,price,notional,weight_change,commission_est,slippage_est,total_cost_est\n"
FILL_HEADER = "date,symbol,side,shares,price,commission,fill_time,order_id,client_order_id,fill_id\n"
D = Decimal


def xlexec(cwd: Path, now: str, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    env["XLEXEC_NOW"] = now
    return cli_fork.run(
        [sys.executable, "-m", "xlexec", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def cents(x: Decimal) -> float:
    return float(x.quantize(D("0.01"), rounding=ROUND_HALF_UP))


def desk(tmp_path: Path) -> tuple[Path, Path, Path]:
    root, elsewhere = tmp_path / "desk", tmp_path / "elsewhere"
    (root / "live").mkdir(parents=True)
    elsewhere.mkdir()
    cfg = root / "config.yaml"
    cfg.write_text("live_dir: live\nexecution:\n  broker: paper\n")
    return cfg, root / "live", elsewhere


def run_day(cfg, live, elsewhere, day, fills, closes, *extra) -> dict:
    """Write the day's trades (the fills' symbols, sides, shares, prices), fills and closes, then
    ``reconcile --accept``; returns the day's reconciliation.json."""
    d = live / day
    d.mkdir(parents=True, exist_ok=True)
    rows = [f"{s},{side},{q},{px},{D(q) * D(px)},0.01,0.10,0.10,0.20" for s, side, q, px, _ in fills]
    (d / "trades.csv").write_text(f"# Date: {day}\n# Portfolio Value: $10,000.00\n" + HEADER + "\n".join(rows) + "\n")
    (d / "broker_fills.csv").write_text(
        FILL_HEADER
        + "".join(
            f"{day},{s},{side},{q},{px},{c},10:00:00,o-{i},,f-{day}-{i}\n"
            for i, (s, side, q, px, c) in enumerate(fills)
        )
    )
    (d / "closes_in.csv").write_text("symbol,close\n" + "".join(f"{s},{px}\n" for s, px in closes.items()))
    r = xlexec(
        elsewhere,
        f"{day}T21:00:00+00:00",
        "reconcile",
        "--config",
        str(cfg),
        "--trades",
        str(d / "trades.csv"),
        "--fills",
        str(d / "broker_fills.csv"),
        "--closes",
        str(d / "closes_in.csv"),
        "--accept",
        *extra,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    return json.loads((d / "reconciliation.json").read_text())


DAY1_FILLS = [("XYZ", "buy", "3", "10.005", "0.35"), ("ABC", "buy", "1", "20.01", "0.35")]
DAY1_CLOSES = {"XYZ": "10.005", "ABC": "20.005"}
DAY2_FILLS = [("XYZ", "buy", "3", "10.005", "0.35")]
DAY2_CLOSES = {"XYZ": "10.005", "ABC": "20.005"}


def test_cash_and_portfolio_value_are_exact_sums_shown_half_up(tmp_path):
    cfg, live, elsewhere = desk(tmp_path)
    rec = run_day(cfg, live, elsewhere, "2025-10-27", DAY1_FILLS, DAY1_CLOSES, "--cash", "10000")
    # by hand: cash 10,000 - 3 x 10.005 - 1 x 20.01 - 0.35 - 0.35 = 9,949.275 (half a cent)
    cash1 = D(10000) - sum((D(q) * D(px) + D(c) for _, _, q, px, c in DAY1_FILLS), D(0))
    assert cash1 == D("9949.275")
    assert D(repr(rec["exact"]["cash_after"])) == cash1  # stored exactly
    assert rec["cash_after"] == cents(cash1) == 9949.28  # shown half-up (a float's 2 places: 9949.27)
    # values at the close: XYZ 3 x 10.005 = 30.015, ABC 1 x 20.005 = 20.005 -> 50.02; rounding each
    # first (30.02 + 20.01 half-up, 30.01 + 20.00 by binary rounding) would not give 50.02
    values = {"XYZ": D(3) * D("10.005"), "ABC": D(1) * D("20.005")}
    pv1 = sum(values.values(), D(0)) + cash1
    assert pv1 == D("9999.295")
    assert D(repr(rec["exact"]["portfolio_value_after"])) == pv1
    assert rec["portfolio_value_after"] == cents(pv1) == 9999.30
    # the positions files keep the values and weights unrounded, with no float noise and no -0
    for f in (live / "2025-10-27" / "positions_after_recon.csv", live / "current_positions.csv"):
        text = f.read_text()
        rows = {r["symbol"]: r for r in csv.DictReader(io.StringIO(text))}
        assert rows["XYZ"]["current_value"] == "30.015" and rows["ABC"]["current_value"] == "20.005"
        for sym, v in values.items():
            assert abs(D(rows[sym]["weight"]) - v / pv1) <= D("1e-10"), (sym, rows[sym]["weight"])
        for cell in (c for r in rows.values() for c in r.values()):
            assert not re.fullmatch(r"-?\d+\.\d{11,}", cell) and not re.fullmatch(r"-0(\.0*)?", cell), cell
    report = (live / "2025-10-27" / "reconciliation_report.txt").read_text()
    assert "Cash Balance: not checked (no broker cash) $9,949.28 (before $10,000.00)" in report

    # day 2 starts from the exact cash, not its shown cents
    rec2 = run_day(cfg, live, elsewhere, "2025-10-28", DAY2_FILLS, DAY2_CLOSES)
    cash2 = cash1 - sum((D(q) * D(px) + D(c) for _, _, q, px, c in DAY2_FILLS), D(0))
    assert cash2 == D("9918.91")  # from the shown 9,949.28 it would be 9,918.915 -> 9,918.92
    assert D(repr(rec2["exact"]["cash_before"])) == cash1 and rec2["cash_before"] == 9949.28
    assert D(repr(rec2["exact"]["cash_after"])) == cash2 and rec2["cash_after"] == cents(cash2) == 9918.91
    opening = json.loads((live / "2025-10-28" / "opening_cash.json").read_text())
    assert D(repr(opening["cash_usd"])) == cash1
    pv2 = D(6) * D("10.005") + D(1) * D("20.005") + cash2  # 60.03 + 20.005 + 9,918.91 = 9,998.945
    assert D(repr(rec2["exact"]["portfolio_value_after"])) == pv2
    assert rec2["portfolio_value_after"] == cents(pv2) == 9998.95
    report2 = (live / "2025-10-28" / "reconciliation_report.txt").read_text()
    assert "$9,918.91 (before $9,949.28)" in report2
    # the month reads the exact value back
    assert D(repr(reconciled_value(live / "2025-10-28"))) == pv2


def test_reconciled_value_reads_old_and_new_files(tmp_path):
    new, old, bare = tmp_path / "new", tmp_path / "old", tmp_path / "bare"
    for d in (new, old, bare):
        d.mkdir()
    (new / "reconciliation.json").write_text(
        json.dumps({"portfolio_value_after": 9999.3, "exact": {"portfolio_value_after": 9999.295}})
    )
    (old / "reconciliation.json").write_text(json.dumps({"portfolio_value_after": 9999.3}))
    # no value: the positions' values (unrounded) + the cash, summed exactly
    (bare / "reconciliation.json").write_text(json.dumps({"cash_after": 9949.28, "exact": {"cash_after": 9949.275}}))
    (bare / "positions_after_recon.csv").write_text(
        "symbol,shares,avg_cost,current_value,weight,last_updated\nXYZ,3,10,30.015,0.003,d\nABC,1,20,20.005,0.002,d\n"
    )
    assert reconciled_value(new) == 9999.295 and reconciled_value(old) == 9999.3
    assert D(repr(reconciled_value(bare))) == D("30.015") + D("20.005") + D("9949.275")
