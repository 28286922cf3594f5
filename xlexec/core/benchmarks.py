"""Market benchmarks of each order (pure core): interval VWAP and TWAP over its working time, the
day's VWAP, the quoted spread at arrival, participation, and the month's distributions.

No files, no clock, no network: the bars, the orders' working intervals and the arrival quotes
come in as frames (:mod:`xlexec.formats.bars`, :mod:`xlexec.store.working`); figures go out as
frames and plain dicts. Every cost uses the one convention of :mod:`xlexec.core.costs`
(``cost bps = side x (fill - benchmark) / benchmark x 10^4``, > 0 = a cost for buys and sells
alike) and every aggregate is :func:`xlexec.core.costs.aggregate_slippage` (sum of cost $ /
sum of filled shares x benchmark x 10^4: benchmark-notional-weighted). docs/accounting.md
defines each figure.

Bars (minute bars, ``BARS_COLUMNS``): ``timestamp`` is the bar's start (UTC); a bar covers
``[timestamp, timestamp + 1 minute)``. A bar's price for VWAP is its ``vwap`` when given and
> 0, else its ``close``.

* working interval of an order: from its submission (``start``) to its last fill when it
  filled completely, else to its end (cancel / expiry / rejection time) when known, else to its
  last fill; an order with no known start, or neither a fill nor an end, has none.
* the interval's bars: every bar that overlaps it, ``timestamp <= end`` and
  ``timestamp + 1 min > start`` (an order filled the second it was sent has the bar of that
  minute).
* interval VWAP ($/share) = sum (bar price x bar volume) / sum bar volume over the interval's bars.
* TWAP ($/share) = plain mean of the interval's bar closes (every minute counts once).
* day VWAP ($/share) = the same sum over every bar of the symbol given for the day.
* interval volume (shares) = sum of the interval's bar volumes; participation (fraction) =
  filled shares / interval volume.
* quoted spread at arrival (bps) = (ask - bid) / mid x 10^4, mid = (bid + ask) / 2, from the
  arrival quote; half-spread cost $ = filled shares x (ask - bid) / 2 (what crossing the spread
  costs); half-spread bps = half-spread $ / (filled shares x arrival price) x 10^4; the rest
  (impact + timing) = cost vs arrival - half-spread, in $ and in bps of the same notional, so
  the two add up to the cost vs arrival exactly.

A benchmark that cannot be had is NaN, never guessed, and the order's ``missing`` text says
why (no bars file, no bars in the interval, no volume, no submission time, no quote...).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from xlexec.core.costs import aggregate_slippage, bps_of, cost_bps, cost_usd, half_up, side_sign
from xlexec.core.money import finite_or_none

BARS_COLUMNS = ["symbol", "timestamp", "open", "high", "low", "close", "volume", "vwap"]
#: the benchmarks of the table, in the order shown: key -> what it is
MARKET_BENCHMARKS = {
    "signal": "signal price (the trades.csv price)",
    "arrival": "arrival price (quote mid when the order was submitted)",
    "interval_vwap": "interval VWAP (minute bars from submission to last fill, or to cancel/expiry)",
    "twap": "interval TWAP (plain mean of the interval's minute closes)",
    "day_vwap": "day VWAP (every minute bar of the session)",
    "close": "close (the day's closing price)",
}
BENCHMARK_KEYS = list(MARKET_BENCHMARKS)
PERCENTILES = (5, 25, 50, 75, 95)
#: the columns the orders frame must have (see :func:`order_benchmarks`)
ORDER_COLUMNS = [
    "client_order_id",
    "symbol",
    "side",
    "broker",
    "filled_shares",
    "avg_fill_price",
    "signal_price",
    "arrival_price",
    "close",
    "start",
    "end",
    "bid",
    "ask",
]
_MINUTE = pd.Timedelta(minutes=1)


def empty_bars() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "symbol": pd.Series(dtype=object),
            "timestamp": pd.Series(dtype="datetime64[ns, UTC]"),
            **{c: pd.Series(dtype=float) for c in BARS_COLUMNS[2:]},
        }
    )


def bar_prices(bars: pd.DataFrame) -> np.ndarray:
    """Each bar's price for VWAP ($/share): its ``vwap`` when > 0, else its ``close``."""
    vw = pd.to_numeric(bars["vwap"], errors="coerce").to_numpy(dtype=float) if "vwap" in bars else None
    c = bars["close"].to_numpy(dtype=float)
    if vw is None:
        return c
    with np.errstate(invalid="ignore"):
        return np.where(np.isfinite(vw) & (vw > 0), vw, c)


