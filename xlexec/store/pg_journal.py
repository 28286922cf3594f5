"""The journal on PostgreSQL: the same :class:`~xlexec.store.journal.Journal` interface, shared by a desk.

Selected by ``journal: postgresql://LOGIN[:${ENV_VAR}]@HOST[:PORT]/DB`` in the config (the
password only as ``${ENV_VAR}``, expanded here when connecting, never stored in the config).
Nothing above the store layer knows which backend is in use.

One append-only table ``events`` (``seq``, ``ts_utc`` from the database clock, ``day``,
``kind``, ``key``, ``actor`` (the database login), ``account`` (reserved: NULL), ``payload``
as ``jsonb`` for SQL queries and ``payload_text``, the JSON text exactly as hashed and as read
back, ``prev_sha256``, ``sha256``, ``unique (kind, key)``). The hash chain is the recipe of
:mod:`xlexec.store.chain`, byte for byte the SQLite one, computed in the append's transaction
under a per-database advisory transaction lock (appenders on several machines take turns, so
the chain cannot fork). ``seq`` is numbered by xlexec (``max + 1``, no gaps: a sequence would skip
numbers on every rollback); ``xlexec_head`` keeps the last seq ever written (a trigger, in the
same transaction), so rows cut from the end are found (:data:`chain.TRUNCATED`).

:func:`init_schema` (``xlexec journal init``) creates the schema (forward migrations recorded in
``xlexec_schema``) and two group roles: ``xlexec_trader`` may append every kind except an
approval and a policy event that loosens the policy in force; ``xlexec_approver`` may append
approvals, policy events and refusals. Row-level security enforces both; UPDATE, DELETE and
TRUNCATE are revoked from everyone and refused by a trigger (only the owner can drop it). A
non-owner's row is checked by a trigger (migration 2): its own database login as ``actor``, a
``ts_utc`` of its own transaction (the database clock, whole milliseconds), the next ``seq``, the
head's hash as ``prev_sha256``, its ``sha256`` by the recipe, and ``payload`` equal to
``payload_text``; so a login writing around xlexec (psql) can neither break, fork nor misdate the
chain, nor pass one text to the role check and another to xlexec. The journal names who did what,
and the maker-checker rule holds in the database as well as in xlexec. Every trigger function
pins its ``search_path`` (``pg_catalog``, the journal's schema, ``pg_temp`` last), so a login's
temporary table cannot stand in for ``pg_class`` or ``xlexec_head``. The owner is not checked:
it can lift any trigger (a row it writes around xlexec with a wrong hash is still found by
``journal verify``; one with a right hash, at the end, is not).

:class:`AdvisoryDayLock` is the day lock across machines: ``pg_try_advisory_lock`` on its own
session, freed by the server when that session ends (a killed process included).

:func:`copy_journal` (``xlexec journal copy``) moves a SQLite journal here, verifying the
chain and the counts; a rerun adds nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from xlexec.errors import ConfigError, LockedError, RefusedError
from xlexec.store import chain
from xlexec.store.journal import APPROVAL, POLICY, REFUSAL, Event, Journal

_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
TRADER, APPROVER = "xlexec_trader", "xlexec_approver"
#: kinds the approver role may append (approvals, policy changes, and the trail of what it was refused)
APPROVER_KINDS = (APPROVAL, POLICY, REFUSAL)

MIGRATIONS: list[tuple[int, str, str]] = [
    (
        1,
        "events table, append-only triggers, roles and row-level security",
        f"""
CREATE TABLE events (
    seq          bigserial PRIMARY KEY,
    ts_utc       timestamptz NOT NULL DEFAULT date_trunc('milliseconds', clock_timestamp()),
    day          date NOT NULL,
    kind         text NOT NULL,
    key          text NOT NULL,
    actor        text DEFAULT session_user,
    account      text,
    payload      jsonb NOT NULL,
    payload_text text NOT NULL,
    prev_sha256  text,
    sha256       text,
    UNIQUE (kind, key)
);
CREATE INDEX events_day_kind ON events (day, kind);

CREATE FUNCTION xlexec_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'the journal is append-only' USING ERRCODE = 'insufficient_privilege'; END $$;
CREATE TRIGGER events_no_update BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION xlexec_append_only();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION xlexec_append_only();

