"""The one reader of ``XLEXEC_NOW``: the clock of the shells and of the paper broker.

``XLEXEC_NOW`` (ISO time; naive means UTC) pins the clock for reproducible runs (the demo and
the tests use it); unset, the real clock. Core code never calls this: shells pass ``ctx.now()``.
"""

from __future__ import annotations

import datetime as dt
import os


def env_now() -> dt.datetime:
    """``XLEXEC_NOW`` (ISO time; naive means UTC) when set, else the real clock, tz-aware UTC."""
    pinned = os.environ.get("XLEXEC_NOW")
    if pinned:
        t = dt.datetime.fromisoformat(pinned)
        return t if t.tzinfo else t.replace(tzinfo=dt.UTC)
    return dt.datetime.now(dt.UTC)
