"""The submit batch's journal writer (engine._Recorder): an intent is committed before
``intent()`` returns, whatever the other sending threads do (their intents share the commit);
a deferred reply reaches the journal by the next transaction or the batch's flush."""

from __future__ import annotations

import sqlite3
import threading

from xlexec.execution.brokers.base import Order
from xlexec.execution.engine import _Recorder
from xlexec.store import journal as J

DAY = "2025-10-30"


def committed(path, kind: str) -> set[str]:
    """The keys of ``kind`` another connection sees (committed, not this process's cache)."""
    con = sqlite3.connect(path)
    try:
        return {r[0] for r in con.execute("SELECT key FROM events WHERE kind=?", (kind,))}
    finally:
        con.close()


def order(coid: str) -> Order:
    return Order("id-" + coid, coid, "AAPL", "buy", 10, "limit", 150.0, "new")


def test_each_intent_is_committed_when_intent_returns_with_four_threads_at_once(tmp_path):
    path = tmp_path / "journal.sqlite"
    jr = J.Journal(path)
    rec = _Recorder(jr, DAY, "tester", defer_replies=True)
    missing, lock = [], threading.Lock()

    def worker(w: int) -> None:
        for i in range(25):
            coid = f"xlx-{DAY}-W{w}-{i}"
            rec.intent(coid, {"client_order_id": coid})
            if coid not in committed(path, J.INTENT):  # what a kill -9 right now would leave
                with lock:
                    missing.append(coid)
            rec.reply(order(coid))

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(4)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    rec.flush()
    assert missing == []
    assert len(committed(path, J.INTENT)) == 100
    assert len(committed(path, J.ORDER)) == 100
    assert jr.verify().ok
    jr.close()


def test_a_deferred_reply_goes_with_the_next_intent_or_the_flush(tmp_path):
    """A deferred reply costs the sending thread no commit of its own: it is queued, and the
    next intent's transaction (which that thread commits anyway before its next order) or the
    batch's flush writes it."""
    path = tmp_path / "journal.sqlite"
    jr = J.Journal(path)
    rec = _Recorder(jr, DAY, "tester", defer_replies=True)
    rec.reply(order("A"))
    assert committed(path, J.ORDER) == set()  # queued, not written by the sending thread
    rec.intent("B", {"client_order_id": "B"})  # the next intent takes it along
    assert committed(path, J.ORDER) == {"A|new|0"} and committed(path, J.INTENT) == {"B"}
    rec.reply(order("B"))
    with rec.lock:  # another thread holds the journal: the reply does not wait for it
        rec.reply(order("C"))
    assert committed(path, J.ORDER) == {"A|new|0"}
    rec.flush()
    assert committed(path, J.ORDER) == {"A|new|0", "B|new|0", "C|new|0"}
    assert jr.verify().ok
    jr.close()


def test_without_deferral_a_reply_is_written_at_once(tmp_path):
    path = tmp_path / "journal.sqlite"
    jr = J.Journal(path)
    rec = _Recorder(jr, DAY, "tester")
    rec.reply(order("A"))
    assert committed(path, J.ORDER) == {"A|new|0"}
    jr.close()
