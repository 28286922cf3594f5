"""Daily transaction cost analysis (pure core): the guide's five sections plus Perold's shortfall.

Inputs are the day's plan (:class:`~xlexec.core.trades.Trades`), its fills (the canonical frame of
:mod:`xlexec.formats.fills`), optionally closing prices (``symbol, close``), arrival prices (the quote
mid recorded when each order was submitted, see :func:`xlexec.store.arrivals.arrivals_from_journal`) and the
portfolio value ($). No files, no clock, no network.

Matching
    Only the *included* trades are planned (the orders of
    :func:`xlexec.core.orders.orders_from_trades`). A fill belongs to a planned trade of its day by
    :func:`xlexec.core.matching.match_fills` (client order id, else symbol+side; an id match
    must agree on symbol and side); partial fills of a trade add up to one executed quantity
    (shares) at the share-weighted average price ($/share); commissions add up. Fills that match
    nothing have no signal price: they are left out of the slippage figures and named in the
    notes (reconcile reports them as breaks), but their commission was paid: it is in
    ``commission.actual`` (what every fill paid; rebates negative) and shown apart as
    ``commission.unplanned``.

Figures (each defined once in :mod:`xlexec.core.costs`, the same as reconcile's)
    ``slippage.actual_bps`` = sum slippage $ / sum (filled shares x signal price) x 10^4
    (benchmark-notional-weighted: reconcile's ``slippage_bps_avg``); ``slippage_mean_bps`` =
    plain mean of the filled trades' bps. ``tca.json`` names its benchmark and weighting
    (``figures``) and keeps the unrounded figures (``exact``) that the month sums.

Units and sign convention (positive is a cost, for buys and sells alike; :mod:`xlexec.core.costs`)
    side = +1 buy, -1 sell.
    cost bps = side x (fill - benchmark) / benchmark x 10,000.
    slippage $ of a trade = side x filled shares x (avg fill - signal price).
    notional ($) = filled shares x signal price: the benchmark notional, so that the aggregate
    bps (sum cost $ / sum notional x 10^4) is exactly the notional-weighted mean of the trades'
    bps, never a plain mean.
    opportunity $ = side x unfilled shares x (close - signal price) (unfilled = planned - filled,
    never negative).
    Perold's shortfall vs the signal price: delay = side x filled x (arrival - signal),
    execution = side x filled x (fill - arrival), opportunity as above, fees = actual commission;
    delay + execution = slippage, so delay + execution + opportunity + fees = total.

Unknowns are never guessed: when the arrival price of a filled trade is unknown, its delay and
execution are NaN in :attr:`TcaResult.by_trade` and the day's ``shortfall.delay`` /
``shortfall.execution`` are ``null`` (the split is known only in part; the notes give the part
and name the symbols); ``shortfall.total`` is still slippage + opportunity + fees. When the close
of a symbol with unfilled shares is unknown, its opportunity cost is NaN, and the day's
``opportunity.usd``, ``shortfall.opportunity`` and ``shortfall.total`` are ``null``.

Fractions (``pct_*``, ``variance_pct``) are fractions (0.0037 = 0.37%); money in $ rounded
half-up to cents, bps to 0.01 in :meth:`TcaResult.to_json` (shown figures); ``exact`` unrounded.

Many days at once
    :func:`tca_many` computes any number of days in one vectorised pass (orders of all days in
    one frame, every fill keyed by its day, sums grouped by day with ``bincount``), so a month
    or a year pays pandas' per-call cost once, not once per day. :func:`daily_tca` is
    :func:`tca_many` with one day: one implementation. A day's ``by_trade``/``by_symbol``
    frames are cut out of the batch's arrays when first asked for.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from xlexec.core.costs import (
    BENCHMARKS,
    benchmark_notional,
    bps_of,
    commission_paid,
    figure_definitions,
    half_up,
    half_up_floats,
    side_sign,
)
from xlexec.core.costs import slippage_usd as cost_usd
from xlexec.core.execution_counts import ExecutionCounts
from xlexec.core.fills import aggregate_fills, empty_fills
from xlexec.core.matching import BY_CLIENT_ID, match_fills, plain_ids
from xlexec.core.matching import first_match as _first_match
from xlexec.core.matching import text_array as _text
from xlexec.core.money import usd
from xlexec.core.orders import orders_from_trades_many
from xlexec.core.symbols import canonical_column, canonical_symbol
from xlexec.core.trades import Trades

ARRIVAL_COLUMNS = [
    "client_order_id",
    "symbol",
    "side",
    "arrival_price",
    "signal_price",
    "limit_price",
    "submitted_at",
    "broker",
]
BY_TRADE_COLUMNS = [
    "row",
    "symbol",
    "side",
    "planned_shares",
    "filled_shares",
    "unfilled_shares",
    "n_fills",
    "signal_price",
    "avg_fill_price",
    "arrival_price",
    "close",
    "planned_notional",
    "notional",
    "commission_est",
    "slippage_est",
    "commission",
    "slippage_usd",
    "slippage_bps",
    "opportunity_usd",
    "delay_usd",
    "execution_usd",
    "total_usd",
    "matched_by",
    "client_order_id",
]
BY_SYMBOL_COLUMNS = [
    "symbol",
    "planned_notional",
    "notional",
    "commission",
    "slippage_usd",
    "opportunity_usd",
    "usd",
    "pct_trade",
]
_NEUTRAL_USD = 0.005  # |slippage| below half a cent: neither favorable nor unfavorable

CONVENTION = (
    "Sign convention: cost bps = side x (fill - benchmark) / benchmark x 10,000, "
    "side = +1 buy, -1 sell; positive is a cost, negative a saving, for buys and sells "
    "alike. Benchmark: the signal price (the trades.csv price). Aggregate bps are weighted by "
    "benchmark notional (sum of cost $ / sum of filled shares x signal price x 10^4); the plain "
    "mean of the trades' bps is shown apart. Commission: every fill, planned or not (rebates negative)."
)


def _money(x) -> float | None:
    """$ shown to the cent, half-up (:func:`xlexec.core.costs.half_up`); None for unknown."""
    return half_up(x, 2)


def _bps(x) -> float | None:
    return _money(x)


def _frac(x) -> float | None:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return None
    return round(float(x), 8) + 0.0


def _div(a: float, b: float | None) -> float:
    if b is None or not math.isfinite(b) or b == 0:
        return float("nan")
    return a / b


def _bps_of(usd: float, notional: float | None) -> float:
    """:func:`xlexec.core.costs.bps_of`, NaN when the notional is unknown or zero."""
    if notional is None or not math.isfinite(notional) or notional == 0:
        return float("nan")
    return float(bps_of(usd, notional))


@dataclass
class TcaResult:
    """The day's TCA. Figures in $ (money), bps, shares and fractions (see module doc)."""

    date: str | None
    portfolio_value: float | None
    commission_estimated: float
    commission_actual: float
    slippage_estimated_usd: float
    slippage_estimated_bps: float
    slippage_actual_usd: float
    slippage_actual_bps: float
    favorable_count: int
    favorable_usd: float  # $ saved (> 0) by trades filled better than the signal price
    unfavorable_count: int
    unfavorable_usd: float  # $ lost (> 0) by trades filled worse than the signal price
    unfilled_orders: int  # orders with any unfilled quantity (none or partly filled)
    opportunity_usd: float  # NaN when a close is missing for unfilled shares
    total_usd: float  # commission + slippage ($), the guide's "total transaction costs"
    notional: float  # filled shares x signal price ($)
    planned_notional: float  # planned shares x signal price ($)
    delay_usd: float  # NaN unless every filled trade has an arrival price
    execution_usd: float
    shortfall_total: float  # slippage + opportunity + fees
    trades_planned: int
    trades_filled: int  # planned trades with any fill (fully or partially executed)
    counts: ExecutionCounts | None = None  # fully / partially / not executed (core.execution_counts)
    notes: list[str] = field(default_factory=list)
    slippage_mean_bps: float = float("nan")  # plain mean of the filled trades' bps (NaN: none)
    commission_unplanned: float = 0.0  # $ paid on fills matching no planned trade (in commission_actual)
    # the batch of days this result was computed with (see tca_many) and this day's place in it;
    # by_trade / by_symbol are cut out of it when first asked for
    _batch: Any = field(default=None, repr=False, compare=False)
    _day: int = field(default=0, repr=False, compare=False)
    _unplanned: pd.DataFrame | None = field(default=None, repr=False, compare=False)
    _unplanned_fills: pd.DataFrame | None = field(default=None, repr=False, compare=False)  # aggregated when asked
    _frames: dict = field(default_factory=dict, repr=False, compare=False)

    # ---- frames ----------------------------------------------------------------------------
    @property
    def by_trade(self) -> pd.DataFrame:
        """One row per planned (included) trade: ``BY_TRADE_COLUMNS`` (shares, $, bps)."""
        if "by_trade" not in self._frames:
            self._frames["by_trade"] = self._batch.by_trade(self._day)
        return self._frames["by_trade"]

    @property
    def by_symbol(self) -> pd.DataFrame:
        """Per symbol, costliest first: ``BY_SYMBOL_COLUMNS`` ($; ``pct_trade`` a fraction of
        the filled notional, NaN when nothing filled)."""
        if "by_symbol" not in self._frames:
            self._frames["by_symbol"] = self._batch.by_symbol(self._day)
        return self._frames["by_symbol"]

    @property
    def unplanned(self) -> pd.DataFrame:
        """Fills that match no planned trade, aggregated per order (:func:`aggregate_fills`)."""
        if self._unplanned is None:
            raw = self._unplanned_fills
            self._unplanned = aggregate_fills(raw if raw is not None else empty_fills())
            self._unplanned_fills = None
        return self._unplanned

    def _by_symbol_json(self) -> list[dict[str, Any]]:
        if "by_symbol" in self._frames or self._batch is None:
            b = self.by_symbol
            return [
                {"symbol": str(s), "usd": _money(u), "pct_trade": _frac(p)}
                for s, u, p in zip(b["symbol"], b["usd"], b["pct_trade"])
            ]
        fin = math.isfinite  # plain floats from the batch: _money / _frac inlined
        symbols, usd, pct = self._batch.symbol_rows(self._day)
        return [
            {"symbol": s, "usd": u, "pct_trade": round(p, 8) + 0.0 if fin(p) else None}
            for s, u, p in zip(symbols, half_up_floats(usd, 2), pct, strict=True)
        ]

    # ---- derived -------------------------------------------------------------------------
    @property
    def commission_variance(self) -> float:
        return self.commission_actual - self.commission_estimated

    @property
    def commission_variance_pct(self) -> float:
        return _div(self.commission_variance, self.commission_estimated)

    @property
    def pct_notional(self) -> float:
        return _div(self.total_usd, self.notional)

    @property
    def pct_portfolio(self) -> float:
        return _div(self.total_usd, self.portfolio_value)

    @property
    def worst(self) -> pd.Series | None:
        f = self.by_symbol[self.by_symbol["notional"] > 0]
        return None if f.empty else f.loc[f["usd"].idxmax()]

    @property
    def best(self) -> pd.Series | None:
        f = self.by_symbol[self.by_symbol["notional"] > 0]
        return None if f.empty else f.loc[f["usd"].idxmin()]

    # ---- outputs -------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        """The issue's stable keys, exactly: commission, slippage, opportunity, total,
        by_symbol, shortfall ($ to cents, bps to 0.01, fractions; unknown -> null)."""
        return {
            "commission": {
                "estimated": _money(self.commission_estimated),
                "actual": _money(self.commission_actual),
                "variance": _money(self.commission_variance),
                "variance_pct": _frac(self.commission_variance_pct),
            },
            "slippage": {
                "estimated_usd": _money(self.slippage_estimated_usd),
                "estimated_bps": _bps(self.slippage_estimated_bps),
                "actual_usd": _money(self.slippage_actual_usd),
                "actual_bps": _bps(self.slippage_actual_bps),
                "favorable": {"count": int(self.favorable_count), "usd": _money(self.favorable_usd)},
                "unfavorable": {"count": int(self.unfavorable_count), "usd": _money(self.unfavorable_usd)},
            },
            "opportunity": {"unfilled_orders": int(self.unfilled_orders), "usd": _money(self.opportunity_usd)},
            "total": {
                "usd": _money(self.total_usd),
                "pct_notional": _frac(self.pct_notional),
                "pct_portfolio": _frac(self.pct_portfolio),
            },
            "by_symbol": self._by_symbol_json(),
            "shortfall": {
                "delay": _money(self.delay_usd),
                "execution": _money(self.execution_usd),
                "opportunity": _money(self.opportunity_usd),
                "fees": _money(self.commission_actual),
                "total": _money(self.shortfall_total),
            },
        }

    def exact(self) -> dict[str, float | None]:
        """The day's figures unrounded ($, bps; None for unknown): what the month sums."""

        def full(x):
            return float(x) + 0.0 if x is not None and math.isfinite(float(x)) else None

        return {
            "commission": full(self.commission_actual),
            "commission_unplanned": full(self.commission_unplanned),
            "commission_estimated": full(self.commission_estimated),
            "slippage_usd": full(self.slippage_actual_usd),
            "slippage_bps": full(self.slippage_actual_bps),
            "slippage_mean_bps": full(self.slippage_mean_bps),
            "notional": full(self.notional),
            "opportunity_usd": full(self.opportunity_usd),
            "total_usd": full(self.total_usd),
        }

    def record(self) -> dict[str, Any]:
        """Day-level figures the monthly report needs (written next to the stable keys in
        ``tca.json``): date, notional ($ filled at signal), trades planned/filled, portfolio
        value ($), notes; the plain-mean slippage bps and the unplanned fills' commission ($);
        ``figures`` (benchmark, weighting, sign: :func:`xlexec.core.costs.figure_definitions`;
        ``arrival`` and ``close``: the shortfall's and the opportunity cost's benchmarks)
        and ``exact`` (the unrounded figures, :meth:`exact`)."""
        return {
            "date": self.date,
            "notional": _money(self.notional),
            "planned_notional": _money(self.planned_notional),
            "trades_planned": int(self.trades_planned),
            "trades_filled": int(self.trades_filled),
            **(self.counts.to_json() if self.counts is not None else {}),
            "portfolio_value": _money(self.portfolio_value) if self.portfolio_value is not None else None,
            "notes": list(self.notes),
            "slippage_mean_bps": _bps(self.slippage_mean_bps),
            "commission_unplanned": _money(self.commission_unplanned),
            "figures": {
                **figure_definitions("signal"),
                # the shortfall's other benchmarks: delay = signal -> arrival, execution = arrival
                # -> fill; opportunity = side x unfilled shares x (close - signal)
                "arrival": BENCHMARKS["arrival"],
                "close": BENCHMARKS["close"],
            },
            "exact": self.exact(),
        }

    def report_text(self) -> str:
        """The guide's "Transaction Cost Analysis" report (five sections + shortfall + notes)."""
        title = f"Transaction Cost Analysis - {self.date or 'undated'}"
        L = [title, "=" * max(40, len(title)), CONVENTION, ""]
        if self.counts is not None:
            L += [f"Orders: {self.counts.text()}", ""]
        L += self._commission_lines() + self._slippage_lines() + self._opportunity_lines()
        L += [
            "4. Total Costs (commission + slippage):",
            f"   Total Transaction Costs: {_usd(self.total_usd)}",
            f"   As % of Notional: {_pct(self.pct_notional)}",
            f"   As % of Portfolio: {_pct(self.pct_portfolio)}",
            "",
        ]
        L += self._attribution_lines()
        L += [
            "",
            "Implementation Shortfall (Perold, vs signal price):",
            f"   Delay (signal -> arrival):   {_usd(self.delay_usd)}",
            f"   Execution (arrival -> fill): {_usd(self.execution_usd)}",
            f"   Opportunity (unfilled):      {_usd(self.opportunity_usd)}",
            f"   Fees (commission):           {_usd(self.commission_actual)}",
            f"   Total shortfall:             {_usd(self.shortfall_total)}",
        ]
        if self.notes:
            L += ["", "Notes:"] + [f"   - {n}" for n in self.notes]
        return "\n".join(L) + "\n"

    def _commission_lines(self) -> list[str]:
        """Report section 1: commission estimated, actual, variance ($ and % of the estimate)."""
        return [
            "1. Commission Costs:",
            f"   Estimated: {_usd(self.commission_estimated)}",
            f"   Actual:    {_usd(self.commission_actual)} (every fill; rebates negative)",
            *(
                [f"     of which unplanned fills: {_usd(self.commission_unplanned)}"]
                if abs(self.commission_unplanned) >= 0.005
                else []
            ),
            f"   Variance:  {_usd(self.commission_variance, sign=True)} "
            f"({_pct(self.commission_variance_pct, sign=True)})",
            "",
        ]

    def _slippage_lines(self) -> list[str]:
        """Report section 2: slippage vs the signal price ($, bps), variance, favorable/unfavorable."""
        slip_var = self.slippage_actual_usd - self.slippage_estimated_usd
        return [
            "2. Slippage Costs (vs signal price):",
            f"   Estimated:    {_usd(self.slippage_estimated_usd)} ({_fbps(self.slippage_estimated_bps)})",
            f"   Actual:       {_usd(self.slippage_actual_usd)} ({_fbps(self.slippage_actual_bps)}, "
            "weighted by filled shares x signal price)",
            f"   Plain mean of the trades' bps: {_fbps(self.slippage_mean_bps)}",
            f"   Variance:     {_usd(slip_var, sign=True)} "
            f"({_pct(_div(slip_var, self.slippage_estimated_usd), sign=True)})",
            "   Breakdown:",
            f"     - Favorable:   {self.favorable_count} trade{_s(self.favorable_count)}, "
            f"saved {_usd(self.favorable_usd)}",
            f"     - Unfavorable: {self.unfavorable_count} trade{_s(self.unfavorable_count)}, "
            f"cost {_usd(self.unfavorable_usd)}",
            "",
        ]

    def _opportunity_lines(self) -> list[str]:
        """Report section 3: the unfilled and partly filled orders and the missed PnL ($)."""
        bt = self.by_trade
        none = bt.loc[(bt["filled_shares"] <= 0), "symbol"].tolist()
        part = bt.loc[(bt["filled_shares"] > 0) & (bt["unfilled_shares"] > 0), "symbol"].tolist()
        unf = [f"{len(none)} order{_s(len(none))}" + (f" ({', '.join(none)})" if none else "")]
        if part:
            unf.append(f"partly filled: {len(part)} ({', '.join(part)})")
        return [
            "3. Opportunity Costs (side x unfilled shares x (close - signal)):",
            f"   Unfilled: {'; '.join(unf)}",
            f"   Missed PnL: {_usd(self.opportunity_usd)}"
            + (
                ""
                if not math.isfinite(self.opportunity_usd)
                else " (stock moved away)"
                if self.opportunity_usd > 0
                else " (stock moved our way)"
                if self.opportunity_usd < 0
                else ""
            ),
            "",
        ]

    def _attribution_lines(self) -> list[str]:
        """Report section 5: the worst and best symbol, then every symbol's cost ($, % of trade)."""
        L = ["5. Cost Attribution by Symbol (commission + slippage):"]
        w, b = self.worst, self.best  # both None (nothing filled) or both set
        if w is not None and b is not None:
            L.append(f"   Worst: {w['symbol']} ({_usd(w['usd'])}, {_pct(w['pct_trade'])} of trade)")
            L.append(f"   Best: {b['symbol']} ({_usd(b['usd'])}, {_pct(b['pct_trade'])} of trade)")
        else:
            L.append("   (nothing filled)")
        for s, u, p in zip(self.by_symbol["symbol"], self.by_symbol["usd"], self.by_symbol["pct_trade"]):
            L.append(f"     {s:<10} {_usd(u):>14} {_pct(p):>9}")
        return L


