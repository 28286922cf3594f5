"""THE return figures (pure): time-weighted daily and monthly returns with external cash flows.

Convention (docs/accounting.md, "Returns"): an external cash flow (``+`` a deposit, ``-`` a
withdrawal, $) dated ``d`` arrives at the **start of day d**, before any trading, so it is part
of the day's base and never part of its return:

* ``base = V_start + F`` ($), ``V_start`` the value before the flows (the previous reconciled
  end-of-day value), ``F`` the day's net flow;
* net return ``r = (V_end - V_start - F) / (V_start + F)`` (fraction; ``V_end`` the reconciled
  end-of-day value, marked after trading costs);
* gross return ``g = r + (commission + slippage) / base``, costs ($, > 0 = cost) on the **same**
  base as the return;
* a month links its periods: ``R = prod(1 + r) - 1`` (net), ``G = prod(1 + g) - 1`` (gross).

A period is normally one day; days without a reconciled value fold into the next period that has
one (its flows and costs with it): :func:`time_weighted` builds the periods from the days.
The month's cost drag ``G - R`` is split between commission and slippage with
:func:`cost_attribution` (the mean of the two orders of taking them out, so the split does not
depend on which comes first, and the two parts add up to ``G - R`` exactly).

Nothing is rounded here (fractions, unrounded).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

FLOW_CONVENTION = (
    "time-weighted; a cash flow arrives at the start of its day: "
    "r = (V_end - V_start - F) / (V_start + F), gross = r + costs / (V_start + F); "
    "the month links the days: prod(1 + r) - 1"
)


def period_return(value_start: float, flow: float, value_end: float) -> float:
    """Net return (fraction) of one period with the flow ``flow`` ($) at its start:
    ``(value_end - value_start - flow) / (value_start + flow)``. Base <= 0 raises ValueError."""
    base = value_start + flow
    if not base > 0:
        raise ValueError(f"return base V_start + F = {base!r} is not positive")
    return (value_end - value_start - flow) / base


def link(returns: Sequence[float]) -> float:
    """Linked (geometric) return of consecutive periods: ``prod(1 + r) - 1`` (fraction)."""
    out = 1.0
    for r in returns:
        out *= 1.0 + r
    return out - 1.0


def cost_attribution(
    net: Sequence[float], commission: Sequence[float], slippage: Sequence[float]
) -> tuple[float, float]:
    """``(commission_costs, slippage_costs)`` of a linked month (fractions, > 0 = cost).

    ``net``, ``commission``, ``slippage``: per period, the net return and the costs as fractions
    of the period's base. With ``G`` = link(net + c + s), ``R`` = link(net), ``A`` = link(net + s)
    (gross with the commission not added back) and ``B`` = link(net + c):
    commission_costs = ((G - A) + (B - R)) / 2, slippage_costs = ((G - B) + (A - R)) / 2, so
    commission_costs + slippage_costs = G - R exactly."""
    g = link([n + c + s for n, c, s in zip(net, commission, slippage)])
    r = link(list(net))
    a = link([n + s for n, s in zip(net, slippage)])
    b = link([n + c for n, c in zip(net, commission)])
    return ((g - a) + (b - r)) / 2.0, ((g - b) + (a - r)) / 2.0


@dataclass(frozen=True)
class ValueDay:
    """One trading day's inputs to the return ($): ``value_start`` the trades header's start-of-
    day value (taken as before the day's flows), ``value_end`` the reconciled end-of-day value
    (after trading costs), ``None`` = unknown; commission and slippage $ (> 0 = cost)."""

    date: str
    value_start: float | None
    value_end: float | None
    commission: float = 0.0
    slippage: float = 0.0


@dataclass(frozen=True)
class Period:
    """One linked period: the days ``start`` .. ``end`` (``end`` has the reconciled value).

    $: ``value_start`` (before the flows), ``flow`` (net flow at the start), ``value_end``,
    ``commission``, ``slippage``; ``base = value_start + flow``; fractions: ``net``, ``gross``,
    ``commission_frac`` = commission / base, ``slippage_frac`` = slippage / base."""

    start: str
    end: str
    value_start: float
    flow: float
    value_end: float
    commission: float
    slippage: float
    base: float
    net: float
    gross: float
    commission_frac: float
    slippage_frac: float


@dataclass
class MonthReturn:
    """The linked month (fractions, unrounded): ``net``, ``gross``, ``commission_costs``,
    ``slippage_costs`` (``gross - net`` split), ``flows`` ($, the flows inside the periods),
    ``periods``; all None / empty when no period could be formed (the notes say why)."""

    net: float | None = None
    gross: float | None = None
    commission_costs: float | None = None
    slippage_costs: float | None = None
    flows: float = 0.0
    periods: list[Period] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def span(self) -> tuple[str, str] | None:
        return (self.periods[0].start, self.periods[-1].end) if self.periods else None


def _ok(x: float | None) -> bool:
    return x is not None and math.isfinite(x) and x > 0


def _day_before(date: str) -> str:
    return (dt.date.fromisoformat(date) - dt.timedelta(days=1)).isoformat()


def _first_base(
    days: Sequence[ValueDay], have: list[int], month: str, opening_value, opening_date, notes: list[str]
) -> tuple[float, str, int, list[int]] | None:
    """``(V_start $, flows after this date count, first day index, closing day indexes)`` of the
    first period (see :func:`time_weighted`), or None when there is no base."""
    if _ok(opening_value):
        return float(opening_value), (opening_date or _day_before(month + "-01")), 0, have
    if _ok(days[0].value_start):
        notes.append(
            f"return base: the start-of-day portfolio value of {days[0].date} (trades.csv header, taken as before "
            "that day's cash flows), no reconciled value before the month"
        )
        return float(days[0].value_start or 0.0), _day_before(month + "-01"), 0, have
    f = have[0]
    if len(have) < 2:
        return None
    notes.append(f"return base: the reconciled value of {days[f].date}; its own move and flows are not covered")
    return float(days[f].value_end or 0.0), days[f].date, f + 1, have[1:]


def _flow_notes(flows: Mapping[str, float], used: set[str], month: str, notes: list[str]) -> None:
    early = sorted(k for k in used if not k.startswith(month + "-"))
    if early:
        notes.append(
            f"cash flows dated {', '.join(early)} (after the last reconciled day before {month}) are in the month"
        )
    left = sorted(k for k in flows if k.startswith(month + "-") and k not in used)
    if left:
        notes.append(f"cash flows dated {', '.join(left)} are in no reconciled period of {month}: not in the return")


def time_weighted(
    days: Sequence[ValueDay],
    flows: Mapping[str, float],
    *,
    month: str,
    opening_value: float | None = None,
    opening_date: str | None = None,
    values_after_costs: bool = True,
) -> MonthReturn:
    """The month's time-weighted return from its trading ``days`` (date order) and the external
    ``flows`` (date -> net $, any dates; those of no period are named in the notes).

    Base of the first period, first found: ``opening_value`` (the last reconciled value before
    the month, of ``opening_date``; flows after that date count); the first day's
    ``value_start`` (flows from the 1st of the month count); the first reconciled day's own value
    (its move, and the flows up to it, are not covered). Each later reconciled day closes a
    period; the flows dated after the previous period's end up to its date are at its start.
    ``values_after_costs`` (default): reconciled values are after costs, the observed return is
    net (gross = net + costs / base); else it is gross (net = gross - costs / base)."""
    out = MonthReturn()
    notes = out.notes
    have = [i for i, d in enumerate(days) if _ok(d.value_end)]
    missing = [d.date for d in days if not _ok(d.value_end)]
    if missing:
        notes.append(
            "no reconciled portfolio value for "
            + ", ".join(missing)
            + " (no reconciliation.json / positions_after_recon.csv): folded into the next reconciled day's period"
        )
    first = _first_base(days, have, month, opening_value, opening_date, notes) if have else None
    if first is None:
        return out
    prev_value, lo, first_day, todo = first
    used: set[str] = set()
    for i in todo:
        span, hi = days[first_day : i + 1], days[i].date
        dates = sorted(k for k in flows if lo < k <= hi)
        used.update(dates)
        flow = float(sum(flows[k] for k in dates))
        comm, slip = float(sum(d.commission for d in span)), float(sum(d.slippage for d in span))
        v_end = float(days[i].value_end or 0.0)
        try:
            observed = period_return(prev_value, flow, v_end)
        except ValueError as e:
            notes.append(f"{span[0].date} .. {hi}: {e}: return not available")
            return MonthReturn(notes=notes)
        base = prev_value + flow
        cf, sf = comm / base, slip / base
        net, gross = (observed, observed + cf + sf) if values_after_costs else (observed - cf - sf, observed)
        out.periods.append(Period(span[0].date, hi, prev_value, flow, v_end, comm, slip, base, net, gross, cf, sf))
        prev_value, lo, first_day = v_end, hi, i + 1
    out.flows = float(sum(flows[k] for k in used))
    _flow_notes(flows, used, month, notes)
    if have[-1] < len(days) - 1:
        notes.append(f"return runs through {days[have[-1]].date} only (later days not reconciled)")
    p = out.periods
    out.net, out.gross = link([x.net for x in p]), link([x.gross for x in p])
    drag = cost_attribution([x.net for x in p], [x.commission_frac for x in p], [x.slippage_frac for x in p])
    out.commission_costs, out.slippage_costs = drag
    return out
