"""``kill -9`` of a real process running a 50-order day, at 22 points, then a rerun.

One fake Alpaca server and one ``live/`` folder (one journal) for the whole module; each crash
point gets its own trading day (50 orders), so the journal grows across days as in production.
The day runs in a subprocess (``tests/reliability/dayrun.py``: approve -> submit -> midday
workbook -> status -> fills from the broker -> reconcile + accept -> evening workbook);
``XLEXEC_CRASH_AT=<point>:<n>`` (:mod:`xlexec.faults`) makes it SIGKILL itself there.

After each kill: no duplicate at the broker, every CSV under ``live/`` parses, the workbook
opens, the journal passes SQLite's integrity check. After the rerun: exit 0, the broker holds
exactly the approved orders (once each), the journal has every intent, the approval (and so
does ``trade_approvals.csv``), every fill the broker reported (and so does ``broker_fills.csv``),
the execution log has all 50 orders, and the day is reconciled.

Every point runs on ``live/journal.sqlite``; the points that kill a process writing to the journal
or holding the day's lock (:data:`SHARED_POINTS`) run again on a shared PostgreSQL journal (a
fresh database of the session's throwaway server, tests/pg_server.py, its own ``world``), where
the journal is sound when its chain verifies with no event twice, and the rerun must get the
database's day lock the killed process held (and leave no advisory lock behind).
"""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import zipfile
from collections import Counter

import pytest

from xlexec.core.calendar import is_session

from . import _support as U

pytestmark = [pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="SIGKILL (POSIX)"), pytest.mark.slow]

N_ORDERS = 50
FILLS_CHUNK = 20

# (crash point, what is interrupted); the evening workbook's zip count is set at run time
CRASHES = [
    ("before_intent:1", "submit: before the first intent is journaled"),
    ("before_intent:26", "submit: before order 26's intent is journaled"),
    ("after_intent_before_send:1", "submit: first intent journaled, request not sent"),
    ("after_intent_before_send:50", "submit: last intent journaled, request not sent"),
    ("after_send_before_response:1", "submit: first order at the broker, reply not journaled"),
    ("after_send_before_response:33", "submit: order 33 at the broker, reply not journaled"),
    ("before_rename:trade_approvals.csv", "approve: journaled, trade_approvals.csv not yet renamed"),
    ("before_rename:execution_log.csv:1", "submit: execution_log.csv written, not renamed"),
    ("workbook_zip:5", "midday workbook save: 5 zip members written"),
    ("before_rename:execution_log.csv:2", "status refresh: execution_log.csv not renamed"),
    ("before_rename:broker_fills.csv", "fills import: broker_fills.csv not renamed"),
    ("fills_import:1", "fills import: 20 fills journaled"),
    ("fills_import:2", "fills import: 40 fills journaled"),
    ("after_fills_journaled", "fills import: all journaled, nothing reconciled"),
    ("before_rename:positions_after_recon.csv", "reconciliation writes: first file"),
    ("before_rename:reconciliation.json", "reconciliation writes: second file"),
    ("before_rename:reconciliation_trades.csv", "reconciliation writes: last file"),
    ("reconcile_outputs_written", "reconciliation: files written, summary not journaled"),
    ("before_rename:discrepancies.log", "reconciliation: discrepancies.log not renamed"),
    ("before_rename:current_positions.csv", "accept: backup written, positions not renamed"),
    ("workbook_zip:EVENING+7", "evening workbook save: mid-zip"),
    ("before_rename:xlexec.xlsx:2", "evening workbook save: complete temp file, not renamed"),
]
DAYS = [d for d in U.weekdays("2025-11-03", len(CRASHES) + 5) if is_session(d)][: len(CRASHES)]  # sessions only
# on the shared journal: the points where the killed process was writing to the journal or held
# the day's lock (the others interrupt file writes, the same on either journal)
SHARED_POINTS = [
    "before_intent:26",
    "after_intent_before_send:50",
    "after_send_before_response:33",
    "before_rename:trade_approvals.csv",
    "fills_import:1",
    "after_fills_journaled",
    "reconcile_outputs_written",
]
RUNS = [("sqlite", *c) for c in CRASHES] + [("postgresql", *c) for c in CRASHES if c[0] in SHARED_POINTS]


