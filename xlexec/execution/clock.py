"""The one reader of ``XLEXEC_NOW``: the clock of the shells and of the paper broker.

``XLEXEC_NOW`` (ISO time; naive means UTC) pins the clock for reproducible runs (the demo and
the tests use it); unset, the real clock. Core code never calls this: shells pass ``ctx.now()``.

The pin is for the paper broker only: with any other ``execution.broker`` (a real account)
:func:`env_now` refuses (:class:`~xlexec.errors.RefusedError`, one line), so a back-dated clock
can never date an approval or pick the trading day of real orders. The journal's ``ts_utc`` is
never pinned (:func:`wall_now`, the real clock).
"""

from __future__ import annotations

import datetime as dt
import os

from xlexec.errors import RefusedError

PIN = "XLEXEC_NOW"


def wall_now() -> dt.datetime:
    """The real clock, tz-aware UTC (never pinned)."""
    return dt.datetime.now(dt.UTC)


def env_now(broker: str = "paper") -> dt.datetime:
    """``XLEXEC_NOW`` (ISO time; naive means UTC) when set, else the real clock, tz-aware UTC.

    ``broker`` is the configured ``execution.broker``: a pin with any broker but ``paper`` is
    refused (:class:`RefusedError`)."""
    pinned = os.environ.get(PIN)
    if pinned:
        if broker != "paper":
            raise RefusedError(
                f"{PIN} is set ({pinned[:40]!r}) but execution.broker is {broker}: the pinned clock is "
                f"for the paper broker only; unset {PIN} to use the real clock",
                rule="pinned_clock",
            )
        t = dt.datetime.fromisoformat(pinned)
        return t if t.tzinfo else t.replace(tzinfo=dt.UTC)
    return wall_now()
