"""Validation: one hand-made trades file per check id (tests/data/validate), plus clean ones.

The base scenario (hand-computed): portfolio $100,000.00 (header), 20 holdings, trades
AAPL buy 20 @ 150.25 ($3,005.00), MSFT sell 10 @ 380.50 ($3,805.00), GOOGL buy 25 @ 142.80
($3,570.00): notional $10,380.00, turnover 10.38%, estimated costs $3.11, 21 positions after,
Technology 7,512.50 + 761.00 + 3,570.00 + 5,600.00 + 6,000.00 = $23,443.50 (23.44%).
Each case states every non-pass check it must produce, so an unexpected warning fails too.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest

from xlexec.cli.app import main
from xlexec.config import config_from_dict, validation_thresholds
from xlexec.core import calendar as cal
from xlexec.core.checks import CHECK_IDS, ValidationResult, validate, worst_by_symbol
from xlexec.formats.inputs import read_events, read_positions, read_quotes, read_reference
from xlexec.formats.trades import parse_trades_text, read_trades

DATA = Path(__file__).parent / "data" / "validate"
NOW = dt.datetime(2025, 10, 30, 14, 0, tzinfo=dt.UTC)


def text(name: str) -> str:
    return (DATA / name).read_text()


def run(
    trades: str = "trades_clean.csv",
    *,
    body: str | None = None,
    positions="positions.csv",
    quotes="quotes.csv",
    events="events.csv",
    reference="reference.csv",
    cfg=None,
    now=NOW,
    kill_switch_file=False,
    cash=None,
) -> ValidationResult:
    t = (
        parse_trades_text(body, "<test>", strict=False)
        if body is not None
        else read_trades(DATA / trades, strict=False)
    )
    return validate(
        t,
        positions=read_positions(DATA / positions) if positions else None,
        quotes=read_quotes(DATA / quotes) if quotes else None,
        events=read_events(DATA / events) if events else None,
        reference=read_reference(DATA / reference) if reference else None,
        thresholds=validation_thresholds(config_from_dict(cfg or {})),
        now=now,
        kill_switch_file=kill_switch_file,
        cash=cash,
    )


def non_pass(r: ValidationResult) -> dict[str, str]:
    rank = {"pass": 0, "warn": 1, "fail": 2}
    out: dict[str, str] = {}
    for c, s in zip(r.checks["check"], r.checks["status"]):
        if s != "pass" and rank[s] > rank.get(out.get(c, "pass"), 0):
            out[c] = s
    return out


def row(r: ValidationResult, check: str, status: str | None = None) -> pd.Series:
    c = r.checks[(r.checks["check"] == check) & ((r.checks["status"] == status) if status else True)]
    assert len(c) == 1, c
    return c.iloc[0]


def assert_complete(r: ValidationResult) -> None:
    assert list(r.checks.columns) == ["check", "status", "symbol", "value", "limit", "message"]
    assert set(CHECK_IDS) <= set(r.checks["check"])
    assert set(r.checks["status"]) <= {"pass", "warn", "fail"}
    assert (r.checks["message"].str.len() > 0).all()
    counts = r.checks["status"].value_counts()
    assert r.summary["fail"] == counts.get("fail", 0) and r.summary["warn"] == counts.get("warn", 0)


def swap(old: str, new: str, name: str = "trades_clean.csv") -> str:
    t = text(name)
    assert old in t
    return t.replace(old, new)


HIGH_COSTS = {"costs_bps": 30, "slippage_bps": 20}
ALLOW_SHORT = {"validation": {"allow_short": True}}

# (case id, kwargs for run(), expected non-pass {check: worst status}, decision)
CASES = [
    ("clean", {}, {}, "APPROVE"),
    ("notional_mismatch", {"trades": "notional_mismatch.csv"}, {"notional_mismatch": "fail"}, "REJECT"),
    ("fractional_shares", {"trades": "fractional_shares.csv"}, {"fractional_shares": "fail"}, "REJECT"),
    ("shares_nonpositive", {"trades": "shares_nonpositive.csv"}, {"shares_nonpositive": "fail"}, "REJECT"),
    ("direction", {"trades": "direction.csv"}, {"direction": "fail"}, "REJECT"),
    ("max_trade_pct", {"trades": "max_trade_pct.csv"}, {"max_trade_pct": "fail"}, "REJECT"),
    ("position_pct", {"trades": "position_pct.csv"}, {"position_pct": "fail"}, "REJECT"),
    ("sector_pct", {"trades": "sector_pct.csv"}, {"sector_pct": "fail"}, "REJECT"),
    ("position_count", {"positions": "positions_few.csv"}, {"position_count": "warn"}, "CONDITIONAL"),
    # issue 15: a short is a FAIL unless validation.allow_short (was a WARN)
    ("oversell", {"trades": "oversell.csv"}, {"oversell": "fail"}, "REJECT"),
    ("oversell_allowed", {"trades": "oversell.csv", "cfg": ALLOW_SHORT}, {"oversell": "warn"}, "CONDITIONAL"),
    ("price_deviation_warn", {"trades": "price_deviation_warn.csv"}, {"price_deviation": "warn"}, "CONDITIONAL"),
    ("price_deviation_fail", {"trades": "price_deviation_fail.csv"}, {"price_deviation": "fail"}, "REJECT"),
    ("price_stale", {"quotes": "quotes_stale.csv"}, {"price_stale": "warn"}, "CONDITIONAL"),
    # a trade without a quote has no bid-ask spread either: both say so
    ("no_quote", {"trades": "no_quote.csv"}, {"no_quote": "warn", "spread": "warn"}, "CONDITIONAL"),
    ("turnover_warn", {"trades": "turnover_warn.csv"}, {"turnover": "warn"}, "CONDITIONAL"),
    ("turnover_fail", {"trades": "turnover_fail.csv"}, {"turnover": "fail"}, "REJECT"),
    ("turnover_header", {"trades": "turnover_header.csv"}, {"turnover": "warn"}, "CONDITIONAL"),
    ("total_cost_pct", {"trades": "total_cost_pct.csv", "cfg": HIGH_COSTS}, {"total_cost_pct": "fail"}, "REJECT"),
    ("high_cost_trade", {"trades": "high_cost_trade.csv"}, {"high_cost_trade": "warn"}, "CONDITIONAL"),
    ("small_trade", {"trades": "small_trade.csv"}, {"small_trade": "warn"}, "CONDITIONAL"),
    ("cost_estimate", {"trades": "cost_estimate.csv"}, {"cost_estimate": "warn"}, "CONDITIONAL"),
    ("ic_pass_boundary", {"body": swap("# IC: 0.034", "# IC: 0.0201")}, {}, "APPROVE"),
    ("ic_warn", {"body": swap("# IC: 0.034", "# IC: 0.015")}, {"ic": "warn"}, "CONDITIONAL"),
    ("ic_warn_at_0.02", {"body": swap("# IC: 0.034", "# IC: 0.02")}, {"ic": "warn"}, "CONDITIONAL"),
    ("ic_fail", {"body": swap("# IC: 0.034", "# IC: 0.005")}, {"ic": "fail"}, "REJECT"),
    ("ic_unknown", {"body": swap("# IC: 0.034\n", "")}, {"ic": "warn"}, "CONDITIONAL"),
    (
        "kill_switch_header",
        {"body": swap("Kill Switch: ACTIVE", "Kill Switch: TRIGGERED")},
        {"kill_switch": "fail"},
        "REJECT",
    ),
    ("kill_switch_file", {"kill_switch_file": True}, {"kill_switch": "fail"}, "REJECT"),
    (
        "safety_checks",
        {"body": swap("Safety Checks: PASSED", "Safety Checks: FAILED")},
        {"safety_checks": "fail"},
        "REJECT",
    ),
    (
        "regime_missing",
        {"body": swap("# Regime: Normal (Risk Multiplier: 1.0)\n", "")},
        {"regime": "warn"},
        "CONDITIONAL",
    ),
    (
        "regime_multiplier",
        {"body": swap("Risk Multiplier: 1.0", "Risk Multiplier: 2.0")},
        {"regime": "warn"},
        "CONDITIONAL",
    ),
    ("regime_multiplier_edge", {"body": swap("Risk Multiplier: 1.0", "Risk Multiplier: 1.5")}, {}, "APPROVE"),
    ("corporate_event", {"events": "events_near.csv"}, {"corporate_event": "warn"}, "CONDITIONAL"),
    ("halted", {"events": "events_halt.csv"}, {"halted": "fail"}, "REJECT"),
    (
        "market_holiday",
        {"body": swap("# Date: 2025-10-30", "# Date: 2025-11-27")},
        {"market_calendar": "fail"},
        "REJECT",
    ),
    (
        "market_weekend",
        {"body": swap("# Date: 2025-10-30", "# Date: 2025-10-18")},
        {"market_calendar": "fail"},
        "REJECT",
    ),
    (
        "market_half_day",
        {"body": swap("# Date: 2025-10-30", "# Date: 2025-11-28")},
        {"market_calendar": "warn"},
        "CONDITIONAL",
    ),
    ("adv_pct", {"trades": "adv_pct.csv"}, {"adv_pct": "warn"}, "CONDITIONAL"),
]


@pytest.mark.parametrize("case,kwargs,expected,decision", CASES, ids=[c[0] for c in CASES])
def test_each_check(case, kwargs, expected, decision):
    r = run(**kwargs)
    assert_complete(r)
    assert non_pass(r) == expected
    assert r.decision == decision


def test_clean_summary_hand_computed():
    r = run()
    s = r.summary
    assert s["n_trades"] == 3 and s["n_buys"] == 2 and s["n_sells"] == 1
    assert s["notional"] == 10380.00
    assert s["buy_notional"] == 6575.00 and s["sell_notional"] == 3805.00
    assert s["est_costs"] == 3.11
    assert s["portfolio_value"] == 100000.00 and s["portfolio_value_source"] == "header"
    assert s["turnover"] == pytest.approx(0.1038)
    assert s["positions_after"] == 21
    assert row(r, "sector_pct")["value"] == pytest.approx(0.234435)
    assert row(r, "position_pct")["value"] == pytest.approx(0.075125)  # AAPL 50 x 150.25


def test_violation_values_and_limits():
    r = run("max_trade_pct.csv")
    x = row(r, "max_trade_pct", "fail")
    assert (x["symbol"], x["value"], x["limit"]) == ("CVX", pytest.approx(0.105), 0.10)
    x = row(run("position_pct.csv"), "position_pct", "fail")
    assert x["symbol"] == "JPM" and x["value"] == pytest.approx(0.155)  # (60 + 95) x $100
    x = row(run("sector_pct.csv"), "sector_pct", "fail")
    assert x["value"] == pytest.approx(0.309435) and "Technology" in x["message"]
    x = row(run("notional_mismatch.csv"), "notional_mismatch", "fail")
    assert x["value"] == pytest.approx(45.00) and "row 9" in x["message"]
    x = row(run("price_deviation_warn.csv"), "price_deviation", "warn")
    assert x["value"] == pytest.approx(3.25 / 150.25) and x["limit"] == 0.02
    x = row(run("price_deviation_fail.csv"), "price_deviation", "fail")
    assert x["value"] == pytest.approx(15.20 / 142.80) and x["limit"] == 0.10
    x = row(run(quotes="quotes_stale.csv"), "price_stale", "warn")
    assert (x["symbol"], x["value"]) == ("MSFT", pytest.approx(20.0))
    assert row(run("turnover_warn.csv"), "turnover", "warn")["value"] == pytest.approx(0.3238)
    assert row(run("turnover_fail.csv"), "turnover", "fail")["value"] == pytest.approx(0.3838)
    assert row(run("turnover_header.csv"), "turnover", "warn")["value"] == pytest.approx(0.0162)
    x = row(run("total_cost_pct.csv", cfg=HIGH_COSTS), "total_cost_pct", "fail")
    assert x["value"] == pytest.approx(51.91 / 10380.00)
    x = row(run("high_cost_trade.csv"), "high_cost_trade", "warn")
    assert (x["symbol"], x["value"]) == ("AAPL", pytest.approx(54.09))
    x = row(run("cost_estimate.csv"), "cost_estimate", "warn")
    assert x["value"] == pytest.approx(2.6995)  # 3.00 vs 20 x 150.25 x 1 bps; total 3.60 = 3.00 + 0.60
    x = row(run("oversell.csv"), "oversell", "fail")
    assert (x["symbol"], x["value"]) == ("MSFT", -3.0)


def test_adv_days_needed_uses_ceil_of_shares_over_adv_times_pct():
    # PEP: 60 shares, ADV 1,000, 5% a day = 50 shares/day -> 2 days (the guide's snippet says 50)
    x = row(run("adv_pct.csv"), "adv_pct", "warn")
    assert (x["symbol"], x["value"], x["limit"]) == ("PEP", pytest.approx(0.06), 0.05)
    assert "takes 2 trading days" in x["message"]
    body = text("adv_pct.csv").replace(
        "PEP,buy,60,100.00,6000.00,0.0600,0.60,1.20,1.80", "PEP,buy,101,100.00,10100.00,0.0600,1.01,2.02,3.03"
    )
    r = run(body=body, cfg={"validation": {"max_trade_pct": 0.2, "max_position_pct": 0.2}})
    assert "takes 3 trading days" in row(r, "adv_pct", "warn")["message"]  # ceil(101 / 50)


def test_events_window_and_untraded_symbols():
    r = run(events="events_near.csv")
    ev = r.checks[r.checks["check"] == "corporate_event"]
    assert sorted(ev["symbol"]) == ["AAPL", "MSFT"]  # GOOGL earnings 2 sessions out: ignored
    assert dict(zip(ev["symbol"], ev["value"])) == {"AAPL": 1.0, "MSFT": 0.0}
    h = r.checks[r.checks["check"] == "halted"]
    assert list(h["status"]) == ["pass"]
    r = run(events="events_halt.csv")  # AAPL halt a week earlier: outside the window
    assert list(r.checks.loc[r.checks["check"] == "halted", "symbol"]) == ["GOOGL"]


def test_exclusion_recomputes_the_decision():
    lines = text("direction.csv").splitlines()
    out = []
    for ln in lines:
        if ln.startswith("symbol,"):
            ln += ",include"
        elif not ln.startswith("#"):
            ln += ",no" if ln.startswith("MSFT") else ",yes"
        out.append(ln)
    r = run(body="\n".join(out))
    assert r.decision == "APPROVE"
    assert non_pass(r) == {}
    x = row(r, "excluded")
    assert x["symbol"] == "MSFT" and "excluded" in x["message"]
    assert r.summary["n_trades"] == 2 and r.summary["n_excluded"] == 1
    assert r.summary["notional"] == 6575.00


def test_everything_excluded_warns():
    body = "\n".join(
        ln + (",include" if ln.startswith("symbol,") else ",0" if not ln.startswith("#") else "")
        for ln in text("trades_clean.csv").splitlines()
    )
    r = run(body=body)
    assert_complete(r)
    assert non_pass(r) == {"excluded": "warn"}  # still the 20 holdings: position_count passes
    assert r.summary["n_trades"] == 0


def test_edited_limit_price_is_what_gets_checked():
    def with_limit(aapl_limit: str) -> str:
        return "\n".join(
            ln
            + (
                ",limit_price"
                if ln.startswith("symbol,")
                else f",{aapl_limit}"
                if ln.startswith("AAPL")
                else ","
                if not ln.startswith("#")
                else ""
            )
            for ln in text("trades_clean.csv").splitlines()
        )

    r = run(body=with_limit("150.30"))
    assert r.decision == "APPROVE"
    r = run(body=with_limit("153.50"))
    assert non_pass(r) == {"price_deviation": "warn"} and r.decision == "CONDITIONAL"
    r = run(body=with_limit("166.00"))  # 10.48% from 150.25
    assert non_pass(r) == {"price_deviation": "fail"} and r.decision == "REJECT"
    assert r.summary["notional"] == 3320.00 + 3805.00 + 3570.00


def test_market_order_limit_is_ignored():
    body = "\n".join(
        ln
        + (
            ",order_type,limit_price"
            if ln.startswith("symbol,")
            else ",market,166.00"
            if ln.startswith("AAPL")
            else ",limit,"
            if not ln.startswith("#")
            else ""
        )
        for ln in text("trades_clean.csv").splitlines()
    )
    r = run(body=body)
    assert r.decision == "APPROVE" and r.summary["notional"] == 10380.00


def test_trades_only_no_reference_data():
    r = run(positions=None, quotes=None, events=None, reference=None)
    assert_complete(r)
    # 3 positions after (AAPL, GOOGL long; MSFT -10): far from top_k 20; prices unchecked
    assert non_pass(r) == {"no_quote": "warn", "spread": "warn", "position_count": "warn"}
    for check in ("no_quote", "spread"):
        nq = r.checks[r.checks["check"] == check]
        assert len(nq) == 1 and nq.iloc[0]["symbol"] == "" and "no quotes file" in nq.iloc[0]["message"]
    assert "not checked" in row(r, "sector_pct")["message"]


def test_portfolio_value_from_positions_when_no_header():
    r = run(body=swap("# Portfolio Value: $100,000.00\n", ""))
    s = r.summary
    # AAPL 30 x 150.25 + MSFT 12 x 380.50 + NVDA 40 x 140 + ORCL 40 x 150 + JPM 60 x 100 + 15 x $4,000
    # issue 15: never silently the positions alone -- the cash is unknown here, and it says so
    assert s["portfolio_value"] == 86673.50 and s["portfolio_value_source"] == "positions (cash unknown)"
    assert s["turnover"] == pytest.approx(10380 / 86673.50, abs=1e-6)
    assert non_pass(r) == {"turnover": "warn", "portfolio_value": "warn"}  # header 10.4% vs 11.98%
    assert "cash is unknown" in row(r, "portfolio_value", "warn")["message"]


def test_portfolio_value_from_positions_and_cash_when_no_header():
    r = run(body=swap("# Portfolio Value: $100,000.00\n", ""), cash=13326.50)
    s = r.summary
    assert s["portfolio_value"] == 100000.00 and s["portfolio_value_source"] == "positions+cash"
    assert s["cash"] == 13326.50
    assert non_pass(r) == {}
    assert "+ cash $13,326.50" in row(r, "portfolio_value", "pass")["message"]


def test_portfolio_value_unknown():
    r = run(body=swap("# Portfolio Value: $100,000.00\n", ""), positions=None)
    assert r.summary["portfolio_value"] is None and r.summary["portfolio_value_source"] == "unknown"
    assert non_pass(r) == {
        "portfolio_value": "warn",
        "max_trade_pct": "warn",
        "position_pct": "warn",
        "sector_pct": "warn",
        "turnover": "warn",
        "position_count": "warn",
    }


def test_no_date_header_uses_now_in_new_york():
    r = run(body=swap("# Date: 2025-10-30\n", ""), now=dt.datetime(2025, 10, 31, 2, 0, tzinfo=dt.UTC))
    assert r.summary["date"] == "2025-10-30" and r.summary["date_source"] == "now"


def test_worst_by_symbol_and_json():
    r = run("direction.csv", events="events_near.csv")
    assert worst_by_symbol(r.checks) == {"MSFT": "fail", "AAPL": "warn"}
    doc = r.to_json()
    assert set(doc) == {"decision", "checks", "summary"} and doc["decision"] == "REJECT"
    text_ = json.dumps(doc, allow_nan=False)  # NaN became null
    assert json.loads(text_)["summary"]["notional"] == 10380.00
    assert {c["check"] for c in doc["checks"]} >= set(CHECK_IDS)


def test_calendar_helpers():
    assert cal.is_session("2025-10-30") and not cal.is_session("2025-11-27")  # Thanksgiving
    assert not cal.is_session(dt.date(2025, 11, 1))  # Saturday
    assert cal.is_half_day("2025-11-28") and cal.is_half_day("2025-12-24")
    assert not cal.is_half_day("2025-10-30")
    assert cal.next_session("2025-11-26") == "2025-11-28"
    assert cal.next_session("2025-11-27") == "2025-11-28"
    assert cal.sessions_between("2025-11-26", "2025-12-01") == ["2025-11-26", "2025-11-28", "2025-12-01"]
    assert cal.trading_days_between("2025-10-30", "2025-11-03") == 2
    assert cal.trading_days_between("2025-11-03", "2025-10-31") == -1
    assert cal.trading_days_between("2025-11-01", "2025-11-03") == 1
    assert cal.trading_days_between("2025-10-30", "2025-10-30") == 0
    assert cal.session_close_utc("2025-11-28") == pd.Timestamp("2025-11-28 18:00", tz="UTC")
    with pytest.raises(ValueError):
        cal.is_session("1985-01-02")


# ---- CLI -------------------------------------------------------------------------------


def cfg_args(day) -> list[str]:
    """``--config`` naming the fixture's config (absolute live_dir): the tests never chdir."""
    return ["--config", str(day.parent.parent / "config.yaml")]


