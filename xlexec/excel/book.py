"""Book adapters: one interface for the buttons over live Excel, xlwings' JSON Book and a file.

A button function never touches Excel directly; it talks to a :class:`BookAdapter`:

* :class:`XlwingsBook` wraps an ``xlwings.Book``: the caller in desktop Excel
  (``xw.Book.caller()`` from ``RunPython``) or the JSON-backed Book of xlwings Server/Lite
  (``xw.Book(json=payload)``; its writes become the ``actions`` returned to the client).
  Reads are whole ranges, writes are whole ranges (one call per block, never cell by cell).
* :class:`FileBook` is the headless mode (``xlexec button NAME --book FILE``): the operator's
  inputs are read with python-calamine (:func:`xlexec.excel.reader.read_book_file`), and
  :meth:`FileBook.commit` re-renders the whole workbook from the system of record with those
  inputs carried over (XlsxWriter, VBA project and buttons included), replacing the file
  atomically. A failed step never calls ``commit``: the file stays as it was. What the
  operator added (their sheets, their cells outside xlexec's areas, their defined names) is
  read with the inputs (:func:`xlexec.excel.operator_content.read_operator_content`, before the
  step) and written back by ``commit``.

The layout (which cell holds what) lives in :mod:`xlexec.excel.layout`, the reading of the
inputs in :mod:`xlexec.excel.reader` (its names are re-exported here for the callers that
imported them from this module).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from pathlib import Path
from typing import Any

from xlexec.errors import InputError
from xlexec.excel.bookconfig import local_book_path, read_ref_file, read_ref_xlwings
from xlexec.excel.layout import (
    CONTROL_CELLS,
    CONTROL_FIRST,
    CONTROL_LAST,
    EXTRA_TITLES,
    FILLS_PASTE_ROW,
    FIRST_DATA_ROW,
    HEADER_ROW,
    INPUT_KEYS,
    NUMBER_FORMATS,
    QUOTES_SIZE_COLUMNS,
    SHEETS,
    SUMMARY_ROW,
    TITLE_ROW,
    BookData,
    Inputs,
    SheetData,
    Table,
    a1,
    area_floor,
    cell_value,
    excel_value,
    extra_positions,
    monthly_layout,
    parse_a1,
    shares_format,
    side_col,
)
from xlexec.excel.operator_content import OperatorContent, read_operator_content
from xlexec.excel.reader import (
    QUOTES_TAB,
    check_book_extent,
    inputs_from_grids,
    normalise_block,
    parse_shown,
    pending_quotes,
    quotes_digest,
    quotes_from_grid,
    read_book_file,
    read_xlwings_conf,
    read_xlwings_inputs,
    remote_values,
    sheet_grid,
    shown_text,
    used_extent,
)
from xlexec.excel.render import render_workbook
from xlexec.formats.csvio import safe_text

__all__ = [
    "QUOTES_TAB",
    "BookAdapter",
    "FileBook",
    "XlwingsBook",
    "blocks_for",
    "inputs_from_grids",
    "normalise_block",
    "open_book",
    "parse_shown",
    "pending_quotes",
    "quotes_digest",
    "quotes_from_grid",
    "shown_text",
]


# --------------------------------------------------------------------------- adapters


class BookAdapter:
    """What the buttons need from a workbook (see the module docstring)."""

    kind = "abstract"

    def inputs(self) -> Inputs:  # pragma: no cover - interface
        raise NotImplementedError

    def conf(self) -> dict[str, str]:
        return {}

    def config_ref(self) -> str | None:
        """The config path the book records, relative to its folder (see
        :mod:`xlexec.excel.bookconfig`), else None."""
        return None

    @property
    def path(self) -> Path | None:
        return None

    def status(self, text: str) -> None:
        pass

    def alert(self, message: str, title: str = "xlexec") -> None:
        pass

    def confirm(self, message: str, title: str = "xlexec") -> bool:
        return False

    def show(self, data: BookData, sheets: list[str]) -> None:
        """Write the given tabs of ``data`` back (xlwings books); files re-render in commit."""

    def commit(self, ctx, day: str, data: BookData | None = None) -> None:
        """Write the whole book back from the system of record (files); ``data``: the view
        model already collected for this day and these inputs."""


class FileBook(BookAdapter):
    """A workbook file on disk (headless mode). ``live_confirmed`` is the CLI's ``--live``."""

    kind = "file"

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        live_confirmed: bool = False,
        echo=None,
        overrides: dict[str, str] | None = None,
    ):
        self._path = Path(path)
        self.overrides = dict(overrides or {})
        self.live_confirmed = live_confirmed
        self.messages: list[str] = []
        self.echo = echo
        self._inputs: Inputs | None = None
        self._conf: dict[str, str] = {}
        self._ref: str | None = None
        self._ref_read = False
        self._operator: OperatorContent | None = None

    @property
    def path(self) -> Path:
        return self._path

    def inputs(self) -> Inputs:
        if self._inputs is not None:
            return self._inputs
        if not self._path.exists():
            self._inputs = Inputs()
        else:
            self._inputs, self._conf = read_book_file(self._path)
            self._operator = read_operator_content(self._path)
        self._apply_overrides()
        return self._inputs

    def _apply_overrides(self) -> None:
        for key, value in self.overrides.items():
            if key not in INPUT_KEYS:
                raise InputError("--set", f"unknown Control input {key!r}; one of: {', '.join(INPUT_KEYS)}")
            setattr(self._inputs, key, value.strip() or None)

    def conf(self) -> dict[str, str]:
        self.inputs()
        return self._conf

    def config_ref(self) -> str | None:
        if not self._ref_read:
            if self._path.exists():
                check_book_extent(self._path)  # a hostile file is refused before anything reads it
            self._ref = read_ref_file(self._path) if self._path.exists() else None
            self._ref_read = True
        return self._ref

    def status(self, text: str) -> None:
        if self.echo:
            self.echo(text)

    def alert(self, message: str, title: str = "xlexec") -> None:
        self.messages.append(message)

    def confirm(self, message: str, title: str = "xlexec") -> bool:
        return bool(self.live_confirmed)

    def commit(self, ctx, day: str, data: BookData | None = None) -> None:
        """Re-render the file for ``day`` with the inputs carried over; ``data``: the view model
        the caller has just collected for them (else it is collected here)."""
        inputs = self.inputs()
        render_workbook(
            ctx, day, self._path, inputs=inputs, data=data, config_ref=self.config_ref(), operator=self._operator
        )
        if self._operator is not None and self._operator.covered:
            shown = ", ".join(self._operator.covered[:5]) + (" ..." if len(self._operator.covered) > 5 else "")
            self.status(f"xlexec: the redrawn reports now cover {len(self._operator.covered)} of your cells: {shown}")


