"""The view model: the operator workbook for a day, from the system of record (files under
``live/`` + the journal), as a :class:`~xlexec.excel.layout.BookData`.

:func:`collect` reads what exists (nothing is computed that a button has not produced: a tab
whose step has not run yet says so); the day's sources are read once (:func:`read_sources`)
and each tab is drawn by its own function from them. :func:`empty_book_data` is the template
(every tab with its headers and no rows).

Sources per tab:

* Control (:func:`control_cells`): the trade date, ``execution.broker`` and the PAPER/LIVE mode
  from the config, the kill switch (trades header, ``live/KILL_SWITCH``), ``validation.json``'s
  decision, the day's latest approval (and whether it still covers the orders the Blotter would
  send), order counts and the last button press (journal ``action`` events).
* Blotter (:func:`blotter_sheet`): ``trades.csv`` (+ the Include/Limit inputs), rows coloured by
  their worst check.
* Checks (:func:`checks_sheet`): ``validation.json``. Approvals (:func:`approvals_sheet`): the
  journal (``list_approvals``).
* Quotes (:func:`xlexec.excel.quotes_tab.quotes_sheet`): the day's ``quotes.csv`` (what the
  checks and submit's price collar use), each quote's age at the time of drawing; quotes the
  operator typed there and no button has saved yet are carried over as typed.
* Orders (:func:`orders_sheet`): the journal's newest broker snapshot per order, plus refused ones.
* Fills (:func:`fills_tab`): ``broker_fills.csv`` once imported, else the block the operator pasted.
* Reconcile (:func:`reconcile_sheet`): ``reconciliation_trades.csv``, ``reconciliation.json``,
  ``reconciliation_report.txt``.
* Positions (:func:`positions_sheet`): ``current_positions.csv`` vs ``positions_after_recon.csv``.
* TCA (:func:`tca_sheet`): ``tca.json`` and ``tca_report.txt``. Monthly (:func:`monthly_sheet`,
  :func:`monthly_months_table`): ``monthly_costs.csv`` and the month's days
  (:func:`xlexec.store.month.collect_month`). Log (:func:`log_sheet`): journal ``action`` events.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd

from xlexec.core.benchmarks import histogram
from xlexec.core.checks import worst_by_symbol
from xlexec.core.corporate_actions import exact
from xlexec.core.costs import half_up
from xlexec.core.money import usd
from xlexec.core.monthly import DAILY_COLUMNS as MONTHLY_DAILY_COLUMNS
from xlexec.core.monthly import monthly_report
from xlexec.core.orders import orders_from_trades, orders_sha256
from xlexec.core.positions import basis
from xlexec.errors import InputError, XlexecError
from xlexec.excel.blotter import apply_blotter, blotter_table
from xlexec.excel.fills_tab import fills_tab as fills_tab_view
from xlexec.excel.journal_view import _journal, orders_frame, workbook_actions
from xlexec.excel.layout import (
    BENCHMARK_LABELS,
    CHECK_VALUE_KINDS,
    LOG_COLUMNS,
    ORDER_COLUMNS,
    QUOTES_COLUMNS,
    TABLE_SCHEMAS,
    BookData,
    Inputs,
    SheetData,
    Table,
)
from xlexec.excel.modes import is_live, mode_text
from xlexec.excel.quotes_tab import quotes_sheet
from xlexec.excel.sources import (
    _clean,
    _pct_text,
    _read_csv,
    _read_json,
    _read_text,
    _rows,
    _table_from_frame,
    _text_lines,
    figure_lines,
    yes_no,
)
from xlexec.execution.guards import kill_switch_state
from xlexec.formats.inputs import read_closes, read_quotes
from xlexec.formats.trades import read_trades
from xlexec.formats.upload import FORMATS as CONVERT_FORMATS
from xlexec.store.approvals import list_approvals
from xlexec.store.day import Day
from xlexec.store.journal import journal_exists
from xlexec.store.month import collect_month

CHECK_COLUMNS = ["check", "status", "symbol", "value", "limit", "message"]
APPROVAL_COLUMNS = [
    "date",
    "decision",
    "reason",
    "approver",
    "timestamp_utc",
    "recommended",
    "orders_sha256",
    "n_orders",
    "override",
]
POSITION_COLUMNS = [
    "symbol",
    "system_shares",
    "reconciled_shares",
    "difference_shares",
    "avg_cost",
    "status",
    "last_price",
    "price_source",
    "market_value",
    "weight",
    "unrealized_pnl",
]
#: where a position's price comes from, first found wins: the day's closing price
#: (``closes.csv``), the day's last trade price (``quotes.csv`` ``last``), the model's price for
#: the symbol (``trades.csv`` ``price``); no price: no market value (never invented)
PRICE_SOURCES = ("close", "quote last", "trades price")
MONTHLY_MONTH_COLUMNS = [
    "month",
    "gross_return",
    "commission_costs",
    "slippage_costs",
    "net_return",
    "total_commission",
    "avg_slippage_bps",
    "cost_pct_portfolio",
    "turnover",
    "slippage_mean_bps",
]


# --------------------------------------------------------------------------- the day's sources


@dataclass
class DaySources:
    """What one drawing of the workbook reads, read once: the day's folder, its trades, its
    ``validation.json``, the journal (None before the first step) and the button presses."""

    ctx: Any
    day: str
    inputs: Inputs
    live: Path
    dd: Path
    trades: Any = None  # xlexec.core.trades.Trades, or None
    trades_error: str = ""  # why trades.csv could not be read ('' when it was, or is missing)
    validation: dict | None = None
    journal: Any = None
    actions: list[dict] = field(default_factory=list)  # journal action payloads of the buttons, oldest first


def read_sources(ctx, day: str, inputs: Inputs | None = None) -> DaySources:
    """The day's sources (see :class:`DaySources`); missing files read as None."""
    live = Path(ctx.live_dir)
    src = DaySources(ctx, day, inputs or Inputs(), live, live / day)
    tp = src.dd / "trades.csv"
    if tp.exists():
        try:
            src.trades = read_trades(tp, strict=False)
        except InputError as e:
            src.trades_error = str(e)
    src.validation = _read_json(src.dd / "validation.json")
    src.journal = _journal(ctx)
    src.actions = workbook_actions(src.journal) if src.journal is not None else []
    return src


