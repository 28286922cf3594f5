"""Control "the journal is tamper-evident", through the CLI and the Submit button.

Approvals are read from the journal only, so whoever holds ``live/journal.sqlite`` could drop
its append-only triggers and turn a REJECTED decision into APPROVED, or delete the REJECTED row
that revoked an approval: the approval reader would then authorise the orders. Each attack is
shown to be real (the approval reader alone accepts the forged history), then ``xlexec submit``
and ``xlexec button submit`` are refused with one line naming the journal's first broken seq and
``xlexec journal verify``, and nothing reaches the paper broker. Every command is a subprocess run
from a temp folder, with absolute ``--config`` paths.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests import cli_fork
from tests.conftest import GUIDE_TRADES
from tests.reliability import controls as C
from tests.reliability.controls import paper_orders  # orders the paper broker itself holds

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
DAY = "2025-10-30"
NOW = "2025-10-30T14:05:00+00:00"  # 10:05 New York: the market is open
QUOTES = (
    "symbol,bid,ask,last,timestamp\nAAPL,150.1,150.3,150.2,2025-10-30T14:04:59Z\n"
    "MSFT,380.5,380.7,380.6,2025-10-30T14:04:59Z\n"
    "GOOGL,142.8,143.0,142.9,2025-10-30T14:04:59Z\n"
)


def _day(root: Path) -> tuple[Path, Path]:
    live = root / "live"
    (live / DAY).mkdir(parents=True)
    (live / DAY / "trades.csv").write_text(GUIDE_TRADES)
    (live / DAY / "quotes.csv").write_text(QUOTES)
    (live / "current_positions.csv").write_text("symbol,shares,avg_cost\nMSFT,100,300.00\n")
    cfg = root / "config.yaml"
    cfg.write_text(
        f"live_dir: {json.dumps(str(live))}\nexecution:\n  broker: paper\n"
        "  require_human_approval: true\n  max_order_size_usd: 50000\n"
    )
    return cfg, live


def xlexec(root: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("XLEXEC_CRASH_AT",)}
    env["XLEXEC_NOW"] = NOW
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return cli_fork.run(
        [sys.executable, "-m", "xlexec", *args], cwd=root, env=env, capture_output=True, text=True, timeout=300
    )


def approve(root: Path, cfg: Path, live: Path, decision: str) -> None:
    p = xlexec(root, "approve", str(live / DAY / "trades.csv"), "--config", str(cfg), "--by", "ann",
               "--decision", decision, "--reason", "desk review", "--override")  # fmt: skip
    assert p.returncode == 0, p.stderr


def submit(root: Path, cfg: Path, live: Path) -> subprocess.CompletedProcess:
    return xlexec(root, "submit", str(live / DAY / "trades.csv"), "--config", str(cfg), "--allow-closed")


def journal(live: Path, sql: str, *args) -> list[tuple]:
    con = sqlite3.connect(live / "journal.sqlite")
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


def tamper(live: Path, *sql: str) -> None:
    """What someone with the file can do: drop the append-only triggers, then change anything."""
    con = sqlite3.connect(live / "journal.sqlite")
    try:
        con.execute("DROP TRIGGER events_no_update")
        con.execute("DROP TRIGGER events_no_delete")
        for s in sql:
            con.execute(s)
        con.commit()
    finally:
        con.close()


def forged_approval_is_read(live: Path) -> bool:
    """Whether the approval reader, on its own, would let the day's orders go (the attack is real)."""
    from xlexec.store.approvals import find_approval

    sha = journal(live, "SELECT json_extract(payload, '$.orders_sha256') FROM events WHERE kind='approval'")[0][0]
    return find_approval(live, DAY, sha) is not None


def one_line(text: str) -> str:
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("xlexec submit: mode")]
    assert len(lines) == 1, text
    return lines[0]


def test_an_untouched_journal_lets_the_approved_orders_go(tmp_path):
    """The twin of the attacks below: the same day, approved and untouched, is sent."""
    cfg, live = _day(tmp_path)
    approve(tmp_path, cfg, live, "APPROVED")
    p = submit(tmp_path, cfg, live)
    assert p.returncode == 0, p.stderr
    assert paper_orders(live) == 3
    v = xlexec(tmp_path, "journal", "verify", "--config", str(cfg))
    assert v.returncode == 0
    n, head = journal(live, "SELECT COUNT(*), (SELECT sha256 FROM events ORDER BY seq DESC LIMIT 1) FROM events")[0]
    assert v.stdout.strip() == (
        f"{live / 'journal.sqlite'}: journal OK: {n} events, chain from seq 1; head seq {n} sha256 {head}"
    )


