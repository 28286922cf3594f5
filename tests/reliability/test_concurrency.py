"""Two (or three) ``xlexec submit`` processes on the same day at once: exactly one proceeds, the
others exit 3 naming the process that holds the day's lock; the journal stays consistent.

Each process is the real CLI (``xlexec.cli.app.main``) in its own interpreter. A small launcher
imports everything first and then waits for a start signal (a file), so the processes really
start together instead of one second apart; the fake broker's latency keeps the winner inside
its batch long enough for the others to collide with it.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from . import _support as U

pytestmark = [
    pytest.mark.skipif(sys.platform == "win32", reason="fcntl lock semantics tested on POSIX"),
    pytest.mark.slow,
]

DAY, DAY2 = "2025-11-03", "2025-11-04"
N = 30

LAUNCHER = r"""
import json, os, sys, time
from pathlib import Path
# warm up before the start
import xlexec.cli.app, xlexec.execution.engine, xlexec.execution.brokers.alpaca, alpaca.trading.client
a = json.loads(sys.argv[1])
go = Path(a["go"])
(go.parent / f"ready-{os.getpid()}").touch()
t0 = time.time()
while not go.exists() and time.time() - t0 < 30:
    time.sleep(0.002)
if a.get("after_lock"):          # start only once someone holds the day's lock
    lock = Path(a["after_lock"])
    while time.time() - t0 < 30 and not (lock.exists() and lock.read_text().startswith("pid")):
        time.sleep(0.002)
