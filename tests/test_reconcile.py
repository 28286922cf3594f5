"""Reconciliation: hand-computed day, split day, oversell, and the CLI shell end to end."""

from __future__ import annotations

import argparse
import json
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from xlexec.cli import reconcile as cmd
from xlexec.config import config_from_dict
from xlexec.core.orders import orders_from_trades
from xlexec.core.reconcile import reconcile
from xlexec.errors import RefusedError
from xlexec.formats.trades import parse_trades_text
from xlexec.steps.context import Context
from xlexec.store.journal import FILL, POSITIONS, RECON, Journal

DAY = "2025-10-30"
TRADES = """# Date: 2025-10-30
# Portfolio Value: $100,000.00
symbol,side,shares,price,notional,weight_change,commission_est,slippage_est,total_cost_est
AAPL,buy,100,150.00,15000.00,0.15,1.50,3.00,4.50
MSFT,sell,25,380.00,9500.00,-0.095,0.95,1.90,2.85
TSLA,buy,50,250.00,12500.00,0.125,1.25,2.50,3.75
NVDA,buy,10,200.00,2000.00,0.02,0.20,0.40,0.60
AMZN,buy,20,220.00,4400.00,0.044,0.44,0.88,1.32
"""
FILL_COLS = [
    "date",
    "symbol",
    "side",
    "shares",
    "price",
    "commission",
    "fill_time",
    "order_id",
    "client_order_id",
    "fill_id",
]


def coids(trades):
    o = orders_from_trades(trades, date=DAY)
    return dict(zip(o["symbol"], o["client_order_id"]))


def day_fills(co):
    return pd.DataFrame(
        [
            [DAY, "AAPL", "buy", 60, 150.10, 0.30, "09:31:02", "o-1", co["AAPL"], "f1"],  # partials of one order
            [DAY, "AAPL", "buy", 40, 150.20, 0.20, "09:31:40", "o-1", co["AAPL"], "f2"],
            [DAY, "MSFT", "sell", 25, 378.40, 1.00, "09:32:05", "o-2", "", "f3"],  # matched by order id
            [DAY, "NVDA", "buy", 12, 199.90, 0.35, "09:40:00", "", "", ""],  # symbol+side; over-fill
            [DAY, "AMZN", "buy", 8, 220.50, 0.05, "09:41:00", "o-5", co["AMZN"], "f5"],  # partial 12 / 20
            [DAY, "AMZN", "buy", 4, 220.25, 0.05, "09:42:00", "o-5", co["AMZN"], "f6"],
            [DAY, "GME", "buy", 5, 20.00, 0.10, "10:00:00", "o-9", "manual-1", "f7"],  # never planned
            ["2025-10-29", "IBM", "buy", 5, 250.00, 0.10, "10:00:00", "o-8", "", "f8"],  # another day: ignored
        ],
        columns=FILL_COLS,
    )


def states(co):
    return {
        co["MSFT"]: {"id": "o-2", "status": "filled", "symbol": "MSFT", "side": "sell"},
        co["TSLA"]: {
            "id": "o-3",
            "status": "canceled",
            "reason": "insufficient liquidity",
            "symbol": "TSLA",
            "side": "buy",
        },
        co["AMZN"]: {"id": "o-5", "status": "expired", "symbol": "AMZN", "side": "buy"},
    }


POSITIONS_BEFORE = pd.DataFrame(
    {"symbol": ["AAPL", "MSFT", "KO"], "shares": [150.0, 25.0, 100.0], "avg_cost": [145.50, 365.20, 60.00]}
)
CLOSES = pd.DataFrame({"symbol": ["AAPL", "KO", "NVDA", "AMZN", "GME"], "close": [151.0, 61.0, 201.0, 221.0, 19.5]})


