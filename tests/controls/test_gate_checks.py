"""Issue "Controls that hold", the last gaps: the chase passes submit's checks, whole-batch
refusals are journaled, ``approve`` keeps to today's session, ``convert`` verifies the chain.

Every attack runs the real CLI (``python -m xlexec``) in a subprocess from a scratch folder that
is not the project, with ``--config`` and absolute paths, and counts what reached the broker at
the broker: the loopback fake Alpaca's request log (a chase replacement is a ``PATCH``), or the
paper simulator's own database.

* the chase (``status --enforce-timeouts``) of orders that are not of today's session, after
  the broker's account changed under the config (a live account, another account number), or
  from a journal whose chain is broken -> refused, one line, exit 1, no replacement sent;
* a refused submit / convert / chase is a journal event (kind ``refusal``: rule, file, sha256),
  once however often it is retried; a broken or unreadable journal still refuses and says the
  refusal could not be recorded;
* ``approve`` of a file not dated today's session (CLI and the Approve button) -> refused;
* ``convert`` from a journal whose chain is broken -> refused naming the first bad event.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
import subprocess
from pathlib import Path

from tests import cli_fork
from tests.controls.test_session_attacks import THU, WED, env, ny, paper_config, write_day
from tests.reliability import _support as U
from tests.reliability import controls as C

FRI = "2025-10-31"
CHASE = {"enabled": True, "step": 0.05, "minutes": 15, "max_moves": 3}
KEYS = {U.KEY_ENV: U.KEY, U.SECRET_ENV: U.SECRET}


def xlexec(root: Path, *args, now: str | None = None, keys: bool = False) -> subprocess.CompletedProcess:
    """The real CLI from ``root/elsewhere`` (never the project), the clock pinned to ``now``."""
    cwd = root / "elsewhere"
    cwd.mkdir(exist_ok=True)
    e = env(now)
    if keys:
        e.update(KEYS)
    return cli_fork.run(
        [U.PY, "-m", "xlexec", *map(str, args)], cwd=cwd, env=e, capture_output=True, text=True, timeout=180
    )


def error_line(p: subprocess.CompletedProcess) -> str:
    """The refusal: exactly one ``error:`` line on stderr."""
    lines = [ln for ln in p.stderr.splitlines() if " error: " in ln]
    assert len(lines) == 1, p.stdout[-2000:] + p.stderr[-2000:]
    return lines[0]


def events(root: Path, kind: str) -> list[tuple[str, dict]]:
    """(key, payload) of the journal's events of ``kind``, in order."""
    db = root / "live" / "journal.sqlite"
    if not db.exists():  # nothing was ever journaled (connecting would create the file)
        return []
    con = sqlite3.connect(db)
    try:
        return [
            (k, json.loads(p))
            for k, p in con.execute("select key, payload from events where kind=? order by seq", (kind,))
        ]
    finally:
        con.close()


def tamper(root: Path, sql: str) -> None:
    """What someone with the file can do: drop the append-only triggers, then change a row."""
    con = sqlite3.connect(root / "live" / "journal.sqlite")
    try:
        con.execute("DROP TRIGGER events_no_update")
        con.execute(sql)
        con.commit()
    finally:
        con.close()


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def paper_orders(root: Path) -> int:
    return C.paper_orders(root)


def chase_config(root: Path, url: str, **alpaca) -> Path:
    """The fake Alpaca desk with the chase on, no approval needed and no timeout cancels."""
    extra = {"alpaca": alpaca} if alpaca else {}
    return U.alpaca_config(root, url, require_human_approval=False, order_timeout_minutes=0, chase=CHASE, **extra)


def patches(fake) -> int:
    """Chase replacements that reached the fake broker."""
    return len(fake.requests("PATCH"))


def posts(fake) -> int:
    return len([e for e in fake.log if e["method"] == "POST" and e["path"] == "/v2/orders"])


# ------------------------------------------------------------------------------- the chase


