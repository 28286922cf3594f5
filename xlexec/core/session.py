"""Today's trading session, from a clock reading and the NYSE calendar (pure: the time comes in).

The rules (the shells pass the time; :mod:`xlexec.execution.session` says which clock):

* **Today's session** is the New York calendar date of ``now`` when the NYSE trades that day,
  at any hour of it: before the open (09:30 New York) it is the session about to start, from
  the open to the close the session in progress, after the close still that session until New
  York midnight (a DAY order queued after the close trades the next session at the broker).
  On a weekend or an exchange holiday there is **no session**: ``None``.
* A trades file may be sent or converted only on the session it is dated for.
* An approval is valid for one session: its recorded time must fall on the same New York
  calendar date as the session (approving Monday's file on Sunday does not cover Monday).
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from xlexec.core import calendar as cal

NY = ZoneInfo("America/New_York")


def ny_date(t: dt.datetime) -> str:
    """The New York calendar date (``YYYY-MM-DD``) of the instant ``t`` (naive means UTC)."""
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    return t.astimezone(NY).date().isoformat()


def session_on(now: dt.datetime) -> str | None:
    """Today's session at the instant ``now`` (``YYYY-MM-DD``), ``None`` on a non-session day."""
    day = ny_date(now)
    try:
        return day if cal.is_session(day) else None
    except ValueError:  # outside the calendar's range: no session known
        return None


def file_day_refusal(file_day: str, session: str | None, *, what: str) -> str | None:
    """The one-line refusal when a trades file dated ``file_day`` may not be ``what`` (e.g.
    "sent", "converted") in ``session`` (today's session, ``None`` = none today); else ``None``."""
    if session == file_day:
        return None
    today = f"today's session is {session}" if session else "there is no trading session today"
    return f"the trades file is dated {file_day} but {today}: a file can only be {what} on the session it is for"


def approval_refusal(approved_at: dt.datetime, day: str, *, who: str) -> str | None:
    """The one-line refusal when an approval recorded at the instant ``approved_at`` does not
    cover the session of ``day`` (its New York date is another day); ``who`` names the
    approval; else ``None``."""
    when = ny_date(approved_at)
    if when == day:
        return None
    return (
        f"{who} was given on {when} (New York), not on {day}, today's session: an approval is valid "
        "only for the session of the day it was given; validate and approve again today"
    )
