"""Reconciliation (pure core): the orders sent vs broker fills, positions and cash after the day.

The orders reconciled against are the ones actually sent: the journal's ``order_intent``
payloads (:func:`sent_orders`; a chase replacement counts for the order it replaced), plus the
planned orders of any symbol+side nothing was sent for (reported as not submitted). When nothing
was sent (e.g. executed by file upload) they are the plan: ``planned`` (the day's slicing plan)
or ``xlexec.core.orders.orders_from_trades(trades)``. Each fill is matched to an order by
:func:`xlexec.core.matching.match_fills`: client order id; broker order id (via the journal's
order snapshots ``order_states``: client_order_id -> {id, status, reason}); symbol + side. A
match must agree on symbol and side. Fills matching nothing are ``unplanned_fill`` breaks
(still applied to positions: they happened).

Per planned order (units): ``planned`` / ``executed`` (shares), ``avg_price`` ($/share,
share-weighted over its fills), ``commission`` ($, summed), ``slippage_bps`` =
``side x (avg_price - signal price) / signal price x 10,000`` with side +1 buy, -1 sell:
**positive = cost** for buys and sells alike (:mod:`xlexec.core.costs`). Status: ``filled``, ``partial``,
``not_executed``, ``over_fill`` (executed > planned: a break), ``unplanned``.

Figures (each defined once in :mod:`xlexec.core.costs`, the same as TCA's; benchmark: the
signal price): ``slippage_usd`` = sum of the planned orders' slippage $; ``slippage_bps_avg`` =
``slippage_usd / sum(executed x signal price) x 10^4`` (benchmark-notional-weighted, the figure
TCA calls ``slippage.actual_bps``); ``slippage_bps_mean`` = plain mean of the orders' bps;
worst = the highest bps. Unplanned fills have no signal price: no slippage, their commission
is counted (and shown apart as ``commission_unplanned``). Commission estimated = sum of
``commission_est`` of the planned trades (a slice child, today's or carried from an earlier
day: child shares / parent shares x its parent's estimate); actual = what every fill paid (a rebate is
negative); variance = actual - estimated ($, and % of estimated). JSON figures are rounded
half-up to cents / 0.01 bps; ``exact`` holds the unrounded ones.

Cash: ``cash_after = cash_before - sum(buy notional) + sum(sell notional) - sum(commission)``
($, notional = shares x fill price, over every fill of the day, planned or not), summed exactly
(Decimal) from each fill's exact notional and commission, then carried as a float once.
``portfolio_value_after`` = the exact sum of the positions' unrounded values (shares x price) +
the cash after; both are shown rounded half-up to the cent, ``exact`` holds them unrounded.

Positions after = current positions, splits of the day applied
(:mod:`xlexec.core.corporate_actions`: shares x ratio, total cost unchanged), then every fill
applied (see :mod:`xlexec.core.positions`). When broker positions are given, any symbol
whose shares differ is a ``position_mismatch`` break (with its likely cause).

Fills dated another day than ``day`` are left out (counted in ``fills_other_days``); fills
with no date are taken as the day's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from xlexec.core.corporate_actions import apply_splits, cents, exact, split_notes
from xlexec.core.costs import aggregate_slippage, commission_paid, figure_definitions, half_up, side_sign
from xlexec.core.costs import slippage_bps as _slippage_bps
from xlexec.core.exact_sums import column_sum, product_sums
from xlexec.core.execution_counts import ExecutionCounts
from xlexec.core.matching import match_fills
from xlexec.core.money import usd
from xlexec.core.orders import orders_from_trades, without_account
from xlexec.core.positions import EPS, apply_fills, compare_positions, portfolio_value, value_positions
from xlexec.core.quotes import mid_map
from xlexec.core.statuses import OPEN_STATUSES
from xlexec.core.symbols import canonical_column, canonical_symbol
from xlexec.core.trades import Trades

PER_TRADE_COLUMNS = [
    "symbol",
    "side",
    "planned",
    "executed",
    "avg_price",
    "slippage_bps",
    "commission",
    "status",
    "reason",
    "signal_price",
    "commission_est",
    "client_order_id",
    "n_fills",
    "slippage_est",
]


def _money(x: float | None) -> float | None:
    """$ shown to the cent, half-up (:func:`xlexec.core.costs.half_up`); None for unknown."""
    return half_up(x, 2)


def _bps(x: float | None) -> float | None:
    """bps shown to 0.01, half-up; None for unknown."""
    return half_up(x, 2)


def _qty(x) -> int | float:
    x = float(x)
    return int(round(x)) if abs(x - round(x)) < EPS else x


@dataclass
class ReconResult:
    """Everything the reconciliation found for one day (money $, quantities shares, bps)."""

    day: str
    trades_recommended: int
    trades_executed: int
    not_executed: list[dict]
    partial: list[dict]
    breaks: list[dict]
    slippage_bps_avg: float | None
    slippage_bps_worst: dict | None
    commission_estimated: float
    commission_actual: float
    commission_variance: float
    commission_variance_pct: float | None
    cash_before: float | None
    cash_after: float | None
    notional_traded: float
    buy_notional: float
    sell_notional: float
    slippage_usd: float
    portfolio_value_after: float
    per_trade: pd.DataFrame
    positions_after: pd.DataFrame
    discrepancy_lines: list[str]
    positions_checked: bool = False
    splits_applied: list[dict] = field(default_factory=list)
    fills_used: int = 0
    fills_other_days: int = 0
    target_slippage_bps: float | None = None
    slippage_bps_mean: float | None = None  # plain mean of the orders' bps (each order once)
    slippage_notional: float = 0.0  # sum of executed shares x signal price ($): the bps' denominator
    commission_unplanned: float = 0.0  # $ paid on fills that match no planned order (in commission_actual)
    # the estimates scaled to the filled shares (sum of estimate x executed / planned per order), $
    commission_estimated_filled: float = 0.0
    slippage_estimated: float = 0.0  # sum of slippage_est of the planned orders ($, the whole plan)
    slippage_estimated_filled: float = 0.0
    broker_cash: float | None = None  # the broker's cash after the day ($), when known
    broker_cash_source: str = ""  # where broker_cash came from (the broker's account, a statement)
    positions_unpriced: list[str] = field(default_factory=list)  # held, with no close / quote / fill price

    @property
    def trades_partial(self) -> int:
        """Planned orders with some but not all of their shares filled."""
        return len(self.partial)

    @property
    def trades_not_executed(self) -> int:
        """Planned orders with nothing filled."""
        return len(self.not_executed)

    @property
    def counts(self) -> ExecutionCounts:
        """Fully / partially / not executed of the planned orders (:mod:`xlexec.core.execution_counts`)."""
        return ExecutionCounts(
            self.trades_recommended, self.trades_executed, self.trades_partial, self.trades_not_executed
        )

    def _pct(self, n: int) -> float | None:
        """``n`` as a % of the planned orders, to 0.1 (None with no planned order)."""
        return self.counts.pct(n)

    def counts_text(self) -> str:
        """``Fully executed 6, partially 1 (JPM 5/11), not executed 1 of 8``."""
        shown = ", ".join(f"{d['symbol']} {_qty(d['executed'])}/{_qty(d['planned'])}" for d in self.partial[:10])
        more = f", +{len(self.partial) - 10} more" if len(self.partial) > 10 else ""
        return self.counts.text(shown + more if self.partial else "")

    @property
    def cash_matches(self) -> bool | None:
        """True when the cash after equals the broker's cash within $0.01; None when either is unknown."""
        if self.cash_after is None or self.broker_cash is None:
            return None
        return cash_within_a_cent(self.cash_after, self.broker_cash)

    def estimate_vs_actual(self) -> dict[str, Any]:
        """Estimates vs actuals ($, shown to the cent), on the same quantity (``filled_shares``:
        each order's estimate x executed / planned, vs what its fills cost) and for the whole
        plan (``plan``: every planned share's estimate, vs the same actuals)."""
        comm_act = self.commission_actual - self.commission_unplanned
        out: dict[str, Any] = {}
        for key, label, c_est, s_est in (
            (
                "filled_shares",
                "estimates scaled to the filled shares (estimate x executed / planned, per order) vs the actuals",
                self.commission_estimated_filled,
                self.slippage_estimated_filled,
            ),
            (
                "plan",
                "estimates for the whole plan (every planned share) vs the actuals on the filled shares",
                self.commission_estimated,
                self.slippage_estimated,
            ),
        ):
            out[key] = {
                "label": label,
                "commission_estimated": _money(c_est),
                "commission_actual": _money(comm_act),
                "commission_variance": _money(comm_act - c_est),
                "slippage_estimated_usd": _money(s_est),
                "slippage_actual_usd": _money(self.slippage_usd),
                "slippage_variance_usd": _money(self.slippage_usd - s_est),
            }
        out["commission_actual_rule"] = "commission paid on the planned orders' fills (unplanned fills left out)"
        return out

    @property
    def positions_match(self) -> bool | None:
        if not self.positions_checked:
            return None
        return not any(b["kind"] in ("position_mismatch", "oversell") for b in self.breaks)

    def to_json(self) -> dict[str, Any]:
        """The stable keys (+ a few extra figures). Money rounded to cents, bps to 0.01."""
        return {
            "day": self.day,
            "trades_recommended": self.trades_recommended,
            "trades_executed": self.trades_executed,  # fully executed (all planned shares filled)
            "trades_executed_pct": self._pct(self.trades_executed),
            "trades_partial": self.trades_partial,
            "trades_partial_pct": self._pct(self.trades_partial),
            "trades_not_executed": self.trades_not_executed,
            "trades_not_executed_pct": self._pct(self.trades_not_executed),
            "execution_counts": self.counts_text(),
            "not_executed": self.not_executed,
            "partial": self.partial,
            "breaks": [{k: v for k, v in b.items()} for b in self.breaks],
            "slippage_bps_avg": _bps(self.slippage_bps_avg),
            "slippage_bps_worst": self.slippage_bps_worst,
            "commission_estimated": _money(self.commission_estimated),
            "commission_actual": _money(self.commission_actual),
            "commission_variance": _money(self.commission_variance),
            "commission_variance_pct": (
                round(self.commission_variance_pct * 100, 2) if self.commission_variance_pct is not None else None
            ),
            "positions": [
                {"symbol": s, "shares": _qty(q), "avg_cost": cents(c), "total_cost": cents(t)}
                for s, q, c, t in zip(
                    self.positions_after["symbol"],
                    self.positions_after["shares"],
                    self.positions_after["avg_cost"],
                    self.positions_after["total_cost"],
                    strict=True,
                )
            ],
            "positions_match": self.positions_match,
            "cash_before": _money(self.cash_before),
            "cash_after": _money(self.cash_after),
            "broker_cash": _money(self.broker_cash),
            "broker_cash_source": self.broker_cash_source or None,
            "cash_matches": self.cash_matches,
            "notional_traded": _money(self.notional_traded),
            "slippage_usd": _money(self.slippage_usd),
            "portfolio_value_after": _money(self.portfolio_value_after),
            "splits_applied": self.splits_applied,
            "fills_used": self.fills_used,
            "fills_other_days": self.fills_other_days,
            "slippage_bps_mean": _bps(self.slippage_bps_mean),
            "commission_unplanned": _money(self.commission_unplanned),
            "commission_estimated_filled": _money(self.commission_estimated_filled),
            "slippage_estimated": _money(self.slippage_estimated),
            "slippage_estimated_filled": _money(self.slippage_estimated_filled),
            "estimate_vs_actual": self.estimate_vs_actual(),
            "positions_unpriced": list(self.positions_unpriced),
            "figures": figure_definitions("signal"),
            "exact": self._exact(),
        }

    def _exact(self) -> dict[str, Any]:
        """The JSON's ``exact`` block: the unrounded figures ($, bps; the cash and the portfolio
        value are exact decimal sums, their JSON number the shortest text of that decimal)."""
        keys = (
            "cash_before",
            "cash_after",
            "portfolio_value_after",
            "notional_traded",
            "buy_notional",
            "sell_notional",
            "slippage_usd",
            "slippage_notional",
            "slippage_bps_avg",
            "slippage_bps_mean",
            "commission_actual",
            "commission_unplanned",
            "commission_estimated",
            "commission_estimated_filled",
            "slippage_estimated",
            "slippage_estimated_filled",
        )
        return {k: getattr(self, k) for k in keys}

    def summary(self) -> dict[str, Any]:
        """What the journal's RECON event records."""
        j = self.to_json()
        keep = [
            "day",
            "trades_recommended",
            "trades_executed",
            "trades_partial",
            "trades_not_executed",
            "slippage_bps_avg",
            "commission_estimated",
            "commission_actual",
            "commission_variance",
            "cash_before",
            "cash_after",
            "notional_traded",
            "slippage_usd",
            "portfolio_value_after",
            "positions_match",
            "broker_cash",
            "cash_matches",
            "fills_used",
            "fills_other_days",
        ]
        out = {k: j[k] for k in keep}
        out["n_not_executed"] = len(self.not_executed)
        out["n_partial"] = len(self.partial)
        out["n_breaks"] = len(self.breaks)
        out["breaks"] = j["breaks"]
        # unrounded: the next day's cash before is this cash after, carried at full precision
        out["exact"] = {k: j["exact"][k] for k in ("cash_before", "cash_after", "portfolio_value_after")}
        return out

    def _slippage_lines(self) -> list[str]:
        """The report's "Price Slippage" block (vs the signal price; bps half-up to 0.01)."""
        L = ["Price Slippage:"]
        tgt = f" (target: {self.target_slippage_bps / 100:.2f}%)" if self.target_slippage_bps is not None else ""
        w = self.slippage_bps_worst  # set exactly when the average is
        if self.slippage_bps_avg is None or w is None:
            L.append("  Average: n/a (nothing executed)")
        else:
            avg = _bps(self.slippage_bps_avg) or 0.0
            L.append(f"  Average: {avg / 100:.2f}% ({avg:+.2f} bps){tgt}")
            L.append("    (vs the signal price; sum of slippage $ / sum of executed shares x signal price)")
            if self.slippage_bps_mean is not None:
                L.append(f"  Plain mean per order: {_bps(self.slippage_bps_mean) or 0.0:+.2f} bps")
            L.append(f"  Slippage: {_signed_usd(self.slippage_usd)} (positive = cost)")
            L.append(f"  Worst: {w['symbol']} {w['bps'] / 100:+.2f}% ({w['bps']:+.2f} bps)")
        L.append("")
        return L

    def _count_lines(self) -> list[str]:
        """The report's counts: planned, then fully / partially / not executed (% of planned)."""
        L = [f"Trades Recommended: {self.trades_recommended}", self.counts_text()]

        def pct(n: int) -> str:
            return f"{self._pct(n) or 0.0:.1f}%"

        L.append(f"Fully Executed: {self.trades_executed} ({pct(self.trades_executed)} of planned)")
        if self.partial:
            L.append(
                f"Partially Executed: {self.trades_partial} ({pct(self.trades_partial)} of planned; "
                + ", ".join(f"{d['symbol']} {_qty(d['executed'])}/{_qty(d['planned'])}" for d in self.partial[:10])
                + ")"
            )
        else:
            L.append("Partially Executed: 0")
        if self.not_executed:
            what = ", ".join(f"{d['symbol']} - {d['reason'].lower()}" for d in self.not_executed[:10])
            more = f", +{len(self.not_executed) - 10} more" if len(self.not_executed) > 10 else ""
            n = self.trades_not_executed
            L.append(f"Not Executed: {n} ({pct(n)} of planned; {what}{more})")
        else:
            L.append("Not Executed: 0")
        return L

    def report_text(self) -> str:
        """The guide's "Reconciliation Report" layout."""
        title = f"Reconciliation Report - {self.day}"
        L = [title, "=" * max(len(title), 35)]
        L += self._count_lines()
        L.append("")
        L += self._slippage_lines()

        L.append("Commission:")
        L.append(f"  Estimated: {usd(self.commission_estimated)}")
        L.append(f"  Actual: {_signed_usd(self.commission_actual)} (every fill; rebates negative)")
        if abs(self.commission_unplanned) >= 0.005:
            L.append(f"    of which on unplanned fills: {_signed_usd(self.commission_unplanned)}")
        v = self.commission_variance
        vp = f" ({self.commission_variance_pct * 100:+.1f}%)" if self.commission_variance_pct is not None else ""
        L.append(f"  Variance: {usd(v, sign=True)}{vp} (whole plan's estimate)")
        L.append("")
        L += self._estimate_lines()
        if self.breaks:
            L.append(f"Breaks: {len(self.breaks)}")
            for b in self.breaks:
                if b["kind"] == "cash_mismatch":
                    L.append(f"  CASH cash_mismatch: {b['detail']}")
                    continue
                L.append(
                    f"  {b['symbol']} {b['kind']}: planned {_qty(b['planned'])}, executed "
                    f"{_qty(b['executed'])}" + (f" ({b['detail']})" if b.get("detail") else "")
                )
            L.append("")
        if self.splits_applied:
            L += _split_lines(self.splits_applied)
        if self.fills_other_days:
            L.append(f"Fills dated another day (ignored): {self.fills_other_days}")
        pm = self.positions_match
        L.append(
            "Position Matches: "
            + ("\u2705" if pm else "\u274c" if pm is False else "not checked (no broker positions)")
        )
        if self.positions_unpriced:
            L.append("Positions with no price (not valued): " + ", ".join(self.positions_unpriced))
        L.append(self._cash_line())
        return "\n".join(L) + "\n"

    def _estimate_lines(self) -> list[str]:
        """The report's "Estimate vs Actual" block ($): on the filled shares, and for the whole plan."""
        ev = self.estimate_vs_actual()
        L = ["Estimate vs Actual (commission on the planned orders' fills; slippage vs the signal price):"]
        for key, title in (("filled_shares", "On the filled shares (estimates pro rata)"), ("plan", "Whole plan")):
            b = ev[key]
            L.append(
                f"  {title}: commission est {_signed_usd(b['commission_estimated'])} vs actual "
                f"{_signed_usd(b['commission_actual'])} (variance {_signed_usd(b['commission_variance'])}); "
                f"slippage est {_signed_usd(b['slippage_estimated_usd'])} vs actual "
                f"{_signed_usd(b['slippage_actual_usd'])} (variance {_signed_usd(b['slippage_variance_usd'])})"
            )
        L.append("")
        return L

    def _cash_line(self) -> str:
        """``Cash Balance``: ✅ only when the cash after equals the broker's within $0.01."""
        if self.cash_after is None:
            return "Cash Balance: not checked (no starting cash)"
        txt = f"{usd(self.cash_after)} (before {usd(self.cash_before)})" if self.cash_before is not None else ""
        if self.broker_cash is None:
            return f"Cash Balance: not checked (no broker cash) {txt}"
        mark = "\u2705" if self.cash_matches else "\u274c"
        src = self.broker_cash_source or "broker"
        return f"Cash Balance: {mark} {txt}; broker {_signed_usd(self.broker_cash)} ({src})"


