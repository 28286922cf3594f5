"""Idempotent days: reconcile / accept start from the day's opening snapshot, so a rerun changes
nothing; accept refuses open breaks unless forced with a reason; an accepted oversell keeps its
short; header-only positions / events / restricted files are valid empty inputs.

Every run is ``python -m xlexec`` in a subprocess started in a folder that is not the project,
with ``--config`` and absolute paths. Expected figures are worked out by hand from the inputs.
"""

from __future__ import annotations

import getpass
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests import cli_fork

D1, D2 = "2025-10-30", "2025-10-31"
ROOT = str(Path(__file__).resolve().parents[1])
HEADER = "symbol,side,shares,price,notional,weight_change,commission_est,slippage_est,total_cost_est\n"
FILL_HEADER = "date,symbol,side,shares,price,commission,fill_time,order_id,client_order_id,fill_id\n"


def xlexec(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    env["XLEXEC_NOW"] = "2025-10-30T21:00:00+00:00"
    return cli_fork.run(
        [sys.executable, "-m", "xlexec", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def desk(tmp_path: Path) -> tuple[Path, Path, Path]:
    """(config, live dir, a working folder that is neither)."""
    root, elsewhere = tmp_path / "desk", tmp_path / "elsewhere"
    (root / "live").mkdir(parents=True)
    elsewhere.mkdir()
    cfg = root / "config.yaml"
    cfg.write_text("live_dir: live\nexecution:\n  broker: paper\n")
    return cfg, root / "live", elsewhere


def trades(day: str, *rows: str) -> str:
    return f"# Date: {day}\n# Portfolio Value: $100,000.00\n" + HEADER + "".join(r + "\n" for r in rows)


def write_day(live: Path, day: str, trade_rows: list[str], fill_rows: list[str]) -> tuple[Path, Path]:
    d = live / day
    d.mkdir(parents=True, exist_ok=True)
    (d / "trades.csv").write_text(trades(day, *trade_rows))
    (d / "broker_fills.csv").write_text(FILL_HEADER + "".join(r + "\n" for r in fill_rows))
    return d / "trades.csv", d / "broker_fills.csv"


def positions(path: Path) -> dict[str, tuple[float, float]]:
    lines = path.read_text().splitlines()
    cols = lines[0].split(",")
    out = {}
    for ln in lines[1:]:
        r = dict(zip(cols, ln.split(","), strict=True))
        out[r["symbol"]] = (float(r["shares"]), float(r["avg_cost"]))
    return out


def accepts(live: Path, day: str) -> list[dict]:
    with sqlite3.connect(live / "journal.sqlite") as db:
        rows = db.execute("SELECT payload FROM events WHERE kind='positions' AND day=?", (day,)).fetchall()
    return [p for p in (json.loads(r[0]) for r in rows) if p.get("action") == "accept_reconciliation"]


def outputs(live: Path, day: str) -> dict[str, bytes]:
    d = live / day
    names = [
        live / "current_positions.csv",
        live / f"current_positions.{day}.bak.csv",
        d / "positions_after_recon.csv",
        d / "reconciliation.json",
        d / "reconciliation_report.txt",
        d / "reconciliation_trades.csv",
        d / "opening_positions.csv",
        d / "opening_cash.json",
    ]
    return {p.name: p.read_bytes() for p in names}


OPENING = "symbol,shares,avg_cost\nAMZN,20,200.00\nV,13,300.00\nKO,50,60.00\n"
CLEAN_TRADES = ["AMZN,sell,6,220.00,1320.00,-0.0132,0.13,0.26,0.39", "V,buy,3,340.00,1020.00,0.0102,0.10,0.20,0.30"]
CLEAN_FILLS = [f"{D1},AMZN,sell,6,221.00,0.10,10:00:00,o-1,,f1", f"{D1},V,buy,3,339.00,0.05,10:01:00,o-2,,f2"]


def test_reconcile_accept_three_times_applies_the_fills_once(tmp_path):
    cfg, live, elsewhere = desk(tmp_path)
    (live / "current_positions.csv").write_text(OPENING)
    t, f = write_day(live, D1, CLEAN_TRADES, CLEAN_FILLS)
    argv = ["reconcile", "--config", str(cfg), "--trades", str(t), "--fills", str(f), "--cash", "10000"]
    r1 = xlexec(elsewhere, *argv, "--accept")
    assert r1.returncode == 0, r1.stderr
    # opening + the fills once: AMZN 20 - 6 = 14 @ 200; V 13 + 3 = 16 @ (13 x 300 + 3 x 339) / 16 = 307.3125
    after = positions(live / "current_positions.csv")
    assert after == {"AMZN": (14.0, 200.0), "KO": (50.0, 60.0), "V": (16.0, 307.3125)}
    # cash 10,000 + 6 x 221 - 3 x 339 - 0.15 commission = 10,308.85
    assert json.loads((live / D1 / "reconciliation.json").read_text())["cash_after"] == 10_308.85
    assert positions(live / D1 / "opening_positions.csv") == {
        "AMZN": (20.0, 200.0),
        "KO": (50.0, 60.0),
        "V": (13.0, 300.0),
    }
    first = outputs(live, D1)
    # a rerun: the same command
    r2 = xlexec(elsewhere, *argv, "--accept")
    assert r2.returncode == 0, r2.stderr
    assert "already accepted" in r2.stdout
    assert outputs(live, D1) == first
    # a third time, the fills file written again (as a second download would) and the accepted
    # current_positions.csv named as the day's positions (what applied the fills twice before)
    f.write_text(FILL_HEADER + "".join(r + "\n" for r in CLEAN_FILLS))
    r3 = xlexec(elsewhere, *argv, "--accept", "--current-positions", str(live / "current_positions.csv"))
    assert r3.returncode == 0, r3.stderr
    assert outputs(live, D1) == first
    assert positions(live / "current_positions.csv") == {
        "AMZN": (14.0, 200.0),
        "KO": (50.0, 60.0),
        "V": (16.0, 307.3125),
    }
    assert len(accepts(live, D1)) == 1
    # accept-positions on its own: already accepted, nothing written
    r4 = xlexec(elsewhere, "accept-positions", "--config", str(cfg), "--date", D1)
    assert r4.returncode == 0 and "already accepted" in r4.stdout
    assert outputs(live, D1) == first and len(accepts(live, D1)) == 1


def test_rerun_refuses_an_edited_snapshot_and_other_opening_inputs(tmp_path):
    cfg, live, elsewhere = desk(tmp_path)
    (live / "current_positions.csv").write_text(OPENING)
    t, f = write_day(live, D1, CLEAN_TRADES, CLEAN_FILLS)
    argv = ["reconcile", "--config", str(cfg), "--trades", str(t), "--fills", str(f)]
    assert xlexec(elsewhere, *argv, "--cash", "10000").returncode == 0
    first = (live / D1 / "positions_after_recon.csv").read_bytes()
    # another cash than the snapshot's: refused in one line, nothing rewritten
    r = xlexec(elsewhere, *argv, "--cash", "20000")
    assert r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1
    assert "opening cash" in r.stderr and "opening_cash.json" in r.stderr
    # other opening positions than the snapshot's: refused
    other = elsewhere / "other.csv"
    other.write_text("symbol,shares,avg_cost\nAMZN,30,200.00\n")
    r = xlexec(elsewhere, *argv, "--current-positions", str(other))
    assert r.returncode == 1 and "opening snapshot" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    # the snapshot edited by hand: refused, naming the file
    snap = live / D1 / "opening_positions.csv"
    snap.write_text(snap.read_text().replace("AMZN,20", "AMZN,25"))
    r = xlexec(elsewhere, *argv, "--accept")
    assert r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1
    assert "opening_positions.csv" in r.stderr and "changed since" in r.stderr
    assert (live / D1 / "positions_after_recon.csv").read_bytes() == first
    assert (live / "current_positions.csv").read_text() == OPENING and accepts(live, D1) == []


BREAK_FILLS = [
    f"{D1},AMZN,sell,6,221.00,0.10,10:00:00,o-1,,f1",
    f"{D1},KO,sell,80,61.00,0.20,10:05:00,o-9,,f3",  # never planned, and 30 more than the 50 held
]


def test_accept_refuses_open_breaks_unless_forced_with_a_reason(tmp_path):
    cfg, live, elsewhere = desk(tmp_path)
    (live / "current_positions.csv").write_text(OPENING)
    t, f = write_day(live, D1, CLEAN_TRADES[:1], BREAK_FILLS)
    r = xlexec(elsewhere, "reconcile", "--config", str(cfg), "--trades", str(t), "--fills", str(f), "--cash", "0")
    assert r.returncode == 1  # breaks
    kinds = sorted(b["kind"] for b in json.loads((live / D1 / "reconciliation.json").read_text())["breaks"])
    assert kinds == ["oversell", "unplanned_fill"]
    acc = ["accept-positions", "--config", str(cfg), "--date", D1]
    r = xlexec(elsewhere, *acc)
    assert r.returncode == 1 and "2 open break(s)" in r.stderr and "--force --reason" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert (live / "current_positions.csv").read_text() == OPENING
    r = xlexec(elsewhere, *acc, "--force")
    assert r.returncode == 2 and "--reason" in r.stderr
    assert (live / "current_positions.csv").read_text() == OPENING and accepts(live, D1) == []
    r = xlexec(elsewhere, *acc, "--force", "--reason", "KO sold by the PM at the broker")
    assert r.returncode == 0, r.stderr
    # the oversell stays visible: held 50 KO, sold 80 -> short 30 at the sale's 61.00; AMZN 20 - 6
    assert positions(live / "current_positions.csv") == {"AMZN": (14.0, 200.0), "KO": (-30.0, 61.0), "V": (13.0, 300.0)}
    # cash 0 + 6 x 221 + 80 x 61 - 0.30 = 6,205.70: the short's proceeds, matched by the -30 shares
    assert json.loads((live / D1 / "reconciliation.json").read_text())["cash_after"] == 6_205.70
    (ev,) = accepts(live, D1)
    assert ev["forced"] is True and ev["reason"] == "KO sold by the PM at the broker"
    assert ev["login"] == getpass.getuser()
    assert sorted(b["kind"] for b in ev["breaks"]) == ["oversell", "unplanned_fill"]
    # forced again: already accepted, no second event
    r = xlexec(elsewhere, *acc, "--force", "--reason", "again")
    assert r.returncode == 0 and "already accepted" in r.stdout and len(accepts(live, D1)) == 1


def test_a_sold_out_day_is_read_back_as_all_cash_the_next_day(tmp_path):
    cfg, live, elsewhere = desk(tmp_path)
    (live / "current_positions.csv").write_text("symbol,shares,avg_cost\nAMZN,20,200.00\nKO,50,60.00\n")
    t1, f1 = write_day(
        live,
        D1,
        ["AMZN,sell,20,220.00,4400.00,-0.044,0.44,0.88,1.32", "KO,sell,50,61.00,3050.00,-0.0305,0.30,0.61,0.91"],
        [f"{D1},AMZN,sell,20,220.00,0.20,10:00:00,o-1,,f1", f"{D1},KO,sell,50,61.00,0.10,10:01:00,o-2,,f2"],
    )
    r = xlexec(
        elsewhere,
        "reconcile",
        "--config",
        str(cfg),
        "--trades",
        str(t1),
        "--fills",
        str(f1),
        "--cash",
        "1000",
        "--accept",
    )
    assert r.returncode == 0, r.stderr
    cur = (live / "current_positions.csv").read_text()
    assert cur.splitlines()[1:] == [] and cur.startswith("symbol,shares,avg_cost")  # header only: all cash
    # cash 1,000 + 20 x 220 + 50 x 61 - 0.30 = 8,449.70
    assert json.loads((live / D1 / "reconciliation.json").read_text())["cash_after"] == 8_449.70
    # the next day starts from that header-only file (no --cash: the previous day's cash after)
    t2, f2 = write_day(
        live, D2, ["KO,buy,10,60.00,600.00,0.006,0.06,0.12,0.18"], [f"{D2},KO,buy,10,60.50,0.05,10:00:00,o-3,,f3"]
    )
    r = xlexec(elsewhere, "validate", "--config", str(cfg), str(t2), "--json")
    assert r.returncode in (0, 1), r.stderr  # a decision, not an input error
    r = xlexec(elsewhere, "reconcile", "--config", str(cfg), "--trades", str(t2), "--fills", str(f2), "--accept")
    assert r.returncode == 0, r.stderr
    rec = json.loads((live / D2 / "reconciliation.json").read_text())
    # 8,449.70 - 10 x 60.50 - 0.05 = 7,844.65
    assert rec["cash_before"] == 8_449.70 and rec["cash_after"] == 7_844.65
    assert positions(live / "current_positions.csv") == {"KO": (10.0, 60.5)}
    assert positions(live / D2 / "opening_positions.csv") == {}


@pytest.mark.parametrize("which", ["events", "restricted"])
def test_header_only_events_and_restricted_are_empty_lists(tmp_path, which):
    cfg, live, elsewhere = desk(tmp_path)
    (live / "current_positions.csv").write_text(OPENING)
    t, f = write_day(live, D1, CLEAN_TRADES, CLEAN_FILLS)
    header = {"events": "symbol,date,event,ratio\n", "restricted": "symbol,reason\n"}[which]
    (live / f"{which}.csv").write_text(header)
    r = xlexec(elsewhere, "validate", "--config", str(cfg), str(t), "--json")
    assert r.returncode in (0, 1), r.stderr  # a decision, not exit 2
    checks = json.loads((live / D1 / "validation.json").read_text())
    assert checks["decision"] in ("APPROVE", "CONDITIONAL", "REJECT")
    if which == "restricted":
        rows = [c for c in checks["checks"] if c["check"] == "restricted"]
        assert [c["status"] for c in rows] == ["pass"] and "0 listed" in rows[0]["message"]
        return
    r = xlexec(
        elsewhere,
        "reconcile",
        "--config",
        str(cfg),
        "--trades",
        str(t),
        "--fills",
        str(f),
        "--cash",
        "10000",
        "--events",
        str(live / "events.csv"),
    )
    assert r.returncode == 0, r.stderr


def test_workbook_buttons_reconcile_and_accept_are_idempotent_and_need_a_reason(tmp_path):
    cfg, live, elsewhere = desk(tmp_path)
    (live / "current_positions.csv").write_text(OPENING)
    write_day(live, D1, CLEAN_TRADES[:1], BREAK_FILLS)
    book = cfg.parent / "book.xlsx"
    assert (
        xlexec(elsewhere, "workbook", "build", "--config", str(cfg), "--output", str(book), "--no-macros").returncode
        == 0
    )
    assert xlexec(elsewhere, "button", "load-trades", "--book", str(book), "--day", D1).returncode == 0
    r = xlexec(elsewhere, "button", "reconcile", "--book", str(book))
    assert "2 breaks" in r.stdout, r.stderr
    first = (live / D1 / "positions_after_recon.csv").read_bytes()
    r = xlexec(elsewhere, "button", "accept-positions", "--book", str(book), "--set", "reason=KO sold at the broker")
    assert (
        r.returncode == 1 and "2 open break(s)" in r.stderr and "Override Y" in r.stderr
    )  # a reason alone is not enough
    assert (live / "current_positions.csv").read_text() == OPENING and accepts(live, D1) == []
    press = ["button", "accept-positions", "--book", str(book), "--set", "override=Y"]
    r = xlexec(elsewhere, *press, "--set", "reason=KO sold at the broker")
    assert r.returncode == 0 and "over open breaks" in r.stdout, r.stderr
    assert positions(live / "current_positions.csv") == {"AMZN": (14.0, 200.0), "KO": (-30.0, 61.0), "V": (13.0, 300.0)}
    accepted = outputs(live, D1)
    # pressed again, both buttons: the same files, one accept in the journal
    assert xlexec(elsewhere, "button", "reconcile", "--book", str(book)).returncode == 0
    r = xlexec(elsewhere, "button", "accept-positions", "--book", str(book))
    assert r.returncode == 0 and "already accepted" in r.stdout
    assert outputs(live, D1) == accepted and accepted["positions_after_recon.csv"] == first
    (ev,) = accepts(live, D1)
    assert ev["reason"] == "KO sold at the broker" and ev["login"] == getpass.getuser()
