"""The operator workbook's layout and its writer (XlsxWriter), VBA project included.

The workbook is a *view*: every tab is drawn from a :class:`BookData` (what
:mod:`xlexec.excel.render` collects from the day's files and the journal) plus the operator's
:class:`Inputs` (what they typed: Blotter Include/Limit, approver, decision, reason, the pasted
Fills block). Writing the whole file again is cheap (XlsxWriter, a few hundred ms), so a
headless button run re-renders the file instead of patching it, and the file is replaced
atomically (temp file + ``os.replace``): a failed step leaves the previous file untouched.

Build order (why XlsxWriter): openpyxl loses form buttons (VML) and, without ``keep_vba``,
the VBA project. XlsxWriter writes everything in one pass: Excel Tables, frozen panes, number
formats, conditional formats, data validation, protection, charts, form buttons wired to macros
(``[0]!Validate_Click``) and the ``vbaProject.bin`` built from ``macros/*.bas`` by
:func:`xlexec.excel.vbaproject.build_vba_project` (source only: Office compiles it on open).

Layout (fixed, shared with :mod:`xlexec.excel.book` and the UDF/button code):

* every report tab: title in A1, a one-line summary in A2, the main table's header in row 4
  (rows 1-4 frozen), an optional side block (key/value lines, report text) two columns right
  of the table;
* ``Control``: labelled cells in column B (:data:`CONTROL_CELLS`), buttons in column D;
* ``Fills``: the paste area starts at A4 (header row first, any supported broker layout);
* ``xlwings.conf``: xlwings' key/value settings from A1 down (``UDF_MODULES`` etc.).

Text that came from outside (symbols, reasons, approver names, broker messages) is written as a
string cell; when it starts with ``= + - @`` tab or CR the cell also gets Excel's quote prefix,
so it stays inert text even if someone edits it (formula injection).
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from ..csvio import FORMULA_PREFIXES

# --------------------------------------------------------------------------- layout

SHEETS = ["Control", "Blotter", "Checks", "Approvals", "Orders", "Fills", "Reconcile", "Positions",
          "TCA", "Monthly", "Log", "xlwings.conf"]
#: XlsxWriter's default codenames (SheetN); the VBA project's document modules use the same.
CODENAMES = {name: f"Sheet{i}" for i, name in enumerate(SHEETS, 1)}

TITLE_ROW, SUMMARY_ROW, HEADER_ROW = 0, 1, 3  # 0-based rows: A1, A2, header in row 4
FIRST_DATA_ROW = HEADER_ROW + 1               # row 5
FILLS_PASTE_ROW = 3                           # A4: the pasted block's first row (header)
FILLS_MAX_ROWS = 20_000
FILLS_MAX_COLS = 40

#: Control tab: key -> cell (column B). ``INPUT_KEYS`` are unlocked for the operator.
CONTROL_CELLS = {
    "trade_date": "B4", "broker": "B5", "mode": "B6", "convert_to": "B7", "kill_switch": "B8",
    "recommended": "B9", "approval": "B10",
    "approver": "B12", "decision": "B13", "override": "B14", "reason": "B15",
    "orders": "B17", "last_action": "B18", "result": "B19", "when": "B20", "by": "B21",
}
CONTROL_LABELS = {
    "trade_date": "Trade date", "broker": "Broker", "mode": "Mode", "convert_to": "Convert to (format)",
    "kill_switch": "Kill switch", "recommended": "Validation (recommended)", "approval": "Approval",
    "approver": "Approver", "decision": "Decision", "override": "Override a REJECT? (Y/N)",
    "reason": "Reason", "orders": "Orders", "last_action": "Last action", "result": "Result",
    "when": "When (UTC)", "by": "By",
}
INPUT_KEYS = ("trade_date", "convert_to", "approver", "decision", "override", "reason")
MODE_BANNER = "A2"
SELFTEST_CELL = "H2"  # macros/SelfTest.bas writes its marker here
DECISIONS = ["APPROVED", "CONDITIONAL", "REJECTED"]
YES_NO = ["Y", "N"]

#: (caption, function in xlexec.excel.buttons, VBA Sub in macros/Buttons.bas), Control order.
BUTTONS = [
    ("Load Trades", "load_trades", "LoadTrades_Click"),
    ("Validate", "validate", "Validate_Click"),
    ("Approve", "approve", "Approve_Click"),
    ("Reject", "reject", "Reject_Click"),
    ("Convert", "convert", "Convert_Click"),
    ("Submit", "submit", "Submit_Click"),
    ("Refresh Status", "refresh_status", "RefreshStatus_Click"),
    ("Cancel All / Kill Switch", "cancel_all", "CancelAll_Click"),
    ("Import Fills", "import_fills", "ImportFills_Click"),
    ("Reconcile", "reconcile", "Reconcile_Click"),
    ("Accept Positions", "accept_positions", "AcceptPositions_Click"),
    ("TCA", "tca", "Tca_Click"),
    ("Monthly Report", "monthly_report", "MonthlyReport_Click"),
]
BUTTON_COL = 3  # column D
BUTTON_FIRST_ROW = 3  # row 4

#: Blotter columns; ``Include`` and ``Limit`` are the operator's inputs.
BLOTTER_COLUMNS = ["Include", "Symbol", "Side", "Shares", "Price", "Limit", "Order type", "Notional",
                   "Weight change", "Est. cost", "Worst check", "Check message"]
BLOTTER_INPUTS = ("Include", "Limit")

XLWINGS_CONF = [
    ("INTERPRETER_WIN", ""),
    ("INTERPRETER_MAC", ""),
    ("PYTHONPATH", ""),
    ("UDF_MODULES", "xlexec.excel.udfs"),
    ("DEBUG_UDFS", "False"),
    ("USE_UDF_SERVER", "False"),
    ("SHOW_CONSOLE", "False"),
    ("XLEXEC_CONFIG", "config.yaml"),
]
XLWINGS_CONF_HELP = [
    "xlwings reads the key/value pairs in A:B from A1 down (no blank rows).",
    "INTERPRETER_WIN / INTERPRETER_MAC: full path of the Python that has xlexec installed "
    "(e.g. C:\\xlexec\\.venv\\Scripts\\python.exe); blank = 'python' on the PATH.",
    "UDF_MODULES: the module with the =XLEXEC_... worksheet functions.",
    "XLEXEC_CONFIG: config.yaml used by the buttons (relative to this workbook's folder).",
]

CF_ROWS = 2000  # conditional formats cover at least this many rows
STATUS_COLOURS = {"fail": "#F8CBAD", "warn": "#FFE699", "break": "#F8CBAD", "error": "#F8CBAD"}


def macros_dir() -> Path:
    """``macros/`` (the VBA source of truth): the repository's, else a copy inside the package."""
    here = Path(__file__).resolve()
    for cand in (here.parents[2] / "macros", here.parents[1] / "macros"):
        if cand.is_dir() and any(cand.glob("*.bas")):
            return cand
    raise FileNotFoundError("macros/*.bas not found (expected next to the xlexec package)")


