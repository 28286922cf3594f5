"""The NYSE sessions shipped as a table (xlexec/core/nyse_table.py) and the ones built from
exchange_calendars' rules are the same, and the rules are used whenever the table does not apply:
another installed exchange_calendars version, or a date past the table. Every figure here is
held to exchange_calendars itself, for 2000-2035."""

from __future__ import annotations

import dataclasses
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
from xlexec.core import nyse_table
# the installed exchange_calendars reports the shipped table's version ("table": whatever is
# installed, the shipped table is used and held to the library), or another one
version = {"table": nyse_table.EXCHANGE_CALENDARS_VERSION, "past-the-table": None}.get(sys.argv[1], "0.0.1")
if version:
    real = importlib.metadata.version
    importlib.metadata.version = lambda name: version if name == "exchange_calendars" else real(name)
from xlexec.core import calendar as cal
if sys.argv[1] == "cache":  # as every shell's Context does
    from xlexec.store import calendar_cache
    calendar_cache.install()
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
    "built": "exchange_calendars" in sys.modules,
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


def _probe(mode: str, cache: Path | None = None) -> dict:
    env = dict(os.environ)
    if cache is not None:
        env["XLEXEC_CACHE_DIR"] = str(cache)
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
    assert got.pop("built") == (source == "rules")  # the table alone: the library never imported
    assert len(got["sessions"]) > 9000 and len(got["half_days"]) > 50
    for key, want in library.items():
        assert got[key] == want, key


def test_the_shipped_table_has_the_installed_exchange_calendars_sessions():
    """Another exchange_calendars release than the table's with the same NYSE sessions passes
    (its machines make the table once, in their cache folder); one that changes them fails here:
    regenerate with ``python tools/nyse_table.py``."""
    from xlexec.core import calendar as cal

    shipped, lib = cal.shipped_table(), cal.table_from_library()
    assert lib.version == importlib.metadata.version("exchange_calendars")
    assert dataclasses.replace(lib, version=shipped.version) == shipped
    assert len(shipped.closed_weekdays.split()) > 400 and len(shipped.early_closes.split()) > 100


def _load(entry: Path) -> dict:
    return json.loads(entry.read_bytes()[:-32])


def test_another_version_makes_its_table_once_and_reads_it_after(tmp_path, library):
    from xlexec.store import calendar_cache

    cache = tmp_path / "cache"
    first = _probe("cache", cache)
    assert first.pop("source") == "table 0.0.1, built here"
    assert first.pop("built") is True  # the first process builds it from the rules
    entry = cache / "calendar" / "nyse-0.0.1.json"
    assert entry.is_file() and _load(entry)["version"] == "0.0.1"
    second = _probe("cache", cache)
    assert second.pop("source") == "table 0.0.1, built here"
    assert second.pop("built") is False  # read from the cache: exchange_calendars never imported
    for got in (first, second):
        for key, want in library.items():
            assert got[key] == want, key
    # a damaged entry (one figure changed, its checksum not) is not read: built again, and mended
    blob = entry.read_bytes()
    entry.write_bytes(blob.replace(b"20010911", b"20010912", 1))
    third = _probe("cache", cache)
    assert third.pop("built") is True and third["sessions"] == library["sessions"]
    assert entry.read_bytes() == blob
    # a cache folder that cannot be written: the table is made for this process, no error
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    fourth = _probe("cache", blocked)
    assert fourth.pop("source") == "table 0.0.1, built here" and fourth["half_days"] == library["half_days"]
    assert calendar_cache.entry_path("1.0/../x").name == "nyse-1.0_.._x.json"


def test_an_entry_of_another_version_or_range_is_not_taken(tmp_path, monkeypatch):
    from xlexec.core.calendar import SessionTable
    from xlexec.store import calendar_cache
    from xlexec.store.user_cache import write_entry

    monkeypatch.setenv("XLEXEC_CACHE_DIR", str(tmp_path))
    made = []

    def build():
        made.append(1)
        return SessionTable("9.9", "1990-01-01", "2040-12-31", "19900101", "", "")

    stale = {"version": "9.8", "first": "1990-01-01", "last": "2040-12-31"}
    stale |= {"closed_weekdays": "", "early_closes": "", "late_opens": ""}
    write_entry(calendar_cache.entry_path("9.9"), json.dumps(stale).encode())
    assert calendar_cache.table_for("9.9", build).closed_weekdays == "19900101" and made == [1]
    assert calendar_cache.table_for("9.9", build).closed_weekdays == "19900101" and made == [1]  # kept
    short = dict(stale, version="9.7", last="2030-12-31")
    write_entry(calendar_cache.entry_path("9.7"), json.dumps(short).encode())
    assert calendar_cache.table_for("9.7", build) is None  # built: of another version than asked


def test_every_shell_s_context_gives_the_calendar_its_cache(tmp_path):
    from xlexec.core import calendar as cal
    from xlexec.steps.context import Context
    from xlexec.store import calendar_cache

    cfg = tmp_path / "config.yaml"
    cfg.write_text(f"live_dir: {tmp_path / 'live'}\n")
    ctx = Context.load(cfg)
    try:
        assert cal._table_source[0] is calendar_cache.table_for
        assert cal.is_session("2025-10-30")
        built = cal._arrays.cache_info().currsize
        assert built >= 1
        Context.load(cfg).close()  # another shell's Context in the same process: the sessions stay built
        assert cal._arrays.cache_info().currsize == built
    finally:
        ctx.close()
