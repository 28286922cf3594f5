"""Daily transaction cost analysis (pure core): the guide's five sections plus Perold's shortfall.

Inputs are the day's plan (:class:`~xlexec.trades.Trades`), its fills (the canonical frame of
:mod:`xlexec.fills`), optionally closing prices (``symbol, close``), arrival prices (the quote
mid recorded when each order was submitted, see :func:`arrivals_from_journal`) and the
portfolio value ($). No files, no clock, no network.

Matching
    Only the *included* trades are planned (the orders of
    :func:`xlexec.orders.orders_from_trades`). A fill belongs to a planned trade by client
    order id, else by symbol+side; partial fills of a trade add up to one executed quantity
    (shares) at the share-weighted average price ($/share); commissions add up. Fills that match
    nothing are left out of the figures and named in the notes (reconcile reports them as breaks).

Units and sign convention (positive is a cost, for buys and sells alike)
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

Fractions (``pct_*``, ``variance_pct``) are fractions (0.0037 = 0.37%); money in $ rounded to
cents, bps rounded to 0.01 in :meth:`TcaResult.to_json`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .fills import aggregate_fills, empty_fills
from .orders import orders_from_trades
from .trades import Trades

ARRIVAL_COLUMNS = ["client_order_id", "symbol", "side", "arrival_price", "signal_price",
                   "limit_price", "submitted_at", "broker"]
BY_TRADE_COLUMNS = ["row", "symbol", "side", "planned_shares", "filled_shares", "unfilled_shares",
                    "n_fills", "signal_price", "avg_fill_price", "arrival_price", "close",
                    "planned_notional", "notional", "commission_est", "slippage_est", "commission",
                    "slippage_usd", "slippage_bps", "opportunity_usd", "delay_usd", "execution_usd",
                    "total_usd", "matched_by", "client_order_id"]
BY_SYMBOL_COLUMNS = ["symbol", "planned_notional", "notional", "commission", "slippage_usd",
                     "opportunity_usd", "usd", "pct_trade"]
_NEUTRAL_USD = 0.005  # |slippage| below half a cent: neither favorable nor unfavorable

CONVENTION = ("Sign convention: cost bps = side x (fill - benchmark) / benchmark x 10,000, "
              "side = +1 buy, -1 sell; positive is a cost, negative a saving, for buys and sells "
              "alike. Aggregate bps are notional-weighted (sum of cost $ / sum of notional x 10^4).")


def _money(x) -> float | None:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return None
    return round(float(x), 2) + 0.0


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


@dataclass
class TcaResult:
    """The day's TCA. Figures in $ (money), bps, shares and fractions (see module doc)."""

    date: str | None
    by_trade: pd.DataFrame
    by_symbol: pd.DataFrame
    unplanned: pd.DataFrame
    portfolio_value: float | None
    commission_estimated: float
    commission_actual: float
    slippage_estimated_usd: float
    slippage_estimated_bps: float
    slippage_actual_usd: float
    slippage_actual_bps: float
    favorable_count: int
    favorable_usd: float      # $ saved (> 0) by trades filled better than the signal price
    unfavorable_count: int
    unfavorable_usd: float    # $ lost (> 0) by trades filled worse than the signal price
    unfilled_orders: int      # orders with any unfilled quantity (none or partly filled)
    opportunity_usd: float    # NaN when a close is missing for unfilled shares
    total_usd: float          # commission + slippage ($), the guide's "total transaction costs"
    notional: float           # filled shares x signal price ($)
    planned_notional: float   # planned shares x signal price ($)
    delay_usd: float          # NaN unless every filled trade has an arrival price
    execution_usd: float
    shortfall_total: float    # slippage + opportunity + fees
    trades_planned: int
    trades_filled: int
    notes: list[str] = field(default_factory=list)

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
            "by_symbol": [{"symbol": str(s), "usd": _money(u), "pct_trade": _frac(p)}
                          for s, u, p in zip(self.by_symbol["symbol"], self.by_symbol["usd"],
                                             self.by_symbol["pct_trade"])],
            "shortfall": {
                "delay": _money(self.delay_usd),
                "execution": _money(self.execution_usd),
                "opportunity": _money(self.opportunity_usd),
                "fees": _money(self.commission_actual),
                "total": _money(self.shortfall_total),
            },
        }

    def record(self) -> dict[str, Any]:
        """Day-level figures the monthly report needs (written next to the stable keys in
        ``tca.json``): date, notional ($ filled at signal), trades planned/filled, portfolio
        value ($), notes."""
        return {
            "date": self.date,
            "notional": _money(self.notional),
            "planned_notional": _money(self.planned_notional),
            "trades_planned": int(self.trades_planned),
            "trades_filled": int(self.trades_filled),
            "portfolio_value": _money(self.portfolio_value) if self.portfolio_value is not None else None,
            "notes": list(self.notes),
        }

    def report_text(self) -> str:
        """The guide's "Transaction Cost Analysis" report (five sections + shortfall + notes)."""
        title = f"Transaction Cost Analysis - {self.date or 'undated'}"
        L = [title, "=" * max(40, len(title)), CONVENTION, ""]
        L += ["1. Commission Costs:",
              f"   Estimated: {_usd(self.commission_estimated)}",
              f"   Actual:    {_usd(self.commission_actual)}",
              f"   Variance:  {_usd(self.commission_variance, sign=True)} "
              f"({_pct(self.commission_variance_pct, sign=True)})", ""]
        slip_var = self.slippage_actual_usd - self.slippage_estimated_usd
        L += ["2. Slippage Costs (vs signal price):",
              f"   Estimated:    {_usd(self.slippage_estimated_usd)} ({_fbps(self.slippage_estimated_bps)})",
              f"   Actual:       {_usd(self.slippage_actual_usd)} ({_fbps(self.slippage_actual_bps)})",
              f"   Variance:     {_usd(slip_var, sign=True)} "
              f"({_pct(_div(slip_var, self.slippage_estimated_usd), sign=True)})",
              "   Breakdown:",
              f"     - Favorable:   {self.favorable_count} trade{_s(self.favorable_count)}, "
              f"saved {_usd(self.favorable_usd)}",
              f"     - Unfavorable: {self.unfavorable_count} trade{_s(self.unfavorable_count)}, "
              f"cost {_usd(self.unfavorable_usd)}", ""]
        bt = self.by_trade
        none = bt.loc[(bt["filled_shares"] <= 0), "symbol"].tolist()
        part = bt.loc[(bt["filled_shares"] > 0) & (bt["unfilled_shares"] > 0), "symbol"].tolist()
        unf = [f"{len(none)} order{_s(len(none))}" + (f" ({', '.join(none)})" if none else "")]
        if part:
            unf.append(f"partly filled: {len(part)} ({', '.join(part)})")
        L += ["3. Opportunity Costs (side x unfilled shares x (close - signal)):",
              f"   Unfilled: {'; '.join(unf)}",
              f"   Missed PnL: {_usd(self.opportunity_usd)}"
              + ("" if not math.isfinite(self.opportunity_usd) else
                 " (stock moved away)" if self.opportunity_usd > 0 else
                 " (stock moved our way)" if self.opportunity_usd < 0 else ""), ""]
        L += ["4. Total Costs (commission + slippage):",
              f"   Total Transaction Costs: {_usd(self.total_usd)}",
              f"   As % of Notional: {_pct(self.pct_notional)}",
              f"   As % of Portfolio: {_pct(self.pct_portfolio)}", ""]
        L += ["5. Cost Attribution by Symbol (commission + slippage):"]
        w, b = self.worst, self.best
        if w is not None:
            L.append(f"   Worst: {w['symbol']} ({_usd(w['usd'])}, {_pct(w['pct_trade'])} of trade)")
            L.append(f"   Best: {b['symbol']} ({_usd(b['usd'])}, {_pct(b['pct_trade'])} of trade)")
        else:
            L.append("   (nothing filled)")
        for s, u, p in zip(self.by_symbol["symbol"], self.by_symbol["usd"], self.by_symbol["pct_trade"]):
            L.append(f"     {s:<10} {_usd(u):>14} {_pct(p):>9}")
        L += ["",
              "Implementation Shortfall (Perold, vs signal price):",
              f"   Delay (signal -> arrival):   {_usd(self.delay_usd)}",
              f"   Execution (arrival -> fill): {_usd(self.execution_usd)}",
              f"   Opportunity (unfilled):      {_usd(self.opportunity_usd)}",
              f"   Fees (commission):           {_usd(self.commission_actual)}",
              f"   Total shortfall:             {_usd(self.shortfall_total)}"]
        if self.notes:
            L += ["", "Notes:"] + [f"   - {n}" for n in self.notes]
        return "\n".join(L) + "\n"