def cash_within_a_cent(a: float, b: float) -> bool:
    """True when the $ amounts ``a`` and ``b``, each to the cent (half-up), differ by at most $0.01."""
    da, db = (Decimal(repr(half_up(x, 2))) for x in (a, b))  # the one rounding rule, then exact
    return abs(da - db) <= Decimal("0.01")


def _signed_usd(x: float | None) -> str:
    """``$1,234.56`` / ``-$0.35``, half-up to the cent, never ``-$0.00``."""
    return usd(x or 0.0)


def _state_for(order_states: dict | None, coid: str, symbol: str, side: str) -> dict | None:
    if not order_states:
        return None
    st = order_states.get(coid)
    if st is not None:
        return st
    for s in order_states.values():
        if canonical_symbol(s.get("symbol", "")) == symbol and str(s.get("side", "")).lower() == side:
            return s
    return None


def _reason_not_executed(state: dict | None, states_known: bool, halted: bool) -> str:
    if halted:
        return "Halted"
    if state is None:
        return "Not submitted (no order on record)" if states_known else "Unfilled"
    status = str(state.get("status") or "").lower()
    why = str(state.get("reason") or "").strip()
    if "halt" in why.lower() or status in ("suspended", "stopped"):
        return "Halted" + (f": {why}" if why and "halt" not in why.lower() else "")
    if status == "canceled" or status == "cancelled":
        return "Cancelled" + (f": {why}" if why else "")
    if status == "rejected":
        return "Rejected" + (f": {why}" if why else "")
    if status in ("expired", "done_for_day"):
        return "Unfilled (order expired)" + (f": {why}" if why else "")
    if status == "replaced":
        return "Unfilled (order replaced; its replacement is the live order)"
    if status in OPEN_STATUSES:
        return "Unfilled (order still open)"
    if status == "filled":
        return "Broker reports filled but no fills were supplied"
    return f"Unfilled ({status})" if status else "Unfilled"


