"""Monthly cost summary for the accountants (pure core) and the helpers that gather a month.

:func:`monthly_report` turns one :class:`DayRecord` per trading day (the day's TCA figures, its
broker and its portfolio values) into the guide's monthly figures:

* ``total_commission`` ($): commissions actually paid, on every fill (rebates negative), the
  days' TCA ``commission.actual`` (:func:`xlexec.core.costs.commission_paid`).
* ``avg_slippage_bps``: slippage vs the signal price weighted by benchmark notional, sum of
  slippage $ / sum of notional $ (filled shares x signal price) x 10^4 (positive = cost), never
  a plain mean of daily bps; ``slippage_mean_bps`` (in :meth:`MonthlyResult.record`): the
  plain mean of every filled trade's bps over the month.
* Every $ and bps figure is a sum of the days' **unrounded** figures (``tca.json``'s
  ``exact`` block; an older file without it gives its cent-rounded keys), rounded half-up
  once, when shown.
* ``gross_return``, ``net_return`` (fractions): **time-weighted**, the days linked,
  ``prod(1 + r_d) - 1``, with the external cash flows of ``live/cash_flows.csv`` at the start of
  their day (never part of the return): ``r_d = (V_end - V_start - F_d) / (V_start + F_d)`` and
  ``gross_d = r_d + cost_d / (V_start + F_d)`` on the same base (:mod:`xlexec.core.returns`, the
  one definition). ``V_start`` is the previous reconciled end-of-day value (``opening_value``
  before the month's first day; else the first day's start-of-day value, else the first
  reconciled value, a note says which). The reconciled values are marked *after* trading costs
  (cash paid at fill prices and commission), so by default (``values_after_costs=True``) the
  observed return is the **net** return; with ``values_after_costs=False`` it is taken as gross.
  Days without a reconciled value are named in the notes and fold into the next reconciled day.
  ``commission_costs`` and ``slippage_costs`` split ``gross - net`` (fractions, same bases,
  :func:`xlexec.core.returns.cost_attribution`), so ``gross - commission_costs -
  slippage_costs = net`` exactly.
* ``cost_pct_portfolio``, ``turnover`` (fractions): total cost $ and ``sum |traded notional|``
  (filled shares x signal price) over the **average portfolio value**, the mean over the
  month's days of each day's start-of-day value (the ``# Portfolio Value`` of ``trades.csv``;
  the reconciled end-of-day value when that is missing).
* ``turnover_cost_corr``: Pearson correlation across the month's days of the day's turnover
  (the day's traded notional / its portfolio value, fraction) with the day's cost (commission +
  slippage, $); ``None`` (shown "n/a") with fewer than 3 days or no variation.
* ``by_broker``: trades (orders with fills), notional $, commission $, slippage $, notional-
  weighted bps and the plain per-trade mean bps (one row when there is one broker).

Gathering a month from the day folders is :mod:`xlexec.store.month` (``collect_month``,
``reconciled_value``; days without a fresh ``tca.json`` get their TCA in one batch,
:func:`month_tca`); ``live/monthly_costs.csv`` is :mod:`xlexec.formats.monthly`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from xlexec.core.benchmarks import month_benchmarks, month_document, month_lines, month_orders
from xlexec.core.costs import bps_of, figure_definitions, half_up, turnover
from xlexec.core.money import finite_or_none, usd
from xlexec.core.returns import FLOW_CONVENTION, MonthReturn, ValueDay, time_weighted
from xlexec.errors import InputError

MONTH_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
DAY_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
CSV_COLUMNS = ["month", "gross_return", "commission_costs", "slippage_costs", "net_return"]
CSV_EXTRA = [
    "total_commission",
    "slippage_usd",
    "avg_slippage_bps",
    "cost_pct_portfolio",
    "turnover_cost_corr",
    "avg_portfolio_value",
    "days",
    "total_cost",
    "turnover",
    "slippage_mean_bps",
    "cash_flows",
    "benchmark",
    "weighting",
    "mean_weighting",
]
#: What the CSV's slippage figures are measured against and how they are weighted (the JSON's
#: ``figures``, :func:`xlexec.core.costs.figure_definitions`): ``benchmark`` (of ``slippage_usd``,
#: ``avg_slippage_bps`` and ``slippage_mean_bps``), ``weighting`` (of ``avg_slippage_bps``) and
#: ``mean_weighting`` (of ``slippage_mean_bps``), written on every month's row.
CSV_DEFINITIONS = ("benchmark", "weighting", "mean_weighting")
DAILY_COLUMNS = [
    "date",
    "notional",
    "commission",
    "slippage_usd",
    "total_cost",
    "turnover",
    "portfolio_value",
    "portfolio_value_after",
    "broker",
    "trades",
    "cash_flow",
    "return_base",
    "net_return",
    "gross_return",
]


def _benchmark_orders(block: Any) -> list[dict[str, Any]] | None:
    """``tca.json`` ``benchmarks.exact`` (one dict per order), None when the file has none."""
    if not isinstance(block, dict) or not isinstance(block.get("exact"), list):
        return None
    return [o for o in block["exact"] if isinstance(o, dict)]


_num = finite_or_none  # a figure read back: missing stays missing


def _r(x, nd: int) -> float | None:
    """Shown figures: half-up to ``nd`` decimals (:func:`xlexec.core.costs.half_up`)."""
    return half_up(_num(x), nd)


@dataclass
class DayRecord:
    """One trading day, in $ unless noted.

    ``notional``: filled shares x signal price; ``slippage_usd`` > 0 is a cost; ``trades``: orders
    with fills; ``portfolio_value``: start of day (trades header); ``portfolio_value_after``:
    reconciled end of day; ``None`` = unknown.
    """

    date: str
    notional: float = 0.0
    commission: float = 0.0
    slippage_usd: float = 0.0
    trades: int = 0
    portfolio_value: float | None = None
    portfolio_value_after: float | None = None
    broker: str = "unknown"
    opportunity_usd: float | None = None
    slippage_mean_bps: float | None = None  # plain mean of the day's filled trades' bps
    #: the day's per-order benchmark prices (tca.json ``benchmarks.exact``); None = not saved
    benchmarks: list[dict[str, Any]] | None = None

    @classmethod
    def from_tca_json(
        cls,
        data: dict[str, Any],
        *,
        date: str | None = None,
        portfolio_value_after: float | None = None,
        broker: str | None = None,
        name: str = "tca.json",
    ) -> DayRecord:
        """From a day's ``tca.json`` (stable keys + ``date, broker, notional, trades_filled,
        portfolio_value``)."""
        try:
            comm = _num(data["commission"]["actual"])
            slip = _num(data["slippage"]["actual_usd"])
        except (KeyError, TypeError):
            raise InputError(name, "not a TCA file: missing commission.actual / slippage.actual_usd") from None
        raw_exact = data.get("exact")
        exact: dict[str, Any] = raw_exact if isinstance(raw_exact, dict) else {}
        if exact:  # the unrounded figures: the month sums them and rounds once
            comm = _num(exact.get("commission")) if "commission" in exact else comm
            slip = _num(exact.get("slippage_usd")) if "slippage_usd" in exact else slip
        notional = _num(exact.get("notional")) if "notional" in exact else _num(data.get("notional"))
        if notional is None:  # older file: recover it from the total and its % of notional
            tot = data.get("total") or {}
            u, pn = _num(tot.get("usd")), _num(tot.get("pct_notional"))
            notional = u / pn if u is not None and pn else 0.0
        return cls(
            date=date or str(data.get("date") or ""),
            notional=notional,
            commission=comm or 0.0,
            slippage_usd=slip or 0.0,
            trades=int(_num(data.get("trades_filled")) or 0),
            portfolio_value=_num(data.get("portfolio_value")),
            portfolio_value_after=portfolio_value_after,
            broker=str(broker or data.get("broker") or "unknown"),
            opportunity_usd=(
                _num(exact.get("opportunity_usd"))
                if "opportunity_usd" in exact
                else _num((data.get("opportunity") or {}).get("usd"))
            ),
            slippage_mean_bps=_num(exact.get("slippage_mean_bps", data.get("slippage_mean_bps"))),
            benchmarks=_benchmark_orders(data.get("benchmarks")),
        )

    @classmethod
    def from_tca(cls, result, *, broker: str = "unknown", portfolio_value_after: float | None = None) -> DayRecord:
        """From a :class:`xlexec.core.tca.TcaResult`."""
        opp = result.opportunity_usd
        return cls(
            date=str(result.date or ""),
            notional=result.notional,
            commission=result.commission_actual,
            slippage_usd=result.slippage_actual_usd,
            trades=result.trades_filled,
            portfolio_value=result.portfolio_value,
            portfolio_value_after=portfolio_value_after,
            broker=broker,
            opportunity_usd=opp if math.isfinite(opp) else None,
            slippage_mean_bps=_num(result.slippage_mean_bps),
        )


@dataclass
class MonthlyResult:
    month: str
    days: int
    total_commission: float
    slippage_usd: float
    notional: float
    avg_slippage_bps: float | None
    avg_portfolio_value: float | None
    cost_pct_portfolio: float | None
    turnover_cost_corr: float | None
    gross_return: float | None
    commission_costs: float | None
    slippage_costs: float | None
    net_return: float | None
    by_broker: pd.DataFrame
    daily: pd.DataFrame
    return_period: tuple[str, str] | None = None
    notes: list[str] = field(default_factory=list)
    slippage_mean_bps: float | None = None  # plain mean of every filled trade's bps in the month
    turnover: float | None = None  # sum |traded notional| / average portfolio value (fraction)
    cash_flows: float = 0.0  # $ of external flows inside the return's periods (+ deposit)
    returns: MonthReturn = field(default_factory=MonthReturn)  # the linked periods behind the returns
    #: the market benchmarks of the month's orders (:func:`xlexec.core.benchmarks.month_benchmarks`,
    #: unrounded) and the days without per-order benchmarks
    benchmarks: dict[str, Any] = field(default_factory=dict)
    days_without_benchmarks: list[str] = field(default_factory=list)

    def benchmarks_document(self) -> dict[str, Any]:
        """The month's ``benchmarks`` block (shown figures, :func:`xlexec.core.benchmarks.month_document`)."""
        m = self.benchmarks or month_benchmarks(month_orders([]))
        return month_document(m, days_without=self.days_without_benchmarks)

    @property
    def total_cost(self) -> float:
        """Commission + slippage ($, > 0 = cost), unrounded."""
        return self.total_commission + self.slippage_usd

    def record(self) -> dict[str, Any]:
        """Next to the stable keys in the month's JSON: the plain-mean slippage bps, what the
        figures mean (``figures``: benchmark, weighting, sign) and the unrounded figures
        (``exact``: $ and bps)."""
        return {
            "slippage_usd": _r(self.slippage_usd, 2),
            "notional": _r(self.notional, 2),
            "slippage_mean_bps": _r(self.slippage_mean_bps, 2),
            "total_cost": _r(self.total_cost, 2),
            "turnover": _r(self.turnover, 8),
            "cash_flows": _r(self.cash_flows, 2),
            "avg_portfolio_value": _r(self.avg_portfolio_value, 2),
            "days": self.days,
            "return_period": list(self.return_period) if self.return_period else None,
            "broker_comparison": [
                {
                    "broker": str(r.broker),
                    "trades": int(r.trades),
                    "notional": _r(r.notional, 2),
                    "commission": _r(r.commission, 2),
                    "slippage_usd": _r(r.slippage_usd, 2),
                    "slippage_bps": _r(r.slippage_bps, 2),
                    "slippage_mean_bps": _r(r.slippage_mean_bps, 2),
                }
                for r in self.by_broker.itertuples(index=False)
            ],
            "figures": {
                **figure_definitions("signal"),
                "returns": FLOW_CONVENTION,
                "turnover": "sum |traded notional (filled shares x signal price)| / average portfolio value",
                "turnover_cost_corr": "Pearson over the month's days of daily turnover with daily cost $; "
                "null (n/a) under 3 days",
            },
            "exact": {
                "total_commission": self.total_commission,
                "slippage_usd": self.slippage_usd,
                "notional": self.notional,
                "avg_slippage_bps": self.avg_slippage_bps,
                "slippage_mean_bps": self.slippage_mean_bps,
                "total_cost": self.total_cost,
                "turnover": self.turnover,
                "cash_flows": self.cash_flows,
                "gross_return": self.gross_return,
                "net_return": self.net_return,
                "commission_costs": self.commission_costs,
                "slippage_costs": self.slippage_costs,
                "benchmarks": self.benchmarks,
            },
            "benchmarks": self.benchmarks_document(),
        }

    def to_json(self) -> dict[str, Any]:
        """The issue's stable keys ($ to cents, bps to 0.01, fractions to 1e-8, corr to 1e-6)."""
        return {
            "month": self.month,
            "total_commission": _r(self.total_commission, 2),
            "avg_slippage_bps": _r(self.avg_slippage_bps, 2),
            "cost_pct_portfolio": _r(self.cost_pct_portfolio, 8),
            "turnover_cost_corr": _r(self.turnover_cost_corr, 6),
            "gross_return": _r(self.gross_return, 8),
            "commission_costs": _r(self.commission_costs, 8),
            "slippage_costs": _r(self.slippage_costs, 8),
            "net_return": _r(self.net_return, 8),
            "by_broker": [
                {
                    "broker": str(b),
                    "trades": int(t),
                    "notional": _r(n, 2),
                    "commission": _r(c, 2),
                    "slippage_bps": _r(s, 2),
                }
                for b, t, n, c, s in zip(
                    self.by_broker["broker"],
                    self.by_broker["trades"],
                    self.by_broker["notional"],
                    self.by_broker["commission"],
                    self.by_broker["slippage_bps"],
                )
            ],
        }

    def csv_row(self) -> dict[str, str]:
        """The ``monthly_costs.csv`` row: the guide's five columns first, then the extras, the
        last of them (:data:`CSV_DEFINITIONS`) naming the slippage's benchmark and weightings."""

        def frac(x):  # fractions: 4 to 8 places, never in exponent notation (accountants' sheets)
            v = _r(x, 8)
            if v is None:
                return ""
            whole, _, dec = f"{v + 0.0:.8f}".rstrip("0").partition(".")
            return f"{whole}.{dec.ljust(4, '0')}"

        def money(x):
            v = _r(x, 2)
            return "" if v is None else f"{v:.2f}"

        return {
            "month": self.month,
            "gross_return": frac(self.gross_return),
            "commission_costs": frac(self.commission_costs),
            "slippage_costs": frac(self.slippage_costs),
            "net_return": frac(self.net_return),
            "total_commission": money(self.total_commission),
            "slippage_usd": money(self.slippage_usd),
            "avg_slippage_bps": money(self.avg_slippage_bps),
            "cost_pct_portfolio": frac(self.cost_pct_portfolio),
            "turnover_cost_corr": "n/a" if self.turnover_cost_corr is None else f"{_r(self.turnover_cost_corr, 6):.6f}",
            "avg_portfolio_value": money(self.avg_portfolio_value),
            "days": str(self.days),
            "total_cost": money(self.total_cost),
            "turnover": frac(self.turnover),
            "slippage_mean_bps": money(self.slippage_mean_bps),
            "cash_flows": money(self.cash_flows),
            **{k: v for k, v in figure_definitions("signal").items() if k in CSV_DEFINITIONS},
        }

    def report_text(self) -> str:
        title = f"Monthly Cost Summary - {self.month}"
        figs = figure_definitions("signal")
        d = self.daily
        L = [title, "=" * max(40, len(title))]
        span = f" ({d['date'].iloc[0]} .. {d['date'].iloc[-1]})" if len(d) else ""
        L += [
            f"Trading days:                  {self.days}{span}",
            f"Total commission paid:         {_usd(self.total_commission)}",
            f"Slippage:                      {_usd(self.slippage_usd)} (vs the signal price; positive = cost)",
            f"Total cost:                    {_usd(self.total_cost)}",
            f"Slippage, notional-weighted:   {_fb(self.avg_slippage_bps)} (sum of slippage $ / sum of "
            "filled shares x signal price)",
            f"Slippage, plain mean/trade:    {_fb(self.slippage_mean_bps)} (every filled trade counts once)",
            f"Benchmark:                     {figs['benchmark']}",
            f"Weighting (notional-weighted): {figs['weighting']}",
            f"Weighting (plain mean):        {figs['mean_weighting']}",
            f"Costs as % of portfolio:       {_pc(self.cost_pct_portfolio)} "
            f"(of the average portfolio value {_usd(self.avg_portfolio_value)})",
            f"Turnover:                      {_pc(self.turnover)} (sum of traded notional / average portfolio value)",
            "Turnover vs costs correlation: "
            + ("n/a" if self.turnover_cost_corr is None else f"{self.turnover_cost_corr:.2f}")
            + " (Pearson across days, daily turnover vs daily cost $)",
            f"External cash flows:           {_usd(self.cash_flows)} (live/cash_flows.csv; + deposit, "
            "at the start of their day, not return)",
            "",
            "Cost Attribution to Strategy"
            + (f" (return {self.return_period[0]} .. {self.return_period[1]}," if self.return_period else " (")
            + " time-weighted, days linked):",
            f"   Gross Return:      {_pc(self.gross_return, True)}",
            f"   Commission costs:  {_pc(_neg(self.commission_costs), True)}",
            f"   Slippage costs:    {_pc(_neg(self.slippage_costs), True)}",
            f"   Net Return:        {_pc(self.net_return, True)}",
            "",
        ]
        L.append("Broker comparison:")
        L.append(
            f"   {'broker':<10} {'trades':>7} {'notional':>16} {'commission':>12} {'slippage':>12} "
            f"{'weighted':>12} {'plain mean':>12}"
        )
        for r in self.by_broker.itertuples(index=False):
            L.append(
                f"   {r.broker:<10} {int(r.trades):>7} {_usd(r.notional):>16} {_usd(r.commission):>12} "
                f"{_usd(r.slippage_usd):>12} {_fb(r.slippage_bps):>12} {_fb(r.slippage_mean_bps):>12}"
            )
        L += [""] + month_lines(self.benchmarks_document())
        if self.notes:
            L += ["", "Notes:"] + [f"   - {n}" for n in self.notes]
        return "\n".join(L) + "\n"