def vwap(prices: np.ndarray, volumes: np.ndarray) -> float:
    """``sum(price x volume) / sum(volume)`` ($/share); NaN when the volume is 0."""
    v = float(np.sum(volumes))
    return float(np.sum(prices * volumes)) / v if v > 0 else float("nan")


def twap(closes: np.ndarray) -> float:
    """Plain mean of the closes ($/share); NaN when there is none."""
    return float(np.mean(closes)) if len(closes) else float("nan")


def in_interval(ts: pd.Series | pd.DatetimeIndex, start: pd.Timestamp, end: pd.Timestamp) -> np.ndarray:
    """Bars (by start time ``ts``) overlapping ``[start, end]``: ``ts <= end`` and ``ts + 1 min > start``."""
    t = pd.DatetimeIndex(ts)
    return np.asarray((t <= end) & (t + _MINUTE > start))


def working_end(filled: float, planned: float, last_fill, ended) -> Any:
    """The end of an order's working interval: its last fill when it filled ``planned``
    completely, else its end (cancel / expiry) when known, else its last fill; NaT when none."""
    if filled > 0 and filled + 1e-9 >= planned and pd.notna(last_fill):
        return last_fill
    if pd.notna(ended):
        return ended
    return last_fill if pd.notna(last_fill) else pd.NaT


def _missing(reasons: list[str], key: str, why: str) -> None:
    reasons.append(f"{key}: {why}")


def order_benchmarks(
    orders: pd.DataFrame, bars: pd.DataFrame | None, *, bars_missing: str | None = None
) -> pd.DataFrame:
    """Per order (``ORDER_COLUMNS``; ``start``/``end`` UTC timestamps or NaT, prices $, shares):
    adds ``interval_vwap, twap, day_vwap`` ($), ``interval_bars`` (count), ``interval_volume``
    (shares), ``participation`` (fraction), ``spread_bps``, ``half_spread_usd``,
    ``half_spread_bps``, ``rest_usd``, ``rest_bps``, and for every benchmark ``K`` of
    :data:`BENCHMARK_KEYS` ``K_bps`` and ``K_usd`` (cost, > 0 = cost; NaN unless filled and
    known), and ``missing`` (why a figure is not there, ``; ``-joined). ``bars``: the day's
    minute bars (None: none, ``bars_missing`` says why)."""
    out = orders.reset_index(drop=True).copy()
    missing: list[list[str]] = [[] for _ in range(len(out))]
    for k, v in _interval_figures(out, bars, bars_missing, missing).items():
        out[k] = np.asarray(v, dtype=float)
    _costs(out)
    _cost_gaps(out, missing)
    out["missing"] = ["; ".join(m) for m in missing]
    return out


def _by_symbol(bars: pd.DataFrame) -> dict[str, tuple[pd.DatetimeIndex, np.ndarray, np.ndarray, np.ndarray]]:
    """symbol -> (bar start times, VWAP prices $, volumes, closes $), in time order."""
    b = bars.sort_values(["symbol", "timestamp"], kind="stable")
    px, vol, cl = bar_prices(b), b["volume"].to_numpy(dtype=float), b["close"].to_numpy(dtype=float)
    syms = b["symbol"].astype(str).to_numpy()
    ts = pd.DatetimeIndex(b["timestamp"])
    return {str(s): (ts[m], px[m], vol[m], cl[m]) for s in pd.unique(syms) for m in [syms == s]}


