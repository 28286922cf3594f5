"""The built-in paper broker keeps NYSE session hours (09:30 .. 16:00 New York, 13:00 on half
days, none on weekends and holidays).

Attack: with the clock at 17:00 New York (or 13:30 on the half day after Thanksgiving) the paper
broker reported the market open and filled at once, timestamping fills after the close. Now its
clock says closed outside the session, so ``xlexec submit`` is refused (nothing reaches the
broker) unless ``--allow-closed``; an order then accepted never fills after the close, and DAY
orders still open at the close are ``expired`` by the first read of any kind after it.

The CLI runs as a subprocess from a temporary folder (absolute ``--config``, ``XLEXEC_NOW``
pinned); the broker's own state (``live/paper_broker.sqlite``) is read with plain SQLite. Every
expected time and status below is written by hand.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from tests import cli_fork
from tests.reliability import controls as C
from xlexec.execution.brokers.base import OrderRequest
from xlexec.execution.brokers.paper import PaperBroker

REPO = Path(__file__).resolve().parents[2]
NY = ZoneInfo("America/New_York")
DAY = "2025-10-30"  # a Thursday; New York is on EDT (UTC-4)
HALF = "2026-11-27"  # the day after Thanksgiving: the NYSE closes at 13:00; EST (UTC-5)
HEAD = "symbol,side,shares,price,notional,weight_change,commission_est,slippage_est,total_cost_est\n"


def ny(day: str, hh: int, mm: int, ss: int = 0) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hh, mm, ss), NY).astimezone(dt.UTC)


# ------------------------------------------------------------------------------ the CLI


def setup_day(root: Path, day: str, *, ask_size: int | None = None) -> tuple[Path, Path]:
    """A paper account under ``root/live``: one buy of 10 AAPL at a 100.50 limit (the ask is
    100.00, so it is marketable: fills at 100.02 = 100.00 x 1.0002)."""
    live = root / "live"
    (live / day).mkdir(parents=True)
    cfg = root / "config.yaml"
    cfg.write_text(
        f"live_dir: {json.dumps(str(live))}\nuser: ops\n"
        "execution:\n  broker: paper\n  require_human_approval: false\n  price_collar_pct: null\n"
    )
    trades = live / day / "trades.csv"
    trades.write_text(
        f"# Date: {day}\n# Total Trades: 1\n# Portfolio Value: $100,000.00\n"
        "# Kill Switch: ACTIVE\n# Safety Checks: PASSED\n" + HEAD + "AAPL,buy,10,100.50,1005.00,0.01,0.10,0.20,0.30\n"
    )
    size = "" if ask_size is None else ",ask_size,bid_size"
    vals = "" if ask_size is None else f",{ask_size},1000"
    (live / day / "quotes.csv").write_text(
        f"symbol,bid,ask,last,timestamp{size}\nAAPL,99.90,100.00,99.95,{day}T13:00:00Z{vals}\n"
    )
    (live / "current_positions.csv").write_text("symbol,shares,avg_cost\nMSFT,10,190\n")
    return cfg, trades


def xlexec(args: list[str], now: dt.datetime, cwd: Path) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("XLEXEC_NOW", "XLEXEC_CRASH_AT")}
    env["XLEXEC_NOW"] = now.isoformat()
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    p = cli_fork.run(
        [sys.executable, "-m", "xlexec", *args], cwd=str(cwd), env=env, capture_output=True, text=True, timeout=120
    )
    return p.returncode, p.stdout, p.stderr


def submit(cfg: Path, trades: Path, now: dt.datetime, root: Path, *extra: str) -> tuple[int, str, str]:
    return xlexec(["submit", str(trades), *extra, "--json", "--config", str(cfg)], now, root)


def fill_rows(fills: list[dict]) -> list[tuple]:
    return [(f["transaction_time"], f["qty"], f["price"]) for f in fills]


def broker_state(root: Path) -> tuple[list[dict], list[dict]]:
    """(orders, fills) as the paper broker stored them (no xlexec code involved)."""
    db = root / "live" / "paper_broker.sqlite"
    if not db.exists():
        return [], []
    con = sqlite3.connect(db)
    try:
        orders = [json.loads(b) for (b,) in con.execute("SELECT body FROM orders ORDER BY seq")]
        fills = [json.loads(b) for (b,) in con.execute("SELECT body FROM fills ORDER BY rowid")]
    finally:
        con.close()
    return orders, fills


def record(attack: str, rc: int, out: str, err: str, root: Path, says: str) -> None:
    """A row of the controls table; the orders counted in the paper broker's own database."""
    p = subprocess.CompletedProcess([], rc, out, err)
    C.record(attack, p, len(broker_state(root)[0]), refused=C.refused(p, says))