def _neg(x):
    return None if x is None else -x


def _usd(x) -> str:
    return usd(_num(x))


def _pc(x, sign: bool = False) -> str:
    v = _num(x)
    if v is None:
        return "n/a"
    return f"{v * 100:+.3f}%" if sign else f"{v * 100:.3f}%"


def _fb(x) -> str:
    v = _num(x)
    return "n/a" if v is None else f"{half_up(v, 2) or 0.0:.2f} bps"


def _month_days(days: list[DayRecord], month: str, notes: list[str]) -> list[DayRecord]:
    """The days of ``month``, in date order (others noted and ignored; a date twice raises)."""
    if not MONTH_RE.match(month or ""):
        raise ValueError(f"month must be YYYY-MM, got {month!r}")
    recs = sorted((d for d in days if str(d.date).startswith(month + "-")), key=lambda d: d.date)
    if len(recs) != len(days):
        notes.append(f"{len(days) - len(recs)} day(s) outside {month} ignored")
    dates = [d.date for d in recs]
    if len(set(dates)) != len(dates):
        dup = sorted({x for x in dates if dates.count(x) > 1})
        raise ValueError(f"the same day given twice: {', '.join(dup)}")
    return recs


def _daily(recs: list[DayRecord]) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """The daily table (:data:`DAILY_COLUMNS`) and the start-of-day / reconciled values ($)."""

    def col(attr):
        return np.array(
            [np.nan if _num(getattr(d, attr)) is None else float(getattr(d, attr)) for d in recs], dtype=float
        )

    dates = [d.date for d in recs]
    daily = pd.DataFrame(
        {
            "date": pd.Series(dates, dtype=object),
            "notional": col("notional"),
            "commission": col("commission"),
            "slippage_usd": col("slippage_usd"),
        }
    )
    daily["total_cost"] = daily["commission"] + daily["slippage_usd"]
    pv = col("portfolio_value")
    after = col("portfolio_value_after")
    pv_used = np.where(np.isfinite(pv) & (pv > 0), pv, np.where(np.isfinite(after) & (after > 0), after, np.nan))
    with np.errstate(invalid="ignore", divide="ignore"):
        daily["turnover"] = daily["notional"].to_numpy() / pv_used
    daily["portfolio_value"] = pv_used
    daily["portfolio_value_after"] = after
    daily["broker"] = pd.Series([d.broker or "unknown" for d in recs], dtype=object)
    daily["trades"] = np.array([int(d.trades) for d in recs], dtype=np.int64)
    return daily, pv, after


