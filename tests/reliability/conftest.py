"""Observations of the reliability suite.

Every test reports what it actually saw through the ``observe`` fixture (a fault injected and
the outcome, a crash point and what survived it, hostile inputs tried, duplicates, lost records,
leaks). With ``XLEXEC_RELIABILITY_OUT=<file>`` set, the session writes them there as JSON, and
``python tests/reliability/report.py`` turns them into the README's figures. Observations are
recorded *before* the assertions, so a failing test still reports what went wrong.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest

_OBS: list[dict] = []
_LOCK = threading.Lock()


class Observer:
    def __init__(self, test: str):
        self.test = test

    def __call__(self, kind: str, **fields) -> dict:
        row = {"kind": kind, "test": self.test, **fields}
        with _LOCK:
            _OBS.append(row)
        return row


@pytest.fixture
def observe(request) -> Observer:
    return Observer(request.node.nodeid)


def pytest_sessionfinish(session, exitstatus):
    out = os.environ.get("XLEXEC_RELIABILITY_OUT")
    if not out:
        return
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(out).with_suffix(".tmp")
    tmp.write_text(json.dumps({"observations": _OBS, "exitstatus": int(exitstatus)}, indent=1, default=str))
    os.replace(tmp, out)


@pytest.fixture(params=["sqlite", "postgresql"])
def journal(request) -> str:
    """The config's ``journal``: ``sqlite`` (``live/journal.sqlite``), or the URL of a fresh shared
    PostgreSQL journal (a new database of the session's throwaway server, tests/pg_server.py)."""
    if request.param == "sqlite":
        return "sqlite"
    return desk_journal(request.getfixturevalue("pg_server"))


def desk_journal(server) -> str:
    """The URL of a fresh shared journal for the login ``desk``, given both roles (trader and
    approver, as a one-person desk without four-eyes): not the owner, so every row it writes
    passes the database's checks (the chain, the time, the actor)."""
    from xlexec.store.pg_journal import init_schema

    db = server.new_database()
    init_schema(server.url(db), traders=("desk",), approvers=("desk",))
    return server.url(db, "desk")
