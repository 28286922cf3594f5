"""The journal's hash chain: every event carries the SHA-256 of the one before it.

The chain is checked here with the recipe written out independently (the one documented in
``xlexec/store/chain.py``, which a second backend must reproduce byte for byte), then tampered
with the way someone holding the file would: drop the append-only triggers with sqlite3, edit,
delete or move a row. ``xlexec journal verify`` must name
the first broken seq and why, and exit 1 (the CLI's ``main``, in this process; the control
tests in ``tests/controls/`` run it as a subprocess). A journal from before the chain is migrated and its
old events reported as unchained; two processes appending at once keep one unbroken chain.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import multiprocessing as mp
import sqlite3
import subprocess
import threading
from pathlib import Path

import pytest

from xlexec.store.journal import APPROVAL, FILL, INTENT, Journal

ZERO = "0" * 64
DAY = "2025-10-30"

OLD_SCHEMA = """
CREATE TABLE events (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    ts_utc  TEXT NOT NULL,
    day     TEXT NOT NULL,
    kind    TEXT NOT NULL,
    key     TEXT NOT NULL,
    actor   TEXT,
    payload TEXT NOT NULL,
    UNIQUE (kind, key)
);
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END;
"""


# ---------------------------------------------------------------- the recipe, written out again


def _field(v) -> str:
    if v is None:
        return "n"
    if isinstance(v, int):
        return f"i{v}"
    return f"s{len(v)}:{v}"


def recipe(seq, ts, day, kind, key, actor, payload, prev) -> str:
    lines = ["xlexec-journal-chain/1"] + [_field(v) for v in (seq, ts, day, kind, key, actor, payload, prev)]
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


def rows(path: Path) -> list[tuple]:
    con = sqlite3.connect(path)
    try:
        return con.execute(
            "SELECT seq, ts_utc, day, kind, key, actor, payload, prev_sha256, sha256 FROM events ORDER BY seq"
        ).fetchall()
    finally:
        con.close()


def walk(path: Path) -> list[str]:
    """What is wrong with the chain, found without xlexec's verifier (empty = intact)."""
    bad, prev, last, chained = [], ZERO, 0, False
    for r in rows(path):
        if r[8] is None and not chained:  # before the chain: its hash is computed, not stored
            prev, last = recipe(*r[:7], prev), r[0]
            continue
        if r[7] != prev:
            bad.append(f"seq {r[0]}: prev {r[7]} is not {prev}")
        if chained and r[0] != last + 1:
            bad.append(f"seq {r[0]} after {last}")
        if recipe(*r[:7], r[7]) != r[8]:
            bad.append(f"seq {r[0]}: hash does not match the recipe")
        prev, last, chained = r[8], r[0], True
    return bad


def tamper(path: Path, *sql: str) -> None:
    """What someone with the file can do: drop the triggers, then change anything."""
    con = sqlite3.connect(path)
    try:
        con.execute("DROP TRIGGER IF EXISTS events_no_update")
        con.execute("DROP TRIGGER IF EXISTS events_no_delete")
        for s in sql:
            con.execute(s)
        con.commit()
    finally:
        con.close()


def verify_cli(tmp_path: Path, *extra: str) -> subprocess.CompletedProcess:
    """``xlexec journal verify`` on ``tmp_path/live`` (``--config`` absolute; the CLI's ``main``
    in this process, output captured: the control tests run it as a subprocess)."""
    from xlexec.cli.app import main

    cfg = tmp_path / "config.yaml"
    if not cfg.exists():
        cfg.write_text(f"live_dir: {json.dumps(str(tmp_path / 'live'))}\n")
    argv = ["journal", "verify", "--config", str(cfg), *extra]
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(argv)
    return subprocess.CompletedProcess(argv, rc, out.getvalue(), err.getvalue())


def five_events(tmp_path: Path) -> Path:
    path = tmp_path / "live" / "journal.sqlite"
    with Journal(path) as j:
        j.append(APPROVAL, f"{DAY}|abc|1", {"decision": "APPROVED", "orders_sha256": "abc"}, day=DAY, actor="ann")
        for i in range(4):
            j.append(INTENT, f"coid-{i}", {"symbol": "AAPL", "qty": 10 + i}, day=DAY, actor="ops")
    return path


# ---------------------------------------------------------------- the chain as written


