"""A broker fake's clock for tests that must run on an NYSE session: the real clock on a session
day; on a weekend or holiday the same moment moved to 15:00 UTC of the last session (submit and
the chase run on the session the broker's clock says). ``make test`` already runs on a session
(tools/on_a_session.py); this keeps the tests true when pytest is run directly on a closed day."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from xlexec.core import calendar as cal

NY = ZoneInfo("America/New_York")


def _shift() -> dt.timedelta:
    now = dt.datetime.now(dt.UTC)
    day = now.astimezone(NY).date().isoformat()
    if cal.is_session(day):
        return dt.timedelta(0)
    last = dt.date.fromisoformat(cal.previous_session(day))
    return dt.datetime.combine(last, dt.time(15, 0), dt.UTC) - now


SHIFT = _shift()


def session_now() -> dt.datetime:
    """The fake's clock: tz-aware UTC, on a session day (see the module's docstring)."""
    return dt.datetime.now(dt.UTC) + SHIFT


def clock_tool():
    """``tools/on_a_session.py`` (a script, not a package) loaded as a module: how ``make test``
    moves the suite's wall clock (``SHIFT``, ``build_shim``, ``environment``...)."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "tools" / "on_a_session.py"
    spec = importlib.util.spec_from_file_location("on_a_session", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
