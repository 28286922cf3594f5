"""The NYSE trading calendar (sessions, holidays, half days) from ``exchange_calendars``.

No hand-written holiday list: the maintained ``XNYS`` calendar is built once per process
(:func:`nyse`, cached) over 1990 .. :data:`HORIZON_YEAR`, and extended on demand (once, cached)
to ten years past the latest date asked for, up to :data:`MAX_YEAR`; no clock is read.

Building it from the holiday rules costs ~0.15 s in every process (every button press), so the
sessions of 1990 .. :data:`HORIZON_YEAR` are also shipped as data, :mod:`xlexec.core.nyse_table`
(generated from exchange_calendars by ``tools/nyse_table.py``: closed weekdays, early closes,
late opens). The table is used only while the installed exchange_calendars is the version it
was generated from (:func:`source` says which); another version, or a date past the table,
builds the calendar from the library's rules as before. Sessions, half days and open/close
times are the same either way (``tests/test_calendar_table.py`` holds both to the library). Dates go
in as ``YYYY-MM-DD`` strings, ``datetime.date`` or pandas ``Timestamp`` (a time of day is
ignored); dates come out as ``YYYY-MM-DD`` strings, the way every other module names a day.

A date outside the calendar's range raises :class:`ValueError` naming the range.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Iterable
from functools import lru_cache
from typing import TypeAlias

import numpy as np
import pandas as pd

CALENDAR_NAME = "XNYS"
START = "1990-01-01"
HORIZON_YEAR = 2040  # the first build covers START .. 2040-12-31 (a fixed range: no clock read)
MAX_YEAR = 2200  # the latest year a date may carry (the horizon grows to it on demand)

# a day as callers name it; np.datetime64 is what this module passes itself (e.g. is_session(d))
DateLike: TypeAlias = str | dt.date | dt.datetime | pd.Timestamp | np.datetime64


@lru_cache(maxsize=8)
def _calendar(end_year: int):
    """The ``exchange_calendars`` XNYS calendar over ``START`` .. 31 Dec ``end_year``."""
    import exchange_calendars as xc

    with warnings.catch_warnings():  # the library's own pandas deprecation noise
        warnings.simplefilter("ignore")
        return xc.get_calendar(CALENDAR_NAME, start=START, end=f"{end_year}-12-31")


_end_year = [HORIZON_YEAR]  # the horizon built so far (extended on demand, never shrunk)


def nyse(through_year: int | None = None):
    """The cached XNYS calendar, covering at least ``START`` .. 31 Dec ``through_year``.

    The first build covers through :data:`HORIZON_YEAR`; a later date extends the horizon to
    that year + 10 (built once, cached). No clock is read: the range depends only on the
    dates asked for. Beyond :data:`MAX_YEAR` a :class:`ValueError` names the range.
    """
    if through_year is not None and through_year > _end_year[0]:
        if through_year > MAX_YEAR:
            raise ValueError(f"{through_year} is beyond the NYSE calendar's horizon ({START} .. {MAX_YEAR}-12-31)")
        _end_year[0] = min(through_year + 10, MAX_YEAR)
    return _calendar(_end_year[0])


def _sessions() -> np.ndarray:
    """Session dates as sorted ``datetime64[D]`` (of the horizon built so far)."""
    return _arrays(_end_year[0])[0]


def _early_closes() -> np.ndarray:
    return _arrays(_end_year[0])[1]


@lru_cache(maxsize=8)
def _arrays(end_year: int) -> tuple[np.ndarray, np.ndarray]:
    if end_year == HORIZON_YEAR and table_in_use():
        return _table_arrays()
    cal = nyse()
    return (cal.sessions.values.astype("datetime64[D]"), np.asarray(cal.early_closes.values.astype("datetime64[D]")))


def _installed_version() -> str | None:
    """The installed exchange_calendars' version (package metadata, as the import system knows
    it), or None."""
    import importlib.metadata

    try:
        return importlib.metadata.version("exchange_calendars")
    except importlib.metadata.PackageNotFoundError:
        return None


@lru_cache(maxsize=1)
def table_in_use() -> bool:
    """True when :mod:`xlexec.core.nyse_table` was generated from the installed exchange_calendars
    (and covers the first horizon); else the calendar is built from the library's rules."""
    from xlexec.core import nyse_table as t

    return _installed_version() == t.EXCHANGE_CALENDARS_VERSION and (
        START,
        f"{HORIZON_YEAR}-12-31",
    ) == (t.FIRST, t.LAST)


def source() -> str:
    """Where the sessions of the current horizon come from: ``"table <version>"`` or ``"rules"``."""
    if _end_year[0] == HORIZON_YEAR and table_in_use():
        from xlexec.core import nyse_table as t

        return f"table {t.EXCHANGE_CALENDARS_VERSION}"
    return "rules"


def _stamps(text: str) -> dict[str, str]:
    """``"YYYYMMDD@HHMM ..."`` -> ``{"YYYY-MM-DD": "HH:MM"}``."""
    out = {}
    for item in text.split():
        d, hm = item.split("@")
        out[f"{d[:4]}-{d[4:6]}-{d[6:]}"] = f"{hm[:2]}:{hm[2:]}"
    return out


@lru_cache(maxsize=1)
def _table_times() -> tuple[dict[str, str], dict[str, str]]:
    """The table's early closes and late opens, ``{day: "HH:MM" New York}``."""
    from xlexec.core import nyse_table as t

    return _stamps(t.EARLY_CLOSES), _stamps(t.LATE_OPENS)