def _interval_figures(out: pd.DataFrame, bars, bars_missing, missing: list[list[str]]) -> dict[str, list[float]]:
    """Each order's interval VWAP, TWAP, day VWAP ($), interval bars and volume (shares)."""
    have_bars = bars is not None and len(bars) > 0
    by_sym = _by_symbol(bars) if have_bars else {}
    names = ("interval_vwap", "twap", "day_vwap", "interval_bars", "interval_volume")
    cols: dict[str, list[float]] = {k: [] for k in names}
    for i, r in enumerate(out.itertuples(index=False)):
        iv = tw = dv = ivol = float("nan")
        nb = 0
        why = missing[i]
        sb = by_sym.get(str(r.symbol))
        if not have_bars:
            _missing(why, "interval VWAP/TWAP, day VWAP", bars_missing or "no minute bars")
        elif sb is None:
            _missing(why, "interval VWAP/TWAP, day VWAP", f"no minute bars for {r.symbol}")
        else:
            t, p, v, c = sb
            dv = vwap(p, v)
            if not math.isfinite(dv):
                _missing(why, "day VWAP", f"no volume in {r.symbol}'s bars")
            if pd.isna(r.start):
                _missing(why, "interval VWAP/TWAP", "submission time unknown")
            elif pd.isna(r.end):
                _missing(why, "interval VWAP/TWAP", "order still working (no fill, no end)")
            else:
                m = in_interval(t, r.start, r.end)
                nb = int(m.sum())
                if not nb:
                    _missing(why, "interval VWAP/TWAP", f"no minute bars from {_hm(r.start)} to {_hm(r.end)}")
                else:
                    ivol = float(np.sum(v[m]))
                    iv, tw = vwap(p[m], v[m]), twap(c[m])
                    if not math.isfinite(iv):
                        _missing(why, "interval VWAP", "no volume in the interval's bars")
        for k, x in zip(names, (iv, tw, dv, nb, ivol)):
            cols[k].append(x)
    return cols


def _costs(out: pd.DataFrame) -> None:
    """Adds participation, each benchmark's cost bps and $, the spread and its split (in place)."""
    side = side_sign(out["side"].astype(str).to_numpy())
    filled = out["filled_shares"].to_numpy(dtype=float)
    fill = out["avg_fill_price"].to_numpy(dtype=float)
    has_fill = (filled > 0) & np.isfinite(fill)
    with np.errstate(invalid="ignore", divide="ignore"):
        iv_vol = out["interval_volume"].to_numpy(dtype=float)
        out["participation"] = np.where(has_fill & (iv_vol > 0), filled / np.where(iv_vol > 0, iv_vol, 1.0), np.nan)
        for k in BENCHMARK_KEYS:
            bm = _benchmark_prices(out, k)
            ok = has_fill & np.isfinite(bm) & (bm > 0)
            out[f"{k}_bps"] = np.where(ok, cost_bps(side, fill, np.where(ok, bm, 1.0)), np.nan)
            out[f"{k}_usd"] = np.where(ok, cost_usd(side, filled, fill, bm), np.nan)
        bid, ask = out["bid"].to_numpy(dtype=float), out["ask"].to_numpy(dtype=float)
        q_ok = np.isfinite(bid) & np.isfinite(ask) & (bid > 0) & (ask >= bid)
        out["spread_bps"] = np.where(q_ok, (ask - bid) / np.where(q_ok, (ask + bid) / 2, 1.0) * 1e4, np.nan)
        arr = out["arrival_price"].to_numpy(dtype=float)
        hs_ok = q_ok & has_fill & np.isfinite(arr) & (arr > 0)
        out["half_spread_usd"] = hs_usd = np.where(hs_ok, filled * (ask - bid) / 2, np.nan)
        arr_notional = np.where(hs_ok, filled * np.where(hs_ok, arr, 1.0), np.nan)
        out["half_spread_bps"] = np.where(hs_ok, bps_of(hs_usd, arr_notional), np.nan)
        out["rest_usd"] = np.where(hs_ok, out["arrival_usd"].to_numpy() - hs_usd, np.nan)
        out["rest_bps"] = np.where(hs_ok, bps_of(out["rest_usd"].to_numpy(), arr_notional), np.nan)