CREATE FUNCTION xlexec_actor_is_login() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT pg_has_role(session_user, (SELECT relowner FROM pg_class WHERE oid = TG_RELID), 'MEMBER')
       AND NEW.actor IS DISTINCT FROM session_user::text THEN
        RAISE EXCEPTION 'the actor of a journal event must be the database login % (got %)',
            session_user, NEW.actor USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER events_actor BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION xlexec_actor_is_login();

-- the last seq ever written, kept in the append's transaction (rows cut from the end leave it ahead)
CREATE TABLE xlexec_head (id int PRIMARY KEY CHECK (id = 1), last_seq bigint NOT NULL);
INSERT INTO xlexec_head VALUES (1, 0);
CREATE FUNCTION xlexec_keep_head() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
BEGIN UPDATE xlexec_head SET last_seq = greatest(last_seq, NEW.seq) WHERE id = 1; RETURN NULL; END $$;
CREATE TRIGGER events_head AFTER INSERT ON events FOR EACH ROW EXECUTE FUNCTION xlexec_keep_head();
REVOKE ALL ON xlexec_head FROM PUBLIC;
GRANT SELECT ON xlexec_head TO {TRADER}, {APPROVER};

REVOKE ALL ON events FROM PUBLIC;
GRANT SELECT, INSERT ON events TO {TRADER}, {APPROVER};
GRANT SELECT ON xlexec_schema TO {TRADER}, {APPROVER};
ALTER TABLE events ENABLE ROW LEVEL SECURITY;
CREATE POLICY events_read ON events FOR SELECT TO {TRADER}, {APPROVER} USING (true);
CREATE POLICY trader_append ON events FOR INSERT TO {TRADER} WITH CHECK (
    kind <> '{APPROVAL}'
    AND (kind <> '{POLICY}' OR payload->>'status' = 'proposed' OR payload->'loosened' = '[]'::jsonb));
CREATE POLICY approver_append ON events FOR INSERT TO {APPROVER} WITH CHECK (
    kind IN ({", ".join(f"'{k}'" for k in APPROVER_KINDS)}));
""",
    ),
    (
        2,
        "trigger functions with a pinned search_path; the chain, the time and the payload checked by the database",
        f"""
