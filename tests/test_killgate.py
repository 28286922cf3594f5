"""The kill switch and the one gate right before the wire (issue 15), and exact chase ticks.

Each test reproduces an attack or a failure: orders waiting in the rate limiter when cancel-all
runs, chasing with ``KILL_SWITCH`` present, converting with the kill switch triggered or a
restricted symbol, cancel-all with a ``live/`` that cannot be written, float-floored chase ticks
and a chase fired twice in one period; and shows it refused with nothing reaching the broker.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from conftest import GUIDE_TRADES  # noqa: E402
from fake_alpaca import FakeAlpaca  # noqa: E402
from xlexec.cli.app import main  # noqa: E402
from xlexec.config import config_from_dict  # noqa: E402
from xlexec.errors import GateClosed  # noqa: E402
from xlexec.execution import engine as S  # noqa: E402
from xlexec.execution import killswitch as KS  # noqa: E402
from xlexec.execution import status as ST  # noqa: E402
from xlexec.execution.brokers.alpaca import AlpacaBroker  # noqa: E402
from xlexec.execution.brokers.paper import PaperBroker  # noqa: E402
from xlexec.execution.guards import gated, wire_gate  # noqa: E402
from xlexec.execution.ratelimit import RateLimiter  # noqa: E402
from xlexec.formats.trades import parse_trades_text  # noqa: E402
from xlexec.steps.context import Context  # noqa: E402

KEY, SECRET = "PKKILLGATEKEY000", "killgateSECRET000000000000000"
DAY = "2025-10-30"
T0 = dt.datetime(2025, 10, 30, 14, 0, tzinfo=dt.UTC)
QUOTES = pd.DataFrame({"symbol": ["AAPL", "MSFT", "GOOGL"], "mid": [150.20, 380.60, 142.90]})


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch):
    monkeypatch.setattr(S, "LOOKUP_BACKOFF", (0.02, 0.02))


def make_ctx(tmp_path, **execution) -> Context:
    ex = {
        "require_human_approval": False,
        "broker": "alpaca",
        "max_order_size_usd": 50_000.0,
        "max_concurrency": 1,
        "rate_limit_per_min": 60000,
        "price_collar_pct": None,
        **execution,
    }
    return Context(config_from_dict({"live_dir": str(tmp_path / "live"), "execution": ex}), user="tester")


def posts(fake) -> list[dict]:
    return fake.requests("POST", "/v2/orders")


# ---------------------------------------------------------------------------------------------
# the gate right before the wire


def test_wire_gate_refuses_on_the_file_and_the_header(tmp_path):
    live = tmp_path / "live"
    live.mkdir()
    wire_gate(live, "ACTIVE")  # nothing triggered: passes
    with pytest.raises(GateClosed, match="TRIGGERED"):
        wire_gate(live, "TRIGGERED")
    (live / "KILL_SWITCH").write_text("TRIGGERED 2025-10-30T14:00:00+00:00 by ops: drill\n")
    with pytest.raises(GateClosed, match="KILL_SWITCH"):
        wire_gate(live, "ACTIVE", what="submit x")


def test_orders_waiting_in_the_rate_limiter_when_cancel_all_runs_never_reach_the_broker(tmp_path):
    """Cancel-all runs (another process: its own broker connection) while submit's orders wait in
    the adapter's rate limiter: the first order was at the broker and is cancelled; the ones
    waiting are refused by the gate after their wait; no order request after the cancel-all."""
    ctx = make_ctx(tmp_path)
    with FakeAlpaca(now=T0, max_lifetime=60) as fake:
        ops = AlpacaBroker(KEY, SECRET, base_url=fake.url, timeout=2)
        clock = [0.0]
        killed: list[dict] = []

        def sleep(seconds: float) -> None:  # an order waits for its slot: the operator pulls the switch
            clock[0] += seconds
            if fake.orders and not killed:
                killed.append(KS.cancel_all(ctx, ops, "operator: runaway model", verify_delay=0.01))

        limiter = RateLimiter(60, clock=lambda: clock[0], sleep=sleep)
        b = AlpacaBroker(KEY, SECRET, base_url=fake.url, timeout=2, limiter=limiter)
        res = S.submit_batch(ctx, parse_trades_text(GUIDE_TRADES), broker=b, quotes=QUOTES)
        assert killed and killed[0]["ok"], "the cancel-all ran while orders waited"
        assert len(posts(fake)) == 1, "only the order sent before the cancel-all reached the broker"
        assert [o["status"] for o in fake.orders.values()] == ["canceled"]
        out = res.orders.set_index("symbol")
        assert (res.sent, res.refused, res.exit_code) == (1, 2, 1)
        refused = out[out["outcome"] == "refused"]
        assert len(refused) == 2 and refused["note"].str.contains("kill switch").all()
        assert refused["note"].str.contains("KILL_SWITCH").all()


def test_paper_broker_passes_the_gate_before_each_order_and_replacement(tmp_path):
    live = tmp_path / "live"
    live.mkdir()
    q = pd.DataFrame({"symbol": ["AAPL"], "bid": [150.0], "ask": [150.1], "last": [150.05], "mid": [150.05]})
    b = PaperBroker(tmp_path / "pb.sqlite", quotes=q, day=DAY, now_fn=lambda: T0)
    from xlexec.execution.brokers.base import OrderRequest

    req = OrderRequest("AAPL", "buy", 10, "limit", 149.0, "day", "gate-1")
    with gated(b, live):
        o = b.submit_order(req)
        (live / "KILL_SWITCH").write_text("TRIGGERED now by ops: drill\n")
        with pytest.raises(GateClosed):
            b.submit_order(OrderRequest("AAPL", "buy", 10, "limit", 149.0, "day", "gate-2"))
        with pytest.raises(GateClosed):
            b.replace_order(o.id, limit_price=149.05, client_order_id="gate-1-c1")
    assert [x.client_order_id for x in b.list_orders("all")] == ["gate-1"]
    assert b.gate is None  # uninstalled after the block


# ---------------------------------------------------------------------------------------------
# the chase: kill switch, exact ticks, one move per period


CHASE_TRADES = (
    "# Date: 2025-10-30\n# Kill Switch: ACTIVE\n# Safety Checks: PASSED\n"
    "symbol,side,shares,price,notional,weight_change,commission_est,slippage_est,total_cost_est\n"
    "AAPL,buy,10,150.00,1500.00,0.015,0.15,0.30,0.45\n"
    "MSFT,sell,5,380.00,1900.00,-0.019,0.19,0.38,0.57\n"
)


def chase_ctx(tmp_path, broker="paper", **chase) -> Context:
    ex = {
        "require_human_approval": False,
        "broker": broker,
        "order_timeout_minutes": 120,
        "price_collar_pct": None,
        "rate_limit_per_min": 60000,
        "chase": {"enabled": True, "step": 0.05, "minutes": 15, "max_moves": 3, **chase},
    }
    cfg = config_from_dict({"live_dir": str(tmp_path / "live"), "execution": ex})
    return Context(cfg, user="tester", fixed_now=T0)  # the session (paper broker) is the context's clock


def test_chase_ticks_are_exact():
    # float arithmetic floors these (518.0999... -> 518.09, 100.1499... -> 100.14)
    assert ST.chase_limit(518.05, "buy", 0.05) == 518.10
    assert ST.chase_limit(100.10, "buy", 0.05) == 100.15
    assert ST.chase_limit(518.10, "sell", 0.05) == 518.05
    assert ST.chase_limit(100.15, "sell", 0.05) == 100.10
    assert ST.chase_limit(0.5012, "buy", 0.0001) == 0.5013
    for cents in range(100, 200_000, 7):
        p = cents / 100
        assert ST.chase_limit(p, "buy", 0.05) == (cents + 5) / 100, p
        assert ST.chase_limit(p, "sell", 0.05) == (cents - 5) / 100, p
    # a step off the tick is rounded to it without more than the step: buys down, sells up
    assert ST.chase_limit(100.00, "buy", 0.055) == 100.05
    assert ST.chase_limit(100.00, "sell", 0.055) == 99.95


def test_enforce_timeouts_does_not_chase_while_the_kill_switch_exists_but_still_cancels(tmp_path):
    now = [T0]
    q = pd.DataFrame(
        {"symbol": ["AAPL", "MSFT"], "bid": [150.02, 380.10], "ask": [150.08, 380.20], "mid": [150.05, 380.15]}
    )
    ctx = chase_ctx(tmp_path)
    seed = pd.DataFrame({"symbol": ["MSFT"], "shares": [5.0], "avg_cost": [300.0]})
    b = PaperBroker(tmp_path / "pb.sqlite", quotes=q, day=DAY, now_fn=lambda: now[0], seed_positions=seed)
    resting = CHASE_TRADES.replace("MSFT,sell,5,380.00", "MSFT,sell,5,381.00")  # both limits rest
    assert S.submit_batch(ctx, parse_trades_text(resting), broker=b, quotes=q, allow_closed=True).exit_code == 0
    assert len(b.list_orders("open")) == 2
    (tmp_path / "live" / "KILL_SWITCH").write_text("TRIGGERED 2025-10-30T14:10:00+00:00 by ops: drill\n")
    now[0] = T0 + dt.timedelta(minutes=16)
    acts = ST.enforce_timeouts(ctx, DAY, b, now[0])
    assert list(acts["action"]) == ["chase_refused", "chase_refused"]
    assert acts["note"].str.contains("kill switch").all()
    assert len(b.list_orders("all")) == 2, "no replacement reached the broker"
    assert not [p for p in ctx.journal().payloads("INTENT", DAY) if p.get("chase_of")]
    # the timeout still cancels with the kill switch present
    now[0] = T0 + dt.timedelta(minutes=121)
    acts = ST.enforce_timeouts(ctx, DAY, b, now[0])
    assert sorted(acts["action"]) == ["cancel", "cancel"]
    assert b.list_orders("open") == []


def test_cli_status_enforce_timeouts_does_not_chase_with_kill_switch(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("XLEXEC_NOW", "2025-10-30T14:00:00+00:00")
    cfg = tmp_path / "config.yaml"
    cfg.write_text(
        "live_dir: live\nexecution:\n  require_human_approval: false\n  price_collar_pct: null\n"
        "  order_timeout_minutes: 120\n  chase:\n    enabled: true\n    step: 0.05\n    minutes: 15\n"
    )
    day = tmp_path / "live" / DAY
    day.mkdir(parents=True)
    (day / "trades.csv").write_text(CHASE_TRADES.replace("MSFT,sell", "MSFT,buy").replace("380.00", "300.00"))
    (day / "quotes.csv").write_text(
        "symbol,bid,ask,last,timestamp\nAAPL,150.50,150.60,150.55,2025-10-30T09:59:00-04:00\n"
        "MSFT,380.10,380.20,380.15,2025-10-30T09:59:00-04:00\n"
    )
    rc = main(["submit", str(day / "trades.csv"), "--allow-closed", "--config", str(cfg)])
    capsys.readouterr()
    assert rc == 0
    (tmp_path / "live" / "KILL_SWITCH").write_text("TRIGGERED 2025-10-30T14:05:00+00:00 by ops: drill\n")
    monkeypatch.setenv("XLEXEC_NOW", "2025-10-30T14:20:00+00:00")
    rc = main(["status", "--enforce-timeouts", "--config", str(cfg)])
    cap = capsys.readouterr()
    assert cap.out.count("chase_refused: kill switch") == 2
    b = PaperBroker(tmp_path / "live" / "paper_broker.sqlite", day=DAY)
    assert len(b.list_orders("all")) == 2 and len(b.list_orders("open")) == 2, "no replacement sent"
    # a refused chase is a refusal: exit 1 and one line on stderr naming the rule
    errs = [ln for ln in cap.err.splitlines() if "error:" in ln]
    assert rc == 1 and len(errs) == 1 and "chase refused for 2 order(s): kill switch" in errs[0], cap.err


def test_a_rerun_never_fires_a_second_move_in_one_period_whatever_the_broker_stamps(tmp_path):
    """The fake Alpaca's clock stands still at T0: every replacement is stamped T0. Asked again in
    the same period, the chase must not fire the next move (the journal knows when it moved)."""
    with FakeAlpaca(now=T0, max_lifetime=60) as fake:
        ctx = chase_ctx(tmp_path, broker="alpaca", max_moves=3)
        b = AlpacaBroker(KEY, SECRET, base_url=fake.url, timeout=2)
        S.submit_batch(ctx, parse_trades_text(CHASE_TRADES), broker=b, quotes=None)
        t1 = T0 + dt.timedelta(minutes=16)
        assert sorted(ST.enforce_timeouts(ctx, DAY, b, t1)["action"]) == ["chase", "chase"]
        assert ST.enforce_timeouts(ctx, DAY, b, t1).empty
        assert ST.enforce_timeouts(ctx, DAY, b, t1 + dt.timedelta(minutes=10)).empty
        assert len(fake.requests("PATCH")) == 2
        # a clock jump of hours still fires one move per order per call
        jump = T0 + dt.timedelta(minutes=100)
        assert sorted(ST.enforce_timeouts(ctx, DAY, b, jump)["action"]) == ["chase", "chase"]
        assert ST.enforce_timeouts(ctx, DAY, b, jump).empty
        assert len(fake.requests("PATCH")) == 4
        lims = {o["symbol"]: float(o["limit_price"]) for o in fake.orders.values() if o["status"] == "new"}
        assert lims == {"AAPL": 150.10, "MSFT": 379.90}


def test_moves_due_follow_the_periods_since_the_root_order():
    assert ST.chase_moves_due(14.9, 15, 3) == 0
    assert ST.chase_moves_due(15, 15, 3) == 1
    assert ST.chase_moves_due(31, 15, 3) == 2
    assert ST.chase_moves_due(600, 15, 3) == 3
    assert ST.chase_moves_due(-5, 15, 3) == 0


# ---------------------------------------------------------------------------------------------
# convert


def _convert_setup(tmp_path, header_kill: str = "ACTIVE"):
    live = tmp_path / "live"
    day = live / DAY
    day.mkdir(parents=True)
    trades = day / "trades.csv"
    trades.write_text(GUIDE_TRADES.replace("Kill Switch: ACTIVE", f"Kill Switch: {header_kill}"))
    cfg = tmp_path / "config.yaml"
    cfg.write_text("live_dir: live\nexecution:\n  require_human_approval: false\n")
    return live, trades, cfg


@pytest.mark.parametrize("draft", [False, True])
def test_cli_convert_refused_while_the_kill_switch_file_exists(tmp_path, monkeypatch, capsys, draft):
    monkeypatch.setenv("XLEXEC_NOW", "2025-10-30T13:00:00Z")
    live, trades, cfg = _convert_setup(tmp_path)
    (live / "KILL_SWITCH").write_text("TRIGGERED 2025-10-30T12:59:00+00:00 by ops: drill\n")
    argv = ["convert", str(trades), "--broker", "ibkr", "--config", str(cfg)] + (["--draft"] if draft else [])
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "kill switch" in err and "KILL_SWITCH" in err
    assert not [p.name for p in trades.parent.iterdir() if p.name.startswith("trades_ibkr")]


def test_cli_convert_refused_with_the_header_kill_switch_triggered(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("XLEXEC_NOW", "2025-10-30T13:00:00Z")
    _live, trades, cfg = _convert_setup(tmp_path, header_kill="TRIGGERED")
    assert main(["convert", str(trades), "--broker", "ibkr", "--config", str(cfg)]) == 1
    assert "kill switch" in capsys.readouterr().err
    assert not (trades.parent / "trades_ibkr.csv").exists()


def test_cli_convert_refuses_a_restricted_symbol(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("XLEXEC_NOW", "2025-10-30T13:00:00Z")
    live, trades, cfg = _convert_setup(tmp_path)
    (live / "restricted.csv").write_text("symbol,reason\nMSFT,insider window\n")
    assert main(["convert", str(trades), "--broker", "ibkr", "--config", str(cfg)]) == 1
    err = capsys.readouterr().err
    assert "restricted" in err and "MSFT" in err and "insider window" in err
    assert not (trades.parent / "trades_ibkr.csv").exists()
    # without the restricted symbol the same file converts
    (live / "restricted.csv").write_text("symbol,reason\nTSLA,insider window\n")
    assert main(["convert", str(trades), "--broker", "ibkr", "--config", str(cfg)]) == 0
    assert (trades.parent / "trades_ibkr.csv").exists()


# ---------------------------------------------------------------------------------------------
# cancel-all


def _alpaca_cfg(tmp_path, fake, live_dir: str = "live") -> Path:
    cfg = tmp_path / "config.yaml"
    cfg.write_text(
        f"live_dir: {live_dir}\nexecution:\n  broker: alpaca\n  alpaca:\n    api_key: ${{XLX_TEST_KEY}}\n"
        f"    api_secret: ${{XLX_TEST_SECRET}}\n    base_url: {fake.url}\n"
    )
    return cfg


def test_cli_cancel_all_still_cancels_when_live_cannot_be_written(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("XLX_TEST_KEY", KEY)
    monkeypatch.setenv("XLX_TEST_SECRET", SECRET)
    (tmp_path / "blocked").write_text("a file where live/'s parent folder should be: nothing can be written\n")
    with FakeAlpaca(now=T0, max_lifetime=60) as fake:
        for i, sym in enumerate(["AAPL", "MSFT", "GOOGL"]):
            fake.seed_order(f"manual-{i}", sym, "buy", 10, 100.0)
        cfg = _alpaca_cfg(tmp_path, fake, live_dir="blocked/live")
        rc = main(["cancel-all", "--config", str(cfg), "--reason", "drill"])
        out, err = capsys.readouterr()
        assert rc == 1
        assert all(o["status"] == "canceled" for o in fake.orders.values()) and len(fake.orders) == 3
        lines = [x for x in err.splitlines() if "NOT RECORDED" in x]
        assert len(lines) == 1 and "3 order(s) cancelled at the broker" in lines[0]
        assert "cannot be written" in lines[0] and "KILL_SWITCH" in lines[0]
        assert "internal error" not in (out + err).lower() and "Traceback" not in out + err


def test_cancel_all_cancels_first_then_records(tmp_path, monkeypatch):
    """The broker sees the cancel before ``live/KILL_SWITCH`` exists (a write that fails cannot
    stop it), and the file exists before the verification listing."""
    ctx = make_ctx(tmp_path)
    ctx.fixed_now = dt.datetime.fromisoformat("2025-10-30T14:30:05+00:00")  # in-process clock (real broker)
    ks = tmp_path / "live" / "KILL_SWITCH"
    with FakeAlpaca(now=T0, max_lifetime=60) as fake:
        fake.seed_order("manual-1", "AAPL", "buy", 10, 150.0)
        b = AlpacaBroker(KEY, SECRET, base_url=fake.url, timeout=2)
        seen = []
        real_cancel, real_list = b.cancel_all, b.list_orders

        def cancel():
            seen.append(("cancel", ks.exists()))
            return real_cancel()

        def listing(status="all", after=None):
            seen.append(("list", ks.exists()))
            return real_list(status, after)

        monkeypatch.setattr(b, "cancel_all", cancel)
        monkeypatch.setattr(b, "list_orders", listing)
        res = KS.cancel_all(ctx, b, "drill", verify_delay=0.01)
        assert res["ok"] and seen[:2] == [("cancel", False), ("list", True)]


def test_cancel_all_repeats_until_nothing_is_open(tmp_path, monkeypatch):
    ctx = make_ctx(tmp_path)
    ctx.fixed_now = dt.datetime.fromisoformat("2025-10-30T14:30:05+00:00")  # in-process clock (real broker)
    with FakeAlpaca(now=T0, sticky_cancel={"GOOGL"}, max_lifetime=60) as fake:
        b = AlpacaBroker(KEY, SECRET, base_url=fake.url, timeout=2)
        S.submit_batch(ctx, parse_trades_text(GUIDE_TRADES), broker=b, quotes=QUOTES)
        res = KS.cancel_all(ctx, b, "drill", verify_attempts=3, verify_delay=0.01)
        assert len(fake.requests("DELETE", "/v2/orders")) == 3, "cancel-all sent again while orders stay open"
        assert not res["ok"] and [o["symbol"] for o in res["still_open"]] == ["GOOGL"]


def test_second_cancel_all_keeps_the_first_trigger_time(tmp_path, monkeypatch):
    ctx = make_ctx(tmp_path)
    ks = tmp_path / "live" / "KILL_SWITCH"
    with FakeAlpaca(now=T0, max_lifetime=60) as fake:
        b = AlpacaBroker(KEY, SECRET, base_url=fake.url, timeout=2)
        ctx.fixed_now = dt.datetime.fromisoformat("2025-10-30T14:30:05+00:00")
        assert KS.cancel_all(ctx, b, "first", verify_delay=0.01)["ok"]
        ctx.fixed_now = dt.datetime.fromisoformat("2025-10-30T15:45:00+00:00")
        assert KS.cancel_all(ctx, b, "second", verify_delay=0.01)["ok"]
    lines = ks.read_text().splitlines()
    assert lines[0] == "TRIGGERED 2025-10-30T14:30:05+00:00 by tester: first"
    assert lines[1] == "again 2025-10-30T15:45:00+00:00 by tester: second"


# ---------------------------------------------------------------------------------------------
# the workbook's buttons run the same steps: the same gate


def test_buttons_convert_and_submit_refused_with_the_kill_switch(tmp_path):
    from xlexec.config import load_config
    from xlexec.demo import sample
    from xlexec.demo.run import write_demo_config
    from xlexec.excel.build import build_workbook
    from xlexec.excel.buttons import run_button

    s = sample.make_day(DAY)
    cfg = write_demo_config(tmp_path, s.cash, None)
    sample.write_day(s, tmp_path / "live")
    book = tmp_path / "wb.xlsm"
    build_workbook(book)

    def press(name, **kw):
        ctx = Context(
            load_config(cfg, cwd=cfg.parent), "demo", fixed_now=dt.datetime(2025, 10, 30, 13, 40, tzinfo=dt.UTC)
        )
        try:
            return run_button(name, book, ctx=ctx, **kw)
        finally:
            ctx.close()

    assert press("load_trades", day=DAY).ok
    assert press("approve", set_inputs={"approver": "risk", "reason": "checked"}).ok
    (tmp_path / "live" / "KILL_SWITCH").write_text("TRIGGERED 2025-10-30T13:35:00+00:00 by ops: drill\n")
    res = press("convert")
    assert res.result == "refused" and "kill switch" in res.message, res.message
    assert not list((tmp_path / "live" / DAY).glob("trades_ibkr*"))
    res = press("submit")
    assert res.result == "refused" and "KILL_SWITCH" in res.message, res.message
    paper = tmp_path / "live" / "paper_broker.sqlite"
    assert not paper.exists() or PaperBroker(paper, day=DAY).list_orders("all") == []