def _cost_gaps(out: pd.DataFrame, missing: list[list[str]]) -> None:
    """Name why a filled order's arrival, spread or close cost is missing; unfilled: no costs."""
    filled = out["filled_shares"].to_numpy(dtype=float)
    fill = out["avg_fill_price"].to_numpy(dtype=float)
    arr = out["arrival_price"].to_numpy(dtype=float)
    for i in range(len(out)):
        if not (filled[i] > 0 and math.isfinite(fill[i])):
            missing[i].insert(0, "costs: not filled")
            continue
        if not (math.isfinite(arr[i]) and arr[i] > 0):
            _missing(missing[i], "arrival", "no arrival price (no quote recorded at submission)")
        if not math.isfinite(float(out["spread_bps"].iloc[i])):
            _missing(missing[i], "spread", "no bid/ask at arrival")
        if not math.isfinite(float(out["close"].iloc[i])):
            _missing(missing[i], "close", "close unknown")


_PRICE_COLUMN = {"signal": "signal_price", "arrival": "arrival_price"}


def _benchmark_prices(frame: pd.DataFrame, key: str) -> np.ndarray:
    col = _PRICE_COLUMN.get(key, key)
    return pd.to_numeric(frame[col], errors="coerce").to_numpy(dtype=float)


def _hm(t) -> str:
    return pd.Timestamp(t).strftime("%H:%M:%S UTC")


def benchmark_table(per_order: pd.DataFrame) -> list[dict[str, Any]]:
    """One row per benchmark (:data:`BENCHMARK_KEYS`): ``usd`` (sum of cost $), ``notional``
    (sum of filled shares x benchmark, $), ``bps`` (benchmark-notional-weighted), ``mean_bps``
    (plain mean per order), ``orders`` (filled orders counted), ``missing`` (filled orders
    without that benchmark); unrounded, None when no order counts."""
    side = side_sign(per_order["side"].astype(str).to_numpy()) if len(per_order) else np.zeros(0)
    filled = per_order["filled_shares"].to_numpy(dtype=float) if len(per_order) else np.zeros(0)
    fill = per_order["avg_fill_price"].to_numpy(dtype=float) if len(per_order) else np.zeros(0)
    n_filled = int(((filled > 0) & np.isfinite(fill)).sum())
    rows = []
    for k in BENCHMARK_KEYS:
        bm = _benchmark_prices(per_order, k) if len(per_order) else np.zeros(0)
        agg = aggregate_slippage(side, filled, fill, bm)
        rows.append(
            {
                "benchmark": k,
                "usd": agg.usd if agg.trades else None,
                "notional": agg.notional if agg.trades else None,
                "bps": agg.bps,
                "mean_bps": agg.mean_bps,
                "orders": agg.trades,
                "missing": n_filled - agg.trades,
            }
        )
    return rows


def spread_split(per_order: pd.DataFrame) -> dict[str, float | None]:
    """The day's cost vs arrival split into half-spread and the rest ($ and bps of the arrival
    notional of the orders with a quote), and the participation (mean, max; fractions)."""
    hs = per_order["half_spread_usd"].to_numpy(dtype=float) if len(per_order) else np.zeros(0)
    ok = np.isfinite(hs)
    if ok.any():
        sh = per_order["filled_shares"].to_numpy(dtype=float)[ok]
        arr_notional = float(np.sum(sh * per_order["arrival_price"].to_numpy(dtype=float)[ok]))
        hs_usd = float(np.sum(hs[ok]))
        rest_usd = float(np.sum(per_order["rest_usd"].to_numpy(dtype=float)[ok]))
        hs_bps, rest_bps = float(bps_of(hs_usd, arr_notional)), float(bps_of(rest_usd, arr_notional))
    else:
        hs_usd = rest_usd = hs_bps = rest_bps = None  # type: ignore[assignment]
    part = per_order["participation"].to_numpy(dtype=float) if len(per_order) else np.zeros(0)
    pk = np.isfinite(part)
    return {
        "half_spread_usd": hs_usd,
        "half_spread_bps": hs_bps,
        "rest_usd": rest_usd,
        "rest_bps": rest_bps,
        "orders": int(ok.sum()),
        "participation_mean": float(np.mean(part[pk])) if pk.any() else None,
        "participation_max": float(np.max(part[pk])) if pk.any() else None,
    }


