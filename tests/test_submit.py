"""The submit engine against the fake Alpaca server (real alpaca-py): faults, limits, guards,
exactly-once, status, timeouts, kill switch, P&L, CLI."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from conftest import GUIDE_TRADES, quote_now  # noqa: E402
from fake_alpaca import FakeAlpaca  # noqa: E402
from xlexec.config import config_from_dict  # noqa: E402
from xlexec.core.pnl import pnl_today  # noqa: E402
from xlexec.errors import BrokerError, LockedError, RefusedError  # noqa: E402
from xlexec.execution import engine as S  # noqa: E402
from xlexec.execution import killswitch as KS  # noqa: E402
from xlexec.execution import status as ST  # noqa: E402
from xlexec.execution.brokers.alpaca import AlpacaBroker  # noqa: E402
from xlexec.formats.trades import parse_trades_text  # noqa: E402
from xlexec.steps.context import Context  # noqa: E402
from xlexec.store import journal as J  # noqa: E402
from xlexec.store.journal import DayLock  # noqa: E402

KEY, SECRET = "PKENGINEKEY77777", "engineSECRET8888888888888888"
DAY = "2025-10-30"


def fresh_quotes(at: dt.datetime | None = None) -> pd.DataFrame:
    """The day's quote mids, stamped 1 s before ``at`` (a context's pinned clock), else now (the
    clock submit reads): fresh for max_quote_age_seconds."""
    stamp = pd.Timestamp(at - dt.timedelta(seconds=1)) if at is not None else pd.Timestamp(quote_now())
    return pd.DataFrame({"symbol": ["AAPL", "MSFT", "GOOGL"], "mid": [150.20, 380.60, 142.90], "timestamp": stamp})


AAPL = f"xlx-{DAY}-AAPL-buy-"
T_DAY = dt.datetime(2025, 10, 30, 14, 0, tzinfo=dt.UTC)  # the fake broker's clock: 10:00 New York on DAY


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch):
    monkeypatch.setattr(S, "LOOKUP_BACKOFF", (0.02, 0.02))


@pytest.fixture
def fake():
    with FakeAlpaca(now=T_DAY, max_lifetime=60) as f:
        yield f


def make_ctx(tmp_path, **execution) -> Context:
    ex = {
        "require_human_approval": False,
        "broker": "alpaca",
        "max_order_size_usd": 50_000.0,
        "max_concurrency": 3,
        "rate_limit_per_min": 60000,
        **execution,
    }
    return Context(config_from_dict({"live_dir": str(tmp_path / "live"), "execution": ex}), user="tester")


def make_broker(fake, **kw) -> AlpacaBroker:
    return AlpacaBroker(KEY, SECRET, base_url=fake.url, timeout=kw.pop("timeout", 0.4), **kw)


def trades(text: str = GUIDE_TRADES):
    return parse_trades_text(text, "trades.csv")


def coids_at(fake) -> list[str]:
    return sorted(o["client_order_id"] for o in fake.orders.values())


def test_submit_sends_each_order_once_and_submit_twice_sends_nothing(tmp_path, fake):
    ctx = make_ctx(tmp_path)
    b = make_broker(fake)
    seen = []
    r1 = S.submit_batch(ctx, trades(), broker=b, quotes=fresh_quotes(), progress=lambda d, t, m: seen.append((d, t)))
    assert (r1.sent, r1.already_sent, r1.refused, r1.unknown, r1.exit_code) == (3, 0, 0, 0, 0)
    assert sorted(seen) == [(1, 3), (2, 3), (3, 3)]
    assert list(r1.orders.columns[:10]) == [
        "symbol",
        "side",
        "qty",
        "limit_price",
        "client_order_id",
        "order_id",
        "status",
        "filled_qty",
        "filled_avg_price",
        "note",
    ]
    r2 = S.submit_batch(ctx, trades(), broker=b, quotes=fresh_quotes())
    assert (r2.sent, r2.already_sent, r2.exit_code) == (0, 3, 0)
    assert len(fake.orders) == 3 and len(set(coids_at(fake))) == 3
    assert len(fake.requests("POST", "/v2/orders")) == 3
    assert r1.mode["mode"] == "PAPER" and r1.mode["host"] == f"127.0.0.1:{fake.port}"
    js = r2.to_json()
    assert js["mode"] == "PAPER" and js["already_sent"] == 3 and len(js["orders"]) == 3
    json.dumps(js)
    intents = ctx.journal().payloads(J.INTENT, DAY)
    assert len(intents) == 3
    a = [p for p in intents if p["symbol"] == "AAPL"][0]
    assert a["arrival_price"] == 150.20 and a["limit_price"] == 150.25 and a["price"] == 150.25 and a["qty"] == 100
    log = (tmp_path / "live" / DAY / "execution_log.csv").read_text().splitlines()
    assert log[0] == (
        "date,symbol,side,shares,limit_price,fill_price,fill_time,order_id,commission,slippage,notes,slippage_vs_limit"
    )
    assert len(log) == 4


FAULTS = [
    ("429", {"retry_after": 0.05}),
    ("429", {"retry_after": None}),
    ("500", {}),
    ("503", {}),
    ("lost", {}),
    ("hang", {"seconds": 1.0}),
    ("hang", {"seconds": 1.0, "after_create": True}),
    ("reset", {}),
    ("malformed", {}),
]


@pytest.mark.parametrize("kind,params", FAULTS, ids=[f"{k}-{i}" for i, (k, _) in enumerate(FAULTS)])
def test_every_fault_ends_with_each_order_at_the_broker_exactly_once(tmp_path, fake, kind, params):
    ctx = make_ctx(tmp_path, max_concurrency=1)
    b = make_broker(fake, timeout=0.3, sleep=lambda s: None)
    fake.inject(kind, **params)
    r = S.submit_batch(ctx, trades(), broker=b, quotes=fresh_quotes())
    assert r.exit_code == 0, r.orders.to_string()
    assert r.sent == 3 and r.unknown == 0
    assert len(fake.orders) == 3 and len(set(coids_at(fake))) == 3
    if kind != "429":
        first = r.orders.iloc[0]
        assert first["note"] != ""  # the per-order note says what happened
    # and a rerun changes nothing
    r2 = S.submit_batch(ctx, trades(), broker=b, quotes=fresh_quotes())
    assert r2.already_sent == 3 and len(fake.orders) == 3


def test_422_duplicate_is_treated_as_already_sent(tmp_path, fake):
    ctx = make_ctx(tmp_path)
    b = make_broker(fake)
    from xlexec.core.orders import orders_from_trades

    o = orders_from_trades(trades(), date=DAY)
    plan = o.loc[o["symbol"] == "AAPL", "client_order_id"].iloc[0]
    aapl = plan.replace(f"xlx-{DAY}-", f"xlx-{DAY}-a000001-")  # sent for the fake's account PA0000001
    seeded = fake.seed_order(aapl, "AAPL", "buy", 100, 150.25)  # at the broker, unknown to the journal
    # submitted before the pre-send listing's window (queued days ahead): only the 422 finds it
    seeded["submitted_at"] = seeded["created_at"] = "2025-10-01T13:30:00Z"
    r = S.submit_batch(ctx, trades(), broker=b, quotes=fresh_quotes())
    assert r.exit_code == 0 and r.already_sent == 1 and r.sent == 2
    row = r.orders.set_index("symbol").loc["AAPL"]
    assert row["outcome"] == "already_sent" and "duplicate" in row["note"]
    assert fake.order_count(aapl) == 1 and len(fake.orders) == 3


def test_order_the_broker_lists_is_already_sent_without_a_request(tmp_path, fake):
    """The pre-send listing finds an order the journal does not know: never posted again."""
    ctx = make_ctx(tmp_path)
    b = make_broker(fake)
    from xlexec.core.orders import orders_from_trades

    o = orders_from_trades(trades(), date=DAY)
    plan = o.loc[o["symbol"] == "AAPL", "client_order_id"].iloc[0]
    aapl = plan.replace(f"xlx-{DAY}-", f"xlx-{DAY}-a000001-")
    fake.seed_order(aapl, "AAPL", "buy", 100, 150.25)
    r = S.submit_batch(ctx, trades(), broker=b, quotes=fresh_quotes())
    assert r.exit_code == 0 and r.already_sent == 1 and r.sent == 2
    row = r.orders.set_index("symbol").loc["AAPL"]
    assert row["outcome"] == "already_sent" and row["client_order_id"] == aapl
    assert len(fake.requests("POST", "/v2/orders")) == 2  # AAPL never posted
    assert fake.order_count(aapl) == 1 and len(fake.orders) == 3


def test_unknown_outcome_exits_nonzero_and_rerun_resolves(tmp_path, fake):
    ctx = make_ctx(tmp_path, max_concurrency=1)
    b = make_broker(fake)
    fake.inject("500", times=1)
    fake.inject("503", method="GET", path="/v2/orders:by_client_order_id", times=3)
    r = S.submit_batch(ctx, trades(), broker=b, quotes=fresh_quotes())
    assert r.unknown == 1 and r.exit_code == 1
    bad = r.orders[r.orders["outcome"] == "unknown"].iloc[0]
    assert bad["status"] == "unknown" and "rerun" in bad["note"]
    log = (tmp_path / "live" / DAY / "execution_log.csv").read_text()
    assert "outcome unknown" in log
    r2 = S.submit_batch(ctx, trades(), broker=b, quotes=fresh_quotes())
    assert r2.exit_code == 0 and r2.unknown == 0 and r2.sent == 1 and r2.already_sent == 2
    assert len(fake.orders) == 3 and len(set(coids_at(fake))) == 3


def test_broker_rejection_is_refused_with_reason(tmp_path, fake):
    ctx = make_ctx(tmp_path, max_concurrency=1)
    b = make_broker(fake)
    fake.inject("reject", status=403, message="asset GOOGL is not tradable")
    r = S.submit_batch(ctx, trades(), broker=b, quotes=fresh_quotes())
    assert r.refused == 1 and r.sent == 2 and r.exit_code == 1
    row = r.orders[r.orders["outcome"] == "refused"].iloc[0]
    assert row["status"] == "rejected" and "not tradable" in row["note"]


def test_partial_fills_and_status(tmp_path):
    with FakeAlpaca(now=T_DAY, fill_modes={"MSFT": 0.4, "AAPL": "fill"}, max_lifetime=60) as fake:
        ctx = make_ctx(tmp_path)
        b = make_broker(fake)
        r = S.submit_batch(ctx, trades(), broker=b, quotes=fresh_quotes())
        msft = r.orders.set_index("symbol").loc["MSFT"]
        assert msft["status"] == "partially_filled" and msft["filled_qty"] == 20
        st = ST.refresh_status(ctx, DAY, b).set_index("symbol")
        assert st.loc["MSFT", "status"] == "partially_filled"
        assert (st.loc["MSFT", "filled_qty"], st.loc["MSFT", "remaining"]) == (20, 30)
        assert "partial fill 20/50" in st.loc["MSFT", "note"]
        assert st.loc["GOOGL", "status"] == "new" and st.loc["GOOGL", "remaining"] == 25
        assert (st.loc["AAPL", "status"], st.loc["AAPL", "remaining"]) == ("filled", 0)
        fake.fill(msft["client_order_id"], 30, 380.45)
        st = ST.refresh_status(ctx, DAY, b).set_index("symbol")
        assert st.loc["MSFT", "status"] == "filled" and st.loc["MSFT", "filled_qty"] == 50
        # avg of 20 @ 380.50 and 30 @ 380.45 = 380.47
        assert st.loc["MSFT", "filled_avg_price"] == pytest.approx(380.47)
        keys = [e.key for e in ctx.journal().events(J.ORDER, DAY) if "MSFT" in e.key]
        assert keys == [f"{msft['client_order_id']}|partially_filled|20", f"{msft['client_order_id']}|filled|50"]


def test_execution_log_slippage_hand_computed(tmp_path, fake):
    ctx = make_ctx(tmp_path)
    b = make_broker(fake)
    r = S.submit_batch(ctx, trades(), broker=b, quotes=fresh_quotes())
    c = r.orders.set_index("symbol")["client_order_id"]
    fake.fill(c["AAPL"], 100, 150.28)  # buy 100 @ limit 150.25 filled 150.28 -> cost $3.00
    fake.fill(c["MSFT"], 20, 380.45)  # sell 50 @ limit 380.50, 20 filled at 380.45 -> cost $1.00
    ST.refresh_status(ctx, DAY, b)
    log = pd.read_csv(tmp_path / "live" / DAY / "execution_log.csv", dtype=str, keep_default_na=False)
    log = log.set_index("symbol")
    assert log.loc["AAPL", "slippage"] == "3.00" and log.loc["AAPL", "fill_price"] == "150.28"
    assert log.loc["AAPL", "notes"] == "Full fill" and log.loc["AAPL", "shares"] == "100"
    assert log.loc["MSFT", "slippage"] == "1.00" and log.loc["MSFT", "notes"].startswith("Partial fill 20/50")
    assert log.loc["GOOGL", "fill_price"] == "" and log.loc["GOOGL", "slippage"] == ""
    # signal = limit in this plan: the limit column says the same; commission unknown until the
    # fills are journaled (reconcile), so empty, never a made-up 0.00; nothing filled paid nothing
    assert log.loc["AAPL", "slippage_vs_limit"] == "3.00" and log.loc["MSFT", "slippage_vs_limit"] == "1.00"
    assert log.loc["AAPL", "commission"] == "" and log.loc["GOOGL", "commission"] == "0.00"
    assert log.loc["AAPL", "order_id"] == r.orders.set_index("symbol").loc["AAPL", "order_id"]


# -- pre-trade limits -----------------------------------------------------------------------


def test_max_order_size_refuses_with_a_note_and_sends_the_rest(tmp_path, fake):
    ctx = make_ctx(tmp_path, max_order_size_usd=10_000.0)
    r = S.submit_batch(ctx, trades(), broker=make_broker(fake), quotes=fresh_quotes())
    o = r.orders.set_index("symbol")
    assert o.loc["AAPL", "status"] == "refused"
    assert o.loc["AAPL", "note"] == "$15,025.00 exceeds max_order_size_usd $10,000.00"
    assert o.loc["MSFT", "status"] == "refused"  # 50 x 380.50 = $19,025
    assert r.refused == 2 and r.sent == 1 and r.exit_code == 1
    assert coids_at(fake) == [o.loc["GOOGL", "client_order_id"]]
    refused = ctx.journal().payloads(J.REFUSED, DAY)
    assert {p["code"] for p in refused} == {"max_order_size"}
    log = (tmp_path / "live" / DAY / "execution_log.csv").read_text()
    assert "Refused: $15,025.00 exceeds max_order_size_usd" in log


def test_price_collar_and_missing_quote_fail_closed(tmp_path, fake):
    ctx = make_ctx(tmp_path, price_collar_pct=0.01)
    q = pd.DataFrame({"symbol": ["AAPL", "MSFT"], "mid": [148.00, 380.60], "timestamp": pd.Timestamp(quote_now())})
    # AAPL 150.25 is 1.52% away
    r = S.submit_batch(ctx, trades(), broker=make_broker(fake), quotes=q)
    o = r.orders.set_index("symbol")
    assert o.loc["AAPL", "note"] == "$150.25 is 1.52% from the quote mid $148.00 (collar 1.0%)"
    assert o.loc["GOOGL", "note"] == "no quote to check the 1.0% price collar against"
    assert o.loc["MSFT", "outcome"] == "sent"
    assert len(fake.orders) == 1


def test_collar_off_needs_no_quotes(tmp_path, fake):
    ctx = make_ctx(tmp_path, price_collar_pct=None)
    r = S.submit_batch(ctx, trades(), broker=make_broker(fake), quotes=None)
    assert r.sent == 3


def test_restricted_list(tmp_path, fake):
    ctx = make_ctx(tmp_path)
    (tmp_path / "live").mkdir(parents=True, exist_ok=True)
    (tmp_path / "live" / "restricted.csv").write_text("symbol,reason\nmsft,insider window\n")
    r = S.submit_batch(ctx, trades(), broker=make_broker(fake), quotes=fresh_quotes())
    assert r.orders.set_index("symbol").loc["MSFT", "note"] == "restricted list: insider window"
    assert r.sent == 2


def test_max_daily_trades_counts_the_whole_day(tmp_path, fake):
    ctx = make_ctx(tmp_path, max_daily_trades=4)
    b = make_broker(fake)
    assert S.submit_batch(ctx, trades(), broker=b, quotes=fresh_quotes()).sent == 3
    second = GUIDE_TRADES.replace("MSFT,sell,50,380.50,19025.00", "MSFT,sell,40,380.50,15220.00")
    second = second.replace("GOOGL,buy,25,142.80,3570.00", "GOOGL,buy,20,142.80,2856.00")
    second = second.replace("AAPL,buy,100,150.25,15025.00", "AMZN,buy,10,224.20,2242.00")
    q = pd.concat(
        [fresh_quotes(), pd.DataFrame({"symbol": ["AMZN"], "mid": [224.10], "timestamp": pd.Timestamp(quote_now())})]
    )
    r = S.submit_batch(ctx, trades(second), broker=b, quotes=q)
    o = r.orders.set_index("symbol")
    # MSFT sell / GOOGL buy are duplicates of the first batch's live orders; AMZN takes the 4th slot
    assert o.loc["AMZN", "outcome"] == "sent"
    assert o.loc["MSFT", "note"].startswith(
        "duplicate: MSFT sell already new today as xlx-2025-10-30-a000001-MSFT-sell-"
    )
    assert o.loc["GOOGL", "note"].startswith("duplicate: GOOGL buy")
    third = GUIDE_TRADES.replace("AAPL,buy,100,150.25,15025.00", "NVDA,buy,10,201.30,2013.00")
    q3 = pd.concat([q, pd.DataFrame({"symbol": ["NVDA"], "mid": [201.30], "timestamp": pd.Timestamp(quote_now())})])
    r3 = S.submit_batch(ctx, trades(third), broker=b, quotes=q3)
    assert r3.orders.set_index("symbol").loc["NVDA", "note"] == "max_daily_trades 4 reached (4 already today)"
    assert len(fake.orders) == 4


def test_buying_power_refuses_buys_or_fits_by_conviction(tmp_path):
    text = GUIDE_TRADES.replace(
        "symbol,side,shares,price,notional,weight_change,commission_est,slippage_est,total_cost_est",
        "symbol,side,shares,price,notional,weight_change,commission_est,slippage_est,total_cost_est,ml_score",
    )
    text = text.replace("4.51\n", "4.51,0.2\n").replace("5.71\n", "5.71,0.5\n").replace("1.07\n", "1.07,0.9\n")
    # buys: AAPL $15,025 (score 0.2), GOOGL $3,570 (0.9); sell MSFT frees $19,025
    with FakeAlpaca(now=T_DAY, buying_power=1_000.0, max_lifetime=60) as fake:
        # budget = 1,000 x 0.95 + 19,025 = 19,975 >= 18,595: all fit
        r = S.submit_batch(make_ctx(tmp_path / "a"), trades(text), broker=make_broker(fake), quotes=fresh_quotes())
        assert r.sent == 3
    with FakeAlpaca(now=T_DAY, buying_power=1_000.0, max_lifetime=60) as fake:
        ctx = make_ctx(tmp_path / "b", max_order_size_usd=16_000.0)  # the MSFT sell is refused by size
        r = S.submit_batch(ctx, trades(text), broker=make_broker(fake), quotes=fresh_quotes())
        o = r.orders.set_index("symbol")
        assert o.loc["AAPL", "note"] == (
            "buys total $18,595.00 > buying power $950.00 after the 5% buffer (use --fit-buying-power)"
        )
        assert o.loc["GOOGL", "outcome"] == "refused" and len(fake.orders) == 0
    with FakeAlpaca(now=T_DAY, buying_power=4_000.0, max_lifetime=60) as fake:
        ctx = make_ctx(tmp_path / "c", max_order_size_usd=16_000.0)
        r = S.submit_batch(ctx, trades(text), broker=make_broker(fake), quotes=fresh_quotes(), fit_buying_power=True)
        o = r.orders.set_index("symbol")
        # budget 3,800: drop AAPL (lowest ml_score) -> GOOGL $3,570 fits
        assert o.loc["AAPL", "note"] == "dropped to fit buying power $3,800.00 (lowest ml_score first)"
        assert o.loc["GOOGL", "outcome"] == "sent"


def test_pretrade_checks_fit_by_weight_change_without_ml_score():
    orders = pd.DataFrame(
        {
            "symbol": ["A", "B", "C"],
            "side": ["buy"] * 3,
            "qty": [10.0] * 3,
            "order_type": ["limit"] * 3,
            "limit_price": [100.0] * 3,
            "price": [100.0] * 3,
            "notional": [1000.0] * 3,
            "weight_change": [0.03, 0.01, 0.02],
            "client_order_id": ["a", "b", "c"],
        }
    )
    out = S.pretrade_checks(
        orders,
        max_order_size_usd=1e9,
        max_daily_trades=100,
        price_collar_pct=None,
        buying_power=2200.0,
        buying_power_buffer=0.05,
        fit_buying_power=True,
    )
    assert list(out["refusal"]) == ["", "buying_power", ""]  # B (smallest |weight_change|) dropped
    assert "lowest |weight_change| first" in out.loc[1, "note"]


# -- guards -----------------------------------------------------------------------------------


def test_kill_switch_header_and_file_refuse_everything(tmp_path, fake):
    ctx = make_ctx(tmp_path)
    b = make_broker(fake)
    with pytest.raises(RefusedError, match="TRIGGERED"):
        S.submit_batch(
            ctx,
            trades(GUIDE_TRADES.replace("Kill Switch: ACTIVE", "Kill Switch: TRIGGERED")),
            broker=b,
            quotes=fresh_quotes(),
        )
    (tmp_path / "live").mkdir(exist_ok=True)
    (tmp_path / "live" / "KILL_SWITCH").write_text("TRIGGERED by test\n")
    with pytest.raises(RefusedError, match=r"\[PAPER · alpaca · 127\.0\.0\.1:\d+\] kill switch"):
        S.submit_batch(ctx, trades(), broker=b, quotes=fresh_quotes())
    assert len(fake.orders) == 0


def test_closed_market_refused_unless_allowed(tmp_path):
    with FakeAlpaca(now=T_DAY, is_open=False, max_lifetime=60) as fake:
        ctx = make_ctx(tmp_path)
        with pytest.raises(RefusedError, match="market is closed"):
            S.submit_batch(ctx, trades(), broker=make_broker(fake), quotes=fresh_quotes())
        assert len(fake.orders) == 0
        r = S.submit_batch(ctx, trades(), broker=make_broker(fake), quotes=fresh_quotes(), allow_closed=True)
        assert r.sent == 3


def test_live_account_needs_live_flag(tmp_path, fake):
    ctx = make_ctx(tmp_path)
    fake.account_number = "612345678"  # a live account (not PA...)
    b = AlpacaBroker(KEY, SECRET, paper=False, base_url=fake.url, timeout=0.4)
    with pytest.raises(RefusedError, match=r"\[LIVE · alpaca .*--live"):
        S.submit_batch(ctx, trades(), broker=b, quotes=fresh_quotes())
    assert len(fake.orders) == 0
    r = S.submit_batch(ctx, trades(), broker=b, quotes=fresh_quotes(), live=True)
    assert r.mode["mode"] == "LIVE" and r.sent == 3


def test_broker_down_before_sending_is_a_broker_error(tmp_path, fake):
    fake.inject("503", method="GET", path="/v2/clock")
    with pytest.raises(BrokerError, match="before sending anything"):
        S.submit_batch(make_ctx(tmp_path), trades(), broker=make_broker(fake), quotes=fresh_quotes())


def test_approval_is_required_and_bound_to_the_orders(tmp_path, fake):
    from xlexec.core.orders import orders_from_trades
    from xlexec.store import approvals

    ctx = make_ctx(tmp_path, require_human_approval=True)
    b = make_broker(fake)
    with pytest.raises(RefusedError, match="no approval"):
        S.submit_batch(ctx, trades(), broker=b, quotes=fresh_quotes())
    approvals.record_approval(
        ctx.live_dir,
        date=DAY,
        orders=orders_from_trades(trades(), date=DAY),
        decision="APPROVED",
        reason="ok",
        approver="tester",
        recommended="APPROVE",
        override=False,
        now=dt.datetime(2025, 10, 30, 13, 0, tzinfo=dt.UTC),
    )
    assert S.submit_batch(ctx, trades(), broker=b, quotes=fresh_quotes()).sent == 3
    changed = GUIDE_TRADES.replace("GOOGL,buy,25,", "GOOGL,buy,26,")
    with pytest.raises(RefusedError, match="no approval"):
        S.submit_batch(ctx, trades(changed), broker=b, quotes=fresh_quotes())


def test_day_lock_held_elsewhere_gives_locked_error(tmp_path, fake):
    ctx = make_ctx(tmp_path)
    with DayLock(ctx.day_dir(DAY), "submit"), pytest.raises(LockedError, match=r"locked by pid \d+"):
        S.submit_batch(ctx, trades(), broker=make_broker(fake), quotes=fresh_quotes())
    assert len(fake.orders) == 0


# -- timeouts, kill switch, P&L -------------------------------------------------------------------


def test_enforce_timeouts_cancels_old_open_orders(tmp_path):
    t0 = dt.datetime(2025, 10, 30, 14, 0, tzinfo=dt.UTC)
    with FakeAlpaca(now=t0, fill_modes={"AAPL": "fill"}, max_lifetime=60) as fake:
        ctx = make_ctx(tmp_path, order_timeout_minutes=30)
        b = make_broker(fake)
        S.submit_batch(ctx, trades(), broker=b, quotes=fresh_quotes())
        assert ST.enforce_timeouts(ctx, DAY, b, t0 + dt.timedelta(minutes=29)).empty
        acts = ST.enforce_timeouts(ctx, DAY, b, t0 + dt.timedelta(minutes=31))
        assert sorted(acts["symbol"]) == ["GOOGL", "MSFT"] and set(acts["action"]) == {"cancel"}
        st = ST.refresh_status(ctx, DAY, b).set_index("symbol")
        assert st.loc["MSFT", "status"] == "canceled" and st.loc["AAPL", "status"] == "filled"
        assert st.loc["MSFT", "remaining"] == 0


def test_cancel_all_kill_switch_and_incident_report(tmp_path, monkeypatch):
    with FakeAlpaca(
        now=T_DAY,
        positions={"MSFT": (100, 300.0)},
        prices={"MSFT": 381.0, "AAPL": 151.0},
        fill_modes={"AAPL": "fill"},
        max_lifetime=60,
    ) as fake:
        ctx = make_ctx(tmp_path)
        ctx.fixed_now = dt.datetime(2025, 10, 30, 14, 30, 5, tzinfo=dt.UTC)  # in-process clock (not XLEXEC_NOW)
        b = make_broker(fake)
        S.submit_batch(ctx, trades(), broker=b, quotes=fresh_quotes(ctx.fixed_now))
        res = KS.cancel_all(ctx, b, "daily loss > 3%", verify_delay=0.01)
        assert res["ok"] and len(res["cancelled"]) == 2
        assert len(fake.requests("DELETE", "/v2/orders")) == 1
        assert (
            (tmp_path / "live" / "KILL_SWITCH").read_text().startswith("TRIGGERED 2025-10-30T14:30:05+00:00 by tester")
        )
        rp = tmp_path / "live" / DAY / "incident_103005.txt"
        assert res["report_path"] == str(rp) and rp.read_text() == res["report"]
        text = res["report"]
        assert "reason: daily loss > 3%" in text and "cancel-all: 2 order(s)" in text
        assert "MSFT" in text and "AAPL" in text and "P&L today:" in text
        assert KEY not in text and SECRET not in text
        assert ctx.journal().events(J.KILL, DAY)[0].payload["ok"] is True
        with pytest.raises(RefusedError, match="KILL_SWITCH"):
            S.submit_batch(ctx, trades(), broker=b, quotes=fresh_quotes())


def test_cancel_all_reports_orders_still_open(tmp_path, monkeypatch):
    with FakeAlpaca(now=T_DAY, sticky_cancel={"GOOGL"}, max_lifetime=60) as fake:
        ctx = make_ctx(tmp_path)
        b = make_broker(fake)
        S.submit_batch(ctx, trades(), broker=b, quotes=fresh_quotes())
        res = KS.cancel_all(ctx, b, "test", verify_attempts=2, verify_delay=0.01)
        assert not res["ok"] and [o["symbol"] for o in res["still_open"]] == ["GOOGL"]
        assert "STILL OPEN after cancel-all: 1" in res["report"]


def test_pnl_today_hand_computed():
    positions = pd.DataFrame(
        {"symbol": ["AAPL", "MSFT", "KO"], "shares": [100.0, 20.0, 50.0], "avg_cost": [140.0, 300.0, 60.0]}
    )
    quotes = pd.DataFrame({"symbol": ["AAPL", "MSFT"], "mid": [151.0, 381.0]})
    fills = pd.DataFrame(
        {
            "symbol": ["AAPL", "MSFT"],
            "side": ["buy", "sell"],
            "shares": [40.0, 30.0],
            "price": [150.0, 382.0],
            "commission": [1.0, 0.5],
        }
    )
    closes = pd.DataFrame({"symbol": ["AAPL", "MSFT"], "close": [148.0, 380.0]})
    out = pnl_today(positions, quotes, fills, closes)
    by = {r["symbol"]: r for r in out["by_symbol"]}
    # AAPL: start 60 @ 148 -> 100 @ 151, bought 40 @ 150, $1 commission:
    #   100*151 - 60*148 - 40*150 - 1 = 15100 - 8880 - 6000 - 1 = 219.00
    assert by["AAPL"]["pnl"] == 219.00 and by["AAPL"]["start_shares"] == 60
    # MSFT: start 50 @ 380 -> 20 @ 381, sold 30 @ 382, $0.50: 7620 - 19000 + 11460 - 0.5 = 79.50
    assert by["MSFT"]["pnl"] == 79.50
    # KO: no quote, no close: its P&L today is unknown (never valued at avg cost), flagged; the
    # day's total is then unknown too, the known symbols make 219.00 + 79.50 = 298.50
    assert by["KO"]["pnl"] is None and by["KO"]["basis"] == "no mark" and out["missing_marks"] == ["KO"]
    assert out["total_pnl"] is None and out["known_pnl"] == 298.50 and out["unknown"] == ["KO"]


def test_works_with_the_paper_broker(tmp_path):
    from xlexec.execution.brokers import paper

    ctx = make_ctx(tmp_path, broker="paper")
    ctx.fixed_now = T_DAY  # the paper broker's session is the context's clock
    q = pd.DataFrame(
        {
            "symbol": ["AAPL", "MSFT", "GOOGL"],
            "bid": [150.0, 380.5, 142.7],
            "ask": [150.2, 380.7, 142.8],
            "last": [150.1, 380.6, 142.75],
            "mid": [150.1, 380.6, 142.75],
            "timestamp": pd.to_datetime([quote_now()] * 3),
        }
    )
    try:
        b = paper.PaperBroker.for_config(
            ctx.config,
            ctx.live_dir,
            quotes=q,
            day=DAY,
            seed_positions=pd.DataFrame({"symbol": ["MSFT"], "shares": [100.0], "avg_cost": [300.0]}),
        )
    except TypeError:
        b = paper.PaperBroker.for_config(ctx.config, ctx.live_dir, quotes=q, day=DAY)
    r = S.submit_batch(ctx, trades(), broker=b, quotes=q, allow_closed=True)
    assert r.mode["broker"] == "paper" and r.unknown == 0, r.orders["note"].tolist()
    r2 = S.submit_batch(ctx, trades(), broker=b, quotes=q, allow_closed=True)
    assert r2.sent == 0 and r2.already_sent == r.sent


def test_cli_submit_json_and_status(tmp_path, fake, monkeypatch, capsys):
    from xlexec.cli.app import main

    monkeypatch.setenv("XLX_TEST_KEY", KEY)
    monkeypatch.setenv("XLX_TEST_SECRET", SECRET)
    cfg = tmp_path / "config.yaml"
    cfg.write_text(f"""live_dir: live