def load_macros(directory: str | Path | None = None) -> dict[str, str]:
    """``{module name: source}`` of every ``macros/*.bas`` (cp1252, as the VBA editor exports)."""
    d = Path(directory) if directory else macros_dir()
    out: dict[str, str] = {}
    for p in sorted(d.glob("*.bas")):
        src = p.read_bytes().decode("cp1252")
        m = re.search(r'^\s*Attribute\s+VB_Name\s*=\s*"([^"]+)"', src, re.M)
        out[m.group(1) if m else p.stem] = src
    return out


# --------------------------------------------------------------------------- data model

@dataclass
class Table:
    """One Excel Table: header in row 4 of its sheet, one row per record."""

    name: str
    columns: list[str]
    rows: list[list[Any]]
    kinds: dict[str, str] = field(default_factory=dict)  # column -> money|price|bps|pct|shares|int|text|date
    inputs: tuple[str, ...] = ()      # unlocked columns
    status_col: str | None = None     # column whose value colours the row (fail/warn/break...)
    bad_values: dict[str, str] = field(default_factory=dict)  # status value -> colour key


@dataclass
class SheetData:
    title: str
    summary: str = ""
    table: Table | None = None
    side: list[list[Any]] = field(default_factory=list)  # rows written two columns right of the table
    side_title: str = ""


