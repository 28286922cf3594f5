"""Positions (pure core): apply fills, value, compare system vs broker.

A positions frame is ``symbol, shares (shares; may be fractional), avg_cost ($/share),
total_cost ($, the cost basis: signed like the shares)``. The cost basis is carried as the
**total cost and the shares**, both exact (computed in Decimal, carried as floats at full
precision); ``avg_cost`` is ``total_cost / shares``, derived, and rounded (half-up,
:func:`xlexec.core.costs.half_up`) only where it is shown. A frame without ``total_cost`` (an
old positions file) has ``total_cost = avg_cost x shares``.

* splits: :func:`xlexec.core.corporate_actions.apply_splits` (the one rule, applied before any
  position figure; the total cost is unchanged).
* :func:`apply_fills`, per symbol, exactly: the day's buys add ``shares x price`` of each buy
  to the total cost (commissions excluded: they are cash, not basis); sells remove cost pro rata,
  ``total_cost x sold / held`` (the average cost is unchanged by a sale). Buys are applied before
  sells (fills of one day carry no reliable order between brokers' layouts). A position that
  reaches 0 is removed. Selling more than is held (``S0 + B``) is an ``oversell`` break (the
  short it makes is kept, at the sale's average price). A short start: buys cover it at its own
  average cost; what turns long is bought at the average buy price.
* :func:`value_positions`: ``current_value = shares x mark`` ($, exact), ``weight = current_value /
  portfolio value`` (fraction, unrounded; portfolio value = sum of values + cash when cash is
  known); :func:`portfolio_value`: that sum, exact (Decimal), None when a held position has no price.
* :func:`compare_positions`: system vs broker shares per symbol with the likely cause.
"""

from __future__ import annotations

import math
from decimal import Decimal

import numpy as np
import pandas as pd

from xlexec.core.corporate_actions import exact
from xlexec.core.exact_sums import product_sums, scaled
from xlexec.core.symbols import canonical_column

EPS = 1e-9
_EPS = Decimal("1e-9")
_ZERO = Decimal(0)
POSITION_COLUMNS = ["symbol", "shares", "avg_cost", "total_cost"]
#: the guide's columns, then ours (``total_cost``: $, the exact cost basis)
AFTER_COLUMNS = ["symbol", "shares", "avg_cost", "current_value", "weight", "last_updated", "total_cost"]
CAUSES = {
    "split": "split",
    "drip": "fractional DRIP shares",
    "unreconciled": "unreconciled day",
    "manual": "unrecorded manual trade",
}


def empty_positions() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "symbol": pd.Series(dtype=object),
            "shares": pd.Series(dtype=float),
            "avg_cost": pd.Series(dtype=float),
            "total_cost": pd.Series(dtype=float),
        }
    )


def basis(shares, avg_cost, total_cost=None) -> tuple[Decimal, Decimal | None]:
    """A position's exact ``(total cost $, avg cost $/share or None when flat)``: ``total_cost``
    when given (finite), else ``avg_cost x shares`` (an old file; no avg cost: 0); flat: 0."""
    s = exact(float(shares))
    t = None
    if total_cost is not None and not (isinstance(total_cost, float) and math.isnan(total_cost)):
        t = exact(float(total_cost))
    if t is None or not t.is_finite():
        c = 0.0 if avg_cost is None or (isinstance(avg_cost, float) and math.isnan(avg_cost)) else float(avg_cost)
        t = s * exact(c)
    if s == 0:
        return _ZERO, None
    return t, t / s