# --------------------------------------------------------------------------- shown / stored


_f = finite_or_none  # a figure of the orders frame: NaN and inf are missing


ORDER_FIELDS = [
    "client_order_id",
    "symbol",
    "side",
    "broker",
    "filled_shares",
    "avg_fill_price",
    "signal_price",
    "arrival_price",
    "interval_vwap",
    "twap",
    "day_vwap",
    "close",
    "interval_volume",
    "participation",
    "spread_bps",
    "half_spread_bps",
    "rest_bps",
    *[f"{k}_bps" for k in BENCHMARK_KEYS],
]
DEFINITIONS = {
    **MARKET_BENCHMARKS,
    "weighting": "sum of cost $ / sum of filled shares x benchmark x 10^4 (benchmark-notional-weighted)",
    "sign": "cost bps = side x (fill - benchmark) / benchmark x 10^4; positive = a cost for buys and sells",
    "half_spread": "filled shares x (ask - bid) / 2 at arrival, bps of filled shares x arrival price",
    "rest": "cost vs arrival - half-spread (impact + timing), same notional",
    "participation": "filled shares / interval volume (sum of the interval's minute-bar volumes)",
}
_PLACES = {"filled_shares": 6, "interval_volume": 2, "participation": 8}
_PRICE = {"avg_fill_price", "signal_price", "arrival_price", "interval_vwap", "twap", "day_vwap", "close"}


def _shown(k: str, v) -> Any:
    if k in ("client_order_id", "symbol", "side", "broker"):
        return "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)
    x = _f(v)
    if x is None:
        return None
    return half_up(x, 4 if k in _PRICE else _PLACES.get(k, 2))


def benchmarks_document(
    per_order: pd.DataFrame, *, source: str, notes: Sequence[str] = (), adv_limit: float | None = None
) -> dict[str, Any]:
    """``tca.json``'s ``benchmarks`` block: ``table`` (per benchmark, shown: $ cents, bps 0.01),
    ``spread`` (half-spread vs the rest), ``orders`` (per order, shown, with ``missing``),
    ``exact`` (per order: side, filled shares, average fill and every benchmark price, unrounded:
    what the month re-aggregates), ``source`` of the bars, ``definitions``, ``notes``."""
    table = benchmark_table(per_order)
    split = spread_split(per_order)
    over = []
    if adv_limit is not None and len(per_order):
        part = per_order["participation"].to_numpy(dtype=float)
        over = [str(s) for s, p in zip(per_order["symbol"], part) if math.isfinite(p) and p > adv_limit]
    return {
        "source": source,
        "table": [
            {
                "benchmark": r["benchmark"],
                "usd": half_up(r["usd"], 2),
                "bps": half_up(r["bps"], 2),
                "mean_bps": half_up(r["mean_bps"], 2),
                "orders": r["orders"],
                "missing": r["missing"],
            }
            for r in table
        ],
        "spread": {
            "half_spread_usd": half_up(split["half_spread_usd"], 2),
            "half_spread_bps": half_up(split["half_spread_bps"], 2),
            "rest_usd": half_up(split["rest_usd"], 2),
            "rest_bps": half_up(split["rest_bps"], 2),
            "orders": split["orders"],
            "participation_mean": half_up(split["participation_mean"], 8),
            "participation_max": half_up(split["participation_max"], 8),
            "adv_limit": adv_limit,
            "over_adv_limit": over,
        },
        "orders": [
            {**{k: _shown(k, getattr(r, k)) for k in ORDER_FIELDS}, "missing": str(r.missing)}
            for r in per_order.itertuples(index=False)
        ],
        "exact": [
            {
                "symbol": str(r.symbol),
                "side": str(r.side),
                "broker": _shown("broker", r.broker),
                "filled_shares": _f(r.filled_shares),
                "avg_fill_price": _f(r.avg_fill_price),
                **{k: _f(getattr(r, _PRICE_COLUMN.get(k, k))) for k in BENCHMARK_KEYS},
                "participation": _f(r.participation),
                "half_spread_usd": _f(r.half_spread_usd),
            }
            for r in per_order.itertuples(index=False)
        ],
        "definitions": DEFINITIONS,
        "notes": list(notes),
    }