def _reason_partial(state: dict | None) -> str:
    status = str((state or {}).get("status") or "").lower()
    if status in ("canceled", "cancelled"):
        return "Partial fill (remainder cancelled)"
    if status in ("expired", "done_for_day"):
        return "Partial fill (remainder expired)"
    if status == "replaced":
        return "Partial fill (order replaced; its replacement carries the remainder)"
    if status in OPEN_STATUSES:
        return "Partial fill (remainder still open)"
    if status == "filled":
        return "Partial fill (broker reports filled: fills missing?)"
    return "Partial fill"


def discrepancy_line(day: str, symbol: str, recommended, executed, reason: str) -> str:
    """The guide's ``2025-10-30,TSLA,Recommended: 50,Executed: 0,Reason: Insufficient liquidity``."""
    reason = " ".join(str(reason).replace(",", ";").split())
    return f"{day},{symbol},Recommended: {_qty(recommended)},Executed: {_qty(executed)},Reason: {reason}"


SENT_COLUMNS = [
    "client_order_id",
    "symbol",
    "side",
    "qty",
    "order_type",
    "limit_price",
    "price",
    "parent_id",
    "chase_of",
]


def sent_orders(payloads: list[dict[str, Any]]) -> pd.DataFrame:
    """The orders actually sent, from the journal's ``order_intent`` payloads (journal order):
    :data:`SENT_COLUMNS` (qty shares, limit_price / price $, NaN when none), one row per client
    order id (the first). ``chase_of`` names the order a chase replacement stands in for."""
    rows = [{c: p.get(c) for c in SENT_COLUMNS} for p in payloads if p.get("client_order_id")]
    df = pd.DataFrame(rows, columns=SENT_COLUMNS)
    for c in ("client_order_id", "symbol", "side", "order_type", "parent_id", "chase_of"):
        df[c] = df[c].astype(object).where(df[c].notna(), "").astype(str)
    df["symbol"] = canonical_column(df["symbol"])
    df["side"] = df["side"].str.lower().str.strip()
    for c in ("qty", "limit_price", "price"):
        df[c] = pd.to_numeric(df[c], errors="coerce").astype(float)
    return df.drop_duplicates("client_order_id", keep="first").reset_index(drop=True)


