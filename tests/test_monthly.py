"""Monthly cost summary against hand-computed months."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal, getcontext
from pathlib import Path

import pytest

from xlexec.cli.app import main
from xlexec.core.monthly import DayRecord, monthly_report
from xlexec.formats.monthly import upsert_monthly_costs
from xlexec.store.month import collect_month, reconciled_value

getcontext().prec = 40


def hand_linked(periods):
    """By hand, in Decimal: periods (V_start, flow F at the start, V_end, commission $, slippage $)
    -> (gross, net, commission_costs, slippage_costs). Net r = (V_end - V_start - F)/(V_start + F),
    costs on the same base, linked prod(1 + r) - 1; the drag G - R split as the mean of the two
    orders of taking commission and slippage out."""

    def link(rs):
        out = Decimal(1)
        for r in rs:
            out *= 1 + r
        return out - 1

    P = [tuple(Decimal(str(x)) for x in p) for p in periods]
    n = [(e - s - f) / (s + f) for s, f, e, _, _ in P]
    c = [cm / (s + f) for s, f, _, cm, _ in P]
    sl = [x / (s + f) for s, f, _, _, x in P]
    g = link([a + b + d for a, b, d in zip(n, c, sl)])
    r = link(n)
    without_comm = link([a + d for a, d in zip(n, sl)])
    without_slip = link([a + b for a, b in zip(n, c)])
    cc = ((g - without_comm) + (without_slip - r)) / 2
    sc = ((g - without_slip) + (without_comm - r)) / 2
    return float(g), float(r), float(cc), float(sc)


# A hand month (pure): three days, two brokers.
#   day         broker  trades notional  comm  slip   pv start  pv after(reconciled)
#   2025-10-01  paper   2      50,000    5.00  10.00  100,000   100,500
#   2025-10-02  paper   3      20,000    2.00   2.00  100,500   101,000
#   2025-10-03  alpaca  4      80,000    8.00  24.00  101,000   102,010
# total commission 15.00 ; slippage 36.00 over 150,000 -> 36/150000*1e4 = 2.40 bps
# average portfolio value (start of day) = (100000 + 100500 + 101000)/3 = 100,500
# cost_pct_portfolio = 51/100500 = 0.000507463
# returns, time-weighted (each day's base = the previous reconciled value; first day: its start
# value, no opening value), reconciled values after costs -> the daily return is net:
#   day 1: 100000 -> 100500, costs 5 + 10 ; day 2: 100500 -> 101000, 2 + 2 ; day 3: 101000 ->
#   102010, 8 + 24 ; net telescopes: 102010/100000 - 1 = 0.0201 ; gross links net_d + cost_d/base_d
#   (hand_linked: gross 0.020612720, commission_costs 0.000150972, slippage_costs 0.000361748)
# turnover = 50000/100000 = 0.5, 20000/100500 = 0.199004975, 80000/101000 = 0.792079208
# cost     = 15, 4, 32
# Pearson: mean t = 1.491084183/3 = 0.497028061 ; mean c = 17
#   dt = 0.002971939, -0.298023086, 0.295051147 ; dc = -2, -13, 15
#   Sxy = -0.005943878 + 3.874300117 + 4.425767204 = 8.294123442
#   Sxx = 0.000008832 + 0.088817760 + 0.087055180 = 0.175881771 ; Syy = 4 + 169 + 225 = 398
#   r = 8.294123442 / sqrt(0.175881771 * 398) = 8.294123442 / 8.366694 = 0.991331
# brokers: alpaca 4 trades, 80,000, 8.00, 24/80000*1e4 = 3.00 bps
#          paper  5 trades, 70,000, 7.00, 12/70000*1e4 = 1.714 -> 1.71 bps

DAYS = [
    DayRecord(
        "2025-10-01",
        notional=50000,
        commission=5.00,
        slippage_usd=10.00,
        trades=2,
        portfolio_value=100000,
        portfolio_value_after=100500,
        broker="paper",
    ),
    DayRecord(
        "2025-10-02",
        notional=20000,
        commission=2.00,
        slippage_usd=2.00,
        trades=3,
        portfolio_value=100500,
        portfolio_value_after=101000,
        broker="paper",
    ),
    DayRecord(
        "2025-10-03",
        notional=80000,
        commission=8.00,
        slippage_usd=24.00,
        trades=4,
        portfolio_value=101000,
        portfolio_value_after=102010,
        broker="alpaca",
    ),
]


def test_hand_computed_month():
    r = monthly_report(list(reversed(DAYS)), "2025-10")
    j = r.to_json()
    assert list(j) == [
        "month",
        "total_commission",
        "avg_slippage_bps",
        "cost_pct_portfolio",
        "turnover_cost_corr",
        "gross_return",
        "commission_costs",
        "slippage_costs",
        "net_return",
        "by_broker",
    ]
    assert j["month"] == "2025-10"
    assert j["total_commission"] == 15.00
    assert j["avg_slippage_bps"] == pytest.approx(2.40, abs=0.01)
    g, n, cc, sc = hand_linked([(100000, 0, 100500, 5, 10), (100500, 0, 101000, 2, 2), (101000, 0, 102010, 8, 24)])
    assert j["commission_costs"] == pytest.approx(cc, abs=1e-8) and cc == pytest.approx(0.000150972, abs=1e-9)
    assert j["slippage_costs"] == pytest.approx(sc, abs=1e-8)
    assert j["cost_pct_portfolio"] == pytest.approx(0.000507463, abs=1e-8)
    assert j["net_return"] == pytest.approx(0.0201, abs=1e-8) and n == pytest.approx(0.0201, abs=1e-15)
    assert j["gross_return"] == pytest.approx(g, abs=1e-8)
    assert j["gross_return"] - j["commission_costs"] - j["slippage_costs"] == pytest.approx(j["net_return"], abs=1e-8)
    assert j["turnover_cost_corr"] == pytest.approx(0.991331, abs=1e-5)
    assert j["by_broker"] == [
        {"broker": "alpaca", "trades": 4, "notional": 80000.00, "commission": 8.00, "slippage_bps": 3.00},
        {"broker": "paper", "trades": 5, "notional": 70000.00, "commission": 7.00, "slippage_bps": 1.71},
    ]
    d = r.daily
    assert list(d.columns[:7]) == [
        "date",
        "notional",
        "commission",
        "slippage_usd",
        "total_cost",
        "turnover",
        "portfolio_value",
    ]
    assert d["date"].tolist() == ["2025-10-01", "2025-10-02", "2025-10-03"]
    assert d["total_cost"].tolist() == [15.0, 4.0, 32.0]
    assert d["turnover"].tolist() == pytest.approx([0.5, 0.199004975, 0.792079208], abs=1e-9)
    assert r.avg_portfolio_value == pytest.approx(100500.0)
    json.dumps(j, allow_nan=False)
    txt = r.report_text()
    for needle in (
        "Monthly Cost Summary - 2025-10",
        "Total commission paid:         $15.00",
        "2.40 bps",
        "Gross Return:      +2.061%",
        "Net Return:        +2.010%",
        "alpaca",
    ):
        assert needle in txt, needle


def test_gross_from_values_when_asked():
    r = monthly_report(DAYS, "2025-10", values_after_costs=False)
    # observed daily returns taken as gross (they link to 0.0201); net_d = gross_d - cost_d/base_d:
    # day 1: 0.005 - 15/100000 ; day 2: 500/100500 - 4/100500 ; day 3: 0.01 - 32/101000
    net = (1 + Decimal("0.005") - Decimal(15) / 100000) * (1 + Decimal(496) / 100500) * (
        1 + Decimal("0.01") - Decimal(32) / 101000
    ) - 1
    assert r.to_json()["gross_return"] == pytest.approx(0.0201, abs=1e-8)
    assert r.to_json()["net_return"] == pytest.approx(float(net), abs=1e-8)
    j = r.to_json()
    assert j["gross_return"] - j["commission_costs"] - j["slippage_costs"] == pytest.approx(j["net_return"], abs=2e-8)


def test_missing_days_and_opening_value_are_explicit():
    days = [
        DayRecord(
            d.date,
            d.notional,
            d.commission,
            d.slippage_usd,
            d.trades,
            d.portfolio_value,
            d.portfolio_value_after,
            d.broker,
        )
        for d in DAYS[:2]
    ]
    days[1].portfolio_value_after = None  # day 2 not reconciled
    r = monthly_report(days, "2025-10", opening_value=99000.0)
    # net = 100500/99000 - 1 = 0.015151515 (day 1 only, base: the opening value) ; 2 days -> no
    # correlation ; gross = net + day 1's costs (5 + 10) / 99000 (day 2's costs are in no period)
    # avg pv = (100000+100500)/2 = 100250 ; costs (5+2+10+2)/100250 = 0.000189526
    j = r.to_json()
    assert j["net_return"] == pytest.approx(0.015151515, abs=1e-8)
    assert j["cost_pct_portfolio"] == pytest.approx(0.000189526, abs=1e-8)
    assert j["gross_return"] == pytest.approx(0.015151515 + 15 / 99000, abs=1e-8)
    assert j["turnover_cost_corr"] is None
    assert any("no reconciled portfolio value for 2025-10-02" in n for n in r.notes)
    assert any("through 2025-10-01 only" in n for n in r.notes)
    assert any("needs 3 days" in n for n in r.notes)
    assert r.return_period == ("2025-10-01", "2025-10-01")


def test_no_values_at_all_gives_nulls_not_guesses():
    r = monthly_report([DayRecord("2025-10-01", notional=1000, commission=1, slippage_usd=1, trades=1)], "2025-10")
    j = r.to_json()
    assert j["gross_return"] is None and j["net_return"] is None and j["cost_pct_portfolio"] is None
    assert j["total_commission"] == 1.00 and j["avg_slippage_bps"] == 10.00  # 1/1000*1e4
    with pytest.raises(ValueError):
        monthly_report(DAYS + DAYS[:1], "2025-10")


def test_upsert_monthly_costs_replaces_the_month(tmp_path):
    p = tmp_path / "monthly_costs.csv"
    p.write_text(
        "month,gross_return,commission_costs,slippage_costs,net_return,memo\n"
        "2025-09,0.0250,0.0015,0.0015,0.0220,kept as is\n"
        "2025-10,0.9,0.9,0.9,0.9,stale\n"
    )
    r = monthly_report(DAYS, "2025-10")
    upsert_monthly_costs(p, r)
    upsert_monthly_costs(p, r)  # rerun: still one row for the month
    lines = p.read_text().splitlines()
    assert lines[0].startswith("month,gross_return,commission_costs,slippage_costs,net_return,")
    assert lines[0].endswith(",memo")
    assert lines[1].startswith("2025-09,0.0250,0.0015,0.0015,0.0220,") and lines[1].endswith(",kept as is")
    assert len(lines) == 3
    row = next(r for r in csv.DictReader(io.StringIO(p.read_text())) if r["month"] == "2025-10")
    assert row["month"] == "2025-10" and row["memo"] == ""
    assert float(row["net_return"]) == pytest.approx(0.0201, abs=1e-8)
    assert float(row["commission_costs"]) == pytest.approx(0.000150972, abs=1e-8)  # hand_linked above
    assert row["total_commission"] == "15.00" and row["avg_slippage_bps"] == "2.40"


# ---- shell: day folders -> tca -> monthly -------------------------------------------------

TRADES_HDR = "symbol,side,shares,price,notional,weight_change,commission_est,slippage_est,total_cost_est\n"
FILLS_HDR = "date,symbol,side,shares,price,commission,fill_time,order_id,client_order_id\n"


def _write_day(live: Path, day: str, pv: str, trade: str, fills: list[str]) -> Path:
    d = live / day
    d.mkdir(parents=True)
    (d / "trades.csv").write_text(f"# Date: {day}\n# Portfolio Value: ${pv}\n" + TRADES_HDR + trade + "\n")
    (d / "broker_fills.csv").write_text(FILLS_HDR + "".join(f"{day},{f},10:00:00,O,\n" for f in fills))
    return d


@pytest.fixture
def live(tmp_path):
    # Hand month through the shell:
    # 10-01 pv 100,000: AAPL buy 100 @100.00, fill 100 @100.05 c1.00 -> slip +5.00, notional 10,000
    # 10-02 pv 100,200: MSFT sell 50 @200.00, fill 50 @199.90 c1.00 -> slip -1*50*(-0.10) = +5.00, 10,000
    # 10-03 pv 100,500: NVDA buy 200 @100.00, fills 100 @99.98 c1 + 100 @100.00 c1 -> avg 99.99,
    #       slip 200*(-0.01) = -2.00, notional 20,000
    # reconciled after: 100,200 (json) ; 50,500 positions + 50,000 cash = 100,500 ; 101,000 (json)
    # opening value: 2025-09-30 reconciled 99,800
    live = tmp_path / "live"
    prev = live / "2025-09-30"
    prev.mkdir(parents=True)
    (prev / "reconciliation.json").write_text(json.dumps({"portfolio_value_after": 99800.0}))
    d1 = _write_day(
        live,
        "2025-10-01",
        "100,000.00",
        "AAPL,buy,100,100.00,10000.00,0.1,1.00,2.00,3.00",
        ["AAPL,buy,100,100.05,1.00"],
    )
    (d1 / "reconciliation.json").write_text(json.dumps({"portfolio_value_after": 100200.0}))
    d2 = _write_day(
        live,
        "2025-10-02",
        "100,200.00",
        "MSFT,sell,50,200.00,10000.00,-0.1,1.00,2.00,3.00",
        ["MSFT,sell,50,199.90,1.00"],
    )
    (d2 / "reconciliation.json").write_text(json.dumps({"cash_after": 50000.0}))
    (d2 / "positions_after_recon.csv").write_text(
        "symbol,shares,avg_cost,current_value,weight,last_updated\n"
        "AAPL,100,100.05,30000.00,0.3,2025-10-02\nXOM,200,100.00,20500.00,0.2,2025-10-02\n"
    )
    d3 = _write_day(
        live,
        "2025-10-03",
        "100,500.00",
        "NVDA,buy,200,100.00,20000.00,0.2,2.00,4.00,6.00",
        ["NVDA,buy,100,99.98,1.00", "NVDA,buy,100,100.00,1.00"],
    )
    (d3 / "reconciliation.json").write_text(json.dumps({"portfolio_value_after": 101000.0}))
    cfg = tmp_path / "config.yaml"
    cfg.write_text(f"live_dir: {live}\nexecution:\n  broker: paper\n")
    return live, cfg


def test_reconciled_value_rule(live):
    lv, _ = live
    assert reconciled_value(lv / "2025-10-01") == 100200.0
    assert reconciled_value(lv / "2025-10-02") == 100500.0  # 30,000 + 20,500 + cash 50,000
    (lv / "2025-10-04").mkdir()
    assert reconciled_value(lv / "2025-10-04") is None


def test_collect_month_computes_missing_tca(live):
    lv, _ = live
    m = collect_month(lv, "2025-10", default_broker="paper")
    assert [d.date for d in m.days] == ["2025-10-01", "2025-10-02", "2025-10-03"]
    assert m.opening_value == 99800.0
    assert [d.slippage_usd for d in m.days] == pytest.approx([5.0, 5.0, -2.0], abs=1e-9)
    assert sum("computed now" in n for n in m.notes) == 3


def test_cli_month_end_to_end(live, capsys):
    lv, cfg = live
    for day in ("2025-10-01", "2025-10-02", "2025-10-03"):
        assert main(["tca", str(lv / day), "--json", "--config", str(cfg)]) == 0
    capsys.readouterr()
    assert main(["monthly", "--month", "2025-10", "--json", "--config", str(cfg)]) == 0
    j = json.loads(capsys.readouterr().out)
    # commission 1 + 1 + 2 = 4.00 ; slippage 5 + 5 - 2 = 8.00 over 40,000 -> 2.00 bps
    # avg pv = (100000 + 100200 + 100500)/3 = 100233.3333 ; costs 12/100233.3333 = 0.000119721
    # returns, linked daily: 99800 (opening, 09-30) -> 100200 (comm 1, slip 5) -> 100500 (1, 5)
    #   -> 101000 (2, -2) ; net telescopes = 101000/99800 - 1 = 0.012024048
    # turnover 0.1, 10000/100200 = 0.0998004, 20000/100500 = 0.1990050 ; cost 6, 6, 0
    #   mean t = 0.1329351 ; dt = -0.0329351, -0.0331347, 0.0660699 ; dc = 2, 2, -4
    #   Sxy = -0.0658702 - 0.0662695 - 0.2642794 = -0.3964191 ; Sxx = 0.0065479 ; Syy = 24
    #   r = -0.3964191 / sqrt(0.0065479 * 24) = -0.3964191 / 0.3964194 = -0.999998
    assert j["total_commission"] == 4.00 and j["avg_slippage_bps"] == 2.00
    g, n, cc, sc = hand_linked([(99800, 0, 100200, 1, 5), (100200, 0, 100500, 1, 5), (100500, 0, 101000, 2, -2)])
    assert j["commission_costs"] == pytest.approx(cc, abs=1e-8)
    assert j["slippage_costs"] == pytest.approx(sc, abs=1e-8)
    assert j["cost_pct_portfolio"] == pytest.approx(0.000119721, abs=1e-8)
    assert j["net_return"] == pytest.approx(0.012024048, abs=1e-8) and n == pytest.approx(0.012024048, abs=1e-9)
    assert j["gross_return"] == pytest.approx(g, abs=1e-8)
    assert j["turnover_cost_corr"] == pytest.approx(-0.999998, abs=1e-5)
    assert j["by_broker"] == [
        {"broker": "paper", "trades": 3, "notional": 40000.00, "commission": 4.00, "slippage_bps": 2.00}
    ]
    csv1 = (lv / "monthly_costs.csv").read_text()
    assert csv1.splitlines()[0].startswith("month,gross_return,commission_costs,slippage_costs,net_return")
    assert len(csv1.splitlines()) == 2 and csv1.splitlines()[1].startswith("2025-10,")
    # rerun (text form): the month's row is replaced, not appended
    assert main(["monthly", "--month", "2025-10", "--config", str(cfg)]) == 0
    assert "Monthly Cost Summary - 2025-10" in capsys.readouterr().out
    assert (lv / "monthly_costs.csv").read_text() == csv1


def test_cli_monthly_bad_month_and_empty_month(live, capsys):
    lv, cfg = live
    assert main(["monthly", "--month", "2025-13", "--config", str(cfg)]) == 2
    assert "YYYY-MM" in capsys.readouterr().err
    assert main(["monthly", "--month", "2024-01", "--config", str(cfg)]) == 1
    assert "no day folder" in capsys.readouterr().err
    assert not (lv / "monthly_costs.csv").exists()


def test_collect_month_batches_stale_days_around_a_fresh_one(live):
    # 10-02 has a fresh tca.json; 10-01 and 10-03 are computed now, in one batch, and land in
    # their own places with the figures daily_tca gives each day alone
    from xlexec.core.tca import daily_tca
    from xlexec.formats.fills import read_fills
    from xlexec.formats.trades import read_trades

    lv, cfg = live
    assert main(["tca", str(lv / "2025-10-02"), "--json", "--config", str(cfg)]) == 0
    m = collect_month(lv, "2025-10", default_broker="paper")
    assert [d.date for d in m.days] == ["2025-10-01", "2025-10-02", "2025-10-03"]
    assert [n[:10] for n in m.notes if "computed now" in n] == ["2025-10-01", "2025-10-03"]
    for rec in (m.days[0], m.days[2]):
        t = read_trades(lv / rec.date / "trades.csv")
        res = daily_tca(
            t, read_fills(lv / rec.date / "broker_fills.csv"), portfolio_value=t.header.portfolio_value, date=rec.date
        )
        assert rec == DayRecord.from_tca(res, broker="paper", portfolio_value_after=rec.portfolio_value_after)
    # by hand: 10-01 slip +5.00 on 10,000, comm 1.00; 10-03 slip -2.00 on 20,000, comm 2.00
    assert (m.days[0].slippage_usd, m.days[0].notional, m.days[0].commission) == pytest.approx((5.0, 10000.0, 1.0))
    assert (m.days[2].slippage_usd, m.days[2].notional, m.days[2].commission) == pytest.approx((-2.0, 20000.0, 2.0))
    assert m.days[1].slippage_usd == pytest.approx(5.0) and m.days[1].broker == "paper"
    assert [d.portfolio_value_after for d in m.days] == [100200.0, 100500.0, 101000.0]