def _s(n: int) -> str:
    return "" if n == 1 else "s"


def _usd(x, sign: bool = False) -> str:
    if x is None or not math.isfinite(float(x)):
        return "n/a"
    x = round(float(x), 2) + 0.0
    s = f"${abs(x):,.2f}"
    if x < 0:
        return "-" + s
    return ("+" + s) if sign else s


def _pct(x, sign: bool = False) -> str:
    if x is None or not math.isfinite(float(x)):
        return "n/a"
    v = float(x) * 100
    d = 3 if abs(v) < 1 else 2  # small fractions keep a significant digit
    return f"{v:+.{d}f}%" if sign else f"{v:.{d}f}%"


def _fbps(x) -> str:
    if x is None or not math.isfinite(float(x)):
        return "n/a bps"
    return f"{float(x):.2f} bps"


def empty_arrivals() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=float if c in ("arrival_price", "signal_price", "limit_price")
                                      else object) for c in ARRIVAL_COLUMNS})


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
    out["symbol"] = out["symbol"].astype(str).str.upper().str.strip()
    out["side"] = out["side"].astype(str).str.lower().str.strip()
    for c, src in (("arrival_price", "arrival_price"), ("signal_price", "price"), ("limit_price", "limit_price")):
        v = pd.to_numeric(df[src], errors="coerce").astype(float) if src in df.columns else np.nan
        out[c] = v
    ap = out["arrival_price"]
    out["arrival_price"] = ap.where(np.isfinite(ap) & (ap > 0))
    return out[ARRIVAL_COLUMNS]


