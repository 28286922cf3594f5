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
* ``xlwings.conf``: xlwings' key/value settings from A1 down (``UDF Modules`` etc.);
* xlexec's area on each tab (:func:`area_floor`): what a headless press rewrites; the
  operator's cells outside it, their own sheets and names are kept.

No I/O here: constants, dataclasses and cell-address arithmetic.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from xlexec.core.benchmark_labels import BENCHMARK_LABELS

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
#: below the imported fills on the Fills tab (one blank row between): this title alone in column
#: A, then ``FILLS_SKIPPED_COLUMNS`` and one row per source row the import skipped. The Fills
#: tab is read from A4 down to (not including) this title (:func:`xlexec.excel.reader.cut_skipped`).
FILLS_SKIPPED_TITLE = "Skipped rows (not fills; row = the source's row)"
FILLS_SKIPPED_COLUMNS = ["row", "reason"]
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
    "save them as live/<trade date>/quotes.csv first; with the broker's market data configured "
    "(Alpaca, Schwab, IBKR), the broker's quotes are used instead."
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
#: Control's columns (characters): labels (A), values (B), the gap (C), the day's buttons (D).
#: Every value cell in B wraps inside B (never runs under the buttons in D/F); its row is made
#: tall enough for its lines (:func:`control_row_height`).
CONTROL_WIDTHS = {"A": 28, "B": 58, "C": 2, "D": 24}
#: how many characters a wrapped line of column B holds, counted low (bold text, wide letters)
CONTROL_LINE_CHARS = 48
LINE_POINTS = 15.0  # the height of one line of 11-point text (points)
BUTTON_ROW_POINTS = 22.0  # a row that holds a day button


def control_row_height(text: Any, base: float = LINE_POINTS) -> float:
    """The height (points) of a Control row whose value cell in B shows ``text`` wrapped:
    one :data:`LINE_POINTS` per line of :data:`CONTROL_LINE_CHARS` characters, at least ``base``."""
    s = "" if text is None else str(text)
    lines = sum(max(1, math.ceil(len(part) / CONTROL_LINE_CHARS)) for part in s.split("\n")) if s else 1
    return max(base, lines * LINE_POINTS + (3.0 if lines > 1 else 0.0))


#: the Kill Switch (Cancel All) stands apart from the day's buttons: red, in column F, row 4
KILL_SWITCH_SUB = "CancelAll_Click"
KILL_SWITCH_CELL = "F4"

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
#: how many trades the Blotter can hold: its Include/Limit cells are unlocked (and validated)
#: down to this many rows, so a Load Trades in live Excel (rows written into the template)
#: leaves every row editable
BLOTTER_MAX_ROWS = 2000

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
#: the side of a trade/order at a glance (Blotter, Orders): the Side cell's font and fill, by
#: the side's first letters (``buy``; ``sell``, ``sell_short``), for every row a tab can hold.
#: A row's status colour (fail/warn) is drawn first and keeps its fill; the side's font stays.
SIDE_COLOURS = {
    "buy": {"font_color": "#006100", "bg_color": "#E2EFDA", "bold": True},
    "sell": {"font_color": "#9C0006", "bg_color": "#FCE4E4", "bold": True},
}
#: the column holding the side, by Table
SIDE_COLUMNS = {"tblBlotter": "Side", "tblOrders": "side"}

# --------------------------------------------------------------------------- data model


@dataclass
class Table:
    """One Excel Table: header in row 4 of its sheet, one row per record."""

    name: str
    columns: list[str]
    rows: list[list[Any]]
    inputs: tuple[str, ...] = ()  # unlocked columns
    status_col: str | None = None  # column whose value colours the row (fail/warn/break...)
    bad_values: dict[str, str] = field(default_factory=dict)  # status value -> colour key
    #: (row index, column) -> kind, for a column whose unit differs by row (Checks' value/limit)
    cell_kinds: dict[tuple[int, str], str] = field(default_factory=dict)

    def kind(self, col: str) -> str:
        """The column's declared kind (:data:`TABLE_SCHEMAS`; text when undeclared)."""
        return declared(self.name, col).kind

    def header(self, col: str) -> str:
        """The header the operator reads over column ``col``."""
        return declared(self.name, col).header

    @property
    def headers(self) -> list[str]:
        return [self.header(c) for c in self.columns]


