"""The month's market benchmarks through the CLI, by hand: three days run through ``xlexec tca``
(two with minute bars, one without), then ``xlexec monthly``: the broker comparison and the
weekly trend on the same benchmarks, the percentiles of the per-order cost and its 5 bps
histogram. Every expected figure is computed here, in Decimal, from the bars and fills this
test writes; the code runs as a subprocess from a folder that is not the project."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import openpyxl
import pytest

from tests import cli_fork
from xlexec.core.orders import orders_from_trades
from xlexec.formats.trades import read_trades
from xlexec.store.journal import INTENT, Journal

D = Decimal
HDR = "symbol,side,shares,price,notional,weight_change,commission_est,slippage_est,total_cost_est\n"
# day -> orders: symbol, side, shares, signal $, arrival $, fill $, broker, submitted, filled (UTC HH:MM:SS)
ORDERS = {
    "2025-10-22": [
        ("AAPL", "buy", 100, "150.00", "150.05", "150.10", "alpaca", "13:44:30", "13:45:10"),
        ("MSFT", "sell", 50, "400.00", "399.90", "399.70", "paper", "14:00:00", "14:01:00"),
    ],
    "2025-10-29": [
        ("AAPL", "sell", 40, "152.00", "151.90", "151.80", "alpaca", "15:00:00", "15:00:30"),
        ("NVDA", "buy", 10, "100.00", "100.02", "100.06", "paper", "15:09:00", "15:10:00"),
    ],
    "2025-10-30": [  # no bars.csv: the market benchmarks are missing, the rest stands
        ("MSFT", "buy", 20, "401.00", "401.10", "401.30", "alpaca", "14:30:00", "14:31:00"),
    ],
}
# day -> bars: symbol, minute, close, volume, vwap ("" = none: the close counts)
BARS = {
    "2025-10-22": [
        ("AAPL", "13:44", "150.00", "1000", "150.02"),
        ("AAPL", "13:45", "150.10", "3000", "150.08"),
        ("AAPL", "13:46", "150.20", "2000", ""),
        ("MSFT", "14:00", "399.80", "500", "399.85"),
        ("MSFT", "14:01", "399.60", "1500", "399.65"),
    ],
    "2025-10-29": [
        ("AAPL", "14:59", "151.95", "800", "151.97"),
        ("AAPL", "15:00", "151.85", "2000", "151.84"),
        ("NVDA", "15:09", "100.03", "100", "100.03"),
        ("NVDA", "15:10", "100.05", "300", "100.04"),
    ],
}
CLOSES = {
    "2025-10-22": {"AAPL": "150.50", "MSFT": "399.00"},
    "2025-10-29": {"AAPL": "151.00", "NVDA": "100.50"},
    "2025-10-30": {"MSFT": "402.00"},
}
# each order's interval bars (the minutes overlapping submission .. last fill), by hand
INTERVAL = {
    ("2025-10-22", "AAPL"): ["13:44", "13:45"],  # 13:44:30 .. 13:45:10
    ("2025-10-22", "MSFT"): ["14:00", "14:01"],  # 14:00:00 .. 14:01:00
    ("2025-10-29", "AAPL"): ["15:00"],  # 15:00:00 .. 15:00:30
    ("2025-10-29", "NVDA"): ["15:09", "15:10"],  # 15:09:00 .. 15:10:00
}


def _q2(x: Decimal) -> float:
    return float(x.quantize(D("0.01"), rounding=ROUND_HALF_UP))


def _write_day(live: Path, day: str) -> Path:
    d = live / day
    d.mkdir(parents=True)
    rows = [f"{s},{sd},{n},{sig},{D(sig) * n:.2f},0.01,0.00,0.00,0.00" for s, sd, n, sig, *_ in ORDERS[day]]
    (d / "trades.csv").write_text(f"# Date: {day}\n# Portfolio Value: $1,000,000.00\n" + HDR + "\n".join(rows) + "\n")
    (d / "closes.csv").write_text("symbol,close\n" + "".join(f"{s},{c}\n" for s, c in CLOSES[day].items()))
    if day in BARS:
        lines = ["symbol,timestamp,open,high,low,close,volume,vwap"]
        lines += [f"{s},{day}T{m}:00Z,{c},{c},{c},{c},{v},{vw}" for s, m, c, v, vw in BARS[day]]
        (d / "bars.csv").write_text("\n".join(lines) + "\n")
    o = orders_from_trades(read_trades(d / "trades.csv"))
    coid = {(s, sd): c for s, sd, c in zip(o["symbol"], o["side"], o["client_order_id"])}
    fills = ["date,symbol,side,shares,price,commission,fill_time,order_id,client_order_id"]
    fills += [
        f"{day},{s},{sd},{n},{fill},0.00,{day}T{ft}Z,O{i},{coid[s, sd]}"
        for i, (s, sd, n, _sig, _arr, fill, _b, _st, ft) in enumerate(ORDERS[day])
    ]
    (d / "broker_fills.csv").write_text("\n".join(fills) + "\n")
    with Journal.for_live_dir(live) as j:
        for s, sd, n, sig, arr, _fill, broker, st, _ft in ORDERS[day]:
            c = coid[s, sd]
            payload = {"client_order_id": c, "symbol": s, "side": sd, "qty": n, "order_type": "limit"}
            payload |= {"price": float(sig), "arrival_price": float(arr), "submitted_at": f"{day}T{st}+00:00"}
            j.append(INTENT, c, {**payload, "broker": broker}, day=day)
    return d


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return cli_fork.run([sys.executable, "-m", "xlexec", *args], capture_output=True, text=True, timeout=120, cwd=cwd)


def _benchmarks(day: str, sym: str) -> dict[str, Decimal | None]:
    """The order's benchmark prices ($), by hand from the bars; None when there are none."""
    o = next(x for x in ORDERS[day] if x[0] == sym)
    out: dict[str, Decimal | None] = {"signal": D(o[3]), "arrival": D(o[4]), "close": D(CLOSES[day][sym])}
    bars = [(D(c), D(v), D(vw) if vw else D(c), m) for s, m, c, v, vw in BARS.get(day, []) if s == sym]
    if not bars:
        return out | {"interval_vwap": None, "twap": None, "day_vwap": None}
    iv = [b for b in bars if b[3] in INTERVAL[day, sym]]
    out["interval_vwap"] = sum(p * v for _c, v, p, _m in iv) / sum(v for _c, v, _p, _m in iv)
    out["twap"] = sum(c for c, _v, _p, _m in iv) / len(iv)
    out["day_vwap"] = sum(p * v for _c, v, p, _m in bars) / sum(v for _c, v, _p, _m in bars)
    return out


