"""One step, two faces: the CLI and the file-mode workbook button (``xlexec button NAME --book FILE``)
run the same step function, so on the same day they give the same result.

Two identical demo days are built in tmp_path (one per face), each named by its config's
absolute ``live_dir`` (the test never changes the current folder), with the clock pinned. After
each step of the day the test compares the step's JSON figures, every file under ``live/`` and
every journal event (the button's own press record, kind ``action``, aside), with the two roots'
paths made equal.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path

import pytest

from xlexec.cli.app import main
from xlexec.demo import sample
from xlexec.demo.run import write_demo_config

DAY = "2025-10-30"
MORNING = dt.datetime(2025, 10, 30, 13, 40, tzinfo=dt.UTC).isoformat()  # 09:40 New York
CLOSE = dt.datetime(2025, 10, 30, 20, 5, tzinfo=dt.UTC).isoformat()  # 16:05 New York
REASON = "demo day: validation recommends CONDITIONAL"
KILL_REASON = "kill switch (workbook, demo)"  # what the button passes: the CLI is given the same

# (step, clock, the CLI's argv after the command name's own options, the button, its --set inputs)
STEPS = [
    ("validate", MORNING, lambda t: ["validate", t, "--json"], "validate", []),
    (
        "approve",
        MORNING,
        lambda t: ["approve", t, "--by", "demo", "--decision", "CONDITIONAL", "--reason", REASON, "--json"],
        "approve",
        ["approver=demo", f"reason={REASON}", "decision=CONDITIONAL"],
    ),
    ("convert", MORNING, lambda t: ["convert", t, "--broker", "ibkr", "--json"], "convert", []),
    ("submit", MORNING, lambda t: ["submit", t, "--json"], "submit", []),
    ("status", CLOSE, lambda t: ["status", "--date", DAY, "--json"], "refresh-status", []),
    ("import_fills", CLOSE, lambda t: ["import-fills", "--date", DAY, "--json"], "import-fills", []),
    ("reconcile", CLOSE, lambda t: ["reconcile", "--date", DAY, "--json"], "reconcile", []),
    ("accept", CLOSE, lambda t: ["accept-positions", "--date", DAY, "--json"], "accept-positions", []),
    ("tca", CLOSE, lambda t: ["tca", str(Path(t).parent), "--json"], "tca", []),
    ("monthly", CLOSE, lambda t: ["monthly", "--month", DAY[:7], "--json"], "monthly-report", []),
    ("cancel_all", CLOSE, lambda t: ["cancel-all", "--reason", KILL_REASON, "--json"], "cancel-all", []),
]
IGNORED_FILES = {
    "journal.sqlite",
    "journal.sqlite-wal",
    "journal.sqlite-shm",
    "paper_broker.sqlite",
    "paper_broker.sqlite-wal",
    "paper_broker.sqlite-shm",
    ".xlexec.lock",
}


def _setup(root: Path) -> Path:
    root.mkdir(parents=True)
    s = sample.make_day(DAY)
    cfg = write_demo_config(root, s.cash)
    # an absolute live folder: the commands run from elsewhere
    cfg.write_text(cfg.read_text().replace("live_dir: live", f"live_dir: {root / 'live'}"))
    sample.write_day(s, root / "live")
    return cfg


def _files(root: Path) -> dict[str, str]:
    live = root / "live"
    out = {}
    for p in sorted(live.rglob("*")):
        if p.is_file() and p.name not in IGNORED_FILES and not p.name.endswith(".log"):
            out[str(p.relative_to(live))] = p.read_text(encoding="utf-8", errors="replace").replace(str(root), "ROOT")
    return out


def _events(root: Path) -> list[tuple]:
    path = root / "live" / "journal.sqlite"
    if not path.exists():  # never create it: whether it exists is part of the state
        return []
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = con.execute(
            "SELECT day, kind, key, actor, payload FROM events WHERE kind != 'action' ORDER BY kind, key"
        ).fetchall()
    finally:
        con.close()
    # a reconciliation's key ends with a digest of its summary, which names the trades file by
    # its absolute path: the two roots differ there by construction, the payloads are compared whole
    return sorted(
        (d, k, key.split("|")[0] if k == "reconciliation" else key, a, p.replace(str(root), "ROOT"))
        for d, k, key, a, p in rows
    )


def _norm(obj, root: Path):
    return json.loads(json.dumps(obj, default=str).replace(str(root), "ROOT"))


@pytest.fixture(scope="module")
def both_faces(tmp_path_factory):
    base = tmp_path_factory.mktemp("faces")
    cli_root, book_root = base / "cli", base / "book"
    cli_cfg, book_cfg = _setup(cli_root), _setup(book_root)
    book = book_root / "xlexec.xlsm"
    mp = pytest.MonkeyPatch()
    records = {}
    try:
        import contextlib
        import io

        def run(argv: list[str], when: str) -> tuple[int, dict]:
            mp.setenv("XLEXEC_NOW", when)
            out = io.StringIO()
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
                rc = main(argv)
            lines = [ln for ln in out.getvalue().splitlines() if ln.startswith("{")]
            return rc, json.loads(lines[-1]) if lines else {}

        assert run(["workbook", "build", "--config", str(book_cfg), "--output", str(book)], MORNING)[0] == 0
        for step, when, cli_argv, button, sets in STEPS:
            argv = cli_argv(str(cli_root / "live" / DAY / "trades.csv"))
            rc_cli, doc_cli = run(argv[:1] + ["--config", str(cli_cfg)] + argv[1:], when)
            b_argv = ["button", button, "--config", str(book_cfg), "--book", str(book), "--day", DAY, "--json"]
            for kv in sets:
                b_argv += ["--set", kv]
            rc_book, doc_book = run(b_argv, when)
            records[step] = {
                "cli": (rc_cli, _norm(doc_cli, cli_root), _files(cli_root), _events(cli_root)),
                "book": (rc_book, _norm(doc_book, book_root), _files(book_root), _events(book_root)),
            }
    finally:
        mp.undo()
    return records


@pytest.mark.parametrize("step", [s[0] for s in STEPS])
def test_cli_and_button_give_the_same_result(both_faces, step):
    rc_cli, doc_cli, files_cli, events_cli = both_faces[step]["cli"]
    rc_book, doc_book, files_book, events_book = both_faces[step]["book"]
    assert rc_cli == 0 and rc_book == 0, (doc_cli, doc_book)
    assert doc_book["result"] == "ok", doc_book["message"]
    data = doc_book["data"]
    if step == "validate":  # the button shows the decision and the summary of validation.json
        assert data == {"decision": doc_cli["decision"], "summary": doc_cli["summary"]}
        assert doc_cli["decision"] == "CONDITIONAL"
    else:
        assert data == doc_cli
    assert sorted(files_book) == sorted(files_cli)
    for name in files_cli:
        assert files_book[name] == files_cli[name], name
    assert events_book == events_cli


def test_the_day_really_ran(both_faces):
    """The comparison is not of two empty days: orders went out, fills came back, costs were measured."""
    _rc, submit, _f, _e = both_faces["submit"]["cli"]
    assert submit["sent"] == 10 and submit["refused"] == 0
    _rc, fills, _f, _e = both_faces["import_fills"]["cli"]
    assert fills["fills"] > 0
    _rc, recon, files, _e = both_faces["reconcile"]["cli"]
    assert recon["trades_recommended"] == 10 and f"{DAY}/positions_after_recon.csv" in files
    _rc, tca, _f, _e = both_faces["tca"]["cli"]
    assert tca["total"]["usd"] > 0
    _rc, kill, files, _e = both_faces["cancel_all"]["cli"]
    assert kill["ok"] is True and "KILL_SWITCH" in files
