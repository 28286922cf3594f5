"""A month gathered from the day folders: the files and journal queries behind
:func:`xlexec.core.monthly.monthly_report`.

:func:`collect_month` reads ``live/YYYY-MM-DD/`` (``tca.json``, or ``trades.csv`` +
``broker_fills.csv`` when the saved TCA is missing or stale), the journal's ``order_intent``
brokers, each day's reconciled value (:func:`reconciled_value`, $) and the external cash flows
of ``live/cash_flows.csv`` (:mod:`xlexec.formats.cash_flows`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xlexec.core.corporate_actions import exact
from xlexec.core.monthly import DAY_RE, MONTH_RE, DayRecord, _num, month_tca
from xlexec.core.rows import parse_numeric
from xlexec.errors import InputError
from xlexec.formats.cash_flows import read_cash_flows
from xlexec.formats.csvio import read_table, read_text, split_comment_header
from xlexec.formats.fills import read_fills
from xlexec.formats.trades import read_trades
from xlexec.store.journal import INTENT


def _read_json(path: Path) -> dict[str, Any]:
    text = read_text(path, what="JSON file")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(str(path), f"not valid JSON: {e.msg}", row=e.lineno) from None
    if not isinstance(data, dict):
        raise InputError(str(path), "expected a JSON object")
    return data


def reconciled_value(day_dir: str | Path) -> float | None:
    """The day's reconciled end-of-day portfolio value ($) or ``None``.

    Rule: ``reconciliation.json`` ``portfolio_value_after`` when present (the unrounded one of
    its ``exact`` block when there, else the shown cents of an older file); else the sum of
    ``positions_after_recon.csv`` ``current_value`` plus ``reconciliation.json`` ``cash_after``;
    else unknown (``None``).
    """
    d = Path(day_dir)
    rj = d / "reconciliation.json"
    if not rj.exists():
        return None
    data = _read_json(rj)
    ex: dict[str, Any] = data["exact"] if isinstance(data.get("exact"), dict) else {}
    v = _num(ex.get("portfolio_value_after"))
    if v is None:
        v = _num(data.get("portfolio_value_after"))
    if v is not None:
        return v
    cash = _num(ex.get("cash_after"))
    if cash is None:
        cash = _num(data.get("cash_after"))
    pos = d / "positions_after_recon.csv"
    if cash is None or not pos.exists():
        return None
    text = read_text(pos, what="positions file")
    _, body, first = split_comment_header(text)
    if len([b for b in body if b.strip(" ,")]) <= 1:  # header only: all cash
        return cash
    df = read_table("\n".join(body), str(pos), first, ["symbol", "current_value"], what="positions file")
    values = parse_numeric(df, "current_value", str(pos)).dropna()
    return float(sum((exact(float(v)) for v in values), exact(cash))) + 0.0  # summed exactly


def _day_dirs(live_dir: Path) -> list[Path]:
    if not live_dir.is_dir():
        return []
    return sorted(p for p in live_dir.iterdir() if p.is_dir() and DAY_RE.match(p.name))


@dataclass
class MonthInputs:
    """The month's days, the opening value ($, the last reconciled value before the month, of
    ``opening_date``) and the external cash flows (``live/cash_flows.csv``: date -> net $)."""

    days: list[DayRecord]
    opening_value: float | None
    notes: list[str]
    opening_date: str | None = None
    cash_flows: dict[str, float] = field(default_factory=dict)


def collect_month(
    live_dir: str | Path,
    month: str,
    *,
    journal=None,
    default_broker: str = "unknown",
    default_order_type: str = "limit",
    base_currency: str | None = None,
) -> MonthInputs:
    """Gather ``live/YYYY-MM-DD/`` folders of ``month`` into :class:`DayRecord`s.

    Per day: ``tca.json`` when it is at least as new as ``trades.csv`` and ``broker_fills.csv``;
    else the TCA is computed now from those two files (a note says so); a day with neither is
    left out (noted). Broker: ``tca.json`` ``broker``, else the journal's ``order_intent``
    ``broker``, else ``default_broker``. Reconciled values: :func:`reconciled_value`; opening
    value: the latest reconciled value of the (up to 5) day folders before the month.
    ``base_currency``: config ``base_currency`` (the fills were written in it; default USD).
    """
    if not MONTH_RE.match(month or ""):
        raise InputError("--month", f"month must be YYYY-MM, got {str(month)[:20]!r}")
    live = Path(live_dir)
    dirs = _day_dirs(live)
    mine = [p for p in dirs if p.name.startswith(month + "-")]
    notes: list[str] = []
    days: list[DayRecord | None] = []
    pending = []  # days whose TCA is computed now, all in one batch: (slot, date, trades, fills, broker, after)
    for d in mine:
        tj, tr, fl = d / "tca.json", d / "trades.csv", d / "broker_fills.csv"
        after = reconciled_value(d)
        fresh = tj.exists() and all(not x.exists() or x.stat().st_mtime <= tj.stat().st_mtime for x in (tr, fl))
        if fresh:
            data = _read_json(tj)
            broker = _broker_of(data.get("broker"), journal, d.name, default_broker)
            days.append(
                DayRecord.from_tca_json(data, date=d.name, portfolio_value_after=after, broker=broker, name=str(tj))
            )
        elif tr.exists() and fl.exists():
            pending.append(
                (
                    len(days),
                    d.name,
                    read_trades(tr),
                    read_fills(fl, base_currency=base_currency),
                    _broker_of(None, journal, d.name, default_broker),
                    after,
                )
            )
            days.append(None)
            notes.append(
                f"{d.name}: tca.json missing or older than its inputs; TCA computed now (run xlexec tca to save it)"
            )
        elif tr.exists():
            notes.append(f"{d.name}: no broker_fills.csv and no tca.json: left out")
    if pending:
        results = month_tca(
            [(date, trades, fills) for _, date, trades, fills, _, _ in pending], default_order_type=default_order_type
        )
        for (slot, _, _, _, broker, after), res in zip(pending, results):
            days[slot] = DayRecord.from_tca(res, broker=broker, portfolio_value_after=after)
    opening, opening_date = None, None
    before = [p for p in dirs if p.name < month + "-01"][-5:]
    for p in reversed(before):
        opening = reconciled_value(p)
        if opening is not None:
            opening_date = p.name
            break
    records = [r for r in days if r is not None]  # every None slot was filled from its pending TCA above
    flows = read_cash_flows(live / "cash_flows.csv")
    return MonthInputs(records, opening, notes, opening_date, flows)


def _broker_of(from_tca, journal, day: str, default: str) -> str:
    if from_tca:
        return str(from_tca)
    if journal is not None:
        names = [str(p.get("broker")) for p in journal.payloads(INTENT, day) if p.get("broker")]
        if names:
            return max(sorted(set(names)), key=names.count)  # a tie: the first by name
    return default