sys.exit(xlexec.cli.app.main(a["argv"]))
"""


def _spawn(argv: list[str], go: Path, cwd: Path, after_lock: Path | None = None) -> subprocess.Popen:
    args = {"argv": argv, "go": str(go), "after_lock": str(after_lock) if after_lock else None}
    return subprocess.Popen(
        [U.PY, "-c", LAUNCHER, json.dumps(args)],
        cwd=str(cwd),
        env=U.env_with_keys(),  # the fake broker's clock is the day (XLEXEC_NOW is paper-only)
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _start(go: Path, procs: list[subprocess.Popen]) -> None:
    """Wait until every launcher has imported everything, then let them all go at once."""
    t0 = time.time()
    while time.time() - t0 < 60 and not all(
        (go.parent / f"ready-{p.pid}").exists() or p.poll() is not None for p in procs
    ):
        time.sleep(0.01)
    go.touch()


def _finish(procs: list[subprocess.Popen]) -> list[tuple[int, str, str, int]]:
    out = []
    for p in procs:
        o, e = p.communicate(timeout=90)
        out.append((p.returncode, o, e, p.pid))
    return out


def _machine(root: Path, fake, journal: str) -> Path:
    """One operator's folder: ``root/config.yaml`` and ``root/live`` with both days' trades."""
    cfg = U.alpaca_config(root, fake.url, require_human_approval=False, max_concurrency=1, journal=journal)
    for d in (DAY, DAY2):
        t = root / "live" / d / "trades.csv"
        t.parent.mkdir(parents=True)
        t.write_text(U.trades_text(d, N))
    return cfg


@pytest.fixture
def world(tmp_path, journal):
    """``(root, fake broker, config, machine, journal)``; ``machine(i)`` is the i-th process's
    ``(folder, config)``: ``root`` for all on SQLite, ``root/m<i>`` (i > 0) on a shared journal."""
    # 0.1 s a request: the winner (4 requests at a time, bursts allowed) holds the day for about a
    # second, long enough for a process that starts once the lock is taken to collide with it
    with U.FakeAlpaca(now=U.ny(DAY, 9, 40), latency=0.1, buying_power=1e8, max_lifetime=120) as fake:
        cfg = _machine(tmp_path, fake, journal)
        made = {0: (tmp_path, cfg)}

        def machine(i: int) -> tuple[Path, Path]:
            if journal == "sqlite":
                return made[0]
            if i not in made:
                made[i] = (tmp_path / f"m{i}", _machine(tmp_path / f"m{i}", fake, journal))
            return made[i]

        yield tmp_path, fake, cfg, machine, journal


def _locked_line(line: str, pid: int, journal: str) -> bool:
    """``line`` names the process ``pid`` as the day's lock holder (on a shared journal, the
    database's lock: its holder text is cut to PostgreSQL's 63-character application name)."""
    if journal == "sqlite":
        return f"the day is locked by pid {pid} (" in line and "submit, since" in line
    return f"the day is locked by pid {pid} (" in line and "the shared journal's day lock" in line


def _planned(root: Path, day: str) -> list[str]:
    from xlexec.core.orders import orders_from_trades
    from xlexec.formats.trades import read_trades

    return U.as_sent(orders_from_trades(read_trades(root / "live" / day / "trades.csv"), date=day)["client_order_id"])


def _journal_state(root: Path, day: str, journal: str = "sqlite") -> dict:
    from xlexec.store import journal as J

    jr = U.open_journal_of(root / "live", journal)
    try:
        intents = [p["client_order_id"] for p in jr.payloads(J.INTENT, day)]
        submits = [p for p in jr.payloads(J.ACTION, day) if p.get("button") == "submit"]
    finally:
        jr.close()
    return {"intents": intents, "submits": submits, "problems": U.journal_problems_of(root / "live", journal)}


def _submit_argv(where: tuple[Path, Path], day: str = DAY) -> list[str]:
    folder, cfg = where
    return ["submit", str(folder / "live" / day / "trades.csv"), "--allow-closed", "--json", "--config", str(cfg)]


def test_three_submits_at_once_exactly_one_proceeds(world, observe):
    root, fake, cfg, machine, journal = world
    go = root / "GO"
    procs = [_spawn(_submit_argv(machine(i)), go, machine(i)[0]) for i in range(3)]
    _start(go, procs)
    res = _finish(procs)
    winners = [r for r in res if r[0] == 0]
    losers = [r for r in res if r[0] != 0]
    planned = _planned(root, DAY)
    coids = sorted(o["client_order_id"] for o in fake.orders.values())
    js = _journal_state(root, DAY, journal)
    named = [re.search(r"locked by pid (\d+) \(", r[2]) for r in losers]
    observe(
        "concurrency",
        scenario="3 x submit, same day" + ("" if journal == "sqlite" else ", 3 machines, shared journal"),
        processes=3,
        proceeded=len(winners),
        collisions=2,
        same_day_double=max(0, len(winners) - 1),
        locked_out=sum(1 for r in losers if r[0] == 3),
        holder_named=sum(1 for m in named if m),
        duplicates=len(coids) - len(set(coids)),
        at_broker=len(coids),
        orders=len(planned),
        journal_problems=len(js["problems"]),
        journal_intents=len(js["intents"]),
        submit_events=len(js["submits"]),
    )
    assert len(winners) == 1, [(r[0], r[2][-300:]) for r in res]
    win_pid = winners[0][3]
    for rc, out, err, _pid in losers:
        lines = err.strip().splitlines()
        assert rc == 3, err
        assert lines[0].startswith("xlexec submit: mode PAPER · alpaca")  # the mode, first
        assert lines[-1].startswith(f"xlexec submit: error: {DAY}: the day is locked by pid {win_pid} (")
        assert _locked_line(lines[-1], win_pid, journal) and "Traceback" not in err
        assert len(lines) == 2 and out == ""
    assert json.loads(winners[0][1])["sent"] == N
    assert coids == planned  # exactly once
    assert sorted(js["intents"]) == planned and len(js["submits"]) == 1 and js["problems"] == []
    # the lock was released: a rerun now proceeds and sends nothing (on a shared journal from a
    # machine that lost: its own lock file was never held, only the database's lock stopped it)
    again = machine(next(i for i, r in enumerate(res) if r[0] != 0))
    rerun = subprocess.run(
        [U.PY, "-m", "xlexec", *_submit_argv(again)],
        cwd=str(again[0]),
        env=U.env_with_keys(),
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert rerun.returncode == 0 and json.loads(rerun.stdout)["already_sent"] == N, rerun.stderr
    assert len(fake.orders) == N


def test_reconcile_during_submit_names_the_submit_and_other_days_run_in_parallel(world, observe):
    root, fake, cfg, machine, journal = world
    go = root / "GO"
    lock = root / "live" / DAY / ".xlexec.lock"  # the first submit's (machine 0)
    (m2, cfg2) = machine(2)
    (m2 / "live" / DAY / "broker_fills.csv").write_text(
        f"date,symbol,side,shares,price,commission,fill_time,order_id,client_order_id\n{DAY},XAB,buy,17,23.70,0,,,\n"
    )
    submit1 = _spawn(_submit_argv(machine(0)), go, root)
    submit2 = _spawn(_submit_argv(machine(1), DAY2), go, machine(1)[0])
    t1 = str(m2 / "live" / DAY / "trades.csv")
    recon = _spawn(["reconcile", "--trades", t1, "--config", str(cfg2)], go, m2, after_lock=lock)
    _start(go, [submit1, submit2, recon])
    (r1, r2, rr) = _finish([submit1, submit2, recon])
    js1, js2 = _journal_state(root, DAY, journal), _journal_state(root, DAY2, journal)
    coids = sorted(o["client_order_id"] for o in fake.orders.values())
    observe(
        "concurrency",
        scenario="reconcile during submit; submits of two days",
        processes=3,
        proceeded=int(r1[0] == 0) + int(r2[0] == 0),
        locked_out=int(rr[0] == 3),
        collisions=1,
        same_day_double=int(rr[0] == 0),
        holder_named=int(f"locked by pid {r1[3]} (" in rr[2]),
        duplicates=len(coids) - len(set(coids)),
        at_broker=len(coids),
        orders=N,
        journal_problems=len(js1["problems"]),
        journal_intents=len(js1["intents"]) + len(js2["intents"]),
        submit_events=len(js1["submits"]) + len(js2["submits"]),
    )
    assert r1[0] == 0, r1[2][-500:]
    # the other day's file is not blocked by the lock: it is refused, it is not today's session
    assert r2[0] == 1 and f"dated {DAY2} but today's session is {DAY}" in r2[2], r2[2][-500:]
    assert rr[0] == 3, rr[2]
    line = rr[2].strip().splitlines()[-1]
    assert _locked_line(line, r1[3], journal), line
    assert coids == _planned(root, DAY)
    assert js1["problems"] == [] and len(js1["intents"]) == N and js2["intents"] == []


def test_workbook_submit_while_the_cli_submits_names_the_holder(world, observe):
    from xlexec.excel.build import build_workbook

    root, fake, cfg, machine, journal = world
    go = root / "GO"
    (m1, cfg1) = machine(1)  # the workbook's operator (another machine on a shared journal)
    book = m1 / "wb.xlsx"
    build_workbook(book)
    before = book.read_bytes()
    lock = root / "live" / DAY / ".xlexec.lock"
    cli = _spawn(_submit_argv(machine(0)), go, root)
    btn = _spawn(
        ["button", "submit", "--book", str(book), "--day", DAY, "--json", "--config", str(cfg1)],
        go,
        m1,
        after_lock=lock,
    )
    _start(go, [cli, btn])
    (rc, out, err, pid), (brc, bout, berr, _) = _finish([cli, btn])
    res = json.loads(bout) if bout.strip().startswith("{") else {}
    observe(
        "concurrency",
        scenario="workbook Submit during CLI submit",
        processes=2,
        proceeded=int(rc == 0),
        collisions=1,
        same_day_double=int(rc == 0 and brc == 0),
        locked_out=int(brc == 3),
        holder_named=int(f"pid {pid}" in res.get("message", "")),
        duplicates=len(fake.orders) - len({o["client_order_id"] for o in fake.orders.values()}),
        at_broker=len(fake.orders),
        orders=N,
        journal_problems=0,
        journal_intents=N,
        submit_events=1,
    )
    assert rc == 0, err[-500:]
    assert brc == 3 and res.get("result") == "refused", (bout, berr[-500:])
    assert f"locked by pid {pid} (" in res["message"]
    assert book.read_bytes() == before or U.workbook_problems(book) == []
    assert len(fake.orders) == N
    js = _journal_state(root, DAY, journal)
    assert js["problems"] == [] and sorted(js["intents"]) == _planned(root, DAY)
    # the CLI's submit, and the workbook's refused one naming the holder (the journal keeps both)
    refused = [a for a in js["submits"] if f"locked by pid {pid} (" in str(a.get("message", ""))]
    assert len(js["submits"]) == 2 and len(refused) == 1, js["submits"]