@dataclass
class SheetData:
    title: str
    summary: str = ""
    table: Table | None = None
    side: list[list[Any]] = field(default_factory=list)  # rows written two columns right of the table
    side_title: str = ""
    #: the kind of each side cell, row by row (missing: text); see :func:`figure_lines`
    side_kinds: list[list[str]] = field(default_factory=list)
    #: more Tables under the first, each under its title (:data:`EXTRA_TITLES`); see :func:`extra_positions`
    extra_tables: list[Table] = field(default_factory=list)


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


#: The number format of each column kind: the one place a cell's format comes from. A table
#: column declares its kind in :data:`TABLE_SCHEMAS` (a side-block figure in :data:`FIGURES`);
#: nothing is inferred from a column's name. Units: ``money``/``price`` $ (price: up to 4
#: decimals), ``bps`` basis points, ``pct`` a fraction (0.9 shows 90.00%), ``count`` a whole
#: number, ``shares`` shares (whole; :data:`FRACTIONAL_SHARES` when a column holds a fraction),
#: ``number`` a plain figure (2 decimals), ``date`` / ``timestamp`` real Excel dates (UTC, no
#: zone), ``text`` as written.
NUMBER_FORMATS = {
    "money": "$#,##0.00;[Red]-$#,##0.00",
    "price": "$#,##0.00##",
    "bps": '#,##0.00" bps"',
    "pct": "0.00%",
    "count": "#,##0",
    "shares": "#,##0",
    "number": "#,##0.00",
    "date": "yyyy-mm-dd",
    "timestamp": "yyyy-mm-dd hh:mm:ss",
    "text": "@",
}
#: a shares column that holds a fractional quantity (Alpaca fractional shares)
FRACTIONAL_SHARES = "#,##0.0000"
KINDS = tuple(NUMBER_FORMATS)
DATE_KINDS = ("date", "timestamp")


@dataclass(frozen=True)
class Col:
    """One declared table column: its key (the source file's column), the header the operator
    reads, and its kind (a key of :data:`NUMBER_FORMATS`)."""

    key: str
    header: str
    kind: str = "text"


def _schema(*cols: tuple[str, str, str]) -> dict[str, Col]:
    out = {}
    for key, header, kind in cols:
        if kind not in NUMBER_FORMATS:
            raise ValueError(f"column {key!r}: unknown kind {kind!r}")
        out[key] = Col(key, header, kind)
    return out


