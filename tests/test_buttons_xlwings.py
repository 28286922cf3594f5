"""The buttons on xlwings' JSON-backed Book (the xlwings Server/Lite path), checking the actions
they return: whole-range writes, one message box on error, inert text for outside input.

``XLWINGS_LICENSE_KEY=noncommercial`` is set by tests/conftest.py (tests only).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import xlwings as xw
from python_calamine import CalamineWorkbook

from xlexec.config import load_config
from xlexec.demo import sample
from xlexec.demo.run import write_demo_config
from xlexec.excel.build import CONTROL_CELLS, SHEETS, Inputs, build_workbook, parse_a1
from xlexec.excel.buttons import run_button
from xlexec.excel.render import render_workbook
from xlexec.steps.context import Context

DAY = "2025-10-30"
MORNING = dt.datetime(2025, 10, 30, 13, 40, tzinfo=dt.UTC)
CLOSE = dt.datetime(2025, 10, 30, 20, 5, tzinfo=dt.UTC)
POS = {name: i for i, name in enumerate(SHEETS)}


def _ctx(cfg: Path, when=MORNING) -> Context:
    return Context(load_config(cfg, cwd=cfg.parent), "jane", fixed_now=when)


def _payload(path: Path, control: dict[str, str] | None = None) -> dict:
    """What the xlwings JS client sends: every sheet's values."""
    wb = CalamineWorkbook.from_path(str(path))
    sheets = []
    for name in wb.sheet_names:
        vals = wb.get_sheet_by_name(name).to_python(skip_empty_area=False) or [[""]]
        width = max(len(r) for r in vals)
        vals = [[("" if v is None else v) for v in r] + [""] * (width - len(r)) for r in vals]
        if name == "Control":
            for key, value in (control or {}).items():
                r, c = parse_a1(CONTROL_CELLS[key])
                while len(vals) <= r:
                    vals.append([""] * width)
                vals[r][c] = value
        sheets.append({"name": name, "values": vals, "pictures": [], "tables": []})
    return {
        "client": "Microsoft Excel",
        "version": xw.__version__,
        "book": {"name": path.name, "active_sheet_index": 0, "selection": "A1"},
        "names": [],
        "sheets": sheets,
    }


@pytest.fixture
def day(tmp_path):
    s = sample.make_day(DAY)
    cfg = write_demo_config(tmp_path, s.cash)
    sample.write_day(s, tmp_path / "live")
    book = tmp_path / "view.xlsm"
    build_workbook(book)
    return tmp_path, cfg, book


def _refresh(cfg: Path, book: Path, when=MORNING) -> None:
    ctx = _ctx(cfg, when)
    try:
        render_workbook(ctx, DAY, book, inputs=Inputs(trade_date=DAY))
    finally:
        ctx.close()


def press(name: str, cfg: Path, book: Path, when=MORNING, control=None):
    _refresh(cfg, book, when)
    wb = xw.Book(json=_payload(book, {"trade_date": DAY, **(control or {})}))
    ctx = _ctx(cfg, when)
    try:
        res = run_button(name, wb, ctx=ctx)
    finally:
        ctx.close()
    return res, wb.json()["actions"]


def writes(actions, sheet: str) -> list[dict]:
    return [a for a in actions if a["func"] == "setValues" and a["sheet_position"] == POS[sheet]]


def test_validate_writes_whole_ranges(day):
    _root, cfg, book = day
    res, actions = press("validate", cfg, book)
    assert res.ok, res.message
    assert not [a for a in actions if a["func"] == "alert"]
    checks = writes(actions, "Checks")
    table = [a for a in checks if a["start_row"] == 3 and a["start_column"] == 0]
    assert len(table) == 1, "the Checks table is one write"
    assert table[0]["values"][0] == ["Check", "Status", "Symbol", "Value", "Limit", "Message"]
    assert table[0]["row_count"] == len(table[0]["values"]) > 20
    ctl = writes(actions, "Control")
    assert len(ctl) == 1 and ctl[0]["start_row"] == 3 and ctl[0]["start_column"] == 1 and ctl[0]["row_count"] == 18
    col = [r[0] for r in ctl[0]["values"]]
    assert col[parse_a1(CONTROL_CELLS["last_action"])[0] - 3] == "validate"
    assert col[parse_a1(CONTROL_CELLS["recommended"])[0] - 3].startswith("CONDITIONAL")
    log = [a for a in writes(actions, "Log") if a["start_row"] == 3]
    assert log[0]["values"][-1][1:4] == ["jane", "validate", "ok"]
    # blotter rows coloured from the worst check: the warned symbol says "warn"
    bl = [a for a in writes(actions, "Blotter") if a["start_row"] == 3][0]["values"]
    assert bl[0][0] == "Include" and {r[10] for r in bl[1:]} == {"pass", "warn"}
    # nothing is written cell by cell: every sheet gets a handful of block writes
    per_sheet = {}
    for a in actions:
        if a["func"] == "setValues":
            per_sheet[a["sheet_position"]] = per_sheet.get(a["sheet_position"], 0) + 1
    assert max(per_sheet.values()) <= 3


def test_error_is_one_message_box_without_traceback(day):
    _root, cfg, book = day
    res, actions = press("approve", cfg, book)
    assert res.result == "error"
    alerts = [a for a in actions if a["func"] == "alert"]
    assert len(alerts) == 1
    prompt, title, buttons = alerts[0]["args"][:3]
    assert "approver" in prompt and "Traceback" not in prompt and buttons == "ok"
    assert title == "xlexec: approve error"
    log = [a for a in writes(actions, "Log") if a["start_row"] == 3][0]["values"]
    assert log[-1][2:4] == ["approve", "error"]


