"""The submission limits (xlexec.execution.guards) one by one, their registry, the kill switch
state, and ``execution.enabled: false`` through ``xlexec submit`` and the chase."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from conftest import GUIDE_TRADES  # noqa: E402
from tests.reliability.controls import paper_orders  # orders the paper broker itself holds
from xlexec.config import config_from_dict  # noqa: E402
from xlexec.core.checks import Check  # noqa: E402
from xlexec.errors import RefusedError  # noqa: E402
from xlexec.execution import guards as G  # noqa: E402
from xlexec.store import journal as J  # noqa: E402

DAY = "2025-10-30"


def orders(*rows) -> pd.DataFrame:
    """``(symbol, side, qty, limit $)`` rows -> an orders frame (notional = qty x limit)."""
    df = pd.DataFrame(rows, columns=["symbol", "side", "qty", "limit_price"])
    df["order_type"] = "limit"
    df["price"] = df["limit_price"]
    df["notional"] = df["qty"] * df["limit_price"]
    df["weight_change"] = 0.01
    df["client_order_id"] = [f"c-{s}-{sd}" for s, sd in zip(df["symbol"], df["side"])]
    return df


LIMITS = {
    "max_order_size_usd": 10_000.0,
    "max_daily_trades": 50,
    "price_collar_pct": None,
    "buying_power": None,
    "buying_power_buffer": 0.05,
}


def decide(check: Check, o: pd.DataFrame, *, quotes=None, known=(), **kw) -> list[tuple[str, str]]:
    """``(refusal, note)`` per order after ``check`` alone."""
    out = o.copy()
    out["arrival_price"] = out["symbol"].map(G.mid_map(quotes)).astype(float)
    out["refusal"] = ""
    out["note"] = ""
    c = G.OrderContext(out, ~out["client_order_id"].isin(list(known)), **{**LIMITS, **kw})
    check.rows(c, G.Refusals(c, check))
    return list(zip(out["refusal"], out["note"]))


OK = ("", "")
QUOTES = pd.DataFrame({"symbol": ["A", "B"], "mid": [100.0, 50.0]})


def test_restricted():
    r = decide(
        G.Restricted(),
        orders(("A", "buy", 10, 100.0), ("B", "buy", 10, 50.0)),
        restricted=pd.DataFrame({"symbol": ["B"], "reason": ["insider window"]}),
    )
    assert r == [OK, ("restricted", "restricted list: insider window")]
    assert decide(G.Restricted(), orders(("A", "buy", 10, 100.0))) == [OK]


def test_whole_shares():
    r = decide(G.WholeShares(), orders(("A", "buy", 17.5, 100.0), ("B", "buy", 0, 50.0), ("C", "buy", 10, 5.0)))
    assert r[0] == (
        "fractional_shares",
        ("17.5 shares is not a whole positive number: not sent (fix trades.csv and approve again)"),
    )
    assert r[1][0] == "fractional_shares" and r[2] == OK


def test_priced():
    o = orders(("A", "buy", 10, 100.0), ("B", "buy", 10, 50.0))
    o.loc[1, "notional"] = np.nan
    assert decide(G.Priced(), o) == [
        OK,
        ("no_price", ("no price to value the order against the limits (no limit, signal price or quote)")),
    ]


def test_max_order_size():
    # 100 x $150.25 = $15,025 > $10,000; 100 x $100 = $10,000 is at the limit: sent
    r = decide(G.MaxOrderSize(), orders(("A", "buy", 100, 150.25), ("B", "buy", 100, 100.0)))
    assert r == [("max_order_size", "$15,025.00 exceeds max_order_size_usd $10,000.00"), OK]


def test_collar_quote():
    o = orders(("A", "buy", 10, 100.0), ("C", "buy", 10, 10.0))
    assert decide(G.CollarQuote(), o, quotes=QUOTES, price_collar_pct=0.05) == [
        OK,
        ("no_quote", "no quote to check the 5.0% price collar against"),
    ]
    assert decide(G.CollarQuote(), o, quotes=QUOTES, price_collar_pct=None) == [OK, OK]


def test_price_collar():
    # A $106 vs mid $100: 6% > 5%; B $52 vs $50: 4%
    o = orders(("A", "buy", 10, 106.0), ("B", "buy", 10, 52.0))
    assert decide(G.PriceCollar(), o, quotes=QUOTES, price_collar_pct=0.05) == [
        ("price_collar", "$106.00 is 6.00% from the quote mid $100.00 (collar 5.0%)"),
        OK,
    ]
    assert decide(G.PriceCollar(), o, quotes=QUOTES, price_collar_pct=None) == [OK, OK]


def test_duplicate():
    others = pd.DataFrame({"symbol": ["A"], "side": ["buy"], "client_order_id": ["x-1"], "status": ["new"]})
    r = decide(G.Duplicate(), orders(("A", "buy", 10, 100.0), ("A", "sell", 10, 100.0)), others=others)
    assert r == [("duplicate", "duplicate: A buy already new today as x-1"), OK]


def test_buying_power():
    # budget = $2,000 x (1 - 5%) = $1,900 < buys $2,000: every buy refused
    two = orders(("A", "buy", 10, 100.0), ("B", "buy", 20, 50.0))
    note = "buys total $2,000.00 > buying power $1,900.00 after the 5% buffer (use --fit-buying-power)"
    assert decide(G.BuyingPower(), two, buying_power=2_000.0) == [("buying_power", note)] * 2
    # a $500 sale frees cash: budget $2,400 >= $2,000
    three = orders(("A", "buy", 10, 100.0), ("B", "buy", 20, 50.0), ("C", "sell", 5, 100.0))
    assert decide(G.BuyingPower(), three, buying_power=2_000.0) == [OK, OK, OK]
    assert decide(G.BuyingPower(), two, buying_power=None) == [OK, OK]


def test_buying_power_fit_drops_the_lowest_conviction_first():
    o = orders(("A", "buy", 10, 100.0), ("B", "buy", 20, 50.0))
    o["ml_score"] = [0.9, 0.1]
    r = decide(G.BuyingPower(), o, buying_power=2_000.0, fit_buying_power=True)
    assert r == [OK, ("buying_power", "dropped to fit buying power $1,900.00 (lowest ml_score first)")]


def test_max_daily_trades():
    o = orders(("A", "buy", 10, 100.0), ("B", "buy", 10, 50.0))
    assert decide(G.MaxDailyTrades(), o, max_daily_trades=5, trades_used_today=4) == [
        OK,
        ("max_daily_trades", "max_daily_trades 5 reached (4 already today)"),
    ]
    assert decide(G.MaxDailyTrades(), o, max_daily_trades=6, trades_used_today=4) == [OK, OK]


def test_known_orders_skip_the_limits():
    o = orders(("A", "buy", 100, 150.25))
    assert decide(G.MaxOrderSize(), o, known={"c-A-buy"}) == [OK]


def test_warn_policy_sends_with_a_note():
    r = decide(G.MaxOrderSize("warn"), orders(("A", "buy", 100, 150.25)))
    assert r == [("", "$15,025.00 exceeds max_order_size_usd $10,000.00")]


def test_registry_order_and_first_refusal_wins():
    assert G.SUBMISSION.ids() == [
        "restricted",
        "fractional_shares",
        "stale_quote",
        "no_market_quote",
        "no_price",
        "max_order_size",
        "no_quote",
        "price_collar",
        "duplicate",
        "short",
        "buying_power",
        "max_daily_trades",
    ]
    for cls in G.SUBMISSION:
        assert issubclass(cls, Check) and (cls.__doc__ or "").strip() and cls.policy == "fail"
    # restricted and too big: the first limit of the registry names the refusal
    out = G.pretrade_checks(
        orders(("A", "buy", 200, 100.0), ("B", "buy", 10, 50.0)),
        **LIMITS,
        quotes=QUOTES,
        restricted=pd.DataFrame({"symbol": ["A"], "reason": ["watch list"]}),
    )
    assert list(out["refusal"]) == ["restricted", ""]
    assert list(out["arrival_price"]) == [100.0, 50.0]


def test_pretrade_checks_runs_a_given_registry():
    extra = G.SUBMISSION.copy("extra")

    @extra.register
    class NoSells(Check):
        """No sell orders (a long-only test account)."""

        id = "no_sells"

        def rows(self, c, out):
            out.refuse(c.orders["side"] == "sell", "long-only account")

    o = orders(("A", "buy", 10, 100.0), ("B", "sell", 10, 50.0))
    assert list(G.pretrade_checks(o, **LIMITS, registry=extra)["refusal"]) == ["", "no_sells"]
    assert list(G.pretrade_checks(o, **LIMITS)["refusal"]) == ["", ""]


def test_mid_map():
    q = pd.DataFrame(
        {"symbol": ["A", "B", "C"], "bid": [99.0, 0.0, -1.0], "ask": [101.0, 51.0, 2.0], "last": [100.5, 50.5, -3.0]}
    )
    m = G.mid_map(q)
    assert m["A"] == 100.0 and m["B"] == 50.5 and np.isnan(m["C"])  # (bid + ask) / 2, else last
    assert G.mid_map(None).empty


def test_kill_switch_state(tmp_path):
    assert G.kill_switch_state(tmp_path, "ACTIVE") is None
    assert G.kill_switch_state(tmp_path, "triggered") == "the trades header says Kill Switch: TRIGGERED"
    # fail closed: only ACTIVE passes; unknown values and a missing line stop trading
    for v in ("TRIPPED", "HALTED", "OFF", "garbage", "", None):
        why = G.kill_switch_state(tmp_path, v)
        assert why and "Kill Switch" in why, v
    assert "(only ACTIVE passes)" in G.kill_switch_state(tmp_path, "TRIPPED")
    assert G.kill_switch_state(tmp_path) is None  # no trades header in play: only the file counts
    (tmp_path / "KILL_SWITCH").write_text("stop: broker incident\n")
    why = G.kill_switch_state(tmp_path)
    assert why.startswith(str(tmp_path / "KILL_SWITCH")) and "(stop: broker incident)" in why


def test_require_enabled():
    G.require_enabled(True)
    with pytest.raises(RefusedError, match=r"execution\.enabled is false \(my.yaml\)"):
        G.require_enabled(False, "my.yaml")


# ---- execution.enabled: false, end to end ---------------------------------------------------


def _day(tmp_path: Path, enabled: bool) -> tuple[Path, Path]:
    cfg = tmp_path / "config.yaml"
    cfg.write_text(f"""live_dir: live