-- every function: pg_catalog first, the journal's schema, the session's temporary schema last
-- (a login's temporary table can no longer stand in for pg_class or xlexec_head)
CREATE OR REPLACE FUNCTION xlexec_append_only() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, @schema@, pg_temp AS $$
BEGIN RAISE EXCEPTION 'the journal is append-only' USING ERRCODE = 'insufficient_privilege'; END $$;

CREATE OR REPLACE FUNCTION xlexec_keep_head() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, @schema@, pg_temp AS $$
BEGIN
    UPDATE @schema@.xlexec_head SET last_seq = greatest(last_seq, NEW.seq) WHERE id = 1;
    RETURN NULL;
END $$;

-- one field of the chain recipe (xlexec/store/chain.py): n, or s<length in code points>:<text>
CREATE FUNCTION xlexec_chain_field(v text) RETURNS text LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT CASE WHEN v IS NULL THEN 'n' ELSE 's' || length(v) || ':' || v END $$;

-- a row of a login that does not own the table: its own login as actor, no account, the time of
-- its own transaction, the next seq, the hash of the row before, its own hash by the recipe, and
-- a payload (jsonb) that is its payload_text (what xlexec reads and hashes)
CREATE FUNCTION xlexec_check_append() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, @schema@, pg_temp AS $$
DECLARE
    owner oid := (SELECT c.relowner FROM pg_catalog.pg_class c WHERE c.oid = TG_RELID);
    last_seq bigint;
    head text;
    parsed jsonb;
    want text;
BEGIN
    IF pg_catalog.pg_has_role(session_user, owner, 'MEMBER') THEN
        RETURN NEW;  -- the owner (journal copy, repairs): trusted, as it can drop any trigger
    END IF;
    IF NEW.actor IS DISTINCT FROM session_user::text THEN
        RAISE EXCEPTION 'the actor of a journal event must be the database login % (got %)',
            session_user, NEW.actor USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NEW.account IS NOT NULL THEN
        RAISE EXCEPTION 'the account column is reserved (NULL)' USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NEW.ts_utc IS DISTINCT FROM pg_catalog.date_trunc('milliseconds', NEW.ts_utc)
       OR NEW.ts_utc < pg_catalog.date_trunc('milliseconds', pg_catalog.transaction_timestamp())
       OR NEW.ts_utc > pg_catalog.clock_timestamp() THEN
        RAISE EXCEPTION 'ts_utc % is not the time of this transaction (milliseconds, the database clock)',
            NEW.ts_utc USING ERRCODE = 'insufficient_privilege';
    END IF;
    PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('xlexec-chain|' || pg_catalog.current_database()), 0);
    SELECT greatest(coalesce((SELECT max(e.seq) FROM @schema@.events e), 0), h.last_seq)
      INTO last_seq FROM @schema@.xlexec_head h WHERE h.id = 1;
    IF NEW.seq IS DISTINCT FROM last_seq + 1 THEN
        RAISE EXCEPTION 'seq % is not the next seq (%)', NEW.seq, last_seq + 1 USING ERRCODE = 'insufficient_privilege';
    END IF;
    SELECT e.sha256 INTO head FROM @schema@.events e ORDER BY e.seq DESC LIMIT 1;
    IF NOT FOUND THEN
        head := '{chain.GENESIS}';
    END IF;
    -- (a head without a hash: events copied from before the chain, sealed by a hash xlexec computes)
    IF head IS NOT NULL AND NEW.prev_sha256 IS DISTINCT FROM head THEN
        RAISE EXCEPTION 'prev_sha256 of seq % is not the hash of the event before it', NEW.seq
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    want := pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(pg_catalog.concat_ws(E'\\n',
        '{chain.RECIPE}', 'i' || NEW.seq,
        xlexec_chain_field(pg_catalog.to_char(NEW.ts_utc AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"+00:00"')),
        xlexec_chain_field(pg_catalog.to_char(NEW.day, 'YYYY-MM-DD')), xlexec_chain_field(NEW.kind),
        xlexec_chain_field(NEW.key), xlexec_chain_field(NEW.actor), xlexec_chain_field(NEW.payload_text),
        xlexec_chain_field(NEW.prev_sha256)), 'UTF8')), 'hex');
    IF NEW.sha256 IS DISTINCT FROM want THEN
        RAISE EXCEPTION 'sha256 of seq % is not its hash by the chain recipe', NEW.seq
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    BEGIN
        parsed := NEW.payload_text::jsonb;
    EXCEPTION WHEN others THEN
        parsed := NULL;  -- NaN or Infinity: JSON to Python, not to jsonb (stored there as null)
    END;
    IF parsed IS NULL AND NEW.kind IN ('{POLICY}', '{APPROVAL}') THEN
        RAISE EXCEPTION 'the payload of a % event must be JSON the database reads', NEW.kind
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF parsed IS NOT NULL AND parsed IS DISTINCT FROM NEW.payload THEN
        RAISE EXCEPTION 'payload (jsonb) of seq % is not its payload_text', NEW.seq
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END $$;
DROP TRIGGER events_actor ON events;
DROP FUNCTION xlexec_actor_is_login();
CREATE TRIGGER events_check BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION xlexec_check_append();

-- the role check reads payload_text, the text xlexec reads (jsonb could say something else)
ALTER POLICY trader_append ON events WITH CHECK (
    kind <> '{APPROVAL}'
    AND CASE WHEN kind = '{POLICY}'
        THEN (payload_text::jsonb->>'status' = 'proposed' OR payload_text::jsonb->'loosened' = '[]'::jsonb)
        AND (payload->>'status' = 'proposed' OR payload->'loosened' = '[]'::jsonb)
        ELSE true END);
""",
    ),
]
SCHEMA_VERSION = MIGRATIONS[-1][0]

_COLS = "seq, ts_utc, day, kind, key, actor, payload_text, prev_sha256, sha256"


def is_url(text: str | None) -> bool:
    return bool(text) and str(text).startswith(("postgresql://", "postgres://"))


def redacted(url: str) -> str:
    """``url`` without its password (safe to print)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return parts._replace(netloc=f"{parts.username}:***@{host}").geturl()


