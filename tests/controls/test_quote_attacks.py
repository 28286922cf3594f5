"""Issue "Controls that hold": market orders valued at the live quote, stale quotes fail closed,
the signal price in the approval hash, exit codes that tell the truth.

Each attack runs through the real CLI in a subprocess, from a scratch folder that is not the
project, with ``--config`` and absolute paths, on the built-in paper broker; the paper
simulator's own state (``live/paper_broker.sqlite``) shows what reached the broker:

* the signal price edited after approval -> no approval covers the orders, nothing sent;
* a market buy of 50 shares signalled at $150 while the ask is $1,600 ($80,000), with the price
  collar off -> refused by ``max_order_size_usd`` ($10,000) valued at the ask;
* a week-old ``quotes.csv`` -> refused (market orders with the collar off, limit orders with it
  on); outside the session a quote is aged from the last close;
* ``--fit-buying-power`` dropping orders -> exit 1, the dropped symbols listed;
* a limit refusing an order -> exit 1, listed.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from tests import cli_fork
from tests.reliability import controls as C

REPO = Path(__file__).resolve().parents[2]
PY = sys.executable
DAY = "2025-10-30"  # a Thursday session: 09:30-16:00 New York = 13:30-20:00 UTC
IN_SESSION = "2025-10-30T14:05:00+00:00"  # 10:05 New York
AFTER_CLOSE = "2025-10-30T21:30:00+00:00"  # 17:30 New York, the session closed at 20:00 UTC
HEADER = (
    f"# Date: {DAY}\n# Portfolio Value: $1,000,000.00\n# Kill Switch: ACTIVE\n# Safety Checks: PASSED\n"
    "symbol,side,shares,price,notional,weight_change,commission_est,slippage_est,total_cost_est\n"
)


def desk(
    tmp_path: Path,
    rows: str,
    quotes: str,
    *,
    collar: str = "null",
    order_type: str = "market",
    cash: float = 1_000_000,
) -> tuple[Path, Path]:
    """A scratch desk (config, trades, quotes, positions); returns (config, trades path)."""
    root = tmp_path / "desk"
    day = root / "live" / DAY
    day.mkdir(parents=True)
    cfg = root / "config.yaml"
    cfg.write_text(
        f"live_dir: {json.dumps(str(root / 'live'))}\nuser: ops\nexecution:\n  broker: paper\n"
        f"  max_order_size_usd: 10000\n  price_collar_pct: {collar}\n  default_order_type: {order_type}\n"
        f"  paper:\n    starting_cash: {cash}\n"
    )
    (day / "trades.csv").write_text(HEADER + rows)
    (day / "quotes.csv").write_text("symbol,bid,ask,last,timestamp\n" + quotes)
    (root / "live" / "current_positions.csv").write_text("symbol,shares,avg_cost\nIBM,10,250.00\n")
    return cfg, day / "trades.csv"


def xlexec(cfg: Path, *args: str, now: str = IN_SESSION) -> subprocess.CompletedProcess:
    env = {**os.environ, "XLEXEC_NOW": now, "PYTHONPATH": str(REPO)}
    return cli_fork.run(
        [PY, "-m", "xlexec", *args, "--config", str(cfg)],
        cwd=cfg.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def approve(cfg: Path, trades: Path, now: str = IN_SESSION) -> None:
    r = xlexec(
        cfg, "approve", str(trades), "--by", "ops", "--decision", "APPROVED", "--reason", "t", "--override", now=now
    )
    assert r.returncode == 0, r.stderr


def submit_run(cfg: Path, trades: Path, *extra: str, now: str = IN_SESSION) -> subprocess.CompletedProcess:
    r = xlexec(cfg, "submit", str(trades), "--allow-closed", "--json", *extra, now=now)
    assert r.stdout.strip(), r.stderr
    return r


def submit(cfg: Path, trades: Path, *extra: str, now: str = IN_SESSION) -> tuple[int, dict]:
    r = submit_run(cfg, trades, *extra, now=now)
    return r.returncode, json.loads(r.stdout)


def at_broker(cfg: Path) -> list[tuple[str, str, float]]:
    """(symbol, side, qty) of every order the paper simulator holds."""
    db = cfg.parent / "live" / "paper_broker.sqlite"
    if not db.exists():
        return []
    con = sqlite3.connect(db)
    try:
        rows = [json.loads(b) for (b,) in con.execute("SELECT body FROM orders ORDER BY rowid")]
    finally:
        con.close()
    return [(o["symbol"], o["side"], float(o["qty"])) for o in rows]


def orders_of(cfg: Path, *symbols: str) -> int:
    """Orders the paper simulator holds for ``symbols`` (the attacked ones)."""
    return sum(1 for o in at_broker(cfg) if o[0] in symbols)


def refusals(doc: dict) -> dict[str, str]:
    return {o["symbol"]: o["note"] for o in doc["orders"] if o["outcome"] == "refused"}


def test_signal_price_edited_after_approval_has_no_approval(tmp_path):
    cfg, trades = desk(
        tmp_path, "AAPL,buy,50,1600.00,80000.00,0.08,8,16,24\n", "AAPL,1599.90,1600.00,1599.95,2025-10-30T14:04:50Z\n"
    )
    approve(cfg, trades)
    # the price is edited after approval (shares, side and order type untouched)
    trades.write_text(trades.read_text().replace("AAPL,buy,50,1600.00,", "AAPL,buy,50,150.00,"))
    r = xlexec(cfg, "submit", str(trades), "--allow-closed")
    C.record(
        "signal price edited after approval", r, len(at_broker(cfg)), refused=C.refused(r, "no approval for these")
    )
    assert r.returncode == 1
    assert "no approval for these 1 orders of 2025-10-30" in r.stderr and "nothing sent" in r.stderr
    assert at_broker(cfg) == []
    # convert refuses it too (the same hash)
    c = xlexec(cfg, "convert", str(trades), "--broker", "ibkr")
    C.record(
        "signal price edited after approval, at convert", c, len(at_broker(cfg)), refused=C.refused(c, "not approved")
    )
    assert c.returncode == 1 and "not approved" in c.stderr


def test_80k_market_order_with_the_collar_off_is_valued_at_the_ask(tmp_path):
    # signalled at $150 (50 x $150 = $7,500 < $10,000), but the ask is $1,600: 50 x 1,600 = $80,000
    cfg, trades = desk(
        tmp_path,
        "AAPL,buy,50,150.00,7500.00,0.0075,0.75,1.5,2.25\n",
        "AAPL,1599.00,1600.00,1599.50,2025-10-30T14:04:30Z\n",
    )
    approve(cfg, trades)
    p = submit_run(cfg, trades)
    rc, doc = p.returncode, json.loads(p.stdout)
    C.record(
        "$80k market order signalled at $7.5k (collar off)",
        p,
        len(at_broker(cfg)),
        refused=C.refused(p, "50 x ask $1,600.00) exceeds max_order_size_usd"),
    )
    assert rc == 1 and doc["exit_code"] == 1
    assert refusals(doc) == {"AAPL": "$80,000.00 (50 x ask $1,600.00) exceeds max_order_size_usd $10,000.00"}
    assert doc["not_at_broker"] == [
        "AAPL buy 50 (refused): $80,000.00 (50 x ask $1,600.00) exceeds max_order_size_usd $10,000.00"
    ]
    assert at_broker(cfg) == []
    # a rerun changes nothing
    rc2, doc2 = submit(cfg, trades)
    assert rc2 == 1 and refusals(doc2) == refusals(doc) and at_broker(cfg) == []


def test_market_sell_is_valued_at_the_bid_and_without_a_bid_refused(tmp_path):
    cfg, trades = desk(
        tmp_path,
        "IBM,sell,39,240.00,9360.00,-0.0094,0.94,1.87,2.81\nMSFT,sell,10,380.00,3800.00,-0.0038,0.38,0.76,1.14\n",
        "IBM,256.50,256.60,256.55,2025-10-30T14:04:30Z\nMSFT,,381.00,380.90,2025-10-30T14:04:30Z\n",
    )
    (cfg.parent / "live" / "current_positions.csv").write_text(
        "symbol,shares,avg_cost\nIBM,100,200.00\nMSFT,10,300.00\n"
    )
    approve(cfg, trades)
    p = submit_run(cfg, trades)
    rc, doc = p.returncode, json.loads(p.stdout)
    C.record(
        "market sells over the limit at the bid / with no bid",
        p,
        len(at_broker(cfg)),
        refused=C.refused(p, "39 x bid $256.50", "no bid quote for MSFT"),
    )
    # IBM: 39 x bid $256.50 = $10,003.50 > $10,000 (at the signal $240 it would be $9,360);
    # MSFT has no bid to sell into
    assert rc == 1
    assert refusals(doc) == {
        "IBM": "$10,003.50 (39 x bid $256.50) exceeds max_order_size_usd $10,000.00",
        "MSFT": "no bid quote for MSFT to value the market sell order at",
    }
    assert at_broker(cfg) == []


def test_week_old_quotes_are_refused_whatever_the_collar(tmp_path):
    week_old = "AAPL,150.00,150.10,150.05,2025-10-23T14:04:30Z\n"
    # market order, collar off: the quote is needed for its value
    cfg, trades = desk(tmp_path / "m", "AAPL,buy,50,150.00,7500.00,0.0075,0.75,1.5,2.25\n", week_old)
    approve(cfg, trades)
    p = submit_run(cfg, trades)
    rc, doc = p.returncode, json.loads(p.stdout)
    C.record(
        "week-old quotes, market order, collar off",
        p,
        len(at_broker(cfg)),
        refused=C.refused(p, "quote is 7 d 0 h old"),
    )
    assert rc == 1
    assert refusals(doc) == {
        "AAPL": "AAPL: quote is 7 d 0 h old (max_quote_age_seconds 60); "
        "a live quote is needed to value the market order"
    }
    assert at_broker(cfg) == []
    # limit order, collar on: the quote is needed for the mid
    cfg, trades = desk(
        tmp_path / "l", "AAPL,buy,50,150.00,7500.00,0.0075,0.75,1.5,2.25\n", week_old, collar="0.05", order_type="limit"
    )
    approve(cfg, trades)
    p = submit_run(cfg, trades)
    rc, doc = p.returncode, json.loads(p.stdout)
    C.record(
        "week-old quotes, limit order, collar on",
        p,
        len(at_broker(cfg)),
        refused=C.refused(p, "quote is 7 d 0 h old", "check the price collar"),
    )
    assert rc == 1
    assert refusals(doc) == {
        "AAPL": "AAPL: quote is 7 d 0 h old (max_quote_age_seconds 60); "
        "a live quote is needed to check the price collar"
    }
    assert at_broker(cfg) == []


def test_quote_age_limit_and_missing_timestamp(tmp_path):
    # 61 s old at 14:05:00 > 60 s: refused; 59 s old: sent; no timestamp: refused
    cfg, trades = desk(
        tmp_path,
        "AAPL,buy,10,150.00,1500.00,0.0015,0.15,0.3,0.45\nMSFT,buy,10,380.00,3800.00,0.0038,0.38,0.76,1.14\n"
        "GOOGL,buy,10,140.00,1400.00,0.0014,0.14,0.28,0.42\n",
        "AAPL,150.00,150.10,150.05,2025-10-30T14:03:59Z\nMSFT,380.00,380.10,380.05,2025-10-30T14:04:01Z\n"
        "GOOGL,140.00,140.10,140.05,\n",
    )
    approve(cfg, trades)
    p = submit_run(cfg, trades)
    rc, doc = p.returncode, json.loads(p.stdout)
    C.record(
        "quote 61 s old / no timestamp (AAPL, GOOGL; MSFT's 59 s goes)",
        p,
        orders_of(cfg, "AAPL", "GOOGL"),
        refused=C.refused(p, "quote is 61 s old", "quote has no timestamp"),
    )
    assert rc == 1
    assert refusals(doc) == {
        "AAPL": "AAPL: quote is 61 s old (max_quote_age_seconds 60); a live quote is needed to value the market order",
        "GOOGL": "GOOGL: quote has no timestamp; a live quote is needed to value the market order",
    }
    assert at_broker(cfg) == [("MSFT", "buy", 10.0)]


def test_outside_the_session_quotes_are_aged_from_the_last_close(tmp_path):
    # at 17:30 New York: a quote of 15:59:30 (30 s before the 16:00 close) is current; one of
    # the day before's close (24 h 30 s before it) is not
    cfg, trades = desk(
        tmp_path,
        "AAPL,buy,10,150.00,1500.00,0.0015,0.15,0.3,0.45\nMSFT,buy,10,380.00,3800.00,0.0038,0.38,0.76,1.14\n",
        "AAPL,150.00,150.10,150.05,2025-10-30T19:59:30Z\nMSFT,380.00,380.10,380.05,2025-10-29T19:59:30Z\n",
    )
    approve(cfg, trades, now=AFTER_CLOSE)
    p = submit_run(cfg, trades, now=AFTER_CLOSE)
    rc, doc = p.returncode, json.loads(p.stdout)
    C.record(
        "after the close, a quote older than the last close (MSFT)",
        p,
        orders_of(cfg, "MSFT"),
        refused=C.refused(p, "1 d 0 h old at the last close"),
    )
    assert rc == 1
    assert refusals(doc) == {
        "MSFT": "MSFT: quote is 1 d 0 h old at the last close 2025-10-30 20:00 UTC (market closed) "
        "(max_quote_age_seconds 60); a live quote is needed to value the market order"
    }
    assert at_broker(cfg) == [("AAPL", "buy", 10.0)]


def test_fit_buying_power_drop_exits_1_listing_the_dropped(tmp_path):
    # $20,000 cash x (1 - 5%) = $19,000: AAPL $7,500 + MSFT $7,600 fit, GOOGL $7,000 (lowest
    # |weight_change|) is dropped; limit orders at the signal price
    cfg, trades = desk(
        tmp_path,
        "AAPL,buy,50,150.00,7500.00,0.0075,0.75,1.5,2.25\nMSFT,buy,20,380.00,7600.00,0.0076,0.76,1.52,2.28\n"
        "GOOGL,buy,50,140.00,7000.00,0.0070,0.70,1.4,2.1\n",
        "AAPL,149.90,150.00,149.95,2025-10-30T14:04:50Z\nMSFT,379.90,380.00,379.95,2025-10-30T14:04:50Z\n"
        "GOOGL,139.90,140.00,139.95,2025-10-30T14:04:50Z\n",
        order_type="limit",
        collar="0.05",
        cash=20_000,
    )
    approve(cfg, trades)
    r = xlexec(cfg, "submit", str(trades), "--allow-closed", "--fit-buying-power")
    C.record(
        "--fit-buying-power drops an order: exit 1 listing it (GOOGL)",
        r,
        orders_of(cfg, "GOOGL"),
        refused=C.refused(r, "NOT at the broker (1 order(s), exit 1)", "GOOGL buy 50 (refused)"),
        says=next((ln.strip() for ln in r.stdout.splitlines() if "GOOGL buy 50 (refused)" in ln), ""),
    )
    assert r.returncode == 1
    out = r.stdout
    assert "NOT at the broker (1 order(s), exit 1):" in out
    assert "  GOOGL buy 50 (refused): dropped to fit buying power $19,000.00 (lowest |weight_change| first)" in out
    assert "2 sent, 0 already at the broker, 1 refused, 0 unknown" in out
    assert at_broker(cfg) == [("AAPL", "buy", 50.0), ("MSFT", "buy", 20.0)]
    # the rerun: the two are already there, GOOGL still not: exit 1 again, nothing new sent
    rc, doc = submit(cfg, trades, "--fit-buying-power")
    assert rc == 1 and [x.split(" (")[0] for x in doc["not_at_broker"]] == ["GOOGL buy 50"]
    assert len(at_broker(cfg)) == 2


def test_a_limit_refusal_exits_1_and_is_listed(tmp_path):
    # a limit order of 100 x $150 = $15,000 > $10,000; the other goes
    cfg, trades = desk(
        tmp_path,
        "AAPL,buy,100,150.00,15000.00,0.015,1.5,3,4.5\nMSFT,buy,10,380.00,3800.00,0.0038,0.38,0.76,1.14\n",
        "AAPL,149.90,150.00,149.95,2025-10-30T14:04:50Z\nMSFT,379.90,380.00,379.95,2025-10-30T14:04:50Z\n",
        order_type="limit",
    )
    approve(cfg, trades)
    p = submit_run(cfg, trades)
    rc, doc = p.returncode, json.loads(p.stdout)
    C.record(
        "a limit order over max_order_size_usd: exit 1 listing it (AAPL)",
        p,
        orders_of(cfg, "AAPL"),
        refused=C.refused(p, "AAPL buy 100 (refused)"),
    )
    assert rc == 1 and doc["sent"] == 1 and doc["refused"] == 1
    assert doc["not_at_broker"] == ["AAPL buy 100 (refused): $15,000.00 exceeds max_order_size_usd $10,000.00"]
    assert at_broker(cfg) == [("MSFT", "buy", 10.0)]