def test_hand_computed_day():
    t = parse_trades_text(TRADES)
    co = coids(t)
    r = reconcile(
        t, day_fills(co), POSITIONS_BEFORE, day=DAY, order_states=states(co), closes=CLOSES, cash_before=50_000.0
    )
    j = r.to_json()
    # fully executed: AAPL 100/100, MSFT 25/25, NVDA 12/10 (over-filled); AMZN 12/20 partial; TSLA none
    assert j["trades_recommended"] == 5 and j["trades_executed"] == 3 and j["trades_executed_pct"] == 60.0
    assert j["trades_partial"] == 1 and j["trades_partial_pct"] == 20.0
    assert j["trades_not_executed"] == 1 and j["trades_not_executed_pct"] == 20.0
    assert j["not_executed"] == [
        {"symbol": "TSLA", "side": "buy", "planned": 50, "executed": 0, "reason": "Cancelled: insufficient liquidity"}
    ]
    assert j["partial"] == [
        {"symbol": "AMZN", "side": "buy", "planned": 20, "executed": 12, "reason": "Partial fill (remainder expired)"}
    ]
    assert [(b["symbol"], b["kind"], b["planned"], b["executed"]) for b in j["breaks"]] == [
        ("NVDA", "over_fill", 10, 12),
        ("GME", "unplanned_fill", 0, 5),
    ]
    pt = r.per_trade.set_index("symbol")
    # AAPL avg (60x150.10 + 40x150.20)/100 = 150.14 -> +(150.14-150)/150 = +9.33 bps
    # (per-trade bps are kept unrounded: 9.3333..., shown 9.33)
    assert pt.loc["AAPL", "avg_price"] == pytest.approx(150.14)
    assert pt.loc["AAPL", "slippage_bps"] == pytest.approx(float(Decimal("0.14") / 150 * 10000), abs=1e-9)
    # a sell 1.60 below the signal is a cost: -1 x (378.40-380)/380 x 1e4 = +42.105... bps
    assert pt.loc["MSFT", "slippage_bps"] == pytest.approx(float(Decimal("1.60") / 380 * 10000), abs=1e-9)
    assert pt.loc["NVDA", "slippage_bps"] == pytest.approx(-5.0, abs=1e-9)  # (199.90 - 200) / 200 x 1e4
    # AMZN (8x220.50 + 4x220.25)/12 = 220.41667 -> +18.939... bps
    amzn = ((8 * Decimal("220.50") + 4 * Decimal("220.25")) / 12 - 220) / 220 * 10000
    assert pt.loc["AMZN", "slippage_bps"] == pytest.approx(float(amzn), abs=1e-9)
    assert pt.loc["AMZN", "commission"] == pytest.approx(0.10)
    # weighted by benchmark notional (executed x signal price), as TCA: slippage $ 14.00 + 40.00
    # - 1.20 + 5.00 = 57.80 over 15000 + 9500 + 2400 + 2640 = 29540 -> 19.5667 bps
    assert j["slippage_bps_avg"] == 19.57 and j["slippage_usd"] == 57.80
    # plain mean of the orders' bps: (9.3333 + 42.1053 - 5 + 18.9394) / 4 = 16.3445
    assert j["slippage_bps_mean"] == 16.34
    assert j["slippage_bps_worst"] == {"symbol": "MSFT", "bps": 42.11}
    assert j["commission_estimated"] == 4.34 and j["commission_actual"] == 2.05
    assert j["commission_variance"] == -2.29 and j["commission_variance_pct"] == -52.76
    # on the filled shares: 1.50 + 0.95 + 0.20 x 12/10 + 0.44 x 12/20 = 2.954 vs 2.05 - 0.10 (GME,
    # unplanned) = 1.95; slippage 3.00 + 1.90 + 0.40 x 12/10 + 0.88 x 12/20 = 5.908 vs 57.80
    ev = j["estimate_vs_actual"]
    assert ev["filled_shares"]["commission_estimated"] == 2.95 and ev["filled_shares"]["commission_actual"] == 1.95
    assert ev["filled_shares"]["commission_variance"] == -1.00  # 1.95 - 2.954 = -1.004
    assert ev["filled_shares"]["slippage_estimated_usd"] == 5.91 and ev["filled_shares"]["slippage_actual_usd"] == 57.8
    assert ev["plan"]["commission_estimated"] == 4.34 and ev["plan"]["slippage_estimated_usd"] == 8.68
    # cash: 50000 - (15014 + 2398.80 + 2645 + 100) + 9460 - 2.05
    assert j["cash_after"] == 39_300.15
    assert j["positions"] == [
        {"symbol": "AAPL", "shares": 250, "avg_cost": 147.36, "total_cost": 36839.0},  # (21825+15014)/250
        {"symbol": "AMZN", "shares": 12, "avg_cost": 220.42, "total_cost": 2645.0},  # 8x220.50 + 4x220.25
        {"symbol": "GME", "shares": 5, "avg_cost": 20.0, "total_cost": 100.0},
        {"symbol": "KO", "shares": 100, "avg_cost": 60.0, "total_cost": 6000.0},
        {"symbol": "NVDA", "shares": 12, "avg_cost": 199.9, "total_cost": 2398.8},  # 12 x 199.90
    ]  # MSFT sold whole: gone
    pa = r.positions_after.set_index("symbol")
    assert list(pa["current_value"]) == [37750.00, 2652.00, 97.50, 6100.00, 2412.00]
    assert j["portfolio_value_after"] == 88_311.65  # 49011.50 of positions + 39300.15 cash
    # the weight stored unrounded: 37,750 / 88,311.65 = 0.42746342...
    assert pa.loc["AAPL", "weight"] == float(Decimal(37750) / Decimal("88311.65"))
    assert pa.loc["AAPL", "avg_cost"] == 147.356
    assert j["fills_other_days"] == 1 and j["notional_traded"] == 29_617.80 and j["slippage_usd"] == 57.80
    assert r.discrepancy_lines == [
        "2025-10-30,TSLA,Recommended: 50,Executed: 0,Reason: Cancelled: insufficient liquidity",
        "2025-10-30,AMZN,Recommended: 20,Executed: 12,Reason: Partial fill (remainder expired)",
        "2025-10-30,NVDA,Recommended: 10,Executed: 12,Reason: Over-fill (2 share(s) more than planned)",
        "2025-10-30,GME,Recommended: 0,Executed: 5,Reason: Unplanned fill (no planned buy order for GME)",
    ]
    rep = r.report_text()
    assert rep.startswith("Reconciliation Report - 2025-10-30\n=====")
    for s in (
        "Trades Recommended: 5",
        "Fully executed 3, partially 1 (AMZN 12/20), not executed 1 of 5",
        "Fully Executed: 3 (60.0% of planned)",
        "Partially Executed: 1 (20.0% of planned; AMZN 12/20)",
        "Not Executed: 1 (20.0% of planned; TSLA - cancelled",
        "Worst: MSFT +0.42%",
        "Estimated: $4.34",
        "Actual: $2.05",
        "Variance: -$2.29 (-52.8%)",
        "Cash Balance: not checked (no broker cash) $39,300.15",  # no broker cash given: never a tick
    ):
        assert s in rep
    assert "✅ $" not in rep


