"""The policy bound to the approval, and maker-checker, attacked through the real CLI.

The attack: the submitter passes their own ``--config`` with ``require_human_approval: false``
and ``max_order_size_usd: 1e12``; before the policy was journaled, an unapproved order 29x the
size limit went to the broker with exit 0. Every case here runs ``python -m xlexec`` in a
subprocess from a folder outside the project, with absolute paths, the OS login faked through
``LOGNAME``/``USER`` (what ``getpass.getuser`` reads first), and looks at the built-in paper
broker's own database to show what reached it.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from tests import cli_fork
from tests.reliability import controls as C
from xlexec.core.orders import orders_from_trades
from xlexec.formats.trades import read_trades
from xlexec.store.approvals import record_approval

REPO = Path(__file__).resolve().parents[2]
DAY = "2025-10-30"
NOW = "2025-10-30T14:05:00+00:00"
HEAD = (
    "# Date: 2025-10-30\n# Total Trades: {n}\n# Portfolio Value: $100,000.00\n"
    "# Regime: Normal (Risk Multiplier: 1.0)\n# IC: 0.034\n# Kill Switch: ACTIVE\n# Safety Checks: PASSED\n"
    "symbol,side,shares,price,notional,weight_change,commission_est,slippage_est,total_cost_est\n"
)
SMALL = HEAD.format(n=3) + (
    "AAPL,buy,40,150.25,6010.00,0.0601,0.60,1.20,1.80\n"
    "MSFT,sell,10,380.50,3805.00,-0.0381,0.38,0.76,1.14\n"
    "GOOGL,buy,30,142.80,4284.00,0.0428,0.43,0.86,1.29\n"
)
# one order of $289,982.50: 29x the default max_order_size_usd of $10,000
BIG = HEAD.format(n=1) + "AAPL,buy,1930,150.25,289982.50,0.0601,28.99,57.99,86.98\n"
# stamped 10 s before NOW: within execution.max_quote_age_seconds (60)
QUOTES = (
    "symbol,bid,ask,last,timestamp\nAAPL,150.1,150.3,150.2,2025-10-30T14:04:50Z\n"
    "MSFT,380.5,380.7,380.6,2025-10-30T14:04:50Z\nGOOGL,142.8,143.0,142.9,2025-10-30T14:04:50Z\n"
)


class Desk:
    """One trading folder (``root/live``) and the configs written beside it."""

    def __init__(self, root: Path, trades: str = SMALL):
        self.root = root
        self.live = root / "live"
        (self.live / DAY).mkdir(parents=True)
        self.trades = self.live / DAY / "trades.csv"
        self.trades.write_text(trades)
        (self.live / DAY / "quotes.csv").write_text(QUOTES)
        (self.live / "current_positions.csv").write_text("symbol,shares,avg_cost\nMSFT,20,300.00\n")

    def config(self, name: str, execution: str = "", top: str = "") -> Path:
        p = self.root / f"{name}.yaml"
        p.write_text(
            f"live_dir: {self.live}\n{top}execution:\n  paper:\n    starting_cash: 1000000\n"
            + "".join(f"  {line}\n" for line in execution.splitlines() if line.strip())
        )
        return p

    def xlexec(self, *args: str, login: str = "ann") -> subprocess.CompletedProcess:
        env = {k: v for k, v in os.environ.items() if k not in ("XLEXEC_CRASH_AT", "LNAME", "USERNAME")}
        env.update(XLEXEC_NOW=NOW, LOGNAME=login, USER=login)
        env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
        return cli_fork.run(
            [sys.executable, "-m", "xlexec", *args], cwd=self.root, env=env, capture_output=True, text=True, timeout=120
        )

    def approve(self, cfg: Path, login: str = "ann", by: str = "Ann Approver") -> subprocess.CompletedProcess:
        return self.xlexec(
            "approve", str(self.trades), "--config", str(cfg), "--by", by, "--decision", "APPROVED",
            "--reason", "checked", login=login,
        )  # fmt: skip

    def submit(self, cfg: Path, login: str = "bob") -> subprocess.CompletedProcess:
        return self.xlexec("submit", str(self.trades), "--config", str(cfg), "--allow-closed", login=login)

    def at_broker(self) -> list[tuple]:
        """(symbol, qty) of every order the paper broker received."""
        db = self.live / "paper_broker.sqlite"
        if not db.exists():
            return []
        con = sqlite3.connect(db)
        try:
            bodies = [json.loads(b) for (b,) in con.execute("select body from orders")]
        finally:
            con.close()
        return sorted((b["symbol"], float(b["qty"])) for b in bodies)

    def policy_events(self) -> list[tuple[str, str]]:
        con = sqlite3.connect(self.live / "journal.sqlite")
        try:
            rows = con.execute("select key, payload from events where kind='policy' order by seq").fetchall()
        finally:
            con.close()
        return [(k.split("|")[1], json.loads(p)["why"]) for k, p in rows]


def one_line(p: subprocess.CompletedProcess) -> str:
    lines = [x for x in p.stderr.strip().splitlines() if not x.startswith("xlexec submit: mode ") and x.strip()]
    assert len(lines) == 1, p.stderr
    assert "Traceback" not in p.stderr
    return lines[0]


SENT_SMALL = [("AAPL", 40.0), ("GOOGL", 30.0), ("MSFT", 10.0)]


def test_getpass_reads_the_faked_login_of_the_subprocess(tmp_path):
    d = Desk(tmp_path)
    p = d.xlexec("approve", str(d.trades), "--config", str(d.config("official")), "--by", "Display Name",
                 "--decision", "APPROVED", "--reason", "ok", login="zed")  # fmt: skip
    assert p.returncode == 0, p.stderr
    rows = list(csv.DictReader((d.live / "trade_approvals.csv").open()))
    assert rows[-1]["approver"] == "Display Name" and rows[-1]["approver_login"] == "zed"
    assert len(rows[-1]["policy_sha256"]) == 64


def test_own_config_that_loosens_the_policy_is_refused_naming_each_key(tmp_path):
    d = Desk(tmp_path)
    official = d.config("official")
    assert d.approve(official).returncode == 0  # the desk's config: first use journals its policy
    d.trades.write_text(BIG)
    mine = d.config("mine", "require_human_approval: false\nmax_order_size_usd: 1.0e12")
    p = d.submit(mine)
    C.record(
        "own config loosening the policy (approval off, size 1e12)",
        p,
        len(d.at_broker()),
        refused=C.refused(p, "loosens the policy in force"),
    )
    assert p.returncode == 1, p.stderr
    line = one_line(p)
    assert "policy:" in line and "execution.require_human_approval true -> false" in line
    assert "execution.max_order_size_usd 10000 -> 1000000000000" in line
    assert "xlexec policy approve" in line and "nothing sent" in line
    assert d.at_broker() == []
    # convert (the upload file) refuses the same way, writing nothing
    c = d.xlexec("convert", str(d.trades), "--config", str(mine), "--broker", "ibkr", login="bob")
    C.record(
        "own config loosening the policy, at convert",
        c,
        len(d.at_broker()),
        refused=C.refused(c, "loosens the policy in force") and not list(d.live.rglob("trades_ibkr*.csv")),
    )
    assert c.returncode == 1 and "execution.max_order_size_usd" in one_line(c)
    assert not list(d.live.rglob("trades_ibkr*.csv"))
    # a rerun changes nothing: the proposal is journaled once
    before = d.policy_events()
    assert before == [("in_force", "first use"), ("proposed", "proposed")]
    assert d.submit(mine).returncode == 1
    assert d.policy_events() == before and d.at_broker() == []
    # and the desk's own config still refuses the order on its size
    s = d.submit(official)
    assert s.returncode == 1 and d.at_broker() == []


def test_a_tightened_config_takes_effect_at_once_and_sends(tmp_path):
    d = Desk(tmp_path)
    official = d.config("official")
    assert d.approve(official).returncode == 0
    (d.live / "restricted.csv").write_text("symbol,reason\nTSLA,compliance\n")  # one more restricted symbol
    tight = d.config("tight", "max_order_size_usd: 8000\nprice_collar_pct: 0.02\nmax_daily_trades: 10")
    p = d.submit(tight)
    assert p.returncode == 0, p.stderr
    assert d.at_broker() == SENT_SMALL
    assert d.policy_events() == [("in_force", "first use"), ("in_force", "tightened")]
    show = json.loads(d.xlexec("policy", "show", "--config", str(tight), "--json").stdout)
    assert show["in_force_sha256"] == show["policy_sha256"] and show["loosened"] == []
    # the tightening is in force: going back to the desk's config is now a loosening
    back = json.loads(d.xlexec("policy", "show", "--config", str(official), "--json").stdout)
    loosened = ["execution.max_order_size_usd", "execution.max_daily_trades", "execution.price_collar_pct"]
    assert back["loosened"] == loosened
    (d.live / "restricted.csv").unlink()  # and a symbol taken off the restricted list
    r = d.submit(tight)
    C.record(
        "a symbol taken off the restricted list",
        r,
        len(d.at_broker()) - len(SENT_SMALL),
        refused=C.refused(r, "restricted.symbols (TSLA removed)"),
    )
    assert r.returncode == 1 and "restricted.symbols (TSLA removed)" in one_line(r)
    assert d.at_broker() == SENT_SMALL  # nothing more


def test_a_loosening_approved_with_policy_approve_is_allowed_once_the_orders_are_approved_under_it(tmp_path):
    d = Desk(tmp_path)
    official = d.config("official")
    assert d.approve(official).returncode == 0
    loose = d.config("loose", "max_order_size_usd: 50000")
    r = d.submit(loose)
    C.record(
        "size limit raised in the config, not approved",
        r,
        len(d.at_broker()),
        refused=C.refused(r, "execution.max_order_size_usd 10000 -> 50000"),
    )
    assert r.returncode == 1 and "execution.max_order_size_usd 10000 -> 50000" in one_line(r)
    a = d.xlexec("policy", "approve", "--config", str(loose), "--approver", "Carol Checker", "--reason",
                 "bigger tickets from today", login="carol")  # fmt: skip
    assert a.returncode == 0, a.stderr
    assert d.policy_events()[-1] == ("in_force", "approved")
    # the orders were approved under the tighter policy: the approval binds it
    s = d.submit(loose)
    C.record(
        "policy loosened after the orders were approved",
        s,
        len(d.at_broker()),
        refused=C.refused(s, "looser than when approval #1"),
    )
    assert s.returncode == 1
    line = one_line(s)
    assert "looser than when approval #1" in line and "execution.max_order_size_usd 10000 -> 50000" in line
    assert d.at_broker() == []
    assert d.approve(loose).returncode == 0  # approved again, under the policy in force
    ok = d.submit(loose)
    assert ok.returncode == 0, ok.stderr
    assert d.at_broker() == SENT_SMALL


def test_four_eyes_refuses_the_approvers_own_submit(tmp_path):
    d = Desk(tmp_path)
    cfg = d.config("four", "require_four_eyes: true")
    assert d.approve(cfg, login="ann").returncode == 0
    p = d.submit(cfg, login="ann")
    C.record("four-eyes: the approver's own submit", p, len(d.at_broker()), refused=C.refused(p, "require_four_eyes"))
    assert p.returncode == 1
    line = one_line(p)
    assert "require_four_eyes" in line and "'ann'" in line and "nothing sent" in line
    assert d.at_broker() == []
    c = d.xlexec("convert", str(d.trades), "--config", str(cfg), "--broker", "ibkr", login="ann")
    C.record(
        "four-eyes: the approver's own convert",
        c,
        len(d.at_broker()),
        refused=C.refused(c, "require_four_eyes") and not list(d.live.rglob("trades_ibkr*.csv")),
    )
    assert c.returncode == 1 and "require_four_eyes" in one_line(c)
    ok = d.submit(cfg, login="bob")  # another login
    assert ok.returncode == 0, ok.stderr
    assert d.at_broker() == SENT_SMALL


def test_an_approver_not_listed_is_refused_at_approve(tmp_path):
    d = Desk(tmp_path)
    cfg = d.config("listed", "require_four_eyes: true\napprovers: [ann, carol]")
    p = d.approve(cfg, login="mallory", by="Ann Approver")  # the display name is not the identity
    C.record(
        "approve by a login not in approvers", p, len(d.at_broker()), refused=C.refused(p, "approvers", "'mallory'")
    )
    assert p.returncode == 1
    line = one_line(p)
    assert "approvers" in line and "'mallory'" in line and "ann, carol" in line
    assert not (d.live / "trade_approvals.csv").exists()
    s = d.submit(cfg, login="bob")
    assert s.returncode == 1 and "no approval" in one_line(s) and d.at_broker() == []


def test_a_config_cannot_list_its_own_author_and_the_proposer_cannot_approve_the_change(tmp_path):
    d = Desk(tmp_path)
    cfg = d.config("listed", "require_four_eyes: true\napprovers: [ann, carol]")
    assert d.approve(cfg, login="ann").returncode == 0
    widened = d.config("widened", "require_four_eyes: true\napprovers: [ann, carol, mallory]")
    # mallory adds herself: a loosening, judged by the policy in force (she is not listed there)
    p = d.approve(widened, login="mallory")
    C.record(
        "a config adding its author to approvers", p, len(d.at_broker()), refused=C.refused(p, "execution.approvers")
    )
    assert p.returncode == 1 and "execution.approvers" in one_line(p)
    m = d.xlexec("policy", "approve", "--config", str(widened), "--approver", "M", "--reason", "me", login="mallory")
    C.record(
        "policy approve by a login not in approvers",
        m,
        len(d.at_broker()),
        refused=C.refused(m, "approvers", "'mallory'"),
    )
    assert m.returncode == 1 and "approvers" in one_line(m) and "'mallory'" in one_line(m)
    # ann (listed) proposes a change; the same login cannot approve it under four-eyes
    raised = d.config("raised", "require_four_eyes: true\napprovers: [ann, carol]\nmax_order_size_usd: 20000")
    assert d.submit(raised, login="ann").returncode == 1  # first use of the change: proposed by ann
    own = d.xlexec("policy", "approve", "--config", str(raised), "--approver", "Ann", "--reason", "x", login="ann")
    C.record(
        "four-eyes: the proposer approves their own policy change",
        own,
        len(d.at_broker()),
        refused=C.refused(own, "require_four_eyes", "proposed by"),
    )
    assert own.returncode == 1 and "require_four_eyes" in one_line(own) and "proposed by" in one_line(own)
    other = d.xlexec("policy", "approve", "--config", str(raised), "--approver", "C", "--reason", "ok", login="carol")
    assert other.returncode == 0, other.stderr
    assert d.at_broker() == []


def test_an_approval_recorded_before_policies_were_bound_is_honoured_unless_the_config_loosens(tmp_path):
    d = Desk(tmp_path)
    t = read_trades(d.trades)
    # an approval as recorded before this control: no policy
    record_approval(
        d.live, date=DAY, orders=orders_from_trades(t, date=DAY), decision="APPROVED", reason="old",
        approver="Ann", recommended="CONDITIONAL", now=dt.datetime(2025, 10, 30, 13, 0, tzinfo=dt.UTC),
        approver_login="ann",
    )  # fmt: skip
    con = sqlite3.connect(d.live / "journal.sqlite")
    payload = json.loads(con.execute("select payload from events where kind='approval'").fetchone()[0])
    assert payload.get("policy") is None
    con.close()
    official = d.config("official")
    assert d.submit(official).returncode == 0  # first use of the policy; the old approval holds
    assert d.at_broker() == SENT_SMALL
    loose = d.config("loose", "price_collar_pct: null")
    p = d.submit(loose)
    C.record(
        "price collar turned off under an approval older than the policy",
        p,
        len(d.at_broker()) - len(SENT_SMALL),
        refused=C.refused(p, "execution.price_collar_pct 0.05 -> null (off)"),
    )
    assert p.returncode == 1 and "execution.price_collar_pct 0.05 -> null (off)" in one_line(p)


def test_the_approve_button_refuses_an_approver_not_listed(tmp_path):
    d = Desk(tmp_path)
    cfg = d.config("listed", "approvers: [ann]")
    book = tmp_path / "book.xlsm"
    assert d.xlexec("button", "load-trades", "--config", str(cfg), "--book", str(book), "--day", DAY).returncode == 0
    before = book.read_bytes()
    p = d.xlexec(
        "button", "approve", "--config", str(cfg), "--book", str(book), "--set", "approver=Ann Approver",
        "--set", "reason=looks fine", "--set", "decision=APPROVED", login="mallory",
    )  # fmt: skip
    C.record(
        "Approve button by a login not in approvers",
        p,
        len(d.at_broker()),
        face="button",
        refused=C.refused(p, "approvers", "'mallory'") and book.read_bytes() == before,
    )
    assert p.returncode == 1, p.stderr
    assert "approvers" in p.stderr and "'mallory'" in p.stderr
    assert not (d.live / "trade_approvals.csv").exists()
    assert book.read_bytes() == before  # a refused press leaves the workbook as it was
    ok = d.xlexec(
        "button", "approve", "--config", str(cfg), "--book", str(book), "--set", "approver=Ann Approver",
        "--set", "reason=looks fine", "--set", "decision=APPROVED", login="ann",
    )  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    rows = list(csv.DictReader((d.live / "trade_approvals.csv").open()))
    assert [(r["decision"], r["approver_login"]) for r in rows] == [("APPROVED", "ann")]


def test_reject_is_never_blocked_by_the_policy(tmp_path):
    d = Desk(tmp_path)
    official = d.config("official")
    assert d.approve(official).returncode == 0
    loose = d.config("loose", "require_human_approval: false\napprovers: [zed]")
    p = d.xlexec("approve", str(d.trades), "--config", str(loose), "--by", "Ann", "--decision", "REJECTED",
                 "--reason", "stop", login="mallory")  # fmt: skip
    assert p.returncode == 0, p.stderr
    rows = list(csv.DictReader((d.live / "trade_approvals.csv").open()))
    assert rows[-1]["decision"] == "REJECTED"


def test_the_chase_refuses_a_looser_policy_and_one_looser_than_the_order_was_sent_under(tmp_path):
    """In process, on the real paper simulator (the chase has no CLI of its own besides
    ``status --enforce-timeouts``): a move is refused while the config loosens the policy in
    force, and, once that loosening is approved, because it is looser than the policy the order
    was sent under; the desk's own config chases."""
    import pandas as pd

    from xlexec.config import config_from_dict
    from xlexec.execution import engine, status
    from xlexec.execution.brokers.paper import PaperBroker
    from xlexec.formats.trades import parse_trades_text
    from xlexec.steps import policy as policy_steps
    from xlexec.steps.context import Context

    t0 = dt.datetime(2025, 10, 30, 14, 0, tzinfo=dt.UTC)
    now = [t0]

    def ctx(max_moves: int) -> Context:
        ex = {"require_human_approval": False, "price_collar_pct": None, "order_timeout_minutes": 120,
              "chase": {"enabled": True, "step": 0.05, "minutes": 15, "max_moves": max_moves}}  # fmt: skip
        return Context(config_from_dict({"live_dir": str(tmp_path / "live"), "execution": ex}), "t", fixed_now=now[0])

    q = pd.DataFrame({"symbol": ["AAPL"], "bid": [150.02], "ask": [150.08], "last": [150.05], "mid": [150.05]})
    broker = PaperBroker(tmp_path / "pb.sqlite", quotes=q, day=DAY, slippage_bps=0, now_fn=lambda: now[0])
    text = HEAD.format(n=1) + "AAPL,buy,10,150.00,1500.00,0.015,0.15,0.30,0.45\n"
    desk = ctx(3)
    assert engine.submit_batch(desk, parse_trades_text(text), broker=broker, quotes=q, allow_closed=True).exit_code == 0
    intent = desk.journal().payloads("order_intent", DAY)[0]
    assert len(intent["policy_sha256"]) == 64

    now[0] = t0 + dt.timedelta(minutes=16)
    more = ctx(10)
    acts = status.enforce_timeouts(more, DAY, broker, now[0])
    assert list(acts["action"]) == ["chase_refused"]
    assert "execution.chase.max_moves 3 -> 10" in acts["note"].iloc[0] and "limit not moved" in acts["note"].iloc[0]
    assert [o.limit_price for o in broker.list_orders("all")] == [150.00]

    assert policy_steps.approve(more, approver="Carol", reason="more moves").event is not None
    acts = status.enforce_timeouts(more, DAY, broker, now[0])
    assert list(acts["action"]) == ["chase_refused"]
    assert "looser than when the order was sent" in acts["note"].iloc[0]
    assert [o.limit_price for o in broker.list_orders("all")] == [150.00]

    acts = status.enforce_timeouts(ctx(3), DAY, broker, now[0])  # the desk's policy: a tightening, in force
    assert list(acts["action"]) == ["chase"]
    assert sorted(o.limit_price for o in broker.list_orders("all")) == [150.00, 150.05]
