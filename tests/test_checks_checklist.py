"""The guide's checklist, the rest of it: bid-ask spread, macro days, halts, the restricted list.

Every case is a tiny hand-made day: trade date 2025-10-30 (a Thursday, a full NYSE session),
portfolio $10,000.00 (header), quotes 5 minutes old. Spreads are worked out by hand in the
comments: spread (bps) = (ask - bid) / mid x 10,000 with mid = (bid + ask) / 2; the defaults warn
above 50 bps and fail above 200 bps.
"""

from __future__ import annotations

import datetime as dt
import io
import math

import pandas as pd
import pytest

from xlexec.config import config_from_dict, validation_thresholds
from xlexec.core.checks import Findings, Thresholds, build_context, events, prices, validate, worst_by_symbol
from xlexec.core.checks import restricted as restricted_checks
from xlexec.core.checks.base import findings_frame
from xlexec.errors import ConfigError, InputError
from xlexec.execution.guards import SUBMISSION, OrderContext, Refusals
from xlexec.formats.inputs import read_events, read_restricted
from xlexec.formats.trades import parse_trades_text

NOW = dt.datetime(2025, 10, 30, 14, 0, tzinfo=dt.UTC)
COLS = "symbol,side,shares,price,notional,weight_change,commission_est,slippage_est,total_cost_est"
HEADER = (
    "# Date: 2025-10-30\n# Portfolio Value: $10,000.00\n# IC: 0.034\n# Kill Switch: ACTIVE\n"
    "# Safety Checks: PASSED\n# Regime: Normal (Risk Multiplier: 1.0)\n"
)
AAA = "AAA,buy,10,100.00,1000.00,0.1000,0.10,0.20,0.30"
BBB = "BBB,buy,10,100.00,1000.00,0.1000,0.10,0.20,0.30"
NAN = float("nan")


def trades(*rows: str, cols: str = COLS):
    return parse_trades_text(HEADER + cols + "\n" + "\n".join(rows or (AAA,)) + "\n", "<test>", strict=False)


def quotes(text: str | None) -> pd.DataFrame | None:
    """``symbol,bid,ask`` rows -> a quotes frame as the reader gives it (mid = (bid+ask)/2)."""
    if text is None:
        return None
    q = pd.read_csv(io.StringIO("symbol,bid,ask\n" + text))
    q["last"] = NAN
    q["mid"] = (q["bid"] + q["ask"]) / 2
    q["timestamp"] = pd.Timestamp(NOW) - pd.Timedelta(minutes=5)
    return q


def frame(cols: str, text: str | None) -> pd.DataFrame | None:
    return None if text is None else pd.read_csv(io.StringIO(cols + "\n" + text), dtype=str, keep_default_na=False)


def context(*rows: str, q: str | None = "AAA,99.90,100.10", ev: str | None = None, rl: str | None = None, **th):
    return build_context(
        trades(*rows),
        positions=None,
        quotes=quotes(q),
        events=frame("symbol,date,event", ev),
        reference=None,
        restricted=frame("symbol,reason", rl),
        thresholds=Thresholds(**th),
        now=NOW,
        kill_switch_file=False,
    )


def rows(check, c) -> list[tuple]:
    """``(status, symbol, value, limit)`` of each row the check gives (NaN as None, 6 decimals)."""
    out = Findings(check.id)
    check.rows(c, out)
    df = findings_frame(out.parts)
    assert (df["check"] == check.id).all() and (df["message"].str.len() > 0).all()

    def v(x):
        return None if isinstance(x, float) and math.isnan(x) else round(float(x), 6)

    return [(s, y, v(a), v(b)) for s, y, a, b in zip(df["status"], df["symbol"], df["value"], df["limit"])]


def messages(check, c) -> list[str]:
    out = Findings(check.id)
    check.rows(c, out)
    return list(findings_frame(out.parts)["message"])


# ---- spread ---------------------------------------------------------------------------------


