"""The controls that exist, each attacked through the CLI (and the workbook's button where one
exists): refused, naming the rule, with no order reaching the broker (counted at the paper
broker itself). Each attack is one row of the report's "controls" table (see ``controls.py``
for the harness and how to add a row).

Every test runs the real ``python -m xlexec`` in a subprocess from a tmp folder that is not the
desk's, with ``--config`` naming an absolute ``live_dir``; the baselines show that the same desk
without the attack does reach the broker (so a count of 0 means something).
"""

from __future__ import annotations

import json

import pytest

from . import controls as C

BRK10 = "BRK.B,buy,10,482.64,4826.40,0.0483,0.48,0.97,1.45"
BRK3 = "BRK/B,buy,3,482.64,1447.92,0.0145,0.14,0.29,0.43"


def _check(attack: str, p, n: int, *says: str, face: str = "cli", **extra) -> None:
    ok = C.refused(p, *says)
    C.record(attack, p, n, refused=ok, face=face, **extra)
    assert ok, (p.returncode, p.stdout[-3000:], p.stderr[-2000:])
    assert n == 0, f"{n} order(s) reached the broker"


# ------------------------------------------------------------------ baselines (not attacks)


def test_baseline_the_clean_desk_reaches_the_broker(tmp_path):
    desk = C.Desk(tmp_path)
    desk.approve()
    conv = desk.run("convert", desk.trades, "--broker", "ibkr")
    assert conv.returncode == 0, conv.stderr
    assert desk.baskets() == ["desk/live/2025-10-30/trades_ibkr.csv"]
    p = desk.submit()
    assert p.returncode == 0, p.stderr
    assert desk.orders_at_broker() == len(desk.day.trades.df) == 10


def test_baseline_an_unrestricted_class_share_reaches_the_broker(tmp_path):
    desk = C.Desk(tmp_path, approval=False)
    desk.write_trades([BRK10])
    p = desk.submit()
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr
    assert desk.orders_at_broker({"BRK.B"}) == 1


# ------------------------------------------------------------------ the trades header


@pytest.mark.parametrize("value", ["TRIPPED", "HALTED", "OFF", None])
def test_kill_switch_header_other_than_active(tmp_path, value):
    desk = C.Desk(tmp_path, approval=False)  # no approval in the way: the header alone must refuse
    desk.edit_trades("# Kill Switch: ACTIVE\n", f"# Kill Switch: {value}\n" if value else "")
    p = desk.submit()
    _check(f"header `Kill Switch: {value or '(missing)'}`, submit", p, desk.orders_at_broker(), "kill switch")


def test_kill_switch_header_tripped_through_the_submit_button(tmp_path):
    desk = C.Desk(tmp_path, approval=False)
    desk.edit_trades("# Kill Switch: ACTIVE", "# Kill Switch: TRIPPED")
    p = desk.button("submit")
    _check("header `Kill Switch: TRIPPED`, Submit button", p, desk.orders_at_broker(), "kill switch", face="button")


@pytest.mark.parametrize("value", ["FAIL", None])
def test_safety_checks_header_other_than_passed(tmp_path, value):
    desk = C.Desk(tmp_path, approval=False)
    desk.edit_trades("# Safety Checks: PASSED\n", f"# Safety Checks: {value}\n" if value else "")
    p = desk.submit()
    _check(f"header `Safety Checks: {value or '(missing)'}`, submit", p, desk.orders_at_broker(), "Safety Checks")


def test_safety_checks_fail_cannot_be_approved_without_override(tmp_path):
    desk = C.Desk(tmp_path)
    desk.edit_trades("# Safety Checks: PASSED", "# Safety Checks: FAIL")
    a = desk.run("approve", desk.trades, "--by", "risk", "--decision", "APPROVED", "--reason", "try")
    assert C.refused(a, "REJECT", "--override"), a.stderr
    p = desk.submit()
    _check("header `Safety Checks: FAIL`, approve then submit", p, desk.orders_at_broker(), "Safety Checks")