@pytest.fixture
def day(tmp_path, monkeypatch):
    """A live/ folder with the base scenario, a config naming it (absolute); clock pinned."""
    d = tmp_path / "live" / "2025-10-30"
    d.mkdir(parents=True)
    (d / "trades.csv").write_text(text("trades_clean.csv"))
    (d / "quotes.csv").write_text(text("quotes.csv"))
    live = tmp_path / "live"
    (live / "current_positions.csv").write_text(text("positions.csv"))
    (live / "events.csv").write_text(text("events.csv"))
    (live / "reference.csv").write_text(text("reference.csv"))
    (tmp_path / "config.yaml").write_text(f"live_dir: {str(live)!r}\n")  # absolute: no chdir
    monkeypatch.setenv("XLEXEC_NOW", "2025-10-30T14:00:00+00:00")
    return d


def test_cli_validate_approve_exit_0_and_writes_json(day, capsys):
    assert main(["validate", f"{day}/trades.csv", *cfg_args(day)]) == 0
    out = capsys.readouterr().out
    assert "Decision: APPROVE" in out and "sector_pct" in out
    doc = json.loads((day / "validation.json").read_text())
    assert doc["decision"] == "APPROVE" and len(doc["orders_sha256"]) == 64
    assert doc["summary"]["inputs"]["quotes"].endswith("quotes.csv")