def table_lines(doc: dict[str, Any]) -> list[str]:
    """The text report's benchmark section from a :func:`benchmarks_document`."""
    L = [
        "6. Benchmarks (cost bps = side x (fill - benchmark) / benchmark x 10,000; positive = cost;",
        "   weighted by filled shares x benchmark; bars: " + str(doc.get("source")) + "):",
        f"   {'benchmark':<14} {'cost $':>12} {'weighted':>12} {'plain mean':>12} {'orders':>7} {'missing':>8}",
    ]
    for r in doc["table"]:
        L.append(
            f"   {r['benchmark']:<14} {_usd_text(r['usd']):>12} {_bps_text(r['bps']):>12} "
            f"{_bps_text(r['mean_bps']):>12} {r['orders']:>7} {r['missing']:>8}"
        )
    sp = doc["spread"]
    L += [
        f"   Cost vs arrival = half-spread {_usd_text(sp['half_spread_usd'])} ({_bps_text(sp['half_spread_bps'])})"
        f" + impact/timing {_usd_text(sp['rest_usd'])} ({_bps_text(sp['rest_bps'])}) over {sp['orders']} order(s)",
        "   Participation (filled / interval volume): mean "
        + _pct_text(sp["participation_mean"])
        + ", max "
        + _pct_text(sp["participation_max"])
        + (f" (limit {sp['adv_limit'] * 100:.2f}% of ADV)" if sp.get("adv_limit") is not None else "")
        + (f"; above it: {', '.join(sp['over_adv_limit'])}" if sp.get("over_adv_limit") else ""),
    ]
    gaps: dict[str, list[str]] = {}  # reason -> the orders it applies to, first seen first
    for o in doc["orders"]:
        for why in filter(None, str(o["missing"]).split("; ")):
            gaps.setdefault(why, []).append(f"{o['symbol']} {o['side']}")
    if gaps:
        L.append("   Missing:")
        L += [f"     - {why} ({', '.join(who)})" for why, who in gaps.items()]
    for n in doc.get("notes") or []:
        L.append(f"   Note: {n}")
    return L


def _usd_text(x) -> str:
    if x is None:
        return "n/a"
    return f"-${abs(x):,.2f}" if x < 0 else f"${x:,.2f}"


def _bps_text(x) -> str:
    return "n/a" if x is None else f"{x:.2f} bps"


def _pct_text(x) -> str:
    return "n/a" if x is None else f"{x * 100:.3f}%"


# --------------------------------------------------------------------------- the month


def percentiles(values: Sequence[float], ps: Sequence[float] = PERCENTILES) -> dict[str, float | None]:
    """The ``ps`` percentiles of ``values`` (NaN left out) by linear interpolation between the
    closest ranks (``(n - 1) x p / 100``, numpy's default); None when there are no values."""
    v = np.asarray([x for x in values if x is not None and math.isfinite(x)], dtype=float)
    if not len(v):
        return {f"p{p:g}": None for p in ps}
    return {f"p{p:g}": float(np.percentile(v, p)) for p in ps}


def histogram(values: Sequence[float], width: float = 5.0) -> list[tuple[float, float, int]]:
    """Counts of ``values`` (bps) in bins ``[lo, lo + width)`` aligned on multiples of
    ``width``, from the lowest to the highest bin with a value (empty ones between kept)."""
    v = np.asarray([x for x in values if x is not None and math.isfinite(x)], dtype=float)
    if not len(v):
        return []
    lo = math.floor(v.min() / width)
    hi = math.floor(v.max() / width)
    k = np.floor(v / width).astype(int) - lo
    counts = np.bincount(k, minlength=hi - lo + 1)
    return [((lo + i) * width, (lo + i + 1) * width, int(c)) for i, c in enumerate(counts)]


