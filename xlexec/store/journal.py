"""The durable journal: an append-only event log in SQLite (WAL) under ``live/journal.sqlite``.

Every approval, order intent, broker response, fill, reconciliation and operator action is one
row ``(seq, ts_utc, day, kind, key, actor, payload JSON)``. ``(kind, key)`` is unique, so a rerun
that records the same thing again (same client order id, same broker fill id) is a no-op:
deterministic keys make reruns deduplicate (as in nautilus_trader's reconciliation). Rows can
never be updated or deleted (SQLite triggers refuse it). State is rebuilt by reading events.

The CSV files under ``live/`` are *written from* the journal (see ``xlexec.day``), atomically.

Also here: :class:`DayLock`, the per-day exclusive lock (``fcntl.flock``; released by the OS if
the holder dies, even on ``kill -9``) that names its holder when refused.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import os
import socket
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from xlexec.errors import LockedError

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    ts_utc  TEXT NOT NULL,
    day     TEXT NOT NULL,
    kind    TEXT NOT NULL,
    key     TEXT NOT NULL,
    actor   TEXT,
    payload TEXT NOT NULL,
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


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


def current_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name in some containers
        return os.environ.get("USER", "unknown")


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
        self._con.execute("PRAGMA journal_mode=WAL")
        self._con.execute("PRAGMA synchronous=FULL")
        self._con.execute("PRAGMA busy_timeout=30000")
        self._con.executescript(SCHEMA)

    @classmethod
    def for_live_dir(cls, live_dir: str | os.PathLike) -> Journal:
        return cls(Path(live_dir) / "journal.sqlite")

    def close(self) -> None:
        self._con.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[Journal]:
        """All appends inside commit together or not at all."""
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
        cur = self._con.execute(
            "INSERT OR IGNORE INTO events(ts_utc, day, kind, key, actor, payload) VALUES (?,?,?,?,?,?)",
            (utc_now(), day, kind, key, actor, json.dumps(payload, sort_keys=True, default=str)),
        )
        return cur.rowcount == 1

    def append_many(
        self, kind: str, rows: list[tuple[str, dict[str, Any]]], *, day: str, actor: str | None = None
    ) -> int:
        """Append ``[(key, payload)]`` in one transaction; returns how many were new."""
        ts = utc_now()
        with self.transaction():
            before = self._con.total_changes
            self._con.executemany(
                "INSERT OR IGNORE INTO events(ts_utc, day, kind, key, actor, payload) VALUES (?,?,?,?,?,?)",
                [(ts, day, kind, k, actor, json.dumps(p, sort_keys=True, default=str)) for k, p in rows],
            )
            return self._con.total_changes - before

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


class DayLock:
    """Exclusive per-day lock file ``live/YYYY-MM-DD/.xlexec.lock`` naming its holder.

    Uses ``fcntl.flock`` (POSIX) or ``msvcrt.locking`` (Windows); the OS releases it when the
    holder exits or is killed, so a crash never leaves the day locked.
    """

    def __init__(self, day_dir: str | os.PathLike, purpose: str = "submit"):
        self.path = Path(day_dir) / ".xlexec.lock"
        self.purpose = purpose
        self._fh: TextIO | None = None  # open (and locked) between acquire() and release()

    def acquire(self) -> DayLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(self.path, "a+")  # noqa: SIM115 - held open while locked; release() closes it
        try:
            _lock(fh)
        except OSError:
            fh.seek(0)
            holder = fh.read().strip() or "another process"
            fh.close()
            raise LockedError(
                f"{self.path.parent.name}: the day is locked by {holder}; "
                "wait for it to finish (the lock frees itself if that process dies)"
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()} ({current_user()}@{socket.gethostname()}, {self.purpose}, since {utc_now()})")
        fh.flush()
        self._fh = fh
        return self

    def release(self) -> None:
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
