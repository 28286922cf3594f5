"""Reject and cancel-all, run twice, change nothing: the two steps the day's rerun test
(tests/test_rerun_identical.py) presses apart.

The demo's generated 2025-10-30 (its inputs only) on the paper broker, every command a
``python -m xlexec`` subprocess from a folder that is not the project with an absolute
``--config``, the clock pinned (``XLEXEC_NOW``): the second run is the same act at the same
moment. After the first Reject (CLI, then the workbook's button) and the first cancel-all (CLI,
then the button) every file under ``live/`` is kept (bytes, sha256) with the journal's events; the
second of each must leave every file byte-identical and add no journal event but the presses'
``action`` rows (one per press, the act itself is the fact recorded). A later cancel-all (another
moment) is a new act: recorded as a repeat, the first trigger time kept.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.test_rerun_identical import DAY, MORNING, differing, events, files, xlexec

pytestmark = pytest.mark.slow

LATER = "2025-10-30T15:10:00+00:00"  # 11:10 New York: a second cancel-all, later


@pytest.fixture
def desk(tmp_path) -> tuple[Path, Path, Path, Path]:
    """(config, live dir, a working folder that is neither, the workbook), the day validated and
    submitted (orders open at the paper broker: the demo's one it will not fill rests)."""
    from xlexec.demo import sample

    desk_dir, elsewhere = tmp_path / "desk", tmp_path / "elsewhere"
    live = desk_dir / "live"
    live.mkdir(parents=True)
    elsewhere.mkdir()
    sample.write_day(sample.make_day(DAY), live, positions=True)
    cfg = desk_dir / "config.yaml"
    cfg.write_text(
        f"live_dir: {json.dumps(str(live))}\nuser: ann\nexecution:\n  broker: paper\n  paper_trading: true\n"
        "  require_human_approval: false\n  paper:\n    starting_cash: 12000\n"
    )
    book = desk_dir / "book.xlsm"
    r = xlexec(elsewhere, MORNING, "workbook", "build", "--config", str(cfg), "--day", DAY, "-o", str(book))
    assert r.returncode == 0, r.stderr
    return cfg, live, elsewhere, book


def new_events(live: Path, before: list) -> list[tuple[str, str]]:
    return [(kind, key) for _seq, kind, key in events(live)[len(before) :]]


def same_files(live: Path, snapshot: dict) -> list[str]:
    # the journal's file grows by the presses' rows; its events are compared apart
    return [k for k in differing(snapshot, files(live)) if k != "journal.sqlite"]


def test_reject_twice_changes_nothing(desk):
    cfg, live, elsewhere, book = desk
    c = ["--config", str(cfg)]
    trades = str(live / DAY / "trades.csv")
    assert xlexec(elsewhere, MORNING, "validate", trades, *c).returncode in (0, 1)
    reject = ["approve", trades, *c, "--by", "bob", "--decision", "REJECTED", "--reason", "stale prices"]
    button = ["button", "reject", "--book", str(book), "--day", DAY]
    button += ["--set", "approver=bob", "--set", "decision=REJECTED", "--set", "reason=stale prices"]
    first = xlexec(elsewhere, MORNING, *reject)
    assert first.returncode in (0, 1), first.stderr
    assert "REJECTED" in (live / "trade_approvals.csv").read_text()
    first_button = xlexec(elsewhere, MORNING, *button)
    assert first_button.returncode in (0, 1), first_button.stderr
    snapshot, journal = files(live), events(live)

    again = xlexec(elsewhere, MORNING, *reject)
    again_button = xlexec(elsewhere, MORNING, *button)

    assert (again.returncode, again_button.returncode) == (first.returncode, first_button.returncode)
    assert "already recorded" in again.stdout, again.stdout
    assert "already recorded (nothing changed)" in again_button.stdout + again_button.stderr
    changed = same_files(live, snapshot)
    assert not changed, f"a second Reject rewrote {changed}"
    new = new_events(live, journal)
    assert [k for k, _ in new] == ["action"] and "|workbook|" in new[0][1], new  # the button's press only


def test_cancel_all_twice_changes_nothing_and_a_later_one_keeps_the_first_trigger(desk):
    cfg, live, elsewhere, book = desk
    c = ["--config", str(cfg)]
    trades = str(live / DAY / "trades.csv")
    r = xlexec(elsewhere, MORNING, "submit", trades, *c, "--json")
    assert r.returncode in (0, 1), r.stderr
    assert json.loads(r.stdout)["sent"] > 0
    first = xlexec(elsewhere, MORNING, "cancel-all", *c, "--reason", "drill", "--json")
    assert first.returncode == 0, first.stderr
    d1 = json.loads(first.stdout)
    assert d1["cancelled"], "nothing was open to cancel: the test would prove nothing"
    trigger = (live / "KILL_SWITCH").read_text()
    assert trigger.startswith(f"TRIGGERED {MORNING} by ann: drill")
    button = ["button", "cancel-all", "--book", str(book), "--day", DAY]
    first_button = xlexec(elsewhere, MORNING, *button)
    assert first_button.returncode == 0, first_button.stderr
    snapshot, journal = files(live), events(live)

    again = xlexec(elsewhere, MORNING, "cancel-all", *c, "--reason", "drill", "--json")
    again_button = xlexec(elsewhere, MORNING, *button)

    assert (again.returncode, again_button.returncode) == (0, 0), again.stderr + again_button.stderr
    d2 = json.loads(again.stdout)
    assert d2["cancelled"] == [] and d2["still_open"] == [] and d2["triggered_at"] == MORNING
    changed = same_files(live, snapshot)
    assert not changed, f"a second cancel-all rewrote {changed}"
    assert (live / "KILL_SWITCH").read_text().startswith(trigger)
    new = new_events(live, journal)
    assert [k for k, _ in new] == ["action"] and "|workbook|" in new[0][1], new  # the button's press only

    # later, another moment: a new cancel-all, recorded as a repeat; the first trigger time stands
    later = xlexec(elsewhere, LATER, "cancel-all", *c, "--reason", "drill two", "--json")
    assert later.returncode == 0, later.stderr
    d3 = json.loads(later.stdout)
    assert d3["triggered_at"] == MORNING and d3["repeat"] >= 1
    ks = (live / "KILL_SWITCH").read_text().splitlines()
    assert ks[0] == trigger.splitlines()[0]
    assert ks[-1] == f"again {LATER} by ann: drill two"
