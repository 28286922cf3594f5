"""Reconciliation counts, estimates on the same quantity, cash against the broker, valuation at the
close, and today's P&L: every expected figure worked out below by hand from the inputs (Decimal),
each step run as ``python -m xlexec ...`` from a tmp folder that is not the project.

The file day (broker files, ``convert --slice`` journals the slicing):

* AAPL buy 10 @ 150.00 (est. commission 1.50, slippage 0.30): filled 10 @ 150.10, commission 1.00;
* JPM buy 11 @ 200.00 (2.20, 0.44): 5 filled @ 200.20, commission 0.50 (partial);
* TSLA buy 4 @ 250.00 (1.00, 0.20): nothing filled;
* BIG buy 1,000 @ 20.00 (2.00, 4.00), ADV 6,000, max 5% a day -> today's child 300 shares,
  carrying 300 / 1,000 of the parent's estimates; filled 300 @ 20.01, commission 0.60.

Held before the day: KO 100 @ 60.00 (not traded; close 61.50) and XOM 10 @ 100.00 (no close, no quote).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from tests import cli_fork

ROOT = Path(__file__).resolve().parents[1]
DAY = "2025-10-30"
HEAD = "symbol,side,shares,price,notional,weight_change,commission_est,slippage_est,total_cost_est\n"
TRADES = (
    f"# Date: {DAY}\n# Kill Switch: ACTIVE\n# Safety Checks: PASSED\n"
    + HEAD
    + "AAPL,buy,10,150.00,1500.00,0.015,1.50,0.30,1.80\n"
    "JPM,buy,11,200.00,2200.00,0.022,2.20,0.44,2.64\n"
    "TSLA,buy,4,250.00,1000.00,0.01,1.00,0.20,1.20\n"
    "BIG,buy,1000,20.00,20000.00,0.2,2.00,4.00,6.00\n"
)
D = Decimal


def cents(x: Decimal) -> float:
    return float(x.quantize(D("0.01"), rounding=ROUND_HALF_UP))


def xlexec(where: Path, *args: str, now: str = f"{DAY}T20:10:00Z") -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "XLEXEC_NOW": now, "XLWINGS_LICENSE_KEY": "noncommercial"}
    return cli_fork.run(
        [sys.executable, "-m", "xlexec", *args], cwd=where, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def file_day(tmp_path):
    """A live folder with the day's trades, opening positions, closes, reference and fills, and
    today's slicing journaled by ``convert --slice``."""
    live = tmp_path / "live"
    d = live / DAY
    d.mkdir(parents=True)
    cfg = tmp_path / "config.yaml"
    cfg.write_text(f"live_dir: {live}\nexecution:\n  require_human_approval: false\n")
    (live / "reference.csv").write_text(
        "symbol,sector,adv_shares\nBIG,Tech,6000\nAAPL,Tech,50000000\nJPM,Fin,9000000\nTSLA,Auto,80000000\n"
    )
    (d / "trades.csv").write_text(TRADES)
    (live / "current_positions.csv").write_text("symbol,shares,avg_cost\nKO,100,60.00\nXOM,10,100.00\n")
    (d / "closes.csv").write_text("symbol,close\nAAPL,151.00\nJPM,201.00\nBIG,20.05\nKO,61.50\nTSLA,251.00\n")
    r = xlexec(tmp_path, "convert", str(d / "trades.csv"), "--broker", "ibkr", "--slice", "--config", str(cfg))
    assert r.returncode == 0, r.stderr
    assert "BIG buy 1,000" in r.stdout and "cap 300/day" in r.stdout
    (d / "broker_fills.csv").write_text(
        "date,symbol,side,shares,price,commission,fill_time,order_id,client_order_id,fill_id\n"
        f"{DAY},AAPL,buy,10,150.10,1.00,09:31:00,o-1,,f1\n"
        f"{DAY},JPM,buy,5,200.20,0.50,09:32:00,o-2,,f2\n"
        f"{DAY},BIG,buy,300,20.01,0.60,09:33:00,o-3,,f3\n"
    )
    return tmp_path, cfg, d


