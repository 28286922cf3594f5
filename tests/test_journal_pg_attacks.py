"""The shared journal against its own logins: what a trader or approver login can try with psql.

Every attack goes around xlexec, straight to the database as the login a desk member has (a
trader ``alice``, an approver ``bob``, from ``xlexec journal init``), on a fresh database of the
session's throwaway server (tests/pg_server.py). Each must be refused by the database itself and
leave the journal as it was; ``xlexec journal verify`` (the CLI, a subprocess) still says OK, and
xlexec's own appends by the same logins still go through. A row is forged with the chain recipe
written out again here (tests/test_journal_contract.py), so only the database's checks stop it.
"""

from __future__ import annotations

import datetime as dt
import json
import math

import psycopg
import pytest

from tests.pg_server import cli
from tests.test_journal_contract import ZERO, recipe
from xlexec.errors import LockedError, RefusedError
from xlexec.store import journal as J
from xlexec.store.pg_journal import PgJournal, init_schema

DAY = "2025-10-30"


@pytest.fixture
def db(pg_server):
    name = pg_server.new_database(init=False)
    init_schema(pg_server.url(name), traders=("alice",), approvers=("bob",))
    with PgJournal(pg_server.url(name, "alice")) as j:  # two events by xlexec, as the trader
        j.append(J.INTENT, "coid-1", {"symbol": "AAPL", "qty": 10}, day=DAY, actor="Alice")
        j.append(J.FILL, "f-1", {"px": 1.5}, day=DAY)
    return pg_server, name


def rows(db) -> list[tuple]:
    server, name = db
    return server.sql(name, "SELECT seq, kind, key, actor, sha256 FROM events ORDER BY seq")


def verify(db, tmp_path) -> tuple[int, str]:
    server, name = db
    cfg = tmp_path / "verify.yaml"
    cfg.write_text(f"live_dir: {json.dumps(str(tmp_path / 'live'))}\njournal: {json.dumps(server.url(name, 'bob'))}\n")
    r = cli("journal", "verify", "--config", str(cfg), cwd=tmp_path)
    return r.returncode, r.stdout + r.stderr


def forge(db, login: str, kind: str = J.INTENT, key: str = "forged", payload_text: str = '{"qty": 1}', **change):
    """Insert one row as ``login`` the way xlexec would (next seq, the head's hash as prev, the
    transaction's time, the recipe's hash), with the columns in ``change`` replaced; the SQL
    error's message, or None when the row went in. A callable in ``change`` gets the value it replaces."""
    server, name = db
    with psycopg.connect(server.url(name, login)) as con:
        try:
            with con.transaction():
                if "setup" in change:
                    for q in change.pop("setup"):
                        con.execute(q)
                seq, prev = con.execute("SELECT seq + 1, sha256 FROM events ORDER BY seq DESC LIMIT 1").fetchone() or (
                    1,
                    ZERO,
                )
                now = con.execute("SELECT date_trunc('milliseconds', clock_timestamp())").fetchone()[0]
                row = {"seq": seq, "ts_utc": now, "day": DAY, "kind": kind, "key": key, "actor": login,
                       "payload_text": payload_text, "prev_sha256": prev, "account": None}  # fmt: skip
                for k, v in change.items():
                    if k not in ("payload", "sha256"):
                        row[k] = v(row[k]) if callable(v) else v
                ts = row["ts_utc"].astimezone(dt.UTC).isoformat(timespec="milliseconds")
                fields = [row[k] for k in ("seq", "day", "kind", "key", "actor", "payload_text", "prev_sha256")]
                sha = recipe(fields[0], ts, *fields[1:])
                row["sha256"] = change.get("sha256", sha)
                row["payload"] = change.get("payload", payload_text)
                cols = list(row)
                con.execute(
                    f"INSERT INTO events ({', '.join(cols)}) VALUES ({', '.join('%s' for _ in cols)})",
                    [row[c] for c in cols],
                )
        except psycopg.Error as e:
            return str(e).splitlines()[0]
    return None


def test_a_row_forged_the_way_xlexec_writes_it_goes_in(db, tmp_path):
    """The forger's recipe is right: the refusals below are the database's checks, nothing else."""
    assert forge(db, "alice") is None
    assert [r[2] for r in rows(db)] == ["coid-1", "f-1", "forged"]
    assert verify(db, tmp_path)[0] == 0


