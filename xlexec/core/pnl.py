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


def _start_mark(s: str, prev: pd.Series, pmap: pd.DataFrame) -> tuple[float, str]:
    """The start-of-day mark ($/share) of ``s`` and its basis: the previous close, else avg cost
    (NaN when neither is known)."""
    p0 = prev.get(s, np.nan)
    if p0 == p0:  # not NaN
        return p0, "prev_close"
    p0 = float(pmap["avg_cost"].get(s, np.nan)) if "avg_cost" in pmap.columns and s in pmap.index else np.nan
    return p0, "avg_cost"


def pnl_today(
    positions: pd.DataFrame, quotes: pd.DataFrame | None, fills: pd.DataFrame | None, closes: pd.DataFrame | None = None
) -> dict[str, Any]:
    """The day's P&L ($) per symbol and in total, marked to the quotes.

    ``positions``: symbol, shares (now), avg_cost ($/share). ``quotes``: symbol + mid (or bid/ask/
    last) = the mark. ``fills``: today's fills (symbol, side, shares, price, commission).
    ``closes``: symbol, close = the previous session's close (start-of-day mark); without it the
    position's avg_cost is used (flagged per symbol). Per symbol, with start = shares - net bought
    today: pnl = shares x mark - start x prev_close + sells' proceeds - buys' cost - commissions.
    A symbol without a mark is valued at its start-of-day price (listed in ``missing_marks``).
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
    rows, missing = [], []
    total = 0.0
    for s in syms:
        shares = float(pmap["shares"].get(s, 0.0)) if s in pmap.index else 0.0
        net = float(g["net"].get(s, 0.0)) if s in g.index else 0.0
        cash = float(g["cash"].get(s, 0.0)) if s in g.index else 0.0
        start = shares - net
        p0, basis = _start_mark(s, prev, pmap)
        mark = marks.get(s, np.nan)
        if mark != mark:  # NaN
            missing.append(s)
            mark = p0
        if p0 != p0:  # NaN
            p0 = mark if mark == mark else 0.0
        if mark != mark:  # NaN
            mark = 0.0
        pnl = shares * mark - start * p0 + cash
        total += pnl
        rows.append(
            {
                "symbol": s,
                "shares": shares,
                "start_shares": float(start),
                "prev": round(float(p0), 4),
                "mark": round(float(mark), 4),
                "basis": basis,
                "pnl": round(float(pnl), 2),
            }
        )
    return {"total_pnl": round(float(total), 2), "by_symbol": rows, "missing_marks": missing}
