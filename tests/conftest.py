"""Shared test setup. XLWINGS_LICENSE_KEY is set here (tests only) for xlwings' JSON-backed Book."""

from __future__ import annotations

import os
import sys
import tempfile
import types
from pathlib import Path

import pytest

# ``tests`` is this folder: schwab-py's wheel installs a top-level ``tests`` package into
# site-packages that would otherwise shadow it (``from tests.pg_server import ...``)
_HERE = str(Path(__file__).resolve().parent)
if _HERE not in list(getattr(sys.modules.get("tests"), "__path__", None) or []):
    _ours = types.ModuleType("tests")
    _ours.__path__ = [_HERE]
    sys.modules["tests"] = _ours

os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")
# the VBA project cache (xlexec.excel.vba_cache) of the tests: a temp folder, never the user's
os.environ.setdefault("XLEXEC_CACHE_DIR", tempfile.mkdtemp(prefix="xlexec-test-cache-"))


def _bytecode_for_children() -> None:
    """The Python processes the tests start (``python -m xlexec`` and others) keep their bytecode
    in one temp folder of the session (``PYTHONPYCACHEPREFIX``), never in the repository, even
    where ``PYTHONDONTWRITEBYTECODE`` is set: each module compiles once per session instead of
    once per process. Set here, before xdist starts its workers, so they share the folder (and
    use it themselves); the process that made it removes it at exit. The process that sets them
    is unaffected (both variables are read at interpreter start)."""
    if os.environ.get("PYTHONPYCACHEPREFIX"):
        return
    import atexit
    import shutil

    folder = tempfile.mkdtemp(prefix="xlexec-test-pycache-")
    os.environ["PYTHONPYCACHEPREFIX"] = folder
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    atexit.register(shutil.rmtree, folder, ignore_errors=True)


_bytecode_for_children()

# ---------------------------------------------------------------- one worker per module (pytest -n)

#: modules whose module-scoped fixture takes seconds (a demo run, a wheel installed in a venv):
#: under ``--dist loadgroup`` (``make test``) each runs whole on one worker, so the fixture is
#: built once per run instead of once on each worker that gets one of its tests
ONE_WORKER_MODULES = frozenset(
    f"tests/{name}.py"
    for name in (
        "test_addin",
        "test_buttons_file",
        "test_demo",
        "test_faces_same_result",
        "test_figures",
        "test_operator_doc",
        "test_press_lazy",
        "test_wheel",
        "test_workbook_formats",
        "test_workbook_look",
        "test_workbook_render",
        "test_workbook_viewmodel",
    )
)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """``--dist loadgroup``: xdist's own grouping, and every test of :data:`ONE_WORKER_MODULES`
    in one group per module. (xdist 3.8 groups by a suffix it adds to each node id, which pytest
    9.2's structured node ids no longer take: its ``xdist_group`` marks alone group nothing.)"""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadGroupScheduling

    class OneWorkerModules(LoadGroupScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return module if module in ONE_WORKER_MODULES else super()._split_scope(nodeid)

    return OneWorkerModules(config, log)


GUIDE_TRADES = """# Date: 2025-10-30
# Total Trades: 3
# Portfolio Turnover: 18.5%
# Portfolio Value: $100,000.00
# Regime: Normal (Risk Multiplier: 1.0)
# IC: 0.034
# Kill Switch: ACTIVE
# Safety Checks: PASSED
symbol,side,shares,price,notional,weight_change,commission_est,slippage_est,total_cost_est
AAPL,buy,100,150.25,15025.00,0.0500,1.50,3.01,4.51
MSFT,sell,50,380.50,19025.00,-0.0300,1.90,3.81,5.71
GOOGL,buy,25,142.80,3570.00,0.0350,0.36,0.71,1.07
"""


@pytest.fixture
def guide_trades_text() -> str:
    return GUIDE_TRADES


@pytest.fixture
def guide_trades_path(tmp_path):
    p = tmp_path / "live" / "2025-10-30" / "trades.csv"
    p.parent.mkdir(parents=True)
    p.write_text(GUIDE_TRADES)
    return p


def quote_now() -> str:
    """An ISO UTC quote time that is current for the clock the code under test reads (``XLEXEC_NOW``
    when pinned, else the real clock), 1 s before it: submit refuses an order whose quote is older
    than ``execution.max_quote_age_seconds`` (60 s), so tests about something else stamp with this."""
    import datetime as dt

    from xlexec.execution.clock import env_now

    return (env_now() - dt.timedelta(seconds=1)).astimezone(dt.UTC).isoformat()


# ---------------------------------------------------------------- PostgreSQL (tests/pg_server.py)


@pytest.fixture(scope="session")
def pg_server():
    """One throwaway PostgreSQL server per test session (per xdist worker), torn down after.
    Skipped only when no server binary exists; under CI (``CI`` set) that is a failure."""
    from tests.pg_server import PgServer, find_bindir

    bindir = find_bindir()
    if bindir is None:
        if os.environ.get("CI"):
            pytest.fail("no PostgreSQL server binary (initdb, pg_ctl, postgres): .ci/run installs postgresql")
        pytest.skip("no PostgreSQL server binary (initdb, pg_ctl, postgres) on this machine")
    server = PgServer(bindir).start()
    yield server
    server.stop()


@pytest.fixture
def pg_db(pg_server) -> str:
    """A fresh database with the xlexec schema (``xlexec journal init`` as the owner); its name."""
    return pg_server.new_database()


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request, tmp_path):
    """Opens journals of one backend: ``backend()`` a journal of this test (each call a new
    connection to the same one), ``backend.name`` which backend."""
    from xlexec.store.journal import Journal
    from xlexec.store.pg_journal import PgJournal

    class Backend:
        name = request.param

        def __init__(self):
            if self.name == "postgresql":
                self.server = request.getfixturevalue("pg_server")
                self.db = self.server.new_database()
                self.url = self.server.url(self.db)
            else:
                self.url = str(tmp_path / "j.sqlite")

        def __call__(self):
            return PgJournal(self.url) if self.name == "postgresql" else Journal(self.url)

    return Backend()