def error_lines(err: str) -> list[str]:
    return [ln for ln in err.splitlines() if ln.strip() and not ln.startswith("xlexec submit: mode ")]


def test_cli_submit_at_17_00_is_refused_and_nothing_reaches_the_broker(tmp_path):
    cfg, trades = setup_day(tmp_path, DAY)
    rc, out, err = xlexec(["submit", str(trades), "--config", str(cfg)], ny(DAY, 17, 0), tmp_path)
    record("paper broker: submit at 17:00 New York", rc, out, err, tmp_path, "the market is closed")
    assert rc == 1
    assert error_lines(err) == [
        "xlexec submit: error: [PAPER · paper · local] the market is closed (next open 2025-10-31T13:30:00+00:00); "
        "pass --allow-closed to queue DAY orders anyway; nothing sent"
    ]
    assert broker_state(tmp_path) == ([], [])


def test_cli_allowed_after_the_close_is_accepted_never_fills_and_reads_expired(tmp_path):
    cfg, trades = setup_day(tmp_path, DAY)
    rc, out, err = submit(cfg, trades, ny(DAY, 17, 0), tmp_path, "--allow-closed")
    assert rc == 0, err
    (o,) = json.loads(out)["orders"]
    assert (o["status"], o["filled_qty"]) == ("accepted", 0.0)

    rc, out, err = xlexec(["status", "--date", DAY, "--json", "--config", str(cfg)], ny(DAY, 17, 5), tmp_path)
    assert rc == 0, err
    (s,) = json.loads(out)["orders"]
    assert (s["status"], s["filled_qty"], s["submitted_at"]) == ("expired", 0.0, "2025-10-30T21:00:00+00:00")
    orders, fills = broker_state(tmp_path)
    assert [x["status"] for x in orders] == ["expired"] and fills == []
    # a rerun the next morning (the session of 2025-10-30 is long over) changes nothing
    rc, out, err = xlexec(["status", "--date", DAY, "--json", "--config", str(cfg)], ny("2025-10-31", 10, 0), tmp_path)
    assert [x["status"] for x in json.loads(out)["orders"]] == ["expired"]
    assert broker_state(tmp_path)[1] == []


def test_cli_half_day_13_30_is_closed(tmp_path):
    cfg, trades = setup_day(tmp_path, HALF)
    rc, out, err = xlexec(["submit", str(trades), "--config", str(cfg)], ny(HALF, 13, 30), tmp_path)
    record("paper broker: submit at 13:30 on a half day", rc, out, err, tmp_path, "the market is closed")
    assert rc == 1
    assert error_lines(err) == [
        "xlexec submit: error: [PAPER · paper · local] the market is closed (next open 2026-11-30T14:30:00+00:00); "
        "pass --allow-closed to queue DAY orders anyway; nothing sent"
    ]
    assert broker_state(tmp_path) == ([], [])
    rc, out, err = submit(cfg, trades, ny(HALF, 13, 30), tmp_path, "--allow-closed")
    assert rc == 0, err
    rc, out, err = xlexec(["status", "--date", HALF, "--json", "--config", str(cfg)], ny(HALF, 13, 31), tmp_path)
    assert [(x["status"], x["filled_qty"]) for x in json.loads(out)["orders"]] == [("expired", 0.0)]
    assert broker_state(tmp_path)[1] == []


def test_cli_half_day_12_59_still_fills(tmp_path):
    cfg, trades = setup_day(tmp_path, HALF)
    rc, out, err = xlexec(["submit", str(trades), "--json", "--config", str(cfg)], ny(HALF, 12, 59), tmp_path)
    assert rc == 0, err
    assert [(x["status"], x["filled_qty"]) for x in json.loads(out)["orders"]] == [("filled", 10.0)]
    _, fills = broker_state(tmp_path)
    assert fill_rows(fills) == [("2026-11-27T17:59:00+00:00", 10.0, 100.02)]