def test_the_chase_refuses_orders_not_of_todays_session(tmp_path):
    """Wednesday's orders, still resting at the broker, chased on Thursday's session: refused
    by the rule submit applies (the broker's clock), nothing replaced; on Wednesday they move."""
    with U.FakeAlpaca(now=dt.datetime.fromisoformat(ny(WED, 15, 40)), max_lifetime=300) as fake:
        cfg = chase_config(tmp_path, fake.url)
        trades = write_day(tmp_path, WED)
        sent = xlexec(tmp_path, "submit", trades, "--allow-closed", "--config", cfg, keys=True)
        assert sent.returncode == 0, sent.stderr
        assert posts(fake) == 3

        fake.fixed_now = dt.datetime.fromisoformat(ny(THU, 10, 5))
        p = xlexec(tmp_path, "status", "--enforce-timeouts", "--date", WED, "--config", cfg, keys=True)
        says = f"dated {WED} but today's session is {THU}"
        C.record("chase of yesterday's resting orders on today's session", p, patches(fake) + posts(fake) - 3,
                 refused=C.refused(p, says, "limit not moved"))  # fmt: skip
        assert p.returncode == 1
        line = error_line(p)
        assert "chase refused for 3 order(s)" in line and says in line and "limit not moved, nothing sent" in line
        assert patches(fake) == 0 and posts(fake) == 3
        assert not [pl for _k, pl in events(tmp_path, "order_intent") if pl.get("chase_of")]
        (rec,) = events(tmp_path, "refusal")
        assert (rec[1]["step"], rec[1]["rule"], rec[1]["day"]) == ("chase", "session", WED)
        assert rec[1]["file"] == str(trades) and rec[1]["file_sha256"] == sha256_of(trades)

        # the same chase on its own session moves every limit once
        fake.fixed_now = dt.datetime.fromisoformat(ny(WED, 15, 58))
        ok = xlexec(tmp_path, "status", "--enforce-timeouts", "--date", WED, "--config", cfg, keys=True)
        assert ok.returncode == 0, ok.stderr
        assert patches(fake) == 3


def _account_case(tmp_path, now_account: str, configured: str | None, says: list[str], attack: str) -> None:
    with U.FakeAlpaca(now=dt.datetime.fromisoformat(ny(THU, 10, 5)), max_lifetime=300) as fake:
        cfg = chase_config(tmp_path, fake.url, **({"account_number": configured} if configured else {}))
        trades = write_day(tmp_path, THU)
        sent = xlexec(tmp_path, "submit", trades, "--allow-closed", "--config", cfg, keys=True)
        assert sent.returncode == 0, sent.stderr
        assert posts(fake) == 3

        fake.account_number = now_account  # the keys (or a proxy) now reach another account
        fake.fixed_now = dt.datetime.fromisoformat(ny(THU, 10, 30))
        p = xlexec(tmp_path, "status", "--enforce-timeouts", "--date", THU, "--config", cfg, keys=True)
        C.record(attack, p, patches(fake) + posts(fake) - 3, refused=C.refused(p, *says))
        assert p.returncode == 1
        line = error_line(p)
        assert all(s in line for s in says), line
        assert patches(fake) == 0 and posts(fake) == 3
        assert [pl["rule"] for _k, pl in events(tmp_path, "refusal")] == ["account"]

        fake.account_number = U.PAPER_ACCOUNT  # the account the orders were sent to: the chase goes on
        ok = xlexec(tmp_path, "status", "--enforce-timeouts", "--date", THU, "--config", cfg, keys=True)
        assert ok.returncode == 0, ok.stderr
        assert patches(fake) == 3


def test_the_chase_refuses_a_live_account_behind_a_paper_config(tmp_path):
    _account_case(
        tmp_path, U.LIVE_ACCOUNT, None, [f"reports account {U.LIVE_ACCOUNT}", "this is a LIVE account"],
        "chase after the broker's account turned live (paper config)",
    )  # fmt: skip


def test_the_chase_refuses_another_account_than_the_configured_one(tmp_path):
    _account_case(
        tmp_path, "PA0000002", U.PAPER_ACCOUNT,
        ["reports account PA0000002", f"not the configured execution.alpaca.account_number {U.PAPER_ACCOUNT}"],
        "chase on another account than execution.alpaca.account_number",
    )  # fmt: skip


