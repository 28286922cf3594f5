"""Corporate actions on positions (pure): the day's splits, applied before any position figure.

The rule, in one place: a positions frame read for trading day D (``current_positions.csv``, a
day's opening snapshot, or a file given explicitly) holds the shares at the close of the session
before D. Every ``split`` event of ``events.csv`` dated D (its ex-date: the first session at the
new share count and the new prices) is applied to it by :func:`apply_splits` before anything is
computed from it: validation (weights, portfolio value, turnover, the oversell check), submit's
``short`` limit and reconcile (positions after the day).

* ratio r = new shares per old share (``ratio`` column of ``events.csv``): 2 for a 2-for-1 split,
  0.1 for a 1-for-10 reverse split; several splits of one symbol on one day multiply.
* shares -> shares x r, computed exactly (Decimal). A fractional remainder (25 shares in a 1-for-10
  reverse split = 2.5 shares) is kept as a fraction and named in :func:`split_notes`: events.csv
  carries no price for cash in lieu; the broker usually pays the fraction in cash, which the next
  comparison with the broker's positions shows.
* the total cost (cost basis, $: the ``total_cost`` column, else shares x avg_cost) is
  unchanged; avg_cost ($/share) becomes total cost / new shares, the exact Decimal quotient
  (carried as a float at full precision), and is rounded half-up to cents only where it is
  shown (:func:`cents`): 20.15 / 2 = 10.075 shows 10.08.
* short positions (negative shares) split the same way (shares x r, cost basis unchanged).
"""

from __future__ import annotations

import math
from decimal import ROUND_DOWN, Decimal

import pandas as pd

from xlexec.core.costs import half_up
from xlexec.core.symbols import canonical_column

SPLIT = "split"
POSITION_COLUMNS = ["symbol", "shares", "avg_cost"]


def exact(x: float | int | str | Decimal) -> Decimal:
    """A number as the Decimal it was written as (a float by its shortest repr: 20.15 -> 20.15)."""
    if isinstance(x, Decimal):
        return x
    if isinstance(x, float):  # numpy's float64 too (its repr names the type: use the float's)
        return Decimal(repr(float(x)))
    return Decimal(str(x))


def cents(x: float | int | str | Decimal | None) -> float | None:
    """``x`` ($) rounded half-up to cents, as shown (10.075 -> 10.08, -10.075 -> -10.08); None for
    None/NaN: the one rule, :func:`xlexec.core.costs.half_up` at 2 places."""
    return half_up(x, 2)


def splits_on(events: pd.DataFrame | None, on_date: str) -> pd.DataFrame:
    """The split events dated ``on_date`` (YYYY-MM-DD): ``symbol, date, ratio`` (ratio > 0)."""
    cols = ["symbol", "date", "ratio"]
    if events is None or events.empty or "event" not in events.columns or "ratio" not in events.columns:
        return pd.DataFrame({c: pd.Series(dtype=float if c == "ratio" else object) for c in cols})
    e = events[(events["event"].astype(str).str.lower() == SPLIT) & (events["date"].astype(str).str[:10] == on_date)]
    e = e[e["ratio"].notna() & (e["ratio"].astype(float) > 0)]
    out = e[cols].copy()
    out["symbol"] = canonical_column(out["symbol"].astype(str))
    out["ratio"] = out["ratio"].astype(float)
    return out.reset_index(drop=True)


def split_ratios(events: pd.DataFrame | None, on_date: str) -> dict[str, Decimal]:
    """Symbol -> the product of its split ratios dated ``on_date`` (exact)."""
    out: dict[str, Decimal] = {}
    sp = splits_on(events, on_date)
    for sym, r in zip(sp["symbol"], sp["ratio"]):
        out[sym] = out.get(sym, Decimal(1)) * exact(float(r))
    return out