def _s(n: int) -> str:
    return "" if n == 1 else "s"


def _usd(x, sign: bool = False) -> str:
    return usd(x, sign=sign)


def _pct(x, sign: bool = False) -> str:
    if x is None or not math.isfinite(float(x)):
        return "n/a"
    v = float(x) * 100
    d = 3 if abs(v) < 1 else 2  # small fractions keep a significant digit
    return f"{v:+.{d}f}%" if sign else f"{v:.{d}f}%"


def _fbps(x) -> str:
    if x is None or not math.isfinite(float(x)):
        return "n/a bps"
    return f"{half_up(x, 2) or 0.0:.2f} bps"


def empty_arrivals() -> pd.DataFrame:
    return pd.DataFrame(
        {
            c: pd.Series(dtype=float if c in ("arrival_price", "signal_price", "limit_price") else object)
            for c in ARRIVAL_COLUMNS
        }
    )


def arrivals_from_payloads(payloads: list[dict[str, Any]]) -> pd.DataFrame:
    """``order_intent`` payloads -> ``client_order_id, symbol, side, arrival_price ($, NaN when
    unknown), signal_price, limit_price, submitted_at, broker`` in journal order."""
    if not payloads:
        return empty_arrivals()
    df = pd.DataFrame.from_records(payloads)
    out = pd.DataFrame(index=pd.RangeIndex(len(df)))
    for c in ("client_order_id", "symbol", "side", "submitted_at", "broker"):
        out[c] = df[c].astype(object).where(df[c].notna(), "") if c in df.columns else ""
    out["client_order_id"] = out["client_order_id"].astype(str).str.strip()
    out["symbol"] = canonical_column(out["symbol"].astype(str))
    out["side"] = out["side"].astype(str).str.lower().str.strip()
    for c, src in (("arrival_price", "arrival_price"), ("signal_price", "price"), ("limit_price", "limit_price")):
        v = pd.to_numeric(df[src], errors="coerce").astype(float) if src in df.columns else np.nan
        out[c] = v
    ap = out["arrival_price"]
    out["arrival_price"] = ap.where(np.isfinite(ap) & (ap > 0))
    return out[ARRIVAL_COLUMNS]


