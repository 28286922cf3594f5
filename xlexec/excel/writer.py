"""The workbook writer: a :class:`~xlexec.excel.layout.BookData` -> an ``.xlsx`` / ``.xlsm`` file.

The workbook is a *view*: every tab is drawn from a :class:`BookData` (what
:mod:`xlexec.excel.viewmodel` collects from the day's files and the journal) plus the operator's
:class:`Inputs` (what they typed: Blotter Include/Limit, approver, decision, reason, the pasted
Fills block). Writing the whole file again is cheap (XlsxWriter, a few hundred ms; ~1 s with
a 100,000-row Fills block, whose rows and every Table's rows are generated as XML a column at
a time: see "fast sheet data" below), so a headless button run re-renders the file instead of
patching it, and the file is replaced atomically (temp file + ``os.replace``): a failed step
leaves the previous file untouched.

Build order (why XlsxWriter): openpyxl loses form buttons (VML) and, without ``keep_vba``,
the VBA project. XlsxWriter writes everything in one pass: Excel Tables, frozen panes, number
formats, conditional formats, data validation, protection, charts, form buttons wired to macros
(``[0]!Validate_Click``) and the ``vbaProject.bin`` built from ``macros/*.bas`` by
:func:`xlexec.vba.project.build_vba_project` (source only: Office compiles it on open).

Which cell holds what is :mod:`xlexec.excel.layout`.

Text that came from outside (symbols, reasons, approver names, broker messages) is written as a
string cell (a shared string, never a formula); when it starts with ``= + - @`` tab or CR the
cell also gets Excel's quote prefix, so it stays inert text even if someone edits it (formula
injection). Text shaped like XlsxWriter's rich-text markup (``<r>...</r>``) is stored as one
escaped rich-text run (:func:`shared_text`), so it cannot corrupt the file.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import math
import os
import re
import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.packager import Packager
from xlsxwriter.sharedstrings import SharedStrings, SharedStringTable
from xlsxwriter.worksheet import Worksheet

from xlexec.excel import vba_cache
from xlexec.excel.bookconfig import CONFIG_NAME, DEFAULT_REF, name_formula
from xlexec.excel.charts import monthly_charts, tca_charts
from xlexec.excel.layout import (
    BLOTTER_MAX_ROWS,
    BUTTON_COL,
    BUTTON_FIRST_ROW,
    BUTTON_ROW_POINTS,
    BUTTONS,
    CF_ROWS,
    CODENAMES,
    CONTROL_CELLS,
    CONTROL_LABELS,
    CONTROL_WIDTHS,
    DATE_KINDS,
    DECISIONS,
    EXTRA_TITLES,
    FILLS_MAX_COLS,
    FILLS_PASTE_ROW,
    FIRST_DATA_ROW,
    HEADER_ROW,
    INPUT_KEYS,
    KILL_SWITCH_CELL,
    KILL_SWITCH_SUB,
    NUMBER_FORMATS,
    QUOTES_COLUMNS,
    QUOTES_HELP,
    QUOTES_MAX_COLUMNS,
    QUOTES_SHOWN_CELL,
    QUOTES_SIZE_COLUMNS,
    SHEETS,
    SIDE_COLOURS,
    SIDE_COLUMNS,
    STATUS_COLOURS,
    SUMMARY_ROW,
    TITLE_ROW,
    XLWINGS_CONF_HELP,
    YES_NO,
    BookData,
    SheetData,
    Table,
    _col_letter,
    a1,
    area_floor,
    cell_value,
    charts_row,
    control_row_height,
    excel_serial,
    excel_value,
    extra_positions,
    monthly_layout,
    parse_a1,
    shares_format,
    side_col,
)
from xlexec.excel.macros import load_class_modules, load_macros
from xlexec.excel.operator_content import (
    AREA_PROPERTY,
    OperatorContent,
    area_ref,
    drawn_area,
    write_foreign,
    write_names,
    write_sheet,
)
from xlexec.excel.sharedtext import shared_text
from xlexec.excel.xlwings_conf import merge_conf
from xlexec.faults import crash_point
from xlexec.formats.csvio import FORMULA_PREFIXES, temp_beside
from xlexec.vba import project as vbaproject


def is_formula_like(v: Any) -> bool:
    return isinstance(v, str) and v.startswith(FORMULA_PREFIXES) and not _is_number_text(v)


def _is_number_text(v: str) -> bool:
    if v[:1] not in "+-":
        return False
    try:
        float(v)
        return True
    except ValueError:
        return False


# --------------------------------------------------------------------------- writer

#: the look of a cell the operator may edit (unlocked, light yellow, framed)
UNLOCKED = {"locked": False, "bg_color": "#FFF2CC", "border": 1, "border_color": "#BF9000"}


class _Fmt:
    """Format cache of one workbook; ``fast``: the Fills block and the Tables' rows go through
    :func:`_add_block` (generated XML) instead of one XlsxWriter call per cell."""

    def __init__(self, wb, fast: bool = True):
        self.wb = wb
        self.fast = fast
        self._cache: dict[tuple, Any] = {}

    def get(self, **props):
        key = tuple(sorted(props.items()))
        if key not in self._cache:
            self._cache[key] = self.wb.add_format(props)
        return self._cache[key]


def _write(
    ws,
    fmt: _Fmt,
    row: int,
    col: int,
    v: Any,
    *,
    kind: str = "text",
    locked: bool = True,
    extra: dict | None = None,
    num_format: str | None = None,
) -> None:
    """One cell: a number in its kind's format (``num_format`` overrides it), a date/timestamp
    kind's ``datetime`` as an Excel date, text as a string (quote-prefixed when formula-like)."""
    v = excel_value(v, kind)
    if kind in DATE_KINDS and isinstance(v, dt.datetime):
        v = excel_serial(v)
    v = cell_value(v)
    props: dict[str, Any] = dict(extra or {})
    if not locked:
        props.update(UNLOCKED)
    if isinstance(v, bool):
        ws.write_boolean(row, col, v, fmt.get(**props) if props else None)
    elif isinstance(v, (int, float)):
        if kind != "text":
            props["num_format"] = num_format or NUMBER_FORMATS[kind]
        ws.write_number(row, col, v, fmt.get(**props) if props else None)
    elif v is None or v == "":
        if props:
            ws.write_blank(row, col, None, fmt.get(**props))
    else:
        s = str(v)
        if is_formula_like(s):
            props["quote_prefix"] = True
        if len(s) > 32_000:
            s = s[:32_000]
        ws.write_string(row, col, shared_text(s), fmt.get(**props) if props else None)


# --------------------------------------------------------------------------- fast sheet data
#
# XlsxWriter's per-cell API costs ~4 us a cell (a call, a dimension check and a cell tuple per
# write, then one formatted write per cell): ~4 s for a 100,000 x 9 block. A big rectangular
# block (the pasted Fills, a long Orders/Reconcile table) is instead registered with
# :func:`_add_block`, which turns it into ``<row>`` XML a column at a time: the value types of a
# whole column are checked once, and a column of plain numbers or plain text becomes its cells
# in one comprehension (numbers in their shortest round-trip form, text as shared strings
# registered in XlsxWriter's table in one pass). XlsxWriter still writes everything else
# (styles, the Table definitions and their ranges, column formats, conditional formats,
# validation, protection, print setup, buttons, VBA) and every cell around the blocks: the
# sheet's ``_write_sheet_data`` is replaced by :func:`_fast_sheet_data`, which has XlsxWriter's
# own writer write the rows before, between and after the blocks and merges the XlsxWriter cells
# that share a row with a block (a report's side block next to its table).
#
# Cells come out as :func:`_write` would write them (the same Format objects, shared strings,
# the quote-prefix format for text that starts like a formula, text cut at 32,000 characters);
# text is never a formula (no ``<f>`` is ever generated). The shared-string table itself is
# escaped and written by :func:`_fast_sst_strings` (XlsxWriter's bytes, a run of strings at a
# time). ``tests/test_workbook_io.py`` compares the result cell by cell with the per-cell
# writer (``write_workbook(..., fast=False)``).