def bases(shares: pd.Series, avg_cost: pd.Series, total_cost: pd.Series) -> tuple[pd.Series, pd.Series]:
    """:func:`basis` of every row: ``(total cost $, avg cost $/share)`` as float Series on
    ``shares``' index (a flat row keeps its ``avg_cost``).

    The rows without a ``total_cost`` (an old or hand-made file: the basis is avg_cost x shares)
    are done in whole units when that is exact (:func:`_derived_whole_units`); the rows with one,
    and every row when the whole units cannot prove the result, by :func:`basis` (Decimal)."""
    n = len(shares)
    q = np.asarray(shares, dtype=float)
    t_in = np.asarray(total_cost, dtype=float)
    derived = ~np.isfinite(t_in)  # no total cost (NaN) or not a number to carry (inf): avg_cost x shares
    fast = _derived_whole_units(q[derived], np.asarray(avg_cost, dtype=float)[derived]) if derived.any() else None
    totals = np.empty(n, dtype=float)
    avgs = np.empty(n, dtype=float)
    loop = np.ones(n, dtype=bool)
    if fast is not None:
        totals[derived], avgs[derived] = fast
        loop = ~derived
    if loop.any():  # the cells as Python scalars once (a positional lookup per cell is ~10x slower)
        qs, cs, ts = shares.tolist(), avg_cost.tolist(), total_cost.tolist()
        given = loop & np.isfinite(q) & np.isfinite(t_in)
        for i in np.flatnonzero(given).tolist():  # basis() inlined for a finite total cost and shares
            sh = float(qs[i])
            if sh == 0:  # flat: no cost, the avg_cost as given
                totals[i], avgs[i] = 0.0, float(cs[i])
                continue
            cost = float(ts[i])  # exact(cost), as a float, is cost itself
            totals[i], avgs[i] = cost, float(Decimal(repr(cost)) / Decimal(repr(sh)))
        for i in np.flatnonzero(loop & ~given).tolist():
            c = cs[i]
            tot, avg = basis(qs[i], c, ts[i])
            totals[i] = float(tot)
            avgs[i] = float(avg) if avg is not None else float(c)
    return pd.Series(totals, index=shares.index, dtype=float), pd.Series(avgs, index=shares.index, dtype=float)