def _aligned(arg, dates: list, what: str) -> list:
    """One value per day: ``arg`` is ``None`` (nothing for any day), a mapping date -> value,
    or a sequence aligned with the days."""
    if arg is None:
        return [None] * len(dates)
    if isinstance(arg, Mapping):
        return [arg.get(d) for d in dates]
    out = list(arg)
    if len(out) != len(dates):
        raise ValueError(f"{what}: {len(out)} given for {len(dates)} days")
    return out


def _wsum(groups: np.ndarray, weights: np.ndarray, n: int) -> np.ndarray:
    """Sum of ``weights`` per group ``0..n-1`` (float64 even when there is nothing to sum)."""
    return np.bincount(groups, weights=weights, minlength=n).astype(float, copy=False)


def _unplanned_orders(fills: pd.DataFrame, rows: np.ndarray) -> tuple[list[tuple[str, str, float]], float]:
    """The unmatched fills ``rows`` per broker order, as :func:`aggregate_fills` groups them
    (client order id, else order id, else symbol+side; first seen first): ``(symbol, side,
    shares)`` each, and their commission ($). A few rows: plain Python, no group-by."""

    def col(c):
        if c not in fills.columns:
            return [None] * len(rows)
        return fills[c].to_numpy(dtype=object)[rows].tolist()

    def txt(x):
        return "" if x is None or (isinstance(x, float) and math.isnan(x)) or x is pd.NA else str(x)

    groups: dict[tuple[str, str], list] = {}
    for cid, oid, sym, side, sh in zip(
        col("client_order_id"),
        col("order_id"),
        col("symbol"),
        col("side"),
        fills["shares"].to_numpy(dtype=float)[rows].tolist(),
    ):
        cid, oid = txt(cid), txt(oid)
        key = ("c", cid) if cid else ("o", oid) if oid else ("s", f"{sym}|{side}")
        if key in groups:
            groups[key][2] += sh
        else:
            groups[key] = [sym, side, sh]
    comm = commission_paid(fills["commission"].to_numpy(dtype=float)[rows])
    return [tuple(g) for g in groups.values()], comm