#: Every Table of the workbook: its columns' headers and kinds, by Table name. A column a
#: Table holds that is not declared here is shown as text under its own key.
TABLE_SCHEMAS: dict[str, dict[str, Col]] = {
    "tblBlotter": _schema(
        ("Include", "Include", "text"),
        ("Symbol", "Symbol", "text"),
        ("Side", "Side", "text"),
        ("Shares", "Shares", "shares"),
        ("Price", "Price", "price"),
        ("Limit", "Limit", "price"),
        ("Order type", "Order type", "text"),
        ("Notional", "Notional", "money"),
        ("Weight change", "Weight change", "pct"),
        ("Est. cost", "Est. cost", "money"),
        ("Worst check", "Worst check", "text"),
        ("Check message", "Check message", "text"),
    ),
    "tblChecks": _schema(
        ("check", "Check", "text"),
        ("status", "Status", "text"),
        ("symbol", "Symbol", "text"),
        ("value", "Value", "number"),  # per row: CHECK_VALUE_KINDS
        ("limit", "Limit", "number"),
        ("message", "Message", "text"),
    ),
    "tblApprovals": _schema(
        ("date", "Trade date", "date"),
        ("decision", "Decision", "text"),
        ("reason", "Reason", "text"),
        ("approver", "Approver", "text"),
        ("timestamp_utc", "Recorded (UTC)", "timestamp"),
        ("recommended", "Recommended", "text"),
        ("orders_sha256", "Orders fingerprint", "text"),
        ("n_orders", "Orders", "count"),
        ("override", "Override", "text"),
    ),
    "tblOrders": _schema(
        ("symbol", "Symbol", "text"),
        ("side", "Side", "text"),
        ("qty", "Quantity", "shares"),
        ("order_type", "Order type", "text"),
        ("limit_price", "Limit", "price"),
        ("status", "Status", "text"),
        ("filled_qty", "Filled", "shares"),
        ("filled_avg_price", "Avg fill price", "price"),
        ("remaining", "Remaining", "shares"),
        ("reason", "Reason", "text"),
        ("submitted_at", "Submitted (UTC)", "timestamp"),
        ("updated_at", "Updated (UTC)", "timestamp"),
        ("client_order_id", "Client order id", "text"),
    ),
    # the Quotes Table is also the operator's paste area: its headers are quotes.csv's
    "tblQuotes": _schema(
        ("symbol", "symbol", "text"),
        ("bid", "bid", "price"),
        ("ask", "ask", "price"),
        ("last", "last", "price"),
        ("timestamp", "timestamp", "text"),
        ("bid_size", "bid_size", "shares"),
        ("ask_size", "ask_size", "shares"),
    ),
    "tblReconcile": _schema(
        ("symbol", "Symbol", "text"),
        ("side", "Side", "text"),
        ("planned", "Planned", "shares"),
        ("executed", "Executed", "shares"),
        ("avg_price", "Avg fill price", "price"),
        ("slippage_bps", "Slippage", "bps"),
        ("commission", "Commission", "money"),
        ("status", "Status", "text"),
        ("reason", "Reason", "text"),
        ("signal_price", "Signal price", "price"),
        ("commission_est", "Est. commission", "money"),
        ("client_order_id", "Client order id", "text"),
        ("n_fills", "Fills", "count"),
        ("slippage_est", "Est. slippage", "money"),
    ),
    "tblPositions": _schema(
        ("symbol", "Symbol", "text"),
        ("system_shares", "System shares", "shares"),
        ("reconciled_shares", "Reconciled shares", "shares"),
        ("difference_shares", "Difference", "shares"),
        ("avg_cost", "Avg cost", "price"),
        ("status", "Status", "text"),
        ("last_price", "Price", "price"),
        ("price_source", "Price from", "text"),
        ("market_value", "Market value", "money"),
        ("weight", "Weight", "pct"),
        ("unrealized_pnl", "Unrealised P&L", "money"),
    ),
    "tblTca": _schema(
        ("symbol", "Symbol", "text"),
        ("usd", "Cost", "money"),
        ("pct_trade", "Cost (% of trade)", "pct"),
    ),
    "tblTcaBenchmarks": _schema(
        ("benchmark", "Benchmark", "text"),
        ("usd", "Cost", "money"),
        ("bps", "Cost (bps, weighted)", "bps"),
        ("mean_bps", "Cost (bps, plain mean)", "bps"),
        ("orders", "Orders", "count"),
        ("missing", "Orders without it", "count"),
    ),
    "tblTcaOrders": _schema(
        ("symbol", "Symbol", "text"),
        ("side", "Side", "text"),
        ("broker", "Broker", "text"),
        ("filled_shares", "Filled", "shares"),
        ("avg_fill_price", "Avg fill", "price"),
        ("signal_bps", "vs signal", "bps"),
        ("arrival_bps", "vs arrival", "bps"),
        ("interval_vwap_bps", "vs interval VWAP", "bps"),
        ("twap_bps", "vs TWAP", "bps"),
        ("day_vwap_bps", "vs day VWAP", "bps"),
        ("close_bps", "vs close", "bps"),
        ("half_spread_bps", "Half-spread", "bps"),
        ("rest_bps", "Impact + timing", "bps"),
        ("participation", "Participation", "pct"),
        ("missing", "Missing (why)", "text"),
    ),
    "tblTcaHistogram": _schema(("bin", "Cost vs signal (bps)", "text"), ("orders", "Orders", "count")),
    "tblMonthlyBrokers": _schema(
        ("broker", "Broker", "text"),
        ("orders", "Orders", "count"),
        *[(k, f"vs {lbl}", "bps") for k, lbl in BENCHMARK_LABELS.items()],
        ("participation_mean", "Participation (mean)", "pct"),
    ),
    "tblMonthlyWeeks": _schema(
        ("week", "Week of", "date"),
        ("orders", "Orders", "count"),
        *[(k, f"vs {lbl}", "bps") for k, lbl in BENCHMARK_LABELS.items()],
    ),
    "tblMonthlyPercentiles": _schema(
        ("benchmark", "Benchmark", "text"),
        *[(f"p{p}", f"P{p}", "bps") for p in (5, 25, 50, 75, 95)],
    ),
    "tblMonthlyHistogram": _schema(("bin", "Cost vs signal (bps)", "text"), ("orders", "Orders", "count")),
    "tblMonthlyDaily": _schema(
        ("date", "Date", "date"),
        ("notional", "Notional", "money"),
        ("commission", "Commission", "money"),
        ("slippage_usd", "Slippage", "money"),
        ("total_cost", "Total cost", "money"),
        ("turnover", "Turnover", "pct"),
        ("portfolio_value", "Portfolio value", "money"),
        ("portfolio_value_after", "Portfolio value after", "money"),
        ("broker", "Broker", "text"),
        ("trades", "Trades", "count"),
        ("cash_flow", "Cash flow (+ deposit)", "money"),
        ("return_base", "Return base", "money"),
        ("net_return", "Net return", "pct"),
        ("gross_return", "Gross return", "pct"),
    ),
    "tblMonthly": _schema(
        ("month", "Month", "text"),
        ("gross_return", "Gross return", "pct"),
        ("commission_costs", "Commission costs", "pct"),
        ("slippage_costs", "Slippage costs", "pct"),
        ("net_return", "Net return", "pct"),
        ("total_commission", "Total commission", "money"),
        ("avg_slippage_bps", "Slippage (notional-weighted)", "bps"),
        ("cost_pct_portfolio", "Costs (% of portfolio)", "pct"),
        ("turnover", "Turnover", "pct"),
        ("slippage_mean_bps", "Slippage (plain mean)", "bps"),
    ),
    "tblLog": _schema(
        ("when_utc", "When (UTC)", "timestamp"),
        ("who", "Who", "text"),
        ("action", "Action", "text"),
        ("result", "Result", "text"),
        ("message", "Message", "text"),
    ),
}