def _per_share_by_id(trades: Trades, mine: pd.DataFrame, c: str) -> tuple[pd.Series, pd.Series]:
    """Estimate ``c`` ($/share: the trade's estimate / its shares) of ``mine`` (the orders of
    ``trades``) by source row and by client order id (NaN when the trades lack ``c``)."""
    shares = mine["qty"].astype(float)
    if c in trades.df.columns:
        per_share = trades.df[c].astype(float).reindex(mine.index) / shares.where(shares > 0)
    else:
        per_share = pd.Series(np.nan, index=mine.index)
    by_id = pd.Series(per_share.to_numpy(), index=mine["client_order_id"].astype(str))
    return per_share, by_id[~by_id.index.duplicated()]


def _estimates(
    trades: Trades,
    pl: pd.DataFrame,
    from_sent: bool,
    default_order_type: str,
    day: str,
    earlier: Sequence[tuple[str, Trades]] = (),
) -> pd.DataFrame:
    """Each planned order's ``commission_est`` and ``slippage_est`` ($) from the trades row it
    came from, **pro rata to its shares**: ``order qty / trade shares x the trade's estimate``
    (a slice child of 300 of a 1,000-share parent carries 30% of the parent's estimates; a whole
    order carries all of them). The trades row: by client order id, else the slice parent's id
    (in today's trades, else in ``earlier``: ``(origin day, trades)`` of the days whose sliced
    parents have children carried to today), else (sent orders that are no slice) symbol+side;
    else, for the plan itself, the same source row. 0 when none."""
    cols = ("commission_est", "slippage_est")
    out = pd.DataFrame(0.0, index=pl.index, columns=list(cols))
    if not any(c in t.df.columns for c in cols for t in (trades, *(t for _, t in earlier))):
        return out
    mine = orders_from_trades(trades, default_order_type=default_order_type, date=trades.date or day)
    before = [(t, orders_from_trades(t, default_order_type=default_order_type, date=d)) for d, t in earlier]
    qty = pd.to_numeric(pl["qty"], errors="coerce").astype(float)
    plain = pl["client_order_id"].astype(str).map(without_account)
    parent = pl["parent_id"].astype(str).map(without_account)
    for c in cols:
        per_share, by_id = _per_share_by_id(trades, mine, c)
        v = plain.map(by_id).fillna(parent.map(by_id))
        for t, o in before:  # a child carried from an earlier day: its parent's estimate, pro rata
            v = v.fillna(parent.map(_per_share_by_id(t, o, c)[1]))
        no_slice = pl["parent_id"].astype(str) == ""
        if from_sent:
            keys = (mine["symbol"] + "|" + mine["side"]).to_numpy()
            by_ss = pd.Series(per_share.to_numpy(), index=keys)
            by_ss = by_ss[~by_ss.index.duplicated()]
            v = v.where(v.notna() | ~no_slice, (pl["symbol"] + "|" + pl["side"]).map(by_ss))
        else:
            v = v.fillna(per_share.reindex(pl.index))
        out[c] = (v * qty).fillna(0.0).astype(float) + 0.0
    return out