def test_every_event_carries_the_hash_of_the_one_before(tmp_path):
    path = five_events(tmp_path)
    got = rows(path)
    assert [r[0] for r in got] == [1, 2, 3, 4, 5]
    assert got[0][7] == ZERO  # the first event follows nothing
    for before, after in zip(got, got[1:], strict=False):
        assert after[7] == before[8]
    for r in got:
        assert r[8] == recipe(*r[:7], r[7])
    assert len({r[8] for r in got}) == 5
    assert walk(path) == []
    p = verify_cli(tmp_path)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == (f"{path}: journal OK: 5 events, chain from seq 1; head seq 5 sha256 {got[-1][8]}")


def test_an_ignored_duplicate_does_not_advance_the_chain(tmp_path):
    path = five_events(tmp_path)
    head = rows(path)[-1]
    with Journal(path) as j:
        assert j.append(INTENT, "coid-0", {"symbol": "MSFT", "qty": 99}, day=DAY) is False
        assert j.append_many(INTENT, [("coid-1", {}), ("coid-2", {})], day=DAY) == 0
        assert rows(path)[-1] == head
        assert j.append_many(FILL, [("f1", {"px": 1}), ("coid-3", {"px": 2}), ("f1", {"px": 3})], day=DAY) == 2
    got = rows(path)
    assert [r[0] for r in got] == [1, 2, 3, 4, 5, 6, 7]  # no number skipped for the duplicates
    assert got[5][7] == head[8] and got[6][7] == got[5][8]
    assert json.loads(got[6][6]) == {"px": 2}
    assert walk(path) == []


def test_the_append_only_triggers_stay(tmp_path):
    path = five_events(tmp_path)
    con = sqlite3.connect(path)
    try:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            con.execute("UPDATE events SET sha256 = NULL")
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            con.execute("DELETE FROM events WHERE seq = 5")
    finally:
        con.close()


def test_threads_sharing_one_journal_keep_one_chain(tmp_path):
    path = tmp_path / "live" / "journal.sqlite"
    j = Journal(path)

    def work(t: int) -> None:
        for i in range(50):
            j.append(INTENT, f"t{t}-{i}", {"i": i}, day=DAY)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    j.close()
    assert [r[0] for r in rows(path)] == list(range(1, 201))
    assert walk(path) == []


# ---------------------------------------------------------------- tampering


def test_an_edited_payload_is_named_by_its_seq(tmp_path):
    path = five_events(tmp_path)
    tamper(path, "UPDATE events SET payload = replace(payload, '10', '1000') WHERE seq = 2")
    assert json.loads(rows(path)[1][6])["qty"] == 1000  # the edit is really there
    p = verify_cli(tmp_path)
    assert p.returncode == 1
    assert p.stdout.strip() == (
        f"{path}: journal BROKEN at seq 2: edited: its columns do not give its stored hash "
        "(the row was changed after it was written)"
    )


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
def test_any_column_edited_is_found(tmp_path, column, value):
    path = five_events(tmp_path)
    tamper(path, f"UPDATE events SET {column} = {value} WHERE seq = 3")
    p = verify_cli(tmp_path)
    assert p.returncode == 1
    assert "BROKEN at seq 3: edited" in p.stdout


def test_an_edit_with_its_own_hash_recomputed_breaks_the_next_link(tmp_path):
    path = five_events(tmp_path)
    r = rows(path)[1]
    forged = r[6].replace("10", "1000")
    sha = recipe(r[0], r[1], r[2], r[3], r[4], r[5], forged, r[7])
    tamper(path, f"UPDATE events SET payload = '{forged}', sha256 = '{sha}' WHERE seq = 2")
    p = verify_cli(tmp_path)
    assert p.returncode == 1
    assert "BROKEN at seq 3: bad_prev:" in p.stdout and "is not the hash of seq 2" in p.stdout


def test_a_deleted_row_is_named_as_a_gap(tmp_path):
    path = five_events(tmp_path)
    tamper(path, "DELETE FROM events WHERE seq = 3")
    p = verify_cli(tmp_path)
    assert p.returncode == 1
    assert p.stdout.strip() == f"{path}: journal BROKEN at seq 4: gap: seq 3 missing after seq 2 (deleted)"