@dataclass
class Inputs:
    """What the operator typed; carried over every re-render."""

    trade_date: str | None = None
    convert_to: str | None = None
    approver: str | None = None
    decision: str | None = None
    override: str | None = None
    reason: str | None = None
    blotter: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)  # (symbol, side) -> include, limit
    fills_block: list[list[Any]] = field(default_factory=list)

    def control_value(self, key: str):
        return getattr(self, key, None)


@dataclass
class BookData:
    day: str | None
    control: dict[str, Any]
    live: bool
    mode_banner: str
    sheets: dict[str, SheetData]
    fills_block: list[list[Any]] = field(default_factory=list)
    fills_note: str = ""
    convert_formats: list[str] = field(default_factory=list)
    monthly_months: Table | None = None


# --------------------------------------------------------------------------- cell helpers

def column_kind(col: str) -> str:
    """Number format family from a column name: money $, bps, % (fractions), whole shares."""
    c = col.lower().replace(" ", "_").replace(".", "")
    if c in ("date", "month", "day") or c.endswith("_at") or c.endswith("_time") or "timestamp" in c:
        return "text"
    if "bps" in c:
        return "bps"
    if any(k in c for k in ("pct", "weight", "turnover", "return", "_costs", "corr")):
        return "pct"
    if c in ("n_orders", "n_fills", "trades", "days", "row", "count", "seq", "fills_used"):
        return "int"
    if any(k in c for k in ("shares", "qty", "planned", "executed", "filled", "quantity")):
        return "shares"
    if any(k in c for k in ("price", "limit", "avg_cost", "close", "mark", "bid", "ask", "last")):
        return "price"
    if any(k in c for k in ("notional", "commission", "usd", "cost", "value", "cash", "slippage", "opportunity",
                            "delay", "execution", "fees", "total")):
        return "money"
    return "text"


NUMBER_FORMATS = {
    "money": '$#,##0.00;[Red]-$#,##0.00',
    "price": '$#,##0.00##',
    "bps": '0.00" bps"',
    "pct": '0.00%',
    "shares": '#,##0.####',
    "int": '0',
    "text": '@',
}


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


def cell_value(v: Any) -> Any:
    """Normalise a value for a cell: NaN/None -> None, numpy scalars -> Python, dates -> ISO text."""
    if v is None:
        return None
    try:
        import numpy as np
        if isinstance(v, np.generic):
            v = v.item()
    except ImportError:  # pragma: no cover
        pass
    if isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
        return None
    if isinstance(v, (dt.datetime, dt.date)):
        return v.isoformat()
    if v.__class__.__name__ in ("NAType", "NaTType"):
        return None
    return v


def _col_letter(idx: int) -> str:
    s = ""
    idx += 1
    while idx:
        idx, r = divmod(idx - 1, 26)
        s = chr(65 + r) + s
    return s


def a1(row: int, col: int) -> str:
    """0-based (row, col) -> ``A1``."""
    return f"{_col_letter(col)}{row + 1}"


def parse_a1(ref: str) -> tuple[int, int]:
    m = re.fullmatch(r"\$?([A-Z]+)\$?(\d+)", ref.upper())
    if not m:
        raise ValueError(f"bad cell reference {ref!r}")
    col = 0
    for ch in m.group(1):
        col = col * 26 + (ord(ch) - 64)
    return int(m.group(2)) - 1, col - 1


def side_col(sheet: SheetData) -> int:
    """0-based column of a sheet's side block: two columns right of its table."""
    return (len(sheet.table.columns) + 1) if sheet.table else 0


# --------------------------------------------------------------------------- writer

class _Fmt:
    def __init__(self, wb):
        self.wb = wb
        self._cache: dict[tuple, Any] = {}

    def get(self, **props):
        key = tuple(sorted(props.items()))
        if key not in self._cache:
            self._cache[key] = self.wb.add_format(props)
        return self._cache[key]