def _fills_of(fills, dates: list) -> tuple[pd.DataFrame, np.ndarray]:
    """All days' fills as one frame and the day (position) of each row."""
    if isinstance(fills, pd.DataFrame):
        if "date" not in fills.columns:
            raise ValueError("one fills frame for several days needs a 'date' column")
        if len(set(dates)) != len(dates):
            raise ValueError("one fills frame for several days needs distinct dates")
        fday = pd.Index(np.asarray(dates, dtype=object)).get_indexer(_text(fills["date"].astype(str)))
        if (fday < 0).any():
            keep = np.flatnonzero(fday >= 0)
            return fills.iloc[keep], fday[keep].astype(np.int64)
        return fills, fday.astype(np.int64)
    per_day = _aligned(fills, dates, "fills")
    lens = np.array([0 if f is None else len(f) for f in per_day], dtype=np.int64)
    frames = [f for f in per_day if f is not None and len(f)]
    if not frames:
        big = empty_fills()
    elif len(frames) == 1:
        big = frames[0]
    else:
        big = pd.concat(frames, ignore_index=True)
    return big, np.repeat(np.arange(len(dates), dtype=np.int64), lens)


def _stacked(frames: list, columns: Sequence[str]) -> tuple[pd.DataFrame, np.ndarray]:
    """Concatenate the days' small frames (``None``/empty skipped), with each row's day."""
    have = [(i, f) for i, f in enumerate(frames) if f is not None and len(f)]
    if not have:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns}), np.zeros(0, dtype=np.int64)
    day = np.repeat(np.array([i for i, _ in have], dtype=np.int64), [len(f) for _, f in have])
    big = have[0][1] if len(have) == 1 else pd.concat([f for _, f in have], ignore_index=True)
    return big, day