def test_unfilled_reasons_without_and_with_journal():
    t = parse_trades_text(TRADES)
    r = reconcile(t, day_fills(coids(t)).iloc[0:0], POSITIONS_BEFORE, day=DAY)
    assert r.trades_executed == 0 and r.slippage_bps_avg is None and r.cash_after is None
    assert {d["reason"] for d in r.not_executed} == {"Unfilled"}
    r2 = reconcile(
        t,
        day_fills(coids(t)).iloc[0:0],
        POSITIONS_BEFORE,
        day=DAY,
        order_states={},
        events=pd.DataFrame({"symbol": ["TSLA"], "date": [DAY], "event": ["halt"], "ratio": [np.nan]}),
    )
    reasons = {d["symbol"]: d["reason"] for d in r2.not_executed}
    assert reasons["TSLA"] == "Halted" and reasons["AAPL"] == "Not submitted (no order on record)"
    assert r2.to_json()["positions"][0] == {"symbol": "AAPL", "shares": 150, "avg_cost": 145.5, "total_cost": 21825.0}


SPLIT_TRADES = """# Date: 2025-10-30
symbol,side,shares,price,notional,weight_change,commission_est,slippage_est,total_cost_est
AAPL,sell,400,101.00,40400.00,-0.40,4.04,8.08,12.12
KO,sell,150,60.00,9000.00,-0.09,0.90,1.80,2.70
"""