#: Checks tab: the unit of each check's value and limit (validation.json), by check id; a
#: check not listed shows its figures as plain numbers (``number``).
CHECK_VALUE_KINDS = {
    "portfolio_value": "money",
    "max_trade_pct": "pct",
    "position_pct": "pct",
    "sector_pct": "pct",
    "position_count": "count",
    "price_deviation": "pct",
    "spread": "bps",
    "turnover": "pct",
    "total_cost_pct": "pct",
    "high_cost_trade": "money",
    "small_trade": "money",
    "adv_pct": "pct",
}


@dataclass(frozen=True)
class Figure:
    """One key/value line of a side block: its label, kind, and the factor that turns the
    source's value into the kind's unit (``scale=0.01``: a percentage number -> a fraction)."""

    label: str
    kind: str
    scale: float = 1.0


#: The side blocks' figures (validation.json's summary, reconciliation.json, tca.json), by key.
#: A key not declared here is shown as text under its own key.
FIGURES: dict[str, Figure] = {
    # Checks: validation.json "summary"
    "pass": Figure("Checks passed", "count"),
    "warn": Figure("Warnings", "count"),
    "fail": Figure("Failures", "count"),
    "date": Figure("Trade date", "date"),
    "date_source": Figure("Trade date from", "text"),
    "n_trades": Figure("Trades", "count"),
    "n_excluded": Figure("Excluded trades", "count"),
    "n_buys": Figure("Buys", "count"),
    "n_sells": Figure("Sells", "count"),
    "notional": Figure("Notional", "money"),
    "buy_notional": Figure("Buy notional", "money"),
    "sell_notional": Figure("Sell notional", "money"),
    "portfolio_value": Figure("Portfolio value", "money"),
    "portfolio_value_source": Figure("Portfolio value from", "text"),
    "cash": Figure("Cash", "money"),
    "turnover": Figure("Turnover", "pct"),
    "turnover_header": Figure("Turnover (trades header)", "pct"),
    "est_costs": Figure("Estimated costs", "money"),
    "est_cost_pct": Figure("Estimated costs (% of notional)", "pct"),
    "positions_after": Figure("Positions after the trades", "count"),
    "positions_given": Figure("Positions file given", "text"),
    "quotes_given": Figure("Quotes given", "text"),
    "events_given": Figure("Events given", "text"),
    "reference_given": Figure("Reference data given", "text"),
    "restricted_given": Figure("Restricted list given", "text"),
    "checked_at": Figure("Checked at (UTC)", "timestamp"),
    "inputs": Figure("Inputs", "text"),
    # Reconcile: reconciliation.json
    "trades_recommended": Figure("Trades recommended", "count"),
    "trades_executed": Figure("Trades fully executed", "count"),
    "trades_executed_pct": Figure("Trades fully executed (% of planned)", "pct", 0.01),
    "trades_partial": Figure("Trades partially executed", "count"),
    "trades_partial_pct": Figure("Trades partially executed (% of planned)", "pct", 0.01),
    "trades_not_executed": Figure("Trades not executed", "count"),
    "trades_not_executed_pct": Figure("Trades not executed (% of planned)", "pct", 0.01),
    "commission_estimated_filled": Figure("Commission estimated on the filled shares (pro rata)", "money"),
    "slippage_estimated": Figure("Slippage estimated (whole plan)", "money"),
    "slippage_estimated_filled": Figure("Slippage estimated on the filled shares (pro rata)", "money"),
    "broker_cash": Figure("Broker cash", "money"),
    "cash_matches": Figure("Cash matches broker (within $0.01)", "text"),
    "slippage_bps_avg": Figure("Average slippage vs signal (bps, notional-weighted)", "bps"),
    "slippage_bps_mean": Figure("Average slippage vs signal (bps, plain mean per trade)", "bps"),
    "commission_unplanned": Figure("Commission on unplanned fills", "money"),
    "commission_estimated": Figure("Commission estimated (whole plan)", "money"),
    "commission_actual": Figure("Commission actual", "money"),
    "commission_variance": Figure("Commission variance", "money"),
    "commission_variance_pct": Figure("Commission variance (%)", "pct", 0.01),
    "cash_before": Figure("Cash before", "money"),
    "cash_after": Figure("Cash after", "money"),
    "notional_traded": Figure("Notional traded", "money"),
    "slippage_usd": Figure("Slippage vs signal", "money"),
    "portfolio_value_after": Figure("Portfolio value after", "money"),
    "positions_match": Figure("Positions match", "text"),
    "fills_used": Figure("Fills used", "count"),
    "BREAKS": Figure("Breaks", "count"),
    # TCA: tca.json (dotted: block.key[.key])
    "commission.estimated": Figure("Commission estimated", "money"),
    "commission.actual": Figure("Commission actual", "money"),
    "commission.variance": Figure("Commission variance", "money"),
    "commission.variance_pct": Figure("Commission variance (%)", "pct"),
    "slippage.estimated_usd": Figure("Slippage estimated", "money"),
    "slippage.estimated_bps": Figure("Slippage estimated (bps)", "bps"),
    "slippage.actual_usd": Figure("Slippage actual vs signal", "money"),
    "slippage.actual_bps": Figure("Slippage actual vs signal (bps, notional-weighted)", "bps"),
    "slippage_mean_bps": Figure("Slippage actual vs signal (bps, plain mean per trade)", "bps"),
    "slippage.favorable.count": Figure("Favourable fills", "count"),
    "slippage.favorable.usd": Figure("Favourable slippage", "money"),
    "slippage.unfavorable.count": Figure("Unfavourable fills", "count"),
    "slippage.unfavorable.usd": Figure("Unfavourable slippage", "money"),
    "opportunity.unfilled_orders": Figure("Unfilled orders", "count"),
    "opportunity.usd": Figure("Opportunity cost", "money"),
    "total.usd": Figure("Total cost", "money"),
    "total.pct_notional": Figure("Total cost (% of notional)", "pct"),
    "total.pct_portfolio": Figure("Total cost (% of portfolio)", "pct"),
    "shortfall.delay": Figure("Shortfall: delay", "money"),
    "shortfall.execution": Figure("Shortfall: execution", "money"),
    "shortfall.opportunity": Figure("Shortfall: opportunity", "money"),
    "shortfall.fees": Figure("Shortfall: fees", "money"),
    "shortfall.total": Figure("Shortfall: total", "money"),
}
for _k, _f in FIGURES.items():
    if _f.kind not in NUMBER_FORMATS:  # pragma: no cover - a typo in the table above
        raise ValueError(f"figure {_k!r}: unknown kind {_f.kind!r}")