def test_spread():
    k = prices.Spread()
    # 99.90 / 100.10: 0.20 / 100.00 = 20 bps, within 50: the pass row carries the widest spread
    assert rows(k, context()) == [("pass", "", 20.0, 50.0)]
    # 99.70 / 100.30: 0.60 / 100.00 = 60 bps > 50 -> warn (limit 50)
    assert rows(k, context(q="AAA,99.70,100.30")) == [("warn", "AAA", 60.0, 50.0)]
    # 98.00 / 102.00: 4.00 / 100.00 = 400 bps > 200 -> fail (limit 200)
    assert rows(k, context(q="AAA,98.00,102.00")) == [("fail", "AAA", 400.0, 200.0)]
    # 99.00 / 101.00: 2.00 / 100.00 = 200 bps exactly: not above 200, above 50 -> warn
    assert rows(k, context(q="AAA,99.00,101.00")) == [("warn", "AAA", 200.0, 50.0)]
    # 99.75 / 100.25: 0.50 / 100.00 = 50 bps exactly: not above 50 -> pass
    assert rows(k, context(q="AAA,99.75,100.25")) == [("pass", "", 50.0, 50.0)]


def test_spread_thresholds_come_from_config():
    th = validation_thresholds(config_from_dict({"validation": {"spread_warn_bps": 10, "spread_fail_bps": 15}}))
    assert (th.spread_warn_bps, th.spread_fail_bps) == (10.0, 15.0)
    default = validation_thresholds(config_from_dict({}))
    assert (default.spread_warn_bps, default.spread_fail_bps) == (50.0, 200.0)
    # 20 bps: above 15 -> fail under the tighter config
    assert rows(prices.Spread(), context(spread_warn_bps=10, spread_fail_bps=15)) == [("fail", "AAA", 20.0, 15.0)]
    # 20 bps: above 10, not above 30 -> warn
    assert rows(prices.Spread(), context(spread_warn_bps=10, spread_fail_bps=30)) == [("warn", "AAA", 20.0, 10.0)]
    with pytest.raises(ConfigError, match="spread_warn_bps"):
        config_from_dict({"validation": {"spread_warn_bps": -1}})
    with pytest.raises(ConfigError, match="spread_fail_bps"):
        config_from_dict({"validation": {"spread_fail_bps": 0}})


def test_spread_unknown_is_never_a_silent_pass():
    k = prices.Spread()
    # no quotes file: one portfolio-level warn counting the trades (value 2 trades)
    c = context(AAA, BBB, q=None)
    assert rows(k, c) == [("warn", "", 2.0, 50.0)]
    assert "no quotes file" in messages(k, c)[0]
    # BBB not quoted; AAA's quote has no bid (the mid came from last): both warn, no value
    q = quotes("AAA,,100.10")
    c = build_context(
        trades(AAA, BBB),
        positions=None,
        quotes=q,
        events=None,
        reference=None,
        thresholds=Thresholds(),
        now=NOW,
        kill_switch_file=False,
    )
    assert rows(k, c) == [("warn", "AAA", None, 50.0), ("warn", "BBB", None, 50.0)]
    msg = messages(k, c)
    assert "AAA: quote has no bid and ask" in msg[0] and "BBB: no quote" in msg[1]
    # a zero bid is no bid either
    assert rows(k, context(q="AAA,0,100.10")) == [("warn", "AAA", None, 50.0)]
    # crossed, 100.10 / 99.90: -0.20 / 100.00 = -20 bps: suspect -> warn
    c = context(q="AAA,100.10,99.90")
    assert rows(k, c) == [("warn", "AAA", -20.0, 50.0)]
    assert "crossed" in messages(k, c)[0]


def test_spread_one_row_per_symbol_and_excluded_trades_not_checked():
    k = prices.Spread()
    two = "AAA,sell,5,100.00,500.00,-0.0500,0.05,0.10,0.15"  # (buy_and_sell fails it; not this check)
    # AAA twice (a buy and a sell) at 60 bps: one row
    assert rows(k, context(AAA, two, q="AAA,99.70,100.30")) == [("warn", "AAA", 60.0, 50.0)]
    # BBB (400 bps) excluded by the operator: not sent, not checked; AAA 20 bps passes
    excl = COLS + ",include"
    t = parse_trades_text(
        HEADER + excl + "\n" + AAA + ",yes\n" + BBB + ",no\n",
        "<test>",
        strict=False,
    )
    c = build_context(
        t,
        positions=None,
        quotes=quotes("AAA,99.90,100.10\nBBB,98.00,102.00"),
        events=None,
        reference=None,
        thresholds=Thresholds(),
        now=NOW,
        kill_switch_file=False,
    )
    assert rows(k, c) == [("pass", "", 20.0, 50.0)]