def test_rows_deleted_from_the_end_are_found_by_the_counter(tmp_path):
    path = five_events(tmp_path)
    tamper(path, "DELETE FROM events WHERE seq >= 4")
    p = verify_cli(tmp_path)
    assert p.returncode == 1
    assert "BROKEN at seq 4: truncated: seq 4..5 were written and are gone" in p.stdout


def test_an_end_cut_with_the_counter_wound_back_needs_the_noted_head(tmp_path):
    path = five_events(tmp_path)
    noted = verify_cli(tmp_path, "--json")
    head = json.loads(noted.stdout)["head_sha256"]
    assert head == rows(path)[-1][8]
    tamper(path, "DELETE FROM events WHERE seq = 5", "UPDATE sqlite_sequence SET seq = 4 WHERE name = 'events'")
    assert verify_cli(tmp_path).returncode == 0  # what a chain alone cannot see
    p = verify_cli(tmp_path, "--expect-head", head)
    assert p.returncode == 1
    assert f"BROKEN at seq 4: head: the head hash noted earlier ({head}) is no event's hash" in p.stdout


def test_the_noted_head_is_found_after_the_journal_grew(tmp_path):
    path = five_events(tmp_path)
    head = rows(path)[-1][8]
    with Journal(path) as j:
        j.append(INTENT, "later", {}, day=DAY)
    p = verify_cli(tmp_path, "--expect-head", head.upper())
    assert p.returncode == 0, p.stdout
    assert p.stdout.strip().endswith("expected head found at seq 5")
    p = verify_cli(tmp_path, "--expect-head", "abc")
    assert p.returncode == 2
    assert p.stderr.strip() == (
        "xlexec journal verify: error: --expect-head: must be a sha256 (64 hex digits), got 'abc'"
    )


def test_two_rows_swapped_are_named_as_reordered(tmp_path):
    path = five_events(tmp_path)
    tamper(
        path,
        "UPDATE events SET seq = -3 WHERE seq = 3",
        "UPDATE events SET seq = 3 WHERE seq = 4",
        "UPDATE events SET seq = 4 WHERE seq = -3",
    )
    assert [json.loads(r[6])["qty"] for r in rows(path)[1:4]] == [10, 12, 11]
    p = verify_cli(tmp_path)
    assert p.returncode == 1
    assert "BROKEN at seq 3: reordered: its prev hash is the hash of seq 4, not of seq 2" in p.stdout


def test_hashes_removed_after_the_chain_start_are_refused(tmp_path):
    path = five_events(tmp_path)
    tamper(path, "UPDATE events SET sha256 = NULL, prev_sha256 = NULL WHERE seq = 4")
    p = verify_cli(tmp_path)
    assert p.returncode == 1
    assert "BROKEN at seq 4: unchained: the row has no hash but the chain started at seq 1" in p.stdout


def test_every_hash_removed_reads_as_a_journal_from_before_the_chain(tmp_path):
    """Where the chain's start is itself rewritten, only the auditor's count shows it: verify
    says every event is unchained (a journal that had a chain never says that)."""
    path = five_events(tmp_path)
    tamper(path, "UPDATE events SET sha256 = NULL, prev_sha256 = NULL")
    p = verify_cli(tmp_path)
    assert p.returncode == 0
    assert "all 5 events written before the chain" in p.stdout


# ---------------------------------------------------------------- a journal from before the chain


def legacy_journal(tmp_path: Path) -> Path:
    path = tmp_path / "live" / "journal.sqlite"
    path.parent.mkdir(parents=True)
    con = sqlite3.connect(path)
    con.executescript(OLD_SCHEMA)
    ins = "INSERT OR IGNORE INTO events(ts_utc, day, kind, key, actor, payload) VALUES (?,?,?,?,?,?)"
    con.execute(ins, ("2025-10-29T14:00:00.000+00:00", "2025-10-29", "order_intent", "a", "ops", '{"q": 1}'))
    con.execute(ins, ("2025-10-29T14:00:01.000+00:00", "2025-10-29", "order_intent", "a", "ops", '{"q": 2}'))
    con.execute(ins, ("2025-10-29T14:00:02.000+00:00", "2025-10-29", "order_intent", "b", None, '{"q": 3}'))
    con.commit()
    con.close()
    assert [r[0] for r in sqlite3.connect(path).execute("SELECT seq FROM events")] == [1, 3]  # the old gap
    return path