def _average_value(daily: pd.DataFrame, month: str, notes: list[str]) -> float | None:
    """Mean of the known daily portfolio values ($), noting the days left out."""
    pv_used = daily["portfolio_value"].to_numpy()
    known_pv = pv_used[np.isfinite(pv_used)]
    avg_pv = float(known_pv.mean()) if len(known_pv) else None
    if not len(daily):
        notes.append(f"no trading days with TCA in {month}")
    elif avg_pv is None:
        notes.append("no portfolio value known for any day: costs as fractions of portfolio not available")
    elif len(known_pv) < len(daily):
        miss = [d for d, v in zip(daily["date"], pv_used) if not math.isfinite(v)]
        notes.append("portfolio value unknown for " + ", ".join(miss) + ": left out of the average")
    return avg_pv


def _turnover_cost_corr(daily: pd.DataFrame, notes: list[str]) -> float | None:
    """Pearson correlation of daily turnover with daily cost; None with < 3 days or no variation."""
    t = daily["turnover"].to_numpy()
    c = daily["total_cost"].to_numpy()
    ok = np.isfinite(t) & np.isfinite(c)
    if ok.sum() < 3:
        if len(daily):
            notes.append(f"turnover-vs-cost correlation needs 3 days with a turnover, have {int(ok.sum())}")
        return None
    if np.std(t[ok]) == 0 or np.std(c[ok]) == 0:
        notes.append("turnover-vs-cost correlation undefined: no variation across days")
        return None
    return float(np.corrcoef(t[ok], c[ok])[0, 1])


