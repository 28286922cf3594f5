"""The workbook's Fills tab and Monthly tab read broker files the way ``xlexec fills`` and
``xlexec monthly`` do: through ``xlexec button NAME --book FILE`` (a subprocess started in a
folder that is not the project) and xlwings' JSON-backed Book. Expected values are read off the
samples by hand.
"""

from __future__ import annotations

import openpyxl

from tests.reliability import _support as U
from tests.test_fills_e2e import DATA, DAY, desk

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


# ------------------------------------------------------------------ the Fills tab

FILL_HEADER = [
    "date",
    "symbol",
    "side",
    "shares",
    "price",
    "commission",
    "fill_time",
    "order_id",
    "client_order_id",
    "fill_id",
    "fees",
    "currency",
    "account",
    "fill_time_ny",
]
TITLE = "Skipped rows (not fills; row = the source's row)"


def _typed(cell: str):
    """A CSV cell as Excel types it when pasted: numbers become numbers."""
    try:
        return float(cell)
    except ValueError:
        return cell


def _paste(book, rows) -> None:
    wb = openpyxl.load_workbook(book)
    ws = wb["Fills"]
    for i, row in enumerate(rows):
        for j, v in enumerate(row):
            ws.cell(row=4 + i, column=1 + j, value=v)  # A4 down
    wb.save(book)


def _tab(book) -> list[list]:
    ws = openpyxl.load_workbook(book)["Fills"]
    return [[c.value for c in r] for r in ws.iter_rows(min_row=1, max_row=ws.max_row)]


def _import(cfg, book, elsewhere):
    argv = ["button", "import-fills", "--config", str(cfg), "--book", str(book), "--day", DAY]
    return U.xlexec(argv, cwd=elsewhere)


def _section(tab: list[list], start: int) -> list[list]:
    """Rows from 0-based ``start`` down to the first empty row, trailing empty cells dropped."""
    out = []
    for r in tab[start:]:
        cells = list(r)
        while cells and cells[-1] in (None, ""):
            cells.pop()
        if not cells:
            break
        out.append(cells)
    return out


def test_a_pasted_sectioned_flex_csv_is_read_whole_and_the_tab_lists_the_skipped_rows(tmp_path):
    import csv

    cfg, live, elsewhere = desk(tmp_path, PAPER)
    book = _book(cfg, elsewhere)
    with open(DATA / "ibkr_flex_sections.csv", newline="") as f:
        _paste(book, [[_typed(c) for c in r] for r in csv.reader(f)])
    r = _import(cfg, book, elsewhere)
    assert r.returncode == 0, r.stderr + r.stdout
    saved = (live / DAY / "broker_fills.csv").read_text().splitlines()
    assert [ln.split(",")[1:6] for ln in saved[1:]] == [
        ["AAPL", "buy", "6", "100.20", "0.21"],  # IBCommission -0.21: paid
        ["AAPL", "buy", "4", "100.30", "0.14"],
        ["BRK.B", "sell", "5", "481.00", "-0.10"],  # IBCommission +0.10: a rebate
    ]
    tab = _tab(book)
    assert "Imported: 3 fills" in tab[2][0] and "4 source row(s) skipped" in tab[2][0]
    fills = _section(tab, 3)
    assert fills[0] == FILL_HEADER
    assert [(f[1], f[3], f[9], f[12]) for f in fills[1:]] == [
        ("AAPL", 6, "0000e0d5.6903a1b2.01.01", "U1234567"),
        ("AAPL", 4, "0000e0d5.6903a1b2.01.02", "U1234567"),
        ("BRK.B", 5, "0000e0d5.6903a1b4.01.01", "U1234567"),
    ]
    assert [f[8] for f in fills[1:]] == ["xlx-2025-10-30-AAPL-buy-abc"] * 2 + ["xlx-2025-10-30-BRK.B-sell-abc"]
    # one blank row, then the skipped rows: the file's line n is the sheet row n + 3 (pasted at A4)
    skipped = _section(tab, 3 + len(fills) + 1)
    assert skipped == [
        [TITLE],
        ["row", "reason"],
        [6, "section POST (Open Positions): 3 row(s), not trades"],
        [16, "execution busted by the trade cancel on row 17"],
        [17, "trade cancel of trade 9303 (row 16)"],
        [19, "not a US equity/ETF: option (AssetClass OPT)"],
    ]
    # pressed again on the tab as drawn: a rerun changes nothing, the skipped rows stay listed
    before = {p.name: p.read_bytes() for p in (live / DAY).glob("broker_fills*.csv")}
    r = _import(cfg, book, elsewhere)
    assert r.returncode == 0, r.stderr + r.stdout
    assert "nothing changed" in r.stdout
    assert {p.name: p.read_bytes() for p in (live / DAY).glob("broker_fills*.csv")} == before
    again = _tab(book)
    assert _section(again, 3) == fills and _section(again, 3 + len(fills) + 1) == skipped


