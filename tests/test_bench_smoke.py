"""Smoke test of the benchmark harness (``python -m bench``): it runs, and its JSON has the
documented shape. No timing is asserted; the benchmarks themselves are not part of the suite."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.minimal_book import NS, write_minimal_book
from xlexec.cli.areas import AREAS

REPO = Path(__file__).resolve().parent.parent
KEYS = {"scenario", "size", "seconds", "baseline_seconds", "ratio", "peak_mb", "target"}


def _bench(*args: str, cache: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bench", *args, "--cache", str(cache)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.slow
def test_quick_json_run_of_a_cheap_scenario_has_the_documented_shape(tmp_path):
    p = _bench("--quick", "--json", "--only", "validate", "--repeat", "1", cache=tmp_path)
    assert p.returncode == 0, p.stderr[-2000:]
    rows = json.loads(p.stdout)  # stdout is exactly one JSON document
    assert isinstance(rows, list) and len(rows) == 1
    r = rows[0]
    assert set(r) >= KEYS
    assert r["scenario"] == "validate"
    assert r["size"] == 1_000  # --quick: 1/10 of the full 10,000 trades
    for k in ("seconds", "baseline_seconds", "ratio", "peak_mb"):
        assert isinstance(r[k], float) and r[k] > 0, k
    assert r["ratio"] == pytest.approx(r["seconds"] / r["baseline_seconds"], rel=1e-2)
    assert isinstance(r["target"], str) and r["target"]
    assert isinstance(r["met"], bool)
    d = r["details"]
    # both sides did the same work on the same data: the same number of findings
    assert d["findings"] == d["baseline_findings"] > 0
    # end to end (reading included) against the bound, a pandas C read of the same 5 files, timed in this run
    assert r["bound"].startswith("pandas.read_csv")
    assert r["end_to_end_seconds"] == pytest.approx(d["read_seconds"] + r["seconds"], rel=1e-2)
    assert r["bound_seconds"] > 0 and r["ratio_to_bound"] == pytest.approx(
        r["end_to_end_seconds"] / r["bound_seconds"], rel=1e-2
    )
    assert len(d["xlexec_runs"]) == 1 and len(d["baseline_runs"]) == 1
    # the generated data went to the cache folder given, not into the repository
    assert any(tmp_path.glob("validate-1000-v*/trades.csv"))
    assert "[bench] validate" in p.stderr


def test_list_and_unknown_scenario(tmp_path):
    p = _bench("--list", cache=tmp_path)
    assert p.returncode == 0
    names = [ln.split()[0] for ln in p.stdout.splitlines() if ln.strip()]
    assert names == [
        "validate",
        "reconcile",
        "tca_year",
        "workbook_write",
        "workbook_read",
        "submit",
        "submit_schwab",
        "submit_ibkr",
        "cancel_all",
        "journal",
        "button_press",
        "cli_start",
    ]
    p = _bench("--only", "nope", cache=tmp_path)
    assert p.returncode == 2 and "unknown scenario" in p.stderr


BOUND_KEYS = {"end_to_end_seconds", "bound_seconds", "bound", "ratio_to_bound"}


def test_cli_start_is_measured_against_its_bound_in_the_same_run(tmp_path):
    p = _bench("--json", "--only", "cli_start", "--repeat", "1", cache=tmp_path)
    assert p.returncode == 0, p.stderr[-2000:]
    [r] = json.loads(p.stdout)
    assert set(r) >= KEYS | BOUND_KEYS
    assert r["bound"].startswith("python -c pass")
    assert r["end_to_end_seconds"] == r["seconds"] > 0 and r["bound_seconds"] == r["baseline_seconds"] > 0
    assert r["ratio_to_bound"] == pytest.approx(r["end_to_end_seconds"] / r["bound_seconds"], rel=1e-2)
    assert isinstance(r["met"], bool)
    # the help it timed listed every command of the CLI's table
    assert r["details"]["commands_listed"] == sum(len(cmds) for _area, cmds in AREAS) >= 22
    assert len(r["details"]["xlexec_runs"]) == 1 and len(r["details"]["baseline_runs"]) == 1


@pytest.mark.slow
def test_button_press_times_each_press_against_its_bound(tmp_path):
    p = _bench("--json", "--quick", "--only", "button_press", "--repeat", "1", cache=tmp_path)
    assert p.returncode == 0, p.stderr[-2000:]
    [r] = json.loads(p.stdout)
    assert r["size"] == 2 and set(r) >= KEYS | BOUND_KEYS  # --quick: 2 of the 15 days
    assert "import pandas" in r["bound"]
    d = r["details"]
    presses = [d[f"{n}_cpu_seconds"] for n in ("validate", "reconcile", "tca")]
    assert all(s > 0 for s in presses) and r["end_to_end_seconds"] == pytest.approx(max(presses), rel=1e-3)
    assert r["ratio_to_bound"] == pytest.approx(r["end_to_end_seconds"] / r["bound_seconds"], rel=1e-2)
    assert any(tmp_path.glob("button_press-2-v*/demo/live/2025-10-30/trades.csv"))


@pytest.mark.slow
def test_submit_quick_run_says_where_the_time_before_the_first_order_goes(tmp_path):
    """--quick: 20 orders against the fake Alpaca (50 ms per request). xlexec's first order
    request reaches the server no sooner than one round trip after the start (its clock, account
    and open-orders requests must be answered first); the loop's goes out at once. Both end
    after their last order's reply."""
    p = _bench("--quick", "--json", "--only", "submit", "--repeat", "1", cache=tmp_path)
    assert p.returncode == 0, p.stderr[-2000:]
    [r] = json.loads(p.stdout)
    d = r["details"]
    assert d["orders_at_broker"] == 20 and d["duplicates"] == 0 and d["requests"] == 23  # 3 before the orders
    assert d["first_order_request_seconds"] >= 0.05 > d["baseline_first_order_request_seconds"] >= 0
    assert d["after_last_reply_seconds"] >= 0 and d["baseline_after_last_reply_seconds"] >= 0
    assert "first order request after" in d["note"]


