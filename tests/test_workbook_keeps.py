"""A press changes only what it owns.

Through the CLI, from a folder that is not the book's: ``xlexec workbook build``, then the
operator adds (with openpyxl, as a hand edit would) a sheet of their own with values, a look
and formulas over xlexec's tabs, a formula right of a report and notes below reports on xlexec's
tabs, defined names and an xlwings setting; every file-mode button of the demo day is pressed
(``xlexec button NAME --book FILE``, pinned clocks) and after each press all of it is still
there: formula text, values, look, names, sheet order. A second identical press changes nothing
of it, and every cell outside xlexec's recorded areas is the operator's (xlexec never leaks
its own cells outside them, so nothing of a report is ever kept as if it were the operator's).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pytest
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.workbook.defined_name import DefinedName

from tests import cli_fork
from tests.test_buttons_file import CLOSE, DAY, DEMO_DAY, MORNING, setup_day

ROOT = Path(__file__).resolve().parents[1]
XLEXEC_TABS = [
    "Control",
    "Blotter",
    "Checks",
    "Approvals",
    "Orders",
    "Fills",
    "Quotes",
    "Reconcile",
    "Positions",
    "TCA",
    "Monthly",
    "Log",
    "xlwings.conf",
]
SETS = {"approve": ["approver=demo", "decision=CONDITIONAL", "reason=demo day: validation says CONDITIONAL"]}


def cli(*args: str, cwd: Path, when: dt.datetime | None = None) -> subprocess.CompletedProcess:
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        XLWINGS_LICENSE_KEY=os.environ.get("XLWINGS_LICENSE_KEY", "noncommercial"),
    )
    if when is not None:
        env["XLEXEC_NOW"] = when.isoformat()
    return cli_fork.run(
        [sys.executable, "-m", "xlexec", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def press(name: str, cfg: Path, book: Path, run: Path) -> None:
    when = MORNING if name in ("load_trades", "validate", "approve", "convert", "submit") else CLOSE
    args = ["button", name.replace("_", "-"), "--config", str(cfg), "--book", str(book)]
    args += ["--day", DAY] if name == "load_trades" else []
    args += [a for s in SETS.get(name, []) for a in ("--set", s)]
    p = cli(*args, cwd=run, when=when)
    assert p.returncode == 0, (name, p.stdout[-1000:], p.stderr[-2000:])


def add_operator_content(book: Path) -> None:
    """What an operator adds by hand (values, look, formulas, names, a setting)."""
    wb = openpyxl.load_workbook(book, keep_vba=True)
    ws = wb.create_sheet("My notes")
    ws["A1"] = "Desk notes"
    ws["A1"].font = Font(bold=True, color="FFC00000", size=14)
    ws["A1"].fill = PatternFill("solid", fgColor="FFFFFF00")
    ws["A2"] = 0.125
    ws["A2"].number_format = "0.0%"
    ws["A3"] = dt.datetime(2025, 10, 30)
    ws["A3"].number_format = "yyyy-mm-dd"
    ws["A4"] = "=not a formula, typed as text"
    ws["A4"].data_type = "s"
    ws["B1"] = "=COUNTA(Orders!A:A)"  # over an xlexec tab
    ws["B2"] = "=A2*2"
    ws["B3"] = "=SUM(Blotter!D5:D100)"
    ws["B4"] = True
    ws["C1"] = "merged over C1:D1"
    ws["C1"].alignment = Alignment(horizontal="center", wrap_text=True)
    ws.merge_cells("C1:D1")
    ws.column_dimensions["A"].width = 33
    ws.row_dimensions[2].height = 30
    wb["Orders"]["Z2"] = "=COUNTA(A5:A100)"  # right of the Orders report
    wb["Orders"]["Z3"] = "orders drawn"
    wb["Control"]["A30"] = "note below Control"
    wb["Control"]["B30"] = "='My notes'!A2*100"
    wb["Log"]["A500"] = "note far below the log"
    wb["Blotter"]["AA4"] = "my column"
    wb["Blotter"]["AA5"] = 42
    wb.defined_names["desk_rate"] = DefinedName("desk_rate", attr_text="'My notes'!$A$2")
    ws.defined_names["local_double"] = DefinedName("local_double", attr_text="'My notes'!$B$2")
    wb["xlwings.conf"]["A2"] = "Conda Env"
    wb["xlwings.conf"]["B2"] = "trading"
    wb.save(book)


#: what the operator added, as a file holds it (formulas as text)
EXPECTED_CELLS = {
    ("My notes", "A1"): "Desk notes",
    ("My notes", "A2"): 0.125,
    ("My notes", "A3"): dt.datetime(2025, 10, 30),
    ("My notes", "A4"): "=not a formula, typed as text",
    ("My notes", "B1"): "=COUNTA(Orders!A:A)",
    ("My notes", "B2"): "=A2*2",
    ("My notes", "B3"): "=SUM(Blotter!D5:D100)",
    ("My notes", "B4"): True,
    ("My notes", "C1"): "merged over C1:D1",
    ("Orders", "Z2"): "=COUNTA(A5:A100)",
    ("Orders", "Z3"): "orders drawn",
    ("Control", "A30"): "note below Control",
    ("Control", "B30"): "='My notes'!A2*100",
    ("Log", "A500"): "note far below the log",
    ("Blotter", "AA4"): "my column",
    ("Blotter", "AA5"): 42,
}


#: the cells that hold a formula (My notes!A4 is text that starts with "=")
FORMULAS = {("My notes", "B1"), ("My notes", "B2"), ("My notes", "B3"), ("Orders", "Z2"), ("Control", "B30")}


def operator_view(book: Path) -> dict:
    """Everything of the operator's in ``book``, read with openpyxl (not xlexec's reader)."""
    wb = openpyxl.load_workbook(book, keep_vba=True)
    notes = wb["My notes"]
    a1 = notes["A1"]
    view = {
        "sheets": wb.sheetnames,
        "cells": {(s, ref): wb[s][ref].value for s, ref in EXPECTED_CELLS},
        "types": {(s, ref): wb[s][ref].data_type for s, ref in EXPECTED_CELLS},
        "look": (
            a1.font.b,
            a1.font.color.rgb,
            float(a1.font.sz),
            a1.fill.fill_type,
            a1.fill.fgColor.rgb,
            notes["A2"].number_format,
            notes["A3"].number_format,
            notes["C1"].alignment.horizontal,
            bool(notes["C1"].alignment.wrap_text),
        ),
        "layout": (
            round(notes.column_dimensions["A"].width, 2),
            notes.row_dimensions[2].height,
            [str(r) for r in notes.merged_cells.ranges],
        ),
        "names": {n: d.attr_text for n, d in wb.defined_names.items() if not n.startswith("_xlnm")},
        "local_names": {n: d.attr_text for n, d in notes.defined_names.items()},
        "conf": [(r[0], r[1]) for r in wb["xlwings.conf"].iter_rows(min_row=1, max_row=3, max_col=2, values_only=True)],
    }
    wb.close()
    return view


def expected_view(config_ref: str) -> dict:
    return {
        "sheets": [*XLEXEC_TABS, "My notes"],
        "cells": EXPECTED_CELLS,
        # f: a formula, s: text, None: a number, bool or date
        "types": {k: "f" if k in FORMULAS else "s" if isinstance(v, str) else None for k, v in EXPECTED_CELLS.items()},
        "look": (True, "FFC00000", 14.0, "solid", "FFFFFF00", "0.0%", "yyyy-mm-dd", "center", True),
        "layout": (33.0, 30.0, ["C1:D1"]),
        "names": {"desk_rate": "'My notes'!$A$2", "xlexec_config": config_ref},
        "local_names": {"local_double": "'My notes'!$B$2"},
        "conf": [("UDF Modules", "xlexec.excel.udfs"), ("Conda Env", "trading"), (None, None)],
    }


def _types_match(view: dict, expected: dict) -> None:
    for k, want in expected["types"].items():
        got = view["types"][k]
        if want is None:
            assert got in ("n", "b", "d"), k
        else:
            assert got == want, k


def recorded_areas(book: Path) -> dict[str, tuple[int, int]]:
    """xlexec's area per tab as the file records it (docProps/custom.xml), 1-based last cell."""
    with zipfile.ZipFile(book) as z:
        xml = z.read("docProps/custom.xml").decode()
    out = {}
    for tab, col, row in re.findall(r'name="xlexec_area:([^"]+)"[^>]*><vt:lpwstr>A1:([A-Z]+)(\d+)<', xml):
        out[tab] = (int(row), openpyxl.utils.column_index_from_string(col))
    return out