_CHUNK_ROWS = 16_384
_ROW_LIMIT = 1_048_576
_MAX_TEXT = 32_000
_ODD_TEXT = re.compile(r"\n[=+\-@\t\r\n]")  # over "\n" + joined column + "\n": formula-like or empty


@dataclass
class CellStyles:
    """The XlsxWriter formats of one column of a block, by what a cell holds (None: no format)."""

    num: Any = None
    text: Any = None
    quoted: Any = None  # text that starts like a formula (= + - @ tab CR): quote prefix
    boolean: Any = None
    blank: Any = None  # empty cells are written (blank, formatted) only when this is set


@dataclass
class _Block:
    first_row: int
    first_col: int
    width: int
    pieces: list[str]  # one per data row: its cells' XML in column order
    row_attr: str = ""  # `` s="N" customFormat="1"`` when the rows have a format
    last_row: int = -1  # formatted (empty) rows run down to here

    @property
    def data_last(self) -> int:
        return self.first_row + len(self.pieces) - 1


def _num_text(v: int | float) -> str | None:
    """``<v>`` text of a number (shortest round-trip form), None when Excel cannot hold it."""
    if isinstance(v, int):
        if -(2**53) < v < 2**53:
            return str(v)
        try:
            v = float(v)
        except OverflowError:
            return None
    return repr(v) if math.isfinite(v) else None


class _Attrs:
    """`` s="N"`` attribute text per cell kind for one column (formats resolved to XF indices)."""

    __slots__ = ("blank", "boolean", "num", "quoted", "text")

    def __init__(self, st: CellStyles, fallback: str):
        def attr(f):
            return f' s="{f._get_xf_index()}"' if f is not None else fallback

        self.num, self.text, self.quoted, self.boolean = attr(st.num), attr(st.text), attr(st.quoted), attr(st.boolean)
        self.blank = attr(st.blank) if st.blank is not None else None


def _cell_xml(ref: str, v: Any, at: _Attrs, sst) -> str:
    """One cell, any value (the general path; columns of plain numbers or text take faster ones)."""
    v = cell_value(v)
    if v is None or v == "":
        return f'<c r="{ref}"{at.blank}/>' if at.blank is not None else ""
    if isinstance(v, bool):
        return f'<c r="{ref}"{at.boolean} t="b"><v>{int(v)}</v></c>'
    if isinstance(v, (int, float)):
        num = _num_text(v)
        if num is not None:
            return f'<c r="{ref}"{at.num}><v>{num}</v></c>'
    s = str(v)
    attr = at.quoted if is_formula_like(s) else at.text
    if len(s) > _MAX_TEXT:
        s = s[:_MAX_TEXT]
    return f'<c r="{ref}"{attr} t="s"><v>{sst._get_shared_string_index(shared_text(s))}</v></c>'


def _plain_texts(values: tuple) -> bool:
    """True when no text of the column is empty, starts like a formula, needs cutting or the
    rich-text guard (one scan of the joined column instead of one test per cell)."""
    big = "\n".join(values)
    if "<r>" in big or _ODD_TEXT.search(f"\n{big}\n"):
        return False
    return len(big) <= _MAX_TEXT or max(map(len, values)) <= _MAX_TEXT


def _finite_numbers(values: tuple, kinds: set) -> bool:
    """All finite, and every int exact as a double (else the general path writes each cell)."""
    try:
        arr = np.fromiter(values, dtype=float, count=len(values))
    except (OverflowError, ValueError, TypeError):
        return False
    if not np.isfinite(arr).all():
        return False
    return int not in kinds or bool((np.abs(arr) < 2.0**53).all())


def _shared_indices(sst, values: tuple) -> list[int]:
    """Shared-string indices of a column of texts (new ones added to XlsxWriter's table)."""
    table = sst.string_table
    added = 0
    for s in dict.fromkeys(values):
        if s not in table:
            sst._get_shared_string_index(s)
            added += 1
    sst.count += len(values) - added
    return list(map(table.__getitem__, values))


def _column_xml(values: tuple, rn: list[str], letter: str, at: _Attrs, sst) -> list[str]:
    """The cells of one column (``rn``: the 1-based row numbers as text), '' where no cell."""
    kinds = set(map(type, values))
    if kinds and kinds <= {float, int} and _finite_numbers(values, kinds):
        head, mid = f'<c r="{letter}', f'"{at.num}><v>'
        if float in kinds:
            return [f"{head}{r}{mid}{v!r}</v></c>" for r, v in zip(rn, values)]
        return [f"{head}{r}{mid}{v}</v></c>" for r, v in zip(rn, values)]
    if kinds == {str} and _plain_texts(values):
        head, mid = f'<c r="{letter}', f'"{at.text} t="s"><v>'
        return [f"{head}{r}{mid}{i}</v></c>" for r, i in zip(rn, _shared_indices(sst, values))]
    return [_cell_xml(f"{letter}{r}", v, at, sst) for r, v in zip(rn, values)]


def _fallback_attr(ws, row_fmt, col: int) -> str:
    """XlsxWriter's ``s`` for a cell without a format: the row's format, else the column's."""
    f = row_fmt
    if f is None:
        f = getattr(ws.col_info.get(col), "column_format", None)
    return f' s="{f._get_xf_index()}"' if f is not None else ""


def _add_block(
    ws,
    first_row: int,
    first_col: int,
    rows: list,
    width: int,
    styles: list[CellStyles],
    head_styles: list[CellStyles] | None = None,
    row_fmt=None,
    last_row: int = -1,
) -> None:
    """Write ``rows`` (ragged allowed; ``rows[0]`` with ``head_styles`` when given) at
    (``first_row``, ``first_col``) through the fast path: the cells' XML is made now (shared
    strings must be known before XlsxWriter writes its table) and written by
    :func:`_fast_sheet_data`. ``row_fmt``: the format of every row down to ``last_row``.
    Set column formats first: a cell without a format of its own takes the row's, else the
    column's format at this point."""

    rows = rows[: max(0, _ROW_LIMIT - first_row)]
    last_row = min(max(last_row, first_row + len(rows) - 1), _ROW_LIMIT - 1)
    sst = ws.str_table
    attrs = [_Attrs(st, _fallback_attr(ws, row_fmt, first_col + j)) for j, st in enumerate(styles[:width])]
    letters = [_col_letter(first_col + j) for j in range(width)]
    pieces: list[str] = []
    start = 0
    if head_styles is not None and rows:
        hat = [_Attrs(st, _fallback_attr(ws, row_fmt, first_col + j)) for j, st in enumerate(head_styles[:width])]
        pieces.append(
            "".join(
                _cell_xml(f"{letters[j]}{first_row + 1}", v, hat[j], sst) for j, v in enumerate(list(rows[0])[:width])
            )
        )
        start = 1
    for c0 in range(start, len(rows), _CHUNK_ROWS):
        chunk = rows[c0 : c0 + _CHUNK_ROWS]
        rn = list(map(str, range(first_row + c0 + 1, first_row + c0 + len(chunk) + 1)))
        cols = list(itertools.zip_longest(*chunk, fillvalue=None))[:width]
        cells = [_column_xml(col, rn, letters[j], attrs[j], sst) for j, col in enumerate(cols)]
        pieces += map("".join, zip(*cells)) if cells else [""] * len(chunk)
    block = _Block(
        first_row,
        first_col,
        width,
        pieces,
        last_row=last_row,
        row_attr=f' s="{row_fmt._get_xf_index()}" customFormat="1"' if row_fmt is not None else "",
    )
    for other in getattr(ws, "_xlexec_blocks", []):
        rows_meet = not (block.last_row < other.first_row or other.last_row < block.first_row)
        cols_meet = not (
            first_col + max(width, 1) <= other.first_col or other.first_col + max(other.width, 1) <= first_col
        )
        if rows_meet and cols_meet:
            raise ValueError("fast blocks overlap")
    if not hasattr(ws, "_xlexec_blocks"):
        ws._xlexec_blocks = []
        ws._write_sheet_data = lambda: _fast_sheet_data(ws)
    ws._xlexec_blocks.append(block)
    ws._check_dimensions(first_row, first_col)
    ws._check_dimensions(last_row, first_col + max(width, 1) - 1)