@pytest.mark.slow
def test_submit_schwab_quick_run_is_paced_with_no_duplicate(tmp_path):
    """--quick: 20 orders against the fake Schwab (50 ms per request): every order at the broker
    once, and the bound is the one the module documents, recomputed here from the requests the
    server saw: max(R x 0.05 s, (R - 120) / 2 per s)."""
    p = _bench("--quick", "--json", "--only", "submit_schwab", "--repeat", "1", cache=tmp_path)
    assert p.returncode == 0, p.stderr[-2000:]
    [r] = json.loads(p.stdout)
    assert set(r) >= KEYS | BOUND_KEYS and r["scenario"] == "submit_schwab" and r["size"] == 20
    d = r["details"]
    assert d["orders_at_broker"] == 20 and d["order_posts"] == 20 and d["duplicates"] == 0
    assert d["surfaced_errors"] == 0 and d["burst"] == 120
    assert r["bound_seconds"] == pytest.approx(max(d["requests"] * 0.05, (d["requests"] - 120) / 2.0), rel=1e-3)
    assert r["ratio_to_bound"] == pytest.approx(r["end_to_end_seconds"] / r["bound_seconds"], rel=1e-2)
    assert r["end_to_end_seconds"] >= d["requests"] * 0.05  # no faster than the round trips (the fake sleeps)