def _write(ws, fmt: _Fmt, row: int, col: int, v: Any, *, kind: str = "text", locked: bool = True,
           extra: dict | None = None) -> None:
    v = cell_value(v)
    props: dict[str, Any] = dict(extra or {})
    if not locked:
        props.update(locked=False, bg_color="#FFF2CC", border=1, border_color="#BF9000")
    if isinstance(v, bool):
        ws.write_boolean(row, col, v, fmt.get(**props) if props else None)
    elif isinstance(v, (int, float)):
        if kind != "text":
            props["num_format"] = NUMBER_FORMATS[kind]
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
        ws.write_string(row, col, s, fmt.get(**props) if props else None)


def _protect(ws) -> None:
    ws.protect("", {"autofilter": True, "sort": True, "format_columns": True, "format_rows": True,
                    "select_locked_cells": True, "select_unlocked_cells": True, "objects": False})


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


def _table(ws, fmt: _Fmt, t: Table, *, first_row: int = HEADER_ROW, first_col: int = 0) -> tuple[int, int]:
    """Write an Excel Table; returns its (last_row, last_col) (0-based)."""
    ncols = len(t.columns)
    nrows = max(1, len(t.rows))
    last_row = first_row + nrows
    last_col = first_col + ncols - 1
    kinds = [t.kinds.get(c, column_kind(c)) for c in t.columns]
    for i, r in enumerate(t.rows):
        for j, v in enumerate(r):
            _write(ws, fmt, first_row + 1 + i, first_col + j, v, kind=kinds[j],
                   locked=t.columns[j] not in t.inputs)
    if not t.rows:
        for j, c in enumerate(t.columns):
            if c in t.inputs:
                _write(ws, fmt, first_row + 1, first_col + j, None, locked=False)
    cols = []
    for j, c in enumerate(t.columns):
        spec: dict[str, Any] = {"header": c}
        if kinds[j] != "text":
            spec["format"] = fmt.get(num_format=NUMBER_FORMATS[kinds[j]], **({"locked": False} if c in t.inputs else {}))
        cols.append(spec)
    ws.add_table(first_row, first_col, last_row, last_col,
                 {"name": t.name, "columns": cols, "style": "Table Style Light 9", "autofilter": True})
    for j, c in enumerate(t.columns):
        ws.set_column(first_col + j, first_col + j, _width((r[j] for r in t.rows), c))
    if t.status_col and t.status_col in t.columns:
        # covers room to grow: xlwings books get rows written into the template
        sc = _col_letter(first_col + t.columns.index(t.status_col))
        rng = f"{a1(first_row + 1, first_col)}:{a1(max(last_row, first_row + CF_ROWS), last_col)}"
        for value, colour in (t.bad_values or {"fail": "fail", "warn": "warn"}).items():
            ws.conditional_format(rng, {
                "type": "formula",
                "criteria": f'=LOWER(${sc}{first_row + 2})="{value.lower()}"',
                "format": fmt.get(bg_color=STATUS_COLOURS.get(colour, colour)),
            })
    return last_row, last_col


def _side(ws, fmt: _Fmt, sheet: SheetData, col: int) -> None:
    if not sheet.side and not sheet.side_title:
        return
    row = HEADER_ROW
    if sheet.side_title:
        ws.write_string(row, col, sheet.side_title, fmt.get(bold=True))
        row += 1
    maxw = [10.0, 10.0]
    for r in sheet.side:
        for j, v in enumerate(r):
            kind = column_kind(str(r[0])) if (j > 0 and isinstance(v, (int, float)) and r) else "text"
            mono = len(r) == 1
            _write(ws, fmt, row, col + j, v, kind=kind, extra={"font_name": "Consolas"} if mono else None)
            if not mono and j < 2:
                maxw[j] = max(maxw[j], min(45.0, len(str(cell_value(v) or "")) + 2))
        row += 1
    ws.set_column(col, col, maxw[0])
    ws.set_column(col + 1, col + 1, max(maxw[1], 70.0 if any(len(r) == 1 for r in sheet.side) else 0.0))