def arrivals_from_journal(journal, day: str) -> pd.DataFrame:
    """Arrival prices of ``day`` from the journal's ``order_intent`` events (one per order:
    ``client_order_id, symbol, side, qty, order_type, limit_price, price, arrival_price,
    submitted_at``); see :func:`arrivals_from_payloads` for the columns."""
    from .journal import INTENT
    return arrivals_from_payloads(journal.payloads(INTENT, day))


def _positions(keys: pd.Series, values: pd.Series) -> np.ndarray:
    """Position in ``values`` of each of ``keys`` (first occurrence), -1 when absent."""
    vals = pd.Index(values.astype(str).to_numpy())
    if len(vals) == 0:
        return np.full(len(keys), -1, dtype=np.int64)
    first = ~vals.duplicated(keep="first")
    uniq = vals[first]
    where = np.flatnonzero(first)
    pos = uniq.get_indexer(pd.Index(keys.astype(str).to_numpy()))
    return np.where(pos >= 0, where[np.maximum(pos, 0)], -1)


def _lookup(keys: pd.Series, table: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(found mask, values) of ``keys`` in ``table`` (first occurrence of each key wins)."""
    if table.empty:
        return np.zeros(len(keys), bool), np.full(len(keys), np.nan)
    t = table[~table.index.duplicated(keep="first")]
    pos = t.index.get_indexer(pd.Index(keys.astype(str)))
    found = pos >= 0
    vals = np.where(found, t.to_numpy(dtype=float, na_value=np.nan)[np.where(found, pos, 0)], np.nan)
    return found, vals


def daily_tca(trades: Trades, fills: pd.DataFrame, *, closes: pd.DataFrame | None = None,
              arrivals: pd.DataFrame | None = None, portfolio_value: float | None = None,
              default_order_type: str = "limit", date: str | None = None) -> TcaResult:
    """The day's TCA of ``trades`` (the plan) against ``fills`` (canonical frame).

    ``closes``: ``symbol, close`` ($) for opportunity cost; ``arrivals``: ``client_order_id``
    and/or ``symbol, side`` -> ``arrival_price`` ($; NaN = unknown) for the delay/execution
    split; ``portfolio_value`` ($) for cost as % of portfolio; ``default_order_type`` and
    ``date`` as given to :func:`orders_from_trades` when the orders were sent (they fix the
    client order ids). See the module docstring for units, signs and matching.
    """
    notes: list[str] = []
    day = date or trades.date
    orders = orders_from_trades(trades, default_order_type=default_order_type, date=day)
    n_excl = len(trades.df) - len(orders)
    if n_excl:
        notes.append(f"{n_excl} trade{_s(n_excl)} excluded by the operator: not planned, not in TCA")
    tdf = trades.df.loc[orders.index]
    n = len(orders)
    sym = orders["symbol"].astype(str)
    sidestr = orders["side"].astype(str)
    side = np.where(sidestr.to_numpy() == "buy", 1.0, -1.0)
    q = orders["qty"].to_numpy(dtype=float)
    p = orders["price"].to_numpy(dtype=float)
    coids = orders["client_order_id"].astype(str)
    sskey = sym + "|" + sidestr

    # ---- fills -> planned trade (client order id, then symbol+side) -----------------------
    if fills is None:
        fills = empty_fills()
    if len(fills):
        fc = fills["client_order_id"] if "client_order_id" in fills.columns else pd.Series("", index=fills.index)
        fcoid = fc.astype(object).where(fc.notna(), "").astype(str).str.strip()
        by_coid = _positions(fcoid, coids)
        by_ss = _positions(fills["symbol"].astype(str) + "|" + fills["side"].astype(str), sskey)
        pos = np.where(by_coid >= 0, by_coid, by_ss)
        via_coid = np.bincount(by_coid[by_coid >= 0], minlength=n) > 0
    else:
        pos = np.zeros(0, dtype=np.int64)
        via_coid = np.zeros(n, bool)
    matched = pos >= 0
    idx = pos[matched]
    sh = fills["shares"].to_numpy(dtype=float)[matched]
    px = fills["price"].to_numpy(dtype=float)[matched]
    cm = fills["commission"].to_numpy(dtype=float)[matched]
    filled = np.bincount(idx, weights=sh, minlength=n)
    pxsh = np.bincount(idx, weights=sh * px, minlength=n)
    comm = np.bincount(idx, weights=cm, minlength=n)
    nfills = np.bincount(idx, minlength=n)
    has_fill = filled > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        avg = np.where(has_fill, pxsh / np.where(has_fill, filled, 1.0), np.nan)

    unplanned = aggregate_fills(fills[~matched]) if (~matched).any() else aggregate_fills(fills.iloc[0:0])
    if len(unplanned):
        desc = ", ".join(f"{s} {sd} {sh_:g}" for s, sd, sh_ in
                         zip(unplanned["symbol"][:10], unplanned["side"][:10], unplanned["shares"][:10]))
        more = "" if len(unplanned) <= 10 else f" and {len(unplanned) - 10} more"
        notes.append(f"{int((~matched).sum())} fill(s) match no planned trade ({desc}{more}; "
                     f"commission {_usd(float(unplanned['commission'].sum()))}): left out of TCA, "
                     "see reconcile breaks")

    # ---- closes and arrivals --------------------------------------------------------------
    if closes is not None and len(closes):
        cser = pd.Series(closes["close"].to_numpy(dtype=float), index=closes["symbol"].astype(str).str.upper())
        _, close = _lookup(sym, cser)
    else:
        close = np.full(n, np.nan)
    arrival = np.full(n, np.nan)
    if arrivals is not None and len(arrivals):
        a = arrivals
        ap = pd.to_numeric(a["arrival_price"], errors="coerce").astype(float)
        if "client_order_id" in a.columns:
            ac = a["client_order_id"].astype(object).where(a["client_order_id"].notna(), "").astype(str)
            ser = pd.Series(ap.to_numpy(), index=ac.to_numpy())
            ser = ser[ser.index != ""]
            f1, v1 = _lookup(coids, ser)
        else:
            f1, v1 = np.zeros(n, bool), np.full(n, np.nan)
        if "symbol" in a.columns and "side" in a.columns:
            ak = a["symbol"].astype(str).str.upper() + "|" + a["side"].astype(str).str.lower()
            _, v2 = _lookup(sskey, pd.Series(ap.to_numpy(), index=ak.to_numpy()))
        else:
            v2 = np.full(n, np.nan)
        arrival = np.where(f1, v1, v2)
    arrival = np.where(np.isfinite(arrival) & (arrival > 0), arrival, np.nan)

    # ---- per trade ------------------------------------------------------------------------
    notional = filled * p
    slip = np.where(has_fill, side * filled * (np.where(has_fill, avg, 0.0) - p), 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        slip_bps = np.where(has_fill, slip / np.where(has_fill, notional, 1.0) * 1e4, np.nan)
    unfilled = np.maximum(q - filled, 0.0)
    has_unf = unfilled > 0
    opp = np.where(has_unf, side * unfilled * (close - p), 0.0)
    delay = np.where(has_fill, side * filled * (arrival - p), 0.0)
    execution = np.where(has_fill, side * filled * (np.where(has_fill, avg, 0.0) - arrival), 0.0)
    over = filled > q + 1e-9
    if over.any():
        notes.append("over-filled (more shares than planned; no opportunity cost): "
                     + ", ".join(f"{s} {sd} {f:g}/{qq:g}" for s, sd, f, qq in
                                 zip(sym[over], sidestr[over], filled[over], q[over])))

    c_est = tdf["commission_est"].to_numpy(dtype=float)
    s_est = tdf["slippage_est"].to_numpy(dtype=float)
    by_trade = pd.DataFrame({
        "row": orders.index.to_numpy(), "symbol": sym.to_numpy(), "side": sidestr.to_numpy(),
        "planned_shares": q, "filled_shares": filled, "unfilled_shares": unfilled, "n_fills": nfills,
        "signal_price": p, "avg_fill_price": avg, "arrival_price": arrival, "close": close,
        "planned_notional": q * p, "notional": notional, "commission_est": c_est, "slippage_est": s_est,
        "commission": comm, "slippage_usd": slip, "slippage_bps": slip_bps, "opportunity_usd": opp,
        "delay_usd": delay, "execution_usd": execution, "total_usd": comm + slip,
        "matched_by": np.where(via_coid, "client_order_id", np.where(has_fill, "symbol+side", "")),
        "client_order_id": coids.to_numpy(),
    })

    # ---- by symbol (commission + slippage; opportunity shown apart) ------------------------
    g = by_trade.groupby("symbol", sort=False)
    by_symbol = pd.DataFrame({
        "planned_notional": g["planned_notional"].sum(), "notional": g["notional"].sum(),
        "commission": g["commission"].sum(), "slippage_usd": g["slippage_usd"].sum(),
        "opportunity_usd": g["opportunity_usd"].sum(skipna=False),
    })
    by_symbol["usd"] = by_symbol["commission"] + by_symbol["slippage_usd"]
    nz = by_symbol["notional"] > 0
    by_symbol["pct_trade"] = (by_symbol["usd"] / by_symbol["notional"].where(nz)).where(nz)
    by_symbol = by_symbol.reset_index()
    by_symbol = by_symbol.assign(_r=by_symbol["usd"].round(2)).sort_values(
        ["_r", "symbol"], ascending=[False, True], kind="stable").drop(columns="_r").reset_index(drop=True)
    by_symbol = by_symbol[BY_SYMBOL_COLUMNS]

    # ---- aggregates ---------------------------------------------------------------------
    fav = has_fill & (slip <= -_NEUTRAL_USD)
    unfav = has_fill & (slip >= _NEUTRAL_USD)
    tot_notional = float(notional.sum())
    planned_notional = float((q * p).sum())
    slip_usd = float(slip.sum())
    comm_actual = float(comm.sum())
    missing_close = has_unf & ~np.isfinite(close)
    if missing_close.any():
        opp_usd = float("nan")
        notes.append("close unknown for " + ", ".join(sym[missing_close]) +
                     ": opportunity cost of their unfilled shares not computed (add closes.csv)")
    else:
        opp_usd = float(opp.sum())
    missing_arr = has_fill & ~np.isfinite(arrival)
    if missing_arr.any():
        d_usd = e_usd = float("nan")
        known = has_fill & ~missing_arr
        notes.append("arrival price unknown for " + ", ".join(sym[missing_arr]) +
                     ": delay/execution split not available"
                     + (f" (over the {int(known.sum())} trade(s) with an arrival price: delay "
                        f"{_usd(float(delay[known].sum()))}, execution {_usd(float(execution[known].sum()))}; "
                        f"{_usd(float(slip[missing_arr].sum()))} of slippage not split)" if known.any() else ""))
    else:
        d_usd = float(delay.sum())
        e_usd = float(execution.sum())
    if portfolio_value is None:
        notes.append("portfolio value unknown (no '# Portfolio Value' in trades.csv): cost as % of portfolio not available")
    return TcaResult(
        date=day, by_trade=by_trade, by_symbol=by_symbol, unplanned=unplanned,
        portfolio_value=portfolio_value,
        commission_estimated=float(c_est.sum()), commission_actual=comm_actual,
        slippage_estimated_usd=float(s_est.sum()),
        slippage_estimated_bps=_div(float(s_est.sum()), planned_notional) * 1e4,
        slippage_actual_usd=slip_usd, slippage_actual_bps=_div(slip_usd, tot_notional) * 1e4,
        favorable_count=int(fav.sum()), favorable_usd=float(-slip[fav].sum()),
        unfavorable_count=int(unfav.sum()), unfavorable_usd=float(slip[unfav].sum()),
        unfilled_orders=int(has_unf.sum()), opportunity_usd=opp_usd,
        total_usd=comm_actual + slip_usd, notional=tot_notional, planned_notional=planned_notional,
        delay_usd=d_usd, execution_usd=e_usd, shortfall_total=slip_usd + opp_usd + comm_actual,
        trades_planned=n, trades_filled=int(has_fill.sum()), notes=notes,
    )
