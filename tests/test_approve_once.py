"""An identical approval pressed twice is recorded once: the same orders (hash), decision,
approver, reason and policy give "already recorded" and no second journal event; a different
reason (or a decision in between) is a new decision.

``python -m xlexec approve`` runs in a subprocess from a folder that is not the project, with
``--config`` (absolute live_dir) and ``XLEXEC_NOW`` pinned on the paper broker; the journal is
read with plain SQLite.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
from pathlib import Path

from tests import cli_fork

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "validate"
DAY = "2025-10-30"


def desk(tmp_path: Path) -> tuple[Path, Path, Path]:
    live, elsewhere = tmp_path / "desk" / "live", tmp_path / "elsewhere"
    (live / DAY).mkdir(parents=True)
    elsewhere.mkdir()
    (live / DAY / "trades.csv").write_text((DATA / "trades_clean.csv").read_text())
    (live / DAY / "quotes.csv").write_text((DATA / "quotes.csv").read_text())
    for name in ("positions.csv", "events.csv", "reference.csv"):
        (live / ("current_positions.csv" if name == "positions.csv" else name)).write_text((DATA / name).read_text())
    cfg = tmp_path / "desk" / "config.yaml"
    cfg.write_text(f"live_dir: {json.dumps(str(live))}\n")
    return cfg, live, elsewhere


def approve(cfg: Path, live: Path, cwd: Path, decision: str, reason: str, by: str = "Jane Roe"):
    env = dict(os.environ, XLEXEC_NOW="2025-10-30T14:00:00+00:00")
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    args = ["approve", str(live / DAY / "trades.csv"), "--by", by, "--decision", decision, "--reason", reason]
    return cli_fork.run(
        [sys.executable, "-m", "xlexec", *args, "--config", str(cfg)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def decisions(live: Path) -> list[tuple[str, str, int]]:
    with sqlite3.connect(live / "journal.sqlite") as db:
        rows = db.execute("SELECT payload FROM events WHERE kind='approval' ORDER BY seq").fetchall()
    return [(p["decision"], p["reason"], p["seq"]) for p in (json.loads(r[0]) for r in rows)]


def test_the_same_approval_twice_is_recorded_once(tmp_path):
    cfg, live, elsewhere = desk(tmp_path)
    r1 = approve(cfg, live, elsewhere, "APPROVED", "all checks passed")
    assert r1.returncode == 0, r1.stderr
    assert r1.stdout.startswith("APPROVED 2025-10-30 by Jane Roe:")
    csv_before = (live / "trade_approvals.csv").read_bytes()
    r2 = approve(cfg, live, elsewhere, "APPROVED", "all  checks passed")  # the same reason, spaced
    assert r2.returncode == 0, r2.stderr
    assert r2.stdout.startswith(
        "already recorded at 2025-10-30T14:00:00.000+00:00 (#1; nothing changed): APPROVED 2025-10-30 by Jane Roe:"
    )
    assert decisions(live) == [("APPROVED", "all checks passed", 1)]
    assert (live / "trade_approvals.csv").read_bytes() == csv_before
    # another reason is another decision
    r3 = approve(cfg, live, elsewhere, "APPROVED", "checked the AAPL limit again")
    assert r3.returncode == 0 and "already" not in r3.stdout
    assert decisions(live) == [("APPROVED", "all checks passed", 1), ("APPROVED", "checked the AAPL limit again", 2)]


def test_a_decision_in_between_makes_the_repeat_a_new_decision(tmp_path):
    cfg, live, elsewhere = desk(tmp_path)
    assert approve(cfg, live, elsewhere, "APPROVED", "ok").returncode == 0
    assert approve(cfg, live, elsewhere, "REJECTED", "wrong file").returncode == 0
    r = approve(cfg, live, elsewhere, "APPROVED", "ok")
    assert r.returncode == 0 and "already" not in r.stdout
    assert decisions(live) == [("APPROVED", "ok", 1), ("REJECTED", "wrong file", 2), ("APPROVED", "ok", 3)]
    # pressed again: once; another approver approving the same orders: recorded
    assert "already recorded" in approve(cfg, live, elsewhere, "APPROVED", "ok").stdout
    assert "already" not in approve(cfg, live, elsewhere, "APPROVED", "ok", by="John Doe").stdout
    assert len(decisions(live)) == 4