def test_cli_order_at_10_00_fills_at_10_00(tmp_path):
    cfg, trades = setup_day(tmp_path, DAY)
    rc, out, err = xlexec(["submit", str(trades), "--json", "--config", str(cfg)], ny(DAY, 10, 0), tmp_path)
    assert rc == 0, err
    assert [(x["status"], x["filled_qty"]) for x in json.loads(out)["orders"]] == [("filled", 10.0)]
    _, fills = broker_state(tmp_path)
    assert fill_rows(fills) == [("2025-10-30T14:00:00+00:00", 10.0, 100.02)]


def test_cli_day_order_open_at_15_59_is_expired_by_a_fills_read_at_16_01(tmp_path):
    # 4 shares displayed at the ask: 4 of 10 fill at 15:59, 6 rest
    cfg, trades = setup_day(tmp_path, DAY, ask_size=4)
    rc, out, err = xlexec(["submit", str(trades), "--json", "--config", str(cfg)], ny(DAY, 15, 59), tmp_path)
    assert rc == 0, err
    assert [(x["status"], x["filled_qty"]) for x in json.loads(out)["orders"]] == [("partially_filled", 4.0)]

    # the first look after the close is a fills download, not a status call
    rc, out, err = xlexec(["import-fills", "--date", DAY, "--config", str(cfg)], ny(DAY, 16, 1), tmp_path)
    assert rc == 0, err
    got = pd.read_csv(tmp_path / "live" / DAY / "broker_fills.csv", comment="#")
    assert got[["shares", "fill_time"]].values.tolist() == [[4, "2025-10-30T19:59:00+00:00"]]
    orders, fills = broker_state(tmp_path)
    assert [(x["status"], x["filled_qty"], x["updated_at"]) for x in orders] == [
        ("expired", 4.0, "2025-10-30T20:00:00+00:00")
    ]
    assert [(f["transaction_time"], f["qty"]) for f in fills] == [("2025-10-30T19:59:00+00:00", 4.0)]

    rc, out, err = xlexec(["status", "--date", DAY, "--json", "--config", str(cfg)], ny(DAY, 16, 2), tmp_path)
    assert [(x["status"], x["filled_qty"]) for x in json.loads(out)["orders"]] == [("expired", 4.0)]


def test_cli_before_the_open_is_refused_or_queued_for_the_open(tmp_path):
    cfg, trades = setup_day(tmp_path, DAY)
    rc, out, err = xlexec(["submit", str(trades), "--config", str(cfg)], ny(DAY, 9, 0), tmp_path)
    record("paper broker: submit at 09:00 New York, before the open", rc, out, err, tmp_path, "the market is closed")
    assert rc == 1 and "the market is closed (next open 2025-10-30T13:30:00+00:00)" in err
    assert broker_state(tmp_path) == ([], [])

    rc, out, err = submit(cfg, trades, ny(DAY, 9, 0), tmp_path, "--allow-closed")
    assert rc == 0, err
    assert [(x["status"], x["filled_qty"]) for x in json.loads(out)["orders"]] == [("accepted", 0.0)]
    rc, out, err = xlexec(["status", "--date", DAY, "--json", "--config", str(cfg)], ny(DAY, 9, 29, 59), tmp_path)
    assert [(x["status"], x["filled_qty"]) for x in json.loads(out)["orders"]] == [("accepted", 0.0)]
    assert broker_state(tmp_path)[1] == []
    # first look after the open (at 11:00): filled at the open, not when looked at
    rc, out, err = xlexec(["status", "--date", DAY, "--json", "--config", str(cfg)], ny(DAY, 11, 0), tmp_path)
    assert [(x["status"], x["filled_qty"]) for x in json.loads(out)["orders"]] == [("filled", 10.0)]
    _, fills = broker_state(tmp_path)
    assert fill_rows(fills) == [("2025-10-30T13:30:00+00:00", 10.0, 100.02)]


# ------------------------------------------------------------------- the broker directly


def quotes(ask_size: float = 1000.0) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "symbol": ["AAPL"],
            "bid": [99.90],
            "ask": [100.00],
            "last": [99.95],
            "mid": [99.95],
            "ask_size": [ask_size],
            "bid_size": [1000.0],
        }
    )


class Clock:
    def __init__(self, t: dt.datetime):
        self.t = t

    def __call__(self) -> dt.datetime:
        return self.t


def paper(tmp_path, day: str, clock: Clock, *, with_quotes: bool = True, ask_size: float = 1000.0, name="pb.sqlite"):
    return PaperBroker(
        tmp_path / name,
        quotes=quotes(ask_size) if with_quotes else None,
        day=day,
        commission_bps=1,
        slippage_bps=2,
        starting_cash=10_000,
        now_fn=clock,
    )