class XlwingsBook(BookAdapter):
    """An ``xlwings.Book``: desktop Excel (``xw.Book.caller()``) or the JSON-backed remote Book."""

    def __init__(self, book: Any, *, live_confirmed: bool = False) -> None:
        self.book = book
        #: the operator answered Yes in the macro's own LIVE dialog (macros/Buttons.bas,
        #: default button No) before the press reached Python: no second dialog
        self.live_confirmed = live_confirmed
        try:
            self.remote = book.app.engine.type == "remote"
        except Exception:  # noqa: BLE001
            self.remote = False
        self.kind = "json" if self.remote else "excel"
        self.alerts: list[str] = []

    # -- reading
    def _used(self, sheet) -> tuple[int, int]:
        return used_extent(sheet)

    def _raw(self, sheet) -> list[list[Any]] | None:
        return remote_values(sheet, self.remote)

    def _grid(self, sheet, first_row0: int, ncols: int | None = None) -> list[list[Any]]:
        return sheet_grid(sheet, first_row0, ncols, remote=self.remote)

    def inputs(self) -> Inputs:
        return read_xlwings_inputs(self.book, remote=self.remote)

    def conf(self) -> dict[str, str]:
        return read_xlwings_conf(self.book)

    def config_ref(self) -> str | None:
        return read_ref_xlwings(self.book)

    @property
    def path(self) -> Path | None:
        """The book's local file: ``fullname`` (an OneDrive/SharePoint URL mapped to the synced
        folder as xlwings maps it); None for an unsaved or remote book."""
        try:
            full = self.book.fullname
        except Exception:  # noqa: BLE001
            return None
        if self.remote:
            return None
        return local_book_path(full, self.conf() if "://" in str(full) else None)

    # -- feedback
    def status(self, text: str) -> None:
        with contextlib.suppress(Exception):  # not available on every engine (Office.js)
            self.book.app.status_bar = text

    def alert(self, message: str, title: str = "xlexec") -> None:
        self.alerts.append(message)
        with contextlib.suppress(Exception):
            self.book.app.alert(message, title=title, buttons="ok", mode="critical")

    def confirm(self, message: str, title: str = "xlexec") -> bool:
        if self.live_confirmed and not self.remote:
            return True
        if self.remote:
            # Office.js/Google Sheets dialogs are asynchronous: the answer cannot come back
            # inside this call, so live trading from the remote client is refused.
            return False
        try:
            return str(self.book.app.alert(message, title=title, buttons="yes_no", mode="critical")).lower() == "yes"
        except Exception:  # noqa: BLE001
            return False

    # -- writing (whole ranges)
    def _unprotect(self, sheet) -> bool:
        if self.remote:
            return False
        try:
            sheet.api.Unprotect()
            return True
        except Exception:  # noqa: BLE001
            return False

    def _protect(self, sheet) -> None:
        with contextlib.suppress(Exception):
            sheet.api.Protect(
                DrawingObjects=False,
                Contents=True,
                Scenarios=True,
                AllowFiltering=True,
                AllowSorting=True,
                AllowFormattingColumns=True,
                AllowFormattingRows=True,
            )

    def show(self, data: BookData, sheets: list[str]) -> None:
        for name in sheets:
            if name not in SHEETS or name == "xlwings.conf":
                continue
            try:
                sheet = self.book.sheets[name]
            except Exception:  # noqa: BLE001 - a workbook built before this tab existed
                continue
            was = self._unprotect(sheet)
            try:
                for ref, values, clear in blocks_for(data, name, self._used(sheet)):
                    if clear:
                        sheet.range(ref).clear_contents()
                    elif values:
                        sheet.range(ref).value = values
                for ref, number_format in table_formats(data, name):
                    with contextlib.suppress(Exception):
                        sheet.range(ref).number_format = number_format
                self._resize_table(sheet, data, name)
            finally:
                if was:
                    self._protect(sheet)

    def _resize_table(self, sheet, data: BookData, name: str) -> None:
        sd = data.sheets.get(name)
        if sd is None or sd.table is None:
            return
        try:
            t = sheet.tables[sd.table.name]
            n = max(1, len(sd.table.rows))
            t.resize(sheet.range((HEADER_ROW + 1, 1), (HEADER_ROW + 1 + n, len(sd.table.columns))))
        except Exception:  # noqa: BLE001 - the table may have been renamed/removed by the user
            pass