@pytest.mark.parametrize(
    ("old", "new", "says"),
    [
        ("# Kill Switch: ACTIVE", "# Kill Switch: TRIPPED", "kill switch"),
        ("# Regime: Normal (Risk Multiplier: 1.0)", "# Regime: Stress (Risk Multiplier: 1.4)", "header changed"),
        ("# IC: 0.034", "# IC: 0.021", "header changed"),
    ],
    ids=["kill switch", "regime", "ic"],
)
def test_header_edited_after_approval(tmp_path, old, new, says):
    desk = C.Desk(tmp_path)
    desk.approve()
    desk.edit_trades(old, new)  # the orders, and their hash, are unchanged
    p = desk.submit()
    _check(f"header `{new[2:]}` edited after approval", p, desk.orders_at_broker(), says)


# ------------------------------------------------------------------ symbols


@pytest.mark.parametrize("traded_as", ["BRK/B", "BRK B", "brk-b"])
def test_restricted_class_share_under_another_spelling(tmp_path, traded_as):
    desk = C.Desk(tmp_path, approval=False)
    (desk.live / "restricted.csv").write_text("symbol,reason\nBRK.B,insider window\n")
    desk.write_trades([BRK10.replace("BRK.B", traded_as, 1)])
    p = desk.submit("--json")
    n = desk.orders_at_broker()
    _check(f"`{traded_as}` vs restricted `BRK.B`, submit", p, n, "restricted list")


def test_restricted_class_share_convert_writes_no_basket(tmp_path):
    desk = C.Desk(tmp_path, approval=False)
    (desk.live / "restricted.csv").write_text("symbol,reason\nBRK.B,insider window\n")
    desk.write_trades([BRK10.replace("BRK.B", "BRK/B")])
    p = desk.run("convert", desk.trades, "--broker", "ibkr")
    baskets = desk.baskets()
    _check("restricted `BRK/B`, convert", p, desk.orders_at_broker(), "restricted list", baskets=len(baskets))
    assert baskets == []


def test_two_spellings_of_one_security_in_one_file(tmp_path):
    desk = C.Desk(tmp_path, approval=False)
    desk.write_trades([BRK10, BRK3])
    p = desk.submit()
    _check("`BRK.B buy 10` + `BRK/B buy 3` in one file", p, desk.orders_at_broker(), "one security", "rows 6 and 7")


def test_sell_beyond_the_held_position(tmp_path):
    desk = C.Desk(tmp_path, approval=False)  # validation.allow_short is false by default
    assert "\nAMZN,20," in (desk.live / "current_positions.csv").read_text()
    desk.write_trades(["AMZN,sell,60,224.84,13490.40,-0.1349,1.35,2.70,4.05"])
    p = desk.submit("--json")
    _check("sell 60 AMZN of 20 held (short), no allow_short", p, desk.orders_at_broker(), "would go short")


# ------------------------------------------------------------------ approval


@pytest.mark.parametrize("face", ["cli", "button"])
def test_unapproved_submit(tmp_path, face):
    desk = C.Desk(tmp_path)
    p = desk.submit() if face == "cli" else desk.button("submit")
    _check("unapproved submit", p, desk.orders_at_broker(), "no approval", face=face)


@pytest.mark.parametrize("face", ["cli", "button"])
def test_approved_file_then_one_share_count_edited(tmp_path, face):
    desk = C.Desk(tmp_path)
    desk.approve()
    desk.edit_trades("PEP,sell,30,", "PEP,sell,31,")
    p = desk.submit() if face == "cli" else desk.button("submit")
    _check("approved, then PEP 30 -> 31 shares", p, desk.orders_at_broker(), "no approval", face=face)


# ------------------------------------------------------------------ the kill switch file


@pytest.mark.parametrize("face", ["cli", "button"])
def test_kill_switch_file_at_submit(tmp_path, face):
    desk = C.Desk(tmp_path)
    desk.approve()
    desk.kill_switch()
    p = desk.submit() if face == "cli" else desk.button("submit")
    _check("live/KILL_SWITCH present at submit", p, desk.orders_at_broker(), "KILL_SWITCH", face=face)