class _Batch:
    """Per-trade and per-symbol figures of a batch of days, kept as arrays; a day's frames are
    cut out of them only when asked for."""

    def __init__(
        self,
        trade_cols: dict[str, np.ndarray],
        trade_bounds: np.ndarray,
        sym_cols: dict[str, np.ndarray],
        sym_bounds: np.ndarray,
    ):
        self.trade_cols, self.trade_bounds = trade_cols, trade_bounds
        self.sym_cols, self.sym_bounds = sym_cols, sym_bounds

    def by_trade(self, i: int) -> pd.DataFrame:
        a, b = self.trade_bounds[i], self.trade_bounds[i + 1]
        cols = {c: v[a:b] for c, v in self.trade_cols.items()}
        for c in ("symbol", "side", "matched_by", "client_order_id"):
            cols[c] = pd.array(cols[c], dtype="str")
        return pd.DataFrame(cols)[BY_TRADE_COLUMNS]

    def by_symbol(self, i: int) -> pd.DataFrame:
        a, b = self.sym_bounds[i], self.sym_bounds[i + 1]
        cols = {c: v[a:b] for c, v in self.sym_cols.items()}
        cols["symbol"] = pd.array(cols["symbol"], dtype="str")
        return pd.DataFrame(cols)[BY_SYMBOL_COLUMNS]

    def symbol_rows(self, i: int):
        """``(symbols, usd, pct_trade)`` of day ``i``: lists of plain ``str``/``float`` values."""
        a, b = self.sym_bounds[i], self.sym_bounds[i + 1]
        return (
            [str(x) for x in self.sym_cols["symbol"][a:b].tolist()],
            self.sym_cols["usd"][a:b].tolist(),
            self.sym_cols["pct_trade"][a:b].tolist(),
        )


def daily_tca(
    trades: Trades,
    fills: pd.DataFrame | None,
    *,
    closes: pd.DataFrame | None = None,
    arrivals: pd.DataFrame | None = None,
    portfolio_value: float | None = None,
    default_order_type: str = "limit",
    date: str | None = None,
) -> TcaResult:
    """The day's TCA of ``trades`` (the plan) against ``fills`` (canonical frame).

    ``closes``: ``symbol, close`` ($) for opportunity cost; ``arrivals``: ``client_order_id``
    and/or ``symbol, side`` -> ``arrival_price`` ($; NaN = unknown) for the delay/execution
    split; ``portfolio_value`` ($) for cost as % of portfolio; ``default_order_type`` and
    ``date`` as given to :func:`orders_from_trades` when the orders were sent (they fix the
    client order ids). See the module docstring for units, signs and matching. This is
    :func:`tca_many` with one day.
    """
    return tca_many(
        [(date, trades)],
        [fills],
        closes=[closes],
        arrivals=[arrivals],
        portfolio_values=[portfolio_value],
        default_order_type=default_order_type,
    )[0]