def reconcile(where: Path, cfg: Path, d: Path, *extra: str) -> subprocess.CompletedProcess:
    return xlexec(
        where, "reconcile", "--trades", str(d / "trades.csv"), "--cash", "10000", "--config", str(cfg), *extra
    )


def test_counts_pro_rata_estimates_and_valuation(file_day):
    where, cfg, d = file_day
    r = reconcile(where, cfg, d, "--json")
    assert r.returncode == 0, r.stderr
    j = json.loads(r.stdout)
    # fully: AAPL 10/10, BIG's child 300/300; partial: JPM 5/11; none: TSLA; of 4 planned
    assert (j["trades_recommended"], j["trades_executed"], j["trades_partial"], j["trades_not_executed"]) == (
        4,
        2,
        1,
        1,
    )
    assert (j["trades_executed_pct"], j["trades_partial_pct"], j["trades_not_executed_pct"]) == (50.0, 25.0, 25.0)
    assert j["execution_counts"] == "Fully executed 2, partially 1 (JPM 5/11), not executed 1 of 4"

    child = D(300) / D(1000)
    c_est = {"AAPL": D("1.50"), "JPM": D("2.20"), "TSLA": D("1.00"), "BIG": D("2.00") * child}
    s_est = {"AAPL": D("0.30"), "JPM": D("0.44"), "TSLA": D("0.20"), "BIG": D("4.00") * child}
    filled = {"AAPL": D(10) / D(10), "JPM": D(5) / D(11), "TSLA": D(0), "BIG": D(300) / D(300)}
    rows = {x.split(",")[0]: x.split(",") for x in (d / "reconciliation_trades.csv").read_text().splitlines()[1:]}
    head = (d / "reconciliation_trades.csv").read_text().splitlines()[0].split(",")
    # the sliced child carries 300 / 1,000 of its parent's estimates: $0.60 and $1.20, not $2.00 / $4.00
    assert rows["BIG"][head.index("planned")] == "300"
    assert float(rows["BIG"][head.index("commission_est")]) == cents(c_est["BIG"]) == 0.60
    assert float(rows["BIG"][head.index("slippage_est")]) == cents(s_est["BIG"]) == 1.20

    comm_actual = D("1.00") + D("0.50") + D("0.60")
    slip_actual = D(10) * (D("150.10") - D("150.00")) + D(5) * (D("200.20") - D("200.00")) + D(300) * D("0.01")
    est_f = sum(c_est[s] * filled[s] for s in c_est)
    slip_f = sum(s_est[s] * filled[s] for s in s_est)
    ev = j["estimate_vs_actual"]
    assert ev["filled_shares"]["commission_estimated"] == cents(est_f)  # 1.50 + 1.00 + 0.60 = 3.10
    assert ev["filled_shares"]["commission_actual"] == cents(comm_actual)
    assert ev["filled_shares"]["commission_variance"] == cents(comm_actual - est_f)
    assert ev["filled_shares"]["slippage_estimated_usd"] == cents(slip_f)  # 0.30 + 0.20 + 1.20 = 1.70
    assert ev["filled_shares"]["slippage_actual_usd"] == cents(slip_actual)
    assert ev["plan"]["commission_estimated"] == cents(sum(c_est.values()))  # 5.30: today's child, not 6.70
    assert ev["plan"]["slippage_estimated_usd"] == cents(sum(s_est.values()))
    assert j["commission_estimated_filled"] == cents(est_f) and j["slippage_estimated"] == cents(sum(s_est.values()))

    # cash: 10,000 - buys' notional - commissions
    cash_after = D(10000) - (D(10) * D("150.10") + D(5) * D("200.20") + D(300) * D("20.01")) - comm_actual
    assert j["cash_after"] == cents(cash_after) and j["cash_before"] == 10000.0
    assert j["broker_cash"] is None and j["cash_matches"] is None

    # valued at the day's close: KO (not traded) 100 x 61.50, never its 60.00 cost; XOM has no price
    after = {x.split(",")[0]: x.split(",") for x in (d / "positions_after_recon.csv").read_text().splitlines()[1:]}
    ahead = (d / "positions_after_recon.csv").read_text().splitlines()[0].split(",")
    cv = ahead.index("current_value")
    assert float(after["KO"][cv]) == cents(D(100) * D("61.50"))
    assert float(after["AAPL"][cv]) == cents(D(10) * D("151.00")) and float(after["BIG"][cv]) == cents(
        D(300) * D("20.05")
    )
    assert after["XOM"][cv] == ""  # no close, no quote, not traded: no price, not 10 x 100.00
    assert j["positions_unpriced"] == ["XOM"] and j["portfolio_value_after"] is None

    text = (d / "reconciliation_report.txt").read_text()
    assert "Fully executed 2, partially 1 (JPM 5/11), not executed 1 of 4" in text
    assert "Fully Executed: 2 (50.0% of planned)" in text
    assert "Partially Executed: 1 (25.0% of planned; JPM 5/11)" in text
    assert "Not Executed: 1 (25.0% of planned; TSLA" in text
    assert f"Cash Balance: not checked (no broker cash) ${cents(cash_after):,.2f}" in text and "✅" not in text
    assert "Positions with no price (not valued): XOM" in text
    assert "On the filled shares (estimates pro rata): commission est $3.10 vs actual $2.10" in text