@pytest.fixture(scope="module")
def world(request, tmp_path_factory):
    root = tmp_path_factory.mktemp("crash_world")
    journal = "sqlite"
    if request.param == "postgresql":
        from .conftest import desk_journal

        journal = desk_journal(request.getfixturevalue("pg_server"))
    with U.FakeAlpaca(fill_modes=U.fill_modes(N_ORDERS), buying_power=1e9, max_lifetime=900) as fake:
        cfg = U.alpaca_config(root, fake.url, journal=journal)
        (root / "live").mkdir(parents=True, exist_ok=True)
        (root / "live" / "current_positions.csv").write_text(U.positions_text(N_ORDERS))
        yield {"root": root, "fake": fake, "config": cfg, "book": root / "xlexec.xlsx", "journal": journal}


def _run_day(world, day: str, crash: str | None) -> subprocess.CompletedProcess:
    args = {"config": str(world["config"]), "day": day, "workbook": str(world["book"]), "fills_chunk": FILLS_CHUNK}
    env = U.env_with_keys(XLEXEC_CRASH_AT=crash)  # the fake broker's clock is the day
    return subprocess.run(
        [U.PY, str(U.REPO / "tests" / "reliability" / "dayrun.py"), json.dumps(args)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=str(world["root"]),
    )


def _broker_day(fake, day: str) -> list[dict]:
    with fake._lock:
        return [dict(o) for o in fake.orders.values() if o["client_order_id"].startswith(f"xlx-{day}-")]


def _activities(fake, day: str) -> list[dict]:
    with fake._lock:
        return [dict(a) for a in fake.activities if a["_day"] == day]


def _integrity(world) -> list[str]:
    live = world["root"] / "live"
    return U.csv_problems(live) + U.workbook_problems(world["book"]) + U.journal_problems_of(live, world["journal"])


def _advisory_locks(world) -> int:
    """Advisory locks held on the shared journal's database now (0 on SQLite: it has none)."""
    if world["journal"] == "sqlite":
        return 0
    from xlexec.store.pg_journal import PgJournal

    j = PgJournal(world["journal"])
    try:
        q = (
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        )
        return int(j._pg.execute(q).fetchone()[0])
    finally:
        j.close()


@pytest.mark.parametrize("world,point,what", RUNS, ids=[f"{r[0]}-{r[1]}" for r in RUNS], indirect=["world"])
def test_kill_9_then_rerun_completes_the_day(world, observe, point, what):
    from xlexec.core.orders import orders_from_trades, orders_sha256
    from xlexec.formats.trades import read_trades
    from xlexec.store import journal as J

    i = [c[0] for c in CRASHES].index(point)
    day = DAYS[i]
    fake, live, book = world["fake"], world["root"] / "live", world["book"]
    fake.fixed_now = U.ny(day, 10, 0)
    tpath = live / day / "trades.csv"
    tpath.parent.mkdir(parents=True, exist_ok=True)
    tpath.write_text(U.trades_text(day, N_ORDERS, seed=i))
    orders = orders_from_trades(read_trades(tpath), date=day)
    planned = U.as_sent(orders["client_order_id"])
    sha = orders_sha256(orders)
    if point.startswith("workbook_zip:EVENING"):
        members = len(zipfile.ZipFile(book).namelist()) if book.exists() else 40
        point = f"workbook_zip:{members + 7}"

    crashed = _run_day(world, day, point)
    killed = crashed.returncode == -signal.SIGKILL
    at_broker = [o["client_order_id"] for o in _broker_day(fake, day)]
    dup_after_kill = len(at_broker) - len(set(at_broker))
    bad_after_kill = _integrity(world)

    rerun = _run_day(world, day, None)

    # what the day looks like now
    orders_at = _broker_day(fake, day)
    coids = sorted(o["client_order_id"] for o in orders_at)
    per_leg = Counter((o["symbol"], o["side"]) for o in orders_at)
    acts = _activities(fake, day)
    jr = U.open_journal_of(live, world["journal"])
    try:
        intents = sorted(p["client_order_id"] for p in jr.payloads(J.INTENT, day))
        approvals = [p for p in jr.payloads(J.APPROVAL, day) if p.get("orders_sha256") == sha]
        fill_keys = {e.key for e in jr.events(J.FILL, day)}
        recon = jr.payloads(J.RECON, day)
    finally:
        jr.close()
    approvals_csv = (
        [
            r
            for r in csv.DictReader((live / "trade_approvals.csv").open(encoding="utf-8"))
            if r["date"] == day and r["orders_sha256"] == sha
        ]
        if (live / "trade_approvals.csv").exists()
        else []
    )
    fills_csv = (
        list(csv.DictReader((live / day / "broker_fills.csv").open(encoding="utf-8")))
        if (live / day / "broker_fills.csv").exists()
        else []
    )
    log_rows = (
        list(csv.DictReader((live / day / "execution_log.csv").open(encoding="utf-8")))
        if (live / day / "execution_log.csv").exists()
        else []
    )
    disc = (
        [ln for ln in (live / "discrepancies.log").read_text().splitlines() if ln.startswith(day)]
        if (live / "discrepancies.log").exists()
        else []
    )
    act_ids = {a["id"] for a in acts}
    duplicates = (
        dup_after_kill
        + sum(n - 1 for n in per_leg.values())
        + (len(coids) - len(set(coids)))
        + (len(fills_csv) - len({r.get("fill_id") for r in fills_csv}))
        + (len(disc) - len(set(disc)))
        + max(0, len(approvals) - 1)
    )
    lost = {
        "orders": len(set(planned) - set(coids)),
        "intents": len(set(planned) - set(intents)),
        "approvals_journal": 0 if approvals else 1,
        "approvals_csv": 0 if approvals_csv else 1,
        "fills_journal": len({f"id:{x}" for x in act_ids} - fill_keys),
        "fills_csv": len(act_ids - {r.get("fill_id") for r in fills_csv}),
        "execution_log": N_ORDERS - len(log_rows),
    }
    bad_after_rerun = _integrity(world)
    locks_left = _advisory_locks(world)
    observe(
        "crash",
        point=point,
        interrupts=what if world["journal"] == "sqlite" else f"{what} (shared journal)",
        day=day,
        killed=killed,
        rerun_rc=rerun.returncode,
        orders=len(planned),
        at_broker=len(coids),
        unexpected_at_broker=len(set(coids) - set(planned)),
        duplicates=duplicates,
        lost=sum(lost.values()),
        lost_detail=lost,
        fills=len(acts),
        bad_files_after_kill=bad_after_kill,
        bad_files_after_rerun=bad_after_rerun,
        temp_files_left=len(U.temp_leftovers(live)) + len(U.temp_leftovers(book.parent)),
        survived=bool(
            killed
            and rerun.returncode == 0
            and duplicates == 0
            and not any(lost.values())
            and not bad_after_kill
            and not bad_after_rerun
            and coids == planned
            and recon
        ),
    )

    assert killed, (crashed.returncode, crashed.stdout[-500:], crashed.stderr[-2000:])
    assert dup_after_kill == 0
    assert bad_after_kill == [], bad_after_kill
    assert rerun.returncode == 0, (rerun.stdout[-500:], rerun.stderr[-3000:])
    assert coids == planned  # exactly the approved orders, once each
    assert all(n == 1 for n in per_leg.values())
    assert intents == planned
    assert lost == dict.fromkeys(lost, 0), lost
    assert duplicates == 0
    assert recon, "the day was not reconciled"
    assert bad_after_rerun == [], bad_after_rerun
    assert locks_left == 0  # the killed process's day lock was freed, the rerun's released
    assert len(log_rows) == N_ORDERS and all(r["notes"] for r in log_rows)  # every order has a state