def tca_many(
    days: Sequence[tuple[str | None, Trades]],
    fills=None,
    *,
    closes=None,
    arrivals=None,
    portfolio_values=None,
    default_order_type: str = "limit",
) -> list[TcaResult]:
    """The TCA of many days in one vectorised pass; item ``i`` equals
    ``daily_tca(trades_i, fills_i, closes=..., arrivals=..., portfolio_value=..., date=date_i)``.

    ``days``: ``(date, trades)`` pairs (``date`` ``None`` = the trades header's date).
    ``fills``: one canonical fills frame per day (a sequence aligned with ``days``; ``None`` =
    no fills that day), or one frame for all days with a ``date`` column (``YYYY-MM-DD``; rows
    of other dates are ignored; the days' dates must then be distinct).
    ``closes``, ``arrivals``: per day (a sequence aligned with ``days`` or a mapping date ->
    frame; ``None`` = unknown), as in :func:`daily_tca`. ``portfolio_values``: per day ($;
    sequence or mapping; ``None`` = unknown). A fill only ever matches an order of its own day.
    """
    days = list(days)
    if not days:
        return []
    dates = [d or t.date for d, t in days]
    nd = len(days)
    t = _order_arrays(days, default_order_type, nd)
    big, fday = _fills_of(fills, dates)
    matched = _fill_sums(t, big, fday)
    t["close"] = _closes_of(closes, dates, t)
    t["arrival"] = _arrivals_of(arrivals, dates, t)
    _trade_costs(t)
    batch = _Batch(_trade_columns(t), t["tb"], *_by_symbol(t, nd))
    d = _day_sums(t, nd)
    unmatched_rows = np.flatnonzero(~matched)
    um_day = fday[unmatched_rows]
    um_order = np.argsort(um_day, kind="stable")
    um_rows, um_day = unmatched_rows[um_order], um_day[um_order]
    um_bounds = np.searchsorted(um_day, np.arange(nd + 1))
    pvs = _aligned(portfolio_values, dates, "portfolio values")
    out = []
    for i in range(nd):
        n_excl = len(days[i][1].df) - int(t["n_by_day"][i])
        rows_i = um_rows[um_bounds[i] : um_bounds[i + 1]]
        unplanned, notes = _unplanned_note(big, rows_i, n_excl)
        um_comm = commission_paid(big["commission"].to_numpy(dtype=float)[rows_i]) if len(rows_i) else 0.0
        out.append(_day_result(t, d, i, dates[i], pvs[i], notes, batch, unplanned, um_comm))
    return out


def _order_arrays(days, default_order_type: str, nd: int) -> dict[str, Any]:
    """The days' orders as arrays: ``sym``, ``sidestr``, ``side`` (+1/-1), ``q`` (shares), ``p``
    (signal $), ``coids``, ``c_est``/``s_est`` ($), ``oday`` (day position), bounds ``tb``."""
    orders = orders_from_trades_many(
        days, default_order_type=default_order_type, keep=("commission_est", "slippage_est")
    )
    oday = orders["day"].to_numpy()
    n_by_day = np.bincount(oday, minlength=nd)
    sidestr = _text(orders["side"])
    return {
        "orders": orders,
        "oday": oday,
        "n": len(orders),
        "n_by_day": n_by_day,
        "tb": np.concatenate([[0], np.cumsum(n_by_day)]),
        "sym": _text(orders["symbol"]),
        "sidestr": sidestr,
        "side": side_sign(sidestr),
        "q": orders["qty"].to_numpy(dtype=float),
        "p": orders["price"].to_numpy(dtype=float),
        "coids": _text(orders["client_order_id"]),
        "c_est": orders["commission_est"].to_numpy(dtype=float),
        "s_est": orders["slippage_est"].to_numpy(dtype=float),
    }


def _fill_sums(t: dict[str, Any], big: pd.DataFrame, fday: np.ndarray) -> np.ndarray:
    """Match fills to the planned trades of their day (:func:`match_fills`) and sum them per
    trade into ``t`` (filled shares, $ x shares, commission, fills, avg price); returns which
    fills matched."""
    n = t["n"]
    fm = match_fills(big, t["orders"], fill_day=fday, order_day=t["oday"])  # the one matcher (core/matching)
    pos = fm.pos
    t["via_coid"] = np.bincount(pos[fm.how == BY_CLIENT_ID], minlength=n) > 0
    matched = pos >= 0
    idx = pos[matched]
    sh = big["shares"].to_numpy(dtype=float)[matched]
    px = big["price"].to_numpy(dtype=float)[matched]
    cm = big["commission"].to_numpy(dtype=float)[matched]
    t["filled"] = filled = _wsum(idx, sh, n)
    pxsh = _wsum(idx, sh * px, n)
    t["comm"] = _wsum(idx, cm, n)
    t["nfills"] = np.bincount(idx, minlength=n)
    t["has_fill"] = has_fill = filled > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        t["avg"] = np.where(has_fill, pxsh / np.where(has_fill, filled, 1.0), np.nan)
    return matched


def _closes_of(closes, dates: list, t: dict[str, Any]) -> np.ndarray:
    """Each trade's close ($) from its day's ``closes`` (symbol, any case), NaN when unknown."""
    cl, cday = _stacked(_aligned(closes, dates, "closes"), ("symbol", "close"))
    if not len(cl):
        return np.full(t["n"], np.nan)
    ccodes, cuniq = pd.factorize(_text(cl["symbol"]))
    cup = np.array([canonical_symbol(u) for u in cuniq], dtype=object)
    csym = np.full(len(ccodes), None, dtype=object)
    if len(cup):
        csym[ccodes >= 0] = cup[ccodes[ccodes >= 0]]
    at = _first_match(t["oday"], [t["sym"]], cday, [csym])
    cv = cl["close"].to_numpy(dtype=float)
    return np.where(at >= 0, cv[np.maximum(at, 0)], np.nan)


def _arrivals_of(arrivals, dates: list, t: dict[str, Any]) -> np.ndarray:
    """Each trade's arrival price ($) by client order id, else symbol+side; NaN when unknown."""
    n, oday = t["n"], t["oday"]
    arrival = np.full(n, np.nan)
    ar, aday = _stacked(_aligned(arrivals, dates, "arrivals"), ARRIVAL_COLUMNS)
    if len(ar):
        ap = (
            pd.to_numeric(ar["arrival_price"], errors="coerce").to_numpy(dtype=float)
            if "arrival_price" in ar.columns
            else np.full(len(ar), np.nan)
        )
        found1 = np.zeros(n, bool)
        v1 = np.full(n, np.nan)
        if "client_order_id" in ar.columns:
            ac = _text(ar["client_order_id"].astype(object).where(ar["client_order_id"].notna(), "").astype(str))
            ac = np.where(ac == "", np.array(None, dtype=object), ac)  # a blank id never matches
            # the intents' ids carry the account tag, the plan's do not: compare without it
            at = _first_match(oday, [plain_ids(t["coids"])], aday, [plain_ids(ac)])
            found1 = at >= 0
            v1 = np.where(found1, ap[np.maximum(at, 0)], np.nan)
        v2 = np.full(n, np.nan)
        if "symbol" in ar.columns and "side" in ar.columns:
            asym = _text(canonical_column(ar["symbol"].astype(str)))
            aside = _text(ar["side"].astype(str).str.lower())
            at = _first_match(oday, [t["sym"], t["sidestr"]], aday, [asym, aside])
            v2 = np.where(at >= 0, ap[np.maximum(at, 0)], np.nan)
        arrival = np.where(found1, v1, v2)
    with np.errstate(invalid="ignore"):
        return np.where(np.isfinite(arrival) & (arrival > 0), arrival, np.nan)


