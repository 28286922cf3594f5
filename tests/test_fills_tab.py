"""The workbook's Fills tab and Monthly tab read broker files the way ``xlexec fills`` and
``xlexec monthly`` do: through ``xlexec button NAME --book FILE`` (a subprocess started in a
folder that is not the project) and xlwings' JSON-backed Book. Expected values are read off the
samples by hand.
"""

from __future__ import annotations

import openpyxl

from tests.reliability import _support as U
from tests.test_fills_e2e import DAY, desk

PAPER = "live_dir: live\nexecution:\n  broker: paper\n"


def _book(cfg, elsewhere):
    book = cfg.parent / "book.xlsx"
    build = ["workbook", "build", "--config", str(cfg), "--output", str(book), "--no-macros"]
    assert U.xlexec(build, cwd=elsewhere).returncode == 0
    return book


def test_monthly_tab_reads_the_days_fills_in_the_configured_base_currency(tmp_path):
    # a EUR fund: its broker_fills.csv is in EUR; the Monthly tab re-reads it in EUR as
    # `xlexec monthly` does (before: the tab read it as USD and said "monthly report unavailable")
    cfg, live, elsewhere = desk(tmp_path, PAPER + "base_currency: EUR\n")
    (live / DAY / "broker_fills.csv").write_text(
        "date,symbol,side,shares,price,commission,fill_time,order_id,client_order_id,fill_id,fees,currency\n"
        "2025-10-30,AAPL,buy,10,100.25,0.35,,o1,,f1,0,EUR\n"
        "2025-10-30,BRK.B,sell,5,481.00,1.00,,o2,,f2,0,EUR\n"
    )
    book = _book(cfg, elsewhere)
    r = U.xlexec(["button", "monthly-report", "--config", str(cfg), "--book", str(book), "--day", DAY], cwd=elsewhere)
    assert r.returncode == 0, r.stderr + r.stdout
    ws = openpyxl.load_workbook(book)["Monthly"]
    summary = str(ws["A2"].value)
    assert "unavailable" not in summary and "1 trading days" in summary, summary