def declared(table: str, col: str) -> Col:
    """The declared column ``col`` of Table ``table`` (undeclared: text under its own key)."""
    return TABLE_SCHEMAS.get(table, {}).get(col) or Col(col, col, "text")


_EPOCH = dt.datetime(1899, 12, 30)


def as_datetime(v: Any) -> dt.datetime | None:
    """A date or timestamp value (ISO text, ``date``, ``datetime``, pandas Timestamp) as a naive
    UTC ``datetime`` (an aware one is converted to UTC; a naive one is taken as UTC); None when
    ``v`` is empty or not a date."""
    if v is None or v == "":
        return None
    if isinstance(v, dt.datetime):
        d = v
    elif isinstance(v, dt.date):
        return dt.datetime(v.year, v.month, v.day)
    elif isinstance(v, str):
        s = v.strip()
        if s.endswith(" UTC"):
            s = s[:-4]
        if s.endswith("Z"):
            s = s[:-1] + "+00:00"
        try:
            d = dt.datetime.fromisoformat(s)
        except ValueError:
            return None
    elif hasattr(v, "to_pydatetime"):
        try:
            d = v.to_pydatetime()
        except (ValueError, TypeError):
            return None
        if not isinstance(d, dt.datetime):
            return None
    else:
        return None
    if d.tzinfo is not None:
        d = d.astimezone(dt.UTC).replace(tzinfo=None)
    return d


