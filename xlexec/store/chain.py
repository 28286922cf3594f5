"""The journal's hash chain: each event carries the SHA-256 of the one before it.

One recipe, independent of the database that holds the events (SQLite today, maybe PostgreSQL
later): an event's hash is :func:`event_sha256` of ``(seq, ts_utc, day, kind, key, actor,
payload, prev_sha256)``, where ``payload`` is the JSON text exactly as stored (a backend must
store it verbatim, as text) and ``prev_sha256`` is the hash of the event before it. So editing
any column of any row, deleting a row, inserting one or moving one breaks the chain at that
row, and :func:`verify_events` names the first broken ``seq`` and why.

**Before the chain.** Events written before a journal had the hash columns carry none
("unchained"). They are not refused, but they are not left out either: the chain runs through
them as if they had hashes (their hashes are computed, not stored), and the first event with a
stored hash (the chain start) carries as ``prev_sha256`` the hash of the last unchained one.
So the unchained prefix is sealed from the chain start on: editing or deleting one of those
events afterwards breaks the chain at the chain start. What happened to them *before* the
chain started cannot be known; the report says how many there are and where the chain starts.
Gaps in ``seq`` are allowed before the chain start only (older writers let SQLite skip numbers
on ignored duplicates); from the chain start on, ``seq`` goes up by exactly one.

A chain proves nothing against someone who rewrites every hash after an edit: the head hash
(:attr:`ChainReport.head_sha256`) noted down elsewhere (``xlexec journal verify`` prints it,
``--expect-head`` checks it later) is what makes that visible.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

#: ``prev_sha256`` of the very first event of a journal
GENESIS = "0" * 64
#: the recipe's name, hashed with every event (a new recipe gets a new name)
RECIPE = "xlexec-journal-chain/1"

#: one stored event: (seq, ts_utc, day, kind, key, actor, payload JSON text, prev_sha256, sha256)
Row = tuple[int, str, str, str, str, str | None, str, str | None, str | None]

# why a chain is broken (ChainReport.problem)
EDITED = "edited"  # the row's columns do not give its stored hash
GAP = "gap"  # a seq is missing after the chain start (a row was deleted)
REORDERED = "reordered"  # its prev hash is the hash of another row than the one before it
BAD_PREV = "bad_prev"  # its prev hash is no row's hash (the row before was rewritten, or removed)
UNCHAINED = "unchained"  # a row without hashes after the chain start (hashes removed, or written around xlexec)
TRUNCATED = "truncated"  # events at the end are missing (the database's own counter is ahead)
HEAD = "head"  # the head hash noted earlier is no longer in the chain


def event_sha256(
    seq: int,
    ts_utc: str,
    day: str,
    kind: str,
    key: str,
    actor: str | None,
    payload: str,
    prev_sha256: str,
) -> str:
    """SHA-256 (hex, 64 chars) of one event and the hash before it (:data:`GENESIS` for the first).

    The canonical form: :data:`RECIPE` and the eight values, one per line (``\\n``), each written
    as ``n`` (NULL), ``i<decimal>`` (an integer) or ``s<length in code points>:<text>`` (text;
    any other type as ``?<type name>:<repr>``), the whole encoded UTF-8. Unambiguous, and a
    column's type counts (``1`` is not ``"1"``). Any backend computes the same bytes.
    """
    text = "\n".join((RECIPE, _f(seq), _f(ts_utc), _f(day), _f(kind), _f(key), _f(actor), _f(payload), _f(prev_sha256)))
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _f(v: object) -> str:
    if v is None:
        return "n"
    if type(v) is int:
        return f"i{v}"
    if type(v) is str:
        return f"s{len(v)}:{v}"
    return f"?{type(v).__name__}:{v!r}"


def row_sha256(row: Row, prev_sha256: str) -> str:
    """:func:`event_sha256` of a stored row (its own hash columns ignored)."""
    return event_sha256(row[0], row[1], row[2], row[3], row[4], row[5], row[6], prev_sha256)


@dataclass
class ChainReport:
    """What a walk of the chain found. ``ok`` False: ``broken_seq`` and ``problem`` say where and why."""

    n_events: int = 0
    n_unchained: int = 0  # events before the chain start (no stored hash; sealed by the chain start)
    chain_start: int | None = None  # seq of the first event with a stored hash (None: none yet)
    head_seq: int | None = None
    head_sha256: str = GENESIS  # hash of the last event (computed for an unchained one)
    broken_seq: int | None = None
    problem: str | None = None
    detail: str = ""
    expected_head: str | None = None
    expected_head_seq: int | None = None  # where the expected head was found

    @property
    def ok(self) -> bool:
        return self.problem is None

    def line(self) -> str:
        """One line for the operator or the auditor."""
        if not self.ok:
            return f"journal BROKEN at seq {self.broken_seq}: {self.problem}: {self.detail}"
        if self.n_events == 0:
            return "journal OK: no events yet"
        if self.chain_start is None:
            span = f"all {self.n_unchained} events written before the chain (no hashes yet; the next event seals them)"
        elif self.n_unchained:
            span = (
                f"chain from seq {self.chain_start}; {self.n_unchained} events before it written "
                f"without hashes (unchained, sealed by seq {self.chain_start})"
            )
        else:
            span = f"chain from seq {self.chain_start}"
        found = ""
        if self.expected_head is not None:
            found = f"; expected head found at seq {self.expected_head_seq}"
        return f"journal OK: {self.n_events} events, {span}; head seq {self.head_seq} sha256 {self.head_sha256}{found}"

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "n_events": self.n_events,
            "n_unchained": self.n_unchained,
            "chain_start": self.chain_start,
            "head_seq": self.head_seq,
            "head_sha256": self.head_sha256,
            "broken_seq": self.broken_seq,
            "problem": self.problem,
            "detail": self.detail,
            "expected_head": self.expected_head,
            "expected_head_seq": self.expected_head_seq,
            "line": self.line(),
        }


def payload_text(payload: dict) -> str:
    """The exact text a payload is stored and hashed as (keys sorted; what both journals write)."""
    return json.dumps(payload, sort_keys=True, default=str)


def new_payloads(rows: Iterable[tuple[str, dict]], seen: set[str]) -> list[tuple[str, str]]:
    """``[(key, payload text)]`` of the rows whose key is not in ``seen`` (the first of repeated
    keys), in order; ``seen`` gains them."""
    new = []
    for k, p in rows:
        if k not in seen:
            seen.add(k)
            new.append((k, payload_text(p)))
    return new


def link_to(head: tuple[int, str | None] | None, rows: Callable[[], Iterable[Row]]) -> str:
    """The prev hash of the next event: :data:`GENESIS` for an empty journal, the head's hash,
    or, when the head has none (events written before the chain), the hash sealing them all
    (``rows()`` is read only then)."""
    if head is None:
        return GENESIS
    if head[1] is not None:
        return head[1]
    return chain_head(rows())


def chain_head(rows: Iterable[Row]) -> str:
    """The hash the next event must carry as ``prev_sha256`` after ``rows`` (in seq order),
    computing the hashes of unchained rows (:data:`GENESIS` when there are none)."""
    prev = GENESIS
    for r in rows:
        prev = r[8] if r[8] is not None else row_sha256(r, prev)
    return prev


def verify_events(rows: Iterable[Row], *, expect_head: str | None = None) -> ChainReport:
    """Walk ``rows`` (every stored event, in seq order) and report the first break, if any.

    ``expect_head``: a head hash noted earlier; it must still be the hash of some event (the
    journal may have grown since), else the report is broken with problem :data:`HEAD`."""
    rep = ChainReport(expected_head=expect_head)
    prev, prev_seq = GENESIS, None
    seen: dict[str, int] = {}  # stored hash -> seq (to tell a move from an edit)
    it = iter(rows)
    for r in it:
        seq, stored_prev, stored = r[0], r[7], r[8]
        problem = _check(r, prev, prev_seq, rep.chain_start)
        if problem is None and stored is not None and rep.chain_start is None:
            rep.chain_start = seq
        if problem is not None:
            for later in it:  # the rest, only to know every stored hash
                if later[8] is not None:
                    seen.setdefault(later[8], later[0])
            if problem[0] == BAD_PREV and stored_prev in seen and seen[stored_prev] != seq:
                problem = (REORDERED, f"its prev hash is the hash of seq {seen[stored_prev]}, not of seq {prev_seq}")
            rep.broken_seq, (rep.problem, rep.detail) = seq, problem
            return rep
        prev = stored if stored is not None else row_sha256(r, prev)
        prev_seq = seq
        seen.setdefault(prev, seq)
        rep.n_events += 1
        rep.n_unchained += stored is None
        if expect_head is not None and prev == expect_head:
            rep.expected_head_seq = seq
    rep.head_seq, rep.head_sha256 = prev_seq, prev
    if expect_head is not None and rep.expected_head_seq is None:
        rep.problem, rep.broken_seq = HEAD, prev_seq
        rep.detail = (
            f"the head hash noted earlier ({expect_head}) is no event's hash: the journal was rewritten "
            f"or cut short since (head now seq {prev_seq} sha256 {prev})"
        )
    return rep


def _check(r: Row, prev: str, prev_seq: int | None, chain_start: int | None) -> tuple[str, str] | None:
    """Why row ``r`` does not follow the row before it (hash ``prev``, ``prev_seq``), or None."""
    seq, stored_prev, stored = r[0], r[7], r[8]
    if chain_start is None:  # still before the chain: anything unchained goes, gaps too
        if stored is None and stored_prev is None:
            return None
    elif stored is None or stored_prev is None:
        return UNCHAINED, f"the row has no hash but the chain started at seq {chain_start}"
    elif prev_seq is not None and seq != prev_seq + 1:
        missing = f"seq {prev_seq + 1}" if seq == prev_seq + 2 else f"seq {prev_seq + 1}..{seq - 1}"
        return GAP, f"{missing} missing after seq {prev_seq} (deleted)"
    if stored is None or stored_prev is None:
        return UNCHAINED, "the row has only one of its two hashes"
    if stored_prev != prev:
        before = f"seq {prev_seq}" if prev_seq is not None else "the start of the journal"
        return BAD_PREV, (
            f"its prev hash {stored_prev[:16]}... is not the hash of {before} ({prev[:16]}...): a row before it "
            "was rewritten or removed"
        )
    if row_sha256(r, prev) != stored:
        return EDITED, "its columns do not give its stored hash (the row was changed after it was written)"
    return None