def url_login(url: str) -> str | None:
    """The database login named in ``url`` (None: libpq's default, the OS user)."""
    user = urlsplit(url).username
    return unquote(user) if user else None


def expand_password(url: str) -> str:
    """``url`` with ``${ENV_VAR}`` in its password replaced from the environment."""
    return _ENV.sub(lambda m: os.environ.get(m.group(1), ""), url)


def connect(url: str, *, application_name: str = "xlexec", autocommit: bool = True):
    """A psycopg connection (UTC session time zone), or :class:`ConfigError` naming the URL."""
    try:
        import psycopg
    except ImportError:  # pragma: no cover - the optional extra is missing
        raise ConfigError("journal: a postgresql:// journal needs psycopg: pip install 'xlexec[postgres]'") from None
    try:
        con = psycopg.connect(
            expand_password(url),
            autocommit=autocommit,
            application_name=application_name[:63],
            options="-c TimeZone=UTC",
        )
    except psycopg.Error as e:
        why = " ".join(str(e).split())[:200]
        raise ConfigError(f"journal: cannot connect to {redacted(url)}: {why}") from None
    return con


def _ts_text(v: Any) -> str:
    """A stored ``ts_utc`` as the text hashed: ISO UTC with milliseconds, like ``utc_now``."""
    if isinstance(v, dt.datetime):
        v = v.astimezone(dt.UTC)
        return v.isoformat(timespec="milliseconds" if v.microsecond % 1000 == 0 else "microseconds")
    return str(v)


def _day_text(v: Any) -> str:
    return v.isoformat() if isinstance(v, dt.date) else str(v)