def test_the_chase_refuses_a_broken_journal_chain(tmp_path):
    """On the paper simulator: resting orders, then an intent edited in the journal (its limit
    raised): the chase reads intents from the journal, so it refuses, naming the first bad seq."""
    root = tmp_path
    cfg = root / "config.yaml"
    cfg.write_text(
        f"live_dir: {json.dumps(str(root / 'live'))}\nuser: ops\nexecution:\n  broker: paper\n"
        "  require_human_approval: false\n  max_order_size_usd: 50000\n  price_collar_pct: null\n"
        f"  order_timeout_minutes: 0\n  chase: {json.dumps(CHASE)}\n"
    )
    trades = write_day(root, THU)
    # limits well under the quotes: the orders rest
    trades.write_text(
        trades.read_text().replace("150.25,", "140.00,").replace("380.50,", "360.00,").replace("142.80,", "130.00,")
    )
    sent = xlexec(root, "submit", trades, "--allow-closed", "--config", cfg, now=ny(THU, 10, 0))
    assert sent.returncode == 0, sent.stderr
    assert paper_orders(root) == 3
    con = sqlite3.connect(root / "live" / "journal.sqlite")
    (seq,) = con.execute("select min(seq) from events where kind='order_intent'").fetchone()
    con.close()
    tamper(root, f"update events set payload = replace(payload, '\"qty\": 10.0', '\"qty\": 100.0') where seq = {seq}")

    p = xlexec(root, "status", "--enforce-timeouts", "--date", THU, "--config", cfg, now=ny(THU, 10, 30))
    says = f"journal BROKEN at seq {seq}: edited"
    C.record("chase from a journal whose chain is broken", p, paper_orders(root) - 3,
             refused=C.refused(p, says, "limit not moved"))  # fmt: skip
    assert p.returncode == 1
    line = error_line(p)
    assert says in line and "the refusal is not recorded: the journal does not verify" in line
    assert paper_orders(root) == 3
    assert events(root, "refusal") == []


# ------------------------------------------------------------------------ refusals journaled


def test_a_refused_submit_is_journaled_once_however_often_it_is_retried(tmp_path):
    cfg = paper_config(tmp_path)
    trades = write_day(tmp_path, THU)
    (tmp_path / "live" / "KILL_SWITCH").write_text("TRIGGERED 2025-10-30T13:35:00+00:00 by ops: drill\n")
    runs = [xlexec(tmp_path, "submit", trades, "--allow-closed", "--config", cfg, now=ny(THU)) for _ in range(3)]
    C.record("submit with KILL_SWITCH present, three times: one refusal event", runs[-1], paper_orders(tmp_path),
             refused=C.refused(runs[-1], "kill switch"))  # fmt: skip
    lines = {error_line(p) for p in runs}
    assert [p.returncode for p in runs] == [1, 1, 1] and len(lines) == 1, lines  # a rerun changes nothing
    (line,) = lines
    assert "kill switch" in line
    ((key, rec),) = events(tmp_path, "refusal")
    assert (rec["step"], rec["rule"], rec["day"]) == ("submit", "kill_switch", THU)
    assert rec["file"] == str(trades) and rec["file_sha256"] == sha256_of(trades)
    assert line.endswith(rec["line"]) and rec["login"]
    assert key.startswith(f"submit|{THU}|kill_switch|{sha256_of(trades)}|")
    assert paper_orders(tmp_path) == 0 and events(tmp_path, "order_intent") == []

    # another refusal (the file, then the rule, changed) is another event
    (tmp_path / "live" / "KILL_SWITCH").unlink()
    p = xlexec(tmp_path, "submit", trades, "--allow-closed", "--config", cfg, now=ny(THU))
    assert p.returncode == 1 and "no approval" in error_line(p)
    assert [r["rule"] for _k, r in events(tmp_path, "refusal")] == ["kill_switch", "approval"]
    assert paper_orders(tmp_path) == 0


