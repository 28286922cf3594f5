"""The NYSE session table of an exchange_calendars version xlexec was not shipped with, made
once on this machine and kept in the user's cache folder.

:mod:`xlexec.core.nyse_table` is the sessions as the exchange_calendars release it was generated
from has them; with any other release installed the calendar would be built from the library's
holiday rules in every process (~0.15 s a button press). :func:`install` gives the core a table
source (:func:`xlexec.core.calendar.set_table_source`): the table of the installed version is
read from ``<cache>/calendar/nyse-<version>.json`` (an entry that checks itself, see
:mod:`xlexec.store.user_cache`), or built from the library's rules by the first process that
needs it and kept there. A missing, damaged or unwritable entry means the rules, as before.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

from xlexec.core import calendar
from xlexec.core.calendar import SessionTable
from xlexec.store.user_cache import cache_dir, read_entry, write_entry

_FIELDS = ("version", "first", "last", "closed_weekdays", "early_closes", "late_opens")


def entry_path(version: str) -> Path:
    """``<cache>/calendar/nyse-<version>.json`` (the version's characters outside
    ``[A-Za-z0-9._+-]`` made ``_``)."""
    return cache_dir() / "calendar" / f"nyse-{re.sub(r'[^A-Za-z0-9._+-]', '_', version)}.json"


def _loaded(body: bytes | None) -> SessionTable | None:
    if body is None:
        return None
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict) or sorted(data) != sorted(_FIELDS):
        return None
    if not all(isinstance(data[k], str) for k in _FIELDS):
        return None
    return SessionTable(**data)


def table_for(version: str, build: Callable[[], SessionTable]) -> SessionTable | None:
    """The table of exchange_calendars ``version``: the cache's, else ``build()`` (kept for the
    next process). An entry of another version or range is built again."""
    path = entry_path(version)
    t = _loaded(read_entry(path))
    if t is not None and t.version == version and t.covers_the_horizon():
        return t
    try:
        t = build()
    except ValueError:  # a calendar the table cannot hold: the rules
        return None
    if t.version != version:  # (installed anew while this process ran)
        return None
    write_entry(path, json.dumps({k: getattr(t, k) for k in _FIELDS}, sort_keys=True).encode("utf-8"))
    return t


def install() -> None:
    """Make :func:`table_for` the calendar's table source (every shell's :class:`Context` does)."""
    calendar.set_table_source(table_for)