def test_split_day_is_not_a_break_and_oversell_is():
    t = parse_trades_text(SPLIT_TRADES)
    events = pd.DataFrame({"symbol": ["AAPL"], "date": [DAY], "event": ["split"], "ratio": [5.0]})
    f = pd.DataFrame(
        [
            [DAY, "AAPL", "sell", 400, 100.90, 2.00, "", "", "", ""],
            [DAY, "KO", "sell", 150, 60.00, 0.50, "", "", "", ""],
        ],
        columns=FILL_COLS,
    )
    before = pd.DataFrame({"symbol": ["AAPL", "KO"], "shares": [100.0, 100.0], "avg_cost": [500.0, 55.0]})
    broker = pd.DataFrame({"symbol": ["AAPL"], "shares": [100.0], "avg_cost": [100.0]})
    r = reconcile(t, f, before, day=DAY, events=events, broker_positions=broker, cash_before=1000.0)
    j = r.to_json()
    # 100 @ 500 split 1:5 -> 500 @ 100; sold 400 -> 100 @ 100 = the broker's 100: no mismatch
    # KO: held 100, sold 150 -> the 50 sold beyond the holding stay visible as a short @ 60.00
    assert j["positions"] == [
        {"symbol": "AAPL", "shares": 100, "avg_cost": 100.0, "total_cost": 10000.0},  # 100 x 500 x 100/500
        {"symbol": "KO", "shares": -50, "avg_cost": 60.0, "total_cost": -3000.0},  # the short: -50 x 60
    ]
    # 100 x 500.00 = 50,000.00 of cost basis, unchanged; / 500 shares = 100.00 a share
    assert j["splits_applied"] == [
        {
            "symbol": "AAPL",
            "date": DAY,
            "ratio": 5.0,
            "shares_before": 100.0,
            "shares_after": 500.0,
            "cost_basis": 50_000.0,
            "avg_cost": 100.0,
            "note": "",
        }
    ]
    assert [(b["symbol"], b["kind"], b["planned"], b["executed"]) for b in j["breaks"]] == [
        ("KO", "oversell", 100, 150),
        ("KO", "position_mismatch", -50, 0),  # the broker shows no KO short: now visible too
    ]
    assert j["positions_match"] is False  # the oversell
    # AAPL sold 0.10 below the signal: -(100.90 - 101)/101 x 1e4 = +9.90 bps (a cost);
    # cash 1000 + 40360 + 9000 - 2.50
    assert r.per_trade.set_index("symbol").loc["AAPL", "slippage_bps"] == pytest.approx(
        float(Decimal("0.10") / 101 * 10000), abs=1e-9
    )
    assert j["cash_after"] == 50_357.50
    # without the split the same broker position would be a mismatch
    r2 = reconcile(
        t,
        f.iloc[:1],
        before.iloc[:1],
        day=DAY,
        broker_positions=pd.DataFrame({"symbol": ["AAPL"], "shares": [100.0], "avg_cost": [100.0]}),
    )
    kinds = [b["kind"] for b in r2.breaks]
    assert kinds == ["oversell", "position_mismatch"]


