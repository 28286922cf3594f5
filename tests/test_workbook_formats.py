"""The workbook's formats come from the declared schema, checked on the demo day's workbook
(built by ``xlexec demo`` as a subprocess from a folder that is not the project) with openpyxl:
each expected value, format, header and lock below is written by hand from the demo's files."""

import datetime as dt
import os
import re
import sys
import zipfile
from pathlib import Path

import openpyxl
import pytest

from tests import cli_fork
from xlexec.excel.layout import BLOTTER_MAX_ROWS, TABLE_SCHEMAS
from xlexec.excel.macros import load_macros

ROOT = Path(__file__).resolve().parents[1]
MONEY, PRICE, PCT, COUNT, SHARES = "$#,##0.00;[Red]-$#,##0.00", "$#,##0.00##", "0.00%", "#,##0", "#,##0"


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    where = tmp_path_factory.mktemp("formats")
    env = dict(os.environ, PYTHONPATH=str(ROOT), XLWINGS_LICENSE_KEY="noncommercial")
    r = cli_fork.run(
        [sys.executable, "-m", "xlexec", "demo", "--dir", str(where / "demo")],
        cwd=where,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    path = where / "demo" / "xlexec_2025-10-30.xlsm"
    return path, openpyxl.load_workbook(path)


def row_of(ws, col: str, value) -> int:
    for c in ws[col]:
        if c.value == value:
            return c.row
    raise AssertionError(f"{value!r} not in column {col} of {ws.title}")


def test_pct_figure_is_a_fraction_not_9000_percent(book):
    ws = book[1]["Reconcile"]
    # reconciliation.json: trades_executed_pct 80.0 (8 of 10 fully filled; COST partial, WMT none)
    # the side block starts after the 14 table columns (A:N) and a gap: labels in P, values in Q
    r = row_of(ws, "P", "Trades fully executed (% of planned)")
    assert ws[f"Q{r}"].value == 0.8 and ws[f"Q{r}"].number_format == PCT
    r = row_of(ws, "P", "Trades fully executed")
    assert ws[f"Q{r}"].value == 8 and ws[f"Q{r}"].number_format == COUNT


def test_est_costs_is_dollars_and_counts_are_counts(book):
    ws = book[1]["Checks"]
    r = row_of(ws, "H", "Estimated costs")  # validation.json summary est_costs 6.74 ($)
    assert ws[f"I{r}"].value == 6.74 and ws[f"I{r}"].number_format == MONEY
    r = row_of(ws, "H", "Trades")
    assert ws[f"I{r}"].value == 10 and ws[f"I{r}"].number_format == COUNT
    # a check's value in its own unit: the spread in bps, the largest trade a fraction
    r = row_of(ws, "A", "spread")
    assert ws[f"D{r}"].number_format == '#,##0.00" bps"' and ws[f"E{r}"].value == 50
    r = row_of(ws, "A", "max_trade_pct")
    assert ws[f"D{r}"].number_format == PCT and ws[f"E{r}"].value == 0.1
    r = row_of(ws, "A", "position_count")
    assert ws[f"D{r}"].number_format == COUNT


def test_tca_counts_are_not_dollars(book):
    ws = book[1]["TCA"]
    # the figures sit right of the widest table (the per-order benchmarks, A:O): Q:R
    r = row_of(ws, "Q", "Unfavourable fills")  # tca.json slippage.unfavorable.count 2
    assert ws[f"R{r}"].value == 2 and ws[f"R{r}"].number_format == COUNT


def test_tca_benchmark_tables_are_bps_and_counts(book):
    ws = book[1]["TCA"]
    r = row_of(ws, "A", "interval VWAP")  # the benchmark table: cost $, bps, bps, orders, orders without it
    assert ws[f"C{r}"].number_format == '#,##0.00" bps"' and isinstance(ws[f"C{r}"].value, float)
    assert ws[f"E{r}"].number_format == COUNT and ws[f"E{r}"].value == 9 and ws[f"F{r}"].value == 0


def test_bid_size_of_cost_is_shares_not_dollars(book):
    ws = book[1]["Quotes"]
    r = row_of(ws, "G", "COST")  # the age block, sizes in I:J
    assert ws[f"I{r}"].value == 5000 and ws[f"I{r}"].number_format == SHARES


def test_dates_and_timestamps_are_excel_dates(book):
    wb = book[1]
    c = wb["Orders"]["K5"]  # submitted_at 2025-10-30T13:40:00+00:00
    assert c.is_date and c.value == dt.datetime(2025, 10, 30, 13, 40) and c.number_format == "yyyy-mm-dd hh:mm:ss"
    c = wb["Approvals"]["A5"]
    assert c.is_date and c.value == dt.datetime(2025, 10, 30) and c.number_format == "yyyy-mm-dd"
    c = wb["Monthly"]["A5"]
    assert c.is_date and c.value == dt.datetime(2025, 10, 30)


def test_headers_are_words(book):
    wb = book[1]
    assert [c.value for c in wb["Orders"][4]][:6] == ["Symbol", "Side", "Quantity", "Order type", "Limit", "Status"]
    assert [c.value for c in wb["Positions"][4]][:4] == ["Symbol", "System shares", "Reconciled shares", "Difference"]
    for name in ("Checks", "Approvals", "Orders", "Reconcile", "Positions", "TCA", "Log"):
        heads = [c.value for c in wb[name][4] if c.value]
        assert not [h for h in heads if re.fullmatch(r"[a-z0-9]+(_[a-z0-9]+)+", str(h))], (name, heads)


def test_reconcile_summary_never_says_none(book):
    assert book[1]["Reconcile"]["A2"].value.endswith("positions match: not checked")


def test_schema_kinds_are_declared_for_known_tables():
    assert TABLE_SCHEMAS["tblOrders"]["qty"].kind == "shares"
    assert TABLE_SCHEMAS["tblApprovals"]["n_orders"].kind == "count"
    assert TABLE_SCHEMAS["tblMonthly"]["avg_slippage_bps"].kind == "bps"


def test_blotter_inputs_unlocked_for_every_row_it_can_hold(book):
    ws = book[1]["Blotter"]
    last = 4 + BLOTTER_MAX_ROWS
    for r in (5, 6, 14, 15, 500, last):  # 10 trades drawn in rows 5-14; rows below for a live Load Trades
        assert ws[f"A{r}"].protection.locked is False, r
        assert ws[f"F{r}"].protection.locked is False, r
    assert ws["B5"].protection.locked is not False and ws["A4"].protection.locked is not False
    assert ws.protection.sheet
    control = book[1]["Control"].protection
    assert control.sheet and control.objects  # objects (the buttons) protected: they stay in place
    sq = sorted(str(d.sqref) for d in ws.data_validations.dataValidation)
    assert sq == [f"A5:A{last}", f"F5:F{last}"]  # Include Y/N and Limit $ from the first data row down


def test_kill_switch_is_red_and_apart(book):
    path, wb = book
    ws = wb["Control"]
    assert ws["F4"].fill.fgColor.rgb.endswith("C00000")
    assert "KILL SWITCH" in ws["F4"].value
    with zipfile.ZipFile(path) as z:
        vml = "".join(z.read(n).decode() for n in z.namelist() if n.endswith(".vml"))
    anchor = r"<x:Anchor>\s*(\d+),[^<]*</x:Anchor>"
    between = r"(?:<x:(?!FmlaMacro)[^>]*>[^<]*</x:\w+>)*"
    anchors = re.findall(anchor + between + r"<x:FmlaMacro>\[0\]!(\w+)<", vml)
    cols = {sub: int(c) for c, sub in anchors}
    assert cols["CancelAll_Click"] == 5 and cols["Submit_Click"] == 3  # column F, apart from column D


def test_live_dialog_defaults_to_no_and_status_bar_is_reset():
    src = load_macros()["Buttons"]
    submit = re.search(r"Public Sub Submit_Click\(\)(.*?)End Sub", src, re.S).group(1)
    assert "vbDefaultButton2" in submit and "vbYesNo" in submit
    assert 'Range("B5")' in submit  # the broker is named (Control!B5), with the mode (B6)
    assert re.search(r"If answer <> vbYes Then\s+Application.StatusBar = False\s+Exit Sub", submit)
    press = re.search(r"Private Sub Press\(.*?End Sub", src, re.S).group(0)
    assert press.rstrip("End Sub").rstrip().endswith("Application.StatusBar = False")
    # every button goes through Press (no RunPython that skips the reset)
    assert src.count('RunPython "') == 1