def _fast_sheet_data(ws) -> None:
    """``<sheetData>``: XlsxWriter's rows around the blocks, the blocks' rows as made."""
    clusters: list[list[_Block]] = []
    for b in sorted(ws._xlexec_blocks, key=lambda b: b.first_row):  # blocks sharing rows go together
        if clusters and b.first_row <= max(x.last_row for x in clusters[-1]):
            clusters[-1].append(b)
        else:
            clusters.append([b])
    lo, hi = ws.dim_rowmin, ws.dim_rowmax
    ws._xml_start_tag("sheetData")
    try:
        cursor = lo
        for cl in clusters:
            r0, r1 = cl[0].first_row, max(b.last_row for b in cl)
            if cursor <= r0 - 1:
                ws.dim_rowmin, ws.dim_rowmax = cursor, r0 - 1
                ws._write_rows()
            _write_cluster(ws, sorted(cl, key=lambda b: b.first_col), r0, r1)
            cursor = r1 + 1
        if cursor <= hi:
            ws.dim_rowmin, ws.dim_rowmax = cursor, hi
            ws._write_rows()
    finally:
        ws.dim_rowmin, ws.dim_rowmax = lo, hi
    ws._xml_end_tag("sheetData")


def _write_cluster(ws, blocks: list[_Block], r0: int, r1: int) -> None:
    fh = ws.fh
    # XlsxWriter's own content inside these rows (e.g. a report's side block next to its table)
    extra = {r for r, cells in ws.table.items() if cells and r0 <= r <= r1} | {r for r in ws.row_info if r0 <= r <= r1}
    if len(blocks) == 1 and not extra:
        b = blocks[0]
        ra = b.row_attr
        for c0 in range(0, len(b.pieces), _CHUNK_ROWS):
            fh.write(
                "".join(
                    f'<row r="{r}"{ra}>{body}</row>' if body else f'<row r="{r}"{ra}/>' if ra else ""
                    for r, body in zip(range(r0 + 1 + c0, b.data_last + 2), b.pieces[c0 : c0 + _CHUNK_ROWS])
                )
            )
        if ra and b.last_row > b.data_last:
            fh.write("".join(f'<row r="{r}"{ra}/>' for r in range(b.data_last + 2, b.last_row + 2)))
        return
    buf: list[str] = []
    for r in range(r0, r1 + 1):
        owners = [b for b in blocks if b.first_row <= r <= b.last_row]
        ra = next((b.row_attr for b in owners if b.row_attr), "")
        parts = [(b, b.pieces[r - b.first_row] if r <= b.data_last else "") for b in owners]
        if r in extra:
            fh.write("".join(buf))
            buf = []
            _write_merged_row(ws, r, ra, parts)
            continue
        body = "".join(p for _b, p in parts)
        if body:
            buf.append(f'<row r="{r + 1}"{ra}>{body}</row>')
        elif ra:
            buf.append(f'<row r="{r + 1}"{ra}/>')
    fh.write("".join(buf))


def _write_merged_row(ws, r: int, ra: str, parts: list[tuple[_Block, str]]) -> None:
    """A block row that also holds XlsxWriter cells (outside the blocks' columns): every cell
    in column order; a cell XlsxWriter holds inside a block's columns gives way to the block."""
    fh = ws.fh
    cells = ws.table.get(r) or {}
    inside = [(b.first_col, b.first_col + b.width - 1) for b, _ in parts]
    own = sorted(c for c in cells if not any(a <= c <= z for a, z in inside))
    if r in ws.row_info:
        ws._write_row(r, None, ws.row_info[r])
    else:
        fh.write(f'<row r="{r + 1}"{ra}>')
    items = [(c, None) for c in own] + [(b.first_col, xml) for b, xml in parts]
    for c, xml in sorted(items, key=lambda x: x[0]):
        if xml is None:
            ws._write_cell(r, c, cells[c])
        else:
            fh.write(xml)
    fh.write("</row>")


_SST_CHUNK = 4096
_SST_ODD = re.compile(r"[\x01-\x08\x0b-\x1f\ufffe\uffff]|_x[0-9a-fA-F]{4}_|<r>")  # control chars, escapes, rich text
_SST_EDGE = re.compile(r"\x00\s|\s\x00")  # leading/trailing space next to the "\x00" separators


def _fast_sst_strings(self) -> None:
    """``SharedStrings._write_sst_strings``, vectorised: a run of strings that needs no
    ``_xHHHH_`` escapes, ``xml:space`` or rich text is escaped and written in one step (the
    same bytes XlsxWriter writes one string at a time); any other run goes string by string
    through XlsxWriter's own ``_write_si``."""
    strings = self.string_table.string_array
    for i in range(0, len(strings), _SST_CHUNK):
        chunk = strings[i : i + _SST_CHUNK]
        big = "\x00".join(chunk)
        if big.count("\x00") == len(chunk) - 1 and not _SST_ODD.search(big) and not _SST_EDGE.search(f"\x00{big}\x00"):
            big = big.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            self.fh.write("<si><t>" + big.replace("\x00", "</t></si><si><t>") + "</t></si>")
        else:
            for string in chunk:
                self._write_si(string)


@functools.lru_cache(maxsize=1)
def _workbook_class():
    """``xlsxwriter.Workbook`` whose packager writes the shared strings with
    :func:`_fast_sst_strings` (``Workbook._get_packager`` is XlsxWriter's override point)."""

    class _SharedStrings(SharedStrings):
        _write_sst_strings = _fast_sst_strings

    class _Packager(Packager):
        def _write_shared_strings_file(self) -> None:
            sst = _SharedStrings()
            sst.string_table = self.workbook.str_table
            if not self.workbook.str_table.count:
                return
            sst._set_xml_writer(self._filename("xl/sharedStrings.xml"))
            sst._assemble_xml_file()

    class _Workbook(xlsxwriter.Workbook):
        def _get_packager(self):
            return _Packager()

    return _Workbook


def _cell_styles(
    fmt: _Fmt, kind: str, *, locked: bool = True, extra: dict | None = None, num_format: str | None = None
) -> CellStyles:
    """The formats :func:`_write` gives a column's cells, by what they hold."""
    props: dict[str, Any] = dict(extra or {})
    if not locked:
        props.update(UNLOCKED)
    plain = fmt.get(**props) if props else None
    num = fmt.get(**props, num_format=num_format or NUMBER_FORMATS[kind]) if kind != "text" else plain
    return CellStyles(num=num, text=plain, quoted=fmt.get(**props, quote_prefix=True), boolean=plain, blank=plain)


