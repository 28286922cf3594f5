"""The day's ADV slicing plan: one recipe for ``convert``, ``submit``, ``reconcile`` and the workbook.

The plan of a day = today's orders (``orders_from_trades``; the approval binds to their sha256)
after :func:`xlexec.store.slicing.plan_day` (the reference file, then
:func:`xlexec.core.slicing.plan_slices`): orders above ``validation.max_adv_pct`` (fraction) of
ADV (``live/reference.csv``, shares/day) cut to today's child, plus the children due today from
earlier days' schedules. A schedule already journaled for today's batch (kind ``SLICE``) is
reused as recorded; orders already sent whole through the API are not sliced afterwards.
:func:`origin_trades` reads the earlier days' trades those carried children come from (their
parents' estimates, taken pro rata by the reconciliation).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from xlexec.core.orders import orders_from_trades, orders_sha256, without_account
from xlexec.core.slicing import SlicePlan, carry_forward, recorded_parents
from xlexec.core.trades import Trades
from xlexec.formats.trades import read_trades
from xlexec.store import journal as J
from xlexec.store.day import Day
from xlexec.store.slicing import plan_day


def day_orders(trades, default_order_type: str, date: str) -> tuple[pd.DataFrame, str]:
    """The day's parent orders of ``trades`` and their sha256 (what an approval binds to)."""
    orders = orders_from_trades(trades, default_order_type=default_order_type, date=date)
    return orders, orders_sha256(orders)


@dataclass
class SlicingState:
    """What the journal says about slicing on a day, for one batch (``sha``)."""

    prior: list[dict[str, Any]] = field(default_factory=list)  # every SLICE record (all days)
    recorded: list[dict[str, Any]] = field(default_factory=list)  # day-1 records of today's batch
    due: list[dict[str, Any]] = field(default_factory=list)  # children carried to today

    @property
    def has_schedule(self) -> bool:
        """True when today's batch was sliced or children from earlier days are due today."""
        return bool(self.recorded or self.due)


def slicing_state(journal: J.Journal | None, day: Day, sha: str) -> SlicingState:
    """The SLICE records of the journal (none without a journal) seen from ``day``'s batch ``sha``."""
    prior = day.slice_records(journal) if journal is not None else []
    if not prior:
        return SlicingState()
    return SlicingState(prior, recorded_parents(prior, day.date, sha), carry_forward(prior, day.date))


def sent_whole(journal: J.Journal, day: Day, client_order_ids: Iterable[str]) -> set[str]:
    """Which of ``client_order_ids`` (today's unsliced orders) already went out whole on ``day``.

    An order with an intent counts unless the broker never took it: its latest snapshot is
    rejected / canceled / expired with nothing filled, or the broker refused it (``broker_rejected``)
    and no snapshot exists. An intent with no known outcome counts (it may be at the broker).
    Such orders must not be sliced afterwards: children would come on top of the full quantity.
    """
    ids = set(client_order_ids)
    # intents carry the account tag (sent ids), ``ids`` may be plan ids: compare without it
    plan = {c: without_account(c) for c in day.intents(journal)}
    intents = {c for c, p in plan.items() if c in ids or p in ids}
    if not intents:
        return set()
    latest = day.latest_orders(journal)
    rejected = {
        p["client_order_id"] for p in journal.payloads(J.REFUSED, day.date) if p.get("code") == "broker_rejected"
    }
    out = set()
    for c in intents:
        given = c if c in ids else plan[c]
        snap = latest.get(c)
        if snap is None:
            if c not in rejected:
                out.add(given)
        elif not (
            snap.get("status") in ("rejected", "canceled", "expired") and float(snap.get("filled_qty") or 0) == 0
        ):
            out.add(given)
    return out


def day_plan(
    state: SlicingState,
    orders: pd.DataFrame,
    *,
    day: Day,
    sha: str,
    max_adv_pct: float,
    slice_new: bool,
    sent_whole: Iterable[str] = (),
) -> SlicePlan:
    """The day's slicing plan (the one recipe).

    ``slice_new``: cut today's large orders afresh (``--slice``); the reference file
    ``live/reference.csv`` is then required, unless today's schedule is already recorded (reused
    as is). ``max_adv_pct``: fraction of ADV per day. Nothing is written: the caller journals
    ``plan.records`` (kind SLICE) unless a draft.
    """
    return plan_day(
        orders,
        day=day.date,
        batch_sha256=sha,
        prior=state.prior,
        max_adv_pct=max_adv_pct,
        live_dir=day.live_dir,
        slice_new=slice_new,
        sent_whole=sent_whole,
    )


def planned_orders(
    journal: J.Journal | None, trades, day: Day, *, default_order_type: str, max_adv_pct: float
) -> pd.DataFrame | None:
    """The orders actually planned for ``day`` when the journal holds a slicing schedule for it
    (today's children of sliced parents + children carried from earlier days), else None (the
    plan is the trades' orders). What reconciliation compares fills with."""
    orders, sha = day_orders(trades, default_order_type, day.date)
    state = slicing_state(journal, day, sha)
    if not state.has_schedule:
        return None
    return day_plan(state, orders, day=day, sha=sha, max_adv_pct=max_adv_pct, slice_new=bool(state.recorded)).orders


def origin_trades(journal: J.Journal | None, trades, day: Day, *, default_order_type: str) -> list[tuple[str, Trades]]:
    """``(origin day, trades)`` of the earlier days whose sliced parents have children due on
    ``day`` (the journal's SLICE records), read from ``live/<origin day>/trades.csv``; a day
    whose file is gone is left out (its children then carry no estimate). The reconciliation
    takes a carried child's commission / slippage estimates from its parent's row there, pro
    rata (child shares / parent shares)."""
    if journal is None:
        return []
    _orders, sha = day_orders(trades, default_order_type, day.date)
    due = slicing_state(journal, day, sha).due
    out = []
    for d in sorted({str(r.get("origin_day") or "") for r in due} - {"", day.date}):
        path = Day(day.live_dir, d).trades
        if path.exists():
            out.append((d, read_trades(path)))
    return out