def _by_broker(daily: pd.DataFrame, recs: list[DayRecord]) -> pd.DataFrame:
    """Per broker: trades, notional $, commission $, slippage $, notional-weighted bps and the
    plain per-trade mean bps (the days' means weighted by their filled trades)."""
    cols = ["broker", "trades", "notional", "commission", "slippage_usd", "slippage_bps", "slippage_mean_bps"]
    if not len(daily):
        return pd.DataFrame({c: pd.Series(dtype=object if c == "broker" else float) for c in cols}).astype(
            {"trades": np.int64}
        )
    g = daily.groupby("broker", sort=True)
    bb = pd.DataFrame(
        {
            "trades": g["trades"].sum(),
            "notional": g["notional"].sum(),
            "commission": g["commission"].sum(),
            "slippage_usd": g["slippage_usd"].sum(),
        }
    )
    bb["slippage_bps"] = bps_of(bb["slippage_usd"], bb["notional"].where(bb["notional"] > 0)).astype(float)
    bb["slippage_mean_bps"] = [_plain_mean([d for d in recs if (d.broker or "unknown") == b]) for b in bb.index]
    bb["slippage_mean_bps"] = bb["slippage_mean_bps"].astype(float)
    return bb.reset_index()[cols]


def _plain_mean(recs: list[DayRecord]) -> float | None:
    """Plain mean bps of every filled trade of ``recs`` (each day's mean weighted by its trades)."""
    means = [(d.slippage_mean_bps, int(d.trades)) for d in recs if d.slippage_mean_bps is not None and d.trades > 0]
    n = sum(k for _, k in means)
    return sum(m * k for m, k in means) / n if n else None


