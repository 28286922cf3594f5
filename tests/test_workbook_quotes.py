"""The workbook's Quotes tab: drawn from the day's quotes.csv (timestamps in UTC, ages), and quotes
the operator pastes there become the day's quotes.csv before Validate/Approve/Reject/Submit (the
same rules as ``xlexec.formats.inputs.read_quotes``; a bad cell names the tab's row and column and
nothing is written). Alpaca market data, when configured, still wins.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sys
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import yaml
from python_calamine import CalamineWorkbook

from xlexec.config import load_config
from xlexec.demo import sample
from xlexec.demo.run import write_demo_config
from xlexec.errors import InputError
from xlexec.excel.book import parse_shown, quotes_digest, quotes_from_grid
from xlexec.excel.build import QUOTES_COLUMNS, QUOTES_SHOWN_CELL, SHEETS, Inputs, build_workbook, parse_a1
from xlexec.excel.buttons import run_button
from xlexec.excel.render import age_text, render_workbook, utc_text
from xlexec.execution.marketdata import save_quotes
from xlexec.formats.inputs import read_quotes
from xlexec.steps.context import Context

DAY = "2025-10-30"
MORNING = dt.datetime(2025, 10, 30, 13, 40, tzinfo=dt.UTC)  # 09:40 New York

# the sample day's ten trades at their signal prices ($); PEP (145.05, a limit sell) gets a quote
# 3% away: bid 149.39 / ask 149.41 -> mid 149.40; |145.05 - 149.40| / 149.40 = 4.35 / 149.40
TRADE_PRICES = {
    "PEP": 145.05,
    "KO": 68.59,
    "AMZN": 224.84,
    "GOOGL": 274.54,
    "META": 754.31,
    "V": 344.83,
    "UNH": 359.81,
    "XOM": 115.03,
    "COST": 929.90,
    "WMT": 100.64,
}
PEP_DEV = 4.35 / 149.40  # 0.0291165 (warn: > 2%, < 10%)


def typed_quotes() -> list[list]:
    """What the operator pastes under the header (A5 down): PEP 3% away, every other quote at
    the trade price +- 1 cent, timestamps 13:39:45 UTC (15 s old at 09:40 New York: fresh enough to submit)."""
    rows = []
    for sym, p in TRADE_PRICES.items():
        if sym == "PEP":
            rows.append(["PEP", 149.39, 149.41, 149.40, "2025-10-30 13:39:45"])
        else:
            rows.append([sym, round(p - 0.01, 2), round(p + 0.01, 2), p, "2025-10-30T13:39:45Z"])
    return rows


def setup_day(root: Path, base: dict | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    s = sample.make_day(DAY)
    cfg = write_demo_config(root, s.cash, base)
    sample.write_day(s, root / "live")
    return cfg


def ctx_at(cfg: Path, when=MORNING) -> Context:
    return Context(load_config(cfg, cwd=cfg.parent), "jane", fixed_now=when)


def press(name: str, book, cfg: Path, when=MORNING, **kw):
    ctx = ctx_at(cfg, when)
    try:
        return run_button(name, book, ctx=ctx, **kw)
    finally:
        ctx.close()


def quotes_tab(book: Path) -> list[list]:
    return CalamineWorkbook.from_path(str(book)).get_sheet_by_name("Quotes").to_python(skip_empty_area=False)


def paste(book: Path, rows: list[list], first_row: int = 5) -> None:
    """Clear the Quotes tab's A5:E and write ``rows`` there, as the operator would (openpyxl)."""
    wb = openpyxl.load_workbook(book, keep_vba=True)
    ws = wb["Quotes"]
    for r in range(5, max(ws.max_row, 5) + 1):
        for c in range(1, len(QUOTES_COLUMNS) + 1):
            ws.cell(row=r, column=c).value = None
    for i, row in enumerate(rows):
        for j, v in enumerate(row):
            ws.cell(row=first_row + i, column=1 + j, value=v)
    wb.save(book)


@pytest.fixture
def day(tmp_path):
    cfg = setup_day(tmp_path)
    book = tmp_path / "wb.xlsm"
    build_workbook(book)
    assert press("load_trades", book, cfg, day=DAY).ok
    return tmp_path, cfg, book