def test_cash_ticked_only_against_the_broker_statement(file_day):
    where, cfg, d = file_day
    cash_after = D(10000) - (D(10) * D("150.10") + D(5) * D("200.20") + D(300) * D("20.01")) - D("2.10")
    for given, ok in ((cash_after, True), (cash_after + D("0.01"), True), (cash_after + D("0.02"), False)):
        r = reconcile(where, cfg, d, "--broker-cash", str(given))
        text = (d / "reconciliation_report.txt").read_text()
        j = json.loads((d / "reconciliation.json").read_text())
        assert j["cash_matches"] is ok and j["broker_cash"] == float(given)
        if ok:
            assert r.returncode == 0, r.stderr
            assert "Cash Balance: ✅" in text and not [b for b in j["breaks"] if b["kind"] == "cash_mismatch"]
        else:
            assert r.returncode == 1  # a break
            assert "Cash Balance: ❌" in text and "✅" not in text
            (b,) = [b for b in j["breaks"] if b["kind"] == "cash_mismatch"]
            assert b["planned"] == cents(cash_after) and b["executed"] == float(given)
    bad = reconcile(where, cfg, d, "--broker-cash", "nan")
    assert bad.returncode == 2 and "--broker-cash" in bad.stderr


def _paper_day(tmp_path: Path, *, opening_cash: str | None, starting_cash: str) -> tuple[Path, Path]:
    live = tmp_path / "live"
    d = live / DAY
    d.mkdir(parents=True)
    cfg = tmp_path / "config.yaml"
    cfg.write_text(
        f"live_dir: {live}\n"
        + (f"opening_cash: {opening_cash}\n" if opening_cash is not None else "")
        + "execution:\n  broker: paper\n  require_human_approval: false\n"
        + f"  paper:\n    starting_cash: {starting_cash}\n    commission_min_usd: 0.35\n"
    )
    (d / "trades.csv").write_text(
        f"# Date: {DAY}\n# Kill Switch: ACTIVE\n# Safety Checks: PASSED\n"
        + HEAD
        + "AAPL,buy,10,150.30,1503.00,0.015,1.00,0.50,1.50\n"
    )
    (d / "quotes.csv").write_text(f"symbol,bid,ask,last,timestamp\nAAPL,150.20,150.30,150.25,{DAY}T14:00:00Z\n")
    r = xlexec(tmp_path, "submit", str(d / "trades.csv"), "--config", str(cfg), now=f"{DAY}T14:00:30Z")
    assert r.returncode == 0, r.stderr
    return cfg, d