def test_a_journal_from_before_the_chain_is_migrated_and_reported(tmp_path):
    path = legacy_journal(tmp_path)
    p = verify_cli(tmp_path)
    assert p.returncode == 0, p.stderr
    assert "journal OK: 2 events, all 2 events written before the chain" in p.stdout
    cols = [r[1] for r in sqlite3.connect(path).execute("PRAGMA table_info(events)")]
    assert cols[-2:] == ["prev_sha256", "sha256"]
    with Journal(path) as j:
        j.append(INTENT, "c", {"q": 4}, day=DAY)
        j.append(INTENT, "d", {"q": 5}, day=DAY)
    got = rows(path)
    assert [r[0] for r in got] == [1, 3, 4, 5]
    assert got[0][8] is None and got[1][8] is None
    # the chain start seals the old events: its prev is their hashes, computed in order
    sealed = recipe(*got[1][:7], recipe(*got[0][:7], ZERO))
    assert got[2][7] == sealed
    assert walk(path) == []
    p = verify_cli(tmp_path)
    assert p.returncode == 0
    assert p.stdout.strip() == (
        f"{path}: journal OK: 4 events, chain from seq 4; 2 events before it written without hashes "
        f"(unchained, sealed by seq 4); head seq 5 sha256 {got[3][8]}"
    )


def test_an_old_event_edited_after_the_chain_started_breaks_it_at_the_start(tmp_path):
    path = legacy_journal(tmp_path)
    with Journal(path) as j:
        j.append(INTENT, "c", {"q": 4}, day=DAY)
    tamper(path, "UPDATE events SET payload = '{\"q\": 300}' WHERE seq = 3")
    p = verify_cli(tmp_path)
    assert p.returncode == 1
    assert "BROKEN at seq 4: bad_prev:" in p.stdout and "is not the hash of seq 3" in p.stdout


def _open_at_once(path: str, barrier) -> None:
    barrier.wait()
    Journal(path).close()


def test_processes_opening_an_old_journal_at_once_migrate_it_once(tmp_path):
    # several rounds of six openers: switching the old file to WAL made one of them fail with
    # "database is locked" in about a quarter of the rounds before the opener retried it
    ctx = mp.get_context("fork")
    for round_ in range(5):
        path = legacy_journal(tmp_path / f"r{round_}")
        barrier = ctx.Barrier(6)
        procs = [ctx.Process(target=_open_at_once, args=(str(path), barrier)) for _ in range(6)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(60)
        assert [p.exitcode for p in procs] == [0] * 6, f"round {round_}"
        cols = [r[1] for r in sqlite3.connect(path).execute("PRAGMA table_info(events)")]
        assert cols.count("sha256") == 1 and cols.count("prev_sha256") == 1
        assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


# ---------------------------------------------------------------- concurrent appenders


def _appender(path: str, name: str, barrier, n: int) -> None:
    barrier.wait()
    with Journal(path) as j:
        for i in range(n):
            if i % 5 == 4:
                j.append_many(FILL, [(f"{name}-f{i}-{k}", {"k": k}) for k in range(3)], day=DAY, actor=name)
            else:
                j.append(INTENT, f"{name}-{i}", {"i": i}, day=DAY, actor=name)
            j.append(INTENT, f"shared-{i}", {"by": name}, day=DAY, actor=name)  # both try: one wins


def test_two_processes_appending_at_once_keep_one_chain(tmp_path):
    path = tmp_path / "live" / "journal.sqlite"
    Journal(path).close()
    ctx = mp.get_context("fork")
    barrier = ctx.Barrier(2)
    n = 150
    procs = [ctx.Process(target=_appender, args=(str(path), name, barrier, n)) for name in ("p1", "p2")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0]
    got = rows(path)
    per_process = (n - n // 5) + (n // 5) * 3
    assert len(got) == 2 * per_process + n  # each shared key once
    assert [r[0] for r in got] == list(range(1, len(got) + 1))
    actors = [r[5] for r in got]
    assert any(a != b for a, b in zip(actors, actors[1:], strict=False))  # they really interleaved
    assert walk(path) == []
    p = verify_cli(tmp_path)
    assert p.returncode == 0, p.stdout
    assert f"journal OK: {len(got)} events, chain from seq 1; head seq {len(got)}" in p.stdout