def checks_of(root: Path) -> list[dict]:
    return json.loads((root / "live" / DAY / "validation.json").read_text())["checks"]


# --------------------------------------------------------------------------- drawing the tab


def test_tab_shows_the_days_quotes_in_utc_with_their_age(day):
    root, _cfg, book = day
    assert "Quotes" in SHEETS
    path = root / "live" / DAY / "quotes.csv"
    q = read_quotes(path)
    vals = quotes_tab(book)
    assert vals[3][:5] == QUOTES_COLUMNS
    rows = [r[:5] for r in vals[4:] if r and r[0]]
    assert len(rows) == len(q) == 25
    first = q.iloc[0]
    # the sample's quotes are stamped 09:39:30 New York = 13:39:30 UTC: 30 s old at 09:40
    assert rows[0] == [first["symbol"], first["bid"], first["ask"], first["last"], "2025-10-30 13:39:30 UTC"]
    assert vals[4][6:8] == [first["symbol"], "30 s"]
    assert vals[3][6] == "Age at 13:40:00 UTC"
    assert vals[1][0].startswith(
        f"25 quotes from live/{DAY}/quotes.csv; newest 2025-10-30 13:39:30 UTC, 30 s old at 2025-10-30 13:40:00 UTC"
    )
    r, c = parse_a1(QUOTES_SHOWN_CELL)
    assert parse_shown(vals[r][c]) == quotes_digest(q)
    # Excel features: a Table, frozen header, $ formats, an unlocked paste area, a locked header
    wb = openpyxl.load_workbook(book, keep_vba=True)
    ws = wb["Quotes"]
    assert {t.name: t.ref for t in ws.tables.values()} == {"tblQuotes": "A4:E29"}
    assert ws.freeze_panes == "A5" and ws.protection.sheet
    assert ws["B5"].number_format == "$#,##0.00##"
    assert ws.column_dimensions["B"].number_format == "$#,##0.00##" and ws.column_dimensions["E"].number_format == "@"
    assert not ws["A5"].protection.locked and not ws["E29"].protection.locked
    assert ws["A4"].protection.locked and ws["A4"].font.b
    col = ws.column_dimensions["B"]  # rows below the Table are unlocked through the column format
    assert not wb._protections[col._style.protectionId].locked
    assert "UTC" in ws["A3"].value and "quotes.csv" in ws["A3"].value