def test_formula_injection_is_written_as_text(day):
    _root, cfg, book = day
    evil = '=HYPERLINK("http://x","y")'
    res, actions = press("approve", cfg, book, control={"approver": evil, "reason": "=cmd|' /C calc'!A0"})
    assert res.ok, res.message
    cells = [v for a in actions if a["func"] == "setValues" for r in a["values"] for v in r if isinstance(v, str)]
    assert not any(v.startswith(("=", "@", "+")) for v in cells), [v for v in cells if v[:1] in "=@+"]
    assert "'" + evil in cells or "''" + evil in cells


def test_live_account_is_refused_on_the_remote_client(day):
    import yaml

    root, cfg, book = day
    doc = yaml.safe_load(cfg.read_text())
    doc["execution"]["broker"] = "alpaca"
    doc["execution"]["alpaca"] = {"paper": False}
    cfg.write_text(yaml.safe_dump(doc))
    res, actions = press("submit", cfg, book)
    assert res.result == "refused" and "not confirmed" in res.message
    assert [a["func"] for a in actions].count("alert") == 1
    assert not (root / "live" / DAY / "execution_log.csv").exists()


def test_representative_day_on_json_books(day):
    root, cfg, book = day
    steps = [
        ("load_trades", MORNING, None),
        ("validate", MORNING, None),
        ("approve", MORNING, {"approver": "jane", "reason": "ok", "decision": "CONDITIONAL"}),
        ("convert", MORNING, {"convert_to": "alpaca"}),
        ("submit", MORNING, None),
        ("refresh_status", CLOSE, None),
        ("import_fills", CLOSE, None),
        ("reconcile", CLOSE, None),
        ("tca", CLOSE, None),
    ]
    expect_sheet = {
        "load_trades": "Blotter",
        "validate": "Checks",
        "approve": "Approvals",
        "submit": "Orders",
        "refresh_status": "Orders",
        "import_fills": "Fills",
        "reconcile": "Reconcile",
        "tca": "TCA",
    }
    for name, when, control in steps:
        res, actions = press(name, cfg, book, when, control)
        assert res.ok, (name, res.message)
        assert writes(actions, "Control") and writes(actions, "Log")
        if name in expect_sheet:
            assert writes(actions, expect_sheet[name]), name
    assert (root / "live" / DAY / "trades_alpaca.csv").exists() or any((root / "live" / DAY).glob("*alpaca*"))
    orders = [a for a in writes(actions, "TCA") if a["start_row"] == 3][0]["values"]
    assert orders[0] == ["Symbol", "Cost", "Cost (% of trade)"] and len(orders) > 5
    # the benchmark tables under the cost by symbol, in one write from the first title down
    # (as the headless writer lays them: a blank row, then the title over each table)
    first = 3 + len(orders) + 1  # header row 4 (0-based 3) and its rows, a blank row: the title
    extra = [a for a in writes(actions, "TCA") if a["start_row"] == first and a["start_column"] == 0]
    assert len(extra) == 1, [(a["start_row"], a["start_column"]) for a in writes(actions, "TCA")]
    block = [[v for v in r if v not in (None, "")] for r in extra[0]["values"]]
    assert block[0][0].startswith("Benchmarks: cost = side x (fill - benchmark) / benchmark, positive = cost")
    assert block[1] == ["Benchmark", "Cost", "Cost (bps, weighted)", "Cost (bps, plain mean)", "Orders",
                        "Orders without it"]  # fmt: skip
    assert [r[0] for r in block[2:8]] == ["signal", "arrival", "interval VWAP", "TWAP", "day VWAP", "close"]
    titles = [r[0] for r in block if r and isinstance(r[0], str) and r[0].startswith(("Per order", "Distribution"))]
    assert len(titles) == 2  # the per-order benchmarks and the histogram follow in the same write
    fmts = {
        (a["start_row"], a["start_column"]): a["args"]
        for a in actions
        if a["func"] == "setNumberFormat" and a["sheet_position"] == POS["TCA"]
    }
    assert fmts[first + 2, 2] == ['#,##0.00" bps"'] and fmts[first + 2, 1] == ["$#,##0.00;[Red]-$#,##0.00"]


def test_live_press_keeps_the_operators_columns_right_of_a_report(day):
    """In live Excel a press clears a report's stale rows before writing it: within xlexec's
    columns only, so a note the operator keeps in column AE of the Checks tab is not cleared."""
    _root, cfg, book = day
    _refresh(cfg, book)
    payload = _payload(book, {"trade_date": DAY})
    sheet = next(s for s in payload["sheets"] if s["name"] == "Checks")
    vals = sheet["values"]
    while len(vals) < 40:
        vals.append([""] * len(vals[0]))
    note_col = 30  # AE, 0-based
    for r in vals:
        r.extend([""] * (note_col + 1 - len(r)))
    vals[9][note_col] = "my note: call the PM"
    wb = xw.Book(json=payload)
    ctx = _ctx(cfg)
    try:
        res = run_button("validate", wb, ctx=ctx)
    finally:
        ctx.close()
    assert res.ok, res.message
    actions = wb.json()["actions"]
    clears = [a for a in actions if a["func"] == "rangeClearContents" and a["sheet_position"] == POS["Checks"]]
    assert clears, "the stale rows are cleared"
    for a in clears:
        covers_row = a["start_row"] <= 9 < a["start_row"] + a["row_count"]
        covers_col = a["start_column"] <= note_col < a["start_column"] + a["column_count"]
        assert not (covers_row and covers_col), a
    written = [
        a for a in writes(actions, "Checks") if a["start_column"] <= note_col < a["start_column"] + len(a["values"][0])
    ]
    assert not written, "nothing is written over the operator's column"