def test_a_rejection_edited_into_an_approval_is_refused_at_submit(tmp_path):
    cfg, live = _day(tmp_path)
    approve(tmp_path, cfg, live, "REJECTED")
    assert not forged_approval_is_read(live)
    assert submit(tmp_path, cfg, live).returncode == 1  # rejected: refused, as it should be
    (seq,) = journal(live, "SELECT seq FROM events WHERE kind='approval'")[0]
    tamper(
        live,
        'UPDATE events SET payload = replace(payload, \'"decision": "REJECTED"\', \'"decision": "APPROVED"\')'
        " WHERE kind = 'approval'",
    )
    assert forged_approval_is_read(live)  # without the chain, this would be sent

    p = submit(tmp_path, cfg, live)
    C.record(
        "journal edited: a REJECTED approval turned APPROVED",
        p,
        paper_orders(live),
        refused=C.refused(p, f"journal BROKEN at seq {seq}: edited"),
    )
    assert p.returncode == 1
    line = one_line(p.stderr)
    assert line.startswith("xlexec submit: error: [PAPER")
    assert f"{live / 'journal.sqlite'}: journal BROKEN at seq {seq}: edited:" in line
    assert "`xlexec journal verify`" in line and line.endswith(
        "nothing sent; the refusal is not recorded: the journal does not verify"
    )
    assert journal(live, "SELECT COUNT(*) FROM events WHERE kind = 'refusal' AND key LIKE '%journal_chain%'") == [(0,)]
    assert paper_orders(live) == 0
    assert journal(live, "SELECT COUNT(*) FROM events WHERE kind = 'order_intent'") == [(0,)]

    v = xlexec(tmp_path, "journal", "verify", "--config", str(cfg))
    assert v.returncode == 1
    assert v.stdout.strip() == (
        f"{live / 'journal.sqlite'}: journal BROKEN at seq {seq}: edited: its columns do not give its "
        "stored hash (the row was changed after it was written)"
    )
    doc = json.loads(xlexec(tmp_path, "journal", "verify", "--config", str(cfg), "--json").stdout)
    assert (doc["ok"], doc["broken_seq"], doc["problem"], doc["exit_code"]) == (False, seq, "edited", 1)


def test_a_deleted_revocation_is_refused_at_submit(tmp_path):
    cfg, live = _day(tmp_path)
    approve(tmp_path, cfg, live, "APPROVED")
    approve(tmp_path, cfg, live, "REJECTED")  # revokes it
    assert not forged_approval_is_read(live)
    rows = journal(live, "SELECT seq, json_extract(payload, '$.decision') FROM events WHERE kind='approval'")
    (revoked,) = [s for s, d in rows if d == "REJECTED"]
    tamper(live, f"DELETE FROM events WHERE seq = {revoked}")
    assert forged_approval_is_read(live)  # without the chain, this would be sent

    p = submit(tmp_path, cfg, live)
    C.record(
        "journal edited: the revoking REJECTED row deleted",
        p,
        paper_orders(live),
        refused=C.refused(p, f"journal BROKEN at seq {revoked}: truncated"),
    )
    assert p.returncode == 1
    line = one_line(p.stderr)
    assert f"journal BROKEN at seq {revoked}: truncated: seq {revoked}..{revoked} were written and are gone" in line
    assert "`xlexec journal verify`" in line and line.endswith(
        "nothing sent; the refusal is not recorded: the journal does not verify"
    )
    assert journal(live, "SELECT COUNT(*) FROM events WHERE kind = 'refusal' AND key LIKE '%journal_chain%'") == [(0,)]
    assert paper_orders(live) == 0
    v = xlexec(tmp_path, "journal", "verify", "--config", str(cfg))
    assert v.returncode == 1 and f"BROKEN at seq {revoked}: truncated" in v.stdout


def test_the_submit_button_refuses_a_tampered_journal_too(tmp_path):
    cfg, live = _day(tmp_path)
    approve(tmp_path, cfg, live, "REJECTED")
    book = tmp_path / "book.xlsm"
    b = xlexec(tmp_path, "workbook", "build", "--config", str(cfg), "--day", DAY, "-o", str(book))
    assert b.returncode == 0, b.stderr
    (seq,) = journal(live, "SELECT seq FROM events WHERE kind='approval'")[0]
    tamper(
        live,
        'UPDATE events SET payload = replace(payload, \'"decision": "REJECTED"\', \'"decision": "APPROVED"\')'
        " WHERE kind = 'approval'",
    )
    assert forged_approval_is_read(live)
    p = xlexec(tmp_path, "button", "submit", "--book", str(book), "--config", str(cfg), "--day", DAY)
    C.record(
        "journal edited: REJECTED turned APPROVED, Submit button",
        p,
        paper_orders(live),
        face="button",
        refused=C.refused(p, f"journal BROKEN at seq {seq}: edited"),
    )
    assert p.returncode == 1
    refusal = [ln for ln in p.stderr.splitlines() if "refused" in ln]
    assert len(refusal) == 1, p.stderr
    assert f"journal BROKEN at seq {seq}: edited:" in refusal[0] and "`xlexec journal verify`" in refusal[0]
    assert paper_orders(live) == 0
    assert journal(live, "SELECT COUNT(*) FROM events WHERE kind = 'order_intent'") == [(0,)]


def test_a_broken_journal_gains_nothing_from_a_refused_submit(tmp_path):
    """A tightened config is journaled as a policy change on its first use; from a journal that
    does not verify, submit refuses before it writes that (or anything) to the journal."""
    cfg, live = _day(tmp_path)
    approve(tmp_path, cfg, live, "APPROVED")
    tamper(live, "UPDATE events SET payload = replace(payload, 'desk review', 'desk revieW') WHERE kind = 'approval'")
    cfg.write_text(cfg.read_text().replace("max_order_size_usd: 50000", "max_order_size_usd: 40000"))  # tighter
    before = journal(live, "SELECT COUNT(*), MAX(seq) FROM events")
    p = submit(tmp_path, cfg, live)
    assert p.returncode == 1
    assert "journal BROKEN at seq" in one_line(p.stderr)
    assert journal(live, "SELECT COUNT(*), MAX(seq) FROM events") == before
    assert paper_orders(live) == 0
