"""Monthly returns, time-weighted with the external cash flows of ``live/cash_flows.csv``, and the
month's turnover, against a five-day month computed by hand (Decimal, from the inputs).

Every run is ``python -m xlexec`` in a subprocess started in a folder that is not the project,
with ``--config`` (absolute paths).
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from decimal import Decimal, getcontext
from pathlib import Path

import pytest

from tests import cli_fork

getcontext().prec = 50
ROOT = str(Path(__file__).resolve().parents[1])
TRADES_HDR = "symbol,side,shares,price,notional,weight_change,commission_est,slippage_est,total_cost_est\n"
FILLS_HDR = "date,symbol,side,shares,price,commission,fill_time,order_id,client_order_id\n"

# The month (signal price 100.00 for every trade; commission is what each fill paid):
#   day    flow      header pv  trade             fills (shares @ price, commission)   V_end (reconciled)
#   11-03            100,000    AAPL buy 100      100 @ 100.05, 1.00                   100,400
#   11-04  +50,000   150,400    MSFT buy 200      200 @ 100.02, 2.00                   151,000
#   11-05            151,000    NVDA sell 50      50 @ 99.90, 0.50                     150,200
#   11-06  -20,000   130,200    XOM buy 300       150 @ 100.03, 1.50 ; 150 @ 100.01, 1.50 130,900
#   11-07            130,900    AMD sell 100      100 @ 100.03, 1.00                   131,100
# opening value: 2025-10-31 reconciled 100,000.
DAYS = [
    ("2025-11-03", "100000", "AAPL,buy,100", [("100", "100.05", "1.00")], "100400"),
    ("2025-11-04", "150400", "MSFT,buy,200", [("200", "100.02", "2.00")], "151000"),
    ("2025-11-05", "151000", "NVDA,sell,50", [("50", "99.90", "0.50")], "150200"),
    ("2025-11-06", "130200", "XOM,buy,300", [("150", "100.03", "1.50"), ("150", "100.01", "1.50")], "130900"),
    ("2025-11-07", "130900", "AMD,sell,100", [("100", "100.03", "1.00")], "131100"),
]
FLOWS = {"2025-11-04": Decimal("50000"), "2025-11-06": Decimal("-20000")}
SIGNAL = Decimal("100.00")
OPENING = Decimal("100000")


def xlexec(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    env["XLEXEC_NOW"] = "2025-11-07T21:30:00+00:00"
    return cli_fork.run(
        [sys.executable, "-m", "xlexec", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


@pytest.fixture
def desk(tmp_path):
    """(config, live dir, a working folder that is neither) with the month's five day folders."""
    live, elsewhere = tmp_path / "desk" / "live", tmp_path / "elsewhere"
    live.mkdir(parents=True)
    elsewhere.mkdir()
    prev = live / "2025-10-31"
    prev.mkdir()
    (prev / "reconciliation.json").write_text(json.dumps({"portfolio_value_after": float(OPENING)}))
    for day, pv, trade, fills, v_end in DAYS:
        d = live / day
        d.mkdir()
        sym, side, shares = trade.split(",")
        notional = Decimal(shares) * SIGNAL
        (d / "trades.csv").write_text(
            f"# Date: {day}\n# Portfolio Value: ${pv}\n"
            + TRADES_HDR
            + f"{sym},{side},{shares},{SIGNAL},{notional},0.1,1.00,1.00,2.00\n"
        )
        (d / "broker_fills.csv").write_text(
            FILLS_HDR
            + "".join(f"{day},{sym},{side},{q},{px},{c},10:00:00,O{i},\n" for i, (q, px, c) in enumerate(fills))
        )
        (d / "reconciliation.json").write_text(json.dumps({"portfolio_value_after": float(v_end)}))
    cfg = tmp_path / "desk" / "config.yaml"
    cfg.write_text(f"live_dir: {live}\nexecution:\n  broker: paper\n")
    return cfg, live, elsewhere


