"""Every workbook button in headless file mode (``xlexec button NAME --book FILE``).

A real workbook file is built, a full paper trading day is driven through the buttons only, and
the files under live/ come out the same as ``xlexec demo``'s. Saving never loses the operator's
inputs, the VBA project or the buttons; a failed step leaves the file byte-for-byte as it was;
outside text lands as inert text.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest
from python_calamine import CalamineWorkbook

from xlexec.demo import sample
from xlexec.demo.run import write_demo_config
from xlexec.excel.build import BUTTONS, CONTROL_CELLS, build_workbook, load_macros
from xlexec.excel.buttons import BUTTON_FUNCTIONS, run_button
from xlexec.steps.context import Context
from xlexec.vba.project import macro_names

DAY = "2025-10-30"
MORNING = dt.datetime(2025, 10, 30, 13, 40, tzinfo=dt.UTC)  # 09:40 New York
CLOSE = dt.datetime(2025, 10, 30, 20, 5, tzinfo=dt.UTC)  # 16:05 New York
HYPERLINK = '=HYPERLINK("http://x","y")'


def setup_day(root: Path, base: dict | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    s = sample.make_day(DAY)
    cfg = write_demo_config(root, s.cash, base)
    sample.write_day(s, root / "live")
    return cfg


def ctx_at(cfg_path: Path, when: dt.datetime, user: str = "demo") -> Context:
    from xlexec.config import load_config

    return Context(load_config(cfg_path, cwd=cfg_path.parent), user, fixed_now=when)


def press(name: str, book: Path, cfg: Path, when=MORNING, **kw):
    ctx = ctx_at(cfg, when)
    try:
        return run_button(name, book, ctx=ctx, **kw)
    finally:
        ctx.close()


def sheet_values(book: Path, name: str) -> list[list]:
    return CalamineWorkbook.from_path(str(book)).get_sheet_by_name(name).to_python(skip_empty_area=False)


def cell(book: Path, sheet: str, ref: str):
    ws = openpyxl.load_workbook(book, read_only=False)[sheet]
    return ws[ref].value


def vba_modules(book: Path) -> dict[str, str]:
    from oletools.olevba import VBA_Parser

    vp = VBA_Parser(str(book))
    try:
        return {Path(name).stem: code for _f, _s, name, code in vp.extract_macros()}
    finally:
        vp.close()


def button_macros(book: Path) -> list[str]:
    with zipfile.ZipFile(book) as z:
        vml = "".join(z.read(n).decode("utf-8", "replace") for n in z.namelist() if n.endswith(".vml"))
    return re.findall(r"<x:FmlaMacro>\[0\]!([A-Za-z0-9_]+)</x:FmlaMacro>", vml)


def assert_intact(book: Path) -> None:
    """VBA project with every macros/*.bas module, and every button wired to an existing Sub."""
    mods = vba_modules(book)
    for name in load_macros():
        assert name in mods, f"module {name} lost"
    subs = set(macro_names(load_macros()))
    wired = button_macros(book)
    assert sorted(wired) == sorted(sub for _c, _f, sub in BUTTONS)
    assert set(wired) <= subs


DEMO_DAY = [
    "load_trades",
    "validate",
    "approve",
    "convert",
    "submit",
    "refresh_status",
    "import_fills",
    "reconcile",
    "accept_positions",
    "tca",
    "monthly_report",
]


@pytest.fixture(scope="module")
def headless_day(tmp_path_factory):
    root = tmp_path_factory.mktemp("headless")
    cfg = setup_day(root)
    book = root / "xlexec.xlsm"
    build_workbook(book)
    results = {}
    sets = {
        "approve": {
            "approver": "demo",
            "reason": "demo day: validation recommends CONDITIONAL",
            "decision": "CONDITIONAL",
        }
    }
    for name in DEMO_DAY:
        when = MORNING if name in ("load_trades", "validate", "approve", "convert", "submit") else CLOSE
        results[name] = press(
            name, book, cfg, when, day=DAY if name == "load_trades" else None, set_inputs=sets.get(name)
        )
    return root, cfg, book, results


def test_every_button_has_a_function_and_a_sub():
    subs = set(macro_names(load_macros()))
    for caption, fn, sub in BUTTONS:
        assert fn in BUTTON_FUNCTIONS, caption
        assert sub in subs, f"{sub} missing from macros/*.bas"
    src = load_macros()["Buttons"]
    for _c, fn, sub in BUTTONS:
        assert re.search(rf'Sub {sub}\(\)\s*\r?\n(?:.*\n)*?\s*Press "{fn}\((?:live=True)?\)"', src)
    assert re.search(r'RunPython "import xlexec\.excel\.buttons as b; b\." & pyCall', src)


def test_headless_day_every_step_ok(headless_day):
    _root, _cfg, book, results = headless_day
    for name, res in results.items():
        assert res.result == "ok", (name, res.message)
    assert results["submit"].data["sent"] == 10
    # 8 of the 10 fully filled, one partly, one not at all (counted apart, never "9/10 executed")
    assert re.match(
        r"Fully executed 8, partially 1 \([A-Z]+ \d+/\d+\), not executed 1 of 10, ", results["reconcile"].message
    )
    # the file shows the system of record
    blotter = sheet_values(book, "Blotter")
    assert blotter[3][:3] == ["Include", "Symbol", "Side"]
    assert len([r for r in blotter[4:] if r and r[1]]) == 10
    orders = sheet_values(book, "Orders")
    assert orders[3][0] == "Symbol" and len([r for r in orders[4:] if r and r[0]]) == 10
    log = [r for r in sheet_values(book, "Log")[4:] if r and r[0]]
    assert [r[2] for r in log] == DEMO_DAY and all(r[3] == "ok" for r in log) and log[0][1] == "demo"
    assert cell(book, "Control", CONTROL_CELLS["last_action"]) == "monthly_report"
    assert_intact(book)


@pytest.mark.slow
def test_headless_day_same_files_as_demo(headless_day, tmp_path):
    from xlexec.demo.run import run_demo

    root, _cfg, _book, _res = headless_day
    demo = tmp_path / "demo"
    run_demo(demo, DAY, echo=lambda *a: None, build_workbook=False)
    a_live, b_live = root / "live", demo / "live"
    skip = {"journal.sqlite", "journal.sqlite-wal", "journal.sqlite-shm"}
    a_files = {p.relative_to(a_live) for p in a_live.rglob("*") if p.is_file() and p.name not in skip}
    b_files = {p.relative_to(b_live) for p in b_live.rglob("*") if p.is_file() and p.name not in skip}
    assert a_files == b_files
    for rel in sorted(a_files):
        ta = (a_live / rel).read_bytes().replace(str(root).encode(), b"<ROOT>")
        tb = (b_live / rel).read_bytes().replace(str(demo).encode(), b"<ROOT>")
        assert ta == tb, rel


def test_inputs_vba_and_buttons_survive_a_save(tmp_path):
    cfg = setup_day(tmp_path)
    book = tmp_path / "wb.xlsm"
    build_workbook(book)
    assert press("load_trades", book, cfg, day=DAY).ok
    # the operator types: excludes the first trade, changes a limit, fills approver and reason
    wb = openpyxl.load_workbook(book, keep_vba=True)
    ws = wb["Blotter"]
    first_sym = ws["B5"].value
    ws["A5"] = "N"
    ws["F7"] = 12.34  # the third trade: a limit order (the second is a market order)
    limit_sym = ws["B7"].value
    wb["Control"][CONTROL_CELLS["approver"]] = "Jane Operator"
    wb["Control"][CONTROL_CELLS["reason"]] = "checked by hand"
    wb.save(book)  # openpyxl keeps the VBA (keep_vba) but drops the form buttons
    res = press("validate", book, cfg)
    assert res.ok, res.message
    rows = sheet_values(book, "Blotter")
    by_sym = {r[1]: r for r in rows[4:] if r and r[1]}
    assert by_sym[first_sym][0] == "N"
    assert by_sym[limit_sym][5] == pytest.approx(12.34)
    assert cell(book, "Control", CONTROL_CELLS["approver"]) == "Jane Operator"
    assert cell(book, "Control", CONTROL_CELLS["reason"]) == "checked by hand"
    assert_intact(book)  # re-rendered: the buttons are back
    # the edits are what was validated: trades.csv carries them, the model's file is kept
    dd = tmp_path / "live" / DAY
    from xlexec.formats.trades import read_trades

    t = read_trades(dd / "trades.csv", strict=False)
    assert t.df.set_index("symbol").loc[first_sym, "include"] == "N"
    assert t.df.set_index("symbol").loc[limit_sym, "limit_price"] == pytest.approx(12.34)
    assert (dd / "trades.model.csv").exists()
    assert "include" not in read_trades(dd / "trades.model.csv").df.columns


def test_failed_step_leaves_the_file_as_it_was(tmp_path):
    cfg = setup_day(tmp_path)
    book = tmp_path / "wb.xlsm"
    build_workbook(book)
    assert press("load_trades", book, cfg, day=DAY).ok
    before = hashlib.sha256(book.read_bytes()).hexdigest()
    res = press("approve", book, cfg)  # no approver typed
    assert res.result == "error" and res.exit_code == 2
    assert "approver" in res.message and "Traceback" not in res.message
    assert hashlib.sha256(book.read_bytes()).hexdigest() == before
    res = press("reconcile", book, cfg)  # no fills yet
    assert res.result == "refused" and "Import Fills" in res.message
    assert hashlib.sha256(book.read_bytes()).hexdigest() == before
    # the refusals are in the journal, so the next successful render shows them in the Log
    assert press("validate", book, cfg).ok
    log = [r for r in sheet_values(book, "Log")[4:] if r and r[0]]
    assert [r[2:4] for r in log] == [
        ["load_trades", "ok"],
        ["approve", "error"],
        ["reconcile", "refused"],
        ["validate", "ok"],
    ]


def test_formula_injection_lands_as_inert_text(tmp_path):
    cfg = setup_day(tmp_path)
    book = tmp_path / "wb.xlsm"
    build_workbook(book)
    assert press("load_trades", book, cfg, day=DAY).ok
    res = press("approve", book, cfg, set_inputs={"approver": HYPERLINK, "reason": "@SUM(1+1)"})
    assert res.ok, res.message
    with zipfile.ZipFile(book) as z:
        sheets = {n: z.read(n).decode() for n in z.namelist() if n.startswith("xl/worksheets/sheet")}
        shared = z.read("xl/sharedStrings.xml").decode()
        styles = z.read("xl/styles.xml").decode()
    assert not any("HYPERLINK" in x for x in sheets.values()), "a formula was written"
    assert re.search(r'<t>=HYPERLINK\((&quot;|")http://x(&quot;|"),(&quot;|")y(&quot;|")\)</t>', shared)
    assert 'quotePrefix="1"' in styles
    wb = openpyxl.load_workbook(book)
    c = wb["Control"][CONTROL_CELLS["approver"]]
    assert c.data_type == "s" and c.value == HYPERLINK and c.quotePrefix
    approvals = [r for r in sheet_values(book, "Approvals")[4:] if r and r[0]]
    assert approvals[-1][3].lstrip("'") == HYPERLINK
    # it round-trips as the same text (inputs are carried over)
    assert press("validate", book, cfg).ok
    assert cell(book, "Control", CONTROL_CELLS["approver"]) == HYPERLINK


def test_pasted_fills_block_is_imported(tmp_path):
    cfg = setup_day(tmp_path)
    book = tmp_path / "wb.xlsm"
    build_workbook(book)
    assert press("load_trades", book, cfg, day=DAY).ok
    wb = openpyxl.load_workbook(book, keep_vba=True)
    ws = wb["Fills"]
    block = [
        ["Symbol", "Side", "Shares", "Price", "Commission", "Date"],
        ["PEP", "SELL", 30, 145.05, 0.44, DAY],
        ["KO", "SELL", 64, "68.91", 0.44, DAY],
    ]
    for i, row in enumerate(block):
        for j, v in enumerate(row):
            ws.cell(row=4 + i, column=1 + j, value=v)
    wb.save(book)
    res = press("import_fills", book, cfg, CLOSE)
    assert res.ok, res.message
    text = (tmp_path / "live" / DAY / "broker_fills.csv").read_text()
    lines = text.splitlines()
    assert lines[0].startswith("date,symbol,side,shares,price,commission")
    assert lines[1].startswith(f"{DAY},PEP,sell,30,145.05,0.44")
    assert lines[2].startswith(f"{DAY},KO,sell,64,68.91,0.44")
    fills_tab = sheet_values(book, "Fills")
    assert fills_tab[3][:3] == ["date", "symbol", "side"]  # now shows the imported file
    assert "Imported: 2 fills" in fills_tab[2][0]


def test_bad_pasted_block_names_row_and_column(tmp_path):
    cfg = setup_day(tmp_path)
    book = tmp_path / "wb.xlsm"
    build_workbook(book)
    wb = openpyxl.load_workbook(book, keep_vba=True)
    ws = wb["Fills"]
    for j, v in enumerate(["symbol", "side", "shares", "price"]):
        ws.cell(row=4, column=1 + j, value=v)
    for j, v in enumerate(["PEP", "sell", "lots", 145.05]):
        ws.cell(row=5, column=1 + j, value=v)
    wb.save(book)
    before = book.read_bytes()
    res = press("import_fills", book, cfg, CLOSE, day=DAY)
    assert res.result == "error" and "row 5" in res.message and "shares" in res.message
    assert book.read_bytes() == before
    assert not (tmp_path / "live" / DAY / "broker_fills.csv").exists()


def test_live_account_needs_explicit_confirmation(tmp_path):
    import yaml

    cfg = setup_day(tmp_path)
    doc = yaml.safe_load(cfg.read_text())
    doc["execution"]["broker"] = "alpaca"
    doc["execution"]["alpaca"] = {"paper": False, "api_key": "${XLEXEC_TEST_NO_KEY}"}
    cfg.write_text(yaml.safe_dump(doc))
    book = tmp_path / "wb.xlsm"
    build_workbook(book)
    res = press("submit", book, cfg, day=DAY)
    assert res.result == "refused" and res.exit_code == 1
    assert "--live" in res.message and "nothing sent" in res.message


def test_reject_and_kill_switch(tmp_path):
    cfg = setup_day(tmp_path)
    book = tmp_path / "wb.xlsm"
    build_workbook(book)
    assert press("load_trades", book, cfg, day=DAY).ok
    res = press("reject", book, cfg, set_inputs={"approver": "risk", "reason": "too much turnover"})
    assert res.ok, res.message
    approvals = [r for r in sheet_values(book, "Approvals")[4:] if r and r[0]]
    assert approvals[-1][1:4] == ["REJECTED", "too much turnover", "risk"]
    # a REJECTED approval: Submit is refused by the engine, with a clear message
    res = press("submit", book, cfg)
    assert res.result == "refused", res.message
    res = press("cancel_all", book, cfg)
    assert res.ok, res.message
    assert (tmp_path / "live" / "KILL_SWITCH").exists()
    assert "TRIGGERED" in str(cell(book, "Control", CONTROL_CELLS["kill_switch"]))


def test_cli_button_command(tmp_path, monkeypatch, capsys):
    from xlexec.cli.app import main

    cfg = setup_day(tmp_path)
    book = tmp_path / "wb.xlsm"
    monkeypatch.setenv("XLEXEC_NOW", MORNING.isoformat())
    assert main(["workbook", "build", "--config", str(cfg), "--output", str(book)]) == 0
    assert main(["button", "load-trades", "--config", str(cfg), "--book", str(book), "--day", DAY]) == 0
    assert main(["button", "validate", "--config", str(cfg), "--book", str(book), "--json"]) == 0
    out = capsys.readouterr().out.strip().splitlines()[-1]
    import json

    doc = json.loads(out)
    assert doc["button"] == "validate" and doc["result"] == "ok" and doc["data"]["decision"] == "CONDITIONAL"
    assert main(["button", "approve", "--config", str(cfg), "--book", str(book)]) == 2
    assert "approver" in capsys.readouterr().err
    assert main(["button", "nope", "--config", str(cfg), "--book", str(book)]) == 2