def _report_sheet(ws, fmt: _Fmt, sheet: SheetData) -> None:
    _title(ws, fmt, sheet)
    last_row, last_col = HEADER_ROW, 5
    if sheet.table is not None:
        last_row, last_col = _table(ws, fmt, sheet.table)
    _side(ws, fmt, sheet, side_col(sheet))
    ws.freeze_panes(FIRST_DATA_ROW, 0)
    ws.set_landscape()
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(HEADER_ROW)
    print_col = side_col(sheet) + 1 if sheet.side else last_col
    ws.print_area(0, 0, max(last_row, HEADER_ROW + 1 + len(sheet.side)), print_col)
    _protect(ws)


def _control(ws, fmt: _Fmt, data: BookData, with_buttons: bool) -> None:
    ws.write_string(0, 0, "xlexec — operator control", fmt.get(bold=True, font_size=16, font_color="#1F3864"))
    colour = "#C00000" if data.live else "#548235"
    ws.merge_range("A2:B2", data.mode_banner,
                   fmt.get(bold=True, font_size=16, font_color="#FFFFFF", bg_color=colour, align="center"))
    ws.set_column(0, 0, 26)
    ws.set_column(1, 1, 58)
    ws.set_column(2, 2, 2)
    ws.set_column(3, 3, 24)
    ws.set_column(7, 7, 30)
    ws.write_string(2, 0, "Yellow cells are yours to edit; everything else is written by the buttons.",
                    fmt.get(italic=True, font_color="#595959"))
    for key, ref in CONTROL_CELLS.items():
        r, c = parse_a1(ref)
        ws.write_string(r, 0, CONTROL_LABELS[key], fmt.get(bold=True))
        v = data.control.get(key)
        extra = None
        if key == "mode":
            extra = {"bold": True, "font_color": colour}
        elif key in ("recommended", "approval", "result", "kill_switch"):
            s = str(v or "").upper()
            first = s.split(":")[0].split(" ")[0]
            if first in ("REJECT", "REJECTED", "ERROR", "REFUSED", "TRIGGERED") or "CHANGED" in s:
                extra = {"bold": True, "font_color": "#C00000"}
            elif first == "CONDITIONAL":
                extra = {"bold": True, "font_color": "#BF8F00"}
            elif first in ("APPROVE", "APPROVED", "OK"):
                extra = {"bold": True, "font_color": "#375623"}
        _write(ws, fmt, r, c, v, locked=key not in INPUT_KEYS, extra=extra)
    ws.write_string(10, 0, "Approval inputs", fmt.get(bold=True, font_color="#1F3864", underline=1))
    ws.write_string(15, 0, "Status", fmt.get(bold=True, font_color="#1F3864", underline=1))
    # data validation lists
    r, c = parse_a1(CONTROL_CELLS["decision"])
    ws.data_validation(r, c, r, c, {"validate": "list", "source": DECISIONS,
                                    "error_message": "APPROVED, CONDITIONAL or REJECTED"})
    r, c = parse_a1(CONTROL_CELLS["override"])
    ws.data_validation(r, c, r, c, {"validate": "list", "source": YES_NO})
    if data.convert_formats:
        r, c = parse_a1(CONTROL_CELLS["convert_to"])
        ws.data_validation(r, c, r, c, {"validate": "list", "source": list(data.convert_formats)[:30],
                                        "error_message": "pick a broker format from the list"})
    r, c = parse_a1(CONTROL_CELLS["trade_date"])
    ws.data_validation(r, c, r, c, {"validate": "length", "criteria": "==", "value": 10,
                                    "input_message": "YYYY-MM-DD"})
    ws.set_row(1, 26)
    ws.write_string(0, 3, "Actions", fmt.get(bold=True, font_size=12))
    for i, (caption, _fn, sub) in enumerate(BUTTONS):
        row = BUTTON_FIRST_ROW + i
        ws.set_row(row, 22)
        # the caption also sits in the cell under the button (printouts and PDFs show it)
        ws.write_string(row, BUTTON_COL, caption, fmt.get(align="center", valign="vcenter", bg_color="#D9D9D9",
                                                           border=1, border_color="#7F7F7F"))
        if with_buttons:
            ws.insert_button(row, BUTTON_COL, {"macro": sub, "caption": caption, "width": 170, "height": 26,
                                               "x_offset": 2, "y_offset": 1})
        else:
            ws.write_string(row, BUTTON_COL + 1, f"xlexec button {_fn.replace('_', '-')}",
                            fmt.get(font_color="#595959"))
    ws.write_string(0, 7, "Self-test", fmt.get(bold=True))
    ws.print_area(0, 0, 21, 4)
    ws.set_landscape()
    ws.fit_to_pages(1, 1)
    ws.activate()
    _protect(ws)


