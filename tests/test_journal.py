import multiprocessing as mp
import sqlite3

import pytest

from xlexec.errors import LockedError
from xlexec.store.journal import FILL, INTENT, DayLock, Journal


def test_append_dedupes_on_kind_and_key(tmp_path):
    j = Journal(tmp_path / "j.sqlite")
    assert j.append(INTENT, "coid-1", {"qty": 5}, day="2025-10-30") is True
    assert j.append(INTENT, "coid-1", {"qty": 6}, day="2025-10-30") is False
    assert j.payloads(INTENT) == [{"qty": 5}]
    assert j.append_many(FILL, [("f1", {"a": 1}), ("f2", {"a": 2}), ("f1", {"a": 3})], day="2025-10-30") == 2
    assert [e.key for e in j.events(FILL)] == ["f1", "f2"]


def test_append_only(tmp_path):
    j = Journal(tmp_path / "j.sqlite")
    j.append(INTENT, "k", {}, day="d")
    con = sqlite3.connect(tmp_path / "j.sqlite")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        con.execute("UPDATE events SET payload='{}'")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        con.execute("DELETE FROM events")


def test_transaction_rolls_back_as_a_whole(tmp_path):
    j = Journal(tmp_path / "j.sqlite")
    with pytest.raises(RuntimeError), j.transaction():
        j.append(INTENT, "a", {}, day="d")
        raise RuntimeError("boom")
    assert j.events() == []


def test_wal_mode(tmp_path):
    j = Journal(tmp_path / "j.sqlite")
    assert j._con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def _hold(path, q):
    with DayLock(path, "test-holder"):
        q.put("held")
        q.get()  # wait for release signal


def test_day_lock_names_holder_and_frees_on_death(tmp_path):
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    p = ctx.Process(target=_hold, args=(tmp_path, q))
    p.start()
    try:
        assert q.get(timeout=20) == "held"
        with pytest.raises(LockedError, match="test-holder") as ei:
            DayLock(tmp_path).acquire()
        assert f"pid {p.pid}" in str(ei.value)
    finally:
        p.kill()  # SIGKILL: the OS frees the lock
        p.join(10)
    with DayLock(tmp_path):
        pass


def test_a_loser_that_reads_the_lock_before_its_holder_has_written_it_still_names_the_holder(tmp_path):
    """The holder takes the lock, then writes who it is: a process refused in between waits
    for that text instead of naming "another process" (three submits at once all name the pid)."""
    import threading

    from xlexec.store.journal import _lock, _unlock

    day = tmp_path / "2025-10-30"
    day.mkdir()
    holder = open(day / ".xlexec.lock", "a+")  # noqa: SIM115 - the other process's open lock file
    _lock(holder)  # locked, nothing written yet

    def write_later():
        holder.seek(0)
        holder.write("pid 4242 (trader@host, submit, since 2025-10-30T14:00:00Z)")
        holder.flush()

    timer = threading.Timer(0.2, write_later)
    timer.start()
    try:
        with pytest.raises(LockedError, match=r"locked by pid 4242 \(trader@host, submit"):
            DayLock(day).acquire()
    finally:
        timer.join()
        _unlock(holder)
        holder.close()
