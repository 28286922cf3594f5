"""The foundation's acceptance: `xlexec demo` runs a whole day, files have the guide's columns,
a rerun duplicates nothing, and bad input is one line with exit code 2."""

import csv
import json
import sys
from pathlib import Path

import pytest

from tests import cli_fork

GUIDE_COLUMNS = {
    "2025-10-30/trades.csv": (
        "symbol,side,shares,price,notional,weight_change,commission_est,slippage_est,total_cost_est"
    ),
    "2025-10-30/execution_log.csv": (
        "date,symbol,side,shares,limit_price,fill_price,fill_time,order_id,commission,slippage,notes"
    ),
    "2025-10-30/broker_fills.csv": "date,symbol,side,shares,price,commission,fill_time,order_id,client_order_id",
    "2025-10-30/positions_after_recon.csv": "symbol,shares,avg_cost,current_value,weight,last_updated",
    "2025-10-30/trades_ibkr.csv": "Action,Quantity,Symbol,SecType,Exchange,Currency,TimeInForce,OrderType,LmtPrice",
    "current_positions.csv": "symbol,shares,avg_cost",
    "trade_approvals.csv": "date,decision,reason,approver",
}


def header_of(path: Path) -> str:
    for line in path.read_text().splitlines():
        if not line.startswith("#"):
            return line
    return ""


def snapshot(live: Path) -> dict[str, str]:
    return {
        str(p.relative_to(live)): p.read_text()
        for p in sorted(live.rglob("*"))
        if p.is_file() and p.suffix in (".csv", ".log", ".json", ".txt")
    }


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("demo")
    r = cli_fork.run(
        [sys.executable, "-m", "xlexec", "demo", "--dir", str(d)], capture_output=True, text=True, timeout=600, cwd=d
    )
    assert r.returncode == 0, r.stderr
    return d, r.stdout


def test_demo_writes_the_guides_files(demo_dir):
    d, out = demo_dir
    live = d / "live"
    for rel, cols in GUIDE_COLUMNS.items():
        p = live / rel
        assert p.exists(), rel
        assert header_of(p).startswith(cols), (rel, header_of(p))
    assert (live / "discrepancies.log").read_text().strip()  # the unfilled and partial orders
    assert "Reason:" in (live / "discrepancies.log").read_text()
    tca = json.loads((live / "2025-10-30" / "tca.json").read_text())
    assert set(tca) >= {"commission", "slippage", "opportunity", "total", "by_symbol", "shortfall"}
    assert "validate" in out and "workbook" in out
    wb = next(d.glob("xlexec_*.xls*"))
    assert wb.stat().st_size > 0


def test_demo_day_is_consistent(demo_dir):
    d, _ = demo_dir
    live = d / "live" / "2025-10-30"
    recon = json.loads((live / "reconciliation.json").read_text())
    assert recon["trades_recommended"] == 10
    # one order rests unfilled (its quote ran away), one fills partly
    assert [x["symbol"] for x in recon["not_executed"]] == ["WMT"]
    assert [x["symbol"] for x in recon["partial"]] == ["COST"]
    fills = list(csv.DictReader((live / "broker_fills.csv").open()))
    planned = {
        r["symbol"] for r in csv.DictReader(line for line in (live / "trades.csv").open() if not line.startswith("#"))
    }
    assert {f["symbol"] for f in fills} == planned - {"WMT"}
    log = list(csv.DictReader((live / "execution_log.csv").open()))
    assert len(log) == 10 and len({r["order_id"] for r in log}) == 10


def test_demo_has_minute_bars_holding_every_fill_and_every_benchmark(demo_dir):
    """The demo's bars.csv: a session of minute bars per symbol; each paper fill lies inside the
    high-low range of the bar of its minute; the TCA shows every benchmark for the fills."""
    d, _ = demo_dir
    live = d / "live" / "2025-10-30"
    bars = list(csv.DictReader((live / "bars.csv").open()))
    by = {(b["symbol"], b["timestamp"]): b for b in bars}
    assert len({b["timestamp"] for b in bars}) == 390  # 09:30 .. 15:59 New York
    fills = list(csv.DictReader((live / "broker_fills.csv").open()))
    assert fills
    for f in fills:
        minute = f["fill_time"][:16].replace("+00:00", "") + ":00Z"
        b = by[(f["symbol"], minute)]
        assert float(b["low"]) <= float(f["price"]) <= float(b["high"]), (f, b)
    table = {r["benchmark"]: r for r in json.loads((live / "tca.json").read_text())["benchmarks"]["table"]}
    filled = len({f["symbol"] for f in fills})
    for k in ("signal", "arrival", "interval_vwap", "twap", "day_vwap", "close"):
        assert table[k]["orders"] == filled and table[k]["missing"] == 0 and table[k]["bps"] is not None, k


def test_demo_day_validates_as_designed(demo_dir):
    """The sample day is CONDITIONAL for one reason only, its ex-dividend event: its quotes'
    spreads are a few bps (within 50), it lists no macro event, halt or restricted symbol."""
    d, _ = demo_dir
    v = json.loads((d / "live" / "2025-10-30" / "validation.json").read_text())
    assert v["decision"] == "CONDITIONAL"
    bad = [(c["check"], c["status"]) for c in v["checks"] if c["status"] != "pass"]
    assert bad == [("corporate_event", "warn")]
    for check in ("spread", "macro_event", "halted", "restricted"):
        assert [c["status"] for c in v["checks"] if c["check"] == check] == ["pass"], check


