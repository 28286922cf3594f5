"""The guide's checklist through the command line: ``python -m xlexec validate TRADES --config C``.

Each test writes a desk (``config.yaml`` and ``live/``) under a tmp folder, runs the CLI as a
subprocess from *another* tmp folder (never the project, never a chdir), and reads what an
operator reads: the report lines, the decision, the exit code and ``validation.json``.

The base day is tests/data/validate's clean day (AAPL buy 20 @ $150.25, MSFT sell 10 @ $380.50,
GOOGL buy 25 @ $142.80; quotes at 13:55 UTC, clock pinned at 14:00 UTC) which APPROVEs. Its
spreads, by hand: AAPL 0.10 / 150.25 = 6.66 bps, MSFT 0.20 / 380.50 = 5.26 bps,
GOOGL 0.10 / 142.80 = 7.00 bps.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests import cli_fork
from tests.reliability import controls as C

DATA = Path(__file__).resolve().parents[1] / "data" / "validate"
DAY = "2025-10-30"
NOW = "2025-10-30T14:00:00+00:00"
QUOTES = (DATA / "quotes.csv").read_text()
MSFT_QUOTE = "MSFT,380.40,380.60,380.50,2025-10-30T13:55:00Z"


@pytest.fixture
def desk(tmp_path):
    """config.yaml + live/ with the clean day; returns (config path, day folder, run folder)."""
    root = tmp_path / "desk"
    d = root / "live" / DAY
    d.mkdir(parents=True)
    (d / "trades.csv").write_text((DATA / "trades_clean.csv").read_text())
    (d / "quotes.csv").write_text(QUOTES)
    live = root / "live"
    (live / "current_positions.csv").write_text((DATA / "positions.csv").read_text())
    (live / "events.csv").write_text((DATA / "events.csv").read_text())
    (live / "reference.csv").write_text((DATA / "reference.csv").read_text())
    cfg = root / "config.yaml"
    cfg.write_text(f"live_dir: {live}\nexecution:\n  broker: paper\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    return cfg, d, elsewhere


def xl(desk, *args: str) -> subprocess.CompletedProcess:
    cfg, d, elsewhere = desk
    env = {**os.environ, "XLEXEC_NOW": NOW}
    return cli_fork.run(
        [sys.executable, "-m", "xlexec", *args, "--config", str(cfg)],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


def validate(desk, *extra: str) -> tuple[subprocess.CompletedProcess, dict]:
    _, d, _ = desk
    p = xl(desk, "validate", str(d / "trades.csv"), *extra)
    doc = json.loads((d / "validation.json").read_text()) if (d / "validation.json").exists() else {}
    return p, doc


def record(desk, attack: str, p: subprocess.CompletedProcess, *says: str) -> None:
    """A row of the controls table (the FAIL line, or the error, as what it says); orders counted
    at any paper broker under the test's folder."""
    cfg, _, _ = desk
    fail = next((ln for ln in p.stdout.splitlines() if ln.startswith("FAIL")), "")
    extra = {"says": " ".join(fail.split())} if fail else {}
    C.record(attack, p, C.paper_orders(cfg.parent.parent), refused=C.refused(p, *says), **extra)


def report_line(out: str, status: str, check: str, symbol: str) -> str:
    """The report's line ``STATUS  CHECK  SYMBOL  MESSAGE`` for that check and symbol."""
    hits = [ln for ln in out.splitlines() if ln.split()[:3] == [status, check, symbol]]
    assert len(hits) == 1, out
    return hits[0]


def statuses(doc: dict, check: str) -> list[tuple[str, str]]:
    return [(c["status"], c["symbol"]) for c in doc["checks"] if c["check"] == check]


def set_quote(desk, line: str) -> None:
    _, d, _ = desk
    (d / "quotes.csv").write_text(QUOTES.replace(MSFT_QUOTE, line))


def test_the_clean_day_approves_and_lists_the_new_checks(desk):
    p, doc = validate(desk)
    assert p.returncode == 0, p.stderr
    assert "Decision: APPROVE" in p.stdout
    for check in ("spread", "macro_event", "halted", "restricted", "buy_and_sell"):
        assert statuses(doc, check) == [("pass", "")], check
    sp = next(c for c in doc["checks"] if c["check"] == "spread")
    assert round(sp["value"], 2) == 7.00 and sp["limit"] == 50  # GOOGL's, the widest


def test_a_wide_spread_warns_conditional(desk):
    # MSFT 379.36 / 381.64: 2.28 / 380.50 = 59.92 bps > 50
    set_quote(desk, "MSFT,379.36,381.64,380.50,2025-10-30T13:55:00Z")
    p, doc = validate(desk)
    assert p.returncode == 0, p.stderr
    assert "59.9 bps" in report_line(p.stdout, "WARN", "spread", "MSFT")
    assert "Decision: CONDITIONAL" in p.stdout
    assert statuses(doc, "spread") == [("warn", "MSFT")] and doc["decision"] == "CONDITIONAL"


def test_a_very_wide_spread_fails_reject(desk):
    # MSFT 372.89 / 388.11: 15.22 / 380.50 = 400.0 bps > 200
    set_quote(desk, "MSFT,372.89,388.11,380.50,2025-10-30T13:55:00Z")
    p, doc = validate(desk)
    record(desk, "validate: a 400 bps bid-ask spread", p, "400.0 bps", "Decision: REJECT")
    assert p.returncode == 1, p.stderr
    assert "400.0 bps" in report_line(p.stdout, "FAIL", "spread", "MSFT")
    assert "Decision: REJECT" in p.stdout and doc["decision"] == "REJECT"