def test_validation_records_the_quotes_it_used_and_the_tab_says_so(day):
    root, cfg, book = day
    assert press("validate", book, cfg).ok
    path = root / "live" / DAY / "quotes.csv"
    doc = json.loads((root / "live" / DAY / "validation.json").read_text())
    assert doc["summary"]["inputs"]["quotes_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert "the last Validate used these quotes" in quotes_tab(book)[1][0]
    q = read_quotes(path)
    q.loc[q.index[0], "bid"] = q["bid"].iloc[0] - 0.01
    save_quotes(q, path)  # the file changes after the checks ran
    assert press("load_trades", book, cfg, day=DAY).ok
    assert "CHANGED since the last Validate" in quotes_tab(book)[1][0]


# --------------------------------------------------------------------------- pasted quotes


def test_pasted_quotes_become_quotes_csv_and_are_validated(day):
    root, cfg, book = day
    paste(book, typed_quotes())
    res = press("validate", book, cfg)
    assert res.ok, res.message
    assert "10 quotes from the Quotes tab saved to" in res.message
    saved = read_quotes(root / "live" / DAY / "quotes.csv").set_index("symbol")
    assert list(saved.index) == list(TRADE_PRICES)
    assert saved.loc["PEP", "mid"] == pytest.approx(149.40)
    assert saved.loc["PEP", "timestamp"] == dt.datetime(2025, 10, 30, 13, 39, 45, tzinfo=dt.UTC)
    assert saved.loc["KO", "bid"] == pytest.approx(68.58) and saved.loc["KO", "ask"] == pytest.approx(68.60)
    # the checks used them: PEP 2.91% from the mid warns, the others pass, nothing is stale
    dev = [c for c in checks_of(root) if c["check"] == "price_deviation" and c["status"] != "pass"]
    assert [(c["symbol"], c["status"]) for c in dev] == [("PEP", "warn")]
    assert dev[0]["value"] == pytest.approx(PEP_DEV, abs=1e-9) and dev[0]["value"] == pytest.approx(0.0291165, abs=1e-7)
    assert not [c for c in checks_of(root) if c["check"] in ("price_stale", "no_quote") and c["status"] != "pass"]
    # the tab now shows the saved file (with the id of what it shows), PEP's row coloured on the Blotter
    vals = quotes_tab(book)
    assert [r[0] for r in vals[4:] if r and r[0]] == list(TRADE_PRICES)
    assert vals[4][:5] == ["PEP", 149.39, 149.41, 149.40, "2025-10-30 13:39:45 UTC"]
    assert vals[4][6:8] == ["PEP", "15 s"]
    r, c = parse_a1(QUOTES_SHOWN_CELL)
    assert parse_shown(vals[r][c]) == quotes_digest(read_quotes(root / "live" / DAY / "quotes.csv"))
    blotter = {
        row[1]: row
        for row in CalamineWorkbook.from_path(str(book))
        .get_sheet_by_name("Blotter")
        .to_python(skip_empty_area=False)[4:]
        if row and row[1]
    }
    assert blotter["PEP"][10] == "warn" and "price_deviation" in blotter["PEP"][11]
    # pressing again changes nothing: the tab is what quotes.csv holds
    before = (root / "live" / DAY / "quotes.csv").read_bytes()
    res = press("validate", book, cfg)
    assert res.ok and "saved" not in res.message
    assert (root / "live" / DAY / "quotes.csv").read_bytes() == before


def test_bad_quote_names_the_tab_row_and_column_and_writes_nothing(day):
    root, cfg, book = day
    rows = typed_quotes()
    rows[1][1] = "abc"  # KO's bid, sheet row 6
    paste(book, rows)
    wb = openpyxl.load_workbook(book, keep_vba=True)  # and a Blotter edit, which must not be saved either
    wb["Blotter"]["A5"] = "N"
    wb.save(book)
    dd = root / "live" / DAY
    files = {p.name: p.read_bytes() for p in dd.iterdir()}
    before = book.read_bytes()
    res = press("validate", book, cfg)
    assert res.result == "error" and res.exit_code == 2
    assert res.message.startswith("Quotes tab, row 6, column 'bid': ") and "'abc'" in res.message
    assert {p.name: p.read_bytes() for p in dd.iterdir()} == files  # quotes.csv, trades.csv untouched
    assert book.read_bytes() == before
    # the same for Approve and Submit, which read quotes too
    for name, sets in (("approve", {"approver": "jane", "reason": "ok"}), ("submit", None)):
        res = press(name, book, cfg, set_inputs=sets)
        assert res.exit_code == 2 and "Quotes tab, row 6, column 'bid'" in res.message, name
    assert {p.name: p.read_bytes() for p in dd.iterdir()} == files


def test_other_bad_cells_and_a_missing_timestamp(day):
    root, cfg, book = day
    rows = typed_quotes()
    rows[3] = ["amzn", 224.83, 224.85, 224.84, "yesterday-ish"]  # sheet row 8
    paste(book, rows)
    res = press("validate", book, cfg)
    assert res.message.startswith("Quotes tab, row 8, column 'timestamp': ")
    rows[3] = ["KO", 68.58, 68.60, 68.59, "2025-10-30T13:39:45Z"]  # KO twice: row 8 repeats row 6
    paste(book, rows)
    res = press("validate", book, cfg)
    assert res.message.startswith("Quotes tab, row 8, column 'symbol': ") and "KO" in res.message
    # a blank timestamp is allowed (as in quotes.csv): saved, and the check warns that it has none
    rows = typed_quotes()
    rows[2] = ["amzn", 224.83, 224.85, 224.84, None]
    paste(book, rows)
    res = press("validate", book, cfg)
    assert res.ok, res.message
    saved = read_quotes(root / "live" / DAY / "quotes.csv").set_index("symbol")
    assert "AMZN" in saved.index and pd.isna(saved.loc["AMZN", "timestamp"])
    stale = [c for c in checks_of(root) if c["check"] == "price_stale" and c["status"] == "warn"]
    assert [c["symbol"] for c in stale] == ["AMZN"] and "no timestamp" in stale[0]["message"]
    assert quotes_tab(book)[4 + 2][6:8] == ["AMZN", "no timestamp"]


def test_approve_and_submit_save_pasted_quotes_for_the_price_collar(day):
    root, cfg, book = day
    assert press("validate", book, cfg).ok
    paste(book, typed_quotes())
    res = press("approve", book, cfg, set_inputs={"approver": "jane", "reason": "checked", "decision": "CONDITIONAL"})
    assert res.ok, res.message
    assert "10 quotes from the Quotes tab saved" in res.message
    assert read_quotes(root / "live" / DAY / "quotes.csv").set_index("symbol").loc["PEP", "mid"] == pytest.approx(
        149.40
    )
    rows = typed_quotes()
    rows[0] = ["PEP", 145.04, 145.06, 145.05, "2025-10-30 13:39:50"]  # PEP back at the trade price
    paste(book, rows)
    res = press("submit", book, cfg)
    assert res.ok, res.message
    assert "saved" in res.message
    saved = read_quotes(root / "live" / DAY / "quotes.csv").set_index("symbol")
    assert saved.loc["PEP", "mid"] == pytest.approx(145.05)


def test_an_untouched_tab_never_overwrites_a_newer_quotes_csv(day):
    """The tab was drawn from the 09:39:30 file; the model writes new quotes at 09:39:50; Validate must
    use the new file, not put the old quotes back."""
    root, cfg, book = day
    path = root / "live" / DAY / "quotes.csv"
    q = read_quotes(path)
    q["timestamp"] = q["timestamp"] + dt.timedelta(seconds=20)
    q["bid"] = q["bid"] - 0.01
    save_quotes(q, path)
    newer = path.read_bytes()
    res = press("validate", book, cfg)
    assert res.ok and "saved" not in res.message
    assert path.read_bytes() == newer
    vals = quotes_tab(book)
    assert vals[4][4] == "2025-10-30 13:39:50 UTC" and vals[4][1] == pytest.approx(q["bid"].iloc[0])


def test_typed_quotes_are_carried_over_until_a_button_saves_them(day):
    root, cfg, book = day
    rows = typed_quotes()[:2]
    paste(book, rows)
    before = (root / "live" / DAY / "quotes.csv").read_bytes()
    assert press("load_trades", book, cfg, day=DAY).ok  # does not read quotes: nothing saved
    assert (root / "live" / DAY / "quotes.csv").read_bytes() == before
    vals = quotes_tab(book)
    assert [r[:5] for r in vals[4:] if r and r[0]] == [
        ["PEP", 149.39, 149.41, 149.40, "2025-10-30 13:39:45 UTC"],
        ["KO", 68.58, 68.60, 68.59, "2025-10-30 13:39:45 UTC"],
    ]
    assert vals[1][0].startswith("2 quotes typed here, not saved yet")
    rows[1][2] = "n/a"  # a bad cell is carried over as typed, with the reason
    paste(book, rows)
    assert press("load_trades", book, cfg, day=DAY).ok
    vals = quotes_tab(book)
    assert vals[5][:3] == ["KO", 68.58, "n/a"]
    assert "cannot be used yet: Quotes tab, row 6, column 'ask'" in vals[1][0]


def test_no_quotes_csv_yet(tmp_path):
    cfg = setup_day(tmp_path)
    (tmp_path / "live" / DAY / "quotes.csv").unlink()
    book = tmp_path / "wb.xlsm"
    build_workbook(book)
    assert press("load_trades", book, cfg, day=DAY).ok
    vals = quotes_tab(book)
    assert vals[1][0].startswith(f"No live/{DAY}/quotes.csv yet")
    assert [r for r in vals[4:] if r and r[0]] == []
    res = press("validate", book, cfg)  # empty tab, no file: validated without quotes
    assert res.ok and not (tmp_path / "live" / DAY / "quotes.csv").exists()
    assert [c["status"] for c in checks_of(tmp_path) if c["check"] == "no_quote"] == ["warn"]
    paste(book, typed_quotes())
    assert press("validate", book, cfg).ok
    assert len(read_quotes(tmp_path / "live" / DAY / "quotes.csv")) == 10
    assert not [c for c in checks_of(tmp_path) if c["check"] == "no_quote" and c["status"] != "pass"]


def test_a_workbook_without_a_quotes_tab_still_works(day):
    root, cfg, book = day
    wb = openpyxl.load_workbook(book, keep_vba=True)
    del wb["Quotes"]
    wb.save(book)
    before = (root / "live" / DAY / "quotes.csv").read_bytes()
    assert press("validate", book, cfg).ok
    assert (root / "live" / DAY / "quotes.csv").read_bytes() == before
    assert len([r for r in quotes_tab(book)[4:] if r and r[0]]) == 25  # re-rendered with the tab


# --------------------------------------------------------------------------- Alpaca wins


def test_alpaca_market_data_wins_over_the_tab(day, monkeypatch):
    sys.path.insert(0, str(Path(__file__).parent))
    from fake_alpaca_data import FakeAlpacaData

    root, cfg, book = day
    monkeypatch.setenv("XLX_T_KEY", "PK_DATA_KEY_0000000001")
    monkeypatch.setenv("XLX_T_SECRET", "dataSECRETdataSECRET0000000001")
    paste(book, typed_quotes())
    with FakeAlpacaData({"PEP": (145.00, 145.10, 145.04)}, ts="2025-10-30T13:38:00Z") as fake:
        doc = yaml.safe_load(cfg.read_text())
        doc["execution"]["broker"] = "alpaca"
        doc["execution"]["alpaca"] = {
            "api_key": "${XLX_T_KEY}",
            "api_secret": "${XLX_T_SECRET}",
            "data_url": fake.url,
            "paper": True,
        }
        cfg.write_text(yaml.safe_dump(doc))
        res = press("validate", book, cfg)
    assert res.ok, res.message
    assert "saved" not in res.message
    saved = read_quotes(root / "live" / DAY / "quotes.csv")
    assert list(saved["symbol"]) == ["PEP"] and saved["mid"].iloc[0] == pytest.approx(145.05)
    vals = quotes_tab(book)
    assert vals[4][:5] == ["PEP", 145.0, 145.1, 145.04, "2025-10-30 13:38:00 UTC"]
    assert "Alpaca market data is configured" in vals[1][0]


# --------------------------------------------------------------------------- xlwings JSON Book


def test_pasted_quotes_on_the_xlwings_json_book(day):
    import xlwings as xw

    root, cfg, book = day
    ctx = ctx_at(cfg)
    try:
        render_workbook(ctx, DAY, book, inputs=Inputs(trade_date=DAY))
    finally:
        ctx.close()
    wb = CalamineWorkbook.from_path(str(book))
    sheets = []
    for name in wb.sheet_names:
        vals = wb.get_sheet_by_name(name).to_python(skip_empty_area=False) or [[""]]
        width = max(len(r) for r in vals)
        vals = [[("" if v is None else v) for v in r] + [""] * (width - len(r)) for r in vals]
        if name == "Quotes":
            for r in vals[4:]:
                r[:5] = [""] * 5
            for i, row in enumerate(typed_quotes()):
                vals[4 + i][:5] = row
        sheets.append({"name": name, "values": vals, "pictures": [], "tables": []})
    payload = {
        "client": "Microsoft Excel",
        "version": xw.__version__,
        "book": {"name": book.name, "active_sheet_index": 0, "selection": "A1"},
        "names": [],
        "sheets": sheets,
    }
    jb = xw.Book(json=payload)
    ctx = ctx_at(cfg)
    try:
        res = run_button("validate", jb, ctx=ctx)
    finally:
        ctx.close()
    assert res.ok, res.message
    saved = read_quotes(root / "live" / DAY / "quotes.csv").set_index("symbol")
    assert saved.loc["PEP", "mid"] == pytest.approx(149.40)
    pos = SHEETS.index("Quotes")
    writes = [a for a in jb.json()["actions"] if a["func"] == "setValues" and a["sheet_position"] == pos]
    table = [a for a in writes if a["start_row"] == 3 and a["start_column"] == 0]
    assert len(table) == 1 and table[0]["values"][0] == QUOTES_COLUMNS
    assert table[0]["values"][1] == ["PEP", 149.39, 149.41, 149.40, "2025-10-30 13:39:45 UTC"]
    side = [a for a in writes if a["start_row"] == 3 and a["start_column"] == 6]
    assert len(side) == 1 and parse_shown(side[0]["values"][0][1]) == quotes_digest(saved.reset_index())
    assert len(writes) <= 3


# --------------------------------------------------------------------------- the pure parts


def test_quotes_from_grid_reads_like_read_quotes():
    grid = [
        ["symbol", "bid", "ask", "last", "timestamp"],
        ["aapl", 150.0, 150.1, "150.05", dt.datetime(2025, 10, 30, 13, 31)],  # naive = UTC
        [None, None, None, None, None],  # blank row: skipped
        ["MSFT", "$380.40", 380.6, None, "2025-10-30 09:31:00-04:00"],
    ]
    q = quotes_from_grid(grid)
    assert list(q.index) == [5, 7]  # sheet rows
    assert list(q["symbol"]) == ["AAPL", "MSFT"]
    assert list(q["mid"]) == [pytest.approx(150.05), pytest.approx(380.50)]
    assert list(q["timestamp"]) == [dt.datetime(2025, 10, 30, 13, 31, tzinfo=dt.UTC)] * 2
    assert quotes_from_grid(grid[:1]) is None and quotes_from_grid([]) is None
    with pytest.raises(InputError) as e:
        quotes_from_grid([["symbol", "bid", "ask", "last"], ["AAPL", 1, 2, 3]])
    assert (e.value.file, e.value.row, e.value.column) == ("Quotes tab", 4, "timestamp")
    with pytest.raises(InputError) as e:
        quotes_from_grid([grid[0], ["AAPL", -1.0, 2, 3, None]])
    assert (e.value.row, e.value.column) == (5, "bid") and "negative" in e.value.message


def test_digest_ignores_order_and_spelling_but_not_prices():
    a = quotes_from_grid(
        [
            QUOTES_COLUMNS,
            ["AAPL", 150.1, 150.2, 150.15, "2025-10-30T13:31:00Z"],
            ["MSFT", 380, 381, None, "2025-10-30 13:31:00 UTC"],
        ]
    )
    b = quotes_from_grid(
        [
            QUOTES_COLUMNS,
            ["msft", "380.00", "381", "", "2025-10-30 09:31-04:00"],
            ["AAPL", "150.10", 150.2, 150.15, dt.datetime(2025, 10, 30, 13, 31)],
        ]
    )
    c = quotes_from_grid(
        [
            QUOTES_COLUMNS,
            ["AAPL", 150.11, 150.2, 150.15, "2025-10-30T13:31:00Z"],
            ["MSFT", 380, 381, None, "2025-10-30 13:31:00 UTC"],
        ]
    )
    assert quotes_digest(a) == quotes_digest(b) != quotes_digest(c)
    assert len(quotes_digest(a)) == 12


def test_time_texts():
    assert (
        utc_text(dt.datetime(2025, 10, 30, 9, 31, tzinfo=dt.timezone(dt.timedelta(hours=-4))))
        == "2025-10-30 13:31:00 UTC"
    )
    assert utc_text(dt.datetime(2025, 10, 30, 13, 31, 5, 250000)) == "2025-10-30 13:31:05.25 UTC"
    assert utc_text(None) == ""
    assert [age_text(x) for x in (45, 540, 7500, 3 * 86400, -600, float("nan"))] == [
        "45 s",
        "9 min",
        "2 h 05 min",
        "3 d 0 h",
        "10 min in the future",
        "no timestamp",
    ]