# --------------------------------------------------------------------------- grids for xlwings writes


def _safe(v):
    if isinstance(v, dt.datetime):  # a date/timestamp column's value: xlwings writes an Excel date
        return v
    v = cell_value(v)
    return safe_text(v) if isinstance(v, str) else v


def _block(rows: list[list[Any]]) -> list[list[Any]]:
    width = max((len(r) for r in rows), default=0)
    return [[_safe(v) for v in r] + [None] * (width - len(r)) for r in rows]


def _typed_rows(t: Table) -> list[list[Any]]:
    """A Table's rows with each value as its declared kind holds it (dates as ``datetime``)."""
    kinds = [t.kind(c) for c in t.columns]
    return [[excel_value(v, kinds[j]) if j < len(kinds) else v for j, v in enumerate(r)] for r in t.rows]


def table_formats(data: BookData, name: str) -> list[tuple[str, str]]:
    """The number format of each data column of tab ``name``'s Table(s), as (range, format):
    what an xlwings press sets after writing the rows (a template cell has no format of its own)."""
    sd = data.sheets.get(name)
    # (Table, 0-based header row, 0-based first column)
    tables: list[tuple[Table, int, int]] = [(sd.table, HEADER_ROW, 0)] if sd is not None and sd.table else []
    if name == "Monthly" and data.monthly_months is not None and sd is not None:
        tables.append((data.monthly_months, HEADER_ROW, monthly_layout(sd)[0]))
    if sd is not None and sd.extra_tables:
        tables += [(t, r, 0) for r, t in extra_positions(sd) if t.rows]
    out = []
    for t, r0, c0 in tables:
        last = r0 + max(1, len(t.rows))
        for j, c in enumerate(t.columns):
            k = t.kind(c)
            if k == "text" or t.cell_kinds:
                continue
            f = shares_format(r[j] for r in t.rows if j < len(r)) if k == "shares" else NUMBER_FORMATS[k]
            out.append((f"{a1(r0 + 1, c0 + j)}:{a1(last, c0 + j)}", f))
    return out


