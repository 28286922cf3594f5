"""`xlexec submit --slice`: the ADV slicing plan of `convert --slice` sent through the API, exactly once.

Paper broker (live/paper_broker.sqlite persists across days, as a real account would). The
running example, by hand: BIG buy 1,000 @ $20.00 limit, ADV 6,000 shares, max_adv_pct 5% ->
cap floor(6,000 x 0.05) = 300 shares/day -> ceil(1,000 / 300) = 4 days: 300, 300, 300, 100.
Sessions: Thu 2025-10-30, Fri 2025-10-31, (weekend), Mon 2025-11-03, Tue 2025-11-04.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from tests.conftest import quote_now
from xlexec.config import config_from_dict
from xlexec.core import calendar as cal
from xlexec.core.orders import orders_from_trades
from xlexec.core.slicing import child_id
from xlexec.errors import RefusedError
from xlexec.execution import engine as S
from xlexec.execution import status as ST
from xlexec.execution.brokers.paper import PaperBroker
from xlexec.formats.trades import read_trades
from xlexec.steps.context import Context
from xlexec.store import journal as J
from xlexec.store.approvals import record_approval

D1, D2, D3, D4, D5 = "2025-10-30", "2025-10-31", "2025-11-03", "2025-11-04", "2025-11-05"
HEAD = "symbol,side,shares,price,notional,weight_change,commission_est,slippage_est,total_cost_est\n"
BIG_1000 = "BIG,buy,1000,20.00,20000.00,0.20,2,2,4\n"
AAPL_10 = "AAPL,buy,10,150.25,1502.50,0.015,1,1,2\n"
AAPL_5 = "AAPL,buy,5,150.00,750.00,0.0075,1,1,2\n"
SCHEDULE_D1 = "BIG buy 1,000 (ADV 6,000, cap 300/day, 4 days): day 1 300 (today), day 2 300, day 3 300, day 4 100"


@pytest.fixture(autouse=True)
def fast(monkeypatch):
    monkeypatch.setattr(S, "LOOKUP_BACKOFF", (0.01,))


def setup_live(tmp_path, adv: int = 6000, **execution):
    live = tmp_path / "live"
    live.mkdir(parents=True, exist_ok=True)
    (live / "reference.csv").write_text(f"symbol,sector,adv_shares\nBIG,Tech,{adv}\nAAPL,Tech,50000000\n")
    ex = {"broker": "paper", "require_human_approval": True, "max_order_size_usd": 10_000.0, **execution}
    cfg = {"live_dir": str(live), "execution": ex}
    return live, cfg


def day_trades(live: Path, day: str, rows: str) -> Path:
    p = live / day / "trades.csv"
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(f"# Date: {day}\n# Kill Switch: ACTIVE\n# Safety Checks: PASSED\n" + HEAD + rows)
    (p.parent / "quotes.csv").write_text(
        "symbol,bid,ask,last,timestamp\n"
        f"BIG,19.98,20.00,19.99,{day}T14:00:00Z\nAAPL,150.20,150.30,150.25,{day}T14:00:00Z\n"
    )
    return p


def quotes(big_mid: float = 19.99) -> pd.DataFrame:
    """Quote mids stamped at the pinned clock (``XLEXEC_NOW``, set by :func:`ctx_for`): fresh."""
    return pd.DataFrame({"symbol": ["BIG", "AAPL"], "mid": [big_mid, 150.25], "timestamp": pd.Timestamp(quote_now())})


def ctx_for(cfg: dict, day: str, monkeypatch) -> Context:
    # 10:00 New York: inside the session whether the day is on EDT or EST (the paper broker's
    # clock is closed before 09:30)
    ten = dt.datetime.combine(dt.date.fromisoformat(day), dt.time(10, 0), ZoneInfo("America/New_York"))
    monkeypatch.setenv("XLEXEC_NOW", ten.isoformat())
    return Context(config_from_dict(cfg), user="tester")


def approve(ctx: Context, trades_path: Path, decision: str = "APPROVED") -> None:
    t = read_trades(trades_path)
    o = orders_from_trades(t, default_order_type=ctx.config.execution.default_order_type, date=t.date)
    record_approval(
        ctx.live_dir,
        date=t.date,
        orders=o,
        decision=decision,
        reason="test",
        approver="pm",
        recommended="APPROVE",
        now=ctx.now(),
    )


def broker(ctx: Context, day: str, **kw) -> PaperBroker:
    return PaperBroker.for_config(ctx.config, ctx.live_dir, day=day, **kw)


def parent_id(live: Path, day: str = D1, rows: str = BIG_1000 + AAPL_10) -> str:
    o = orders_from_trades(read_trades(day_trades(live, day, rows)), date=day)
    return str(o.loc[o["symbol"] == "BIG", "client_order_id"].iloc[0])


def sent(plan_id: str) -> str:
    """A plan client order id as the paper simulator gets it: its account PA0000SIM001's tag
    ``asim001`` after the date (written out here, not computed by the code under test)."""
    return re.sub(r"^(xlx-\d{4}-\d{2}-\d{2}-)", r"\g<1>asim001-", plan_id)


def submit_day(cfg, day, rows, monkeypatch, *, approve_it=True, slice=True, big_mid=19.99, **kw):
    ctx = ctx_for(cfg, day, monkeypatch)
    path = day_trades(Path(cfg["live_dir"]), day, rows)
    if approve_it:
        approve(ctx, path)
    b = broker(ctx, day)
    try:
        return S.submit_batch(ctx, read_trades(path), broker=b, quotes=quotes(big_mid), slice=slice, **kw), ctx
    finally:
        b.close()


def at_broker(live: Path) -> list[tuple[str, str, float]]:
    """(client order id, symbol, qty) of every order the paper broker ever received."""
    b = PaperBroker(live / "paper_broker.sqlite")
    try:
        return sorted((o.client_order_id, o.symbol, o.qty) for o in b.list_orders("all"))
    finally:
        b.close()


def sent_rows(res) -> list[tuple[str, float, str, str]]:
    o = res.orders.sort_values("client_order_id")
    return list(zip(o["symbol"], o["qty"], o["client_order_id"], o["outcome"]))


# ----------------------------------------------------------------------------- day 1


def test_day1_sends_todays_child_and_rerun_sends_nothing(tmp_path, monkeypatch):
    live, cfg = setup_live(tmp_path)
    pid = parent_id(live)
    spid = sent(pid)  # as the broker gets it
    r1, ctx = submit_day(cfg, D1, BIG_1000 + AAPL_10, monkeypatch)
    aapl = spid.replace("-BIG-", "-AAPL-")
    assert r1.exit_code == 0, r1.orders["note"].tolist()
    assert sent_rows(r1) == [("AAPL", 10.0, aapl, "sent"), ("BIG", 300.0, f"{spid}-s1", "sent")]
    assert f"  {SCHEDULE_D1}" in r1.messages
    assert at_broker(live) == [(aapl, "AAPL", 10.0), (f"{spid}-s1", "BIG", 300.0)]
    jr = ctx.journal()
    sl = jr.events(J.SLICE)
    assert [(e.key, e.day, e.payload["seq"], e.payload["child_qty"], e.payload["schedule"]) for e in sl] == [
        (f"{pid}|{D1}", D1, 1, 300, [300, 300, 100])
    ]
    it = {p["client_order_id"]: p for p in jr.payloads(J.INTENT, D1)}
    assert it[f"{spid}-s1"]["qty"] == 300.0 and it[f"{spid}-s1"]["parent_id"] == spid
    assert it[f"{spid}-s1"]["slice_seq"] == 1 and "parent_id" not in it[aapl]
    ctx.close()

    r2, ctx = submit_day(cfg, D1, BIG_1000 + AAPL_10, monkeypatch, approve_it=False)
    assert (r2.sent, r2.already_sent, r2.exit_code) == (0, 2, 0)
    assert "  " + SCHEDULE_D1 in r2.messages
    assert at_broker(live) == [(aapl, "AAPL", 10.0), (f"{spid}-s1", "BIG", 300.0)]
    assert len(ctx.journal().events(J.SLICE)) == 1
    ctx.close()


def test_limits_apply_to_the_child_quantity(tmp_path, monkeypatch):
    # parent $20,000 > max_order_size $10,000: refused whole; the child 300 x $20.00 = $6,000 passes
    live, cfg = setup_live(tmp_path)
    r, ctx = submit_day(cfg, D1, BIG_1000, monkeypatch, slice=False)
    assert r.orders[["qty", "outcome"]].values.tolist() == [[1000.0, "refused"]]
    assert r.orders["note"].iloc[0] == "$20,000.00 exceeds max_order_size_usd $10,000.00"
    ctx.close()
    r, ctx = submit_day(cfg, D1, BIG_1000, monkeypatch, approve_it=False)
    assert r.orders[["qty", "outcome"]].values.tolist() == [[300.0, "sent"]] and r.exit_code == 0
    ctx.close()


def test_child_over_max_order_size_is_refused(tmp_path, monkeypatch):
    live, cfg = setup_live(tmp_path, max_order_size_usd=5_000.0)
    r, ctx = submit_day(cfg, D1, BIG_1000, monkeypatch)
    assert r.orders[["qty", "outcome"]].values.tolist() == [[300.0, "refused"]] and r.exit_code == 1
    assert r.orders["note"].iloc[0] == "$6,000.00 exceeds max_order_size_usd $5,000.00"
    assert at_broker(live) == []
    ctx.close()


def test_buying_power_counts_the_child_not_the_parent(tmp_path, monkeypatch):
    # cash $10,000, 5% buffer -> $9,500. Whole: 20,000 + 1,502.50 = 21,502.50 > 9,500 (refused);
    # sliced: 6,000 + 1,502.50 = 7,502.50 <= 9,500 (sent)
    live, cfg = setup_live(tmp_path, max_order_size_usd=50_000.0)
    cfg["execution"]["paper"] = {"starting_cash": 10_000.0}
    r, ctx = submit_day(cfg, D1, BIG_1000 + AAPL_10, monkeypatch, slice=False)
    assert set(r.orders["outcome"]) == {"refused"}
    assert "buys total $21,502.50 > buying power $9,500.00" in r.orders["note"].iloc[0]
    ctx.close()
    r, ctx = submit_day(cfg, D1, BIG_1000 + AAPL_10, monkeypatch, approve_it=False)
    assert sorted(r.orders["qty"]) == [10.0, 300.0] and r.sent == 2 and r.exit_code == 0
    ctx.close()


# ----------------------------------------------------------------------------- later days


def test_children_carried_to_the_next_sessions_exactly_once(tmp_path, monkeypatch):
    assert cal.next_session(D1) == D2 and cal.next_session(D2) == D3 and cal.next_session(D3) == D4
    live, cfg = setup_live(tmp_path)
    pid = parent_id(live)
    spid = sent(pid)  # as the broker gets it
    r, ctx = submit_day(cfg, D1, BIG_1000 + AAPL_10, monkeypatch)
    assert r.sent == 2
    ctx.close()

    # day 2: a new trades file (AAPL 5 only, approved on its own); BIG's child 2 rides on day 1's approval
    r2, ctx = submit_day(cfg, D2, AAPL_5, monkeypatch)
    assert r2.exit_code == 0, r2.orders["note"].tolist()
    big = r2.orders[r2.orders["symbol"] == "BIG"]
    assert big[["qty", "limit_price", "client_order_id", "outcome"]].values.tolist() == [
        [300.0, 20.0, f"{spid}-s2", "sent"]
    ]
    assert f"{pid}-s2" == child_id(pid, 2) and len(f"{pid}-s2") <= 48
    assert "  BIG buy 1,000 (ADV 6,000, cap 300/day, 4 days): day 2 300 (today), day 3 300, day 4 100" in r2.messages
    it = {p["client_order_id"]: p for p in ctx.journal().payloads(J.INTENT, D2)}
    assert it[f"{spid}-s2"]["parent_id"] == spid and it[f"{spid}-s2"]["slice_seq"] == 2
    ctx.close()
    r2b, ctx = submit_day(cfg, D2, AAPL_5, monkeypatch, approve_it=False)
    assert (r2b.sent, r2b.already_sent) == (0, 2)
    ctx.close()

    # Monday and Tuesday (the weekend is no session): 300 then the remaining 100; then nothing
    r3, ctx = submit_day(cfg, D3, AAPL_5, monkeypatch)
    ctx.close()
    r4, ctx = submit_day(cfg, D4, AAPL_5, monkeypatch)
    ctx.close()
    r5, ctx = submit_day(cfg, D5, AAPL_5, monkeypatch)
    ctx.close()
    assert [x for x in sent_rows(r3) if x[0] == "BIG"] == [("BIG", 300.0, f"{spid}-s3", "sent")]
    assert [x for x in sent_rows(r4) if x[0] == "BIG"] == [("BIG", 100.0, f"{spid}-s4", "sent")]
    assert list(r5.orders["symbol"]) == ["AAPL"]
    big_at_broker = [(c, q) for c, s, q in at_broker(live) if s == "BIG"]
    assert big_at_broker == [(f"{spid}-s1", 300.0), (f"{spid}-s2", 300.0), (f"{spid}-s3", 300.0), (f"{spid}-s4", 100.0)]
    assert sum(q for _, q in big_at_broker) == 1000.0


def test_carried_child_needs_slice_flag(tmp_path, monkeypatch):
    live, cfg = setup_live(tmp_path)
    pid = parent_id(live)
    spid = sent(pid)  # as the broker gets it
    submit_day(cfg, D1, BIG_1000 + AAPL_10, monkeypatch)[1].close()
    r, ctx = submit_day(cfg, D2, AAPL_5, monkeypatch, slice=False)
    assert list(r.orders["symbol"]) == ["AAPL"] and r.sent == 1 and r.exit_code == 0
    assert r.messages == [
        "not sent: 1 child order(s) due today from earlier slicing schedules (BIG buy 300); "
        "rerun with --slice to send them"
    ]
    assert r.to_json()["messages"] == r.messages
    assert f"{spid}-s2" not in [c for c, _, _ in at_broker(live)]
    ctx.close()
    r, ctx = submit_day(cfg, D2, AAPL_5, monkeypatch, approve_it=False)
    assert sorted(zip(r.orders["symbol"], r.orders["qty"], r.orders["outcome"])) == [
        ("AAPL", 5.0, "already_sent"),
        ("BIG", 300.0, "sent"),
    ]
    assert f"{spid}-s2" in [c for c, _, _ in at_broker(live)]
    ctx.close()


def test_carried_child_is_refused_when_the_parent_approval_was_revoked(tmp_path, monkeypatch):
    live, cfg = setup_live(tmp_path)
    pid = parent_id(live)
    spid = sent(pid)  # as the broker gets it
    r, ctx = submit_day(cfg, D1, BIG_1000 + AAPL_10, monkeypatch)
    approve(ctx, live / D1 / "trades.csv", decision="REJECTED")  # revoked after day 1
    ctx.close()
    r2, ctx = submit_day(cfg, D2, AAPL_5, monkeypatch)
    by = {s: (o, n) for s, o, n in zip(r2.orders["symbol"], r2.orders["outcome"], r2.orders["note"])}
    assert by["AAPL"][0] == "sent" and by["BIG"][0] == "refused" and r2.exit_code == 1
    assert by["BIG"][1].startswith(f"child 2/4 of {pid}: the approval of its parent batch ({D1}")
    assert f"{spid}-s2" not in [c for c, _, _ in at_broker(live)]
    ref = [p for p in ctx.journal().payloads(J.REFUSED, D2) if p["client_order_id"] == f"{spid}-s2"]
    assert [p["code"] for p in ref] == ["parent_not_approved"]
    ctx.close()


def test_collar_checks_the_carried_child_against_todays_quote(tmp_path, monkeypatch):
    # child limit $20.00 vs day-2 mid $21.50: |20 - 21.5| / 21.5 = 6.98% > 5% collar -> refused;
    # the rerun with mid $20.10 (0.50%) sends the same child, once
    live, cfg = setup_live(tmp_path)
    pid = parent_id(live)
    spid = sent(pid)  # as the broker gets it
    submit_day(cfg, D1, BIG_1000 + AAPL_10, monkeypatch)[1].close()
    r, ctx = submit_day(cfg, D2, AAPL_5, monkeypatch, big_mid=21.50)
    big = r.orders[r.orders["symbol"] == "BIG"].iloc[0]
    assert big["outcome"] == "refused" and big["note"] == "$20.00 is 6.98% from the quote mid $21.50 (collar 5.0%)"
    ctx.close()
    r, ctx = submit_day(cfg, D2, AAPL_5, monkeypatch, approve_it=False, big_mid=20.10)
    big = r.orders[r.orders["symbol"] == "BIG"].iloc[0]
    assert (big["client_order_id"], big["qty"], big["outcome"]) == (f"{spid}-s2", 300.0, "sent")
    assert [c for c, s, _ in at_broker(live) if s == "BIG"] == [f"{spid}-s1", f"{spid}-s2"]
    ctx.close()


# ----------------------------------------------------------------------------- consistency with convert


def test_schedule_from_convert_refuses_plain_submit_and_is_reused_by_slice(tmp_path, monkeypatch, capsys):
    from xlexec.cli.app import main

    live, cfg = setup_live(tmp_path)
    pid = parent_id(live)
    spid = sent(pid)  # as the broker gets it
    ctx = ctx_for(cfg, D1, monkeypatch)
    path = day_trades(live, D1, BIG_1000 + AAPL_10)
    approve(ctx, path)
    cfg_file = tmp_path / "config.yaml"
    cfg_file.write_text(f"live_dir: {live}\nexecution:\n  broker: paper\n")
    assert main(["convert", str(path), "--broker", "generic", "--slice", "--config", str(cfg_file)]) == 0
    capsys.readouterr()
    up = pd.read_csv(path.parent / "trades_generic.csv")
    assert up[["symbol", "qty", "client_order_id"]].values.tolist() == [
        ["BIG", 300, f"{pid}-s1"],  # upload files carry the plan ids (no account)
        ["AAPL", 10, pid.replace("-BIG-", "-AAPL-")],
    ]
    b = broker(ctx, D1)
    with pytest.raises(RefusedError) as e:
        S.submit_batch(ctx, read_trades(path), broker=b, quotes=quotes())
    assert "--slice" in str(e.value) and "BIG buy 1,000" in str(e.value) and "nothing sent" in str(e.value)
    assert at_broker(live) == []
    # reference.csv changes after the conversion (cap would be 500): the recorded schedule wins
    (live / "reference.csv").write_text("symbol,sector,adv_shares\nBIG,Tech,10000\n")
    r = S.submit_batch(ctx, read_trades(path), broker=b, quotes=quotes(), slice=True)
    b.close()
    assert r.orders[r.orders["symbol"] == "BIG"][["qty", "client_order_id"]].values.tolist() == [[300.0, f"{spid}-s1"]]
    assert "slicing schedule (as recorded):" in r.messages and "  " + SCHEDULE_D1 in r.messages
    assert len(ctx.journal().events(J.SLICE)) == 1
    ctx.close()


def test_order_sent_whole_is_never_sliced_afterwards(tmp_path, monkeypatch, capsys):
    from xlexec.cli.app import main

    live, cfg = setup_live(tmp_path, max_order_size_usd=50_000.0)
    pid = parent_id(live, rows=BIG_1000)
    spid = sent(pid)  # as the broker gets it
    r, ctx = submit_day(cfg, D1, BIG_1000, monkeypatch, slice=False)
    assert r.orders[["qty", "client_order_id", "outcome"]].values.tolist() == [[1000.0, spid, "sent"]]
    ctx.close()
    r, ctx = submit_day(cfg, D1, BIG_1000, monkeypatch, approve_it=False)  # --slice after the fact
    assert r.orders[["qty", "client_order_id", "outcome"]].values.tolist() == [[1000.0, spid, "already_sent"]]
    assert ctx.journal().events(J.SLICE) == []
    cfg_file = tmp_path / "config.yaml"  # the same policy as the submits' (a stricter one would take effect)
    cfg_file.write_text(f"live_dir: {live}\nexecution:\n  broker: paper\n  max_order_size_usd: 50000\n")
    path = live / D1 / "trades.csv"
    assert main(["convert", str(path), "--broker", "generic", "--slice", "--config", str(cfg_file)]) == 0
    capsys.readouterr()
    assert pd.read_csv(path.parent / "trades_generic.csv")["qty"].tolist() == [1000]
    assert ctx.journal().events(J.SLICE) == []
    ctx.close()
    r2, ctx = submit_day(cfg, D2, AAPL_5, monkeypatch)
    assert list(r2.orders["symbol"]) == ["AAPL"] and r2.messages == []
    ctx.close()


# ----------------------------------------------------------------------------- CLI and crash


def _cli_setup(tmp_path):
    live, _ = setup_live(tmp_path)
    cfg_file = tmp_path / "config.yaml"
    cfg_file.write_text(f"live_dir: {live}\nexecution:\n  broker: paper\n  require_human_approval: false\n")
    return live, cfg_file


def test_cli_submit_slice(tmp_path, monkeypatch, capsys):
    from xlexec.cli.app import main

    live, cfg_file = _cli_setup(tmp_path)
    pid = parent_id(live)
    spid = sent(pid)  # as the broker gets it
    monkeypatch.setenv("XLEXEC_NOW", f"{D1}T14:00:00+00:00")
    path = day_trades(live, D1, BIG_1000 + AAPL_10)
    rc = main(["submit", str(path), "--slice", "--json", "--config", str(cfg_file)])
    out, err = capsys.readouterr()
    assert rc == 0, err
    js = json.loads(out)
    assert js["sent"] == 2 and js["exit_code"] == 0 and "  " + SCHEDULE_D1 in js["messages"]
    rows = sorted((o["symbol"], o["qty"], o["client_order_id"]) for o in js["orders"])
    assert rows[1] == ("BIG", 300.0, f"{spid}-s1")
    rc = main(["submit", str(path), "--config", str(cfg_file)])
    out, err = capsys.readouterr()
    assert rc == 1 and "--slice" in err and "were sliced" in err
    rc = main(["submit", str(path), "--slice", "--config", str(cfg_file)])
    out, err = capsys.readouterr()
    assert rc == 0 and "0 sent, 2 already at the broker" in out and SCHEDULE_D1 in out
    assert len(at_broker(live)) == 2


@pytest.mark.skipif(os.name == "nt", reason="SIGKILL")
@pytest.mark.parametrize("point", ["after_intent_before_send:2", "after_send_before_response:2"])
def test_kill_during_sliced_batch_then_rerun_sends_each_child_once(tmp_path, point):
    live, cfg_file = _cli_setup(tmp_path)
    pid = parent_id(live)
    spid = sent(pid)  # as the broker gets it
    submit_day_env = {**os.environ, "XLEXEC_NOW": f"{D1}T14:00:00+00:00"}
    path = day_trades(live, D1, BIG_1000 + AAPL_10)
    cmd = [
        sys.executable,
        "-c",
        "import sys; from xlexec.cli.app import main; sys.exit(main(sys.argv[1:]))",
        "submit",
        str(path),
        "--slice",
        "--json",
        "--config",
        str(cfg_file),
    ]
    p = subprocess.run(
        cmd, env={**submit_day_env, "XLEXEC_CRASH_AT": point}, capture_output=True, text=True, timeout=60
    )
    assert p.returncode == -9, p.stderr
    p = subprocess.run(cmd, env=submit_day_env, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    js = json.loads(p.stdout)
    assert js["sent"] + js["already_sent"] == 2 and js["unknown"] == 0
    assert at_broker(live) == [(spid.replace("-BIG-", "-AAPL-"), "AAPL", 10.0), (f"{spid}-s1", "BIG", 300.0)]


def test_whole_order_canceled_unfilled_may_be_sliced_after_all(tmp_path, monkeypatch):
    # limit $19.50 below the $20.00 ask: the whole 1,000 rests unfilled; once canceled (nothing
    # filled) the operator may still slice it: child 1 = 300 goes out, the parent stays canceled
    rows = "BIG,buy,1000,19.50,19500.00,0.20,2,2,4\n"
    live, cfg = setup_live(tmp_path, max_order_size_usd=50_000.0)
    pid = parent_id(live, rows=rows)
    spid = sent(pid)  # as the broker gets it
    r, ctx = submit_day(cfg, D1, rows, monkeypatch, slice=False)
    assert r.orders[["qty", "status", "outcome"]].values.tolist() == [[1000.0, "new", "sent"]]
    b = broker(ctx, D1)
    b.cancel_all()
    assert ST.refresh_status(ctx, D1, b)["status"].tolist() == ["canceled"]
    b.close()
    assert S.sent_whole(ctx.journal(), D1, [pid]) == set()
    ctx.close()
    r, ctx = submit_day(cfg, D1, rows, monkeypatch, approve_it=False)
    assert r.orders[["qty", "client_order_id", "outcome"]].values.tolist() == [[300.0, f"{spid}-s1", "sent"]]
    assert at_broker(live) == [(spid, "BIG", 1000.0), (f"{spid}-s1", "BIG", 300.0)]
    ctx.close()


def test_reconcile_plans_todays_child_not_the_parent(tmp_path, monkeypatch):
    """After `submit --slice`, reconciliation plans the 300-share child: fully executed, no
    partial fill of the 1,000-share parent, no break."""
    from xlexec.formats.fills import fills_from_broker
    from xlexec.steps.reconcile import reconcile_day

    live, cfg = setup_live(tmp_path)
    r1, ctx = submit_day(cfg, D1, BIG_1000 + AAPL_10, monkeypatch)
    assert r1.exit_code == 0
    b = broker(ctx, D1)
    try:
        fills = fills_from_broker(b.fills(D1), D1)
    finally:
        b.close()
    # AAPL's 150.25 limit rests below the 150.30 ask; BIG's child fills at its 20.00 limit
    assert sorted(zip(fills["symbol"], fills["shares"])) == [("BIG", 300.0)]
    positions = pd.DataFrame(
        {"symbol": pd.Series(dtype=str), "shares": pd.Series(dtype=float), "avg_cost": pd.Series(dtype=float)}
    )
    res = reconcile_day(ctx, D1, read_trades(live / D1 / "trades.csv"), fills, positions, cash=100_000.0)
    j = res.to_json()
    assert j["trades_recommended"] == 2 and j["trades_executed"] == 1
    assert j["partial"] == [] and j["breaks"] == []
    assert [(x["symbol"], x["planned"], x["executed"]) for x in j["not_executed"]] == [("AAPL", 10, 0)]
    assert {p["symbol"]: p["shares"] for p in j["positions"]} == {"BIG": 300}