# --------------------------------------------------------------------------- the template


def _control_template(day: str | None, cfg, inputs: Inputs) -> dict[str, Any]:
    return {
        "trade_date": inputs.trade_date or day or "",
        "broker": cfg.execution.broker if cfg else "paper",
        "mode": mode_text(cfg) if cfg else "PAPER TRADING · built-in simulator",
        "convert_to": inputs.convert_to or "ibkr",
        "kill_switch": "",
        "recommended": "not validated yet",
        "approval": "none",
        "approver": inputs.approver,
        "decision": inputs.decision,
        "override": inputs.override or "N",
        "reason": inputs.reason,
        "orders": "none sent",
        "last_action": "",
        "result": "",
        "when": "",
        "by": "",
        "slice": inputs.slice or "N",
    }


def _template_sheets(inputs: Inputs, log: list[list[Any]]) -> dict[str, SheetData]:
    return {
        "Blotter": SheetData("Blotter", "Press Load Trades on Control.", blotter_table(None, inputs, {}, None)),
        "Checks": SheetData(
            "Pre-trade checks",
            "Press Validate.",
            Table("tblChecks", list(CHECK_COLUMNS), [], status_col="status"),
        ),
        "Quotes": SheetData(
            "Quotes",
            "No quotes for this day yet: paste or type them below, or let the "
            "model (or the broker's market data) write live/<day>/quotes.csv.",
            Table("tblQuotes", list(QUOTES_COLUMNS), [], inputs=tuple(QUOTES_COLUMNS)),
            side_title="Age",
        ),
        "Approvals": SheetData("Approvals (read-only log)", "", Table("tblApprovals", list(APPROVAL_COLUMNS), [])),
        "Orders": SheetData(
            "Orders",
            "Press Submit, then Refresh Status.",
            Table(
                "tblOrders",
                list(ORDER_COLUMNS),
                [],
                status_col="status",
                bad_values={"rejected": "fail", "refused": "fail", "unknown": "warn"},
            ),
        ),
        "Reconcile": SheetData(
            "Reconciliation",
            "Press Reconcile after the fills are imported.",
            Table("tblReconcile", ["symbol", "side", "planned", "executed", "status"], [], status_col="status"),
        ),
        "Positions": SheetData(
            "Positions: system vs after reconciliation",
            "",
            Table("tblPositions", list(POSITION_COLUMNS), [], status_col="status", bad_values={"break": "break"}),
        ),
        "TCA": SheetData(
            "Transaction cost analysis",
            "Press TCA after reconciliation.",
            Table("tblTca", ["symbol", "usd", "pct_trade"], []),
        ),
        "Monthly": SheetData(
            "Monthly cost summary",
            "Press Monthly Report.",
            Table(
                "tblMonthlyDaily",
                [
                    "date",
                    "notional",
                    "commission",
                    "slippage_usd",
                    "total_cost",
                    "turnover",
                    "portfolio_value",
                    "broker",
                    "trades",
                ],
                [],
            ),
        ),
        "Log": log_sheet(log),
    }