def _trade_costs(t: dict[str, Any]) -> None:
    """Per trade ($, :mod:`xlexec.core.costs` signs): notional, planned notional, slippage $ and
    bps, unfilled shares, opportunity, delay and execution $, over-fill, total."""
    side, filled, p, q, avg, has_fill = t["side"], t["filled"], t["p"], t["q"], t["avg"], t["has_fill"]
    t["notional"] = notional = benchmark_notional(filled, p)
    t["planned"] = q * p
    with np.errstate(invalid="ignore", divide="ignore"):
        t["slip"] = slip = np.where(has_fill, cost_usd(side, filled, np.where(has_fill, avg, 0.0), p), 0.0)
        t["slip_bps"] = np.where(has_fill, bps_of(slip, np.where(has_fill, notional, 1.0)), np.nan)
        t["unfilled"] = unfilled = np.maximum(q - filled, 0.0)
        t["has_unf"] = has_unf = unfilled > 0
        t["opp"] = np.where(has_unf, cost_usd(side, unfilled, t["close"], p), 0.0)
        t["delay"] = np.where(has_fill, cost_usd(side, filled, t["arrival"], p), 0.0)
        t["execution"] = np.where(has_fill, cost_usd(side, filled, np.where(has_fill, avg, 0.0), t["arrival"]), 0.0)
    t["over"] = filled > q + 1e-9
    t["total"] = t["comm"] + slip


def _trade_columns(t: dict[str, Any]) -> dict[str, np.ndarray]:
    """The by-trade table's columns (:data:`BY_TRADE_COLUMNS`) as arrays."""
    return {
        "row": t["orders"].index.to_numpy(),
        "symbol": t["sym"],
        "side": t["sidestr"],
        "planned_shares": t["q"],
        "filled_shares": t["filled"],
        "unfilled_shares": t["unfilled"],
        "n_fills": t["nfills"],
        "signal_price": t["p"],
        "avg_fill_price": t["avg"],
        "arrival_price": t["arrival"],
        "close": t["close"],
        "planned_notional": t["planned"],
        "notional": t["notional"],
        "commission_est": t["c_est"],
        "slippage_est": t["s_est"],
        "commission": t["comm"],
        "slippage_usd": t["slip"],
        "slippage_bps": t["slip_bps"],
        "opportunity_usd": t["opp"],
        "delay_usd": t["delay"],
        "execution_usd": t["execution"],
        "total_usd": t["total"],
        "matched_by": np.where(t["via_coid"], "client_order_id", np.where(t["has_fill"], "symbol+side", "")).astype(
            object
        ),
        "client_order_id": t["coids"],
    }


def _by_symbol(t: dict[str, Any], nd: int) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Per day and symbol (commission + slippage; opportunity shown apart), most costly first;
    the columns and each day's bounds."""
    scode, suniq = pd.factorize(t["sym"], sort=True)  # code order = text order
    ns = max(len(suniq), 1)
    gkey, ginv = np.unique(t["oday"] * ns + scode, return_inverse=True)
    ginv = ginv.ravel()
    g = len(gkey)

    def gsum(w):
        return _wsum(ginv, w, g)

    g_comm, g_slip, g_notional = gsum(t["comm"]), gsum(t["slip"]), gsum(t["notional"])
    g_usd = g_comm + g_slip
    with np.errstate(invalid="ignore", divide="ignore"):
        g_pct = np.where(g_notional > 0, g_usd / np.where(g_notional > 0, g_notional, 1.0), np.nan)
    gday = gkey // ns
    order = np.lexsort((gkey % ns, -np.round(g_usd, 2), gday))
    sym_cols = {
        "symbol": np.asarray(suniq, dtype=object)[gkey % ns][order],
        "planned_notional": gsum(t["planned"])[order],
        "notional": g_notional[order],
        "commission": g_comm[order],
        "slippage_usd": g_slip[order],
        "opportunity_usd": gsum(t["opp"])[order],
        "usd": g_usd[order],
        "pct_trade": g_pct[order],
    }
    return sym_cols, np.concatenate([[0], np.cumsum(np.bincount(gday, minlength=nd))])


def _day_sums(t: dict[str, Any], nd: int) -> dict[str, np.ndarray]:
    """Per-day sums ($) and counts of the trades' figures, and the masks the notes need."""
    oday, has_fill, slip, has_unf = t["oday"], t["has_fill"], t["slip"], t["has_unf"]

    def dsum(w, mask=None):
        return _wsum(oday, w, nd) if mask is None else _wsum(oday[mask], w[mask], nd)

    def dcount(mask):
        return np.bincount(oday[mask], minlength=nd)

    fav = has_fill & (slip <= -_NEUTRAL_USD)
    unfav = has_fill & (slip >= _NEUTRAL_USD)
    t["missing_close"] = missing_close = has_unf & ~np.isfinite(t["close"])
    t["missing_arr"] = missing_arr = has_fill & ~np.isfinite(t["arrival"])
    known = has_fill & ~missing_arr
    return {
        "cest": dsum(t["c_est"]),
        "sest": dsum(t["s_est"]),
        "comm": dsum(t["comm"]),
        "slip": dsum(slip),
        "notional": dsum(t["notional"]),
        "planned": dsum(t["planned"]),
        "fav_n": dcount(fav),
        "fav_usd": -dsum(slip, fav),
        "unfav_n": dcount(unfav),
        "unfav_usd": dsum(slip, unfav),
        "unf": dcount(has_unf),
        "filled": dcount(has_fill),
        "full": dcount(has_fill & ~has_unf),  # core.execution_counts: filled reaches planned
        "part": dcount(has_fill & has_unf),
        "opp": dsum(t["opp"], ~missing_close),
        "delay": dsum(t["delay"], known),
        "exec": dsum(t["execution"], known),
        "mclose": dcount(missing_close),
        "marr": dcount(missing_arr),
        "over": dcount(t["over"]),
        "known": dcount(known),
        "slip_marr": dsum(slip, missing_arr),
        "bps_sum": dsum(np.where(has_fill, t["slip_bps"], 0.0)),
    }