# the paper broker fills AAPL's 150.30 limit at the 150.30 ask; commission: 1 bp of $1,503.00 =
# $0.1503, below the $0.35 minimum -> $0.35
PAPER_SPENT = D(10) * D("150.30") + max(D("1503.00") * D("0.0001"), D("0.35"))


@pytest.mark.parametrize("starting", ["50000", "49000"])
def test_cash_against_the_paper_brokers_account(tmp_path, starting):
    cfg, d = _paper_day(tmp_path, opening_cash="50000", starting_cash=starting)
    r = xlexec(
        tmp_path, "reconcile", "--trades", str(d / "trades.csv"), "--from-broker", "--json", "--config", str(cfg)
    )
    j = json.loads(r.stdout)
    # the first day's cash before comes from the config's opening_cash, whatever the broker holds
    assert j["cash_before"] == 50000.0 and j["cash_after"] == cents(D(50000) - PAPER_SPENT)
    assert j["broker_cash"] == cents(D(starting) - PAPER_SPENT)
    text = (d / "reconciliation_report.txt").read_text()
    if starting == "50000":
        assert r.returncode == 0 and j["cash_matches"] is True and "Cash Balance: ✅" in text
    else:
        assert r.returncode == 1 and j["cash_matches"] is False and "Cash Balance: ❌" in text
    assert json.loads((d / "opening_cash.json").read_text())["cash_usd"] == 50000.0


def test_first_day_cash_is_never_worked_back_from_the_broker(tmp_path):
    cfg, d = _paper_day(tmp_path, opening_cash=None, starting_cash="50000")
    r = xlexec(
        tmp_path, "reconcile", "--trades", str(d / "trades.csv"), "--from-broker", "--json", "--config", str(cfg)
    )
    assert r.returncode == 0, r.stderr
    j = json.loads(r.stdout)
    assert j["cash_before"] is None and j["cash_after"] is None and j["cash_matches"] is None
    assert "Cash Balance: not checked (no starting cash)" in (d / "reconciliation_report.txt").read_text()
    assert json.loads((d / "opening_cash.json").read_text())["cash_usd"] is None


def test_pnl_today_with_and_without_the_previous_close(tmp_path):
    cfg, d = _paper_day(tmp_path, opening_cash="50000", starting_cash="50000")
    later = f"{DAY}T14:05:00Z"
    # AAPL bought today only: its P&L today is the traded part, from the fill to the mark (the
    # paper broker's price, the quote mid 150.25): 10 x (150.25 - 150.30) - 0.35
    r = xlexec(tmp_path, "pnl", "--date", DAY, "--json", "--config", str(cfg), now=later)
    assert r.returncode == 0, r.stderr
    p = json.loads(r.stdout)
    assert p["total_pnl"] == cents(D(10) * (D("150.25") - D("150.30")) - D("0.35"))
    # the next day AAPL is held from the start: without the previous close its P&L today is unknown
    nxt = "2025-10-31"
    (tmp_path / "live" / nxt).mkdir()
    (tmp_path / "live" / nxt / "quotes.csv").write_text(
        f"symbol,bid,ask,last,timestamp\nAAPL,152.00,152.20,152.10,{nxt}T14:00:00Z\n"
    )
    r = xlexec(tmp_path, "pnl", "--date", nxt, "--json", "--config", str(cfg), now=f"{nxt}T14:05:00Z")
    p = json.loads(r.stdout)
    (a,) = p["by_symbol"]
    assert p["total_pnl"] is None and a["pnl"] is None and a["basis"] == "no previous close"
    # the gain since purchase (10 x (152.10 - 150.30)) is shown under its own name, never as today's
    assert a["unrealised_since_purchase"] == cents(D(10) * (D("152.10") - D("150.30")))
    r = xlexec(tmp_path, "pnl", "--date", nxt, "--config", str(cfg), now=f"{nxt}T14:05:00Z")
    assert "unknown: no P&L today for AAPL (no previous close)" in r.stdout
    # with the previous session's close 151.00: 10 x (152.10 - 151.00)
    (d / "closes.csv").write_text("symbol,close\nAAPL,151.00\n")
    r = xlexec(tmp_path, "pnl", "--date", nxt, "--json", "--config", str(cfg), now=f"{nxt}T14:05:00Z")
    p = json.loads(r.stdout)
    assert p["total_pnl"] == cents(D(10) * (D("152.10") - D("151.00"))) and p["by_symbol"][0]["basis"] == "prev_close"