def _returns(recs, daily, month, opening_value, opening_date, cash_flows, values_after_costs) -> MonthReturn:
    """The month's time-weighted returns (:func:`xlexec.core.returns.time_weighted`); each
    period's flow, base and returns go on its closing day's row of ``daily`` (NaN elsewhere)."""
    tw = time_weighted(
        [
            ValueDay(d.date, _num(d.portfolio_value), _num(d.portfolio_value_after), float(c), float(sl))
            for d, c, sl in zip(recs, daily["commission"].fillna(0.0), daily["slippage_usd"].fillna(0.0))
        ],
        dict(cash_flows or {}),
        month=month,
        opening_value=opening_value,
        opening_date=opening_date,
        values_after_costs=values_after_costs,
    )
    by_end = {p.end: p for p in tw.periods}
    for col, attr in (("cash_flow", "flow"), ("return_base", "base"), ("net_return", "net"), ("gross_return", "gross")):
        daily[col] = [float(getattr(by_end[x], attr)) if x in by_end else np.nan for x in daily["date"]]
    return tw


def monthly_report(
    days: list[DayRecord],
    month: str,
    *,
    opening_value: float | None = None,
    values_after_costs: bool = True,
    cash_flows: dict[str, float] | None = None,
    opening_date: str | None = None,
) -> MonthlyResult:
    """The month's cost summary from its days (see the module docstring for every rule).

    ``opening_value``: the last reconciled portfolio value ($) before the month, when known, of
    ``opening_date``; ``cash_flows``: external flows, date -> net $ (+ deposit, - withdrawal).
    """
    notes: list[str] = []
    recs = _month_days(days, month, notes)
    daily, pv, after = _daily(recs)
    tot_comm = float(daily["commission"].sum())
    tot_slip = float(daily["slippage_usd"].sum())
    tot_notional = float(daily["notional"].sum())
    avg_bps = bps_of(tot_slip, tot_notional) if tot_notional > 0 else None
    avg_pv = _average_value(daily, month, notes)
    cost_pct = (tot_comm + tot_slip) / avg_pv if avg_pv else None
    corr = _turnover_cost_corr(daily, notes)
    tw = _returns(recs, daily, month, opening_value, opening_date, cash_flows, values_after_costs)
    notes += tw.notes
    if tw.net is None and recs:
        notes.append("gross/net return not available: not enough reconciled portfolio values")
    return MonthlyResult(
        month=month,
        days=len(recs),
        total_commission=tot_comm,
        slippage_usd=tot_slip,
        notional=tot_notional,
        avg_slippage_bps=avg_bps,
        avg_portfolio_value=avg_pv,
        cost_pct_portfolio=cost_pct,
        turnover_cost_corr=corr,
        gross_return=tw.gross,
        commission_costs=tw.commission_costs,
        slippage_costs=tw.slippage_costs,
        net_return=tw.net,
        by_broker=_by_broker(daily, recs),
        daily=daily[DAILY_COLUMNS],
        return_period=tw.span,
        notes=notes,
        slippage_mean_bps=_plain_mean(recs),
        turnover=turnover(daily["notional"].to_numpy(), avg_pv) if avg_pv else None,
        cash_flows=tw.flows,
        returns=tw,
        benchmarks=month_benchmarks(month_orders([(d.date, d.benchmarks) for d in recs if d.benchmarks is not None])),
        days_without_benchmarks=[d.date for d in recs if d.benchmarks is None],
    )


def month_tca(days, *, closes=None, arrivals=None, default_order_type: str = "limit") -> list:
    """The TCA of several days in one batch (:func:`xlexec.core.tca.tca_many`): ``days`` are
    ``(date, trades, fills)``; each day's portfolio value is its trades header's ``# Portfolio
    Value`` ($). ``closes``/``arrivals`` as :func:`~xlexec.core.tca.tca_many` takes them. Returns one
    :class:`~xlexec.core.tca.TcaResult` per day, in order (each makes a :class:`DayRecord` with
    :meth:`DayRecord.from_tca`)."""
    from xlexec.core.tca import tca_many

    days = list(days)
    return tca_many(
        [(date, trades) for date, trades, _ in days],
        [fills for _, _, fills in days],
        closes=closes,
        arrivals=arrivals,
        portfolio_values=[trades.header.portfolio_value for _, trades, _ in days],
        default_order_type=default_order_type,
    )