def _derived_whole_units(q: np.ndarray, c_in: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """:func:`basis` of rows without a total cost, ``(totals, avgs)``, as floats; ``None`` when
    the whole units cannot prove it (the caller runs :func:`basis`).

    With ``q = mq x 10**-kq`` and ``c = mc x 10**-kc`` exactly (:func:`xlexec.core.exact_sums.scaled`,
    a missing avg_cost is 0), the exact total is the integer ``P = mq x mc`` times
    ``10**-(kq+kc)``; below ``2**53`` ``P`` and ``10**(kq+kc)`` (``kq+kc <= 22``) are exact floats,
    so ``P / 10**(kq+kc)`` is the correctly rounded float of the Decimal product, which ``basis``
    also gets exactly (at most 16 digits, within its 28). A zero product keeps the sign Decimal
    gives it (the signs' exclusive or, as the float product ``q x c``). The average cost is
    ``total / q = c`` exactly; a flat row (``q == 0``): total 0, its avg_cost as given."""
    c = np.where(np.isnan(c_in), 0.0, c_in)
    sq, sc = scaled(q), scaled(c)
    if sq is None or sc is None:
        return None
    (mq, kq), (mc, kc) = sq, sc
    if kq + kc > 22:
        return None
    if len(mq) and int(np.abs(mq).max()) * int(np.abs(mc).max()) >= 2**53:
        return None
    prod = mq * mc
    totals = np.where(prod == 0, q * c, prod / 10.0 ** (kq + kc))
    flat = mq == 0
    return np.where(flat, 0.0, totals), np.where(flat, c_in, c)


def clean_positions(positions: pd.DataFrame | None) -> pd.DataFrame:
    """``symbol, shares, avg_cost, total_cost``: the total cost given, else avg_cost x shares
    (exact); avg_cost = total_cost / shares (exact quotient; kept as given when flat)."""
    if positions is None or positions.empty:
        return empty_positions()
    p = positions[[c for c in POSITION_COLUMNS if c in positions.columns]].copy()
    if "avg_cost" not in p.columns:
        p["avg_cost"] = 0.0
    p["symbol"] = canonical_column(p["symbol"].astype(str))
    p["shares"] = p["shares"].astype(float)
    p["avg_cost"] = p["avg_cost"].astype(float).fillna(0.0)
    given = p["total_cost"].astype(float) if "total_cost" in p.columns else pd.Series(np.nan, index=p.index)
    p["total_cost"], p["avg_cost"] = bases(p["shares"], p["avg_cost"], given)
    return p[POSITION_COLUMNS].reset_index(drop=True)


def fill_totals(fills: pd.DataFrame) -> pd.DataFrame:
    """Per symbol: ``buy_shares, buy_notional ($), sell_shares, sell_notional ($), commission ($),
    last_price ($/share, of the last fill in file order)``."""
    if fills is None or fills.empty:
        return pd.DataFrame(
            columns=["symbol", "buy_shares", "buy_notional", "sell_shares", "sell_notional", "commission", "last_price"]
        )
    f = fills
    buy = (f["side"] == "buy").to_numpy()
    sh = f["shares"].to_numpy(dtype=float)
    px = f["price"].to_numpy(dtype=float)
    t = pd.DataFrame(
        {
            "symbol": f["symbol"].to_numpy(),
            "buy_shares": np.where(buy, sh, 0.0),
            "buy_notional": np.where(buy, sh * px, 0.0),
            "sell_shares": np.where(buy, 0.0, sh),
            "sell_notional": np.where(buy, 0.0, sh * px),
            "commission": f["commission"].to_numpy(dtype=float),
            "last_price": px,
        }
    )
    g = t.groupby("symbol", sort=True)
    out = g[["buy_shares", "buy_notional", "sell_shares", "sell_notional", "commission"]].sum()
    out["last_price"] = g["last_price"].last()
    return out.reset_index()


def _fill_sums(fills: pd.DataFrame | None) -> dict[str, tuple[Decimal, Decimal, Decimal, Decimal]]:
    """Per symbol, exact: ``(bought shares, bought $ = sum shares x price, sold shares, sold $)``."""
    out: dict[str, tuple[Decimal, Decimal, Decimal, Decimal]] = {}
    if fills is None or fills.empty:
        return out
    fast = _fill_sums_whole_units(fills)
    if fast is not None:
        return fast
    for sym, side, sh, px in zip(fills["symbol"], fills["side"], fills["shares"], fills["price"], strict=True):
        q, n = exact(float(sh)), exact(float(sh)) * exact(float(px))
        b, bn, sl, sn = out.get(sym, (_ZERO, _ZERO, _ZERO, _ZERO))
        out[sym] = (b + q, bn + n, sl, sn) if side == "buy" else (b, bn, sl + q, sn + n)
    return out


def _fill_sums_whole_units(fills: pd.DataFrame) -> dict[str, tuple[Decimal, Decimal, Decimal, Decimal]] | None:
    """:func:`_fill_sums` in int64 whole units (:mod:`xlexec.core.exact_sums`: the same exact
    values), or ``None`` when that path cannot prove them (the Decimal loop then runs)."""
    codes, uniq = pd.factorize(fills["symbol"], sort=False)
    if (codes < 0).any():
        return None
    buy = (fills["side"].to_numpy(dtype=object) == "buy").astype(np.int64)
    sums = product_sums(fills["shares"], fills["price"], codes * 2 + buy, 2 * len(uniq))
    if sums is None:
        return None
    tq, tn = sums
    seen = np.zeros(2 * len(uniq), dtype=bool)
    seen[codes * 2 + buy] = True
    out: dict[str, tuple[Decimal, Decimal, Decimal, Decimal]] = {}
    for i, sym in enumerate(uniq):
        b, bn = (tq[2 * i + 1], tn[2 * i + 1]) if seen[2 * i + 1] else (_ZERO, _ZERO)
        sl, sn = (tq[2 * i], tn[2 * i]) if seen[2 * i] else (_ZERO, _ZERO)
        out[sym] = (b, bn, sl, sn)
    return out


def _cost_after_buys(s0: Decimal, t0: Decimal, b: Decimal, bn: Decimal) -> Decimal:
    """Total cost ($) after ``b`` shares bought for ``bn`` $ on a start of ``s0`` shares costing
    ``t0`` (see :func:`apply_fills`: a short start is covered at its average cost)."""
    after = s0 + b
    if s0 >= 0:
        return t0 + bn
    if after > _EPS:
        return after * bn / b
    return t0 * after / s0


def apply_fills(positions: pd.DataFrame, fills: pd.DataFrame) -> tuple[pd.DataFrame, list[dict]]:
    """Positions after the day's fills (canonical fills frame) -> (positions, oversell breaks).

    Exact (Decimal), per symbol with ``S0`` shares and total cost ``T0`` ($) at the start, ``B``
    shares bought for ``BN`` ($, sum of shares x price; commissions are not basis) and ``X`` sold:

    * long or flat start: after the buys ``T1 = T0 + BN``; a short start: the buys cover it at its
      average cost (``T1 = T0 x (S0 + B) / S0``), what turns long is at the average buy price
      (``T1 = (S0 + B) x BN / B``);
    * sells remove cost pro rata: ``T = T1 x (S0 + B - X) / (S0 + B)``;
    * selling more than the ``S0 + B`` held is an oversell: the short it makes is kept (negative
      shares, total cost = -short shares x the sale's average price), so the cash its proceeds
      brought in is matched by the shares owed rather than appearing out of nothing.

    Returned frame: ``symbol, shares, avg_cost ($/share = total_cost / shares), total_cost ($)``.
    Break dicts: ``{symbol, kind: "oversell", planned: shares held before selling (S0 + B),
    executed: shares sold, detail}``.
    """
    p = clean_positions(positions)
    sums = _fill_sums(fills)
    if not sums:
        return p[p["shares"].abs() > EPS].reset_index(drop=True), []
    start = {  # (exact() of each float, inlined)
        s: (Decimal(repr(float(q))), Decimal(repr(float(t))))
        for s, q, t in zip(p["symbol"].tolist(), p["shares"].tolist(), p["total_cost"].tolist(), strict=True)
    }
    rows: list[tuple[str, float, float, float]] = []
    breaks: list[dict] = []
    for sym in sorted(set(start) | set(sums)):
        s0, t0 = start.get(sym, (_ZERO, _ZERO))
        b, bn, x, xn = sums.get(sym, (_ZERO, _ZERO, _ZERO, _ZERO))
        after = s0 + b
        t1 = _cost_after_buys(s0, t0, b, bn)
        held = max(after, _ZERO)
        new = after - x
        over = x > 0 and x > held + _EPS
        if x == 0:
            t = t1
        elif not over:
            t = t1 * new / after if after > 0 else t1
        else:
            short_start = t1 if after < 0 else _ZERO
            t = short_start - (x - held) * xn / x if new < -_EPS else _ZERO
            breaks.append(
                {
                    "symbol": sym,
                    "kind": "oversell",
                    "planned": float(held),
                    "executed": float(x),
                    "detail": f"sold {_q(x)} but held {_q(held)}; short {_q(new)} kept - check the broker",
                }
            )
        if abs(new) <= _EPS:
            continue
        rows.append((sym, float(new), float(t / new), float(t)))
    out = pd.DataFrame(rows, columns=POSITION_COLUMNS) if rows else empty_positions()
    out["shares"] = out["shares"].astype(float)
    return out.reset_index(drop=True), breaks


def _q(x: float | Decimal) -> str:
    x = float(x)
    return str(int(round(x))) if abs(x - round(x)) < EPS else f"{x:g}"


def value_positions(
    positions: pd.DataFrame,
    marks: pd.DataFrame | None = None,
    *,
    day: str,
    cash: float | None = None,
    fallback_prices: pd.Series | None = None,
) -> pd.DataFrame:
    """``symbol, shares, avg_cost, current_value, weight, last_updated`` (the guide's columns),
    then ``total_cost`` ($, the exact cost basis; ``avg_cost`` = total_cost / shares, unrounded).

    Mark per symbol: ``marks`` (columns ``symbol`` + ``price`` or ``close`` or ``mark``, $/share),
    else ``fallback_prices`` (symbol -> $, e.g. today's last fill); none: no price, and
    ``current_value`` / ``weight`` are NaN (never the average cost).
    ``current_value`` ($) = shares x mark, exact (Decimal, carried as the float of that decimal:
    no rounding); ``weight`` (fraction) = value / (sum of the known values + cash), unrounded
    (NaN for a position without a price). Both are rounded half-up only where shown.
    """
    p = clean_positions(positions)
    mark = pd.Series(np.nan, index=p.index)
    if marks is not None and not marks.empty:
        col = next((c for c in ("price", "close", "mark", "last") if c in marks.columns), None)
        if col is not None:
            mm = marks.assign(symbol=canonical_column(marks["symbol"].astype(str))).drop_duplicates(
                "symbol", keep="last"
            )
            mark = p["symbol"].map(mm.set_index("symbol")[col].astype(float))
    if fallback_prices is not None and len(fallback_prices):
        mark = mark.fillna(p["symbol"].map(fallback_prices.astype(float)))
    values = _values(p["shares"].tolist(), mark.tolist())
    total = sum((v for v in values if v is not None), _ZERO) + (exact(float(cash)) if cash is not None else _ZERO)
    p["current_value"] = pd.Series(
        [np.nan if v is None else float(v) + 0.0 for v in values], index=p.index, dtype=float
    )
    p["weight"] = pd.Series(
        [np.nan if v is None else (float(v / total) + 0.0 if abs(total) > _EPS else 0.0) for v in values],
        index=p.index,
        dtype=float,
    )
    p["last_updated"] = day
    return p[AFTER_COLUMNS]


def _values(shares: list, marks: list) -> list[Decimal | None]:
    """``shares x mark`` ($) of each position (plain lists of floats), exact (each float as the
    Decimal of its shortest repr, :func:`~xlexec.core.corporate_actions.exact`); None where
    the mark is unknown (NaN)."""
    fin = math.isfinite
    return [
        None if not fin(m := float(mk)) else Decimal(repr(float(q))) * Decimal(repr(m))
        for q, mk in zip(shares, marks, strict=True)
    ]


def portfolio_value(valued: pd.DataFrame, cash: float | None) -> Decimal | None:
    """The exact sum ($) of a :func:`value_positions` frame's ``current_value`` (each the exact
    ``shares x mark``, read back by its shortest decimal text) plus ``cash`` (None = 0); None when a
    held position has no price (it is never valued at its average cost). Unrounded: round only to show."""
    held = valued["shares"].astype(float).abs() > EPS
    if valued.loc[held, "current_value"].isna().any():
        return None
    cv = valued.loc[held, "current_value"]
    return sum((exact(float(v)) for v in cv), _ZERO) + (exact(float(cash)) if cash is not None else _ZERO)


def compare_positions(
    system: pd.DataFrame,
    broker: pd.DataFrame,
    *,
    events: pd.DataFrame | None = None,
    pending: pd.DataFrame | None = None,
    tolerance: float = 1e-6,
) -> pd.DataFrame:
    """System vs broker shares per symbol (all symbols of either side, sorted).

    Columns: ``symbol, system_shares, broker_shares, difference (broker - system, shares),
    matches (bool), likely_cause``. Likely cause of a difference, first that applies:

    * ``split``: broker / system equals the ratio of a split of that symbol in ``events``
      (a split the system has not applied yet);
    * ``unreconciled day``: the difference equals the net shares of fills recorded but not yet
      reconciled (``pending``: ``symbol, shares`` signed, + bought);
    * ``fractional DRIP shares``: 0 < |difference| < 1 share (dividend reinvestment);
    * ``unrecorded manual trade``: anything else (a trade made outside xlexec).
    """
    s = clean_positions(system).groupby("symbol")["shares"].sum()
    b = clean_positions(broker).groupby("symbol")["shares"].sum()
    m = pd.DataFrame({"system_shares": s, "broker_shares": b}).fillna(0.0)
    m.index.name = "symbol"
    m = m.reset_index().sort_values("symbol").reset_index(drop=True)
    m["difference"] = m["broker_shares"] - m["system_shares"]
    m["matches"] = m["difference"].abs() <= tolerance
    cause = pd.Series("", index=m.index, dtype=object)
    diff = ~m["matches"]
    if diff.any():
        if events is not None and not events.empty and "event" in events.columns:
            sp = events[(events["event"].astype(str).str.lower() == "split") & events["ratio"].notna()]
            if not sp.empty:
                with np.errstate(divide="ignore", invalid="ignore"):
                    ratio = m["broker_shares"] / m["system_shares"].where(m["system_shares"] != 0)
                pairs = sp.assign(symbol=canonical_column(sp["symbol"].astype(str)))[["symbol", "ratio"]]
                # cumulative products too (two splits since the last reconciliation)
                cum = pairs.groupby("symbol")["ratio"].prod()
                for i in m.index[diff]:
                    sym, r = m.at[i, "symbol"], ratio.at[i]
                    if pd.isna(r):
                        continue
                    cands = list(pairs.loc[pairs["symbol"] == sym, "ratio"].astype(float))
                    if sym in cum.index:
                        cands.append(float(cum[sym]))
                    if any(abs(r - c) <= 1e-6 * max(1.0, c) for c in cands):
                        cause.at[i] = CAUSES["split"]
        if pending is not None and not pending.empty:
            pn = (
                pending.assign(symbol=canonical_column(pending["symbol"].astype(str))).groupby("symbol")["shares"].sum()
            )
            pend = m["symbol"].map(pn).fillna(0.0)
            hit = diff & (cause == "") & (pend.abs() > tolerance) & ((m["difference"] - pend).abs() <= tolerance)
            cause[hit] = CAUSES["unreconciled"]
        drip = diff & (cause == "") & (m["difference"].abs() < 1.0)
        cause[drip] = CAUSES["drip"]
        cause[diff & (cause == "")] = CAUSES["manual"]
    m["likely_cause"] = cause
    return m[["symbol", "system_shares", "broker_shares", "difference", "matches", "likely_cause"]]
