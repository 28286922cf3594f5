"""``live/<day>/execution_log.csv``: the guide's columns, rebuilt from the journal (atomic).

The guide's columns first, in its order, then one of ours. ``shares`` = ordered shares,
``fill_price`` = average fill price ($), ``commission`` ($ paid by the order's journaled fills,
a rebate negative, :func:`xlexec.core.costs.commission_paid`; **empty while unknown**: an order
with fills but none journaled yet, i.e. before ``xlexec reconcile`` or a fills import; 0 for an
order nothing filled), ``slippage`` ($, a cost when > 0, for buys and sells alike) =
:func:`xlexec.core.costs.slippage_usd` = side x filled shares x (fill_price - **signal price**)
with side = +1 buy / -1 sell: the same benchmark as TCA, so an order that is a whole planned
trade has TCA's ``slippage_usd``. ``slippage_vs_limit`` ($, same sign) is measured against the
order's limit price instead (empty for a market order): how the fill compares with the price
we were willing to pay. The guide's example (signal = limit): buy 100 @ 150.25 filled 150.28 ->
3.00; sell 50 @ 380.50 filled 380.45 -> 2.50. Numbers are written unrounded (CSV format:
:func:`xlexec.formats.csvio.fmt_number`).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from xlexec.core.costs import commission_paid, side_sign, slippage_usd
from xlexec.core.money import finite_or_none
from xlexec.execution.intents import day_intents
from xlexec.formats.csvio import atomic_write_csv
from xlexec.store import journal as J
from xlexec.store.day import Day

NY = ZoneInfo("America/New_York")
EXECUTION_LOG_COLUMNS = [
    "date",
    "symbol",
    "side",
    "shares",
    "limit_price",
    "fill_price",
    "fill_time",
    "order_id",
    "commission",
    "slippage",
    "notes",
    "slippage_vs_limit",
]


def _fill_time_ny(ts: str | None) -> str:
    if not ts:
        return ""
    try:
        t = dt.datetime.fromisoformat(str(ts).replace("Z", "+00:00"))
    except ValueError:
        return str(ts)
    if t.tzinfo is None:
        return t.strftime("%H:%M:%S")
    return t.astimezone(NY).strftime("%H:%M:%S")


def _log_row(
    day: str, coid: str, it: dict | None, snap: dict | None, ref: dict | None, fills: dict[str, list[dict]]
) -> dict[str, Any]:
    """The execution-log row of one order from its intent, latest broker snapshot, refusal and fills."""
    base = it or ref or {}
    qty = float(base.get("qty") or 0)
    lim = finite_or_none((snap or {}).get("limit_price")) if snap else None
    if lim is None and it:
        lim = finite_or_none(it.get("limit_price"))
    side = base.get("side", "")
    notes = []
    fill_price = fill_time = None
    filled = 0.0
    commission: float | None = 0.0
    order_id = ""
    if snap:
        order_id = snap.get("id") or ""
        filled = float(snap.get("filled_qty") or 0)
        fill_price = finite_or_none(snap.get("filled_avg_price")) if filled > 0 else None
        st = snap.get("status", "")
        if st == "partially_filled" or (filled > 0 and filled < qty):
            notes.append(f"Partial fill {filled:g}/{qty:g} ({st})")
        elif st == "filled":
            notes.append("Full fill")
        else:
            notes.append(st)
        fl = fills.get(coid) or fills.get(order_id) or []
        if fl:
            commission = commission_paid([float(f.get("commission") or 0) for f in fl])
            fill_time = _fill_time_ny(max(str(f.get("fill_time") or "") for f in fl))
        elif filled > 0:
            fill_time = _fill_time_ny(snap.get("updated_at"))
            commission = None  # paid, but not known until the fills are journaled (reconcile)
    elif ref and ref.get("code") == "broker_rejected":
        notes.append("Rejected by broker: " + str(ref.get("reason", "")))
    elif ref and ref.get("code") == "client_order_id_collision":  # refused whatever the journal holds
        notes.append("Refused: " + str(ref.get("reason", "")))
    elif it:
        notes.append("sent, outcome unknown (run status or rerun submit)")
    elif ref:
        notes.append("Refused: " + str(ref.get("reason", "")))
    slippage = vs_limit = None
    if fill_price is not None and filled > 0:
        sign = side_sign(side)
        signal = finite_or_none((it or {}).get("price"))
        if signal is not None:
            slippage = float(slippage_usd(sign, filled, fill_price, signal)) + 0.0
        if lim is not None:
            vs_limit = float(slippage_usd(sign, filled, fill_price, lim)) + 0.0
    return {
        "date": day,
        "symbol": base.get("symbol", ""),
        "side": side,
        "shares": qty,
        "limit_price": lim if lim is not None else np.nan,
        "fill_price": fill_price if fill_price is not None else np.nan,
        "fill_time": fill_time or "",
        "order_id": order_id,
        "commission": commission if commission is not None else np.nan,
        "slippage": slippage if slippage is not None else np.nan,
        "notes": "; ".join(notes),
        "slippage_vs_limit": vs_limit if vs_limit is not None else np.nan,
    }


def execution_log_frame(jr: J.Journal, day: str) -> pd.DataFrame:
    """One row per order of ``day`` known to the journal, in the guide's columns (see module doc)."""
    intents = day_intents(jr, day)
    latest = jr.latest_orders(day)
    refused: dict[str, dict] = {}
    for p in jr.payloads(J.REFUSED, day):
        refused[p["client_order_id"]] = p
    fills: dict[str, list[dict]] = {}
    for p in jr.payloads(J.FILL, day):
        for k in (p.get("client_order_id"), p.get("order_id")):
            if k:
                fills.setdefault(str(k), []).append(p)
    order = list(intents) + [c for c in refused if c not in intents]
    rows = [_log_row(day, coid, intents.get(coid), latest.get(coid), refused.get(coid), fills) for coid in order]
    df = pd.DataFrame(rows, columns=EXECUTION_LOG_COLUMNS)
    for c in ("shares", "limit_price", "fill_price", "commission", "slippage", "slippage_vs_limit"):
        df[c] = df[c].astype(float)
    return df


def write_execution_log(jr: J.Journal, live_dir: str | Path, day: str) -> Path:
    """Rewrite ``live/<day>/execution_log.csv`` from the journal (atomic)."""
    df = execution_log_frame(jr, day)
    return atomic_write_csv(
        Day(live_dir, day).execution_log,
        df,
        {"limit_price": 2, "fill_price": 2, "commission": 2, "slippage": 2, "slippage_vs_limit": 2},
    )