def test_200k_fills_vectorised():
    t = parse_trades_text(TRADES)
    co = coids(t)
    n = 200_000
    rng = np.random.default_rng(7)
    sym = np.array(["AAPL", "MSFT", "NVDA", "AMZN"])[rng.integers(0, 4, n)]
    side = np.where(sym == "MSFT", "sell", "buy")
    f = pd.DataFrame(
        {
            "date": DAY,
            "symbol": sym,
            "side": side,
            "shares": 1.0,
            "price": 100.0 + rng.integers(0, 100, n) / 100,
            "commission": 0.01,
            "fill_time": "",
            "order_id": "",
            "client_order_id": pd.Series(sym).map(co).to_numpy(),
            "fill_id": "",
        }
    )
    before = pd.DataFrame({"symbol": ["MSFT"], "shares": [float(n)], "avg_cost": [300.0]})
    r = reconcile(t, f, before, day=DAY, cash_before=0.0)
    assert r.fills_used == n and r.to_json()["commission_actual"] == round(n * 0.01, 2)
    assert int(r.per_trade["executed"].sum()) == n


# ------------------------------------------------------------------ CLI shell


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("XLEXEC_NOW", "2025-10-30T21:00:00+00:00")
    live = tmp_path / "live"
    (live / DAY).mkdir(parents=True)
    t = parse_trades_text(TRADES)
    co = coids(t)
    (live / DAY / "trades.csv").write_text(TRADES)
    fills = day_fills(co)
    fills.to_csv(live / DAY / "broker_fills.csv", index=False)
    POSITIONS_BEFORE.to_csv(live / "current_positions.csv", index=False)
    (live / "events.csv").write_text("symbol,date,event,ratio\nXOM,2025-11-03,earnings,\n")
    CLOSES.to_csv(live / DAY / "closes.csv", index=False)
    ctx = Context(config_from_dict({"live_dir": str(live)}), user="alice")
    with Journal.for_live_dir(live) as j:  # what the submit engine recorded
        for c, s in states(co).items():
            j.append("order_update", f"{c}|{s['status']}|0", {**s, "client_order_id": c}, day=DAY)
    yield ctx, live
    ctx.close()


def run(ctx, *argv, capsys=None):
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config")
    p = argparse.ArgumentParser()
    cmd.register(p.add_subparsers(dest="command"), common)
    args = p.parse_args(list(argv))
    return args.func(args, ctx)


