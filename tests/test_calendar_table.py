"""The NYSE sessions shipped as a table (xlexec/core/nyse_table.py) and the ones built from
exchange_calendars' rules are the same, and the rules are used whenever the table does not apply:
another installed exchange_calendars version, or a date past the table. Every figure here is
held to exchange_calendars itself, for 2000-2035."""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import exchange_calendars as xc
import pytest

from xlexec.core import nyse_table

REPO = Path(__file__).resolve().parent.parent

# what xlexec.core.calendar says for 2000-2035, printed as JSON by a fresh process
PROBE = """
import importlib.metadata, json, sys
if sys.argv[1] == "other-version":  # the installed exchange_calendars reports another version
    real = importlib.metadata.version
    importlib.metadata.version = lambda name: "0.0.1" if name == "exchange_calendars" else real(name)
from xlexec.core import calendar as cal
if sys.argv[1] == "past-the-table":
    cal.is_session("2061-07-05")  # a date past the table: the horizon grows, from the rules
days = cal.sessions_between("2000-01-01", "2035-12-31")
print(json.dumps({
    "source": cal.source(),
    "sessions": days,
    "half_days": [d for d in days if cal.is_half_day(d)],
    "opens": [cal.session_open_utc(d).isoformat() for d in days],
    "closes": [cal.session_close_utc(d).isoformat() for d in days],
    "next": cal.next_session("2035-12-31"),
    "offset": cal.trading_days_between("2000-01-03", "2035-12-31"),
}))
"""


@pytest.fixture(scope="module")
def library() -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        c = xc.get_calendar("XNYS", start="1990-01-01", end="2045-12-31")
    s = c.sessions_in_range("2000-01-01", "2035-12-31")
    days = [d.strftime("%Y-%m-%d") for d in s]
    early = {d.strftime("%Y-%m-%d") for d in c.early_closes}
    return {
        "sessions": days,
        "half_days": [d for d in days if d in early],
        "opens": [t.isoformat() for t in c.opens[s]],
        "closes": [t.isoformat() for t in c.closes[s]],
        "next": c.next_session("2035-12-31").strftime("%Y-%m-%d"),
        "offset": len(days) - 1,
    }


def _probe(mode: str) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    p = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True, env=env, timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    return json.loads(p.stdout)


@pytest.mark.parametrize(
    ("mode", "source"),
    [
        ("table", f"table {nyse_table.EXCHANGE_CALENDARS_VERSION}"),
        ("other-version", "rules"),
        ("past-the-table", "rules"),
    ],
)
def test_sessions_times_and_half_days_are_the_library_s(mode, source, library):
    got = _probe(mode)
    assert got.pop("source") == source
    assert len(got["sessions"]) > 9000 and len(got["half_days"]) > 50
    for key, want in library.items():
        assert got[key] == want, key


def test_the_shipped_table_is_of_the_installed_exchange_calendars():
    """An upgraded exchange_calendars leaves the table unused (rules, 0.15 s a process) until it
    is regenerated: ``python tools/nyse_table.py``."""
    assert importlib.metadata.version("exchange_calendars") == nyse_table.EXCHANGE_CALENDARS_VERSION
