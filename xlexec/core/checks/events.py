"""Corporate events and halts near the trade date (``events.csv``: symbol, date, event).

An event counts when its date is within ``earnings_window_days`` NYSE sessions of the trade
date, either side (outside the calendar's range: calendar days). Only traded symbols count.
Row value = the offset in sessions (+ after, - before), limit = the window.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from xlexec.core import calendar as nyse_calendar
from xlexec.core.checks.base import Check, Findings
from xlexec.core.checks.context import CheckContext
from xlexec.core.checks.registry import register


def near_events(c: CheckContext, events: pd.DataFrame) -> pd.DataFrame:
    """``events`` of traded symbols within the window, with their offset ``_off`` (sessions)."""
    window, trade_date = c.th.earnings_window_days, c.trade_date
    ev = events[events["symbol"].isin(set(c.t.sym.tolist()))]
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
        return kinds != "halt"


@register
class Halted(_EventCheck):
    """No trading halt for a traded symbol within ``earnings_window_days`` NYSE sessions of the
    trade date."""

    id = "halted"
    policy = "fail"
    what = "halts"

    def selected(self, kinds: pd.Series) -> pd.Series:
        return kinds == "halt"