def test_a_quote_without_bid_and_ask_says_so(desk):
    set_quote(desk, "MSFT,,,380.50,2025-10-30T13:55:00Z")  # the mid falls back to last
    p, doc = validate(desk)
    assert p.returncode == 0, p.stderr
    assert "no bid and ask" in report_line(p.stdout, "WARN", "spread", "MSFT")
    assert doc["decision"] == "CONDITIONAL"


def test_spread_tiers_come_from_the_config(desk):
    cfg, _, _ = desk
    # warn above 5, fail above 6: AAPL 6.66 and GOOGL 7.00 fail, MSFT 5.26 warns
    cfg.write_text(cfg.read_text() + "validation:\n  spread_warn_bps: 5\n  spread_fail_bps: 6\n")
    p, doc = validate(desk)
    assert p.returncode == 1, p.stderr
    assert statuses(doc, "spread") == [("fail", "AAPL"), ("warn", "MSFT"), ("fail", "GOOGL")]
    # warn above 7: only GOOGL (7.0028 bps) warns
    cfg.write_text(cfg.read_text().replace("spread_warn_bps: 5\n  spread_fail_bps: 6", "spread_warn_bps: 7"))
    p, doc = validate(desk)
    assert p.returncode == 0, p.stderr
    assert statuses(doc, "spread") == [("warn", "GOOGL")]


def test_a_negative_spread_tier_is_refused_naming_the_key(desk):
    cfg, d, _ = desk
    cfg.write_text(cfg.read_text() + "validation:\n  spread_warn_bps: -5\n")
    p, _ = validate(desk)
    record(desk, "validate: a negative spread tier in the config", p, "validation.spread_warn_bps")
    assert p.returncode == 2
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "validation.spread_warn_bps" in lines[0], p.stderr
    assert not (d / "validation.json").exists()


def test_an_fomc_day_warns_naming_it(desk):
    cfg, d, _ = desk
    events = d.parent / "events.csv"
    events.write_text(events.read_text() + "*,2025-10-30,FOMC\n*,2025-10-31,CPI\n")
    p, doc = validate(desk)
    assert p.returncode == 0, p.stderr
    assert "FOMC rate decision on 2025-10-30" in report_line(p.stdout, "WARN", "macro_event", "FOMC")
    assert statuses(doc, "macro_event") == [("warn", "")]  # the CPI of the 31st is not the trade date
    assert doc["decision"] == "CONDITIONAL"


def test_a_jobs_report_day_warns(desk):
    _, d, _ = desk
    (d.parent / "events.csv").write_text("symbol,date,event\n,2025-10-30,jobs report\n")
    p, doc = validate(desk)
    assert p.returncode == 0, p.stderr
    assert "jobs report" in p.stdout and statuses(doc, "macro_event") == [("warn", "")]


def test_a_macro_event_with_a_ticker_is_one_line_exit_2(desk):
    _, d, _ = desk
    (d.parent / "events.csv").write_text("symbol,date,event\nXOM,2025-10-30,earnings\nAAPL,2025-10-30,fomc\n")
    p, _ = validate(desk)
    record(desk, "validate: a market-wide event given a ticker in events.csv", p, "events.csv", "row 3")
    assert p.returncode == 2
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1, p.stderr
    assert "events.csv" in lines[0] and "row 3" in lines[0] and "'symbol'" in lines[0] and "market-wide" in lines[0]
    assert not (d / "validation.json").exists()


def test_a_halted_symbol_fails_reject(desk):
    _, d, _ = desk
    events = d.parent / "events.csv"
    events.write_text(events.read_text() + "MSFT,2025-10-30,HALT\n")
    p, doc = validate(desk)
    record(desk, "validate: a halted symbol traded", p, "trading halt on 2025-10-30", "Decision: REJECT")
    assert p.returncode == 1, p.stderr
    assert "trading halt on 2025-10-30" in report_line(p.stdout, "FAIL", "halted", "MSFT")
    assert statuses(doc, "halted") == [("fail", "MSFT")] and doc["decision"] == "REJECT"


def test_a_restricted_symbol_fails_reject_in_any_spelling(desk):
    _, d, _ = desk
    (d.parent / "restricted.csv").write_text("symbol,reason\nmsft,insider window\n")
    p, doc = validate(desk)
    record(desk, "validate: a restricted symbol, listed in lower case", p, "insider window", "Decision: REJECT")
    assert p.returncode == 1, p.stderr
    line = report_line(p.stdout, "FAIL", "restricted", "MSFT")
    assert "insider window" in line and "submit would refuse it" in line
    assert doc["decision"] == "REJECT" and doc["summary"]["inputs"]["restricted"].endswith("restricted.csv")
    # the list no longer names a traded symbol: back to APPROVE
    (d.parent / "restricted.csv").write_text("symbol,reason\nTSLA,insider window\n")
    p, doc = validate(desk)
    assert p.returncode == 0 and doc["decision"] == "APPROVE"
    assert statuses(doc, "restricted") == [("pass", "")]


def test_the_workbook_validate_button_shows_the_restricted_fail(desk):
    cfg, d, elsewhere = desk
    (d.parent / "restricted.csv").write_text("symbol,reason\nGOOGL,watch list\n")
    book = elsewhere / "wb.xlsm"
    p = xl(desk, "button", "load-trades", "--book", str(book), "--day", DAY)
    assert p.returncode == 0, p.stderr
    p = xl(desk, "button", "validate", "--book", str(book), "--json")
    doc = json.loads(p.stdout.strip().splitlines()[-1])
    assert doc["button"] == "validate" and doc["data"]["decision"] == "REJECT", doc
    v = json.loads((d / "validation.json").read_text())
    assert statuses(v, "restricted") == [("fail", "GOOGL")]