def _template(day: str | None, cfg, inputs: Inputs, log: list[list[Any]]) -> BookData:
    return BookData(
        day=day,
        control=_control_template(day, cfg, inputs),
        live=bool(cfg and is_live(cfg)),
        mode_banner=("LIVE · REAL MONEY" if cfg and is_live(cfg) else "PAPER"),
        sheets=_template_sheets(inputs, log),
        fills_block=list(inputs.fills_block),
        convert_formats=list(CONVERT_FORMATS),
        monthly_months=Table("tblMonthly", MONTHLY_MONTH_COLUMNS[:5], []),
    )


def empty_book_data(day: str | None = None, ctx=None, inputs: Inputs | None = None) -> BookData:
    """The template: every tab with its headers and no rows (the Log tab lists the button
    presses already journaled under ``ctx``'s live folder)."""
    log: list[list[Any]] = []
    if ctx is not None:
        j = _journal(ctx)
        log = action_rows(workbook_actions(j)) if j is not None else []
    return _template(day, ctx.config if ctx is not None else None, inputs or Inputs(), log)


# --------------------------------------------------------------------------- one function per tab


def action_rows(actions: list[dict]) -> list[list[Any]]:
    """Log rows (``when_utc, who, action, result, message``) of button-press payloads."""
    return [[p.get("when_utc"), p.get("who"), p.get("button"), p.get("result"), p.get("message")] for p in actions]


def log_sheet(rows: list[list[Any]]) -> SheetData:
    """Log: every button press (journal ``action`` events written by the buttons), oldest first."""
    return SheetData(
        "Log: every button press",
        "",
        Table("tblLog", list(LOG_COLUMNS), rows, status_col="result", bad_values={"error": "error", "refused": "fail"}),
    )


@dataclass
class ChecksView:
    """``validation.json`` read for the tabs: the checks (fails first), the worst status per
    symbol, the counts per status and the decision; empty before the first Validate."""

    checks: pd.DataFrame | None = None
    worst: dict[str, str] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    decision: Any = None
    summary: dict = field(default_factory=dict)


def checks_view(validation: dict | None) -> ChecksView:
    """The checks of ``validation.json`` (None or no ``checks`` list: an empty view)."""
    if not validation or not isinstance(validation.get("checks"), list):
        return ChecksView()
    checks = pd.DataFrame(validation["checks"])
    for col in CHECK_COLUMNS:
        if col not in checks.columns:
            checks[col] = ""
    checks["symbol"] = checks["symbol"].fillna("").astype(str)
    worst = worst_by_symbol(checks)
    counts = {s: int((checks["status"] == s).sum()) for s in ("fail", "warn", "pass")}
    return ChecksView(
        _sorted_checks(checks), worst, counts, validation.get("decision"), validation.get("summary") or {}
    )


def _sorted_checks(checks: pd.DataFrame) -> pd.DataFrame:
    """Fails first, then warnings, then passes (stable: each check's order kept within its status)."""
    order = {"fail": 0, "warn": 1, "pass": 2}
    return checks.assign(_o=checks["status"].map(order).fillna(3)).sort_values("_o", kind="stable").drop(columns="_o")


def _with_rows(template: SheetData, df: pd.DataFrame) -> SheetData:
    """``template`` with its Table's rows taken from ``df`` (the Table's columns, in order)."""
    if template.table is None:
        raise ValueError(f"tab {template.title!r} has no table")
    return dataclasses.replace(
        template, table=dataclasses.replace(template.table, rows=_rows(df, template.table.columns))
    )


def checks_sheet(v: ChecksView, template: SheetData) -> SheetData:
    """Checks: every check of the last Validate, fails first, the summary block beside them."""
    if v.checks is None:
        return template
    n = v.counts
    sheet = _with_rows(template, v.checks)
    assert sheet.table is not None
    units = [CHECK_VALUE_KINDS.get(str(c), "number") for c in v.checks["check"]]
    cell_kinds = {(i, col): k for i, k in enumerate(units) for col in ("value", "limit")}
    side, side_kinds = figure_lines(v.summary)
    return dataclasses.replace(
        sheet,
        table=dataclasses.replace(sheet.table, cell_kinds=cell_kinds),
        summary=f"Decision {v.decision}: {n['fail']} fail, {n['warn']} warn, {n['pass']} pass",
        side=side,
        side_kinds=side_kinds,
        side_title="Summary" if v.summary else "",
    )