def _finite(v: Any) -> Any:
    """``v`` with NaN and infinities as null (jsonb has none; the hashed text keeps them)."""
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {k: _finite(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_finite(x) for x in v]
    return v


def _jsonb_text(text: str) -> str:
    return json.dumps(_finite(json.loads(text)), sort_keys=True)


class PgJournal(Journal):
    """:class:`Journal` on PostgreSQL. One connection per instance, shared by its threads."""

    def __init__(self, url: str):  # noqa: D107 - the base class's __init__ is SQLite's
        self.url = url
        self.path = None  # type: ignore[assignment]
        self._pg: Any = connect(url, application_name="xlexec journal")
        self._lock = threading.RLock()
        self._depth = 0
        ver = self._schema_version()
        if ver != SCHEMA_VERSION:
            self._pg.close()
            have = "no xlexec schema" if ver is None else f"schema version {ver}"
            raise ConfigError(
                f"journal: {redacted(url)} has {have} (this xlexec needs {SCHEMA_VERSION}); "
                f"the database owner runs `xlexec journal init --url URL`"
            )
        self.login = str(self._pg.execute("SELECT session_user").fetchone()[0])

    def _schema_version(self) -> int | None:
        if self._pg.execute("SELECT to_regclass('xlexec_schema')").fetchone()[0] is None:
            return None
        return self._pg.execute("SELECT max(version) FROM xlexec_schema").fetchone()[0]

    def close(self) -> None:
        self._pg.close()

    def label(self) -> str:
        return redacted(self.url)

    @contextmanager
    def transaction(self) -> Iterator[Journal]:
        """All appends inside commit together or not at all (nested: joins the outer one); the
        chain's advisory lock is held from the start, so read-then-append is one step."""
        with self._lock:
            if self._depth:
                yield self
                return
            self._depth += 1
            try:
                with self._pg.transaction():
                    self._pg.execute("SELECT pg_advisory_xact_lock(hashtext('xlexec-chain|' || current_database()), 0)")
                    yield self
            finally:
                self._depth -= 1

    def append(self, kind: str, key: str, payload: dict[str, Any], *, day: str, actor: str | None = None) -> bool:
        """As :meth:`Journal.append`; ``ts_utc`` is the database's clock and ``actor`` the
        database login (the ``actor`` argument is the operator's name, kept in the payload)."""
        with self.transaction():
            return self._insert("", day, kind, actor, [(key, payload)]) == 1

    def append_many(
        self, kind: str, rows: list[tuple[str, dict[str, Any]]], *, day: str, actor: str | None = None
    ) -> int:
        with self.transaction():
            return self._insert("", day, kind, actor, rows)

    def _insert(self, ts_utc: str, day: str, kind: str, actor: str | None, rows: list[tuple[str, dict]]) -> int:
        import psycopg

        keys = list(dict.fromkeys(k for k, _ in rows))
        seen = {
            r[0] for r in self._pg.execute("SELECT key FROM events WHERE kind = %s AND key = ANY(%s)", (kind, keys))
        }
        new = chain.new_payloads(rows, seen)
        if not new:
            return 0
        head = self._pg.execute("SELECT seq, sha256 FROM events ORDER BY seq DESC LIMIT 1").fetchone()
        counter = self._counter()
        prev = chain.link_to(head, self._rows)
        seq = max(head[0] if head else 0, counter) + 1
        now = self._pg.execute("SELECT date_trunc('milliseconds', clock_timestamp())").fetchone()[0]
        ts = _ts_text(now)
        out = []
        for k, text in new:
            sha = chain.event_sha256(seq, ts, day, kind, k, self.login, text, prev)
            out.append((seq, now, day, kind, k, self.login, _jsonb_text(text), text, prev, sha))
            seq, prev = seq + 1, sha
        try:
            with self._pg.cursor() as cur:
                cur.executemany(
                    "INSERT INTO events (seq, ts_utc, day, kind, key, actor, payload, payload_text, prev_sha256,"
                    " sha256) VALUES (%s,%s,%s,%s,%s,%s,%s::jsonb,%s,%s,%s) ON CONFLICT (kind, key) DO NOTHING"
                    " RETURNING seq",
                    out,
                    returning=True,
                )
                n = 0
                while True:
                    n += len(cur.fetchall())
                    if not cur.nextset():
                        break
        except psycopg.errors.InsufficientPrivilege as e:
            why = " ".join(str(e).split())[:160]
            raise RefusedError(
                f"journal: the database refused the login {self.login!r} appending a {kind!r} event "
                f"({why}); nothing recorded",
                rule="journal_role",
            ) from None
        if n != len(out):  # cannot happen under the chain lock; never leave a gap in the chain
            raise RuntimeError(f"journal: {len(out) - n} of {len(out)} rows conflicted under the chain lock")
        return n

    def _counter(self) -> int:
        return int(self._pg.execute("SELECT last_seq FROM xlexec_head WHERE id = 1").fetchone()[0])

    def _rows(self) -> Iterator[chain.Row]:
        for r in self._pg.execute(f"SELECT {_COLS} FROM events ORDER BY seq"):
            yield (r[0], _ts_text(r[1]), _day_text(r[2]), r[3], r[4], r[5], r[6], r[7], r[8])

    def verify(self, expect_head: str | None = None) -> chain.ChainReport:
        """As :meth:`Journal.verify`, in one snapshot; also broken (:data:`chain.EDITED`) when a
        row's ``payload`` (jsonb) is not its ``payload_text``, its reserved ``account`` is set, or
        rows are past ``xlexec_head`` (written with the triggers off)."""
        with self._lock, self._pg.transaction():
            if not self._depth:
                self._pg.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            rep = chain.verify_events(self._rows(), expect_head=expect_head)
            counter = self._counter()
            odd = self._odd_row()
        if rep.ok and odd is not None:
            rep.problem, rep.broken_seq, rep.detail = chain.EDITED, odd[0], odd[1]
        if rep.ok and rep.head_seq is not None and counter < rep.head_seq:  # xlexec_head's trigger did not run
            rep.problem, rep.broken_seq = chain.EDITED, counter + 1
            rep.detail = (
                f"seq {counter + 1}..{rep.head_seq} were written with the journal's triggers off "
                f"(its head counter says {counter})"
            )
        if rep.ok and rep.chain_start is not None and rep.head_seq is not None and counter > rep.head_seq:
            rep.problem, rep.broken_seq = chain.TRUNCATED, rep.head_seq + 1
            rep.detail = f"seq {rep.head_seq + 1}..{counter} were written and are gone (cut from the end)"
        return rep

    def _odd_row(self) -> tuple[int, str] | None:
        for seq, payload, text, account in self._pg.execute(
            "SELECT seq, payload, payload_text, account FROM events ORDER BY seq"
        ):
            if account is not None:
                return seq, "its account column is set (reserved: xlexec writes NULL)"
            if payload != _finite(json.loads(text)):
                return seq, "its payload (jsonb) is not its hashed payload_text (one was changed after it was written)"
        return None

    def has(self, kind: str, key: str) -> bool:
        with self._lock:
            q = "SELECT 1 FROM events WHERE kind = %s AND key = %s"
            return self._pg.execute(q, (kind, key)).fetchone() is not None

    def events(self, kind: str | None = None, day: str | None = None) -> list[Event]:
        sql, args = "SELECT seq, ts_utc, day, kind, key, actor, payload_text FROM events WHERE true", []
        if kind is not None:
            sql += " AND kind = %s"
            args.append(kind)
        if day is not None:
            if not _is_date(day):
                return []
            sql += " AND day = %s"
            args.append(day)
        sql += " ORDER BY seq"
        with self._lock:
            rows = self._pg.execute(sql, args).fetchall()
        return [Event(r[0], _ts_text(r[1]), _day_text(r[2]), r[3], r[4], r[5], json.loads(r[6])) for r in rows]

    def days(self) -> list[str]:
        with self._lock:
            return [_day_text(r[0]) for r in self._pg.execute("SELECT DISTINCT day FROM events ORDER BY day")]


def _is_date(text: str) -> bool:
    try:
        dt.date.fromisoformat(str(text))
    except ValueError:
        return False
    return True


# ---------------------------------------------------------------------------- journal init


@dataclass
class InitResult:
    url: str
    applied: list[int]  # migrations applied now (empty: the schema was current)
    version: int
    traders: list[str]
    approvers: list[str]


def init_schema(url: str, *, traders: tuple[str, ...] = (), approvers: tuple[str, ...] = ()) -> InitResult:
    """Create (or migrate forward) the schema and the two group roles, as the connecting login
    (who becomes the owner); ``traders`` / ``approvers``: logins given the role (created
    ``LOGIN`` without a password when missing: the DBA sets one). A rerun changes nothing."""
    from psycopg import sql

    con = connect(url, application_name="xlexec journal init", autocommit=False)
    try:
        with con.transaction():
            con.execute("SELECT pg_advisory_xact_lock(hashtext('xlexec-init|' || current_database()), 0)")
            for role in (TRADER, APPROVER):
                if con.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone() is None:
                    con.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(role)))
            con.execute(
                "CREATE TABLE IF NOT EXISTS xlexec_schema (version int PRIMARY KEY, "
                "applied_utc timestamptz NOT NULL DEFAULT now(), description text NOT NULL)"
            )
            have = con.execute("SELECT coalesce(max(version), 0) FROM xlexec_schema").fetchone()[0]
            # the schema the tables are made in (the owner's first on its search_path), named in
            # full inside the trigger functions
            schema = sql.Identifier(con.execute("SELECT current_schema()").fetchone()[0]).as_string(con)
            applied = []
            for ver, desc, ddl in MIGRATIONS:
                if ver > have:
                    con.execute(ddl.replace("@schema@", schema))
                    con.execute("INSERT INTO xlexec_schema (version, description) VALUES (%s, %s)", (ver, desc))
                    applied.append(ver)
            for logins, role in ((traders, TRADER), (approvers, APPROVER)):
                for login in logins:
                    if con.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (login,)).fetchone() is None:
                        con.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(login)))
                    con.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(role), sql.Identifier(login)))
    finally:
        con.close()
    return InitResult(redacted(url), applied, SCHEMA_VERSION, list(traders), list(approvers))


