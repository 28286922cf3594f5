"""The journal's contract, on both backends: SQLite (``live/journal.sqlite``) and PostgreSQL.

Each test runs twice (the ``backend`` fixture, tests/conftest.py): once on a SQLite file, once
on a fresh database of a real PostgreSQL server the session started (tests/pg_server.py). The
stored rows are read back around xlexec (sqlite3, or SQL as the owner) and the hash chain is
walked with the recipe written out again here, so both backends must store the same thing the
same way; tampering goes around xlexec too (drop or disable the append-only triggers).
"""

from __future__ import annotations

import hashlib
import multiprocessing as mp
import sqlite3
import threading

import pytest

from xlexec.store.journal import APPROVAL, FILL, INTENT, ORDER

ZERO = "0" * 64
DAY, DAY2 = "2025-10-30", "2025-10-31"


def _field(v) -> str:
    if v is None:
        return "n"
    if isinstance(v, int):
        return f"i{v}"
    return f"s{len(v)}:{v}"


def recipe(seq, ts, day, kind, key, actor, payload, prev) -> str:
    lines = ["xlexec-journal-chain/1"] + [_field(v) for v in (seq, ts, day, kind, key, actor, payload, prev)]
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


def raw_rows(b) -> list[tuple]:
    """(seq, ts text, day, kind, key, actor, payload text, prev, hash) read around xlexec."""
    if b.name == "sqlite":
        con = sqlite3.connect(b.url)
        try:
            return con.execute(
                "SELECT seq, ts_utc, day, kind, key, actor, payload, prev_sha256, sha256 FROM events ORDER BY seq"
            ).fetchall()
        finally:
            con.close()
    return b.server.sql(
        b.db,
        "SELECT seq, to_char(ts_utc AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"+00:00\"'),"
        " to_char(day, 'YYYY-MM-DD'), kind, key, actor, payload_text, prev_sha256, sha256 FROM events ORDER BY seq",
    )


def walk(b) -> list[str]:
    """What is wrong with the chain, found without xlexec's verifier (empty = intact)."""
    bad, prev, last = [], ZERO, 0
    for r in raw_rows(b):
        if r[7] != prev:
            bad.append(f"seq {r[0]}: prev is not the hash before")
        if r[0] != last + 1:
            bad.append(f"seq {r[0]} after {last}")
        if recipe(*r[:7], r[7]) != r[8]:
            bad.append(f"seq {r[0]}: hash does not match the recipe")
        prev, last = r[8], r[0]
    return bad


def tamper(b, *statements: str) -> None:
    """What the holder of the file, or the database's owner, can do: lift the triggers, change rows."""
    if b.name == "sqlite":
        con = sqlite3.connect(b.url)
        try:
            con.execute("DROP TRIGGER IF EXISTS events_no_update")
            con.execute("DROP TRIGGER IF EXISTS events_no_delete")
            for s in statements:
                con.execute(s)
            con.commit()
        finally:
            con.close()
        return
    b.server.sql(b.db, "ALTER TABLE events DISABLE TRIGGER USER")
    for s in statements:
        b.server.sql(b.db, s)
    b.server.sql(b.db, "ALTER TABLE events ENABLE TRIGGER USER")


def five(b):
    with b() as j:
        j.append(APPROVAL, f"{DAY}|abc|1", {"decision": "APPROVED", "orders_sha256": "abc"}, day=DAY, actor="ann")
        for i in range(4):
            j.append(INTENT, f"coid-{i}", {"symbol": "AAPL", "qty": 10 + i, "px": 1.25}, day=DAY, actor="ops")


# ---------------------------------------------------------------- appends and reads


def test_append_dedupes_on_kind_and_key(backend):
    j = backend()
    assert j.append(INTENT, "coid-1", {"qty": 5}, day=DAY) is True
    assert j.append(INTENT, "coid-1", {"qty": 6}, day=DAY) is False
    assert j.payloads(INTENT) == [{"qty": 5}]
    assert j.append_many(FILL, [("f1", {"a": 1}), ("f2", {"a": 2}), ("f1", {"a": 3})], day=DAY) == 2
    assert j.append_many(FILL, [("f1", {"a": 9}), ("f3", {"a": 3})], day=DAY) == 1
    assert [e.key for e in j.events(FILL)] == ["f1", "f2", "f3"]
    assert j.has(FILL, "f2") and not j.has(FILL, "f9") and not j.has(INTENT, "f1")
    j.close()


