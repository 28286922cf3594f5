"""Daily TCA against a hand-computed day (tests/data/tca/day).

The day (portfolio $100,000; signal prices; side +1 buy / -1 sell; cost > 0 is a cost):

  AAPL buy 100 @150.00  fills 60 @150.10 (c 0.60) + 40 @150.20 (c 0.40), by client order id
        avg = (60*150.10 + 40*150.20)/100 = (9006 + 6008)/100 = 150.14
        slip = +1*100*(150.14-150) = +14.00 ; bps = 0.14/150*1e4 = 9.3333 ; unfavorable
  MSFT sell 50 @400.00  fill 50 @400.40 (c 1.00), by client order id
        slip = -1*50*(400.40-400) = -20.00 ; bps = -10.00 ; favorable (sold higher)
  NVDA buy 200 @100.00  fills 120 @99.90 (c 1.20, coid) + 30 @100.05 (c 0.30, unknown coid
        'manual-123' -> falls back to symbol+side); filled 150, unfilled 50
        avg = (11988 + 3001.5)/150 = 99.93 ; slip = 150*(99.93-100) = -10.50 ; bps = -7.00
        opportunity = +1*50*(close 101 - 100) = +50.00
  TSLA sell 40 @250.00  no fill; opportunity = -1*40*(close 245 - 250) = +200.00
  JPM  sell 100 @200.00 fill 100 @199.70 (c 1.50, no coid -> symbol+side)
        slip = -1*100*(199.70-200) = +30.00 ; bps = 15.00 ; unfavorable

  commission est = 1.50+2+2+1+2 = 8.50 ; actual = .60+.40+1+1.20+.30+1.50 = 5.00
        variance = -3.50 ; pct = -3.5/8.5 = -0.41176471
  slippage est = 3+4+4+2+4 = 17.00 over planned notional 15000+20000+20000+10000+20000 = 85000
        -> 17/85000*1e4 = 2.00 bps
  slippage actual = 14 - 20 - 10.50 + 30 = 13.50 over filled notional (filled x signal)
        15000 + 20000 + 150*100 + 20000 = 70000 -> 13.5/70000*1e4 = 1.92857 bps -> 1.93
  favorable 2 (MSFT, NVDA) saved 20 + 10.50 = 30.50 ; unfavorable 2 (AAPL, JPM) cost 44.00
  opportunity: 2 orders with unfilled quantity (NVDA partly, TSLA), 50 + 200 = 250.00
  total = 5.00 + 13.50 = 18.50 ; /70000 = 0.00026429 ; /100000 = 0.000185
  by symbol (commission + slippage, % of filled notional):
        JPM 30+1.50 = 31.50 (31.5/20000 = 0.001575), AAPL 14+1 = 15.00 (0.001),
        TSLA 0.00 (n/a), NVDA -10.5+1.5 = -9.00 (-9/15000 = -0.0006),
        MSFT -20+1 = -19.00 (-19/20000 = -0.00095)
  arrivals AAPL 150.05, MSFT 400.10, NVDA 99.95, JPM 199.90:
        delay = 100*(0.05) - 50*(0.10) + 150*(-0.05) - 100*(-0.10) = 5 - 5 - 7.5 + 10 = 2.50
        execution = 100*(0.09) - 50*(0.30) + 150*(-0.02) - 100*(-0.20) = 9 - 15 - 3 + 20 = 11.00
        (2.50 + 11.00 = 13.50 = slippage) ; total shortfall = 13.50 + 250 + 5 = 268.50
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from xlexec.cli.app import main
from xlexec.core.orders import orders_from_trades
from xlexec.core.tca import daily_tca
from xlexec.formats.fills import read_fills
from xlexec.formats.inputs import read_closes
from xlexec.formats.trades import read_trades
from xlexec.store.arrivals import arrivals_from_journal
from xlexec.store.journal import INTENT, Journal

DATA = Path(__file__).parent / "data" / "tca" / "day"
CENT = 0.01 + 1e-9


def _coids(trades) -> dict[tuple[str, str], str]:
    o = orders_from_trades(trades)
    return {(s, sd): c for s, sd, c in zip(o["symbol"], o["side"], o["client_order_id"])}


def _day_folder(dst: Path) -> Path:
    """Copy the fixture day, filling in the real client order ids of the plan."""
    dst.mkdir(parents=True, exist_ok=True)
    for name in ("trades.csv", "closes.csv"):
        shutil.copy(DATA / name, dst / name)
    coids = _coids(read_trades(DATA / "trades.csv"))
    text = (DATA / "broker_fills.csv").read_text()
    for (s, sd), c in coids.items():
        text = text.replace(f"{{coid:{s}:{sd}}}", c)
    (dst / "broker_fills.csv").write_text(text)
    return dst


def _arrivals(coids, jpm=199.90) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "client_order_id": [coids[("AAPL", "buy")], coids[("MSFT", "sell")], "", coids[("JPM", "sell")]],
            "symbol": ["AAPL", "MSFT", "NVDA", "JPM"],  # NVDA: matched by symbol+side
            "side": ["buy", "sell", "buy", "sell"],
            "arrival_price": [150.05, 400.10, 99.95, jpm],
        }
    )


@pytest.fixture
def day(tmp_path):
    d = _day_folder(tmp_path / "live" / "2025-10-30")
    trades = read_trades(d / "trades.csv")
    return d, trades, read_fills(d / "broker_fills.csv"), read_closes(d / "closes.csv"), _coids(trades)


def test_hand_computed_day_every_figure(day):
    d, trades, fills, closes, coids = day
    r = daily_tca(
        trades, fills, closes=closes, arrivals=_arrivals(coids), portfolio_value=trades.header.portfolio_value
    )
    j = r.to_json()
    assert list(j) == ["commission", "slippage", "opportunity", "total", "by_symbol", "shortfall"]
    assert j["commission"] == {
        "estimated": 8.50,
        "actual": 5.00,
        "variance": -3.50,
        "variance_pct": pytest.approx(-3.5 / 8.5, abs=1e-8),
    }
    s = j["slippage"]
    assert s["estimated_usd"] == pytest.approx(17.00, abs=CENT)
    assert s["estimated_bps"] == pytest.approx(2.00, abs=0.01)
    assert s["actual_usd"] == pytest.approx(13.50, abs=CENT)
    assert s["actual_bps"] == pytest.approx(1.93, abs=0.01)
    assert r.slippage_actual_bps == pytest.approx(13.5 / 70000 * 1e4, abs=1e-9)
    assert s["favorable"] == {"count": 2, "usd": 30.50}
    assert s["unfavorable"] == {"count": 2, "usd": 44.00}
    assert j["opportunity"] == {"unfilled_orders": 2, "usd": 250.00}
    assert j["total"]["usd"] == pytest.approx(18.50, abs=CENT)
    assert j["total"]["pct_notional"] == pytest.approx(18.5 / 70000, abs=1e-8)
    assert j["total"]["pct_portfolio"] == pytest.approx(0.000185, abs=1e-8)
    assert [(x["symbol"], x["usd"]) for x in j["by_symbol"]] == [
        ("JPM", 31.50),
        ("AAPL", 15.00),
        ("TSLA", 0.00),
        ("NVDA", -9.00),
        ("MSFT", -19.00),
    ]
    pct = {x["symbol"]: x["pct_trade"] for x in j["by_symbol"]}
    assert pct == {"JPM": 0.001575, "AAPL": 0.001, "TSLA": None, "NVDA": -0.0006, "MSFT": -0.00095}
    sf = j["shortfall"]
    assert sf == {"delay": 2.50, "execution": 11.00, "opportunity": 250.00, "fees": 5.00, "total": 268.50}
    assert sf["delay"] + sf["execution"] + sf["opportunity"] + sf["fees"] == pytest.approx(sf["total"], abs=CENT)
    assert r.worst["symbol"] == "JPM" and r.best["symbol"] == "MSFT"
    assert r.notes == []
    json.dumps(j, allow_nan=False)  # no NaN leaks into the JSON


def test_partials_matching_and_per_trade_figures(day):
    d, trades, fills, closes, coids = day
    r = daily_tca(trades, fills, closes=closes, arrivals=_arrivals(coids), portfolio_value=100000.0)
    bt = r.by_trade.set_index("symbol")
    assert bt.loc["AAPL", "filled_shares"] == 100 and bt.loc["AAPL", "n_fills"] == 2
    assert bt.loc["AAPL", "avg_fill_price"] == pytest.approx(150.14, abs=1e-9)
    assert bt.loc["AAPL", "slippage_bps"] == pytest.approx(0.14 / 150 * 1e4, abs=1e-9)  # 9.3333
    assert bt.loc["MSFT", "slippage_bps"] == pytest.approx(-10.0, abs=1e-9)
    # NVDA: one fill by client order id, the other ('manual-123') by symbol+side
    assert bt.loc["NVDA", "filled_shares"] == 150 and bt.loc["NVDA", "unfilled_shares"] == 50
    assert bt.loc["NVDA", "avg_fill_price"] == pytest.approx(99.93, abs=1e-9)
    assert bt.loc["NVDA", "commission"] == pytest.approx(1.50, abs=1e-9)
    assert bt.loc["NVDA", "opportunity_usd"] == pytest.approx(50.0, abs=1e-9)
    assert bt.loc["JPM", "matched_by"] == "symbol+side" and bt.loc["AAPL", "matched_by"] == "client_order_id"
    assert bt.loc["TSLA", "filled_shares"] == 0 and bt.loc["TSLA", "opportunity_usd"] == pytest.approx(200.0)
    assert bt.loc["JPM", "slippage_bps"] == pytest.approx(15.0, abs=1e-9)
    assert bt.loc["JPM", "delay_usd"] == pytest.approx(10.0) and bt.loc["JPM", "execution_usd"] == pytest.approx(20.0)
    # aggregate bps is notional-weighted, not the plain mean of (9.33, -10, -7, 15) = 1.83
    assert r.slippage_actual_bps == pytest.approx(1.9285714, abs=1e-6)


def test_unknown_arrival_is_not_guessed(day):
    d, trades, fills, closes, coids = day
    r = daily_tca(trades, fills, closes=closes, arrivals=_arrivals(coids, jpm=None), portfolio_value=100000.0)
    sf = r.to_json()["shortfall"]
    # JPM's arrival unknown: the day's split is unknown; total = 13.50 + 250 + 5 = 268.50 still
    assert sf == {"delay": None, "execution": None, "opportunity": 250.00, "fees": 5.00, "total": 268.50}
    note = [n for n in r.notes if "arrival price unknown for JPM" in n]
    assert note and "delay/execution split not available" in note[0]
    # the known part: delay 5 - 5 - 7.5 = -7.50, execution 9 - 15 - 3 = -9.00; 30.00 not split
    assert "delay -$7.50" in note[0] and "execution -$9.00" in note[0] and "$30.00 of slippage" in note[0]
    bt = r.by_trade.set_index("symbol")
    assert pd.isna(bt.loc["JPM", "delay_usd"]) and bt.loc["AAPL", "delay_usd"] == pytest.approx(5.0)
    # no arrivals at all: every filled trade named
    r2 = daily_tca(trades, fills, closes=closes, portfolio_value=100000.0)
    assert r2.to_json()["shortfall"]["delay"] is None
    assert any("AAPL, MSFT, NVDA, JPM" in n for n in r2.notes)


def test_missing_close_and_portfolio_value_are_said(day):
    d, trades, fills, closes, coids = day
    r = daily_tca(trades, fills, closes=closes[closes["symbol"] != "TSLA"], arrivals=_arrivals(coids))
    j = r.to_json()
    assert j["opportunity"] == {"unfilled_orders": 2, "usd": None}
    assert j["shortfall"]["opportunity"] is None and j["shortfall"]["total"] is None
    assert j["total"]["usd"] == 18.50 and j["total"]["pct_portfolio"] is None
    assert any(n.startswith("close unknown for TSLA") for n in r.notes)
    assert any("portfolio value unknown" in n for n in r.notes)
    assert "n/a" in r.report_text()


def test_unplanned_fill_left_out_and_named(day):
    d, trades, fills, closes, coids = day
    extra = pd.DataFrame(
        [
            {
                "date": "2025-10-30",
                "symbol": "AMD",
                "side": "buy",
                "shares": 10.0,
                "price": 50.0,
                "commission": 0.25,
                "fill_time": "12:00:00",
                "order_id": "X1",
                "client_order_id": "",
            }
        ]
    )
    r = daily_tca(
        trades,
        pd.concat([fills, extra], ignore_index=True),
        closes=closes,
        arrivals=_arrivals(coids),
        portfolio_value=100000.0,
    )
    j = r.to_json()
    # the unplanned fill's $0.25 was paid: in the commission (every fill), not in the slippage
    assert j["commission"]["actual"] == 5.25 and j["slippage"]["actual_usd"] == 13.50
    assert r.commission_unplanned == 0.25 and r.record()["commission_unplanned"] == 0.25
    assert len(r.unplanned) == 1 and r.unplanned["symbol"].iloc[0] == "AMD"
    assert any("AMD buy 10" in n and "$0.25" in n for n in r.notes)


def test_report_text_has_the_guides_sections(day):
    d, trades, fills, closes, coids = day
    txt = daily_tca(trades, fills, closes=closes, arrivals=_arrivals(coids), portfolio_value=100000.0).report_text()
    assert txt.startswith("Transaction Cost Analysis - 2025-10-30\n")
    for needle in (
        "Sign convention: cost bps = side x (fill - benchmark) / benchmark x 10,000",
        "positive is a cost",
        "1. Commission Costs:",
        "Variance:  -$3.50 (-41.18%)",
        "2. Slippage Costs",
        "Actual:       $13.50 (1.93 bps, weighted by filled shares x signal price)",
        "Favorable:   2 trades, saved $30.50",
        "Unfavorable: 2 trades, cost $44.00",
        "3. Opportunity Costs",
        "Unfilled: 1 order (TSLA); partly filled: 1 (NVDA)",
        "Missed PnL: $250.00",
        "4. Total Costs",
        "Total Transaction Costs: $18.50",
        "As % of Portfolio: 0.019%",
        "5. Cost Attribution by Symbol",
        "Worst: JPM ($31.50, 0.158% of trade)",
        "Best: MSFT (-$19.00, -0.095% of trade)",
        "Delay (signal -> arrival):   $2.50",
        "Total shortfall:             $268.50",
    ):
        assert needle in txt, needle


def test_arrivals_from_journal(tmp_path):
    j = Journal(tmp_path / "journal.sqlite")
    base = {"qty": 100, "order_type": "limit", "limit_price": 150.0, "submitted_at": "2025-10-30T13:31:00Z"}
    j.append(
        INTENT,
        "c1",
        {**base, "client_order_id": "c1", "symbol": "aapl", "side": "buy", "price": 150.0, "arrival_price": 150.05},
        day="2025-10-30",
    )
    j.append(
        INTENT,
        "c2",
        {**base, "client_order_id": "c2", "symbol": "JPM", "side": "sell", "price": 200.0, "arrival_price": None},
        day="2025-10-30",
    )
    j.append(
        INTENT,
        "c3",
        {**base, "client_order_id": "c3", "symbol": "MSFT", "side": "sell", "price": 400.0, "arrival_price": 401.0},
        day="2025-10-31",
    )
    a = arrivals_from_journal(j, "2025-10-30")
    j.close()
    assert a["client_order_id"].tolist() == ["c1", "c2"]
    assert a["symbol"].tolist() == ["AAPL", "JPM"]
    assert a["arrival_price"].iloc[0] == 150.05 and pd.isna(a["arrival_price"].iloc[1])
    assert a["signal_price"].tolist() == [150.0, 200.0]


def _config(tmp_path: Path) -> Path:
    cfg = tmp_path / "config.yaml"
    cfg.write_text(f"live_dir: {tmp_path / 'live'}\nexecution:\n  broker: paper\n")
    return cfg


def test_cli_tca_writes_json_and_report(tmp_path, capsys):
    d = _day_folder(tmp_path / "live" / "2025-10-30")
    coids = _coids(read_trades(d / "trades.csv"))
    with Journal.for_live_dir(tmp_path / "live") as j:
        for (sym, side), px in {
            ("AAPL", "buy"): 150.05,
            ("MSFT", "sell"): 400.10,
            ("NVDA", "buy"): 99.95,
            ("JPM", "sell"): 199.90,
        }.items():
            c = coids[(sym, side)]
            j.append(
                INTENT,
                c,
                {
                    "client_order_id": c,
                    "symbol": sym,
                    "side": side,
                    "qty": 1,
                    "order_type": "limit",
                    "limit_price": None,
                    "price": 1.0,
                    "arrival_price": px,
                    "submitted_at": "2025-10-30T13:31:00Z",
                },
                day="2025-10-30",
            )
    rc = main(["tca", str(d), "--json", "--config", str(_config(tmp_path))])
    out = capsys.readouterr().out
    assert rc == 0
    printed = json.loads(out)
    saved = json.loads((d / "tca.json").read_text())
    assert printed == saved
    assert saved["shortfall"] == {
        "delay": 2.50,
        "execution": 11.00,
        "opportunity": 250.00,
        "fees": 5.00,
        "total": 268.50,
    }
    assert saved["total"]["usd"] == 18.50 and saved["broker"] == "paper"
    assert saved["date"] == "2025-10-30" and saved["notional"] == 70000.00 and saved["trades_filled"] == 4
    assert saved["portfolio_value"] == 100000.00
    rep = (d / "tca_report.txt").read_text()
    assert rep.startswith("Transaction Cost Analysis - 2025-10-30") and "Sign convention" in rep
    assert not list(d.glob(".*.tmp"))
    # the text form prints the report
    assert main(["tca", str(d), "--config", str(_config(tmp_path))]) == 0
    assert capsys.readouterr().out == rep


def test_cli_tca_missing_fills_is_one_line_exit_2(tmp_path, capsys):
    d = tmp_path / "live" / "2025-10-30"
    d.mkdir(parents=True)
    shutil.copy(DATA / "trades.csv", d / "trades.csv")
    rc = main(["tca", str(d), "--config", str(_config(tmp_path))])
    err = capsys.readouterr().err
    assert rc == 2
    assert "broker_fills.csv" in err and "not found" in err and len(err.strip().splitlines()) == 1
    assert not (d / "tca.json").exists()
    assert not (tmp_path / "live" / "journal.sqlite").exists()  # reading never creates a journal