execution:
  enabled: {str(enabled).lower()}
  broker: paper
  require_human_approval: false
  max_order_size_usd: 50000
""")
    live = tmp_path / "live"
    (live / DAY).mkdir(parents=True)
    (live / DAY / "trades.csv").write_text(GUIDE_TRADES)
    (live / DAY / "quotes.csv").write_text(
        "symbol,bid,ask,last,timestamp\nAAPL,150.1,150.3,150.2,2025-10-30T14:04:30Z\n"
        "MSFT,380.5,380.7,380.6,2025-10-30T14:04:30Z\n"
        "GOOGL,142.8,143.0,142.9,2025-10-30T14:04:30Z\n"
    )
    (live / "current_positions.csv").write_text("symbol,shares,avg_cost\nMSFT,100,300.00\n")
    return cfg, live


@pytest.mark.parametrize("enabled", [False, True])
def test_cli_submit_refuses_when_execution_is_disabled(tmp_path, monkeypatch, capsys, enabled):
    from xlexec.cli.app import main

    monkeypatch.setenv("XLEXEC_NOW", "2025-10-30T14:05:00+00:00")
    cfg, live = _day(tmp_path, enabled)
    rc = main(["submit", str(live / DAY / "trades.csv"), "--config", str(cfg), "--allow-closed", "--json"])
    _, err = capsys.readouterr()
    if enabled:  # the same day with the switch on trades: the test can tell the difference
        assert rc == 0, err
        assert paper_orders(live) == 3
        return
    assert rc == 1
    assert "execution.enabled" in err and str(cfg) in err and "nothing sent" in err
    assert paper_orders(live) == 0
    jr = live / "journal.sqlite"
    if jr.exists():
        assert J.Journal(jr).payloads(J.INTENT, DAY) == []


def test_chase_is_not_made_when_execution_is_disabled(tmp_path):
    from xlexec.execution import engine as S
    from xlexec.execution import status as ST
    from xlexec.execution.brokers.paper import PaperBroker
    from xlexec.formats.trades import parse_trades_text
    from xlexec.steps.context import Context

    t0 = dt.datetime(2025, 10, 30, 14, 0, tzinfo=dt.UTC)
    now = [t0]
    trades = (
        "# Date: 2025-10-30\n"
        "# Kill Switch: ACTIVE\n# Safety Checks: PASSED\n"
        "symbol,side,shares,price,notional,weight_change,commission_est,slippage_est,total_cost_est\n"
        "AAPL,buy,10,150.00,1500.00,0.015,0.15,0.30,0.45\n"
    )
    q = pd.DataFrame({"symbol": ["AAPL"], "bid": [150.02], "ask": [150.08], "last": [150.05], "mid": [150.05]})

    def ctx(enabled: bool) -> Context:
        ex = {
            "enabled": enabled,
            "require_human_approval": False,
            "broker": "paper",
            "order_timeout_minutes": 120,
            "price_collar_pct": None,
            "chase": {"enabled": True, "step": 0.05, "minutes": 15, "max_moves": 3},
        }
        cfg = config_from_dict({"live_dir": str(tmp_path / "live"), "execution": ex})
        return Context(cfg, user="tester", fixed_now=t0)  # the paper session is the context's clock

    b = PaperBroker(tmp_path / "pb.sqlite", quotes=q, day=DAY, slippage_bps=0, now_fn=lambda: now[0])
    assert S.submit_batch(ctx(True), parse_trades_text(trades), broker=b, quotes=q, allow_closed=True).sent == 1
    now[0] = t0 + dt.timedelta(minutes=16)  # the 150.00 limit rests below the 150.08 ask: a chase is due
    a = ST.enforce_timeouts(ctx(False), DAY, b, now[0])
    assert list(a["action"]) == ["chase_refused"] and "execution.enabled" in a["note"].iloc[0]
    assert len(b.list_orders("all")) == 1  # no replacement reached the broker
    with pytest.raises(RefusedError, match="execution.enabled"):
        S.submit_batch(ctx(False), parse_trades_text(trades), broker=b, quotes=q, allow_closed=True)
    a = ST.enforce_timeouts(ctx(True), DAY, b, now[0])  # switched back on: the chase happens
    assert list(a["action"]) == ["chase"] and len(b.list_orders("all")) == 2


def test_the_configured_account_of_each_broker_is_named_by_its_key():
    from xlexec.config import config_from_dict
    from xlexec.execution.mode import configured_account

    accounts = {"alpaca": {"account_number": "PA1"}, "schwab": {"account_number": "123"}, "ibkr": {"account_id": "DU9"}}
    ex = config_from_dict({"execution": accounts}).execution
    assert configured_account(ex, "alpaca") == ("execution.alpaca.account_number", "PA1")
    assert configured_account(ex, "schwab") == ("execution.schwab.account_number", "123")
    assert configured_account(ex, "ibkr") == ("execution.ibkr.account_id", "DU9")
    assert configured_account(ex, "paper") == (None, None)
    assert configured_account(ex) == (None, None)  # the default broker: the paper simulator