def _orders():
    """Every order: (day, broker, side +1/-1, shares, fill $, benchmark prices)."""
    for day, orders in ORDERS.items():
        for s, sd, n, _sig, _arr, fill, broker, _st, _ft in orders:
            yield day, broker, (1 if sd == "buy" else -1), D(n), D(fill), _benchmarks(day, s)


def _weighted(rows, key: str) -> float | None:
    """sum(side x shares x (fill - bm)) / sum(shares x bm) x 10^4 over the orders that have ``key``."""
    have = [(sd, n, f, b[key]) for _d, _br, sd, n, f, b in rows if b[key] is not None]
    if not have:
        return None
    usd = sum(sd * n * (f - bm) for sd, n, f, bm in have)
    return _q2(usd / sum(n * bm for _sd, n, _f, bm in have) * 10000)


def _pct(values: list[Decimal], p: int) -> Decimal:
    v = sorted(values)
    rank = D(len(v) - 1) * p / 100
    lo = int(rank)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (rank - lo) * (v[hi] - v[lo])


@pytest.fixture
def month(tmp_path):
    """The three days written and run through ``xlexec tca``: (live folder, config, cwd)."""
    live = tmp_path / "live"
    for day in ORDERS:
        _write_day(live, day)
    cfg = tmp_path / "config.yaml"
    cfg.write_text(f"live_dir: {live}\nexecution:\n  broker: paper\n")
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    for day in ORDERS:
        r = _run(["tca", str(live / day), "--json", "--config", str(cfg)], cwd)
        assert r.returncode == 0, r.stderr
    return live, cfg, cwd