def excel_serial(d: dt.datetime) -> float:
    """Excel's serial day number of a naive datetime (1900 date system; days since 1899-12-30)."""
    return (d - _EPOCH).total_seconds() / 86400.0


def excel_value(v: Any, kind: str) -> Any:
    """A cell's value for a column of ``kind``: a date/timestamp kind -> naive UTC ``datetime``
    (text that is no date stays text); a shares figure rounded to 9 decimals (no
    2.27374E-13 left by float sums); anything else as is."""
    if kind in DATE_KINDS:
        d = as_datetime(v)
        return d if d is not None else v
    if kind == "shares" and isinstance(v, float) and math.isfinite(v):
        return round(v, 9) + 0.0
    return v


def shares_format(values: Iterable[Any]) -> str:
    """The format of a shares column: whole shares, or 4 decimals when any value is fractional."""
    for v in values:
        if isinstance(v, float) and math.isfinite(v) and abs(v - round(v)) > 1e-9:
            return FRACTIONAL_SHARES
    return NUMBER_FORMATS["shares"]


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
    """0-based column of a sheet's side block: two columns right of its widest table."""
    if not sheet.table:
        return 0
    return max(len(t.columns) for t in [sheet.table, *sheet.extra_tables]) + 1


#: the title written over each extra Table (the row above its header)
EXTRA_TITLES = {
    "tblTcaBenchmarks": "Benchmarks: cost = side x (fill - benchmark) / benchmark, positive = cost; "
    "weighted by filled shares x benchmark",
    "tblTcaOrders": "Per order: cost vs each benchmark (bps), spread paid at arrival, participation "
    "(filled / interval volume)",
    "tblTcaHistogram": "Distribution of the orders' cost vs signal (5 bps bins)",
    "tblMonthlyBrokers": "Brokers on the same benchmarks (bps, weighted by filled shares x benchmark)",
    "tblMonthlyPercentiles": "Per-order cost percentiles (bps; linear between ranks)",
    "tblMonthlyWeeks": "Trend by week (bps, weighted; week of Monday)",
    "tblMonthlyHistogram": "Distribution of the month's per-order cost vs signal (5 bps bins)",
}
EXTRA_GAP = 3  # blank rows + the title row between one Table and the next