def _fills(ws, fmt: _Fmt, data: BookData) -> None:
    ws.write_string(0, 0, "Fills — paste the broker's fills below (from A4, header row first)",
                    fmt.get(bold=True, font_size=14, font_color="#1F3864"))
    ws.write_string(1, 0, "Any supported layout: xlexec broker_fills.csv, Alpaca, IBKR, Schwab, Fidelity. "
                          "Then press Import Fills on Control (empty area: the fills are pulled from the broker).",
                    fmt.get(italic=True, font_color="#595959"))
    if data.fills_note:
        _write(ws, fmt, 2, 0, data.fills_note, extra={"bold": True})
    unlocked = fmt.get(locked=False)
    # unlock the whole paste area (column formats), then write the block as typed text/numbers
    ws.set_column(0, FILLS_MAX_COLS - 1, 14, unlocked)
    for r in range(FILLS_PASTE_ROW, FILLS_PASTE_ROW + max(len(data.fills_block), 1) + 200):
        ws.set_row(r, None, unlocked)
    for i, row in enumerate(data.fills_block):
        for j, v in enumerate(row[:FILLS_MAX_COLS]):
            v = cell_value(v)
            if v is None or v == "":
                continue
            _write(ws, fmt, FILLS_PASTE_ROW + i, j, v, locked=False,
                   extra={"bold": True} if i == 0 else None)
    ws.freeze_panes(FILLS_PASTE_ROW + 1, 0)
    width = max((len(r) for r in data.fills_block), default=6)
    ws.print_area(0, 0, FILLS_PASTE_ROW + max(len(data.fills_block), 1), max(width, 6) - 1)
    ws.set_landscape()
    ws.fit_to_pages(1, 0)
    _protect(ws)


MONTHLY_TEXT_OFFSET = 11  # the report text sits this many columns right of the month table


def monthly_layout(sheet: SheetData) -> tuple[int, int]:
    """Monthly tab: 0-based columns of (the month-to-month table and charts, the report text)."""
    col = (len(sheet.table.columns) + 1) if sheet.table else 10
    return col, col + MONTHLY_TEXT_OFFSET


def _monthly(ws, fmt: _Fmt, wb, data: BookData) -> None:
    sheet = data.sheets["Monthly"]
    _title(ws, fmt, sheet)
    last_row, last_col = _table(ws, fmt, sheet.table) if sheet.table is not None else (HEADER_ROW, 5)
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
        for name in ("total_cost", "commission", "slippage_usd"):
            if name in t.columns:
                j = t.columns.index(name)
                chart.add_series({"name": ["Monthly", HEADER_ROW, j],
                                  "categories": ["Monthly", FIRST_DATA_ROW, dcol, FIRST_DATA_ROW + n - 1, dcol],
                                  "values": ["Monthly", FIRST_DATA_ROW, j, FIRST_DATA_ROW + n - 1, j],
                                  "marker": {"type": "circle"}})
        chart.set_title({"name": "Daily trading costs ($, positive = cost)"})
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
                chart.add_series({"name": ["Monthly", HEADER_ROW, j],
                                  "categories": ["Monthly", FIRST_DATA_ROW, mcol, FIRST_DATA_ROW + n - 1, mcol],
                                  "values": ["Monthly", FIRST_DATA_ROW, j, FIRST_DATA_ROW + n - 1, j]})
        chart.set_title({"name": "Costs month to month (% of portfolio)"})
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


