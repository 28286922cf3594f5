"""The trade date on the NYSE calendar."""

from __future__ import annotations

from xlexec.core import calendar as nyse_calendar
from xlexec.core.checks.base import Check, Findings
from xlexec.core.checks.context import CheckContext
from xlexec.core.checks.registry import register

NAN = float("nan")


@register
class MarketCalendar(Check):
    """The trade date is an NYSE session (breach: weekend or holiday); a half day (close 13:00
    New York) warns, and so does a date outside the calendar's range."""

    id = "market_calendar"
    policy = "fail"

    def rows(self, c: CheckContext, out: Findings) -> None:
        d = c.trade_date
        try:
            if not nyse_calendar.is_session(d):
                out.add(self.breach, "", NAN, NAN, f"{d} is not an NYSE session (weekend or holiday)")
            elif nyse_calendar.is_half_day(d):
                out.add("warn", "", NAN, NAN, f"{d} is an NYSE half day (closes 13:00 New York)")
            else:
                out.add("pass", "", NAN, NAN, f"{d} is a full NYSE session")
        except ValueError as e:
            out.add("warn", "", NAN, NAN, f"cannot tell: {e}")