def test_a_pasted_flex_xml_is_read_whole(tmp_path):
    cfg, live, elsewhere = desk(tmp_path, PAPER)
    book = _book(cfg, elsewhere)
    # each line of the file in column A, as a text paste leaves it
    _paste(book, [[line] for line in (DATA / "ibkr_flex_activity.xml").read_text().splitlines()])
    r = _import(cfg, book, elsewhere)
    assert r.returncode == 0, r.stderr + r.stdout
    tab = _tab(book)
    fills = _section(tab, 3)
    assert [(f[1], f[2], f[3], f[4]) for f in fills[1:]] == [
        ("AAPL", "buy", 6, 100.2),
        ("AAPL", "buy", 4, 100.3),
        ("BRK.B", "sell", 5, 481),
    ]
    # the file's line n is the sheet row n + 3
    assert _section(tab, 3 + len(fills) + 1)[2:] == [
        [17, "Order record: a summary, not an execution"],
        [18, "execution busted by the trade cancel on row 19"],
        [19, "trade cancel of trade 9303 (row 18)"],
        [21, "not a US equity/ETF: option (AssetClass OPT)"],
    ]


def test_the_fills_tab_on_a_json_backed_book_shows_the_skipped_rows(tmp_path):
    # the xlwings Server/Lite path: the block arrives in the client's payload and the tab is
    # written back as whole-range writes (tests/test_buttons_xlwings.py's pattern)
    import xlwings as xw

    from tests.test_buttons_xlwings import CLOSE, _ctx, _payload, writes

    cfg, live, elsewhere = desk(tmp_path, PAPER)
    book = _book(cfg, elsewhere)
    payload = _payload(book, {"trade_date": DAY})
    sheet = next(s for s in payload["sheets"] if s["name"] == "Fills")
    block = [  # Schwab's export as pasted (tests/data/fills/schwab_transactions.csv's layout)
        ["Date", "Action", "Symbol", "Description", "Quantity", "Price", "Fees & Comm", "Amount"],
        ["10/30/2025", "Buy", "AAPL", "APPLE INC", 10, "$100.25", "", "-$1,002.50"],
        ["10/30/2025", "Qualified Dividend", "KO", "COCA COLA CO", "", "", "", "$12.34"],
        ["10/30/2025", "Sell", "BRK B", "BERKSHIRE HATHAWAY B", 5, "$481.00", "$0.02", "$2,404.98"],
    ]
    width = max(len(sheet["values"][0]), 8)
    vals = [list(r) + [""] * (width - len(r)) for r in sheet["values"]]
    while len(vals) < 3 + len(block):
        vals.append([""] * width)
    for i, row in enumerate(block):
        vals[3 + i][: len(row)] = row
    sheet["values"] = vals
    wb = xw.Book(json=payload)
    ctx = _ctx(cfg, CLOSE)
    try:
        from xlexec.excel.buttons import run_button

        res = run_button("import_fills", wb, ctx=ctx)
    finally:
        ctx.close()
    assert res.ok, res.message
    shown = [a for a in writes(wb.json()["actions"], "Fills") if a["start_row"] == 3 and a["start_column"] == 0]
    assert len(shown) == 1, "the tab is one write from A4"
    v = shown[0]["values"]
    assert v[0][:6] == FILL_HEADER[:6]
    assert [r[1] for r in v[1:3]] == ["AAPL", "BRK.B"] and v[2][5] == 0.02
    assert v[3][0] in (None, "") and v[4][0] == TITLE and v[5][:2] == ["row", "reason"]
    assert v[6][:2] == [6, "action 'Qualified Dividend' is not a buy or sell"]  # the dividend's sheet row
