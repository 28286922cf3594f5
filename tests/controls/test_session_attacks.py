"""Issue "Controls that hold": the trading day comes from the clock and the exchange calendar,
not from the trades file's ``# Date:`` header.

Each attack runs through the real CLI in a subprocess, from a scratch folder that is not the
project, with ``--config`` and absolute paths, and shows the refusal with nothing reaching the
broker (the paper simulator's state, or the loopback fake Alpaca server's request log):

* last week's approval replayed today (the file dated last week; or today's file approved
  last week) -> refused, naming both dates;
* a file dated yesterday -> submit and convert refused; Monday's file on a Saturday -> no
  session, refused (a draft review copy is still written);
* four files dated four sessions -> only today's goes, and every file of today's session
  counts against one ``max_daily_trades``;
* ``XLEXEC_NOW`` with ``execution.broker: alpaca`` -> refused, nothing recorded or sent;
* the journal's ``ts_utc`` is the real clock even with ``XLEXEC_NOW`` pinned on paper.
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

import pytest

from tests import cli_fork

REPO = Path(__file__).resolve().parents[2]
NY = ZoneInfo("America/New_York")
PY = sys.executable

THU_LAST_WEEK = "2025-10-23"
WED = "2025-10-29"
THU = "2025-10-30"  # "today" in most attacks (the clock pinned to it, paper broker)
SAT = "2025-11-01"
MON = "2025-11-03"

BOOK = {"AAPL": 150.25, "MSFT": 380.50, "GOOGL": 142.80, "NVDA": 120.10, "AMZN": 180.40, "META": 560.20}


def ny(day: str, hh: int = 10, mm: int = 5) -> str:
    """``day`` at hh:mm New York, as an ISO UTC instant (what ``XLEXEC_NOW`` takes)."""
    t = dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hh, mm), NY)
    return t.astimezone(dt.UTC).isoformat()


def trades_text(day: str, symbols=("AAPL", "MSFT", "GOOGL"), shares: int = 10) -> str:
    lines = [
        f"# Date: {day}",
        f"# Total Trades: {len(symbols)}",
        "# Portfolio Value: $100,000.00",
        "# Kill Switch: ACTIVE",
        "# Safety Checks: PASSED",
        "symbol,side,shares,price,notional,weight_change,commission_est,slippage_est,total_cost_est",
    ]
    for s in symbols:
        px = BOOK[s]
        n = round(shares * px, 2)
        c, sl = round(n * 1e-4, 2), round(n * 2e-4, 2)
        lines.append(f"{s},buy,{shares},{px:.2f},{n:.2f},{n / 100_000:.4f},{c:.2f},{sl:.2f},{c + sl:.2f}")
    return "\n".join(lines) + "\n"


def quotes_text(day: str) -> str:
    rows = ["symbol,bid,ask,last,timestamp"]
    rows += [f"{s},{p - 0.05:.2f},{p + 0.05:.2f},{p:.2f},{day}T14:00:00Z" for s, p in BOOK.items()]
    return "\n".join(rows) + "\n"


def paper_config(root: Path, *, max_daily_trades: int = 50) -> Path:
    cfg = root / "config.yaml"
    cfg.write_text(
        f"live_dir: {json.dumps(str(root / 'live'))}\nuser: ops\nexecution:\n  broker: paper\n"
        "  require_human_approval: true\n  max_order_size_usd: 50000\n  price_collar_pct: null\n"
        f"  max_daily_trades: {max_daily_trades}\n"
    )
    return cfg


def write_day(root: Path, day: str, text: str | None = None, folder: Path | None = None) -> Path:
    """``trades.csv`` (and the day's ``quotes.csv``) of ``day``; returns the trades path."""
    live = root / "live"
    (live / day).mkdir(parents=True, exist_ok=True)
    (live / day / "quotes.csv").write_text(quotes_text(day))
    target = folder or live / day
    target.mkdir(parents=True, exist_ok=True)
    (target / "quotes.csv").write_text(quotes_text(day))
    path = target / "trades.csv"
    path.write_text(text or trades_text(day))
    return path


def env(now: str | None) -> dict:
    e = {k: v for k, v in os.environ.items() if k not in ("XLEXEC_NOW", "XLEXEC_CRASH_AT")}
    e["PYTHONPATH"] = os.pathsep.join([str(REPO), e.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    e.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")
    if now is not None:
        e["XLEXEC_NOW"] = now
    return e


def xlexec(root: Path, *args: str, now: str | None = None, extra: dict | None = None) -> subprocess.CompletedProcess:
    """The real CLI in a subprocess, run from a scratch folder (not the project)."""
    cwd = root / "elsewhere"
    cwd.mkdir(exist_ok=True)
    e = env(now)
    e.update(extra or {})
    return cli_fork.run([PY, "-m", "xlexec", *args], cwd=cwd, env=e, capture_output=True, text=True, timeout=180)


def approve(root: Path, cfg: Path, trades: Path, now: str | None) -> None:
    r = xlexec(
        root,
        "approve",
        str(trades),
        "--by",
        "jane",
        "--decision",
        "APPROVED",
        "--reason",
        "ok",
        "--config",
        str(cfg),
        now=now,
    )
    assert r.returncode == 0, r.stderr


def plant_approval(root: Path, trades: Path, at: dt.datetime) -> None:
    """An approval of ``trades`` recorded at the instant ``at`` straight into the journal (what a
    journal carried from that day, or written before ``xlexec approve`` checked the session,
    holds): ``xlexec approve`` now refuses a file that is not of today's session, so submit's and
    convert's own rules are attacked with a planted one."""
    from tests.reliability import _support as U

    U.plant_approval(root / "live", trades, at=at)


def approve_refused(root: Path, cfg: Path, trades: Path, now: str | None) -> str:
    """``xlexec approve`` of ``trades`` refused: its one line (nothing recorded)."""
    r = xlexec(
        root, "approve", str(trades), "--by", "jane", "--decision", "APPROVED", "--reason", "ok",
        "--config", str(cfg), now=now,
    )  # fmt: skip
    assert r.returncode == 1, r.stdout + r.stderr
    assert journal_rows(root, "approval") == []
    return one_line(r)


def submit(root: Path, cfg: Path, trades: Path, now: str | None) -> subprocess.CompletedProcess:
    return xlexec(root, "submit", str(trades), "--config", str(cfg), "--allow-closed", "--json", now=now)


def paper_orders(root: Path) -> list[str]:
    db = root / "live" / "paper_broker.sqlite"
    if not db.exists():
        return []
    con = sqlite3.connect(db)
    try:
        return [r[0] for r in con.execute("select client_order_id from orders order by seq")]
    finally:
        con.close()


def journal_rows(root: Path, kind: str | None = None) -> list[tuple]:
    db = root / "live" / "journal.sqlite"
    if not db.exists():
        return []
    con = sqlite3.connect(db)
    try:
        sql = "select ts_utc, day, kind, key, payload from events"
        rows = con.execute(sql + (" where kind=?" if kind else "") + " order by seq", (kind,) if kind else ())
        return list(rows)
    finally:
        con.close()


def one_line(r: subprocess.CompletedProcess) -> str:
    """The refusal: exactly one ``error:`` line on stderr (submit says its mode first)."""
    lines = [ln for ln in r.stderr.splitlines() if " error: " in ln]
    assert len(lines) == 1, r.stderr
    return lines[0]


# ------------------------------------------------------------------------------- attacks


def test_last_weeks_file_and_approval_replayed_today_is_refused(tmp_path):
    cfg = paper_config(tmp_path)
    trades = write_day(tmp_path, THU_LAST_WEEK)
    approve(tmp_path, cfg, trades, ny(THU_LAST_WEEK, 9, 40))
    r = submit(tmp_path, cfg, trades, ny(THU))
    assert r.returncode == 1
    line = one_line(r)
    assert f"dated {THU_LAST_WEEK}" in line and f"today's session is {THU}" in line
    assert paper_orders(tmp_path) == [] and journal_rows(tmp_path, "order_intent") == []
    # the same file on its own session goes out: the refusal above was the date, nothing else
    ok = submit(tmp_path, cfg, trades, ny(THU_LAST_WEEK, 10, 0))
    assert ok.returncode == 0, ok.stderr
    assert len(paper_orders(tmp_path)) == 3


def test_todays_file_approved_last_week_is_refused_naming_both_dates(tmp_path):
    cfg = paper_config(tmp_path)
    trades = write_day(tmp_path, THU)
    # approving a week ahead of its day is refused by approve itself ...
    line = approve_refused(tmp_path, cfg, trades, ny(THU_LAST_WEEK, 15, 0))
    assert f"dated {THU} but today's session is {THU_LAST_WEEK}" in line
    # ... and an approval recorded a week ahead anyway (planted) is refused by submit and convert
    plant_approval(tmp_path, trades, dt.datetime.fromisoformat(ny(THU_LAST_WEEK, 15, 0)))
    r = submit(tmp_path, cfg, trades, ny(THU))
    assert r.returncode == 1
    line = one_line(r)
    assert f"given on {THU_LAST_WEEK}" in line and f"not on {THU}" in line
    assert paper_orders(tmp_path) == []
    conv = xlexec(tmp_path, "convert", str(trades), "--broker", "ibkr", "--config", str(cfg), now=ny(THU))
    assert conv.returncode == 1 and f"given on {THU_LAST_WEEK}" in one_line(conv)
    assert not list(trades.parent.glob("trades_ibkr*"))
    # approved again on the day: sent
    approve(tmp_path, cfg, trades, ny(THU, 9, 45))
    ok = submit(tmp_path, cfg, trades, ny(THU))
    assert ok.returncode == 0, ok.stderr
    assert len(paper_orders(tmp_path)) == 3


def test_yesterdays_approved_file_is_refused_by_submit_and_convert(tmp_path):
    cfg = paper_config(tmp_path)
    trades = write_day(tmp_path, WED)
    approve(tmp_path, cfg, trades, ny(WED, 9, 40))
    r = submit(tmp_path, cfg, trades, ny(THU, 9, 35))
    assert r.returncode == 1
    assert f"dated {WED} but today's session is {THU}" in one_line(r)
    conv = xlexec(tmp_path, "convert", str(trades), "--broker", "ibkr", "--config", str(cfg), now=ny(THU, 9, 35))
    assert conv.returncode == 1
    assert f"dated {WED} but today's session is {THU}" in one_line(conv)
    assert paper_orders(tmp_path) == [] and not list(trades.parent.glob("trades_ibkr*"))
    # on its own day the same convert writes the file
    ok = xlexec(tmp_path, "convert", str(trades), "--broker", "ibkr", "--config", str(cfg), now=ny(WED, 9, 50))
    assert ok.returncode == 0, ok.stderr
    assert list(trades.parent.glob("trades_ibkr*"))


def test_yesterdays_file_on_the_real_clock_is_refused(tmp_path):
    """No pinned clock at all: a file dated the session before today (New York, real clock)."""
    from xlexec.core import calendar as cal

    today = dt.datetime.now(NY).date().isoformat()
    yesterday = cal.previous_session(today)
    cfg = paper_config(tmp_path)
    trades = write_day(tmp_path, yesterday)
    assert f"dated {yesterday} but " in approve_refused(tmp_path, cfg, trades, None)
    plant_approval(tmp_path, trades, dt.datetime.now(dt.UTC))
    r = submit(tmp_path, cfg, trades, None)
    assert r.returncode == 1
    assert f"dated {yesterday} but " in one_line(r)
    assert paper_orders(tmp_path) == []


def test_mondays_file_on_saturday_has_no_session_but_a_draft_is_written(tmp_path):
    cfg = paper_config(tmp_path)
    trades = write_day(tmp_path, MON)
    assert f"dated {MON} but there is no trading session today" in approve_refused(tmp_path, cfg, trades, ny(SAT, 11))
    plant_approval(tmp_path, trades, dt.datetime.fromisoformat(ny(SAT, 11, 0)))
    for cmd in (["convert", str(trades), "--broker", "ibkr"], ["submit", str(trades), "--allow-closed"]):
        r = xlexec(tmp_path, *cmd, "--config", str(cfg), now=ny(SAT, 11, 0))
        assert r.returncode == 1
        assert f"dated {MON} but there is no trading session today" in one_line(r)
    assert paper_orders(tmp_path) == [] and not list(trades.parent.glob("trades_ibkr.csv"))
    draft = xlexec(
        tmp_path, "convert", str(trades), "--broker", "ibkr", "--draft", "--config", str(cfg), now=ny(SAT, 11, 0)
    )
    assert draft.returncode == 0, draft.stderr
    assert [p.name for p in trades.parent.glob("trades_ibkr*")] == ["trades_ibkr_DRAFT.csv"]
    # Saturday's approval does not cover Monday either
    r = submit(tmp_path, cfg, trades, ny(MON, 9, 45))
    assert r.returncode == 1 and f"given on {SAT}" in one_line(r) and paper_orders(tmp_path) == []


def test_four_files_of_four_dates_share_one_daily_limit(tmp_path):
    days = ["2025-10-27", "2025-10-28", WED, THU]
    cfg = paper_config(tmp_path, max_daily_trades=4)
    files = [write_day(tmp_path, d) for d in days]
    for d, f in zip(days, files, strict=True):
        approve(tmp_path, cfg, f, ny(d, 9, 40))
    results = [submit(tmp_path, cfg, f, ny(THU)) for f in files]
    for d, r in zip(days[:3], results[:3], strict=True):
        assert r.returncode == 1 and f"dated {d} but today's session is {THU}" in one_line(r)
    assert results[3].returncode == 0, results[3].stderr
    # two more files of today's session, from other folders: one limit of 4 for them all
    more = [
        write_day(tmp_path, THU, trades_text(THU, ("NVDA", "AMZN")), folder=tmp_path / "desk_b"),
        write_day(tmp_path, THU, trades_text(THU, ("META",)), folder=tmp_path / "desk_c"),
    ]
    for f in more:
        approve(tmp_path, cfg, f, ny(THU, 9, 50))
    second = submit(tmp_path, cfg, more[0], ny(THU, 10, 10))
    third = submit(tmp_path, cfg, more[1], ny(THU, 10, 15))
    assert second.returncode == 1 and third.returncode == 1
    doc = json.loads(second.stdout)
    assert (doc["sent"], doc["refused"]) == (1, 1)
    assert "max_daily_trades 4 reached" in " ".join(o["note"] for o in doc["orders"])
    intents = journal_rows(tmp_path, "order_intent")
    assert len(intents) == 4 and len(paper_orders(tmp_path)) == 4
    assert {json.loads(p)["session"] for *_x, p in intents} == {THU}


def test_intents_journaled_under_another_date_count_in_the_session(tmp_path):
    """An intent journaled for the session under another journal day (an older file, an
    earlier version) still counts: the limit follows the session, not the day column."""
    from xlexec.store.journal import INTENT, Journal

    cfg = paper_config(tmp_path, max_daily_trades=4)
    trades = write_day(tmp_path, THU)
    approve(tmp_path, cfg, trades, ny(THU, 9, 40))
    with Journal.for_live_dir(tmp_path / "live") as j:
        for i in range(2):  # written before intents named their account: they count for every account
            coid = f"old-{i}"
            j.append(
                INTENT,
                coid,
                {"client_order_id": coid, "symbol": "XOM", "side": "buy", "qty": 1.0, "session": THU},
                day=WED,
            )
        # another account's order of the session does not use this account's room
        j.append(
            INTENT,
            "other-acct",
            {
                "client_order_id": "other-acct",
                "symbol": "XOM",
                "side": "buy",
                "qty": 1.0,
                "session": THU,
                "account": "ACCT-OTHER",
            },
            day=THU,
        )
    r = submit(tmp_path, cfg, trades, ny(THU))
    doc = json.loads(r.stdout)
    assert r.returncode == 1 and (doc["sent"], doc["refused"]) == (2, 1)
    assert "max_daily_trades 4 reached (2 already today)" in " ".join(o["note"] for o in doc["orders"])
    assert len(paper_orders(tmp_path)) == 2


def test_xlexec_now_is_refused_with_a_real_broker(tmp_path):
    from tests.reliability import _support as U

    with U.FakeAlpaca(now=dt.datetime.fromisoformat(ny(THU))) as fake:
        cfg = U.alpaca_config(tmp_path, fake.url, price_collar_pct=None)
        trades = write_day(tmp_path, THU)
        keys = {U.KEY_ENV: U.KEY, U.SECRET_ENV: U.SECRET}
        for cmd in (
            ["approve", str(trades), "--by", "jane", "--decision", "APPROVED", "--reason", "ok"],
            ["submit", str(trades), "--allow-closed"],
        ):
            r = xlexec(tmp_path, *cmd, "--config", str(cfg), now=ny(THU), extra=keys)
            assert r.returncode == 1
            line = one_line(r)
            assert "XLEXEC_NOW is set" in line and "execution.broker is alpaca" in line
        assert journal_rows(tmp_path, "approval") == []
        assert not [e for e in fake.log if e["method"] == "POST"]
        # without the pin, the broker's own clock is the day: sent (approved on the real clock,
        # planted: `xlexec approve` on the real clock refuses a file of 2025-10-30 unless it is today)
        plant_approval(tmp_path, trades, dt.datetime.now(dt.UTC))
        sent = xlexec(tmp_path, "submit", str(trades), "--allow-closed", "--json", "--config", str(cfg), extra=keys)
        assert sent.returncode == 0, sent.stderr
        assert len([e for e in fake.log if e["method"] == "POST" and e["path"] == "/v2/orders"]) == 3


def test_a_real_brokers_clock_decides_the_day(tmp_path):
    """Alpaca's clock says Thursday: Wednesday's file is refused, nothing posted."""
    from tests.reliability import _support as U

    with U.FakeAlpaca(now=dt.datetime.fromisoformat(ny(THU))) as fake:
        cfg = U.alpaca_config(tmp_path, fake.url, price_collar_pct=None)
        trades = write_day(tmp_path, WED)
        keys = {U.KEY_ENV: U.KEY, U.SECRET_ENV: U.SECRET}
        plant_approval(tmp_path, trades, dt.datetime.now(dt.UTC))  # approved on the real clock
        r = xlexec(tmp_path, "submit", str(trades), "--allow-closed", "--config", str(cfg), extra=keys)
        assert r.returncode == 1
        assert f"dated {WED} but today's session is {THU}" in one_line(r)
        assert not [e for e in fake.log if e["method"] == "POST"]


def test_journal_ts_utc_is_the_real_clock_with_a_pinned_now(tmp_path):
    cfg = paper_config(tmp_path)
    trades = write_day(tmp_path, THU)
    before = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    approve(tmp_path, cfg, trades, ny(THU, 9, 40))
    r = submit(tmp_path, cfg, trades, ny(THU))
    after = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
    assert r.returncode == 0, r.stderr
    rows = journal_rows(tmp_path)
    kinds = {k for _t, _d, k, _key, _p in rows}
    assert {"approval", "order_intent", "order_update", "action"} <= kinds
    for ts, _day, kind, _key, _p in rows:
        t = dt.datetime.fromisoformat(ts)
        assert before <= t <= after, (kind, ts)
    # the business time stays in the payload: the approval's timestamp_utc is the pinned clock
    (payload,) = [json.loads(p) for _t, _d, k, _key, p in rows if k == "approval"]
    assert payload["timestamp_utc"].startswith(ny(THU, 9, 40)[:19])


@pytest.mark.parametrize("now", [None, ny(THU)])
def test_submit_without_a_trades_date_uses_todays_session(tmp_path, now):
    """A file without ``# Date:`` is today's by the clock: refused on a non-session day."""
    cfg = paper_config(tmp_path)
    text = "\n".join(ln for ln in trades_text(THU).splitlines() if not ln.startswith("# Date")) + "\n"
    trades = write_day(tmp_path, THU, text)
    pinned = now or ny(SAT)
    r = submit(tmp_path, cfg, trades, pinned)
    if now is None:  # Saturday
        assert r.returncode == 1 and "no trading session today" in one_line(r)
    else:
        assert r.returncode == 1 and "no approval" in r.stderr  # past the session check
    assert paper_orders(tmp_path) == []