def _plan(
    trades: Trades,
    planned: pd.DataFrame | None,
    sent: pd.DataFrame | None,
    *,
    day: str,
    default_order_type: str,
    earlier: Sequence[tuple[str, Trades]] = (),
) -> tuple[pd.DataFrame, dict[str, str]]:
    """The orders to reconcile against (index 0..n-1, with ``commission_est``) and the chase
    aliases (a chase replacement's client order id -> the order it replaces).

    With ``sent`` orders: those (chase replacements folded into the order they replace), plus
    the planned orders of a symbol+side nothing was sent for (shown as not submitted), in the
    plan's order (sent orders of no planned symbol+side last, in journal order)."""
    if planned is None:
        planned = orders_from_trades(trades, default_order_type=default_order_type, date=trades.date or day)
    if sent is None or len(sent) == 0:
        pl = planned.copy()
        if "parent_id" not in pl.columns:
            pl["parent_id"] = ""
        pl[["commission_est", "slippage_est"]] = _estimates(trades, pl, False, default_order_type, day, earlier)
        return pl.reset_index(drop=True), {}
    chase = sent["chase_of"].astype(str) != ""
    aliases = dict(zip(sent.loc[chase, "client_order_id"], sent.loc[chase, "chase_of"]))
    went = sent[~chase]
    p_key = (planned["symbol"].astype(str) + "|" + planned["side"].astype(str)).reset_index(drop=True)
    s_key = went["symbol"] + "|" + went["side"]
    rank_of = pd.Series(np.arange(len(p_key), dtype=float), index=p_key.to_numpy())
    rank_of = rank_of[~rank_of.index.duplicated()]
    unsent = planned[~p_key.isin(set(s_key)).to_numpy()].copy()
    if "parent_id" not in unsent.columns:
        unsent["parent_id"] = ""
    cols = ["symbol", "side", "qty", "order_type", "limit_price", "price", "client_order_id", "parent_id"]
    both = pd.concat(
        [
            went[cols].assign(_rank=s_key.map(rank_of).fillna(len(p_key)).to_numpy()),
            unsent[cols].assign(_rank=(p_key[~p_key.isin(set(s_key))].map(rank_of)).to_numpy()),
        ],
        ignore_index=True,
    )
    pl = both.sort_values("_rank", kind="stable").drop(columns="_rank").reset_index(drop=True)
    pl[["commission_est", "slippage_est"]] = _estimates(trades, pl, True, default_order_type, day, earlier)
    return pl, aliases


def _live_states(order_states: dict | None, aliases: dict[str, str]) -> dict | None:
    """Order states with a chased order's replaced state swapped for its latest replacement's
    (the live one: its status explains what is left unfilled)."""
    if not order_states or not aliases:
        return order_states
    out = dict(order_states)
    for chase, root in aliases.items():  # journal order: the last replacement wins
        if chase in order_states and root in out:
            out[root] = order_states[chase]
    return out


def _day_fills(fills: pd.DataFrame | None, day: str) -> tuple[pd.DataFrame, int]:
    """The fills dated ``day`` (or undated) and how many are dated another day."""
    f = fills
    if f is None or f.empty:
        from xlexec.core.fills import empty_fills

        f = empty_fills()
    d = f["date"].fillna("").astype(str)
    same_day = (d == "") | (d == day)
    return f[same_day.to_numpy()].reset_index(drop=True), int((~same_day).sum())


def _match(f: pd.DataFrame, pl: pd.DataFrame, order_states: dict | None, aliases: dict[str, str]) -> np.ndarray:
    """Position of each fill's planned order (float, NaN = unplanned), by :func:`match_fills`;
    a chase replacement's fills count for the order it replaced."""
    oid_to_coid = {str(s.get("id")): k for k, s in (order_states or {}).items() if s.get("id")}
    if aliases:
        oid_to_coid = {o: aliases.get(c, c) for o, c in oid_to_coid.items()}
        coid = f["client_order_id"].astype(object)
        f = f.assign(client_order_id=coid.map(lambda c: aliases.get(str(c).strip(), c) if isinstance(c, str) else c))
    fm = match_fills(f, pl, order_ids=oid_to_coid)
    return np.where(fm.matched, fm.pos, np.nan).astype(float)


def _per_order(pl: pd.DataFrame, f: pd.DataFrame) -> pd.DataFrame:
    """Per planned order: executed shares, avg price ($), commission ($), fills, slippage bps
    (vs the signal price, > 0 = cost) and status. ``f`` carries ``_plan`` and ``_pxsh``."""
    matched = f[~np.isnan(f["_plan"].to_numpy())]
    g = matched.groupby("_plan").agg(
        executed=("shares", "sum"), pxsh=("_pxsh", "sum"), commission=("commission", "sum"), n_fills=("shares", "size")
    )
    g.index = g.index.astype(int)
    pt = pl[["symbol", "side", "qty", "price", "commission_est", "slippage_est", "client_order_id"]].rename(
        columns={"qty": "planned", "price": "signal_price"}
    )
    pt = pt.join(g, how="left")
    pt[["executed", "pxsh", "commission"]] = pt[["executed", "pxsh", "commission"]].fillna(0.0)
    pt["n_fills"] = pt["n_fills"].fillna(0).astype(int)
    with np.errstate(invalid="ignore", divide="ignore"):
        pt["avg_price"] = np.where(
            pt["executed"] > 0, pt["pxsh"] / pt["executed"].where(pt["executed"] > 0, 1.0), np.nan
        )
    pt["slippage_bps"] = _slippage_bps(side_sign(pt["side"]), pt["avg_price"], pt["signal_price"])
    ex, plq = pt["executed"].to_numpy(), pt["planned"].to_numpy(dtype=float)
    pt["status"] = np.select(
        [ex <= EPS, ex < plq - EPS, ex > plq + EPS], ["not_executed", "partial", "over_fill"], "filled"
    )
    return pt


