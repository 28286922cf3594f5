"""The shared journal on PostgreSQL, through the CLI: a desk of two operators on two machines.

Each operator has their own live folder (files stay per machine) and their own database login
(``journal init --trader alice --approver bob``); every command is ``python -m xlexec`` in its
own process, run from a temporary folder with ``--config``. The database is a fresh one of the
session's throwaway server (tests/pg_server.py). The paper broker's state lives in each live
folder, so "nothing reached the broker" is read from the operator's own ``paper_broker.sqlite``.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import sqlite3
from pathlib import Path

import psycopg
import pytest

from tests.conftest import GUIDE_TRADES
from tests.pg_server import cli
from xlexec.errors import LockedError
from xlexec.store import journal as J

DAY = "2025-10-30"
NOW = {"XLEXEC_NOW": "2025-10-30T14:00:00+00:00"}  # 10:00 New York, paper broker


@pytest.fixture
def desk(pg_server, tmp_path):
    """A database made by ``journal init`` (trader alice, approver bob) and each one's config."""
    db = pg_server.new_database(init=False)
    r = cli("journal", "init", "--url", pg_server.url(db), "--trader", "alice", "--approver", "bob", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "applied migration(s) 1, 2" in r.stdout
    cfgs = {}
    for who in ("alice", "bob"):
        live = tmp_path / who / "live"
        (live / DAY).mkdir(parents=True)
        # buys only: the paper account holds nothing to sell
        (live / DAY / "trades.csv").write_text(
            GUIDE_TRADES.replace("MSFT,sell,50,380.50,19025.00,-0.0300", "MSFT,buy,50,380.50,19025.00,0.0300")
        )
        cfg = tmp_path / who / "config.yaml"
        cfg.write_text(
            f"live_dir: {json.dumps(str(live))}\njournal: {json.dumps(pg_server.url(db, who))}\n"
            "execution:\n  broker: paper\n  require_four_eyes: true\n  max_order_size_usd: 100000\n"
            "  price_collar_pct: null\n"
        )
        cfgs[who] = cfg
    return pg_server, db, cfgs, tmp_path


def run(desk, who: str, *args: str):
    server, db, cfgs, tmp = desk
    a = list(args)
    if a[0] in ("approve", "submit"):
        a.insert(1, str(Path(cfgs[who]).parent / "live" / DAY / "trades.csv"))
    return cli(*a, "--config", str(cfgs[who]), env=NOW, cwd=tmp)


def at_broker(desk, who: str) -> list[str]:
    path = Path(desk[2][who]).parent / "live" / "paper_broker.sqlite"
    if not path.exists():
        return []
    con = sqlite3.connect(path)
    try:
        return sorted(r[0] for r in con.execute("SELECT client_order_id FROM orders"))
    finally:
        con.close()


def events(desk) -> list[tuple]:
    server, db, _, _ = desk
    return server.sql(db, "SELECT seq, kind, actor FROM events ORDER BY seq")


def test_journal_init_is_rerunnable_and_the_schema_versioned(desk):
    server, db, _, tmp = desk
    r = cli("journal", "init", "--url", server.url(db), "--json", cwd=tmp)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["applied"] == [] and json.loads(r.stdout)["version"] == 2
    assert server.sql(db, "SELECT version FROM xlexec_schema ORDER BY 1") == [(1,), (2,)]
    roles = server.sql(db, "SELECT r.rolname, m.rolname FROM pg_auth_members a JOIN pg_roles r ON r.oid = a.roleid "
                       "JOIN pg_roles m ON m.oid = a.member WHERE r.rolname LIKE 'xlexec_%' ORDER BY 1")  # fmt: skip
    # roles are the server's, shared by every database of this test server: other tests' logins
    # may hold them too; this desk's two hold exactly the one each was given
    mine = [(role, login) for role, login in roles if login in ("alice", "bob")]
    assert mine == [("xlexec_approver", "bob"), ("xlexec_trader", "alice")]


def test_one_submits_the_other_approves_and_sees_the_orders(desk):
    r = run(desk, "alice", "approve", "--by", "Alice", "--decision", "APPROVED", "--override", "--reason", "mine")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "database refused the login 'alice' appending a 'approval' event" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    r = run(desk, "alice", "submit", "--allow-closed")
    assert r.returncode == 1 and "no approval for these 3 orders" in r.stderr
    assert at_broker(desk, "alice") == []

    r = run(desk, "bob", "approve", "--by", "Bob", "--decision", "APPROVED", "--override", "--reason", "checked")
    assert r.returncode == 0, r.stderr
    r = run(desk, "bob", "submit", "--allow-closed")  # four-eyes: the approver may not send what he approved
    assert r.returncode == 1 and "require_four_eyes" in r.stderr and "'bob'" in r.stderr
    assert at_broker(desk, "bob") == []

    r = run(desk, "alice", "submit", "--allow-closed", "--json")
    assert r.returncode == 0, r.stdout[-1500:] + r.stderr[-1500:]
    sent = at_broker(desk, "alice")
    assert len(sent) == 3
    r = run(desk, "bob", "status", "--date", DAY, "--json")  # the second machine sees the first one's orders
    assert r.returncode == 0, r.stderr
    assert sorted(o["client_order_id"] for o in json.loads(r.stdout)["orders"]) == sent
    r = run(desk, "alice", "submit", "--allow-closed", "--json")  # a rerun sends nothing
    assert r.returncode == 0 and at_broker(desk, "alice") == sent

    got = events(desk)
    assert {a for _, k, a in got if k == J.APPROVAL} == {"bob"}
    assert {a for _, k, a in got if k == J.INTENT} == {"alice"}
    for who in ("alice", "bob"):
        r = run(desk, who, "journal", "verify", "--json")
        assert r.returncode == 0 and json.loads(r.stdout)["n_events"] == len(got), r.stdout


def test_the_database_refuses_what_a_role_may_not_write(desk):
    """A correctly chained row (xlexec's own append) of a kind the role may not write is refused
    by row-level security; a hand-written row without its chain by the chain check (the rest of
    those checks: tests/test_journal_pg_attacks.py)."""
    from xlexec.errors import RefusedError
    from xlexec.store.pg_journal import PgJournal

    server, db, _, _ = desk
    with PgJournal(server.url(db, "alice")) as j, pytest.raises(RefusedError, match="row-level security"):
        j.append(J.APPROVAL, f"{DAY}|abc|1", {"decision": "APPROVED"}, day=DAY)
    with PgJournal(server.url(db, "bob")) as j, pytest.raises(RefusedError, match="row-level security"):
        j.append(J.INTENT, "k1", {}, day=DAY)
    row = "(1, '2025-10-30', '{k}', 'k1', '{a}', '{{}}', '{{}}')"
    cols = "INSERT INTO events (seq, day, kind, key, actor, payload, payload_text) VALUES "
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="must be the database login alice"):
        server.sql(db, cols + row.format(k=J.INTENT, a="bob"), login="alice")
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="is not the hash of the event before it"):
        server.sql(db, cols + row.format(k=J.INTENT, a="alice"), login="alice")
    with PgJournal(server.url(db, "alice")) as j:
        assert j.append(J.INTENT, "k1", {}, day=DAY) is True
    for q in ("UPDATE events SET key = 'x'", "DELETE FROM events", "TRUNCATE events"):
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            server.sql(db, q, login="alice")
    assert server.sql(db, "SELECT kind, actor FROM events") == [(J.INTENT, "alice")]