def extra_positions(sheet: SheetData) -> list[tuple[int, Table]]:
    """Each extra Table of ``sheet`` with the 0-based row of its header: stacked under the
    first Table at column A, :data:`EXTRA_GAP` rows apart (its title in the row above)."""
    row = HEADER_ROW + (max(1, len(sheet.table.rows)) if sheet.table else 1) + EXTRA_GAP
    out = []
    for t in sheet.extra_tables:
        out.append((row, t))
        row += max(1, len(t.rows)) + 1 + EXTRA_GAP
    return out


def charts_row(sheet: SheetData) -> int:
    """0-based row under the last Table of ``sheet``, where its charts start."""
    pos = extra_positions(sheet)
    if pos:
        r, t = pos[-1]
        return r + max(1, len(t.rows)) + 2
    return HEADER_ROW + (max(1, len(sheet.table.rows)) if sheet.table else 1) + 2


#: Control!B4:B21: the column the reader takes in one read (every key of CONTROL_CELLS)
CONTROL_FIRST, CONTROL_LAST = "B4", "B21"

MONTHLY_TEXT_OFFSET = 11  # the report text sits this many columns right of the month table


def monthly_layout(sheet: SheetData) -> tuple[int, int]:
    """Monthly tab: 0-based columns of (the month-to-month table and charts, the report text)."""
    col = (len(sheet.table.columns) + 1) if sheet.table else 10
    return col, col + MONTHLY_TEXT_OFFSET


#: Excel's last row (0-based): an area "every row" runs down to it
LAST_ROW = 1_048_575


def area_floor(name: str, sheet: SheetData | None = None) -> tuple[int, int]:
    """The least of xlexec's area on tab ``name``: its bottom-right cell, 0-based (row, col).

    xlexec's area on one of its tabs is the rectangle from A1 to a bottom-right cell; a headless
    press rewrites that rectangle and keeps every cell the operator wrote outside it
    (:mod:`xlexec.excel.operator_content`). The rectangle is the larger of this floor and what
    the press actually drew (every cell written, each Excel Table's range, merged ranges and
    the charts' cells), and is recorded in the file (custom document property
    ``xlexec_area:<tab>``) so the next press knows which cells were xlexec's:

    * ``Control``: A1:H22 (labels and inputs A:B, buttons D:E, the kill switch F, the self-test H);
    * ``Fills``: columns A:AN, every row (the paste area is read as input);
    * ``Quotes``: columns A through the side block's last column (A:J; A:L with the size
      columns), every row (A:E is the paste area, read as input);
    * ``xlwings.conf``: columns A:D, every row (A:B's settings are kept by their own rule,
      :func:`xlexec.excel.xlwings_conf.merge_conf`; the help is in D);
    * ``Monthly``: rows 1-5 and columns A through the report text
      (:func:`monthly_layout`), plus the tables and the charts as drawn;
    * every other report tab: rows 1-5 (title, summary, header) and columns A through the last
      column of its table or side block, plus every row the table and side block fill (the
      Blotter's Include/Limit cells run to row :data:`BLOTTER_MAX_ROWS` + 4).
    """
    if name == "Control":
        return 21, 7
    if name == "Fills":
        return LAST_ROW, FILLS_MAX_COLS - 1
    if name == "Quotes":
        return LAST_ROW, (side_col(sheet) if sheet is not None else len(QUOTES_COLUMNS) + 1) + 3
    if name == "xlwings.conf":
        return LAST_ROW, 3
    if sheet is None:
        return FIRST_DATA_ROW, 5
    if name == "Monthly":
        return FIRST_DATA_ROW, monthly_layout(sheet)[1]
    width = max((len(r) for r in sheet.side), default=2)
    last_col = side_col(sheet) + width - 1 if sheet.side or sheet.side_title else 0
    if sheet.table is not None:
        last_col = max(last_col, len(sheet.table.columns) - 1)
    return FIRST_DATA_ROW, max(last_col, 5)


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

#: Quotes Table: the kind of each column ($ prices, shares sizes, UTC text times)
QUOTES_KINDS = {c.key: c.kind for c in TABLE_SCHEMAS["tblQuotes"].values()}
