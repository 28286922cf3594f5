"""The durable journal: an append-only event log in SQLite (WAL) under ``live/journal.sqlite``.

Every approval, order intent, broker response, fill, reconciliation and operator action is one
row ``(seq, ts_utc, day, kind, key, actor, payload JSON)``. ``(kind, key)`` is unique, so a rerun
that records the same thing again (same client order id, same broker fill id) is a no-op:
deterministic keys make reruns deduplicate (as in nautilus_trader's reconciliation). Rows can
never be updated or deleted (SQLite triggers refuse it). State is rebuilt by reading events.

Each row also carries ``prev_sha256`` and ``sha256``: a hash chain (:mod:`xlexec.store.chain`)
computed inside the append's write transaction (``BEGIN IMMEDIATE``: appenders in several
processes take turns, so the chain cannot fork), so someone who drops the triggers and edits or
deletes a row is found out by :meth:`Journal.verify` (``xlexec journal verify``). An ignored
duplicate adds nothing and does not advance the chain. A journal from before the chain gets the
two columns on first open; its old events stay unchained (see :mod:`xlexec.store.chain`).

**Which journal.** ``live/journal.sqlite`` unless the config says ``journal: postgresql://...``
(:mod:`xlexec.store.pg_journal`, the same interface): the shell registers the config's choice
for its live folder (:func:`use_journal`) and everything opens the journal through
:func:`open_journal` / :meth:`Journal.for_live_dir` and asks :func:`journal_exists`, so nothing
above this layer knows which backend is in use. With a PostgreSQL journal, :func:`current_user`
is the database login (the one the database records as each event's actor).

The CSV files under ``live/`` are *written from* the journal (see ``xlexec.day``), atomically.

Also here: :class:`DayLock`, the per-day exclusive lock (``fcntl.flock``; released by the OS if
the holder dies, even on ``kill -9``) that names its holder when refused; with a PostgreSQL
journal it also takes the day's advisory lock in the database, shared by every machine.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import os
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from xlexec.errors import LockedError
from xlexec.store import chain

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    ts_utc  TEXT NOT NULL,
    day     TEXT NOT NULL,
    kind    TEXT NOT NULL,
    key     TEXT NOT NULL,
    actor   TEXT,
    payload TEXT NOT NULL,
    prev_sha256 TEXT,
    sha256  TEXT,
    UNIQUE (kind, key)
);
CREATE INDEX IF NOT EXISTS events_day_kind ON events(day, kind);
CREATE TRIGGER IF NOT EXISTS events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END;
CREATE TRIGGER IF NOT EXISTS events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END;
"""

# Event kinds (payloads are JSON objects; money in $, quantities in shares)
APPROVAL = "approval"  # key: date|orders_sha256|seq   payload: approvals row + canonical order lines
INTENT = "order_intent"  # key: client_order_id           payload: order request
ORDER = "order_update"  # key: coid|status|filled_qty    payload: broker order snapshot
REFUSED = "order_refused"  # key: coid|reason-code          payload: {reason}
FILL = "fill"  # key: broker fill id            payload: canonical fill row
RECON = "reconciliation"  # key: day|fills hash            payload: summary
POSITIONS = "positions"  # key: day|kind|hash             payload: {positions, by}
KILL = "kill_switch"  # key: ts                        payload: report
ACTION = "action"  # key: ts|name                   payload: {button, result}
SLICE = "slice_schedule"  # key: parent id|day             payload: child + remaining
DISCREPANCY = "discrepancy"  # key: day|line                  payload: {line} (discrepancies.log)
POLICY = "policy"  # key: policy sha256|status|seq replaced payload: {status, policy, ...} (store/policy.py)
REFUSAL = "refusal"  # key: step|day|rule|file sha256|line hash  payload: a whole-batch refusal (store/refusals.py)
AMBIGUOUS = "order_ambiguous"  # key: coid|candidate ids       payload: several broker orders fit (store/resolutions.py)
RESOLUTION = "order_resolution"  # key: coid                   payload: the operator's resolution (store/resolutions.py)


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


#: resolved live folder -> the journal URL its config names (absent: ``live/journal.sqlite``)
_URLS: dict[Path, str] = {}
_DB_LOGIN: list[str] = []  # the database login of the last PostgreSQL journal registered