def month_orders(days: Sequence[tuple[str, Sequence[dict[str, Any]]]]) -> pd.DataFrame:
    """The month's orders from each day's ``benchmarks.exact`` list: ``(date, orders)`` pairs ->
    one frame with ``date`` and ``week`` (the Monday of the date's ISO week, YYYY-MM-DD)."""
    rows = [{**o, "date": d} for d, orders in days for o in orders]
    cols = ["date", "symbol", "side", "broker", "filled_shares", "avg_fill_price", *BENCHMARK_KEYS, "participation"]
    if not rows:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in [*cols, "week"]})
    df = pd.DataFrame.from_records(rows)
    for c in cols:
        if c not in df.columns:
            df[c] = np.nan
    for c in ["filled_shares", "avg_fill_price", *BENCHMARK_KEYS, "participation"]:
        df[c] = pd.to_numeric(df[c], errors="coerce").astype(float)
    d = pd.to_datetime(df["date"])
    df["week"] = (d - pd.to_timedelta(d.dt.day_of_week, unit="D")).dt.strftime("%Y-%m-%d")
    return df


def _agg(df: pd.DataFrame, key: str):
    return aggregate_slippage(
        side_sign(df["side"].astype(str).to_numpy()),
        df["filled_shares"].to_numpy(dtype=float),
        df["avg_fill_price"].to_numpy(dtype=float),
        df[key].to_numpy(dtype=float),
    )


def grouped(df: pd.DataFrame, by: str) -> list[dict[str, Any]]:
    """Per value of ``by`` (``broker`` or ``week``), in order: ``orders`` (filled), and per
    benchmark its weighted bps (``K``) and cost $ (``K_usd``), unrounded; None when unknown."""
    out: list[dict[str, Any]] = []
    if not len(df):
        return out
    for g, part in df.groupby(by, sort=True):
        filled = part[(part["filled_shares"] > 0) & np.isfinite(part["avg_fill_price"])]
        row: dict[str, Any] = {by: str(g), "orders": int(len(filled))}
        for k in BENCHMARK_KEYS:
            a = _agg(filled, k)
            row[k] = a.bps
            row[f"{k}_usd"] = a.usd if a.trades else None
        p = filled["participation"].to_numpy(dtype=float)
        row["participation_mean"] = float(np.mean(p[np.isfinite(p)])) if np.isfinite(p).any() else None
        out.append(row)
    return out


