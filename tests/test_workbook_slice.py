"""Control's "Slice large orders (Y/N)" input (Convert/Submit pass ``--slice``) and the Quotes
tab's optional ``bid_size``/``ask_size`` columns (shown from quotes.csv, kept from a pasted block)."""

from __future__ import annotations

import datetime as dt

import openpyxl
import pytest
from python_calamine import CalamineWorkbook

from xlexec.config import load_config
from xlexec.core.orders import orders_from_trades
from xlexec.excel.build import CONTROL_CELLS, INPUT_KEYS, build_workbook
from xlexec.excel.buttons import run_button
from xlexec.formats.inputs import read_quotes
from xlexec.formats.trades import read_trades
from xlexec.steps.context import Context
from xlexec.store.approvals import record_approval

DAY = "2025-10-30"
NOW = dt.datetime(2025, 10, 30, 14, tzinfo=dt.UTC)


def big_day(root, quotes: str):
    """BIG buy 1,000 @ $20 ($20,000; max_order_size_usd raised to $50,000 so the full order is
    allowed); ADV 6,000 shares -> 5% = 300 shares a day when sliced. Approved."""
    live = root / "live"
    (live / DAY).mkdir(parents=True)
    (root / "config.yaml").write_text("execution:\n  broker: paper\n  max_order_size_usd: 50000\n")
    (live / "reference.csv").write_text("symbol,sector,adv_shares\nBIG,Tech,6000\n")
    (live / DAY / "trades.csv").write_text(
        f"# Date: {DAY}\n# Kill Switch: ACTIVE\n# Safety Checks: PASSED\n"
        "symbol,side,shares,price,notional,weight_change,commission_est,slippage_est,total_cost_est\n"
        "BIG,buy,1000,20.00,20000.00,0.20,2.00,4.00,6.00\n"
    )
    (live / DAY / "quotes.csv").write_text(quotes)
    cfg = load_config(root / "config.yaml", cwd=root)
    t = read_trades(live / DAY / "trades.csv")
    record_approval(
        cfg.live_dir,
        date=DAY,
        orders=orders_from_trades(t, date=DAY),
        decision="APPROVED",
        reason="ok",
        approver="pm",
        recommended="APPROVE",
        override=False,
        now=NOW,
    )
    return cfg, live


QUOTES = f"symbol,bid,ask,last,timestamp\nBIG,19.98,20.00,19.99,{DAY}T13:59:30Z\n"


def sent_orders(live):
    from xlexec.execution.brokers.paper import PaperBroker

    b = PaperBroker(live / "paper_broker.sqlite")
    try:
        return [(o.symbol, o.qty) for o in b.list_orders("all")]
    finally:
        b.close()


@pytest.mark.parametrize("answer, qty", [("Y", 300), ("N", 1000)])
def test_slice_input_on_control(tmp_path, monkeypatch, answer, qty):
    monkeypatch.setenv("XLEXEC_NOW", NOW.isoformat())
    cfg, live = big_day(tmp_path, QUOTES)
    book = tmp_path / "wb.xlsm"
    ctx = Context(cfg, "ops")
    try:
        build_workbook(book, ctx, DAY)
        ws = openpyxl.load_workbook(book, keep_vba=True)["Control"]
        ref = CONTROL_CELLS["slice"]
        assert "slice" in INPUT_KEYS and ws[ref].value == "N" and not ws[ref].protection.locked
        assert ws.cell(row=ws[ref].row, column=1).value == "Slice large orders (Y/N)"
        assert [dv.formula1 for dv in ws.data_validations.dataValidation if ref in str(dv.sqref)] == ['"Y,N"']
        wb = openpyxl.load_workbook(book, keep_vba=True)
        wb["Control"][ref] = answer  # typed by the operator
        wb.save(book)
        conv = run_button("convert", book, ctx=ctx, day=DAY)
        assert conv.exit_code == 0, conv.message
        rows = (live / DAY / "trades_ibkr.csv").read_text().splitlines()
        assert rows[1].startswith(f"BUY,{qty},BIG,"), rows
        # carried over on re-render
        assert (
            CalamineWorkbook.from_path(str(book)).get_sheet_by_name("Control").to_python()[ws[ref].row - 1][1] == answer
        )
        sub = run_button("submit", book, ctx=ctx, day=DAY)
        assert sub.exit_code == 0, sub.message
    finally:
        ctx.close()
    assert sent_orders(live) == [("BIG", float(qty))]


def test_quote_sizes_shown_and_kept_from_a_pasted_block(tmp_path, monkeypatch):
    monkeypatch.setenv("XLEXEC_NOW", NOW.isoformat())
    cfg, live = big_day(
        tmp_path, f"symbol,bid,ask,last,timestamp,bid_size,ask_size\nBIG,19.98,20.00,19.99,{DAY}T13:59:30Z,400,250\n"
    )
    book = tmp_path / "wb.xlsm"
    ctx = Context(cfg, "ops", fixed_now=NOW)
    try:
        build_workbook(book, ctx, DAY)
        assert run_button("load_trades", book, ctx=ctx, day=DAY).ok
        vals = CalamineWorkbook.from_path(str(book)).get_sheet_by_name("Quotes").to_python(skip_empty_area=False)
        # the file's sizes next to the age block (G:H symbol, age; I:J sizes)
        assert vals[3][8:10] == ["bid_size", "ask_size"]
        assert vals[4][6] == "BIG" and vals[4][8:10] == [400.0, 250.0]
        assert vals[4][:5] == ["BIG", 19.98, 20.0, 19.99, f"{DAY} 13:59:30 UTC"]
        # the operator pastes a block with sizes (header row first, A4:G5)
        wb = openpyxl.load_workbook(book, keep_vba=True)
        ws = wb["Quotes"]
        block = [
            ["symbol", "bid", "ask", "last", "timestamp", "bid_size", "ask_size"],
            ["BIG", 19.97, 19.99, 19.98, f"{DAY} 13:58:00", 120, 80],
        ]
        for i, row in enumerate(block):
            for j, v in enumerate(row):
                ws.cell(row=4 + i, column=1 + j, value=v)
        wb.save(book)
        res = run_button("validate", book, ctx=ctx, day=DAY)
        assert res.ok, res.message
        assert "1 quotes from the Quotes tab saved" in res.message
    finally:
        ctx.close()
    q = read_quotes(live / DAY / "quotes.csv")
    assert list(q["symbol"]) == ["BIG"]
    assert (q["bid"].iloc[0], q["ask"].iloc[0], q["bid_size"].iloc[0], q["ask_size"].iloc[0]) == (
        19.97,
        19.99,
        120.0,
        80.0,
    )
    assert q["timestamp"].iloc[0] == dt.datetime(2025, 10, 30, 13, 58, tzinfo=dt.UTC)
    # and the tab shows the saved sizes after the re-render
    vals = CalamineWorkbook.from_path(str(book)).get_sheet_by_name("Quotes").to_python(skip_empty_area=False)
    assert vals[4][:5] == ["BIG", 19.97, 19.99, 19.98, f"{DAY} 13:58:00 UTC"] and vals[4][8:10] == [120.0, 80.0]