def test_a_literal_password_in_the_journal_url_is_refused(desk, tmp_path):
    server, db, _, _ = desk
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(f"live_dir: {json.dumps(str(tmp_path / 'x'))}\njournal: postgresql://alice:hunter2@/db\n")
    r = cli("journal", "verify", "--config", str(cfg), cwd=tmp_path)
    assert r.returncode == 2 and "journal: Value error, holds a literal password" in r.stderr
    assert "hunter2" not in r.stderr
    url = server.url(db, "alice").replace("alice@", "alice:${XLEXEC_TEST_PGPW}@")
    cfg.write_text(f"live_dir: {json.dumps(str(tmp_path / 'x'))}\njournal: {json.dumps(url)}\n")
    r = cli("journal", "verify", "--config", str(cfg), env={"XLEXEC_TEST_PGPW": "s3cret"}, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "journal OK: no events yet" in r.stdout and "s3cret" not in r.stdout + r.stderr


def test_journal_copy_moves_a_sqlite_journal_verified_and_safe_to_rerun(desk, tmp_path):
    server, db, cfgs, _ = desk
    src = tmp_path / "old" / "journal.sqlite"
    with J.Journal(src) as j:
        j.append(J.APPROVAL, f"{DAY}|abc|1", {"decision": "APPROVED", "px": 1.1, "n": None}, day=DAY, actor="Ann")
        for i in range(30):
            j.append(J.INTENT, f"coid-{i}", {"symbol": "AAPL", "qty": i, "name": "café"}, day=DAY, actor="ops")
        j.append_many(J.FILL, [(f"f{i}", {"q": i}) for i in range(5)], day="2025-10-31")
        head = j.verify().head_sha256
    owner = server.url(db)
    r = cli("journal", "copy", "--from", f"sqlite://{src}", "--to", owner, "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert (out["n_source"], out["n_copied"], out["head_sha256"]) == (36, 36, head)
    r = cli("journal", "copy", "--from", f"sqlite://{src}", "--to", owner, "--json", cwd=tmp_path)
    assert r.returncode == 0 and json.loads(r.stdout)["n_copied"] == 0
    r = run(desk, "bob", "journal", "verify", "--json")  # through the operator's config
    assert r.returncode == 0 and json.loads(r.stdout)["head_sha256"] == head
    assert server.sql(db, "SELECT actor FROM events WHERE seq = 1") == [("Ann",)]  # the owner keeps the actors
    with J.Journal(src) as j:  # a source that grew differently from what was copied is refused
        j.append(J.INTENT, "later", {}, day=DAY)
    other = tmp_path / "other" / "journal.sqlite"
    with J.Journal(other) as j:
        j.append(J.INTENT, "someone-else", {}, day=DAY)
    r = cli("journal", "copy", "--from", f"sqlite://{other}", "--to", owner, cwd=tmp_path)
    assert r.returncode == 1 and "the target holds" in r.stderr
    assert server.sql(db, "SELECT count(*) FROM events") == [(36,)]
    r = cli("journal", "copy", "--from", f"sqlite://{src}", "--to", owner, "--json", cwd=tmp_path)
    assert r.returncode == 0 and json.loads(r.stdout)["n_copied"] == 1


def test_an_edit_around_xlexec_is_found_on_postgresql(desk):
    server, db, cfgs, _ = desk
    r = run(desk, "bob", "approve", "--by", "Bob", "--decision", "APPROVED", "--override", "--reason", "checked")
    assert r.returncode == 0, r.stderr
    seq = server.sql(db, "SELECT seq FROM events WHERE kind = 'approval'")[0][0]
    server.sql(db, "ALTER TABLE events DISABLE TRIGGER USER")  # the owner, around xlexec
    server.sql(db, 'UPDATE events SET payload = payload || \'{"decision": "REJECTED"}\' WHERE seq = %s', (seq,))
    server.sql(db, "ALTER TABLE events ENABLE TRIGGER USER")
    r = run(desk, "alice", "journal", "verify")
    assert r.returncode == 1 and f"BROKEN at seq {seq}: edited" in r.stdout
    r = run(desk, "alice", "submit", "--allow-closed")
    assert r.returncode == 1 and at_broker(desk, "alice") == []


def _hold(url: str, live: str, q) -> None:
    J.use_journal(live, url)
    with J.DayLock(Path(live) / DAY, "holder-test"):
        q.put("held")
        q.get()


def test_the_day_lock_is_shared_and_freed_when_its_holder_is_killed(desk, tmp_path):
    server, db, _, _ = desk
    url = server.url(db, "alice")
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    p = ctx.Process(target=_hold, args=(url, str(tmp_path / "m1"), q))
    p.start()
    other = tmp_path / "m2"  # another machine: its own live folder, its own lock file
    J.use_journal(other, url)
    try:
        assert q.get(timeout=30) == "held"
        with pytest.raises(LockedError, match="shared journal's day lock") as ei:
            J.DayLock(other / DAY).acquire()
        assert f"pid {p.pid}" in str(ei.value) and "holder-test" in str(ei.value)
        p.kill()  # SIGKILL: the server ends its session and frees the lock
        p.join(10)
        for _ in range(100):
            try:
                with J.DayLock(other / DAY):
                    break
            except LockedError:
                import time

                time.sleep(0.05)
        else:
            pytest.fail("the advisory lock was not freed after its holder was killed")
    finally:
        J.use_journal(other, None)
        if p.is_alive():
            p.kill()