def _reasons(pt: pd.DataFrame, order_states: dict | None, events: pd.DataFrame | None, day: str) -> list[str]:
    """Why each order is not (fully) executed: journal order states, halts from events."""
    halted_syms: set[str] = set()
    if events is not None and not events.empty:
        e = events[(events["event"].astype(str) == "halt") & (events["date"].astype(str).str[:10] == day)]
        halted_syms = set(canonical_column(e["symbol"]))
    reasons = []
    # the columns as lists: a column of pandas' string type is slow to walk cell by cell
    cols = (pt[c].tolist() for c in ("symbol", "side", "client_order_id", "status"))
    for sym, side, c, st in zip(*cols):
        state = _state_for(order_states, str(c), sym, side)
        if st == "not_executed":
            reasons.append(_reason_not_executed(state, order_states is not None, sym in halted_syms))
        elif st == "partial":
            reasons.append(_reason_partial(state))
        elif st == "over_fill":
            reasons.append("Over-fill: more shares executed than planned")
        else:
            reasons.append("")
    return reasons


def _unplanned(un: pd.DataFrame) -> pd.DataFrame:
    """The unmatched fills per symbol+side, as per-trade rows of status ``unplanned``."""
    if un.empty:
        return pd.DataFrame(columns=PER_TRADE_COLUMNS)
    ug = (
        un.groupby(["symbol", "side"], sort=True)
        .agg(
            executed=("shares", "sum"),
            pxsh=("_pxsh", "sum"),
            commission=("commission", "sum"),
            n_fills=("shares", "size"),
        )
        .reset_index()
    )
    return pd.DataFrame(
        {
            "symbol": ug["symbol"],
            "side": ug["side"],
            "planned": 0.0,
            "executed": ug["executed"],
            "avg_price": ug["pxsh"] / ug["executed"],
            "slippage_bps": np.nan,
            "commission": ug["commission"],
            "status": "unplanned",
            "reason": "Fill for an order never planned",
            "signal_price": np.nan,
            "commission_est": 0.0,
            "client_order_id": "",
            "n_fills": ug["n_fills"],
            "slippage_est": 0.0,
        }
    )


def _figures(pt: pd.DataFrame, pl: pd.DataFrame, f: pd.DataFrame, cash_before: float | None) -> dict[str, Any]:
    """Slippage (:func:`xlexec.core.costs.aggregate_slippage` vs the signal price: $, weighted
    and plain-mean bps, worst), commission estimated/actual/unplanned/variance ($ and fraction
    of the estimate), buy/sell/total notional and cash after ($), keyed by the
    :class:`ReconResult` fields they fill."""
    done = pt[pt["executed"] > EPS]
    agg = aggregate_slippage(side_sign(done["side"]), done["executed"], done["avg_price"], done["signal_price"])
    if agg.bps is not None:
        w = done.loc[done["slippage_bps"].idxmax()]
        worst = {"symbol": str(w["symbol"]), "bps": _bps(w["slippage_bps"])}
    else:
        worst = None
    comm_est = float(pl["commission_est"].sum())
    slip_est = float(pl["slippage_est"].sum())
    # the estimates scaled to the shares actually filled: estimate x executed / planned per order
    plq = pt["planned"].to_numpy(dtype=float)
    frac = np.divide(pt["executed"].to_numpy(dtype=float), plq, out=np.zeros(len(pt)), where=plq > EPS)
    comm_est_filled = float((pt["commission_est"].to_numpy(dtype=float) * frac).sum()) + 0.0
    slip_est_filled = float((pt["slippage_est"].to_numpy(dtype=float) * frac).sum()) + 0.0
    comm_act = commission_paid(f["commission"]) if len(f) else 0.0
    unplanned = np.isnan(f["_plan"].to_numpy(dtype=float)) if len(f) else np.zeros(0, bool)
    comm_unplanned = commission_paid(f["commission"].to_numpy(dtype=float)[unplanned]) if len(f) else 0.0
    buys, sells, paid = _cash_flows(f)
    buy_notional, sell_notional = float(buys) + 0.0, float(sells) + 0.0
    cash_after = None if cash_before is None else float(exact(float(cash_before)) - buys + sells - paid) + 0.0
    variance = comm_act - comm_est
    return dict(
        slippage_bps_avg=agg.bps,
        slippage_bps_mean=agg.mean_bps,
        slippage_notional=agg.notional,
        slippage_bps_worst=worst,
        commission_estimated=comm_est,
        commission_actual=comm_act,
        commission_unplanned=comm_unplanned,
        commission_variance=variance,
        commission_variance_pct=(variance / comm_est) if comm_est > EPS else None,
        commission_estimated_filled=comm_est_filled,
        slippage_estimated=slip_est,
        slippage_estimated_filled=slip_est_filled,
        cash_after=cash_after,
        notional_traded=float(buys + sells) + 0.0,
        buy_notional=buy_notional,
        sell_notional=sell_notional,
        slippage_usd=agg.usd,
    )


def _cash_flows(f: pd.DataFrame) -> tuple[Decimal, Decimal, Decimal]:
    """The day's fills' cash, exact (Decimal): ``(buys' notional, sells' notional, commission)``
    ($), each fill's notional ``shares x price`` and its commission (a rebate negative; unknown =
    0) summed exactly; the cash after is ``cash before - buys + sells - commission``."""
    fast = _cash_flows_whole_units(f)
    if fast is not None:
        return fast
    buys = sells = paid = Decimal(0)
    for side, q, px, c in zip(f["side"], f["shares"], f["price"], f["commission"], strict=True):
        n = exact(float(q)) * exact(float(px))
        if side == "buy":
            buys += n
        else:
            sells += n
        if c == c and c is not None:  # NaN: unknown, counts as 0
            paid += exact(float(c))
    return buys, sells, paid