def _protect(ws) -> None:
    ws.protect(
        "",
        {
            "autofilter": True,
            "sort": True,
            "format_columns": True,
            "format_rows": True,
            "select_locked_cells": True,
            "select_unlocked_cells": True,
            "objects": False,
        },
    )


def _width(values: Iterable[Any], header: str) -> float:
    n = len(str(header))
    for i, v in enumerate(values):
        if i > 500:
            break
        v = cell_value(v)
        if v is None:
            continue
        n = max(n, len(f"{v:,.2f}") + 2 if isinstance(v, float) else len(str(v)))
    return float(min(max(n + 2, 8), 60))


def _title(ws, fmt: _Fmt, sheet: SheetData, width_cols: int = 6) -> None:
    ws.write_string(TITLE_ROW, 0, sheet.title, fmt.get(bold=True, font_size=14, font_color="#1F3864"))
    if sheet.summary:
        _write(ws, fmt, SUMMARY_ROW, 0, sheet.summary, extra={"italic": True, "font_color": "#595959"})


def _table_cells(t: Table) -> tuple[list[str], list[str], list[list[Any]]]:
    """A Table's column kinds, number formats and rows as cells: each value as its declared
    kind holds it (dates and timestamps as Excel serial numbers, shares rounded)."""
    kinds = [t.kind(c) for c in t.columns]
    formats = [
        shares_format(r[j] for r in t.rows if j < len(r)) if k == "shares" else NUMBER_FORMATS[k]
        for j, k in enumerate(kinds)
    ]
    convert = [j for j, k in enumerate(kinds) if k in DATE_KINDS or k == "shares"]
    if not convert:
        return kinds, formats, t.rows
    rows = []
    for r in t.rows:
        r = list(r)
        for j in convert:
            if j < len(r):
                v = excel_value(r[j], kinds[j])
                r[j] = excel_serial(v) if isinstance(v, dt.datetime) else v
        rows.append(r)
    return kinds, formats, rows


#: minimum column widths (characters) of the kinds whose cells are longer than their numbers
_KIND_WIDTH = {"date": 12.0, "timestamp": 20.0}
#: the width (characters) each sheet's Tables gave a column so far: Tables stacked in one
#: column keep the widest (XlsxWriter keeps only the last width set, in pixels)
_TABLE_WIDTHS: weakref.WeakKeyDictionary[Any, dict[int, float]] = weakref.WeakKeyDictionary()


def _table(
    ws, fmt: _Fmt, t: Table, *, first_row: int = HEADER_ROW, first_col: int = 0, header_format=None
) -> tuple[int, int]:
    """Write an Excel Table; returns its (last_row, last_col) (0-based). ``header_format``: the
    header cells' format (default none: the Table style's look, locked). Every column's format
    is its declared kind's (:data:`~xlexec.excel.layout.TABLE_SCHEMAS`); a column whose unit
    differs by row (``t.cell_kinds``) is written cell by cell."""
    ncols = len(t.columns)
    nrows = max(1, len(t.rows))
    last_row = first_row + nrows
    last_col = first_col + ncols - 1
    kinds, formats, rows = _table_cells(t)
    if fmt.fast and rows and not t.cell_kinds:
        width = max(map(len, rows))
        styles = [
            _cell_styles(fmt, kinds[j], locked=t.columns[j] not in t.inputs, num_format=formats[j])
            if j < ncols
            else _cell_styles(fmt, "text", locked=True)
            for j in range(width)
        ]
        _add_block(ws, first_row + 1, first_col, rows, width, styles)
    else:
        for i, r in enumerate(rows):
            for j, v in enumerate(r):
                c = t.columns[j] if j < ncols else ""
                k = t.cell_kinds.get((i, c), kinds[j] if j < ncols else "text")
                _write(
                    ws,
                    fmt,
                    first_row + 1 + i,
                    first_col + j,
                    v,
                    kind=k,
                    locked=c not in t.inputs,
                    num_format=formats[j] if j < ncols and k == kinds[j] else None,
                )
    if not t.rows:
        for j, c in enumerate(t.columns):
            if c in t.inputs:
                _write(ws, fmt, first_row + 1, first_col + j, None, locked=False)
    cols = []
    for j, c in enumerate(t.columns):
        spec: dict[str, Any] = {"header": t.header(c)}
        if header_format is not None:
            spec["header_format"] = header_format
        if kinds[j] != "text":
            spec["format"] = fmt.get(num_format=formats[j], **({"locked": False} if c in t.inputs else {}))
        cols.append(spec)
    ws.add_table(
        first_row,
        first_col,
        last_row,
        last_col,
        {"name": t.name, "columns": cols, "style": "Table Style Light 9", "autofilter": True},
    )
    for j, c in enumerate(t.columns):
        w = max(_width((r[j] for r in t.rows if j < len(r)), t.header(c)), _KIND_WIDTH.get(kinds[j], 0.0))
        # a column shared with a Table above (the stacked extra Tables) keeps the wider width
        widths = _TABLE_WIDTHS.setdefault(ws, {})
        w = widths[first_col + j] = max(w, widths.get(first_col + j, 0.0))
        ws.set_column(first_col + j, first_col + j, w)
    if t.status_col and t.status_col in t.columns:
        # covers room to grow: xlwings books get rows written into the template
        sc = _col_letter(first_col + t.columns.index(t.status_col))
        rng = f"{a1(first_row + 1, first_col)}:{a1(max(last_row, first_row + CF_ROWS), last_col)}"
        for value, colour in (t.bad_values or {"fail": "fail", "warn": "warn"}).items():
            ws.conditional_format(
                rng,
                {
                    "type": "formula",
                    "criteria": f'=LOWER(${sc}{first_row + 2})="{value.lower()}"',
                    "format": fmt.get(bg_color=STATUS_COLOURS.get(colour, colour)),
                },
            )
    _side_colours(ws, fmt, t, first_row, first_col, last_row)
    return last_row, last_col


def _side_colours(ws, fmt: _Fmt, t: Table, first_row: int, first_col: int, last_row: int) -> None:
    """The Side cell of a Blotter/Orders row in its side's colours (:data:`SIDE_COLOURS`), down to
    every row the tab can hold (:data:`BLOTTER_MAX_ROWS`, :data:`CF_ROWS`). Added after the
    status colours, which therefore keep the row's fill; the side's font colour shows on top."""
    name = SIDE_COLUMNS.get(t.name)
    if name is None or name not in t.columns:
        return
    j = first_col + t.columns.index(name)
    sc = _col_letter(j)
    last = max(last_row, first_row + CF_ROWS, first_row + BLOTTER_MAX_ROWS)
    for side, look in SIDE_COLOURS.items():
        ws.conditional_format(
            first_row + 1,
            j,
            last,
            j,
            {
                "type": "formula",
                "criteria": f'=LOWER(LEFT(${sc}{first_row + 2},{len(side)}))="{side}"',
                "format": fmt.get(**look),
            },
        )


def _side(ws, fmt: _Fmt, sheet: SheetData, col: int) -> None:
    if not sheet.side and not sheet.side_title:
        return
    row = HEADER_ROW
    if sheet.side_title:
        ws.write_string(row, col, sheet.side_title, fmt.get(bold=True))
        row += 1
    maxw = [10.0, 10.0]
    for i, r in enumerate(sheet.side):
        row_kinds = sheet.side_kinds[i] if i < len(sheet.side_kinds) else []
        for j, v in enumerate(r):
            kind = row_kinds[j] if j < len(row_kinds) else "text"
            if kind == "text" and isinstance(v, float):  # an undeclared figure: no raw float
                kind = "number"
            mono = len(r) == 1
            _write(ws, fmt, row, col + j, v, kind=kind, extra={"font_name": "Consolas"} if mono else None)
            if not mono and j < 2:
                maxw[j] = max(maxw[j], min(45.0, len(str(cell_value(v) or "")) + 2))
        row += 1
    ws.set_column(col, col, maxw[0])
    ws.set_column(col + 1, col + 1, max(maxw[1], 70.0 if any(len(r) == 1 for r in sheet.side) else 0.0))


