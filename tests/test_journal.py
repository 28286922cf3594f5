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
