"""Scenario 4b: read a pasted 100,000-row block back from the Fills tab (target: within 1.2x of
the fastest library, python-calamine, and >= 3x faster than openpyxl cell by cell).

Data: the template workbook written by xlexec with 100,000 canonical fills pasted on the Fills
tab from A4 (as the operator's file holds them; ``.xlsx``).

* xlexec: our path, :class:`xlexec.excel.book.FileBook` ``inputs()`` as a fresh press runs it:
  the book's size check (the extent of every sheet, before calamine may allocate it), then
  python-calamine reads the Control, Blotter, Fills and xlwings.conf tabs (the Fills block
  normalised to rows, trailing blanks trimmed), then the check for the operator's own content
  (from the extents the size check found). Turning the block into canonical fills
  (:func:`xlexec.formats.fills.read_fills_block`, what Import Fills does next) is timed apart:
  ``parse_seconds`` in the details.
* library: ``python_calamine.CalamineWorkbook.from_path(...).get_sheet_by_name("Fills")
  .to_python()`` and the rows from A4.
* baseline: ``openpyxl.load_workbook`` then ``ws.cell(row, column).value`` for every cell of
  the block.
"""

from __future__ import annotations

from pathlib import Path

from ..harness import Timer, cold_reads

NAME = "workbook_read"
TITLE = "read a pasted {size:,}-row block from the Fills tab (.xlsx)"
UNIT = "rows"
FULL_SIZE = 100_000
TARGET = "<= 1.2x python-calamine; >= 3x faster than openpyxl cell-by-cell"
SIDES = ("xlexec", "library", "baseline")
WARMUP = {"xlexec": 1, "library": 1, "baseline": 0}
MAX_REPEAT = {"baseline": 2}
GEN_VERSION = 1
BASELINE = "openpyxl cell-by-cell"
LIBRARY = "python-calamine"
NCOLS = 9


def prepare(root: Path, size: int) -> None:
    from xlexec.excel.build import write_workbook
    from xlexec.excel.render import empty_book_data

    from .workbook_write import DAY, make_block

    data = empty_book_data(DAY)
    data.fills_block = make_block(size)
    write_workbook(root / "book.xlsx", data, vba=False)


def setup(root: Path, size: int, side: str):
    return {"path": root / "book.xlsx", "size": size}


def run(state, side: str):
    path = state["path"]
    if side == "xlexec":
        from xlexec.excel.book import FileBook
        from xlexec.excel.build import FILLS_PASTE_ROW
        from xlexec.formats.fills import read_fills_block

        cold_reads()  # as a fresh press reads the book: its size not checked yet
        with Timer() as t:
            block = FileBook(path).inputs().fills_block
        with Timer() as tp:
            fills = read_fills_block(block, name="Fills tab", first_row=FILLS_PASTE_ROW + 1)
        return t.seconds, {
            "rows_read": len(block) - 1,
            "parse_seconds": tp.seconds,
            "fills": int(len(fills)),
            "read_and_parse_seconds": t.seconds + tp.seconds,
        }
    if side == "library":
        from python_calamine import CalamineWorkbook

        from xlexec.excel.build import FILLS_PASTE_ROW

        with Timer() as t:
            rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("Fills").to_python(skip_empty_area=False)
            block = rows[FILLS_PASTE_ROW:]
        return t.seconds, {"rows_read": len(block) - 1}
    from openpyxl import load_workbook

    with Timer() as t:
        wb = load_workbook(str(path))
        ws = wb["Fills"]
        block = []
        for r in range(4, ws.max_row + 1):
            row = [ws.cell(row=r, column=c).value for c in range(1, NCOLS + 1)]
            if any(v is not None for v in row):
                block.append(row)
    return t.seconds, {"rows_read": len(block) - 1}


def judge(row) -> bool:
    d = row["details"]
    lib = d.get("library_seconds")
    return bool(lib and row["seconds"] <= 1.2 * lib and row["ratio"] is not None and row["ratio"] <= 1 / 3)


def note(row) -> str:
    d = row["details"]
    return (
        f"python-calamine {d['library_seconds']:.2f} s (xlexec {d['ratio_vs_library']:.2f}x it); "
        f"+ {d['parse_seconds']:.2f} s to canonical fills (read_fills_block)"
    )