def blotter_sheet(src: DaySources, v: ChecksView, template: SheetData) -> SheetData:
    """Blotter: the day's trades with the operator's Include/Limit and each row's worst check."""
    if src.trades is None:
        if src.trades_error:
            return dataclasses.replace(template, summary=f"trades.csv cannot be read: {src.trades_error}")
        return template
    return SheetData(
        f"Blotter — {src.day}",
        f"{len(src.trades.df)} trades from live/{src.day}/trades.csv. Include (Y/N) and Limit ($) are yours to edit.",
        blotter_table(src.trades, src.inputs, v.worst, v.checks),
    )


def approvals_sheet(src: DaySources, template: SheetData) -> tuple[SheetData, str | None]:
    """Approvals: every decision in the journal; and the Control line of the day's latest one
    (None when the day has none), saying whether it still covers the Blotter's orders."""
    try:
        ap = list_approvals(src.live) if journal_exists(src.live) else None
    except Exception:  # noqa: BLE001 - a view never fails on one tab
        ap = None
    if ap is None or not len(ap):
        return template, None
    shown = ap.copy()
    if "override" in shown:  # a yes/no column, shown as the Y/N the operator typed (not 0/1)
        shown["override"] = ["Y" if bool(v) else "N" for v in shown["override"]]
    sheet = dataclasses.replace(
        _with_rows(template, shown),
        summary=f"{len(ap)} decisions recorded (journal); live/trade_approvals.csv mirrors it.",
    )
    mine = ap[ap["date"].astype(str) == src.day]
    if not len(mine):
        return sheet, None
    last = mine.iloc[-1]
    return sheet, (
        f"{last['decision']} by {last['approver']} at {last['timestamp_utc']} "
        f"({last['n_orders']} orders){_approval_binding(src, last['orders_sha256'])}"
    )


def _approval_binding(src: DaySources, approved_sha: str) -> str:
    """Whether the orders the Blotter would send now are the ones approved ('' without trades)."""
    if src.trades is None:
        return ""
    try:
        t2, _ = apply_blotter(src.trades, src.inputs.blotter)
        o = orders_from_trades(t2, default_order_type=src.ctx.config.execution.default_order_type, date=src.day)
    except XlexecError:
        return ""
    return (
        " · covers the Blotter's orders"
        if orders_sha256(o) == approved_sha
        else " · ORDERS CHANGED since: approve again"
    )


def orders_sheet(src: DaySources, template: SheetData) -> tuple[SheetData, str | None]:
    """Orders: the journal's newest broker snapshot per order, plus refused ones; and the
    Control line counting them by status (None when the day has no order)."""
    if src.journal is None:
        return template, None
    ol = orders_frame(src.journal, src.day)
    if not len(ol):
        return template, None
    counts = ol["status"].astype(str).value_counts().to_dict()
    line = ", ".join(f"{v} {k}" for k, v in counts.items())
    return SheetData(
        f"Orders — {src.day}",
        f"{len(ol)} orders known to the journal: " + line + " (press Refresh Status for the broker's latest)",
        _table_from_frame(
            "tblOrders",
            ol,
            status_col="status",
            bad_values={
                "rejected": "fail",
                "refused": "fail",
                "unknown": "warn",
                "expired": "warn",
                "canceled": "warn",
                "partially_filled": "warn",
            },
        ),
    ), line


def fills_tab(src: DaySources) -> tuple[list[list[Any]], str]:
    """Fills: (the block shown from A4, the note in A3): the imported fills and the rows the
    import skipped, unless the operator pasted another block, which is kept as pasted
    (:mod:`xlexec.excel.fills_tab`)."""
    return fills_tab_view(src.ctx, Day(src.live, src.day), list(src.inputs.fills_block))


RECONCILE_FIGURES = [
    "trades_recommended",
    "trades_executed",
    "trades_executed_pct",
    "trades_partial",
    "trades_partial_pct",
    "trades_not_executed",
    "trades_not_executed_pct",
    "slippage_bps_avg",
    "slippage_bps_mean",
    "commission_estimated",
    "commission_estimated_filled",
    "commission_actual",
    "commission_unplanned",
    "commission_variance",
    "slippage_estimated",
    "slippage_estimated_filled",
    "cash_before",
    "cash_after",
    "broker_cash",
    "cash_matches",
    "notional_traded",
    "slippage_usd",
    "portfolio_value_after",
    "positions_match",
    "fills_used",
]