def _report_sheet(ws, fmt: _Fmt, sheet: SheetData, wb=None) -> None:
    _title(ws, fmt, sheet)
    last_row, last_col = HEADER_ROW, 5
    if sheet.table is not None:
        last_row, last_col = _table(ws, fmt, sheet.table)
        if sheet.table.name == "tblBlotter":
            _unlock_blotter_rows(ws, fmt, sheet.table)
    if sheet.extra_tables:
        last_row = max(last_row, _extra_tables(ws, fmt, wb, sheet))
    _side(ws, fmt, sheet, side_col(sheet))
    ws.freeze_panes(FIRST_DATA_ROW, 0)
    ws.set_landscape()
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(HEADER_ROW)
    print_col = side_col(sheet) + 1 if sheet.side else last_col + _overflow_cols(sheet.table)
    ws.print_area(0, 0, max(last_row, HEADER_ROW + 1 + len(sheet.side)), print_col)
    _protect(ws)


def _extra_tables(ws, fmt: _Fmt, wb, sheet: SheetData) -> int:
    """The sheet's extra Tables under its first (:func:`extra_positions`), each under its
    title, then their charts (:mod:`xlexec.excel.charts`); returns the last row drawn."""
    pos = extra_positions(sheet)
    last = HEADER_ROW
    for r, t in pos:
        ws.write_string(r - 1, 0, EXTRA_TITLES.get(t.name, t.name), fmt.get(bold=True))
        last, _ = _table(ws, fmt, t, first_row=r)
    if wb is not None and ws.get_name() == "TCA":
        last = max(last, tca_charts(wb, ws, pos, charts_row(sheet)))
    if wb is not None and ws.get_name() == "Monthly":
        last = max(last, monthly_charts(wb, ws, pos, charts_row(sheet)))
    return last


_DEFAULT_COL_WIDTH = 8.43  # Excel's default column width (characters)


def _overflow_cols(t: Table | None) -> int:
    """How many default-width columns the text of a Table's last column runs into past the
    column (the Log's messages): the print area takes them in, so a printout cuts no text."""
    if t is None or not t.rows or t.kind(t.columns[-1]) != "text":
        return 0
    j = len(t.columns) - 1
    longest = max((len(str(cell_value(r[j]) or "")) for r in t.rows[:500] if j < len(r)), default=0)
    spill = longest - _width((r[j] for r in t.rows if j < len(r)), t.header(t.columns[-1])) + 2
    return min(20, math.ceil(spill / _DEFAULT_COL_WIDTH)) if spill > 0 else 0


def _unlock_blotter_rows(ws, fmt: _Fmt, t: Table) -> None:
    """The Blotter's input columns (Include, Limit) unlocked in their yellow look for every
    row the Blotter can hold (:data:`BLOTTER_MAX_ROWS`), below the rows drawn now: a press in
    live Excel writes its rows into these cells, which stay editable."""
    first = FIRST_DATA_ROW + max(1, len(t.rows))
    last = HEADER_ROW + BLOTTER_MAX_ROWS
    for name in t.inputs:
        j = t.columns.index(name)
        f = _cell_styles(fmt, t.kind(name), locked=False).num
        for r in range(first, last + 1):
            ws.write_blank(r, j, None, f)


def _control(ws, fmt: _Fmt, data: BookData, with_buttons: bool) -> None:
    ws.write_string(0, 0, "xlexec — operator control", fmt.get(bold=True, font_size=16, font_color="#1F3864"))
    colour = "#C00000" if data.live else "#548235"
    ws.merge_range(
        "A2:B2",
        data.mode_banner,
        fmt.get(bold=True, font_size=16, font_color="#FFFFFF", bg_color=colour, align="center"),
    )
    for letter, width in CONTROL_WIDTHS.items():
        j = parse_a1(f"{letter}1")[1]
        ws.set_column(j, j, width)
    ws.set_column(7, 7, 30)
    ws.write_string(
        2,
        0,
        "Yellow cells are yours to edit; everything else is written by the buttons.",
        fmt.get(italic=True, font_color="#595959"),
    )
    button_rows = range(BUTTON_FIRST_ROW, BUTTON_FIRST_ROW + len(BUTTONS) - 1)
    heights: dict[int, float] = {}
    for key, ref in CONTROL_CELLS.items():
        r, c = parse_a1(ref)
        ws.write_string(r, 0, CONTROL_LABELS[key], fmt.get(bold=True, valign="top"))
        v = data.control.get(key)
        extra: dict[str, Any] = {"text_wrap": True, "valign": "top"}
        if key == "mode":
            extra.update(bold=True, font_color=colour)
        elif key in ("recommended", "approval", "result", "kill_switch"):
            s = str(v or "").upper()
            first = s.split(":")[0].split(" ")[0]
            if first in ("REJECT", "REJECTED", "ERROR", "REFUSED", "TRIGGERED") or "CHANGED" in s:
                extra.update(bold=True, font_color="#C00000")
            elif first == "CONDITIONAL":
                extra.update(bold=True, font_color="#BF8F00")
            elif first in ("APPROVE", "APPROVED", "OK"):
                extra.update(bold=True, font_color="#375623")
        _write(ws, fmt, r, c, v, locked=key not in INPUT_KEYS, extra=extra)
        heights[r] = control_row_height(cell_value(v), BUTTON_ROW_POINTS if r in button_rows else 15.0)
    for r in button_rows:
        heights.setdefault(r, BUTTON_ROW_POINTS)
    for r, h in heights.items():
        if r in button_rows or h > 15.0:
            ws.set_row(r, h)
    ws.write_string(10, 0, "Operator inputs", fmt.get(bold=True, font_color="#1F3864", underline=1))
    _control_validation(ws, data)
    _control_buttons(ws, fmt, with_buttons)
    ws.write_string(0, 7, "Self-test", fmt.get(bold=True))
    ws.print_area(0, 0, 21, parse_a1(KILL_SWITCH_CELL)[1])
    ws.set_landscape()
    ws.fit_to_pages(1, 1)
    ws.activate()
    _protect(ws)


def _control_validation(ws, data: BookData) -> None:
    """Control's input cells: the decision, Y/N switches, broker formats, the date's length."""
    r, c = parse_a1(CONTROL_CELLS["decision"])
    ws.data_validation(
        r, c, r, c, {"validate": "list", "source": DECISIONS, "error_message": "APPROVED, CONDITIONAL or REJECTED"}
    )
    r, c = parse_a1(CONTROL_CELLS["override"])
    ws.data_validation(r, c, r, c, {"validate": "list", "source": YES_NO})
    r, c = parse_a1(CONTROL_CELLS["slice"])
    ws.data_validation(
        r,
        c,
        r,
        c,
        {"validate": "list", "source": YES_NO, "input_message": "Y: Convert and Submit slice orders above the ADV cap"},
    )
    if data.convert_formats:
        r, c = parse_a1(CONTROL_CELLS["convert_to"])
        ws.data_validation(
            r,
            c,
            r,
            c,
            {
                "validate": "list",
                "source": list(data.convert_formats)[:30],
                "error_message": "pick a broker format from the list",
            },
        )
    r, c = parse_a1(CONTROL_CELLS["trade_date"])
    ws.data_validation(
        r,
        c,
        r,
        c,
        {
            "validate": "any",
            "input_title": "Trade date",
            "input_message": "A date: 2026-12-01, 1-Dec-2026, 01.12.2026 (day.month), or a date Excel "
            "recognised; 12/1/2026 per the config's workbook.slash_dates (default: refused when "
            "it could be either day/month order)",
        },
    )