# ---------------------------------------------------------------------------- the day lock


class AdvisoryDayLock:
    """``pg_try_advisory_lock`` on the day, on a session of its own (freed when it ends)."""

    def __init__(self, url: str, day: str, holder: str):
        self.url, self.day, self.holder = url, day, holder
        self._con: Any = None

    def acquire(self) -> None:
        con = connect(self.url, application_name=f"xlexec lock {self.holder}")
        k1, k2 = con.execute(
            "SELECT hashtext('xlexec-day|' || current_database()), hashtext(%s)", (self.day,)
        ).fetchone()
        if not con.execute("SELECT pg_try_advisory_lock(%s, %s)", (k1, k2)).fetchone()[0]:
            row = con.execute(
                "SELECT a.application_name, a.usename FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
                " WHERE l.locktype = 'advisory' AND l.granted AND l.classid::int = %s AND l.objid::int = %s"
                " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())",
                (k1, k2),
            ).fetchone()
            con.close()
            holder, login = "another process", ""
            if row is not None:
                holder, login = str(row[0]).removeprefix("xlexec lock "), f", database login {row[1]}"
            raise LockedError(
                f"{self.day}: the day is locked by {holder} (the shared journal's day lock{login}); "
                "wait for it to finish (the lock frees itself if that process dies)"
            )
        self._con = con

    def release(self) -> None:
        if self._con is not None:
            try:
                self._con.close()  # ending the session frees the lock
            finally:
                self._con = None