def use_journal(live_dir: str | os.PathLike, url: str | None) -> None:
    """Register the config's ``journal`` for ``live_dir``: ``sqlite`` (or empty) is the file
    ``live_dir/journal.sqlite``; a ``postgresql://`` URL the shared journal there."""
    from xlexec.store import pg_journal

    where = Path(live_dir).resolve()
    if url and pg_journal.is_url(url):
        _URLS[where] = url
        login = pg_journal.url_login(url)
        _DB_LOGIN[:] = [login] if login else []
    else:
        _URLS.pop(where, None)
        if not _URLS:
            _DB_LOGIN.clear()


def journal_url(live_dir: str | os.PathLike) -> str | None:
    """The PostgreSQL URL registered for ``live_dir`` (None: the SQLite file)."""
    return _URLS.get(Path(live_dir).resolve()) if _URLS else None


def open_journal(live_dir: str | os.PathLike) -> Journal:
    """The journal of ``live_dir`` (creates ``journal.sqlite`` when it is the file and missing)."""
    url = journal_url(live_dir)
    if url is None:
        return Journal(Path(live_dir) / "journal.sqlite")
    from xlexec.store.pg_journal import PgJournal

    return PgJournal(url)


def journal_exists(live_dir: str | os.PathLike) -> bool:
    """Whether ``live_dir`` has a journal to read (the file exists; a shared journal always does)."""
    return journal_url(live_dir) is not None or (Path(live_dir) / "journal.sqlite").exists()


def journal_label(live_dir: str | os.PathLike) -> str:
    """What to call the journal in a message: the file's path, or the URL without its password."""
    url = journal_url(live_dir)
    if url is None:
        return str(Path(live_dir) / "journal.sqlite")
    from xlexec.store.pg_journal import redacted

    return redacted(url)


def current_user() -> str:
    """The operator's login: the OS user, or the database login of a PostgreSQL journal."""
    if _DB_LOGIN:
        return _DB_LOGIN[0]
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name in some containers
        return os.environ.get("USER", "unknown")


def wal_mode(con: sqlite3.Connection, wait_s: float = 30.0) -> None:
    """Put the file in WAL mode, waiting up to ``wait_s`` seconds for other openers.

    Switching a rollback-journal file (one from before WAL, or a new one) to WAL needs an
    exclusive lock. When several processes open it at once each holds a shared lock and wants
    to promote it, and SQLite answers "database is locked" at once instead of calling the busy
    handler (that wait could deadlock): so retry here, with a short backoff. Once the file is in
    WAL mode (it stays so) the pragma takes no such lock."""
    deadline = time.monotonic() + wait_s
    delay = 0.002
    while True:
        try:
            con.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or time.monotonic() > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.1)


@dataclass
class Event:
    seq: int
    ts_utc: str
    day: str
    kind: str
    key: str
    actor: str | None
    payload: dict[str, Any]