def reconcile_sheet(src: DaySources, template: SheetData) -> SheetData:
    """Reconcile: planned vs executed per trade, the figures ($, bps, shares), the breaks and
    the report text."""
    rj = _read_json(src.dd / "reconciliation.json")
    if rj is None:
        return template
    rt = _read_csv(src.dd / "reconciliation_trades.csv")
    table = (
        _table_from_frame(
            "tblReconcile",
            rt,
            status_col="status",
            bad_values={"not_executed": "fail", "over_fill": "fail", "unplanned": "fail", "partial": "warn"},
        )
        if rt is not None
        else template.table
    )
    side, side_kinds = figure_lines(rj, RECONCILE_FIGURES)
    breaks = rj.get("breaks") or []
    if breaks:
        side.append(["Breaks", len(breaks)])
        side_kinds.append(["text", "count"])
        for b in breaks[:50]:
            side.append([str(b.get("kind", "break")), json.dumps({k: v for k, v in b.items() if k != "kind"})[:250]])
    side.append([""])
    side += _text_lines(_read_text(src.dd / "reconciliation_report.txt"))
    counts = rj.get("execution_counts") or f"Executed {rj.get('trades_executed')}/{rj.get('trades_recommended')}"
    return SheetData(
        f"Reconciliation — {src.day}",
        f"{counts}, {len(breaks)} breaks, positions match: {yes_no(rj.get('positions_match'))}",
        table,
        side=side,
        side_kinds=side_kinds,
        side_title="Summary",
    )


def _shares_by_symbol(df: pd.DataFrame | None) -> pd.Series:
    return df.groupby("symbol")["shares"].sum() if df is not None and "symbol" in df.columns else pd.Series(dtype=float)


def _avg_cost(after: pd.DataFrame | None, system: pd.DataFrame | None) -> pd.Series:
    """symbol -> avg cost ($/share) as shown: total_cost / shares when the file carries the total
    cost (else its avg_cost), rounded half-up to 4 places (the cell's format shows up to 4)."""
    for df in (after, system):
        if df is not None and "avg_cost" in df.columns:
            avg = pd.to_numeric(df["avg_cost"], errors="coerce")
            if "total_cost" in df.columns:
                tot, sh = pd.to_numeric(df["total_cost"], errors="coerce"), pd.to_numeric(df["shares"], errors="coerce")
                avg = (tot / sh.where(sh != 0)).fillna(avg)
            return pd.Series([half_up(v, 4) for v in avg], index=df["symbol"], dtype=float)
    return pd.Series(dtype=float)


def _total_cost(after: pd.DataFrame | None, system: pd.DataFrame | None) -> dict[str, Decimal]:
    """symbol -> the exact total cost ($) of the same file :func:`_avg_cost` reads: its
    ``total_cost`` cell, else avg_cost x shares (an older file); empty without a cost basis."""
    for df in (after, system):
        if df is not None and "avg_cost" in df.columns:
            tot = df["total_cost"] if "total_cost" in df.columns else pd.Series(None, index=df.index)
            out: dict[str, Decimal] = {}
            for sym, q, c, t in zip(df["symbol"], df["shares"], df["avg_cost"], tot, strict=True):
                q, c, t = (_clean(v) for v in (q, c, t))
                if not isinstance(q, (int, float)) or isinstance(q, bool):
                    continue
                c = float(c) if isinstance(c, (int, float)) and not isinstance(c, bool) else None
                t = float(t) if isinstance(t, (int, float)) and not isinstance(t, bool) else None
                if c is None and t is None:
                    continue
                out[str(sym)] = out.get(str(sym), Decimal(0)) + basis(q, c, t)[0]
            return out
    return {}


def day_prices(src: DaySources) -> dict[str, tuple[float, str]]:
    """symbol -> (price $, where from: one of :data:`PRICE_SOURCES`), from the day's files;
    a file that is missing or cannot be read gives no price (a view never fails on one tab)."""
    found: list[tuple[str, dict[str, float]]] = []
    try:
        c = read_closes(src.dd / "closes.csv")
        found.append(("close", dict(zip(c["symbol"].astype(str), c["close"]))))
    except (XlexecError, OSError, ValueError, KeyError):
        pass
    try:
        if (src.dd / "quotes.csv").exists():
            q = read_quotes(src.dd / "quotes.csv")
            found.append(("quote last", dict(zip(q["symbol"].astype(str), q["last"]))))
    except (XlexecError, OSError, ValueError, KeyError):
        pass
    if src.trades is not None and "price" in src.trades.df.columns:
        t = src.trades.df
        found.append(("trades price", dict(zip(t["symbol"].astype(str), pd.to_numeric(t["price"], errors="coerce")))))
    out: dict[str, tuple[float, str]] = {}
    for where, prices in found:
        for sym, px in prices.items():
            x = _clean(px)
            if sym not in out and isinstance(x, (int, float)) and x > 0:
                out[sym] = (float(x), where)
    return out


