"""Optional limit chase (off by default): move the limit by chase.step every chase.minutes, up to
chase.max_moves, exactly once per move, on the paper broker and through alpaca-py."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from fake_alpaca import FakeAlpaca  # noqa: E402
from xlexec.config import config_from_dict  # noqa: E402
from xlexec.execution import engine as S  # noqa: E402
from xlexec.execution import status as ST  # noqa: E402
from xlexec.execution.brokers.alpaca import AlpacaBroker  # noqa: E402
from xlexec.execution.brokers.paper import PaperBroker  # noqa: E402
from xlexec.formats.trades import parse_trades_text  # noqa: E402
from xlexec.steps.context import Context  # noqa: E402

DAY = "2025-10-30"
T0 = dt.datetime(2025, 10, 30, 14, 0, tzinfo=dt.UTC)
TRADES = (
    "# Date: 2025-10-30\n"
    "# Kill Switch: ACTIVE\n# Safety Checks: PASSED\n"
    "symbol,side,shares,price,notional,weight_change,commission_est,slippage_est,total_cost_est\n"
    "AAPL,buy,10,150.00,1500.00,0.015,0.15,0.30,0.45\n"
    "MSFT,sell,5,380.00,1900.00,-0.019,0.19,0.38,0.57\n"
)


def ctx_for(tmp_path, broker="paper", **chase) -> Context:
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


def test_chase_helpers():
    assert ST.chase_limit(150.00, "buy", 0.05) == 150.05
    assert ST.chase_limit(380.00, "sell", 0.05) == 379.95
    assert ST.chase_client_order_id("xlx-2025-10-30-AAPL-buy-abc", 2) == "xlx-2025-10-30-AAPL-buy-abc-c2"


def test_off_by_default():
    assert config_from_dict({}).execution.chase.enabled is False


def test_paper_chase_fills_after_two_moves_and_never_twice(tmp_path):
    now = [T0]
    # AAPL ask 150.08: the 150.00 limit rests; +0.05 -> 150.05 rests; +0.05 -> 150.10 crosses
    q = pd.DataFrame(
        {
            "symbol": ["AAPL", "MSFT"],
            "bid": [150.02, 380.10],
            "ask": [150.08, 380.20],
            "last": [150.05, 380.15],
            "mid": [150.05, 380.15],
        }
    )
    ctx = ctx_for(tmp_path)
    seed = pd.DataFrame({"symbol": ["MSFT"], "shares": [5.0], "avg_cost": [300.0]})
    b = PaperBroker(
        tmp_path / "pb.sqlite", quotes=q, day=DAY, slippage_bps=0, now_fn=lambda: now[0], seed_positions=seed
    )
    r = S.submit_batch(ctx, parse_trades_text(TRADES), broker=b, quotes=q, allow_closed=True)
    assert r.exit_code == 0

    def at(minutes):
        now[0] = T0 + dt.timedelta(minutes=minutes)
        return ST.enforce_timeouts(ctx, DAY, b, now[0])

    assert at(10).empty  # too early: nothing moves
    a1 = at(16)
    assert list(a1["action"]) == ["chase"] and "150 -> 150.05" in a1["note"].iloc[0]
    # the replacement is younger than chase.minutes: nothing moves, even when asked again
    assert at(16).empty and at(30).empty
    a2 = at(32)
    assert list(a2["action"]) == ["chase"] and "150.05 -> 150.1" in a2["note"].iloc[0]
    st = ST.refresh_status(ctx, DAY, b).set_index("client_order_id")
    c2 = [c for c in st.index if c.endswith("-c2")][0]
    assert st.loc[c2, "status"] == "filled" and st.loc[c2, "filled_avg_price"] == pytest.approx(150.08)
    assert st.loc[c2.replace("-c2", "-c1"), "status"] == "replaced"
    # one order per client order id at the broker, and the original is replaced, not open
    ids = [o.client_order_id for o in b.list_orders("all")]
    assert len(ids) == len(set(ids)) == 4
    assert b.list_orders("open") == []
    # a chase replacement is not a new trade for max_daily_trades
    r2 = S.submit_batch(ctx, parse_trades_text(TRADES), broker=b, quotes=q, allow_closed=True)
    assert r2.sent == 0 and r2.exit_code == 0


def test_max_moves_caps_the_chase(tmp_path):
    now = [T0]
    q = pd.DataFrame({"symbol": ["AAPL"], "bid": [160.0], "ask": [160.1], "last": [160.0], "mid": [160.05]})
    ctx = ctx_for(tmp_path, max_moves=1)
    b = PaperBroker(tmp_path / "pb.sqlite", quotes=q, day=DAY, now_fn=lambda: now[0])
    S.submit_batch(
        ctx,
        parse_trades_text(TRADES.replace("MSFT,sell,5,380.00,1900.00,-0.019,0.19,0.38,0.57\n", "")),
        broker=b,
        quotes=q,
        allow_closed=True,
    )
    assert list(ST.enforce_timeouts(ctx, DAY, b, T0 + dt.timedelta(minutes=20))["action"]) == ["chase"]
    assert ST.enforce_timeouts(ctx, DAY, b, T0 + dt.timedelta(minutes=59)).empty


def test_alpaca_chase_uses_one_patch_per_move(tmp_path):
    with FakeAlpaca(now=T0, max_lifetime=60) as fake:
        ctx = ctx_for(tmp_path, broker="alpaca", max_moves=2)
        b = AlpacaBroker("PKCHASEKEY000000", "chaseSECRET000000000000", base_url=fake.url, timeout=2)
        S.submit_batch(ctx, parse_trades_text(TRADES), broker=b, quotes=None)
        acts = ST.enforce_timeouts(ctx, DAY, b, T0 + dt.timedelta(minutes=16))
        assert sorted(acts["action"]) == ["chase", "chase"]
        patches = fake.requests("PATCH")
        assert len(patches) == 2
        lims = {o["symbol"]: float(o["limit_price"]) for o in fake.orders.values() if o["status"] == "new"}
        assert lims == {"AAPL": 150.05, "MSFT": 379.95}
        replaced = [o for o in fake.orders.values() if o["status"] == "replaced"]
        assert len(replaced) == 2 and all(o["replaced_by"] for o in replaced)
        coids = [o["client_order_id"] for o in fake.orders.values()]
        assert len(coids) == len(set(coids)) == 4