def test_reads_by_kind_and_day_in_journal_order(backend):
    with backend() as j:
        j.append(ORDER, "c1|new|0", {"client_order_id": "c1", "status": "new"}, day=DAY)
        j.append(FILL, "x", {"n": [1, 2.5, None, "é"]}, day=DAY2)
        j.append(ORDER, "c1|filled|10", {"client_order_id": "c1", "status": "filled"}, day=DAY)
        j.append(ORDER, "c2|new|0", {"status": "new"}, day=DAY2)
    with backend() as j:  # another connection sees it all
        assert [e.key for e in j.events(ORDER, DAY)] == ["c1|new|0", "c1|filled|10"]
        assert [e.seq for e in j.events()] == [1, 2, 3, 4]
        assert j.payloads(FILL, DAY2) == [{"n": [1, 2.5, None, "é"]}]
        assert j.events(FILL, DAY) == []
        assert j.days() == [DAY, DAY2]
        assert j.latest_orders(DAY) == {"c1": {"client_order_id": "c1", "status": "filled"}}
        assert j.latest_orders(DAY2) == {"c2": {"status": "new"}}
        e = j.events(FILL)[0]
        assert (e.day, e.kind, e.key) == (DAY2, FILL, "x")
        assert e.ts_utc.endswith("+00:00") and len(e.ts_utc) == len("2025-10-30T14:00:00.000+00:00")


def test_transaction_rolls_back_as_a_whole(backend):
    j = backend()
    with pytest.raises(RuntimeError), j.transaction():
        j.append(INTENT, "a", {}, day=DAY)
        with j.transaction():  # nested: joins the outer one
            j.append(INTENT, "b", {}, day=DAY)
        raise RuntimeError("boom")
    assert j.events() == []
    with j.transaction():
        j.append(INTENT, "a", {}, day=DAY)
        j.append_many(FILL, [("f", {})], day=DAY)
    assert [e.key for e in j.events()] == ["a", "f"]
    assert walk(backend) == []
    j.close()


def test_rows_are_append_only(backend):
    five(backend)
    if backend.name == "sqlite":
        con = sqlite3.connect(backend.url)
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            con.execute("UPDATE events SET payload='{}'")
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            con.execute("DELETE FROM events")
    else:
        import psycopg

        for q in ("UPDATE events SET payload_text='{}'", "DELETE FROM events", "TRUNCATE events"):
            with pytest.raises(psycopg.Error, match="append-only"):  # even the owner, while the trigger stands
                backend.server.sql(backend.db, q)
    assert len(raw_rows(backend)) == 5


# ---------------------------------------------------------------- the hash chain


def test_every_event_carries_the_hash_of_the_one_before(backend):
    five(backend)
    got = raw_rows(backend)
    assert [r[0] for r in got] == [1, 2, 3, 4, 5]
    assert got[0][7] == ZERO
    assert walk(backend) == []
    with backend() as j:
        rep = j.verify()
    assert rep.ok and rep.n_events == 5 and rep.head_seq == 5 and rep.head_sha256 == got[-1][8]


def test_an_ignored_duplicate_does_not_advance_the_chain(backend):
    five(backend)
    before = raw_rows(backend)
    with backend() as j:
        assert j.append(INTENT, "coid-1", {"again": True}, day=DAY) is False
        assert j.append_many(INTENT, [("coid-2", {}), ("coid-3", {})], day=DAY) == 0
        assert j.append(INTENT, "coid-9", {}, day=DAY) is True
    after = raw_rows(backend)
    assert after[:5] == before and after[5][0] == 6 and after[5][7] == before[-1][8]
    assert walk(backend) == []