class Journal:
    """Append-only event store. One instance per process; cheap to open."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._con = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        wal_mode(self._con)
        self._con.execute("PRAGMA synchronous=FULL")
        self._con.execute("PRAGMA busy_timeout=30000")
        self._con.executescript(SCHEMA)
        self._lock = threading.RLock()  # one connection, many threads: one transaction at a time
        self._add_chain_columns()

    @classmethod
    def for_live_dir(cls, live_dir: str | os.PathLike) -> Journal:
        """:func:`open_journal`: the file, or the shared journal the config names."""
        return open_journal(live_dir)

    def close(self) -> None:
        self._con.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _add_chain_columns(self) -> None:
        """A journal from before the hash chain: add ``prev_sha256`` and ``sha256`` (empty for its events)."""
        if "sha256" in self._columns():
            return
        with self.transaction():
            have = self._columns()
            for col in ("prev_sha256", "sha256"):
                if col not in have:
                    self._con.execute(f"ALTER TABLE events ADD COLUMN {col} TEXT")

    def _columns(self) -> set[str]:
        return {r[1] for r in self._con.execute("PRAGMA table_info(events)")}

    @contextmanager
    def transaction(self) -> Iterator[Journal]:
        """All appends inside commit together or not at all (nested: joins the outer one)."""
        with self._lock:
            if self._con.in_transaction:
                yield self
                return
            self._con.execute("BEGIN IMMEDIATE")
            try:
                yield self
            except BaseException:
                self._con.execute("ROLLBACK")
                raise
            self._con.execute("COMMIT")

    def append(
        self,
        kind: str,
        key: str,
        payload: dict[str, Any],
        *,
        day: str,
        actor: str | None = None,
    ) -> bool:
        """Record an event; returns False (and changes nothing) if ``(kind, key)`` exists.

        ``ts_utc`` is always the real clock (:func:`utc_now`), never a pinned one: a business
        time (an approval's ``timestamp_utc``) goes in the payload."""
        with self.transaction():
            return self._insert(utc_now(), day, kind, actor, [(key, payload)]) == 1

    def append_many(
        self, kind: str, rows: list[tuple[str, dict[str, Any]]], *, day: str, actor: str | None = None
    ) -> int:
        """Append ``[(key, payload)]`` in one transaction; returns how many were new."""
        ts = utc_now()
        with self.transaction():
            return self._insert(ts, day, kind, actor, rows)

    def _insert(self, ts_utc: str, day: str, kind: str, actor: str | None, rows: list[tuple[str, dict]]) -> int:
        """Insert the rows whose ``(kind, key)`` is new (the first of repeated keys), each chained
        to the one before, inside the caller's write transaction; returns how many."""
        keys = list(dict.fromkeys(k for k, _ in rows))
        seen: set[str] = set()
        for i in range(0, len(keys), 500):
            part = keys[i : i + 500]
            sql = f"SELECT key FROM events WHERE kind=? AND key IN ({','.join('?' * len(part))})"
            seen.update(r[0] for r in self._con.execute(sql, (kind, *part)))
        new = chain.new_payloads(rows, seen)
        if not new:
            return 0
        seq, prev = self._next_link()
        out = []
        for k, text in new:
            sha = chain.event_sha256(seq, ts_utc, day, kind, k, actor, text, prev)
            out.append((seq, ts_utc, day, kind, k, actor, text, prev, sha))
            seq, prev = seq + 1, sha
        self._con.executemany(
            "INSERT INTO events(seq, ts_utc, day, kind, key, actor, payload, prev_sha256, sha256)"
            " VALUES (?,?,?,?,?,?,?,?,?)",
            out,
        )
        return len(out)

    def _next_link(self) -> tuple[int, str]:
        """The next event's seq and prev hash (inside a write transaction). The seq follows
        SQLite's own counter too, so events cut from the end leave a gap the chain shows."""
        head = self._con.execute("SELECT seq, sha256 FROM events ORDER BY seq DESC LIMIT 1").fetchone()
        prev = chain.link_to(head, self._rows)  # the first chained event seals those before it
        counter = self._con.execute("SELECT seq FROM sqlite_sequence WHERE name='events'").fetchone()
        return max(head[0] if head else 0, counter[0] if counter else 0) + 1, prev

    def _rows(self) -> Iterator[chain.Row]:
        return self._con.execute(
            "SELECT seq, ts_utc, day, kind, key, actor, payload, prev_sha256, sha256 FROM events ORDER BY seq"
        )

    def verify(self, expect_head: str | None = None) -> chain.ChainReport:
        """Walk the hash chain (:func:`xlexec.store.chain.verify_events`) in one read snapshot;
        also broken (:data:`~xlexec.store.chain.TRUNCATED`) when SQLite's own counter of the
        last seq is ahead of the last chained event (events cut from the end)."""
        with self._lock:
            self._con.execute("BEGIN")
            try:
                rep = chain.verify_events(self._rows(), expect_head=expect_head)
                counter = self._con.execute("SELECT seq FROM sqlite_sequence WHERE name='events'").fetchone()
            finally:
                self._con.execute("COMMIT")
        last = counter[0] if counter else 0
        if rep.ok and rep.chain_start is not None and rep.head_seq is not None and last > rep.head_seq:
            rep.problem, rep.broken_seq = chain.TRUNCATED, rep.head_seq + 1
            rep.detail = f"seq {rep.head_seq + 1}..{last} were written and are gone (cut from the end)"
        return rep

    def has(self, kind: str, key: str) -> bool:
        return self._con.execute("SELECT 1 FROM events WHERE kind=? AND key=?", (kind, key)).fetchone() is not None

    def events(self, kind: str | None = None, day: str | None = None) -> list[Event]:
        sql, args = "SELECT seq, ts_utc, day, kind, key, actor, payload FROM events WHERE 1=1", []
        if kind is not None:
            sql += " AND kind=?"
            args.append(kind)
        if day is not None:
            sql += " AND day=?"
            args.append(day)
        sql += " ORDER BY seq"
        return [Event(r[0], r[1], r[2], r[3], r[4], r[5], json.loads(r[6])) for r in self._con.execute(sql, args)]

    def payloads(self, kind: str, day: str | None = None) -> list[dict[str, Any]]:
        return [e.payload for e in self.events(kind, day)]

    def latest_orders(self, day: str) -> dict[str, dict[str, Any]]:
        """client_order_id -> newest broker snapshot recorded for ``day``."""
        out: dict[str, dict[str, Any]] = {}
        for e in self.events(ORDER, day):
            out[e.payload.get("client_order_id") or e.key.split("|")[0]] = e.payload
        return out

    def days(self) -> list[str]:
        return [r[0] for r in self._con.execute("SELECT DISTINCT day FROM events ORDER BY day")]


def _holder_text(fh: TextIO, wait_s: float = 1.0) -> str:
    """Who holds the lock file ``fh`` (its text), read by a process that could not take it. The
    holder writes its text just after taking the lock: a loser that reads in between waits up to
    ``wait_s`` for it rather than name nobody ("another process" only if it never comes)."""
    deadline = time.monotonic() + wait_s
    while True:
        fh.seek(0)
        text = fh.read().strip()
        if text or time.monotonic() >= deadline:
            return text or "another process"
        time.sleep(0.02)


class DayLock:
    """Exclusive per-day lock file ``live/YYYY-MM-DD/.xlexec.lock`` naming its holder.

    Uses ``fcntl.flock`` (POSIX) or ``msvcrt.locking`` (Windows); the OS releases it when the
    holder exits or is killed, so a crash never leaves the day locked.
    """

    def __init__(self, day_dir: str | os.PathLike, purpose: str = "submit"):
        self.path = Path(day_dir) / ".xlexec.lock"
        self.purpose = purpose
        self._fh: TextIO | None = None  # open (and locked) between acquire() and release()
        self._shared: Any = None  # the database's advisory lock (a PostgreSQL journal)

    def acquire(self) -> DayLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(self.path, "a+")  # noqa: SIM115 - held open while locked; release() closes it
        try:
            _lock(fh)
        except OSError:
            holder = _holder_text(fh)
            fh.close()
            raise LockedError(
                f"{self.path.parent.name}: the day is locked by {holder}; "
                "wait for it to finish (the lock frees itself if that process dies)"
            ) from None
        holder = f"pid {os.getpid()} ({current_user()}@{socket.gethostname()}, {self.purpose}, since {utc_now()})"
        url = journal_url(self.path.parent.parent)
        if url is not None:  # the shared journal: every machine's lock on this day, before the file says so
            from xlexec.store.pg_journal import AdvisoryDayLock

            shared = AdvisoryDayLock(url, self.path.parent.name, holder)
            try:
                shared.acquire()
            except BaseException:
                _unlock(fh)
                fh.close()
                raise
            self._shared = shared
        fh.seek(0)
        fh.truncate()
        fh.write(holder)
        fh.flush()
        self._fh = fh
        return self

    def release(self) -> None:
        if self._shared is not None:
            try:
                self._shared.release()
            finally:
                self._shared = None
        if self._fh is not None:
            try:
                self._fh.seek(0)
                self._fh.truncate()
                _unlock(self._fh)
            finally:
                self._fh.close()
                self._fh = None

    def __enter__(self) -> DayLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


if os.name == "nt":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _lock(fh):
        fh.seek(0)
        msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)

    def _unlock(fh):
        fh.seek(0)
        msvcrt.locking(fh.fileno(), msvcrt.LK_UNLCK, 1)
else:
    import fcntl

    def _lock(fh):
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)

    def _unlock(fh):
        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