def test_rerun_duplicates_nothing(demo_dir):
    d, _ = demo_dir
    live = d / "live"
    before = snapshot(live)
    import sqlite3

    n_orders = sqlite3.connect(live / "paper_broker.sqlite").execute("SELECT COUNT(*) FROM orders").fetchone()[0]
    r = cli_fork.run(
        [sys.executable, "-m", "xlexec", "demo", "--dir", str(d), "--no-workbook"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=d,
    )
    assert r.returncode == 0, r.stderr
    after = snapshot(live)
    assert after == before
    assert (
        sqlite3.connect(live / "paper_broker.sqlite").execute("SELECT COUNT(*) FROM orders").fetchone()[0] == n_orders
    )


def test_malformed_trades_one_line_exit_2(tmp_path):
    p = tmp_path / "trades.csv"
    p.write_text(
        "symbol,side,shares,price,notional,weight_change,commission_est,slippage_est,total_cost_est\n"
        "AAPL,buy,100,150.25,15025.00,0.05,1.50,3.01,4.51\n"
        "MSFT,sell,fifty,380.50,19025.00,-0.03,1.90,3.81,5.71\n"
    )
    for cmd in (["validate", str(p)], ["convert", str(p), "--broker", "ibkr", "--draft"], ["submit", str(p)]):
        r = cli_fork.run(
            [sys.executable, "-m", "xlexec", *cmd], capture_output=True, text=True, timeout=120, cwd=tmp_path
        )
        assert r.returncode == 2, (cmd, r.stderr)
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in r.stderr
        assert str(p) in lines[0] and "row 3" in lines[0] and "'shares'" in lines[0]


def test_help_lists_every_guide_script():
    r = cli_fork.run([sys.executable, "-m", "xlexec", "--help"], capture_output=True, text=True, timeout=60)
    for name in (
        "validate",
        "approve",
        "convert",
        "submit",
        "status",
        "cancel-all",
        "reconcile",
        "tca",
        "monthly",
        "compare-positions",
        "sync-positions",
        "pnl",
        "kill-switch-report",
        "workbook",
        "demo",
    ):
        assert name in r.stdout, name
        h = cli_fork.run([sys.executable, "-m", "xlexec", name, "--help"], capture_output=True, text=True, timeout=60)
        assert h.returncode == 0 and "usage" in h.stdout.lower(), name


def test_several_days_carry_positions_and_cash_and_rerun_cleanly(tmp_path):
    """`xlexec demo --days 3`: each day opens with the positions the previous one accepted, the
    cash carries, the paper broker ends holding exactly the system's positions, the month has
    three days, and a rerun changes nothing."""
    import sqlite3

    from xlexec.formats.inputs import read_positions

    d = tmp_path / "multi"
    cmd = [sys.executable, "-m", "xlexec", "demo", "--dir", str(d), "--days", "3", "--no-workbook"]
    r = cli_fork.run(cmd, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    live = d / "live"
    days = ["2025-10-28", "2025-10-29", "2025-10-30"]
    assert all((live / x / "reconciliation.json").exists() for x in days)
    for prev, nxt in zip(days, days[1:]):
        after = read_positions(live / prev / "positions_after_recon.csv").set_index("symbol")["shares"]
        opening = read_positions(live / nxt / "opening_positions.csv").set_index("symbol")["shares"]
        assert after.to_dict() == opening.to_dict()
        cash_after = json.loads((live / prev / "reconciliation.json").read_text())["cash_after"]
        assert json.loads((live / nxt / "reconciliation.json").read_text())["cash_before"] == cash_after
    con = sqlite3.connect(live / "paper_broker.sqlite")
    broker = {s: q for s, q in con.execute("SELECT symbol, qty FROM positions")}
    system = read_positions(live / "current_positions.csv").set_index("symbol")["shares"].to_dict()
    assert broker == system
    month = list(csv.DictReader((live / "monthly_costs.csv").open()))
    assert [m["month"] for m in month] == ["2025-10"] and month[0]["days"] == "3"
    before = snapshot(live)
    r = cli_fork.run(cmd, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert snapshot(live) == before


def test_a_bug_is_one_line_and_a_saved_traceback(tmp_path, monkeypatch, capsys):
    from xlexec.cli import app as cli

    def boom(args, ctx):
        raise ZeroDivisionError("division by zero in a test")

    cfg = tmp_path / "config.yaml"
    cfg.write_text(f"live_dir: {str(tmp_path / 'live')!r}\n")
    parser = cli.build_parser()
    monkeypatch.setattr(cli, "build_parser", lambda *argv: parser)
    parser._subparsers._group_actions[0].choices["tca"].set_defaults(func=boom)
    rc = cli.main(["tca", str(tmp_path), "--config", str(cfg)])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 4 and len(err) == 1 and "internal error: ZeroDivisionError" in err[0]
    logs = list((tmp_path / "live" / "logs").glob("xlexec-tca-*.log"))
    assert len(logs) == 1 and "Traceback" in logs[0].read_text()