def cells_outside_areas(book: Path) -> set[tuple[str, str]]:
    areas = recorded_areas(book)
    assert set(areas) == set(XLEXEC_TABS)
    wb = openpyxl.load_workbook(book, read_only=True)
    out = set()
    for tab, (last_row, last_col) in areas.items():
        for row in wb[tab].iter_rows():
            for c in row:
                if getattr(c, "value", None) is not None and (c.row > last_row or c.column > last_col):
                    out.add((tab, c.coordinate))
    wb.close()
    return out


@pytest.mark.slow
def test_operator_content_survives_every_press(tmp_path):
    cfg = setup_day(tmp_path / "day")
    book = tmp_path / "book" / "xlexec.xlsm"
    run = tmp_path / "elsewhere"
    run.mkdir()
    p = cli("workbook", "build", "--config", str(cfg), "--output", str(book), cwd=run)
    assert p.returncode == 0, p.stderr
    ref = openpyxl.load_workbook(book, keep_vba=True).defined_names["xlexec_config"].attr_text
    add_operator_content(book)
    expected = expected_view(ref)
    ours = {k for k in EXPECTED_CELLS if k[0] in XLEXEC_TABS}
    view = operator_view(book)
    assert view["cells"] == expected["cells"]  # what openpyxl saved, as a baseline
    for name in [*DEMO_DAY, "cancel_all"]:
        before = book.read_bytes()
        press(name, cfg, book, run)
        assert book.read_bytes() != before, name  # the press did redraw the file
        view = operator_view(book)
        assert view == {**expected, "types": view["types"]}, name
        _types_match(view, expected)
        assert cells_outside_areas(book) == ours, name
    # the day drew real reports: the operator's formula cells sit next to drawn orders
    wb = openpyxl.load_workbook(book, read_only=True)
    assert wb["Orders"]["A5"].value not in (None, "")
    wb.close()