def _unplanned_note(big: pd.DataFrame, rows: np.ndarray, n_excl: int) -> tuple[pd.DataFrame | None, list[str]]:
    """The day's first notes: operator exclusions and the fills that match no planned trade
    (those rows, or None when there are none: the empty frame is made when asked for)."""
    notes: list[str] = []
    if n_excl:
        notes.append(f"{n_excl} trade{_s(n_excl)} excluded by the operator: not planned, not in TCA")
    if not len(rows):
        return None, notes
    groups, um_comm = _unplanned_orders(big, rows)
    desc = ", ".join(f"{s} {sd} {sh_:g}" for s, sd, sh_ in groups[:10])
    more = "" if len(groups) <= 10 else f" and {len(groups) - 10} more"
    notes.append(
        f"{len(rows)} fill(s) match no planned trade ({desc}{more}; "
        f"commission {_usd(um_comm)}, counted in the commission): no signal price, left out of "
        "the slippage figures, see reconcile breaks"
    )
    return big.iloc[rows], notes  # just these rows (the batch's fills are not kept alive)


def _day_result(
    t: dict[str, Any],
    d: dict[str, np.ndarray],
    i: int,
    date,
    pv,
    notes: list[str],
    batch: _Batch,
    unplanned,
    um_comm: float = 0.0,
) -> TcaResult:
    """Day ``i``'s :class:`TcaResult` (notes: over-fills, unknown closes / arrivals / value)."""
    _add_day_notes(t, d, i, pv, notes)
    opp_usd = float("nan") if d["mclose"][i] else float(d["opp"][i])
    if d["marr"][i]:
        d_usd = e_usd = float("nan")
    else:
        d_usd, e_usd = float(d["delay"][i]), float(d["exec"][i])
    slip_usd = float(d["slip"][i])
    comm_actual = float(d["comm"][i]) + um_comm  # every fill's commission (costs.commission_paid)
    n_filled = int(d["filled"][i])
    tot_notional, planned_notional = float(d["notional"][i]), float(d["planned"][i])
    return TcaResult(
        date=date,
        portfolio_value=pv,
        commission_estimated=float(d["cest"][i]),
        commission_actual=comm_actual,
        slippage_estimated_usd=float(d["sest"][i]),
        slippage_estimated_bps=_bps_of(float(d["sest"][i]), planned_notional),
        slippage_actual_usd=slip_usd,
        slippage_actual_bps=_bps_of(slip_usd, tot_notional),
        favorable_count=int(d["fav_n"][i]),
        favorable_usd=float(d["fav_usd"][i]),
        unfavorable_count=int(d["unfav_n"][i]),
        unfavorable_usd=float(d["unfav_usd"][i]),
        unfilled_orders=int(d["unf"][i]),
        opportunity_usd=opp_usd,
        total_usd=comm_actual + slip_usd,
        notional=tot_notional,
        planned_notional=planned_notional,
        delay_usd=d_usd,
        execution_usd=e_usd,
        shortfall_total=slip_usd + opp_usd + comm_actual,
        trades_planned=int(t["n_by_day"][i]),
        trades_filled=int(d["filled"][i]),
        counts=ExecutionCounts(
            int(t["n_by_day"][i]),
            int(d["full"][i]),
            int(d["part"][i]),
            int(t["n_by_day"][i]) - int(d["filled"][i]),
        ),
        notes=notes,
        slippage_mean_bps=float(d["bps_sum"][i]) / n_filled if n_filled else float("nan"),
        commission_unplanned=um_comm,
        _batch=batch,
        _day=i,
        _unplanned_fills=unplanned,
    )


def _add_day_notes(t: dict[str, Any], d: dict[str, np.ndarray], i: int, pv, notes: list[str]) -> None:
    """Append day ``i``'s notes to ``notes``, in this order: over-filled trades, closes unknown
    (no opportunity cost $), arrival prices unknown (no delay/execution split $), portfolio
    value unknown."""
    a, b = t["tb"][i], t["tb"][i + 1]
    sym, mc, ma = t["sym"], t["missing_close"], t["missing_arr"]
    if d["over"][i]:
        o = np.flatnonzero(t["over"][a:b]) + a
        notes.append(
            "over-filled (more shares than planned; no opportunity cost): "
            + ", ".join(
                f"{s} {sd} {f:g}/{qq:g}" for s, sd, f, qq in zip(sym[o], t["sidestr"][o], t["filled"][o], t["q"][o])
            )
        )
    if d["mclose"][i]:
        notes.append(
            "close unknown for "
            + ", ".join(sym[a:b][mc[a:b]])
            + ": opportunity cost of their unfilled shares not computed (add closes.csv)"
        )
    if d["marr"][i]:
        notes.append(
            "arrival price unknown for "
            + ", ".join(sym[a:b][ma[a:b]])
            + ": delay/execution split not available"
            + (
                f" (over the {int(d['known'][i])} trade(s) with an arrival price: delay "
                f"{_usd(float(d['delay'][i]))}, execution {_usd(float(d['exec'][i]))}; "
                f"{_usd(float(d['slip_marr'][i]))} of slippage not split)"
                if d["known"][i]
                else ""
            )
        )
    if pv is None:
        notes.append(
            "portfolio value unknown (no '# Portfolio Value' in trades.csv): cost as % of portfolio not available"
        )
