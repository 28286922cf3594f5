"""Events near the trade date (``events.csv``: symbol, date, event; kinds in :mod:`xlexec.core.events`).

A corporate event or a halt counts when its date is within ``earnings_window_days`` NYSE
sessions of the trade date, either side (outside the calendar's range: calendar days). Only
traded symbols count. Row value = the offset in sessions (+ after, - before), limit = the
window. A macro event (FOMC, CPI, jobs report: market-wide, symbol ``*``) counts on the trade
date itself.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from xlexec.core import calendar as nyse_calendar
from xlexec.core.checks.base import Check, Findings
from xlexec.core.checks.context import CheckContext
from xlexec.core.checks.registry import register
from xlexec.core.events import HALT, MACRO_EVENTS, MARKET_WIDE


def near_events(c: CheckContext, events: pd.DataFrame) -> pd.DataFrame:
    """``events`` of traded symbols within the window, with their offset ``_off`` (sessions)."""
    window, trade_date = c.th.earnings_window_days, c.trade_date
    traded = set(c.t.sym.tolist())
    syms = events["symbol"].tolist()
    ev = events[np.fromiter((s in traded for s in syms), dtype=bool, count=len(syms))]  # isin, per event
    if len(ev):
        dates = ev["date"].astype(str).tolist()
        try:
            off = nyse_calendar.trading_days_offsets(trade_date, dates)
        except ValueError:  # outside the calendar: fall back to calendar days
            td = dt.date.fromisoformat(trade_date)
            off = np.array([(dt.date.fromisoformat(d) - td).days for d in dates])
        near = np.abs(off) <= window
        ev = ev[near].assign(_off=off[near])
    return ev


def _when(off: int) -> str:
    off = int(off)
    if off == 0:
        return "on the day of"
    return f"{abs(off)} trading day(s) {'after' if off > 0 else 'before'}"


class _EventCheck(Check):
    """Base of the two event checks: rows for the near events ``selected`` by the subclass."""

    what = "events"

    def selected(self, kinds: pd.Series) -> pd.Series:
        raise NotImplementedError

    def rows(self, c: CheckContext, out: Findings) -> None:
        window = float(c.th.earnings_window_days)
        events = c.events
        if events is None or events.empty:
            msg = "not checked: no events file" if events is None else "no events listed"
            out.add("pass", "", float("nan"), window, msg)
            return
        ev = c.memo("near_events", lambda: near_events(c, events))
        kinds = ev["event"].astype(str) if len(ev) else pd.Series(dtype=str)
        hit = ev[self.selected(kinds).to_numpy(dtype=bool)] if len(ev) else ev
        if len(hit):
            out.add(
                self.breach,
                hit["symbol"].to_numpy(dtype=object),
                hit["_off"].to_numpy(dtype=float),
                window,
                [
                    f"{s}: {'trading halt' if e == 'halt' else e.replace('_', '-')} on {d} ({_when(o)} the trade date)"
                    for s, e, d, o in zip(hit["symbol"], hit["event"], hit["date"], hit["_off"])
                ],
            )
        else:
            out.add(
                "pass",
                "",
                float("nan"),
                window,
                f"no {self.what} within {c.th.earnings_window_days} trading day(s) of {c.trade_date}",
            )


@register
class CorporateEvent(_EventCheck):
    """No corporate event other than a halt (earnings, ex-dividend...) for a traded symbol within
    ``earnings_window_days`` NYSE sessions of the trade date."""

    id = "corporate_event"
    policy = "warn"
    what = "corporate events"

    def selected(self, kinds: pd.Series) -> pd.Series:
        return (kinds != HALT) & ~kinds.isin(list(MACRO_EVENTS))


@register
class MacroEvent(Check):
    """No market-wide macro event (FOMC rate decision, CPI release, jobs report: ``events.csv``
    rows ``*,DATE,fomc|cpi|nfp``) on the trade date; one portfolio-level row per event, naming it
    (the guide: high-volatility days call for caution, not a refusal)."""

    id = "macro_event"
    policy = "warn"

    def rows(self, c: CheckContext, out: Findings) -> None:
        events = c.events
        kinds = ", ".join(MACRO_EVENTS.values())
        if events is None:
            out.add("pass", "", float("nan"), float("nan"), "not checked: no events file")
            return
        ev = events[
            (events["symbol"].astype(str) == MARKET_WIDE)
            & events["event"].astype(str).isin(list(MACRO_EVENTS))
            & (events["date"].astype(str) == c.trade_date)
        ].drop_duplicates(["event", "date"])
        if not len(ev):
            out.add("pass", "", float("nan"), float("nan"), f"no macro event ({kinds}) on {c.trade_date}")
            return
        out.add(
            self.breach,
            "",
            0.0,
            float("nan"),
            [
                f"{MACRO_EVENTS[e]} on {d} (the trade date): a market-wide high-volatility day, trade with care"
                for e, d in zip(ev["event"], ev["date"])
            ],
        )


@register
class Halted(_EventCheck):
    """No trading halt (``events.csv`` kind ``halt``, the one source of halts) for a traded
    symbol within ``earnings_window_days`` NYSE sessions of the trade date, the day itself
    included: one row per halt, naming the symbol (the Blotter marks its orders fail, the
    decision is REJECT)."""

    id = "halted"
    policy = "fail"
    what = "halts"

    def selected(self, kinds: pd.Series) -> pd.Series:
        return kinds == HALT