def test_threads_sharing_one_journal_keep_one_chain(backend):
    j = backend()

    def work(t):
        for i in range(15):
            j.append(INTENT, f"t{t}-{i}", {"i": i}, day=DAY)

    ts = [threading.Thread(target=work, args=(t,)) for t in range(3)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    j.close()
    assert len(raw_rows(backend)) == 45
    assert walk(backend) == []


def _appender(b, name: str, barrier, n: int) -> None:
    barrier.wait()
    with b() as j:
        for i in range(n):
            if i % 5 == 4:
                j.append_many(FILL, [(f"{name}-f{i}-{k}", {"k": k}) for k in range(3)], day=DAY, actor=name)
            else:
                j.append(INTENT, f"{name}-{i}", {"i": i}, day=DAY, actor=name)
            j.append(INTENT, f"shared-{i}", {"by": name}, day=DAY, actor=name)  # both try: one wins


def test_two_processes_appending_at_once_keep_one_chain(backend):
    backend().close()
    ctx = mp.get_context("fork")
    barrier = ctx.Barrier(2)
    n = 60
    procs = [ctx.Process(target=_appender, args=(backend, name, barrier, n)) for name in ("p1", "p2")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0]
    got = raw_rows(backend)
    per_process = (n - n // 5) + (n // 5) * 3
    assert len(got) == 2 * per_process + n  # each shared key once
    assert [r[0] for r in got] == list(range(1, len(got) + 1))
    assert walk(backend) == []
    with backend() as j:
        assert j.verify().ok


def test_an_edited_payload_is_named_by_its_seq(backend):
    five(backend)
    col = "payload" if backend.name == "sqlite" else "payload_text"
    tamper(backend, f"""UPDATE events SET {col} = '{{"px": 1.25, "qty": 99, "symbol": "AAPL"}}' WHERE seq = 3""")
    with backend() as j:
        rep = j.verify()
    assert (rep.ok, rep.broken_seq, rep.problem) == (False, 3, "edited")


def test_a_deleted_row_is_a_gap_and_a_cut_end_is_truncated(backend):
    five(backend)
    tamper(backend, "DELETE FROM events WHERE seq = 5")
    with backend() as j:
        rep = j.verify()
    assert (rep.ok, rep.broken_seq, rep.problem) == (False, 5, "truncated")
    tamper(backend, "DELETE FROM events WHERE seq = 2")
    with backend() as j:
        rep = j.verify()
    assert (rep.ok, rep.broken_seq, rep.problem) == (False, 3, "gap")


def test_two_rows_swapped_are_named(backend):
    five(backend)
    tamper(
        backend,
        "UPDATE events SET seq = 100 WHERE seq = 2",
        "UPDATE events SET seq = 2 WHERE seq = 3",
        "UPDATE events SET seq = 3 WHERE seq = 100",
    )
    with backend() as j:
        rep = j.verify()
    assert not rep.ok and rep.broken_seq == 2 and rep.problem in ("reordered", "bad_prev")


def test_the_noted_head_must_stay_in_the_chain(backend):
    five(backend)
    head = raw_rows(backend)[2][8]
    with backend() as j:
        j.append(FILL, "later", {}, day=DAY)
        assert j.verify(expect_head=head).expected_head_seq == 3
        rep = j.verify(expect_head="f" * 64)
    assert (rep.ok, rep.problem) == (False, "head")


# ---------------------------------------------------------------- tampering (tests/test_journal_chain.py's, on both)


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("actor", "'mallory'"),
        ("kind", "'fill'"),
        ("key", "'coid-x'"),
        ("day", "'2025-10-31'"),
        ("ts_utc", "'2025-10-30T00:00:00.000+00:00'"),
        ("actor", "NULL"),
    ],  # fmt: skip
)
def test_any_column_edited_is_found(backend, column, value):
    five(backend)
    tamper(backend, f"UPDATE events SET {column} = {value} WHERE seq = 3")
    with backend() as j:
        rep = j.verify()
    assert (rep.ok, rep.broken_seq, rep.problem) == (False, 3, "edited")


def test_an_edit_with_its_own_hash_recomputed_breaks_the_next_link(backend):
    five(backend)
    r = raw_rows(backend)[1]
    forged = r[6].replace('"qty": 10', '"qty": 1000')
    assert forged != r[6]
    sha = recipe(*r[:6], forged, r[7])
    both = "payload" if backend.name == "sqlite" else f"payload = '{forged}'::jsonb, payload_text"
    tamper(backend, f"UPDATE events SET {both} = '{forged}', sha256 = '{sha}' WHERE seq = 2")
    with backend() as j:
        rep = j.verify()
    assert (rep.ok, rep.broken_seq, rep.problem) == (False, 3, "bad_prev")
    assert "is not the hash of seq 2" in rep.detail


def test_hashes_removed_after_the_chain_start_are_refused(backend):
    five(backend)
    tamper(backend, "UPDATE events SET sha256 = NULL, prev_sha256 = NULL WHERE seq = 4")
    with backend() as j:
        rep = j.verify()
    assert (rep.ok, rep.broken_seq, rep.problem) == (False, 4, "unchained")


def test_an_end_cut_with_the_counter_wound_back_needs_the_noted_head(backend):
    five(backend)
    head = raw_rows(backend)[-1][8]
    counter = (
        "UPDATE sqlite_sequence SET seq = 4 WHERE name = 'events'"
        if backend.name == "sqlite"
        else "UPDATE xlexec_head SET last_seq = 4"
    )
    tamper(backend, "DELETE FROM events WHERE seq = 5", counter)
    with backend() as j:
        assert j.verify().ok  # what a chain alone cannot see
        rep = j.verify(expect_head=head)
    assert (rep.ok, rep.problem) == (False, "head")
