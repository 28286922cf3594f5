"""Market benchmarks of the daily TCA, by hand: interval VWAP / TWAP over each order's working
time, the day's VWAP, the spread paid at arrival, participation, and missing bars shown as
missing (the day never fails for them). Every expected figure is computed here, in Decimal,
from the bars this test writes; the code under test is run through the CLI (a subprocess,
from a folder that is not the project)."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from tests import cli_fork
from xlexec.core.orders import orders_from_trades
from xlexec.formats.trades import read_trades
from xlexec.store.journal import INTENT, ORDER, Journal

DAY = "2025-10-30"
D = Decimal
TRADES = """# Date: 2025-10-30
# Portfolio Value: $100,000.00
symbol,side,shares,price,notional,weight_change,commission_est,slippage_est,total_cost_est
AAPL,buy,100,150.00,15000.00,0.1500,1.50,3.00,4.50
MSFT,sell,50,400.00,20000.00,-0.2000,2.00,4.00,6.00
NVDA,buy,10,100.00,1000.00,0.0100,0.10,0.20,0.30
TSLA,sell,40,250.00,10000.00,-0.1000,1.00,2.00,3.00
"""
# symbol, minute (UTC, 2025-10-30), open, high, low, close, volume, vwap ("" = none: the close counts)
BARS = [
    ("AAPL", "13:43", "149.90", "150.00", "149.85", "149.95", "5000", "149.93"),
    ("AAPL", "13:44", "149.95", "150.10", "149.90", "150.05", "4000", "150.01"),
    ("AAPL", "13:45", "150.05", "150.20", "150.00", "150.15", "6000", "150.12"),
    ("AAPL", "13:46", "150.15", "150.25", "150.05", "150.10", "3000", ""),
    ("AAPL", "13:47", "150.10", "150.30", "150.10", "150.25", "2000", "150.22"),
    ("AAPL", "13:48", "150.25", "150.40", "150.20", "150.35", "7000", "150.31"),
    ("MSFT", "14:09", "400.50", "400.60", "400.30", "400.40", "1000", "400.45"),
    ("MSFT", "14:10", "400.40", "400.70", "400.20", "400.60", "1500", "400.52"),
    ("MSFT", "14:11", "400.60", "400.80", "400.40", "400.50", "1200", "400.61"),
    ("MSFT", "14:12", "400.50", "400.55", "400.20", "400.30", "900", "400.38"),
    ("MSFT", "14:13", "400.30", "400.35", "400.00", "400.10", "2000", "400.20"),
    ("TSLA", "13:34", "250.10", "250.20", "249.90", "250.00", "800", "250.05"),
    ("TSLA", "14:00", "250.00", "251.00", "249.50", "250.80", "1200", "250.40"),
    ("TSLA", "19:59", "252.00", "252.50", "251.80", "252.40", "3000", "252.10"),
]
QUOTES = """symbol,bid,ask,last,timestamp
AAPL,150.00,150.10,150.05,2025-10-30T13:44:00Z
MSFT,400.00,400.20,400.10,2025-10-30T14:09:30Z
NVDA,100.00,100.04,100.02,2025-10-30T13:49:00Z
TSLA,249.90,250.10,250.00,2025-10-30T13:34:30Z
"""
CLOSES = "symbol,close\nAAPL,151.00\nMSFT,401.00\nNVDA,101.00\nTSLA,245.00\n"
# symbol, side, submitted (UTC), arrival mid
INTENTS = [
    ("AAPL", "buy", "2025-10-30T13:44:30+00:00", "150.05"),
    ("MSFT", "sell", "2025-10-30T14:10:00+00:00", "400.10"),
    ("NVDA", "buy", "2025-10-30T13:50:00+00:00", "100.02"),
    ("TSLA", "sell", "2025-10-30T13:35:00+00:00", "250.00"),
]


def _q2(x: Decimal) -> float:
    return float(x.quantize(D("0.01"), rounding=ROUND_HALF_UP))


def _bars_csv() -> str:
    lines = ["symbol,timestamp,open,high,low,close,volume,vwap"]
    lines += [f"{s},{DAY}T{m}:00Z,{o},{h},{lo},{c},{v},{vw}" for s, m, o, h, lo, c, v, vw in BARS]
    return "\n".join(lines) + "\n"


def _setup(tmp: Path, *, bars: str | None) -> tuple[Path, Path]:
    live = tmp / "live"
    d = live / DAY
    d.mkdir(parents=True)
    (d / "trades.csv").write_text(TRADES)
    (d / "quotes.csv").write_text(QUOTES)
    (d / "closes.csv").write_text(CLOSES)
    if bars is not None:
        (d / "bars.csv").write_text(bars)
    o = orders_from_trades(read_trades(d / "trades.csv"))
    coid = {(s, sd): c for s, sd, c in zip(o["symbol"], o["side"], o["client_order_id"])}
    fills = [
        "date,symbol,side,shares,price,commission,fill_time,order_id,client_order_id",
        f"{DAY},AAPL,buy,60,150.10,0.60,2025-10-30T13:45:12Z,O1,{coid['AAPL', 'buy']}",
        f"{DAY},AAPL,buy,40,150.20,0.40,2025-10-30T13:47:30Z,O1,{coid['AAPL', 'buy']}",
        f"{DAY},MSFT,sell,50,400.40,1.00,10:12:34,O2,{coid['MSFT', 'sell']}",  # a bare New York time
        f"{DAY},NVDA,buy,10,100.05,0.10,2025-10-30T13:50:00Z,O3,{coid['NVDA', 'buy']}",
    ]
    (d / "broker_fills.csv").write_text("\n".join(fills) + "\n")
    with Journal.for_live_dir(live) as j:
        for s, sd, at, arr in INTENTS:
            c = coid[s, sd]
            payload = {"client_order_id": c, "symbol": s, "side": sd, "qty": 1, "order_type": "limit"}
            j.append(INTENT, c, {**payload, "price": 1.0, "arrival_price": float(arr), "submitted_at": at}, day=DAY)
        c = coid["TSLA", "sell"]  # TSLA rested and expired at the close: worked 13:35 .. 20:00 UTC
        snap = {"client_order_id": c, "symbol": "TSLA", "side": "sell", "status": "expired"}
        j.append(ORDER, f"{c}|expired|0", {**snap, "updated_at": "2025-10-30T20:00:00+00:00"}, day=DAY)
    cfg = tmp / "config.yaml"
    cfg.write_text(f"live_dir: {live}\nexecution:\n  broker: paper\n")
    return d, cfg


def _tca(d: Path, cfg: Path, cwd: Path) -> subprocess.CompletedProcess:
    return cli_fork.run(
        [sys.executable, "-m", "xlexec", "tca", str(d), "--json", "--config", str(cfg)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
    )


def _bars_of(sym: str, minutes: list[str] | None = None):
    """(close, volume, VWAP price: the bar's vwap, else its close) of ``sym``'s bars (at ``minutes``)."""
    rows = [b for b in BARS if b[0] == sym and (minutes is None or b[1] in minutes)]
    return [(D(c), D(v), D(vw) if vw else D(c)) for _s, _m, _o, _h, _lo, c, v, vw in rows]


def _vwap(rows) -> Decimal:
    return sum(p * v for _c, v, p in rows) / sum(v for _c, v, _p in rows)


def _twap(rows) -> Decimal:
    return sum(c for c, _v, _p in rows) / len(rows)


def _bps(side: int, fill: Decimal, bm: Decimal) -> Decimal:
    return side * (fill - bm) / bm * 10000


def test_benchmarks_by_hand(tmp_path):
    d, cfg = _setup(tmp_path, bars=_bars_csv())
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    r = _tca(d, cfg, cwd)
    assert r.returncode == 0, r.stderr
    bm = json.loads((d / "tca.json").read_text())["benchmarks"]
    assert bm["source"] == "bars.csv"
    orders = {o["symbol"]: o for o in bm["orders"]}

    # AAPL buy 100 @ (60 x 150.10 + 40 x 150.20) / 100, worked 13:44:30 .. 13:47:30: bars 13:44-13:47
    aapl_fill = (60 * D("150.10") + 40 * D("150.20")) / 100
    ab = _bars_of("AAPL", ["13:44", "13:45", "13:46", "13:47"])
    a_iv, a_tw, a_day = _vwap(ab), _twap(ab), _vwap(_bars_of("AAPL"))
    a = orders["AAPL"]
    assert a["interval_vwap"] == float(a_iv.quantize(D("0.0001"), rounding=ROUND_HALF_UP))
    assert a["interval_vwap_bps"] == _q2(_bps(1, aapl_fill, a_iv))
    assert a["twap_bps"] == _q2(_bps(1, aapl_fill, a_tw))
    assert a["day_vwap_bps"] == _q2(_bps(1, aapl_fill, a_day))
    assert a["arrival_bps"] == _q2(_bps(1, aapl_fill, D("150.05")))
    assert a["close_bps"] == _q2(_bps(1, aapl_fill, D("151.00")))
    a_vol = sum(v for _c, v, _p in ab)
    assert a["interval_volume"] == float(a_vol) and a["participation"] == float(
        (D(100) / a_vol).quantize(D("1e-8"), rounding=ROUND_HALF_UP)
    )
    # spread paid at arrival: half of (150.10 - 150.00) a share, over 100 x 150.05 arrival notional
    a_hs = D(100) * (D("150.10") - D("150.00")) / 2 / (100 * D("150.05")) * 10000
    assert a["half_spread_bps"] == _q2(a_hs)
    assert a["rest_bps"] == _q2(_bps(1, aapl_fill, D("150.05")) - a_hs)

    # MSFT sell 50 @ 400.40, worked 14:10:00 .. 10:12:34 New York = 14:12:34 UTC: bars 14:10-14:12
    mb = _bars_of("MSFT", ["14:10", "14:11", "14:12"])
    m = orders["MSFT"]
    assert m["interval_vwap_bps"] == _q2(_bps(-1, D("400.40"), _vwap(mb)))
    assert m["twap_bps"] == _q2(_bps(-1, D("400.40"), _twap(mb)))

    # NVDA: no bars for it -> its market benchmarks are missing, with the reason; arrival is there
    n = orders["NVDA"]
    assert n["interval_vwap"] is None and n["interval_vwap_bps"] is None and n["day_vwap_bps"] is None
    assert "no minute bars for NVDA" in n["missing"]
    assert n["arrival_bps"] == _q2(_bps(1, D("100.05"), D("100.02")))

    # TSLA: never filled; its interval (13:35 .. the 20:00 expiry) has the 14:00 and 19:59 bars
    t = orders["TSLA"]
    tb = _bars_of("TSLA", ["14:00", "19:59"])
    assert t["interval_vwap"] == float(_vwap(tb).quantize(D("0.0001"), rounding=ROUND_HALF_UP))
    assert t["interval_vwap_bps"] is None and "not filled" in t["missing"]

    # the day's table: sum of cost $ / sum of filled shares x benchmark, the orders that have it
    table = {row["benchmark"]: row for row in bm["table"]}
    usd = D(100) * (aapl_fill - a_iv) + D(-50) * (D("400.40") - _vwap(mb))
    notional = D(100) * a_iv + D(50) * _vwap(mb)
    assert table["interval_vwap"]["bps"] == _q2(usd / notional * 10000)
    assert table["interval_vwap"]["usd"] == _q2(usd)
    assert (table["interval_vwap"]["orders"], table["interval_vwap"]["missing"]) == (2, 1)
    sig_usd = D(100) * (aapl_fill - 150) - 50 * (D("400.40") - 400) + 10 * (D("100.05") - 100)
    assert table["signal"]["bps"] == _q2(sig_usd / (100 * 150 + 50 * 400 + 10 * 100) * 10000)
    assert (table["signal"]["orders"], table["signal"]["missing"]) == (3, 0)

    rep = (d / "tca_report.txt").read_text()
    assert "6. Benchmarks" in rep and "interval_vwap" in rep and "no minute bars for NVDA (NVDA buy)" in rep


def test_missing_bars_never_fail_the_day(tmp_path):
    d, cfg = _setup(tmp_path, bars=None)
    r = _tca(d, cfg, tmp_path)
    assert r.returncode == 0, r.stderr
    doc = json.loads((d / "tca.json").read_text())
    table = {row["benchmark"]: row for row in doc["benchmarks"]["table"]}
    for k in ("interval_vwap", "twap", "day_vwap"):
        assert table[k]["bps"] is None and table[k]["orders"] == 0 and table[k]["missing"] == 3
    assert table["signal"]["orders"] == 3 and doc["total"]["usd"] is not None  # the rest of the TCA stands
    assert "no bars.csv in the day folder" in doc["benchmarks"]["orders"][0]["missing"]
    assert "no bars.csv in the day folder" in (d / "tca_report.txt").read_text()


def test_unreadable_bars_are_missing_with_the_row_named(tmp_path):
    bad = _bars_csv().replace("150.01", "15O.01")  # a letter O in a price
    d, cfg = _setup(tmp_path, bars=bad)
    r = _tca(d, cfg, tmp_path)
    assert r.returncode == 0, r.stderr
    doc = json.loads((d / "tca.json").read_text())
    why = doc["benchmarks"]["orders"][0]["missing"]
    assert "bars.csv unreadable" in why and "row 3" in why and "vwap" in why
    assert {row["benchmark"]: row["orders"] for row in doc["benchmarks"]["table"]}["interval_vwap"] == 0