@pytest.mark.slow
def test_submit_ibkr_quick_run_is_paced_with_no_duplicate(tmp_path):
    """--quick: 20 orders through the real ib_async against the fake TWS (50 ms per message, one
    connection): every order at the broker once (one per orderRef), and the bound is the one the
    module documents, recomputed here from the messages the fake received:
    max(R x 0.05 s, R / 50 per s)."""
    p = _bench("--quick", "--json", "--only", "submit_ibkr", "--repeat", "1", cache=tmp_path)
    assert p.returncode == 0, p.stderr[-2000:]
    [r] = json.loads(p.stdout)
    assert set(r) >= KEYS | BOUND_KEYS and r["scenario"] == "submit_ibkr" and r["size"] == 20
    assert "R / (50 per s)" in r["bound"]
    d = r["details"]
    assert d["orders_at_broker"] == 20 and d["place_orders"] == 20 and d["order_refs"] == 20
    assert d["duplicates"] == 0 and d["surfaced_errors"] == 0 and d["sent"] == 20
    assert d["messages"] > 20  # the handshake, ib_async's start-up requests and the checks too
    assert r["bound_seconds"] == pytest.approx(max(d["messages"] * 0.05, d["messages"] / 50.0), rel=1e-3)
    assert r["ratio_to_bound"] == pytest.approx(r["end_to_end_seconds"] / r["bound_seconds"], rel=1e-2)
    assert r["end_to_end_seconds"] >= d["messages"] * 0.05  # no faster than the fake's one-at-a-time replies
    assert isinstance(r["met"], bool) and isinstance(r["peak_mb"], float)


def test_timed_reads_start_cold_as_a_fresh_process_does(tmp_path):
    """``bench.harness.cold_reads`` (called before every timed read of validate, reconcile and
    tca_year) empties every in-process reading cache a file fills: after it, reading the same
    files parses them again."""
    sys.path.insert(0, str(REPO))
    from bench.harness import cold_reads
    from xlexec.core.symbols import _canonical_and_problem
    from xlexec.excel.reader import check_book_extent
    from xlexec.excel.sheet_extent import checked_extents
    from xlexec.formats.fills import _fills_parsed, read_fills
    from xlexec.formats.inputs import _quotes_parsed, read_quotes
    from xlexec.formats.trades import _trades_parsed, read_trades

    # "BRK B" (not already canonical: a plain ticker such as AAPL never reaches the ticker cache)
    (tmp_path / "trades.csv").write_text(
        "# Date: 2025-10-30\nsymbol,side,shares,price,notional,weight_change,commission_est,slippage_est,"
        "total_cost_est\nBRK B,buy,10,150.00,1500.00,0.01,1.00,0.50,1.50\n"
    )
    (tmp_path / "quotes.csv").write_text("symbol,bid,ask,last,timestamp\nBRK B,149.9,150.1,150,2025-10-30T14:00:00Z\n")
    (tmp_path / "fills.csv").write_text(
        "symbol,side,shares,price,fill_time,client_order_id\nBRK B,buy,10,150.01,2025-10-30T14:01:00Z,\n"
    )
    book = tmp_path / "book.xlsx"
    write_minimal_book(book, f'<?xml version="1.0"?><worksheet {NS}><sheetData/></worksheet>')
    caches = (_trades_parsed, _quotes_parsed, _fills_parsed, _canonical_and_problem)
    for _ in range(2):
        read_trades(tmp_path / "trades.csv")
        read_quotes(tmp_path / "quotes.csv")
        read_fills(tmp_path / "fills.csv")
        check_book_extent(book)
        assert all(c.cache_info().currsize > 0 for c in caches), [c.cache_info() for c in caches]
        assert checked_extents(book) is not None
        cold_reads()
        assert [c.cache_info().currsize for c in caches] == [0, 0, 0, 0]
        assert checked_extents(book) is None  # a fresh press checks its book again


def test_the_fakes_load_from_this_repository_when_a_foreign_tests_package_comes_first(tmp_path):
    """schwab-py's wheel installs a top-level ``tests`` package into site-packages: the bench's
    fakes (``tests/pg_server.py`` imports ``from tests import cli_fork``) are still this folder's."""
    foreign = tmp_path / "site" / "tests"
    foreign.mkdir(parents=True)
    (foreign / "__init__.py").write_text("")
    probe = (
        "import sys; sys.path.insert(0, sys.argv[1]); import tests; sys.path.insert(1, sys.argv[2]); "
        "from bench.harness import fake_class; import inspect; "
        "print(inspect.getsourcefile(fake_class('pg_server', 'find_bindir')))"
    )
    p = subprocess.run(
        [sys.executable, "-c", probe, str(tmp_path / "site"), str(REPO)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == 0, p.stderr[-1500:]
    assert Path(p.stdout.strip()) == REPO / "tests" / "pg_server.py"