def _cash_flows_whole_units(f: pd.DataFrame) -> tuple[Decimal, Decimal, Decimal] | None:
    """:func:`_cash_flows` in int64 whole units (:mod:`xlexec.core.exact_sums`: the same exact
    values), or ``None`` when that path cannot prove them (the Decimal loop then runs)."""
    if not len(f):
        return None
    buy = (f["side"].to_numpy(dtype=object) == "buy").astype(np.int64)
    sums = product_sums(f["shares"], f["price"], buy, 2)
    c = pd.to_numeric(f["commission"], errors="coerce").to_numpy(dtype=float)
    paid = column_sum(np.where(np.isnan(c), 0.0, c))  # NaN: unknown, counts as 0
    if sums is None or paid is None:
        return None
    _, (sells, buys) = sums
    return buys, sells, paid


def _prices(marks, quotes, f: pd.DataFrame) -> pd.Series:
    """The day's price per symbol ($/share): the close (``marks``: ``price``/``close``/``mark``/
    ``last``), else the latest quote (mid, else last), else the day's last fill price. Never the
    average cost or the plan's signal price: a symbol with none of these has no price."""
    out = pd.Series(dtype=float)
    for frame in (marks, quotes):
        if frame is None or frame.empty or "symbol" not in frame.columns:
            continue
        if frame is quotes:
            px = mid_map(frame)
        else:
            col = next((c for c in ("price", "close", "mark", "last") if c in frame.columns), None)
            if col is None:
                continue
            m = frame.assign(symbol=canonical_column(frame["symbol"].astype(str)))
            m = m.drop_duplicates("symbol", keep="last")
            px = pd.to_numeric(m.set_index("symbol")[col], errors="coerce").astype(float)
        px = px[np.isfinite(px.to_numpy(dtype=float)) & (px.to_numpy(dtype=float) > 0)]
        out = pd.concat([out, px[~px.index.isin(out.index)]])
    last_px = f.groupby("symbol")["price"].last().astype(float) if len(f) else pd.Series(dtype=float)
    return pd.concat([out, last_px[~last_px.index.isin(out.index)]])


def _positions(positions: pd.DataFrame, events, day: str, f: pd.DataFrame, marks, quotes, cash_after: float | None):
    """Positions after the day (splits, then every fill), valued at the day's prices
    (:func:`_prices`); ``(after, oversells, valued, portfolio value after $ or None when a
    held position has no price, splits, the unpriced symbols)``."""
    start, splits = apply_splits(positions, events, day), split_notes(positions, events, day)
    after, oversells = apply_fills(start, f)
    prices = _prices(marks, quotes, f)
    pos_after = value_positions(after, None, day=day, cash=cash_after, fallback_prices=prices)
    held = pos_after["shares"].astype(float).abs() > EPS
    unpriced = sorted(pos_after.loc[held & pos_after["current_value"].isna(), "symbol"].astype(str))
    pv = portfolio_value(pos_after, cash_after)  # exact: the unrounded values + cash, summed in Decimal
    pv_after = None if pv is None else float(pv) + 0.0
    return after, oversells, pos_after, pv_after, splits, unpriced


def _breaks(
    per_trade: pd.DataFrame, oversells: list[dict], after: pd.DataFrame, broker_positions: pd.DataFrame | None, events
) -> list[dict]:
    """Over-fills, unplanned fills, oversells and (broker positions given) position mismatches."""
    breaks: list[dict] = []
    for r in per_trade[per_trade["status"].isin(["over_fill", "unplanned"])].itertuples():
        if r.status == "over_fill":
            kind, detail = "over_fill", f"{_qty(r.executed - r.planned)} share(s) more than planned"
        else:
            kind, detail = "unplanned_fill", f"no planned {r.side} order for {r.symbol}"
        breaks.append(
            {
                "symbol": r.symbol,
                "side": r.side,
                "kind": kind,
                "planned": _qty(r.planned),
                "executed": _qty(r.executed),
                "detail": detail,
            }
        )
    for b in oversells:
        breaks.append(
            {
                "symbol": b["symbol"],
                "side": "sell",
                "kind": "oversell",
                "planned": _qty(b["planned"]),
                "executed": _qty(b["executed"]),
                "detail": b["detail"],
            }
        )
    if broker_positions is not None:
        cmp = compare_positions(after, broker_positions, events=events)
        for r in cmp[~cmp["matches"]].itertuples():
            breaks.append(
                {
                    "symbol": r.symbol,
                    "side": "",
                    "kind": "position_mismatch",
                    "planned": _qty(r.system_shares),
                    "executed": _qty(r.broker_shares),
                    "detail": f"system {_qty(r.system_shares)}, broker {_qty(r.broker_shares)}; "
                    f"likely {r.likely_cause}",
                }
            )
    return breaks


_KIND_TEXT = {
    "over_fill": "Over-fill",
    "unplanned_fill": "Unplanned fill",
    "oversell": "Oversell",
    "position_mismatch": "Position mismatch",
    "cash_mismatch": "Cash mismatch",
}


def _shortfalls(pt: pd.DataFrame, breaks: list[dict], day: str) -> tuple[list[dict], list[dict], list[str]]:
    """The not executed and partial orders, and every discrepancy line (guide's layout)."""
    ne = pt[pt["status"] == "not_executed"]
    pa = pt[pt["status"] == "partial"]
    not_executed = [
        {"symbol": s, "side": sd, "planned": _qty(p), "executed": 0, "reason": rs}
        for s, sd, p, rs in zip(*(ne[c].tolist() for c in ("symbol", "side", "planned", "reason")))
    ]
    partial = [
        {"symbol": s, "side": sd, "planned": _qty(p), "executed": _qty(x), "reason": rs}
        for s, sd, p, x, rs in zip(*(pa[c].tolist() for c in ("symbol", "side", "planned", "executed", "reason")))
    ]
    lines = [discrepancy_line(day, d["symbol"], d["planned"], d["executed"], d["reason"]) for d in not_executed]
    lines += [discrepancy_line(day, d["symbol"], d["planned"], d["executed"], d["reason"]) for d in partial]
    lines += [
        discrepancy_line(day, b["symbol"], b["planned"], b["executed"], f"{_KIND_TEXT[b['kind']]} ({b['detail']})")
        for b in breaks
    ]
    return not_executed, partial, lines


