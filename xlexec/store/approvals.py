"""Approvals bound to the exact orders to be sent.

An approval is a journal event (kind ``approval``, key ``date|orders_sha256|seq``) carrying
``date, decision (APPROVED|CONDITIONAL|REJECTED), reason, approver, timestamp_utc,
recommended (APPROVE|CONDITIONAL|REJECT, the validator's decision), orders_sha256, n_orders,
override, approver_login`` (the OS login beside the display name), ``policy_sha256`` and
``policy`` (the policy in force when it was recorded, :mod:`xlexec.store.policy`). The hash is
:func:`xlexec.core.orders.orders_sha256` of the orders (symbol, side, shares, limit price, order
type), so changing one share count or one limit after approval
yields a different hash that no approval covers.

``live/trade_approvals.csv`` (the guide's ``date,decision,reason,approver`` first, then the
binding columns) is *written from* the journal after every approval, atomically. The journal
is the source of truth: :func:`find_approval` reads only the journal, so editing the CSV can
never create an approval. Rows in an existing CSV without a hash (the guide's hand-typed
``echo ... >> trade_approvals.csv`` lines) are kept at the top for the record; they bind nothing.

Rules: the reason and the approver must be non-empty; approving (APPROVED or CONDITIONAL)
against a REJECT recommendation needs ``override=True`` and is recorded with ``override=True``.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
from pathlib import Path
from typing import Any

import pandas as pd

from xlexec.core.orders import canonical_lines, orders_sha256
from xlexec.core.policy import policy_sha256
from xlexec.errors import InputError, RefusedError
from xlexec.formats.csvio import atomic_write_text, to_csv_text
from xlexec.store.journal import APPROVAL, Journal, current_user, journal_exists

APPROVAL_COLUMNS = [
    "date",
    "decision",
    "reason",
    "approver",
    "timestamp_utc",
    "recommended",
    "orders_sha256",
    "n_orders",
    "override",
    "approver_login",
    "policy_sha256",
]
DECISIONS = ("APPROVED", "CONDITIONAL", "REJECTED")
RECOMMENDATIONS = ("APPROVE", "CONDITIONAL", "REJECT")
APPROVALS_CSV = "trade_approvals.csv"
JOURNAL_FILE = "journal.sqlite"


def _one_line(text: str | None) -> str:
    return " ".join(str(text or "").split())


def record_approval(
    live_dir: Path,
    *,
    date: str,
    orders: pd.DataFrame,
    decision: str,
    reason: str,
    approver: str,
    recommended: str,
    override: bool = False,
    now: dt.datetime,
    header_sha256: str | None = None,
    policy: dict[str, Any] | None = None,
    approver_login: str | None = None,
) -> dict[str, Any]:
    """Record a decision on ``orders`` (from :func:`xlexec.core.orders.orders_from_trades`).

    Appends the journal event, then rewrites ``live/trade_approvals.csv`` from the journal.
    Returns the recorded row (the CSV columns plus ``seq``, the approval's number that day).
    The same decision on the same orders pressed again (the latest one for these orders: same
    decision, reason, approver and login, recommendation, override, policy and trades header)
    records nothing: the recorded row is returned with ``already=True``.
    ``approver_login`` is the OS login (default :func:`~xlexec.store.journal.current_user`),
    kept beside the display name ``approver``; ``policy`` (the policy in force,
    :mod:`xlexec.store.policy`) is recorded with its ``policy_sha256``.
    Raises :class:`RefusedError` for an empty reason/approver, an unknown decision, or an
    approval against a REJECT recommendation without ``override``.
    """
    live_dir = Path(live_dir)
    decision = _one_line(decision).upper()
    recommended = _one_line(recommended).upper()
    reason = _one_line(reason)
    approver = _one_line(approver)
    try:
        date = dt.date.fromisoformat(str(date).strip()).isoformat()
    except ValueError:
        raise InputError("approval", f"date {str(date)[:40]!r} is not YYYY-MM-DD", column="date") from None
    if decision not in DECISIONS:
        raise RefusedError(f"decision must be one of {'|'.join(DECISIONS)}, got {decision!r}")
    if recommended not in RECOMMENDATIONS:
        raise RefusedError(f"recommended must be one of {'|'.join(RECOMMENDATIONS)}, got {recommended!r}")
    if not reason:
        raise RefusedError("a reason is required for every approval decision")
    if not approver:
        raise RefusedError("the approver's name is required")
    overriding = decision in ("APPROVED", "CONDITIONAL") and recommended == "REJECT"
    if overriding and not override:
        raise RefusedError(
            f"validation recommends REJECT; recording {decision} needs an explicit override (--override) and a reason"
        )
    sha = orders_sha256(orders)
    if now.tzinfo is None:
        now = now.replace(tzinfo=dt.UTC)
    row: dict[str, Any] = {
        "date": date,
        "decision": decision,
        "reason": reason,
        "approver": approver,
        "timestamp_utc": now.astimezone(dt.UTC).isoformat(timespec="milliseconds"),
        "recommended": recommended,
        "orders_sha256": sha,
        "n_orders": int(len(orders)),
        "override": bool(overriding),
        "approver_login": _one_line(approver_login) or current_user(),
        "policy_sha256": policy_sha256(policy) if policy is not None else None,
    }
    payload = dict(row, orders=canonical_lines(orders))
    if policy is not None:  # submit refuses when the policy in force is looser than this one
        payload["policy"] = policy
    if header_sha256:  # the trades header approved (submit refuses when it changed since)
        payload["header_sha256"] = header_sha256
    with Journal.for_live_dir(live_dir) as j:
        with j.transaction():
            same = _same_as_latest(j, date, sha, row, payload.get("header_sha256"))
            if same is not None:  # pressed again: the decision stands as recorded, nothing added
                return same
            seq = sum(1 for e in j.events(APPROVAL, date)) + 1
            row["seq"] = seq
            payload["seq"] = seq
            j.append(APPROVAL, f"{date}|{sha}|{seq}", payload, day=date, actor=approver)
        rows = [e.payload for e in j.events(APPROVAL)]
    write_approvals_csv(live_dir, rows)
    return row


#: what makes two approvals of the same orders the same decision (the time does not)
SAME_DECISION = ("decision", "reason", "approver", "approver_login", "recommended", "override", "policy_sha256")


def _same_as_latest(
    j: Journal, date: str, sha: str, row: dict[str, Any], header_sha: str | None
) -> dict[str, Any] | None:
    """The latest decision on these exact orders (``sha``) of ``date`` as a row with
    ``already=True`` when ``row`` repeats it (same :data:`SAME_DECISION` fields and trades
    header), else None: a different reason, approver, policy... is a new decision."""
    last = None
    for e in j.events(APPROVAL, date):
        if e.payload.get("orders_sha256") == sha:
            last = e.payload
    if last is None or (last.get("header_sha256") or None) != (header_sha or None):
        return None
    if any(last.get(k) != row[k] for k in SAME_DECISION):
        return None
    return {**{k: last.get(k) for k in APPROVAL_COLUMNS}, "seq": last.get("seq"), "already": True}


def _journal_rows(live_dir: Path, date: str | None = None) -> list[dict[str, Any]]:
    if not journal_exists(live_dir):
        return []
    with Journal.for_live_dir(live_dir) as j:
        return [e.payload for e in j.events(APPROVAL, date)]


def find_approval(live_dir: Path, date: str, orders_sha256: str) -> dict[str, Any] | None:
    """The approval that lets these exact orders be sent on ``date``, or ``None``.

    The latest APPROVED/CONDITIONAL journal row for ``date`` and ``orders_sha256``; ``None``
    when there is none or when a later REJECTED row for the same hash revoked it. Reads only
    the journal (never the CSV).
    """
    last = None
    rows = _journal_rows(live_dir)
    for p in rows:
        if p.get("orders_sha256") == orders_sha256 and p.get("date") == date:
            last = p
    _catch_up_csv(Path(live_dir), rows)
    if last is None or last.get("decision") not in ("APPROVED", "CONDITIONAL"):
        return None
    return {k: last.get(k) for k in APPROVAL_COLUMNS + ["seq", "header_sha256", "policy"]}


def _catch_up_csv(live_dir: Path, rows: list[dict[str, Any]]) -> None:
    """Rewrite ``trade_approvals.csv`` when it holds fewer decisions than the journal.

    The journal append commits before the CSV is renamed into place; a crash (``kill -9``) in
    between leaves the CSV one decision behind. The next look-up brings it up to date."""
    if not rows:
        return
    path = live_dir / APPROVALS_CSV
    try:
        text = path.read_text(encoding="utf-8-sig")
        have = sum(1 for r in csv.DictReader(io.StringIO(text)) if (r.get("orders_sha256") or "").strip())
    except (OSError, csv.Error, UnicodeDecodeError):
        have = -1
    if have < len(rows):
        with contextlib.suppress(OSError):  # read-only folder: the journal still decides
            write_approvals_csv(live_dir, rows)


def list_approvals(live_dir: Path) -> pd.DataFrame:
    """Every recorded approval decision (journal order), columns :data:`APPROVAL_COLUMNS`."""
    rows = _journal_rows(live_dir)
    if not rows:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in APPROVAL_COLUMNS})
    df = pd.DataFrame([{c: p.get(c) for c in APPROVAL_COLUMNS} for p in rows])
    df["n_orders"] = df["n_orders"].astype(int)
    df["override"] = df["override"].astype(bool)
    return df


def _legacy_rows(path: Path) -> list[list[str]]:
    """Hand-typed rows (no orders hash) of an existing CSV, as the first four columns."""
    if not path.exists():
        return []
    try:
        text = path.read_text(encoding="utf-8-sig", errors="replace")
    except OSError:
        return []
    rows = [r for r in csv.reader(io.StringIO(text)) if any(c.strip() for c in r)]
    if not rows:
        return []
    head = [c.strip().lower() for c in rows[0]]
    if head and head[0] == "date":
        idx = {c: i for i, c in enumerate(head)}
        body = rows[1:]
    else:
        idx = {c: i for i, c in enumerate(APPROVAL_COLUMNS[:4])}
        body = rows
    h = idx.get("orders_sha256")
    out = []
    for r in body:
        if h is not None and h < len(r) and r[h].strip():
            continue  # written from the journal: regenerated, never trusted
        out.append([r[idx[c]].strip() if c in idx and idx[c] < len(r) else "" for c in APPROVAL_COLUMNS[:4]])
    return out


def write_approvals_csv(live_dir: Path, rows: list[dict[str, Any]] | None = None) -> Path:
    """Rewrite ``live/trade_approvals.csv`` from the journal (atomically)."""
    live_dir = Path(live_dir)
    path = live_dir / APPROVALS_CSV
    if rows is None:
        rows = _journal_rows(live_dir)
    legacy = _legacy_rows(path)
    recs = [dict(zip(APPROVAL_COLUMNS[:4], r), **{c: "" for c in APPROVAL_COLUMNS[4:]}) for r in legacy]
    recs += [{c: ("" if p.get(c) is None else str(p.get(c))) for c in APPROVAL_COLUMNS} for p in rows]
    df = pd.DataFrame(recs, columns=APPROVAL_COLUMNS).astype(object)
    return atomic_write_text(path, to_csv_text(df))