def position_rows(
    system: pd.DataFrame | None,
    after: pd.DataFrame | None,
    traded: set[str],
    prices: dict[str, tuple[float, str]] | None = None,
) -> list[list[Any]]:
    """One row per symbol: shares before the day (``system``) and after reconciliation
    (``after``; None when not reconciled), their difference (after - system, shares), the
    average cost ($, None when the positions file has none) and a status (match / traded: a
    symbol of the day's trades / break); then its valuation: the price ($) and where it is from
    (``prices``, see :func:`day_prices`), the market value (shares held x price, $; shares held
    = reconciled, else system), the weight (market value / the positions' total market value,
    a fraction; None unless every position has a price) and the unrealised P&L (shares held x
    price - the exact total cost, $, positive = gain, half-up to the cent; never from the shown,
    rounded avg cost; None without a cost basis or a price)."""
    s, a, cost = _shares_by_symbol(system), _shares_by_symbol(after), _avg_cost(after, system)
    totals = _total_cost(after, system)
    prices = prices or {}
    rows = []
    for sym in sorted(set(s.index) | set(a.index)):
        sv, av = float(s.get(sym, 0.0)), (float(a.get(sym, 0.0)) if after is not None else None)
        diff = None if av is None else av - sv
        status = (
            "not reconciled"
            if diff is None
            else "match"
            if abs(diff) < 1e-9
            else ("traded" if sym in traded else "break")
        )
        avg = _clean(cost.get(sym)) if sym in cost.index else None
        avg = float(avg) if isinstance(avg, (int, float)) and not isinstance(avg, bool) else None
        held = av if av is not None else sv
        px, where = prices.get(sym, (None, None))
        mv = exact(float(held)) * exact(float(px)) if px is not None else None  # $, exact
        # price x shares - the exact total cost (never the shown, rounded avg cost), shown to the cent
        pnl = half_up(mv - totals[sym], 2) if mv is not None and avg is not None and sym in totals else None
        rows.append([sym, sv, av, diff, avg, status, px, where, mv, None, pnl])
    mvs = [r[8] for r in rows]
    total = sum(mvs, Decimal(0)) if mvs and all(m is not None for m in mvs) else None
    for r in rows:
        if total:
            r[9] = float(r[8] / total)
        r[8] = None if r[8] is None else float(r[8]) + 0.0
    return rows


def _valuation_note(rows: list[list[Any]], has_cost: bool) -> str:
    """What the Positions valuation columns can honestly show, in one line."""
    froms = sorted({r[7] for r in rows if r[7]}, key=PRICE_SOURCES.index)
    unpriced = [r[0] for r in rows if r[6] is None]
    note = "prices from " + (", ".join(froms) if froms else "nowhere (no closes, quotes or trades price)")
    if unpriced:
        note += f"; no price for {', '.join(unpriced[:5])}{' ...' if len(unpriced) > 5 else ''}: no weights"
    else:
        note += "; weight = share of the positions' market value (cash excluded)"
    if not has_cost:
        note += "; no cost basis (avg_cost) in the positions file: unrealised P&L not shown"
    return note


def positions_sheet(src: DaySources, template: SheetData) -> SheetData:
    """Positions: the system's shares before the day (the ``.bak`` kept by Accept Positions,
    else ``current_positions.csv``) vs ``positions_after_recon.csv``, each valued at the day's
    price (:func:`position_rows`)."""
    cur = _read_csv(src.live / "current_positions.csv")
    after = _read_csv(src.dd / "positions_after_recon.csv")
    bak = _read_csv(src.live / f"current_positions.{src.day}.bak.csv")
    system = bak if bak is not None else cur
    if system is None and after is None:
        return template
    traded = set(src.trades.df["symbol"].astype(str)) if src.trades is not None else set()
    accepted = bak is not None
    rows = position_rows(system, after, traded, day_prices(src))
    has_cost = any(df is not None and "avg_cost" in df.columns for df in (after, system))
    return SheetData(
        f"Positions — {src.day}",
        (
            "system = positions before the day; reconciled = after today's fills"
            + (
                "; accepted as live/current_positions.csv"
                if accepted
                else ("; not accepted yet: press Accept Positions" if after is not None else "")
            )
            + "; valued: "
            + _valuation_note(rows, has_cost)
        ),
        Table(
            "tblPositions",
            list(POSITION_COLUMNS),
            rows,
            status_col="status",
            bad_values={"break": "break"},
        ),
    )