def _control_buttons(ws, fmt: _Fmt, with_buttons: bool) -> None:
    """Control's buttons in column D (form buttons wired to their Subs; labels naming the
    ``xlexec button`` command in an ``.xlsx``)."""
    ws.set_row(1, 26)
    ws.write_string(0, 3, "Actions", fmt.get(bold=True, font_size=12))
    day_buttons = [b for b in BUTTONS if b[2] != KILL_SWITCH_SUB]
    for i, (caption, _fn, sub) in enumerate(day_buttons):
        row = BUTTON_FIRST_ROW + i
        # the caption also sits in the cell under the button (printouts and PDFs show it)
        ws.write_string(
            row,
            BUTTON_COL,
            caption,
            fmt.get(align="center", valign="vcenter", bg_color="#D9D9D9", border=1, border_color="#7F7F7F"),
        )
        if with_buttons:
            ws.insert_button(
                row,
                BUTTON_COL,
                {"macro": sub, "caption": caption, "width": 170, "height": 26, "x_offset": 2, "y_offset": 1},
            )
        else:
            ws.write_string(
                row, BUTTON_COL + 1, f"xlexec button {_fn.replace('_', '-')}", fmt.get(font_color="#595959")
            )
    _kill_switch_button(ws, fmt, with_buttons)


def _kill_switch_button(ws, fmt: _Fmt, with_buttons: bool) -> None:
    """The Kill Switch (Cancel All) apart from the day's buttons: a red block at
    :data:`KILL_SWITCH_CELL` (form buttons cannot be coloured, so the red is the cells the
    button sits on, with a bold white caption above it)."""
    caption, fn, sub = next(b for b in BUTTONS if b[2] == KILL_SWITCH_SUB)
    r, c = parse_a1(KILL_SWITCH_CELL)
    red = {"bg_color": "#C00000", "font_color": "#FFFFFF", "bold": True, "border": 2, "border_color": "#7F0000"}
    ws.set_column(c - 1, c - 1, 3)
    ws.set_column(c, c, 30)
    ws.write_string(r - 1, c, "EMERGENCY", fmt.get(bold=True, font_color="#C00000"))
    ws.merge_range(r, c, r + 2, c, "KILL SWITCH", fmt.get(**red, align="center", valign="top"))
    if with_buttons:
        ws.insert_button(
            r + 1,
            c,
            {"macro": sub, "caption": caption, "width": 200, "height": 26, "x_offset": 10, "y_offset": 0},
        )
    else:
        ws.write_string(r + 3, c, f"xlexec button {fn.replace('_', '-')}", fmt.get(font_color="#595959"))


def _fills(ws, fmt: _Fmt, data: BookData) -> None:
    ws.write_string(
        0,
        0,
        "Fills — paste the broker's fills below (from A4, header row first)",
        fmt.get(bold=True, font_size=14, font_color="#1F3864"),
    )
    ws.write_string(
        1,
        0,
        "Any supported layout: xlexec broker_fills.csv, Alpaca, IBKR, Schwab, Fidelity. "
        "Then press Import Fills on Control (empty area: the fills are pulled from the broker).",
        fmt.get(italic=True, font_color="#595959"),
    )
    if data.fills_note:
        _write(ws, fmt, 2, 0, data.fills_note, extra={"bold": True})
    unlocked = fmt.get(locked=False)
    # unlock the whole paste area (column and row formats), then write the block as typed
    # text/numbers, header row in bold
    ws.set_column(0, FILLS_MAX_COLS - 1, 14, unlocked)
    block = data.fills_block
    formatted_rows = max(len(block), 1) + 200
    if fmt.fast:
        width = max(map(len, block), default=0)
        if width > FILLS_MAX_COLS:
            block, width = [list(r)[:FILLS_MAX_COLS] for r in block], FILLS_MAX_COLS
        body = _cell_styles(fmt, "text", locked=False)
        body.blank = None  # an empty cell of the paste area stays empty (the row format unlocks it)
        head = _cell_styles(fmt, "text", locked=False, extra={"bold": True})
        head.blank = None
        _add_block(
            ws,
            FILLS_PASTE_ROW,
            0,
            block,
            width,
            [body] * width,
            [head] * width,
            row_fmt=unlocked,
            last_row=FILLS_PASTE_ROW + formatted_rows - 1,
        )
    else:
        for r in range(FILLS_PASTE_ROW, FILLS_PASTE_ROW + formatted_rows):
            ws.set_row(r, None, unlocked)
        for i, row in enumerate(block):
            for j, v in enumerate(row[:FILLS_MAX_COLS]):
                v = cell_value(v)
                if v is None or v == "":
                    continue
                _write(ws, fmt, FILLS_PASTE_ROW + i, j, v, locked=False, extra={"bold": True} if i == 0 else None)
    # each pasted column as wide as its longest text (ids and times are read whole), 14 to 44
    for j in range(min(max(map(len, data.fills_block), default=0), FILLS_MAX_COLS)):
        longest = max((len(str(cell_value(r[j]) or "")) for r in data.fills_block[:500] if j < len(r)), default=0)
        if longest + 2 > 14:
            ws.set_column(j, j, min(44, longest + 2), unlocked)
    ws.freeze_panes(FILLS_PASTE_ROW + 1, 0)
    width = max((len(r) for r in data.fills_block), default=6)
    ws.print_area(0, 0, FILLS_PASTE_ROW + max(len(data.fills_block), 1), max(width, 6) - 1)
    ws.set_landscape()
    ws.fit_to_pages(1, 0)
    _protect(ws)


def _quotes(ws, fmt: _Fmt, data: BookData) -> None:
    """Quotes: title, summary (source, newest timestamp, age), the instructions in A3, the
    ``tblQuotes`` Table (cells unlocked) over an unlocked paste area A:E with number formats,
    each quote's age from G4 down and the id of the shown quotes in H4."""
    sheet = data.sheets["Quotes"]
    assert sheet.table is not None  # the Quotes tab always has its Table (the paste area)
    _title(ws, fmt, sheet)
    ws.write_string(2, 0, QUOTES_HELP, fmt.get(italic=True, font_color="#595959"))
    last_row, _last_col = _table(ws, fmt, sheet.table, header_format=fmt.get(bold=True))
    # the paste area: whole columns A:E unlocked (rows pasted below the Table are read too)
    widths = {"symbol": 10, "timestamp": 30}
    for j, c in enumerate(sheet.table.columns[:QUOTES_MAX_COLUMNS]):
        kind = sheet.table.kind(c)
        ws.set_column(j, j, widths.get(c, 13), fmt.get(locked=False, num_format=NUMBER_FORMATS[kind]))
    if len(sheet.table.columns) == len(QUOTES_COLUMNS):  # F stays free: a pasted bid_size column fits
        ws.set_column(len(QUOTES_COLUMNS), len(QUOTES_COLUMNS), None, fmt.get(locked=False))
    last_dv = FIRST_DATA_ROW + max(len(sheet.table.rows), 1) + CF_ROWS
    ws.data_validation(
        FIRST_DATA_ROW - 1,
        1,
        last_dv,
        3,
        {
            "validate": "decimal",
            "criteria": ">=",
            "value": 0,
            "ignore_blank": True,
            "error_message": "a price in $ (>= 0), or blank",
        },
    )
    col = side_col(sheet)
    _side(ws, fmt, sheet, col)
    ws.set_column(col, col, 22)  # room for "Age at 13:40:00 UTC" next to the id
    ws.set_column(col + 1, col + 1, 14)
    if any(len(r) > 2 for r in sheet.side):  # bid_size / ask_size (shares) next to the ages
        for j, name in enumerate(QUOTES_SIZE_COLUMNS):
            ws.write_string(HEADER_ROW, col + 2 + j, name, fmt.get(bold=True))
            ws.set_column(col + 2 + j, col + 2 + j, 10, fmt.get(num_format=NUMBER_FORMATS["shares"]))
    if data.quotes_shown:
        sr, sc = parse_a1(QUOTES_SHOWN_CELL)
        _write(ws, fmt, sr, sc, data.quotes_shown, extra={"italic": True, "font_color": "#808080"})
    ws.freeze_panes(FIRST_DATA_ROW, 0)
    ws.set_landscape()
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(HEADER_ROW)
    ws.print_area(0, 0, max(last_row, HEADER_ROW + 1 + len(sheet.side)), col + 3)
    _protect(ws)