def test_month_benchmarks_by_hand(month):
    live, cfg, cwd = month
    r = _run(["monthly", "--month", "2025-10", "--json", "--config", str(cfg)], cwd)
    assert r.returncode == 0, r.stderr
    bm = json.loads(r.stdout)["benchmarks"]
    rows = list(_orders())
    assert bm["orders"] == 5 and bm["days_without"] == []

    keys = ["signal", "arrival", "interval_vwap", "twap", "day_vwap", "close"]
    brokers = {b["broker"]: b for b in bm["by_broker"]}
    assert list(brokers) == ["alpaca", "paper"]
    for name, got in brokers.items():
        mine = [x for x in rows if x[1] == name]
        assert got["orders"] == len(mine)
        assert {k: got[k] for k in keys} == {k: _weighted(mine, k) for k in keys}, name
    # alpaca's interval VWAP leaves out 10-30's MSFT (no bars): only the two AAPL orders count
    a = [x for x in rows if x[1] == "alpaca" and x[0] != "2025-10-30"]
    assert brokers["alpaca"]["interval_vwap"] == _weighted(a, "interval_vwap")

    weeks = {w["week"]: w for w in bm["by_week"]}
    assert list(weeks) == ["2025-10-20", "2025-10-27"]  # 10-22 is a Wednesday; 10-29 and 10-30 share a Monday
    for wk, days in (("2025-10-20", {"2025-10-22"}), ("2025-10-27", {"2025-10-29", "2025-10-30"})):
        mine = [x for x in rows if x[0] in days]
        assert weeks[wk]["orders"] == len(mine)
        assert {k: weeks[wk][k] for k in keys} == {k: _weighted(mine, k) for k in keys}, wk

    # percentiles of the per-order cost bps, linear between the closest ranks
    for k in keys:
        v = [sd * (f - b[k]) / b[k] * 10000 for _d, _br, sd, _n, f, b in rows if b[k] is not None]
        assert bm["percentiles"][k] == {f"p{p}": _q2(_pct(v, p)) for p in (5, 25, 50, 75, 95)}, k
    assert len([x for x in rows if x[5]["twap"] is not None]) == 4  # the no-bars day is left out

    # histogram of the cost vs signal: bins [5k, 5k + 5) from the lowest to the highest
    sig = [sd * (f - b["signal"]) / b["signal"] * 10000 for _d, _br, sd, _n, f, b in rows]
    bins = [math.floor(x / 5) for x in sig]
    want = [
        {"from_bps": 5.0 * k, "to_bps": 5.0 * (k + 1), "orders": bins.count(k)} for k in range(min(bins), max(bins) + 1)
    ]
    assert bm["histogram"] == want and sum(h["orders"] for h in want) == 5

    # the text report has the same section; the no-bars day's missing figures are shown as n/a
    r = _run(["monthly", "--month", "2025-10", "--config", str(cfg)], cwd)
    assert r.returncode == 0, r.stderr
    assert "Market benchmarks" in r.stdout and "By broker:" in r.stdout and "By week" in r.stdout
    assert "Per-order cost percentiles (bps):" in r.stdout and "Orders by cost vs signal (bps):" in r.stdout
    lines = r.stdout.splitlines()
    line = lines[lines.index("   By broker:") + 2]  # under the header
    assert line.split()[:3] == ["alpaca", "3", f"{brokers['alpaca']['signal']:.2f}"]