def test_spread_breach_rejects_the_file():
    r = validate(trades(), quotes=quotes("AAA,98.00,102.00"), thresholds=Thresholds(), now=NOW)
    assert r.decision == "REJECT"
    sp = r.checks[r.checks["check"] == "spread"]
    assert list(sp["status"]) == ["fail"] and "400.0 bps" in sp["message"].iloc[0]


# ---- macro events ---------------------------------------------------------------------------


def test_macro_event():
    k = events.MacroEvent()
    # FOMC on the trade date: one portfolio-level warn naming it
    c = context(ev="*,2025-10-30,fomc")
    assert rows(k, c) == [("warn", "", 0.0, None)]
    assert "FOMC rate decision on 2025-10-30" in messages(k, c)[0]
    # CPI the day before, jobs report the day after: not the trade date -> pass
    assert rows(k, context(ev="*,2025-10-29,cpi\n*,2025-10-31,nfp")) == [("pass", "", None, None)]
    # CPI and jobs report the same morning: two rows, each named
    c = context(ev="*,2025-10-30,cpi\n*,2025-10-30,nfp\n*,2025-10-30,nfp")
    assert [r[0] for r in rows(k, c)] == ["warn", "warn"]
    msg = messages(k, c)
    assert "CPI release" in msg[0] and "jobs report" in msg[1]
    # no events file: says so
    c = context(ev=None)
    assert rows(k, c) == [("pass", "", None, None)] and "not checked" in messages(k, c)[0]


def test_macro_event_is_not_a_corporate_event_and_warns_the_decision():
    ev = frame("symbol,date,event", "*,2025-10-30,fomc")
    assert rows(events.CorporateEvent(), context(ev="*,2025-10-30,fomc"))[0][0] == "pass"
    th = Thresholds(top_k=1)  # one position after the trade: position_count passes
    r = validate(trades(), quotes=quotes("AAA,99.90,100.10"), events=ev, thresholds=th, now=NOW)
    assert r.decision == "CONDITIONAL"
    assert set(r.non_pass["check"]) == {"macro_event"}
    quiet = frame("symbol,date,event", "*,2025-10-29,fomc")  # the day before: nothing to say
    assert validate(trades(), quotes=quotes("AAA,99.90,100.10"), events=quiet, thresholds=th, now=NOW).decision == (
        "APPROVE"
    )


def test_events_file_market_wide_rows(tmp_path):
    p = tmp_path / "events.csv"
    p.write_text(
        "symbol,date,event\nAAPL,2025-10-30,Earnings\n*,2025-10-29,FOMC\n,2025-10-30,CPI\n"
        "*,2025-11-07,Jobs Report\n*,2025-12-05,nfp\n"
    )
    ev = read_events(p, missing_ok=False)
    assert list(ev["symbol"]) == ["AAPL", "*", "*", "*", "*"]
    assert list(ev["event"]) == ["earnings", "fomc", "cpi", "nfp", "nfp"]


@pytest.mark.parametrize(
    "line,column,words",
    [
        ("AAPL,2025-10-30,fomc", "symbol", "market-wide"),
        ("*,2025-10-30,earnings", "symbol", "needs a ticker"),
        ("*,2025-10-30,halt", "symbol", "needs a ticker"),
        (",2025-10-30,split", "symbol", "needs a ticker"),
        ("*,2025-10-30,ecb", "event", "is not one of"),
    ],
)
def test_events_file_refuses_a_misplaced_macro_row(tmp_path, line, column, words):
    p = tmp_path / "events.csv"
    p.write_text("symbol,date,event\nMSFT,2025-10-30,ex_dividend\n" + line + "\n")
    with pytest.raises(InputError) as e:
        read_events(p, missing_ok=False)
    text = str(e.value)
    assert words in text and "row 3" in text and repr(column) in text and "events.csv" in text


# ---- halts ----------------------------------------------------------------------------------