def _flat_figures(tj: dict) -> list[list[Any]]:
    """``tca.json``'s cost blocks as ``[dotted key, value]`` lines ($, bps, fractions)."""
    flat = {}
    for k in ("commission", "slippage", "opportunity", "total", "shortfall"):
        for kk, vv in (tj.get(k) or {}).items():
            if isinstance(vv, dict):
                for k3, v3 in vv.items():
                    flat[f"{k}.{kk}.{k3}"] = v3
            else:
                flat[f"{k}.{kk}"] = vv
    for k in ("slippage_mean_bps", "commission_unplanned"):  # next to the stable keys (TcaResult.record)
        if k in tj:
            flat[k] = tj[k]
    return [[k, v] for k, v in flat.items()]


def tca_sheet(src: DaySources, template: SheetData) -> SheetData:
    """TCA: cost per symbol ($, fraction of the trade), the figures (positive = cost) and the
    report text."""
    tj = _read_json(src.dd / "tca.json")
    if tj is None:
        return template
    bs = pd.DataFrame(tj.get("by_symbol") or [], columns=["symbol", "usd", "pct_trade"])
    tot = tj.get("total") or {}
    side, side_kinds = figure_lines(dict(_flat_figures(tj)))
    side.append([""])
    side += _text_lines(_read_text(src.dd / "tca_report.txt"))
    return SheetData(
        f"TCA — {src.day}",
        f"Total cost {usd(tot.get('usd'))} ({_pct_text(tot.get('pct_notional'))} of notional, "
        f"{_pct_text(tot.get('pct_portfolio'))} of portfolio)",
        _table_from_frame("tblTca", bs, ["symbol", "usd", "pct_trade"]),
        side=side,
        side_kinds=side_kinds,
        side_title="Figures (positive = cost)",
        extra_tables=tca_benchmark_tables(tj.get("benchmarks")),
    )


def tca_benchmark_tables(bm: Any) -> list[Table]:
    """TCA's benchmark tables from ``tca.json``'s ``benchmarks`` block (none for an older file):
    the day's table per benchmark, the per-order figures and the distribution of the orders'
    cost vs signal (the histogram chart's cells)."""
    if not isinstance(bm, dict) or not isinstance(bm.get("table"), list):
        return []
    tcols = ["benchmark", "usd", "bps", "mean_bps", "orders", "missing"]
    trows = [
        [BENCHMARK_LABELS.get(r.get("benchmark"), r.get("benchmark"))] + [r.get(c) for c in tcols[1:]]
        for r in bm["table"]
    ]
    ocols = list(TABLE_SCHEMAS["tblTcaOrders"])
    orders = [o for o in bm.get("orders") or [] if isinstance(o, dict)]
    orows = [[o.get(c) for c in ocols] for o in orders]
    hist = histogram([float(o["signal_bps"]) for o in orders if o.get("signal_bps") is not None])
    hrows = [[f"{a:g} to {b:g}", c] for a, b, c in hist]
    return [
        Table("tblTcaBenchmarks", tcols, trows),
        Table("tblTcaOrders", ocols, orows),
        Table("tblTcaHistogram", ["bin", "orders"], hrows),
    ]


def monthly_benchmark_tables(bm: dict[str, Any]) -> list[Table]:
    """Monthly's benchmark tables from the month's ``benchmarks`` block
    (:meth:`xlexec.core.monthly.MonthlyResult.benchmarks_document`): brokers and weeks on the
    same benchmarks (bps), the per-order cost percentiles and the histogram vs signal (the
    charts' cells); none when the month has no filled order with benchmarks."""
    if not bm.get("orders"):
        return []
    bcols = list(TABLE_SCHEMAS["tblMonthlyBrokers"])
    wcols = list(TABLE_SCHEMAS["tblMonthlyWeeks"])
    pcols = list(TABLE_SCHEMAS["tblMonthlyPercentiles"])
    prows = [[BENCHMARK_LABELS.get(k, k)] + [v.get(c) for c in pcols[1:]] for k, v in bm["percentiles"].items()]
    hrows = [[f"{h['from_bps']:g} to {h['to_bps']:g}", h["orders"]] for h in bm["histogram"]]
    return [
        Table("tblMonthlyBrokers", bcols, [[r.get(c) for c in bcols] for r in bm["by_broker"]]),
        Table("tblMonthlyWeeks", wcols, [[r.get(c) for c in wcols] for r in bm["by_week"]]),
        Table("tblMonthlyPercentiles", pcols, prows),
        Table("tblMonthlyHistogram", ["bin", "orders"], hrows),
    ]


def _monthly_costs(src: DaySources) -> pd.DataFrame | None:
    mc = _read_csv(src.live / "monthly_costs.csv")
    return mc.sort_values("month") if mc is not None and "month" in mc.columns else None


