"""A split on the trade date through the command line: validate, submit (paper broker), reconcile.

The desk (``tests/reliability/controls.Desk``: config and ``live/`` under a tmp folder, the CLI
run as a subprocess from another tmp folder, never a chdir) opens 2025-10-30 holding XYZ 400 @
$20.15 and KO 100 @ $60.00 (the close before); ``events.csv`` lists XYZ splitting 2-for-1 that
day, so its quote is post-split (10.49 / 10.51). 400 x 2 = 800 shares are held: a sale of 600
(1.5x the pre-split shares) is fine everywhere, a sale of 1,000 (2.5x) is a short: validation
FAILs it and submit refuses it with nothing reaching the broker. A 1-for-10 reverse split of
ABC 25 @ $3.0725 leaves 2.5 shares: a sale of 3 is refused, of 2 sent.
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from tests.reliability import controls as C
from xlexec.store.journal import REFUSED, Journal

DAY = C.DAY
TS = "2025-10-30T13:39:30+00:00"  # the desk's quotes time (30 s before its clock)


def split_desk(tmp_path, positions: str, split: str) -> C.Desk:
    desk = C.Desk(tmp_path, approval=False)
    (desk.live / "current_positions.csv").write_text("symbol,shares,avg_cost\n" + positions)
    (desk.live / "events.csv").write_text(f"symbol,date,event,ratio\n{split}\n")
    desk.quotes.write_text(
        "symbol,bid,ask,last,timestamp,bid_size,ask_size\n"
        f"XYZ,10.49,10.51,10.50,{TS},5000,5000\n"
        f"KO,59.99,60.01,60.00,{TS},5000,5000\n"
        f"ABC,30.70,30.76,30.73,{TS},5000,5000\n"
    )
    return desk


def xyz_desk(tmp_path) -> C.Desk:
    return split_desk(tmp_path, "XYZ,400,20.15\nKO,100,60.00\n", f"XYZ,{DAY},split,2")


def sell(desk: C.Desk, symbol: str, shares: int, price: str) -> None:
    notional = Decimal(shares) * Decimal(price)
    desk.write_trades([f"{symbol},sell,{shares},{price},{notional:.2f},-0.05,0.50,1.00,1.50"])


def oversell_status(desk: C.Desk) -> tuple[int, list[str]]:
    p = desk.run("validate", desk.trades)
    doc = json.loads((desk.trades.parent / "validation.json").read_text())
    return p.returncode, [c["status"] for c in doc["checks"] if c["check"] == "oversell"]


def test_sell_of_1_5x_the_pre_split_shares_passes_validate_submit_and_reconciles(tmp_path):
    desk = xyz_desk(tmp_path)
    sell(desk, "XYZ", 600, "10.49")
    rc, status = oversell_status(desk)
    assert status == ["pass"], status
    p = desk.submit("--json")
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
    assert desk.orders_at_broker({"XYZ"}) == 1
    p = desk.run("reconcile", "--trades", desk.trades, "--from-broker", "--json")
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
    j = json.loads(p.stdout)
    left = Decimal(400) * 2 - 600  # 200 shares after the sale
    per_share = Decimal(400) * Decimal("20.15") / (Decimal(400) * 2)  # 8,060.00 / 800 = 10.075
    shown = float(per_share.quantize(Decimal("0.01"), rounding="ROUND_HALF_UP"))  # 10.08
    xyz = next(x for x in j["positions"] if x["symbol"] == "XYZ")
    assert (xyz["shares"], xyz["avg_cost"]) == (int(left), shown) == (200, 10.08)
    assert j["breaks"] == []
    report = (desk.trades.parent / "reconciliation_report.txt").read_text()
    assert "XYZ x2: 400 -> 800 shares, cost basis $8,060.00 = $10.08/share" in report
    # the file carries the exact quotient, so the accepted positions keep the 200 x 10.075 cost
    after = (desk.trades.parent / "positions_after_recon.csv").read_text()
    assert "\nXYZ,200,10.075," in after
    # the paper broker split its own position too: after accepting, system and broker agree
    assert desk.run("accept-positions", "--date", DAY).returncode == 0
    p = desk.run("compare-positions", "--json")
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
    cmp = {r["symbol"]: r for r in json.loads(p.stdout)["positions"]}
    assert cmp["XYZ"]["system_shares"] == cmp["XYZ"]["broker_shares"] == float(left)


@pytest.mark.parametrize("face", ["cli", "button"])
def test_sell_of_2_5x_the_pre_split_shares_is_refused_and_nothing_reaches_the_broker(tmp_path, face):
    desk = xyz_desk(tmp_path)
    sell(desk, "XYZ", 1000, "10.49")
    rc, status = oversell_status(desk)
    assert rc == 1 and status == ["fail"], status
    p = desk.submit("--json") if face == "cli" else desk.button("submit")
    held = Decimal(400) * 2  # 800 after the split; 1,000 of them would be a short
    note = f"selling 1000 of {held:f} held would go short"
    ok = C.refused(p, note if face == "cli" else "1 refused")
    C.record(
        "sell 1000 XYZ of 400 held before a 2-for-1 split (800 after)",
        p,
        desk.orders_at_broker(),
        refused=ok,
        face=face,
    )
    assert ok, (p.returncode, p.stdout[-3000:], p.stderr[-2000:])
    assert desk.orders_at_broker() == 0
    j = Journal.for_live_dir(desk.live)
    try:
        refusals = [(r["symbol"], r["code"], r["reason"]) for r in j.payloads(REFUSED, DAY)]
    finally:
        j.close()
    assert refusals == [("XYZ", "short", note + " (validation.allow_short is false)")]


@pytest.mark.parametrize(("shares", "sent"), [(2, 1), (3, 0)])
def test_a_1_for_10_reverse_split_leaves_2_5_shares_to_sell(tmp_path, shares, sent):
    desk = split_desk(tmp_path, "ABC,25,3.0725\nKO,100,60.00\n", f"ABC,{DAY},split,0.1")
    sell(desk, "ABC", shares, "30.70")
    rc, status = oversell_status(desk)
    assert status == (["pass"] if sent else ["fail"]), status
    p = desk.submit("--json")
    held = Decimal(25) * Decimal("0.1")  # 2.5
    if sent:
        assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
    else:
        assert C.refused(p, f"selling 3 of {held:f} held would go short"), p.stdout[-2000:] + p.stderr[-2000:]
    assert desk.orders_at_broker({"ABC"}) == sent