def day_costs():
    """Per day, by hand: (commission $, slippage $ vs the signal price, notional $, plain bps)."""
    out = []
    for _, _, trade, fills, _ in DAYS:
        side = 1 if trade.split(",")[1] == "buy" else -1
        comm = sum(Decimal(c) for _, _, c in fills)
        slip = sum(side * Decimal(q) * (Decimal(px) - SIGNAL) for q, px, _ in fills)
        shares = sum(Decimal(q) for q, _, _ in fills)
        avg = sum(Decimal(q) * Decimal(px) for q, px, _ in fills) / shares
        out.append((comm, slip, shares * SIGNAL, side * (avg - SIGNAL) / SIGNAL * 10000))
    return out


def hand_returns(flows):
    """Linked (net, gross) by hand: each day r = (V_end - V_start - F) / (V_start + F) with F at
    the start of the day, gross = r + (commission + slippage) / (V_start + F), prod(1 + r) - 1."""
    net, gross, v_start = Decimal(1), Decimal(1), OPENING
    for (day, _, _, _, v_end), (comm, slip, _, _) in zip(DAYS, day_costs()):
        f = flows.get(day, Decimal(0))
        base = v_start + f
        r = (Decimal(v_end) - v_start - f) / base
        net *= 1 + r
        gross *= 1 + r + (comm + slip) / base
        v_start = Decimal(v_end)
    return net - 1, gross - 1


def month(cfg, elsewhere, *extra):
    r = xlexec(elsewhere, "monthly", "--month", "2025-11", "--json", "--config", str(cfg), *extra)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_deposit_and_withdrawal_are_not_return(desk):
    cfg, live, elsewhere = desk
    (live / "cash_flows.csv").write_text(
        'date,amount,note\n2025-11-04,"$50,000.00",wire in\n2025-11-06,-20000,withdrawal\n'
    )
    m = month(cfg, elsewhere)
    net, gross = hand_returns(FLOWS)
    assert m["exact"]["net_return"] == pytest.approx(float(net), abs=1e-10)
    assert m["exact"]["gross_return"] == pytest.approx(float(gross), abs=1e-10)
    # the net return is about +1%, not the +31% the flows would make it
    assert abs(float(net)) < 0.02
    e = m["exact"]
    assert e["gross_return"] - e["commission_costs"] - e["slippage_costs"] == pytest.approx(e["net_return"], abs=1e-12)
    assert m["cash_flows"] == 30000.00
    row = next(csv.DictReader((live / "monthly_costs.csv").open()))
    assert float(row["net_return"]) == pytest.approx(float(net), abs=1e-8)
    assert float(row["gross_return"]) == pytest.approx(float(gross), abs=1e-8)
    assert row["cash_flows"] == "30000.00"
    r = xlexec(elsewhere, "monthly", "--month", "2025-11", "--config", str(cfg))
    assert r.returncode == 0, r.stderr
    assert "External cash flows:           $30,000.00" in r.stdout
    assert f"Net Return:        {float(net) * 100:+.3f}%" in r.stdout


def test_without_cash_flows_a_deposit_shows_as_return(desk):
    cfg, live, elsewhere = desk
    m = month(cfg, elsewhere)  # no live/cash_flows.csv: no flows
    # every move is return: the values telescope, 131,100 / 100,000 - 1 = 0.311
    assert m["exact"]["net_return"] == pytest.approx(float(Decimal(131100) / OPENING - 1), abs=1e-10)
    assert m["exact"]["net_return"] == pytest.approx(float(hand_returns({})[0]), abs=1e-10)
    assert m["cash_flows"] == 0.0
    with_flows, _ = hand_returns(FLOWS)
    assert m["exact"]["net_return"] - float(with_flows) > 0.25  # the deposit (less the withdrawal) as "return"
    (live / "cash_flows.csv").write_text("date,amount,note\n")  # header only: no flows either
    m2 = month(cfg, elsewhere)
    assert m2["exact"]["net_return"] == pytest.approx(m["exact"]["net_return"], abs=1e-15)
    assert m2["exact"]["gross_return"] == pytest.approx(float(hand_returns({})[1]), abs=1e-10)