def test_whole_batch_refusals_name_their_rule_in_the_journal(tmp_path):
    """Submit refused by the session, by a header edited after approval and by a loosened
    policy; convert refused without approval: one journal event each, naming the rule."""
    cfg = paper_config(tmp_path)
    trades = write_day(tmp_path, THU)
    approve = ["approve", trades, "--by", "jane", "--decision", "APPROVED", "--reason", "ok", "--config", cfg]
    assert xlexec(tmp_path, *approve, now=ny(THU, 9, 40)).returncode == 0

    wrong_day = xlexec(tmp_path, "submit", trades, "--allow-closed", "--config", cfg, now=ny(FRI))
    text = trades.read_text()
    trades.write_text(text.replace("# Portfolio Value: $100,000.00", "# Portfolio Value: $900,000.00"))
    header = xlexec(tmp_path, "submit", trades, "--allow-closed", "--config", cfg, now=ny(THU))
    trades.write_text(text)
    loose = tmp_path / "loose.yaml"
    loose.write_text(cfg.read_text().replace("max_order_size_usd: 50000", "max_order_size_usd: 900000"))
    policy = xlexec(tmp_path, "submit", trades, "--allow-closed", "--config", loose, now=ny(THU))
    trades.write_text(text.replace("AAPL,buy,10,", "AAPL,buy,11,").replace(",1502.50,", ",1652.75,"))
    convert = xlexec(tmp_path, "convert", trades, "--broker", "ibkr", "--config", cfg, now=ny(THU))

    cases = [
        (wrong_day, "submit", "session", f"dated {THU} but today's session is {FRI}"),
        (header, "submit", "header_changed", "the trades header changed since it was approved"),
        (policy, "submit", "policy", "loosens the policy in force"),
        (convert, "convert", "approval", "are not approved"),
    ]
    got = [(r["step"], r["rule"]) for _k, r in events(tmp_path, "refusal")]
    assert got == [(step, rule) for _p, step, rule, _s in cases]
    for (p, step, rule, says), (_k, rec) in zip(cases, events(tmp_path, "refusal"), strict=True):
        C.record(f"{step} refused ({rule}): journaled as a refusal", p, paper_orders(tmp_path),
                 refused=C.refused(p, says))  # fmt: skip
        assert p.returncode == 1 and says in error_line(p) and says in rec["line"]
    assert paper_orders(tmp_path) == 0 and not list(trades.parent.glob("trades_ibkr*"))


def test_a_refusal_the_journal_cannot_take_still_refuses_and_says_so(tmp_path):
    """The journal file is not a database (overwritten): convert with the kill switch on still
    refuses with its rule, and says the refusal could not be recorded; no basket is written."""
    cfg = paper_config(tmp_path)
    trades = write_day(tmp_path, THU)
    (tmp_path / "live" / "KILL_SWITCH").write_text("TRIGGERED 2025-10-30T13:35:00+00:00 by ops: drill\n")
    junk = b"this is not a journal\n" * 200
    (tmp_path / "live" / "journal.sqlite").write_bytes(junk)
    p = xlexec(tmp_path, "convert", trades, "--broker", "ibkr", "--config", cfg, now=ny(THU))
    C.record("convert with KILL_SWITCH and an unreadable journal", p, paper_orders(tmp_path),
             refused=C.refused(p, "kill switch", "could not be recorded in the journal"))  # fmt: skip
    assert p.returncode == 1
    line = error_line(p)
    assert "kill switch" in line and "no upload file written" in line
    assert "the refusal could not be recorded in the journal (DatabaseError" in line
    assert not list(trades.parent.glob("trades_ibkr*"))
    assert (tmp_path / "live" / "journal.sqlite").read_bytes() == junk


# ------------------------------------------------------------------------------ approve


