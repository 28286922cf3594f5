"""Steps ``tca`` (daily transaction cost analysis) and ``monthly`` (monthly costs): the TCA and
Monthly Report buttons, ``xlexec tca`` and ``xlexec monthly``.

Costs are in $ and bps of notional, positive = a cost (see :mod:`xlexec.core.tca`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xlexec.core.benchmarks import table_lines
from xlexec.core.monthly import MonthlyResult, monthly_report
from xlexec.core.tca import daily_tca
from xlexec.errors import InputError, RefusedError
from xlexec.execution.marketdata import refresh_closes_file
from xlexec.formats.csvio import atomic_write_text
from xlexec.formats.fills import read_fills
from xlexec.formats.inputs import read_closes
from xlexec.formats.monthly import upsert_monthly_costs
from xlexec.formats.trades import read_trades
from xlexec.steps.benchmarks import day_benchmarks
from xlexec.steps.charts import day_charts, month_charts
from xlexec.steps.context import Context
from xlexec.steps.fills import read_rules
from xlexec.store.arrivals import arrivals_from_journal
from xlexec.store.day import Day, is_day_name
from xlexec.store.journal import Journal, journal_exists
from xlexec.store.month import collect_month

PathLike = str | Path | None


def _journal_or_none(ctx: Context) -> Journal | None:
    """The journal when one exists (never create ``live/journal.sqlite`` just to read it)."""
    return ctx.journal() if journal_exists(ctx.live_dir) else None


def tca_document(day_dir: Path, ctx: Context, *, fills_path: PathLike = None, fmt: str | None = None):
    """Run the day's TCA from its folder; returns ``(result, document for tca.json)``.

    Fills: ``fills_path`` (default ``DAYDIR/broker_fills.csv``) in ``fmt`` (default: detected).
    The day is the trades header's date, else the folder's name when it is a date."""
    day_dir = Path(day_dir)
    trades = read_trades(day_dir / "trades.csv")
    fp = Path(fills_path) if fills_path else day_dir / "broker_fills.csv"
    fills = read_fills(fp, format=fmt or None, **read_rules(ctx))
    day = trades.date or (day_dir.name if is_day_name(day_dir.name) else None)
    if day:  # Alpaca daily bars when keys are configured and closes.csv is missing
        refresh_closes_file(ctx.config, list(trades.df["symbol"]), day, day_dir / "closes.csv")
    closes = read_closes(day_dir / "closes.csv")
    journal = _journal_or_none(ctx)
    arrivals = arrivals_from_journal(journal, day) if journal is not None and day else None
    res = daily_tca(
        trades,
        fills,
        closes=closes,
        arrivals=arrivals,
        portfolio_value=trades.header.portfolio_value,
        default_order_type=ctx.config.execution.default_order_type,
        date=day,
    )
    if not (day_dir / "closes.csv").exists() and res.unfilled_orders:
        res.notes.append(f"no {day_dir / 'closes.csv'}: closing prices unknown")
    if journal is None:
        res.notes.append("no journal: arrival prices (order_intent events) unknown")
    brokers = [b for b in (arrivals["broker"] if arrivals is not None else []) if b]
    broker = max(sorted(set(brokers)), key=brokers.count) if brokers else ctx.config.execution.broker
    doc = {**res.to_json(), **res.record(), "broker": str(broker)}
    _, doc["benchmarks"] = day_benchmarks(
        day_dir, ctx, res, fills, day=day, journal=journal, arrivals=arrivals, broker=str(broker)
    )
    return res, doc


@dataclass
class TcaResult:
    """The day's TCA: the document written to tca.json and the report written to tca_report.txt."""

    folder: Path
    document: dict[str, Any]
    report: str
    exit_code: int = 0
    #: the PNG charts written in ``folder/tca_charts`` (:func:`xlexec.steps.charts.day_charts`)
    charts: list[Path] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return self.document


def tca(
    ctx: Context, day: Day | None, *, folder: PathLike = None, fills: PathLike = None, format: str | None = None
) -> TcaResult:  # noqa: A002
    """TCA of the day folder (``folder``, default ``live/D``); writes ``tca.json`` and
    ``tca_report.txt`` there (atomically)."""
    d = Path(folder) if folder else (day.dir if day is not None else None)
    if d is None or not d.is_dir():
        raise InputError(str(d), "day folder not found")
    res, doc = tca_document(d, ctx, fills_path=fills, fmt=format)
    text = json.dumps(doc, indent=2, allow_nan=False)
    atomic_write_text(d / "tca.json", text + "\n")
    report = res.report_text() + "\n" + "\n".join(table_lines(doc["benchmarks"])) + "\n"
    atomic_write_text(d / "tca_report.txt", report)
    charts = day_charts(d / "tca_charts", doc["benchmarks"], res.date)
    return TcaResult(d, doc, report, charts=charts)


@dataclass
class MonthlyStepResult:
    """The month's cost summary (upserted into live/monthly_costs.csv)."""

    month: str
    result: MonthlyResult
    path: Path
    exit_code: int = 0
    #: the PNG charts written in ``live/monthly_charts/YYYY-MM`` (:func:`xlexec.steps.charts.month_charts`)
    charts: list[Path] = field(default_factory=list)

    def report_text(self) -> str:
        return self.result.report_text()

    def to_json(self) -> dict[str, Any]:
        """The stable keys, then what the figures mean and the unrounded figures."""
        return {**self.result.to_json(), **self.result.record()}


def monthly(ctx: Context, day: Day, *, month: str | None = None) -> MonthlyStepResult:
    """Monthly costs of ``month`` (YYYY-MM; default ``day``'s month) from its day folders with
    TCA; refused when there is none."""
    month = month or day.date[:7]
    inputs = collect_month(
        ctx.live_dir,
        month,
        journal=_journal_or_none(ctx),
        default_broker=ctx.config.execution.broker,
        default_order_type=ctx.config.execution.default_order_type,
        base_currency=ctx.config.base_currency,
    )
    if not inputs.days:
        raise RefusedError(f"{month}: no day folder with TCA under {ctx.live_dir} (run xlexec tca on each day first)")
    res = monthly_report(
        inputs.days,
        month,
        opening_value=inputs.opening_value,
        opening_date=inputs.opening_date,
        cash_flows=inputs.cash_flows,
    )
    res.notes = inputs.notes + res.notes
    path = day.monthly_costs
    upsert_monthly_costs(path, res)
    charts = month_charts(Path(ctx.live_dir) / "monthly_charts" / month, res.benchmarks_document(), month)
    return MonthlyStepResult(month, res, path, charts=charts)