def _conf(ws, fmt: _Fmt, data: BookData) -> None:
    for i, (k, v) in enumerate(XLWINGS_CONF):
        ws.write_string(i, 0, k)
        if v:
            ws.write_string(i, 1, v)
    for i, line in enumerate(XLWINGS_CONF_HELP):
        ws.write_string(i, 3, line, fmt.get(italic=True, font_color="#595959"))
    ws.set_column(0, 0, 20)
    ws.set_column(1, 1, 40)
    ws.set_column(3, 3, 100)
    ws.print_area(0, 0, len(XLWINGS_CONF) - 1, 3)
    ws.set_landscape()
    ws.fit_to_pages(1, 1)


def write_workbook(path: str | Path, data: BookData, *, vba: bool | None = None,
                   macros: dict[str, str] | None = None) -> Path:
    """Write the whole workbook to ``path`` atomically (temp file in the same folder + os.replace).

    ``vba`` (default: ``path`` ends in ``.xlsm``) embeds the VBA project built from ``macros``
    (default :func:`load_macros`) and wires the Control buttons to their Subs; an ``.xlsx``
    gets neither (the buttons become labels naming the ``xlexec button`` command).
    """
    import xlsxwriter

    from . import vbaproject

    path = Path(path)
    if vba is None:
        vba = path.suffix.lower() == ".xlsm"
    vba_bin = None
    if vba:
        mods = macros if macros is not None else load_macros()
        subs = set(vbaproject.macro_names(mods))
        missing = [sub for _c, _f, sub in BUTTONS if sub not in subs]
        if missing:
            raise ValueError(f"macros/*.bas has no Sub for button(s): {', '.join(missing)}")
        vba_bin = vbaproject.build_vba_project(mods, sheet_codenames=[CODENAMES[s] for s in SHEETS])
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".xlsm" if vba else ".xlsx", dir=path.parent)
    os.close(fd)
    try:
        wb = xlsxwriter.Workbook(tmp, {"strings_to_formulas": False, "strings_to_numbers": False,
                                       "strings_to_urls": False, "nan_inf_to_errors": False})
        wb.set_properties({"title": f"xlexec {data.day or ''}".strip(), "subject": "trade execution blotter",
                           "author": "xlexec", "company": "", "comments": "Generated by xlexec; a view of live/"})
        fmt = _Fmt(wb)
        sheets = {name: wb.add_worksheet(name) for name in SHEETS}
        for name, ws in sheets.items():
            if name == "Control":
                _control(ws, fmt, data, with_buttons=bool(vba))
            elif name == "Fills":
                _fills(ws, fmt, data)
            elif name == "Monthly":
                _monthly(ws, fmt, wb, data)
            elif name == "xlwings.conf":
                _conf(ws, fmt, data)
            else:
                _report_sheet(ws, fmt, data.sheets[name])
        # Blotter/Control data validation
        bl = data.sheets["Blotter"].table
        if bl is not None:
            j = bl.columns.index("Include")
            last = HEADER_ROW + max(1, len(bl.rows))
            sheets["Blotter"].data_validation(FIRST_DATA_ROW - 1 + 0, j, last, j,
                                              {"validate": "list", "source": YES_NO})
            k = bl.columns.index("Limit")
            sheets["Blotter"].data_validation(FIRST_DATA_ROW - 1, k, last, k,
                                              {"validate": "decimal", "criteria": ">", "value": 0,
                                               "ignore_blank": True,
                                               "error_message": "a limit price in $ (> 0), or blank for the default"})
        if vba_bin is not None:
            vbaproject.add_to_xlsxwriter(wb, vba_bin)
        wb.close()
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def build_workbook(output: str | Path, ctx=None, day: str | None = None) -> Path:
    """``xlexec workbook build``: the workbook (default ``workbook/xlexec.xlsm``), drawn for
    ``day`` when its files exist under ``ctx``'s live folder, else as an empty template."""
    from .render import collect, empty_book_data

    if ctx is not None and day:
        data = collect(ctx, day, Inputs())
    else:
        data = empty_book_data(day, ctx)
    return write_workbook(output, data)