def monthly_months_table(mc: pd.DataFrame | None) -> Table | None:
    """Monthly, month to month: ``live/monthly_costs.csv`` (returns and costs as fractions,
    commission $, slippage bps); None without the file."""
    if mc is None:
        return None
    cols = [c for c in MONTHLY_MONTH_COLUMNS if c in mc.columns]
    return Table("tblMonthly", cols, _rows(mc, cols))


def monthly_sheet(src: DaySources, mc: pd.DataFrame | None, template: SheetData) -> SheetData:
    """Monthly: the month's days (costs $, turnover a fraction) and the report text, once the
    Monthly Report has written the month into ``monthly_costs.csv``."""
    month = src.day[:7]
    if mc is None or not (mc["month"].astype(str) == month).any():
        return template
    cfg = src.ctx.config.execution
    try:
        mi = collect_month(
            src.live,
            month,
            journal=src.journal,
            default_broker=cfg.broker,
            default_order_type=cfg.default_order_type,
            base_currency=src.ctx.config.base_currency,
        )
        res = monthly_report(
            mi.days, month, opening_value=mi.opening_value, opening_date=mi.opening_date, cash_flows=mi.cash_flows
        )
        cols = [c for c in MONTHLY_DAILY_COLUMNS if c in res.daily.columns]
        return SheetData(
            f"Monthly cost summary — {month}",
            f"{res.days} trading days; costs {_pct_text(res.cost_pct_portfolio)} of the "
            f"average portfolio; net return {_pct_text(res.net_return)}",
            Table("tblMonthlyDaily", cols, _rows(res.daily, cols)),
            side=_text_lines(res.report_text()),
            side_title="Report",
            extra_tables=monthly_benchmark_tables(res.benchmarks_document()),
        )
    except (XlexecError, ValueError, KeyError) as e:
        return dataclasses.replace(template, summary=f"monthly report unavailable: {e}")


def kill_switch_text(src: DaySources) -> str:
    """Control's kill switch line: TRIGGERED (and why) or armed (with the trades header's value)."""
    header = src.trades.header.kill_switch if src.trades is not None else None
    ks = kill_switch_state(src.live, header) if src.trades is not None else kill_switch_state(src.live)
    if ks:
        return f"TRIGGERED: {ks}"
    return f"armed (header: {header or 'n/a'})" if src.trades is not None else "armed"


def control_cells(src: DaySources, v: ChecksView, approval: str | None, orders: str | None) -> dict[str, Any]:
    """The Control cells the day's state fills (the rest are the template's and the inputs)."""
    c: dict[str, Any] = {"trade_date": src.day, "kill_switch": kill_switch_text(src)}
    if v.checks is not None:
        n = v.counts
        c["recommended"] = f"{v.decision} ({n['fail']} fail, {n['warn']} warn, {n['pass']} pass)"
    if approval is not None:
        c["approval"] = approval
    if orders is not None:
        c["orders"] = orders
    if src.actions:
        p = src.actions[-1]
        c.update(
            last_action=p.get("button"),
            result=f"{p.get('result')}: {p.get('message') or ''}"[:500],
            when=p.get("when_utc"),
            by=p.get("who"),
        )
    return c


# --------------------------------------------------------------------------- the whole book


def collect(ctx, day: str, inputs: Inputs | None = None) -> BookData:
    """Everything the workbook shows for ``day`` (see the module docstring for the sources)."""
    src = read_sources(ctx, day, inputs)
    data = _template(day, ctx.config, src.inputs, action_rows(src.actions))
    sheets = data.sheets
    v = checks_view(src.validation)
    sheets["Checks"] = checks_sheet(v, sheets["Checks"])
    sheets["Blotter"] = blotter_sheet(src, v, sheets["Blotter"])
    sheets["Quotes"], data.quotes_shown = quotes_sheet(ctx, day, src.inputs, src.validation)
    sheets["Approvals"], approval = approvals_sheet(src, sheets["Approvals"])
    sheets["Orders"], orders = orders_sheet(src, sheets["Orders"])
    data.fills_block, data.fills_note = fills_tab(src)
    sheets["Reconcile"] = reconcile_sheet(src, sheets["Reconcile"])
    sheets["Positions"] = positions_sheet(src, sheets["Positions"])
    sheets["TCA"] = tca_sheet(src, sheets["TCA"])
    mc = _monthly_costs(src)
    data.monthly_months = monthly_months_table(mc) or data.monthly_months
    sheets["Monthly"] = monthly_sheet(src, mc, sheets["Monthly"])
    data.control.update(control_cells(src, v, approval, orders))
    return data