execution:
  broker: alpaca
  require_human_approval: false
  max_order_size_usd: 50000
  rate_limit_per_min: 6000
  alpaca:
    api_key: ${{XLX_TEST_KEY}}
    api_secret: ${{XLX_TEST_SECRET}}
    base_url: {fake.url}
""")
    day_dir = tmp_path / "live" / DAY
    day_dir.mkdir(parents=True)
    (day_dir / "trades.csv").write_text(GUIDE_TRADES)
    t = quote_now()
    (day_dir / "quotes.csv").write_text(
        f"symbol,bid,ask,last,timestamp\nAAPL,150.1,150.3,150.2,{t}\n"
        f"MSFT,380.5,380.7,380.6,{t}\nGOOGL,142.8,143.0,142.9,{t}\n"
    )
    rc = main(["submit", str(day_dir / "trades.csv"), "--config", str(cfg), "--json"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    js = json.loads(out)
    assert js["sent"] == 3 and js["mode"] == "PAPER" and js["exit_code"] == 0
    assert "mode PAPER · alpaca" in err
    rc = main(["status", "--config", str(cfg), "--date", DAY, "--json"])
    out2, err2 = capsys.readouterr()
    assert rc == 0 and len(json.loads(out2)["orders"]) == 3
    rc = main(["submit", str(day_dir / "trades.csv"), "--config", str(cfg)])
    out3, err3 = capsys.readouterr()
    assert rc == 0 and "0 sent, 3 already at the broker" in out3
    everything = out + err + out2 + err2 + out3 + err3
    for p in (tmp_path / "live").rglob("*"):
        if p.is_file():
            everything += p.read_bytes().decode("utf-8", "replace")
    assert KEY not in everything and SECRET not in everything


def test_cli_cancel_all_pnl_and_report(tmp_path, monkeypatch, capsys):
    from xlexec.cli.app import main

    monkeypatch.setenv("XLX_TEST_KEY", KEY)
    monkeypatch.setenv("XLX_TEST_SECRET", SECRET)
    # no XLEXEC_NOW: with a real broker it is refused (the real clock runs)
    with FakeAlpaca(now=T_DAY, positions={"MSFT": (100, 300.0)}, prices={"MSFT": 381.0}, max_lifetime=60) as fake:
        fake.seed_order("manual-1", "AAPL", "buy", 10, 150.0)
        cfg = tmp_path / "config.yaml"
        cfg.write_text(
            f"live_dir: live\nexecution:\n  broker: alpaca\n  alpaca:\n    api_key: ${{XLX_TEST_KEY}}\n"
            f"    api_secret: ${{XLX_TEST_SECRET}}\n    base_url: {fake.url}\n"
        )
        assert main(["pnl", "--date", DAY, "--config", str(cfg), "--json"]) == 0
        pnl = json.loads(capsys.readouterr().out)
        # no closes file: MSFT's P&L today is unknown; 100 x (381 - 300) = 8100 is its gain since
        # purchase, shown as that, never as today's P&L
        assert pnl["total_pnl"] is None and pnl["unknown"] == ["MSFT"] and pnl["day"] == DAY
        (msft,) = pnl["by_symbol"]
        assert msft["pnl"] is None and msft["basis"] == "no previous close"
        assert msft["unrealised_since_purchase"] == 8100.0
        assert main(["kill-switch-report", "--config", str(cfg)]) == 0
        rep = capsys.readouterr().out
        assert "open orders now: 1" in rep and "manual-1" in rep
        assert main(["cancel-all", "--config", str(cfg), "--reason", "test drill"]) == 0
        out = capsys.readouterr().out
        assert "cancel-all: 1 order(s)" in out and (tmp_path / "live" / "KILL_SWITCH").exists()
        assert len(list((tmp_path / "live").glob("*/incident_*.txt"))) == 1
        assert fake.orders[fake.by_coid["manual-1"]]["status"] == "canceled"


def test_nothing_to_send_is_not_an_error(tmp_path, fake):
    text = GUIDE_TRADES.replace("total_cost_est\n", "total_cost_est,include\n")
    text = text.replace("4.51\n", "4.51,no\n").replace("5.71\n", "5.71,no\n").replace("1.07\n", "1.07,no\n")
    r = S.submit_batch(make_ctx(tmp_path), trades(text), broker=make_broker(fake), quotes=fresh_quotes())
    assert len(r.orders) == 0 and r.exit_code == 0 and len(fake.orders) == 0


def test_duplicate_check_uses_fresh_broker_state(tmp_path, fake):
    ctx = make_ctx(tmp_path)
    b = make_broker(fake)
    r = S.submit_batch(ctx, trades(), broker=b, quotes=fresh_quotes())
    b.cancel_order(r.orders.set_index("symbol").loc["GOOGL", "order_id"])  # canceled outside xlexec
    changed = GUIDE_TRADES.replace("GOOGL,buy,25,142.80,3570.00", "GOOGL,buy,20,142.80,2856.00")
    r2 = S.submit_batch(ctx, trades(changed), broker=b, quotes=fresh_quotes())
    o = r2.orders.set_index("symbol")
    assert o.loc["GOOGL", "outcome"] == "sent"  # the old one is canceled: not a duplicate
    assert o.loc["AAPL", "note"].startswith("duplicate: AAPL buy already new today as")
    assert r2.exit_code == 1


def test_a_batch_that_fits_the_brokers_window_goes_out_at_once_without_a_429(tmp_path, monkeypatch):
    """The broker allows 6 requests a minute; a submit of 3 orders makes 6 (the clock, read once,
    the account, the day's orders, 3 orders). The configured pacer (from config, as ``xlexec
    submit`` builds it) sends them back-to-back: seconds, not the 50 s of 6 requests spaced 60/6 s
    apart, and the broker never answers 429."""
    import time

    monkeypatch.setenv("XLX_TEST_KEY", KEY)
    monkeypatch.setenv("XLX_TEST_SECRET", SECRET)
    with FakeAlpaca(now=T_DAY, rate_limit_per_min=6, rate_limit_retry_after=True, max_lifetime=60) as fake:
        alpaca = {"api_key": "${XLX_TEST_KEY}", "api_secret": "${XLX_TEST_SECRET}", "base_url": fake.url}
        ctx = make_ctx(tmp_path, rate_limit_per_min=6, alpaca=alpaca)
        b = AlpacaBroker.from_config(ctx.config)
        t0 = time.perf_counter()
        r = S.submit_batch(ctx, trades(), broker=b, quotes=fresh_quotes())
        took = time.perf_counter() - t0
        assert (r.sent, r.unknown, r.exit_code) == (3, 0, 0)
        assert len(fake.requests()) == 6 and not [x for x in fake.requests() if x.get("status") == 429]
        assert took < 20.0, took
        assert b.stats["retries_429"] == 0


def test_an_order_differs_by_a_number_only_when_both_sides_give_one():
    """One client order id must never stand for two orders: a broker's qty or limit that is not
    a finite number is another order; a side that gives none (None, blank, NaN) is not compared."""
    from xlexec.execution.engine import _differs

    row = {"symbol": "AAPL", "side": "buy", "qty": 10.0, "limit_price": 150.0}
    assert _differs({"symbol": "AAPL", "side": "buy", "qty": "10", "limit_price": "150.00"}, row) == []
    assert _differs({"symbol": "AAPL", "side": "buy", "qty": None, "limit_price": float("nan")}, row) == []
    assert _differs({"symbol": "AAPL", "side": "buy", "qty": "", "limit_price": " "}, row) == []
    assert _differs({"symbol": "AAPL", "side": "buy", "qty": float("inf"), "limit_price": 150.0}, row) == ["qty"]
    assert _differs({"symbol": "AAPL", "side": "buy", "qty": 10, "limit_price": "abc"}, row) == ["limit_price"]
    assert _differs({"symbol": "AAPL", "side": "buy", "qty": 11, "limit_price": 150.01}, row) == ["qty", "limit_price"]
    market = {**row, "limit_price": float("nan")}
    assert _differs({"symbol": "AAPL", "side": "buy", "qty": 10, "limit_price": None}, market) == []
