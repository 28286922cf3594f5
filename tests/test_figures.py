"""One definition per cost figure: reconcile, TCA, the month and the execution log agree.

Every expected value is computed here by hand, with Decimal, from the inputs written below
(never by calling xlexec's functions); xlexec runs as ``python -m xlexec`` subprocesses from a
tmp folder (``cwd``), never in this process's current folder.
"""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from tests import cli_fork

ROOT = Path(__file__).resolve().parents[1]
DAY = "2025-11-03"
CENT = Decimal("0.01")


def half_up(x: Decimal, q: Decimal = CENT) -> float:
    return float(x.quantize(q, rounding=ROUND_HALF_UP))


def cli(tmp: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return cli_fork.run(
        [sys.executable, "-m", "xlexec", *args, "--config", str(tmp / "config.yaml")],
        cwd=tmp,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def setup_folder(tmp: Path) -> Path:
    live = tmp / "live"
    live.mkdir()
    (tmp / "config.yaml").write_text(f"live_dir: {live}\n")
    return live


# ---------------------------------------------------------------- one hand-computed day
#
# AAPL buy 100 @ signal 150.00: two partial fills 60 @ 151.00 and 40 @ 152.25 (unfavourable)
# MSFT sell 50 @ signal 380.00: 20 filled @ 390.00 (partial, favourable), an IBKR rebate
# NVDA buy 30 @ signal 200.00: nothing filled
# AMD  buy 10 @ 50.00: a fill nobody planned (commission paid all the same)
TRADES = f"""# Date: {DAY}
# Portfolio Value: $100,000.00
symbol,side,shares,price,notional,weight_change,commission_est,slippage_est,total_cost_est
AAPL,buy,100,150.00,15000.00,0.15,1.00,3.00,4.00
MSFT,sell,50,380.00,19000.00,-0.19,1.00,3.80,4.80
NVDA,buy,30,200.00,6000.00,0.06,0.50,1.20,1.70
"""
IBKR_HEADER = "Symbol,Buy/Sell,Quantity,Price,IBCommission,TradeDate,Date/Time,OrderID,ExecID,OrderReference"
# (symbol, side, signed quantity, price, IBCommission: negative = charged, positive = rebate)
IBKR_ROWS = [
    ("AAPL", "BUY", "60", "151.00", "-0.30"),
    ("AAPL", "BUY", "40", "152.25", "-0.20"),
    ("MSFT", "SELL", "-20", "390.00", "0.05"),
    ("AMD", "BUY", "10", "50.00", "-0.25"),
]
SIGNAL = {"AAPL": Decimal("150.00"), "MSFT": Decimal("380.00")}


def hand_figures():
    """Slippage vs the signal price (> 0 = cost), weighted by benchmark notional, the plain
    mean per trade and the commission of every fill (rebate negative), from IBKR_ROWS."""
    per: dict[str, list[Decimal]] = {}
    comm = unplanned = Decimal(0)
    for sym, bs, q, px, c in IBKR_ROWS:
        paid = -Decimal(c)
        comm += paid
        if sym not in SIGNAL:
            unplanned += paid
            continue
        side = 1 if bs == "BUY" else -1
        sh = abs(Decimal(q))
        acc = per.setdefault(sym, [Decimal(0), Decimal(0)])  # slippage $, benchmark notional $
        acc[0] += side * sh * (Decimal(px) - SIGNAL[sym])
        acc[1] += sh * SIGNAL[sym]
    usd = sum(v[0] for v in per.values())
    notional = sum(v[1] for v in per.values())
    bps = [v[0] / v[1] * 10000 for v in per.values()]
    return {
        "usd": usd,  # 100 x (151.50 - 150) - 20 x (390 - 380) = 150 - 200 = -50
        "bps": usd / notional * 10000,  # -50 / (15000 + 7600) x 10^4 = -22.12 bps
        "mean_bps": sum(bps) / len(bps),  # (100 + -263.16) / 2 = -81.58 bps
        "commission": comm,  # 0.30 + 0.20 - 0.05 + 0.25 = 0.70
        "unplanned": unplanned,  # 0.25
    }


@pytest.fixture(scope="module")
def day(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("figures")
    live = setup_folder(tmp)
    dd = live / DAY
    dd.mkdir()
    (dd / "trades.csv").write_text(TRADES)
    rows = [
        ",".join([s, bs, q, px, c, DAY.replace("-", ""), f"{DAY.replace('-', '')};10000{i}", f"o{i}", f"e{i}", ""])
        for i, (s, bs, q, px, c) in enumerate(IBKR_ROWS)
    ]
    fills = tmp / "ibkr.csv"
    fills.write_text(IBKR_HEADER + "\n" + "\n".join(rows) + "\n")
    (live / "current_positions.csv").write_text("symbol,shares,avg_cost\nMSFT,100,300.00\n")
    return tmp, live, dd, fills


@pytest.fixture(scope="module")
def outputs(day):
    """The day's TCA and reconciliation JSON, from the CLI."""
    tmp, live, dd, fills = day
    t = cli(tmp, "tca", str(dd), "--fills", str(fills), "--json")
    assert t.returncode == 0, t.stderr
    tca = json.loads(t.stdout)
    r = cli(
        tmp,
        "reconcile",
        "--trades",
        str(dd / "trades.csv"),
        "--fills",
        str(fills),
        "--current-positions",
        str(live / "current_positions.csv"),
        "--cash",
        "100000",
        "--json",
    )
    assert r.returncode == 1, r.stderr  # the unplanned fill is a break
    return tca, json.loads(r.stdout)


def test_reconcile_and_tca_give_the_same_slippage_and_commission(day, outputs):
    dd = day[2]
    tca, rec = outputs
    h = hand_figures()
    # the same aggregate slippage ($ and bps vs the signal price, benchmark-notional-weighted)
    assert tca["slippage"]["actual_usd"] == rec["slippage_usd"] == half_up(h["usd"]) == -50.00
    assert tca["slippage"]["actual_bps"] == rec["slippage_bps_avg"] == half_up(h["bps"]) == -22.12
    assert tca["exact"]["slippage_bps"] == pytest.approx(float(h["bps"]), abs=1e-9)
    assert rec["exact"]["slippage_bps_avg"] == pytest.approx(float(h["bps"]), abs=1e-9)
    # the plain mean per trade, labelled apart
    assert tca["slippage_mean_bps"] == rec["slippage_bps_mean"] == half_up(h["mean_bps"]) == -81.58
    # the same commission: every fill, the IBKR rebate a negative cost, unplanned shown apart
    assert tca["commission"]["actual"] == rec["commission_actual"] == half_up(h["commission"]) == 0.70
    assert tca["commission_unplanned"] == rec["commission_unplanned"] == half_up(h["unplanned"]) == 0.25
    # both name their benchmark and weighting
    for doc in (tca, rec):
        assert doc["figures"]["benchmark"].startswith("signal price")
        assert doc["figures"]["weighting"].startswith("sum of slippage $ / sum of benchmark notional")
    # TCA's shortfall and opportunity cost have other benchmarks: named too
    assert tca["figures"]["arrival"].startswith("arrival price (quote mid recorded when the order was submitted")
    assert tca["figures"]["close"].startswith("close (the day's closing price")
    tca_text = (dd / "tca_report.txt").read_text()
    assert "Delay (signal -> arrival)" in tca_text and "(close - signal)" in tca_text
    report = (dd / "reconciliation_report.txt").read_text()
    assert "vs the signal price" in report and "(every fill; rebates negative)" in report
    assert "signal price" in (dd / "tca_report.txt").read_text()


def test_the_accounting_pages_worked_example_is_this_day(outputs):
    """docs/accounting.md's worked example: its numbers are the hand-computed ones and xlexec's."""
    text = (ROOT / "docs" / "accounting.md").read_text()
    block = re.search(r"```example\n(.*?)```", text, re.S)
    assert block, "docs/accounting.md has no worked example block"
    doc = {k.strip(): float(v) for k, v in (ln.split("=") for ln in block.group(1).strip().splitlines())}
    h = hand_figures()
    tca, rec = outputs
    assert doc == {
        "slippage_usd": half_up(h["usd"]),
        "slippage_bps": half_up(h["bps"]),
        "slippage_mean_bps": half_up(h["mean_bps"]),
        "commission": half_up(h["commission"]),
        "commission_unplanned": half_up(h["unplanned"]),
    }
    assert doc["slippage_usd"] == tca["slippage"]["actual_usd"] == rec["slippage_usd"]
    assert doc["slippage_bps"] == tca["slippage"]["actual_bps"] == rec["slippage_bps_avg"]
    assert doc["slippage_mean_bps"] == tca["slippage_mean_bps"] == rec["slippage_bps_mean"]
    assert doc["commission"] == tca["commission"]["actual"] == rec["commission_actual"]
    assert doc["commission_unplanned"] == tca["commission_unplanned"] == rec["commission_unplanned"]


# ---------------------------------------------------------------- the month rounds once


def test_month_total_is_the_sum_of_unrounded_days_rounded_once(tmp_path):
    live = setup_folder(tmp_path)
    # each day: buy 2 @ signal 10.00 filled at 10.437 / 10.432 / 10.437 -> $0.874, $0.864, $0.874
    fills_at = {"2025-11-03": "10.437", "2025-11-04": "10.432", "2025-11-05": "10.437"}
    for d, px in fills_at.items():
        dd = live / d
        dd.mkdir()
        (dd / "trades.csv").write_text(
            f"# Date: {d}\n# Portfolio Value: $1,000.00\n"
            "symbol,side,shares,price,notional,weight_change,commission_est,slippage_est,total_cost_est\n"
            "XYZ,buy,2,10.00,20.00,0.02,0,0,0\n"
        )
        (dd / "broker_fills.csv").write_text(
            "date,symbol,side,shares,price,commission,fill_time,order_id,client_order_id\n"
            f"{d},XYZ,buy,2,{px},0.0033,10:00:00,o-{d},\n"
        )
        r = cli(tmp_path, "tca", str(dd), "--json")
        assert r.returncode == 0, r.stderr
    r = cli(tmp_path, "monthly", "--month", "2025-11", "--json")
    assert r.returncode == 0, r.stderr
    m = json.loads(r.stdout)
    daily = [2 * (Decimal(px) - Decimal("10.00")) for px in fills_at.values()]
    assert sum(half_up(x) for x in daily) == pytest.approx(2.60)  # rounding each day first: wrong
    assert m["slippage_usd"] == half_up(sum(daily)) == 2.61  # 2.612 rounded once
    assert m["exact"]["slippage_usd"] == pytest.approx(float(sum(daily)), abs=1e-12)
    # commission 3 x 0.0033 = 0.0099 -> 0.01 (each day's 0.00 would sum to 0.00)
    assert m["total_commission"] == half_up(3 * Decimal("0.0033")) == 0.01
    notional = 3 * 2 * Decimal("10.00")
    assert m["avg_slippage_bps"] == half_up(sum(daily) / notional * 10000)  # 435.33
    assert m["figures"]["benchmark"].startswith("signal price")
    row = next(csv.DictReader((live / "monthly_costs.csv").open()))
    assert row["slippage_usd"] == "2.61" and row["total_commission"] == "0.01"


# ---------------------------------------------------------------- the demo day's files

NOISE = re.compile(r"(?<![\w.])-?\d+\.\d*(?:9{6,}|0{6,})\d+(?![\w.])")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    d = tmp_path_factory.mktemp("demo_figures")
    r = cli_fork.run(
        [sys.executable, "-m", "xlexec", "demo", "--dir", str(d)],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=d,
        env={**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")},
    )
    assert r.returncode == 0, r.stderr
    return d / "live"


def test_no_csv_of_a_demo_day_has_float_noise_or_minus_zero(demo):
    csvs = sorted(demo.rglob("*.csv"))
    assert len(csvs) >= 8
    for p in csvs:
        for n, row in enumerate(csv.reader(p.open(encoding="utf-8")), 1):
            for cell in row:
                assert not NOISE.fullmatch(cell), (p.name, n, cell)
                assert not re.fullmatch(r"-0(\.0*)?", cell), (p.name, n, cell)


def test_execution_log_slippage_is_tcas_against_the_signal_price(demo):
    dd = demo / "2025-10-30"
    signal = {}
    for r in csv.DictReader(line for line in (dd / "trades.csv").open() if not line.startswith("#")):
        signal[(r["symbol"], r["side"])] = Decimal(r["price"])
    fills: dict[tuple[str, str], list[Decimal]] = {}
    for r in csv.DictReader((dd / "broker_fills.csv").open()):
        sh, px = Decimal(r["shares"]), Decimal(r["price"])
        acc = fills.setdefault((r["symbol"], r["side"]), [Decimal(0), Decimal(0)])
        acc[0] += sh
        acc[1] += sh * px
    log = list(csv.DictReader((dd / "execution_log.csv").open()))
    assert list(log[0])[:11] == [
        "date",
        "symbol",
        "side",
        "shares",
        "limit_price",
        "fill_price",
        "fill_time",
        "order_id",
        "commission",
        "slippage",
        "notes",
    ]
    checked = 0
    tca_total = Decimal(0)
    for r in log:
        key = (r["symbol"], r["side"])
        if key not in fills or r["slippage"] == "":
            continue
        sh, pxsh = fills[key]
        side = 1 if r["side"] == "buy" else -1
        by_hand = side * (pxsh - sh * signal[key])  # side x shares x (avg fill - signal)
        assert float(r["slippage"]) == pytest.approx(float(by_hand), abs=1e-6), r["symbol"]
        tca_total += by_hand
        if r["limit_price"]:
            vs_limit = side * (pxsh - sh * Decimal(r["limit_price"]))
            assert float(r["slippage_vs_limit"]) == pytest.approx(float(vs_limit), abs=1e-6), r["symbol"]
        checked += 1
    assert checked >= 5
    tca = json.loads((dd / "tca.json").read_text())
    assert tca["slippage"]["actual_usd"] == half_up(tca_total)
