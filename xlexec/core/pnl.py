"""The day's P&L ($) per symbol and in total, marked to the quotes (pure arithmetic, no I/O)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from xlexec.core.quotes import mid_map


def _day_flows(fills: pd.DataFrame | None) -> pd.DataFrame:
    """Per symbol: ``net`` shares bought today (buys +, sells -) and ``cash`` ($: sells' proceeds
    - buys' cost - commissions)."""
    f = (
        fills
        if fills is not None and len(fills)
        else pd.DataFrame(columns=["symbol", "side", "shares", "price", "commission"])
    )
    f = f.copy()
    sign = np.where(f["side"].astype(str) == "buy", 1.0, -1.0) if len(f) else np.array([])
    f["net"] = sign * f["shares"].astype(float) if len(f) else []
    f["cash"] = (
        (
            -sign * f["shares"].astype(float) * f["price"].astype(float)
            - (f["commission"].astype(float).fillna(0) if "commission" in f.columns else 0.0)
        )
        if len(f)
        else []
    )
    return f.groupby("symbol")[["net", "cash"]].sum() if len(f) else pd.DataFrame(columns=["net", "cash"])


def _symbol_row(
    s: str, shares: float, start: float, cash: float, p0: float, mark: float, avg: float
) -> tuple[dict, float | None]:
    """One symbol's row of :func:`pnl_today` ($; NaN in = unknown; ``pnl`` None when unknown)
    and its unrounded P&L (what the total sums)."""
    held_at_start = abs(start) > 1e-9
    if mark != mark and abs(shares) > 1e-9:  # NaN: no price now for shares held now
        basis, pnl = "no mark", None
    elif held_at_start and p0 != p0:
        basis, pnl = "no previous close", None
    else:
        basis = "prev_close" if held_at_start else "fills"
        pnl = (shares * (mark if mark == mark else 0.0)) - (start * p0 if held_at_start else 0.0) + cash
    unreal = shares * (mark - avg) if mark == mark and avg == avg and abs(shares) > 1e-9 else None
    return {
        "symbol": s,
        "shares": shares,
        "start_shares": float(start),
        "prev": round(p0, 4) if p0 == p0 else None,
        "mark": round(mark, 4) if mark == mark else None,
        "basis": basis,
        "pnl": None if pnl is None else round(float(pnl), 2) + 0.0,
        "unrealised_since_purchase": None if unreal is None else round(float(unreal), 2) + 0.0,
    }, pnl


def pnl_today(
    positions: pd.DataFrame, quotes: pd.DataFrame | None, fills: pd.DataFrame | None, closes: pd.DataFrame | None = None
) -> dict[str, Any]:
    """The day's P&L ($) per symbol and in total, marked to the quotes.

    ``positions``: symbol, shares (now), avg_cost ($/share). ``quotes``: symbol + mid (or bid/ask/
    last) = the mark. ``fills``: today's fills (symbol, side, shares, price, commission).
    ``closes``: symbol, close = the previous session's close (the start-of-day mark). Per symbol,
    with start = shares - net bought today: pnl = shares x mark - start x prev_close + sells'
    proceeds - buys' cost - commissions (the held part moves from the previous close to the mark,
    the traded part from its fill price to the mark).

    Unknown is shown as unknown, never made up: a symbol held at the start of the day with no
    previous close, or with no mark, has ``pnl`` None (``basis`` says why; the average cost is
    never a start-of-day price). ``total_pnl`` is None unless every symbol's P&L is known;
    ``known_pnl`` sums the known ones; ``unknown`` lists the rest. ``unrealised_since_purchase``
    (shares x (mark - avg_cost), $) is a different figure, labelled as such, never today's P&L.
    """
    pos = positions[["symbol", "shares"] + (["avg_cost"] if "avg_cost" in positions.columns else [])].copy()
    pos["shares"] = pos["shares"].astype(float)
    g = _day_flows(fills)
    syms = sorted(set(pos["symbol"]) | set(g.index))
    marks = mid_map(quotes)
    prev = (
        closes.drop_duplicates("symbol").set_index("symbol")["close"].astype(float)
        if closes is not None and len(closes)
        else pd.Series(dtype=float)
    )
    pmap = pos.set_index("symbol")
    rows, missing, unknown = [], [], []
    known = 0.0
    for s in syms:
        shares = float(pmap["shares"].get(s, 0.0)) if s in pmap.index else 0.0
        net = float(g["net"].get(s, 0.0)) if s in g.index else 0.0
        cash = float(g["cash"].get(s, 0.0)) if s in g.index else 0.0
        avg = float(pmap["avg_cost"].get(s, np.nan)) if "avg_cost" in pmap.columns and s in pmap.index else np.nan
        row, raw = _symbol_row(
            s, shares, shares - net, cash, float(prev.get(s, np.nan)), float(marks.get(s, np.nan)), avg
        )
        if row["basis"] == "no mark":
            missing.append(s)
        if raw is None:
            unknown.append(s)
        else:
            known += raw
        rows.append(row)
    return {
        "total_pnl": None if unknown else round(float(known), 2) + 0.0,
        "known_pnl": round(float(known), 2) + 0.0,
        "unknown": unknown,
        "by_symbol": rows,
        "missing_marks": missing,
    }
