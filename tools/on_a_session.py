"""Run a command (the test suite) on an NYSE session day: ``python tools/on_a_session.py -- CMD...``.

Why: the tests that send to a real broker's loopback fake (Alpaca, Schwab) go through the same
session rules as real money: with a real broker today's session comes from the broker's clock
and an approval's time from the real clock, and ``XLEXEC_NOW`` is refused there (a pinned clock
must never date real orders). On a weekend or an exchange holiday submit therefore refuses, as
it must, and those tests would fail for the calendar's sake.

So: when today (the New York date of the real clock) is a session, ``CMD`` runs as it is. When
it is not, ``CMD`` runs with the wall clock moved back by whole days to the previous session
(same time of day), for ``CMD`` and every process it starts alike: one clock for pytest, its
workers, the fakes, the CLI subprocesses, SQLite and the PostgreSQL test server. The move is
``tools/session_clock.c``, a small ``LD_PRELOAD`` library (built here with the C compiler) that
shifts only the wall-clock reads; monotonic clocks, sleeps and timeouts stay real. Nothing in
``xlexec/`` knows about it. Without a C compiler on such a day it stops with one line naming
the package.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from zoneinfo import ZoneInfo

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from xlexec.core import calendar as cal  # noqa: E402

NY = ZoneInfo("America/New_York")
SHIM = HERE / "session_clock.c"
SHIFT = "XLEXEC_TEST_CLOCK_SHIFT"  # seconds added to every wall-clock read (negative: back)


def days_back(now: dt.datetime) -> int:
    """Whole days from the New York date of ``now`` back to the latest NYSE session on or
    before it: 0 on a session day, 1 on a Saturday, 3 on the Monday of a holiday weekend..."""
    today = now.astimezone(NY).date()
    if cal.is_session(today):
        return 0
    return (today - dt.date.fromisoformat(cal.previous_session(today))).days


def environment(now: dt.datetime, shim: Path | None) -> dict[str, str]:
    """The variables to add to the command's environment at ``now`` (none on a session day);
    ``shim``: the built clock library, None when it could not be built."""
    back = days_back(now)
    if back == 0:
        return {}
    if shim is None:
        day = now.astimezone(NY).date().isoformat()
        raise SystemExit(
            f"{day} (New York) is not an NYSE session: the broker tests need one, and moving the clock back "
            "needs a C compiler (Debian/Ubuntu: apt-get install gcc; macOS: xcode-select --install)"
        )
    preload = " ".join(p for p in (str(shim), os.environ.get("LD_PRELOAD", "")) if p)
    return {"LD_PRELOAD": preload, SHIFT: str(-back * 86_400)}


def build_shim() -> Path | None:
    """``tools/session_clock.c`` built once per source (in the temp folder), or None without a
    C compiler."""
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if not cc:
        return None
    digest = hashlib.sha256(SHIM.read_bytes()).hexdigest()[:16]
    out = Path(tempfile.gettempdir()) / f"xlexec-session-clock-{digest}.so"
    if not out.exists():
        tmp = out.with_name(f".{out.name}.{os.getpid()}")
        subprocess.run([cc, "-shared", "-fPIC", "-O2", "-o", str(tmp), str(SHIM), "-ldl"], check=True)
        os.replace(tmp, out)
    return out


def main(args: list[str]) -> None:
    if args[:1] == ["--"]:
        args = args[1:]
    if not args:
        raise SystemExit("usage: python tools/on_a_session.py -- COMMAND [ARGS...]")
    now = dt.datetime.now(dt.UTC)
    extra = environment(now, build_shim() if days_back(now) else None)
    if extra:
        back = -int(extra[SHIFT]) // 86_400
        print(f"{now.astimezone(NY).date()} is not an NYSE session: the tests run {back} day(s) back", file=sys.stderr)
    os.execvpe(args[0], args, {**os.environ, **extra})


if __name__ == "__main__":
    main(sys.argv[1:])
