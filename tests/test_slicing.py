"""ADV slicing: hand-computed schedules, journal carry-forward across days, CLI --slice."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from xlexec.cli.app import main
from xlexec.core.orders import orders_from_trades, orders_sha256
from xlexec.core.slicing import carry_forward, child_id, child_quantities, plan_slices
from xlexec.errors import InputError
from xlexec.formats.trades import parse_trades_text
from xlexec.formats.upload import read_ibkr_basket
from xlexec.store.journal import SLICE, Journal

HEAD = "symbol,side,shares,price,notional,weight_change,commission_est,slippage_est,total_cost_est\n"


def _trades(day: str, rows: str):
    return parse_trades_text(f"# Date: {day}\n" + HEAD + rows, f"live/{day}/trades.csv")


def _orders(day: str, rows: str):
    return orders_from_trades(_trades(day, rows), default_order_type="limit", date=day)


REF = pd.DataFrame(
    {"symbol": ["BIG", "AAPL", "TINY"], "sector": ["x", "y", "z"], "adv_shares": [100_000.0, 50_000_000.0, 10.0]},
    index=pd.Index([2, 3, 4], name="row"),
)
DAY1 = "BIG,buy,12000,20.00,240000.00,0.1,1,1,2\nAAPL,sell,100,150.25,15025.00,-0.01,1,1,2\n"


# ----------------------------------------------------------------------------- the arithmetic


@pytest.mark.parametrize(
    "shares,adv,pct,want",
    [
        (12_000, 100_000, 0.05, [5000, 5000, 2000]),  # cap 5,000; ceil(12,000 / 5,000) = 3 days
        (10_000, 100_000, 0.05, [5000, 5000]),  # exact multiple: no empty last day
        (5_000, 100_000, 0.05, [5000]),  # at the cap: not sliced
        (50_001, 500_000, 0.05, [25000, 25000, 1]),  # the guide's ADV 500,000 x 5% = 25,000 per day
        (1_000, 6_670, 0.05, [333, 333, 333, 1]),  # 333.5 -> cap 333; never 334 on the last day
        (7, 100, 0.025, [2, 2, 2, 1]),  # 2.5 -> 2 a day
    ],
)
def test_child_quantities_hand_computed(shares, adv, pct, want):
    got = child_quantities(shares, adv, pct)
    assert got == want and sum(got) == shares and max(got) <= int(adv * pct)


def test_child_quantities_refuses_less_than_a_share_a_day():
    with pytest.raises(ValueError):
        child_quantities(100, 10, 0.05)


def test_child_id_fits_alpaca():
    assert child_id("xlx-2025-10-30-BIG-buy-abcdef123456", 2) == "xlx-2025-10-30-BIG-buy-abcdef123456-s2"
    assert len(child_id("x" * 60, 12)) == 48


# ----------------------------------------------------------------------------- one day


def test_plan_day_one_cuts_large_order_and_keeps_small_one():
    orders = _orders("2025-10-30", DAY1)
    sha = orders_sha256(orders)
    plan = plan_slices(orders, REF, 0.05, day="2025-10-30", batch_sha256=sha)
    big = plan.orders[plan.orders["symbol"] == "BIG"].iloc[0]
    assert big["qty"] == 5000 and big["limit_price"] == 20.00
    assert big["notional"] == 100_000.00  # 5,000 x $20.00
    assert big["client_order_id"] == child_id(orders["client_order_id"].iloc[0], 1)
    aapl = plan.orders[plan.orders["symbol"] == "AAPL"].iloc[0]
    assert aapl["qty"] == 100 and aapl["client_order_id"] == orders["client_order_id"].iloc[1]
    assert plan.schedule[["seq", "qty", "status"]].values.tolist() == [
        [1, 5000, "today"],
        [2, 5000, "pending"],
        [3, 2000, "pending"],
    ]
    ((key, rec),) = plan.records
    assert key == f"{orders['client_order_id'].iloc[0]}|2025-10-30"
    assert (
        rec["total_qty"],
        rec["cap_qty"],
        rec["days"],
        rec["child_qty"],
        rec["done_qty"],
        rec["remaining_qty"],
        rec["schedule"],
    ) == (12000, 5000, 3, 5000, 5000, 7000, [5000, 2000])
    assert rec["batch_sha256"] == sha and rec["limit_price"] == 20.0


def test_no_adv_means_not_sliced_but_reported():
    orders = _orders("2025-10-30", "ZZZ,buy,999999,5.00,4999995.00,0.1,1,1,2\n")
    plan = plan_slices(orders, REF, 0.05, day="2025-10-30", batch_sha256="s")
    assert plan.orders["qty"].tolist() == [999999] and plan.records == [] and plan.no_adv == ["ZZZ"]


def test_adv_too_small_names_reference_row():
    orders = _orders("2025-10-30", "TINY,buy,100,5.00,500.00,0.1,1,1,2\n")
    with pytest.raises(InputError) as e:
        plan_slices(orders, REF, 0.05, day="2025-10-30", batch_sha256="s", reference_name="live/reference.csv")
    assert (e.value.file, e.value.row, e.value.column) == ("live/reference.csv", 4, "adv_shares")


# ----------------------------------------------------------------------------- across days


def test_schedule_carried_forward_through_the_journal(tmp_path):
    j = Journal(tmp_path / "journal.sqlite")
    o1 = _orders("2025-10-30", DAY1)
    p1 = plan_slices(o1, REF, 0.05, day="2025-10-30", batch_sha256=orders_sha256(o1))
    assert j.append_many(SLICE, p1.records, day="2025-10-30") == 1

    # day 2: a new trades file without BIG; the second child (5,000) comes from the journal
    o2 = _orders("2025-10-31", "AAPL,buy,10,150.00,1500.00,0.01,1,1,2\n")
    p2 = plan_slices(o2, REF, 0.05, day="2025-10-31", batch_sha256=orders_sha256(o2), prior=j.payloads(SLICE))
    carried = p2.orders[p2.orders["parent_id"] != ""]
    assert carried[["symbol", "side", "qty", "limit_price", "slice_seq"]].values.tolist() == [
        ["BIG", "buy", 5000.0, 20.0, 2]
    ]
    assert carried["client_order_id"].iloc[0] == child_id(o1["client_order_id"].iloc[0], 2)
    assert p2.schedule[["seq", "qty", "status"]].values.tolist() == [[2, 5000, "today"], [3, 2000, "pending"]]
    assert j.append_many(SLICE, p2.records, day="2025-10-31") == 1

    # rerun of day 2: same child, nothing new to record
    p2b = plan_slices(o2, REF, 0.05, day="2025-10-31", batch_sha256=orders_sha256(o2), prior=j.payloads(SLICE))
    assert p2b.orders["qty"].tolist() == p2.orders["qty"].tolist()
    assert j.append_many(SLICE, p2b.records, day="2025-10-31") == 0

    # day 3 (after a weekend): the remainder 2,000; day 4: nothing left
    r3 = carry_forward(j.payloads(SLICE), "2025-11-03")
    assert [(r["seq"], r["child_qty"], r["remaining_qty"], r["schedule"]) for r in r3] == [(3, 2000, 0, [])]
    j.append_many(SLICE, [(f"{r3[0]['parent_id']}|2025-11-03", r3[0])], day="2025-11-03")
    assert carry_forward(j.payloads(SLICE), "2025-11-04") == []
    j.close()


def test_superseded_batch_of_the_same_day_is_not_carried(tmp_path):
    o_a = _orders("2025-10-30", "BIG,buy,12000,20.00,240000.00,0.1,1,1,2\n")
    o_b = _orders("2025-10-30", "BIG,buy,11000,20.00,220000.00,0.1,1,1,2\n")  # re-approved, smaller
    prior = [r for _, r in plan_slices(o_a, REF, 0.05, day="2025-10-30", batch_sha256=orders_sha256(o_a)).records]
    prior += [r for _, r in plan_slices(o_b, REF, 0.05, day="2025-10-30", batch_sha256=orders_sha256(o_b)).records]
    nxt = carry_forward(prior, "2025-10-31")
    assert [(r["total_qty"], r["child_qty"]) for r in nxt] == [(11000, 5000)]


# ----------------------------------------------------------------------------- CLI


def _cli_setup(tmp_path):
    live = tmp_path / "live"
    live.mkdir()
    (live / "reference.csv").write_text("symbol,sector,adv_shares\nBIG,Tech,100000\nAAPL,Tech,50000000\n")
    cfg = tmp_path / "config.yaml"
    cfg.write_text(f"live_dir: {live}\nexecution:\n  require_human_approval: false\n")
    return live, cfg


def _day_file(live, day, rows):
    p = live / day / "trades.csv"
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(f"# Date: {day}\n# Kill Switch: ACTIVE\n# Safety Checks: PASSED\n" + HEAD + rows)
    return p


def test_cli_slice_two_days(tmp_path, capsys, monkeypatch):
    live, cfg = _cli_setup(tmp_path)
    monkeypatch.setenv("XLEXEC_NOW", "2025-10-30T13:00:00Z")
    t1 = _day_file(live, "2025-10-30", DAY1)
    assert main(["convert", str(t1), "--broker", "ibkr", "--slice", "--config", str(cfg)]) == 0
    out = capsys.readouterr().out
    assert "BIG buy 12,000 (ADV 100,000, cap 5,000/day, 3 days): day 1 5,000 (today), day 2 5,000, day 3 2,000" in out
    b1 = read_ibkr_basket(t1.parent / "trades_ibkr.csv")
    assert b1[["symbol", "qty"]].values.tolist() == [["BIG", 5000.0], ["AAPL", 100.0]]

    # the same day again without --slice would write the full 12,000: refused
    assert main(["convert", str(t1), "--broker", "ibkr", "--config", str(cfg)]) == 1
    assert "--slice" in capsys.readouterr().err

    monkeypatch.setenv("XLEXEC_NOW", "2025-10-31T13:00:00Z")
    t2 = _day_file(live, "2025-10-31", "AAPL,buy,10,150.00,1500.00,0.01,1,1,2\n")
    assert main(["convert", str(t2), "--broker", "ibkr", "--json", "--config", str(cfg)]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["orders"] == 2 and res["slice_records_added"] == 1
    assert res["schedule"] == ["BIG buy 12,000 (ADV 100,000, cap 5,000/day, 3 days): day 2 5,000 (today), day 3 2,000"]
    b2 = read_ibkr_basket(t2.parent / "trades_ibkr.csv")
    assert b2[["symbol", "side", "qty", "limit_price"]].values.tolist() == [
        ["AAPL", "buy", 10.0, 150.0],
        ["BIG", "buy", 5000.0, 20.0],
    ]

    j = Journal.for_live_dir(live)
    assert [(e.day, e.payload["seq"], e.payload["child_qty"]) for e in j.events(SLICE)] == [
        ("2025-10-30", 1, 5000),
        ("2025-10-31", 2, 5000),
    ]
    j.close()


def test_cli_draft_slice_records_nothing(tmp_path, capsys, monkeypatch):
    live, cfg = _cli_setup(tmp_path)
    monkeypatch.setenv("XLEXEC_NOW", "2025-10-30T13:00:00Z")
    t1 = _day_file(live, "2025-10-30", DAY1)
    assert main(["convert", str(t1), "--broker", "generic", "--slice", "--draft", "--config", str(cfg)]) == 0
    assert "draft: not recorded" in capsys.readouterr().out
    assert (t1.parent / "trades_generic_DRAFT.csv").exists()
    j = Journal.for_live_dir(live)
    assert j.events(SLICE) == []
    j.close()
