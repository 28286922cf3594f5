"""What the journal tells the workbook: the button presses (Log tab, Control's last action)
and the day's orders (Orders tab: newest broker snapshot per order, or ``refused``)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from xlexec.excel.layout import ORDER_COLUMNS
from xlexec.store.journal import ACTION, REFUSED, journal_exists


def _journal(ctx):
    return ctx.journal() if journal_exists(ctx.live_dir) else None


def workbook_actions(journal) -> list[dict]:
    """Payloads of the button presses journaled by :mod:`xlexec.excel.buttons` (oldest first)."""
    return [e.payload for e in journal.events(ACTION) if e.payload.get("source") == "workbook"]


def log_rows(ctx, day: str | None = None) -> list[list[Any]]:
    """Every button press (journal ``action`` events written by the buttons), oldest first."""
    j = _journal(ctx)
    if j is None:
        return []
    return [
        [p.get("when_utc"), p.get("who"), p.get("button"), p.get("result"), p.get("message")]
        for p in workbook_actions(j)
    ]


def orders_frame(journal, day: str) -> pd.DataFrame:
    """One row per order of ``day``: the newest broker snapshot, or ``refused`` with its reason."""
    rows = []
    latest = journal.latest_orders(day)
    for coid, p in latest.items():
        qty, filled = p.get("qty"), p.get("filled_qty") or 0.0
        rows.append(
            {
                **{k: p.get(k) for k in ORDER_COLUMNS},
                "client_order_id": coid,
                "remaining": (float(qty) - float(filled)) if qty is not None else None,
            }
        )
    for p in journal.payloads(REFUSED, day):
        coid = p.get("client_order_id")
        if coid in latest:
            continue
        rows.append(
            {
                "symbol": p.get("symbol"),
                "side": p.get("side"),
                "qty": p.get("qty"),
                "limit_price": p.get("limit_price"),
                "status": "refused",
                "reason": p.get("reason") or p.get("note"),
                "client_order_id": coid,
            }
        )
    return pd.DataFrame(rows, columns=ORDER_COLUMNS)
