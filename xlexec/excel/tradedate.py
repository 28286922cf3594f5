"""The trade date typed on Control (B4), read the way Excel users type dates.

The rule (:func:`parse_trade_date`), first match wins:

* a real Excel date (the cell holds a date: read as the reader gives it, ``YYYY-MM-DD``), or a
  whole number between 1 and 2958465 (Excel's date serial, 1900 date system; e.g. ``46357``
  is 2026-12-01) or eight digits ``YYYYMMDD``;
* ISO, always: ``2026-12-01``, ``2026/12/01``, ``2026.12.01`` (a time after it is ignored);
* a month name, always (English, 3 letters or in full; a 2-digit year is 20YY):
  ``1-Dec-2026``, ``1 Dec 2026``, ``Dec 1, 2026``, ``1 December 2026``;
* dots, always day.month.year: ``01.12.2026`` (the only convention that writes dates with dots);
* slashes (or dashes between numbers), ``A/B/YYYY``: the config's ``workbook.slash_dates``
  decides: ``mdy`` (US month/day), ``dmy`` (day/month), or ``refuse`` (the default): taken only
  when a single reading is a date (``13/1/2026`` can only be 13 January) or both readings are the
  same day (``5/5/2026``); ``12/1/2026`` is refused in one line naming both readings.

Anything else is refused (:class:`~xlexec.errors.InputError` naming Control!B4). No I/O.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from xlexec.errors import InputError

SLASH_ORDERS = ("refuse", "mdy", "dmy")
_MONTHS = {
    m: i
    for i, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ],
        1,
    )
    for m in names
}
_ISO = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T].*)?")
_DOTS = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4}|\d{2})")
_SLASH = re.compile(r"(\d{1,2})[/-](\d{1,2})[/-](\d{4}|\d{2})")
_DAY_MON = re.compile(r"(\d{1,2})[- ]([A-Za-z]+)\.?[- ,]+(\d{4}|\d{2})")
_MON_DAY = re.compile(r"([A-Za-z]+)\.?[ -](\d{1,2})(?:st|nd|rd|th)?,?[ -](\d{4}|\d{2})")
_EPOCH = dt.date(1899, 12, 30)


def _refuse(text: str, why: str) -> InputError:
    return InputError("Control", f"trade date {text[:30]!r} {why}", row=4, column="B")


def _year(y: str) -> int:
    return 2000 + int(y) if len(y) == 2 else int(y)


def _date(text: str, y: int, m: int, d: int) -> dt.date:
    try:
        return dt.date(y, m, d)
    except ValueError:
        raise _refuse(text, f"is not a calendar day (year {y}, month {m}, day {d})") from None


def _valid(y: int, m: int, d: int) -> dt.date | None:
    try:
        return dt.date(y, m, d)
    except ValueError:
        return None


def _slashed(text: str, a: int, b: int, y: int, order: str) -> dt.date:
    if order == "mdy":
        return _date(text, y, a, b)
    if order == "dmy":
        return _date(text, y, b, a)
    as_mdy, as_dmy = _valid(y, a, b), _valid(y, b, a)
    if as_mdy and as_dmy and as_mdy != as_dmy:
        raise _refuse(
            text,
            f"could be {as_mdy.isoformat()} (month/day) or {as_dmy.isoformat()} (day/month): type "
            f"{as_mdy.isoformat()} or {as_mdy.day}-{as_mdy.strftime('%b')}-{y}, or set workbook.slash_dates "
            "(mdy or dmy) in the config",
        )
    found = as_mdy or as_dmy
    if found is None:
        raise _refuse(text, "is not a calendar day in either month/day or day/month order")
    return found


def parse_trade_date(value: Any, slash_dates: str = "refuse") -> str:
    """The trade date ``value`` (Control!B4 as read: text, a date, a number) as ``YYYY-MM-DD``,
    by the rule of the module docstring; ``slash_dates``: ``refuse`` | ``mdy`` | ``dmy``."""
    if slash_dates not in SLASH_ORDERS:
        raise ValueError(f"slash_dates must be one of {SLASH_ORDERS}, got {slash_dates!r}")
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        raise _refuse(str(value), "is not a date")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip() if value is not None else ""
    if not text:
        raise _refuse(text, "is empty: type a date such as 2026-12-01")
    if re.fullmatch(r"\d{8}", text):
        return _date(text, int(text[:4]), int(text[4:6]), int(text[6:])).isoformat()
    if re.fullmatch(r"\d{1,7}", text):
        n = int(text)
        if not 1 <= n <= 2958465:
            raise _refuse(text, "is not an Excel date serial (1 to 2958465)")
        return (_EPOCH + dt.timedelta(days=n)).isoformat()
    if m := _ISO.fullmatch(text):
        return _date(text, int(m[1]), int(m[2]), int(m[3])).isoformat()
    if m := _DOTS.fullmatch(text):
        return _date(text, _year(m[3]), int(m[2]), int(m[1])).isoformat()
    if m := _SLASH.fullmatch(text):
        return _slashed(text, int(m[1]), int(m[2]), _year(m[3]), slash_dates).isoformat()
    for pat, day_first in ((_DAY_MON, True), (_MON_DAY, False)):
        if m := pat.fullmatch(text):
            d, name = (m[1], m[2]) if day_first else (m[2], m[1])
            month = _MONTHS.get(name.lower())
            if month is None:
                raise _refuse(text, f"has no month called {name[:12]!r}")
            return _date(text, _year(m[3]), month, int(d)).isoformat()
    raise _refuse(text, "is not a date: type 2026-12-01 (ISO), 1-Dec-2026 or 01.12.2026 (day.month.year)")