def test_cli_reconcile_writes_dedupes_and_accepts(env, capsys):
    ctx, live = env
    argv = [
        "reconcile",
        "--trades",
        str(live / DAY / "trades.csv"),
        "--fills",
        str(live / DAY / "broker_fills.csv"),
        "--current-positions",
        str(live / "current_positions.csv"),
        "--cash",
        "50000",
        "--json",
    ]
    assert run(ctx, *argv) == 1  # breaks -> exit 1
    out = json.loads(capsys.readouterr().out)
    assert out["cash_after"] == 39_300.15 and out["slippage_bps_avg"] == 19.57
    assert out["not_executed"][0]["reason"] == "Cancelled: insufficient liquidity"  # from the journal
    # MSFT matched through the journal's order id: fully executed with AAPL and NVDA (AMZN partial)
    assert out["trades_executed"] == 3 and out["trades_partial"] == 1
    d = live / DAY
    pa = pd.read_csv(d / "positions_after_recon.csv")
    assert list(pa.columns) == ["symbol", "shares", "avg_cost", "current_value", "weight", "last_updated", "total_cost"]
    assert list(pa["symbol"]) == ["AAPL", "AMZN", "GME", "KO", "NVDA"]
    assert json.loads((d / "reconciliation.json").read_text())["cash_after"] == 39_300.15
    assert "Reconciliation Report - 2025-10-30" in (d / "reconciliation_report.txt").read_text(encoding="utf-8")
    log = (live / "discrepancies.log").read_text().splitlines()
    assert (
        len(log) == 4
        and log[0] == "2025-10-30,TSLA,Recommended: 50,Executed: 0,Reason: Cancelled: insufficient liquidity"
    )
    j = ctx.journal()
    assert len(j.events(FILL, DAY)) == 8
    # rerun: nothing doubled (fills, discrepancy lines, reconciliation event)
    assert run(ctx, *argv) == 1
    capsys.readouterr()
    assert len(j.events(FILL, DAY)) == 8
    assert (live / "discrepancies.log").read_text().splitlines() == log
    recon = j.events(RECON, DAY)
    assert len(recon) == 1
    s = recon[0].payload
    assert (
        s["cash_after"],
        s["portfolio_value_after"],
        s["notional_traded"],
        s["commission_actual"],
        s["slippage_usd"],
    ) == (39_300.15, 88_311.65, 29_617.80, 2.05, 57.80)
    assert not (live / f"current_positions.{DAY}.bak.csv").exists()
    # accept over the two open breaks (NVDA over-fill, GME unplanned) is refused without a reason
    before = (live / "current_positions.csv").read_bytes()
    with pytest.raises(RefusedError, match="2 open break"):
        run(ctx, *argv[:-1], "--accept")
    assert (live / "current_positions.csv").read_bytes() == before
    # forced with a reason: previous kept as a dated backup, journaled with who and why
    assert run(ctx, *argv[:-1], "--accept", "--force", "--reason", "GME bought by hand") == 1
    capsys.readouterr()
    assert (live / "current_positions.csv").read_bytes() == (d / "positions_after_recon.csv").read_bytes()
    assert pd.read_csv(live / f"current_positions.{DAY}.bak.csv").equals(POSITIONS_BEFORE)
    acc = [e for e in j.events(POSITIONS, DAY) if e.payload.get("action") == "accept_reconciliation"]
    assert len(acc) == 1 and acc[0].actor == "alice" and acc[0].payload["by"] == "alice"
    assert acc[0].payload["reason"] == "GME bought by hand" and acc[0].payload["forced"] is True