def _table_arrays() -> tuple[np.ndarray, np.ndarray]:
    """Sessions and early closes (``datetime64[D]``) from the table: weekdays minus closed ones."""
    from xlexec.core import nyse_table as t

    days = np.arange(np.datetime64(t.FIRST, "D"), np.datetime64(t.LAST, "D") + 1)
    closed = np.array([f"{d[:4]}-{d[4:6]}-{d[6:]}" for d in t.CLOSED_WEEKDAYS.split()], dtype="datetime64[D]")
    sessions = days[np.is_busday(days) & ~np.isin(days, closed)]
    early = np.array(sorted(_table_times()[0]), dtype="datetime64[D]")
    return sessions, early


def _day(date: DateLike) -> np.datetime64:
    """Any date-like -> ``datetime64[D]`` (naive calendar day), range-checked."""
    if isinstance(date, str):
        try:
            d = dt.date.fromisoformat(date.strip()[:10])
        except ValueError:
            raise ValueError(f"{date!r} is not a YYYY-MM-DD date") from None
    elif isinstance(date, (pd.Timestamp, dt.datetime)):
        d = date.date()
    elif isinstance(date, dt.date):
        d = date
    elif isinstance(date, np.datetime64):
        return _check_range(date.astype("datetime64[D]"))
    else:
        raise ValueError(f"{date!r} is not a date")
    return _check_range(np.datetime64(d.isoformat(), "D"))


def _check_range(d: np.datetime64) -> np.datetime64:
    s = _sessions()
    if d > s[-1] and d.astype(object).year <= MAX_YEAR:
        nyse(d.astype(object).year)  # extend the horizon to cover d
        s = _sessions()
    if d < np.datetime64(START, "D") or d > s[-1]:
        raise ValueError(f"{d} is outside the NYSE calendar's range ({START} .. {s[-1]})")
    return d


def _iso(d: np.datetime64) -> str:
    return str(d.astype("datetime64[D]"))


def is_session(date: DateLike) -> bool:
    """True when the NYSE trades on ``date`` (weekday, not a holiday)."""
    d = _day(date)
    s = _sessions()
    i = np.searchsorted(s, d)
    return bool(i < len(s) and s[i] == d)


def is_half_day(date: DateLike) -> bool:
    """True when ``date`` is a session that closes early (13:00 New York)."""
    d = _day(date)
    e = _early_closes()
    i = np.searchsorted(e, d)
    return bool(i < len(e) and e[i] == d)


def next_session(date: DateLike) -> str:
    """The first session strictly after ``date`` (``YYYY-MM-DD``)."""
    d = _day(date)
    s = _sessions()
    i = np.searchsorted(s, d, side="right")
    if i >= len(s):
        raise ValueError(f"no NYSE session known after {_iso(d)}")
    return _iso(s[i])


def previous_session(date: DateLike) -> str:
    """The last session strictly before ``date`` (``YYYY-MM-DD``)."""
    d = _day(date)
    s = _sessions()
    i = np.searchsorted(s, d, side="left")
    if i == 0:
        raise ValueError(f"no NYSE session known before {_iso(d)}")
    return _iso(s[i - 1])


def sessions_between(a: DateLike, b: DateLike) -> list[str]:
    """Sessions from ``a`` to ``b``, both included, in order (empty when ``b < a``)."""
    da, db = _day(a), _day(b)
    s = _sessions()
    lo = np.searchsorted(s, da, side="left")
    hi = np.searchsorted(s, db, side="right")
    return [_iso(x) for x in s[lo:hi]]


def trading_days_between(a: DateLike, b: DateLike) -> int:
    """Signed count of sessions after ``a`` up to and including ``b``.

    Thursday -> Friday = 1, Friday -> Monday = 1, a date to itself = 0; negative when ``b``
    is before ``a`` (Monday -> Friday before = -1). Non-session endpoints work as expected
    (Saturday -> Monday = 1).
    """
    return int(trading_days_offsets(a, [b])[0])


def trading_days_offsets(a: DateLike, dates: Iterable[DateLike]) -> np.ndarray:
    """Vectorised :func:`trading_days_between` of ``a`` to each of ``dates`` (int array)."""
    da = _day(a)
    arr = np.asarray(pd.to_datetime(pd.Series(list(dates), dtype=object)).values.astype("datetime64[D]"))
    if len(arr) == 0:
        return np.zeros(0, dtype=int)
    for d in (arr.min(), arr.max()):
        _check_range(d)
    s = _sessions()
    # number of sessions <= x
    ca = np.searchsorted(s, da, side="right")
    cb = np.searchsorted(s, arr, side="right")
    return (cb - ca).astype(int)


def _session_time(date: DateLike, which: str) -> pd.Timestamp:
    d = _day(date)
    if not is_session(d):
        raise ValueError(f"{_iso(d)} is not an NYSE session")
    if _end_year[0] == HORIZON_YEAR and table_in_use():  # d is in the table's range (checked)
        early, late = _table_times()
        day = _iso(d)
        hm = early.get(day, "16:00") if which == "session_close" else late.get(day, "09:30")
        return pd.Timestamp(f"{day} {hm}", tz="America/New_York").tz_convert("UTC")
    with warnings.catch_warnings():  # the library's own pandas deprecation noise
        warnings.simplefilter("ignore")
        return getattr(nyse(), which)(pd.Timestamp(_iso(d)))


def session_close_utc(date: DateLike) -> pd.Timestamp:
    """Close time (UTC) of the session ``date`` (16:00 New York, 13:00 on half days)."""
    return _session_time(date, "session_close")


def session_open_utc(date: DateLike) -> pd.Timestamp:
    """Open time (UTC) of the session ``date`` (09:30 New York)."""
    return _session_time(date, "session_open")