def test_approve_refuses_a_file_not_dated_todays_session(tmp_path):
    cfg = paper_config(tmp_path)
    trades = write_day(tmp_path, THU)
    approve = ["approve", trades, "--by", "jane", "--decision", "APPROVED", "--reason", "ok", "--config", cfg]
    p = xlexec(tmp_path, *approve, now=ny(FRI, 9, 40))
    says = f"the trades file is dated {THU} but today's session is {FRI}"
    C.record("approve a file dated yesterday", p, paper_orders(tmp_path), refused=C.refused(p, says))
    assert p.returncode == 1
    assert (
        error_line(p)
        == f"xlexec approve: error: {says}: a file can only be approved on the session it is for; nothing written"
    )
    assert events(tmp_path, "approval") == [] and not (tmp_path / "live" / "trade_approvals.csv").exists()
    sat = xlexec(tmp_path, *approve, now=ny("2025-11-01", 11, 0))
    assert sat.returncode == 1 and f"dated {THU} but there is no trading session today" in error_line(sat)
    # anyone may still reject, any day; on its own session the file is approved
    rej = xlexec(tmp_path, *approve[:5], "REJECTED", *approve[6:], now=ny(FRI, 9, 40))
    assert rej.returncode == 0, rej.stderr
    ok = xlexec(tmp_path, *approve, now=ny(THU, 9, 40))
    assert ok.returncode == 0, ok.stderr
    assert [r["decision"] for _k, r in events(tmp_path, "approval")] == ["REJECTED", "APPROVED"]
    assert paper_orders(tmp_path) == 0


def test_the_approve_button_refuses_a_file_not_dated_todays_session(tmp_path):
    cfg = paper_config(tmp_path)
    write_day(tmp_path, THU)
    book = tmp_path / "book.xlsm"
    load = xlexec(tmp_path, "button", "load-trades", "--config", cfg, "--book", book, "--day", THU, now=ny(THU, 9, 30))
    assert load.returncode == 0, load.stderr
    before = book.read_bytes()
    press = ["button", "approve", "--config", cfg, "--book", book, "--day", THU, "--set", "approver=Jane",
             "--set", "reason=looks fine", "--set", "decision=APPROVED"]  # fmt: skip
    p = xlexec(tmp_path, *press, now=ny(FRI, 9, 40))
    says = f"dated {THU} but today's session is {FRI}"
    C.record("Approve button on a file dated yesterday", p, paper_orders(tmp_path), face="button",
             refused=C.refused(p, says) and book.read_bytes() == before)  # fmt: skip
    assert p.returncode == 1 and says in p.stderr
    assert book.read_bytes() == before and events(tmp_path, "approval") == []
    ok = xlexec(tmp_path, *press, now=ny(THU, 9, 40))
    assert ok.returncode == 0, ok.stderr
    assert [r["decision"] for _k, r in events(tmp_path, "approval")] == ["APPROVED"]


# ------------------------------------------------------------------------------ convert


def test_convert_refuses_a_broken_journal_chain_naming_the_first_bad_event(tmp_path):
    cfg = paper_config(tmp_path)
    trades = write_day(tmp_path, THU)
    approve = ["approve", trades, "--by", "jane", "--decision", "APPROVED", "--reason", "ok", "--config", cfg]
    assert xlexec(tmp_path, *approve, now=ny(THU, 9, 40)).returncode == 0
    con = sqlite3.connect(tmp_path / "live" / "journal.sqlite")
    (seq,) = con.execute("select seq from events where kind='approval'").fetchone()
    con.close()
    tamper(tmp_path, f"update events set actor = 'someone else' where seq = {seq}")

    for extra in ([], ["--draft"]):
        p = xlexec(tmp_path, "convert", trades, "--broker", "ibkr", *extra, "--config", cfg, now=ny(THU))
        says = f"journal BROKEN at seq {seq}: edited"
        C.record(f"convert{' --draft' if extra else ''} from a journal whose chain is broken", p,
                 paper_orders(tmp_path), refused=C.refused(p, says))  # fmt: skip
        assert p.returncode == 1
        line = error_line(p)
        assert says in line and "`xlexec journal verify`" in line and "no upload file written" in line
    assert not list(trades.parent.glob("trades_ibkr*"))
    assert events(tmp_path, "refusal") == []