def test_a_day_without_saved_benchmarks_is_named(tmp_path):
    live = tmp_path / "live"
    d = _write_day(live, "2025-10-22")
    cfg = tmp_path / "config.yaml"
    cfg.write_text(f"live_dir: {live}\nexecution:\n  broker: paper\n")
    r = _run(["tca", str(d), "--json", "--config", str(cfg)], tmp_path)
    assert r.returncode == 0, r.stderr
    doc = json.loads((d / "tca.json").read_text())
    del doc["benchmarks"]  # a tca.json from before the benchmarks
    (d / "tca.json").write_text(json.dumps(doc))
    r = _run(["monthly", "--month", "2025-10", "--json", "--config", str(cfg)], tmp_path)
    assert r.returncode == 0, r.stderr
    bm = json.loads(r.stdout)["benchmarks"]
    assert bm["days_without"] == ["2025-10-22"] and bm["orders"] == 0 and bm["by_broker"] == []
    r = _run(["monthly", "--month", "2025-10", "--config", str(cfg)], tmp_path)
    assert "Days without per-order benchmarks (older tca.json, or TCA not saved): 2025-10-22" in r.stdout


def test_monthly_tab_tables_and_charts(month, tmp_path):
    live, cfg, cwd = month
    book = tmp_path / "book.xlsx"
    r = _run(["workbook", "build", "--output", str(book), "--config", str(cfg)], cwd)
    assert r.returncode == 0, r.stderr
    r = _run(["button", "monthly-report", "--book", str(book), "--day", "2025-10-30", "--config", str(cfg)], cwd)
    assert r.returncode == 0, r.stderr
    ws = openpyxl.load_workbook(book)["Monthly"]
    col_a = {c.value: c.row for c in ws["A"] if c.value is not None}
    rows = list(_orders())
    keys = ["signal", "arrival", "interval_vwap", "twap", "day_vwap", "close"]
    head = col_a["Broker"]  # the broker comparison: Broker, Orders, vs signal .. vs close, participation
    assert [ws.cell(head, j).value for j in range(1, 10)] == [
        "Broker", "Orders", "vs signal", "vs arrival", "vs interval VWAP", "vs TWAP", "vs day VWAP", "vs close",
        "Participation (mean)",
    ]  # fmt: skip
    for i, name in enumerate(["alpaca", "paper"], start=1):
        mine = [x for x in rows if x[1] == name]
        assert ws.cell(head + i, 1).value == name and ws.cell(head + i, 2).value == len(mine)
        assert [ws.cell(head + i, 3 + j).value for j in range(6)] == [_weighted(mine, k) for k in keys]
        assert ws.cell(head + i, 3).number_format == '#,##0.00" bps"'
    wk = col_a["Week of"]
    assert ws.cell(wk + 1, 1).value.date().isoformat() == "2025-10-20" and ws.cell(wk + 2, 2).value == 3
    pc = col_a["Benchmark"]
    assert [ws.cell(pc + 1 + j, 1).value for j in range(6)] == [
        "signal", "arrival", "interval VWAP", "TWAP", "day VWAP", "close"
    ]  # fmt: skip
    hist = col_a["Cost vs signal (bps)"]
    assert ws.cell(hist + 1, 1).value == "5 to 10" and ws.cell(hist + 1, 2).value == 4  # 4 of 5 orders in [5, 10)
    # the tables stacked in column A:B keep the daily table's widths: its notional still fits
    assert ws["B5"].value == 35000.0 and ws.column_dimensions["B"].width >= len("$35,000.00")
    import zipfile

    with zipfile.ZipFile(book) as z:
        xml = "".join(z.read(n).decode() for n in z.namelist() if n.startswith("xl/charts/chart"))
    assert f"<c:f>Monthly!$C${head + 1}:$C${head + 2}</c:f>" in xml  # cost by broker: vs signal of both
    assert f"<c:f>Monthly!$B${hist + 1}:$B${hist + 2}</c:f>" in xml  # the histogram's counts
    assert f"<c:f>Monthly!$A${wk + 1}:$A${wk + 2}</c:f>" in xml  # the weekly trend's weeks
