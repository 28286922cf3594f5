"""The Convert and Submit buttons follow a day's ADV slicing schedule (made by `xlexec convert
--slice`): the file and the broker get today's child, never the full parent on top of it."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from xlexec.cli.app import main  # noqa: E402
from xlexec.config import load_config  # noqa: E402
from xlexec.core.orders import orders_from_trades  # noqa: E402
from xlexec.excel.build import build_workbook  # noqa: E402
from xlexec.excel.buttons import run_button  # noqa: E402
from xlexec.formats.trades import read_trades  # noqa: E402
from xlexec.steps.context import Context  # noqa: E402
from xlexec.store.approvals import record_approval  # noqa: E402

DAY = "2025-10-30"


def test_submit_and_convert_buttons_send_the_slice(tmp_path, monkeypatch):
    monkeypatch.setenv("XLEXEC_NOW", f"{DAY}T14:00:00+00:00")
    live = tmp_path / "live"
    (live / DAY).mkdir(parents=True)
    (tmp_path / "config.yaml").write_text("execution:\n  broker: paper\n  max_order_size_usd: 50000\n")
    (live / "reference.csv").write_text("symbol,sector,adv_shares\nBIG,Tech,6000\n")
    (live / DAY / "trades.csv").write_text(
        f"# Date: {DAY}\n# Kill Switch: ACTIVE\n# Safety Checks: PASSED\n"
        "symbol,side,shares,price,notional,weight_change,commission_est,slippage_est,total_cost_est\n"
        "BIG,buy,1000,20.00,20000.00,0.20,2.00,4.00,6.00\n"
    )
    (live / DAY / "quotes.csv").write_text(f"symbol,bid,ask,last,timestamp\nBIG,19.98,20.00,19.99,{DAY}T13:59:30Z\n")
    cfg = load_config(tmp_path / "config.yaml")  # live_dir: the built-in "live", next to the file
    t = read_trades(live / DAY / "trades.csv")
    import datetime as dt

    record_approval(
        cfg.live_dir,
        date=DAY,
        orders=orders_from_trades(t, date=DAY),
        decision="APPROVED",
        reason="ok",
        approver="pm",
        recommended="APPROVE",
        override=False,
        now=dt.datetime(2025, 10, 30, 14, tzinfo=dt.UTC),
    )
    # the operator sliced the day from the CLI: 300 of 1,000 today (ADV 6,000 x 5%)
    argv = ["convert", str(live / DAY / "trades.csv"), "--broker", "ibkr", "--slice"]
    assert main([*argv, "--config", str(tmp_path / "config.yaml")]) == 0
    book = tmp_path / "wb.xlsm"
    ctx = Context(cfg, "ops")
    try:
        build_workbook(book, ctx, DAY)
        conv = run_button("convert", book, ctx=ctx, day=DAY)
        assert conv.exit_code == 0, conv.message
        rows = (live / DAY / "trades_ibkr.csv").read_text().splitlines()
        assert rows[1].startswith("BUY,300,BIG,"), rows
        sub = run_button("submit", book, ctx=ctx, day=DAY)
        assert sub.exit_code == 0, sub.message
    finally:
        ctx.close()
    from xlexec.execution.brokers.paper import PaperBroker

    b = PaperBroker(live / "paper_broker.sqlite")
    try:
        assert [(o.symbol, o.qty) for o in b.list_orders("all")] == [("BIG", 300.0)]
    finally:
        b.close()