def extra_block(sd: SheetData) -> tuple[str, list[list[Any]]] | None:
    """The sheet's extra Tables (:func:`xlexec.excel.layout.extra_positions`), each under its
    title, as one whole-range write from the first title down (blank rows between): what the
    headless writer draws as Tables, written as plain cells in live Excel (no charts there)."""
    pos = extra_positions(sd)
    if not pos:
        return None
    top = pos[0][0] - 1
    rows: list[list[Any]] = []
    for r, t in pos:
        rows += [[] for _ in range(r - 1 - top - len(rows))]
        rows.append([EXTRA_TITLES.get(t.name, t.name)])
        rows += [t.headers] + _typed_rows(t)
    return a1(top, 0), _block(rows)


def blocks_for(data: BookData, name: str, used: tuple[int, int]) -> list[tuple[str, list[list[Any]] | None, bool]]:
    """The whole-range writes that show tab ``name`` of ``data``: ``(ref, values, is_clear)``.

    ``used`` is the sheet's current (last row, last column), 1-based, so stale rows are cleared
    with one call before the new block is written with one call. The clear stops at the last
    column of xlexec's area (:func:`xlexec.excel.layout.area_floor`): the operator's columns to
    the right of a report are kept.
    """
    last_row, last_col = used
    out: list[tuple[str, list[list[Any]] | None, bool]] = []
    if name == "Control":
        r0, _ = parse_a1(CONTROL_FIRST)
        r1, _ = parse_a1(CONTROL_LAST)
        col = [[None] for _ in range(r1 - r0 + 1)]
        for key, ref in CONTROL_CELLS.items():
            r, _c = parse_a1(ref)
            col[r - r0][0] = data.control.get(key)
        out.append((f"{CONTROL_FIRST}:{CONTROL_LAST}", _block(col), False))
        return out
    if name == "Fills":
        if last_row > FILLS_PASTE_ROW:
            right = min(max(last_col, 1) - 1, area_floor(name)[1])  # the operator's columns stay
            out.append((f"A{FILLS_PASTE_ROW + 1}:{a1(last_row - 1, right)}", None, True))
        out.append(("A3", [[_safe(data.fills_note or "")]], False))
        if data.fills_block:
            out.append((f"A{FILLS_PASTE_ROW + 1}", _block(data.fills_block), False))
        return out
    sd: SheetData = data.sheets[name]
    out.append((f"A{TITLE_ROW + 1}:A{SUMMARY_ROW + 1}", _block([[sd.title], [sd.summary]]), False))
    if last_row > HEADER_ROW + 1:
        # stale rows cleared within xlexec's columns only (layout.area_floor): the operator's
        # columns to the right of the report are theirs, in live Excel as in a headless press
        right = min(max(last_col, 1) - 1, area_floor(name, sd)[1])
        out.append((f"A{FIRST_DATA_ROW}:{a1(last_row - 1, right)}", None, True))
    if sd.table is not None:
        out.append((f"A{HEADER_ROW + 1}", _block([sd.table.headers] + _typed_rows(sd.table)), False))
    if (extra := extra_block(sd)) is not None:
        out.append((extra[0], extra[1], False))
    if name == "Monthly":
        months_col, text_col = monthly_layout(sd)
        if data.monthly_months is not None:
            m = data.monthly_months
            out.append((a1(HEADER_ROW, months_col), _block([m.headers] + _typed_rows(m)), False))
        if sd.side:
            out.append((a1(HEADER_ROW, text_col), _block([[sd.side_title or "Report"]] + sd.side), False))
        return out
    rows = ([[sd.side_title]] if sd.side_title else []) + sd.side
    if name == "Quotes":  # the shown quotes' id sits next to the ages' title: one write for both
        sizes = any(len(r) > 2 for r in sd.side)  # bid_size/ask_size next to the ages (I:J)
        rows = [
            [sd.side_title or None, data.quotes_shown or None] + (list(QUOTES_SIZE_COLUMNS) if sizes else [None, None])
        ] + sd.side
    if rows:
        out.append((a1(HEADER_ROW, side_col(sd)), _block(rows), False))
    return out


def open_book(
    book=None, *, live_confirmed: bool = False, echo=None, overrides: dict[str, str] | None = None
) -> BookAdapter:
    """The adapter for ``book``: ``None`` -> ``xw.Book.caller()``; a path -> :class:`FileBook`;
    an ``xlwings.Book`` -> :class:`XlwingsBook`; an adapter is returned as is."""
    if isinstance(book, BookAdapter):
        return book
    if isinstance(book, (str, os.PathLike)):
        return FileBook(book, live_confirmed=live_confirmed, echo=echo, overrides=overrides)
    if book is None:
        import xlwings as xw

        book = xw.Book.caller()
    return XlwingsBook(book, live_confirmed=live_confirmed)
