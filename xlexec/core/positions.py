"""Positions (pure core): apply fills, value, compare system vs broker.

A positions frame is ``symbol, shares (shares; may be fractional), avg_cost ($/share)``.

* splits: :func:`xlexec.core.corporate_actions.apply_splits` (the one rule, applied before any
  position figure).
* :func:`apply_fills`: per symbol, the day's buys raise the cost basis share-weighted
  (``(S0 x c0 + B x p_buy) / (S0 + B)``; ``p_buy`` = share-weighted average buy price,
  commissions excluded: they are cash, not basis), sells keep ``avg_cost``. Buys are applied
  before sells (fills of one day carry no reliable order between brokers' layouts). A position
  that reaches 0 is removed. Selling more than is held (``S0 + B``) is an ``oversell`` break:
  the position is removed, never turned into a silent short.
* :func:`value_positions`: ``current_value = shares x mark`` ($), ``weight = current_value /
  portfolio value`` (fraction; portfolio value = sum of values + cash when cash is known).
* :func:`compare_positions`: system vs broker shares per symbol with the likely cause.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from xlexec.core.symbols import canonical_column

EPS = 1e-9
POSITION_COLUMNS = ["symbol", "shares", "avg_cost"]
AFTER_COLUMNS = ["symbol", "shares", "avg_cost", "current_value", "weight", "last_updated"]
CAUSES = {
    "split": "split",
    "drip": "fractional DRIP shares",
    "unreconciled": "unreconciled day",
    "manual": "unrecorded manual trade",
}


def empty_positions() -> pd.DataFrame:
    return pd.DataFrame(
        {"symbol": pd.Series(dtype=object), "shares": pd.Series(dtype=float), "avg_cost": pd.Series(dtype=float)}
    )


def _clean(positions: pd.DataFrame | None) -> pd.DataFrame:
    if positions is None or positions.empty:
        return empty_positions()
    p = positions[[c for c in POSITION_COLUMNS if c in positions.columns]].copy()
    if "avg_cost" not in p.columns:
        p["avg_cost"] = 0.0
    p["symbol"] = canonical_column(p["symbol"].astype(str))
    p["shares"] = p["shares"].astype(float)
    p["avg_cost"] = p["avg_cost"].astype(float).fillna(0.0)
    return p.reset_index(drop=True)


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


def apply_fills(positions: pd.DataFrame, fills: pd.DataFrame) -> tuple[pd.DataFrame, list[dict]]:
    """Positions after the day's fills (canonical fills frame) -> (positions, oversell breaks).

    Break dicts: ``{symbol, kind: "oversell", planned: shares held before selling (S0 + B),
    executed: shares sold, detail}``. An oversell keeps the short it made (negative shares, at
    the sale's average price, $/share), so the cash its proceeds brought in is matched by the
    shares owed rather than appearing out of nothing.
    """
    p = _clean(positions)
    t = fill_totals(fills)
    if t.empty:
        return p[p["shares"].abs() > EPS].reset_index(drop=True), []
    m = p.merge(t, on="symbol", how="outer")
    for c in ("shares", "avg_cost", "buy_shares", "buy_notional", "sell_shares", "sell_notional"):
        m[c] = m[c].astype(float).fillna(0.0)
    s0, c0 = m["shares"].to_numpy(), m["avg_cost"].to_numpy()
    b, bn, sl = m["buy_shares"].to_numpy(), m["buy_notional"].to_numpy(), m["sell_shares"].to_numpy()
    sn = m["sell_notional"].to_numpy()
    long0 = np.maximum(s0, 0.0)
    after_buys = s0 + b
    with np.errstate(invalid="ignore", divide="ignore"):
        # long (or flat) start: share-weighted basis; short start: buys cover at the old basis,
        # whatever turns long is bought at the buy price
        pb = np.where(b > 0, bn / np.where(b > 0, b, 1.0), 0.0)
        avg_long = np.where(after_buys > EPS, (long0 * c0 + b * pb) / np.where(after_buys > EPS, long0 + b, 1.0), c0)
        avg = np.where(s0 >= 0, avg_long, np.where(after_buys > EPS, pb, c0))
        # what is sold beyond the shares held is a short at the sale's price (added to a short start)
        ps = np.where(sl > 0, sn / np.where(sl > 0, sl, 1.0), 0.0)
        short0 = np.maximum(-after_buys, 0.0)
        avg_short = (short0 * avg + np.maximum(sl - np.maximum(after_buys, 0.0), 0.0) * ps) / np.where(
            short0 + sl > EPS, short0 + np.maximum(sl - np.maximum(after_buys, 0.0), 0.0), 1.0
        )
    held = long0 + np.where(s0 >= 0, b, np.maximum(after_buys, 0.0))
    over = (sl > held + EPS) & (sl > 0)
    new = after_buys - sl
    avg = np.where(over & (new < -EPS), avg_short, avg)
    m["shares"] = np.where(np.abs(new) < EPS, 0.0, new)
    m["avg_cost"] = avg
    breaks = [
        {
            "symbol": s,
            "kind": "oversell",
            "planned": float(h),
            "executed": float(x),
            "detail": f"sold {_q(x)} but held {_q(h)}; short {_q(n)} kept - check the broker",
        }
        for s, h, x, n in zip(m.loc[over, "symbol"], held[over], sl[over], new[over], strict=True)
    ]
    out = m.loc[m["shares"].abs() > EPS, POSITION_COLUMNS].sort_values("symbol").reset_index(drop=True)
    return out, breaks


def _q(x: float) -> str:
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
    """``symbol, shares, avg_cost, current_value, weight, last_updated`` (the guide's columns).

    Mark per symbol: ``marks`` (columns ``symbol`` + ``price`` or ``close`` or ``mark``, $/share),
    else ``fallback_prices`` (symbol -> $, e.g. today's last fill); none: no price, and
    ``current_value`` / ``weight`` are NaN (never the average cost).
    ``current_value`` in $ (cents), ``weight`` = value / (sum of known values + cash), 4 decimals.
    """
    p = _clean(positions)
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
    p["current_value"] = (p["shares"] * mark).round(2)
    total = float(p["current_value"].sum()) + (float(cash) if cash is not None else 0.0)
    p["weight"] = (p["current_value"] / total).round(4) if abs(total) > EPS else 0.0
    p["last_updated"] = day
    return p[AFTER_COLUMNS]


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
    s = _clean(system).groupby("symbol")["shares"].sum()
    b = _clean(broker).groupby("symbol")["shares"].sum()
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