BUY = OrderRequest("AAPL", "buy", 10, "limit", 100.50, client_order_id="c1")


@pytest.mark.parametrize(
    ("day", "at", "is_open", "next_open", "next_close"),
    [
        (DAY, (9, 29, 59), False, "2025-10-30T13:30:00+00:00", "2025-10-30T20:00:00+00:00"),
        (DAY, (9, 30, 0), True, "2025-10-31T13:30:00+00:00", "2025-10-30T20:00:00+00:00"),
        (DAY, (15, 59, 59), True, "2025-10-31T13:30:00+00:00", "2025-10-30T20:00:00+00:00"),
        (DAY, (16, 0, 0), False, "2025-10-31T13:30:00+00:00", "2025-10-31T20:00:00+00:00"),
        (DAY, (17, 0, 0), False, "2025-10-31T13:30:00+00:00", "2025-10-31T20:00:00+00:00"),
        (HALF, (12, 59, 59), True, "2026-11-30T14:30:00+00:00", "2026-11-27T18:00:00+00:00"),
        (HALF, (13, 0, 0), False, "2026-11-30T14:30:00+00:00", "2026-11-30T21:00:00+00:00"),
        ("2025-11-01", (11, 0, 0), False, "2025-11-03T14:30:00+00:00", "2025-11-03T21:00:00+00:00"),  # Saturday
        ("2025-12-25", (11, 0, 0), False, "2025-12-26T14:30:00+00:00", "2025-12-26T21:00:00+00:00"),  # Christmas
    ],
)
def test_clock_follows_the_session(tmp_path, day, at, is_open, next_open, next_close):
    c = paper(tmp_path, day, Clock(ny(day, *at))).clock()
    assert (c.is_open, c.next_open, c.next_close) == (is_open, next_open, next_close)
    assert c.timestamp == ny(day, *at).isoformat()


@pytest.mark.parametrize(
    ("day", "at"),
    [(DAY, (16, 0)), (DAY, (17, 0)), (HALF, (13, 30)), ("2025-11-01", (11, 0)), ("2025-12-25", (11, 0))],
)
def test_outside_the_session_nothing_ever_fills(tmp_path, day, at):
    clock = Clock(ny(day, *at))
    b = paper(tmp_path, day, clock)
    o = b.submit_order(BUY)
    assert (o.status, o.filled_qty) == ("accepted", 0.0)
    assert b.fills(day) == [] and b.positions() == []
    clock.t = ny("2026-12-31", 12, 0)  # long after: still never filled
    assert (b.get_order(o.id).status, b.get_order(o.id).filled_qty) == ("expired", 0.0)
    assert b.fills(day) == [] and b.positions() == [] and b.account().cash == 10_000


def test_in_session_fills_at_the_clock(tmp_path):
    b = paper(tmp_path, DAY, Clock(ny(DAY, 10, 0)))
    o = b.submit_order(BUY)
    assert (o.status, o.filled_qty, o.filled_avg_price) == ("filled", 10.0, 100.02)
    assert [(f.transaction_time, f.qty) for f in b.fills(DAY)] == [("2025-10-30T14:00:00+00:00", 10.0)]


def test_before_the_open_fills_at_the_open_with_the_quote_it_was_accepted_with(tmp_path):
    clock = Clock(ny(DAY, 8, 0))
    b = paper(tmp_path, DAY, clock)
    o = b.submit_order(BUY)
    assert o.status == "accepted"
    clock.t = ny(DAY, 9, 29, 59)
    assert b.get_order(o.id).status == "accepted" and b.fills(DAY) == []
    # the next look is by another process with no quotes at all, at 14:00
    b.close()
    other = paper(tmp_path, DAY, Clock(ny(DAY, 14, 0)), with_quotes=False)
    got = other.get_order(o.id)
    assert (got.status, got.filled_qty, got.filled_avg_price) == ("filled", 10.0, 100.02)
    assert [(f.transaction_time, f.price) for f in other.fills(DAY)] == [("2025-10-30T13:30:00+00:00", 100.02)]
    assert other.account().cash == pytest.approx(10_000 - 1000.2 - 0.10)


