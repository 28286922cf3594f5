"""cancel-all's record: the incident report shows each of the day's orders with its final status
as the broker reports it after the cancels; a second cancel-all keeps the first trigger time
(``live/KILL_SWITCH``'s first line and the journal's ``triggered_at``) and is recorded as a repeat.

``python -m xlexec cancel-all`` runs in a subprocess from a folder that is not the project,
against the loopback fake Alpaca (its orders set up in the fake itself); the journal is read
with plain SQLite. Expected lines are written by hand.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from tests.reliability import _support as U


def kills(live: Path) -> list[dict]:
    with sqlite3.connect(live / "journal.sqlite") as db:
        rows = db.execute("SELECT payload FROM events WHERE kind='kill_switch' ORDER BY seq").fetchall()
    return [json.loads(r[0]) for r in rows]


def test_incident_report_shows_final_broker_statuses_and_a_repeat_keeps_the_first_trigger(tmp_path):
    root, elsewhere = tmp_path / "desk", tmp_path / "elsewhere"
    elsewhere.mkdir()
    with U.FakeAlpaca(max_lifetime=120) as fake:
        cfg = U.alpaca_config(root, fake.url)
        fake.seed_order("manual-1", "AAPL", "buy", 10, 100.50)
        fake.seed_order("manual-2", "MSFT", "sell", 5, 380.00)
        fake.fill("manual-2", 2, 380.25)  # partly filled, then cancelled
        r1 = U.xlexec(["cancel-all", "--config", str(cfg), "--reason", "drill one"], cwd=elsewhere)
        assert r1.returncode == 0, r1.stderr
        r2 = U.xlexec(["cancel-all", "--config", str(cfg), "--reason", "drill two"], cwd=elsewhere)
        assert r2.returncode == 0, r2.stderr
        assert {o["status"] for o in fake.orders.values()} == {"canceled"}
    live = root / "live"
    ks = (live / "KILL_SWITCH").read_text().splitlines()
    assert len(ks) == 2 and ks[0].startswith("TRIGGERED ") and ks[0].endswith(" by ops: drill one")
    assert ks[1].startswith("again ") and ks[1].endswith(" by ops: drill two")
    first_time = ks[0].split()[1]
    k1, k2 = kills(live)
    assert (k1["triggered_at"], k1["repeat"]) == (first_time, 0)
    assert (k2["triggered_at"], k2["repeat"]) == (first_time, 1)
    reports = sorted(live.glob("*/incident_*.txt"))
    assert reports, "no incident report written"
    for r, repeat in ((r1, ""), (r2, "; this cancel-all is repeat 1")):
        assert f"kill switch: triggered at {first_time}{repeat}\n" in r.stdout
        block = r.stdout.split("orders of the day at the broker after cancel-all (final status): 2\n")[1]
        assert block.splitlines()[:2] == [
            "  AAPL buy 10 @ $100.50 canceled filled 0 (manual-1)",
            "  MSFT sell 5 @ $380.00 canceled filled 2 @ $380.25 (manual-2)",
        ]
    report_text = reports[-1].read_text()
    assert "  MSFT sell 5 @ $380.00 canceled filled 2 @ $380.25 (manual-2)" in report_text