def test_turnover_and_its_correlation_with_cost(desk):
    cfg, live, elsewhere = desk
    m = month(cfg, elsewhere)
    costs = day_costs()
    pv = [Decimal(p) for _, p, _, _, _ in DAYS]
    avg_pv = sum(pv) / len(pv)  # 662,500 / 5 = 132,500
    notional = [n for _, _, n, _ in costs]
    assert m["exact"]["turnover"] == pytest.approx(float(sum(notional) / avg_pv), abs=1e-12)  # 75,000 / 132,500
    assert m["turnover"] == pytest.approx(0.56603774, abs=1e-8)
    # Pearson over the days of (notional / that day's portfolio value) with (commission + slippage)
    t = [n / p for n, p in zip(notional, pv)]
    c = [cm + sl for cm, sl, _, _ in costs]
    mt, mc = sum(t) / 5, sum(c) / 5
    sxy = sum((a - mt) * (b - mc) for a, b in zip(t, c))
    sxx = sum((a - mt) ** 2 for a in t)
    syy = sum((b - mc) ** 2 for b in c)
    corr = sxy / (sxx * syy).sqrt()
    assert m["turnover_cost_corr"] == pytest.approx(float(corr), abs=1e-6)
    # the two slippage figures, each labelled: weighted by notional vs a plain mean per trade
    slip = sum(sl for _, sl, _, _ in costs)  # 5 + 4 + 5 + 6 - 3 = 17
    assert m["avg_slippage_bps"] == pytest.approx(float(slip / sum(notional) * 10000), abs=0.005)  # 2.27
    # plain mean (5 + 2 + 10 + 2 - 3) / 5 = 3.20
    assert m["slippage_mean_bps"] == pytest.approx(float(sum(b for *_, b in costs) / 5), abs=0.005)
    assert m["total_cost"] == pytest.approx(float(sum(c)), abs=0.005)
    assert [b["broker"] for b in m["broker_comparison"]] == ["paper"]
    row = next(csv.DictReader((live / "monthly_costs.csv").open()))
    assert list(row)[:5] == ["month", "gross_return", "commission_costs", "slippage_costs", "net_return"]
    assert row["turnover"] == "0.56603774" and row["slippage_mean_bps"] == "3.20" and row["avg_slippage_bps"] == "2.27"
    text = xlexec(elsewhere, "monthly", "--month", "2025-11", "--config", str(cfg)).stdout
    assert "Slippage, notional-weighted:   2.27 bps" in text
    assert "Slippage, plain mean/trade:    3.20 bps" in text
    assert "Turnover:                      56.604%" in text


def test_the_csv_names_its_benchmark_and_weighting(desk):
    """monthly_costs.csv read alone says what its slippage is measured against and how it is
    weighted: the same words as the month's JSON ``figures`` (and the daily tca.json's)."""
    cfg, live, elsewhere = desk
    m = month(cfg, elsewhere)
    with (live / "monthly_costs.csv").open(newline="") as fh:
        row = next(csv.DictReader(fh))
    assert row["benchmark"].startswith("signal price") and row["benchmark"] == m["figures"]["benchmark"]
    assert row["weighting"] == m["figures"]["weighting"]
    assert "sum of slippage $ / sum of benchmark notional" in row["weighting"]
    assert row["mean_weighting"] == m["figures"]["mean_weighting"] and "plain mean" in row["mean_weighting"]
    r = xlexec(elsewhere, "tca", str(live / DAYS[0][0]), "--config", str(cfg))
    assert r.returncode == 0, r.stderr
    tca = json.loads((live / DAYS[0][0] / "tca.json").read_text())
    assert (row["benchmark"], row["weighting"]) == (tca["figures"]["benchmark"], tca["figures"]["weighting"])
    text = xlexec(elsewhere, "monthly", "--month", "2025-11", "--config", str(cfg)).stdout
    assert f"Benchmark:                     {row['benchmark']}" in text
    assert f"Weighting (notional-weighted): {row['weighting']}" in text