def test_the_book_does_not_depend_on_when_it_is_looked_at(tmp_path):
    """Two accounts, the same orders; one is looked at often, the other once after the close."""
    books = []
    for name, looks in (("often", [(9, 31), (12, 0), (15, 59), (16, 0), (16, 30)]), ("once", [(18, 0)])):
        clock = Clock(ny(DAY, 9, 0))
        b = paper(tmp_path, DAY, clock, ask_size=4, name=f"{name}.sqlite")
        b.submit_order(BUY)  # before the open: 4 fill at the open, 6 rest
        clock.t = ny(DAY, 9, 10)
        b.submit_order(OrderRequest("AAPL", "buy", 5, "limit", 99.0, client_order_id="c2"))  # rests
        for hh, mm in looks:
            clock.t = ny(DAY, hh, mm)
            b.list_orders("all")
        books.append(([o.to_dict() for o in b.list_orders("all")], [f.to_dict() for f in b.fills(DAY)]))
    assert books[0] == books[1]
    orders, fills = books[0]
    assert [(o["status"], o["filled_qty"], o["updated_at"]) for o in orders] == [
        ("expired", 4.0, "2025-10-30T20:00:00+00:00"),
        ("expired", 0.0, "2025-10-30T20:00:00+00:00"),
    ]
    assert [(f["transaction_time"], f["qty"]) for f in fills] == [("2025-10-30T13:30:00+00:00", 4.0)]


@pytest.mark.parametrize("read", ["get_order", "by_client_id", "list_orders", "fills", "positions", "account"])
def test_any_first_read_after_the_close_expires_the_open_day_order(tmp_path, read):
    clock = Clock(ny(DAY, 15, 59))
    b = paper(tmp_path, DAY, clock, ask_size=4)
    o = b.submit_order(BUY)
    assert (o.status, o.filled_qty) == ("partially_filled", 4.0)
    clock.t = ny(DAY, 16, 1)
    {
        "get_order": lambda: b.get_order(o.id),
        "by_client_id": lambda: b.get_order_by_client_id("c1"),
        "list_orders": lambda: b.list_orders("all"),
        "fills": lambda: b.fills(DAY),
        "positions": b.positions,
        "account": b.account,
    }[read]()
    con = sqlite3.connect(tmp_path / "pb.sqlite")
    body = json.loads(con.execute("SELECT body FROM orders").fetchone()[0])
    fills = [json.loads(x)["transaction_time"] for (x,) in con.execute("SELECT body FROM fills")]
    con.close()
    assert (body["status"], body["filled_qty"], body["updated_at"]) == ("expired", 4.0, "2025-10-30T20:00:00+00:00")
    assert fills == ["2025-10-30T19:59:00+00:00"]


def test_half_day_order_open_at_12_59_expires_at_13_00(tmp_path):
    clock = Clock(ny(HALF, 12, 59))
    b = paper(tmp_path, HALF, clock, ask_size=4)
    o = b.submit_order(BUY)
    assert (o.status, o.filled_qty) == ("partially_filled", 4.0)
    clock.t = ny(HALF, 12, 59, 59)
    assert b.get_order(o.id).status == "partially_filled"
    clock.t = ny(HALF, 13, 0)
    got = b.get_order(o.id)
    assert (got.status, got.filled_qty, got.updated_at) == ("expired", 4.0, "2026-11-27T18:00:00+00:00")
    assert [f.transaction_time for f in b.fills(HALF)] == ["2026-11-27T17:59:00+00:00"]


def test_after_the_close_a_replace_is_refused(tmp_path):
    from xlexec.execution.brokers.base import OrderRejected

    clock = Clock(ny(DAY, 15, 0))
    b = paper(tmp_path, DAY, clock)
    o = b.submit_order(OrderRequest("AAPL", "buy", 10, "limit", 99.0, client_order_id="c1"))  # rests
    clock.t = ny(DAY, 16, 0)
    with pytest.raises(OrderRejected, match="order is expired: it cannot be replaced"):
        b.replace_order(o.id, limit_price=100.50, client_order_id="c1-r1")
    assert b.fills(DAY) == []


def test_a_replay_of_a_day_without_a_session_fills_nothing(tmp_path):
    """The clock on another date (a day re-run later): the day's session is simulated; Christmas has none."""
    b = paper(tmp_path, "2025-12-25", Clock(ny("2026-01-05", 10, 0)))
    o = b.submit_order(BUY)
    assert (o.status, o.filled_qty) == ("accepted", 0.0)
    assert b.clock().is_open is False
    assert b.get_order(o.id).status == "expired" and b.fills("2025-12-25") == []