def test_cli_validate_json_and_reject_exit_1(day, capsys):
    (day / "trades.csv").write_text(text("direction.csv"))
    assert main(["validate", f"{day}/trades.csv", "--json", *cfg_args(day)]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["decision"] == "REJECT"
    assert any(c["check"] == "direction" and c["status"] == "fail" for c in doc["checks"])


def test_cli_conditional_exits_0(day, capsys):
    assert main(["validate", f"{day}/trades.csv", "--quotes", str(DATA / "quotes_stale.csv"), *cfg_args(day)]) == 0
    assert "Decision: CONDITIONAL" in capsys.readouterr().out


def test_cli_kill_switch_file(day, capsys):
    (day.parent / "KILL_SWITCH").write_text("stop\n")
    assert main(["validate", f"{day}/trades.csv", "--json", *cfg_args(day)]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert [c["status"] for c in doc["checks"] if c["check"] == "kill_switch"] == ["fail"]


def test_cli_bad_input_exit_2(day, capsys):
    assert main(["validate", f"{day}/missing.csv", *cfg_args(day)]) == 2
    assert "not found" in capsys.readouterr().err
    (day / "trades.csv").write_text(swap("MSFT,sell,10,380.50", "MSFT,sell,ten,380.50"))
    assert main(["validate", f"{day}/trades.csv", *cfg_args(day)]) == 2
    err = capsys.readouterr().err
    assert "row 11" in err and "'shares'" in err
    assert not (day / "validation.json").exists()
    assert main(["validate", f"{day}/trades.csv", "--positions", "nope.csv", *cfg_args(day)]) == 2


def test_cli_without_optional_files(day, capsys):
    for f in ("current_positions.csv", "events.csv", "reference.csv"):
        (day.parent / f).unlink()
    (day / "quotes.csv").unlink()
    assert main(["validate", f"{day}/trades.csv", "--json", *cfg_args(day)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["decision"] == "CONDITIONAL"
    assert doc["summary"]["inputs"]["positions"] is None