def _monthly(ws, fmt: _Fmt, wb, data: BookData) -> None:
    sheet = data.sheets["Monthly"]
    _title(ws, fmt, sheet)
    last_row, last_col = _table(ws, fmt, sheet.table) if sheet.table is not None else (HEADER_ROW, 5)
    if sheet.extra_tables:  # the month's benchmark tables under the daily table, then their charts
        last_row = max(last_row, _extra_tables(ws, fmt, wb, sheet))
    col, text_col = monthly_layout(sheet)
    months = data.monthly_months
    mrow = HEADER_ROW
    if months is not None:
        ws.write_string(HEADER_ROW - 1, col, "Month to month (live/monthly_costs.csv)", fmt.get(bold=True))
        last_m, _ = _table(ws, fmt, months, first_row=mrow, first_col=col)
        mrow = last_m + 2
    t = sheet.table
    if t is not None and t.rows and "date" in t.columns:
        n = len(t.rows)
        chart = wb.add_chart({"type": "line"})
        dcol = t.columns.index("date")
        dates = _chart_points(t, "date")
        for name in ("total_cost", "commission", "slippage_usd"):
            if name in t.columns:
                j = t.columns.index(name)
                chart.add_series(
                    {
                        "name": ["Monthly", HEADER_ROW, j],
                        "name_data": [t.header(name)],
                        "categories": ["Monthly", FIRST_DATA_ROW, dcol, FIRST_DATA_ROW + n - 1, dcol],
                        "categories_data": dates,
                        "values": ["Monthly", FIRST_DATA_ROW, j, FIRST_DATA_ROW + n - 1, j],
                        "values_data": _chart_points(t, name),
                        "marker": {"type": "circle"},
                    }
                )
        chart.set_title({"name": "Daily trading costs ($, positive = cost)"})
        chart.set_x_axis(
            {
                "date_axis": True,
                "num_format": NUMBER_FORMATS["date"],
                "num_format_linked": False,
                "label_position": "low",
                "base_unit": "days",
            }
        )
        chart.set_y_axis({"num_format": "$#,##0.00"})
        chart.set_legend({"position": "bottom"})
        chart.set_size({"width": 640, "height": 300})
        ws.insert_chart(mrow, col, chart)
        mrow += 16
    if months is not None and months.rows:
        n = len(months.rows)
        chart = wb.add_chart({"type": "column"})
        mcol = col + months.columns.index("month")
        for name in ("commission_costs", "slippage_costs"):
            if name in months.columns:
                j = col + months.columns.index(name)
                chart.add_series(
                    {
                        "name": ["Monthly", HEADER_ROW, j],
                        "name_data": [months.header(name)],
                        "categories": ["Monthly", FIRST_DATA_ROW, mcol, FIRST_DATA_ROW + n - 1, mcol],
                        "categories_data": _chart_points(months, "month"),
                        "values": ["Monthly", FIRST_DATA_ROW, j, FIRST_DATA_ROW + n - 1, j],
                        "values_data": _chart_points(months, name),
                    }
                )
        chart.set_title({"name": "Costs month to month (% of portfolio)"})
        # labels below the plot: a negative (favourable) cost's bar hangs under the zero line
        chart.set_x_axis({"label_position": "low"})
        chart.set_y_axis({"num_format": "0.00%"})
        chart.set_legend({"position": "bottom"})
        chart.set_size({"width": 640, "height": 300})
        ws.insert_chart(mrow, col, chart)
        mrow += 16
    if sheet.side:
        ws.write_string(HEADER_ROW, text_col, sheet.side_title or "Report", fmt.get(bold=True))
        for i, r in enumerate(sheet.side):
            _write(ws, fmt, HEADER_ROW + 1 + i, text_col, r[0] if r else None, extra={"font_name": "Consolas"})
        ws.set_column(text_col, text_col, 90)
    ws.freeze_panes(FIRST_DATA_ROW, 0)
    ws.set_landscape()
    ws.fit_to_pages(1, 0)
    # print: the daily table, the month-to-month table and both charts (the text is for the screen)
    mlast = col + (len(months.columns) - 1 if months is not None else 9)
    ws.print_area(0, 0, max(mrow, last_row), max(mlast, col + 9))
    _protect(ws)


def _chart_points(t: Table, col: str) -> list[Any]:
    """A chart series' cached points: the column's cells as written (dates as Excel serial
    numbers, numbers as numbers, text as text; None for an empty cell). The Tables' rows go
    through the fast path, not XlsxWriter's cell table, so the chart is given its data: Excel
    shows the cache until it recalculates, and readers that never do (previews, converters)
    show only the cache."""
    j = t.columns.index(col)
    kind = t.kind(col)
    out: list[Any] = []
    for r in t.rows:
        v = excel_value(r[j], kind) if j < len(r) else None
        v = excel_serial(v) if isinstance(v, dt.datetime) else cell_value(v)
        out.append(None if v == "" else v)
    return out


def _conf(ws, fmt: _Fmt, rows: list[Any]) -> None:
    """xlwings.conf: ``rows`` (:func:`merge_conf`'s) from A1 down, the help in column D."""
    for i, row in enumerate(rows):
        if row is None:
            continue
        ws.write_string(i, 0, str(row[0]))
        v = row[1]
        if isinstance(v, bool):
            ws.write_boolean(i, 1, v)
        elif isinstance(v, (int, float)):
            ws.write_number(i, 1, v)
        elif v is not None and str(v) != "":
            ws.write_string(i, 1, str(v))
    for i, line in enumerate(XLWINGS_CONF_HELP):
        ws.write_string(i, 3, line, fmt.get(italic=True, font_color="#595959"))
    ws.set_column(0, 0, 20)
    ws.set_column(1, 1, 40)
    ws.set_column(3, 3, 100)
    # the help lines run on past column D: the print area takes in the columns they reach
    spill = max(len(line) for line in XLWINGS_CONF_HELP) + 2 - 100
    ws.print_area(0, 0, max(len(rows), len(XLWINGS_CONF_HELP)) - 1, 3 + max(0, math.ceil(spill / _DEFAULT_COL_WIDTH)))
    ws.set_landscape()
    ws.fit_to_pages(1, 1)


def fast_writer_available() -> bool:
    """True when the installed XlsxWriter has the hooks :func:`_fast_sheet_data` relies on."""
    needs = [
        (
            Worksheet,
            (
                "_write_sheet_data",
                "_write_rows",
                "_write_row",
                "_write_cell",
                "_check_dimensions",
                "_xml_start_tag",
                "_xml_end_tag",
            ),
        ),
        (Format, ("_get_xf_index",)),
        (SharedStringTable, ("_get_shared_string_index",)),
        (SharedStrings, ("_write_sst_strings", "_write_si", "_set_xml_writer", "_assemble_xml_file")),
        (Packager, ("_write_shared_strings_file", "_filename")),
        (xlsxwriter.Workbook, ("_get_packager",)),
    ]
    return all(hasattr(cls, a) for cls, names in needs for a in names)