# long: the inputs (keyword arguments) and the result's fields take most lines; each step is a helper
def reconcile(
    trades: Trades,
    fills: pd.DataFrame,
    positions: pd.DataFrame,
    *,
    day: str,
    order_states: dict[str, dict] | None = None,
    events: pd.DataFrame | None = None,
    closes: pd.DataFrame | None = None,
    cash_before: float | None = None,
    broker_positions: pd.DataFrame | None = None,
    planned: pd.DataFrame | None = None,
    default_order_type: str = "limit",
    target_slippage_bps: float | None = None,
    marks: pd.DataFrame | None = None,
    sent: pd.DataFrame | None = None,
    quotes: pd.DataFrame | None = None,
    broker_cash: float | None = None,
    broker_cash_source: str = "",
    earlier_trades: Sequence[tuple[str, Trades]] = (),
) -> ReconResult:
    """Reconcile one day (module docstring: every rule and unit). ``fills``: canonical frame
    (:mod:`xlexec.core.fills`); ``positions``: ``symbol, shares, avg_cost`` before the day;
    ``closes``/``marks`` (``symbol`` + ``price``/``close``, $), else ``quotes``' mid, else the day's
    last fill value positions (else no price). ``broker_cash`` ($, from ``broker_cash_source``):
    the cash after must equal it within $0.01, else a ``cash_mismatch`` break. The orders: ``sent``
    (:func:`sent_orders`) when any; else ``planned``; else ``orders_from_trades(trades)``.
    ``earlier_trades``: ``(origin day, trades)`` of the earlier days whose sliced parents have
    children in today's orders (their estimates, pro rata)."""
    marks = marks if marks is not None else closes
    pl, aliases = _plan(trades, planned, sent, day=day, default_order_type=default_order_type, earlier=earlier_trades)
    f, other_days, mi = _matched_fills(fills, day, pl, order_states, aliases)
    pt = _per_order(pl, f)
    pt["reason"] = _reasons(pt, _live_states(order_states, aliases), events, day)
    per_trade = _with_unplanned(pt, _unplanned(f[np.isnan(mi)]))
    fg = _figures(pt, pl, f, cash_before)
    after, oversells, pos_after, pv_after, splits, unpriced = _positions(
        positions, events, day, f, marks, quotes, fg["cash_after"]
    )
    breaks = _breaks(per_trade, oversells, after, broker_positions, events) + _cash_breaks(
        fg["cash_after"], broker_cash, broker_cash_source
    )
    not_executed, partial, lines = _shortfalls(pt, breaks, day)
    return ReconResult(
        day=day,
        trades_recommended=len(pl),
        trades_executed=int(pt["status"].isin(["filled", "over_fill"]).sum()),  # all planned shares filled
        not_executed=not_executed,
        partial=partial,
        breaks=breaks,
        cash_before=cash_before,
        portfolio_value_after=pv_after,
        per_trade=per_trade,
        positions_after=pos_after,
        discrepancy_lines=lines,
        positions_checked=broker_positions is not None,
        splits_applied=_splits_applied(splits),
        fills_used=int(len(f)),
        fills_other_days=other_days,
        target_slippage_bps=target_slippage_bps,
        broker_cash=None if broker_cash is None else float(broker_cash),
        broker_cash_source=broker_cash_source,
        positions_unpriced=unpriced,
        **fg,
    )


def _matched_fills(
    fills: pd.DataFrame, day: str, pl: pd.DataFrame, order_states: dict | None, aliases: dict[str, str]
) -> tuple[pd.DataFrame, int, np.ndarray]:
    """The day's fills with ``_plan`` (position of the matched planned order, NaN = unplanned) and
    ``_pxsh`` (shares x price, $), how many fills are dated another day, and the match positions."""
    f, other_days = _day_fills(fills, day)
    mi = _match(f, pl, order_states, aliases)
    f = f.assign(_plan=mi, _pxsh=f["shares"].to_numpy(dtype=float) * f["price"].to_numpy(dtype=float))
    return f, other_days, mi


def _cash_breaks(cash_after: float | None, broker_cash: float | None, source: str) -> list[dict]:
    """``[]``, or the ``cash_mismatch`` break when the system's cash after and the broker's ($)
    are both known and differ by more than $0.01."""
    if cash_after is None or broker_cash is None or cash_within_a_cent(cash_after, broker_cash):
        return []
    broker_cash = float(broker_cash)
    return [
        {
            "symbol": "CASH",
            "side": "",
            "kind": "cash_mismatch",
            "planned": _money(cash_after),
            "executed": _money(broker_cash),
            "detail": f"system ${cash_after:,.2f}, broker ${broker_cash:,.2f} ({source or 'broker'}); "
            f"difference {_signed_usd(broker_cash - cash_after)}",
        }
    ]


def _with_unplanned(pt: pd.DataFrame, unplanned_rows: pd.DataFrame) -> pd.DataFrame:
    """The per-trade table: the planned orders' rows (``pt``), then the unplanned fills' rows."""
    if unplanned_rows.empty:
        return pt[PER_TRADE_COLUMNS].reset_index(drop=True)
    return pd.concat([pt[PER_TRADE_COLUMNS], unplanned_rows[PER_TRADE_COLUMNS]], ignore_index=True)


def _split_lines(splits: list[dict]) -> list[str]:
    """The report's lines for the splits applied: shares before -> after, the unchanged cost
    basis ($) and the basis per share after ($, half-up cents)."""
    out = ["Splits applied (before the fills; cost basis unchanged):"]
    for s in splits:
        basis = (
            "" if s.get("avg_cost") is None else f", cost basis ${s['cost_basis']:,.2f} = ${s['avg_cost']:,.2f}/share"
        )
        out.append(
            f"  {s['symbol']} x{s['ratio']:g}: {_qty(s['shares_before'])} -> {_qty(s['shares_after'])} shares"
            + basis
            + (f" ({s['note']})" if s.get("note") else "")
        )
    return out


def _splits_applied(splits: list[dict]) -> list[dict]:
    """The splits applied before the day's fills (:func:`xlexec.core.corporate_actions.split_notes`):
    ``symbol``, ``date``, ``ratio`` (new shares per old), ``shares_before``, ``shares_after``
    (shares), ``cost_basis`` ($, unchanged by the split), ``avg_cost`` ($/share after, half-up
    cents) and ``note`` (a fractional share kept, or "")."""
    return [dict(s) for s in splits]
