"""The pre-trade controls, for every broker of the registry (``_support.BROKERS``).

Each broker's loopback fake with the real client library underneath (alpaca-py, schwab-py,
ib_async) and the config built for it by its entry; the real CLI (``python -m xlexec submit``)
in a subprocess run from a folder that is not the desk's; a 3-order day (``trades_text``: XAA
sell 10 @ 20.00, XAB buy 17 @ 23.70, XAC buy 24 @ 27.40). Each attack leaves everything else in
order (the day approved, the session the broker's clock is on) and breaks one control; it must
be refused with one line naming the rule, and no order of it may reach the broker, counted at
the fake itself (``entry.legs``), never from our journal:

* no approval; the approved file then edited (one share); the kill switch engaged through
  ``xlexec cancel-all`` (it writes ``live/KILL_SWITCH``);
* an order above ``max_order_size_usd``; a second file of the session beyond ``max_daily_trades``;
* the live guard: a paper config while the broker reports a live account (Schwab has no paper
  trading: a paper config is itself refused); a live account without ``--live``; a live config
  while the broker reports a paper account (only where the broker has paper accounts,
  ``Accounts.paper``);
* a configured account number that is not the one the broker reports;
* a trades file dated another day than the session the broker's clock is on.

And the baseline: every gate passed, every order at the fake exactly once, a rerun sends nothing.

Where the brokers differ (the account rules, Schwab's missing paper mode) the registry entry
says so (``accounts``, ``report_account``, ``refusals``); the tests take it from there. Each run
records a "controls" row (the report's controls table) and a ``broker`` observation (one column
per broker in the report's per-broker table).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from . import _support as U
from . import controls as C

N = 3
HELD = 6  # the desk holds 1000 shares of XAA..XAF (positions_text); a file trades 3 of them
LEGS = [("XAA", "sell"), ("XAB", "buy"), ("XAC", "buy")]  # trades_text(day, 3), written out
OTHER_DAY = "2025-10-31"  # a Friday session: neither 2025-11-03 (the fakes' clock) nor the real today
BROKERS = list(U.BROKERS)


class Desk:
    """One broker's desk in ``tmp_path/desk``: its fake, ``config.yaml``, the day's positions and
    ``trades.csv``; the CLI run from ``tmp_path/elsewhere``."""

    def __init__(self, tmp_path: Path, entry: U.BrokerEntry, fake, **config):
        self.entry, self.fake = entry, fake
        self.root = Path(tmp_path).resolve() / "desk"
        self.live = self.root / "live"
        self.elsewhere = Path(tmp_path).resolve() / "elsewhere"
        self.elsewhere.mkdir(parents=True, exist_ok=True)
        self.day = entry.day(fake)
        self.live.mkdir(parents=True, exist_ok=True)
        (self.live / "current_positions.csv").write_text(U.positions_text(HELD))
        self.trades = self.write(self.day)
        self.config = entry.config(self.root, fake, **config)

    def write(self, day: str, *, first: int = 0, folder: str = "") -> Path:
        """``live/<day>[/<folder>]/trades.csv`` dated ``day``: ``N`` rows of ``trades_text(day, 6)``
        from row ``first`` (0: XAA..XAC, the same rows as ``trades_text(day, 3)``; 3: XAD..XAF)."""
        lines = U.trades_text(day, HELD).splitlines()
        head = [f"# Total Trades: {N}" if ln.startswith("# Total Trades:") else ln for ln in lines[:6]]
        path = self.live / day / folder / "trades.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(head + lines[6 + first : 6 + first + N]) + "\n")
        return path

    def approve(self, trades: Path | None = None) -> None:
        U.plant_approval(self.live, trades or self.trades)

    def run(self, *args: str, live: bool | None = None) -> subprocess.CompletedProcess:
        """``python -m xlexec ARGS --config CONFIG`` (``--live`` when ``live``, default: the entry's)."""
        live = self.entry.live if live is None else live
        argv = [*args, "--config", str(self.config), *(["--live"] if live else [])]
        return U.xlexec(argv, cwd=self.elsewhere, env=U.env_with_keys(**self.entry.env))

    def submit(self, trades: Path | None = None, *extra: str, live: bool | None = None) -> subprocess.CompletedProcess:
        return self.run("submit", str(trades or self.trades), "--allow-closed", *extra, live=live)

    def at_broker(self) -> int:
        return len(self.entry.legs(self.fake, self.day))


def _notes(p: subprocess.CompletedProcess) -> list[tuple[str, str, str]]:
    """(symbol, status, note) of every order in a ``submit --json`` result."""
    doc = json.loads(p.stdout.strip().splitlines()[-1])
    return [(o["symbol"], o["status"], o["note"]) for o in doc["orders"]]


def _one_line(p: subprocess.CompletedProcess, *says: str) -> bool:
    """Refused (exit code not 0, no traceback) with one line of the output naming all of ``says``."""
    lines = (p.stdout + "\n" + p.stderr).lower().splitlines()
    return C.refused(p, *says) and any(all(s.lower() in ln for s in says) for ln in lines)


def _refused(observe, desk: Desk, attack: str, p, n: int, *says: str) -> None:
    """Record the attack (report rows), then: refused by the rule ``says`` names (one line),
    ``n`` orders of it at the broker = 0."""
    ok = _one_line(p, *says)
    name = desk.entry.name
    C.record(f"{attack} ({name})", p, n, refused=ok, broker=name)
    observe("broker", broker=name, scenario=f"control: {attack}", orders=N, at_broker=n, duplicates=0, unknown=0,
            runs=1, ok=bool(ok and n == 0), guarantee="refused, nothing sent")  # fmt: skip
    assert ok, (p.returncode, p.stdout[-3000:], p.stderr[-2000:])
    assert n == 0, f"{n} order(s) reached the broker"


@pytest.fixture(params=BROKERS)
def broker(request):
    """The registry entry and its started fake."""
    entry = U.BROKERS[request.param]
    with entry.start(N) as fake:
        yield entry, fake


# ------------------------------------------------------------------ the baseline


def test_every_gate_passed_every_order_at_the_broker_once_and_a_rerun_sends_nothing(tmp_path, broker, observe):
    entry, fake = broker
    desk = Desk(tmp_path, entry, fake)
    desk.approve()
    first = desk.submit()
    after_first = sorted(entry.legs(fake, desk.day))
    rerun = desk.submit()
    legs = sorted(entry.legs(fake, desk.day))
    ok = first.returncode == 0 and rerun.returncode == 0 and after_first == LEGS and legs == LEGS
    observe("broker", broker=entry.name, scenario="control: every gate passed, then a rerun", orders=N,
            at_broker=len(legs), duplicates=len(legs) - len(set(legs)), unknown=0, runs=2, ok=bool(ok),
            guarantee="sent once, rerun sent nothing")  # fmt: skip
    assert first.returncode == 0, (first.stdout[-2000:], first.stderr[-2000:])
    assert after_first == LEGS
    assert rerun.returncode == 0, (rerun.stdout[-2000:], rerun.stderr[-2000:])
    assert "0 sent, 3 already at the broker" in rerun.stdout, rerun.stdout[-2000:]
    assert legs == LEGS  # nothing sent twice


# ------------------------------------------------------------------ approval


def test_no_approval_is_refused(tmp_path, broker, observe):
    entry, fake = broker
    desk = Desk(tmp_path, entry, fake)
    p = desk.submit()
    _refused(observe, desk, "no approval", p, desk.at_broker(), "no approval for these 3 orders", "xlexec approve")


def test_the_approved_file_edited_one_share_is_refused(tmp_path, broker, observe):
    entry, fake = broker
    desk = Desk(tmp_path, entry, fake)
    desk.approve()
    text = desk.trades.read_text()
    assert "\nXAA,sell,10,20.00," in text
    desk.trades.write_text(text.replace("\nXAA,sell,10,", "\nXAA,sell,11,", 1))
    p = desk.submit()
    _refused(observe, desk, "approved, then XAA 10 -> 11 shares", p, desk.at_broker(), "no approval for these 3 orders")


# ------------------------------------------------------------------ the kill switch


def test_the_kill_switch_engaged_by_cancel_all_is_refused(tmp_path, broker, observe):
    entry, fake = broker
    desk = Desk(tmp_path, entry, fake)
    desk.approve()
    k = desk.run("cancel-all", "--reason", "drill", live=False)
    assert k.returncode == 0, (k.stdout[-2000:], k.stderr[-2000:])
    assert (desk.live / "KILL_SWITCH").exists()
    p = desk.submit()
    # the batch refused before any order is tried ("nothing sent"), not only at the wire gate
    _refused(observe, desk, "kill switch engaged (cancel-all)", p, desk.at_broker(), "kill switch:",
             str(desk.live / "KILL_SWITCH"), "exists", "nothing sent")  # fmt: skip


# ------------------------------------------------------------------ pre-trade limits


def test_an_order_above_max_order_size_is_refused(tmp_path, broker, observe):
    entry, fake = broker
    desk = Desk(tmp_path, entry, fake, max_order_size_usd=150)  # every order of the day is $200.00 or more
    desk.approve()
    p = desk.submit(None, "--json")  # the refused orders' notes in one JSON line
    _refused(observe, desk, "orders above max_order_size_usd $150", p, desk.at_broker(),
             "$200.00 exceeds max_order_size_usd $150.00", "$402.90 exceeds", "$657.60 exceeds")  # fmt: skip
    assert _notes(p) == [
        ("XAA", "refused", "$200.00 exceeds max_order_size_usd $150.00"),
        ("XAB", "refused", "$402.90 exceeds max_order_size_usd $150.00"),
        ("XAC", "refused", "$657.60 exceeds max_order_size_usd $150.00"),
    ]


def test_orders_beyond_max_daily_trades_are_refused(tmp_path, broker, observe):
    entry, fake = broker
    desk = Desk(tmp_path, entry, fake, max_daily_trades=N)
    desk.approve()
    first = desk.submit()
    assert first.returncode == 0, (first.stdout[-2000:], first.stderr[-2000:])
    assert desk.at_broker() == 3  # the session's 3 trades used
    second = desk.write(desk.day, first=3, folder="afternoon")  # XAD, XAE, XAF: same session, other symbols
    desk.approve(second)
    p = desk.submit(second, "--json")
    _refused(observe, desk, "a second file beyond max_daily_trades 3", p, desk.at_broker() - 3,
             "max_daily_trades 3 reached (3 already today)")  # fmt: skip
    assert _notes(p) == [
        ("XAD", "refused", "max_daily_trades 3 reached (3 already today)"),
        ("XAE", "refused", "max_daily_trades 3 reached (3 already today)"),
        ("XAF", "refused", "max_daily_trades 3 reached (3 already today)"),
    ]


# ------------------------------------------------------------------ the live guard and the account


def test_a_paper_config_with_a_live_account_is_refused(tmp_path, broker, observe):
    entry, fake = broker
    entry.report_account(fake, entry.accounts.live)
    desk = Desk(tmp_path, entry, fake, paper=True, account=entry.accounts.live)
    desk.approve()
    p = desk.submit(live=False)  # the config says paper: no --live
    _refused(observe, desk, "paper config, the broker reports a live account", p, desk.at_broker(),
             *entry.refusals["paper_config_live_account"])  # fmt: skip


def test_a_live_account_without_live_is_refused(tmp_path, broker, observe):
    entry, fake = broker
    entry.report_account(fake, entry.accounts.live)
    desk = Desk(tmp_path, entry, fake, paper=False, account=entry.accounts.live)
    desk.approve()
    p = desk.submit(live=False)
    _refused(observe, desk, "live account, no --live", p, desk.at_broker(), "LIVE account (paper: false)",
             "pass --live")  # fmt: skip


def test_a_live_config_with_a_paper_account_is_refused(tmp_path, broker, observe):
    entry, fake = broker
    if entry.accounts.paper is None:
        pytest.skip(f"{entry.name} has no paper accounts")
    entry.report_account(fake, entry.accounts.paper)
    desk = Desk(tmp_path, entry, fake, paper=False, account=entry.accounts.paper)
    desk.approve()
    p = desk.submit(live=True)
    says = f"the broker reports paper account {entry.accounts.paper} while the config says paper: false (LIVE)"
    _refused(observe, desk, "live config, the broker reports a paper account", p, desk.at_broker(), says)


def test_a_configured_account_the_broker_does_not_report_is_refused(tmp_path, broker, observe):
    entry, fake = broker
    desk = Desk(tmp_path, entry, fake, account=entry.accounts.other)
    desk.approve()
    p = desk.submit()
    _refused(observe, desk, "configured account is not the broker's", p, desk.at_broker(),
             *entry.refusals["other_account"])  # fmt: skip


# ------------------------------------------------------------------ the session


def test_a_file_dated_another_day_is_refused(tmp_path, broker, observe):
    entry, fake = broker
    desk = Desk(tmp_path, entry, fake)
    other = desk.write(OTHER_DAY)
    desk.approve(other)
    p = desk.submit(other)
    _refused(observe, desk, f"a file dated {OTHER_DAY}, another session", p, desk.at_broker(),
             f"the trades file is dated {OTHER_DAY} but today's session is {desk.day}")  # fmt: skip
