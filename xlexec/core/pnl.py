"""The day's P&L ($) per symbol and in total, marked to the quotes (pure arithmetic, no I/O)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from xlexec.core.costs import half_up
from xlexec.core.quotes import mid_map


def _d(x: float) -> Decimal:
    """A float's shortest decimal text as a Decimal (the figure as written, no binary tail)."""
    return Decimal(repr(float(x)))


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
    s: str, shares: float, start: float, cash: float, p0: float, mark: float, cost: float
) -> tuple[dict, Decimal | None]:
    """One symbol's row of :func:`pnl_today` ($; NaN in = unknown; ``pnl`` None when unknown)
    and its unrounded P&L (what the total sums), in Decimal. ``cost``: the total cost basis of
    the shares held now ($)."""
    held_at_start = abs(start) > 1e-9
    if mark != mark and abs(shares) > 1e-9:  # NaN: no price now for shares held now
        basis, pnl = "no mark", None
    elif held_at_start and p0 != p0:
        basis, pnl = "no previous close", None
    else:
        basis = "prev_close" if held_at_start else "fills"
        now = _d(shares) * _d(mark) if mark == mark else Decimal(0)
        pnl = now - (_d(start) * _d(p0) if held_at_start else Decimal(0)) + _d(cash)
    unreal = _d(shares) * _d(mark) - _d(cost) if mark == mark and cost == cost and abs(shares) > 1e-9 else None
    return {
        "symbol": s,
        "shares": shares,
        "start_shares": float(start),
        "prev": half_up(p0, 4),
        "mark": half_up(mark, 4),
        "basis": basis,
        "pnl": None if pnl is None else half_up(pnl),
        "unrealised_since_purchase": None if unreal is None else half_up(unreal),
    }, pnl


def _cost(pmap: pd.DataFrame, s: str, shares: float) -> float:
    """The total cost basis ($) of symbol ``s``'s shares: ``total_cost`` when given, else
    shares x avg_cost; NaN when neither is known."""
    if s not in pmap.index:
        return np.nan
    if "total_cost" in pmap.columns:
        t = pd.to_numeric(pd.Series([pmap["total_cost"].get(s)]), errors="coerce").iloc[0]
        if t == t:
            return float(t)
    if "avg_cost" in pmap.columns:
        a = pd.to_numeric(pd.Series([pmap["avg_cost"].get(s)]), errors="coerce").iloc[0]
        if a == a:
            return float(_d(shares) * _d(float(a)))
    return np.nan


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
    (shares x mark - total cost, $; the total cost is ``total_cost`` when the positions carry it,
    else shares x avg_cost), a different figure, never today's P&L. Sums are exact; each figure
    is rounded half-up once.
    """
    have = [c for c in ("avg_cost", "total_cost") if c in positions.columns]
    pos = positions[["symbol", "shares", *have]].copy()
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
    known = Decimal(0)
    for s in syms:
        shares = float(pmap["shares"].get(s, 0.0)) if s in pmap.index else 0.0
        net = float(g["net"].get(s, 0.0)) if s in g.index else 0.0
        cash = float(g["cash"].get(s, 0.0)) if s in g.index else 0.0
        p0, mark = float(prev.get(s, np.nan)), float(marks.get(s, np.nan))
        row, raw = _symbol_row(s, shares, shares - net, cash, p0, mark, _cost(pmap, s, shares))
        if row["basis"] == "no mark":
            missing.append(s)
        if raw is None:
            unknown.append(s)
        else:
            known += raw
        rows.append(row)
    return {
        "total_pnl": None if unknown else half_up(known),
        "known_pnl": half_up(known),
        "unknown": unknown,
        "by_symbol": rows,
        "missing_marks": missing,
    }