@pytest.mark.slow
def test_a_second_identical_press_changes_nothing_of_the_operators(tmp_path):
    cfg = setup_day(tmp_path / "day")
    book = tmp_path / "book" / "xlexec.xlsx"
    run = tmp_path / "elsewhere"
    run.mkdir()
    assert cli("workbook", "build", "--config", str(cfg), "--output", str(book), cwd=run).returncode == 0
    add_operator_content(book)
    for name in ("load_trades", "validate"):
        press(name, cfg, book, run)
    first = operator_view(book)
    areas = recorded_areas(book)
    press("validate", cfg, book, run)
    assert operator_view(book) == first
    after = recorded_areas(book)
    assert after["Log"][0] == areas["Log"][0] + 1  # the Log tab shows one more press
    assert {**after, "Log": areas["Log"]} == areas  # every other area is the same
    assert first["cells"] == EXPECTED_CELLS and first["sheets"][-1] == "My notes"


@pytest.mark.slow
def test_a_report_that_grows_over_an_operator_cell_replaces_it_and_says_so(tmp_path):
    cfg = setup_day(tmp_path / "day")
    book = tmp_path / "book" / "xlexec.xlsx"
    run = tmp_path / "elsewhere"
    run.mkdir()
    assert cli("workbook", "build", "--config", str(cfg), "--output", str(book), cwd=run).returncode == 0
    wb = openpyxl.load_workbook(book)
    wb["Blotter"]["B7"] = "inside the Blotter"  # xlexec's area: the rows the Blotter can hold
    wb["Blotter"]["B3000"] = "below every row the Blotter can hold"
    wb["Log"]["A6"] = "right under the empty log"  # outside the Log's area until it grows
    wb.save(book)
    press("load_trades", cfg, book, run)
    wb = openpyxl.load_workbook(book)
    assert wb["Blotter"]["B7"].value not in (None, "inside the Blotter")  # a trade's symbol now
    assert wb["Blotter"]["B3000"].value == "below every row the Blotter can hold"
    assert wb["Log"]["A6"].value == "right under the empty log"  # one press logged: row 5
    p = cli("button", "validate", "--config", str(cfg), "--book", str(book), cwd=run, when=MORNING)
    assert p.returncode == 0, p.stderr
    assert "cover 1 of your cells: Log!A6" in p.stderr
    wb = openpyxl.load_workbook(book)
    assert wb["Log"]["A6"].value != "right under the empty log"  # the second press's row
    assert wb["Blotter"]["B3000"].value == "below every row the Blotter can hold"


def test_a_book_with_more_operator_cells_than_the_limit_is_refused_before_the_step(tmp_path):
    from xlexec.excel.operator_content import MAX_KEPT_CELLS

    cfg = setup_day(tmp_path / "day")
    book = tmp_path / "book" / "xlexec.xlsx"
    run = tmp_path / "elsewhere"
    run.mkdir()
    assert cli("workbook", "build", "--config", str(cfg), "--output", str(book), cwd=run).returncode == 0
    wb = openpyxl.load_workbook(book)
    ws = wb.create_sheet("Big")
    for _row in range(MAX_KEPT_CELLS // 100 + 1):
        ws.append([1] * 100)
    wb.save(book)
    before = book.read_bytes()
    p = cli("button", "validate", "--config", str(cfg), "--book", str(book), "--day", DAY, cwd=run, when=MORNING)
    assert p.returncode == 2  # bad input
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "cells of your own" in lines[0] and str(book) in lines[0], p.stderr
    assert book.read_bytes() == before
    assert not (tmp_path / "day" / "live" / DAY / "validation.json").exists()