# ---------------------------------------------------------------------------- journal copy


@dataclass
class CopyResult:
    source: str
    target: str
    n_source: int
    n_copied: int  # rows added now (0 on a rerun)
    head_seq: int | None
    head_sha256: str


def copy_journal(source: Journal, url: str) -> CopyResult:
    """Copy every event of ``source`` (a SQLite journal) into the PostgreSQL journal at ``url``
    (connecting as its owner: rows keep their own actors and times), in one transaction.

    Refused (:class:`RefusedError`, nothing written): the source's chain does not verify; the
    target holds events that are not the source's first ones; after the copy the target's chain,
    count or head differs from the source's. A rerun copies nothing and checks the same."""
    src_rep = source.verify()
    where = str(getattr(source, "path", "the source"))
    if not src_rep.ok:
        raise RefusedError(f"journal copy: {where}: {src_rep.line()}; nothing copied", rule="journal_copy")
    rows = list(source._rows())
    target = PgJournal(url)
    try:
        with target.transaction():
            have = list(target._rows())
            for i, (a, b) in enumerate(zip(have, rows)):
                if a != b:
                    raise RefusedError(
                        f"journal copy: {redacted(url)} seq {a[0]} is not the source's event #{i + 1} (seq {b[0]}); "
                        "the target holds other events; nothing copied",
                        rule="journal_copy",
                    )
            if len(have) > len(rows):
                raise RefusedError(
                    f"journal copy: {redacted(url)} holds {len(have)} events, the source {len(rows)}; nothing copied",
                    rule="journal_copy",
                )
            todo = rows[len(have) :]
            with target._pg.cursor() as cur:
                cur.executemany(
                    "INSERT INTO events (seq, ts_utc, day, kind, key, actor, payload, payload_text, prev_sha256,"
                    " sha256) VALUES (%s,%s,%s,%s,%s,%s,%s::jsonb,%s,%s,%s)",
                    [(r[0], _parse_ts(r[1]), *r[2:6], _jsonb_text(r[6]), *r[6:]) for r in todo],
                )
            if rows:
                target._pg.execute(
                    "UPDATE xlexec_head SET last_seq = greatest(last_seq, %s) WHERE id = 1", (_sqlite_counter(source),)
                )
            copied = list(target._rows())
            if copied != rows:
                bad = next((a[0] for a, b in zip(copied, rows) if a != b), None)
                raise RefusedError(
                    f"journal copy: seq {bad} does not read back as written (its time or day does not "
                    "round-trip); nothing copied",
                    rule="journal_copy",
                )
            rep = chain.verify_events(copied)
            if not rep.ok or rep.n_events != src_rep.n_events or rep.head_sha256 != src_rep.head_sha256:
                raise RefusedError(
                    f"journal copy: the target would not verify as the source: {rep.line()}; nothing copied",
                    rule="journal_copy",
                )
    finally:
        target.close()
    return CopyResult(where, redacted(url), len(rows), len(todo), rep.head_seq, rep.head_sha256)


def _parse_ts(text: str) -> dt.datetime:
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        raise RefusedError(f"journal copy: ts_utc {text[:40]!r} is not an ISO time; nothing copied") from None


def _sqlite_counter(source: Journal) -> int:
    row = source._con.execute("SELECT seq FROM sqlite_sequence WHERE name='events'").fetchone()
    return int(row[0]) if row else 0
