"""``live/<day>/execution_log.csv``: the guide's columns, rebuilt from the journal (atomic).

``shares`` = ordered shares, ``fill_price`` = average fill price ($), ``commission`` ($, from
journaled fills when present, else 0), ``slippage`` ($, a cost when > 0, for buys and sells alike)
= side x (fill_price - reference) x filled shares with side = +1 buy / -1 sell and reference =
the limit price (limit orders) or the signal price (market orders). The guide's example:
buy 100 @ limit 150.25 filled 150.28 -> 3.00; sell 50 @ 380.50 filled 380.45 -> 2.50.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from xlexec.execution.intents import day_intents, num_or_none
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
    lim = num_or_none((snap or {}).get("limit_price")) if snap else None
    if lim is None and it:
        lim = num_or_none(it.get("limit_price"))
    side = base.get("side", "")
    notes = []
    fill_price = fill_time = None
    filled = 0.0
    commission = 0.0
    order_id = ""
    if snap:
        order_id = snap.get("id") or ""
        filled = float(snap.get("filled_qty") or 0)
        fill_price = num_or_none(snap.get("filled_avg_price")) if filled > 0 else None
        st = snap.get("status", "")
        if st == "partially_filled" or (filled > 0 and filled < qty):
            notes.append(f"Partial fill {filled:g}/{qty:g} ({st})")
        elif st == "filled":
            notes.append("Full fill")
        else:
            notes.append(st)
        fl = fills.get(coid) or fills.get(order_id) or []
        if fl:
            commission = round(sum(float(f.get("commission") or 0) for f in fl), 2)
            fill_time = _fill_time_ny(max(str(f.get("fill_time") or "") for f in fl))
        elif filled > 0:
            fill_time = _fill_time_ny(snap.get("updated_at"))
    elif ref and ref.get("code") == "broker_rejected":
        notes.append("Rejected by broker: " + str(ref.get("reason", "")))
    elif ref and ref.get("code") == "client_order_id_collision":  # refused whatever the journal holds
        notes.append("Refused: " + str(ref.get("reason", "")))
    elif it:
        notes.append("sent, outcome unknown (run status or rerun submit)")
    elif ref:
        notes.append("Refused: " + str(ref.get("reason", "")))
    slippage = None
    if fill_price is not None and filled > 0:
        refp = lim if lim is not None else num_or_none((it or {}).get("price"))
        if refp is not None:
            sign = 1.0 if side == "buy" else -1.0
            slippage = round(sign * (fill_price - refp) * filled, 2) + 0.0
    return {
        "date": day,
        "symbol": base.get("symbol", ""),
        "side": side,
        "shares": qty,
        "limit_price": lim if lim is not None else np.nan,
        "fill_price": fill_price if fill_price is not None else np.nan,
        "fill_time": fill_time or "",
        "order_id": order_id,
        "commission": commission,
        "slippage": slippage if slippage is not None else np.nan,
        "notes": "; ".join(notes),
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
    for c in ("shares", "limit_price", "fill_price", "commission", "slippage"):
        df[c] = df[c].astype(float)
    return df


def write_execution_log(jr: J.Journal, live_dir: str | Path, day: str) -> Path:
    """Rewrite ``live/<day>/execution_log.csv`` from the journal (atomic)."""
    df = execution_log_frame(jr, day)
    return atomic_write_csv(
        Day(live_dir, day).execution_log, df, {"limit_price": 2, "fill_price": 2, "commission": 2, "slippage": 2}
    )
