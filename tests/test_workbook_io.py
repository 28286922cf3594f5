"""Workbook I/O at size: the generated sheet XML of big blocks (Fills, long Tables) against the
cell-by-cell XlsxWriter writer, the vectorised read of a pasted block, and a hostile round trip.

``write_workbook(..., fast=False)`` writes every cell through XlsxWriter's API; the default
(fast) path generates the rows of the Fills block and of every Table as XML. Both must give
the same cells: value, type, number format, lock, bold, quote prefix.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import zipfile
from pathlib import Path

import numpy as np
import openpyxl
import pytest
from python_calamine import CalamineWorkbook

from xlexec.excel.book import FileBook, normalise_block
from xlexec.excel.build import (
    BUTTONS,
    FILLS_PASTE_ROW,
    SHEETS,
    SheetData,
    Table,
    fast_writer_available,
    load_macros,
    write_workbook,
)
from xlexec.excel.render import _rows, empty_book_data

DAY = "2025-10-30"
HYPERLINK = '=HYPERLINK("http://x","y")'
HOSTILE = [
    HYPERLINK,
    "@SUM(1+1)",
    "&<>\"'",
    "+CMD|' /C calc'!A0",
    "-2+3",
    "-5",
    "\tTAB",
    "\rCR",
    "Zürich 株式 ✓ 😀",
    "<r>rich & </x></r>",
    "_x0041_ literal",
    " lead",
    "trail ",
    "line1\nline2",
    "ctrl\x01char",
    "=1+1",
    "-",
    "+",
    "@",
    "=",
    "x" * 33_000,
]


def fills_block(n: int, seed: int = 11) -> list[list]:
    """Header + ``n`` rows: canonical fills with hostile text sprinkled over the text columns,
    negative and fractional numbers, a few empty cells."""
    rng = np.random.default_rng(seed)
    rows: list[list] = [
        ["date", "symbol", "side", "shares", "price", "commission", "fill_time", "order_id", "client_order_id"]
    ]
    for i in range(n):
        shares = float(rng.integers(-500, 2_000))
        price = round(float(np.exp(rng.normal(4.0, 1.0))), 4)
        comm = round(abs(shares) * 0.005, 2)
        sym = HOSTILE[(i // 7) % len(HOSTILE)] if i % 7 == 0 else f"S{i % 97:03d}"
        oid = HOSTILE[(i // 5 + 3) % len(HOSTILE)] if i % 5 == 0 else f"ord-{i}"
        rows.append(
            [
                DAY,
                sym,
                "buy" if i % 2 else "sell",
                shares,
                -price if i % 11 == 0 else price,
                None if i % 13 == 0 else comm,
                f"{DAY}T14:{i % 60:02d}:00Z",
                oid,
                "" if i % 17 == 0 else f"xlx-{DAY}-{i}",
            ]
        )
    return rows


def expected_block(block: list[list]) -> list[list]:
    """What reading the block back must give: empty -> None, text cut at 32,000 characters."""
    out = [[None if v in (None, "") else (v[:32_000] if isinstance(v, str) else v) for v in r] for r in block]
    width = max(max((j + 1 for j, v in enumerate(r) if v is not None), default=0) for r in out)
    return [r[:width] + [None] * (width - len(r)) for r in out]


def big_book(n: int):
    """The template book with a pasted block, a long Orders table and a Reconcile table with a
    side block next to it (rows shared with the table)."""
    data = empty_book_data(DAY)
    data.fills_block = fills_block(n)
    data.fills_note = "Pasted block not imported yet: press Import Fills."
    orders = data.sheets["Orders"]
    cols = orders.table.columns
    orows = []
    for i in range(n):
        rec = {
            "symbol": HOSTILE[(i // 9) % len(HOSTILE)] if i % 9 == 0 else f"S{i:04d}",
            "side": "buy",
            "qty": float(100 + i),
            "order_type": "limit",
            "limit_price": None if i % 4 == 0 else 10.0 + i / 8,
            "status": ["filled", "rejected", "refused", "unknown"][i % 4],
            "filled_qty": i % 3,
            "filled_avg_price": 10.125,
            "remaining": -1.5 * (i % 3),
            "reason": "" if i % 2 else "=cmd",
            "submitted_at": f"{DAY}T13:{i % 60:02d}:00Z",
            "updated_at": None,
            "client_order_id": f"xlx-{i}",
        }
        orows.append([rec.get(c) for c in cols])
    orders.table = Table(
        "tblOrders",
        cols,
        orows,
        status_col="status",
        bad_values={"rejected": "fail", "refused": "fail", "unknown": "warn"},
    )
    rec = SheetData(
        "Reconciliation — " + DAY,
        "summary",
        Table(
            "tblReconcile",
            ["symbol", "side", "planned", "executed", "status", "flag"],
            [
                [
                    f"S{i}",
                    "sell",
                    10.0 * i,
                    bool(i % 2),
                    "partial" if i % 3 else "ok",
                    dt.date(2025, 10, 30) if i == 1 else np.float64(i / 3),
                ]
                for i in range(n)
            ],
            status_col="status",
            bad_values={"partial": "warn"},
        ),
    )
    rec.side = [["trades_recommended", 10], ["slippage_bps_avg", 1.25], ["note", "@risk"], [""], ["report line"]]
    rec.side_title = "Summary"
    data.sheets["Reconcile"] = rec
    # Monthly: two Tables side by side in the same rows (plus the report text further right)
    mon = data.sheets["Monthly"]
    mon.table.rows = [
        [f"2025-10-{d:02d}", 1e6 + d, 12.5, -3.25 if d % 2 else 4.0, 9.25, 0.05, 2.5e7, "paper", d]
        for d in range(1, 24)
    ]
    mon.side, mon.side_title = [[f"report line {i}"] for i in range(30)] + [["=not a formula"]], "Report"
    data.monthly_months.rows = [[f"2025-{m:02d}", 0.01 * m, -0.001, 0.0005, 0.0095] for m in (8, 9, 10)]
    blot = data.sheets["Blotter"]
    blot.table.rows = [
        [
            "Y" if i % 2 else "N",
            f"S{i}",
            "buy",
            100.0,
            10.5,
            None if i % 3 else 10.4,
            "limit",
            1050.0,
            0.01,
            1.05,
            "warn" if i % 5 == 0 else "pass",
            HYPERLINK if i == 2 else "",
        ]
        for i in range(n)
    ]
    return data


def cells(path: Path) -> dict[str, dict[tuple[int, int], tuple]]:
    """Every non-empty or styled cell of every sheet: value, type, number format, lock, bold,
    quote prefix, fill colour."""
    wb = openpyxl.load_workbook(path)
    out = {}
    for ws in wb.worksheets:
        got = {}
        for row in ws.iter_rows():
            for c in row:
                if c.value is None and not c.has_style:
                    continue
                got[(c.row, c.column)] = (
                    c.value,
                    c.data_type,
                    c.number_format,
                    c.protection.locked,
                    c.font.b,
                    c.quotePrefix,
                    c.fill.fgColor.rgb,
                )
        out[ws.title] = got
    return out


def sheet_features(path: Path) -> dict:
    wb = openpyxl.load_workbook(path)
    feats = {}
    for ws in wb.worksheets:
        feats[ws.title] = {
            "tables": {t.name: t.ref for t in ws.tables.values()},
            "cf": sorted(
                (str(rng.sqref), tuple(r.formula or ())) for rng in ws.conditional_formatting for r in rng.rules
            ),
            "dv": sorted((str(dv.sqref), dv.type, dv.formula1) for dv in ws.data_validations.dataValidation),
            "freeze": ws.freeze_panes,
            "print": ws.print_area,
            "protected": ws.protection.sheet,
            "dims": ws.dimensions,
            "unlocked_rows": sorted(
                r
                for r, d in ws.row_dimensions.items()
                if d.customFormat and not wb._protections[d._style.protectionId].locked
            ),
        }
    return feats


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """The same big book written by the fast path and by the cell-by-cell writer."""
    assert fast_writer_available()
    d = tmp_path_factory.mktemp("io")
    data = big_book(600)
    fast = write_workbook(d / "fast.xlsx", data, vba=False)
    slow = write_workbook(d / "slow.xlsx", data, vba=False, fast=False)
    return fast, slow


def test_fast_writer_gives_the_same_cells_as_the_cell_by_cell_writer(pair):
    fast, slow = pair
    a, b = cells(fast), cells(slow)
    assert list(a) == SHEETS
    for name in SHEETS:
        assert a[name].keys() == b[name].keys(), name
        for key, got in a[name].items():
            want = b[name][key]
            if isinstance(want[0], float):
                # XlsxWriter writes 16 significant digits, the fast path the exact double
                assert got[0] == pytest.approx(want[0], rel=1e-15, abs=0.0), (name, key)
                got, want = got[1:], want[1:]
            assert got == want, (name, key, got, want)
    assert len(a["Fills"]) > 600 * 8 and len(a["Orders"]) > 600 * 10 and len(a["Reconcile"]) > 600 * 6


def test_fast_writer_keeps_tables_formats_validation_and_layout(pair):
    fast, slow = pair
    assert sheet_features(fast) == sheet_features(slow)
    feats = sheet_features(fast)
    assert feats["Orders"]["tables"] == {"tblOrders": "A4:M604"}
    assert feats["Reconcile"]["tables"] == {"tblReconcile": "A4:F604"}
    assert any('="rejected"' in f[0] for _r, f in feats["Orders"]["cf"])
    with zipfile.ZipFile(fast) as z:  # 601 block rows from A4 + 200 formatted rows, 40 columns
        assert '<dimension ref="A1:AN804"/>' in z.read("xl/worksheets/sheet6.xml").decode()
    # the paste area: every row down to the last formatted one is unlocked through its row format
    wb = openpyxl.load_workbook(fast)
    fills = wb["Fills"]
    row = fills.row_dimensions[804]
    assert not wb._protections[row._style.protectionId].locked
    assert fills["A4"].font.b and not fills["A5"].font.b and not fills["A5"].protection.locked


def test_no_formula_is_ever_written_and_outside_text_gets_the_quote_prefix(pair):
    fast, _slow = pair
    with zipfile.ZipFile(fast) as z:
        sheets = {n: z.read(n).decode() for n in z.namelist() if n.startswith("xl/worksheets/sheet")}
        shared = z.read("xl/sharedStrings.xml").decode()
    for name, xml in sheets.items():
        assert "<f>" not in xml and "<f " not in xml, name
        assert "HYPERLINK" not in xml, name  # text lives in the shared strings, never in a cell
    assert '<t>=HYPERLINK("http://x","y")</t>' in shared
    assert "<t>&amp;&lt;&gt;\"'</t>" in shared
    assert '<r><t xml:space="preserve">&lt;r&gt;rich &amp; &lt;/x&gt;&lt;/r&gt;</t></r>' in shared
    ws = openpyxl.load_workbook(fast)["Fills"]
    by_value = {c.value: c for row in ws.iter_rows(min_row=FILLS_PASTE_ROW + 2) for c in row if c.value is not None}
    for text in (HYPERLINK, "@SUM(1+1)", "+CMD|' /C calc'!A0", "=1+1", "\tTAB", "-2+3"):
        assert by_value[text].data_type == "s" and by_value[text].quotePrefix, text
    for text in ("-5", "Zürich 株式 ✓ 😀", "&<>\"'"):  # a number as text is no formula
        assert by_value[text].data_type == "s" and not by_value[text].quotePrefix, text


def test_shared_strings_are_written_byte_for_byte_as_xlsxwriter_writes_them():
    import io

    from xlsxwriter.sharedstrings import SharedStrings, SharedStringTable

    from xlexec.excel.build import _fast_sst_strings, shared_text

    strings = [f"s{i}" for i in range(10_000)] + HOSTILE + ["", "a\tb", "x\ny", "ünï", shared_text("<r>x</r>")]
    strings += [f"tail{i}" for i in range(5_000)]
    out = []
    for fast in (False, True):
        table = SharedStringTable()
        for s in strings:
            table._get_shared_string_index(s)
        table._sort_string_data()
        w = SharedStrings()
        w.string_table = table
        w.fh = io.StringIO()
        (_fast_sst_strings if fast else SharedStrings._write_sst_strings)(w)
        out.append(w.fh.getvalue())
    assert out[0] == out[1]
    assert out[0].count("<si>") == len(set(strings))


def test_hostile_1000_row_block_round_trips(tmp_path):
    block = fills_block(1_000)
    data = empty_book_data(DAY)
    data.fills_block = block
    book = write_workbook(tmp_path / "day.xlsx", data, vba=False)
    got = FileBook(book).inputs().fills_block
    want = expected_block(block)
    assert len(got) == 1_001 and got == want
    numbers = [r[3] for r in got[1:]] + [r[4] for r in got[1:]]
    assert all(type(v) is float for v in numbers)  # numbers stay numbers
    assert min(numbers) < 0
    assert any(HYPERLINK in r for r in got) and any("ctrl\x01char" in r for r in got)
    # openpyxl reads the same block (it shows control characters as their _xHHHH_ escape)
    ws = openpyxl.load_workbook(book)["Fills"]
    via_openpyxl = [
        list(r)
        for r in ws.iter_rows(min_row=FILLS_PASTE_ROW + 1, max_row=FILLS_PASTE_ROW + 1_001, max_col=9, values_only=True)
    ]
    assert via_openpyxl == [
        [v.replace("\x01", "_x0001_").replace("\r", "_x000D_") if isinstance(v, str) else v for v in r] for r in want
    ]
    # and a re-render with the block carried over gives the same block again
    data2 = empty_book_data(DAY)
    data2.fills_block = got
    again = write_workbook(tmp_path / "again.xlsx", data2, vba=False)
    assert FileBook(again).inputs().fills_block == want


def test_xlsm_with_a_big_block_keeps_the_vba_project_and_the_buttons(tmp_path):
    from oletools.olevba import VBA_Parser

    data = empty_book_data(DAY)
    data.fills_block = fills_block(2_000)
    book = write_workbook(tmp_path / "day.xlsm", data)
    parser = VBA_Parser(str(book))
    try:
        modules = {Path(name).stem for _f, _s, name, _code in parser.extract_macros()}
    finally:
        parser.close()
    assert set(load_macros()) <= modules
    with zipfile.ZipFile(book) as z:
        vml = "".join(z.read(n).decode() for n in z.namelist() if n.endswith(".vml"))
    wired = re.findall(r"<x:FmlaMacro>\[0\]!([A-Za-z0-9_]+)</x:FmlaMacro>", vml)
    assert wired == [s for _c, _f, s in BUTTONS if s != "CancelAll_Click"] + ["CancelAll_Click"]
    assert len(FileBook(book).inputs().fills_block) == 2_001


def test_normalise_block_by_hand():
    rows = [
        ["", "", "", "", ""],  # a blank line above the header stays
        ["symbol", "shares", "price", "when", ""],
        ["AAPL", 100.0, float("nan"), dt.datetime(2025, 10, 30, 14, 30), ""],
        ["MSFT", np.float64(5.5), math.inf, dt.date(2025, 10, 30), ""],
        ["  ", -math.inf, 1.25, None, ""],
        ["", "", "", "", ""],  # trailing blank rows go
        [None, None, None, None, None],
    ]
    before = [list(r) for r in rows]
    assert normalise_block(rows) == [
        [None, None, None, None],
        ["symbol", "shares", "price", "when"],
        ["AAPL", 100.0, None, "2025-10-30T14:30:00"],
        ["MSFT", 5.5, None, "2025-10-30"],
        ["  ", None, 1.25, None],
    ]
    assert rows == before  # not modified (the same NaN objects: equal by identity)
    assert type(normalise_block(rows)[3][1]) is float
    # ragged rows, wider than the paste area, booleans kept
    assert normalise_block([["a"], ["b", 1.0, True], []], max_cols=2) == [["a", None], ["b", 1.0]]
    assert normalise_block([["", None], [float("nan")]]) == []
    assert normalise_block([]) == []
    # in place: the same row lists come back
    own = [["x", ""], ["", 2.0]]
    first = own[0]
    out = normalise_block(own, inplace=True)
    assert out == [["x", None], [None, 2.0]] and out[0] is first


def test_render_rows_are_python_values():
    import pandas as pd

    df = pd.DataFrame({"f": [1.5, np.nan], "i": [1, 2], "s": ["a", None], "b": [True, False], "o": [np.int64(3), "x"]})
    got = _rows(df, ["s", "f", "missing", "o", "i", "b"])
    assert got == [["a", 1.5, None, 3, 1, True], [None, None, None, "x", 2, False]]
    assert [type(v) for v in got[0]] == [str, float, type(None), int, int, bool]
    assert _rows(df.iloc[:0]) == []


@pytest.mark.slow
@pytest.mark.skipif(
    __import__("xlexec.vba.project", fromlist=["x"]).find_soffice() is None,
    reason="LibreOffice (soffice) is not installed",
)
def test_libreoffice_opens_a_big_block_and_saves_it_back_unchanged(tmp_path):
    """LibreOffice loads the generated rows (and runs the VBA self-test, which saves the file):
    the Fills block it saves is the block we wrote."""
    from xlexec.vba.project import run_macro_libreoffice

    block = fills_block(1_000)
    data = empty_book_data(DAY)
    data.fills_block = block
    # without xlwings' Dictionary class, which LibreOffice Basic cannot compile (see
    # test_workbook_build.test_libreoffice_runs_the_self_test_sub)
    book = write_workbook(tmp_path / "lo.xlsm", data, macros=load_macros())
    run_macro_libreoffice(book, "SelfTest.XlexecSelfTestAndClose", timeout=180)
    wb = CalamineWorkbook.from_path(str(book))
    assert wb.get_sheet_by_name("Control").to_python(skip_empty_area=False)[1][7] == "XLEXEC_WORKBOOK_SELFTEST_OK"
    rows = wb.get_sheet_by_name("Fills").to_python(skip_empty_area=False)[FILLS_PASTE_ROW:]
    assert normalise_block(rows) == expected_block(block)


def test_a_blotter_limit_that_is_no_price_names_its_row():
    from xlexec.errors import InputError
    from xlexec.excel.book import inputs_from_grids
    from xlexec.excel.build import BLOTTER_COLUMNS

    head = list(BLOTTER_COLUMNS)

    def row(limit):
        r = [None] * len(head)
        r[head.index("Include")], r[head.index("Symbol")], r[head.index("Side")] = "Y", "AAPL", "buy"
        r[head.index("Limit")] = limit
        return r

    def limit(value):
        return inputs_from_grids([], [head, row(value)], []).blotter[("AAPL", "buy")]["limit"]

    assert limit("$1,234.50") == 1234.5 and limit(12.5) == 12.5 and limit(None) is None and limit("") is None
    for junk in ("abc", "-5", "0", "1e400", "nan", -1.0):
        with pytest.raises(InputError) as e:
            inputs_from_grids([], [head, row(1.0), row(junk)], [])
        assert e.value.row == 6 and e.value.column == "Limit" and e.value.file == "Blotter", junk


def test_the_collector_is_paused_while_a_book_is_read_and_left_as_it_was(tmp_path, monkeypatch):
    """read_book_file pauses Python's cyclic garbage collector while calamine's cells are built
    (a pass over them frees nothing) and gives it back as it found it: on, off, or after a
    refusal."""
    import gc

    from xlexec.errors import InputError
    from xlexec.excel import reader

    seen: list[bool] = []
    real = reader._read_book_file

    def spy(path):
        seen.append(gc.isenabled())
        return real(path)

    monkeypatch.setattr(reader, "_read_book_file", spy)
    book = tmp_path / "b.xlsx"
    book.write_bytes(b"not a zip at all")
    was = gc.isenabled()
    try:
        gc.enable()
        with pytest.raises(InputError):
            reader.read_book_file(book)  # calamine cannot open it: refused, the collector back on
        assert gc.isenabled()
        gc.disable()
        with pytest.raises(InputError):
            reader.read_book_file(book)
        assert not gc.isenabled()  # it was off: left off
    finally:
        gc.enable() if was else gc.disable()
    assert seen == [False, False]
