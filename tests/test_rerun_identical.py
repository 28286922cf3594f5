"""A rerun of every step changes nothing: one trading day driven through the CLI and the
workbook's buttons, then every step run again with the same inputs.

The day is the demo's generated 2025-10-30 (its inputs only: trades, quotes, closes, events,
reference and the opening positions), on the paper broker, every command a ``python -m xlexec``
subprocess started from a folder that is not the project with an absolute ``--config``. After
the day every file under ``live/`` and the workbook is kept (bytes and sha256) with the journal's
events; the rerun must leave every file byte-identical and add no journal event except those
that are by design one per attempt (see ``PER_ATTEMPT``), and its exit codes / messages say the
work was already done.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
DAY = "2025-10-30"
MORNING = "2025-10-30T13:40:00+00:00"  # 09:40 New York: the market is open
CLOSE = "2025-10-30T20:05:00+00:00"  # 16:05 New York: after the close
CASH = "12000"  # $ the fund holds at the open (reconcile --cash)

# Journal events a rerun adds by design, one per attempt (kind -> why):
PER_ATTEMPT = {
    # a button press is the operator's act, recorded as such (who pressed what, when, with
    # what result) even when the step it runs finds its work done: the audit trail of the
    # workbook is the list of presses, so a second press is a second row
    "action": "one row per workbook button press and per submit attempt (the act itself is the fact recorded)",
}

# the workbook's buttons, in the order of the day (Reject and Cancel All are pressed apart, after)
DAY_BUTTONS = [
    "load-trades",
    "validate",
    "approve",
    "convert",
    "submit",
    "refresh-status",
    "import-fills",
    "reconcile",
    "accept-positions",
    "tca",
    "monthly-report",
]
AFTER_THE_CLOSE = {"refresh-status", "import-fills", "reconcile", "accept-positions", "tca", "monthly-report"}

# the Approve button's Control inputs: the very decision `xlexec approve` recorded
APPROVE_SETS = [
    "--set",
    "approver=ann",
    "--set",
    "decision=CONDITIONAL",
    "--set",
    "reason=desk review: ex-dividend noted",
]


def xlexec(cwd: Path, now: str, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("XLEXEC_CRASH_AT",)}
    env["XLEXEC_NOW"] = now
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return subprocess.run(
        [sys.executable, "-m", "xlexec", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


@pytest.fixture(scope="module")
def desk(tmp_path_factory) -> tuple[Path, Path, Path]:
    """(config, live dir, a working folder that is neither), the day's inputs written."""
    from xlexec.demo import sample

    root = tmp_path_factory.mktemp("rerun")
    desk_dir, elsewhere = root / "desk", root / "elsewhere"
    live = desk_dir / "live"
    live.mkdir(parents=True)
    elsewhere.mkdir()
    sample.write_day(sample.make_day(DAY), live, positions=True)
    cfg = desk_dir / "config.yaml"
    cfg.write_text(
        f"live_dir: {json.dumps(str(live))}\nuser: ann\nexecution:\n  broker: paper\n  paper_trading: true\n"
        f"  paper:\n    starting_cash: {CASH}\n"
    )
    return cfg, live, elsewhere


def files(root: Path) -> dict[str, tuple[bytes, str]]:
    return {
        str(p.relative_to(root)): (b := p.read_bytes(), hashlib.sha256(b).hexdigest())
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.name.endswith(("-journal", "-wal", "-shm"))
    }


def events(live: Path) -> list[tuple[int, str, str]]:
    con = sqlite3.connect(f"file:{live / 'journal.sqlite'}?mode=ro", uri=True)
    try:
        return con.execute("SELECT seq, kind, key FROM events ORDER BY seq").fetchall()
    finally:
        con.close()


def paper_orders(live: Path) -> int:
    con = sqlite3.connect(f"file:{live / 'paper_broker.sqlite'}?mode=ro", uri=True)
    try:
        return con.execute("SELECT COUNT(*) FROM orders").fetchone()[0]
    finally:
        con.close()


