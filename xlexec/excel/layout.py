"""The workbook's schema: which tab holds what, in which cell, and the data classes of a book.

Everything that places a value in the operator workbook reads it from here: the tab names
(:data:`SHEETS`) and their VBA codenames, the fixed rows of a report tab (title A1, summary A2,
header row 4), the Control cells (:data:`CONTROL_CELLS`, the operator's :data:`INPUT_KEYS`),
the buttons, the Blotter / Quotes / Orders / Log columns, and the data model:

* :class:`Table`, :class:`SheetData`, :class:`BookData`: what a drawn workbook shows (built by
  :mod:`xlexec.excel.viewmodel`, written by :mod:`xlexec.excel.writer`);
* :class:`Inputs`: what the operator typed (read by :mod:`xlexec.excel.reader`).

Layout (fixed, shared by the writer, the reader, the xlwings adapter and the UDFs):

* every report tab: title in A1, a one-line summary in A2, the main table's header in row 4
  (rows 1-4 frozen), an optional side block (key/value lines, report text) two columns right
  of the table;
* ``Control``: labelled cells in column B (:data:`CONTROL_CELLS`), buttons in column D;
* ``Fills``: the paste area starts at A4 (header row first, any supported broker layout);
* ``Quotes``: a report layout whose Table (``symbol,bid,ask,last,timestamp``) is also the
  operator's paste area (A:E unlocked), the instructions in A3, the shown quotes' id in H4;
* ``xlwings.conf``: xlwings' key/value settings from A1 down (``UDF Modules`` etc.).

No I/O here: constants, dataclasses and cell-address arithmetic.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

# --------------------------------------------------------------------------- layout

SHEETS = [
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
#: XlsxWriter's default codenames (SheetN); the VBA project's document modules use the same.
CODENAMES = {name: f"Sheet{i}" for i, name in enumerate(SHEETS, 1)}

TITLE_ROW, SUMMARY_ROW, HEADER_ROW = 0, 1, 3  # 0-based rows: A1, A2, header in row 4
FIRST_DATA_ROW = HEADER_ROW + 1  # row 5
FILLS_PASTE_ROW = 3  # A4: the pasted block's first row (header)
FILLS_MAX_ROWS = 20_000
FILLS_MAX_COLS = 40
#: Quotes tab: an Excel Table of these columns (header in row 4) over an unlocked paste area
#: (A:E, every row); each quote's age at drawing time in G:H (title in G4). ``QUOTES_SHOWN_CELL``
#: (next to that title) holds the id of the quotes the tab was drawn with
#: (:func:`xlexec.excel.reader.quotes_digest`), so a tab nobody edited is never mistaken for
#: typed quotes when ``quotes.csv`` changed since.
QUOTES_COLUMNS = ["symbol", "bid", "ask", "last", "timestamp"]
QUOTES_SHOWN_CELL = "H4"
#: optional Quotes columns (shares at the bid/ask; the paper broker's partial fills): shown next
#: to each quote's age (I:J, headers in I4:J4) when the day's quotes.csv has them; read from F:G
#: when a pasted block's header row names them there (A4:G4).
QUOTES_SIZE_COLUMNS = ["bid_size", "ask_size"]
QUOTES_MAX_COLUMNS = len(QUOTES_COLUMNS) + len(QUOTES_SIZE_COLUMNS)


def quotes_width(header: Iterable[Any] | None) -> int:
    """How many Quotes columns a tab's header row (A4 on) holds: 5, plus the optional size
    columns (``bid_size``/``ask_size``, any order) that follow ``timestamp`` directly."""
    cells = [str(v).strip().lower() if v is not None else "" for v in list(header or [])[:QUOTES_MAX_COLUMNS]]
    w = len(QUOTES_COLUMNS)
    while w < len(cells) and cells[w] in QUOTES_SIZE_COLUMNS and cells[w] not in cells[len(QUOTES_COLUMNS) : w]:
        w += 1
    return w


QUOTES_HELP = (
    "Paste or type quotes below the header (symbol, bid/ask/last in $, timestamp in UTC, e.g. "
    "2025-10-30 13:31:00 UTC; a time without a zone is UTC). Validate, Approve, Reject and Submit "
    "save them as live/<trade date>/quotes.csv first; with Alpaca market data configured, "
    "Alpaca's quotes are used instead."
)

#: Control tab: key -> cell (column B). ``INPUT_KEYS`` are unlocked for the operator.
CONTROL_CELLS = {
    "trade_date": "B4",
    "broker": "B5",
    "mode": "B6",
    "convert_to": "B7",
    "kill_switch": "B8",
    "recommended": "B9",
    "approval": "B10",
    "approver": "B12",
    "decision": "B13",
    "override": "B14",
    "reason": "B15",
    "slice": "B16",
    "orders": "B17",
    "last_action": "B18",
    "result": "B19",
    "when": "B20",
    "by": "B21",
}
CONTROL_LABELS = {
    "trade_date": "Trade date",
    "broker": "Broker",
    "mode": "Mode",
    "convert_to": "Convert to (format)",
    "kill_switch": "Kill switch",
    "recommended": "Validation (recommended)",
    "approval": "Approval",
    "approver": "Approver",
    "decision": "Decision",
    "override": "Override a REJECT? (Y/N)",
    "reason": "Reason",
    "orders": "Orders",
    "last_action": "Last action",
    "result": "Result",
    "when": "When (UTC)",
    "by": "By",
    "slice": "Slice large orders (Y/N)",
}
INPUT_KEYS = ("trade_date", "convert_to", "approver", "decision", "override", "reason", "slice")
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
BLOTTER_COLUMNS = [
    "Include",
    "Symbol",
    "Side",
    "Shares",
    "Price",
    "Limit",
    "Order type",
    "Notional",
    "Weight change",
    "Est. cost",
    "Worst check",
    "Check message",
]
BLOTTER_INPUTS = ("Include", "Limit")

#: xlwings.conf: the (key, value) rows a new book gets, keys spelled as xlwings documents them
#: (its VBA upper-cases column A and looks keys up exactly: "UDF MODULES", never "UDF_MODULES");
#: no row without a value (a blank row hides the operator's own setting). Kept on every press:
#: xlexec.excel.xlwings_conf.merge_conf.
XLWINGS_CONF = [
    ("UDF Modules", "xlexec.excel.udfs"),
]
XLWINGS_CONF_HELP = [
    "xlwings reads the key/value pairs in A:B from A1 down to the first blank row; keys as xlwings spells them.",
    "Your settings here are kept when xlexec redraws the workbook. Add, for example:",
    "Interpreter_Win / Interpreter_Mac: full path of the Python that has xlexec installed "
    "(e.g. C:\\xlexec\\.venv\\Scripts\\python.exe); without them xlwings' own settings apply.",
    "PYTHONPATH, Conda Path, Conda Env, Show Console: as in xlwings' documentation.",
    "UDF Modules: must list xlexec.excel.udfs (the =XLEXEC_... worksheet functions, Windows only); "
    "add your own modules after a ';'.",
    "The config.yaml the buttons use is the defined name xlexec_config (Formulas > Name Manager), "
    "relative to this workbook's folder; set it with xlexec workbook build --config.",
]

CF_ROWS = 2000  # conditional formats cover at least this many rows
STATUS_COLOURS = {"fail": "#F8CBAD", "warn": "#FFE699", "break": "#F8CBAD", "error": "#F8CBAD"}

# --------------------------------------------------------------------------- data model


@dataclass
class Table:
    """One Excel Table: header in row 4 of its sheet, one row per record."""

    name: str
    columns: list[str]
    rows: list[list[Any]]
    kinds: dict[str, str] = field(default_factory=dict)  # column -> money|price|bps|pct|shares|int|text|date
    inputs: tuple[str, ...] = ()  # unlocked columns
    status_col: str | None = None  # column whose value colours the row (fail/warn/break...)
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
    #: Control B16: Y = Convert and Submit slice orders above the ADV cap (``--slice``)
    slice: str | None = None
    blotter: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)  # (symbol, side) -> include, limit
    fills_block: list[list[Any]] = field(default_factory=list)
    #: the Quotes tab from its header row (A4) down, columns A:E, as read (normalised); [] = none
    quotes_block: list[list[Any]] = field(default_factory=list)
    #: the id of the quotes the tab was last drawn with (Quotes!H4), None when unknown
    quotes_shown: str | None = None
    #: the xlwings.conf tab's A:B rows from A1 down as read ((key, value), None for a blank key
    #: cell), kept by the next render (xlexec.excel.xlwings_conf.merge_conf); None = a new book
    xlwings_conf: list[tuple[Any, Any] | None] | None = None

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
    quotes_shown: str = ""  # Quotes!H4: which quotes the tab shows (see QUOTES_SHOWN_CELL)


# --------------------------------------------------------------------------- cell helpers


def column_kind(col: str) -> str:
    """Number format family from a column name: money $, bps, % (fractions), whole shares."""
    c = col.lower().replace(" ", "_").replace(".", "")
    if c in ("date", "month", "day") or c.endswith(("_at", "_time")) or "timestamp" in c:
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
    if any(
        k in c
        for k in (
            "notional",
            "commission",
            "usd",
            "cost",
            "value",
            "cash",
            "slippage",
            "opportunity",
            "delay",
            "execution",
            "fees",
            "total",
        )
    ):
        return "money"
    return "text"


NUMBER_FORMATS = {
    "money": "$#,##0.00;[Red]-$#,##0.00",
    "price": "$#,##0.00##",
    "bps": '0.00" bps"',
    "pct": "0.00%",
    "shares": "#,##0.####",
    "int": "0",
    "text": "@",
}


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


#: Control!B4:B21: the column the reader takes in one read (every key of CONTROL_CELLS)
CONTROL_FIRST, CONTROL_LAST = "B4", "B21"

MONTHLY_TEXT_OFFSET = 11  # the report text sits this many columns right of the month table


def monthly_layout(sheet: SheetData) -> tuple[int, int]:
    """Monthly tab: 0-based columns of (the month-to-month table and charts, the report text)."""
    col = (len(sheet.table.columns) + 1) if sheet.table else 10
    return col, col + MONTHLY_TEXT_OFFSET


#: Log tab: one row per button press (journal ``action`` events)
LOG_COLUMNS = ["when_utc", "who", "action", "result", "message"]

#: Orders tab: one row per order of the day (newest broker snapshot, or ``refused``)
ORDER_COLUMNS = [
    "symbol",
    "side",
    "qty",
    "order_type",
    "limit_price",
    "status",
    "filled_qty",
    "filled_avg_price",
    "remaining",
    "reason",
    "submitted_at",
    "updated_at",
    "client_order_id",
]

#: Quotes Table: number format family per column ($ prices, shares sizes, UTC text times)
QUOTES_KINDS = {
    "symbol": "text",
    "bid": "price",
    "ask": "price",
    "last": "price",
    "timestamp": "text",
    "bid_size": "shares",
    "ask_size": "shares",
}