def _vba_binary(mods: dict[str, str], classes: dict[str, str] | None = None, extra_sheets: int = 0) -> bytes:
    """The ``vbaProject.bin`` of macro sources ``mods`` and class modules ``classes`` (built once
    per source, then taken from :mod:`xlexec.excel.vba_cache`); every Control button's Sub must
    be in ``mods``. ``extra_sheets``: the operator's sheets after
    xlexec's tabs (codenames ``Sheet14``... as XlsxWriter numbers them)."""
    subs = set(vbaproject.macro_names(mods))
    missing = [sub for _c, _f, sub in BUTTONS if sub not in subs]
    if missing:
        raise ValueError(f"macros/*.bas has no Sub for button(s): {', '.join(missing)}")
    codenames = [CODENAMES[s] for s in SHEETS] + [f"Sheet{len(SHEETS) + i}" for i in range(1, extra_sheets + 1)]
    return vba_cache.vba_project(
        mods,
        classes or {},
        codenames,
        lambda: vbaproject.build_vba_project(mods, sheet_codenames=codenames, class_modules=classes or {}),
    )


def _blotter_validation(ws, bl: Table | None) -> None:
    """Blotter: Include is Y/N, Limit a price in $ (> 0) or blank."""
    if bl is None:
        return
    j = bl.columns.index("Include")
    last = HEADER_ROW + max(BLOTTER_MAX_ROWS, len(bl.rows))
    ws.data_validation(FIRST_DATA_ROW, j, last, j, {"validate": "list", "source": YES_NO})
    k = bl.columns.index("Limit")
    ws.data_validation(
        FIRST_DATA_ROW,
        k,
        last,
        k,
        {
            "validate": "decimal",
            "criteria": ">",
            "value": 0,
            "ignore_blank": True,
            "error_message": "a limit price in $ (> 0), or blank for the default",
        },
    )


def _write_sheets(
    wb,
    fmt: _Fmt,
    data: BookData,
    *,
    with_buttons: bool,
    conf: list[Any] | None = None,
    operator: OperatorContent | None = None,
) -> None:
    """Every tab of :data:`SHEETS`, in order (the order fixes the codenames ``SheetN``), each
    tab's area recorded (:func:`~xlexec.excel.layout.area_floor`) with the ``operator``'s cells
    outside it written back; then the operator's own sheets and names."""
    sheets = {name: wb.add_worksheet(name) for name in SHEETS}
    for name, ws in sheets.items():
        if name == "Control":
            _control(ws, fmt, data, with_buttons=with_buttons)
        elif name == "Fills":
            _fills(ws, fmt, data)
        elif name == "Quotes":
            _quotes(ws, fmt, data)
        elif name == "Monthly":
            _monthly(ws, fmt, wb, data)
        elif name == "xlwings.conf":
            _conf(ws, fmt, merge_conf(conf))
        else:
            _report_sheet(ws, fmt, data.sheets[name], wb)
    _blotter_validation(sheets["Blotter"], data.sheets["Blotter"].table)
    for name, ws in sheets.items():
        area = drawn_area(ws, area_floor(name, data.sheets.get(name)))
        wb.set_custom_property(AREA_PROPERTY + name, area_ref(area))
        if operator is not None and operator.foreign.get(name):
            operator.covered += write_foreign(ws, fmt.get, name, operator.foreign[name], area)
    if operator is not None:
        for sheet in operator.sheets:
            write_sheet(wb, fmt.get, sheet)
        write_names(wb, operator.names)


def write_workbook(
    path: str | Path,
    data: BookData,
    *,
    vba: bool | None = None,
    macros: dict[str, str] | None = None,
    fast: bool = True,
    xlwings_conf: list[Any] | None = None,
    config_ref: str | None = None,
    operator: OperatorContent | None = None,
    created: dt.datetime | None = None,
) -> Path:
    """Write the whole workbook to ``path`` atomically (temp file in the same folder + os.replace).

    ``vba`` (default: ``path`` ends in ``.xlsm``) embeds the VBA project built from ``macros``
    (default :func:`load_macros`, with xlwings' class modules of :func:`load_class_modules`; given
    ``macros``, no class module) and wires the Control buttons to their Subs; an ``.xlsx`` gets neither
    (the buttons become labels naming the ``xlexec button`` command).

    ``fast`` (default) writes the Fills block and the Tables' rows as generated XML (see
    "fast sheet data" above: a 100,000-row Fills tab in ~1 s instead of ~7 s, same cells and
    formats);
    ``fast=False`` writes every cell through XlsxWriter's API (the reference the tests compare
    against; also used when the installed XlsxWriter lacks the hooks).

    ``xlwings_conf``: the book's ``xlwings.conf`` rows as read (``Inputs.xlwings_conf``), kept
    with xlexec's keys updated (:func:`merge_conf`); None: a new book's rows.

    ``config_ref``: the config path the book records as its defined name ``xlexec_config``
    (relative to the book's folder; default ``config.yaml``, see :mod:`xlexec.excel.bookconfig`).

    ``operator``: what the book held of the operator's own (their sheets, their cells outside
    xlexec's areas, their defined names; :mod:`xlexec.excel.operator_content`), written back;
    its ``covered`` lists the cells the new drawing replaced.

    ``created``: the time written as the file's created/modified properties (aware; the caller's
    ``ctx.now()``, pinned by ``XLEXEC_NOW``, so a rerun at the same time writes the same bytes).
    """

    path = Path(path)
    if vba is None:
        vba = path.suffix.lower() == ".xlsm"
    extra = len(operator.sheets) if operator is not None else 0
    if not vba:
        vba_bin = None
    elif macros is None:
        vba_bin = _vba_binary(load_macros(), load_class_modules(), extra)
    else:
        vba_bin = _vba_binary(macros, extra_sheets=extra)
    fd, tmp = temp_beside(path, ".xlsm" if vba else ".xlsx")
    os.close(fd)
    try:
        fast = fast and fast_writer_available()
        book_class = _workbook_class() if fast else xlsxwriter.Workbook
        wb = book_class(
            tmp,
            {
                "strings_to_formulas": False,
                "strings_to_numbers": False,
                "strings_to_urls": False,
                "nan_inf_to_errors": False,
                # each part in memory, not a temp file of its own written, zipped and removed
                # (~70 files a press: 0.2-0.3 s on a slow disk or under a virus scanner; a
                # 100,000-row book peaks ~60 MB higher)
                "in_memory": True,
            },
        )
        # the book's created/modified time: ``created`` (the step's clock), else XlsxWriter's now
        stamp = {"created": created.astimezone(dt.UTC).replace(tzinfo=None)} if created is not None else {}
        wb.set_properties(
            {
                **stamp,
                "title": f"xlexec {data.day or ''}".strip(),
                "subject": "trade execution blotter",
                "author": "xlexec",
                "company": "",
                "comments": "Generated by xlexec; a view of live/",
            }
        )
        fmt = _Fmt(wb, fast=fast)
        _write_sheets(wb, fmt, data, with_buttons=bool(vba), conf=xlwings_conf, operator=operator)
        wb.define_name(CONFIG_NAME, name_formula(config_ref or DEFAULT_REF))
        if vba_bin is not None:
            vbaproject.add_to_xlsxwriter(wb, vba_bin)
        wb.close()
        crash_point("before_rename:" + path.name)  # test hook (xlexec.faults)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
