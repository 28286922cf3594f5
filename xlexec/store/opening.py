"""The day's opening snapshot: the positions and cash a trading day starts from, taken once.

At the first reconciliation of a day the positions it starts from are written to
``live/D/opening_positions.csv`` (``symbol,shares,avg_cost,total_cost``: signed shares, $/share,
$ cost basis at full precision) and its
cash to ``live/D/opening_cash.json`` (``{"day", "cash_usd"}``, $; null when unknown), both
atomically, and journaled once (kind ``positions``, key ``D|opening``, action
``opening_snapshot``) with the sha256 of each file, the rows and the cash. Every later
reconcile or accept of that day starts from the snapshot, so a rerun computes the same day;
a snapshot file edited (or deleted) since it was journaled is refused.

A ``opening_positions.csv`` already in the day folder (kept by Load Trades or the demo, before
anything was journaled) is adopted as it is when it holds the same positions.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import pandas as pd

from xlexec.core.positions import basis, clean_positions
from xlexec.errors import RefusedError
from xlexec.formats.csvio import atomic_write_text, to_csv_text
from xlexec.formats.inputs import read_positions
from xlexec.store.day import Day
from xlexec.store.journal import POSITIONS, Journal

ACTION = "opening_snapshot"
EPS = 1e-9


def sha256_file(path) -> str | None:
    """sha256 of the file's bytes; None when it does not exist."""
    try:
        with open(path, "rb") as fh:
            return hashlib.sha256(fh.read()).hexdigest()
    except FileNotFoundError:
        return None


def same_positions(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    """True when both hold the same symbols with the same shares and total cost (to 1e-9: the
    cost basis is carried exactly; a frame without total_cost: avg_cost x shares)."""

    def norm(df: pd.DataFrame) -> list[tuple[str, float, float]]:
        df = df[df["shares"].astype(float).abs() > EPS]
        tot = df["total_cost"] if "total_cost" in df.columns else pd.Series(float("nan"), index=df.index)
        return sorted(
            (str(s), round(float(q), 9), round(float(basis(q, c, t)[0]), 9))
            for s, q, c, t in zip(df["symbol"], df["shares"], df["avg_cost"], tot, strict=True)
        )

    return norm(a) == norm(b)


@dataclass(frozen=True)
class Opening:
    """The snapshot of a day: positions (``symbol, shares, avg_cost``) and cash before ($)."""

    positions: pd.DataFrame
    cash: float | None
    record: dict[str, Any]
    taken_now: bool = False


def record_of(journal: Journal, day: Day) -> dict[str, Any] | None:
    """The journaled snapshot of ``day`` (payload), None before the day's first reconcile."""
    for p in journal.payloads(POSITIONS, day.date):
        if p.get("action") == ACTION:
            return p
    return None


def later_snapshot(journal: Journal, day: Day) -> str | None:
    """The first day after ``day`` that already took its opening snapshot (None if none)."""
    later = sorted(e.day for e in journal.events(POSITIONS) if e.day > day.date and e.payload.get("action") == ACTION)
    return later[0] if later else None


def _verify(day: Day, rec: dict[str, Any]) -> None:
    for path, key in ((day.opening_positions, "positions_sha256"), (day.opening_cash, "cash_sha256")):
        now = sha256_file(path)
        want = rec.get(key)
        if now != want:
            state = "deleted" if now is None else f"now {now[:12]}"
            raise RefusedError(
                f"{path}: changed since {day.date}'s opening snapshot (journaled sha256 {str(want)[:12]}, {state}); "
                "the day starts from the snapshot: restore the file from the journal's record (kind positions, "
                f"key {day.date}|opening)"
            )


def load(journal: Journal, day: Day) -> Opening | None:
    """The day's snapshot, checked against the journal; None when none was taken yet.

    Raises :class:`RefusedError` when a snapshot file was edited or deleted since."""
    rec = record_of(journal, day)
    if rec is None:
        return None
    _verify(day, rec)
    return Opening(read_positions(day.opening_positions), rec.get("cash_usd"), rec)


def take(
    journal: Journal, day: Day, positions: pd.DataFrame, cash: float | None, *, source: str, by: str, at: str
) -> Opening:
    """Write and journal the day's snapshot (call under the day lock, once: see :func:`load`)."""
    path = day.opening_positions
    kept = None
    if path.exists():  # kept by Load Trades / the demo: adopted as is when it says the same
        kept = read_positions(path)
    if kept is None or not same_positions(kept, positions):
        rows = clean_positions(positions).sort_values("symbol").reset_index(drop=True)
        rows = rows[rows["shares"].astype(float).abs() > EPS]
        atomic_write_text(path, to_csv_text(rows, {"avg_cost": 2, "total_cost": 2}))
    cash_v = None if cash is None else float(cash) + 0.0  # unrounded: the day's exact cash before
    atomic_write_text(day.opening_cash, json.dumps({"day": day.date, "cash_usd": cash_v}, indent=2) + "\n")
    snap = read_positions(path)
    rec = {
        "action": ACTION,
        "by": by,
        "at": at,
        "source": source,
        "positions_file": str(path),
        "positions_sha256": sha256_file(path),
        "cash_file": str(day.opening_cash),
        "cash_sha256": sha256_file(day.opening_cash),
        "cash_usd": cash_v,
        "positions": [
            {"symbol": s, "shares": float(q), "avg_cost": float(c), "total_cost": float(t)}
            for s, q, c, t in zip(snap["symbol"], snap["shares"], snap["avg_cost"], snap["total_cost"], strict=True)
        ],
    }
    journal.append(POSITIONS, f"{day.date}|opening", rec, day=day.date, actor=by)
    return Opening(snap, cash_v, rec, taken_now=True)