@pytest.mark.parametrize(
    ("change", "refusal"),
    [
        ({"seq": 9}, "seq 9 is not the next seq (3)"),  # a gap (a later insert at 3 would fork)
        ({"seq": 2}, "seq 2 is not the next seq (3)"),
        ({"prev_sha256": "a" * 64}, "prev_sha256 of seq 3 is not the hash of the event before it"),
        ({"prev_sha256": None}, "prev_sha256 of seq 3 is not the hash of the event before it"),
        ({"sha256": "b" * 64}, "sha256 of seq 3 is not its hash by the chain recipe"),
        ({"sha256": None}, "sha256 of seq 3 is not its hash by the chain recipe"),
        ({"ts_utc": dt.datetime(2025, 10, 29, 14, tzinfo=dt.UTC)}, "is not the time of this transaction"),
        ({"ts_utc": dt.datetime(2099, 1, 1, tzinfo=dt.UTC)}, "is not the time of this transaction"),
        ({"actor": "bob"}, "must be the database login alice (got bob)"),
        ({"actor": None}, "must be the database login alice (got <NULL>)"),
        ({"account": "PA0000001"}, "the account column is reserved"),
        ({"payload": '{"qty": 1000}'}, "payload (jsonb) of seq 3 is not its payload_text"),
    ],
    ids=[
        "gap",
        "seq-reused",
        "prev",
        "prev-null",
        "hash",
        "hash-null",
        "backdated",
        "future",
        "actor",
        "actor-null",
        "account",
        "jsonb",
    ],  # fmt: skip
)
def test_a_trader_cannot_write_a_row_that_breaks_forks_or_misdates_the_chain(db, change, refusal):
    before = rows(db)
    why = forge(db, "alice", **change)
    assert why is not None and refusal in why, why
    assert rows(db) == before
    with PgJournal(db[0].url(db[1], "alice")) as j:  # xlexec's next append still chains on
        assert j.verify().ok
        assert j.append(J.INTENT, "coid-2", {"qty": 2}, day=DAY) is True
        assert j.verify().ok and j.verify().n_events == 3


def test_a_time_finer_than_the_millisecond_is_refused(db):
    """The recipe hashes milliseconds: a finer time would hash one value and read back another."""
    why = forge(db, "alice", ts_utc=lambda now: now + dt.timedelta(microseconds=1))
    assert why is not None and "is not the time of this transaction" in why
    assert len(rows(db)) == 2


def test_a_temporary_table_cannot_stand_in_for_the_catalog_or_the_head(db, tmp_path):
    """pg_temp is searched first for tables unless named last: the trigger functions name it last."""
    fake_owner = [
        "CREATE TEMP TABLE pg_class (oid oid, relowner oid)",
        "INSERT INTO pg_class SELECT 'events'::regclass, (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = 'alice')",
    ]
    why = forge(db, "alice", actor="bob", setup=fake_owner)  # "I own the table": write as bob
    assert why is not None and "must be the database login alice (got bob)" in why
    fake_head = ["CREATE TEMP TABLE xlexec_head (id int, last_seq bigint)", "INSERT INTO xlexec_head VALUES (1, 0)"]
    assert forge(db, "alice", setup=fake_head) is None
    server, name = db
    assert server.sql(name, "SELECT last_seq FROM xlexec_head") == [(3,)]  # the real head moved
    assert [r[3] for r in rows(db)] == ["alice"] * 3
    assert verify(db, tmp_path)[0] == 0


def test_a_trader_cannot_pass_a_loosening_policy_off_as_a_proposal(db, tmp_path):
    loose = json.dumps({"status": "in_force", "loosened": ["max_order_size_usd"], "policy": {"x": 1}}, sort_keys=True)
    why = forge(db, "alice", kind=J.POLICY, key="p|in_force|0", payload_text=loose, payload='{"status": "proposed"}')
    assert why is not None and "payload (jsonb) of seq 3 is not its payload_text" in why
    # the text alone, NaN making it unreadable to the database: refused for a policy event
    nan = loose.replace('"x": 1', '"x": NaN')
    why = forge(db, "alice", kind=J.POLICY, key="p|in_force|0", payload_text=nan, payload='{"status": "proposed"}')
    assert why is not None and "must be JSON the database reads" in why
    why = forge(db, "alice", kind=J.POLICY, key="p|in_force|0", payload_text=loose, payload=loose)
    assert why is not None and "row-level security" in why
    assert len(rows(db)) == 2 and verify(db, tmp_path)[0] == 0
    proposal = json.dumps({"status": "proposed", "loosened": ["max_order_size_usd"]})
    assert forge(db, "alice", kind=J.POLICY, key="p|proposed|0", payload_text=proposal, payload=proposal) is None