def test_cli_reconcile_other_layout_and_previous_cash(env, capsys):
    ctx, live = env
    text = (
        "Run Date,Action,Symbol,Security Description,Security Type,Quantity,Price ($),Commission ($),Fees ($),"
        "Accrued Interest ($),Amount ($),Settlement Date\n"
        "10/30/2025, YOU BOUGHT APPLE INC (AAPL) (Cash), AAPL, APPLE INC,Cash,100,150.14,,0.50,,-15014.50,\n"
    )
    (live / "fid.csv").write_text(",,,,\n" + text)
    with Journal.for_live_dir(live) as j:
        j.append(RECON, "2025-10-29|x", {"cash_after": 20_000.0}, day="2025-10-29")
    argv = ["reconcile", "--trades", str(live / DAY / "trades.csv"), "--fills", str(live / "fid.csv"), "--json"]
    assert run(ctx, *argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["cash_before"] == 20_000.0 and out["cash_after"] == 20_000.0 - 15_014.0 - 0.50
    assert out["trades_executed"] == 1 and out["slippage_bps_worst"] == {"symbol": "AAPL", "bps": 9.33}
    # rerunning the same day starts from the same cash, not from its own result
    assert run(ctx, *argv) == 0
    assert json.loads(capsys.readouterr().out)["cash_before"] == 20_000.0
    with pytest.raises(Exception, match="unknown fills layout"):
        (live / "x.csv").write_text("a,b\n1,2\n")
        run(ctx, "reconcile", "--trades", str(live / DAY / "trades.csv"), "--fills", str(live / "x.csv"))


def test_cli_compare_and_sync_positions(env, capsys):
    ctx, live = env
    (live / "broker.csv").write_text("symbol,qty,avg_entry_price\nAAPL,150,145.50\nMSFT,25,365.20\nKO,100.42,60\n")
    assert run(ctx, "compare-positions", "--broker", str(live / "broker.csv")) == 1
    assert "fractional DRIP shares" in capsys.readouterr().out
    (live / "same.csv").write_text("symbol,shares\nAAPL,150\nMSFT,25\nKO,100\n")
    assert run(ctx, "compare-positions", "--broker", str(live / "same.csv")) == 0
    capsys.readouterr()
    from xlexec.errors import RefusedError

    with pytest.raises(RefusedError):
        run(ctx, "sync-positions", "--source", "broker", "--broker-file", str(live / "broker.csv"))
    assert pd.read_csv(live / "current_positions.csv").equals(POSITIONS_BEFORE)  # unchanged
    assert (
        run(ctx, "sync-positions", "--source", "broker", "--force-update", "--broker-file", str(live / "broker.csv"))
        == 0
    )
    capsys.readouterr()
    now = pd.read_csv(live / "current_positions.csv")
    assert (
        list(now["symbol"]) == ["AAPL", "KO", "MSFT"] and float(now.set_index("symbol").loc["KO", "shares"]) == 100.42
    )
    baks = list(live.glob("current_positions.*.bak.csv"))
    assert len(baks) == 1 and pd.read_csv(baks[0]).equals(POSITIONS_BEFORE)
    ev = ctx.journal().events(POSITIONS)
    assert len(ev) == 1 and ev[0].actor == "alice" and ev[0].payload["action"] == "sync_from_broker"


# ------------------------------------------------------------------ the orders actually sent

EDITED = TRADES.replace("AAPL,buy,100,150.00,15000.00", "AAPL,buy,120,150.00,18000.00")  # after submission


def _intents(co):
    """What the engine journaled for the original file: AAPL 100 and MSFT 25 went out."""
    return [
        {
            "client_order_id": co["AAPL"],
            "symbol": "AAPL",
            "side": "buy",
            "qty": 100.0,
            "order_type": "limit",
            "limit_price": 150.0,
            "price": 150.0,
        },
        {
            "client_order_id": co["MSFT"],
            "symbol": "MSFT",
            "side": "sell",
            "qty": 25.0,
            "order_type": "limit",
            "limit_price": 380.0,
            "price": 380.0,
        },
    ]


def test_fills_match_the_sent_order_even_after_trades_csv_was_edited():
    from xlexec.core.reconcile import sent_orders

    co = coids(parse_trades_text(TRADES))
    edited = parse_trades_text(EDITED)
    assert coids(edited)["AAPL"] != co["AAPL"]  # the edit changed the batch: new ids
    fills = pd.DataFrame([[DAY, "AAPL", "buy", 100, 150.10, 0.50, "09:31", "o-1", co["AAPL"], "f1"]], columns=FILL_COLS)
    r = reconcile(edited, fills, POSITIONS_BEFORE, day=DAY, sent=sent_orders(_intents(co)))
    aapl = r.per_trade[r.per_trade["symbol"] == "AAPL"].iloc[0]
    # matched to the intent (100 sent, 100 filled), not to the edited file's 120
    assert aapl["client_order_id"] == co["AAPL"]
    assert aapl["planned"] == 100 and aapl["executed"] == 100 and aapl["status"] == "filled"
    assert r.partial == [] and not any(b["kind"] == "unplanned_fill" for b in r.breaks)
    # symbols nothing was sent for are still reported, as not executed; the file's order kept
    assert r.per_trade["symbol"].tolist() == ["AAPL", "MSFT", "TSLA", "NVDA", "AMZN"]
    assert {d["symbol"] for d in r.not_executed} == {"MSFT", "TSLA", "NVDA", "AMZN"}
    # without the intents, the edited file's 120 is the plan: a partial fill
    r0 = reconcile(edited, fills, POSITIONS_BEFORE, day=DAY)
    assert r0.partial[0]["symbol"] == "AAPL" and r0.partial[0]["planned"] == 120


def test_a_chase_replacements_fills_count_for_the_order_it_replaced():
    from xlexec.core.reconcile import sent_orders

    t = parse_trades_text(TRADES)
    co = coids(t)
    chase = {
        "client_order_id": co["AAPL"] + "-c1",
        "symbol": "AAPL",
        "side": "buy",
        "qty": 40.0,
        "order_type": "limit",
        "limit_price": 150.05,
        "price": None,
        "chase_of": co["AAPL"],
    }
    fills = pd.DataFrame(
        [
            [DAY, "AAPL", "buy", 60, 150.00, 0.3, "09:31", "o-1", co["AAPL"], "f1"],
            [DAY, "AAPL", "buy", 40, 150.05, 0.2, "09:45", "o-1b", co["AAPL"] + "-c1", "f2"],
        ],
        columns=FILL_COLS,
    )
    r = reconcile(t, fills, POSITIONS_BEFORE, day=DAY, sent=sent_orders(_intents(co) + [chase]))
    aapl = r.per_trade[r.per_trade["symbol"] == "AAPL"]
    assert len(aapl) == 1 and aapl.iloc[0]["executed"] == 100 and aapl.iloc[0]["n_fills"] == 2
    assert aapl.iloc[0]["status"] == "filled"
    # 60 x 150.00 + 40 x 150.05 = 15,002.00 for 100 shares: avg 150.02, +1.3333 bps vs the $150.00 signal
    assert aapl.iloc[0]["avg_price"] == pytest.approx(150.02)
    assert aapl.iloc[0]["slippage_bps"] == pytest.approx(float(Decimal("0.02") / 150 * 10000), abs=1e-9)


def test_cli_reconcile_uses_the_journaled_intents(env, capsys):
    ctx, live = env
    co = coids(parse_trades_text(TRADES))
    with Journal.for_live_dir(live) as j:
        for p in _intents(co):
            j.append("order_intent", p["client_order_id"], p, day=DAY)
    (live / DAY / "trades.csv").write_text(EDITED)  # edited after submission
    pd.DataFrame([[DAY, "AAPL", "buy", 100, 150.10, 0.50, "09:31", "o-1", co["AAPL"], "f1"]], columns=FILL_COLS).to_csv(
        live / DAY / "broker_fills.csv", index=False
    )
    run(ctx, "reconcile", "--date", DAY, "--cash", "50000", "--json")
    out = json.loads(capsys.readouterr().out)
    assert out["partial"] == [] and out["trades_executed"] == 1
    rows = pd.read_csv(live / DAY / "reconciliation_trades.csv")
    aapl = rows[rows["symbol"] == "AAPL"]
    assert aapl["planned"].tolist() == [100] and aapl["client_order_id"].tolist() == [co["AAPL"]]
    assert aapl["status"].tolist() == ["filled"]


def test_a_chased_orders_reason_comes_from_its_live_replacement():
    from xlexec.core.reconcile import sent_orders

    t = parse_trades_text(TRADES)
    co = coids(t)
    chase = {
        "client_order_id": co["AAPL"] + "-c1",
        "symbol": "AAPL",
        "side": "buy",
        "qty": 40.0,
        "order_type": "limit",
        "limit_price": 150.05,
        "price": None,
        "chase_of": co["AAPL"],
    }
    fills = pd.DataFrame([[DAY, "AAPL", "buy", 60, 150.00, 0.3, "09:31", "o-1", co["AAPL"], "f1"]], columns=FILL_COLS)
    st = {
        co["AAPL"]: {"id": "o-1", "status": "replaced", "symbol": "AAPL", "side": "buy"},
        co["AAPL"] + "-c1": {"id": "o-1b", "status": "expired", "symbol": "AAPL", "side": "buy"},
    }
    r = reconcile(t, fills, POSITIONS_BEFORE, day=DAY, sent=sent_orders(_intents(co) + [chase]), order_states=st)
    assert r.partial[0]["symbol"] == "AAPL" and r.partial[0]["reason"] == "Partial fill (remainder expired)"