def test_tca_counts_fully_partially_and_not_executed_apart(file_day):
    """TCA compares each trade of the plan (the parents, not the day's slices): AAPL 10/10 is
    fully executed; JPM 5/11 and BIG 300/1000 partially; TSLA 0/4 not at all."""
    where, cfg, d = file_day
    r = xlexec(where, "tca", str(d), "--json", "--config", str(cfg))
    assert r.returncode == 0, r.stderr
    j = json.loads(r.stdout)
    assert (j["trades_planned"], j["trades_filled"]) == (4, 3)  # filled = any fill
    assert (j["trades_fully_executed"], j["trades_partial"], j["trades_not_executed"]) == (1, 2, 1)
    assert j["execution_counts"] == "Fully executed 1, partially 2, not executed 1 of 4"
    text = xlexec(where, "tca", str(d), "--config", str(cfg)).stdout
    assert "Orders: Fully executed 1, partially 2, not executed 1 of 4" in text


def test_per_trade_slippage_bps_stored_in_full_and_rounded_only_when_shown(file_day):
    """reconciliation_trades.csv keeps each trade's slippage bps unrounded (the CSV number format:
    up to 10 places, no float noise); the Reconcile tab rounds it only in its number format.
    AAPL: (150.10 - 150.00) / 150.00 x 10^4 = 6.666... bps; JPM 10 bps; BIG 5 bps exactly."""
    import openpyxl

    where, cfg, d = file_day
    assert reconcile(where, cfg, d).returncode == 0
    text = (d / "reconciliation_trades.csv").read_text().splitlines()
    head = text[0].split(",")
    rows = {x.split(",")[0]: x.split(",") for x in text[1:]}
    col = head.index("slippage_bps")

    def bps(fill: str, signal: str) -> Decimal:
        return (D(fill) - D(signal)) / D(signal) * 10000

    aapl = bps("150.10", "150.00")
    assert rows["AAPL"][col] == str(aapl.quantize(D("1e-10"), rounding=ROUND_HALF_UP)) == "6.6666666667"
    assert rows["AAPL"][col] != "6.67"  # not rounded to 0.01 when stored
    assert rows["JPM"][col] == f"{bps('200.20', '200.00'):.2f}" == "10.00"  # no 10.000000000000142
    assert rows["BIG"][col] == f"{bps('20.01', '20.00'):.2f}" == "5.00"
    assert rows["TSLA"][col] == ""  # nothing filled: no slippage

    book = where / "book.xlsx"
    r = xlexec(where, "workbook", "build", "--config", str(cfg), "--output", str(book), "--no-macros")
    assert r.returncode == 0, r.stderr
    r = xlexec(where, "button", "load-trades", "--book", str(book), "--day", DAY)
    assert r.returncode == 0, r.stderr
    ws = openpyxl.load_workbook(book)["Reconcile"]
    cells = [c for row in ws.iter_rows() for c in row if c.value is not None]
    header = next(c for c in cells if c.value == "Slippage")
    aapl_row = next(c.row for c in cells if c.value == "AAPL" and c.column < header.column)
    cell = ws.cell(aapl_row, header.column)
    assert cell.value == pytest.approx(float(aapl), abs=1e-9)  # the full figure in the cell
    assert cell.number_format.startswith("#,##0.00")  # shown to 0.01 bps
