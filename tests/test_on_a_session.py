"""tools/on_a_session.py: how far back the test suite's clock goes on a day the NYSE is closed.

Expected values by hand from the NYSE calendar: 2026-12-02 is a Wednesday; 2026-12-25 (Friday)
is Christmas; 2026-01-19 is Martin Luther King Jr. Day (a Monday).
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from session_now import clock_tool  # noqa: E402

tool = clock_tool()


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("now", "back"),
    [
        ("2026-12-02 15:00", 0),  # a Wednesday session
        ("2026-12-05 15:00", 1),  # Saturday -> Friday 12-04
        ("2026-12-06 15:00", 2),  # Sunday -> Friday 12-04
        ("2026-12-05 03:00", 0),  # still Friday 22:00 in New York
        ("2026-12-07 03:00", 2),  # Sunday 22:00 in New York
        ("2026-12-25 15:00", 1),  # Christmas (Friday) -> Thursday 12-24
        ("2026-12-27 15:00", 3),  # Sunday after Christmas -> Thursday 12-24
        ("2026-01-19 15:00", 3),  # MLK day (Monday) -> Friday 01-16
    ],
)
def test_days_back_to_the_last_session(now, back):
    assert tool.days_back(utc(now)) == back


def test_a_session_day_adds_nothing():
    assert tool.environment(utc("2026-12-02 15:00"), Path("/x/shim.so")) == {}


def test_a_closed_day_preloads_the_shim_with_the_shift_in_seconds(monkeypatch):
    monkeypatch.delenv("LD_PRELOAD", raising=False)
    env = tool.environment(utc("2026-12-27 15:00"), Path("/x/shim.so"))
    assert env == {"LD_PRELOAD": "/x/shim.so", "XLEXEC_TEST_CLOCK_SHIFT": "-259200"}


def test_a_closed_day_without_a_compiler_stops_with_one_line_naming_the_package():
    with pytest.raises(SystemExit) as e:
        tool.environment(utc("2026-12-05 15:00"), None)
    msg = str(e.value)
    assert "2026-12-05 (New York) is not an NYSE session" in msg and "apt-get install gcc" in msg
    assert "\n" not in msg


PROBE = """
import datetime as dt, subprocess, sys, threading, time, sqlite3
t0 = time.monotonic()
time.sleep(0.05)
threading.Event().wait(0.05)
slept = time.monotonic() - t0
child = subprocess.run([sys.executable, "-c", "import time; print(time.time())"], capture_output=True, text=True)
db = sqlite3.connect(":memory:").execute("select strftime('%s', 'now')").fetchone()[0]
print(time.time(), dt.datetime.now(dt.UTC).timestamp(), float(child.stdout), float(db), slept)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="LD_PRELOAD: Linux only")
def test_the_shim_moves_the_wall_clock_of_a_process_and_its_children_but_not_sleeps():
    shim = tool.build_shim()
    assert shim is not None, "no C compiler: .ci/run installs gcc"
    env = {**os.environ, "LD_PRELOAD": str(shim), "XLEXEC_TEST_CLOCK_SHIFT": "-259200"}
    own = int(os.environ.get("XLEXEC_TEST_CLOCK_SHIFT", "0"))  # this suite may itself run shifted
    before = time.time() - own
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=60)
    after = time.time() - own
    assert out.returncode == 0, out.stderr
    wall, now, child, sql, slept = (float(x) for x in out.stdout.split())
    for seen in (wall, now, child, sql):  # three days back, for Python, a child and SQLite alike
        assert before - 259_200 - 1 <= seen <= after - 259_200 + 1
    assert 0.1 <= slept < 5  # sleeps and waits are real: 0.05 s + 0.05 s