@pytest.mark.parametrize("face", ["cli", "button"])
def test_kill_switch_file_at_convert_writes_no_basket(tmp_path, face):
    desk = C.Desk(tmp_path)
    desk.approve()
    desk.kill_switch()
    p = desk.run("convert", desk.trades, "--broker", "ibkr") if face == "cli" else desk.button("convert")
    baskets = desk.baskets()
    _check("live/KILL_SWITCH present at convert", p, desk.orders_at_broker(), "KILL_SWITCH", face=face,
           baskets=len(baskets))  # fmt: skip
    assert baskets == []


def test_kill_switch_header_at_convert_writes_no_basket(tmp_path):
    desk = C.Desk(tmp_path, approval=False)
    desk.edit_trades("# Kill Switch: ACTIVE", "# Kill Switch: TRIGGERED")
    p = desk.run("convert", desk.trades, "--broker", "ibkr")
    baskets = desk.baskets()
    _check("header `Kill Switch: TRIGGERED`, convert", p, desk.orders_at_broker(), "kill switch", baskets=len(baskets))
    assert baskets == []


def test_relative_live_dir_run_from_another_folder_sees_the_kill_switch(tmp_path):
    """``live_dir: live`` in the desk's config, the command run from elsewhere: the desk's
    ``live/KILL_SWITCH`` holds (it used to be looked for under the current folder)."""
    desk = C.Desk(tmp_path, approval=False)
    doc = json.loads(desk.config.read_text())
    doc["live_dir"] = "live"
    desk.config.write_text(json.dumps(doc))
    desk.kill_switch()
    p = desk.submit()
    _check("relative `live_dir`, run from another folder, KILL_SWITCH present", p, desk.orders_at_broker(),
           str(desk.live / "KILL_SWITCH"))  # fmt: skip
    assert not (desk.elsewhere / "live").exists()


# ------------------------------------------------------------------ hostile input


def test_a_date_that_is_a_path(tmp_path):
    desk = C.Desk(tmp_path)
    before = desk.files()
    p = desk.run("status", "--date", "../../elsewhere")
    written = sorted(desk.files() - before)
    _check("`status --date ../../elsewhere`", p, desk.orders_at_broker(), "--date", written=written)
    assert written == []


def test_a_yaml_alias_bomb_config(tmp_path):
    desk = C.Desk(tmp_path, approval=False)
    levels = [f"{c}: &{c} [{','.join(['*' + prev] * 9)}]" for prev, c in zip("abcdefgh", "bcdefghi")]
    desk.config.write_text("\n".join(['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]', *levels]))
    p = desk.submit(timeout=60)
    _check("YAML alias bomb config", p, desk.orders_at_broker(), "alias", str(desk.config))


@pytest.mark.parametrize("command", ["submit", "convert"])
def test_a_decimal_comma_share_count(tmp_path, command):
    desk = C.Desk(tmp_path, approval=False)
    desk.edit_trades("PEP,sell,30,", 'PEP,sell,"1,5",')
    p = desk.submit() if command == "submit" else desk.run("convert", desk.trades, "--broker", "ibkr")
    _check(f'shares `"1,5"` (decimal comma), {command}', p, desk.orders_at_broker(), "column 'shares'", "comma",
           baskets=len(desk.baskets()))  # fmt: skip
    assert desk.baskets() == []


def test_the_report_counts_a_row_not_refused_or_with_an_order_as_broken():
    from . import report

    rows = [
        {"kind": "controls", "attack": "held", "refused": True, "orders_at_broker": 0, "exit_code": 1},
        {"kind": "controls", "attack": "sent anyway", "refused": True, "orders_at_broker": 2, "exit_code": 1},
        {"kind": "controls", "attack": "not refused", "refused": False, "orders_at_broker": 0, "exit_code": 0},
    ]
    assert report.controls_broken(rows) == ["control 'sent anyway' (cli)", "control 'not refused' (cli)"]
    figures = dict((name, value) for name, value, _ in report.figures(rows))
    assert figures["control attacks refused (one line naming the rule)"] == "2/3"
    assert figures["orders reaching the broker in a control attack"] == "2"
    assert "| not refused | cli | NO | 0 | 0 |  |" in report.controls_table(rows)