def order_bps(df: pd.DataFrame, key: str) -> np.ndarray:
    """Each filled order's cost bps vs benchmark ``key`` (NaN when unknown)."""
    if not len(df):
        return np.zeros(0)
    side = side_sign(df["side"].astype(str).to_numpy())
    fill, bm = df["avg_fill_price"].to_numpy(dtype=float), df[key].to_numpy(dtype=float)
    ok = (df["filled_shares"].to_numpy(dtype=float) > 0) & np.isfinite(fill) & np.isfinite(bm) & (bm > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(ok, cost_bps(side, fill, np.where(ok, bm, 1.0)), np.nan)


def month_benchmarks(df: pd.DataFrame) -> dict[str, Any]:
    """The month's market-benchmark figures (unrounded): ``by_broker`` and ``by_week``
    (:func:`grouped`), ``percentiles`` of the per-order cost bps per benchmark, and the
    ``histogram`` of the per-order cost bps vs the signal price (5 bps bins)."""
    return {
        "orders": int(((df["filled_shares"] > 0) & np.isfinite(df["avg_fill_price"])).sum()) if len(df) else 0,
        "by_broker": grouped(df, "broker"),
        "by_week": grouped(df, "week"),
        "percentiles": {k: percentiles(order_bps(df, k).tolist()) for k in BENCHMARK_KEYS},
        "histogram": [
            {"from_bps": a, "to_bps": b, "orders": c} for a, b, c in histogram(order_bps(df, "signal").tolist())
        ],
    }


def month_document(m: dict[str, Any], *, days_without: Sequence[str] = ()) -> dict[str, Any]:
    """The month's JSON ``benchmarks`` block from :func:`month_benchmarks` (bps and $ to 0.01,
    participation to 1e-8, half-up): ``by_broker``, ``by_week``, ``percentiles``, ``histogram``,
    ``orders``, ``days_without`` (days whose ``tca.json`` has no per-order benchmarks) and the
    ``definitions`` (benchmark, weighting, sign)."""

    def row(r: dict[str, Any], key: str) -> dict[str, Any]:
        out: dict[str, Any] = {key: r[key], "orders": r["orders"]}
        for k in BENCHMARK_KEYS:
            out[k] = half_up(r[k], 2)
        for k in BENCHMARK_KEYS:
            out[f"{k}_usd"] = half_up(r[f"{k}_usd"], 2)
        out["participation_mean"] = half_up(r["participation_mean"], 8)
        return out

    return {
        "orders": int(m["orders"]),
        "by_broker": [row(r, "broker") for r in m["by_broker"]],
        "by_week": [row(r, "week") for r in m["by_week"]],
        "percentiles": {k: {p: half_up(v, 2) for p, v in ps.items()} for k, ps in m["percentiles"].items()},
        "histogram": list(m["histogram"]),
        "days_without": list(days_without),
        "definitions": {
            **MARKET_BENCHMARKS,
            "weighting": DEFINITIONS["weighting"],
            "sign": DEFINITIONS["sign"],
            "percentiles": "of the filled orders' cost bps, linear between the closest ranks ((n - 1) x p / 100)",
            "histogram": "filled orders by cost bps vs the signal price, bins [from, to) of 5 bps",
            "week": "the Monday of the ISO week (YYYY-MM-DD)",
        },
    }


def month_lines(doc: dict[str, Any]) -> list[str]:
    """The monthly text report's benchmark section from a :func:`month_document`."""
    heads = {"signal": "signal", "arrival": "arrival", "interval_vwap": "int. VWAP", "twap": "TWAP"}
    heads |= {"day_vwap": "day VWAP", "close": "close"}
    head = " ".join(f"{heads[k]:>10}" for k in BENCHMARK_KEYS)
    L = [
        "Market benchmarks (cost bps = side x (fill - benchmark) / benchmark x 10,000; positive = cost;",
        f"   weighted by filled shares x benchmark; {doc['orders']} filled order(s)):",
        "   By broker:",
        f"   {'broker':<12} {'orders':>7} {head}",
    ]

    def cells(r):
        return " ".join(f"{_num_text(r[k]):>10}" for k in BENCHMARK_KEYS)

    L += [f"   {r['broker']:<12} {r['orders']:>7} {cells(r)}" for r in doc["by_broker"]]
    L += ["   By week (week of Monday):", f"   {'week':<12} {'orders':>7} {head}"]
    L += [f"   {r['week']:<12} {r['orders']:>7} {cells(r)}" for r in doc["by_week"]]
    ps = list(next(iter(doc["percentiles"].values()), {}))
    L += ["   Per-order cost percentiles (bps):", f"   {'benchmark':<14} " + " ".join(f"{p.upper():>9}" for p in ps)]
    for k, v in doc["percentiles"].items():
        L.append(f"   {heads.get(k, k):<14} " + " ".join(f"{_num_text(v[p]):>9}" for p in ps))
    L.append("   Orders by cost vs signal (bps):")
    if not doc["histogram"]:
        L.append("     no filled order with a signal price")
    for h in doc["histogram"]:
        L.append(f"     {h['from_bps']:>7g} to {h['to_bps']:<7g} {h['orders']:>5}  " + "#" * min(int(h["orders"]), 60))
    if doc.get("days_without"):
        without = ", ".join(doc["days_without"])
        L.append(f"   Days without per-order benchmarks (older tca.json, or TCA not saved): {without}")
    return L


def _num_text(x) -> str:
    return "n/a" if x is None else f"{x:.2f}"