def test_halt_on_the_day_fails_every_order_in_the_symbol():
    k = events.Halted()
    two = "AAA,sell,5,100.00,500.00,-0.0500,0.05,0.10,0.15"
    c = context(AAA, two, BBB, q="AAA,99.90,100.10\nBBB,99.90,100.10", ev="AAA,2025-10-30,halt")
    assert rows(k, c) == [("fail", "AAA", 0.0, 1.0)]
    assert "AAA: trading halt on 2025-10-30 (on the day of the trade date)" in messages(k, c)[0]
    # a halt of a symbol not traded: pass; a halt is not a corporate event
    assert rows(k, context(ev="ZZZ,2025-10-30,halt"))[0][0] == "pass"
    assert rows(events.CorporateEvent(), context(ev="AAA,2025-10-30,halt"))[0][0] == "pass"
    r = validate(
        trades(AAA, two, BBB),
        quotes=quotes("AAA,99.90,100.10\nBBB,99.90,100.10"),
        events=frame("symbol,date,event", "AAA,2025-10-30,halt"),
        thresholds=Thresholds(),
        now=NOW,
    )
    assert r.decision == "REJECT" and worst_by_symbol(r.checks)["AAA"] == "fail"


# ---- restricted list ------------------------------------------------------------------------


def test_restricted():
    k = restricted_checks.Restricted()
    brk = "BRK.B,buy,2,500.00,1000.00,0.1000,0.10,0.20,0.30"
    # the list spells it BRK/B: the canonical symbol BRK.B is restricted; value = 2 listed
    c = context(AAA, brk, rl="BRK/B,insider window\nZZZ,")
    assert rows(k, c) == [("fail", "BRK.B", 2.0, None)]
    assert "BRK.B buy (row 9): on the restricted list (insider window)" in messages(k, c)[0]
    # an empty reason reads "restricted"
    c = context(rl="aaa,")
    assert rows(k, c) == [("fail", "AAA", 1.0, None)] and "(restricted)" in messages(k, c)[0]
    # nothing listed that is traded / no list
    assert rows(k, context(rl="ZZZ,watch")) == [("pass", "", 1.0, None)]
    assert rows(k, context(rl=None)) == [("pass", "", None, None)]


def test_restricted_excluded_trade_is_not_sent_so_not_flagged():
    t = parse_trades_text(HEADER + COLS + ",include\n" + AAA + ",no\n" + BBB + ",yes\n", "<test>", strict=False)
    r = validate(
        t,
        quotes=quotes("AAA,99.90,100.10\nBBB,99.90,100.10"),
        restricted=frame("symbol,reason", "AAA,insider window"),
        thresholds=Thresholds(),
        now=NOW,
    )
    assert list(r.checks.loc[r.checks["check"] == "restricted", "status"]) == ["pass"]


def test_validation_and_submit_refuse_the_same_symbols(tmp_path):
    """One rule: the list read by the one loader, asked by validation and by submit's limit."""
    p = tmp_path / "restricted.csv"
    p.write_text("symbol,reason\nbrk/b,insider window\nMSFT,\n")
    listed = read_restricted(p)
    syms = ["AAPL", "BRK.B", "MSFT"]
    rows_ = [f"{s},buy,1,100.00,100.00,0.0100,0.01,0.02,0.03" for s in syms]
    r = validate(
        trades(*rows_),
        quotes=quotes("\n".join(f"{s},99.90,100.10" for s in syms)),
        restricted=listed,
        thresholds=Thresholds(),
        now=NOW,
    )
    failed = r.checks[(r.checks["check"] == "restricted") & (r.checks["status"] == "fail")]
    assert list(failed["symbol"]) == ["BRK.B", "MSFT"] and r.decision == "REJECT"

    orders = pd.DataFrame({"symbol": syms, "notional": [100.0] * 3, "refusal": "", "note": ""})
    oc = OrderContext(
        orders=orders,
        new=pd.Series(True, index=orders.index),
        max_order_size_usd=1e9,
        max_daily_trades=100,
        price_collar_pct=None,
        buying_power=None,
        buying_power_buffer=0.05,
        restricted=listed,
    )
    limit = SUBMISSION["restricted"]()
    limit.rows(oc, Refusals(oc, limit))
    assert list(orders["refusal"]) == ["", "restricted", "restricted"]
    assert list(orders["note"]) == ["", "restricted list: insider window", "restricted list: restricted"]
