"""A press on a book with nothing of the operator's reads it cheaply; one with anything of the
operator's still keeps it.

Through the CLI (a subprocess from a folder that is not the book's, recording the modules it
imported on its way out): ``xlexec workbook build``, then ``xlexec button validate --book FILE``.
On the book as drawn the press does not import openpyxl (the operator's content is decided
from the zip's ``xl/workbook.xml`` and the tabs' XML). Each kind of operator content alone (a
sheet, a workbook-wide name, a sheet-local name, a cell outside xlexec's area on one of its
tabs) makes the press load the book and keep that content."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from openpyxl.workbook.defined_name import DefinedName

from tests.test_buttons_file import MORNING, setup_day
from tests.test_cli_lazy import MODULES_AT_EXIT
from tests.test_workbook_keeps import cli

ROOT = Path(__file__).resolve().parents[1]


def _press(cfg: Path, book: Path, cwd: Path) -> set[str]:
    """``xlexec button validate`` on ``book``; the top-level packages it imported."""
    env = dict(os.environ, XLWINGS_LICENSE_KEY="noncommercial", XLEXEC_NOW=MORNING.isoformat())
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    args = ["button", "validate", "--config", str(cfg), "--book", str(book)]
    p = subprocess.run(
        [sys.executable, "-c", MODULES_AT_EXIT, *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=300
    )
    assert p.returncode == 0, (p.stdout[-1000:], p.stderr[-2000:])
    line = [ln for ln in p.stderr.splitlines() if ln.startswith("MODULES ")][-1]
    return {m.split(".")[0] for m in json.loads(line.removeprefix("MODULES "))}


def _built(tmp_path: Path) -> tuple[Path, Path, Path]:
    cfg = setup_day(tmp_path / "day")
    book = tmp_path / "book" / "xlexec.xlsm"
    run = tmp_path / "elsewhere"
    run.mkdir()
    p = cli("workbook", "build", "--config", str(cfg), "--output", str(book), cwd=run)
    assert p.returncode == 0, p.stderr
    return cfg, book, run


def test_a_book_as_drawn_is_pressed_without_openpyxl(tmp_path):
    cfg, book, run = _built(tmp_path)
    before = book.read_bytes()
    mods = _press(cfg, book, run)
    assert "xlexec" in mods and "xlsxwriter" in mods  # the import log is real: the press drew the book
    assert "openpyxl" not in mods
    assert book.read_bytes() != before
    assert "openpyxl" not in _press(cfg, book, run)  # and so is the book it drew


def _sheet(wb):
    wb.create_sheet("Mine")["B2"] = "kept note"


def _name(wb):
    wb.defined_names["my_rate"] = DefinedName("my_rate", attr_text="0.05")


def _local_name(wb):
    wb["Blotter"].defined_names["my_cell"] = DefinedName("my_cell", attr_text="Blotter!$B$2")


def _foreign(wb):
    wb["Blotter"]["AZ900"] = "kept note"


def _has_sheet(wb):
    return wb["Mine"]["B2"].value == "kept note"


def _has_name(wb):
    return wb.defined_names["my_rate"].attr_text == "0.05"


def _has_local_name(wb):
    return wb["Blotter"].defined_names["my_cell"].attr_text == "Blotter!$B$2"


def _has_foreign(wb):
    return wb["Blotter"]["AZ900"].value == "kept note"


@pytest.mark.parametrize(
    "add,kept",
    [(_sheet, _has_sheet), (_name, _has_name), (_local_name, _has_local_name), (_foreign, _has_foreign)],
    ids=["sheet", "name", "local-name", "foreign-cell"],
)
def test_each_kind_of_operator_content_alone_is_kept(tmp_path, add, kept):
    cfg, book, run = _built(tmp_path)
    wb = openpyxl.load_workbook(book, keep_vba=True)
    add(wb)
    wb.save(book)
    assert kept(openpyxl.load_workbook(book))  # what openpyxl saved, as a baseline
    before = book.read_bytes()
    mods = _press(cfg, book, run)
    assert "openpyxl" in mods
    assert book.read_bytes() != before  # the press redrew the file
    assert kept(openpyxl.load_workbook(book))


@pytest.mark.parametrize(
    ("extra", "outside"),
    [
        ("", False),
        ('<row r="9"><c r="J9" s="2"/></row>', False),  # a formatted empty cell beyond the area
        ('<row r="9"><c r="J9" t="s"><v>0</v></c></row>', True),  # content right of the area
        ('<row r="7"><c r="A7"><v>1</v></c></row>', True),  # content below the area
        ('<row r="9"><c s="3" t="n" r="AA9"><v>2</v></c></row>', True),  # r not the first attribute
        ('<row r="6"><c r="I6"><f>1+1</f></c></row>', False),  # the area's own corner
    ],
)
def test_a_cell_outside_the_area_is_found_in_any_chunk(extra, outside):
    """The cheap scan's answer (`_any_cell_outside`) for a sheet of 2 MB (the cell outside lands
    in the stream's second 1 MB chunk) is the cell-by-cell count's, and what the XML says."""
    import io

    from xlexec.excel.operator_content import _any_cell_outside, _scan

    rows = "".join(f'<row r="{r}"><c r="A{r}" t="s"><v>{r}</v></c><c r="I{r}" s="1"/></row>' for r in range(1, 7))
    filler = "<!--" + "x" * (2 << 20) + "-->"  # pushes what follows into a later chunk
    xml = f"<worksheet><sheetData>{rows}{filler}{extra}</sheetData></worksheet>".encode()
    area = (5, 8)  # A1:I6
    assert _any_cell_outside(io.BytesIO(xml), area) is outside
    assert (_scan(io.BytesIO(xml), area, layout=False).count > 0) is outside
