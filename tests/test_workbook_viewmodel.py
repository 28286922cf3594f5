"""The view model, one tab at a time, on a demo day: every per-tab function of
:mod:`xlexec.excel.viewmodel` against the day's files read here independently (csv, json,
sqlite3), not through the code under test."""

from __future__ import annotations

import csv
import json
import sqlite3
from pathlib import Path

import pytest

from xlexec.config import load_config
from xlexec.excel import viewmodel as vm
from xlexec.excel.layout import BLOTTER_COLUMNS, Inputs
from xlexec.steps.context import Context

DAY = "2025-10-30"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from xlexec.demo.run import run_demo

    root = tmp_path_factory.mktemp("vm")
    run_demo(root, DAY, days=3, echo=lambda *a: None, build_workbook=False)
    ctx = Context(load_config(root / "config.yaml", cwd=root), "demo")
    yield root / "live", ctx
    ctx.close()


@pytest.fixture(scope="module")
def src(demo):
    _live, ctx = demo
    return vm.read_sources(ctx, DAY, Inputs())


@pytest.fixture(scope="module")
def template(demo):
    return vm.empty_book_data(DAY).sheets


def csv_rows(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8-sig") as f:
        return list(csv.DictReader(ln for ln in f if not ln.startswith("#")))


def col(sheet, name: str) -> list:
    j = sheet.table.columns.index(name)
    return [r[j] for r in sheet.table.rows]


def test_blotter_lists_the_trades_file(src, template):
    trades = csv_rows(src.dd / "trades.csv")
    sheet = vm.blotter_sheet(src, vm.checks_view(src.validation), template["Blotter"])
    assert sheet.table.columns == BLOTTER_COLUMNS
    assert col(sheet, "Symbol") == [t["symbol"] for t in trades]
    assert col(sheet, "Side") == [t["side"] for t in trades]
    assert col(sheet, "Shares") == [float(t["shares"]) for t in trades]
    assert col(sheet, "Notional") == pytest.approx([float(t["notional"]) for t in trades])
    assert f"{len(trades)} trades" in sheet.summary
    assert set(col(sheet, "Worst check")) <= {"pass", "warn", "fail"}


def test_blotter_of_a_day_without_trades_is_the_template(demo, template):
    _live, ctx = demo
    empty = vm.read_sources(ctx, "2031-01-02", Inputs())
    assert vm.blotter_sheet(empty, vm.checks_view(None), template["Blotter"]) is template["Blotter"]


def test_checks_fails_first_and_counted(src, template):
    val = json.loads((src.dd / "validation.json").read_text())
    sheet = vm.checks_sheet(vm.checks_view(src.validation), template["Checks"])
    statuses = col(sheet, "status")
    assert len(statuses) == len(val["checks"])
    rank = {"fail": 0, "warn": 1, "pass": 2}
    assert [rank[s] for s in statuses] == sorted(rank[s] for s in statuses)
    n = {s: sum(c["status"] == s for c in val["checks"]) for s in ("fail", "warn", "pass")}
    assert sheet.summary == f"Decision {val['decision']}: {n['fail']} fail, {n['warn']} warn, {n['pass']} pass"
    assert sorted(col(sheet, "check")) == sorted(c["check"] for c in val["checks"])


def test_approvals_and_the_control_line(src, template):
    mirror = csv_rows(src.live / "trade_approvals.csv")
    sheet, line = vm.approvals_sheet(src, template["Approvals"])
    assert col(sheet, "date") == [r["date"] for r in mirror]
    assert col(sheet, "orders_sha256") == [r["orders_sha256"] for r in mirror]
    mine = [r for r in mirror if r["date"] == DAY][-1]
    assert line.startswith(f"{mine['decision']} by {mine['approver']} at {mine['timestamp_utc']}")
    assert line.endswith(" · covers the Blotter's orders")


def test_orders_are_the_journals_latest_per_order(src, template):
    con = sqlite3.connect(src.live / "journal.sqlite")
    latest: dict[str, dict] = {}
    for (payload,) in con.execute(
        "select payload from events where kind='order_update' and day=? order by seq", (DAY,)
    ):
        p = json.loads(payload)
        latest[p["client_order_id"]] = p
    con.close()
    sheet, line = vm.orders_sheet(src, template["Orders"])
    assert sorted(col(sheet, "client_order_id")) == sorted(latest)
    by_id = dict(zip(col(sheet, "client_order_id"), col(sheet, "status")))
    assert by_id == {k: p["status"] for k, p in latest.items()}
    statuses = [p["status"] for p in latest.values()]
    for s in set(statuses):
        assert f"{statuses.count(s)} {s}" in line


def test_fills_imported_or_pasted(src):
    fills = csv_rows(src.dd / "broker_fills.csv")
    block, note = vm.fills_tab(src)
    assert block[0] == list(fills[0])
    assert [r[block[0].index("fill_id")] for r in block[1:]] == [f["fill_id"] for f in fills]
    assert note.startswith(f"Imported: {len(fills)} fills")
    pasted = vm.DaySources(src.ctx, DAY, Inputs(fills_block=[["symbol", "qty"], ["AAPL", 1]]), src.live, src.dd)
    block2, note2 = vm.fills_tab(pasted)
    assert block2 == [["symbol", "qty"], ["AAPL", 1]]
    assert note2 == f"{len(fills)} fills already imported; press Import Fills to replace them with this block."


def test_reconcile_rows_and_figures(src, template):
    rt = csv_rows(src.dd / "reconciliation_trades.csv")
    rj = json.loads((src.dd / "reconciliation.json").read_text())
    sheet = vm.reconcile_sheet(src, template["Reconcile"])
    assert col(sheet, "symbol") == [r["symbol"] for r in rt]
    assert col(sheet, "status") == [r["status"] for r in rt]
    # the day: 8 of 10 fully filled, one partial, one with nothing filled
    status = [r["status"] for r in rt]
    assert status.count("filled") == 8 and status.count("partial") == 1 and status.count("not_executed") == 1
    (p,) = [r for r in rt if r["status"] == "partial"]
    part = f"{p['symbol']} {int(float(p['executed']))}/{int(float(p['planned']))}"
    assert sheet.summary.startswith(f"Fully executed 8, partially 1 ({part}), not executed 1 of 10")
    side = {r[0]: r[1] for r in sheet.side if len(r) == 2}
    # figures under readable labels; a percentage number becomes a fraction (80 -> 0.8)
    assert side["Trades fully executed"] == rj["trades_executed"] == 8
    assert side["Trades partially executed"] == rj["trades_partial"] == 1
    assert side["Trades not executed"] == rj["trades_not_executed"] == 1
    assert side["Commission actual"] == rj["commission_actual"]
    assert side["Trades fully executed (% of planned)"] == 0.8 and rj["trades_executed_pct"] == 80.0
    assert side["Trades partially executed (% of planned)"] == 0.1
    report = (src.dd / "reconciliation_report.txt").read_text().rstrip("\n").splitlines()
    assert [r[0] for r in sheet.side[-len(report) :]] == report


def test_positions_before_and_after(src, template):
    before = {r["symbol"]: float(r["shares"]) for r in csv_rows(src.live / f"current_positions.{DAY}.bak.csv")}
    after = {r["symbol"]: float(r["shares"]) for r in csv_rows(src.dd / "positions_after_recon.csv")}
    traded = {r["symbol"] for r in csv_rows(src.dd / "trades.csv")}
    sheet = vm.positions_sheet(src, template["Positions"])
    assert col(sheet, "symbol") == sorted(set(before) | set(after))
    for sym, sys_, rec, diff, _cost, status in (r[:6] for r in sheet.table.rows):
        assert sys_ == before.get(sym, 0.0) and rec == after.get(sym, 0.0)
        assert diff == pytest.approx(after.get(sym, 0.0) - before.get(sym, 0.0))
        assert status == ("match" if diff == 0 else "traded" if sym in traded else "break")
    assert "accepted as live/current_positions.csv" in sheet.summary


def test_tca_by_symbol_and_figures(src, template):
    tj = json.loads((src.dd / "tca.json").read_text())
    sheet = vm.tca_sheet(src, template["TCA"])
    assert col(sheet, "symbol") == [r["symbol"] for r in tj["by_symbol"]]
    assert col(sheet, "usd") == [r["usd"] for r in tj["by_symbol"]]
    side = {r[0]: r[1] for r in sheet.side if len(r) == 2}
    assert side["Total cost"] == tj["total"]["usd"]
    assert sheet.summary.startswith(f"Total cost ${tj['total']['usd']} (")


def test_monthly_months_and_days(src, template):
    months = csv_rows(src.live / "monthly_costs.csv")
    mc = vm._monthly_costs(src)
    t = vm.monthly_months_table(mc)
    assert [r[t.columns.index("month")] for r in t.rows] == sorted(m["month"] for m in months)
    sheet = vm.monthly_sheet(src, mc, template["Monthly"])
    days = sorted(
        p.name
        for p in src.live.iterdir()
        if p.is_dir() and p.name.startswith(DAY[:7]) and (p / "reconciliation.json").exists()
    )
    assert [str(d) for d in col(sheet, "date")] == days
    assert sheet.summary.startswith(f"{len(days)} trading days")
    assert vm.monthly_sheet(src, None, template["Monthly"]) is template["Monthly"]


def test_control_cells(src):
    header = [ln for ln in (src.dd / "trades.csv").read_text().splitlines() if ln.startswith("# Kill Switch:")]
    val = json.loads((src.dd / "validation.json").read_text())
    c = vm.control_cells(src, vm.checks_view(src.validation), "APPROVED by x", "3 filled")
    assert c["trade_date"] == DAY
    assert c["kill_switch"] == f"armed (header: {header[0].split(':', 1)[1].strip()})"
    assert c["recommended"].startswith(f"{val['decision']} (")
    assert c["approval"] == "APPROVED by x" and c["orders"] == "3 filled"


def test_log_lists_the_button_presses(demo, tmp_path):
    from xlexec.excel.buttons import run_button

    live, ctx = demo
    book = tmp_path / "day.xlsx"
    res = run_button("load_trades", book, ctx=ctx, day=DAY)
    assert res.ok, res.message
    con = sqlite3.connect(live / "journal.sqlite")
    pressed = [json.loads(p) for (p,) in con.execute("select payload from events where kind='action' order by seq")]
    con.close()
    pressed = [p for p in pressed if p.get("source") == "workbook"]
    assert pressed and pressed[-1]["button"] == "load_trades"
    src = vm.read_sources(ctx, DAY, Inputs())
    sheet = vm.log_sheet(vm.action_rows(src.actions))
    assert col(sheet, "action") == [p["button"] for p in pressed]
    assert col(sheet, "result") == [p["result"] for p in pressed]
    assert vm.control_cells(src, vm.checks_view(None), None, None)["last_action"] == "load_trades"


def test_collect_is_the_tabs_put_together(src, demo):
    _live, ctx = demo
    data = vm.collect(ctx, DAY, Inputs())
    t = vm.empty_book_data(DAY, ctx).sheets
    v = vm.checks_view(src.validation)
    assert data.sheets["Checks"] == vm.checks_sheet(v, t["Checks"])
    assert data.sheets["Reconcile"] == vm.reconcile_sheet(src, t["Reconcile"])
    assert data.sheets["TCA"] == vm.tca_sheet(src, t["TCA"])
    assert data.sheets["Positions"] == vm.positions_sheet(src, t["Positions"])


def test_render_and_commit_write_the_view_model_given(demo, tmp_path):
    """A button that has just collected the view model hands it over: it is written as given
    (not collected again from the files)."""
    from python_calamine import CalamineWorkbook

    from xlexec.excel.book import FileBook
    from xlexec.excel.render import render_workbook

    _live, ctx = demo
    data = vm.collect(ctx, DAY, Inputs())
    data.sheets["TCA"].title = "TCA as handed over"
    path = render_workbook(ctx, DAY, tmp_path / "given.xlsx", data=data)
    a1 = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("TCA").to_python()[0][0]
    assert a1 == "TCA as handed over"
    book = FileBook(tmp_path / "committed.xlsx")
    data.sheets["TCA"].title = "TCA via commit"
    book.commit(ctx, DAY, data)
    a1 = CalamineWorkbook.from_path(str(book.path)).get_sheet_by_name("TCA").to_python()[0][0]
    assert a1 == "TCA via commit"
    book.commit(ctx, DAY)  # nothing handed over: collected from the files
    a1 = CalamineWorkbook.from_path(str(book.path)).get_sheet_by_name("TCA").to_python()[0][0]
    assert a1 == f"TCA — {DAY}"