def test_a_bad_amount_is_refused_naming_file_row_column(desk):
    cfg, live, elsewhere = desk
    flows = live / "cash_flows.csv"
    flows.write_text("date,amount,note\n2025-11-04,50000,wire in\n2025-11-06,twenty thousand,withdrawal\n")
    r = xlexec(elsewhere, "monthly", "--month", "2025-11", "--config", str(cfg))
    assert r.returncode == 2
    line = r.stderr.strip()
    assert "\n" not in line
    assert str(flows) in line and "row 3" in line and "column 'amount'" in line
    assert not (live / "monthly_costs.csv").exists()
    flows.write_text("date,amount,note\n11/04/2025,50000,wire in\n")
    r = xlexec(elsewhere, "monthly", "--month", "2025-11", "--config", str(cfg))
    assert r.returncode == 2 and "row 2" in r.stderr and "column 'date'" in r.stderr
    flows.write_text("date,amount,note\n2025-11-04,,wire in\n")
    r = xlexec(elsewhere, "monthly", "--month", "2025-11", "--config", str(cfg))
    assert r.returncode == 2 and "row 2" in r.stderr and "column 'amount'" in r.stderr
    assert not (live / "monthly_costs.csv").exists()


def test_correlation_is_na_under_three_days(desk):
    cfg, live, elsewhere = desk
    for day, *_ in DAYS[2:]:
        for f in (live / day).iterdir():
            f.unlink()
        (live / day).rmdir()
    m = month(cfg, elsewhere)
    assert m["turnover_cost_corr"] is None
    row = next(csv.DictReader((live / "monthly_costs.csv").open()))
    assert row["turnover_cost_corr"] == "n/a"
    text = xlexec(elsewhere, "monthly", "--month", "2025-11", "--config", str(cfg)).stdout
    assert "Turnover vs costs correlation: n/a" in text


def test_the_monthly_report_button_shows_the_same_returns(desk):
    import openpyxl

    cfg, live, elsewhere = desk
    (live / "cash_flows.csv").write_text("date,amount,note\n2025-11-04,50000,wire in\n2025-11-06,-20000,out\n")
    book = cfg.parent / "book.xlsx"
    r = xlexec(elsewhere, "workbook", "build", "--config", str(cfg), "--output", str(book), "--no-macros")
    assert r.returncode == 0, r.stderr
    assert xlexec(elsewhere, "button", "load-trades", "--book", str(book), "--day", "2025-11-07").returncode == 0
    r = xlexec(elsewhere, "button", "monthly-report", "--book", str(book))
    assert r.returncode == 0, r.stderr
    rows = [list(x) for x in openpyxl.load_workbook(book)["Monthly"].iter_rows(values_only=True)]
    header = next(x for x in rows if x and x[0] == "Date")
    days = [x for x in rows if x and hasattr(x[0], "year")]
    deposit = dict(reversed(list(zip(header, days[1]))))  # 2025-11-04, the daily table's columns (first of a name)
    # by hand: V_start 100,400 (11-03's reconciled value) + 50,000 at the start of the day
    assert deposit["Cash flow (+ deposit)"] == 50000 and deposit["Return base"] == 150400
    assert deposit["Net return"] == pytest.approx(float((Decimal(151000) - 100400 - 50000) / 150400), abs=1e-12)
    text = [str(c) for x in rows for c in x if isinstance(c, str)]
    net, _ = hand_returns(FLOWS)
    assert any(t.startswith("External cash flows:           $30,000.00 (live/cash_flows.csv;") for t in text)
    assert f"   Net Return:        {float(net) * 100:+.3f}%" in text
    # the tab names the slippage's benchmark and weighting, as monthly_costs.csv does
    with (live / "monthly_costs.csv").open(newline="") as fh:
        month_row = next(csv.DictReader(fh))
    assert month_row["benchmark"].startswith("signal price")
    assert any(t.startswith("Benchmark:") and t.endswith(month_row["benchmark"]) for t in text)
    assert any(t.startswith("Weighting (notional-weighted):") and t.endswith(month_row["weighting"]) for t in text)
    # a bad amount: the button refuses in one line naming file, row and column
    (live / "cash_flows.csv").write_text("date,amount,note\n2025-11-04,abc,wire in\n")
    r = xlexec(elsewhere, "button", "monthly-report", "--book", str(book))
    assert r.returncode == 2
    assert f"{live / 'cash_flows.csv'}, row 2, column 'amount'" in r.stderr