def run_day(cfg: Path, live: Path, elsewhere: Path, book: Path) -> dict[str, subprocess.CompletedProcess]:
    """Every step of the day once, as an operator types it; returns step -> completed process."""
    c = ["--config", str(cfg)]
    trades = str(live / DAY / "trades.csv")
    out: dict[str, subprocess.CompletedProcess] = {}
    out["validate"] = xlexec(elsewhere, MORNING, "validate", trades, *c, "--json")
    out["approve"] = xlexec(
        elsewhere, MORNING, "approve", trades, *c, "--by", "ann", "--decision", "CONDITIONAL",
        "--reason", "desk review: ex-dividend noted",
    )  # fmt: skip
    from xlexec.formats.upload import FORMATS

    for fmt in FORMATS:
        out[f"convert {fmt}"] = xlexec(elsewhere, MORNING, "convert", trades, *c, "--broker", fmt, "--json")
    out["submit"] = xlexec(elsewhere, MORNING, "submit", trades, *c, "--json")
    out["status"] = xlexec(elsewhere, CLOSE, "status", *c, "--date", DAY, "--json")
    out["import-fills"] = xlexec(elsewhere, CLOSE, "import-fills", *c, "--date", DAY)
    out["reconcile"] = xlexec(
        elsewhere, CLOSE, "reconcile", *c, "--trades", trades, "--fills", str(live / DAY / "broker_fills.csv"),
        "--cash", CASH, "--accept", "--json",
    )  # fmt: skip
    out["tca"] = xlexec(elsewhere, CLOSE, "tca", str(live / DAY), *c, "--json")
    out["monthly"] = xlexec(elsewhere, CLOSE, "monthly", *c, "--month", DAY[:7], "--json")
    out["pnl"] = xlexec(elsewhere, CLOSE, "pnl", *c, "--date", DAY, "--json")
    out["workbook build"] = xlexec(elsewhere, CLOSE, "workbook", "build", *c, "--day", DAY, "-o", str(book))
    for name in DAY_BUTTONS:
        sets = APPROVE_SETS if name == "approve" else []
        when = CLOSE if name in AFTER_THE_CLOSE else MORNING  # pressed when the operator would
        out[f"button {name}"] = xlexec(elsewhere, when, "button", name, "--book", str(book), "--day", DAY, *sets)
    return out


def book_parts(book: Path) -> dict[str, tuple[bytes, str]]:
    """The workbook's zip members (bytes + sha256), with each member's zip timestamp in its key."""
    import zipfile

    with zipfile.ZipFile(book) as z:
        return {f"{i.filename}@{i.date_time}": (b := z.read(i), hashlib.sha256(b).hexdigest()) for i in z.infolist()}


# the workbook's parts that draw the Log tab (its rows are the journal's presses, one more per
# press by design): the sheet, its table, its print area / drawn area, and its texts
# (the Log's Table part is found by its name: its number moves as other tabs gain Tables)
def log_parts(book: Path) -> set[str]:
    import zipfile

    with zipfile.ZipFile(book) as z:
        tables = [n for n in z.namelist() if n.startswith("xl/tables/") and b'name="tblLog"' in z.read(n)]
    assert len(tables) == 1, tables
    return {"xl/worksheets/sheet12.xml", tables[0], "xl/workbook.xml", "docProps/custom.xml", "xl/sharedStrings.xml"}


def differing(before: dict, after: dict) -> list[str]:
    return sorted(
        k for k in before.keys() | after.keys() if before.get(k, (None, ""))[1] != after.get(k, (None, ""))[1]
    )


def test_a_rerun_of_every_step_changes_nothing(desk):
    cfg, live, elsewhere = desk
    book = cfg.parent / "book.xlsm"
    first = run_day(cfg, live, elsewhere, book)
    failed = {k: (p.returncode, p.stderr[-300:]) for k, p in first.items() if p.returncode not in (0, 1)}
    assert not failed, failed
    # the day as designed: sent, filled (one rests unfilled, one partly), reconciled and accepted
    n_orders = paper_orders(live)
    assert n_orders == 10
    assert first["reconcile"].returncode in (0, 1), first["reconcile"].stderr
    assert json.loads(first["reconcile"].stdout)["accepted"] is not False
    snapshot, parts = files(live), book_parts(book)
    journal = events(live)

    again = run_day(cfg, live, elsewhere, book)

    after = files(live)
    # the journal's file grows by the presses' rows (PER_ATTEMPT); its events are compared below
    changed = [k for k in differing(snapshot, after) if k != "journal.sqlite"]
    assert not changed, f"a rerun rewrote {len(changed)} file(s) under live/: {changed}"
    # the workbook: every part byte-identical but the Log tab's, which lists the presses
    # (the Log parts by name; every other part by name and zip timestamp, both in the key)
    book_changed = [k for k in differing(parts, book_parts(book)) if k.split("@", 1)[0] not in log_parts(book)]
    assert not book_changed, f"a rerun rewrote the workbook's {book_changed}"
    new = events(live)[len(journal) :]
    unexpected = [(kind, key) for _seq, kind, key in new if kind not in PER_ATTEMPT]
    assert not unexpected, f"a rerun recorded new journal events: {unexpected}"
    actions = [key for _seq, kind, key in new if kind == "action"]
    presses = [k for k in actions if "|workbook|" in k]
    assert len(presses) == len(DAY_BUTTONS)  # one per press
    assert (
        len([k for k in actions if "|submit|" in k and k not in presses]) == 2
    )  # the CLI's and the button's submit attempt
    assert len(actions) == len(DAY_BUTTONS) + 2  # nothing else
    assert paper_orders(live) == n_orders  # nothing sent twice
    # the exit codes and messages say what happened
    codes = {k: (first[k].returncode, p.returncode) for k, p in again.items() if p.returncode != first[k].returncode}
    assert not codes, f"a rerun's exit codes differ from the first run's: {codes}"
    assert "already recorded" in again["approve"].stdout, again["approve"].stdout
    assert "already" in json.dumps(json.loads(again["submit"].stdout)), again["submit"].stdout
    assert json.loads(again["reconcile"].stdout)["already_accepted"] is True  # "already accepted"