def test_the_approver_cannot_date_an_approval_for_another_day(db):
    tomorrow = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=1)
    text = json.dumps({"decision": "APPROVED", "orders_sha256": "abc"})
    why = forge(db, "bob", kind=J.APPROVAL, key=f"{DAY}|abc|1", payload_text=text, ts_utc=tomorrow)
    assert why is not None and "is not the time of this transaction" in why
    assert forge(db, "bob", kind=J.APPROVAL, key=f"{DAY}|abc|1", payload_text=text) is None  # today: fine


def test_a_payload_with_nan_still_appends_through_xlexec(db, tmp_path):
    with PgJournal(db[0].url(db[1], "alice")) as j:
        assert j.append(J.FILL, "f-nan", {"px": math.nan, "q": math.inf}, day=DAY) is True
        assert math.isnan(j.payloads(J.FILL)[-1]["px"])
    assert verify(db, tmp_path)[0] == 0


def test_the_trader_login_cannot_lift_the_controls(db):
    server, name = db
    tries = [
        "SET ROLE xlexec_approver",
        "SET ROLE postgres",
        "SET SESSION AUTHORIZATION bob",
        "SET session_replication_role = replica",  # would skip every trigger
        "ALTER TABLE events DISABLE TRIGGER USER",
        "DROP TRIGGER events_check ON events",
        "ALTER POLICY trader_append ON events WITH CHECK (true)",
        "CREATE OR REPLACE FUNCTION xlexec_check_append() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END'",
        "CREATE FUNCTION public.pg_has_role(name, oid, text) RETURNS bool LANGUAGE sql AS 'SELECT true'",
        "UPDATE xlexec_head SET last_seq = 0",
        "INSERT INTO xlexec_schema (version, description) VALUES (99, 'mine')",
        "DELETE FROM xlexec_schema",
        "UPDATE events SET actor = 'bob'",
        "GRANT xlexec_approver TO alice",
    ]
    for q in tries:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            server.sql(name, q, login="alice")
    assert server.sql(name, "SELECT version FROM xlexec_schema ORDER BY 1") == [(1,), (2,)]
    assert server.sql(name, "SELECT last_seq FROM xlexec_head") == [(2,)]
    assert server.sql(name, "SELECT count(*) FROM pg_auth_members a JOIN pg_roles r ON r.oid = a.member "
                      "WHERE r.rolname = 'alice'") == [(1,)]  # fmt: skip


def test_the_day_lock_names_the_real_login_whatever_the_application_name(db, tmp_path):
    """Any desk login can take a day's advisory lock (and so hold a submit off): the refusal
    names its database login, which a connection cannot choose, beside the holder text it can."""
    server, name = db
    k = "SELECT pg_try_advisory_lock(hashtext('xlexec-day|' || current_database()), hashtext(%s))"
    with psycopg.connect(server.url(name, "bob"), application_name="xlexec lock pid 1 (alice@desk, submit)") as con:
        assert con.execute(k, (DAY,)).fetchone()[0] is True
        live = tmp_path / "m"
        J.use_journal(live, server.url(name, "alice"))
        try:
            with pytest.raises(LockedError, match="database login bob"):
                J.DayLock(live / DAY).acquire()
        finally:
            J.use_journal(live, None)


def test_xlexec_refuses_in_one_line_what_the_database_refuses(db):
    with PgJournal(db[0].url(db[1], "alice")) as j, pytest.raises(RefusedError, match="row-level security"):
        j.append(J.APPROVAL, f"{DAY}|abc|1", {"decision": "APPROVED"}, day=DAY)


@pytest.mark.parametrize("right_hash", [False, True], ids=["wrong-hash", "right-hash"])
def test_a_row_the_owner_wrote_with_the_triggers_off_is_found_by_verify(db, tmp_path, right_hash):
    """The owner can lift the triggers: a row so written, even hashed by the recipe, is past the
    head counter the trigger keeps, and ``journal verify`` names it."""
    server, name = db
    server.sql(name, "ALTER TABLE events DISABLE TRIGGER USER")
    try:
        why = forge(db, "postgres", **({} if right_hash else {"sha256": "c" * 64}))
    finally:
        server.sql(name, "ALTER TABLE events ENABLE TRIGGER USER")
    assert why is None and len(rows(db)) == 3
    rc, out = verify(db, tmp_path)
    assert rc == 1, out
    assert "BROKEN at seq 3: edited" in out
    if right_hash:
        assert "seq 3..3 were written with the journal's triggers off (its head counter says 2)" in out