def apply_splits(positions: pd.DataFrame, events: pd.DataFrame | None, on_date: str) -> pd.DataFrame:
    """``positions`` (``symbol, shares, avg_cost`` [, ``total_cost``] [+ other columns, kept]) with
    the splits dated ``on_date`` applied: shares x ratio, ``total_cost`` unchanged (when absent:
    shares x avg_cost), avg_cost = that total cost / new shares (see the module docstring). A
    new frame; symbols without a split (and every other column) unchanged."""
    p = positions.copy()
    ratios = split_ratios(events, on_date)
    if p.empty or not ratios:
        return p
    syms = canonical_column(p["symbol"].astype(str))
    has_cost = "avg_cost" in p.columns
    has_total = "total_cost" in p.columns
    shares, costs = [], []
    for i, sym in enumerate(syms):
        s = float(p["shares"].iloc[i])
        c = float(p["avg_cost"].iloc[i]) if has_cost else float("nan")
        t = float(p["total_cost"].iloc[i]) if has_total else float("nan")
        r = ratios.get(sym)
        if r is None or not math.isfinite(s):
            shares.append(s)
            costs.append(c)
            continue
        new = exact(s) * r
        shares.append(float(new))
        total = exact(t) if math.isfinite(t) else (exact(s) * exact(c) if math.isfinite(c) else None)
        if total is None or new == 0:
            costs.append(c)
        else:
            costs.append(float(total / new))  # total cost (unchanged) / new shares
    p["shares"] = pd.Series(shares, index=p.index, dtype=float)
    if has_cost:
        p["avg_cost"] = pd.Series(costs, index=p.index, dtype=float)
    return p


def _cost_basis(positions: pd.DataFrame, rows: list[int]) -> Decimal | None:
    """The exact total cost ($) of ``rows``: their ``total_cost`` when given, else shares x
    avg_cost; None when a row has neither."""
    out = Decimal(0)
    for i in rows:
        t = float(positions["total_cost"].iloc[i]) if "total_cost" in positions.columns else math.nan
        c = float(positions["avg_cost"].iloc[i]) if "avg_cost" in positions.columns else math.nan
        if math.isfinite(t):
            out += exact(t)
        elif math.isfinite(c):
            out += exact(float(positions["shares"].iloc[i])) * exact(c)
        else:
            return None
    return out


def split_notes(positions: pd.DataFrame | None, events: pd.DataFrame | None, on_date: str) -> list[dict]:
    """The splits dated ``on_date`` of symbols held in ``positions`` (before the split), one dict
    a symbol: ``symbol, date, ratio, shares_before, shares_after`` (shares), ``cost_basis`` ($,
    unchanged), ``avg_cost`` ($/share after: cost basis / shares after, half-up cents; None
    without a cost) and ``note`` (a fractional share kept, or "")."""
    if positions is None or positions.empty:
        return []
    ratios = split_ratios(events, on_date)
    syms = list(canonical_column(positions["symbol"].astype(str)))
    out = []
    for sym, r in ratios.items():
        rows = [i for i, s in enumerate(syms) if s == sym]
        if not rows:
            continue
        before = sum((exact(float(positions["shares"].iloc[i])) for i in rows), Decimal(0))
        if not before.is_finite():
            continue
        basis = _cost_basis(positions, rows)
        after = before * r
        frac = abs(after - after.to_integral_value(rounding=ROUND_DOWN))
        whole_before = before == before.to_integral_value(rounding=ROUND_DOWN)
        out.append(
            {
                "symbol": sym,
                "date": on_date,
                "ratio": float(r),
                "shares_before": float(before),
                "shares_after": float(after),
                "cost_basis": cents(basis) if basis is not None else None,
                "avg_cost": cents(basis / after) if basis is not None and after != 0 else None,
                "note": (
                    f"{frac.normalize():f} of a share kept as a fraction (events.csv gives no cash-in-lieu "
                    "price): check the broker"
                    if frac != 0 and whole_before
                    else ""
                ),
            }
        )
    return out
