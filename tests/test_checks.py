"""Each validation check class on its own, the registry, the policy and the thresholds.

Every case is a tiny hand-made day: portfolio $10,000.00 (header), trade date 2025-10-30 (a
Thursday, a full NYSE session), AAA at $100.00 a share with a quote mid of $100.00; costs at
1 bps commission and 2 bps slippage ($1,000 -> 0.10 + 0.20 = 0.30). The expected rows are
computed by hand in the comments.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import math
import re
from pathlib import Path

import pandas as pd
import pytest

from xlexec.config import ValidationConfig, config_from_dict, validation_thresholds
from xlexec.core.checks import (
    CHECK_IDS,
    VALIDATION,
    Check,
    Findings,
    Registry,
    Thresholds,
    build_context,
    costs,
    events,
    exclusions,
    integrity,
    liquidity,
    model,
    portfolio,
    prices,
    register,
    validate,
)
from xlexec.core.checks import calendar as calendar_checks
from xlexec.core.checks.base import findings_frame
from xlexec.formats.trades import parse_trades_text

NOW = dt.datetime(2025, 10, 30, 14, 0, tzinfo=dt.UTC)
COLS = "symbol,side,shares,price,notional,weight_change,commission_est,slippage_est,total_cost_est"
HEADER = {
    "Date": "2025-10-30",
    "Portfolio Value": "$10,000.00",
    "IC": "0.034",
    "Kill Switch": "ACTIVE",
    "Safety Checks": "PASSED",
    "Regime": "Normal (Risk Multiplier: 1.0)",
}
BASE = "AAA,buy,10,100.00,1000.00,0.1000,0.10,0.20,0.30"
NAN = float("nan")


def csv(text: str) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(text))


def context(
    *rows: str,
    header: dict | None = None,
    drop: tuple = (),
    positions: str | None = None,
    quotes: str | None = "AAA,100.00",
    events_: str | None = None,
    reference: str | None = None,
    now: dt.datetime = NOW,
    kill_switch_file: bool = False,
    cols: str = COLS,
    **th,
):
    """A check context; ``quotes``: ``symbol,mid`` rows (quoted 5 minutes before ``now``)."""
    h = {**HEADER, **(header or {})}
    text = "".join(f"# {k}: {v}\n" for k, v in h.items() if k not in drop) + cols + "\n" + "\n".join(rows or (BASE,))
    q = None
    if quotes is not None:
        q = csv("symbol,mid\n" + quotes)
        q["timestamp"] = pd.Timestamp(now) - pd.Timedelta(minutes=5)
    return build_context(
        parse_trades_text(text, "<test>", strict=False),
        positions=csv("symbol,shares,avg_cost\n" + positions) if positions is not None else None,
        quotes=q,
        events=csv("symbol,date,event\n" + events_) if events_ is not None else None,
        reference=csv("symbol,sector,adv_shares\n" + reference) if reference is not None else None,
        thresholds=Thresholds(**th),
        now=now,
        kill_switch_file=kill_switch_file,
    )


def rows(check: Check, c) -> list[tuple]:
    """``(status, symbol, value, limit)`` of each row the check gives (NaN as None)."""
    out = Findings(check.id)
    check.rows(c, out)
    df = findings_frame(out.parts)
    assert (df["check"] == check.id).all() and (df["message"].str.len() > 0).all()

    def v(x):
        return None if isinstance(x, float) and math.isnan(x) else round(float(x), 9)

    return [(s, y, v(a), v(b)) for s, y, a, b in zip(df["status"], df["symbol"], df["value"], df["limit"])]


def statuses(check: Check, c) -> list[str]:
    return [r[0] for r in rows(check, c)]


def message(check: Check, c) -> str:
    out = Findings(check.id)
    check.rows(c, out)
    return " | ".join(findings_frame(out.parts)["message"])


# ---- integrity ------------------------------------------------------------------------------


def test_shares_positive():
    k = integrity.SharesPositive()
    assert rows(k, context("AAA,buy,0,100.00,0.00,0.0100,0,0,0")) == [("fail", "AAA", 0.0, 0.0)]
    assert rows(k, context()) == [("pass", "", None, None)]


def test_whole_shares():
    k = integrity.WholeShares()
    assert rows(k, context("AAA,buy,10.5,100.00,1050.00,0.1050,0.11,0.21,0.32")) == [("fail", "AAA", 10.5, None)]
    assert statuses(k, context()) == ["pass"]


def test_notional_matches():
    k = integrity.NotionalMatches()
    # 10 x 100.00 = 1,000.00 vs 1,000.50: off by $0.50 > $0.01
    assert rows(k, context("AAA,buy,10,100.00,1000.50,0.1000,0.10,0.20,0.30")) == [("fail", "AAA", 0.5, 0.01)]
    assert rows(k, context()) == [("pass", "", 0.0, 0.01)]


def test_direction():
    k = integrity.Direction()
    assert rows(k, context("AAA,buy,10,100.00,1000.00,-0.0100,0.10,0.20,0.30")) == [("fail", "AAA", -0.01, 0.0)]
    assert rows(k, context("AAA,sell,10,100.00,1000.00,0.0100,0.10,0.20,0.30")) == [("fail", "AAA", 0.01, 0.0)]
    assert statuses(k, context()) == ["pass"]


# ---- portfolio ------------------------------------------------------------------------------


def test_max_trade_pct():
    k = portfolio.MaxTradePct()
    # $1,500 / $10,000 = 15% > 10%; $1,000 = 10% is at the limit: passes
    assert rows(k, context("AAA,buy,15,100.00,1500.00,0.15,0.15,0.30,0.45")) == [("fail", "AAA", 0.15, 0.10)]
    assert rows(k, context()) == [("pass", "", 0.10, 0.10)]
    assert rows(k, context(drop=("Portfolio Value",))) == [("warn", "", None, 0.10)]  # value unknown


def test_position_pct():
    k = portfolio.PositionPct()
    # 10 held + 10 bought = 20 x $100 = $2,000 = 20% > 15%
    assert rows(k, context(positions="AAA,10,90.00")) == [("fail", "AAA", 0.20, 0.15)]
    assert rows(k, context(positions="")) == [("pass", "", 0.10, 0.15)]


def test_sector_pct():
    k = portfolio.SectorPct()
    # after the trades AAA 20 x $100 + BBB 11 x $100 = $3,100 = 31% of $10,000 in Tech > 30%
    ref = "AAA,Tech,1000000\nBBB,{},1000000"
    assert rows(
        k, context(positions="AAA,10,90\nBBB,11,90", quotes="AAA,100\nBBB,100", reference=ref.format("Tech"))
    ) == [("fail", "", 0.31, 0.30)]
    assert "sector Tech" in message(
        k, context(positions="AAA,10,90\nBBB,11,90", quotes="AAA,100\nBBB,100", reference=ref.format("Tech"))
    )
    assert rows(
        k, context(positions="AAA,10,90\nBBB,11,90", quotes="AAA,100\nBBB,100", reference=ref.format("Energy"))
    ) == [("pass", "", 0.20, 0.30)]
    assert rows(k, context()) == [("pass", "", None, 0.30)]  # no reference data: not checked


def test_position_count():
    k = portfolio.PositionCount()
    # one position after the trades vs top_k 20 +/- 5
    assert rows(k, context()) == [("warn", "", 1.0, 20.0)]
    assert rows(k, context(top_k=3, position_count_tolerance=2)) == [("pass", "", 1.0, 3.0)]


def test_oversell():
    k = portfolio.Oversell()
    sell = "AAA,sell,10,100.00,1000.00,-0.1000,0.10,0.20,0.30"
    # issue 15: a short is a FAIL (was a WARN: approved without override) unless allow_short
    assert rows(k, context(sell, positions="AAA,5,90")) == [("fail", "AAA", -5.0, 0.0)]  # 5 - 10
    assert rows(k, context(sell, positions="AAA,5,90", allow_short=True)) == [("warn", "AAA", -5.0, 0.0)]
    assert "validation.allow_short" in message(k, context(sell, positions="AAA,5,90"))
    assert rows(k, context(sell, positions="AAA,10,90")) == [("pass", "", None, None)]
    assert "not checked" in message(k, context(sell))


# ---- prices ---------------------------------------------------------------------------------


def test_price_deviation():
    k = prices.PriceDeviation()
    # $103 vs mid $100: 3% > 2% warns; $111: 11% > 10% fails; $101: 1% passes
    assert rows(k, context("AAA,buy,10,103.00,1030.00,0.1,0.10,0.21,0.31")) == [("warn", "AAA", 0.03, 0.02)]
    assert rows(k, context("AAA,buy,10,111.00,1110.00,0.1,0.11,0.22,0.33")) == [("fail", "AAA", 0.11, 0.10)]
    assert rows(k, context("AAA,buy,10,101.00,1010.00,0.1,0.10,0.20,0.30")) == [("pass", "", 0.01, 0.02)]
    assert rows(k, context(quotes=None)) == [("pass", "", None, 0.02)]


def test_quote_stale():
    k = prices.QuoteStale()
    # the helper quotes 5 min before now: fine at 15, stale at a 3-minute limit
    assert rows(k, context()) == [("pass", "", 5.0, 15.0)]
    assert rows(k, context(quote_stale_minutes=3)) == [("warn", "AAA", 5.0, 3.0)]


def test_no_quote():
    k = prices.NoQuote()
    assert rows(k, context(quotes="BBB,50.00")) == [("warn", "AAA", None, None)]
    assert rows(k, context()) == [("pass", "", None, None)]
    assert rows(k, context(quotes=None)) == [("warn", "", 1.0, None)]  # no quotes file: one row, 1 trade


# ---- costs ----------------------------------------------------------------------------------


def test_turnover():
    k = costs.Turnover()

    def day(*ns: int) -> list[str]:  # one buy per share count, at $100.00, no costs
        return [f"{s},buy,{n},100.00,{n * 100}.00,0.01,0,0,0" for s, n in zip("ABCD", ns)]

    assert rows(k, context(*day(10, 10, 10, 1))) == [("warn", "", 0.31, 0.30)]  # $3,100 = 31%
    assert rows(k, context(*day(10, 10, 10, 6))) == [("fail", "", 0.36, 0.35)]  # $3,600 = 36%
    assert rows(k, context()) == [("pass", "", 0.10, 0.30)]
    # header says 20%, the trades make 10%: off by 0.10 > 0.01
    assert rows(k, context(header={"Portfolio Turnover": "20%"})) == [("warn", "", 0.10, 0.01)]
    assert rows(k, context(drop=("Portfolio Value",))) == [("warn", "", None, 0.35)]


def test_total_cost_pct():
    k = costs.TotalCostPct()
    # $5.00 of $1,000 = 0.5%: at the limit fails; $0.30 = 0.03% passes
    assert rows(k, context("AAA,buy,10,100.00,1000.00,0.1,0.10,0.20,5.00")) == [("fail", "", 0.005, 0.005)]
    assert rows(k, context()) == [("pass", "", 0.0003, 0.005)]


def test_high_cost_trade():
    k = costs.HighCostTrade()
    assert rows(k, context("AAA,buy,10,100.00,1000.00,0.1,0.10,0.20,60.00")) == [("warn", "AAA", 60.0, 50.0)]
    assert statuses(k, context()) == ["pass"]


def test_small_trade():
    k = costs.SmallTrade()
    assert rows(k, context("AAA,buy,4,100.00,400.00,0.04,0.04,0.08,0.12")) == [("warn", "AAA", 400.0, 500.0)]
    assert statuses(k, context()) == ["pass"]


def test_cost_estimate():
    k = costs.CostEstimate()
    # commission 0.50 vs 1,000 x 1 bps = 0.10 (off 0.40); total 0.70 = 0.50 + 0.20
    c = context("AAA,buy,10,100.00,1000.00,0.1,0.50,0.20,0.70")
    assert rows(k, c) == [("warn", "AAA", 0.4, 0.01)]
    assert "commission_est $0.50 vs $0.10 at 1 bps" in message(k, c)
    assert rows(k, context()) == [("pass", "", None, None)]
    assert statuses(k, context(costs_bps=3)) == ["warn"]  # 0.10 is not 3 bps of $1,000


# ---- model ----------------------------------------------------------------------------------


def test_information_coefficient():
    k = model.InformationCoefficient()
    assert rows(k, context()) == [("pass", "", 0.034, 0.02)]
    assert rows(k, context(header={"IC": "0.015"})) == [("warn", "", 0.015, 0.02)]
    assert rows(k, context(header={"IC": "0.005"})) == [("fail", "", 0.005, 0.01)]
    assert rows(k, context(drop=("IC",))) == [("warn", "", None, 0.02)]


def test_kill_switch():
    k = model.KillSwitch()
    assert statuses(k, context()) == ["pass"]
    assert statuses(k, context(header={"Kill Switch": "TRIGGERED"})) == ["fail"]
    assert statuses(k, context(header={"Kill Switch": "Trigger (manual)"})) == ["fail"]  # as submit reads it
    assert statuses(k, context(kill_switch_file=True)) == ["fail"]
    assert "live/KILL_SWITCH is present" in message(k, context(kill_switch_file=True))
    # issue 15: fail closed -- only ACTIVE passes; unknown values and a missing line FAIL
    for v in ("TRIPPED", "HALTED", "OFF", "inactive", "garbage ?!", ""):
        assert statuses(k, context(header={"Kill Switch": v})) == ["fail"], v
    assert statuses(k, context(drop=("Kill Switch",))) == ["fail"]
    assert "no '# Kill Switch: ACTIVE' line" in message(k, context(drop=("Kill Switch",)))
    assert statuses(k, context(header={"Kill Switch": " active "})) == ["pass"]


def test_safety_checks():
    k = model.SafetyChecks()
    assert statuses(k, context(header={"Safety Checks": "FAILED"})) == ["fail"]
    assert statuses(k, context()) == ["pass"]
    # issue 15: fail closed -- only PASSED passes
    for v in ("FAIL", "ERROR", "UNKNOWN", "pass", "garbage", ""):
        assert statuses(k, context(header={"Safety Checks": v})) == ["fail"], v
    assert statuses(k, context(drop=("Safety Checks",))) == ["fail"]


def test_portfolio_value():
    k = portfolio.PortfolioValue()
    assert statuses(k, context()) == ["pass"]  # the header's
    no_hdr = {"drop": ("Portfolio Value",), "positions": "AAA,50,90"}
    assert statuses(k, context(**no_hdr)) == ["warn"]  # positions alone: cash unknown
    assert "cash is unknown" in message(k, context(**no_hdr))


def test_buy_and_sell():
    k = portfolio.BuyAndSell()
    buy = "AAA,buy,10,100.00,1000.00,0.0100,0.10,0.20,0.30"
    sell = "AAA,sell,5,100.00,500.00,-0.0050,0.05,0.10,0.15"
    assert rows(k, context(buy, sell, positions="AAA,50,90")) == [
        ("fail", "AAA", 10.0, None),
        ("fail", "AAA", 5.0, None),
    ]
    assert rows(k, context(buy)) == [("pass", "", None, None)]
    assert "both bought and sold" in message(k, context(buy, sell))


def test_regime():
    k = model.Regime()
    assert rows(k, context()) == [("pass", "", 1.0, 1.5)]
    assert rows(k, context(header={"Regime": "Stress (Risk Multiplier: 2.0)"})) == [("warn", "", 2.0, 1.5)]
    assert rows(k, context(header={"Regime": "Odd (Risk Multiplier: -0.5)"})) == [("warn", "", -0.5, 0.0)]
    assert rows(k, context(drop=("Regime",))) == [("warn", "", None, 1.5)]


# ---- events, calendar, liquidity, exclusions ------------------------------------------------


def test_corporate_event():
    k = events.CorporateEvent()
    # Fri 2025-10-31 is 1 session after Thu 2025-10-30; Wed 2025-11-05 is 4 sessions after
    assert rows(k, context(events_="AAA,2025-10-31,earnings")) == [("warn", "AAA", 1.0, 1.0)]
    assert rows(k, context(events_="AAA,2025-11-05,earnings\nBBB,2025-10-30,earnings")) == [("pass", "", None, 1.0)]
    assert rows(k, context(events_="AAA,2025-10-30,halt")) == [("pass", "", None, 1.0)]  # halts: the other check
    assert "not checked" in message(k, context())


def test_halted():
    k = events.Halted()
    assert rows(k, context(events_="AAA,2025-10-29,halt")) == [("fail", "AAA", -1.0, 1.0)]
    assert rows(k, context(events_="AAA,2025-10-31,earnings")) == [("pass", "", None, 1.0)]


def test_market_calendar():
    k = calendar_checks.MarketCalendar()
    assert statuses(k, context()) == ["pass"]
    assert statuses(k, context(header={"Date": "2025-11-27"})) == ["fail"]  # Thanksgiving
    assert statuses(k, context(header={"Date": "2025-11-28"})) == ["warn"]  # half day


def test_adv_pct():
    k = liquidity.AdvPct()
    # 10 shares of an ADV of 100 = 10% > 5%: at 5 shares a day, ceil(10 / 5) = 2 days
    c = context(reference="AAA,Tech,100")
    assert rows(k, c) == [("warn", "AAA", 0.1, 0.05)]
    assert "takes 2 trading days" in message(k, c)
    assert rows(k, context(reference="AAA,Tech,1000")) == [("pass", "", 0.01, 0.05)]
    assert rows(k, context()) == [("pass", "", None, 0.05)]  # no ADV data


def test_excluded_is_logged_and_everything_excluded_warns():
    k = exclusions.Excluded()
    cols = COLS + ",include"
    c = context(BASE + ",yes", "BBB,buy,5,100.00,500.00,0.05,0.05,0.10,0.15,no", cols=cols)
    assert rows(k, c) == [("pass", "BBB", None, None)]
    assert rows(k, context(BASE + ",no", cols=cols)) == [("pass", "AAA", None, None), ("warn", "", 1.0, None)]
    assert rows(k, context()) == [("pass", "", 0.0, None)]


# ---- policy ---------------------------------------------------------------------------------


def test_policy_decides_what_a_breach_does():
    breach = context("AAA,buy,10,100.00,1000.00,-0.0100,0.10,0.20,0.30")  # direction breached
    assert statuses(integrity.Direction(), breach) == ["fail"]
    assert statuses(integrity.Direction("warn"), breach) == ["warn"]
    assert statuses(integrity.Direction("log"), breach) == ["pass"]
    assert statuses(integrity.Direction("log"), context()) == ["pass"]
    with pytest.raises(ValueError, match="policy"):
        integrity.Direction("ignore")


# ---- registry -------------------------------------------------------------------------------

EXPECTED_IDS = [
    "shares_nonpositive",
    "fractional_shares",
    "notional_mismatch",
    "direction",
    "portfolio_value",
    "max_trade_pct",
    "position_pct",
    "sector_pct",
    "position_count",
    "oversell",
    "buy_and_sell",
    "price_deviation",
    "price_stale",
    "no_quote",
    "spread",
    "turnover",
    "total_cost_pct",
    "high_cost_trade",
    "small_trade",
    "cost_estimate",
    "ic",
    "kill_switch",
    "safety_checks",
    "regime",
    "corporate_event",
    "macro_event",
    "halted",
    "restricted",
    "market_calendar",
    "adv_pct",
    "excluded",
]


def test_registry_holds_every_check_id_once_in_order():
    assert CHECK_IDS == EXPECTED_IDS
    assert len(set(VALIDATION.ids())) == len(VALIDATION) == 31
    for cls in VALIDATION:
        assert cls.__doc__ and cls.__doc__.strip() and cls.policy in ("fail", "warn", "log"), cls


def test_every_check_has_a_direct_test_here():
    tested = {
        "shares_nonpositive": "test_shares_positive",
        "fractional_shares": "test_whole_shares",
        "notional_mismatch": "test_notional_matches",
        "ic": "test_information_coefficient",
        "price_stale": "test_quote_stale",
        "excluded": "test_excluded_is_logged_and_everything_excluded_warns",
    }
    # the checklist's checks (spread, macro_event, restricted) are tested in test_checks_checklist.py
    checklist = (Path(__file__).parent / "test_checks_checklist.py").read_text(encoding="utf-8")
    names = set(globals()) | set(re.findall(r"^def (test_\w+)", checklist, re.M))
    missing = [i for i in CHECK_IDS if tested.get(i, f"test_{i}") not in names]
    assert not missing


def test_registering_refuses_duplicates_and_checks_without_a_rule():
    reg = Registry("scratch")

    class NoDoc(Check):
        id = "no_doc"

    with pytest.raises(ValueError, match="docstring"):
        reg.register(NoDoc)
    with pytest.raises(ValueError, match="already registered"):
        VALIDATION.copy().register(type("Again", (Check,), {"id": "direction", "__doc__": "same id"}))
    with pytest.raises(ValueError, match="no id"):
        reg.register(type("Nameless", (Check,), {"__doc__": "no id"}))
    with pytest.raises(TypeError):
        reg.register(object)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="policy"):
        reg.register(type("Odd", (Check,), {"id": "odd", "policy": "maybe", "__doc__": "x"}))


def test_a_new_check_registers_by_decorator_and_validate_runs_it():
    extended = VALIDATION.copy("extended")

    @extended.register
    class OddLots(Check):
        """No order of fewer than 100 shares (a round lot)."""

        id = "odd_lot"
        policy = "warn"

        def rows(self, c, out):
            t = c.t
            out.per_trade(
                c.valid & (t.shares < 100),
                self.breach,
                t,
                t.shares,
                100.0,
                lambda i: f"{t.who(i)}: odd lot",
                "round lots only",
            )

    text = "# Date: 2025-10-30\n# Portfolio Value: $10,000.00\n" + COLS + "\n" + BASE + "\n"
    trades = parse_trades_text(text, "<test>")
    r = validate(trades, thresholds=Thresholds(), now=NOW, registry=extended)
    assert r.checks["check"].iloc[-1] == "odd_lot"
    row = r.checks[r.checks["check"] == "odd_lot"].iloc[0]
    assert (row["status"], row["symbol"], row["value"]) == ("warn", "AAA", 10.0)
    assert "odd_lot" not in validate(trades, thresholds=Thresholds(), now=NOW).checks["check"].tolist()
    assert "odd_lot" not in VALIDATION


def test_register_decorator_is_the_validation_registry():
    assert register == VALIDATION.register
    assert all(VALIDATION[i].id == i for i in CHECK_IDS)


# ---- thresholds -----------------------------------------------------------------------------


def test_thresholds_defaults_match_the_config_model():
    assert validation_thresholds(config_from_dict({})) == Thresholds()
    fields = {f.name for f in dataclasses.fields(Thresholds)}
    assert fields == set(ValidationConfig.model_fields) | {"costs_bps", "slippage_bps"}


def test_thresholds_carry_the_configured_values():
    cfg = config_from_dict({"costs_bps": 3, "slippage_bps": 4, "validation": {"max_adv_pct": 0.07, "top_k": 12}})
    th = validation_thresholds(cfg)
    assert (th.costs_bps, th.slippage_bps, th.max_adv_pct, th.top_k) == (3, 4, 0.07, 12)
    with pytest.raises(dataclasses.FrozenInstanceError):
        th.top_k = 5  # type: ignore[misc]
